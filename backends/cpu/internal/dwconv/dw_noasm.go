//go:build !amd64 || purego

package dwconv

// The kernels without assembly in this build: each calls its Go form
// (as crypto/sha256's block calls blockGeneric), so every exported
// method computes the same accumulators and bytes as with the assembly.

// hasAVX512 and hasAVX2 are false: no assembly here.
const (
	hasAVX512 = false
	hasAVX2   = false
)

func (p *Plane) int32(dst []int32) { p.int32Generic(dst) }

func (p *Plane) requantize(dst []byte, m float32, zp, qmin, qmax int32) {
	p.requantizeGeneric(dst, m, zp, qmin, qmax)
}

func (p *NHWC) int32(dst []int32) { p.generic(dst) }

func (p *NHWC) requantize(dst []byte, mult []float32, zp, qmin, qmax int32) {
	p.requantizeGeneric(dst, mult, zp, qmin, qmax)
}
