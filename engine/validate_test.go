package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	_ "github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// fixture holds valid operands; each bad-input row breaks one thing.
type fixture struct {
	t      *testing.T
	e      *engine.Engine
	other  *engine.Engine // a second engine
	closed *engine.Engine // closed after making closedX and closedBatch
	b      *engine.Batch

	f32, f32big    *engine.Tensor // float32 [2, 3], [4, 8]
	u8, s8, u8b    *engine.Tensor // [2, 3] per tensor (scale 0.5, zp 3 / -2 / 7)
	s4             *engine.Tensor // int4 [2, 3]
	i32            *engine.Tensor // int32 [2, 3]
	u8axis         *engine.Tensor // uint8 [2, 3] per axis 0, zps 1, 2
	u8axis1        *engine.Tensor // uint8 [2, 3] per axis 1
	u8block        *engine.Tensor // uint8 [2, 4] per block (axis 1, block 2)
	a, w           *engine.Tensor // Gemm: uint8 [2, 3], int8 [3, 4]
	x, k           *engine.Tensor // Conv: uint8 [1, 2, 5, 5], int8 [3, 2, 3, 3]
	x3             *engine.Tensor // uint8 [1, 2, 5] (1-D conv input)
	scalar         *engine.Tensor // int8 shape []
	empty          *engine.Tensor // float32 [0]
	emptyQ         *engine.Tensor // uint8 [2, 0]
	released       *engine.Tensor // float32 [2, 3], released
	foreign        *engine.Tensor // float32 [2, 3] of other
	closedX        *engine.Tensor // float32 [2, 3] of closed
	closedBatch    *engine.Batch  // a Quantize recorded on closed before Close
	recordedRel    *engine.Batch  // a Quantize recorded, then its input released
	bigK, bigKw    *engine.Tensor // uint8 [1, 65794], int8 [65794, 1]
	limK, limKw    *engine.Tensor // uint8 [1, 65793], int8 [65793, 1]
	bigC, bigCw    *engine.Tensor // conv with C*KH*KW = 65794
	wrongK         *engine.Tensor // int8 [4, 2]
	wNK            *engine.Tensor // int8 [4, 3]: f.w stored [N][K]
	w3             *engine.Tensor // int8 [2, 3, 4] (batch 2)
	a5             *engine.Tensor // uint8 [5, 2, 3] (batch 5)
	s8axisMixedZPs *engine.Tensor // int8 [2, 3] per axis 0, zps 1, 2
}

func (f *fixture) up(e *engine.Engine, d qtensor.DType, shape []int, p qtensor.Params) *engine.Tensor {
	f.t.Helper()
	h, err := qtensor.New(d, shape, p)
	if err != nil {
		f.t.Fatal(err)
	}
	for i := range h.Data {
		h.Data[i] = byte(i * 7)
	}
	if d == qtensor.Float32 {
		x := make([]float32, h.Len())
		for i := range x {
			x[i] = float32(i) - 2.5
		}
		h, _ = qtensor.FromFloat32(shape, x)
	}
	t, err := e.Upload(h)
	if err != nil {
		f.t.Fatal(err)
	}
	return t
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t}
	var err error
	if f.e, err = engine.New(engine.Config{Backend: "cpu", GuardBytes: 256}); err != nil {
		t.Fatal(err)
	}
	if f.other, err = engine.New(engine.Config{Backend: "cpu"}); err != nil {
		t.Fatal(err)
	}
	if f.closed, err = engine.New(engine.Config{Backend: "cpu", GuardBytes: 64}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.e.Close(); f.other.Close() })
	e := f.e
	f.b = e.NewBatch()
	pt := qtensor.TensorParams(0.5, 3)
	f.f32 = f.up(e, qtensor.Float32, []int{2, 3}, qtensor.Params{})
	f.f32big = f.up(e, qtensor.Float32, []int{4, 8}, qtensor.Params{})
	f.u8 = f.up(e, qtensor.Uint8, []int{2, 3}, pt)
	f.u8b = f.up(e, qtensor.Uint8, []int{2, 3}, qtensor.TensorParams(0.25, 7))
	f.s8 = f.up(e, qtensor.Int8, []int{2, 3}, qtensor.TensorParams(0.5, -2))
	f.s4 = f.up(e, qtensor.Int4, []int{2, 3}, qtensor.TensorParams(0.5, 0))
	f.i32 = f.up(e, qtensor.Int32, []int{2, 3}, qtensor.Params{})
	f.u8axis = f.up(e, qtensor.Uint8, []int{2, 3}, qtensor.AxisParams(0, []float32{1, 2}, []int32{1, 2}))
	f.u8axis1 = f.up(e, qtensor.Uint8, []int{2, 3}, qtensor.AxisParams(1, []float32{1, 2, 3}, []int32{1, 2, 3}))
	f.u8block = f.up(e, qtensor.Uint8, []int{2, 4}, qtensor.BlockParams(1, 2, []float32{1, 2, 3, 4}, []int32{0, 0, 0, 0}))
	f.s8axisMixedZPs = f.up(e, qtensor.Int8, []int{2, 3}, qtensor.AxisParams(0, []float32{1, 2}, []int32{1, 2}))
	f.a = f.up(e, qtensor.Uint8, []int{2, 3}, pt)
	f.w = f.up(e, qtensor.Int8, []int{3, 4}, qtensor.TensorParams(0.25, 0))
	f.wrongK = f.up(e, qtensor.Int8, []int{4, 2}, qtensor.TensorParams(0.25, 0))
	f.wNK = f.up(e, qtensor.Int8, []int{4, 3}, qtensor.TensorParams(0.25, 0))
	f.w3 = f.up(e, qtensor.Int8, []int{2, 3, 4}, qtensor.TensorParams(0.25, 0))
	f.a5 = f.up(e, qtensor.Uint8, []int{5, 2, 3}, pt)
	f.x = f.up(e, qtensor.Uint8, []int{1, 2, 5, 5}, pt)
	f.k = f.up(e, qtensor.Int8, []int{3, 2, 3, 3}, qtensor.TensorParams(0.25, 0))
	f.x3 = f.up(e, qtensor.Uint8, []int{1, 2, 5}, pt)
	f.scalar = f.up(e, qtensor.Int8, []int{}, qtensor.TensorParams(1, 0))
	f.empty = f.up(e, qtensor.Float32, []int{0}, qtensor.Params{})
	f.emptyQ = f.up(e, qtensor.Uint8, []int{2, 0}, pt)
	f.released = f.up(e, qtensor.Float32, []int{2, 3}, qtensor.Params{})
	f.released.Release()
	f.foreign = f.up(f.other, qtensor.Float32, []int{2, 3}, qtensor.Params{})
	f.bigK = f.up(e, qtensor.Uint8, []int{1, 65794}, qtensor.TensorParams(1, 0))
	f.bigKw = f.up(e, qtensor.Int8, []int{65794, 1}, qtensor.TensorParams(1, 0))
	f.limK = f.up(e, qtensor.Uint8, []int{1, 65793}, qtensor.TensorParams(1, 0))
	f.limKw = f.up(e, qtensor.Int8, []int{65793, 1}, qtensor.TensorParams(1, 0))
	f.bigC = f.up(e, qtensor.Uint8, []int{1, 65794, 1, 1}, qtensor.TensorParams(1, 0))
	f.bigCw = f.up(e, qtensor.Int8, []int{1, 65794, 1, 1}, qtensor.TensorParams(1, 0))
	f.closedX = f.up(f.closed, qtensor.Float32, []int{2, 3}, qtensor.Params{})
	f.closedBatch = f.closed.NewBatch()
	if _, err := f.closedBatch.Quantize(f.closedX, qtensor.Int8, pt, qtensor.RoundONNX); err != nil {
		t.Fatal(err)
	}
	f.closed.Close()
	rel := f.up(e, qtensor.Float32, []int{2, 3}, qtensor.Params{})
	f.recordedRel = e.NewBatch()
	if _, err := f.recordedRel.Quantize(rel, qtensor.Int8, pt, qtensor.RoundONNX); err != nil {
		t.Fatal(err)
	}
	rel.Release()
	return f
}

func tp(s float32, zp int32) qtensor.Params { return qtensor.TensorParams(s, zp) }

// q quantizes f32 ([2, 3]) into d with p.
func (f *fixture) q(d qtensor.DType, p qtensor.Params) error {
	_, err := f.b.Quantize(f.f32, d, p, qtensor.RoundONNX)
	return err
}

func (f *fixture) gemm(a, w *engine.Tensor, o engine.GemmOptions) error {
	_, err := f.b.Gemm(a, w, o)
	return err
}

func (f *fixture) gemmOut(o engine.GemmOptions) error {
	return f.gemm(f.a, f.w, o)
}

func (f *fixture) conv(x, w *engine.Tensor, o engine.ConvOptions) error {
	_, err := f.b.Conv(x, w, o)
	return err
}

func (f *fixture) pool(isMax bool, x *engine.Tensor, o engine.PoolOptions) error {
	var err error
	if isMax {
		_, err = f.b.MaxPool(x, o)
	} else {
		_, err = f.b.AvgPool(x, o)
	}
	return err
}

func (f *fixture) x4d(d qtensor.DType, p qtensor.Params) *engine.Tensor {
	return f.up(f.e, d, []int{1, 2, 4, 4}, p)
}

// badInput is one row of the bad-input table.
type badInput struct {
	input string // what is wrong
	want  error  // the sentinel the error must wrap
	call  func(f *fixture) error
}

// knownBugs maps rows (by input) to the engine bug they expose today (a
// panic, or bad input accepted). Such rows run only with QGPU_KNOWN_BUGS=1;
// delete the entry when the bug is fixed.
var knownBugs = map[string]string{}

var quantOut = engine.GemmOptions{Output: engine.OutQuantized, YType: qtensor.Uint8, YScale: 0.1, YZP: 5}

var badInputs = []badInput{
	// engine, upload, download
	{"engine.New with an unregistered backend", engine.ErrUnavailable, func(f *fixture) error { _, err := engine.New(engine.Config{Backend: "no-such-backend"}); return err }},
	{"engine.New with Threads -1", engine.ErrParams, func(f *fixture) error {
		return newErr(engine.Config{Backend: "cpu", Threads: -1})
	}},
	{"engine.New with Threads 64 per CPU plus one", engine.ErrParams, func(f *fixture) error {
		return newErr(engine.Config{Backend: "cpu", Threads: 64*runtime.NumCPU() + 1})
	}},
	{"engine.New auto with Threads 64 per CPU plus one", engine.ErrParams, func(f *fixture) error {
		return newErr(engine.Config{Threads: 64*runtime.NumCPU() + 1})
	}},
	{"Upload(nil)", engine.ErrParams, func(f *fixture) error { _, err := f.e.Upload(nil); return err }},
	{"Upload: data length does not match the shape", engine.ErrShape, func(f *fixture) error {
		_, err := f.e.Upload(&qtensor.Tensor{DType: qtensor.Float32, Shape: []int{2, 3}, Data: make([]byte, 20)})
		return err
	}},
	{"Upload: invalid dtype", engine.ErrParams, func(f *fixture) error {
		_, err := f.e.Upload(&qtensor.Tensor{DType: 99, Shape: []int{1}, Data: make([]byte, 1)})
		return err
	}},
	{"Upload: negative dimension", engine.ErrShape, func(f *fixture) error {
		_, err := f.e.Upload(&qtensor.Tensor{DType: qtensor.Int8, Shape: []int{-1}, Params: tp(1, 0)})
		return err
	}},
	{"Upload: quantized tensor with scale 0", engine.ErrParams, func(f *fixture) error {
		_, err := f.e.Upload(&qtensor.Tensor{DType: qtensor.Int8, Shape: []int{1}, Params: tp(0, 0), Data: make([]byte, 1)})
		return err
	}},
	{"Upload: quantized tensor without params", engine.ErrParams, func(f *fixture) error {
		_, err := f.e.Upload(&qtensor.Tensor{DType: qtensor.Uint8, Shape: []int{1}, Data: make([]byte, 1)})
		return err
	}},
	{"UploadFloat32: value count does not match the shape", engine.ErrShape, func(f *fixture) error { _, err := f.e.UploadFloat32([]int{2, 2}, []float32{1, 2, 3}); return err }},
	{"Empty: invalid dtype", engine.ErrParams, func(f *fixture) error { _, err := f.e.Empty(0, []int{2}, qtensor.Params{}); return err }},
	{"Empty: quantized type without params", engine.ErrParams, func(f *fixture) error { _, err := f.e.Empty(qtensor.Int8, []int{2}, qtensor.Params{}); return err }},
	{"Empty: element count overflows", engine.ErrShape, func(f *fixture) error {
		_, err := f.e.Empty(qtensor.Float32, []int{1 << 40, 1 << 40}, qtensor.Params{})
		return err
	}},
	{"Empty: 2^40 bytes (absurd allocation)", engine.ErrOutOfMemory, func(f *fixture) error {
		_, err := f.e.Empty(qtensor.Uint8, []int{1 << 40}, tp(1, 0))
		return err
	}},
	{"Download(nil)", engine.ErrParams, func(f *fixture) error { _, err := f.e.Download(nil); return err }},
	{"Download of a released tensor", engine.ErrClosed, func(f *fixture) error { _, err := f.e.Download(f.released); return err }},
	{"Download of another engine's tensor", engine.ErrParams, func(f *fixture) error { _, err := f.e.Download(f.foreign); return err }},
	{"DownloadFloat32 of an int8 tensor", engine.ErrParams, func(f *fixture) error { _, err := f.e.DownloadFloat32(f.s8); return err }},
	{"MinMaxResults of a non-MinMax tensor", engine.ErrParams, func(f *fixture) error { _, err := f.e.MinMaxResults(f.i32); return err }},
	{"HistogramResult of a non-Histogram tensor", engine.ErrParams, func(f *fixture) error { _, err := f.e.HistogramResult(f.i32); return err }},

	// closed engine, released and foreign tensors
	{"closed engine: Upload", engine.ErrClosed, func(f *fixture) error { _, err := f.closed.UploadFloat32([]int{1}, []float32{1}); return err }},
	{"closed engine: Download", engine.ErrClosed, func(f *fixture) error { _, err := f.closed.Download(f.closedX); return err }},
	{"closed engine: recording an op", engine.ErrClosed, func(f *fixture) error {
		_, err := f.closed.NewBatch().Quantize(f.closedX, qtensor.Int8, tp(1, 0), qtensor.RoundONNX)
		return err
	}},
	{"closed engine: running a batch recorded before Close", engine.ErrClosed, func(f *fixture) error { return f.closedBatch.Run(context.Background()) }},
	{"closed engine: CheckGuards", engine.ErrClosed, func(f *fixture) error { return f.closed.CheckGuards() }},
	{"closed engine without guard bytes: CheckGuards", engine.ErrClosed, func(f *fixture) error {
		e, err := engine.New(engine.Config{Backend: "cpu"})
		if err != nil {
			return err
		}
		e.Close()
		return e.CheckGuards()
	}},
	{"running a batch whose input was released after recording", engine.ErrClosed, func(f *fixture) error { return f.recordedRel.Run(context.Background()) }},
	{"op input is nil", engine.ErrParams, func(f *fixture) error { _, err := f.b.Dequantize(nil); return err }},
	{"op input released", engine.ErrClosed, func(f *fixture) error { return nilErr(f.b.MinMax(f.released, -1)) }},
	{"op input from another engine", engine.ErrParams, func(f *fixture) error { _, err := f.b.Histogram(f.foreign, 4, 0, 1); return err }},
	{"Gemm operand from another engine", engine.ErrParams, func(f *fixture) error {
		w, _ := f.other.Upload(mustT(qtensor.New(qtensor.Int8, []int{3, 4}, tp(1, 0))))
		return f.gemm(f.a, w, engine.GemmOptions{})
	}},

	// Quantize: types, shapes, scales, zero points, granularity
	{"Quantize: int8 input", engine.ErrParams, func(f *fixture) error {
		_, err := f.b.Quantize(f.s8, qtensor.Int8, tp(1, 0), qtensor.RoundONNX)
		return err
	}},
	{"Quantize: float32 output type", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Float32, tp(1, 0)) }},
	{"Quantize: int32 output type", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Int32, tp(1, 0)) }},
	{"Quantize: empty input", engine.ErrShape, func(f *fixture) error {
		_, err := f.b.Quantize(f.empty, qtensor.Int8, tp(1, 0), qtensor.RoundONNX)
		return err
	}},
	{"Quantize: unknown rounding", engine.ErrParams, func(f *fixture) error { _, err := f.b.Quantize(f.f32, qtensor.Int8, tp(1, 0), 9); return err }},
	{"scale negative", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Int8, tp(-1, 0)) }},
	{"scale 0", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Int8, tp(0, 0)) }},
	{"scale -0", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Int8, tp(float32(math.Copysign(0, -1)), 0)) }},
	{"scale NaN", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Int8, tp(float32(math.NaN()), 0)) }},
	{"scale +Inf", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Int8, tp(float32(math.Inf(1)), 0)) }},
	{"scale denormal (1e-40)", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Int8, tp(1e-40, 0)) }},
	{"scale 2^-126 (normal, below the 2^-125 domain)", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Int8, tp(0x1p-126, 0)) }},
	{"scale 2^126 (above the 2^125 domain)", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Int8, tp(0x1p126, 0)) }},
	{"scale MaxFloat32", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Uint8, tp(math.MaxFloat32, 0)) }},
	{"zero point 256 for uint8", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Uint8, tp(1, 256)) }},
	{"zero point -1 for uint8", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Uint8, tp(1, -1)) }},
	{"zero point -129 for int8", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Int8, tp(1, -129)) }},
	{"zero point 8 for int4", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Int4, tp(1, 8)) }},
	{"zero point 16 for uint4", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Uint4, tp(1, 16)) }},
	{"per-tensor params with two pairs", engine.ErrParams, func(f *fixture) error {
		return f.q(qtensor.Int8, qtensor.Params{Scales: []float32{1, 1}, ZeroPoints: []int32{0, 0}})
	}},
	{"per-tensor params with no pair", engine.ErrParams, func(f *fixture) error { return f.q(qtensor.Int8, qtensor.Params{}) }},
	{"per-axis: 3 scales for an axis of 2", engine.ErrParams, func(f *fixture) error {
		return f.q(qtensor.Int8, qtensor.AxisParams(0, []float32{1, 1, 1}, []int32{0, 0, 0}))
	}},
	{"per-axis: 2 scales but 3 zero points", engine.ErrParams, func(f *fixture) error {
		return f.q(qtensor.Int8, qtensor.AxisParams(0, []float32{1, 1}, []int32{0, 0, 0}))
	}},
	{"per-axis: axis 2 of a rank-2 tensor", engine.ErrParams, func(f *fixture) error {
		return f.q(qtensor.Int8, qtensor.AxisParams(2, []float32{1, 1}, []int32{0, 0}))
	}},
	{"per-axis: axis -1 (not normalised)", engine.ErrParams, func(f *fixture) error {
		return f.q(qtensor.Int8, qtensor.AxisParams(-1, []float32{1, 1, 1}, []int32{0, 0, 0}))
	}},
	{"per-axis: one bad scale among good ones", engine.ErrParams, func(f *fixture) error {
		return f.q(qtensor.Int8, qtensor.AxisParams(1, []float32{1, float32(math.Inf(1)), 1}, []int32{0, 0, 0}))
	}},
	{"per-block: block size 0", engine.ErrParams, func(f *fixture) error {
		return f.q(qtensor.Int8, qtensor.BlockParams(1, 0, []float32{1, 1}, []int32{0, 0}))
	}},
	{"per-block: negative block size", engine.ErrParams, func(f *fixture) error {
		return f.q(qtensor.Int8, qtensor.BlockParams(1, -2, []float32{1, 1}, []int32{0, 0}))
	}},
	{"per-block: pair count ignores the short last block", engine.ErrParams, func(f *fixture) error {
		// [2, 3] blocks of 2 along axis 1: ceil(3/2) = 2 blocks per row, 4 pairs
		return f.q(qtensor.Int8, qtensor.BlockParams(1, 2, []float32{1, 1}, []int32{0, 0}))
	}},
	{"unknown granularity", engine.ErrParams, func(f *fixture) error {
		return f.q(qtensor.Int8, qtensor.Params{Granularity: 7, Scales: []float32{1}, ZeroPoints: []int32{0}})
	}},

	// Dequantize, ByteWeightDequant
	{"Dequantize: float32 input", engine.ErrParams, func(f *fixture) error { _, err := f.b.Dequantize(f.f32); return err }},
	{"Dequantize: int32 input", engine.ErrParams, func(f *fixture) error { _, err := f.b.Dequantize(f.i32); return err }},
	{"Dequantize: empty input", engine.ErrShape, func(f *fixture) error { _, err := f.b.Dequantize(f.emptyQ); return err }},
	{"ByteWeightDequant: int8 input", engine.ErrParams, func(f *fixture) error { _, err := f.b.ByteWeightDequant(f.s8, -3, 3, nil); return err }},
	{"ByteWeightDequant: NaN min", engine.ErrParams, func(f *fixture) error {
		_, err := f.b.ByteWeightDequant(f.u8, float32(math.NaN()), 3, nil)
		return err
	}},
	{"ByteWeightDequant: +Inf max", engine.ErrParams, func(f *fixture) error {
		_, err := f.b.ByteWeightDequant(f.u8, -3, float32(math.Inf(1)), nil)
		return err
	}},
	{"ByteWeightDequant: shape with a different element count", engine.ErrShape, func(f *fixture) error {
		_, err := f.b.ByteWeightDequant(f.u8, -3, 3, []int{7})
		return err
	}},
	{"ByteWeightDequant: negative dimension in shape", engine.ErrShape, func(f *fixture) error {
		_, err := f.b.ByteWeightDequant(f.u8, -3, 3, []int{-2, -3})
		return err
	}},

	// Gemm: types and shapes
	{"Gemm: float32 A", engine.ErrParams, func(f *fixture) error { return f.gemm(f.f32, f.w, engine.GemmOptions{}) }},
	{"Gemm: int32 B", engine.ErrParams, func(f *fixture) error { return f.gemm(f.a, f.i32, engine.GemmOptions{}) }},
	{"Gemm: int4 A", engine.ErrParams, func(f *fixture) error { return f.gemm(f.s4, f.w, engine.GemmOptions{}) }},
	{"Gemm: nil B", engine.ErrParams, func(f *fixture) error { return f.gemm(f.a, nil, engine.GemmOptions{}) }},
	{"Gemm: scalar (rank-0) operand", engine.ErrShape, func(f *fixture) error { return f.gemm(f.scalar, f.w, engine.GemmOptions{}) }},
	{"Gemm: inner dimensions differ (K 3 vs 4)", engine.ErrShape, func(f *fixture) error { return f.gemm(f.a, f.wrongK, engine.GemmOptions{}) }},
	{"Gemm: B stored [N][K] without TransposeB", engine.ErrShape, func(f *fixture) error { return f.gemm(f.a, f.wNK, engine.GemmOptions{}) }},
	{"Gemm: B stored [K][N] with TransposeB", engine.ErrShape, func(f *fixture) error { return f.gemm(f.a, f.w, engine.GemmOptions{TransposeB: true}) }},
	{"Gemm: batch dimensions do not broadcast (5 vs 2)", engine.ErrShape, func(f *fixture) error { return f.gemm(f.a5, f.w3, engine.GemmOptions{}) }},
	{"Gemm: empty A", engine.ErrShape, func(f *fixture) error { return f.gemm(f.emptyQ, f.w, engine.GemmOptions{}) }},
	{"Gemm: 3 A zero points for M = 2", engine.ErrParams, func(f *fixture) error { return f.gemm(f.a, f.w, engine.GemmOptions{AZP: []int32{0, 0, 0}}) }},
	{"Gemm: B zero point 300 for int8", engine.ErrParams, func(f *fixture) error { return f.gemm(f.a, f.w, engine.GemmOptions{BZP: []int32{300}}) }},
	{"Gemm: empty (non-nil) zero point slice", engine.ErrParams, func(f *fixture) error { return f.gemm(f.a, f.w, engine.GemmOptions{AZP: []int32{}}) }},
	{"Gemm: A quantized per axis along K", engine.ErrParams, func(f *fixture) error { return f.gemm(f.u8axis1, f.w, engine.GemmOptions{}) }},
	{"Gemm: A quantized per block", engine.ErrParams, func(f *fixture) error {
		w, _ := f.e.Upload(mustT(qtensor.New(qtensor.Int8, []int{4, 2}, tp(1, 0))))
		return f.gemm(f.u8block, w, engine.GemmOptions{})
	}},
	{"Gemm: K = 65794 overflows the int32 accumulator (u8 x s8)", engine.ErrShape, func(f *fixture) error { return f.gemm(f.bigK, f.bigKw, engine.GemmOptions{}) }},
	{"Gemm: K = 65793 with a bias of 10^6 overflows", engine.ErrShape, func(f *fixture) error {
		return f.gemm(f.limK, f.limKw, engine.GemmOptions{Bias: []int32{1e6}})
	}},

	// Gemm and Conv output options
	{"bias with 3 entries for 4 channels", engine.ErrParams, func(f *fixture) error { return f.gemmOut(engine.GemmOptions{Bias: []int32{1, 2, 3}}) }},
	{"ReLU with an int32 output", engine.ErrParams, func(f *fixture) error { return f.gemmOut(engine.GemmOptions{ReLU: true}) }},
	{"Fixed with an int32 output", engine.ErrParams, func(f *fixture) error { return f.gemmOut(engine.GemmOptions{Fixed: true}) }},
	{"FloatBias with an int32 output", engine.ErrParams, func(f *fixture) error { return f.gemmOut(engine.GemmOptions{FloatBias: []float32{1}}) }},
	{"FloatBias with a quantized output", engine.ErrParams, func(f *fixture) error {
		o := quantOut
		o.FloatBias = []float32{1}
		return f.gemmOut(o)
	}},
	{"ReLU with a float32 output", engine.ErrParams, func(f *fixture) error { return f.gemmOut(engine.GemmOptions{Output: engine.OutFloat32, ReLU: true}) }},
	{"Fixed with a float32 output", engine.ErrParams, func(f *fixture) error { return f.gemmOut(engine.GemmOptions{Output: engine.OutFloat32, Fixed: true}) }},
	{"FloatBias NaN", engine.ErrParams, func(f *fixture) error {
		return f.gemmOut(engine.GemmOptions{Output: engine.OutFloat32, FloatBias: []float32{float32(math.NaN())}})
	}},
	{"FloatBias with 2 entries for 4 channels", engine.ErrParams, func(f *fixture) error {
		return f.gemmOut(engine.GemmOptions{Output: engine.OutFloat32, FloatBias: []float32{1, 2}})
	}},
	{"unknown output kind", engine.ErrParams, func(f *fixture) error { return f.gemmOut(engine.GemmOptions{Output: 9}) }},
	{"quantized output of type int4", engine.ErrParams, func(f *fixture) error {
		o := quantOut
		o.YType = qtensor.Int4
		return f.gemmOut(o)
	}},
	{"quantized output of type float32", engine.ErrParams, func(f *fixture) error {
		o := quantOut
		o.YType = qtensor.Float32
		return f.gemmOut(o)
	}},
	{"quantized output without a type", engine.ErrParams, func(f *fixture) error {
		o := quantOut
		o.YType = 0
		return f.gemmOut(o)
	}},
	{"quantized output scale 0", engine.ErrParams, func(f *fixture) error {
		o := quantOut
		o.YScale = 0
		return f.gemmOut(o)
	}},
	{"quantized output zero point 256 for uint8", engine.ErrParams, func(f *fixture) error {
		o := quantOut
		o.YZP = 256
		return f.gemmOut(o)
	}},
	{"activation scale negative", engine.ErrParams, func(f *fixture) error { return f.gemmOut(engine.GemmOptions{Output: engine.OutFloat32, AScale: -1}) }},
	{"activation per axis without AScale (float output)", engine.ErrParams, func(f *fixture) error {
		return f.gemm(f.u8axis, f.w, engine.GemmOptions{Output: engine.OutFloat32})
	}},
	{"weight scales: 3 for 4 channels", engine.ErrParams, func(f *fixture) error {
		return f.gemmOut(engine.GemmOptions{Output: engine.OutFloat32, BScale: []float32{1, 1, 1}})
	}},
	{"weight scale +Inf", engine.ErrParams, func(f *fixture) error {
		return f.gemmOut(engine.GemmOptions{Output: engine.OutFloat32, BScale: []float32{float32(math.Inf(1))}})
	}},
	{"float output scale underflows (2^-100 * 2^-100)", engine.ErrParams, func(f *fixture) error {
		return f.gemmOut(engine.GemmOptions{Output: engine.OutFloat32, AScale: 0x1p-100, BScale: []float32{0x1p-100}})
	}},
	{"requantization multiplier overflows (2^100 * 2^100 / 2^-100)", engine.ErrParams, func(f *fixture) error {
		o := quantOut
		o.AScale, o.BScale, o.YScale = 0x1p100, []float32{0x1p100}, 0x1p-100
		return f.gemmOut(o)
	}},
	{"fixed-point multiplier 2^40 (above 2^30)", engine.ErrParams, func(f *fixture) error {
		o := quantOut
		o.AScale, o.BScale, o.YScale, o.Fixed = 0x1p20, []float32{0x1p20}, 1, true
		return f.gemmOut(o)
	}},
	{"fixed-point multiplier 2^-40 (below 2^-32)", engine.ErrParams, func(f *fixture) error {
		o := quantOut
		o.AScale, o.BScale, o.YScale, o.Fixed = 0x1p-20, []float32{0x1p-20}, 1, true
		return f.gemmOut(o)
	}},

	// Conv
	{"Conv: 2-D input", engine.ErrShape, func(f *fixture) error { return f.conv(f.u8, f.k, engine.ConvOptions{}) }},
	{"Conv: weights of another rank", engine.ErrShape, func(f *fixture) error { return f.conv(f.x, f.w, engine.ConvOptions{}) }},
	{"Conv: float32 input", engine.ErrParams, func(f *fixture) error { return f.conv(f.f32big, f.k, engine.ConvOptions{}) }},
	{"Conv: group 3 for 2 input channels", engine.ErrShape, func(f *fixture) error { return f.conv(f.x, f.k, engine.ConvOptions{Group: 3}) }},
	{"Conv: negative group", engine.ErrShape, func(f *fixture) error { return f.conv(f.x, f.k, engine.ConvOptions{Group: -1}) }},
	{"Conv: group 2 but weights have C channels", engine.ErrShape, func(f *fixture) error {
		w := f.up(f.e, qtensor.Int8, []int{2, 2, 3, 3}, tp(1, 0))
		return f.conv(f.x, w, engine.ConvOptions{Group: 2})
	}},
	{"Conv: stride 0", engine.ErrParams, func(f *fixture) error { return f.conv(f.x, f.k, engine.ConvOptions{Strides: []int{0, 1}}) }},
	{"Conv: negative stride", engine.ErrParams, func(f *fixture) error { return f.conv(f.x, f.k, engine.ConvOptions{Strides: []int{1, -1}}) }},
	{"Conv: stride 2^21", engine.ErrParams, func(f *fixture) error { return f.conv(f.x, f.k, engine.ConvOptions{Strides: []int{1 << 21, 1}}) }},
	{"Conv: dilation 0", engine.ErrParams, func(f *fixture) error { return f.conv(f.x, f.k, engine.ConvOptions{Dilations: []int{1, 0}}) }},
	{"Conv: negative pad", engine.ErrParams, func(f *fixture) error { return f.conv(f.x, f.k, engine.ConvOptions{Pads: []int{0, -1, 0, 0}}) }},
	{"Conv: 3 pads", engine.ErrParams, func(f *fixture) error { return f.conv(f.x, f.k, engine.ConvOptions{Pads: []int{1, 1, 1}}) }},
	{"Conv: 3 strides", engine.ErrParams, func(f *fixture) error { return f.conv(f.x, f.k, engine.ConvOptions{Strides: []int{1, 1, 1}}) }},
	{"Conv: kernel larger than the input", engine.ErrShape, func(f *fixture) error {
		w := f.up(f.e, qtensor.Int8, []int{1, 2, 6, 6}, tp(1, 0))
		return f.conv(f.x, w, engine.ConvOptions{})
	}},
	{"Conv: dilated kernel larger than the input", engine.ErrShape, func(f *fixture) error { return f.conv(f.x, f.k, engine.ConvOptions{Dilations: []int{3, 3}}) }},
	{"Conv: 1-D with 2-D pads", engine.ErrParams, func(f *fixture) error {
		w := f.up(f.e, qtensor.Int8, []int{1, 2, 3}, tp(1, 0))
		return f.conv(f.x3, w, engine.ConvOptions{Pads: []int{1, 1, 1}})
	}},
	{"Conv: two input zero points", engine.ErrParams, func(f *fixture) error { return f.conv(f.x, f.k, engine.ConvOptions{XZP: []int32{1, 2}}) }},
	{"Conv: input quantized per axis", engine.ErrParams, func(f *fixture) error {
		return f.conv(f.x4d(qtensor.Uint8, qtensor.AxisParams(1, []float32{1, 1}, []int32{0, 0})), f.k, engine.ConvOptions{})
	}},
	{"Conv: 2 weight zero points for 3 output channels", engine.ErrParams, func(f *fixture) error { return f.conv(f.x, f.k, engine.ConvOptions{WZP: []int32{0, 0}}) }},
	{"Conv: input zero point 300", engine.ErrParams, func(f *fixture) error { return f.conv(f.x, f.k, engine.ConvOptions{XZP: []int32{300}}) }},
	{"Conv: 65794 terms overflow the int32 accumulator", engine.ErrShape, func(f *fixture) error { return f.conv(f.bigC, f.bigCw, engine.ConvOptions{}) }},
	{"Conv: unknown input layout", engine.ErrParams, func(f *fixture) error { return f.conv(f.x, f.k, engine.ConvOptions{XLayout: 2}) }},
	{"Conv: unknown output layout", engine.ErrParams, func(f *fixture) error { return f.conv(f.x, f.k, engine.ConvOptions{YLayout: 9}) }},
	{"Conv: NHWC input of 5 channels for weights of 2", engine.ErrShape, func(f *fixture) error {
		return f.conv(f.x, f.k, engine.ConvOptions{XLayout: engine.NHWC})
	}},
	{"Conv: ReLU with an int32 output", engine.ErrParams, func(f *fixture) error {
		return f.conv(f.x, f.k, engine.ConvOptions{ReLU: true})
	}},

	// Requantize
	{"Requantize: float32 input", engine.ErrParams, func(f *fixture) error {
		_, err := f.b.Requantize(f.f32, []float32{1}, -1, qtensor.Int8, 1, 0, false)
		return err
	}},
	{"Requantize: int32 input without scales", engine.ErrParams, func(f *fixture) error {
		_, err := f.b.Requantize(f.i32, nil, -1, qtensor.Int8, 1, 0, false)
		return err
	}},
	{"Requantize: quantized input with explicit scales", engine.ErrParams, func(f *fixture) error {
		_, err := f.b.Requantize(f.s8, []float32{1}, -1, qtensor.Int8, 1, 0, false)
		return err
	}},
	{"Requantize: axis 2 of a rank-2 tensor", engine.ErrParams, func(f *fixture) error {
		_, err := f.b.Requantize(f.i32, []float32{1, 1}, 2, qtensor.Int8, 1, 0, false)
		return err
	}},
	{"Requantize: axis -2", engine.ErrParams, func(f *fixture) error {
		_, err := f.b.Requantize(f.i32, []float32{1}, -2, qtensor.Int8, 1, 0, false)
		return err
	}},
	{"Requantize: 2 scales for an axis of 3", engine.ErrParams, func(f *fixture) error {
		_, err := f.b.Requantize(f.i32, []float32{1, 1}, 1, qtensor.Int8, 1, 0, false)
		return err
	}},
	{"Requantize: per-axis input with different zero points", engine.ErrParams, func(f *fixture) error {
		_, err := f.b.Requantize(f.s8axisMixedZPs, nil, -1, qtensor.Int8, 1, 0, false)
		return err
	}},
	{"Requantize: per-block input", engine.ErrParams, func(f *fixture) error {
		_, err := f.b.Requantize(f.u8block, nil, -1, qtensor.Int8, 1, 0, false)
		return err
	}},
	{"Requantize: uint4 output", engine.ErrParams, func(f *fixture) error {
		_, err := f.b.Requantize(f.i32, []float32{1}, -1, qtensor.Uint4, 1, 0, false)
		return err
	}},
	{"Requantize: output scale NaN", engine.ErrParams, func(f *fixture) error {
		_, err := f.b.Requantize(f.i32, []float32{1}, -1, qtensor.Int8, float32(math.NaN()), 0, false)
		return err
	}},

	// Add, Mul, ReLU
	{"Add: shapes differ", engine.ErrShape, func(f *fixture) error { _, err := f.b.Add(f.u8, f.x, 1, 0); return err }},
	{"Add: types differ (uint8 + int8)", engine.ErrParams, func(f *fixture) error { _, err := f.b.Add(f.u8, f.s8, 1, 0); return err }},
	{"Add: int32 operands", engine.ErrParams, func(f *fixture) error { _, err := f.b.Add(f.i32, f.i32, 1, 0); return err }},
	{"Add: operand quantized per axis", engine.ErrParams, func(f *fixture) error { _, err := f.b.Add(f.u8axis, f.u8, 1, 0); return err }},
	{"Add: output scale NaN", engine.ErrParams, func(f *fixture) error { _, err := f.b.Add(f.u8, f.u8b, float32(math.NaN()), 0); return err }},
	{"Add: output zero point 256", engine.ErrParams, func(f *fixture) error { _, err := f.b.Add(f.u8, f.u8b, 1, 256); return err }},
	{"Add: multiplier overflows (2^125 / 2^-125)", engine.ErrParams, func(f *fixture) error {
		a := f.up(f.e, qtensor.Uint8, []int{2}, tp(0x1p125, 0))
		return nilErr(f.b.Add(a, a, 0x1p-125, 0))
	}},
	{"Mul: multiplier underflows (2^-125 * 2^-125 / 1)", engine.ErrParams, func(f *fixture) error {
		a := f.up(f.e, qtensor.Int8, []int{2}, tp(0x1p-125, 0))
		return nilErr(f.b.Mul(a, a, 1, 0))
	}},
	{"Mul: float32 operands", engine.ErrParams, func(f *fixture) error { _, err := f.b.Mul(f.f32, f.f32, 1, 0); return err }},
	{"ReLU: float32 input", engine.ErrParams, func(f *fixture) error { _, err := f.b.ReLU(f.f32); return err }},
	{"ReLU: per-axis input", engine.ErrParams, func(f *fixture) error { _, err := f.b.ReLU(f.u8axis); return err }},

	// Pooling
	{"Pool: unknown input layout", engine.ErrParams, func(f *fixture) error { return f.pool(true, f.x, engine.PoolOptions{Kernel: []int{1, 1}, XLayout: 3}) }},
	{"Pool: unknown output layout", engine.ErrParams, func(f *fixture) error { return f.pool(false, f.x, engine.PoolOptions{Kernel: []int{1, 1}, YLayout: 3}) }},
	{"Pool: no kernel", engine.ErrParams, func(f *fixture) error { return f.pool(true, f.x, engine.PoolOptions{}) }},
	{"Pool: kernel 0x2", engine.ErrParams, func(f *fixture) error { return f.pool(false, f.x, engine.PoolOptions{Kernel: []int{0, 2}}) }},
	{"Pool: kernel with 3 sizes", engine.ErrParams, func(f *fixture) error { return f.pool(true, f.x, engine.PoolOptions{Kernel: []int{2, 2, 2}}) }},
	{"Pool: kernel 2^17", engine.ErrParams, func(f *fixture) error { return f.pool(true, f.x, engine.PoolOptions{Kernel: []int{1 << 17, 1}}) }},
	{"Pool: rank-3 input", engine.ErrShape, func(f *fixture) error { return f.pool(true, f.x3, engine.PoolOptions{Kernel: []int{1, 1}}) }},
	{"Pool: kernel larger than the padded input", engine.ErrShape, func(f *fixture) error {
		return f.pool(false, f.x, engine.PoolOptions{Kernel: []int{6, 6}, Pads: []int{0, 0, 0, 0}})
	}},
	{"Pool: CountIncludePad on MaxPool", engine.ErrParams, func(f *fixture) error {
		return f.pool(true, f.x, engine.PoolOptions{Kernel: []int{2, 2}, CountIncludePad: true})
	}},
	{"Pool: per-axis input", engine.ErrParams, func(f *fixture) error {
		return f.pool(true, f.x4d(qtensor.Uint8, qtensor.AxisParams(1, []float32{1, 1}, []int32{0, 0})), engine.PoolOptions{Kernel: []int{2, 2}})
	}},
	{"Pool: negative pad", engine.ErrParams, func(f *fixture) error {
		return f.pool(false, f.x, engine.PoolOptions{Kernel: []int{2, 2}, Pads: []int{-1, 0, 0, 0}})
	}},
	{"Pool: float32 input", engine.ErrParams, func(f *fixture) error {
		return f.pool(false, f.x4d(qtensor.Float32, qtensor.Params{}), engine.PoolOptions{Kernel: []int{2, 2}})
	}},

	// MinMax, Histogram, DynamicQuantizeLinear
	{"MinMax: int8 input", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.MinMax(f.s8, -1)) }},
	{"MinMax: axis 2 of a rank-2 tensor", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.MinMax(f.f32, 2)) }},
	{"MinMax: axis -2", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.MinMax(f.f32, -2)) }},
	{"MinMax: empty input", engine.ErrShape, func(f *fixture) error { return nilErr(f.b.MinMax(f.empty, -1)) }},
	{"Histogram: 0 bins", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.Histogram(f.f32, 0, 0, 1)) }},
	{"Histogram: 2^20+1 bins", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.Histogram(f.f32, 1<<20+1, 0, 1)) }},
	{"Histogram: lo == hi", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.Histogram(f.f32, 4, 1, 1)) }},
	{"Histogram: lo > hi", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.Histogram(f.f32, 4, 2, 1)) }},
	{"Histogram: lo NaN", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.Histogram(f.f32, 4, float32(math.NaN()), 1)) }},
	{"Histogram: hi +Inf", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.Histogram(f.f32, 4, 0, float32(math.Inf(1)))) }},
	{"Histogram: bins/(hi-lo) overflows (range 1e-45, 2^20 bins)", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.Histogram(f.f32, 1<<20, 0, 1e-45)) }},
	{"Histogram: hi-lo overflows to +Inf (lo -3e38, hi 3e38)", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.Histogram(f.f32, 4, -3e38, 3e38)) }},
	{"Histogram: range edge below 2^-100 (lo -2^-120)", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.Histogram(f.f32, 4, -0x1p-120, 1)) }},
	{"Histogram: bins/(hi-lo) denormal (1 bin over 2^127)", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.Histogram(f.f32, 1, -0x1p126, 0x1p126)) }},
	{"ByteWeightDequant: max-min overflows", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.ByteWeightDequant(f.u8, -3e38, 3e38, nil)) }},
	{"HistogramAligned: grid exponent 127", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.HistogramAligned(f.f32, 127, 0, 4)) }},
	{"HistogramAligned: grid exponent -127", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.HistogramAligned(f.f32, -127, 0, 4)) }},
	{"HistogramAligned: grid start 2^62", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.HistogramAligned(f.f32, 0, 1<<62, 4)) }},
	{"HistogramAligned: 0 bins", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.HistogramAligned(f.f32, 0, 0, 0)) }},
	{"HistogramAligned: uint8 input", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.HistogramAligned(f.u8, 0, 0, 4)) }},
	{"Histogram: int8 input", engine.ErrParams, func(f *fixture) error { return nilErr(f.b.Histogram(f.s8, 4, 0, 1)) }},
	{"DynamicQuantizeLinear: int8 input", engine.ErrParams, func(f *fixture) error {
		_, _, _, err := f.e.DynamicQuantizeLinear(context.Background(), f.s8)
		return err
	}},
	{"DynamicQuantizeLinear: released input", engine.ErrClosed, func(f *fixture) error {
		_, _, _, err := f.e.DynamicQuantizeLinear(context.Background(), f.released)
		return err
	}},
}

func nilErr(_ *engine.Tensor, err error) error { return err }

func mustT(t *qtensor.Tensor, err error) *qtensor.Tensor {
	if err != nil {
		panic(err)
	}
	return t
}

// sentinelName names the sentinel for the printed table.
func sentinelName(err error) string {
	for _, s := range []struct {
		e error
		n string
	}{{engine.ErrShape, "ErrShape"}, {engine.ErrParams, "ErrParams"}, {engine.ErrUnsupported, "ErrUnsupported"},
		{engine.ErrUnavailable, "ErrUnavailable"}, {engine.ErrOutOfMemory, "ErrOutOfMemory"}, {engine.ErrDeviceLost, "ErrDeviceLost"},
		{engine.ErrClosed, "ErrClosed"}} {
		if errors.Is(err, s.e) {
			return s.n
		}
	}
	return "?"
}

// call runs one row, turning a panic into an error that names it.
func call(f *fixture, r badInput) (err error, panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			err, panicked = fmt.Errorf("panic: %v\n%s", v, debug.Stack()), true
		}
	}()
	return r.call(f), false
}

// TestBadInputs feeds the engine API bad inputs: each must return an error
// wrapping the listed sentinel and never panic. With -v it prints the
// table in markdown ("input | error").
func TestBadInputs(t *testing.T) {
	f := newFixture(t)
	known := os.Getenv("QGPU_KNOWN_BUGS") == "1"
	var md strings.Builder
	md.WriteString("| input | error |\n| --- | --- |\n")
	n := 0
	for _, r := range badInputs {
		if bug := knownBugs[r.input]; bug != "" && !known {
			t.Logf("skipping known engine bug (run with QGPU_KNOWN_BUGS=1): %s: %s", r.input, bug)
			fmt.Fprintf(&md, "| %s | %s (KNOWN BUG: %s) |\n", r.input, sentinelName(r.want), bug)
			continue
		}
		n++
		err, panicked := call(f, r)
		switch {
		case panicked:
			t.Errorf("%s: %v", r.input, err)
		case err == nil:
			t.Errorf("%s: no error, want %v", r.input, r.want)
		case !errors.Is(err, r.want):
			t.Errorf("%s: error %q does not wrap %v", r.input, err, r.want)
		}
		fmt.Fprintf(&md, "| %s | %s: `%s` |\n", r.input, sentinelName(r.want), strings.ReplaceAll(firstLine(err), "|", "\\|"))
	}
	if n < 40 {
		t.Errorf("only %d bad inputs checked", n)
	}
	if err := f.e.CheckGuards(); err != nil {
		t.Error(err)
	}
	t.Logf("%d bad inputs:\n%s", len(badInputs), md.String())
}

// newErr opens an engine with cfg and returns the error (closing the engine
// if one opened).
func newErr(cfg engine.Config) error {
	e, err := engine.New(cfg)
	if err == nil {
		e.Close()
	}
	return err
}

func firstLine(err error) string {
	if err == nil {
		return "<nil>"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
