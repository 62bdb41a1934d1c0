package qtensor

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSaveOutputs: Save writes through a symbolic link (the link stays)
// and keeps the mode of the file it replaces; a named pipe is written in
// place instead of being replaced by a regular file.
func TestSaveOutputs(t *testing.T) {
	x := formatSamples(t)[1]
	dir := t.TempDir()
	target := filepath.Join(dir, "target.qt")
	os.WriteFile(target, []byte("old"), 0o600)
	link := filepath.Join(dir, "link.qt")
	os.Symlink("target.qt", link)
	if err := Save(link, x); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link became %v (%v)", fi.Mode(), err)
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("target mode %v, want 0600 (%v)", fi.Mode(), err)
	}
	if y, err := Load(target); err != nil || !x.Equal(y) {
		t.Fatalf("target: %v", err)
	}

	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() { b, _ := os.ReadFile(fifo); got <- b }()
	if err := SaveNPY(fifo, mustOK(FromFloat32([]int{2}, []float32{1, 2}))); err != nil {
		t.Fatal(err)
	}
	if y, err := ReadNPY(bytes.NewReader(<-got)); err != nil || y.Len() != 2 {
		t.Fatalf("read from the pipe: %v", err)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the pipe became %v (%v)", fi.Mode(), err)
	}
}

// TestWriteFileAtomicKilled: a process killed in the middle of a write
// leaves no temporary file next to the target.
func TestWriteFileAtomicKilled(t *testing.T) {
	if p := os.Getenv("QTENSOR_KILL_PATH"); p != "" {
		WriteFileAtomic(p, func(w io.Writer) error {
			w.Write(make([]byte, 1<<20))
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		})
		os.Exit(3)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "out.qt")
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriteFileAtomicKilled$")
	cmd.Env = append(os.Environ(), "QTENSOR_KILL_PATH="+p)
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, want killed", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a killed write left %v", ents[0].Name())
	}
}
