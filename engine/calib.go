package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/qgpu/qgpu/calib"
)

// Reducer returns a calib.Reducer that runs calibration's min/max and
// histogram passes on the engine's backend. Its results are exactly those
// of calib.HostReducer (integer counts; min/max are exact); a histogram
// window the backend cannot run (ErrUnsupported) is counted on the host.
func (e *Engine) Reducer() calib.Reducer { return reducer{e} }

type reducer struct{ e *Engine }

var _ calib.Reducer = reducer{}

// reduceChunk bounds the elements of one device pass, below the 2^32 a
// reduction op counts.
const reduceChunk = 1 << 30

// chunks splits n elements into runs of whole blocks of at most
// reduceChunk elements and calls f on each.
func chunks(n, block int, f func(lo, hi int) error) error {
	step := max(reduceChunk/block, 1) * block
	for lo := 0; lo < n; lo += step {
		if err := f(lo, min(n, lo+step)); err != nil {
			return err
		}
	}
	return nil
}

// MinMax implements calib.Reducer.
func (r reducer) MinMax(ctx context.Context, x []float32, channels, inner int) ([]calib.RangeStats, error) {
	if len(x) == 0 || channels <= 0 || inner <= 0 || len(x)%(channels*inner) != 0 {
		return calib.HostReducer{}.MinMax(ctx, x, channels, inner) // empty input, or the host's error
	}
	out := make([]calib.RangeStats, channels)
	err := chunks(len(x), channels*inner, func(lo, hi int) error {
		t, err := r.e.UploadFloat32([]int{(hi - lo) / (channels * inner), channels, inner}, x[lo:hi])
		if err != nil {
			return err
		}
		defer t.Release()
		st, err := r.e.MinMax(ctx, t, 1)
		if err != nil {
			return err
		}
		for c, s := range st {
			rs := calib.RangeStats{Count: int64(s.Finite), NaN: int64(s.NaN), PosInf: int64(s.PosInf), NegInf: int64(s.NegInf)}
			if rs.Count > 0 {
				rs.Min, rs.Max = s.Min, s.Max
			}
			out[c] = out[c].Merge(rs)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("engine: calibration min/max: %w", err)
	}
	return out, nil
}

// Histogram implements calib.Reducer.
func (r reducer) Histogram(ctx context.Context, x []float32, g calib.Grid) (calib.HistCounts, error) {
	if err := g.Check(); err != nil || len(x) == 0 {
		return calib.HostReducer{}.Histogram(ctx, x, g)
	}
	out := calib.HistCounts{Counts: make([]uint64, g.Bins)}
	err := chunks(len(x), 1, func(lo, hi int) error {
		t, err := r.e.UploadFloat32([]int{hi - lo}, x[lo:hi])
		if err != nil {
			return err
		}
		defer t.Release()
		b := r.e.NewBatch()
		y, err := b.HistogramAligned(t, g.Exp, g.Start, g.Bins)
		if err != nil {
			return err
		}
		defer y.Release()
		if err := b.Run(ctx); err != nil {
			return err
		}
		h, err := r.e.HistogramResult(y)
		if err != nil {
			return err
		}
		for i, c := range h.Counts {
			out.Counts[i] += c
		}
		out.Below += int64(h.Below)
		out.Above += int64(h.Above)
		out.NaN += int64(h.NaN)
		return nil
	})
	if errors.Is(err, ErrUnsupported) {
		return calib.HostReducer{}.Histogram(ctx, x, g)
	}
	if err != nil {
		return calib.HistCounts{}, fmt.Errorf("engine: calibration histogram: %w", err)
	}
	return out, nil
}
