package tests

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// Golden cases for the reference itself: small inputs whose outputs were
// worked out by hand from the ONNX operator definitions and docs/semantics.md (the
// arithmetic is in the comments), run on the CPU backend, so a change in
// the reference kernels or formulas cannot pass the conformance suite
// silently.

func refEngine(t *testing.T) *engine.Engine {
	t.Helper()
	e, err := engine.New(Reference())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// uploaded are the tensors upload made since the last run1, which releases
// them (the golden tests do not run in parallel).
var uploaded []*engine.Tensor

func upload(t *testing.T, e *engine.Engine, h *qtensor.Tensor) *engine.Tensor {
	t.Helper()
	x, err := e.Upload(h)
	if err != nil {
		t.Fatal(err)
	}
	uploaded = append(uploaded, x)
	return x
}

func qt(t *testing.T, d qtensor.DType, shape []int, p qtensor.Params, v ...int32) *qtensor.Tensor {
	t.Helper()
	h, err := qtensor.New(d, shape, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != h.Len() {
		t.Fatalf("%d values for %v", len(v), shape)
	}
	for i, x := range v {
		h.Set(i, x)
	}
	return h
}

func ft(t *testing.T, shape []int, v ...float32) *qtensor.Tensor {
	t.Helper()
	h, err := qtensor.FromFloat32(shape, v)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// run1 records one op, runs it, checks the guards and downloads the output.
func run1(t *testing.T, e *engine.Engine, build func(b *engine.Batch) (*engine.Tensor, error)) *qtensor.Tensor {
	t.Helper()
	defer func() {
		for _, x := range uploaded {
			x.Release()
		}
		uploaded = nil
	}()
	b := e.NewBatch()
	y, err := build(b)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Release()
	if err := b.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.CheckGuards(); err != nil {
		t.Fatal(err)
	}
	h, err := e.Download(y)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func wantInts(t *testing.T, name string, h *qtensor.Tensor, want ...int32) {
	t.Helper()
	if got := h.Int32s(); !slices.Equal(got, want) {
		t.Errorf("%s: got %v, want %v", name, got, want)
	}
}

func wantFloats(t *testing.T, name string, h *qtensor.Tensor, want ...float32) {
	t.Helper()
	got := h.Float32s()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = math.Float32bits(got[i]) == math.Float32bits(want[i])
	}
	if !ok {
		t.Errorf("%s: got %v, want %v", name, got, want)
	}
}

func TestGoldenQuantize(t *testing.T) {
	e := refEngine(t)
	q := func(x *qtensor.Tensor, d qtensor.DType, p qtensor.Params, r qtensor.Rounding) *qtensor.Tensor {
		return run1(t, e, func(b *engine.Batch) (*engine.Tensor, error) { return b.Quantize(upload(t, e, x), d, p, r) })
	}
	// ONNX QuantizeLinear example, uint8 scale 2 zp 128:
	// 0/2=0 -> 128; 2/2=1 -> 129; 3/2=1.5 -> rint 2 -> 130; 1000/2=500 -> 628 -> 255;
	// -254/2=-127 -> 1; -1000/2=-500 -> -372 -> 0.
	wantInts(t, "onnx example", q(ft(t, []int{6}, 0, 2, 3, 1000, -254, -1000), qtensor.Uint8, qtensor.TensorParams(2, 128), qtensor.RoundONNX),
		128, 129, 130, 255, 1, 0)
	// Ties to even before the zero point, int8 scale 1 zp 0:
	// 0.5->0, 1.5->2, 2.5->2, -0.5->-0->0, -1.5->-2, -2.5->-2, 3.5->4.
	wantInts(t, "ties", q(ft(t, []int{7}, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5), qtensor.Int8, qtensor.TensorParams(1, 0), qtensor.RoundONNX),
		0, 2, 2, 0, -2, -2, 4)
	// With zp 10 (uint8): rint first, then + 10: -0.5 -> 0 -> 10, 0.5 -> 10, 1.5 -> 12, -1.5 -> 8.
	wantInts(t, "ties zp", q(ft(t, []int{4}, -0.5, 0.5, 1.5, -1.5), qtensor.Uint8, qtensor.TensorParams(1, 10), qtensor.RoundONNX),
		10, 10, 12, 8)
	// Saturation and specials, int8 scale 1 zp 0: 127.4 -> 127; 127.5 -> 128 (even) -> 127;
	// -128.5 -> -128 (even); -129 -> -128; 1e30 -> 127; -Inf -> -128; +Inf -> 127;
	// NaN -> zp 0; -0 -> 0; 2^-149 -> 0.
	wantInts(t, "saturation", q(ft(t, []int{10}, 127.4, 127.5, -128.5, -129, 1e30, -inf, inf, nan, negZero, 0x1p-149), qtensor.Int8, qtensor.TensorParams(1, 0), qtensor.RoundONNX),
		127, 127, -128, -128, 127, -128, 127, 0, 0, 0)
	// uint8 zp 0: -1 -> 0; 255.5 -> 256 -> 255; 254.5 -> 254 (even); NaN -> 0.
	wantInts(t, "saturation u8", q(ft(t, []int{4}, -1, 255.5, 254.5, nan), qtensor.Uint8, qtensor.TensorParams(1, 0), qtensor.RoundONNX),
		0, 255, 254, 0)
	// int4 scale 1 zp 0: 7.5 -> 8 -> 7; -8.5 -> -8 (even); 3.5 -> 4; -3.5 -> -4.
	// Packed low nibble first: (7, -8) -> 0x87, (4, -4) -> 0xC4.
	h := q(ft(t, []int{4}, 7.5, -8.5, 3.5, -3.5), qtensor.Int4, qtensor.TensorParams(1, 0), qtensor.RoundONNX)
	wantInts(t, "int4", h, 7, -8, 4, -4)
	if !slices.Equal(h.Data, []byte{0x87, 0xC4}) {
		t.Errorf("int4 packing: % x, want 87 c4", h.Data)
	}
	// uint4 zp 8, scale 1: 0 -> 8; -8.5 -> -8 -> 0; 7.6 -> 8 -> 16 -> 15; 100 -> 15; odd count:
	// the last byte's high nibble stays 0: (8, 0) -> 0x08, (15, 15) -> 0xFF, (5) -> 0x05.
	h = q(ft(t, []int{5}, 0, -8.5, 7.6, 100, -3), qtensor.Uint4, qtensor.TensorParams(1, 8), qtensor.RoundONNX)
	wantInts(t, "uint4", h, 8, 0, 15, 15, 5)
	if !slices.Equal(h.Data, []byte{0x08, 0xFF, 0x05}) {
		t.Errorf("uint4 packing: % x, want 08 ff 05", h.Data)
	}
	// ONNX per-axis example (axis 1, scales 2, 4, 5, zps 84, 24, 196):
	// ch0: -162/2+84=3, 10/2+84=89, -100/2+84=34, 232/2+84=200, -20/2+84=74, -50/2+84=59
	// ch1: -76/4+24=5, 0+24=24, 0+24=24, 252/4+24=87, 32/4+24=32, -44/4+24=13
	// ch2: 245/5+196=245, -485/5+196=99, -960/5+196=4, -270/5+196=142, -375/5+196=121, -470/5+196=102
	x := ft(t, []int{1, 3, 3, 2}, -162, 10, -100, 232, -20, -50, -76, 0, 0, 252, 32, -44, 245, -485, -960, -270, -375, -470)
	wantInts(t, "onnx per-axis", q(x, qtensor.Uint8, qtensor.AxisParams(1, []float32{2, 4, 5}, []int32{84, 24, 196}), qtensor.RoundONNX),
		3, 89, 34, 200, 74, 59, 5, 24, 24, 87, 32, 13, 245, 99, 4, 142, 121, 102)
	// Per block along axis 1, block 3, shape [2, 4]: blocks per row ceil(4/3) = 2,
	// scales [[1, 2], [4, 8]]: row 0 = 1/1, 2/1, 3/1 | 4/2; row 1 = 4/4, 8/4, 12/4 | 16/8.
	wantInts(t, "per-block axis 1", q(ft(t, []int{2, 4}, 1, 2, 3, 4, 4, 8, 12, 16), qtensor.Int8,
		qtensor.BlockParams(1, 3, []float32{1, 2, 4, 8}, []int32{0, 0, 0, 0}), qtensor.RoundONNX),
		1, 2, 3, 2, 1, 2, 3, 2)
	// Per block along axis 0, block 2, shape [3, 2]: pairs [[1, 10], [100, 1000]] indexed
	// (block, column); rows 0, 1 in block 0, row 2 in block 1; zps [[0, 1], [2, 3]]:
	// [1/1+0, 10/10+1], [2/1+0, 20/10+1], [300/100+2, 3000/1000+3].
	wantInts(t, "per-block axis 0", q(ft(t, []int{3, 2}, 1, 10, 2, 20, 300, 3000), qtensor.Int8,
		qtensor.BlockParams(0, 2, []float32{1, 10, 100, 1000}, []int32{0, 1, 2, 3}), qtensor.RoundONNX),
		1, 2, 2, 3, 5, 6)
	// ONNX divides, torch multiplies by float32(1/s). s = float32(0.3) = 0.30000001192...,
	// x = 2.25: 2.25/s = 7.4999997... -> float32 7.49999952 -> 7;
	// 1/s -> float32 3.33333325; 2.25 * 3.33333325 = 7.49999982 -> float32 7.5 -> 8 (even).
	// s = float32(0.7) = 0.69999998808, x = 10.8499994 (0x412d9999, the float32 below 10.85):
	// x/s = 15.49999945 -> float32 15.49999905 (spacing 2^-20 = 9.5e-7; 15.5 is 5.5e-7 away) -> 15;
	// 1/s -> 1.42857146; x * 1.42857146 = 15.49999955 -> float32 15.5 (4.5e-7 away) -> 16 (even).
	xs := ft(t, []int{1}, 2.25)
	wantInts(t, "onnx 0.3", q(xs, qtensor.Int8, qtensor.TensorParams(0.3, 0), qtensor.RoundONNX), 7)
	wantInts(t, "torch 0.3", q(xs, qtensor.Int8, qtensor.TensorParams(0.3, 0), qtensor.RoundTorch), 8)
	xs = ft(t, []int{1}, math.Float32frombits(0x412d9999))
	wantInts(t, "onnx 0.7", q(xs, qtensor.Int8, qtensor.TensorParams(0.7, 0), qtensor.RoundONNX), 15)
	wantInts(t, "torch 0.7", q(xs, qtensor.Int8, qtensor.TensorParams(0.7, 0), qtensor.RoundTorch), 16)
	// Scales at the edges: s = 2^-125: 2^-126 / s = 0.5 -> 0; 3*2^-126 / s = 1.5 -> 2;
	// 1 / s = 2^125 -> 127. s = 2^125: 2^127 / s = 4; MaxFloat32 / s = 7.99999... -> 8.
	wantInts(t, "tiny scale", q(ft(t, []int{3}, 0x1p-126, 3*0x1p-126, 1), qtensor.Int8, qtensor.TensorParams(0x1p-125, 0), qtensor.RoundONNX), 0, 2, 127)
	wantInts(t, "huge scale", q(ft(t, []int{2}, 0x1p127, math.MaxFloat32), qtensor.Int8, qtensor.TensorParams(0x1p125, 0), qtensor.RoundONNX), 4, 8)
}

func TestGoldenDequantize(t *testing.T) {
	e := refEngine(t)
	dq := func(h *qtensor.Tensor) *qtensor.Tensor {
		return run1(t, e, func(b *engine.Batch) (*engine.Tensor, error) { return b.Dequantize(upload(t, e, h)) })
	}
	// int8 zp -1 scale 0.5: (-128+1)*0.5 = -63.5, 0, 0.5, 128*0.5 = 64.
	wantFloats(t, "int8", dq(qt(t, qtensor.Int8, []int{4}, qtensor.TensorParams(0.5, -1), -128, -1, 0, 127)), -63.5, 0, 0.5, 64)
	// per axis 0 of [2, 3], scales [1, 0.5], zps [0, 2]: row 0 = 1, 2, 3; row 1 = 2*0.5, 3*0.5, 4*0.5.
	wantFloats(t, "per-axis", dq(qt(t, qtensor.Uint8, []int{2, 3}, qtensor.AxisParams(0, []float32{1, 0.5}, []int32{0, 2}), 1, 2, 3, 4, 5, 6)),
		1, 2, 3, 1, 1.5, 2)
	// uint4 zp 8 scale 0.25: (0-8)/4 = -2, (15-8)/4 = 1.75, 0.
	wantFloats(t, "uint4", dq(qt(t, qtensor.Uint4, []int{3}, qtensor.TensorParams(0.25, 8), 0, 15, 8)), -2, 1.75, 0)
	// int4 per block (axis 0, block 2) of [3]: scales [1, 4]: -8*1, 7*1, -1*4.
	wantFloats(t, "int4 block", dq(qt(t, qtensor.Int4, []int{3}, qtensor.BlockParams(0, 2, []float32{1, 4}, []int32{0, 0}), -8, 7, -1)), -8, 7, -4)
	// ByteWeightDequant min -3 max 3: 0 -> -3; 255 -> 255*6/255 - 3 = 3; 85 -> 510/255 - 3 = -1.
	bw := run1(t, e, func(b *engine.Batch) (*engine.Tensor, error) {
		return b.ByteWeightDequant(upload(t, e, qt(t, qtensor.Uint8, []int{3}, qtensor.TensorParams(1, 0), 0, 255, 85)), -3, 3, nil)
	})
	wantFloats(t, "byteweight", bw, -3, 3, -1)
}

func TestGoldenGemm(t *testing.T) {
	e := refEngine(t)
	gemm := func(a, b *qtensor.Tensor, o engine.GemmOptions) *qtensor.Tensor {
		return run1(t, e, func(bt *engine.Batch) (*engine.Tensor, error) { return bt.Gemm(upload(t, e, a), upload(t, e, b), o) })
	}
	// ONNX MatMulInteger example: A - 12 = [[-1,-5,-9],[-2,-6,-10],[-3,-7,-11],[-4,-8,-12]],
	// B = [[1,4],[2,5],[3,6]]: row 0: -1-10-27 = -38, -4-25-54 = -83; row 1: -2-12-30 = -44,
	// -8-30-60 = -98; row 2: -3-14-33 = -50, -12-35-66 = -113; row 3: -4-16-36 = -56, -16-40-72 = -128.
	a := qt(t, qtensor.Uint8, []int{4, 3}, qtensor.TensorParams(1, 12), 11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0)
	b := qt(t, qtensor.Uint8, []int{3, 2}, qtensor.TensorParams(1, 0), 1, 4, 2, 5, 3, 6)
	wantInts(t, "MatMulInteger", gemm(a, b, engine.GemmOptions{}), -38, -83, -44, -98, -50, -113, -56, -128)
	// The same B stored [N][K] = [[1, 2, 3], [4, 5, 6]] with TransposeB.
	bt := qt(t, qtensor.Uint8, []int{2, 3}, qtensor.TensorParams(1, 0), 1, 2, 3, 4, 5, 6)
	wantInts(t, "MatMulInteger, B transposed", gemm(a, bt, engine.GemmOptions{TransposeB: true}), -38, -83, -44, -98, -50, -113, -56, -128)
	// ONNX QLinearMatMul example: a - 113 = [[95,123,-113,125],[-110,101,142,-84]],
	// b - 114 = [[38,-63,130],[-54,-88,141],[-114,13,132],[13,140,133]];
	// acc = [[11475, -778, 31402], [-26914, -11872, 7513]];
	// M = 0.0066*0.00705/0.0107 = 0.0043486; acc*M = [[49.90, -3.38, 136.6], [-117.04, -51.63, 32.67]]
	// -> rint + 118 = [[168, 115, 255 (254.6 saturates)], [1, 66, 151]].
	a = qt(t, qtensor.Uint8, []int{2, 4}, qtensor.TensorParams(0.0066, 113), 208, 236, 0, 238, 3, 214, 255, 29)
	b = qt(t, qtensor.Uint8, []int{4, 3}, qtensor.TensorParams(0.00705, 114), 152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247)
	o := engine.GemmOptions{Output: engine.OutQuantized, YType: qtensor.Uint8, YScale: 0.0107, YZP: 118}
	wantInts(t, "QLinearMatMul", gemm(a, b, o), 168, 115, 255, 1, 66, 151)
	wantInts(t, "QLinearMatMul acc", gemm(a, b, engine.GemmOptions{}), 11475, -778, 31402, -26914, -11872, 7513)
	// The same with fused ReLU (clamp below at 118): [[168, 118, 255], [118, 118, 151]].
	o.ReLU = true
	wantInts(t, "QLinearMatMul relu", gemm(a, b, o), 168, 118, 255, 118, 118, 151)
	// Per-row A zero points [1, 2], per-column B zero points [0, -1], int8 x int8:
	// A = [[3, 4], [5, 6]] -> [[2, 3], [3, 4]]; B = [[1, 2], [3, 4]] -> columns [1, 3] and [3, 5]:
	// [[2+9, 6+15], [3+12, 9+20]] = [[11, 21], [15, 29]]; bias [100, -1]: [[111, 20], [115, 28]].
	a = qt(t, qtensor.Int8, []int{2, 2}, qtensor.TensorParams(1, 0), 3, 4, 5, 6)
	b = qt(t, qtensor.Int8, []int{2, 2}, qtensor.TensorParams(1, 0), 1, 2, 3, 4)
	wantInts(t, "per-row/column zps", gemm(a, b, engine.GemmOptions{AZP: []int32{1, 2}, BZP: []int32{0, -1}, Bias: []int32{100, -1}}),
		111, 20, 115, 28)
	// Float output: A = [3, 5] (zp 1) -> [2, 4], B = [2, 1]: acc = 8; scale 0.5*0.25 = 0.125:
	// 8 * 0.125 + 0.5 = 1.5.
	a = qt(t, qtensor.Uint8, []int{1, 2}, qtensor.TensorParams(0.5, 1), 3, 5)
	b = qt(t, qtensor.Int8, []int{2, 1}, qtensor.TensorParams(0.25, 0), 2, 1)
	wantFloats(t, "float output", gemm(a, b, engine.GemmOptions{Output: engine.OutFloat32, FloatBias: []float32{0.5}}), 1.5)
	// Batched with broadcast: A [2, 1, 2] = [[1, 2]], [[3, 4]]; B [2, 1] = [[1], [10]]:
	// [1+20, 3+40] = [21, 43] with shape [2, 1, 1]. 1-D A [2] = [1, 2] with B: 21, shape [1].
	a = qt(t, qtensor.Int8, []int{2, 1, 2}, qtensor.TensorParams(1, 0), 1, 2, 3, 4)
	b = qt(t, qtensor.Int8, []int{2, 1}, qtensor.TensorParams(1, 0), 1, 10)
	y := gemm(a, b, engine.GemmOptions{})
	wantInts(t, "batched", y, 21, 43)
	if !slices.Equal(y.Shape, []int{2, 1, 1}) {
		t.Errorf("batched shape %v", y.Shape)
	}
	y = gemm(qt(t, qtensor.Int8, []int{2}, qtensor.TensorParams(1, 0), 1, 2), b, engine.GemmOptions{})
	wantInts(t, "1-D A", y, 21)
	if !slices.Equal(y.Shape, []int{1}) {
		t.Errorf("1-D A shape %v", y.Shape)
	}
}

func TestGoldenConv(t *testing.T) {
	e := refEngine(t)
	conv := func(x, w *qtensor.Tensor, o engine.ConvOptions) *qtensor.Tensor {
		return run1(t, e, func(b *engine.Batch) (*engine.Tensor, error) { return b.Conv(upload(t, e, x), upload(t, e, w), o) })
	}
	// ONNX ConvInteger example: x = 2..10 (3x3), x_zero_point 1 -> x - 1 = [[1,2,3],[4,5,6],[7,8,9]],
	// w = ones 2x2: window sums 1+2+4+5 = 12, 2+3+5+6 = 16, 4+5+7+8 = 24, 5+6+8+9 = 28.
	// (x = 0..8 with zero point 1 would give x - 1 = -1..7 and sums 4, 8, 16, 20.)
	x := qt(t, qtensor.Uint8, []int{1, 1, 3, 3}, qtensor.TensorParams(1, 1), 2, 3, 4, 5, 6, 7, 8, 9, 10)
	w := qt(t, qtensor.Uint8, []int{1, 1, 2, 2}, qtensor.TensorParams(1, 0), 1, 1, 1, 1)
	wantInts(t, "ConvInteger", conv(x, w, engine.ConvOptions{}), 12, 16, 24, 28)
	// With pads 1 on every side the padded cells contribute 0 (zero point subtracted
	// before padding): row 0: 1, 1+2, 2+3, 3; row 1: 1+4, 12, 16, 3+6; row 2: 4+7, 24, 28, 6+9;
	// row 3: 7, 7+8, 8+9, 9.
	wantInts(t, "ConvInteger pads", conv(x, w, engine.ConvOptions{Pads: []int{1, 1, 1, 1}}),
		1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9)
	// Depthwise (group 2), stride 2, pads bottom/right 1, per-channel weight zps [0, 1]:
	// c0 = [[1,2,3],[4,5,6],[7,8,9]] with w0 = [[1,0],[0,-1]]: (0,0) 1-5 = -4; (0,1) 3 - pad = 3;
	// (1,0) 7 - pad = 7; (1,1) 9. c1 = ones with w1 - 1 = ones: cells inside the input 4, 2, 2, 1.
	x = qt(t, qtensor.Uint8, []int{1, 2, 3, 3}, qtensor.TensorParams(1, 0), 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	w = qt(t, qtensor.Int8, []int{2, 1, 2, 2}, qtensor.AxisParams(0, []float32{1, 1}, []int32{0, 1}), 1, 0, 0, -1, 2, 2, 2, 2)
	o := engine.ConvOptions{Group: 2, Strides: []int{2, 2}, Pads: []int{0, 0, 1, 1}}
	wantInts(t, "depthwise", conv(x, w, o), -4, 3, 7, 9, 4, 2, 2, 1)
	// With bias [10, -1]: 6, 13, 17, 19, 3, 1, 1, 0.
	o.Bias = []int32{10, -1}
	wantInts(t, "depthwise bias", conv(x, w, o), 6, 13, 17, 19, 3, 1, 1, 0)
	// Quantized output int8 scale 4 zp 0 (M = 1*1/4) with fixed point (ties toward +inf):
	// 6/4 = 1.5 -> 2; 13/4 = 3.25 -> 3; 17/4 = 4.25 -> 4; 19/4 = 4.75 -> 5; 3/4 -> 1; 1/4 -> 0; 0.
	o.Bias, o.Output, o.YType, o.YScale, o.Fixed = []int32{10, -1}, engine.OutQuantized, qtensor.Int8, 4, true
	wantInts(t, "depthwise fixed", conv(x, w, o), 2, 3, 4, 5, 1, 0, 0, 0)
	// 1-D: x = [1,2,3,4,5], w = [2, 1], dilation 2, pad left 1: padded [0,1,2,3,4,5], taps i and i+2:
	// 2*0+2 = 2, 2*1+3 = 5, 2*2+4 = 8, 2*3+5 = 11.
	x = qt(t, qtensor.Uint8, []int{1, 1, 5}, qtensor.TensorParams(1, 0), 1, 2, 3, 4, 5)
	w = qt(t, qtensor.Int8, []int{1, 1, 2}, qtensor.TensorParams(1, 0), 2, 1)
	wantInts(t, "conv1d", conv(x, w, engine.ConvOptions{Dilations: []int{2}, Pads: []int{1, 0}}), 2, 5, 8, 11)
}

func TestGoldenRequantize(t *testing.T) {
	e := refEngine(t)
	rq := func(x *qtensor.Tensor, scales []float32, axis int, d qtensor.DType, ys float32, zp int32, fixed bool) *qtensor.Tensor {
		return run1(t, e, func(b *engine.Batch) (*engine.Tensor, error) {
			return b.Requantize(upload(t, e, x), scales, axis, d, ys, zp, fixed)
		})
	}
	acc, err := qtensor.FromInt32([]int{8}, []int32{-3, -1, 1, 3, 5, 1000, -1000, 0})
	if err != nil {
		t.Fatal(err)
	}
	// M = 1/2. Float rule, rint half to even: -1.5 -> -2, -0.5 -> 0, 0.5 -> 0, 1.5 -> 2, 2.5 -> 2,
	// 500 -> 127, -500 -> -128, 0.
	wantInts(t, "float ties", rq(acc, []float32{1}, -1, qtensor.Int8, 2, 0, false), -2, 0, 0, 2, 2, 127, -128, 0)
	// Fixed point: M = 0.5 = 0.5 * 2^0 -> multiplier 2^30, shift 31:
	// y = (acc*2^30 + 2^30) >> 31 = floor((acc + 1) / 2): ties toward +inf:
	// -3 -> -1, -1 -> 0, 1 -> 1, 3 -> 2, 5 -> 3, 1000 -> 500 -> 127, -1000 -> -500 -> -128, 0.
	wantInts(t, "fixed ties", rq(acc, []float32{1}, -1, qtensor.Int8, 2, 0, true), -1, 0, 1, 2, 3, 127, -128, 0)
	// uint8 zp 100 with the float rule: 98, 100, 100, 102, 102, 255, 0, 100.
	wantInts(t, "float u8 zp", rq(acc, []float32{1}, -1, qtensor.Uint8, 2, 100, false), 98, 100, 100, 102, 102, 255, 0, 100)
	// Per axis 0 of [2, 3], scales [1, 0.25], y scale 1: row 0: 1, 2, 3; row 1: 1, 1.25 -> 1, 1.5 -> 2.
	acc, _ = qtensor.FromInt32([]int{2, 3}, []int32{1, 2, 3, 4, 5, 6})
	wantInts(t, "per-axis", rq(acc, []float32{1, 0.25}, 0, qtensor.Int8, 1, 0, false), 1, 2, 3, 1, 1, 2)
	// Extremes: float32(MinInt32) * 2^-31 = -1; float32(MaxInt32) rounds to 2^31, * 2^-31 = 1.
	acc, _ = qtensor.FromInt32([]int{2}, []int32{math.MinInt32, math.MaxInt32})
	wantInts(t, "extremes float", rq(acc, []float32{0x1p-31}, -1, qtensor.Int8, 1, 0, false), -1, 1)
	// Fixed: M = 2^-31 -> multiplier 2^30, shift 61: (-2^31*2^30 + 2^60) >> 61 = -2^60 >> 61 = -1;
	// ((2^31-1)*2^30 + 2^60) >> 61 = (3*2^60 - 2^30) >> 61 = 1.
	wantInts(t, "extremes fixed", rq(acc, []float32{0x1p-31}, -1, qtensor.Int8, 1, 0, true), -1, 1)
	// From int8 (scale 0.5, zp 2) to int8 scale 1: acc = x - 2 = 0, 3, -130, 125; M = 0.5:
	// 0, 1.5 -> 2, -65, 62.5 -> 62.
	x := qt(t, qtensor.Int8, []int{4}, qtensor.TensorParams(0.5, 2), 2, 5, -128, 127)
	wantInts(t, "from int8", rq(x, nil, -1, qtensor.Int8, 1, 0, false), 0, 2, -65, 62)
}

func TestGoldenPool(t *testing.T) {
	e := refEngine(t)
	pool := func(isMax bool, x *qtensor.Tensor, o engine.PoolOptions) *qtensor.Tensor {
		return run1(t, e, func(b *engine.Batch) (*engine.Tensor, error) {
			if isMax {
				return b.MaxPool(upload(t, e, x), o)
			}
			return b.AvgPool(upload(t, e, x), o)
		})
	}
	k2s2 := engine.PoolOptions{Kernel: []int{2, 2}, Strides: []int{2, 2}}
	// uint8 zp 0, 2x2 windows of [[1,1,3,3],[0,0,2,2]]: 2/4 = 0.5 -> 0; 10/4 = 2.5 -> 2 (half to even).
	x := qt(t, qtensor.Uint8, []int{1, 1, 2, 4}, qtensor.TensorParams(1, 0), 1, 1, 3, 3, 0, 0, 2, 2)
	wantInts(t, "avg ties", pool(false, x, k2s2), 0, 2)
	wantInts(t, "max", pool(true, x, k2s2), 1, 3)
	// int8 zp -1, x - zp = [[-1,-1,-3,-3],[0,0,-2,-2]] (x = [[-2,-2,-4,-4],[-1,-1,-3,-3]]):
	// -2/4 = -0.5 -> -0 -> 0 -> -1; -10/4 = -2.5 -> -2 -> -3.
	x = qt(t, qtensor.Int8, []int{1, 1, 2, 4}, qtensor.TensorParams(1, -1), -2, -2, -4, -4, -1, -1, -3, -3)
	wantInts(t, "avg negative ties", pool(false, x, k2s2), -1, -3)
	// x - zp = [1, 1, 2, 2]: 6/4 = 1.5 -> 2 (even) -> 2 + zp = 1.
	x = qt(t, qtensor.Int8, []int{1, 1, 2, 2}, qtensor.TensorParams(1, -1), 0, 0, 1, 1)
	wantInts(t, "avg 1.5", pool(false, x, engine.PoolOptions{Kernel: []int{2, 2}}), 1)
	// count_include_pad: x = [3, 4] (uint8 zp 0), kernel 1x2, pad left 1: windows [pad, 3], [3, 4]:
	// excluding the pad: 3/1 = 3, 7/2 = 3.5 -> 4; including it: 3/2 = 1.5 -> 2, 3.5 -> 4.
	x = qt(t, qtensor.Uint8, []int{1, 1, 1, 2}, qtensor.TensorParams(1, 0), 3, 4)
	o := engine.PoolOptions{Kernel: []int{1, 2}, Pads: []int{0, 1, 0, 0}}
	wantInts(t, "avg pad excluded", pool(false, x, o), 3, 4)
	o.CountIncludePad = true
	wantInts(t, "avg pad included", pool(false, x, o), 2, 4)
	// MaxPool ignores padding cells (they would win with 0): int8 [-5, -7], kernel 1x2, pads 1 both
	// sides: windows [pad, -5], [-5, -7], [-7, pad] -> -5, -5, -7.
	x = qt(t, qtensor.Int8, []int{1, 1, 1, 2}, qtensor.TensorParams(1, 0), -5, -7)
	wantInts(t, "max pads", pool(true, x, engine.PoolOptions{Kernel: []int{1, 2}, Pads: []int{0, 1, 0, 1}}), -5, -5, -7)
	// A window entirely in the padding yields the zero point: int8 zp 3, x = [9], kernel 1x1,
	// pad left 1: windows [pad] -> 3, [9] -> 9.
	x = qt(t, qtensor.Int8, []int{1, 1, 1, 1}, qtensor.TensorParams(1, 3), 9)
	wantInts(t, "avg all padding", pool(false, x, engine.PoolOptions{Kernel: []int{1, 1}, Pads: []int{0, 1, 0, 0}}), 3, 9)
	wantInts(t, "max all padding", pool(true, x, engine.PoolOptions{Kernel: []int{1, 1}, Pads: []int{0, 1, 0, 0}}), 3, 9)
}

func TestGoldenElementwise(t *testing.T) {
	e := refEngine(t)
	bin := func(mul bool, a, b *qtensor.Tensor, sy float32, zy int32) *qtensor.Tensor {
		return run1(t, e, func(bt *engine.Batch) (*engine.Tensor, error) {
			if mul {
				return bt.Mul(upload(t, e, a), upload(t, e, b), sy, zy)
			}
			return bt.Add(upload(t, e, a), upload(t, e, b), sy, zy)
		})
	}
	one := qtensor.TensorParams(1, 0)
	// Add uint8, scales 1, zps 0: 200+100 = 300 -> 255; 1+2 = 3; 0+0 = 0.
	wantInts(t, "add saturate", bin(false, qt(t, qtensor.Uint8, []int{3}, one, 200, 1, 0), qt(t, qtensor.Uint8, []int{3}, one, 100, 2, 0), 1, 0), 255, 3, 0)
	// Add with sy = 2 (multipliers 0.5, 0.5): (1+0)/2 = 0.5 -> 0; (3+0)/2 = 1.5 -> 2; (5+0)/2 = 2.5 -> 2;
	// (-1+0)/2 = -0.5 -> 0; int8 -128 + -128 -> -128.
	wantInts(t, "add ties", bin(false, qt(t, qtensor.Int8, []int{5}, one, 1, 3, 5, -1, -128), qt(t, qtensor.Int8, []int{5}, one, 0, 0, 0, 0, -128), 2, 0),
		0, 2, 2, 0, -128)
	// Add with zero points: a zp 10, b zp -10, y zp 5, scales 1: (12-10) + (-7+10) + 5 = 10.
	wantInts(t, "add zps", bin(false, qt(t, qtensor.Int8, []int{1}, qtensor.TensorParams(1, 10), 12), qt(t, qtensor.Int8, []int{1}, qtensor.TensorParams(1, -10), -7), 1, 5), 10)
	// Mul with sy = 4 (M = 0.25): 2*1/4 = 0.5 -> 0; 6*1/4 = 1.5 -> 2; 2*5/4 = 2.5 -> 2; -2*1/4 -> -0 -> 0;
	// 20*30/4 = 150 -> 127; -128*127/4 = -4064 -> -128.
	wantInts(t, "mul", bin(true, qt(t, qtensor.Int8, []int{6}, one, 2, 6, 2, -2, 20, -128), qt(t, qtensor.Int8, []int{6}, one, 1, 1, 5, 1, 30, 127), 4, 0),
		0, 2, 2, 0, 127, -128)
	// ReLU int8 zp -3: max(q, -3): -128 -> -3, -3, -4 -> -3, 0, 127.
	relu := run1(t, e, func(b *engine.Batch) (*engine.Tensor, error) {
		return b.ReLU(upload(t, e, qt(t, qtensor.Int8, []int{5}, qtensor.TensorParams(0.1, -3), -128, -3, -4, 0, 127)))
	})
	wantInts(t, "relu", relu, -3, -3, -3, 0, 127)
}

func TestGoldenReductions(t *testing.T) {
	e := refEngine(t)
	ctx := context.Background()
	// MinMax over [1, -0, NaN, +Inf, -Inf, -2.5, 2^-149]: finite 1, -0, -2.5, 2^-149 -> min -2.5,
	// max 1, 4 finite, 1 NaN, 1 +Inf, 1 -Inf.
	x := upload(t, e, ft(t, []int{7}, 1, negZero, nan, inf, -inf, -2.5, 0x1p-149))
	st, err := e.MinMax(ctx, x, -1)
	if err != nil {
		t.Fatal(err)
	}
	if want := (calib.RangeStats{Min: -2.5, Max: 1, Count: 4, NaN: 1, PosInf: 1, NegInf: 1}); st[0] != want {
		t.Errorf("MinMax: %+v, want %+v", st[0], want)
	}
	// -0 is reported as +0: all -0 gives min = max = +0.
	st, err = e.MinMax(ctx, upload(t, e, ft(t, []int{2}, negZero, negZero)), -1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Float32bits(st[0].Min) != 0 || math.Float32bits(st[0].Max) != 0 {
		t.Errorf("MinMax of -0: %+v", st[0])
	}
	// Per channel (axis 0 of [2, 3]): [[1, 3, 2], [NaN, NaN, NaN]] -> ch0 min 1 max 3 finite 3;
	// ch1 no finite value: min +Inf, max -Inf, NaN 3.
	st, err = e.MinMax(ctx, upload(t, e, ft(t, []int{2, 3}, 1, 3, 2, nan, nan, nan)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := (calib.RangeStats{Min: 1, Max: 3, Count: 3}); st[0] != want {
		t.Errorf("MinMax ch0: %+v", st[0])
	}
	if want := (calib.RangeStats{Min: inf, Max: -inf, NaN: 3}); st[1] != want {
		t.Errorf("MinMax ch1: %+v", st[1])
	}
	// Histogram of 4 bins over [0, 1] (s = 4): 0 -> 0, -0 -> 0, 0.25 -> 1, 0.5 -> 2, 0.999 -> 3,
	// 1 (hi) -> 3, -0.001 and -Inf below, 1.001 and +Inf above, NaN.
	x = upload(t, e, ft(t, []int{11}, 0, negZero, 0.25, 0.5, 0.999, 1, -0.001, -inf, 1.001, inf, nan))
	h, err := e.Histogram(ctx, x, 4, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h.Counts, []uint64{2, 1, 1, 2}) || h.Below != 2 || h.Above != 2 || h.NaN != 1 {
		t.Errorf("Histogram: %+v", h)
	}
	// ONNX DynamicQuantizeLinear example x = [0, 2, -3, -2.5, 1.34, 0.5]: range [-3, 2],
	// scale = float32(5/255) = 0.019607843831; zp = rint(3/scale) = rint(153.0) = 153;
	// q = 0 -> 153; 2/s = 102 -> 255; -3/s = -153 -> 0; -2.5/s = -127.49999 -> -127 -> 26;
	// 1.34/s = 68.34 -> 221; 0.5/s = 25.4999999 which rounds to float32 25.5 -> 26 (even) -> 179.
	y, scale, zp, err := e.DynamicQuantizeLinear(ctx, upload(t, e, ft(t, []int{6}, 0, 2, -3, -2.5, 1.34, 0.5)))
	if err != nil {
		t.Fatal(err)
	}
	hy, err := e.Download(y)
	if err != nil {
		t.Fatal(err)
	}
	if scale != float32(5.0)/255 || zp != 153 {
		t.Errorf("DynamicQuantizeLinear: scale %v zp %d, want %v 153", scale, zp, float32(5.0)/255)
	}
	wantInts(t, "DynamicQuantizeLinear", hy, 153, 255, 0, 26, 221, 179)
	// All-zero input: documented as scale 1, zp 0, every q = 0.
	y, scale, zp, err = e.DynamicQuantizeLinear(ctx, upload(t, e, ft(t, []int{3}, 0, 0, negZero)))
	if err != nil {
		t.Fatal(err)
	}
	hy, _ = e.Download(y)
	if scale != 1 || zp != 0 {
		t.Errorf("all-zero: scale %v zp %d", scale, zp)
	}
	wantInts(t, "DynamicQuantizeLinear zeros", hy, 0, 0, 0)
}
