//go:build !amd64 || purego

package gemm

import "github.com/qgpu/qgpu/backends/cpu/internal/isa"

// hasVNNI is false: no assembly in this build.
const hasVNNI = false

// hasAVX2 is false: no assembly in this build.
const hasAVX2 = false

func kernelFor(isa.ISA) microKernel { return tileGeneric }

// peak runs nothing: there is no assembly peak loop in this build.
func peak(v isa.ISA, n int) int { return 0 }

func kernelOutput(isa.ISA) bool { return false }

func kernelSegments(isa.ISA) bool { return false }
