package cpu

import (
	"context"

	"github.com/qgpu/qgpu/backends/cpu/internal/vec"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// convDepthwise runs a depthwise convolution (one input and one output
// channel per group): the image is staged as zero-point-padded NHWC, so
// every kernel cell is one pass over contiguous channels with no bounds
// tests (padding contributes (zp - zp) * w = 0), accumulating int32 per
// channel; the epilogue is the reference one.
func (b *Backend) convDepthwise(ctx context.Context, op *engine.Conv) error {
	C := op.C
	Hp, Wp := op.H+op.PadTop+op.PadBottom, op.Wd+op.PadLeft+op.PadRight
	out := newOutput(&op.Epilogue, op.Y)
	x, w := bytesOf(op.X), view(op.W)
	khw := op.KH * op.KW
	wr := make([]int32, khw*C) // [kh][kw][c] = w - wzp[c]
	for c := range C {
		zp := engine.At(op.WZP, c)
		for k := range khw {
			wr[k*C+c] = w.At(c*khw+k) - zp
		}
	}
	P := op.OH * op.OW
	hwc, accs, _, release := convScratch(Hp*Wp*C, C*P, 0) // accs: [c][p], bias included
	defer release()
	signed := op.X.DType() == qtensor.Int8
	ep := &op.Epilogue
	y := bytesOf(op.Y)
	for n := range op.N {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.stagePadded(hwc, x, op, n, 0, C, Hp, Wp)
		base := n * C * P
		b.rows(op.OH, P*C*khw, func(h0, h1 int) {
			acc := make([]int32, C)
			for oh := h0; oh < h1; oh++ {
				for ow := range op.OW {
					clear(acc)
					for kh := range op.KH {
						for kw := range op.KW {
							px := hwc[((oh*op.StrideH+kh*op.DilationH)*Wp+ow*op.StrideW+kw*op.DilationW)*C:][:C]
							wk := wr[(kh*op.KW+kw)*C:][:C]
							if signed {
								depthwiseRow(acc, asInt8(px), wk, op.XZP)
							} else {
								depthwiseRow(acc, px, wk, op.XZP)
							}
						}
					}
					p := oh*op.OW + ow
					for c, a := range acc {
						if ep.Bias != nil {
							a += engine.At(ep.Bias, c)
						}
						accs[c*P+p] = a
					}
				}
			}
		})
		// The epilogue, one contiguous channel plane at a time.
		switch {
		case ep.Output == engine.OutInt32:
			copy(asInt32(y)[base:base+C*P], accs)
		case ep.Output == engine.OutQuantized && ep.Fixed == nil:
			b.rows(C, C*P, func(c0, c1 int) {
				for c := c0; c < c1; c++ {
					vec.RequantizeInt32(y[base+c*P:base+(c+1)*P], accs[c*P:(c+1)*P], engine.At(ep.Mult, c), ep.YZP, out.qmin, out.qmax)
				}
			})
		default: // float output, fixed-point rule: the reference epilogue (bias already added)
			noBias := *ep
			noBias.Bias = nil
			o := newOutput(&noBias, op.Y)
			for i, a := range accs {
				o.store(base+i, a, i/P)
			}
		}
	}
	return nil
}

// depthwiseRow adds (x[c] - zp) * w[c] to acc[c] for every channel.
func depthwiseRow[T uint8 | int8](acc []int32, x []T, w []int32, zp int32) {
	x = x[:len(acc)]
	w = w[:len(acc)]
	for c := range acc {
		acc[c] += (int32(x[c]) - zp) * w[c]
	}
}
