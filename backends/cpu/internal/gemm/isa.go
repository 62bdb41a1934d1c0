package gemm

import (
	"fmt"

	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
)

// ISA names an implementation of the micro-kernels.
type ISA int32

const (
	// Generic is the pure Go implementation (always available).
	Generic ISA = iota
	// AVX2 is the AVX2 implementation (VPMOVZXBW/VPMOVSXBW + VPMADDWD,
	// exact for full-range data), for CPUs without AVX-512 VNNI.
	AVX2
	// AVX512VNNI is the AVX-512 VNNI implementation (VPDPBUSD on zmm).
	AVX512VNNI
)

// String returns the name of the ISA.
func (i ISA) String() string {
	switch i {
	case Generic:
		return "generic"
	case AVX2:
		return "avx2"
	case AVX512VNNI:
		return "avx512vnni"
	}
	return fmt.Sprintf("ISA(%d)", int32(i))
}

// toggle is the implementation GEMM calls use, set at init to the best
// supported one.
var toggle = isa.New("gemm", Supported, AVX512VNNI, AVX2)

func currentISA() ISA { return toggle.Current() }

// Current returns the implementation GEMM calls use now.
func Current() ISA { return toggle.Current() }

// Supported reports whether v can run on this CPU and build (with
// -tags purego or off amd64 only Generic is).
func Supported(v ISA) bool {
	switch v {
	case Generic:
		return true
	case AVX2:
		return hasAVX2
	case AVX512VNNI:
		return hasVNNI
	}
	return false
}

// Detected returns the best implementation supported here.
func Detected() ISA { return toggle.Detected() }

// SetISA makes later GEMM calls use isa and returns a function that restores
// the previous choice. It is meant for tests and benchmarks: calls already
// running are not affected. It fails if isa is not Supported.
func SetISA(v ISA) (restore func(), err error) { return toggle.Set(v) }
