package safefile

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func text(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// names lists dir's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	return n
}

func wantNames(t *testing.T, dir string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Fatalf("%s holds %q, want %q", dir, got, want)
	}
}

// umaskMode is the mode os.Create gives a new file (0666 less the umask),
// the oracle for new outputs.
func umaskMode(t *testing.T) os.FileMode {
	p := filepath.Join(t.TempDir(), "probe")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// forEachPath runs f with the unnamed (O_TMPFILE) temporary files and with
// named ones.
func forEachPath(t *testing.T, f func(t *testing.T)) {
	t.Run("unnamed", f)
	t.Run("named", func(t *testing.T) {
		noUnnamed = true
		defer func() { noUnnamed = false }()
		f(t)
	})
}

func TestWriteAndReplace(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "out.bin")
		if err := Write(p, text("first")); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil || read(t, p) != "first" || fi.Mode().Perm() != umaskMode(t) {
			t.Fatalf("new file: %q, mode %v (want %v), %v", read(t, p), fi.Mode(), umaskMode(t), err)
		}
		// An existing file keeps its mode.
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Write(p, text("second")); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(p); err != nil || read(t, p) != "second" || fi.Mode().Perm() != 0o600 {
			t.Fatalf("replaced file: %q, mode %v, %v", read(t, p), fi.Mode(), err)
		}
		wantNames(t, dir, "out.bin")
	})
}

// TestUmask: a new file's mode follows the process umask (it was always
// 0644).
func TestUmask(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	forEachPath(t, func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "out.bin")
		if err := Write(p, text("x")); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o640 {
			t.Fatalf("mode %v with umask 027, want 0640 (%v)", fi.Mode(), err)
		}
	})
}

func TestFailedWriteChangesNothing(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "out.bin")
		os.WriteFile(p, []byte("old"), 0o644)
		err := Write(p, func(w io.Writer) error {
			io.WriteString(w, strings.Repeat("partial", 20000))
			return errors.New("boom")
		})
		if err == nil || !strings.Contains(err.Error(), "boom") || errors.Is(err, ErrPath) {
			t.Fatalf("error %v, want boom (not ErrPath)", err)
		}
		func() {
			defer func() { recover() }()
			Write(p, func(w io.Writer) error { panic("oops") })
		}()
		if read(t, p) != "old" {
			t.Fatalf("after failures the file holds %q", read(t, p))
		}
		wantNames(t, dir, "out.bin")
	})
}

// TestSymlinks: a link is written through to its target (atomically), and
// stays a link; links are followed relative to their directory.
func TestSymlinks(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		dir := t.TempDir()
		sub := filepath.Join(dir, "sub")
		os.Mkdir(sub, 0o755)
		target := filepath.Join(sub, "target.bin")
		os.WriteFile(target, []byte("old"), 0o600)
		// link1 -> sub/link2 -> ../sub/target.bin (relative links)
		if err := os.Symlink("../sub/target.bin", filepath.Join(sub, "link2")); err != nil {
			t.Fatal(err)
		}
		link1 := filepath.Join(dir, "link1")
		os.Symlink("sub/link2", link1)
		if err := Write(link1, text("new")); err != nil {
			t.Fatal(err)
		}
		if read(t, target) != "new" {
			t.Fatalf("target holds %q", read(t, target))
		}
		for _, l := range []string{link1, filepath.Join(sub, "link2")} {
			if fi, err := os.Lstat(l); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Fatalf("%s is no longer a link: %v %v", l, fi.Mode(), err)
			}
		}
		if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o600 {
			t.Fatalf("target mode %v, want 0600", fi.Mode())
		}
		wantNames(t, sub, "link2", "target.bin")
		wantNames(t, dir, "link1", "sub")

		// A dangling link creates its target.
		dangling := filepath.Join(dir, "dangling")
		os.Symlink("sub/created.bin", dangling)
		if err := Write(dangling, text("made")); err != nil {
			t.Fatal(err)
		}
		if read(t, filepath.Join(sub, "created.bin")) != "made" {
			t.Fatal("dangling link's target not created")
		}
		// A loop is an error about the path.
		loop := filepath.Join(dir, "loop")
		os.Symlink("loop", loop)
		if err := Write(loop, text("x")); !errors.Is(err, ErrPath) {
			t.Fatalf("link loop: %v, want ErrPath", err)
		}
	})
}

// TestDevices: a character device is written in place (it used to be
// replaced by a regular file), as is a named pipe.
func TestDevices(t *testing.T) {
	dir := t.TempDir()
	null := filepath.Join(dir, "null")
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Logf("mknod (a copy of /dev/null) not permitted (%v): using /dev/null itself", err)
		null = "/dev/null"
	}
	before, err := os.Stat(null)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(null, text("discarded")); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(null)
	if err != nil || after.Mode()&os.ModeCharDevice == 0 || !os.SameFile(before, after) {
		t.Fatalf("%s after the write: %v, %v (want the same character device)", null, after.Mode(), err)
	}

	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		b, err := os.ReadFile(fifo)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- string(b)
	}()
	if err := Write(fifo, text("through the pipe")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the pipe" {
		t.Fatalf("the reader got %q", s)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the pipe became %v, %v", fi.Mode(), err)
	}
}

// TestRefused: a directory, a socket and a block device are not replaced.
func TestRefused(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(dir, "d")
	os.Mkdir(d, 0o755)
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	paths := []string{d, sock, ""}
	blk := filepath.Join(dir, "blk")
	if err := syscall.Mknod(blk, syscall.S_IFBLK|0o600, 7<<8|200); err == nil {
		paths = append(paths, blk)
	} else {
		t.Logf("mknod of a block device not permitted (%v): not checked", err)
	}
	for _, p := range paths {
		before, _ := os.Lstat(p)
		if err := Write(p, text("x")); !errors.Is(err, ErrPath) {
			t.Errorf("Write(%q): %v, want ErrPath", p, err)
		}
		if p == "" {
			continue
		}
		if after, err := os.Lstat(p); err != nil || after.Mode() != before.Mode() || !os.SameFile(before, after) {
			t.Errorf("%s changed: %v -> %v (%v)", p, before.Mode(), after.Mode(), err)
		}
	}
	for _, n := range names(t, dir) {
		if strings.Contains(n, ".tmp-") {
			t.Errorf("temporary file %s left", n)
		}
	}
}

// TestSetAllOrNothing: a set whose second file cannot be written changes
// nothing (the first was written before).
func TestSetAllOrNothing(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		dir := t.TempDir()
		a := filepath.Join(dir, "a")
		os.WriteFile(a, []byte("old a"), 0o644)
		var s Set
		if err := s.Add(a, text("new a")); err != nil {
			t.Fatal(err)
		}
		if err := s.Add(filepath.Join(dir, "nodir", "b"), text("b")); !errors.Is(err, ErrPath) {
			t.Fatalf("Add into a missing directory: %v, want ErrPath", err)
		}
		if err := s.Commit(); err == nil {
			t.Fatal("Commit after a failed Add succeeded")
		}
		if read(t, a) != "old a" {
			t.Fatalf("a holds %q", read(t, a))
		}
		wantNames(t, dir, "a")
	})
}

// TestCommitRollback: when a rename fails in Commit, the files already
// renamed are put back (an existing one restored, a new one removed).
func TestCommitRollback(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		dir := t.TempDir()
		a, n, c := filepath.Join(dir, "a"), filepath.Join(dir, "new"), filepath.Join(dir, "c")
		os.WriteFile(a, []byte("old a"), 0o600)
		os.WriteFile(c, []byte("old c"), 0o644)
		var s Set
		for _, p := range []string{a, n, c} {
			if err := s.Add(p, text("new "+filepath.Base(p))); err != nil {
				t.Fatal(err)
			}
		}
		// c becomes a non-empty directory: its rename fails.
		os.Remove(c)
		os.MkdirAll(filepath.Join(c, "x"), 0o755)
		if err := s.Commit(); err == nil {
			t.Fatal("Commit over a directory succeeded")
		}
		if fi, _ := os.Stat(a); read(t, a) != "old a" || fi.Mode().Perm() != 0o600 {
			t.Fatalf("a holds %q mode %v after the rollback", read(t, a), fi.Mode())
		}
		wantNames(t, dir, "a", "c")
	})
}

// TestSameFileTwice: a set refuses the same file twice (also through a
// link).
func TestSameFileTwice(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p")
	os.WriteFile(p, []byte("old"), 0o644)
	l := filepath.Join(dir, "l")
	os.Symlink("p", l)
	h := filepath.Join(dir, "h")
	os.Link(p, h)
	for _, second := range []string{p, l, h} {
		var s Set
		if err := s.Add(p, text("1")); err != nil {
			t.Fatal(err)
		}
		if err := s.Add(second, text("2")); !errors.Is(err, ErrPath) {
			t.Errorf("Add(%s) after Add(%s): %v, want ErrPath", second, p, err)
		}
	}
	if read(t, p) != "old" {
		t.Fatalf("p holds %q", read(t, p))
	}
	if !Same(p, l) || !Same(p, h) || Same(p, filepath.Join(dir, "missing")) {
		t.Fatal("Same")
	}
}

// TestStaleTemporaries: named temporary files whose writer is gone are
// removed by the next write of the same target; one still locked by a
// live writer, and other targets' temporaries, are kept.
func TestStaleTemporaries(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.qt")
	stale := []string{".out.qt.tmp-123", ".out.qt.tmp-18446744073709551615"}
	keep := []string{".out.qt.tmp-live7", ".other.qt.tmp-5", ".out.qt.tmp-9.keep", "out.qt.tmp-1"}
	for _, n := range append(slices.Clone(stale), keep...) {
		os.WriteFile(filepath.Join(dir, n), []byte("left over"), 0o644)
	}
	live := filepath.Join(dir, ".out.qt.tmp-77")
	os.WriteFile(live, nil, 0o644)
	f, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !tryLock(f) {
		t.Fatal("cannot flock here")
	}
	if err := Write(p, text("x")); err != nil {
		t.Fatal(err)
	}
	wantNames(t, dir, append(keep, "out.qt", ".out.qt.tmp-77")...)
}

// TestKilledWrite kills a process in the middle of a write: no temporary
// file may stay (O_TMPFILE), and with named temporaries the next write
// removes the one left.
func TestKilledWrite(t *testing.T) {
	if os.Getenv("SAFEFILE_KILL_CHILD") != "" {
		noUnnamed = os.Getenv("SAFEFILE_KILL_CHILD") == "named"
		Write(os.Getenv("SAFEFILE_KILL_PATH"), func(w io.Writer) error {
			w.Write(make([]byte, 1<<20))
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		})
		os.Exit(3) // not reached
	}
	for _, mode := range []string{"unnamed", "named"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "out.qt")
			os.WriteFile(p, []byte("old"), 0o644)
			cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWrite$")
			cmd.Env = append(os.Environ(), "SAFEFILE_KILL_CHILD="+mode, "SAFEFILE_KILL_PATH="+p)
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child: %v, want killed", err)
			}
			if read(t, p) != "old" {
				t.Fatalf("the target holds %q", read(t, p))
			}
			if mode == "unnamed" {
				wantNames(t, dir, "out.qt")
				return
			}
			if len(names(t, dir)) != 2 {
				t.Fatalf("%s holds %q, want out.qt and the killed write's temporary", dir, names(t, dir))
			}
			if err := Write(p, text("new")); err != nil {
				t.Fatal(err)
			}
			wantNames(t, dir, "out.qt")
		})
	}
}
