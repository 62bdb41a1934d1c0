//go:build amd64 && !purego

package vec

// transposeBytesCopies is TransposeBytesCopies after its checks: the
// assembly where it applies, the Go blocks elsewhere.
func transposeBytesCopies(dst []byte, ds int, src []byte, ss int, rows, cols, copies, delta int) {
	if rows >= 16 && cols >= 32 && useAVX512() && hasAVX512BWVL {
		transposeBytesAVX512(&dst[0], ds, &src[0], ss, rows, cols, copies, delta)
		return
	}
	if rows >= 8 && cols >= 32 && (useAVX2() || useAVX512()) && hasAVX2 {
		transposeBytesAVX2(&dst[0], ds, &src[0], ss, rows, cols, copies, delta)
		return
	}
	transposeBytesCopiesGeneric(dst, ds, src, ss, rows, cols, copies, delta)
}

// transposeInt32 is TransposeInt32 after its checks: the assembly where it
// applies, the Go blocks elsewhere.
func transposeInt32(dst []int32, ds int, src []int32, ss int, rows, cols int) {
	if rows >= 16 && cols >= 16 && useAVX512() {
		transpose32AVX512(&dst[0], ds, &src[0], ss, rows, cols)
		return
	}
	transposeInt32Generic(dst, ds, src, ss, rows, cols)
}
