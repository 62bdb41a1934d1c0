//go:build !amd64 || purego

package gemm

import "github.com/qgpu/qgpu/backends/cpu/internal/isa"

// Without assembly in this build every micro-kernel is the Go one (as
// crypto/sha256's block calls blockGeneric), so GEMM computes the same
// accumulators and outputs as with the assembly, only slower.

// hasVNNI and hasAVX2 are false: no assembly here.
const (
	hasVNNI = false
	hasAVX2 = false
)

// kernelFor returns the Go micro-kernel, tileGeneric.
func kernelFor(isa.ISA) microKernel { return tileGeneric }

// peak runs nothing: there is no assembly peak loop in this build.
func peak(isa.ISA, int) int { return 0 }

// kernelOutput is false: the epilogue runs after tileGeneric.
func kernelOutput(isa.ISA) bool { return false }

// kernelSegments is false: the driver passes tileGeneric one segment per
// call.
func kernelSegments(isa.ISA) bool { return false }
