// Package cpu is qgpu's CPU backend, registered as "cpu".
//
// Its generic kernels (generic.go) are plain Go loops over the scalar
// formulas of package qtensor: the reference that every other kernel and
// backend is checked against, bit for bit. Faster kernels (AVX-512 VNNI,
// AVX2) are selected at run time from the CPU's features and are tested
// against the generic ones. One table in dispatch.go maps every op kind
// to its generic kernel and, where there is one, its fast kernel; a fast
// kernel declines the ops it does not cover and the generic one runs them
// (TestDispatchTable lists the kinds with no fast kernel).
//
// The SIMD kernels live in internal/gemm, internal/vec and internal/dwconv
// (avo-generated assembly, with Go forms that run under -tags purego and
// off amd64), switched together between AVX-512, AVX2 and Go by SetISA
// through the one ISA type of internal/isa. They import nothing above them
// (qtensor, internal/isa, x/sys/cpu and each other; TestKernelLayering).
//
// The package is pure Go (no cgo) and is imported for its side effect:
//
//	import _ "github.com/qgpu/qgpu/backends/cpu"
package cpu
