package gemm

import "github.com/qgpu/qgpu/backends/cpu/internal/isa"

// toggle is the implementation GEMM calls use, set at init to the best
// supported one.
var toggle = isa.New("gemm", supported)

// supported reports the assembly this build and CPU can run: isa.AVX512
// needs AVX-512 F, BW and VNNI (VPDPBUSD on zmm), isa.AVX2 needs AVX2
// (VPMOVZXBW/VPMOVSXBW + VPMADDWD, exact for full-range data).
func supported(v isa.ISA) bool {
	switch v {
	case isa.AVX2:
		return hasAVX2
	case isa.AVX512:
		return hasVNNI
	}
	return false
}

func currentISA() isa.ISA { return toggle.Current() }

// Current returns the implementation GEMM calls use now.
func Current() isa.ISA { return toggle.Current() }

// Supported reports whether v can run on this CPU and build (with
// -tags purego or off amd64 only isa.Generic is).
func Supported(v isa.ISA) bool { return toggle.Supported(v) }

// Detected returns the best implementation supported here.
func Detected() isa.ISA { return toggle.Detected() }

// SetISA makes later GEMM calls use v and returns a function that restores
// the previous choice. It is meant for tests and benchmarks: calls already
// running are not affected. It fails if v is not Supported.
func SetISA(v isa.ISA) (restore func(), err error) { return toggle.Set(v) }
