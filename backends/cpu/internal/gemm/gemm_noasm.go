//go:build !amd64 || purego

package gemm

// hasVNNI is false: no assembly in this build.
const hasVNNI = false

// hasAVX2 is false: no assembly in this build.
const hasAVX2 = false

func kernelFor(ISA) microKernel { return tileGeneric }

// peak runs nothing: there is no assembly peak loop in this build.
func peak(isa ISA, n int) int { return 0 }

func kernelOutput(ISA) bool { return false }

func kernelSegments(ISA) bool { return false }
