//go:build !amd64 || purego

package vec

// The kernels without assembly in this build: each calls its Go form
// (as crypto/sha256's block calls blockGeneric), so every exported
// function computes the same bytes as with the assembly, only slower.

// hasAVX512 and hasAVX2 are false: no assembly here.
const (
	hasAVX512 = false
	hasAVX2   = false
)

func quantizePerTensor(dst []byte, src []float32, scale float32, zp, qmin, qmax int32, stream bool) {
	quantizeGeneric(dst, src, scale, zp, qmin, qmax)
}

func quantizeTorchPerTensor(dst []byte, src []float32, scale float32, zp, qmin, qmax int32, stream bool) {
	quantizeTorchGeneric(dst, src, scale, zp, qmin, qmax)
}

func dequantizePerTensor(dst []float32, src []byte, signed bool, scale float32, zp int32, stream bool) {
	dequantizeGeneric(dst, src, signed, scale, zp)
}

func requantizeInt32(dst []byte, src []int32, m float32, zp, qmin, qmax int32) {
	requantizeGeneric(dst, src, m, zp, qmin, qmax)
}

func requantizeCols(dst []byte, src []int32, mult []float32, zp, qmin, qmax int32) {
	requantizeColsGeneric(dst, src, mult, zp, qmin, qmax)
}

func floatCols(dst []float32, src []int32, scale, bias []float32) {
	floatColsGeneric(dst, src, scale, bias)
}

func minMax(src []float32) MinMaxStats { return minMaxGeneric(src) }

func histogram(counts []uint32, src []float32, lo, hi, s float32, bins int) {
	histogramGeneric(counts, src, lo, hi, s, bins)
}

func histogramAligned(counts []uint32, src []float32, s float32, start int64) {
	histogramAlignedGeneric(counts, src, s, start)
}

func addMul(y, a, b []byte, signed, mul bool, za, zb int32, ma, mb float32, zy, qmin, qmax int32) {
	binaryGeneric(y, a, b, signed, mul, za, zb, ma, mb, zy, qmin, qmax)
}

func relu(y, x []byte, signed bool, zp int32) { reluGeneric(y, x, signed, zp) }

func maxPairs(y, a, b []byte, signed bool) { maxPairsGeneric(y, a, b, signed) }

func transposeBytesCopies(dst []byte, ds int, src []byte, ss int, rows, cols, copies, delta int) {
	transposeBytesCopiesGeneric(dst, ds, src, ss, rows, cols, copies, delta)
}

func transposeInt32(dst []int32, ds int, src []int32, ss int, rows, cols int) {
	transposeInt32Generic(dst, ds, src, ss, rows, cols)
}
