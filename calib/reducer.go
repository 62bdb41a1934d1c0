package calib

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/qgpu/qgpu/qtensor"
)

// RangeStats are the statistics of one min/max pass over a set of values.
type RangeStats struct {
	Min, Max float32 // finite minimum and maximum; -0 is reported as +0; meaningless when Count == 0
	Count    int64   // finite values
	NaN      int64   // NaN values (left out of Min, Max)
	PosInf   int64   // +Inf values (left out of Min, Max)
	NegInf   int64   // -Inf values (left out of Min, Max)
}

// Total returns the number of values seen, finite or not.
func (s RangeStats) Total() int64 { return s.Count + s.NaN + s.PosInf + s.NegInf }

// Merge returns the statistics of the union of the two value sets.
func (s RangeStats) Merge(o RangeStats) RangeStats {
	r := RangeStats{Count: s.Count + o.Count, NaN: s.NaN + o.NaN, PosInf: s.PosInf + o.PosInf, NegInf: s.NegInf + o.NegInf}
	switch {
	case s.Count == 0:
		r.Min, r.Max = o.Min, o.Max
	case o.Count == 0:
		r.Min, r.Max = s.Min, s.Max
	default:
		r.Min, r.Max = min(s.Min, o.Min), max(s.Max, o.Max)
	}
	if r.Count == 0 {
		r.Min, r.Max = 0, 0
	}
	return r
}

// Grid is a window of the zero-aligned histogram grid of bin width 2^Exp
// (see qtensor.HistBinAligned): Bins consecutive bins whose first has the
// grid index Start. Window bin i holds the values whose grid index is
// Start+i.
type Grid struct {
	Exp   int   // bin width 2^Exp, in [MinExp, MaxExp]
	Start int64 // grid index of the first bin
	Bins  int   // number of bins, > 0
}

// MinExp and MaxExp bound Grid.Exp so that qtensor.HistScalePow2(Exp) is a
// normal float32.
const (
	MinExp = -126
	MaxExp = 126
)

// Check returns an error unless the grid is valid.
func (g Grid) Check() error {
	if g.Exp < MinExp || g.Exp > MaxExp {
		return fmt.Errorf("%w: histogram grid exponent %d outside [%d, %d]", qtensor.ErrParams, g.Exp, MinExp, MaxExp)
	}
	if g.Bins <= 0 || g.Bins > MaxBins {
		return fmt.Errorf("%w: histogram bin count %d outside [1, %d]", qtensor.ErrParams, g.Bins, MaxBins)
	}
	if g.Start < -(1<<61) || g.Start > 1<<61 {
		return fmt.Errorf("%w: histogram grid start %d out of range", qtensor.ErrParams, g.Start)
	}
	return nil
}

// Edge returns the real value of the lower edge of window bin i:
// (Start+i) * 2^Exp (saturating to ±MaxFloat32 when it overflows float32).
func (g Grid) Edge(i int) float32 {
	v := math.Ldexp(float64(g.Start+int64(i)), g.Exp)
	if v > math.MaxFloat32 {
		return math.MaxFloat32
	}
	if v < -math.MaxFloat32 {
		return -math.MaxFloat32
	}
	return float32(v)
}

// MaxBins is the largest histogram bin count accepted (2^20).
const MaxBins = 1 << 20

// HistCounts is the result of one histogram pass.
type HistCounts struct {
	Counts []uint64 // one per window bin
	Below  int64    // values whose grid index is below the window (-Inf included)
	Above  int64    // values whose grid index is above the window (+Inf included)
	NaN    int64
}

// Reducer runs the two data passes of calibration. The engine implements
// it on its selected backend; HostReducer is the pure-Go reference. Every
// implementation must return exactly the HostReducer's results (integer
// counts, and min/max which are exact).
type Reducer interface {
	// MinMax views x as a row-major [outer][channels][inner] array
	// (len(x) must be a multiple of channels*inner; channels=1,
	// inner=len(x) for a whole tensor) and returns one RangeStats per
	// channel: the minimum and maximum over the finite values, skipping and
	// counting NaN, +Inf and -Inf. A minimum or maximum of -0 is returned
	// as +0 (so the sign of zero never depends on the order of the
	// reduction). A channel with no finite value has Count 0 and Min = Max = 0.
	MinMax(ctx context.Context, x []float32, channels, inner int) ([]RangeStats, error)

	// Histogram counts every x into the grid window g: with
	// j, ok := qtensor.HistBinAligned(x, qtensor.HistScalePow2(g.Exp)),
	// NaN (!ok) counts in NaN, j < g.Start in Below, j >= g.Start+g.Bins in
	// Above, and the rest in Counts[j-g.Start].
	Histogram(ctx context.Context, x []float32, g Grid) (HistCounts, error)
}

// HostReducer is the pure-Go Reducer. Workers is the number of goroutines
// for large inputs (0: GOMAXPROCS); the results do not depend on it.
type HostReducer struct {
	Workers int
}

var _ Reducer = HostReducer{}

// parallelChunk is the smallest slice a worker gets.
const parallelChunk = 1 << 18

func (h HostReducer) split(n int) int {
	w := h.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	if c := n / parallelChunk; c < w {
		w = c
	}
	return max(w, 1)
}

// MinMax implements Reducer.
func (h HostReducer) MinMax(ctx context.Context, x []float32, channels, inner int) ([]RangeStats, error) {
	if channels <= 0 || inner <= 0 {
		return nil, fmt.Errorf("%w: MinMax channels %d and inner %d must be positive", qtensor.ErrShape, channels, inner)
	}
	if channels > math.MaxInt/inner || len(x)%(channels*inner) != 0 {
		return nil, fmt.Errorf("%w: MinMax input of %d values is not a multiple of channels*inner = %d*%d", qtensor.ErrShape, len(x), channels, inner)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]RangeStats, channels)
	if channels == 1 {
		w := h.split(len(x))
		if w == 1 {
			out[0] = minMaxFast(x)
		} else {
			parts := make([]RangeStats, w)
			var wg sync.WaitGroup
			for i := range w {
				lo, hi := len(x)*i/w, len(x)*(i+1)/w
				wg.Add(1)
				go func() { defer wg.Done(); parts[i] = minMaxFast(x[lo:hi]) }()
			}
			wg.Wait()
			for _, p := range parts {
				out[0] = out[0].Merge(p)
			}
		}
		return out, ctx.Err()
	}
	block := channels * inner
	for o := 0; o < len(x); o += block {
		for c := range channels {
			out[c] = out[c].Merge(minMaxSlice(x[o+c*inner : o+(c+1)*inner]))
		}
	}
	return out, ctx.Err()
}

// minMaxSlice is the reference min/max loop.
func minMaxSlice(x []float32) RangeStats {
	var s RangeStats
	lo := float32(math.Inf(1))
	hi := float32(math.Inf(-1))
	for _, v := range x {
		switch {
		case v != v:
			s.NaN++
		case v > math.MaxFloat32:
			s.PosInf++
		case v < -math.MaxFloat32:
			s.NegInf++
		default:
			if v < lo {
				lo = v
			}
			if v > hi {
				hi = v
			}
		}
	}
	s.Count = int64(len(x)) - s.NaN - s.PosInf - s.NegInf
	if s.Count > 0 {
		s.Min, s.Max = lo+0, hi+0 // x + 0 turns -0 into +0 and leaves every other value unchanged
	}
	return s
}

// Histogram implements Reducer.
func (h HostReducer) Histogram(ctx context.Context, x []float32, g Grid) (HistCounts, error) {
	if err := g.Check(); err != nil {
		return HistCounts{}, err
	}
	if err := ctx.Err(); err != nil {
		return HistCounts{}, err
	}
	w := h.split(len(x))
	if w == 1 {
		r := HistCounts{Counts: make([]uint64, g.Bins)}
		histSliceFast(&r, x, g)
		return r, nil
	}
	parts := make([]HistCounts, w)
	var wg sync.WaitGroup
	for i := range w {
		lo, hi := len(x)*i/w, len(x)*(i+1)/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[i].Counts = make([]uint64, g.Bins)
			histSliceFast(&parts[i], x[lo:hi], g)
		}()
	}
	wg.Wait()
	r := parts[0]
	for _, p := range parts[1:] {
		for i, c := range p.Counts {
			r.Counts[i] += c
		}
		r.Below += p.Below
		r.Above += p.Above
		r.NaN += p.NaN
	}
	return r, ctx.Err()
}

// histSlice is the reference histogram loop (adds into r).
func histSlice(r *HistCounts, x []float32, g Grid) {
	s := qtensor.HistScalePow2(g.Exp)
	counts := r.Counts
	n := uint64(len(counts))
	var nan int64
	for _, v := range x {
		j, ok := qtensor.HistBinAligned(v, s)
		if !ok {
			nan++
			continue
		}
		i := uint64(j - g.Start)
		if i < n {
			counts[i]++
		} else if j < g.Start {
			r.Below++
		} else {
			r.Above++
		}
	}
	r.NaN += nan
}
