package calib

import (
	"math"

	"github.com/qgpu/qgpu/qtensor"
)

// histSliceFast is histSlice with the same counts, faster: the bin of a
// value with |x|·s < 2^62 is computed without branches on the sign
// (floor(|x|·s), bit-complemented for negative x: -1-j == ^j), -0 is made
// +0 first (x+0), and everything else (NaN, ±Inf, huge values) goes through
// qtensor.HistBinAligned itself. Two count arrays break the dependency
// between consecutive increments of the same bin.
// TestHistFastMatchesReference checks it against histSlice.
func histSliceFast(r *HistCounts, x []float32, g Grid) {
	s := qtensor.HistScalePow2(g.Exp)
	counts := r.Counts
	n := uint64(len(counts))
	alt := make([]uint64, n)
	start := g.Start
	var nan, below, above int64
	bin := func(v float32) int64 {
		b := math.Float32bits(v + 0)
		a := math.Float32frombits(b&^(1<<31)) * s
		if a < 1<<62 {
			return int64(a) ^ -int64(b>>31)
		}
		j, ok := qtensor.HistBinAligned(v, s)
		if !ok {
			nan++
			return math.MinInt64
		}
		return j
	}
	add := func(c []uint64, j int64) {
		if i := uint64(j - start); i < n {
			c[i]++
		} else if j == math.MinInt64 {
			// NaN, counted by bin
		} else if j < start {
			below++
		} else {
			above++
		}
	}
	i := 0
	for ; i+1 < len(x); i += 2 {
		j0, j1 := bin(x[i]), bin(x[i+1])
		add(counts, j0)
		add(alt, j1)
	}
	if i < len(x) {
		add(counts, bin(x[i]))
	}
	for k, c := range alt {
		counts[k] += c
	}
	r.NaN += nan
	r.Below += below
	r.Above += above
}

// minMaxFast is minMaxSlice with the same result: non-finite values are
// recognised by their exponent bits (a rare, predictable branch) and the
// finite ones feed two independent min/max chains.
func minMaxFast(x []float32) RangeStats {
	var s RangeStats
	inf := float32(math.Inf(1))
	lo0, lo1, hi0, hi1 := inf, inf, -inf, -inf
	special := func(v float32) {
		switch {
		case v != v:
			s.NaN++
		case v > 0:
			s.PosInf++
		default:
			s.NegInf++
		}
	}
	i := 0
	for ; i+1 < len(x); i += 2 {
		a, b := x[i], x[i+1]
		if math.Float32bits(a)&0x7f800000 == 0x7f800000 {
			special(a)
		} else {
			lo0, hi0 = min(lo0, a), max(hi0, a)
		}
		if math.Float32bits(b)&0x7f800000 == 0x7f800000 {
			special(b)
		} else {
			lo1, hi1 = min(lo1, b), max(hi1, b)
		}
	}
	if i < len(x) {
		a := x[i]
		if math.Float32bits(a)&0x7f800000 == 0x7f800000 {
			special(a)
		} else {
			lo0, hi0 = min(lo0, a), max(hi0, a)
		}
	}
	s.Count = int64(len(x)) - s.NaN - s.PosInf - s.NegInf
	if s.Count > 0 {
		s.Min, s.Max = min(lo0, lo1)+0, max(hi0, hi1)+0
	}
	return s
}
