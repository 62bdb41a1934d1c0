package cpu

import (
	"context"
	"math"

	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// The reference kernel of MatMulNBits (docs/semantics.md, MatMulNBits),
// kept beside generic.go: every sum a left fold from -0.0 in float32, in
// the order the semantics fix, one output at a time.

// negZero is -0.0, the identity of float32 addition the sums start from.
var negZero = float32(math.Copysign(0, -1))

func matMulNBitsGeneric(ctx context.Context, op *backend.MatMulNBits) error {
	a, w := bytesOf(op.A), view(op.B)
	K, N, bs, nb := op.K, op.N, op.BlockSize, op.Blocks
	row := make([]float32, K)
	sa := make([]float32, nb)
	qa := make([]int32, K)
	y := bytesOf(op.Y)
	var yq *qtensor.Tensor
	if op.Quantized {
		yq = view(op.Y)
	}
	for m := range op.M {
		if err := ctx.Err(); err != nil {
			return err
		}
		for k := range row {
			row[k] = getF32(a, m*K+k)
		}
		if op.Mode == backend.NBitsInt8 {
			for b := range nb {
				k0, k1 := b*bs, min((b+1)*bs, K)
				sa[b] = qtensor.NBitsActScale(qtensor.NBitsAbsMax(row[k0:k1]))
				for k := k0; k < k1; k++ {
					qa[k] = qtensor.Quantize(row[k], sa[b], 0, -127, 127)
				}
			}
		}
		for n := range N {
			acc := negZero
			for b := range nb {
				k0, k1 := b*bs, min((b+1)*bs, K)
				scale, zp := op.Scales[n*nb+b], op.ZeroPoints[n*nb+b]
				base := n * op.RowLen
				if op.Mode == backend.NBitsInt8 {
					var isum int32
					for k := k0; k < k1; k++ {
						isum += qa[k] * (w.At(base+k) - zp)
					}
					acc += float32(float32(sa[b]*scale) * float32(isum))
					continue
				}
				s := negZero
				for k := k0; k < k1; k++ {
					s += float32(row[k] * float32(w.At(base+k)-zp))
				}
				acc += float32(scale * s)
			}
			if op.Bias != nil {
				acc += op.Bias[n]
			}
			if op.Quantized {
				yq.Set(m*N+n, qtensor.Quantize(acc, op.YScale, op.YZP, op.Y.DType().QMin(), op.Y.DType().QMax()))
			} else {
				putF32(y, m*N+n, qtensor.Canonical(acc))
			}
		}
	}
	return nil
}
