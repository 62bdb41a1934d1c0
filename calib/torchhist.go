package calib

import (
	"context"
	"fmt"
	"math"
	"math/bits"

	"github.com/qgpu/qgpu/qtensor"
)

// TorchVersion selects the PyTorch HistogramObserver that a
// TorchHistogramObserver reproduces.
type TorchVersion uint8

// Torch versions.
const (
	// Torch2 is torch 1.13's HistogramObserver with pytorch#83672 fixed
	// the way upstream fixed it (pytorch#83755, torch 2.0): each batch is
	// binned by torch.histc over the exact float range [min, max].
	Torch2 TorchVersion = iota
	// Torch113 is torch 1.13's HistogramObserver as released: torch.histc
	// gets int(min) and int(max), the range truncated toward zero, so
	// values outside the truncated range are left out of the histogram and
	// the bins are misplaced (pytorch#83672).
	Torch113
)

func (v TorchVersion) String() string {
	switch v {
	case Torch2:
		return "torch2"
	case Torch113:
		return "torch1.13"
	}
	return fmt.Sprintf("TorchVersion(%d)", uint8(v))
}

// Defaults and limits of TorchHistogramObserver.
const (
	TorchHistogramBins     = 2048 // torch's default bins
	TorchUpsampleRate      = 128  // torch's default upsample_rate
	TorchMaxHistogramBins  = 32767
	torchMaxUpsampledBins  = 1 << 24
	torchDefaultSumLanes   = 8
	torchStepSize          = 1e-5 // _non_linear_param_search's stepsize
	torchLinspaceGrainSize = 32768
)

// TorchHistogramObserver reproduces torch.ao.quantization.HistogramObserver
// bit for bit: its histogram state after every batch (float32 counts over
// [min_val, max_val], re-binned by torch's upsample/downsample rule when a
// batch widens the range), the greedy search of _non_linear_param_search
// with torch's float32/float64 arithmetic, and _calculate_qparams (QParams).
// The tests compare the scale and zero point, the range found and a hash
// of the histogram with fixtures recorded from torch
// (testdata/gen_torch_histogram.py).
//
// Unlike the HistogramObserver of this package, its state depends on the
// order and split of the batches (each widening of the range re-samples
// the old counts onto a new grid) and two of them cannot be merged: use
// it to get exactly what PyTorch gives, and HistogramObserver for
// mergeable, order-independent calibration.
//
// Version picks the behaviour (Torch2 by default). On one batch, or on
// batches that never widen the range, every torch 2.x release computes
// what Torch2 does. When the range grows, later upstream versions of
// observer.py differ: torch 2.0 reformulated _adjust_min_max
// (pytorch#86522), which rounds the same as 1.13's arithmetic used here
// when bins times the upsample rate is a power of two (the default 2048 x
// 128) and can differ otherwise; later 2.x code restarts the histogram when
// max - min < 1e-6 and leaves out a batch that falls inside the current
// range; pytorch#129387 (mid 2024) replaced the re-binning altogether
// (upsample rate 16, bucketize of bin mid-points).
//
// torch's float32 sums (the histogram total and the L2 norms of the
// search) depend on the vector width of its CPU kernels: SumLanes is 8 for
// the AVX2 and non-vectorized kernels (what Debian's torch 1.13 runs, even
// on AVX-512 CPUs) or 16 for the AVX-512 ones (ATEN_CPU_CAPABILITY=avx512;
// torch.backends.cpu.get_cpu_capability() tells which a torch runs). The
// histc bin edges follow torch's x86-64 linspace (a fused multiply-add per
// vector). Counts of one bin beyond 2^24 per batch saturate as torch's
// float32 counters do on one thread.
//
// Differences by design: NaN and ±Inf are left out and counted (torch 1.13
// raises on them, later versions drop infinities); an observer that saw
// no finite value returns ErrNoData (torch returns scale 1, zero point 0);
// where torch raises (a range so narrow that its bin width is 0, or
// re-binning offsets that do not fit) or is undefined (a range wider than
// float32, a constant batch whose [v-1, v+1] rounds to one float32),
// Observe returns an error. The
// 4-bit targets use 16 destination bins (2^bits) in the search, an
// extension: torch's observer has no 4-bit dtype.
type TorchHistogramObserver struct {
	Version      TorchVersion
	Bins         int // number of bins, in [MinBins, TorchMaxHistogramBins]; 0 means TorchHistogramBins
	UpsampleRate int // torch's upsample_rate, >= 1; 0 means TorchUpsampleRate
	SumLanes     int // vector lanes of torch's float32 sums, 8 or 16 (see below); 0 means 8

	hist     []float32
	min, max float32
	init     bool
	stats    RangeStats
	bins, up int
	lanes    int
}

func (o *TorchHistogramObserver) config() (bins, up, lanes int, err error) {
	bins, up, lanes = o.Bins, o.UpsampleRate, o.SumLanes
	if bins == 0 {
		bins = TorchHistogramBins
	}
	if up == 0 {
		up = TorchUpsampleRate
	}
	if lanes == 0 {
		lanes = torchDefaultSumLanes
	}
	switch {
	case o.Version != Torch2 && o.Version != Torch113:
		return 0, 0, 0, fmt.Errorf("%w: unknown torch version %d", qtensor.ErrParams, o.Version)
	case bins < MinBins || bins > TorchMaxHistogramBins:
		return 0, 0, 0, fmt.Errorf("%w: torch histogram bins %d outside [%d, %d]", qtensor.ErrParams, bins, MinBins, TorchMaxHistogramBins)
	case up < 1 || up > torchMaxUpsampledBins/bins:
		return 0, 0, 0, fmt.Errorf("%w: torch histogram upsample rate %d outside [1, %d] for %d bins", qtensor.ErrParams, up, torchMaxUpsampledBins/bins, bins)
	case lanes != 8 && lanes != 16:
		return 0, 0, 0, fmt.Errorf("%w: torch sum lanes %d: want 8 or 16", qtensor.ErrParams, lanes)
	}
	if o.hist != nil && (bins != o.bins || up != o.up || lanes != o.lanes) {
		return 0, 0, 0, fmt.Errorf("%w: torch histogram settings changed after the first batch", qtensor.ErrParams)
	}
	return bins, up, lanes, nil
}

// Observe implements Observer.
func (o *TorchHistogramObserver) Observe(ctx context.Context, x []float32, shape []int) error {
	if err := checkShape(x, shape); err != nil {
		return err
	}
	bins, up, lanes, err := o.config()
	if err != nil {
		return err
	}
	if len(x) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var st RangeStats
	finite := x
	for i, v := range x {
		if isNonFinite(v) {
			if len(finite) == len(x) {
				finite = append(make([]float32, 0, len(x)), x[:i]...)
			}
			switch {
			case math.IsNaN(float64(v)):
				st.NaN++
			case v > 0:
				st.PosInf++
			default:
				st.NegInf++
			}
			continue
		}
		if len(finite) != len(x) {
			finite = append(finite, v)
		}
		if st.Count == 0 {
			st.Min, st.Max = v, v
		} else {
			st.Min, st.Max = min(st.Min, v), max(st.Max, v)
		}
		st.Count++
	}
	if st.Count == 0 {
		o.stats = o.stats.Merge(st)
		return nil
	}
	lo, hi := st.Min, st.Max
	if o.init {
		lo, hi = min(lo, o.min), max(hi, o.max)
	}
	if isNonFinite(hi - lo) {
		return fmt.Errorf("%w: torch histogram: the range [%g, %g] is wider than float32 can hold (torch's bins would be NaN)", qtensor.ErrParams, lo, hi)
	}
	if o.hist == nil {
		o.bins, o.up, o.lanes = bins, up, lanes
	}
	if !o.init || o.min == o.max {
		// First batch, or all data so far was one value: start over.
		h, err := torchHistc(finite, bins, o.bound(st.Min), o.bound(st.Max), lanes)
		if err != nil {
			return err
		}
		o.hist, o.min, o.max = h, st.Min, st.Max
		o.init = true
	} else if err := o.combine(finite, st.Min, st.Max); err != nil {
		return err
	}
	o.stats = o.stats.Merge(st)
	return nil
}

// bound is the histc bound torch passes for a range end: int(v) in 1.13
// (truncation toward zero), the float itself after the fix.
func (o *TorchHistogramObserver) bound(v float32) float64 {
	if o.Version == Torch113 {
		return math.Trunc(float64(v))
	}
	return float64(v)
}

// combine is the else branch of HistogramObserver.forward with
// _adjust_min_max and _combine_histograms, in torch's arithmetic.
func (o *TorchHistogramObserver) combine(x []float32, xmin, xmax float32) error {
	bins, up := o.bins, o.up
	cmin, cmax := min(xmin, o.min), max(xmax, o.max)
	// _adjust_min_max (float32 tensors; Python ints become float32).
	hbw := float32(o.max-o.min) / float32(bins*up)
	bw := float32(float32(bins) * hbw)
	cw := float32(cmax - cmin)
	q := float64(float32(cw / bw))
	if !(q >= 1 && q < 1<<40) {
		return fmt.Errorf("%w: torch histogram: downsample rate %g for range [%g, %g] after [%g, %g] (torch fails too)", qtensor.ErrParams, q, cmin, cmax, o.min, o.max)
	}
	d := int64(math.Ceil(q))
	e := float32(float32(float32(d)*bw) - cw)
	cmax = float32(cmax + e)
	si := float32(float32(o.min-cmin) / hbw)
	start := math.RoundToEven(float64(si))
	if !(start >= 0 && start+float64(bins*up) <= float64(bins)*float64(d)) {
		return fmt.Errorf("%w: torch histogram: re-binning offset %g does not fit %d x %d bins (torch fails too)", qtensor.ErrParams, start, bins, d)
	}
	h, err := torchHistc(x, bins, o.bound(cmin), o.bound(cmax), o.lanes)
	if err != nil {
		return err
	}
	if cmin == o.min && cmax == o.max {
		for i := range h {
			h[i] += o.hist[i]
		}
	} else {
		torchCombine(h, o.hist, up, d, int64(start))
	}
	o.hist, o.min, o.max = h, cmin, cmax
	return nil
}

// torchCombine adds old (bins over the previous range) to h (bins over the
// new range) the way _combine_histograms does: old is upsampled by
// repeating each count up times, placed at offset start in bins*d fine
// bins, summed in float64 every d fine bins, differenced against the
// float32-rounded previous sum and divided by up.
func torchCombine(h, old []float32, up int, d, start int64) {
	bins := int64(len(h))
	var acc float64
	j, n := int64(0), bins*int64(up) // next upsampled element, count
	prev := float32(0)
	for k := range bins {
		end := k*d + d - 1 // last fine bin summed into integral[k]
		for j < n && start+j <= end {
			acc += float64(old[j/int64(up)])
			j++
		}
		interp := (acc - float64(prev)) / float64(up)
		h[k] = h[k] + float32(interp)
		prev = float32(acc)
	}
}

// torchHistc is torch.histc(x, bins, min=lo, max=hi) on float32 data:
// equal lo and hi take the data's range, then widen by 1 each way; the
// edges are torch.linspace's float32 values; a value's bin is
// int((x - L) / (R - L) * bins) in float32, values outside [L, R] are
// skipped and x == R goes to the last bin.
func torchHistc(x []float32, bins int, lo, hi float64, lanes int) ([]float32, error) {
	if lo == hi {
		mn, mx := x[0], x[0]
		for _, v := range x {
			mn, mx = min(mn, v), max(mx, v)
		}
		lo, hi = float64(mn), float64(mx)
	}
	if lo == hi {
		lo, hi = lo-1, hi+1
	}
	L, R := torchLinspaceEnds(lo, hi, bins+1, lanes)
	w := float32(R - L)
	if !(w > 0) || math.IsInf(float64(w), 0) {
		// torch's histc divides by R - L unchecked (0 when a constant
		// batch's [v-1, v+1] rounds to one float32): undefined there
		return nil, fmt.Errorf("%w: torch histogram: histc edges [%g, %g] give no usable bin width (torch's histc is undefined there)", qtensor.ErrParams, L, R)
	}
	fb := float32(bins)
	h := make([]float32, bins)
	for _, v := range x {
		if !(v >= L && v <= R) {
			continue
		}
		p := int(float32(float32(v-L)/w) * fb)
		if p >= bins {
			p = bins - 1
		}
		h[p]++
	}
	return h, nil
}

// torchLinspaceEnds returns the first and last values of
// torch.linspace(lo, hi, n) in float32 as torch's CPU kernel computes them
// (n <= 32768, one chunk): step = (end - start) / (n - 1); elements go
// through a vectorized loop two vectors of `lanes` at a time, each vector
// being base + k*step with base = start + step*idx (or end - step*(n-1-idx)
// past the middle), a fused multiply-add in the x86-64 builds; the
// remaining elements are computed one by one the same way.
func torchLinspaceEnds(lo, hi float64, n, lanes int) (float32, float32) {
	start, end := float32(lo), float32(hi)
	step := float32(float32(end-start) / float32(n-1))
	half := n / 2
	scalar := func(i int) float32 {
		if i < half {
			return fma32(step, float32(i), start)
		}
		return fma32(-step, float32(n-i-1), end)
	}
	elem := func(i int) float32 {
		if i >= n/(2*lanes)*(2*lanes) {
			return scalar(i)
		}
		i0 := i / lanes * lanes
		return float32(scalar(i0) + float32(float32(i-i0)*step))
	}
	return elem(0), elem(n - 1)
}

// fma32 returns a*b+c rounded once to float32.
func fma32(a, b, c float32) float32 {
	p := float64(float64(a) * float64(b)) // exact
	cc := float64(c)
	s := p + cc
	bb := s - p
	e := (p - (s - bb)) + (cc - bb) // p + c = s + e exactly
	r := float32(s)
	if e == 0 || float64(r) == s || math.IsInf(s, 0) {
		return r
	}
	lo, hi := r, r
	if float64(r) > s {
		lo = math.Nextafter32(r, float32(math.Inf(-1)))
	} else {
		hi = math.Nextafter32(r, float32(math.Inf(1)))
	}
	if s == (float64(lo)+float64(hi))/2 { // a tie only because of the rounding of s
		if e > 0 {
			return hi
		}
		return lo
	}
	return r
}

// torchSum is torch.sum of a contiguous float32 vector on the CPU (the
// cascade sum of ATen's SumKernel, float32 accumulators): lanes-wide vector
// partial sums in a four-row, four-level cascade, then the tail and the
// lanes added in order. len(x) must be at least lanes.
func torchSum(x []float32, lanes int) float32 {
	nv := len(x) / lanes
	acc := torchRowSum(x, nv, lanes)
	var fin float32
	for k := nv * lanes; k < len(x); k++ {
		fin += x[k]
	}
	for _, v := range acc {
		fin += v
	}
	return fin
}

func torchRowSum(x []float32, nv, lanes int) []float32 {
	const ilp = 4
	rows := nv / ilp
	var ps [ilp][]float32
	for k := range ps {
		ps[k] = make([]float32, lanes)
	}
	if rows > 0 {
		torchMultiRowSum(x, rows, lanes, &ps)
	}
	for i := rows * ilp; i < nv; i++ {
		addVec(ps[0], x[i*lanes:(i+1)*lanes])
	}
	for k := 1; k < ilp; k++ {
		addVec(ps[0], ps[k])
	}
	return ps[0]
}

func addVec(dst, src []float32) {
	for i := range dst {
		dst[i] += src[i]
	}
}

func torchMultiRowSum(x []float32, rows, lanes int, out *[4][]float32) {
	const levels, nrows = 4, 4
	lp := 4
	if rows > 2 {
		lp = max(4, bits.Len(uint(rows-1))/levels)
	}
	step := 1 << lp
	mask := step - 1
	var acc [levels][nrows][]float32
	for j := range acc {
		for k := range acc[j] {
			acc[j][k] = make([]float32, lanes)
		}
	}
	vec := func(row, k int) []float32 {
		o := (row*nrows + k) * lanes
		return x[o : o+lanes]
	}
	i := 0
	for i+step <= rows {
		for range step {
			for k := range nrows {
				addVec(acc[0][k], vec(i, k))
			}
			i++
		}
		for j := 1; j < levels; j++ {
			for k := range nrows {
				addVec(acc[j][k], acc[j-1][k])
				clear(acc[j-1][k])
			}
			if i&(mask<<(j*lp)) != 0 {
				break
			}
		}
	}
	for ; i < rows; i++ {
		for k := range nrows {
			addVec(acc[0][k], vec(i, k))
		}
	}
	for j := 1; j < levels; j++ {
		for k := range nrows {
			addVec(acc[0][k], acc[j][k])
		}
	}
	for k := range nrows {
		copy(out[k], acc[0][k])
	}
}

// Range implements RangeObserver: the range found by torch's
// _non_linear_param_search for target t (only its bit width matters: the
// search uses 2^bits destination bins, whatever the scheme or range).
func (o *TorchHistogramObserver) Range(t Target) (float32, float32, error) {
	if _, _, err := t.Range(); err != nil {
		return 0, 0, err
	}
	if !o.init {
		return 0, 0, noData(o.stats)
	}
	return torchSearch(o.hist, o.min, o.max, 1<<t.DType.Bits(), o.lanes)
}

// Params implements Observer.
func (o *TorchHistogramObserver) Params(t Target) (qtensor.Params, error) {
	return TensorParams(o, t)
}

// Stats implements Observer.
func (o *TorchHistogramObserver) Stats() RangeStats { return o.stats }

// Histogram returns a copy of torch's histogram state: float32 counts of
// Bins equal bins over [lo, hi] (nil before the first finite value).
func (o *TorchHistogramObserver) Histogram() (counts []float32, lo, hi float32) {
	return append([]float32(nil), o.hist...), o.min, o.max
}

// torchSearch is _non_linear_param_search.
func torchSearch(hist []float32, mn, mx float32, dst, lanes int) (float32, float32, error) {
	bins := len(hist)
	total := float64(torchSum(hist, lanes))
	csum := make([]float32, bins)
	var acc float64
	monotone := true
	for i, v := range hist {
		acc += float64(v)
		csum[i] = float32(acc)
		if i > 0 && csum[i] < csum[i-1] {
			monotone = false
		}
	}
	// first l in [s, e) with !(csum[l] < thr), else e
	firstNotBelow := func(s, e int, thr float32) int {
		if monotone {
			lo, hi := s, e
			for lo < hi {
				m := int(uint(lo+hi) >> 1)
				if csum[m] < thr {
					lo = m + 1
				} else {
					hi = m
				}
			}
			return lo
		}
		l := s
		for l < e && csum[l] < thr {
			l++
		}
		return l
	}
	// last r in (s, e] with !(csum[r] > thr), else s
	lastNotAbove := func(s, e int, thr float32) int {
		if monotone {
			lo, hi := s, e // answer in [s, e]
			for lo < hi {
				m := int(uint(lo+hi+1) >> 1)
				if csum[m] > thr {
					hi = m - 1
				} else {
					lo = m
				}
			}
			return lo
		}
		r := e
		for r > s && csum[r] > thr {
			r--
		}
		return r
	}
	alpha, beta := 0.0, 1.0
	start, end := 0, bins-1
	normMin := math.Inf(1)
	for alpha < beta {
		na, nb := alpha+torchStepSize, beta-torchStepSize
		l := firstNotBelow(start, end, float32(na*total))
		r := lastNotAbove(start, end, float32(nb*total))
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
		norm := torchQuantError(hist, mn, mx, ns, ne, dst, lanes)
		if norm > normMin {
			break
		}
		normMin = norm
		start, end = ns, ne
	}
	bw := float32(float32(mx-mn) / float32(bins))
	lo := float32(mn + float32(bw*float32(start)))
	hi := float32(mn + float32(bw*float32(end+1)))
	return lo, hi, nil
}

// torchQuantError is _compute_quantization_error(s, e) with torch's float32
// tensor arithmetic (Python floats rounded to float32 where they meet a
// tensor) and its float32 sum.
func torchQuantError(hist []float32, mn, mx float32, s, e, dst, lanes int) float64 {
	bins := len(hist)
	bw := (float64(mx) - float64(mn)) / float64(bins)
	dbw := bw * float64(e-s+1) / float64(dst)
	if dbw == 0 {
		return 0
	}
	bw32, dbw32 := float32(bw), float32(dbw)
	half, nhalf := float32(dbw/2), float32(-dbw/2)
	dmax := float32(dst - 1)
	mid := torchNorm(nhalf, half) // _get_norm(-dbw/2, dbw/2) on 0-d tensors
	norm := make([]float32, bins)
	for i, c := range hist {
		begin := float32(float32(i-s) * bw32)
		end := float32(begin + bw32)
		dob := min(max(floorDiv32(begin, dbw32), 0), dmax)
		dobc := float32(float32(dob+0.5) * dbw32)
		doe := min(max(floorDiv32(end, dbw32), 0), dmax)
		dens := float32(c / bw32)
		n := float32(dens * torchNorm(float32(begin-dobc), half))
		n = float32(n + float32(float32(float32(doe-dob)-1)*float32(dens*mid)))
		doec := float32(float32(doe*dbw32) + half)
		n = float32(n + float32(dens*torchNorm(nhalf, float32(end-doec))))
		norm[i] = n
	}
	return float64(torchSum(norm, lanes))
}

// torchNorm is _get_norm without the density: (e^3 - b^3) / 3 in float32.
func torchNorm(b, e float32) float32 {
	e3 := float32(float32(e*e) * e)
	b3 := float32(float32(b*b) * b)
	return float32(e3-b3) / 3
}

// floorDiv32 is torch.div(a, b, rounding_mode='floor') for float32.
func floorDiv32(a, b float32) float32 {
	if b == 0 {
		return a / b
	}
	mod := float32(math.Mod(float64(a), float64(b))) // exact
	div := float32(a-mod) / b
	if mod != 0 && (b < 0) != (mod < 0) {
		div--
	}
	if div == 0 {
		return float32(math.Copysign(0, float64(a/b)))
	}
	fd := float32(math.Floor(float64(div)))
	if div-fd > 0.5 {
		fd++
	}
	return fd
}
