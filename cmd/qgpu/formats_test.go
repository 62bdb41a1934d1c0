package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// formatsDir holds NumPy's files for these tests (testdata/formats/gen.py).
var formatsDir = filepath.Join("testdata", "formats")

func fixture(name string) string { return filepath.Join(formatsDir, name) }

// sameBytes fails unless files a and b hold the same bytes.
func sameBytes(t *testing.T, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		t.Errorf("%s differs from %s (numpy.save):\n%q\n%q", a, b, x, y)
	}
}

// mustRun runs qgpu and fails unless it exits 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, stderr := qgpu(t, args...)
	if code != 0 {
		t.Fatalf("qgpu %q: exit %d: %s", args, code, stderr)
	}
	return out
}

// qFile writes the int8 tensor of gen.py's dequantize case as a .qt file.
func qFile(t *testing.T, dir string) string {
	t.Helper()
	q, err := qtensor.New(qtensor.Int8, []int{2, 3}, qtensor.TensorParams(0.5, 3))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []int32{-128, -1, 0, 3, 5, 127} {
		q.Set(i, v)
	}
	q.Name = "q"
	p := filepath.Join(dir, "q.qt")
	if err := qtensor.Save(p, q); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDequantizeFormats: the extension of --out picks .npy (numpy.save's
// bytes), .safetensors or .qt; each is read back; another extension is an
// error listing the supported ones.
func TestDequantizeFormats(t *testing.T) {
	dir := t.TempDir()
	in := qFile(t, dir)
	p := func(n string) string { return filepath.Join(dir, n) }
	mustRun(t, "dequantize", "--in", in, "--out", p("d.npy"))
	sameBytes(t, p("d.npy"), fixture("deq_2x3.npy"))
	want, err := qtensor.LoadNPY(fixture("deq_2x3.npy"))
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{"d.safetensors", "d.qt", "d.SafeTensors"} {
		mustRun(t, "dequantize", "--in", in, "--out", p(out))
		got, err := loadTensor(p(out), "")
		if err != nil || got.DType != qtensor.Float32 || !slices.Equal(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("%s: %+v, %v; want %v", out, got, err, want.Float32s())
		}
	}
	if f, _ := sniffFormat(p("d.safetensors")); f != formatSafetensors {
		t.Errorf("d.safetensors is %q", f)
	}
	if f, _ := sniffFormat(p("d.qt")); f != formatQT {
		t.Errorf("d.qt is %q", f)
	}
	wantError(t, 2, `unknown extension ".bin": want .npy, .safetensors or .qt`, "dequantize", "--in", in, "--out", p("d.bin"))
}

// TestQuantizeFormats: quantize writes .qt and .safetensors (in ONNX's
// layout, read back to the same tensor), refuses .npy with the reason and
// an unknown extension with the list.
func TestQuantizeFormats(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	x := fixture("x_2x3.npy")
	for _, c := range []struct {
		args       []string
		scaleShape []int
	}{
		{[]string{"--dtype", "int8"}, []int{}},
		{[]string{"--dtype", "uint8", "--axis", "0"}, []int{2}},
		{[]string{"--dtype", "int4", "--block", "2"}, []int{2, 2}}, // 3 columns in blocks of 2
	} {
		mustRun(t, append([]string{"quantize", "--in", x, "--out", p("w.qt")}, c.args...)...)
		mustRun(t, append([]string{"quantize", "--in", x, "--out", p("w.safetensors")}, c.args...)...)
		a, err := loadTensor(p("w.qt"), "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := loadTensor(p("w.safetensors"), "")
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if !a.Equal(b.Tensor) || !b.params {
			t.Errorf("%q: .safetensors read back as %+v, .qt %+v", c.args, b.Tensor, a.Tensor)
		}
		st, err := qtensor.OpenSafetensors(p("w.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		info, _ := st.Info("x_2x3")
		si, _ := st.Info("x_2x3_scale")
		zi, _ := st.Info("x_2x3_zero_point")
		wantDT := map[bool]string{true: "I8", false: "U8"}[a.DType.Signed()]
		if !slices.Equal(st.Names(), []string{"x_2x3", "x_2x3_scale", "x_2x3_zero_point"}) || info.DType != wantDT ||
			si.DType != "F32" || !slices.Equal(si.Shape, c.scaleShape) || zi.DType != wantDT || !slices.Equal(zi.Shape, c.scaleShape) {
			t.Errorf("%q: tensors %v: %+v %+v %+v", c.args, st.Names(), info, si, zi)
		}
		st.Close()
		// dequantize and inspect read it.
		mustRun(t, "dequantize", "--in", p("w.safetensors"), "--out", p("r.npy"))
		mustRun(t, "dequantize", "--in", p("w.qt"), "--out", p("r2.npy"))
		sameBytes(t, p("r.npy"), p("r2.npy"))
		if out := mustRun(t, "inspect", p("w.safetensors")); !strings.Contains(out, `"x_2x3": `+wantDT) || !strings.Contains(out, "quantized by qgpu") {
			t.Errorf("inspect: %s", out)
		}
		if out := mustRun(t, "inspect", p("w.safetensors"), "--tensor", "x_2x3", "--ref", x); !strings.Contains(out, "SQNR:") {
			t.Errorf("inspect --ref: %s", out)
		}
	}
	wantError(t, 2, "an .npy file cannot hold the scales and zero points", "quantize", "--in", x, "--out", p("w.npy"))
	wantError(t, 2, `unknown extension ".pt": want .qt or .safetensors`, "quantize", "--in", x, "--out", p("w.pt"))
}

// TestRunFormats: run's .npy outputs are numpy.save's bytes of NumPy's
// results; .qt keeps a quantized output's parameters; .safetensors reads
// back.
func TestRunFormats(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	ql := []string{"run", "QuantizeLinear", "--in", fixture("x_2x3.npy"), "--in", fixture("scale.npy"), "--in", fixture("zp.npy"), "--out"}
	mustRun(t, append(ql, p("y.npy"))...)
	sameBytes(t, p("y.npy"), fixture("q_2x3.npy"))
	mustRun(t, append(ql, p("y.qt"))...)
	q, err := qtensor.Load(p("y.qt"))
	if err != nil {
		t.Fatal(err)
	}
	npy, _ := qtensor.LoadNPY(fixture("q_2x3.npy"))
	if q.DType != qtensor.Int8 || q.Params.Scales[0] != 0.5 || q.Params.ZeroPoints[0] != 3 || !slices.Equal(q.Int32s(), npy.Int32s()) {
		t.Errorf("y.qt: %+v, want the int8 values of q_2x3.npy with scale 0.5, zero point 3", q)
	}
	mustRun(t, append(ql, p("y.safetensors"))...)
	if s, err := loadTensor(p("y.safetensors"), ""); err != nil || !s.Equal(q) {
		t.Errorf("y.safetensors: %+v %v", s, err)
	}
	mm := []string{"run", "MatMulInteger", "--in", fixture("a_2x3.npy"), "--in", fixture("b_3x2.npy"), "--out"}
	mustRun(t, append(mm, p("ab.npy"))...)
	sameBytes(t, p("ab.npy"), fixture("ab_2x2.npy"))
	mustRun(t, append(mm, p("ab.qt"))...)
	// By hand: 1*-1 + 2*3 + 255*127, 1*2 + 2*-128; 128*3 + 7*127, 128*-128.
	if ab, err := qtensor.Load(p("ab.qt")); err != nil || ab.DType != qtensor.Int32 || !slices.Equal(ab.Int32s(), []int32{32390, -254, 1273, -16384}) {
		t.Errorf("ab.qt: %+v %v", ab, err)
	}
	wantError(t, 2, `unknown extension ".txt": want .npy, .qt or .safetensors`, append(ql, p("y.txt"))...)
	wantError(t, 2, "run takes NumPy .npy arrays", "run", "DequantizeLinear", "--in", p("y.qt"), "--in", fixture("scale.npy"), "--out", p("z.npy"))
}

// TestReadByContent: a file is read by what it holds, whatever its name
// says (files written under the wrong extension by earlier versions).
func TestReadByContent(t *testing.T) {
	dir := t.TempDir()
	odd := filepath.Join(dir, "looks.qt")
	b, _ := os.ReadFile(fixture("x_2x3.npy"))
	os.WriteFile(odd, b, 0o644)
	if out := mustRun(t, "inspect", odd); !strings.Contains(out, "float32 [2 3]") {
		t.Errorf("inspect: %s", out)
	}
	mustRun(t, "calibrate", "--in", odd)
	junk := filepath.Join(dir, "junk.npy")
	os.WriteFile(junk, []byte("hello, world"), 0o644)
	wantError(t, 2, "is not a tensor file: want a .qt file", "inspect", junk)
}
