package nbits

import "github.com/qgpu/qgpu/backends/cpu/internal/isa"

// toggle is the implementation calls use, set at init to the best
// supported one.
var toggle = isa.New("nbits", supported)

// supported reports the assembly this build and CPU can run: isa.AVX512
// needs AVX-512 F, BW, VL and VNNI; isa.AVX2 needs AVX2 (its
// int8-activation kernels multiply with VPMADDUBSW and VPMADDWD).
func supported(v isa.ISA) bool {
	switch v {
	case isa.AVX2:
		return hasAVX2
	case isa.AVX512:
		return hasAVX512
	}
	return false
}

// Current returns the implementation calls use now.
func Current() isa.ISA { return toggle.Current() }

// Supported reports whether v can run on this CPU and build.
func Supported(v isa.ISA) bool { return toggle.Supported(v) }

// Detected returns the best implementation supported here.
func Detected() isa.ISA { return toggle.Detected() }

// SetISA makes later calls use v and returns a function that restores the
// previous choice (tests and benchmarks). It fails if v is not Supported.
func SetISA(v isa.ISA) (restore func(), err error) { return toggle.Set(v) }
