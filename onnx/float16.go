package onnx

import "math"

// Float16ToFloat32 converts IEEE 754 binary16 bits to the float32 of the
// same value, exactly (every binary16 value, subnormals included, is a
// float32). Infinities keep their sign; a NaN keeps its sign and payload
// (shifted into the float32 mantissa's top bits).
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0: // zero, subnormal: mant * 2^-24, exact in float32
		f := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(f))
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// Float32ToFloat16 rounds f to the nearest binary16, ties to even, as
// IEEE 754 (and NumPy's astype(float16)) does: values beyond the largest
// finite half (65504) round to infinity from 65520 up, tiny values to
// subnormals or zero, keeping the sign. A NaN stays a NaN with the same
// sign and the top 10 bits of its payload (NumPy's rule: a payload that
// would vanish becomes 1).
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00
		}
		m := uint16(mant >> 13)
		if m == 0 {
			m = 1
		}
		return sign | 0x7c00 | m
	}
	e := exp - 127 // unbiased; float32 subnormals (exp 0) round to zero below
	if exp == 0 || e < -25 {
		return sign // below half the smallest subnormal (2^-25), or exactly it: ties to even 0
	}
	if e >= 16 {
		return sign | 0x7c00
	}
	if e >= -14 { // normal half: round the 23-bit mantissa to 10 bits
		h := uint32(e+15)<<10 | mant>>13
		rest := mant & 0x1fff
		if rest > 0x1000 || rest == 0x1000 && h&1 == 1 {
			h++ // may carry into the exponent, up to infinity (0x7c00)
		}
		return sign | uint16(h)
	}
	// Subnormal half: the value in units of 2^-24 is full * 2^(e+1).
	full := mant | 0x800000
	shift := uint(-e - 1) // 14..24
	h := full >> shift
	rest := full & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rest > half || rest == half && h&1 == 1 {
		h++ // may become 0x400, the smallest normal
	}
	return sign | uint16(h)
}
