package cpu

import (
	"context"

	"github.com/qgpu/qgpu/backends/cpu/internal/nbits"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// nbitsKey identifies the packed form of a MatMulNBits B: its descriptor
// (one per engine tensor, whose params never change) and the kernels'
// group width.
type nbitsKey struct {
	t     *backend.Tensor
	width int
}

// nbitsPanels returns B's weights, scales and zero points packed for the
// kernels (nbits.Pack), from the buffer's cache (emptied whenever the
// buffer is written) or packed now.
func nbitsPanels(t *backend.Tensor, w *nbits.Weights) *nbits.Panels {
	m := t.Buffer().(*buffer)
	key := nbitsKey{t: t, width: nbits.GroupWidth()}
	m.cache.mu.Lock()
	defer m.cache.mu.Unlock()
	if p := m.cache.nbits[key]; p != nil {
		return p
	}
	p := nbits.Pack(w)
	if m.cache.nbits == nil {
		m.cache.nbits = map[nbitsKey]*nbits.Panels{}
	}
	m.cache.nbits[key] = p
	return p
}

// matMulNBitsFast runs MatMulNBits with 4-bit weights on the SIMD kernels
// of internal/nbits (one lane per output column, the order of
// docs/semantics.md), the column groups split over the workers; it
// declines every op outside their domain (nbits.Fits). Bias, NaN
// canonicalisation and a quantized output are applied per output here,
// with the reference's scalar formulas.
func (b *Backend) matMulNBitsFast(ctx context.Context, op *backend.MatMulNBits) (bool, error) {
	d := op.B.DType()
	if d != qtensor.Int4 && d != qtensor.Uint4 {
		return false, nil
	}
	w := &nbits.Weights{Data: bytesOf(op.B), N: op.N, K: op.K, RowLen: op.RowLen, BlockSize: op.BlockSize,
		Scales: op.Scales, ZeroPoints: op.ZeroPoints, Signed: d == qtensor.Int4, UniformZP: op.UniformZeroPoints}
	int8Mode := op.Mode == backend.NBitsInt8
	if !nbits.Fits(w, int8Mode) {
		return false, nil
	}
	w.Panels = nbitsPanels(op.B, w)
	if err := ctx.Err(); err != nil {
		return true, err
	}
	M, N := op.M, op.N
	a := asFloat32(bytesOf(op.A))
	var y []float32
	if op.Quantized {
		y = make([]float32, M*N)
	} else {
		y = asFloat32(bytesOf(op.Y))
	}
	g := nbits.GroupWidth()
	groups := (N + g - 1) / g
	var yq *qtensor.Tensor
	var qmin, qmax int32
	if op.Quantized {
		yq = view(op.Y)
		qmin, qmax = op.Y.DType().QMin(), op.Y.DType().QMax()
	}
	// finish applies the bias, NaN canonicalisation or the quantized
	// output to columns [n0, n1) of every row.
	finish := func(n0, n1 int) {
		for m := range M {
			for n := n0; n < n1; n++ {
				i := m*N + n
				v := y[i]
				if op.Bias != nil {
					v += op.Bias[n]
				}
				if op.Quantized {
					yq.Set(i, qtensor.Quantize(v, op.YScale, op.YZP, qmin, qmax))
				} else {
					y[i] = qtensor.Canonical(v)
				}
			}
		}
	}
	// The activations are laid out (int8: quantized) once, their tiles
	// split over the workers, then the column groups are.
	work := groups * (op.RowLen / 2 * g) * ((M + 3) / 4) // weight bytes read
	if int8Mode {
		p := nbits.NewInt8Acts(M, w)
		b.rows(p.Tiles(), M*op.K*8, func(t0, t1 int) { p.Prepare(a, w, t0, t1) })
		b.rows(groups, work, func(g0, g1 int) {
			n0, n1 := g0*g, min(g1*g, N)
			nbits.Int8(y[n0:], N, p, w, n0, n1)
			finish(n0, n1)
		})
	} else {
		p := nbits.NewFloatActs(M, w)
		defer p.Release()
		b.rows(p.Tiles(), M*op.K*4, func(t0, t1 int) { p.Fill(a, t0, t1) })
		b.rows(groups, work, func(g0, g1 int) {
			n0, n1 := g0*g, min(g1*g, N)
			nbits.Float(y[n0:], N, p, w, n0, n1)
			finish(n0, n1)
		})
	}
	return true, nil
}
