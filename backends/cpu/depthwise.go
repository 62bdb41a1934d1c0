package cpu

import (
	"context"

	"github.com/qgpu/qgpu/backends/cpu/internal/dwconv"
	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
	"github.com/qgpu/qgpu/backends/cpu/internal/vec"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// convDepthwise runs a depthwise convolution (one input and one output
// channel per group) one channel plane at a time on the dwconv kernels:
// each plane is staged zero-point padded (padding contributes
// (zp - zp) * w = 0; the input zero point is folded into the accumulator's
// start value, see dwconv.InitValue), and the kernel writes the plane's
// int32 accumulators (bias included) straight into an int32 output, or
// requantized into a quantized one; the fixed-point and float outputs take
// the reference epilogue on int32 accumulators. The planes are split over
// the worker goroutines.
func (b *Backend) convDepthwise(ctx context.Context, op *backend.Conv) error {
	C := op.C
	Hp, Wp := op.H+op.PadTop+op.PadBottom, op.Wd+op.PadLeft+op.PadRight
	out := newOutput(&op.Epilogue, op.Y)
	x, w := bytesOf(op.X), bytesOf(op.W)
	wSigned := op.W.DType() == qtensor.Int8
	khw := op.KH * op.KW
	ep := &op.Epilogue
	wr := make([]int32, C*khw) // [c][kh][kw] = w - wzp[c]
	init := make([]int32, C)   // bias[c] - xzp * sum(wr[c])
	for c := range C {
		zp := backend.At(op.WZP, c)
		for k, v := range w[c*khw : (c+1)*khw] {
			if wSigned {
				wr[c*khw+k] = int32(int8(v)) - zp
			} else {
				wr[c*khw+k] = int32(v) - zp
			}
		}
		var bias int32
		if ep.Bias != nil {
			bias = backend.At(ep.Bias, c)
		}
		init[c] = dwconv.InitValue(bias, op.XZP, wr[c*khw:(c+1)*khw])
	}
	P := op.OH * op.OW
	signed := op.X.DType() == qtensor.Int8
	y := bytesOf(op.Y)
	if dwconv.Current() == isa.AVX512 && P <= nhwcMaxPixels {
		if pw, pinit, ok := dwconv.PackNHWC(wr, init, C, khw); ok {
			return b.depthwiseNHWC(ctx, op, pw, pinit, out)
		}
	}
	// The kernel reads the input planes in place when there is no padding
	// and the columns are one apart; otherwise it reads a staged copy.
	direct := op.PadTop == 0 && op.PadLeft == 0 && op.PadBottom == 0 && op.PadRight == 0 && op.StrideW == 1
	refEpilogue := ep.Output != backend.OutInt32 && !(ep.Output == backend.OutQuantized && ep.Fixed == nil)
	var accs []int32
	if refEpilogue {
		var release func()
		_, accs, _, release = convScratch(0, C*P, 0) // accs: [c][p], bias included
		defer release()
	}
	for n := range op.N {
		if err := ctx.Err(); err != nil {
			return err
		}
		base := n * C * P
		b.rows(C, C*P*khw, func(c0, c1 int) {
			var stage []byte
			if !direct {
				// One more byte: a stride-2 kernel reads a word per column.
				stage = make([]byte, Hp*Wp+1)
				fill(stage, byte(op.XZP)) // the border stays; planes overwrite the inside
			}
			for c := c0; c < c1; c++ {
				src := x[(n*C+c)*op.H*op.Wd : (n*C+c+1)*op.H*op.Wd]
				if !direct {
					for h := range op.H {
						copy(stage[(h+op.PadTop)*Wp+op.PadLeft:], src[h*op.Wd:(h+1)*op.Wd])
					}
					src = stage
				}
				p := dwconv.Plane{Src: src, Wp: Wp, KH: op.KH, KW: op.KW, SH: op.StrideH, SW: op.StrideW,
					DH: op.DilationH, DW: op.DilationW, OH: op.OH, OW: op.OW, Signed: signed,
					W: wr[c*khw : (c+1)*khw], Init: init[c]}
				o := base + c*P
				switch {
				case refEpilogue:
					p.Int32(accs[c*P : (c+1)*P])
				case ep.Output == backend.OutInt32:
					p.Int32(asInt32(y)[o : o+P])
				default:
					p.Requantize(y[o:o+P], backend.At(ep.Mult, c), ep.YZP, out.qmin, out.qmax)
				}
			}
		})
		if refEpilogue {
			storeAccs(op, accs, base, P)
		}
	}
	return nil
}

// storeAccs writes a depthwise convolution's accumulators accs ([c][p],
// bias included) from output element base with the reference epilogue:
// float outputs and the fixed-point rule.
func storeAccs(op *backend.Conv, accs []int32, base, P int) {
	noBias := op.Epilogue
	noBias.Bias = nil
	o := newOutput(&noBias, op.Y)
	for i, a := range accs {
		o.store(base+i, a, i/P)
	}
}

// nhwcMaxPixels is the largest output plane (OH*OW) that convDepthwise
// runs through dwconv.NHWC rather than plane by plane: below it the plane
// kernels' fixed work per plane outweighs the plane's products.
const nhwcMaxPixels = 400

// depthwiseNHWC runs a depthwise convolution of small planes with
// dwconv.NHWC: each image is staged as padded NHWC, the kernel writes
// int32 accumulators [P][C] (output rows split over the workers), and the
// output is requantized per channel in that layout (vec.RequantizeCols,
// one pixel's channels at a time) and transposed to NCHW, or transposed as
// int32, or handed to the reference epilogue.
func (b *Backend) depthwiseNHWC(ctx context.Context, op *backend.Conv, pw, pinit []int32, out output) error {
	C, P := op.C, op.OH*op.OW
	Hp, Wp := op.H+op.PadTop+op.PadBottom, op.Wd+op.PadLeft+op.PadRight
	x, y := bytesOf(op.X), bytesOf(op.Y)
	ep := &op.Epilogue
	signed := op.X.DType() == qtensor.Int8
	stage, accs, tmp, release := convScratch(Hp*Wp*C+op.H*op.Wd*C, 2*P*C, P*C)
	defer release()
	nhwc := stage[Hp*Wp*C:]
	stage = stage[:Hp*Wp*C]
	acc, cp := accs[:P*C], accs[P*C:] // [P][C], then [C][P]
	quant := ep.Output == backend.OutQuantized && ep.Fixed == nil
	var mult []float32
	if quant {
		mult = make([]float32, C)
		for c := range mult {
			mult[c] = backend.At(ep.Mult, c)
		}
	}
	for n := range op.N {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.stageNHWC(stage, nhwc, x, op, n, 0, C, Hp, Wp)
		b.rows(op.OH, P*C*op.KH*op.KW, func(r0, r1 int) {
			p := dwconv.NHWC{Src: stage[r0*op.StrideH*Wp*C:], Wp: Wp, C: C, KH: op.KH, KW: op.KW,
				SH: op.StrideH, SW: op.StrideW, DH: op.DilationH, DW: op.DilationW, OH: r1 - r0, OW: op.OW,
				Signed: signed, W: pw, Init: pinit}
			p.Int32(acc[r0*op.OW*C : r1*op.OW*C])
		})
		base := n * C * P
		switch {
		case quant:
			b.rows(P, P*C, func(p0, p1 int) {
				for q := p0; q < p1; q++ {
					vec.RequantizeCols(tmp[q*C:(q+1)*C], acc[q*C:(q+1)*C], mult, ep.YZP, out.qmin, out.qmax)
				}
				vec.TransposeBytes(y[base+p0:], P, tmp[p0*C:], C, p1-p0, C)
			})
		case ep.Output == backend.OutInt32:
			b.transpose32(asInt32(y)[base:base+C*P], acc, P, C)
		default:
			b.transpose32(cp, acc, P, C)
			storeAccs(op, cp, base, P)
		}
	}
	return nil
}
