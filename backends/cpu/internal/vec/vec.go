package vec

import (
	"math"

	"github.com/qgpu/qgpu/qtensor"
)

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
	quantizePerTensor(dst, src, scale, zp, qmin, qmax, stream)
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
	quantizeTorchPerTensor(dst, src, scale, zp, qmin, qmax, stream)
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
	dequantizePerTensor(dst, src, signed, scale, zp, stream)
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
	requantizeInt32(dst, src, m, zp, qmin, qmax)
}

// RequantizeCols sets dst[i] = byte(qtensor.Requantize(src[i], mult[i],
// zp, qmin, qmax)) for i < len(src): a GEMM row requantized with one
// multiplier per column. Every mult[i] must pass qtensor.CheckMultiplier
// (the GEMM epilogue checks them; a NaN would differ). It panics if dst or
// mult is shorter than src.
func RequantizeCols(dst []byte, src []int32, mult []float32, zp, qmin, qmax int32) {
	dst, mult = dst[:len(src)], mult[:len(src)]
	requantizeCols(dst, src, mult, zp, qmin, qmax)
}

// FloatCols sets dst[i] = qtensor.FloatOutput(src[i], scale[i], bias[i])
// for i < len(src): a GEMM row's float output with per-column scales and
// biases. It panics if dst, scale or bias is shorter than src.
func FloatCols(dst []float32, src []int32, scale, bias []float32) {
	dst, scale, bias = dst[:len(src)], scale[:len(src)], bias[:len(src)]
	floatCols(dst, src, scale, bias)
}

// requantizeColsGeneric is RequantizeCols in Go.
func requantizeColsGeneric(dst []byte, src []int32, mult []float32, zp, qmin, qmax int32) {
	for i, acc := range src {
		dst[i] = byte(qtensor.Requantize(acc, mult[i], zp, qmin, qmax))
	}
}

// floatColsGeneric is FloatCols in Go.
func floatColsGeneric(dst []float32, src []int32, scale, bias []float32) {
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

// MinMax reduces src as backend.MinMax does for one channel.
func MinMax(src []float32) MinMaxStats {
	if len(src) == 0 {
		return EmptyMinMax
	}
	return minMax(src)
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
	histogram(counts, src, lo, hi, s, bins)
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
	histogramAligned(counts, src, s, start)
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
