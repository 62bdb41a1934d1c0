package main

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// fileBytes returns the content of p ("" when it does not exist).
func fileBytes(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// TestOutputsNotClobbered: an output that is a character device or pipe
// is written in place, a symbolic link is written through, an existing
// file keeps its mode.
func TestOutputsNotClobbered(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "x.npy")
	writeNPY(t, x, f32([]int{2, 3}, 1, -2, 3, 0.5, 0, 4))

	// A character device (a copy of /dev/null where mknod is allowed).
	null := filepath.Join(dir, "null")
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Logf("mknod not permitted (%v): checking /dev/null itself", err)
		null = "/dev/null"
	}
	if code, _, stderr := qgpu(t, "quantize", "--in", x, "--out", null); code != 0 {
		t.Fatalf("quantize --out %s: exit %d: %s", null, code, stderr)
	}
	if fi, err := os.Stat(null); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s became %v (%v)", null, fi.Mode(), err)
	}

	// A symbolic link to a 0600 file.
	target := filepath.Join(dir, "target.qt")
	os.WriteFile(target, []byte("old"), 0o600)
	link := filepath.Join(dir, "link.qt")
	os.Symlink("target.qt", link)
	if code, _, stderr := qgpu(t, "quantize", "--in", x, "--out", link); code != 0 {
		t.Fatalf("quantize --out link: exit %d: %s", code, stderr)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link became %v (%v)", fi.Mode(), err)
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("target mode %v, want 0600 (%v)", fi.Mode(), err)
	}
	if q, err := qtensor.Load(target); err != nil || q.Len() != 6 {
		t.Fatalf("target: %v", err)
	}

	// A named pipe gets the .npy of dequantize.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() { b, _ := os.ReadFile(fifo); got <- b }()
	if code, _, stderr := qgpu(t, "dequantize", "--in", target, "--out", fifo); code != 0 {
		t.Fatalf("dequantize --out fifo: exit %d: %s", code, stderr)
	}
	if b := <-got; !strings.HasPrefix(string(b), "\x93NUMPY") {
		t.Fatalf("the pipe's reader got %q", b[:min(len(b), 16)])
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the pipe became %v (%v)", fi.Mode(), err)
	}

	// A directory is refused (bad usage).
	wantError(t, 2, "is a directory", "quantize", "--in", x, "--out", dir)
}

// TestOutputIsInput: --out naming the input (directly, through a symbolic
// link or a hard link) is refused and the input kept.
func TestOutputIsInput(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "x.npy")
	writeNPY(t, x, f32([]int{2, 2}, 1, 2, 3, 4))
	q := filepath.Join(dir, "q.qt")
	if code, _, stderr := qgpu(t, "quantize", "--in", x, "--out", q); code != 0 {
		t.Fatal(stderr)
	}
	os.Symlink("x.npy", filepath.Join(dir, "sym.npy"))
	os.Link(x, filepath.Join(dir, "hard.npy"))
	os.Symlink("q.qt", filepath.Join(dir, "qsym.qt"))
	os.Symlink("x.npy", filepath.Join(dir, "same.png")) // --plot wants a .png name
	before, beforeQ := fileBytes(t, x), fileBytes(t, q)
	for _, args := range [][]string{
		{"quantize", "--in", x, "--out", x},
		{"quantize", "--in", x, "--out", filepath.Join(dir, "sym.npy")},
		{"quantize", "--in", filepath.Join(dir, "hard.npy"), "--out", x},
		{"dequantize", "--in", q, "--out", filepath.Join(dir, "qsym.qt")},
		{"run", "DynamicQuantizeLinear", "--in", x, "--out", filepath.Join(dir, "y.npy"), "--out", "none", "--out", filepath.Join(dir, "hard.npy")},
		{"calibrate", "--in", x, "--plot", filepath.Join(dir, "same.png")},
	} {
		code, _, stderr := qgpu(t, args...)
		if code != 2 || !strings.Contains(stderr, "is the input file") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and \"is the input file\"", args, code, stderr)
		}
	}
	if fileBytes(t, x) != before || fileBytes(t, q) != beforeQ {
		t.Fatal("an input was overwritten")
	}
	// Two outputs naming one file.
	wantError(t, 2, "given twice", "run", "DynamicQuantizeLinear", "--in", x, "--out", filepath.Join(dir, "a.npy"), "--out", filepath.Join(dir, "a.npy"), "--out", "none")
}

// TestRunAllOrNothing: when one output of a multi-output run cannot be
// written, none is (new files are not made, existing ones keep their
// content).
func TestRunAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "x.npy")
	writeNPY(t, x, f32([]int{4}, 0, 1, 2, 3))
	y, z := filepath.Join(dir, "y.npy"), filepath.Join(dir, "z.npy")
	os.WriteFile(z, []byte("old z"), 0o644)
	wantError(t, 2, "nodir", "run", "DynamicQuantizeLinear", "--in", x, "--out", y, "--out", filepath.Join(dir, "nodir", "s.npy"), "--out", z)
	if _, err := os.Stat(y); err == nil {
		t.Error("y.npy was written")
	}
	if fileBytes(t, z) != "old z" {
		t.Error("z.npy was replaced")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("directory holds %d entries, want x.npy and z.npy", len(ents))
	}
	// All three written when all can be.
	if code, _, stderr := qgpu(t, "run", "DynamicQuantizeLinear", "--in", x, "--out", y, "--out", filepath.Join(dir, "s.npy"), "--out", z); code != 0 {
		t.Fatal(stderr)
	}
	for _, p := range []string{y, filepath.Join(dir, "s.npy"), z} {
		if _, err := qtensor.LoadNPY(p); err != nil {
			t.Error(err)
		}
	}
}

// TestInspectEmptyParams: inspect of empty per-axis and per-block tensors
// (no scale pairs; Save writes them) prints instead of panicking.
func TestInspectEmptyParams(t *testing.T) {
	dir := t.TempDir()
	for name, p := range map[string]qtensor.Params{
		"axis.qt":  qtensor.AxisParams(0, nil, nil),
		"block.qt": qtensor.BlockParams(0, 4, nil, nil),
	} {
		x, err := qtensor.New(qtensor.Int8, []int{0, 3}, p)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := qtensor.Save(path, x); err != nil {
			t.Fatal(err)
		}
		code, out, stderr := qgpu(t, "inspect", path)
		if code != 0 || !strings.Contains(out, "0 pair(s)") {
			t.Errorf("inspect %s: exit %d, %q, %q", name, code, out, stderr)
		}
	}
}

// safetensorsFile writes a .safetensors file of one F32 tensor [2] named
// name, with metadata meta.
func safetensorsFile(t *testing.T, path, name string, meta map[string]string) {
	t.Helper()
	hdr := map[string]any{name: map[string]any{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{0, 8}}}
	if meta != nil {
		hdr["__metadata__"] = meta
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	b = append(append(b, h...), 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestNamesEscaped: tensor names and metadata with terminal escape
// sequences are printed escaped by inspect, quantize and calibrate (and
// in errors), never raw.
func TestNamesEscaped(t *testing.T) {
	dir := t.TempDir()
	const evil = "\x1b]0;pwned\x07\x1b[31mred\u202e"
	st := filepath.Join(dir, "m.safetensors")
	safetensorsFile(t, st, evil, map[string]string{evil: evil})
	q := filepath.Join(dir, "q.qt")
	for _, c := range []struct {
		args  []string
		shown bool // the output names the tensor
	}{
		{[]string{"inspect", st}, true},
		{[]string{"inspect", st, "--tensor", evil}, false},
		{[]string{"quantize", "--in", st, "--out", q}, true},
		{[]string{"inspect", q}, true},
		{[]string{"calibrate", "--in", st, "--method", "all"}, true},
		{[]string{"quantize", "--in", st, "--tensor", evil + "x", "--out", q}, true}, // an error naming it
	} {
		_, out, stderr := qgpu(t, c.args...)
		if strings.ContainsAny(out+stderr, "\x1b\x07\u202e") {
			t.Errorf("%q printed a raw control character: %q %q", c.args, out, stderr)
		}
		if c.shown && !strings.Contains(out+stderr, `\x1b`) {
			t.Errorf("%q: the escaped name is not shown: %q %q", c.args, out, stderr)
		}
	}
}

// TestLongValuesCut: an error about a huge argument stays short.
func TestLongValuesCut(t *testing.T) {
	dir := t.TempDir()
	x, w := filepath.Join(dir, "x.npy"), filepath.Join(dir, "w.npy")
	writeNPY(t, x, u8([]int{1, 1, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9))
	writeNPY(t, w, i8([]int{1, 1, 1, 1}, 1))
	pads := strings.TrimSuffix(strings.Repeat("1,", 60000), ",")
	for _, attr := range []string{"pads=" + pads, "pads=" + pads + ",x", "group=" + strings.Repeat("9", 100000), strings.Repeat("k", 100000) + "=1"} {
		code, _, stderr := qgpu(t, "run", "ConvInteger", "--attr", attr, "--in", x, "--in", w, "--out", filepath.Join(dir, "y.npy"))
		if code != 2 || len(stderr) > 700 {
			t.Errorf("--attr of %d bytes: exit %d, %d-byte error %.200q", len(attr), code, len(stderr), stderr)
		}
	}
}
