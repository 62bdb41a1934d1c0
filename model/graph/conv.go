package graph

import (
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Convolution, transposed convolution and pooling share one geometry:
// 1 to 3 spatial dimensions, canonicalised to 3 (leading dimensions of
// size 1), so one im2col and one pooling loop serve Conv1d/2d/3d.

var sgemm = gonum.Implementation{}

// geom is the spatial geometry of a window op in canonical 3-D form.
type geom struct {
	rank                 int // spatial rank, 1..3
	in, k, out           [3]int
	stride, dil, pb, pe  [3]int
	inSize, kSize, oSize int
}

func (g *geom) finish() {
	g.inSize = g.in[0] * g.in[1] * g.in[2]
	g.kSize = g.k[0] * g.k[1] * g.k[2]
	g.oSize = g.out[0] * g.out[1] * g.out[2]
}

// windowAttrs are the attributes shared by Conv, ConvTranspose and the
// pools: strides, dilations, pads, auto_pad.
type windowAttrs struct {
	strides, dils, pads []int64
	autoPad             string
}

func (c *prepCtx) readWindow(rank int, dilations bool) windowAttrs {
	var w windowAttrs
	ones := make([]int64, rank)
	for i := range ones {
		ones[i] = 1
	}
	w.strides = c.attrInts("strides", ones)
	w.dils = ones
	if dilations {
		w.dils = c.attrInts("dilations", ones)
	}
	w.pads = c.attrInts("pads", make([]int64, 2*rank))
	w.autoPad = c.attrString("auto_pad", "NOTSET")
	c.oneOf("auto_pad", w.autoPad, "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")
	if len(w.strides) != rank || len(w.dils) != rank || len(w.pads) != 2*rank {
		c.fail(ErrParams, "strides %v, dilations %v, pads %v do not match %d spatial dimensions", w.strides, w.dils, w.pads, rank)
		return w
	}
	for i := 0; i < rank; i++ {
		if w.strides[i] < 1 || w.dils[i] < 1 || w.strides[i] > 1<<20 || w.dils[i] > 1<<20 {
			c.fail(ErrParams, "strides %v and dilations %v must be positive", w.strides, w.dils)
		}
	}
	for _, p := range w.pads {
		if p < 0 || p > 1<<24 {
			c.fail(ErrParams, "pads %v must be non-negative", w.pads)
		}
	}
	if w.autoPad != "NOTSET" && c.has("pads") {
		for _, p := range w.pads {
			if p != 0 {
				c.fail(ErrParams, "pads and auto_pad %s are both set", w.autoPad)
				break
			}
		}
	}
	return w
}

// windowGeom computes the output geometry of a convolution or pool.
func (c *prepCtx) windowGeom(spatial []int, kernel []int64, w windowAttrs, ceil bool) geom {
	var g geom
	rank := len(spatial)
	g.rank = rank
	for i := range 3 {
		g.in[i], g.k[i], g.out[i], g.stride[i], g.dil[i] = 1, 1, 1, 1, 1
	}
	if c.err != nil {
		return g
	}
	if rank < 1 || rank > 3 {
		c.fail(ErrUnsupported, "%d spatial dimensions (1 to 3 are supported)", rank)
		return g
	}
	off := 3 - rank
	for i := 0; i < rank; i++ {
		j := off + i
		if kernel[i] < 1 || kernel[i] > 1<<20 {
			c.fail(ErrParams, "kernel shape %v invalid", kernel)
			return g
		}
		g.in[j], g.k[j] = spatial[i], int(kernel[i])
		g.stride[j], g.dil[j] = int(w.strides[i]), int(w.dils[i])
		eff := (g.k[j]-1)*g.dil[j] + 1
		d := g.in[j]
		switch w.autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			o := (d + g.stride[j] - 1) / g.stride[j]
			total := max(0, (o-1)*g.stride[j]+eff-d)
			if w.autoPad == "SAME_UPPER" {
				g.pb[j] = total / 2
			} else {
				g.pb[j] = total - total/2
			}
			g.pe[j] = total - g.pb[j]
			g.out[j] = o
			continue
		case "VALID":
		default:
			g.pb[j], g.pe[j] = int(w.pads[i]), int(w.pads[i+rank])
		}
		span := d + g.pb[j] + g.pe[j] - eff
		if span < 0 {
			c.fail(ErrShape, "kernel %v (dilated) is larger than the padded input %v", kernel, spatial)
			return g
		}
		o := span/g.stride[j] + 1
		if ceil && span%g.stride[j] != 0 {
			o++
			// The last window must start inside the input or its
			// leading padding.
			if (o-1)*g.stride[j] >= d+g.pb[j] {
				o--
			}
		}
		g.out[j] = o
	}
	g.finish()
	return g
}

// im2col writes the columns of one image x [cg][in] into col
// [cg*kSize][oSize]; padded cells are 0.
func im2col(col, x []float32, g *geom, cg int) {
	O := g.oSize
	for c := 0; c < cg; c++ {
		xc := x[c*g.inSize : (c+1)*g.inSize]
		for a := 0; a < g.k[0]; a++ {
			for b := 0; b < g.k[1]; b++ {
				for e := 0; e < g.k[2]; e++ {
					row := col[(((c*g.k[0]+a)*g.k[1]+b)*g.k[2]+e)*O:][:O]
					colRow(row, xc, g, a, b, e)
				}
			}
		}
	}
}

// colRow fills one im2col row: kernel tap (a, b, e) over all outputs.
func colRow(row, xc []float32, g *geom, a, b, e int) {
	ow := g.out[2]
	sw, pw, ew := g.stride[2], g.pb[2], e*g.dil[2]
	W := g.in[2]
	// output columns whose input column is inside [0, W)
	lo, hi := validRange(ow, sw, ew-pw, W)
	for z := 0; z < g.out[0]; z++ {
		iz := z*g.stride[0] - g.pb[0] + a*g.dil[0]
		for y := 0; y < g.out[1]; y++ {
			dst := row[(z*g.out[1]+y)*ow:][:ow]
			iy := y*g.stride[1] - g.pb[1] + b*g.dil[1]
			if iz < 0 || iz >= g.in[0] || iy < 0 || iy >= g.in[1] {
				clear(dst)
				continue
			}
			src := xc[(iz*g.in[1]+iy)*W:][:W]
			clear(dst[:lo])
			clear(dst[hi:])
			if lo >= hi {
				continue
			}
			if sw == 1 {
				copy(dst[lo:hi], src[lo+ew-pw:])
			} else {
				for x := lo; x < hi; x++ {
					dst[x] = src[x*sw+ew-pw]
				}
			}
		}
	}
}

// col2im adds the columns back into the image: the transpose of im2col.
func col2im(x, col []float32, g *geom, cg int) {
	O := g.oSize
	ow := g.out[2]
	W := g.in[2]
	for c := 0; c < cg; c++ {
		xc := x[c*g.inSize : (c+1)*g.inSize]
		for a := 0; a < g.k[0]; a++ {
			for b := 0; b < g.k[1]; b++ {
				for e := 0; e < g.k[2]; e++ {
					row := col[(((c*g.k[0]+a)*g.k[1]+b)*g.k[2]+e)*O:][:O]
					sw, ew := g.stride[2], e*g.dil[2]-g.pb[2]
					lo, hi := validRange(ow, sw, ew, W)
					for z := 0; z < g.out[0]; z++ {
						iz := z*g.stride[0] - g.pb[0] + a*g.dil[0]
						if iz < 0 || iz >= g.in[0] {
							continue
						}
						for y := 0; y < g.out[1]; y++ {
							iy := y*g.stride[1] - g.pb[1] + b*g.dil[1]
							if iy < 0 || iy >= g.in[1] {
								continue
							}
							src := row[(z*g.out[1]+y)*ow:][:ow]
							dst := xc[(iz*g.in[1]+iy)*W:][:W]
							for xo := lo; xo < hi; xo++ {
								dst[xo*sw+ew] += src[xo]
							}
						}
					}
				}
			}
		}
	}
}

// validRange returns the outputs [lo, hi) of n whose input x*s+off lies in
// [0, size).
func validRange(n, s, off, size int) (int, int) {
	lo := 0
	if off < 0 {
		lo = (-off + s - 1) / s
	}
	hi := 0
	if size-off > 0 {
		hi = (size - off + s - 1) / s
	}
	lo, hi = min(lo, n), min(hi, n)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// outShape builds [n, c, spatial...] from the canonical geometry.
func (g *geom) outShape(n, c int) []int {
	s := []int{n, c}
	return append(s, g.out[3-g.rank:]...)
}

func init() {
	register(prepConv, "Conv")
	register(prepConvTranspose, "ConvTranspose")
	register(prepGemm, "Gemm")
	register(prepMatMul, "MatMul")
}

// convShapes are the validated geometry of a convolution node: input
// shape x, kernel sizes kw, the window attributes, the group and the batch,
// input-channel and output-channel counts.
type convShapes struct {
	x        []int
	kw       []int64
	wa       windowAttrs
	group    int64
	n, ch, m int
}

// convShapes validates the input (in[xi]) and weight (in[wi]) shapes of a
// convolution and its group, kernel_shape and window attributes (Conv,
// QLinearConv, ConvInteger); ok is false after c.fail.
func (c *prepCtx) convShapes(xi, wi int) (cs convShapes, ok bool) {
	x, w := c.in[xi].Shape, c.in[wi].Shape
	if len(x) < 3 || len(w) != len(x) {
		c.fail(ErrShape, "input %v and weight %v", x, w)
		return cs, false
	}
	rank := len(x) - 2
	group := c.attrInt("group", 1)
	kshape := c.attrInts("kernel_shape", nil)
	wa := c.readWindow(rank, true)
	if c.err != nil {
		return cs, false
	}
	kw := make([]int64, rank)
	for i := range kw {
		kw[i] = int64(w[2+i])
	}
	if kshape != nil && !slices.Equal(kshape, kw) {
		c.fail(ErrShape, "kernel_shape %v does not match the weight %v", kshape, w)
		return cs, false
	}
	n, ch, m := x[0], x[1], w[0]
	if group < 1 || int64(ch)%group != 0 || int64(m)%group != 0 || int64(w[1])*group != int64(ch) {
		c.fail(ErrShape, "input %v, weight %v and group %d do not match", x, w, group)
		return cs, false
	}
	return convShapes{x: x, kw: kw, wa: wa, group: group, n: n, ch: ch, m: m}, true
}

// gemmShape returns M, K and N of an ONNX Gemm (or QGemm) of the matrices
// in[ai] and in[bi] with transA ta and transB tb; ok is false after c.fail.
func (c *prepCtx) gemmShape(ai, bi int, ta, tb bool) (M, K, N int, ok bool) {
	a, b := c.in[ai].Shape, c.in[bi].Shape
	if len(a) != 2 || len(b) != 2 {
		c.fail(ErrShape, "A %v and B %v must be matrices", a, b)
		return 0, 0, 0, false
	}
	M, K = a[0], a[1]
	if ta {
		M, K = K, M
	}
	K2, N := b[0], b[1]
	if tb {
		K2, N = N, K2
	}
	if K != K2 {
		c.fail(ErrShape, "A %v (transA=%v) and B %v (transB=%v) do not match", a, ta, b, tb)
		return 0, 0, 0, false
	}
	return M, K, N, true
}

func prepConv(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(2, 3)
	c.dtype(0, Float32)
	c.dtype(1, Float32)
	c.dtype(2, Float32)
	if c.err != nil {
		return nil, nil
	}
	cs, ok := c.convShapes(0, 1)
	if !ok {
		return nil, nil
	}
	x, kw, wa, group, n, ch, m := cs.x, cs.kw, cs.wa, cs.group, cs.n, cs.ch, cs.m
	if c.present(2) && !slices.Equal(c.in[2].Shape, []int{m}) {
		c.fail(ErrShape, "bias %v for %d output channels", c.in[2].Shape, m)
		return nil, nil
	}
	g := c.windowGeom(x[2:], kw, wa, false)
	if c.err != nil {
		return nil, nil
	}
	G := int(group)
	cg, mg := ch/G, m/G
	out := g.outShape(n, m)
	c.checkShape("output", out)
	direct := cg == 1 // depthwise (with any channel multiplier)
	pointwise := g.kSize == 1 && g.stride == [3]int{1, 1, 1} && g.pb == [3]int{} && g.pe == [3]int{}
	colLen := 0
	if !direct && !pointwise {
		colLen = cg * g.kSize * g.oSize
		c.checkShape("im2col buffer", []int{cg * g.kSize, g.oSize})
	}
	if c.err != nil {
		return nil, nil
	}
	K := cg * g.kSize
	return []ValueInfo{info(Float32, out)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		X, Wt := in[0].F32, in[1].F32
		y := alloc(Float32, out)
		Y := y.F32
		if direct {
			ec.parallelFor(n*m, func(lo, hi int) {
				for p := lo; p < hi; p++ {
					b, oc := p/m, p%m
					ic := oc / mg
					depthwise(Y[p*g.oSize:(p+1)*g.oSize], X[(b*ch+ic)*g.inSize:][:g.inSize], Wt[oc*g.kSize:][:g.kSize], &g)
				}
			})
		} else {
			ec.parallelFor(n*G, func(lo, hi int) {
				var col []float32
				if colLen > 0 {
					col = make([]float32, colLen)
				}
				for p := lo; p < hi; p++ {
					b, gi := p/G, p%G
					xg := X[(b*ch+gi*cg)*g.inSize:][:cg*g.inSize]
					B := xg
					if !pointwise {
						im2col(col, xg, &g, cg)
						B = col
					}
					sgemm.Sgemm(blas.NoTrans, blas.NoTrans, mg, g.oSize, K, 1,
						Wt[gi*mg*K:], K, B, g.oSize, 0, Y[(b*m+gi*mg)*g.oSize:], g.oSize)
				}
			})
		}
		if b := opt(in, 2); b != nil {
			addChannelBias(ec, Y, b.F32, n, m, g.oSize)
		}
		return y, nil
	})
}

// addChannelBias adds bias[c] to every element of channel c of an
// [n][ch][size] tensor.
func addChannelBias(ec *execCtx, y, bias []float32, n, ch, size int) {
	ec.parallelFor(n*ch, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			bv := bias[p%ch]
			row := y[p*size : (p+1)*size]
			for i := range row {
				row[i] += bv
			}
		}
	})
}

// depthwise convolves one input plane with one filter into one output
// plane, accumulating tap by tap (each output's sum runs over the taps in
// order, like the im2col path).
func depthwise(dst, src, w []float32, g *geom) {
	ow := g.out[2]
	W := g.in[2]
	sw := g.stride[2]
	for a := 0; a < g.k[0]; a++ {
		for b := 0; b < g.k[1]; b++ {
			for e := 0; e < g.k[2]; e++ {
				wv := w[(a*g.k[1]+b)*g.k[2]+e]
				off := e*g.dil[2] - g.pb[2]
				lo, hi := validRange(ow, sw, off, W)
				for z := 0; z < g.out[0]; z++ {
					iz := z*g.stride[0] - g.pb[0] + a*g.dil[0]
					if iz < 0 || iz >= g.in[0] {
						continue
					}
					for y := 0; y < g.out[1]; y++ {
						iy := y*g.stride[1] - g.pb[1] + b*g.dil[1]
						if iy < 0 || iy >= g.in[1] {
							continue
						}
						if lo >= hi {
							continue
						}
						d := dst[(z*g.out[1]+y)*ow:][:ow]
						s := src[(iz*g.in[1]+iy)*W:][:W]
						if sw == 1 {
							ss := s[lo+off : hi+off]
							dd := d[lo:hi]
							for i := range dd {
								dd[i] += wv * ss[i]
							}
						} else {
							for x := lo; x < hi; x++ {
								d[x] += wv * s[x*sw+off]
							}
						}
					}
				}
			}
		}
	}
}

func prepConvTranspose(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(2, 3)
	c.dtype(0, Float32)
	c.dtype(1, Float32)
	c.dtype(2, Float32)
	if c.err != nil {
		return nil, nil
	}
	x, w := c.in[0].Shape, c.in[1].Shape
	if len(x) < 3 || len(w) != len(x) {
		c.fail(ErrShape, "input %v and weight %v", x, w)
		return nil, nil
	}
	rank := len(x) - 2
	if rank > 3 {
		c.fail(ErrUnsupported, "%d spatial dimensions (1 to 3 are supported)", rank)
		return nil, nil
	}
	group := c.attrInt("group", 1)
	kshape := c.attrInts("kernel_shape", nil)
	outPad := c.attrInts("output_padding", make([]int64, rank))
	outShapeAttr := c.attrInts("output_shape", nil)
	wa := c.readWindow(rank, true)
	if c.err != nil {
		return nil, nil
	}
	n, ch := x[0], x[1]
	if group < 1 || int64(ch)%group != 0 || w[0] != ch {
		c.fail(ErrShape, "input %v, weight %v and group %d do not match", x, w, group)
		return nil, nil
	}
	G := int(group)
	cg, mg := ch/G, w[1]
	m := mg * G
	if c.present(2) && !slices.Equal(c.in[2].Shape, []int{m}) {
		c.fail(ErrShape, "bias %v for %d output channels", c.in[2].Shape, m)
		return nil, nil
	}
	kw := make([]int64, rank)
	for i := range kw {
		kw[i] = int64(w[2+i])
	}
	if kshape != nil && !slices.Equal(kshape, kw) {
		c.fail(ErrShape, "kernel_shape %v does not match the weight %v", kshape, w)
		return nil, nil
	}
	if len(outPad) != rank || (outShapeAttr != nil && len(outShapeAttr) != rank && len(outShapeAttr) != rank+2) {
		c.fail(ErrParams, "output_padding %v / output_shape %v for %d spatial dimensions", outPad, outShapeAttr, rank)
		return nil, nil
	}
	if len(outShapeAttr) == rank+2 {
		outShapeAttr = outShapeAttr[2:]
	}
	// g describes the transposed relation: "in" is this op's output
	// space, "out" its input space.
	var g geom
	g.rank = rank
	for i := range 3 {
		g.in[i], g.k[i], g.out[i], g.stride[i], g.dil[i] = 1, 1, 1, 1, 1
	}
	off := 3 - rank
	for i := 0; i < rank; i++ {
		j := off + i
		s, d, k := int(wa.strides[i]), int(wa.dils[i]), int(kw[i])
		op := int(outPad[i])
		if op < 0 || (op >= s && op >= d) {
			c.fail(ErrParams, "output_padding %v must be smaller than the stride or dilation", outPad)
			return nil, nil
		}
		g.k[j], g.stride[j], g.dil[j], g.out[j] = k, s, d, x[2+i]
		eff := (k-1)*d + 1
		full := s*(x[2+i]-1) + op + eff
		var o, pb, pe int
		switch {
		case outShapeAttr != nil || wa.autoPad == "SAME_UPPER" || wa.autoPad == "SAME_LOWER":
			if outShapeAttr != nil {
				o = int(outShapeAttr[i])
			} else {
				o = x[2+i] * s
			}
			// A negative total (output_shape beyond the full output)
			// extends the output with cells no input reaches. Halves
			// round down (floor), as the reference computes them.
			total := full - o
			half := floorDiv(total, 2)
			if wa.autoPad == "SAME_UPPER" {
				pb = half
			} else {
				pb = total - half
			}
			pe = total - pb
		default:
			if wa.autoPad != "VALID" {
				pb, pe = int(wa.pads[i]), int(wa.pads[i+rank])
			}
			o = full - pb - pe
		}
		if o < 0 {
			c.fail(ErrShape, "negative output size")
			return nil, nil
		}
		g.in[j], g.pb[j], g.pe[j] = o, pb, pe
	}
	g.finish()
	out := []int{n, m}
	out = append(out, g.in[off:]...)
	c.checkShape("output", out)
	K := mg * g.kSize
	c.checkShape("column buffer", []int{K, g.oSize})
	if c.err != nil {
		return nil, nil
	}
	return []ValueInfo{info(Float32, out)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		X, Wt := in[0].F32, in[1].F32
		y := alloc(Float32, out)
		Y := y.F32
		ec.parallelFor(n*G, func(lo, hi int) {
			col := make([]float32, K*g.oSize)
			for p := lo; p < hi; p++ {
				b, gi := p/G, p%G
				// col [mg*k][in] = W_g^T [mg*k][cg] x X_g [cg][in]
				sgemm.Sgemm(blas.Trans, blas.NoTrans, K, g.oSize, cg, 1,
					Wt[gi*cg*K:], K, X[(b*ch+gi*cg)*g.oSize:], g.oSize, 0, col, g.oSize)
				col2im(Y[(b*m+gi*mg)*g.inSize:][:mg*g.inSize], col, &g, mg)
			}
		})
		if b := opt(in, 2); b != nil {
			addChannelBias(ec, Y, b.F32, n, m, g.inSize)
		}
		return y, nil
	})
}

func prepGemm(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(2, 3)
	c.dtype(0, Float32)
	c.dtype(1, Float32)
	c.dtype(2, Float32)
	alpha := c.attrFloat("alpha", 1)
	beta := c.attrFloat("beta", 1)
	ta := c.attrBool("transA", false)
	tb := c.attrBool("transB", false)
	if c.opset < 7 {
		c.attrInt("broadcast", 0)
	}
	if c.err != nil {
		return nil, nil
	}
	M, K, N, ok := c.gemmShape(0, 1, ta, tb)
	if !ok {
		return nil, nil
	}
	lda, ldb := c.in[0].Shape[1], c.in[1].Shape[1]
	out := []int{M, N}
	hasC := c.present(2)
	var bcC box
	if hasC {
		o, ok := broadcastShape(c.in[2].Shape, out)
		if !ok || !slices.Equal(o, out) {
			c.fail(ErrShape, "C %v does not broadcast to %v", c.in[2].Shape, out)
			return nil, nil
		}
		bcC = box{dims: out, dst: stridesOf(out), src: bstrides(c.in[2].Shape, out)}
	}
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	tA, tB := blas.NoTrans, blas.NoTrans
	if ta {
		tA = blas.Trans
	}
	if tb {
		tB = blas.Trans
	}
	return []ValueInfo{info(Float32, out)}, one(func(_ *execCtx, in []*Tensor) (*Tensor, error) {
		y := alloc(Float32, out)
		bt := float32(0)
		if hasC && beta != 0 {
			copyBox(y, in[2], bcC)
			bt = beta
		}
		if M == 0 || N == 0 {
			return y, nil
		}
		if K == 0 {
			for i := range y.F32 {
				y.F32[i] *= bt
			}
			return y, nil
		}
		sgemm.Sgemm(tA, tB, M, N, K, alpha, in[0].F32, lda, in[1].F32, ldb, bt, y.F32, N)
		return y, nil
	})
}

func prepMatMul(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(2, 2)
	c.dtype(0, Float32)
	c.dtype(1, Float32)
	if c.err != nil {
		return nil, nil
	}
	a, b := slices.Clone(c.in[0].Shape), slices.Clone(c.in[1].Shape)
	if len(a) == 0 || len(b) == 0 {
		c.fail(ErrShape, "MatMul of a scalar (%v, %v)", a, b)
		return nil, nil
	}
	dropM, dropN := len(a) == 1, len(b) == 1
	if dropM {
		a = []int{1, a[0]}
	}
	if dropN {
		b = []int{b[0], 1}
	}
	M, K := a[len(a)-2], a[len(a)-1]
	K2, N := b[len(b)-2], b[len(b)-1]
	if K != K2 {
		c.fail(ErrShape, "shapes %v and %v do not match", c.in[0].Shape, c.in[1].Shape)
		return nil, nil
	}
	batch, ok := broadcastShape(a[:len(a)-2], b[:len(b)-2])
	if !ok {
		c.fail(ErrShape, "batch dimensions of %v and %v do not broadcast", c.in[0].Shape, c.in[1].Shape)
		return nil, nil
	}
	out := slices.Clone(batch)
	if !dropM {
		out = append(out, M)
	}
	if !dropN {
		out = append(out, N)
	}
	c.checkShape("output", append(slices.Clone(batch), M, N))
	if c.err != nil {
		return nil, nil
	}
	nb := numel(batch)
	// Per batch index, the offsets of A and B matrices.
	sa := bstrides(a[:len(a)-2], batch)
	sb := bstrides(b[:len(b)-2], batch)
	aoff := make([]int, nb)
	boff := make([]int, nb)
	pos := make([]int, len(batch))
	for i := 0; i < nb; i++ {
		for k, p := range pos {
			aoff[i] += p * sa[k] * M * K
			boff[i] += p * sb[k] * K * N
		}
		for k := len(pos) - 1; k >= 0; k-- {
			pos[k]++
			if pos[k] < batch[k] {
				break
			}
			pos[k] = 0
		}
	}
	// B shared by every batch index and A contiguous: one big GEMM.
	flat := nb > 1 && !slices.ContainsFunc(boff, func(o int) bool { return o != 0 }) && isContiguousBatch(aoff, M*K)
	return []ValueInfo{info(Float32, out)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		y := alloc(Float32, out)
		if M == 0 || N == 0 || nb == 0 {
			return y, nil
		}
		if K == 0 {
			return y, nil
		}
		A, B := in[0].F32, in[1].F32
		if flat {
			sgemm.Sgemm(blas.NoTrans, blas.NoTrans, nb*M, N, K, 1, A, K, B, N, 0, y.F32, N)
			return y, nil
		}
		ec.parallelFor(nb, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				sgemm.Sgemm(blas.NoTrans, blas.NoTrans, M, N, K, 1, A[aoff[i]:], K, B[boff[i]:], N, 0, y.F32[i*M*N:], N)
			}
		})
		return y, nil
	})
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func isContiguousBatch(off []int, size int) bool {
	for i, o := range off {
		if o != i*size {
			return false
		}
	}
	return true
}
