//go:build amd64 && !purego

package vec

// binaryKernel is the signature of the generated Add and Mul kernels.
type binaryKernel func(dst, a, b *byte, n int, za, zb int32, ma, mb, lo, hi float32, zy int32)

// addMul is Add and Mul after their checks, for len(y) > 0: the assembly
// where it applies, the Go loop elsewhere.
func addMul(y, a, b []byte, signed, mul bool, za, zb int32, ma, mb float32, zy, qmin, qmax int32) {
	n := len(y)
	lo, hi := float32(qmin-zy), float32(qmax-zy)
	var k binaryKernel
	step := 1
	switch {
	case useAVX512():
		k = pickBinary(mul, signed, addU8AVX512, addS8AVX512, mulU8AVX512, mulS8AVX512)
	case useAVX2():
		k, step = pickBinary(mul, signed, addU8AVX2, addS8AVX2, mulU8AVX2, mulS8AVX2), 8
	}
	if k != nil {
		if v := n &^ (step - 1); v > 0 {
			k(&y[0], &a[0], &b[0], v, za, zb, ma, mb, lo, hi, zy)
			y, a, b = y[v:], a[v:], b[v:]
		}
	}
	binaryGeneric(y, a, b, signed, mul, za, zb, ma, mb, zy, qmin, qmax)
}

func pickBinary(mul, signed bool, addU8, addS8, mulU8, mulS8 binaryKernel) binaryKernel {
	switch {
	case mul && signed:
		return mulS8
	case mul:
		return mulU8
	case signed:
		return addS8
	}
	return addU8
}

// relu is Relu after its checks: the assembly where it applies, the Go
// loop elsewhere.
func relu(y, x []byte, signed bool, zp int32) {
	if n := len(y); n >= 32 && (useAVX512() || useAVX2()) && hasAVX2 {
		maxBytesAVX2(&y[0], &x[0], n&^31, byte(zp), signed)
		if n&31 != 0 { // the last 32 bytes again, overlapping: the same values
			maxBytesAVX2(&y[n-32], &x[n-32], 32, byte(zp), signed)
		}
		return
	}
	reluGeneric(y, x, signed, zp)
}

// maxPairs is MaxPairs after its checks: the assembly where it applies,
// the Go loop elsewhere.
func maxPairs(y, a, b []byte, signed bool) {
	if n := len(y); n >= 32 && (useAVX512() || useAVX2()) && hasAVX2 {
		maxPairsAVX2(&y[0], &a[0], &b[0], n&^31, signed)
		if n&31 != 0 {
			// The last 32 bytes again, overlapping: where y is a or b the
			// overlap already holds the maximum, which max leaves as is.
			maxPairsAVX2(&y[n-32], &a[n-32], &b[n-32], 32, signed)
		}
		return
	}
	maxPairsGeneric(y, a, b, signed)
}
