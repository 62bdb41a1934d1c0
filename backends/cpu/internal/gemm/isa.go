package gemm

import (
	"fmt"
	"sync/atomic"
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

// isaCur is the implementation GEMM calls use; set once at init to the best
// supported one.
var isaCur atomic.Int32

func init() { isaCur.Store(int32(Detected())) }

func currentISA() ISA { return ISA(isaCur.Load()) }

// Current returns the implementation GEMM calls use now.
func Current() ISA { return currentISA() }

// Supported reports whether isa can run on this CPU and build (with
// -tags purego or off amd64 only Generic is).
func Supported(isa ISA) bool {
	switch isa {
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
func Detected() ISA {
	switch {
	case Supported(AVX512VNNI):
		return AVX512VNNI
	case Supported(AVX2):
		return AVX2
	}
	return Generic
}

// SetISA makes later GEMM calls use isa and returns a function that restores
// the previous choice. It is meant for tests and benchmarks: calls already
// running are not affected. It fails if isa is not Supported.
func SetISA(isa ISA) (restore func(), err error) {
	if !Supported(isa) {
		return nil, fmt.Errorf("gemm: ISA %v not supported on this CPU/build", isa)
	}
	prev := isaCur.Swap(int32(isa))
	return func() { isaCur.Store(prev) }, nil
}
