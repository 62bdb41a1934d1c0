package calib

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/qgpu/qgpu/qtensor"
)

// DefaultPercentile is the fraction kept by MethodPercentile when none is
// given.
const DefaultPercentile = 0.9999

// HistogramObserver is a Histogram with a range search.
//
// Error models. MethodL2Greedy keeps PyTorch's model
// (HistogramObserver._compute_quantization_error): the range [A, B] is cut
// into D = qmax-qmin+1 equal destination bins, every value maps to the
// centre of its destination bin (values outside to the first or last
// centre), with the density uniform inside each histogram bin. MethodL2
// and MethodL1 instead score the quantizer that QParams will actually
// build from the candidate range: its levels (q - zp)·scale for q in
// [qmin, qmax], which always include zero, every value going to its nearest
// level and values beyond the end levels to those levels; the error is the
// exact integral of the squared (L1: absolute) distance under the same
// piecewise-uniform density. (PyTorch's model puts a level boundary, not a
// level, at the centre of a symmetric range and ignores that the range is
// widened to include zero, which misjudges narrow peaks at zero.)
//
// The density is the histogram's, piecewise uniform, except that the data's
// minimum and maximum, known exactly, each hold one value (the rest of
// their bins spread between them and the bin's inner edge): no mass lies
// outside the data range, and clipping an extreme costs what it costs.
//
// Candidate ranges (bin edges of the histogram, 0 is always an edge), each
// clipped to the data range before it is scored; the full data range
// (min-max) is always among them, so the L2, L1 and greedy searches never
// end worse than min-max by their own error (ties keep min-max):
//
//   - symmetric: [-T, T] for every bin edge T from the edge nearest to the
//     data to the farthest; the exact error of each is evaluated (O(bins·D)).
//   - affine, MethodL2/MethodL1: every pair of bin edges A <= 0 <= B that
//     can matter (A from the lowest data edge up to 0, B from 0 to the
//     highest data edge: at most (bins/2+1)² pairs). Each pair is scored in
//     O(1) with prefix sums of the bin moments: the error beyond the end
//     levels exactly, the error between them as mass·s²/12 (L1: mass·s/4)
//     with s the scale; the 32 best pairs are then re-scored with the exact
//     error and the best is kept.
//   - MethodL2Greedy: the walk's steps, then the full range if it scores
//     at least as well as where the walk stopped.
//   - MethodKL: ONNX Runtime's get_entropy_threshold on qgpu's histogram:
//     candidate slices [-T, T] symmetric about zero (ORT's histogram is
//     symmetric; on one-sided data the half without data is empty), for
//     every target scheme, merged into D = 2^bits groups, the levels the
//     quantizer has over such a slice (ORT's num_quantized_bins default,
//     128, models 7 bits there: on Student-t(4) data it picked a range
//     with less SQNR than min-max; merging one-sided slices into 2^bits
//     groups, an earlier qgpu form, kept a quarter of ReLU outputs'
//     range); slices shorter than D bins are skipped. The reference p is
//     the slice with the mass outside folded into its edge bins; q merges
//     the slice (without outliers) into the groups of floor(m/D) bins (the
//     last takes the rest) and spreads each group's mass evenly over the
//     group's bins where p is non-zero; both are smoothed (eps 1e-4 on zero
//     bins, taken from the non-zero ones) and KL(p‖q) is computed after
//     normalisation. Unlike ORT, q is not truncated to integers, and the
//     smoothing of the interior bins is applied through a third-order
//     Taylor expansion (relative error below 1e-12 for realistic
//     histograms; TestKLFastMatchesReference checks it).
//
// The chosen range is finally clipped to the finite data range.
type HistogramObserver struct {
	*Histogram
	Method     Method
	Percentile float64 // MethodPercentile: fraction kept, in (0, 1]; 0 means DefaultPercentile
}

// NewHistogramObserver returns an observer with an empty histogram of
// bins bins (0: DefaultBins) whose passes run on r (nil: host).
func NewHistogramObserver(m Method, bins int, r Reducer) (*HistogramObserver, error) {
	if m != MethodMinMax && !m.Info().Search {
		return nil, fmt.Errorf("%w: %v is not a histogram search", ErrUnknownMethod, m)
	}
	h, err := NewHistogram(bins, r)
	if err != nil {
		return nil, err
	}
	return &HistogramObserver{Histogram: h, Method: m}, nil
}

// Observe implements Observer.
func (o *HistogramObserver) Observe(ctx context.Context, x []float32, shape []int) error {
	if err := checkShape(x, shape); err != nil {
		return err
	}
	return o.Histogram.Observe(ctx, x)
}

// Stats implements Observer.
func (o *HistogramObserver) Stats() RangeStats { return o.Histogram.Stats() }

// Range implements RangeObserver.
func (o *HistogramObserver) Range(t Target) (float32, float32, error) {
	return o.Histogram.SearchRange(o.Method, o.Percentile, t)
}

// Params implements Observer.
func (o *HistogramObserver) Params(t Target) (qtensor.Params, error) { return TensorParams(o, t) }

// SearchRange returns the range chosen by method m for target t (p is the
// fraction kept by MethodPercentile; 0 means DefaultPercentile).
func (h *Histogram) SearchRange(m Method, p float64, t Target) (float32, float32, error) {
	qmin, qmax, err := t.Range()
	if err != nil {
		return 0, 0, err
	}
	if h.stats.Count == 0 {
		return 0, 0, noData(h.stats)
	}
	st := h.stats
	if m == MethodMinMax {
		return st.Min, st.Max, nil
	}
	v := newHView(h)
	levels := int(qmax-qmin) + 1
	sym := t.Scheme == Symmetric
	q := qgrid{qmin: qmin, qmax: qmax, sym: sym}
	if sym {
		if q.zpSym, err = t.ZeroPointSymmetric(); err != nil {
			return 0, 0, err
		}
	}
	var a, b float64
	switch m {
	case MethodPercentile:
		if p == 0 {
			p = DefaultPercentile
		}
		if !(p > 0 && p <= 1) {
			return 0, 0, fmt.Errorf("calib: percentile %g outside (0, 1]", p)
		}
		a, b = v.percentile(p, sym)
	case MethodL2Greedy:
		a, b = v.greedyL2(levels)
	case MethodL2:
		a, b = v.exhaustive(q, false)
	case MethodL1:
		a, b = v.exhaustive(q, true)
	case MethodKL:
		a, b = v.kl(levels, true)
	default:
		return 0, 0, fmt.Errorf("%w: %v is not a histogram search", ErrUnknownMethod, m)
	}
	lo, hi := v.value(a), v.value(b)
	if l, r := max(lo, st.Min), min(hi, st.Max); l <= r {
		lo, hi = l, r
	}
	return lo, hi, nil
}

// hview is the occupied part of a histogram in bin units: bin i covers
// [i, i+1) and holds c[i]; the real value of position t is
// (origin + t) * 2^exp. z is the position of 0; lo and hi are the
// positions of the data's minimum and maximum (exact).
//
// The error models see the data as the histogram's piecewise-uniform
// density, refined at the ends because the extremes are known exactly: one
// value sits at lo and one at hi (point masses), the other values of the
// first bin are spread over [lo, 1), those of the last over [n-1, hi], so
// no mass lies outside the data range. (For a handful of values, most of
// them are then where they really are, and clipping the maximum costs what
// it really costs.)
type hview struct {
	c          []float64
	origin     int64
	exp        int
	z          float64
	lo, hi     float64
	total      float64
	p0         []float64 // count prefix: sum of c over bins < i
	ua, ub, uw []float64 // extent [ua, ub) and mass uw of each bin's uniform part
	m0, m1, m2 []float64 // prefix moments of the uniform parts: mass, first and second moment
	pts        [2]struct{ at, w float64 }
}

func newHView(h *Histogram) *hview {
	first, last := 0, len(h.counts)-1
	for h.counts[first] == 0 {
		first++
	}
	for h.counts[last] == 0 {
		last--
	}
	n := last - first + 1
	v := &hview{c: make([]float64, n), origin: h.grid.Start + int64(first), exp: h.grid.Exp}
	v.z = -float64(v.origin)
	v.lo = math.Ldexp(float64(h.stats.Min), -v.exp) - float64(v.origin)
	v.hi = math.Ldexp(float64(h.stats.Max), -v.exp) - float64(v.origin)
	v.p0 = make([]float64, n+1)
	for i := range n {
		c := float64(h.counts[first+i])
		v.c[i] = c
		v.p0[i+1] = v.p0[i] + c
	}
	v.total = v.p0[n]
	v.ua, v.ub, v.uw = make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		v.ua[i], v.ub[i], v.uw[i] = float64(i), float64(i+1), v.c[i]
	}
	v.ua[0] = v.lo
	v.ub[n-1] = max(v.hi, v.ua[n-1])
	if v.lo == v.hi {
		v.pts[0] = struct{ at, w float64 }{v.lo, v.c[0]}
		v.uw[0] = 0
	} else {
		v.pts[0] = struct{ at, w float64 }{v.lo, 1}
		v.pts[1] = struct{ at, w float64 }{v.hi, 1}
		v.uw[0]--
		v.uw[n-1]--
	}
	for i := range n {
		if v.uw[i] > 0 && v.ub[i] <= v.ua[i] { // all of it at one position
			p := &v.pts[0]
			if v.ua[i] == v.hi {
				p = &v.pts[1]
			}
			p.w += v.uw[i]
			v.uw[i] = 0
		}
	}
	v.m0, v.m1, v.m2 = make([]float64, n+1), make([]float64, n+1), make([]float64, n+1)
	for i := range n {
		a, b, w := v.ua[i], v.ub[i], v.uw[i]
		v.m0[i+1] = v.m0[i] + w
		v.m1[i+1] = v.m1[i] + w*(a+b)/2
		v.m2[i+1] = v.m2[i] + w*(a*a+a*b+b*b)/3
	}
	return v
}

// value converts a position to a float32 value (saturating).
func (v *hview) value(t float64) float32 {
	r := math.Ldexp(float64(v.origin)+t, v.exp)
	return float32(max(min(r, math.MaxFloat32), -math.MaxFloat32))
}

// mom returns the integrals of p, t*p and t^2*p over (-inf, x), p the
// density of the model above.
func (v *hview) mom(x float64) (m0, m1, m2 float64) {
	n := len(v.c)
	i := n
	if x < float64(n) {
		i = max(int(math.Floor(x)), 0)
	}
	if x > 0 {
		m0, m1, m2 = v.m0[i], v.m1[i], v.m2[i]
		if i < n && x > v.ua[i] && v.uw[i] > 0 {
			a, t := v.ua[i], min(x, v.ub[i])
			d := v.uw[i] / (v.ub[i] - a)
			m0 += d * (t - a)
			m1 += d * (t*t - a*a) / 2
			m2 += d * (t*t*t - a*a*a) / 3
		}
	}
	for _, p := range v.pts {
		if p.w > 0 && p.at < x {
			m0 += p.w
			m1 += p.w * p.at
			m2 += p.w * p.at * p.at
		}
	}
	return m0, m1, m2
}

// clamp limits a candidate range to the data range [lo, hi].
func (v *hview) clamp(a, b float64) (float64, float64) {
	return min(max(a, v.lo), v.hi), max(min(b, v.hi), v.lo)
}

// sq returns the integral of (t-m)^2 p over [u, w).
func (v *hview) sq(u, w, m float64) float64 {
	a0, a1, a2 := v.mom(u)
	b0, b1, b2 := v.mom(w)
	e := (b2 - a2) - 2*m*(b1-a1) + m*m*(b0-a0)
	return max(e, 0)
}

// abs returns the integral of |t-m| p over [u, w).
func (v *hview) abs(u, w, m float64) float64 {
	mc := min(max(m, u), w)
	a0, a1, _ := v.mom(u)
	c0, c1, _ := v.mom(mc)
	b0, b1, _ := v.mom(w)
	e := (m*(c0-a0) - (c1 - a1)) + ((b1 - c1) - m*(b0-c0))
	return max(e, 0)
}

// exactErr is the error of the range [a, b) with d destination bins under
// the model of HistogramObserver (O(d)).
func (v *hview) exactErr(a, b float64, d int, l1 bool) float64 {
	dw := (b - a) / float64(d)
	n := float64(len(v.c))
	var e float64
	for j := range d {
		u := a + float64(j)*dw
		w := u + dw
		if j == 0 {
			u = math.Inf(-1)
		}
		if j == d-1 {
			w = math.Inf(1)
		}
		if w <= 0 || u >= n {
			continue
		}
		m := a + (float64(j)+0.5)*dw
		if l1 {
			e += v.abs(u, w, m)
		} else {
			e += v.sq(u, w, m)
		}
	}
	return e
}

// quantizer returns the step s and the positions of the first and last
// levels of the quantizer that QParams builds for the range [a, b) (in bin
// units; computed in float64, which may differ from QParams's float32 in
// the last bits), and the positions of its levels are lo, lo+s, ..., hi.
func (v *hview) quantizer(a, b float64, q qgrid) (s, lo, hi float64) {
	minNeg, maxPos := min(a-v.z, 0), max(b-v.z, 0)
	var zp float64
	if q.sym {
		s = max(-minNeg, maxPos) / (float64(q.qmax-q.qmin) / 2)
		zp = float64(q.zpSym)
	} else {
		s = (maxPos - minNeg) / float64(q.qmax-q.qmin)
		if s > 0 {
			zp = min(max(float64(q.qmin)-math.RoundToEven(minNeg/s), float64(q.qmin)), float64(q.qmax))
		}
	}
	return s, v.z + (float64(q.qmin)-zp)*s, v.z + (float64(q.qmax)-zp)*s
}

// qgrid describes the integer side of a target for the error models.
type qgrid struct {
	qmin, qmax, zpSym int32
	sym               bool
}

// quantErr is the exact error (L2 or L1) of the quantizer of [a, b) under
// the piecewise-uniform density: every value goes to its nearest level,
// values beyond the first or last level to that level. O(levels).
func (v *hview) quantErr(a, b float64, q qgrid, l1 bool) float64 {
	s, lo, _ := v.quantizer(a, b, q)
	if s <= 0 {
		return v.segErr(math.Inf(-1), math.Inf(1), v.z, l1)
	}
	n := float64(len(v.c))
	var e float64
	levels := int(q.qmax-q.qmin) + 1
	for j := range levels {
		m := lo + float64(j)*s
		u, w := m-s/2, m+s/2
		if j == 0 {
			u = math.Inf(-1)
		}
		if j == levels-1 {
			w = math.Inf(1)
		}
		if w <= 0 || u >= n {
			continue
		}
		e += v.segErr(u, w, m, l1)
	}
	return e
}

func (v *hview) segErr(u, w, m float64, l1 bool) float64 {
	if l1 {
		return v.abs(u, w, m)
	}
	return v.sq(u, w, m)
}

// modelErr is the O(1) score of the range [a, b): the exact error of the
// values beyond the first and last levels, plus mass·s²/12 (L1: mass·s/4)
// for the values between them.
func (v *hview) modelErr(a, b float64, q qgrid, l1 bool) float64 {
	s, lo, hi := v.quantizer(a, b, q)
	t0, t1, t2 := v.mom(math.Inf(1))
	l0, l1m, l2 := v.mom(lo)
	h0, h1, h2 := v.mom(hi)
	inside := h0 - l0
	if l1 {
		// values below lo: lo·M0 - M1; above hi: M1 - hi·M0
		return max(lo*l0-l1m, 0) + max((t1-h1)-hi*(t0-h0), 0) + inside*s/4
	}
	below := l2 - 2*lo*l1m + lo*lo*l0
	above := (t2 - h2) - 2*hi*(t1-h1) + hi*hi*(t0-h0)
	return max(below, 0) + max(above, 0) + inside*s*s/12
}

// symCandidates returns the thresholds (in bins) of the symmetric search:
// from the edge nearest to the data to the farthest.
func (v *hview) symCandidates() (lo, hi int) {
	n := float64(len(v.c))
	far := max(math.Abs(v.z), math.Abs(n-v.z))
	near := 0.0
	if v.z < 0 {
		near = -v.z
	} else if v.z > n {
		near = v.z - n
	}
	return max(int(near), 1), int(far)
}

// exhaustive is MethodL2 (l1 false) and MethodL1. Every candidate is
// scored as the range it becomes once clipped to the data range, and the
// full data range (min-max) is always a candidate, so the result is never
// worse than min-max by the method's own error.
func (v *hview) exhaustive(q qgrid, l1 bool) (float64, float64) {
	n := len(v.c)
	fullErr := v.quantErr(v.lo, v.hi, q, l1)
	if q.sym {
		tlo, thi := v.symCandidates()
		tfull := max(v.z-v.lo, v.hi-v.z)
		best, bt := math.Inf(1), 0.0
		for t := tlo; t <= thi && float64(t) < tfull; t++ {
			T := float64(t)
			a, b := v.clamp(v.z-T, v.z+T)
			if e := v.quantErr(a, b, q, l1); e < best {
				best, bt = e, T
			}
		}
		if fullErr <= best {
			return v.lo, v.hi
		}
		return v.clamp(v.z-bt, v.z+bt)
	}
	// Affine: A in [0, z] (or A = z when z <= 0), B in [z, n] (or z when z >= n), A < B,
	// each clipped to the data range.
	aLo, aHi := 0.0, min(v.z, float64(n-1))
	if v.z <= 0 {
		aLo, aHi = v.z, v.z
	}
	bLo, bHi := max(v.z, 1), float64(n)
	if v.z >= float64(n) {
		bLo, bHi = v.z, v.z
	}
	const keep = 32
	type cand struct{ e, a, b float64 }
	top := make([]cand, 0, keep+1)
	for a := aLo; a <= aHi; a++ {
		for b := max(bLo, a+1); b <= bHi; b++ {
			ca, cb := v.clamp(a, b)
			e := v.modelErr(ca, cb, q, l1)
			if len(top) == keep && e >= top[keep-1].e {
				continue
			}
			i := sort.Search(len(top), func(i int) bool { return top[i].e > e })
			top = append(top, cand{})
			copy(top[i+1:], top[i:])
			top[i] = cand{e, ca, cb}
			if len(top) > keep {
				top = top[:keep]
			}
		}
	}
	best := cand{e: fullErr, a: v.lo, b: v.hi}
	for _, c := range top {
		if e := v.quantErr(c.a, c.b, q, l1); e < best.e {
			best = cand{e, c.a, c.b}
		}
	}
	return best.a, best.b
}

// greedyL2 is PyTorch's _non_linear_param_search on the occupied bins
// with d destination bins, the cumulative sums in float64 and the L2 error
// of exactErr on the candidate clipped to the data range; the full data
// range is kept when the walk does not beat it.
func (v *hview) greedyL2(d int) (float64, float64) {
	n := len(v.c)
	cs := v.p0[1:] // cs[i] = sum of c[0..i]
	total := v.total
	const step = 1e-5
	alpha, beta := 0.0, 1.0
	start, end := 0, n-1
	normMin := math.Inf(1)
	for alpha < beta {
		na, nb := alpha+step, beta-step
		// l: first index in [start, end) with cs >= na*total, else end.
		l := start + sort.Search(end-start, func(i int) bool { return !(cs[start+i] < na*total) })
		// r: last index in (start, end] with cs <= nb*total, else start.
		r := end - sort.Search(end-start, func(i int) bool { return !(cs[end-i] > nb*total) })
		ns, ne := start, end
		if l-start > end-r {
			ns = l
			alpha = na
		} else {
			ne = r
			beta = nb
		}
		if ns == start && ne == end {
			continue
		}
		a, b := v.clamp(float64(ns), float64(ne+1))
		norm := v.exactErr(a, b, d, false)
		if norm > normMin {
			break
		}
		normMin = norm
		start, end = ns, ne
	}
	// The walk accepts its first step unconditionally: keep the full data
	// range when it is at least as good.
	a, b := v.clamp(float64(start), float64(end+1))
	if v.exactErr(v.lo, v.hi, d, false) <= v.exactErr(a, b, d, false) {
		return v.lo, v.hi
	}
	return a, b
}

// quantile returns the position where the piecewise-linear CDF of c
// (bins of width 1 starting at 0) reaches f*sum(c).
func quantile(c, cum []float64, f float64) float64 {
	n := len(c)
	target := f * cum[n]
	if target <= 0 {
		for i, x := range c {
			if x > 0 {
				return float64(i)
			}
		}
		return 0
	}
	i := sort.Search(n, func(i int) bool { return cum[i+1] >= target })
	if i >= n {
		return float64(n)
	}
	return float64(i) + (target-cum[i])/c[i]
}

func (v *hview) percentile(p float64, sym bool) (float64, float64) {
	if !sym {
		return quantile(v.c, v.p0, (1-p)/2), quantile(v.c, v.p0, (1+p)/2)
	}
	// Fold |x|: grid index g >= 0 has distance bin g, g < 0 has -1-g.
	n := len(v.c)
	dist := func(i int) int64 {
		g := v.origin + int64(i)
		if g < 0 {
			return -1 - g
		}
		return g
	}
	dmin, dmax := dist(0), dist(0)
	for i := range n {
		dmin, dmax = min(dmin, dist(i)), max(dmax, dist(i))
	}
	f := make([]float64, dmax-dmin+1)
	for i, c := range v.c {
		f[dist(i)-dmin] += c
	}
	cum := make([]float64, len(f)+1)
	for i, c := range f {
		cum[i+1] = cum[i] + c
	}
	t := float64(dmin) + quantile(f, cum, p)
	return v.z - t, v.z + t
}
