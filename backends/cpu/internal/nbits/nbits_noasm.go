//go:build !amd64 || purego

package nbits

// No assembly in this build: Fits is always false and the backend runs
// every MatMulNBits on its reference kernel.

const (
	hasAVX512 = false
	hasAVX2   = false
)

func floatGroups(y []float32, a []float32, rows, groups int, w *Weights, pn *Panels, gi int, tab *[16]float32) {
	panic("nbits: no kernels in this build")
}

func int8Groups(y []float32, p *Int8Acts, t, groups int, w *Weights, pn *Panels, gi int) {
	panic("nbits: no kernels in this build")
}
