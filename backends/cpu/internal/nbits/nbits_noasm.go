//go:build !amd64 || purego

package nbits

// No assembly in this build: Fits is always false and the backend runs
// every MatMulNBits on its reference kernel.

const (
	hasAVX512 = false
	hasAVX2   = false
)

func floatGroup(y []float32, a []float32, rows int, w *Weights, n0 int, sidx []int32) {
	panic("nbits: no kernels in this build")
}

func int8Group(y []float32, p *Int8Acts, t int, w *Weights, n0 int, sidx []int32) {
	panic("nbits: no kernels in this build")
}
