package graph

import (
	"math"
	"slices"
)

// Pooling, normalisation and softmax. Sums of many terms (means,
// variances, softmax denominators) are accumulated in float64 and the
// result rounded once to float32.

func init() {
	register(prepPool, "MaxPool", "AveragePool")
	register(prepGlobalPool, "GlobalAveragePool", "GlobalMaxPool")
	register(prepBatchNorm, "BatchNormalization")
	register(prepLayerNorm, "LayerNormalization")
	register(prepInstanceNorm, "InstanceNormalization")
	register(prepSoftmax, "Softmax", "LogSoftmax", "Hardmax")
}

func prepPool(c *prepCtx) ([]ValueInfo, kernel) {
	isMax := c.n.OpType == "MaxPool"
	c.nin(1, 1)
	if isMax {
		c.dtype(0, Float32, Int8, Uint8)
	} else {
		c.dtype(0, Float32)
	}
	if c.err != nil {
		return nil, nil
	}
	x := c.in[0].Shape
	if len(x) < 3 {
		c.fail(ErrShape, "input %v needs spatial dimensions", x)
		return nil, nil
	}
	rank := len(x) - 2
	kshape := c.attrInts("kernel_shape", nil)
	if len(kshape) != rank {
		c.fail(ErrParams, "kernel_shape %v for %d spatial dimensions", kshape, rank)
		return nil, nil
	}
	ceil := c.attrBool("ceil_mode", false)
	includePad := false
	if isMax {
		c.attrInt("storage_order", 0) // affects only the Indices output
	} else {
		includePad = c.attrBool("count_include_pad", false)
	}
	dil := isMax || c.opset >= 19
	wa := c.readWindow(rank, dil)
	g := c.windowGeom(x[2:], kshape, wa, ceil)
	if c.err != nil {
		return nil, nil
	}
	n, ch := x[0], x[1]
	out := g.outShape(n, ch)
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	dt := c.in[0].DType
	return []ValueInfo{info(dt, out)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		y := alloc(dt, out)
		ec.parallelFor(n*ch, func(lo, hi int) {
			for p := lo; p < hi; p++ {
				switch dt {
				case Float32:
					src := in[0].F32[p*g.inSize:][:g.inSize]
					dst := y.F32[p*g.oSize:][:g.oSize]
					if isMax {
						maxPool(dst, src, &g)
					} else {
						avgPool(dst, src, &g, includePad)
					}
				case Int8:
					maxPool(y.I8[p*g.oSize:][:g.oSize], in[0].I8[p*g.inSize:][:g.inSize], &g)
				case Uint8:
					maxPool(y.U8[p*g.oSize:][:g.oSize], in[0].U8[p*g.inSize:][:g.inSize], &g)
				}
			}
		})
		return y, nil
	})
}

// windowRange returns the kernel taps [lo, hi) of output o along axis j
// whose input index lies in [0, in).
func (g *geom) taps(j, o int) (lo, hi int) {
	start := o*g.stride[j] - g.pb[j]
	d := g.dil[j]
	lo, hi = validRange(g.k[j], d, start, g.in[j])
	return lo, hi
}

func maxPool[T float32 | int8 | uint8](dst, src []T, g *geom) {
	i := 0
	for z := 0; z < g.out[0]; z++ {
		az, bz := g.taps(0, z)
		for y := 0; y < g.out[1]; y++ {
			ay, by := g.taps(1, y)
			for x := 0; x < g.out[2]; x++ {
				ax, bx := g.taps(2, x)
				var m T
				first := true
				for a := az; a < bz; a++ {
					iz := z*g.stride[0] - g.pb[0] + a*g.dil[0]
					for b := ay; b < by; b++ {
						iy := y*g.stride[1] - g.pb[1] + b*g.dil[1]
						row := src[(iz*g.in[1]+iy)*g.in[2]:]
						for e := ax; e < bx; e++ {
							v := row[x*g.stride[2]-g.pb[2]+e*g.dil[2]]
							// NaN wins: once m is NaN no v > m.
							if first || v > m || v != v {
								m = v
								first = false
							}
						}
					}
				}
				dst[i] = m
				i++
			}
		}
	}
}

func avgPool(dst, src []float32, g *geom, includePad bool) {
	i := 0
	for z := 0; z < g.out[0]; z++ {
		az, bz := g.taps(0, z)
		for y := 0; y < g.out[1]; y++ {
			ay, by := g.taps(1, y)
			for x := 0; x < g.out[2]; x++ {
				ax, bx := g.taps(2, x)
				sum := 0.0
				for a := az; a < bz; a++ {
					iz := z*g.stride[0] - g.pb[0] + a*g.dil[0]
					for b := ay; b < by; b++ {
						iy := y*g.stride[1] - g.pb[1] + b*g.dil[1]
						row := src[(iz*g.in[1]+iy)*g.in[2]:]
						for e := ax; e < bx; e++ {
							sum += float64(row[x*g.stride[2]-g.pb[2]+e*g.dil[2]])
						}
					}
				}
				var cnt int
				if includePad {
					// taps inside the padded input
					cnt = 1
					for j, o := range [3]int{z, y, x} {
						lo, hi := validRange(g.k[j], g.dil[j], o*g.stride[j], g.in[j]+g.pb[j]+g.pe[j])
						cnt *= hi - lo
					}
				} else {
					cnt = (bz - az) * (by - ay) * (bx - ax)
				}
				if cnt == 0 {
					dst[i] = float32(math.NaN())
				} else {
					dst[i] = float32(sum / float64(cnt))
				}
				i++
			}
		}
	}
}

func prepGlobalPool(c *prepCtx) ([]ValueInfo, kernel) {
	isMax := c.n.OpType == "GlobalMaxPool"
	c.nin(1, 1)
	c.dtype(0, Float32)
	if c.err != nil {
		return nil, nil
	}
	x := c.in[0].Shape
	if len(x) < 3 {
		c.fail(ErrShape, "input %v needs spatial dimensions", x)
		return nil, nil
	}
	out := slices.Clone(x)
	for i := 2; i < len(out); i++ {
		out[i] = 1
	}
	planes, size := x[0]*x[1], numel(x[2:])
	return []ValueInfo{info(Float32, out)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		y := alloc(Float32, out)
		ec.parallelFor(planes, func(lo, hi int) {
			for p := lo; p < hi; p++ {
				src := in[0].F32[p*size : (p+1)*size]
				if isMax {
					m := float32(math.Inf(-1))
					for _, v := range src {
						if v > m || v != v {
							m = v
						}
						if m != m {
							break
						}
					}
					y.F32[p] = m
					continue
				}
				s := 0.0
				for _, v := range src {
					s += float64(v)
				}
				y.F32[p] = float32(s / float64(size))
			}
		})
		return y, nil
	})
}

func prepBatchNorm(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(5, 5)
	for i := 0; i < 5; i++ {
		c.dtype(i, Float32)
	}
	eps := float64(c.attrFloat("epsilon", 1e-5))
	c.attrFloat("momentum", 0.9)
	if c.opset >= 14 && c.attrBool("training_mode", false) {
		c.fail(ErrUnsupported, "training_mode=1")
	}
	if c.opset < 9 {
		if !c.attrBool("spatial", true) {
			c.fail(ErrUnsupported, "spatial=0")
		}
	}
	if c.opset < 7 {
		c.attrInts("consumed_inputs", nil)
		c.attrInt("is_test", 1)
	}
	if c.err != nil {
		return nil, nil
	}
	x := c.in[0].Shape
	if len(x) < 2 {
		c.fail(ErrShape, "input %v needs a channel dimension", x)
		return nil, nil
	}
	ch := x[1]
	for i := 1; i < 5; i++ {
		if !slices.Equal(c.in[i].Shape, []int{ch}) {
			c.fail(ErrShape, "input %d has shape %v, want [%d]", i, c.in[i].Shape, ch)
			return nil, nil
		}
	}
	n, size := x[0], numel(x[2:])
	return []ValueInfo{info(Float32, x)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		y := alloc(Float32, x)
		scale, bias, mean, vr := in[1].F32, in[2].F32, in[3].F32, in[4].F32
		a := make([]float64, ch)
		b := make([]float64, ch)
		for i := range a {
			a[i] = float64(scale[i]) / math.Sqrt(float64(vr[i])+eps)
			b[i] = float64(bias[i]) - float64(mean[i])*a[i]
		}
		ec.parallelFor(n*ch, func(lo, hi int) {
			for p := lo; p < hi; p++ {
				k := p % ch
				src := in[0].F32[p*size : (p+1)*size]
				dst := y.F32[p*size : (p+1)*size]
				for i, v := range src {
					dst[i] = float32(float64(v)*a[k] + b[k])
				}
			}
		})
		return y, nil
	})
}

func prepLayerNorm(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(2, 3)
	for i := 0; i < 3; i++ {
		c.dtype(i, Float32)
	}
	a := c.attrInt("axis", -1)
	eps := float64(c.attrFloat("epsilon", 1e-5))
	if st := c.attrInt("stash_type", 1); st != 1 {
		c.fail(ErrUnsupported, "stash_type %d", st)
	}
	if c.err != nil {
		return nil, nil
	}
	x := c.in[0].Shape
	ax := c.axis("axis", a, len(x))
	if c.err != nil {
		return nil, nil
	}
	norm := x[ax:]
	for i := 1; i < 3; i++ {
		if c.present(i) {
			if o, ok := broadcastShape(c.in[i].Shape, norm); !ok || !slices.Equal(o, norm) || len(c.in[i].Shape) > len(norm) {
				c.fail(ErrShape, "input %d %v does not broadcast to the normalised shape %v", i, c.in[i].Shape, norm)
				return nil, nil
			}
		}
	}
	outer, size := numel(x[:ax]), numel(norm)
	statShape := slices.Clone(x)
	for i := ax; i < len(statShape); i++ {
		statShape[i] = 1
	}
	expand := func(t *Tensor) []float32 {
		if t == nil {
			return nil
		}
		if numel(t.Shape) == size {
			return t.F32
		}
		e := alloc(Float32, norm)
		copyBox(e, t, box{dims: norm, dst: stridesOf(norm), src: bstrides(t.Shape, norm)})
		return e.F32
	}
	return []ValueInfo{info(Float32, x), info(Float32, statShape), info(Float32, statShape)},
		func(ec *execCtx, in []*Tensor) ([]*Tensor, error) {
			y := alloc(Float32, x)
			mean := alloc(Float32, statShape)
			inv := alloc(Float32, statShape)
			scale := expand(in[1])
			bias := expand(opt(in, 2))
			ec.parallelFor(outer, func(lo, hi int) {
				for p := lo; p < hi; p++ {
					src := in[0].F32[p*size : (p+1)*size]
					dst := y.F32[p*size : (p+1)*size]
					m, is := meanInvStd(src, eps)
					mean.F32[p], inv.F32[p] = float32(m), float32(is)
					for i, v := range src {
						r := (float64(v) - m) * is * float64(scale[i])
						if bias != nil {
							r += float64(bias[i])
						}
						dst[i] = float32(r)
					}
				}
			})
			return []*Tensor{y, mean, inv}, nil
		}
}

// meanInvStd returns the mean and 1/sqrt(variance + eps) of x (population
// variance), in float64.
func meanInvStd(x []float32, eps float64) (float64, float64) {
	s := 0.0
	for _, v := range x {
		s += float64(v)
	}
	m := s / float64(len(x))
	q := 0.0
	for _, v := range x {
		d := float64(v) - m
		q += d * d
	}
	return m, 1 / math.Sqrt(q/float64(len(x))+eps)
}

func prepInstanceNorm(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(3, 3)
	for i := 0; i < 3; i++ {
		c.dtype(i, Float32)
	}
	eps := float64(c.attrFloat("epsilon", 1e-5))
	if c.err != nil {
		return nil, nil
	}
	x := c.in[0].Shape
	if len(x) < 3 {
		c.fail(ErrShape, "input %v needs spatial dimensions", x)
		return nil, nil
	}
	ch := x[1]
	for i := 1; i < 3; i++ {
		if !slices.Equal(c.in[i].Shape, []int{ch}) {
			c.fail(ErrShape, "input %d has shape %v, want [%d]", i, c.in[i].Shape, ch)
			return nil, nil
		}
	}
	planes, size := x[0]*ch, numel(x[2:])
	return []ValueInfo{info(Float32, x)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		y := alloc(Float32, x)
		ec.parallelFor(planes, func(lo, hi int) {
			for p := lo; p < hi; p++ {
				k := p % ch
				src := in[0].F32[p*size : (p+1)*size]
				dst := y.F32[p*size : (p+1)*size]
				m, is := meanInvStd(src, eps)
				sc, b := float64(in[1].F32[k]), float64(in[2].F32[k])
				for i, v := range src {
					dst[i] = float32((float64(v)-m)*is*sc + b)
				}
			}
		})
		return y, nil
	})
}

func prepSoftmax(c *prepCtx) ([]ValueInfo, kernel) {
	op := c.n.OpType
	c.nin(1, 1)
	c.dtype(0, Float32)
	def := int64(-1)
	if c.opset < 13 {
		def = 1
	}
	a := c.attrInt("axis", def)
	if c.err != nil {
		return nil, nil
	}
	x := c.in[0].Shape
	if len(x) == 0 {
		c.fail(ErrShape, "input must have rank >= 1")
		return nil, nil
	}
	ax := c.axis("axis", a, len(x))
	if c.err != nil {
		return nil, nil
	}
	// Opset 13 normalises along one axis; older opsets over all axes from
	// axis on (the input coerced to 2-D).
	outer, n, inner := numel(x[:ax]), x[ax], numel(x[ax+1:])
	if c.opset < 13 {
		n, inner = numel(x[ax:]), 1
	}
	return []ValueInfo{info(Float32, x)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		y := alloc(Float32, x)
		ec.parallelFor(outer*inner, func(lo, hi int) {
			buf := make([]float64, n)
			for p := lo; p < hi; p++ {
				o, i := p/inner, p%inner
				base := o*n*inner + i
				src := in[0].F32
				m := math.Inf(-1)
				arg := 0
				for k := 0; k < n; k++ {
					if v := float64(src[base+k*inner]); v > m {
						m, arg = v, k
					}
				}
				switch op {
				case "Hardmax":
					for k := 0; k < n; k++ {
						y.F32[base+k*inner] = 0
					}
					if n > 0 {
						y.F32[base+arg*inner] = 1
					}
					continue
				}
				s := 0.0
				for k := 0; k < n; k++ {
					buf[k] = math.Exp(float64(src[base+k*inner]) - m)
					s += buf[k]
				}
				if op == "LogSoftmax" {
					ls := math.Log(s)
					for k := 0; k < n; k++ {
						y.F32[base+k*inner] = float32(float64(src[base+k*inner]) - m - ls)
					}
				} else {
					for k := 0; k < n; k++ {
						y.F32[base+k*inner] = float32(buf[k] / s)
					}
				}
			}
		})
		return y, nil
	})
}
