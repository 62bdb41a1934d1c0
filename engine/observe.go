package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// Observe feeds the values of the device tensor t to the calibration
// observer o as one batch of t's shape, the way a program calibrates the
// output of an op it runs on the engine:
//
//   - float32 (a Gemm or Conv with OutFloat32, a Dequantize): as they are;
//   - int8, uint8, int4, uint4: dequantized on the device with t's params
//     (Batch.Dequantize);
//   - int32 accumulators have no scale of their own: use
//     ObserveAccumulators.
//
// The float32 values come to the host once, into the slice o observes
// (no other host copy is made). Give o the engine's reducer
// (calib.MinMaxObserver{Reducer: e.Reducer()}, or
// calib.ObserverOptions.Reducer) and its min/max and histogram passes run
// on the backend: on the CPU backend they read that slice in place; on
// the GPU backends they run on the device copy of the values that Observe
// made the slice from, so the slice is not uploaded again. o must not
// modify the slice. An empty t is an empty batch.
//
// To calibrate the output of a GEMM, run it with OutFloat32 (and the
// layer's float bias as FloatBias): that is the real-valued output a
// quantized output (OutQuantized with the observer's scale and zero
// point) approximates.
func (e *Engine) Observe(ctx context.Context, o calib.Observer, t *Tensor) error {
	const op = "Observe"
	if o == nil {
		return errf(op, ErrParams, "nil observer")
	}
	ts := []*Tensor{t}
	if err := e.pinAll(ts, func(int) string { return "tensor" }); err != nil {
		return fmt.Errorf("engine: %s: %w", op, err)
	}
	defer unpinAll(ts)
	if t.Len() == 0 {
		return o.Observe(ctx, []float32{}, t.Shape())
	}
	switch d := t.DType(); {
	case d == qtensor.Float32:
		return e.observe(ctx, o, t)
	case d.Quantized():
		b := e.NewBatch()
		f, err := b.Dequantize(t)
		if err != nil {
			return err
		}
		defer f.Release()
		if err := b.Run(ctx); err != nil {
			return fmt.Errorf("engine: %s: dequantize: %w", op, err)
		}
		return e.observe(ctx, o, f)
	case d == qtensor.Int32:
		return errf(op, ErrParams, "%v holds int32 accumulators, which carry no scale: use ObserveAccumulators with their scales, or run the op with OutFloat32", t)
	default:
		return errf(op, ErrParams, "%v: want float32, a quantized type or int32 accumulators", t)
	}
}

// observe downloads the float32 tensor f (pinned by the caller) into a new
// slice and has o observe it; the engine's reducer reads f for that slice.
func (e *Engine) observe(ctx context.Context, o calib.Observer, f *Tensor) error {
	x := make([]float32, f.Len())
	if err := e.read(f, float32Bytes(x)); err != nil {
		return fmt.Errorf("engine: Observe: download: %w", err)
	}
	hostFloat32s(x)
	if _, inPlace := e.b.(backend.InPlaceReducer); !inPlace {
		e.setResident(x, f)
		defer e.clearResident(x)
	}
	return o.Observe(ctx, x, f.Shape())
}

// ObserveAccumulators is Observe for int32 accumulators acc (the output of
// a Gemm or Conv with OutInt32, bias included) with their float scales:
// one for all, or one per index of axis (negative counts from the end; a
// GEMM's output channels are its last axis, -1, a convolution's axis 1).
// Value i is qtensor.FloatOutput(acc[i], scale[c], 0), c its channel: for
// scales float32(aScale * bScale[c]) exactly what the op gives with
// OutFloat32 and no FloatBias. The accumulators are converted as they
// arrive on the host, in the slice o observes; on a GPU backend the
// engine's reducer uploads that slice for its passes (Observe on an
// OutFloat32 output avoids the upload). Scales must be valid output
// scales (positive, finite and normal: qtensor.CheckMultiplier).
func (e *Engine) ObserveAccumulators(ctx context.Context, o calib.Observer, acc *Tensor, scales []float32, axis int) error {
	const op = "ObserveAccumulators"
	if o == nil {
		return errf(op, ErrParams, "nil observer")
	}
	ts := []*Tensor{acc}
	if err := e.pinAll(ts, func(int) string { return "accumulators" }); err != nil {
		return fmt.Errorf("engine: %s: %w", op, err)
	}
	defer unpinAll(ts)
	if acc.DType() != qtensor.Int32 {
		return errf(op, ErrParams, "accumulators have type %v, want int32 (Observe takes float32 and quantized tensors)", acc.DType())
	}
	channels, inner := 1, 1
	if len(scales) != 1 {
		shape := acc.Shape()
		a := axis
		if a < 0 {
			a += len(shape)
		}
		if a < 0 || a >= len(shape) {
			return errf(op, ErrParams, "%d scales need a channel axis; axis %d is out of range for shape %v", len(scales), axis, shape)
		}
		channels = shape[a]
		for _, d := range shape[a+1:] {
			inner *= d
		}
		if len(scales) != channels {
			return errf(op, ErrParams, "%d scales, want 1 or %d (the length of axis %d of %v)", len(scales), channels, axis, shape)
		}
	}
	for i, s := range scales {
		if err := qtensor.CheckMultiplier(s); err != nil {
			return fmt.Errorf("engine: %s: scale %d: %w", op, i, err)
		}
	}
	x := make([]float32, acc.Len())
	if err := e.read(acc, float32Bytes(x)); err != nil {
		return fmt.Errorf("engine: %s: download: %w", op, err)
	}
	accumulatorFloats(x, func(i int, a int32) float32 {
		return qtensor.FloatOutput(a, backend.At(scales, (i/inner)%channels), 0)
	})
	return o.Observe(ctx, x, acc.Shape())
}

// read copies t's data (pinned by the caller) into dst (t.Bytes() bytes).
func (e *Engine) read(t *Tensor, dst []byte) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	return t.d.Buffer().Read(t.d.Offset(), dst)
}

// float32Bytes is the memory of x as bytes, for reading 32-bit device data
// into it without a second copy.
func float32Bytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
}

// littleEndian reports whether the host stores words low byte first, as
// the devices' data is.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// hostFloat32s turns x, holding float32 device words (little-endian),
// into host float32 values in place: nothing to do on a little-endian
// host.
func hostFloat32s(x []float32) {
	if littleEndian {
		return
	}
	b := float32Bytes(x)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
}

// accumulatorFloats turns x, holding int32 device words (little-endian),
// into float32 values in place: x[i] = f(i, word i).
func accumulatorFloats(x []float32, f func(i int, acc int32) float32) {
	b := float32Bytes(x)
	for i := range x {
		x[i] = f(i, int32(binary.LittleEndian.Uint32(b[4*i:])))
	}
}
