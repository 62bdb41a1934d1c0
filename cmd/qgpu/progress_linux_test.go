package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("open pts: %v", err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

// TestProgressOnTerminal: a per-channel KL calibration shows its progress
// on stderr when stderr is a terminal (and clears the line at the end);
// on anything else it prints nothing there.
func TestProgressOnTerminal(t *testing.T) {
	dir := t.TempDir()
	const ch, n = 64, 64
	x := make([]float32, ch*n)
	for i := range x {
		x[i] = float32(i%13) - 6
	}
	in := writeF32(t, dir, "w.npy", []int{ch, n}, x)
	master, slave := openPTY(t)
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(master) // until the slave side is closed
		got <- b
	}()
	var out bytes.Buffer
	code := Main([]string{"calibrate", "--in", in, "--axis", "0", "--method", "kl"}, &out, slave)
	slave.Close()
	b := <-got
	if code != 0 {
		t.Fatalf("exit %d: %q", code, b)
	}
	if !bytes.Contains(b, []byte("calibrate: kl: ")) || !bytes.Contains(b, []byte("channel")) || !bytes.HasSuffix(b, []byte("\r\x1b[K")) {
		t.Errorf("terminal got %q; want progress lines ending with a cleared line", b)
	}
	if strings.Contains(out.String(), "\r") {
		t.Errorf("progress on stdout: %q", out.String())
	}
	var errb bytes.Buffer
	if code := Main([]string{"calibrate", "--in", in, "--axis", "0", "--method", "kl"}, &out, &errb); code != 0 || errb.Len() != 0 {
		t.Errorf("not a terminal: exit %d, stderr %q", code, errb.String())
	}
}
