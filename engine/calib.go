package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/engine/backend"
)

// Reducer returns a calib.Reducer that runs calibration's min/max and
// histogram passes on the engine's backend. Its results are exactly those
// of calib.HostReducer (integer counts; min/max are exact); a histogram
// window the backend cannot run (ErrUnsupported) is counted on the host.
// On a backend that implements InPlaceReducer (the CPU backend) the passes
// read the caller's slices where they are; on the others each call uploads
// its input first. Calls after Close fail with ErrClosed.
func (e *Engine) Reducer() calib.Reducer {
	if r, ok := e.b.(backend.InPlaceReducer); ok {
		return inPlace{e, r.InPlaceReducer()}
	}
	return reducer{e}
}

// inPlace runs a backend's in-place reducer under the engine's lock, so
// that it fails after Close like every other engine call.
type inPlace struct {
	e *Engine
	r calib.Reducer
}

// MinMax implements calib.Reducer.
func (p inPlace) MinMax(ctx context.Context, x []float32, channels, inner int) ([]calib.RangeStats, error) {
	if err := p.e.enter(); err != nil {
		return nil, fmt.Errorf("engine: calibration min/max: %w", err)
	}
	defer p.e.leave()
	return p.r.MinMax(ctx, x, channels, inner)
}

// Histogram implements calib.Reducer.
func (p inPlace) Histogram(ctx context.Context, x []float32, g calib.Grid) (calib.HistCounts, error) {
	if err := p.e.enter(); err != nil {
		return calib.HistCounts{}, fmt.Errorf("engine: calibration histogram: %w", err)
	}
	defer p.e.leave()
	return p.r.Histogram(ctx, x, g)
}

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

// setResident records that x holds the values of the float32 tensor t
// (pinned until clearResident), for the reducer.
func (e *Engine) setResident(x []float32, t *Tensor) {
	if len(x) == 0 {
		return
	}
	e.rmu.Lock()
	defer e.rmu.Unlock()
	if e.resident == nil {
		e.resident = map[*float32]*Tensor{}
	}
	e.resident[&x[0]] = t
}

func (e *Engine) clearResident(x []float32) {
	if len(x) == 0 {
		return
	}
	e.rmu.Lock()
	defer e.rmu.Unlock()
	delete(e.resident, &x[0])
}

// residentFor returns the device tensor holding exactly the values of x
// (the whole slice Observe handed an observer), or nil. Passes over such
// an x run on the tensor: the same values, without an upload.
func (e *Engine) residentFor(x []float32) *Tensor {
	if len(x) == 0 || len(x) > reduceChunk {
		return nil
	}
	e.rmu.Lock()
	defer e.rmu.Unlock()
	if t := e.resident[&x[0]]; t != nil && t.Len() == len(x) {
		return t
	}
	return nil
}

// MinMax implements calib.Reducer.
func (r reducer) MinMax(ctx context.Context, x []float32, channels, inner int) ([]calib.RangeStats, error) {
	if len(x) == 0 || channels <= 0 || inner <= 0 || len(x)%(channels*inner) != 0 {
		return calib.HostReducer{}.MinMax(ctx, x, channels, inner) // empty input, or the host's error
	}
	if t := r.e.residentFor(x); t != nil {
		v, err := r.e.Reshape(t, []int{len(x) / (channels * inner), channels, inner})
		if err != nil {
			return nil, fmt.Errorf("engine: calibration min/max: %w", err)
		}
		defer v.Release()
		st, err := r.e.MinMax(ctx, v, 1)
		if err != nil {
			return nil, fmt.Errorf("engine: calibration min/max: %w", err)
		}
		return st, nil
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
			out[c] = out[c].Merge(s)
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
	resident := r.e.residentFor(x)
	err := chunks(len(x), 1, func(lo, hi int) error {
		t := resident // the whole of x (len(x) <= reduceChunk: one chunk)
		if t == nil {
			var err error
			if t, err = r.e.UploadFloat32([]int{hi - lo}, x[lo:hi]); err != nil {
				return err
			}
			defer t.Release()
		}
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
