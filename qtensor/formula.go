package qtensor

import (
	"fmt"
	"math"
)

// This file holds the one implementation of every scalar formula of
// docs/semantics.md. Every kernel in the project (the CPU reference kernels, the SIMD
// kernels' tails, the calibration code) calls these; GPU shaders transcribe
// them and are checked bit for bit against them.
//
// Float arithmetic is float32 throughout. Products that are followed by an
// addition are wrapped in an explicit float32(...) conversion, which the Go
// specification says must round, so the compiler cannot fuse them into an
// FMA.

// RoundHalfEven rounds v to the nearest integer, ties to even (C's rint
// under the default rounding mode). NaN and ±Inf are returned unchanged.
func RoundHalfEven(v float32) float32 {
	return float32(math.RoundToEven(float64(v)))
}

// clampRound clamps the already-rounded real r+zp to [qmin, qmax] without
// overflow: the clamp happens in float relative to zp, so a huge or infinite
// r saturates instead of wrapping. r must not be NaN.
func clampRound(r float32, zp, qmin, qmax int32) int32 {
	lo := float32(qmin - zp)
	hi := float32(qmax - zp)
	if r < lo {
		r = lo
	} else if r > hi {
		r = hi
	}
	return int32(r) + zp
}

// Quantize is ONNX QuantizeLinear for one element:
//
//	q = clamp(rint(x / scale) + zp, qmin, qmax)
//
// with x / scale a float32 division (not a reciprocal product) and rint
// rounding half to even. +Inf and -Inf saturate to qmax and qmin; NaN maps
// to zp. scale must have passed CheckScale.
func Quantize(x, scale float32, zp, qmin, qmax int32) int32 {
	if x != x {
		return zp
	}
	return clampRound(RoundHalfEven(x/scale), zp, qmin, qmax)
}

// QuantizeTorch is PyTorch's quantize_per_tensor for one element:
//
//	q = clamp(rint(x * float32(1/scale)) + zp, qmin, qmax)
//
// It multiplies by the float32 reciprocal the way torch does, which gives a
// different integer than Quantize for some inputs near ties. NaN maps to zp.
func QuantizeTorch(x, scale float32, zp, qmin, qmax int32) int32 {
	if x != x {
		return zp
	}
	inv := 1 / scale
	return clampRound(RoundHalfEven(x*inv), zp, qmin, qmax)
}

// Dequantize is ONNX DequantizeLinear for one element: float32(q - zp) * scale.
func Dequantize(q, zp int32, scale float32) float32 {
	return float32(q-zp) * scale
}

// RequantMultiplier is the requantization multiplier of a GEMM or
// convolution output column: M = float32(aScale*bScale) / yScale, each
// operation rounded to float32 in that order.
func RequantMultiplier(aScale, bScale, yScale float32) float32 {
	return float32(aScale*bScale) / yScale
}

// CheckMultiplier returns an error unless m is a finite, positive, normal
// float32 (a requantization multiplier).
func CheckMultiplier(m float32) error {
	if m != m || m < 0x1p-126 || m > math.MaxFloat32 {
		return fmt.Errorf("%w: requantization multiplier %g must be positive, finite and normal", ErrParams, m)
	}
	return nil
}

// Requantize maps an int32 accumulator to the output type with the float
// rule: y = clamp(rint(float32(acc) * m) + zp, qmin, qmax). The product
// saturates through ±Inf; it never wraps.
func Requantize(acc int32, m float32, zp, qmin, qmax int32) int32 {
	return clampRound(RoundHalfEven(float32(acc)*m), zp, qmin, qmax)
}

// FixedPoint is a requantization multiplier in the integer-only form of
// gemmlowp and FBGEMM: M ≈ Multiplier * 2^-Shift, with Multiplier in
// [2^30, 2^31) and Shift in [1, 63].
type FixedPoint struct {
	Multiplier int32
	Shift      int32
}

// FixedPointRange is the range of multipliers that have a FixedPoint form:
// [2^-32, 2^30).
const (
	FixedPointMin = 0x1p-32
	FixedPointMax = 0x1p30
)

// NewFixedPoint converts the multiplier m to fixed point: m = f * 2^e with
// f in [0.5, 1); Multiplier = rint(f * 2^31) (if that rounds up to 2^31 it
// becomes 2^30 and e grows by one); Shift = 31 - e.
func NewFixedPoint(m float32) (FixedPoint, error) {
	if err := CheckMultiplier(m); err != nil {
		return FixedPoint{}, err
	}
	if m < FixedPointMin || m >= FixedPointMax {
		return FixedPoint{}, fmt.Errorf("%w: multiplier %g outside the fixed-point range [2^-32, 2^30)", ErrParams, m)
	}
	f, e := math.Frexp(float64(m))
	mult := int64(math.RoundToEven(f * (1 << 31)))
	if mult == 1<<31 {
		mult = 1 << 30
		e++
	}
	shift := 31 - e
	if shift < 1 || shift > 63 {
		return FixedPoint{}, fmt.Errorf("%w: multiplier %g gives shift %d outside [1, 63]", ErrParams, m, shift)
	}
	return FixedPoint{Multiplier: int32(mult), Shift: int32(shift)}, nil
}

// RequantizeFixed maps an accumulator with the integer-only rule:
//
//	y = clamp(zp + ((int64(acc)*Multiplier + 2^(Shift-1)) >> Shift), qmin, qmax)
//
// where >> is an arithmetic shift, so ties round towards +Inf.
func RequantizeFixed(acc int32, fp FixedPoint, zp, qmin, qmax int32) int32 {
	v := (int64(acc)*int64(fp.Multiplier) + int64(1)<<(fp.Shift-1)) >> fp.Shift
	v += int64(zp)
	if v < int64(qmin) {
		return qmin
	}
	if v > int64(qmax) {
		return qmax
	}
	return int32(v)
}

// FloatOutput is the dequantized output of a GEMM or convolution element:
// y = float32(acc) * scale + bias with two separate roundings, where scale
// is float32(aScale * bScale[n]).
func FloatOutput(acc int32, scale, bias float32) float32 {
	return float32(float32(acc)*scale) + bias
}

// ByteWeightDequant is Caffe2's ByteWeightDequant for one element:
// y = q * (max - min) / 255 + min, evaluated left to right in float32
// with every operation rounded.
func ByteWeightDequant(q uint8, min, max float32) float32 {
	r := max - min
	return float32(float32(float32(q)*r)/255) + min
}

// DynamicQParams returns the uint8 scale and zero point of ONNX
// DynamicQuantizeLinear for data whose finite minimum and maximum are xmin
// and xmax (NaN and ±Inf are left out of the range by the caller):
//
//	xmin' = min(0, xmin); xmax' = max(0, xmax)
//	scale = (xmax' - xmin') / 255
//	zp    = clamp(rint(-xmin' / scale), 0, 255)
//
// Data whose range is zero (all zeros) gets scale 1 and zero point 0. A
// scale below MinScale is raised to MinScale; a range that overflows
// float32 is computed as xmax'/255 - xmin'/255.
func DynamicQParams(xmin, xmax float32) (scale float32, zp int32) {
	xmin = min(xmin, 0)
	xmax = max(xmax, 0)
	r := xmax - xmin
	if r == 0 {
		return 1, 0
	}
	if r > math.MaxFloat32 {
		scale = xmax/255 - xmin/255
	} else {
		scale = r / 255
	}
	if scale < MinScale {
		scale = MinScale
	}
	z := RoundHalfEven(-xmin / scale)
	if z < 0 {
		z = 0
	} else if z > 255 {
		z = 255
	}
	return scale, int32(z)
}

// AddMultipliers returns the two float32 multipliers of quantized Add:
// ma = sa / sy and mb = sb / sy.
func AddMultipliers(sa, sb, sy float32) (ma, mb float32) {
	return sa / sy, sb / sy
}

// Add is quantized elementwise addition with multipliers from
// AddMultipliers:
//
//	y = clamp(rint(float32(ma*(a-za)) + float32(mb*(b-zb))) + zy, qmin, qmax)
func Add(a, za, b, zb int32, ma, mb float32, zy, qmin, qmax int32) int32 {
	v := float32(ma*float32(a-za)) + float32(mb*float32(b-zb))
	return clampRound(RoundHalfEven(v), zy, qmin, qmax)
}

// MulMultiplier returns the float32 multiplier of quantized Mul:
// m = float32(sa * sb) / sy.
func MulMultiplier(sa, sb, sy float32) float32 {
	return float32(sa*sb) / sy
}

// Mul is quantized elementwise multiplication with m from MulMultiplier:
//
//	y = clamp(rint(float32((a-za)*(b-zb)) * m) + zy, qmin, qmax)
//
// The integer product is exact (|product| < 2^17 for 8-bit operands).
func Mul(a, za, b, zb int32, m float32, zy, qmin, qmax int32) int32 {
	return clampRound(RoundHalfEven(float32((a-za)*(b-zb))*m), zy, qmin, qmax)
}

// DivRoundHalfEven returns num/den rounded to the nearest integer, ties to
// even, computed exactly in integers. den must be positive.
func DivRoundHalfEven(num, den int64) int64 {
	q := num / den
	r := num % den
	if r < 0 { // make the remainder non-negative: floor division
		q--
		r += den
	}
	// num/den = q + r/den with 0 <= r < den
	switch {
	case 2*r > den:
		q++
	case 2*r == den && q&1 != 0:
		q++
	}
	return q
}

// AveragePool returns the quantized mean of a pooling window:
// y = clamp(rint(sum / count) + zp, qmin, qmax) where sum is the sum of
// (q - zp) over the window's counted cells and rint rounds half to even
// exactly (integer arithmetic, no float).
func AveragePool(sum int64, count int64, zp, qmin, qmax int32) int32 {
	v := DivRoundHalfEven(sum, count) + int64(zp)
	if v < int64(qmin) {
		return qmin
	}
	if v > int64(qmax) {
		return qmax
	}
	return int32(v)
}

// HistScale returns the bin-width reciprocal used by HistBin:
// float32(bins) / (hi - lo), in float32.
func HistScale(bins int, lo, hi float32) float32 {
	return float32(bins) / (hi - lo)
}

// HistBin returns the histogram bin of x for a histogram of bins bins over
// [lo, hi] with s = HistScale(bins, lo, hi):
//
//	b = floor(float32(x - lo) * s), and x == hi goes to the last bin.
//
// It returns -1 for x < lo, bins for x > hi, and -2 for NaN. The caller
// guarantees lo < hi, both finite.
func HistBin(x, lo, hi, s float32, bins int) int {
	if x != x {
		return -2
	}
	if x < lo {
		return -1
	}
	if x > hi {
		return bins
	}
	v := float32(x-lo) * s  // non-negative, so truncation is floor
	if v >= float32(bins) { // x == hi, rounding at the top edge, or overflow to +Inf
		return bins - 1
	}
	return int(v)
}

// HistScalePow2 returns 2^-k as a float32: the scale of the zero-aligned
// histogram grid of bin width 2^k used by HistBinAligned. k must be in
// [-126, 126] so that the scale is a normal float32.
func HistScalePow2(k int) float32 {
	return float32(math.Ldexp(1, -k))
}

// HistBinAligned returns the bin of x on the zero-aligned histogram grid
// with scale s = HistScalePow2(k), whose bins have width 2^k:
//
//	x >= 0 (-0 included): j = floor(x * s)        bin j covers [j*2^k, (j+1)*2^k)
//	x <  0:               j = -1 - floor(-x * s)  bin j covers (j*2^k, (j+1)*2^k]
//
// The float32 products are exact because s is a power of two (a product
// that underflows is below 1, so its floor is still exact), so the index is
// the exact mathematical one and doubling the bin width maps bin j to
// floor(j/2) (an arithmetic shift right): histograms on this grid re-bin and
// merge exactly. Indices saturate at ±2^62 (±Inf included). NaN returns
// ok == false.
func HistBinAligned(x, s float32) (j int64, ok bool) {
	if x != x {
		return 0, false
	}
	const sat = 1 << 62
	if x >= 0 {
		v := x * s
		if v >= sat {
			return sat, true
		}
		return int64(v), true // v >= 0: truncation is floor
	}
	v := -x * s
	if v >= sat {
		return -sat, true
	}
	return -1 - int64(v), true
}

// CanonicalNaN is the float32 bit pattern MatMulNBits stores for every NaN
// result (devices disagree on the sign and payload of the NaNs their
// arithmetic produces).
const CanonicalNaN = 0x7FC00000

// Canonical returns v, or the quiet NaN CanonicalNaN when v is a NaN.
func Canonical(v float32) float32 {
	if v != v {
		return math.Float32frombits(CanonicalNaN)
	}
	return v
}

// NBitsAbsMax returns the largest magnitude among the finite values of x
// (0 when there is none): the amax of one activation block of
// MatMulNBits' int8-activation mode.
func NBitsAbsMax(x []float32) float32 {
	var m float32
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > m && a <= math.MaxFloat32 {
			m = a
		}
	}
	return m
}

// NBitsActScale is the symmetric int8 scale of one activation block of
// MatMulNBits' int8-activation mode: max(float32(amax / 127), MinScale).
// The floor keeps the scale normal (a block of zeros gets it too).
func NBitsActScale(amax float32) float32 {
	s := amax / 127
	if !(s >= MinScale) {
		s = MinScale
	}
	return s
}
