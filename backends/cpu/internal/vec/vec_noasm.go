//go:build !amd64 || purego

package vec

// hasAVX512 is false: no assembly in this build.
const hasAVX512 = false

// The kernels below are never called (Supported(AVX512) is false); they
// exist so that the dispatch code compiles without assembly.

func quantDivAVX512(dst *byte, src *float32, n int, scale, lo, hi float32, zp int32) {
	panic("vec: no assembly")
}
func quantMulAVX512(dst *byte, src *float32, n int, scale, lo, hi float32, zp int32) {
	panic("vec: no assembly")
}
func dequantS8AVX512(dst *float32, src *byte, n int, scale float32, zp int32) {
	panic("vec: no assembly")
}
func dequantU8AVX512(dst *float32, src *byte, n int, scale float32, zp int32) {
	panic("vec: no assembly")
}
func dequantS8NTAVX512(dst *float32, src *byte, n int, scale float32, zp int32) {
	panic("vec: no assembly")
}
func dequantU8NTAVX512(dst *float32, src *byte, n int, scale float32, zp int32) {
	panic("vec: no assembly")
}
func requantAVX512(dst *byte, src *int32, n int, m, lo, hi float32, zp int32) {
	panic("vec: no assembly")
}
func minmaxAVX512(src *float32, n int, out *[80]uint32) { panic("vec: no assembly") }
func histAVX512(counts *uint32, src *float32, n int, lo, hi, s float32, bins int32, tab *[64]int32) {
	panic("vec: no assembly")
}
func histAlignedAVX512(counts *uint32, src *float32, n int, s float32, start, bins int64, tab *[32]int32) {
	panic("vec: no assembly")
}
func histAligned32AVX512(counts *uint32, src *float32, n int, s, flo, fhi float32, start, bins int32, tab *[32]int32) {
	panic("vec: no assembly")
}

// hasAVX512BWVL is false: no assembly in this build.
const hasAVX512BWVL = false

func transposeBytesAVX512(dst *byte, ds int, src *byte, ss int, rows, cols, copies, delta int) {
	panic("vec: no assembly")
}

func transposeBytesAVX2(dst *byte, ds int, src *byte, ss int, rows, cols, copies, delta int) {
	panic("vec: no assembly")
}

func transpose32AVX512(dst *int32, ds int, src *int32, ss int, rows, cols int) {
	panic("vec: no assembly")
}

func quantDivNTAVX512(dst *byte, src *float32, n int, scale, lo, hi float32, zp int32) {
	panic("vec: no assembly")
}
func quantMulNTAVX512(dst *byte, src *float32, n int, scale, lo, hi float32, zp int32) {
	panic("vec: no assembly")
}

// hasAVX2 is false: no assembly in this build.
const hasAVX2 = false

func quantDivAVX2(dst *byte, src *float32, n int, scale, lo, hi float32, zp int32) {
	panic("vec: no assembly")
}
func quantMulAVX2(dst *byte, src *float32, n int, scale, lo, hi float32, zp int32) {
	panic("vec: no assembly")
}
func dequantS8AVX2(dst *float32, src *byte, n int, scale float32, zp int32) {
	panic("vec: no assembly")
}
func dequantU8AVX2(dst *float32, src *byte, n int, scale float32, zp int32) {
	panic("vec: no assembly")
}
func requantAVX2(dst *byte, src *int32, n int, m, lo, hi float32, zp int32) {
	panic("vec: no assembly")
}
func requantColsAVX2(dst *byte, src *int32, mult *float32, n int, lo, hi float32, zp int32) {
	panic("vec: no assembly")
}
func floatColsAVX2(dst *float32, src *int32, scale, bias *float32, n int) {
	panic("vec: no assembly")
}
func minmaxAVX2(src *float32, n int, out *[40]uint32) { panic("vec: no assembly") }
func histAVX2(counts *uint32, src *float32, n int, lo, hi, s float32, bins int32, off *[8]int32) {
	panic("vec: no assembly")
}
func histAligned32AVX2(counts *uint32, src *float32, n int, s, flo, fhi float32, start, bins int32, off *[8]int32) {
	panic("vec: no assembly")
}

func addU8AVX512(dst, a, b *byte, n int, za, zb int32, ma, mb, lo, hi float32, zy int32) {
	panic("vec: no assembly")
}
func addS8AVX512(dst, a, b *byte, n int, za, zb int32, ma, mb, lo, hi float32, zy int32) {
	panic("vec: no assembly")
}
func mulU8AVX512(dst, a, b *byte, n int, za, zb int32, ma, mb, lo, hi float32, zy int32) {
	panic("vec: no assembly")
}
func mulS8AVX512(dst, a, b *byte, n int, za, zb int32, ma, mb, lo, hi float32, zy int32) {
	panic("vec: no assembly")
}
func addU8AVX2(dst, a, b *byte, n int, za, zb int32, ma, mb, lo, hi float32, zy int32) {
	panic("vec: no assembly")
}
func addS8AVX2(dst, a, b *byte, n int, za, zb int32, ma, mb, lo, hi float32, zy int32) {
	panic("vec: no assembly")
}
func mulU8AVX2(dst, a, b *byte, n int, za, zb int32, ma, mb, lo, hi float32, zy int32) {
	panic("vec: no assembly")
}
func mulS8AVX2(dst, a, b *byte, n int, za, zb int32, ma, mb, lo, hi float32, zy int32) {
	panic("vec: no assembly")
}
func maxBytesAVX2(dst, src *byte, n int, zp byte, signed bool) { panic("vec: no assembly") }
func maxPairsAVX2(dst, a, b *byte, n int, signed bool)         { panic("vec: no assembly") }
