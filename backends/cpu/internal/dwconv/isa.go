package dwconv

import (
	"fmt"

	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
)

// ISA names an implementation of the kernels.
type ISA int32

const (
	// Generic is the pure Go implementation. Always available.
	Generic ISA = iota
	// AVX512 is the AVX-512 (F, BW, VNNI) implementation.
	AVX512
	// AVX2 is the AVX2 implementation.
	AVX2
)

// String returns the name of the ISA.
func (i ISA) String() string {
	switch i {
	case Generic:
		return "generic"
	case AVX512:
		return "avx512"
	case AVX2:
		return "avx2"
	}
	return fmt.Sprintf("ISA(%d)", int32(i))
}

// toggle is the implementation kernel calls use, set at init to the best
// supported one.
var toggle = isa.New("dwconv", Supported, AVX512, AVX2)

// Current returns the implementation kernel calls use now.
func Current() ISA { return toggle.Current() }

// Supported reports whether v can run on this CPU and build (with
// -tags purego or off amd64 only Generic is).
func Supported(v ISA) bool {
	switch v {
	case Generic:
		return true
	case AVX512:
		return hasAVX512
	case AVX2:
		return hasAVX2
	}
	return false
}

// Detected returns the best implementation supported here.
func Detected() ISA { return toggle.Detected() }

// SetISA makes later kernel calls use isa and returns a function that
// restores the previous choice. It is meant for tests and benchmarks: calls
// already running are not affected. It fails if isa is not Supported.
func SetISA(v ISA) (restore func(), err error) { return toggle.Set(v) }
