package cpu

import (
	"context"

	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// The reference kernel of MatMulNBits (docs/semantics.md, MatMulNBits),
// kept beside generic.go: qtensor.MatMulNBitsRow, the one implementation
// of the formula, row by row.

func matMulNBitsGeneric(ctx context.Context, op *backend.MatMulNBits) error {
	a := bytesOf(op.A)
	K, N := op.K, op.N
	w := view(op.B)
	w.Shape = []int{N, op.RowLen}
	w.Params = qtensor.Params{Granularity: qtensor.PerBlock, Axis: 1, BlockSize: op.BlockSize, Scales: op.Scales, ZeroPoints: op.ZeroPoints}
	row, out := make([]float32, K), make([]float32, N)
	y := bytesOf(op.Y)
	var yq *qtensor.Tensor
	if op.Quantized {
		yq = view(op.Y)
	}
	qmin, qmax := op.Y.DType().QMin(), op.Y.DType().QMax()
	for m := range op.M {
		if err := ctx.Err(); err != nil {
			return err
		}
		for k := range row {
			row[k] = getF32(a, m*K+k)
		}
		qtensor.MatMulNBitsRow(out, row, w, op.Mode == backend.NBitsInt8, op.Bias)
		for n, v := range out {
			if op.Quantized {
				yq.Set(m*N+n, qtensor.Quantize(v, op.YScale, op.YZP, qmin, qmax))
			} else {
				putF32(y, m*N+n, v)
			}
		}
	}
	return nil
}
