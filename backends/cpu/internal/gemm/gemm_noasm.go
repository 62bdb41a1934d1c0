//go:build !amd64 || purego

package gemm

// hasVNNI is false: no assembly in this build.
const hasVNNI = false

// hasAVX2 is false: no assembly in this build.
const hasAVX2 = false

func kernelFor(ISA) microKernel { return tileGeneric }

// peak runs nothing: there is no assembly peak loop in this build.
func peak(n int) bool { return false }

func epilogueVec(ISA) bool { return false }

func requantRowVec([]int32, []float32, int, []uint8, float32, float32, int32) {
	panic("gemm: no SIMD epilogue in this build")
}

func floatRowVec([]int32, []float32, []float32, int, []float32) {
	panic("gemm: no SIMD epilogue in this build")
}

func kernelRequant(ISA) bool { return false }
