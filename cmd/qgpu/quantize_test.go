package main

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

func TestQuantizeDequantizeInspect(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "x.npy")
	writeNPY(t, x, f32([]int{4}, -1, 0, 1, 3))
	qt := filepath.Join(dir, "x.qt")
	// uint8 affine by hand (docs/semantics.md section 5): range [-1, 3], scale 4/255, zero point
	// 0 - rint(-1 / (4/255)) = rint(63.75) = 64; x / scale = -63.75, 0,
	// 63.75, 191.25 -> -64, 0, 64, 191 -> + 64.
	if code, _, stderr := qgpu(t, "quantize", "--in", x, "--dtype", "uint8", "--scheme", "affine", "--out", qt); code != 0 {
		t.Fatalf("quantize: exit %d: %s", code, stderr)
	}
	q, err := qtensor.Load(qt)
	if err != nil {
		t.Fatal(err)
	}
	s := float32(4) / 255
	want := &qtensor.Tensor{Name: "x", DType: qtensor.Uint8, Shape: []int{4}, Params: qtensor.TensorParams(s, 64), Data: []byte{0, 64, 128, 255}}
	if !q.Equal(want) {
		t.Errorf("quantized %+v, want %+v", q, want)
	}

	y := filepath.Join(dir, "y.npy")
	if code, _, stderr := qgpu(t, "dequantize", "--in", qt, "--out", y); code != 0 {
		t.Fatalf("dequantize: exit %d: %s", code, stderr)
	}
	yt, err := qtensor.LoadNPY(y)
	if err != nil {
		t.Fatal(err)
	}
	wantY := []float32{float32(-64) * s, 0, float32(64) * s, float32(191) * s}
	if got := yt.Float32s(); !slices.Equal(got, wantY) {
		t.Errorf("dequantized %v, want %v", got, wantY)
	}

	// SQNR by hand: signal 1+0+1+9 = 11, errors 1/255, 0, -1/255, 1/255:
	// 10*log10(11 / (3/255^2)) = 53.77 dB.
	code, out, stderr := qgpu(t, "inspect", qt, "--ref", x)
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, stderr)
	}
	for _, w := range []string{"dtype:       uint8", "per-tensor", "min 0, max 255", "1 at 255", "SQNR:        53.77 dB"} {
		if !strings.Contains(out, w) {
			t.Errorf("inspect output lacks %q:\n%s", w, out)
		}
	}
	if want := 10 * math.Log10(11*255*255/3.0); math.Abs(want-53.77) > 0.005 {
		t.Fatalf("hand SQNR %.4f", want)
	}
}

func TestQuantizePerAxisAndBlock(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "w.npy")
	// Rows [-1, 2] and [4, -2]. int8 symmetric per row (axis 0): scales
	// 2/127.5 and 4/127.5; -1 and -2 are -63.75 scales -> -64; the row
	// maxima are 127.5 scales -> 127 after the clamp (either rounding).
	writeNPY(t, x, f32([]int{2, 2}, -1, 2, 4, -2))
	qt := filepath.Join(dir, "w.qt")
	if code, _, stderr := qgpu(t, "quantize", "--in", x, "--dtype", "int8", "--scheme", "symmetric", "--axis", "0", "--out", qt); code != 0 {
		t.Fatalf("quantize: exit %d: %s", code, stderr)
	}
	q, err := qtensor.Load(qt)
	if err != nil {
		t.Fatal(err)
	}
	wantP := qtensor.AxisParams(0, []float32{float32(2) / 127.5, float32(4) / 127.5}, []int32{0, 0})
	if q.Params.Granularity != wantP.Granularity || q.Params.Axis != 0 || !slices.Equal(q.Params.Scales, wantP.Scales) || !slices.Equal(q.Params.ZeroPoints, wantP.ZeroPoints) {
		t.Errorf("params %+v, want %+v", q.Params, wantP)
	}
	if got := q.Int32s(); !slices.Equal(got, []int32{-64, 127, 127, -64}) {
		t.Errorf("values %v", got)
	}
	// Blocks of 1 along the last axis: every element is its own block, so
	// uint4 affine maps each x to 15 when positive and 0 when negative.
	if code, _, stderr := qgpu(t, "quantize", "--in", x, "--dtype", "uint4", "--block", "1", "--out", qt); code != 0 {
		t.Fatalf("quantize --block: exit %d: %s", code, stderr)
	}
	if q, err = qtensor.Load(qt); err != nil {
		t.Fatal(err)
	}
	if q.Params.Granularity != qtensor.PerBlock || q.Params.Axis != 1 || q.Params.BlockSize != 1 || len(q.Params.Scales) != 4 {
		t.Errorf("block params %+v", q.Params)
	}
	if got := q.Int32s(); !slices.Equal(got, []int32{0, 15, 15, 0}) {
		t.Errorf("block values %v", got)
	}
}

func TestQuantizeErrors(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "x.npy")
	writeNPY(t, x, f32([]int{2}, 1, 2))
	u := filepath.Join(dir, "u.npy")
	writeNPY(t, u, u8([]int{2}, 1, 2))
	out := filepath.Join(dir, "o.qt")
	st := filepath.Join("..", "..", "qtensor", "testdata", "sample.safetensors")
	cases := []struct {
		want string
		args []string
	}{
		{"--in and --out are required", []string{"quantize", "--in", x}},
		{`--dtype "float32"`, []string{"quantize", "--in", x, "--dtype", "float32", "--out", out}},
		{`--scheme "minmax"`, []string{"quantize", "--in", x, "--scheme", "minmax", "--out", out}},
		{"--axis 1 out of range", []string{"quantize", "--in", x, "--axis", "1", "--out", out}},
		{"want float32", []string{"quantize", "--in", u, "--out", out}},
		{"choose one with --tensor", []string{"quantize", "--in", st, "--out", out}},
		{`no tensor "nope"`, []string{"quantize", "--in", st, "--tensor", "nope", "--out", out}},
		{"holds int8 values, want float32", []string{"quantize", "--in", st, "--tensor", "ids.i8", "--out", out}},
		{"--in and --out are required", []string{"dequantize", "--out", out}},
		{"x.npy", []string{"dequantize", "--in", x, "--out", out}},
		{"want one FILE", []string{"inspect"}},
		{"--ref needs a quantized FILE", []string{"inspect", x, "--ref", x}},
	}
	for _, c := range cases {
		wantError(t, 2, c.want, c.args...)
	}
}
