package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/qtensor"
)

// MinMaxResults decodes the output tensor of Batch.MinMax: per channel, the
// finite minimum and maximum (+Inf and -Inf when Count is 0; -0 is reported
// as +0) and the counts of finite, NaN, +Inf and -Inf values.
func (e *Engine) MinMaxResults(y *Tensor) ([]calib.RangeStats, error) {
	h, err := e.Download(y)
	if err != nil {
		return nil, err
	}
	if h.DType != qtensor.Int32 || len(h.Shape) != 2 || h.Shape[1] != 6 {
		return nil, fmt.Errorf("%w: %v is not a MinMax output", ErrParams, y)
	}
	out := make([]calib.RangeStats, h.Shape[0])
	for c := range out {
		w := func(i int) uint32 { return binary.LittleEndian.Uint32(h.Data[4*(6*c+i):]) }
		r := calib.RangeStats{Count: int64(w(2)), NaN: int64(w(3)), PosInf: int64(w(4)), NegInf: int64(w(5))}
		if r.Count == 0 {
			r.Min, r.Max = float32(math.Inf(1)), float32(math.Inf(-1))
		} else {
			r.Min, r.Max = qtensor.MinMaxFromKey(w(0)), qtensor.MinMaxFromKey(w(1))
		}
		out[c] = r
	}
	return out, nil
}

// HistogramCounts is the decoded output of a Histogram op.
type HistogramCounts struct {
	Counts            []uint64
	Below, Above, NaN uint64
}

// HistogramResult decodes the output tensor of Batch.Histogram.
func (e *Engine) HistogramResult(y *Tensor) (HistogramCounts, error) {
	h, err := e.Download(y)
	if err != nil {
		return HistogramCounts{}, err
	}
	if h.DType != qtensor.Int32 || len(h.Shape) != 1 || h.Shape[0] < 4 {
		return HistogramCounts{}, fmt.Errorf("%w: %v is not a Histogram output", ErrParams, y)
	}
	n := h.Shape[0] - 3
	r := HistogramCounts{Counts: make([]uint64, n)}
	w := func(i int) uint64 { return uint64(binary.LittleEndian.Uint32(h.Data[4*i:])) }
	for i := range n {
		r.Counts[i] = w(i)
	}
	r.Below, r.Above, r.NaN = w(n), w(n+1), w(n+2)
	return r, nil
}

// MinMax runs a MinMax reduction (axis -1: whole tensor) and returns the
// per-channel statistics.
func (e *Engine) MinMax(ctx context.Context, x *Tensor, axis int) ([]calib.RangeStats, error) {
	b := e.NewBatch()
	y, err := b.MinMax(x, axis)
	if err != nil {
		return nil, err
	}
	defer y.Release()
	if err := b.Run(ctx); err != nil {
		return nil, err
	}
	return e.MinMaxResults(y)
}

// Histogram runs a Histogram reduction and returns the counts.
func (e *Engine) Histogram(ctx context.Context, x *Tensor, bins int, lo, hi float32) (HistogramCounts, error) {
	b := e.NewBatch()
	y, err := b.Histogram(x, bins, lo, hi)
	if err != nil {
		return HistogramCounts{}, err
	}
	defer y.Release()
	if err := b.Run(ctx); err != nil {
		return HistogramCounts{}, err
	}
	return e.HistogramResult(y)
}

// DynamicQuantizeLinear is ONNX DynamicQuantizeLinear: it computes the
// range of x on the device (NaN and ±Inf left out), the uint8 scale and
// zero point with qtensor.DynamicQParams, and quantizes x with them
// (NaN to the zero point, ±Inf saturating).
func (e *Engine) DynamicQuantizeLinear(ctx context.Context, x *Tensor) (y *Tensor, scale float32, zp int32, err error) {
	st, err := e.MinMax(ctx, x, -1)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("engine: DynamicQuantizeLinear: %w", err)
	}
	lo, hi := st[0].Min, st[0].Max
	if st[0].Count == 0 {
		lo, hi = 0, 0
	}
	scale, zp = qtensor.DynamicQParams(lo, hi)
	b := e.NewBatch()
	y, err = b.Quantize(x, qtensor.Uint8, qtensor.TensorParams(scale, zp), qtensor.RoundONNX)
	if err != nil {
		return nil, 0, 0, err
	}
	if err := b.Run(ctx); err != nil {
		y.Release()
		return nil, 0, 0, err
	}
	return y, scale, zp, nil
}

// Do records ops with build and runs them as one submission: a shorthand
// for NewBatch, build, Run. On error the tensors build made are released.
func (e *Engine) Do(ctx context.Context, build func(b *Batch) error) error {
	b := e.NewBatch()
	if err := build(b); err != nil {
		b.Release()
		return err
	}
	if err := b.Run(ctx); err != nil {
		return err
	}
	return nil
}

// Release releases every tensor the batch's op methods returned (see
// Tensor.Release), for a batch that is dropped, or whose outputs are no
// longer needed. Safe to call twice.
func (b *Batch) Release() {
	for _, t := range b.made {
		t.Release()
	}
}
