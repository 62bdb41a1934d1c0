package dwconv

import (
	"fmt"
	"sync/atomic"
)

// ISA names an implementation of the kernels.
type ISA int32

const (
	// Generic is the pure Go implementation. Always available.
	Generic ISA = iota
	// AVX512 is the AVX-512 (F, BW, VNNI) implementation.
	AVX512
)

// String returns the name of the ISA.
func (i ISA) String() string {
	switch i {
	case Generic:
		return "generic"
	case AVX512:
		return "avx512"
	}
	return fmt.Sprintf("ISA(%d)", int32(i))
}

var isaCur atomic.Int32

func init() { isaCur.Store(int32(Detected())) }

// Current returns the implementation kernel calls use now.
func Current() ISA { return ISA(isaCur.Load()) }

// Supported reports whether isa can run on this CPU and build (with
// -tags purego or off amd64 only Generic is).
func Supported(isa ISA) bool {
	switch isa {
	case Generic:
		return true
	case AVX512:
		return hasAVX512
	}
	return false
}

// Detected returns the best implementation supported here.
func Detected() ISA {
	if Supported(AVX512) {
		return AVX512
	}
	return Generic
}

// SetISA makes later kernel calls use isa and returns a function that
// restores the previous choice. It is meant for tests and benchmarks: calls
// already running are not affected. It fails if isa is not Supported.
func SetISA(isa ISA) (restore func(), err error) {
	if !Supported(isa) {
		return nil, fmt.Errorf("dwconv: ISA %v not supported on this CPU/build", isa)
	}
	prev := isaCur.Swap(int32(isa))
	return func() { isaCur.Store(prev) }, nil
}
