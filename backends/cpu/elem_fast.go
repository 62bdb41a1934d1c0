package cpu

import (
	"context"
	"sync"

	"github.com/qgpu/qgpu/backends/cpu/internal/vec"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// The fast elementwise paths run the SIMD kernels of internal/vec, which
// compute the same qtensor formulas byte for byte, split over the
// backend's worker goroutines. Each returns handled == false when the op
// needs the reference kernel (types, granularities or layouts the kernels
// don't cover).

// minChunk is the smallest number of elements a worker gets.
const minChunk = 1 << 16

// parallel calls f on up to b.threads contiguous chunks of [0, n)
// elements (see rows).
func (b *Backend) parallel(n int, f func(lo, hi int)) { b.rows(n, n, f) }

// axisLayout returns the channel count and the run length (elements per
// channel run) of per-axis params on shape.
func axisLayout(p qtensor.Params, shape []int) (channels, inner int) {
	inner = 1
	for _, d := range shape[p.Axis+1:] {
		inner *= d
	}
	return shape[p.Axis], inner
}

func is8bit(d qtensor.DType) bool { return d == qtensor.Uint8 || d == qtensor.Int8 }

func (b *Backend) quantizeFast(_ context.Context, op *backend.Quantize) (handled bool, err error) {
	d := op.Y.DType()
	p := op.Y.Params()
	if !is8bit(d) || p.Granularity == qtensor.PerBlock {
		return false, nil
	}
	x, y := asFloat32(bytesOf(op.X)), bytesOf(op.Y)
	qmin, qmax := d.QMin(), d.QMax()
	torch := op.Rounding == qtensor.RoundTorch
	if p.Granularity == qtensor.PerTensor {
		s, zp := p.Scales[0], p.ZeroPoints[0]
		stream := vec.StreamQuantize(len(x))
		b.parallel(len(x), func(lo, hi int) {
			if torch {
				vec.QuantizeTorchPerTensor(y[lo:hi], x[lo:hi], s, zp, qmin, qmax, stream)
			} else {
				vec.QuantizePerTensor(y[lo:hi], x[lo:hi], s, zp, qmin, qmax, stream)
			}
		})
		return true, nil
	}
	_, inner := axisLayout(p, op.Y.Shape())
	stream := vec.StreamQuantize(len(x))
	b.parallel(len(x), func(lo, hi int) {
		if torch {
			vec.QuantizeTorchPerAxis(y[lo:hi], x[lo:hi], lo, p.Scales, p.ZeroPoints, inner, qmin, qmax, stream)
		} else {
			vec.QuantizePerAxis(y[lo:hi], x[lo:hi], lo, p.Scales, p.ZeroPoints, inner, qmin, qmax, stream)
		}
	})
	return true, nil
}

func (b *Backend) dequantizeFast(_ context.Context, op *backend.Dequantize) (handled bool, err error) {
	d := op.X.DType()
	p := op.X.Params()
	if !is8bit(d) || p.Granularity == qtensor.PerBlock {
		return false, nil
	}
	x, y := bytesOf(op.X), asFloat32(bytesOf(op.Y))
	signed := d == qtensor.Int8
	if p.Granularity == qtensor.PerTensor {
		stream := vec.StreamDequantize(len(x))
		b.parallel(len(x), func(lo, hi int) {
			vec.DequantizePerTensor(y[lo:hi], x[lo:hi], signed, p.Scales[0], p.ZeroPoints[0], stream)
		})
		return true, nil
	}
	_, inner := axisLayout(p, op.X.Shape())
	stream := vec.StreamDequantize(len(x))
	b.parallel(len(x), func(lo, hi int) {
		vec.DequantizePerAxis(y[lo:hi], x[lo:hi], signed, lo, p.Scales, p.ZeroPoints, inner, stream)
	})
	return true, nil
}

// requantizeFast covers int32 input with the float rule and no bias, per
// tensor or per channel with runs of at least 64 elements.
func (b *Backend) requantizeFast(_ context.Context, op *backend.Requantize) (handled bool, err error) {
	ep := &op.Epilogue
	if op.X.DType() != qtensor.Int32 || ep.Fixed != nil || ep.Bias != nil {
		return false, nil
	}
	out := newOutput(ep, op.Y)
	x, y := asInt32(bytesOf(op.X)), bytesOf(op.Y)
	if op.Axis < 0 {
		b.parallel(len(x), func(lo, hi int) {
			vec.RequantizeInt32(y[lo:hi], x[lo:hi], ep.Mult[0], ep.YZP, out.qmin, out.qmax)
		})
		return true, nil
	}
	shape := op.X.Shape()
	channels, inner := shape[op.Axis], 1
	for _, d := range shape[op.Axis+1:] {
		inner *= d
	}
	if inner < 64 {
		return false, nil
	}
	runs := len(x) / inner
	b.parallel(runs*minChunk/max(inner, 1), func(lo, hi int) {
		// lo, hi scaled back to whole runs
		rlo, rhi := lo*inner/minChunk, hi*inner/minChunk
		if hi == runs*minChunk/max(inner, 1) {
			rhi = runs
		}
		for r := rlo; r < rhi; r++ {
			vec.RequantizeInt32(y[r*inner:(r+1)*inner], x[r*inner:(r+1)*inner], backend.At(ep.Mult, r%channels), ep.YZP, out.qmin, out.qmax)
		}
	})
	return true, nil
}

// minMaxFast covers a whole-tensor reduction, and per-channel reductions
// with runs of at least 64 elements.
func (b *Backend) minMaxFast(_ context.Context, op *backend.MinMax) (handled bool, err error) {
	x, y := asFloat32(bytesOf(op.X)), bytesOf(op.Y)
	st := make([]vec.MinMaxStats, op.Channels)
	for c := range st {
		st[c] = vec.EmptyMinMax
	}
	switch {
	case op.Channels == 1:
		var mu sync.Mutex
		b.parallel(len(x), func(lo, hi int) {
			s := vec.MinMax(x[lo:hi])
			mu.Lock()
			st[0] = st[0].Merge(s)
			mu.Unlock()
		})
	case op.Inner >= 64:
		for r := 0; r*op.Inner < len(x); r++ {
			c := r % op.Channels
			st[c] = st[c].Merge(vec.MinMax(x[r*op.Inner : (r+1)*op.Inner]))
		}
	default:
		return false, nil
	}
	for c, s := range st {
		for j, w := range s.Words() {
			putU32(y, 6*c+j, w)
		}
	}
	return true, nil
}

// histogramFast covers the [lo, hi] histogram; every worker counts into its
// own array and the arrays are summed.
func (b *Backend) histogramFast(_ context.Context, op *backend.Histogram) (handled bool, err error) {
	x, y := asFloat32(bytesOf(op.X)), bytesOf(op.Y)
	total := make([]uint32, op.Bins+3)
	var mu sync.Mutex
	b.parallel(len(x), func(lo, hi int) {
		counts := make([]uint32, op.Bins+3)
		if op.Aligned {
			vec.HistogramAligned(counts, x[lo:hi], qtensor.HistScalePow2(op.Exp), op.Start)
		} else {
			vec.Histogram(counts, x[lo:hi], op.Lo, op.Hi)
		}
		mu.Lock()
		for i, c := range counts {
			total[i] += c
		}
		mu.Unlock()
	})
	for i, c := range total {
		putU32(y, i, c)
	}
	return true, nil
}

// addFast runs Add through vec.Add, the elements split over the workers.
func (b *Backend) addFast(_ context.Context, op *backend.Add) (handled bool, err error) {
	a, c, y := bytesOf(op.A), bytesOf(op.B), bytesOf(op.Y)
	signed := op.A.DType() == qtensor.Int8
	qmin, qmax := op.Y.DType().QMin(), op.Y.DType().QMax()
	b.parallel(len(y), func(lo, hi int) {
		vec.Add(y[lo:hi], a[lo:hi], c[lo:hi], signed, op.ZA, op.ZB, op.MA, op.MB, op.ZY, qmin, qmax)
	})
	return true, nil
}

// mulFast runs Mul through vec.Mul, the elements split over the workers.
func (b *Backend) mulFast(_ context.Context, op *backend.Mul) (handled bool, err error) {
	a, c, y := bytesOf(op.A), bytesOf(op.B), bytesOf(op.Y)
	signed := op.A.DType() == qtensor.Int8
	qmin, qmax := op.Y.DType().QMin(), op.Y.DType().QMax()
	b.parallel(len(y), func(lo, hi int) {
		vec.Mul(y[lo:hi], a[lo:hi], c[lo:hi], signed, op.ZA, op.ZB, op.M, op.ZY, qmin, qmax)
	})
	return true, nil
}

// reluFast runs ReLU through vec.Relu, the elements split over the workers.
func (b *Backend) reluFast(_ context.Context, op *backend.ReLU) (handled bool, err error) {
	x, y := bytesOf(op.X), bytesOf(op.Y)
	signed := op.X.DType() == qtensor.Int8
	b.parallel(len(y), func(lo, hi int) { vec.Relu(y[lo:hi], x[lo:hi], signed, op.ZP) })
	return true, nil
}
