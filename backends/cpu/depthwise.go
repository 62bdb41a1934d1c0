package cpu

import (
	"context"
	"slices"
	"sync"

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
	x := bytesOf(op.X)
	khw := op.KH * op.KW
	ep := &op.Epilogue
	dw := depthwiseWeights(op)
	wr, init := dw.wr, dw.init
	P := op.OH * op.OW
	signed := op.X.DType() == qtensor.Int8
	y := bytesOf(op.Y)
	if dwconv.Current() == isa.AVX512 && P <= nhwcMaxPixels && dw.pw != nil {
		return b.depthwiseNHWC(ctx, op, dw.pw, dw.pinit, out)
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

// dwWeights are a depthwise convolution's weights as the dwconv kernels
// take them: wr ([c][kh][kw] = w - wzp[c]) and init (bias[c] - xzp *
// sum(wr[c])) for the plane kernels, pw and pinit (dwconv.PackNHWC) for
// the NHWC kernel, nil when a weight does not fit it.
type dwWeights struct {
	wr, init  []int32
	pw, pinit []int32
	wzp, bias []int32 // what they were made from, besides the weights
	xzp       int32
}

// dwKey finds a convolution's dwWeights in the cache of its weights'
// buffer (several entries may share a key; see depthwiseWeights).
type dwKey struct {
	off, c, khw int
	signed      bool
}

// depthwiseWeights returns op's dwWeights, made once per weights, zero
// points and bias and kept in the cache of the weights' buffer (emptied
// when the buffer is written, like the packed GEMM weights).
func depthwiseWeights(op *backend.Conv) *dwWeights {
	C, khw := op.C, op.KH*op.KW
	m := op.W.Buffer().(*buffer)
	key := dwKey{off: op.W.Offset(), c: C, khw: khw, signed: op.W.DType() == qtensor.Int8}
	ep := &op.Epilogue
	m.cache.mu.Lock()
	defer m.cache.mu.Unlock()
	for _, d := range m.cache.dw[key] {
		if d.xzp == op.XZP && slices.Equal(d.wzp, op.WZP) && slices.Equal(d.bias, ep.Bias) {
			return d
		}
	}
	w := bytesOf(op.W)
	d := &dwWeights{wr: make([]int32, C*khw), init: make([]int32, C), xzp: op.XZP,
		wzp: slices.Clone(op.WZP), bias: slices.Clone(ep.Bias)}
	for c := range C {
		zp := backend.At(op.WZP, c)
		for k, v := range w[c*khw : (c+1)*khw] {
			if key.signed {
				d.wr[c*khw+k] = int32(int8(v)) - zp
			} else {
				d.wr[c*khw+k] = int32(v) - zp
			}
		}
		var bias int32
		if ep.Bias != nil {
			bias = backend.At(ep.Bias, c)
		}
		d.init[c] = dwconv.InitValue(bias, op.XZP, d.wr[c*khw:(c+1)*khw])
	}
	if pw, pinit, ok := dwconv.PackNHWC(d.wr, d.init, C, khw); ok {
		d.pw, d.pinit = pw, pinit
	}
	if m.cache.dw == nil {
		m.cache.dw = map[dwKey][]*dwWeights{}
	}
	// A handful of convolutions share weights at most: keep the last few.
	l := append(m.cache.dw[key], d)
	if len(l) > 4 {
		l = l[1:]
	}
	m.cache.dw[key] = l
	return d
}

// convDepthwiseNHWC runs a depthwise convolution whose input or output
// is NHWC on dwconv.NHWC (AVX-512), without a layout change: an NHWC
// input is read in place when unpadded, else from a padded copy (an NCHW
// one is staged as for depthwiseNHWC), and an NHWC output is written from
// blocks of output rows whose accumulators stay in cache. It returns
// false when the NHWC kernel cannot run the op (another ISA, weights
// outside int16): the op then runs on NCHW copies.
func (b *Backend) convDepthwiseNHWC(ctx context.Context, op *backend.Conv) (bool, error) {
	if dwconv.Current() != isa.AVX512 {
		return false, nil
	}
	dw := depthwiseWeights(op)
	if dw.pw == nil {
		return false, nil
	}
	if op.YLayout == backend.NCHW {
		if op.XLayout == backend.NCHW {
			return true, b.depthwiseNHWC(ctx, op, dw.pw, dw.pinit, newOutput(&op.Epilogue, op.Y))
		}
		// An NHWC output into a copy, transposed to NCHW (a global
		// average pool's single pixel, typically).
		buf := scratch(&layoutPool, op.Y.Bytes())
		defer layoutPool.Put(buf)
		o := *op
		o.YLayout, o.Y = backend.NHWC, hostTensor(*buf, op.Y, []int{op.N, op.OH, op.OW, op.O})
		if _, err := b.convDepthwiseNHWC(ctx, &o); err != nil {
			return true, err
		}
		b.transposeImages(bytesOf(op.Y), *buf, op.N, op.OH*op.OW, op.O, op.Y.DType().Bits()/8)
		return true, nil
	}
	out := newOutput(&op.Epilogue, op.Y)
	C, P := op.C, op.OH*op.OW
	Hp, Wp := op.H+op.PadTop+op.PadBottom, op.Wd+op.PadLeft+op.PadRight
	x, y := bytesOf(op.X), bytesOf(op.Y)
	ep := &op.Epilogue
	signed := op.X.DType() == qtensor.Int8
	padded := op.PadTop+op.PadLeft+op.PadBottom+op.PadRight > 0
	stageLen := 0
	if padded || op.XLayout == backend.NCHW {
		stageLen = Hp * Wp * C
	}
	nhwcLen := 0
	if op.XLayout == backend.NCHW {
		nhwcLen = op.H * op.Wd * C
	}
	// Output rows per block: about 32 KiB of accumulators (int32 and
	// float outputs, the fixed-point rule); quantized outputs are
	// requantized in the kernel's registers.
	block := max(1, (32<<10)/(4*op.OW*C))
	quant := ep.Output == backend.OutQuantized && ep.Fixed == nil
	if quant || ep.Output == backend.OutInt32 {
		block = op.OH // the kernel writes the output itself
	}
	var mult []float32 // the channels' multipliers, padded to whole vectors
	if quant {
		buf := scratch(&multPool, 4*((C+15)&^15))
		defer multPool.Put(buf)
		mult = asFloat32(*buf)
		for c := range mult {
			mult[c] = backend.At(ep.Mult, min(c, C-1))
		}
	}
	// The float and fixed-point outputs take the reference epilogue on the
	// accumulators, whose bias the kernel has added.
	noBias := *ep
	noBias.Bias = nil
	ref := newOutput(&noBias, op.Y)
	stage, _, _, release := convScratch(stageLen+nhwcLen, 0, 0)
	defer release()
	nhwc := stage[stageLen:]
	stage = stage[:stageLen]
	for n := range op.N {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		src := stage
		switch {
		case op.XLayout == backend.NCHW:
			b.stageNHWC(stage, nhwc, x, op, n, 0, C, Hp, Wp)
		case padded:
			b.padNHWC(stage, x[n*op.H*op.Wd*C:], op, Hp, Wp)
		default:
			src = x[n*op.H*op.Wd*C : (n+1)*op.H*op.Wd*C]
		}
		base := n * P * C
		b.rows(op.OH, P*C*op.KH*op.KW, func(r0, r1 int) {
			var acc []int32
			if ep.Output != backend.OutInt32 && !quant {
				buf := scratch(&accPool, 4*min(block, r1-r0)*op.OW*C)
				defer accPool.Put(buf)
				acc = asInt32(*buf)
			}
			for h0 := r0; h0 < r1; h0 += block {
				h1 := min(h0+block, r1)
				o0, o1 := base+h0*op.OW*C, base+h1*op.OW*C
				p := dwconv.NHWC{Src: src[h0*op.StrideH*Wp*C:], Wp: Wp, C: C, KH: op.KH, KW: op.KW,
					SH: op.StrideH, SW: op.StrideW, DH: op.DilationH, DW: op.DilationW, OH: h1 - h0, OW: op.OW,
					Signed: signed, W: dw.pw, Init: dw.pinit}
				switch {
				case quant:
					p.Requantize(y[o0:o1], mult, ep.YZP, out.qmin, out.qmax)
					continue
				case ep.Output == backend.OutInt32:
					p.Int32(asInt32(y)[o0:o1])
					continue
				}
				a := acc[:o1-o0]
				p.Int32(a)
				for i, v := range a {
					ref.store(o0+i, v, (o0+i)%C)
				}
			}
		})
	}
	return true, nil
}

// multPool holds convDepthwiseNHWC's multipliers.
var multPool sync.Pool

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
