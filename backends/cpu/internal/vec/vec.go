package vec

import (
	"math"
	"slices"
	"unsafe"

	"github.com/qgpu/qgpu/qtensor"
)

// finiteNonZero reports whether v is finite and not zero: the divisors and
// multipliers for which v op x is NaN only when x is NaN.
func finiteNonZero(v float32) bool {
	return v == v && v != 0 && v <= math.MaxFloat32 && v >= -math.MaxFloat32
}

// clampBounds returns the float bounds of qtensor's clamp relative to zp,
// computed exactly as the formula does.
func clampBounds(zp, qmin, qmax int32) (lo, hi float32) {
	return float32(qmin - zp), float32(qmax - zp)
}

// QuantizePerTensor sets dst[i] = byte(qtensor.Quantize(src[i], scale, zp,
// qmin, qmax)) for i < len(src): ONNX QuantizeLinear into int8 or uint8
// storage (the byte holds the low 8 bits of the integer). With stream set
// the AVX-512 kernels store the output non-temporally (see StreamQuantize). It
// panics if dst is shorter than src.
func QuantizePerTensor(dst []byte, src []float32, scale float32, zp, qmin, qmax int32, stream bool) {
	dst = dst[:len(src)]
	if len(src) == 0 {
		return
	}
	if useAVX512() && finiteNonZero(scale) && qmin <= qmax {
		lo, hi := clampBounds(zp, qmin, qmax)
		quantizeAVX512(dst, src, quantDivAVX512, quantDivNTAVX512, scale, lo, hi, zp, stream)
		return
	}
	if n8 := len(src) &^ 7; n8 > 0 && useAVX2() && finiteNonZero(scale) && qmin <= qmax {
		lo, hi := clampBounds(zp, qmin, qmax)
		quantDivAVX2(&dst[0], &src[0], n8, scale, lo, hi, zp)
		dst, src = dst[n8:], src[n8:]
	}
	quantizeGeneric(dst, src, scale, zp, qmin, qmax)
}

// quantizeAVX512 runs a quantize kernel k over src, with its non-temporal
// form kNT for the 64-byte aligned whole blocks of 64 of the output when
// stream is set (see StreamQuantize; VMOVNTDQ saves the read for ownership of dst,
// a fifth of the traffic).
func quantizeAVX512(dst []byte, src []float32, k, kNT func(*byte, *float32, int, float32, float32, float32, int32), s, lo, hi float32, zp int32, stream bool) {
	if head := int(-uintptr(unsafe.Pointer(&dst[0])) & 63); stream && head+64 <= len(src) {
		if head > 0 {
			k(&dst[0], &src[0], head, s, lo, hi, zp)
		}
		mid := (len(src) - head) &^ 63
		kNT(&dst[head], &src[head], mid, s, lo, hi, zp)
		dst, src = dst[head+mid:], src[head+mid:]
		if len(src) == 0 {
			return
		}
	}
	k(&dst[0], &src[0], len(src), s, lo, hi, zp)
}

func quantizeGeneric(dst []byte, src []float32, scale float32, zp, qmin, qmax int32) {
	for i, x := range src {
		dst[i] = byte(qtensor.Quantize(x, scale, zp, qmin, qmax))
	}
}

// QuantizeTorchPerTensor is QuantizePerTensor with qtensor.QuantizeTorch
// (multiplication by the float32 reciprocal of scale, as PyTorch does).
func QuantizeTorchPerTensor(dst []byte, src []float32, scale float32, zp, qmin, qmax int32, stream bool) {
	dst = dst[:len(src)]
	if len(src) == 0 {
		return
	}
	inv := 1 / scale
	if useAVX512() && finiteNonZero(inv) && qmin <= qmax {
		lo, hi := clampBounds(zp, qmin, qmax)
		quantizeAVX512(dst, src, quantMulAVX512, quantMulNTAVX512, inv, lo, hi, zp, stream)
		return
	}
	if n8 := len(src) &^ 7; n8 > 0 && useAVX2() && finiteNonZero(inv) && qmin <= qmax {
		lo, hi := clampBounds(zp, qmin, qmax)
		quantMulAVX2(&dst[0], &src[0], n8, inv, lo, hi, zp)
		dst, src = dst[n8:], src[n8:]
	}
	quantizeTorchGeneric(dst, src, scale, zp, qmin, qmax)
}

func quantizeTorchGeneric(dst []byte, src []float32, scale float32, zp, qmin, qmax int32) {
	for i, x := range src {
		dst[i] = byte(qtensor.QuantizeTorch(x, scale, zp, qmin, qmax))
	}
}

// DequantizePerTensor sets dst[i] = qtensor.Dequantize(q, zp, scale) for
// i < len(src), where q is src[i] read as int8 when signed is set and as
// uint8 otherwise. With stream set the AVX-512 kernels store the output
// non-temporally (see StreamDequantize). It panics if dst is shorter than src.
func DequantizePerTensor(dst []float32, src []byte, signed bool, scale float32, zp int32, stream bool) {
	dst = dst[:len(src)]
	if len(src) == 0 {
		return
	}
	if !useAVX512() {
		if n8 := len(src) &^ 7; n8 > 0 && useAVX2() {
			k := dequantU8AVX2
			if signed {
				k = dequantS8AVX2
			}
			k(&dst[0], &src[0], n8, scale, zp)
			dst, src = dst[n8:], src[n8:]
		}
		dequantizeGeneric(dst, src, signed, scale, zp)
		return
	}
	k, kNT := dequantU8AVX512, dequantU8NTAVX512
	if signed {
		k, kNT = dequantS8AVX512, dequantS8NTAVX512
	}
	if stream {
		// Regular stores up to a 64-byte aligned dst, non-temporal stores
		// for the whole vectors after it, regular stores for the rest.
		head := int(-uintptr(unsafe.Pointer(&dst[0]))&63) / 4
		if head+16 <= len(src) {
			if head > 0 {
				k(&dst[0], &src[0], head, scale, zp)
			}
			mid := (len(src) - head) &^ 15
			kNT(&dst[head], &src[head], mid, scale, zp)
			dst, src = dst[head+mid:], src[head+mid:]
			if len(src) == 0 {
				return
			}
		}
	}
	k(&dst[0], &src[0], len(src), scale, zp)
}

func dequantizeGeneric(dst []float32, src []byte, signed bool, scale float32, zp int32) {
	for i, b := range src {
		q := int32(b)
		if signed {
			q = int32(int8(b))
		}
		dst[i] = qtensor.Dequantize(q, zp, scale)
	}
}

// minRun is the run length below which the per-axis functions loop over
// elements in Go instead of calling a vector kernel per run.
const minRun = 16

// forRuns calls f(c, lo, hi) for the maximal runs [lo, hi) of [0, n) whose
// elements share the channel c = ((first+i)/inner) % channels.
func forRuns(n, first, inner, channels int, f func(c, lo, hi int)) {
	for i := 0; i < n; {
		g := first + i
		c := (g / inner) % channels
		end := min(n, i+inner-g%inner)
		f(c, i, end)
		i = end
	}
}

// checkAxis panics unless the per-axis arguments are consistent.
func checkAxis(nScales, nZPs, first, inner int) {
	if nScales == 0 || nScales != nZPs || inner <= 0 || first < 0 {
		panic("vec: per-axis call with empty or mismatched scales/zero points, inner <= 0 or first < 0")
	}
}

// QuantizePerAxis quantizes with one (scale, zero point) pair per channel:
// src[i] is element first+i of a tensor whose channel index is
// ((first+i)/inner) % len(scales), and
// dst[i] = byte(qtensor.Quantize(src[i], scales[c], zps[c], qmin, qmax)).
// first lets callers split a tensor into chunks; stream is as in
// QuantizePerTensor. It panics if dst is shorter than src, len(zps) !=
// len(scales), scales is empty, inner < 1 or first < 0.
func QuantizePerAxis(dst []byte, src []float32, first int, scales []float32, zps []int32, inner int, qmin, qmax int32, stream bool) {
	quantizePerAxis(dst, src, first, scales, zps, inner, qmin, qmax, false, stream)
}

// QuantizeTorchPerAxis is QuantizePerAxis with qtensor.QuantizeTorch.
func QuantizeTorchPerAxis(dst []byte, src []float32, first int, scales []float32, zps []int32, inner int, qmin, qmax int32, stream bool) {
	quantizePerAxis(dst, src, first, scales, zps, inner, qmin, qmax, true, stream)
}

func quantizePerAxis(dst []byte, src []float32, first int, scales []float32, zps []int32, inner int, qmin, qmax int32, torch, stream bool) {
	checkAxis(len(scales), len(zps), first, inner)
	dst = dst[:len(src)]
	q := qtensor.Quantize
	if torch {
		q = qtensor.QuantizeTorch
	}
	forRuns(len(src), first, inner, len(scales), func(c, lo, hi int) {
		s, z := scales[c], zps[c]
		switch {
		case hi-lo < minRun:
			for i := lo; i < hi; i++ {
				dst[i] = byte(q(src[i], s, z, qmin, qmax))
			}
		case torch:
			QuantizeTorchPerTensor(dst[lo:hi], src[lo:hi], s, z, qmin, qmax, stream)
		default:
			QuantizePerTensor(dst[lo:hi], src[lo:hi], s, z, qmin, qmax, stream)
		}
	})
}

// DequantizePerAxis dequantizes with one (scale, zero point) pair per
// channel, channels laid out as in QuantizePerAxis:
// dst[i] = qtensor.Dequantize(q, zps[c], scales[c]); stream is as in
// DequantizePerTensor. It panics like QuantizePerAxis.
func DequantizePerAxis(dst []float32, src []byte, signed bool, first int, scales []float32, zps []int32, inner int, stream bool) {
	checkAxis(len(scales), len(zps), first, inner)
	dst = dst[:len(src)]
	forRuns(len(src), first, inner, len(scales), func(c, lo, hi int) {
		if hi-lo < minRun {
			dequantizeGeneric(dst[lo:hi], src[lo:hi], signed, scales[c], zps[c])
			return
		}
		DequantizePerTensor(dst[lo:hi], src[lo:hi], signed, scales[c], zps[c], stream)
	})
}

// RequantizeInt32 sets dst[i] = byte(qtensor.Requantize(src[i], m, zp,
// qmin, qmax)) for i < len(src): int32 accumulators to int8 or uint8
// storage with the float rule. It panics if dst is shorter than src.
func RequantizeInt32(dst []byte, src []int32, m float32, zp, qmin, qmax int32) {
	dst = dst[:len(src)]
	if len(src) == 0 {
		return
	}
	if useAVX512() && m == m && m <= math.MaxFloat32 && m >= -math.MaxFloat32 && qmin <= qmax {
		lo, hi := clampBounds(zp, qmin, qmax)
		requantAVX512(&dst[0], &src[0], len(src), m, lo, hi, zp)
		return
	}
	if n8 := len(src) &^ 7; n8 > 0 && useAVX2() && m == m && m <= math.MaxFloat32 && m >= -math.MaxFloat32 && qmin <= qmax {
		lo, hi := clampBounds(zp, qmin, qmax)
		requantAVX2(&dst[0], &src[0], n8, m, lo, hi, zp)
		dst, src = dst[n8:], src[n8:]
	}
	requantizeGeneric(dst, src, m, zp, qmin, qmax)
}

// RequantizeCols sets dst[i] = byte(qtensor.Requantize(src[i], mult[i],
// zp, qmin, qmax)) for i < len(src): a GEMM row requantized with one
// multiplier per column. Every mult[i] must pass qtensor.CheckMultiplier
// (the GEMM epilogue checks them; a NaN would differ). It panics if dst or
// mult is shorter than src.
func RequantizeCols(dst []byte, src []int32, mult []float32, zp, qmin, qmax int32) {
	dst, mult = dst[:len(src)], mult[:len(src)]
	if n8 := len(src) &^ 7; n8 > 0 && (useAVX2() || useAVX512()) && qmin <= qmax {
		lo, hi := clampBounds(zp, qmin, qmax)
		requantColsAVX2(&dst[0], &src[0], &mult[0], n8, lo, hi, zp)
		dst, src, mult = dst[n8:], src[n8:], mult[n8:]
	}
	for i, acc := range src {
		dst[i] = byte(qtensor.Requantize(acc, mult[i], zp, qmin, qmax))
	}
}

// FloatCols sets dst[i] = qtensor.FloatOutput(src[i], scale[i], bias[i])
// for i < len(src): a GEMM row's float output with per-column scales and
// biases. It panics if dst, scale or bias is shorter than src.
func FloatCols(dst []float32, src []int32, scale, bias []float32) {
	dst, scale, bias = dst[:len(src)], scale[:len(src)], bias[:len(src)]
	if n8 := len(src) &^ 7; n8 > 0 && (useAVX2() || useAVX512()) {
		floatColsAVX2(&dst[0], &src[0], &scale[0], &bias[0], n8)
		dst, src, scale, bias = dst[n8:], src[n8:], scale[n8:], bias[n8:]
	}
	for i, acc := range src {
		dst[i] = qtensor.FloatOutput(acc, scale[i], bias[i])
	}
}

func requantizeGeneric(dst []byte, src []int32, m float32, zp, qmin, qmax int32) {
	for i, acc := range src {
		dst[i] = byte(qtensor.Requantize(acc, m, zp, qmin, qmax))
	}
}

// MinMaxStats is the reduction of backend.MinMax over some float32 values:
// Lo and Hi are the qtensor.MinMaxKey of the smallest and largest finite
// value (0xFFFFFFFF and 0 when there is none; -0 counts as +0), and the
// counts of finite values, NaN, +Inf and -Inf, wrapping at 2^32 like the
// engine's.
type MinMaxStats struct {
	Lo, Hi                  uint32
	Finite, NaN, PInf, NInf uint32
}

// EmptyMinMax is the MinMaxStats of no values, the identity of Merge.
var EmptyMinMax = MinMaxStats{Lo: math.MaxUint32}

// Merge returns the statistics of the union of the values behind a and b.
func (a MinMaxStats) Merge(b MinMaxStats) MinMaxStats {
	return MinMaxStats{
		Lo: min(a.Lo, b.Lo), Hi: max(a.Hi, b.Hi),
		Finite: a.Finite + b.Finite, NaN: a.NaN + b.NaN, PInf: a.PInf + b.PInf, NInf: a.NInf + b.NInf,
	}
}

// Words returns the six uint32 words of backend.MinMax's output for one
// channel: lo, hi, finite, NaN, +Inf, -Inf.
func (a MinMaxStats) Words() [6]uint32 {
	return [6]uint32{a.Lo, a.Hi, a.Finite, a.NaN, a.PInf, a.NInf}
}

// negZeroKey is the key the vector kernel gives -0 (bits 0x80000000
// complemented); no other float32 has it, and it stands for +0.
const negZeroKey = 0x7fffffff

// MinMax reduces src as backend.MinMax does for one channel.
func MinMax(src []float32) MinMaxStats {
	if len(src) == 0 {
		return EmptyMinMax
	}
	var out [80]uint32
	lanes, tail := 16, []float32(nil)
	switch n8 := len(src) &^ 7; {
	case useAVX512():
		minmaxAVX512(&src[0], len(src), &out)
	case useAVX2() && n8 > 0:
		minmaxAVX2(&src[0], n8, (*[40]uint32)(out[:40]))
		lanes, tail = 8, src[n8:]
	default:
		return minMaxGeneric(src)
	}
	st := EmptyMinMax
	for j := range lanes {
		st.Lo = min(st.Lo, out[j])
		st.Hi = max(st.Hi, out[lanes+j])
		st.NaN += out[2*lanes+j]
		st.PInf += out[3*lanes+j]
		st.NInf += out[4*lanes+j]
	}
	// -0 is the only value whose vector key is negZeroKey; it is adjacent
	// to +0's key in the order, so mapping it afterwards is exact.
	if st.Lo == negZeroKey {
		st.Lo = qtensor.MinMaxKey(0)
	}
	if st.Hi == negZeroKey {
		st.Hi = qtensor.MinMaxKey(0)
	}
	st.Finite = uint32(len(src)-len(tail)) - st.NaN - st.PInf - st.NInf
	if len(tail) > 0 {
		st = st.Merge(minMaxGeneric(tail))
	}
	return st
}

func minMaxGeneric(src []float32) MinMaxStats {
	st := EmptyMinMax
	for _, v := range src {
		switch {
		case v != v:
			st.NaN++
		case math.IsInf(float64(v), 1):
			st.PInf++
		case math.IsInf(float64(v), -1):
			st.NInf++
		default:
			st.Finite++
			k := qtensor.MinMaxKey(v)
			st.Lo = min(st.Lo, k)
			st.Hi = max(st.Hi, k)
		}
	}
	return st
}

// Sub-histogram policy. Consecutive increments of one counter serialize
// (each waits for the previous store), so data that repeats bins often
// (ReLU outputs, constant runs) ran about twice as fast with the lanes
// spread over four sub-histograms, while well-spread data (a normal
// distribution over 2048 bins) ran about 1.5x slower that way. Calls with
// at least subMinPerBin values per counter estimate the probability that
// two values share a bin from a sample and use four sub-histograms when it
// exceeds subCollide.
const (
	subHists     = 4
	subMinPerBin = 16
	subSample    = 512
	subCollide   = 0.01
)

// repetitive estimates sum over bins of p(bin)^2 (the probability that two
// values share a counter) from the bins of the first values of src
// (bin(i) is the bin of src[i]) and reports whether it exceeds subCollide.
func repetitive(n int, bin func(i int) int64) bool {
	var idx [subSample]int64
	n = min(n, subSample)
	for i := range n {
		idx[i] = bin(i)
	}
	b := idx[:n]
	slices.Sort(b)
	pairs := 0
	for i := 0; i < n; {
		j := i
		for j < n && b[j] == b[i] {
			j++
		}
		pairs += (j - i) * (j - i - 1) / 2
		i = j
	}
	return float64(pairs) > subCollide*float64(n*(n-1)/2)
}

// Histogram adds the histogram of src to counts, which has bins+3 entries:
// bins bins over [lo, hi] chosen by qtensor.HistBin with
// s = qtensor.HistScale(bins, lo, hi), then the counts below lo, above hi
// and of NaN (backend.Histogram's layout). Counts wrap at 2^32. lo < hi must
// be finite (HistBin's precondition). It panics if len(counts) < 4.
func Histogram(counts []uint32, src []float32, lo, hi float32) {
	bins := len(counts) - 3
	if bins < 1 {
		panic("vec: histogram needs at least one bin")
	}
	s := qtensor.HistScale(bins, lo, hi)
	vector := (useAVX512() || useAVX2()) && len(src) >= 8 && bins < 1<<24 && lo < hi && finiteNonZero(s)
	stride, nsub := 0, 1
	if vector && len(src) >= subMinPerBin*len(counts) && repetitive(len(src), func(i int) int64 {
		return int64(qtensor.HistBin(src[i], lo, hi, s, bins))
	}) {
		stride, nsub = len(counts), subHists
	}
	n16 := len(src) &^ 15
	if vector && useAVX512() && n16 > 0 {
		var tab [64]int32
		for j := range 16 {
			off := int32((j % nsub) * stride)
			tab[j], tab[16+j], tab[32+j], tab[48+j] = off, off+int32(bins), off+int32(bins)+1, off+int32(bins)+2
		}
		if nsub == 1 {
			histAVX512(&counts[0], &src[0], n16, lo, hi, s, int32(bins), &tab)
		} else {
			sub := make([]uint32, nsub*stride)
			histAVX512(&sub[0], &src[0], n16, lo, hi, s, int32(bins), &tab)
			addSubs(counts, sub, nsub)
		}
		src = src[n16:]
	}
	if n8 := len(src) &^ 7; vector && useAVX2() && n8 > 0 {
		off := laneOffsets(nsub, stride)
		if nsub == 1 {
			histAVX2(&counts[0], &src[0], n8, lo, hi, s, int32(bins), &off)
		} else {
			sub := make([]uint32, nsub*stride)
			histAVX2(&sub[0], &src[0], n8, lo, hi, s, int32(bins), &off)
			addSubs(counts, sub, nsub)
		}
		src = src[n8:]
	}
	histogramGeneric(counts, src, lo, hi, s, bins)
}

func histogramGeneric(counts []uint32, src []float32, lo, hi, s float32, bins int) {
	for _, x := range src {
		switch b := qtensor.HistBin(x, lo, hi, s, bins); b {
		case -2:
			counts[bins+2]++
		case -1:
			counts[bins]++
		case bins:
			counts[bins+1]++
		default:
			counts[b]++
		}
	}
}

// HistogramAligned adds to counts, which has bins+3 entries, the histogram
// of src on the zero-aligned grid of qtensor.HistBinAligned with scale
// s = qtensor.HistScalePow2(exp): counts[i] counts the values of grid index
// start+i for i < bins, then come the values below and above the window
// (infinities included) and the NaNs (backend.Histogram's aligned layout).
// Counts wrap at 2^32. start must lie in [-2^61, 2^61] and s must be a
// power of two in [2^-126, 2^126] (the engine validates both); it panics if
// len(counts) < 4.
func HistogramAligned(counts []uint32, src []float32, s float32, start int64) {
	bins := len(counts) - 3
	if bins < 1 {
		panic("vec: histogram needs at least one bin")
	}
	// The AVX2 kernel takes windows within 2^24 of zero only.
	lo32, hi32 := start-1, start+int64(bins)+1
	fits32 := lo32 >= -1<<24 && hi32 <= 1<<24
	vector := (useAVX512() || useAVX2() && fits32) && len(src) >= 8 && bins < 1<<24 && start >= -1<<61 && start <= 1<<61
	stride, nsub := len(counts), 1
	if vector && len(src) >= subMinPerBin*len(counts) && repetitive(len(src), func(i int) int64 {
		j, _ := qtensor.HistBinAligned(src[i], s)
		return min(max(j-start, -1), int64(bins))
	}) {
		// Four sub-histograms of 2048 bins fill a 32 KiB L1 data
		// cache: on ReLU data they ran 1.3x slower than two.
		nsub = subHists
		if nsub*stride*4 > 16<<10 {
			nsub = 2
		}
	}
	n16 := len(src) &^ 15
	if vector && useAVX512() && n16 > 0 {
		// Each sub-histogram is laid out below, bins..., above, NaN: the
		// kernel maps a clamped window index d in [-1, bins] to d+1.
		var tab [32]int32
		for j := range 16 {
			off := int32((j % nsub) * stride)
			tab[j], tab[16+j] = off+1, off+int32(bins)+2
		}
		sub := make([]uint32, nsub*stride)
		if fits32 {
			histAligned32AVX512(&sub[0], &src[0], n16, s, float32(lo32), float32(hi32), int32(start), int32(bins), &tab)
		} else {
			histAlignedAVX512(&sub[0], &src[0], n16, s, start, int64(bins), &tab)
		}
		for k := range nsub {
			addAligned(counts, sub[k*stride:(k+1)*stride])
		}
		src = src[n16:]
	}
	if n8 := len(src) &^ 7; vector && useAVX2() && n8 > 0 {
		off := laneOffsets(nsub, stride)
		sub := make([]uint32, nsub*stride)
		histAligned32AVX2(&sub[0], &src[0], n8, s, float32(lo32), float32(hi32), int32(start), int32(bins), &off)
		for k := range nsub {
			addAligned(counts, sub[k*stride:(k+1)*stride])
		}
		src = src[n8:]
	}
	histogramAlignedGeneric(counts, src, s, start)
}

// addSubs adds the nsub sub-histograms laid out one after the other in sub
// to counts.
func addSubs(counts, sub []uint32, nsub int) {
	stride := len(sub) / nsub
	for k := range nsub {
		for i, c := range sub[k*stride : (k+1)*stride] {
			counts[i] += c
		}
	}
}

// laneOffsets returns the AVX2 histogram kernels' lane offsets: lane j
// counts into sub-histogram j%nsub, stride counters apart.
func laneOffsets(nsub, stride int) [8]int32 {
	var off [8]int32
	for j := range off {
		off[j] = int32((j % nsub) * stride)
	}
	return off
}

// addAligned adds a kernel's histogram h, laid out below, bins..., above,
// NaN, to counts (bins..., below, above, NaN).
func addAligned(counts, h []uint32) {
	bins := len(counts) - 3
	for i, c := range h[1 : bins+1] {
		counts[i] += c
	}
	counts[bins] += h[0]
	counts[bins+1] += h[bins+1]
	counts[bins+2] += h[bins+2]
}

// histogramAlignedGeneric is HistogramAligned in Go. It computes
// qtensor.HistBinAligned without data-dependent branches: x*s is exact
// (s is a power of two) and |x*s| rounds symmetrically, so trunc(x*s),
// minus 1 when x < 0 (not for -0), is floor(x*s) for x >= 0 and
// -1 - floor(-x*s) for x < 0. TestHistogramAligned checks it against the
// formula.
func histogramAlignedGeneric(counts []uint32, x []float32, s float32, start int64) {
	bins := uint64(len(counts) - 3)
	const sat = 1 << 62
	for _, v := range x {
		b := math.Float32bits(v)
		if b&0x7fffffff > 0x7f800000 { // NaN
			counts[bins+2]++
			continue
		}
		p := v * s
		var j int64
		switch {
		case p >= sat:
			j = sat
		case p <= -sat:
			j = -sat
		default:
			// minus 1 for x < 0: the sign bit of a non-zero x (-0 counts as +0)
			j = int64(p) - int64(b>>31&((b&0x7fffffff+0x7fffffff)>>31))
		}
		if d := uint64(j - start); d < bins {
			counts[d]++
		} else if j < start {
			counts[bins]++
		} else {
			counts[bins+1]++
		}
	}
}
