package cpu

import (
	"context"
	"sync"

	"github.com/qgpu/qgpu/backends/cpu/internal/vec"
	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/qtensor"
)

// InPlaceReducer implements backend.InPlaceReducer: calibration's min/max
// and histogram passes on the caller's slices, with the vector kernels and
// b's threads (with the generic kernel set, calib.HostReducer, the
// reference).
func (b *Backend) InPlaceReducer() calib.Reducer {
	if b.generic {
		return calib.HostReducer{Workers: b.threads}
	}
	return reducer{b}
}

type reducer struct{ b *Backend }

// reducePiece bounds the values of one kernel call: the kernels count in
// uint32.
const reducePiece = 1 << 30

// pieces calls f on consecutive slices of x of at most reducePiece values.
func pieces(x []float32, f func(p []float32)) {
	for len(x) > 0 {
		n := min(len(x), reducePiece)
		f(x[:n])
		x = x[n:]
	}
}

func rangeStats(s vec.MinMaxStats) calib.RangeStats {
	r := calib.RangeStats{Count: int64(s.Finite), NaN: int64(s.NaN), PosInf: int64(s.PInf), NegInf: int64(s.NInf)}
	if r.Count > 0 {
		r.Min, r.Max = qtensor.MinMaxFromKey(s.Lo), qtensor.MinMaxFromKey(s.Hi)
	}
	return r
}

// MinMax implements calib.Reducer. Per-channel reductions with runs of
// fewer than 64 values go to calib.HostReducer, as do invalid arguments
// (for its error).
func (r reducer) MinMax(ctx context.Context, x []float32, channels, inner int) ([]calib.RangeStats, error) {
	if channels <= 0 || inner <= 0 || len(x)%(channels*inner) != 0 || (channels > 1 && inner < 64) {
		return calib.HostReducer{Workers: r.b.threads}.MinMax(ctx, x, channels, inner)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]calib.RangeStats, channels)
	if channels == 1 {
		var mu sync.Mutex
		r.b.parallel(len(x), func(lo, hi int) {
			var st calib.RangeStats
			pieces(x[lo:hi], func(p []float32) { st = st.Merge(rangeStats(vec.MinMax(p))) })
			mu.Lock()
			out[0] = out[0].Merge(st)
			mu.Unlock()
		})
		return out, ctx.Err()
	}
	block := channels * inner
	r.b.rows(channels, len(x), func(c0, c1 int) {
		for o := 0; o < len(x); o += block {
			for c := c0; c < c1; c++ {
				pieces(x[o+c*inner:o+(c+1)*inner], func(p []float32) { out[c] = out[c].Merge(rangeStats(vec.MinMax(p))) })
			}
		}
	})
	return out, ctx.Err()
}

// Histogram implements calib.Reducer: every worker counts its part into
// its own uint32 array, a piece at a time, and adds it to the totals.
func (r reducer) Histogram(ctx context.Context, x []float32, g calib.Grid) (calib.HistCounts, error) {
	if err := g.Check(); err != nil || len(x) == 0 {
		return calib.HostReducer{Workers: r.b.threads}.Histogram(ctx, x, g)
	}
	if err := ctx.Err(); err != nil {
		return calib.HistCounts{}, err
	}
	s := qtensor.HistScalePow2(g.Exp)
	out := calib.HistCounts{Counts: make([]uint64, g.Bins)}
	var mu sync.Mutex
	r.b.parallel(len(x), func(lo, hi int) {
		counts := make([]uint32, g.Bins+3)
		var part calib.HistCounts
		part.Counts = make([]uint64, g.Bins)
		pieces(x[lo:hi], func(p []float32) {
			clear(counts)
			vec.HistogramAligned(counts, p, s, g.Start)
			for i, c := range counts[:g.Bins] {
				part.Counts[i] += uint64(c)
			}
			part.Below += int64(counts[g.Bins])
			part.Above += int64(counts[g.Bins+1])
			part.NaN += int64(counts[g.Bins+2])
		})
		mu.Lock()
		for i, c := range part.Counts {
			out.Counts[i] += c
		}
		out.Below += part.Below
		out.Above += part.Above
		out.NaN += part.NaN
		mu.Unlock()
	})
	return out, ctx.Err()
}
