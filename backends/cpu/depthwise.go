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
	quant := ep.Output == backend.OutQuantized && ep.Fixed == nil
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
	// emit runs p (output rows OW*C apart) into output element o0.
	emit := func(p dwconv.NHWC, o0 int) {
		p.DRow = op.OW * C
		switch {
		case quant:
			p.Requantize(y[o0:], mult, ep.YZP, out.qmin, out.qmax)
		case ep.Output == backend.OutInt32:
			p.Int32(asInt32(y)[o0:])
		default:
			p.DRow = 0
			buf := scratch(&accPool, 4*p.OH*p.OW*C)
			defer accPool.Put(buf)
			acc := asInt32(*buf)
			p.Int32(acc)
			row := p.OW * C
			for r := range p.OH {
				for j, v := range acc[r*row : (r+1)*row] {
					ref.store(o0+r*op.OW*C+j, v, j%C)
				}
			}
		}
	}
	kern := func(src []byte, wp, oh, ow int) dwconv.NHWC {
		return dwconv.NHWC{Src: src, Wp: wp, C: C, KH: op.KH, KW: op.KW, SH: op.StrideH, SW: op.StrideW,
			DH: op.DilationH, DW: op.DilationW, OH: oh, OW: ow, Signed: signed, W: dw.pw, Init: dw.pinit}
	}
	work := P * C * op.KH * op.KW
	if op.XLayout == backend.NCHW {
		// Staged whole as padded NHWC.
		stage, _, _, release := convScratch(Hp*Wp*C+op.H*op.Wd*C, 0, 0)
		defer release()
		nhwc := stage[Hp*Wp*C:]
		stage = stage[:Hp*Wp*C]
		for n := range op.N {
			if err := ctx.Err(); err != nil {
				return true, err
			}
			b.stageNHWC(stage, nhwc, x, op, n, 0, C, Hp, Wp)
			b.rows(op.OH, work, func(r0, r1 int) {
				emit(kern(stage[r0*op.StrideH*Wp*C:], Wp, r1-r0, op.OW), (n*P+r0*op.OW)*C)
			})
		}
		return true, nil
	}
	// An NHWC input is read in place: the output pixels whose windows lie
	// inside the input straight from it, the others (the border the
	// padding touches) from small padded copies of the rows and columns
	// they read (stageBand), made before the rows are split over the
	// workers.
	ohLo, ohHi := insideRange(op.PadTop, op.StrideH, op.KH, op.DilationH, op.H, op.OH)
	owLo, owHi := insideRange(op.PadLeft, op.StrideW, op.KW, op.DilationW, op.Wd, op.OW)
	// A region is output rows [h0, h1) x columns [c0, c1) of one image
	// computed from src, rows wp pixels long, output row h0 reading from
	// its start.
	type region struct {
		h0, h1, c0, c1 int
		src            []byte
		wp             int
	}
	// bandRows and bandCols are the input rows and columns that output
	// rows [h0, h1) and columns [c0, c1) read.
	bandRows := func(h0, h1 int) int { return max(0, (h1-1-h0)*op.StrideH+(op.KH-1)*op.DilationH+1) }
	bandCols := func(c0, c1 int) int { return max(0, (c1-1-c0)*op.StrideW+(op.KW-1)*op.DilationW+1) }
	inner := ohLo < ohHi && owLo < owHi
	var bandBytes int // the staging of one image's border regions
	if inner {
		bandBytes = (bandRows(0, ohLo)+bandRows(ohHi, op.OH))*bandCols(0, op.OW) + bandRows(ohLo, ohHi)*(bandCols(0, owLo)+bandCols(owHi, op.OW))
	} else {
		bandBytes = bandRows(0, op.OH) * bandCols(0, op.OW)
	}
	// Every image's border is staged first, so that one split of all the
	// images' output rows keeps the workers busy through the whole batch
	// (a split per image costs a start and an uneven tail per image).
	buf := scratch(&hwcPool, op.N*bandBytes*C)
	defer hwcPool.Put(buf)
	if err := ctx.Err(); err != nil {
		return true, err
	}
	regions := make([]region, 5*op.N) // image n's are regions[5*n:][:per]
	per := 0
	b.rows(op.N, op.N*bandBytes*C, func(n0, n1 int) {
		for n := n0; n < n1; n++ {
			img := x[n*op.H*op.Wd*C : (n+1)*op.H*op.Wd*C]
			band, off, k := (*buf)[n*bandBytes*C:(n+1)*bandBytes*C], 0, 5*n
			// banded adds the region of output rows [h0, h1) x
			// columns [c0, c1) read from a padded copy, at band[off:].
			banded := func(h0, h1, c0, c1 int) {
				if h0 >= h1 || c0 >= c1 {
					return
				}
				ih0, nb := h0*op.StrideH-op.PadTop, bandRows(h0, h1)
				iw0, bw := c0*op.StrideW-op.PadLeft, bandCols(c0, c1)
				dst := band[off : off+nb*bw*C]
				off += nb * bw * C
				stageBand(dst, img, op, ih0, nb, iw0, bw)
				regions[k] = region{h0, h1, c0, c1, dst, bw}
				k++
			}
			if inner {
				regions[k] = region{ohLo, ohHi, owLo, owHi,
					img[((ohLo*op.StrideH-op.PadTop)*op.Wd+owLo*op.StrideW-op.PadLeft)*C:], op.Wd}
				k++
				banded(0, ohLo, 0, op.OW)
				banded(ohHi, op.OH, 0, op.OW)
				banded(ohLo, ohHi, 0, owLo)
				banded(ohLo, ohHi, owHi, op.OW)
			} else {
				banded(0, op.OH, 0, op.OW)
			}
			if n == 0 {
				per = k // the same in every image
			}
		}
	})
	b.rows(op.N*op.OH, op.N*work, func(r0, r1 int) {
		for n := r0 / op.OH; n*op.OH < r1; n++ {
			lo, hi := max(r0-n*op.OH, 0), min(r1-n*op.OH, op.OH)
			for _, g := range regions[5*n:][:per] {
				h0, h1 := max(lo, g.h0), min(hi, g.h1)
				if h0 >= h1 {
					continue
				}
				src := g.src[(h0-g.h0)*op.StrideH*g.wp*C:]
				emit(kern(src, g.wp, h1-h0, g.c1-g.c0), (n*P+h0*op.OW+g.c0)*C)
			}
		}
	})
	return true, nil
}

// insideRange returns the output positions [lo, hi) along one axis whose
// windows (K cells D apart, from position*S - P) lie inside the input of
// length L; out is the output's length.
func insideRange(P, S, K, D, L, out int) (lo, hi int) {
	lo = min((P+S-1)/S, out)
	last := L - 1 - (K-1)*D + P // the last window start, plus P
	if last < 0 {
		return lo, lo
	}
	return lo, max(lo, min(out, last/S+1))
}

// stageBand copies rows [ih0, ih0+nb) and columns [iw0, iw0+bw) of the
// NHWC image img into band ([nb][bw][C]), the cells outside the image set
// to the input zero point.
func stageBand(band, img []byte, op *backend.Conv, ih0, nb, iw0, bw int) {
	C, W := op.C, op.Wd
	zp := byte(op.XZP)
	lo, hi := max(iw0, 0), min(iw0+bw, W) // the columns inside
	for r := range nb {
		row := band[r*bw*C : (r+1)*bw*C]
		ih := ih0 + r
		if ih < 0 || ih >= op.H || lo >= hi {
			fill(row, zp)
			continue
		}
		fill(row[:(lo-iw0)*C], zp)
		copy(row[(lo-iw0)*C:(hi-iw0)*C], img[(ih*W+lo)*C:(ih*W+hi)*C])
		fill(row[(hi-iw0)*C:], zp)
	}
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
