package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// writeLinear writes a .safetensors file with the F32 tensors
// "l0.weight" [16, 96] and "l1.weight" [8, 64] (Gaussian, as a Linear's
// weights) and "l0.bias" [16], and returns the path and the weights.
func writeLinear(t *testing.T, dir string) (string, map[string][]float32) {
	t.Helper()
	r := rand.New(rand.NewPCG(9, 9))
	w := map[string][]float32{}
	var ts []qtensor.SafetensorsTensor
	for _, c := range []struct {
		name  string
		shape []int
	}{{"l0.weight", []int{16, 96}}, {"l0.bias", []int{16}}, {"l1.weight", []int{8, 64}}} {
		n := 1
		for _, d := range c.shape {
			n *= d
		}
		v := make([]float32, n)
		b := make([]byte, 4*n)
		for i := range v {
			v[i] = float32(r.NormFloat64() * 0.05)
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v[i]))
		}
		w[c.name] = v
		ts = append(ts, qtensor.SafetensorsTensor{Name: c.name, DType: "F32", Shape: c.shape, Data: b})
	}
	var buf bytes.Buffer
	if err := qtensor.WriteSafetensors(&buf, ts, nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, w
}

// TestQuantizeManyAbsmax: --tensor '*.weight' quantizes every weight (not
// the bias) in blocks of 32; with absmax each block's scale is
// float32(amax / 7) and every integer rint(x / scale), computed here in
// float64; nothing saturates, where PyTorch's symmetric rule (amax/7.5)
// saturates some values.
func TestQuantizeManyAbsmax(t *testing.T) {
	dir := t.TempDir()
	in, w := writeLinear(t, dir)
	out := filepath.Join(dir, "q.safetensors")
	code, stdout, stderr := qgpu(t, "quantize", "--in", in, "--tensor", "*.weight", "--dtype", "int4", "--block", "32", "--scheme", "absmax", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, `"l0.weight": float32[16 96], int4 absmax per-block: 48 pair(s), SQNR`) || !strings.Contains(stdout, "0 of 1536 (0.00%) saturated") ||
		!strings.Contains(stdout, "2 tensor(s) -> ") || strings.Contains(stdout, "bias") {
		t.Fatalf("report:\n%s", stdout)
	}
	for name, x := range w {
		if name == "l0.bias" {
			continue
		}
		l, err := loadTensor(out, name)
		if err != nil {
			t.Fatal(err)
		}
		q := l.Tensor
		if q.DType != qtensor.Int4 || q.Params.Granularity != qtensor.PerBlock || q.Params.BlockSize != 32 || q.Params.Axis != 1 {
			t.Fatalf("%s: %v %+v", name, q.DType, q.Params)
		}
		for b := range len(x) / 32 {
			amax := 0.0
			for _, v := range x[32*b : 32*b+32] {
				amax = math.Max(amax, math.Abs(float64(v)))
			}
			s := float32(amax / 7)
			if q.Params.Scales[b] != s || q.Params.ZeroPoints[b] != 0 {
				t.Fatalf("%s block %d: scale %g zp %d, want %g 0", name, b, q.Params.Scales[b], q.Params.ZeroPoints[b], s)
			}
			for i := 32 * b; i < 32*b+32; i++ {
				if want := int32(math.RoundToEven(float64(float32(float64(x[i]) / float64(s))))); q.At(i) != want {
					t.Fatalf("%s[%d] = %d, want %d", name, i, q.At(i), want)
				}
			}
		}
	}
	// The mentioned symmetric rule: scale amax/7.5, some values saturate.
	code, stdout, stderr = qgpu(t, "quantize", "--in", in, "--tensor", "l?.weight", "--dtype", "int4", "--block", "32", "--scheme", "symmetric", "--out", out)
	if code != 0 || strings.Contains(stdout, " 0 of 1536 (0.00%) saturated") || !strings.Contains(stdout, "int4 symmetric per-block") {
		t.Fatalf("symmetric: exit %d\n%s%s", code, stdout, stderr)
	}
	// --qmin -7 --qmax 7 makes the symmetric rule amax/7: the same file.
	out2 := filepath.Join(dir, "q2.safetensors")
	if code, _, stderr := qgpu(t, "quantize", "--in", in, "--tensor", "*.weight", "--dtype", "int4", "--block", "32", "--scheme", "symmetric", "--qmin", "-7", "--qmax", "7", "--out", out2); code != 0 {
		t.Fatalf("qmin/qmax: exit %d: %s", code, stderr)
	}
	qgpu(t, "quantize", "--in", in, "--tensor", "*.weight", "--dtype", "int4", "--block", "32", "--scheme", "absmax", "--out", out)
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(out2)
	if !bytes.Equal(a, b) {
		t.Errorf("absmax and symmetric over [-7, 7] differ")
	}
	wantError(t, 2, "matches", "quantize", "--in", in, "--tensor", "*.nothing", "--dtype", "int4", "--out", out)
	wantError(t, 2, ".safetensors --out", "quantize", "--in", in, "--tensor", "*.weight", "--dtype", "int4", "--out", filepath.Join(dir, "x.qt"))
}
