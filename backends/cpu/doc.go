// Package cpu is qgpu's CPU backend, registered as "cpu".
//
// Its generic kernels (generic.go) are plain Go loops over the scalar
// formulas of package qtensor: the reference that every other kernel and
// backend is checked against, bit for bit. Faster kernels (AVX-512 VNNI,
// AVX2) are selected at run time from the CPU's features and are tested
// against the generic ones.
//
// The package is pure Go (no cgo) and is imported for its side effect:
//
//	import _ "github.com/qgpu/qgpu/backends/cpu"
package cpu
