package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// arr is a test array written to an .npy file.
type arr struct {
	d     qtensor.DType
	shape []int
	f     []float32
	i     []int32
}

func f32(shape []int, v ...float32) arr { return arr{d: qtensor.Float32, shape: shape, f: v} }
func u8(shape []int, v ...int32) arr    { return arr{d: qtensor.Uint8, shape: shape, i: v} }
func i8(shape []int, v ...int32) arr    { return arr{d: qtensor.Int8, shape: shape, i: v} }
func i32(shape []int, v ...int32) arr   { return arr{d: qtensor.Int32, shape: shape, i: v} }

// scalar is the 0-d shape.
var scalar = []int{}

func writeNPY(t *testing.T, path string, a arr) {
	t.Helper()
	var tt *qtensor.Tensor
	var err error
	switch a.d {
	case qtensor.Float32:
		tt, err = qtensor.FromFloat32(a.shape, a.f)
	case qtensor.Int32:
		tt, err = qtensor.FromInt32(a.shape, a.i)
	default:
		tt, err = qtensor.New(a.d, a.shape, qtensor.TensorParams(1, 0))
		if err == nil {
			if len(a.i) != tt.Len() {
				t.Fatalf("%s: %d values for shape %v", path, len(a.i), a.shape)
			}
			for i, v := range a.i {
				tt.Set(i, v)
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := qtensor.SaveNPY(path, tt); err != nil {
		t.Fatal(err)
	}
}

// runOp writes the inputs (nil: "none"), runs `qgpu run` and returns the
// outputs read back.
func runOp(t *testing.T, op string, attrs []string, ins []*arr, nout int) []*qtensor.Tensor {
	t.Helper()
	dir := t.TempDir()
	args := []string{"run", op, "--backend", "cpu"}
	for _, a := range attrs {
		args = append(args, "--attr", a)
	}
	for i, a := range ins {
		if a == nil {
			args = append(args, "--in", "none")
			continue
		}
		p := filepath.Join(dir, "in"+string(rune('0'+i))+".npy")
		writeNPY(t, p, *a)
		args = append(args, "--in", p)
	}
	var outs []string
	for i := range nout {
		p := filepath.Join(dir, "out"+string(rune('0'+i))+".npy")
		outs = append(outs, p)
		args = append(args, "--out", p)
	}
	code, _, stderr := qgpu(t, args...)
	if code != 0 {
		t.Fatalf("%s: exit %d: %s", op, code, stderr)
	}
	var res []*qtensor.Tensor
	for _, p := range outs {
		tt, err := qtensor.LoadNPY(p)
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, tt)
	}
	return res
}

func checkInts(t *testing.T, name string, got *qtensor.Tensor, want arr) {
	t.Helper()
	if got.DType != want.d || !slices.Equal(got.Shape, want.shape) {
		t.Fatalf("%s: got %v%v, want %v%v", name, got.DType, got.Shape, want.d, want.shape)
	}
	if g := got.Int32s(); !slices.Equal(g, want.i) {
		t.Errorf("%s: got %v, want %v", name, g, want.i)
	}
}

func checkFloats(t *testing.T, name string, got *qtensor.Tensor, want arr) {
	t.Helper()
	if got.DType != qtensor.Float32 || !slices.Equal(got.Shape, want.shape) {
		t.Fatalf("%s: got %v%v, want float32%v", name, got.DType, got.Shape, want.shape)
	}
	g := got.Float32s()
	for i := range g {
		if math.Float32bits(g[i]) != math.Float32bits(want.f[i]) {
			t.Errorf("%s: got %v, want %v", name, g, want.f)
			return
		}
	}
}

func p(a arr) *arr { return &a }

// The expected values below are the examples of the ONNX operator
// documentation (onnx/docs/Operators.md), or worked by hand where noted.
func TestRunONNXExamples(t *testing.T) {
	t.Run("QuantizeLinear", func(t *testing.T) {
		y := runOp(t, "QuantizeLinear", nil, []*arr{p(f32([]int{6}, 0, 2, 3, 1000, -254, -1000)), p(f32(scalar, 2)), p(u8(scalar, 128))}, 1)
		checkInts(t, "y", y[0], u8([]int{6}, 128, 129, 130, 255, 1, 0))
	})
	t.Run("QuantizeLinear/int8,[1]-shaped params", func(t *testing.T) {
		// By hand: x/2 = 0, 1, 1.5, 500, -127, -500; rint (half even) 0, 1, 2;
		// + (-1), saturated to [-128, 127].
		y := runOp(t, "QuantizeLinear", nil, []*arr{p(f32([]int{6}, 0, 2, 3, 1000, -254, -1000)), p(f32([]int{1}, 2)), p(i8([]int{1}, -1))}, 1)
		checkInts(t, "y", y[0], i8([]int{6}, -1, 0, 1, 127, -128, -128))
	})
	t.Run("QuantizeLinear/no zero point", func(t *testing.T) {
		// uint8, zero point 0: x/2 rounded, clamped to [0, 255].
		y := runOp(t, "QuantizeLinear", nil, []*arr{p(f32([]int{4}, 1, 5, -4, 600)), p(f32(scalar, 2))}, 1)
		checkInts(t, "y", y[0], u8([]int{4}, 0, 2, 0, 255))
	})
	t.Run("QuantizeLinear/axis", func(t *testing.T) {
		// ONNX example "quantizelinear_axis".
		x := f32([]int{1, 3, 3, 2}, -162, 10, -100, 232, -20, -50, -76, 0, 0, 252, 32, -44, 245, -485, -960, -270, -375, -470)
		y := runOp(t, "QuantizeLinear", nil, []*arr{&x, p(f32([]int{3}, 2, 4, 5)), p(u8([]int{3}, 84, 24, 196))}, 1)
		checkInts(t, "y", y[0], u8([]int{1, 3, 3, 2}, 3, 89, 34, 200, 74, 59, 5, 24, 24, 87, 32, 13, 245, 99, 4, 142, 121, 102))
	})
	t.Run("QuantizeLinear/negative axis", func(t *testing.T) {
		// By hand: per column (axis -1 = 1) scales 1 and 10, zero points 0 and 100.
		y := runOp(t, "QuantizeLinear", []string{"axis=-1"}, []*arr{p(f32([]int{2, 2}, 3, 30, -4, -40)), p(f32([]int{2}, 1, 10)), p(i8([]int{2}, 0, 100))}, 1)
		checkInts(t, "y", y[0], i8([]int{2, 2}, 3, 103, -4, 96))
	})
	t.Run("QuantizeLinear/blocked", func(t *testing.T) {
		// By hand: x [2, 3], blocks of 2 along axis 1 -> scale [2, 2]:
		// row 0 blocks {8, 9} s=1 zp=0 and {10} s=2 zp=1; row 1 {4, 6} s=2 zp=3, {-8} s=4 zp=0.
		y := runOp(t, "QuantizeLinear", []string{"block_size=2"}, []*arr{p(f32([]int{2, 3}, 8, 9, 10, 4, 6, -8)), p(f32([]int{2, 2}, 1, 2, 2, 4)), p(i8([]int{2, 2}, 0, 1, 3, 0))}, 1)
		checkInts(t, "y", y[0], i8([]int{2, 3}, 8, 9, 6, 5, 6, -2))
	})
	t.Run("DequantizeLinear", func(t *testing.T) {
		y := runOp(t, "DequantizeLinear", nil, []*arr{p(u8([]int{4}, 0, 3, 128, 255)), p(f32(scalar, 2)), p(u8(scalar, 128))}, 1)
		checkFloats(t, "y", y[0], f32([]int{4}, -256, -250, 0, 254))
	})
	t.Run("DequantizeLinear/axis", func(t *testing.T) {
		// ONNX example "dequantizelinear_axis".
		x := u8([]int{1, 3, 3, 2}, 3, 89, 34, 200, 74, 59, 5, 24, 24, 87, 32, 13, 245, 99, 4, 142, 121, 102)
		y := runOp(t, "DequantizeLinear", nil, []*arr{&x, p(f32([]int{3}, 2, 4, 5)), p(u8([]int{3}, 84, 24, 196))}, 1)
		checkFloats(t, "y", y[0], f32([]int{1, 3, 3, 2}, -162, 10, -100, 232, -20, -50, -76, 0, 0, 252, 32, -44, 245, -485, -960, -270, -375, -470))
	})
	t.Run("DynamicQuantizeLinear", func(t *testing.T) {
		// ONNX example: scale (2 - (-3)) / 255, zero point rint(3 / scale) = 153.
		y := runOp(t, "DynamicQuantizeLinear", nil, []*arr{p(f32([]int{6}, 0, 2, -3, -2.5, 1.34, 0.5))}, 3)
		checkInts(t, "y", y[0], u8([]int{6}, 153, 255, 0, 26, 221, 179))
		checkFloats(t, "y_scale", y[1], f32(scalar, float32(5)/255))
		checkInts(t, "y_zero_point", y[2], u8(scalar, 153))
	})
	t.Run("MatMulInteger", func(t *testing.T) {
		a := u8([]int{4, 3}, 11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0)
		b := u8([]int{3, 2}, 1, 4, 2, 5, 3, 6)
		y := runOp(t, "MatMulInteger", nil, []*arr{&a, &b, p(u8(scalar, 12)), p(u8(scalar, 0))}, 1)
		checkInts(t, "Y", y[0], i32([]int{4, 2}, -38, -83, -44, -98, -50, -113, -56, -128))
		// The same with b_zero_point omitted ("none") and left out.
		y = runOp(t, "MatMulInteger", nil, []*arr{&a, &b, p(u8(scalar, 12)), nil}, 1)
		checkInts(t, "Y", y[0], i32([]int{4, 2}, -38, -83, -44, -98, -50, -113, -56, -128))
		y = runOp(t, "MatMulInteger", nil, []*arr{&a, &b, p(u8(scalar, 12))}, 1)
		checkInts(t, "Y", y[0], i32([]int{4, 2}, -38, -83, -44, -98, -50, -113, -56, -128))
	})
	t.Run("MatMulInteger/per-row and per-column zero points", func(t *testing.T) {
		// By hand: A - [1, 2] per row = [[1, 2], [1, 0]]; B - [0, 1] per column
		// (int8) = [[1, 1], [-1, 2]]; product [[-1, 5], [1, 1]].
		a := u8([]int{2, 2}, 2, 3, 3, 2)
		b := i8([]int{2, 2}, 1, 2, -1, 3)
		y := runOp(t, "MatMulInteger", nil, []*arr{&a, &b, p(u8([]int{2}, 1, 2)), p(i8([]int{2}, 0, 1))}, 1)
		checkInts(t, "Y", y[0], i32([]int{2, 2}, -1, 5, 1, 1))
	})
	t.Run("QLinearMatMul", func(t *testing.T) {
		y := runOp(t, "QLinearMatMul", nil, []*arr{
			p(u8([]int{2, 4}, 208, 236, 0, 238, 3, 214, 255, 29)), p(f32([]int{1}, 0.0066)), p(u8([]int{1}, 113)),
			p(u8([]int{4, 3}, 152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247)), p(f32([]int{1}, 0.00705)), p(u8([]int{1}, 114)),
			p(f32([]int{1}, 0.0107)), p(u8([]int{1}, 118)),
		}, 1)
		checkInts(t, "y", y[0], u8([]int{2, 3}, 168, 115, 255, 1, 66, 151))
	})
	convX := u8([]int{1, 1, 3, 3}, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	ones := u8([]int{1, 1, 2, 2}, 1, 1, 1, 1)
	t.Run("ConvInteger", func(t *testing.T) {
		y := runOp(t, "ConvInteger", nil, []*arr{&convX, &ones, p(u8(scalar, 1))}, 1)
		checkInts(t, "y", y[0], i32([]int{1, 1, 2, 2}, 12, 16, 24, 28))
	})
	t.Run("ConvInteger/pads", func(t *testing.T) {
		y := runOp(t, "ConvInteger", []string{"pads=1,1,1,1"}, []*arr{&convX, &ones, p(u8(scalar, 1))}, 1)
		checkInts(t, "y", y[0], i32([]int{1, 1, 4, 4}, 1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9))
	})
	t.Run("ConvInteger/arange", func(t *testing.T) {
		// By hand: x = arange(9) - 1 = [[-1, 0, 1], [2, 3, 4], [5, 6, 7]],
		// 2x2 sums 4, 8, 16, 20.
		x := u8([]int{1, 1, 3, 3}, 0, 1, 2, 3, 4, 5, 6, 7, 8)
		y := runOp(t, "ConvInteger", nil, []*arr{&x, &ones, p(u8(scalar, 1))}, 1)
		checkInts(t, "y", y[0], i32([]int{1, 1, 2, 2}, 4, 8, 16, 20))
	})
	t.Run("ConvInteger/auto_pad", func(t *testing.T) {
		// By hand, x - 1 = [[1, 2, 3], [4, 5, 6], [7, 8, 9]] with a 2x2 kernel
		// of ones: SAME_UPPER pads one row/column at the end (bottom, right),
		// SAME_LOWER at the beginning; VALID pads nothing.
		y := runOp(t, "ConvInteger", []string{"auto_pad=SAME_UPPER"}, []*arr{&convX, &ones, p(u8(scalar, 1))}, 1)
		checkInts(t, "SAME_UPPER", y[0], i32([]int{1, 1, 3, 3}, 12, 16, 9, 24, 28, 15, 15, 17, 9))
		y = runOp(t, "ConvInteger", []string{"auto_pad=SAME_LOWER"}, []*arr{&convX, &ones, p(u8(scalar, 1))}, 1)
		checkInts(t, "SAME_LOWER", y[0], i32([]int{1, 1, 3, 3}, 1, 3, 5, 5, 12, 16, 11, 24, 28))
		y = runOp(t, "ConvInteger", []string{"auto_pad=VALID", "strides=2,2", "kernel_shape=2,2"}, []*arr{&convX, &ones, p(u8(scalar, 1))}, 1)
		checkInts(t, "VALID", y[0], i32([]int{1, 1, 1, 1}, 12))
	})
	t.Run("ConvInteger/group and per-channel w_zero_point", func(t *testing.T) {
		// By hand: depthwise (group 2) 1x1 conv of two channels [1, 2] and
		// [3, 4] with int8 weights 2 and 5, w zero points 1 and 2: (x-0)*1
		// and (x-0)*3.
		x := u8([]int{1, 2, 1, 2}, 1, 2, 3, 4)
		w := i8([]int{2, 1, 1, 1}, 2, 5)
		y := runOp(t, "ConvInteger", []string{"group=2"}, []*arr{&x, &w, nil, p(i8([]int{2}, 1, 2))}, 1)
		checkInts(t, "y", y[0], i32([]int{1, 2, 1, 2}, 1, 2, 9, 12))
	})
	t.Run("QLinearConv", func(t *testing.T) {
		// By hand: x - 10 = [0, 10, 20, 30]; channel 0: acc = 2*(x-10) + 1 =
		// [1, 21, 41, 61], M = 0.5*0.25/1 = 0.125 -> 0.125, 2.625, 5.125,
		// 7.625 -> rint 0, 3, 5, 8 -> +5; channel 1: acc = -(x-10) - 2 =
		// [-2, -12, -22, -32], M = 0.25 -> -0.5, -3, -5.5, -8 -> rint (half
		// even) 0, -3, -6, -8 -> +5 = 5, 2, -1, -3 -> clamp 5, 2, 0, 0.
		y := runOp(t, "QLinearConv", nil, []*arr{
			p(u8([]int{1, 1, 2, 2}, 10, 20, 30, 40)), p(f32(scalar, 0.5)), p(u8(scalar, 10)),
			p(i8([]int{2, 1, 1, 1}, 2, -1)), p(f32([]int{2}, 0.25, 0.5)), p(i8([]int{2}, 0, 0)),
			p(f32(scalar, 1)), p(u8(scalar, 5)), p(i32([]int{2}, 1, -2)),
		}, 1)
		checkInts(t, "y", y[0], u8([]int{1, 2, 2, 2}, 5, 8, 10, 13, 5, 2, 0, 0))
	})
	t.Run("ConvInteger/1-D", func(t *testing.T) {
		// By hand: x - 1 = [1, 2, 3, 4], kernel [1, 1], pads [1, 0]: [1, 3, 5, 7].
		y := runOp(t, "ConvInteger", []string{"pads=1,0"}, []*arr{p(u8([]int{1, 1, 4}, 2, 3, 4, 5)), p(u8([]int{1, 1, 2}, 1, 1)), p(u8(scalar, 1))}, 1)
		checkInts(t, "y", y[0], i32([]int{1, 1, 4}, 1, 3, 5, 7))
	})
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	w := func(name string, a arr) string {
		path := filepath.Join(dir, name)
		writeNPY(t, path, a)
		return path
	}
	x := w("x.npy", f32([]int{2, 3}, 1, 2, 3, 4, 5, 6))
	s := w("s.npy", f32(scalar, 1))
	s3 := w("s3.npy", f32([]int{3}, 1, 1, 1))
	zp := w("zp.npy", u8(scalar, 0))
	zpf := w("zpf.npy", f32(scalar, 0))
	a := w("a.npy", u8([]int{2, 3}, 1, 2, 3, 4, 5, 6))
	bad := filepath.Join(dir, "bad.npy")
	if err := os.WriteFile(bad, []byte("not an npy file"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.npy")
	cases := []struct {
		want string
		args []string
	}{
		{"exactly one operator", []string{"run", "--in", x, "--out", out}},
		{`unknown operator "Conv"`, []string{"run", "Conv", "--in", x, "--out", out}},
		{"input 1 (y_scale) is required", []string{"run", "QuantizeLinear", "--in", x, "--out", out}},
		{"3 outputs given, want 1", []string{"run", "QuantizeLinear", "--in", x, "--in", s, "--out", out, "--out", out, "--out", out}},
		{"4 inputs given", []string{"run", "QuantizeLinear", "--in", x, "--in", s, "--in", zp, "--in", zp, "--out", out}},
		{"no such file", []string{"run", "QuantizeLinear", "--in", filepath.Join(dir, "missing.npy"), "--in", s, "--out", out}},
		{"bad.npy", []string{"run", "QuantizeLinear", "--in", bad, "--in", s, "--out", out}},
		{"want uint8 or int8", []string{"run", "QuantizeLinear", "--in", x, "--in", s, "--in", zpf, "--out", out}},
		{"has element type uint8, want float32", []string{"run", "QuantizeLinear", "--in", a, "--in", s, "--out", out}},
		{`unknown attribute "alpha"`, []string{"run", "QuantizeLinear", "--attr", "alpha=1", "--in", x, "--in", s, "--out", out}},
		{"want key=value", []string{"run", "QuantizeLinear", "--attr", "axis", "--in", x, "--in", s, "--out", out}},
		{"not an integer", []string{"run", "QuantizeLinear", "--attr", "axis=one", "--in", x, "--in", s, "--out", out}},
		{"axis 2 out of range", []string{"run", "QuantizeLinear", "--attr", "axis=2", "--in", x, "--in", s3, "--out", out}},
		{"per-axis quantization along axis 0", []string{"run", "QuantizeLinear", "--attr", "axis=0", "--in", x, "--in", s3, "--out", out}},
		{"scale", []string{"run", "QuantizeLinear", "--in", x, "--in", w("neg.npy", f32(scalar, -1)), "--out", out}},
		{"inner dimensions differ", []string{"run", "MatMulInteger", "--in", a, "--in", a, "--out", out}},
		{"per row of A", []string{"run", "MatMulInteger", "--in", a, "--in", w("b.npy", u8([]int{3, 1}, 1, 2, 3)), "--in", w("azp.npy", u8([]int{3}, 1, 2, 3)), "--out", out}},
		{"auto_pad", []string{"run", "ConvInteger", "--attr", "auto_pad=SAME", "--in", w("cx.npy", u8([]int{1, 1, 2, 2}, 1, 2, 3, 4)), "--in", w("cw.npy", u8([]int{1, 1, 1, 1}, 1)), "--out", out}},
		{"pads [1 1]: want 4 values", []string{"run", "ConvInteger", "--attr", "pads=1,1", "--in", filepath.Join(dir, "cx.npy"), "--in", filepath.Join(dir, "cw.npy"), "--out", out}},
		{`unknown backend "tpu"`, []string{"run", "QuantizeLinear", "--backend", "tpu", "--in", x, "--in", s, "--out", out}},
	}
	for _, c := range cases {
		wantError(t, 2, c.want, c.args...)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed run wrote %s", out)
	}
	// An output path that cannot be written (a missing directory) is bad
	// usage (2), and leaves no file; a write that fails (a full device)
	// is a failure (1).
	wantError(t, 2, "no such file", "run", "QuantizeLinear", "--in", x, "--in", s, "--out", filepath.Join(dir, "nodir", "y.npy"))
	wantError(t, 1, "no space left", "run", "QuantizeLinear", "--in", x, "--in", s, "--out", fullDevice(t, dir))
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
