package graph

import (
	"slices"

	"github.com/qgpu/qgpu/qtensor"
)

// The QOperator ops: ONNX's integer ConvInteger, MatMulInteger,
// QLinearConv, QLinearMatMul and DynamicQuantizeLinear, and ONNX
// Runtime's com.microsoft QGemm, QLinearAdd, QLinearMul,
// QLinearAveragePool, QLinearGlobalAveragePool, QLinearConcat,
// QLinearSigmoid and QLinearLeakyRelu.
//
// They compute with qgpu's formulas (docs/semantics.md), the ones every
// engine backend computes bit for bit: exact int32 accumulators, then one
// rounding of float32(acc) * M with M = float32(a_scale * b_scale[c]) /
// y_scale (QLinearConv, QLinearMatMul, QGemm); quantized Add and Mul as
// qtensor.Add and qtensor.Mul; averages as float32(sum) * M with M =
// float32(x_scale * float32(1/count)) / y_scale; concatenation with each
// input dequantized and quantized again (the engine's Concat); the unary
// activations as the 256-entry table of qtensor.ActivationTable
// Q_out(f(DQ_in(q))), with f the float op of this package (the engine's
// Lookup).
// ONNX Runtime's kernels round the same real numbers differently in
// places (by at most one unit of the output scale).

const msDomain = "com.microsoft."

func init() {
	register(prepConvInteger, "ConvInteger", "QLinearConv")
	register(prepMatMulInteger, "MatMulInteger", "QLinearMatMul")
	register(prepDynamicQuantize, "DynamicQuantizeLinear")
	register(prepQGemm, msDomain+"QGemm")
	register(prepQLinearBinary, msDomain+"QLinearAdd", msDomain+"QLinearMul")
	register(prepQLinearPool, msDomain+"QLinearAveragePool", msDomain+"QLinearGlobalAveragePool")
	register(prepQLinearUnary, msDomain+"QLinearSigmoid", msDomain+"QLinearLeakyRelu")
	register(prepQLinearConcat, msDomain+"QLinearConcat")
}

// qrange returns the integer range of an 8-bit type.
func qrange(d DType) (int32, int32) {
	if d == Int8 {
		return -128, 127
	}
	return 0, 255
}

// qat returns element i of an int8 or uint8 tensor.
func qat(t *Tensor, i int) int32 {
	if t.DType == Int8 {
		return int32(t.I8[i])
	}
	return int32(t.U8[i])
}

func qput(t *Tensor, i int, v int32) {
	if t.DType == Int8 {
		t.I8[i] = int8(v)
	} else {
		t.U8[i] = uint8(v)
	}
}

// qvals returns the integers of an int8/uint8 tensor.
func qvals(t *Tensor) []int32 {
	out := make([]int32, t.Len())
	for i := range out {
		out[i] = qat(t, i)
	}
	return out
}

// zeroPointsOf returns the integers of an optional zero point tensor (nil:
// n zeros).
func zeroPointsOf(t *Tensor, n int) []int32 {
	if t == nil {
		return make([]int32, n)
	}
	v, _ := t.Ints()
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

// checkScales validates float scales at run time.
func checkScales(ts ...*Tensor) error {
	for _, t := range ts {
		if t == nil {
			continue
		}
		for _, s := range t.F32 {
			if err := qtensor.CheckScale(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// perTensorOrChannel checks that input i is a scalar (or one element) or
// a vector of n.
func (c *prepCtx) perTensorOrChannel(i, n int, what string) {
	if c.err != nil || !c.present(i) {
		return
	}
	s := c.in[i].Shape
	if !(numel(s) == 1 && len(s) <= 1) && !(len(s) == 1 && s[0] == n) {
		c.fail(ErrShape, "%s has shape %v; want a scalar or [%d]", what, s, n)
	}
}

// scalarInput checks that input i is present and holds one element.
func (c *prepCtx) scalarInput(i int, what string) {
	if c.err != nil {
		return
	}
	if !c.present(i) {
		c.fail(ErrParams, "%s (input %d) is required", what, i)
		return
	}
	if s := c.in[i].Shape; numel(s) != 1 || len(s) > 1 {
		c.fail(ErrShape, "%s has shape %v; want a scalar", what, s)
	}
}

// --- ConvInteger, QLinearConv ---

func prepConvInteger(c *prepCtx) ([]ValueInfo, kernel) {
	ql := c.n.OpType == "QLinearConv"
	xi, wi, xzi, wzi := 0, 1, 2, 3
	if ql {
		c.nin(8, 9)
		xi, wi, xzi, wzi = 0, 3, 2, 5
		for _, i := range []int{1, 4, 6} {
			c.dtype(i, Float32)
		}
		c.dtype(7, Int8, Uint8)
		c.dtype(8, Int32)
	} else {
		c.nin(2, 4)
	}
	c.dtype(xi, Int8, Uint8)
	c.dtype(wi, Int8, Uint8)
	c.sameType(xi, xzi)
	c.sameType(wi, wzi)
	if c.err != nil {
		return nil, nil
	}
	cs, ok := c.convShapes(xi, wi)
	if !ok {
		return nil, nil
	}
	x, kw, wa, group, n, ch, m := cs.x, cs.kw, cs.wa, cs.group, cs.n, cs.ch, cs.m
	c.scalarInputIf(xzi, "x_zero_point")
	c.perTensorOrChannel(wzi, m, "w_zero_point")
	outType := Int32
	if ql {
		c.scalarInput(1, "x_scale")
		c.perTensorOrChannel(4, m, "w_scale")
		c.scalarInput(6, "y_scale")
		c.scalarInput(7, "y_zero_point")
		if c.present(8) && !slices.Equal(c.in[8].Shape, []int{m}) {
			c.fail(ErrShape, "bias %v for %d output channels", c.in[8].Shape, m)
		}
		outType = c.in[7].DType
	}
	g := c.windowGeom(x[2:], kw, wa, false)
	if c.err != nil {
		return nil, nil
	}
	G := int(group)
	cg, mg := ch/G, m/G
	out := g.outShape(n, m)
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	return []ValueInfo{info(outType, out)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		X, W := in[xi], in[wi]
		xzp := zeroPointsOf(opt(in, xzi), 1)[0]
		wzp := zeroPointsOf(opt(in, wzi), 1)
		var mult []float32
		var bias []int32
		var yzp, qmin, qmax int32
		if ql {
			if err := checkScales(in[1], in[4], in[6]); err != nil {
				return nil, err
			}
			for _, s := range in[4].F32 {
				mult = append(mult, qtensor.RequantMultiplier(in[1].F32[0], s, in[6].F32[0]))
			}
			yzp = zeroPointsOf(in[7], 1)[0]
			qmin, qmax = qrange(outType)
			if b := opt(in, 8); b != nil {
				bias = b.I32
			}
		}
		y := alloc(outType, out)
		ec.parallelFor(n*m, func(lo, hi int) {
			for p := lo; p < hi; p++ {
				b, oc := p/m, p%m
				gi := oc / mg
				zw := wzp[min(oc, len(wzp)-1)]
				i := p * g.oSize
				for z := 0; z < g.out[0]; z++ {
					az, bz := g.taps(0, z)
					for yy := 0; yy < g.out[1]; yy++ {
						ay, by := g.taps(1, yy)
						for xx := 0; xx < g.out[2]; xx++ {
							ax, bx := g.taps(2, xx)
							var acc int32
							for ci := 0; ci < cg; ci++ {
								xb := (b*ch + gi*cg + ci) * g.inSize
								wb := (oc*cg + ci) * g.kSize
								for a := az; a < bz; a++ {
									iz := z*g.stride[0] - g.pb[0] + a*g.dil[0]
									for e := ay; e < by; e++ {
										iy := yy*g.stride[1] - g.pb[1] + e*g.dil[1]
										for f := ax; f < bx; f++ {
											ix := xx*g.stride[2] - g.pb[2] + f*g.dil[2]
											xv := qat(X, xb+(iz*g.in[1]+iy)*g.in[2]+ix) - xzp
											wv := qat(W, wb+(a*g.k[1]+e)*g.k[2]+f) - zw
											acc += xv * wv
										}
									}
								}
							}
							if !ql {
								y.I32[i] = acc
							} else {
								if bias != nil {
									acc += bias[oc]
								}
								qput(y, i, qtensor.Requantize(acc, mult[min(oc, len(mult)-1)], yzp, qmin, qmax))
							}
							i++
						}
					}
				}
			}
		})
		return y, nil
	})
}

// scalarInputIf checks an optional input holds one element.
func (c *prepCtx) scalarInputIf(i int, what string) {
	if c.present(i) {
		c.scalarInput(i, what)
	}
}

// --- MatMulInteger, QLinearMatMul ---

func prepMatMulInteger(c *prepCtx) ([]ValueInfo, kernel) {
	ql := c.n.OpType == "QLinearMatMul"
	ai, bi, azi, bzi := 0, 1, 2, 3
	if ql {
		c.nin(8, 8)
		ai, bi, azi, bzi = 0, 3, 2, 5
		for _, i := range []int{1, 4, 6} {
			c.dtype(i, Float32)
		}
		c.dtype(7, Int8, Uint8)
	} else {
		c.nin(2, 4)
	}
	c.dtype(ai, Int8, Uint8)
	c.dtype(bi, Int8, Uint8)
	c.sameType(ai, azi)
	c.sameType(bi, bzi)
	if c.err != nil {
		return nil, nil
	}
	a, b := slices.Clone(c.in[ai].Shape), slices.Clone(c.in[bi].Shape)
	if len(a) == 0 || len(b) == 0 {
		c.fail(ErrShape, "matrix product of a scalar (%v, %v)", a, b)
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
		c.fail(ErrShape, "shapes %v and %v do not match", c.in[ai].Shape, c.in[bi].Shape)
		return nil, nil
	}
	batch, ok := broadcastShape(a[:len(a)-2], b[:len(b)-2])
	if !ok {
		c.fail(ErrShape, "batch dimensions of %v and %v do not broadcast", c.in[ai].Shape, c.in[bi].Shape)
		return nil, nil
	}
	c.perTensorOrChannel(azi, M, "a_zero_point")
	c.perTensorOrChannel(bzi, N, "b_zero_point")
	outType := Int32
	if ql {
		c.scalarInput(1, "a_scale")
		c.perTensorOrChannel(4, N, "b_scale")
		c.scalarInput(6, "y_scale")
		c.scalarInput(7, "y_zero_point")
		outType = c.in[7].DType
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
	sa, sb := bstrides(a[:len(a)-2], batch), bstrides(b[:len(b)-2], batch)
	aoff, boff := make([]int, nb), make([]int, nb)
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
	return []ValueInfo{info(outType, out)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		A, B := in[ai], in[bi]
		azp, bzp := zeroPointsOf(opt(in, azi), 1), zeroPointsOf(opt(in, bzi), 1)
		var mult []float32
		var yzp, qmin, qmax int32
		if ql {
			if err := checkScales(in[1], in[4], in[6]); err != nil {
				return nil, err
			}
			for _, s := range in[4].F32 {
				mult = append(mult, qtensor.RequantMultiplier(in[1].F32[0], s, in[6].F32[0]))
			}
			yzp = zeroPointsOf(in[7], 1)[0]
			qmin, qmax = qrange(outType)
		}
		y := alloc(outType, out)
		ec.parallelFor(nb*M, func(lo, hi int) {
			for p := lo; p < hi; p++ {
				bt, i := p/M, p%M
				za := azp[min(i, len(azp)-1)]
				for j := 0; j < N; j++ {
					zb := bzp[min(j, len(bzp)-1)]
					var acc int32
					for k := 0; k < K; k++ {
						acc += (qat(A, aoff[bt]+i*K+k) - za) * (qat(B, boff[bt]+k*N+j) - zb)
					}
					o := p*N + j
					if !ql {
						y.I32[o] = acc
					} else {
						qput(y, o, qtensor.Requantize(acc, mult[min(j, len(mult)-1)], yzp, qmin, qmax))
					}
				}
			}
		})
		return y, nil
	})
}

// --- DynamicQuantizeLinear ---

func prepDynamicQuantize(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(1, 1)
	c.dtype(0, Float32)
	if c.err != nil {
		return nil, nil
	}
	shape := c.in[0].Shape
	return []ValueInfo{info(Uint8, shape), info(Float32, []int{}), info(Uint8, []int{})}, func(_ *execCtx, in []*Tensor) ([]*Tensor, error) {
		lo, hi := float32(0), float32(0)
		for _, v := range in[0].F32 {
			if v != v || v > 3.4e38 || v < -3.4e38 {
				continue // NaN and ±Inf are left out of the range
			}
			lo, hi = min(lo, v), max(hi, v)
		}
		s, zp := qtensor.DynamicQParams(lo, hi)
		y := alloc(Uint8, shape)
		for i, v := range in[0].F32 {
			y.U8[i] = uint8(qtensor.Quantize(v, s, zp, 0, 255))
		}
		return []*Tensor{y, Scalar(s), {DType: Uint8, Shape: []int{}, U8: []uint8{uint8(zp)}}}, nil
	}
}

// --- QGemm ---

// prepQGemm: A, a_scale, a_zero_point, B, b_scale, b_zero_point, C
// (int32, broadcast to [M, N]), y_scale, y_zero_point; alpha, transA,
// transB. Without y_scale the output is float32: float32(acc) *
// float32(float32(alpha * a_scale) * b_scale[n]).
func prepQGemm(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(6, 9)
	c.dtype(0, Int8, Uint8)
	c.dtype(3, Int8, Uint8)
	c.sameType(0, 2)
	c.sameType(3, 5)
	c.dtype(1, Float32)
	c.dtype(4, Float32)
	c.dtype(6, Int32)
	c.dtype(7, Float32)
	c.dtype(8, Int8, Uint8)
	alpha := c.attrFloat("alpha", 1)
	ta, tb := c.attrBool("transA", false), c.attrBool("transB", false)
	if c.err != nil {
		return nil, nil
	}
	M, K, N, ok := c.gemmShape(0, 3, ta, tb)
	if !ok {
		return nil, nil
	}
	c.scalarInput(1, "a_scale")
	c.scalarInput(2, "a_zero_point")
	c.perTensorOrChannel(4, N, "b_scale")
	c.perTensorOrChannel(5, N, "b_zero_point")
	if c.present(6) {
		if _, ok := broadcastShape(c.in[6].Shape, []int{M, N}); !ok || len(c.in[6].Shape) > 2 {
			c.fail(ErrShape, "C %v does not broadcast to [%d %d]", c.in[6].Shape, M, N)
		}
	}
	quant := c.present(7)
	outType := Float32
	if quant {
		c.scalarInput(7, "y_scale")
		c.scalarInput(8, "y_zero_point")
		if c.err == nil {
			outType = c.in[8].DType
		}
	}
	out := []int{M, N}
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	var cst []int
	if c.present(6) {
		cst = bstrides(c.in[6].Shape, out)
	}
	return []ValueInfo{info(outType, out)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		if err := checkScales(in[1], in[4], opt(in, 7)); err != nil {
			return nil, err
		}
		A, B := in[0], in[3]
		za := zeroPointsOf(in[2], 1)[0]
		zb := zeroPointsOf(in[5], 1)
		as := alpha * in[1].F32[0]
		scale := make([]float32, len(in[4].F32))
		for j, s := range in[4].F32 {
			if quant {
				scale[j] = qtensor.RequantMultiplier(as, s, in[7].F32[0])
			} else {
				scale[j] = as * s
			}
		}
		var yzp, qmin, qmax int32
		if quant {
			yzp = zeroPointsOf(in[8], 1)[0]
			qmin, qmax = qrange(outType)
		}
		C := opt(in, 6)
		y := alloc(outType, out)
		ec.parallelFor(M, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				for j := 0; j < N; j++ {
					var acc int32
					if C != nil {
						acc = C.I32[i*cst[0]+j*cst[1]]
					}
					b := zb[min(j, len(zb)-1)]
					for k := 0; k < K; k++ {
						ia, ib := i*K+k, k*N+j
						if ta {
							ia = k*M + i
						}
						if tb {
							ib = j*K + k
						}
						acc += (qat(A, ia) - za) * (qat(B, ib) - b)
					}
					s := scale[min(j, len(scale)-1)]
					if quant {
						qput(y, i*N+j, qtensor.Requantize(acc, s, yzp, qmin, qmax))
					} else {
						y.F32[i*N+j] = float32(acc) * s
					}
				}
			}
		})
		return y, nil
	})
}

// --- QLinearAdd, QLinearMul ---

func prepQLinearBinary(c *prepCtx) ([]ValueInfo, kernel) {
	add := c.n.OpType == "QLinearAdd"
	c.nin(7, 8)
	c.dtype(0, Int8, Uint8)
	c.sameType(0, 3)
	c.sameType(0, 2)
	c.sameType(0, 5)
	c.sameType(0, 7)
	for _, i := range []int{1, 4, 6} {
		c.dtype(i, Float32)
		c.scalarInput(i, "scale")
	}
	c.scalarInputIf(2, "A_zero_point")
	c.scalarInputIf(5, "B_zero_point")
	c.scalarInputIf(7, "C_zero_point")
	if c.err != nil {
		return nil, nil
	}
	out, ok := broadcastShape(c.in[0].Shape, c.in[3].Shape)
	if !ok {
		c.fail(ErrShape, "shapes %v and %v do not broadcast", c.in[0].Shape, c.in[3].Shape)
		return nil, nil
	}
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	dt := c.in[0].DType
	return []ValueInfo{info(dt, out)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		if err := checkScales(in[1], in[4], in[6]); err != nil {
			return nil, err
		}
		za, zb, zy := zeroPointsOf(in[2], 1)[0], zeroPointsOf(in[5], 1)[0], zeroPointsOf(opt(in, 7), 1)[0]
		sa, sb, sy := in[1].F32[0], in[4].F32[0], in[6].F32[0]
		qmin, qmax := qrange(dt)
		var f func(a, b int32) int32
		if add {
			ma, mb := qtensor.AddMultipliers(sa, sb, sy)
			f = func(a, b int32) int32 { return qtensor.Add(a, za, b, zb, ma, mb, zy, qmin, qmax) }
		} else {
			m := qtensor.MulMultiplier(sa, sb, sy)
			f = func(a, b int32) int32 { return qtensor.Mul(a, za, b, zb, m, zy, qmin, qmax) }
		}
		res := make([]int32, numel(out))
		binary(ec, makeBcast(out, in[0].Shape, in[3].Shape), res, qvals(in[0]), qvals(in[3]), f)
		y := alloc(dt, out)
		for i, v := range res {
			qput(y, i, v)
		}
		return y, nil
	})
}

// --- QLinearAveragePool, QLinearGlobalAveragePool ---

func prepQLinearPool(c *prepCtx) ([]ValueInfo, kernel) {
	global := c.n.OpType == "QLinearGlobalAveragePool"
	c.nin(4, 5)
	c.dtype(0, Int8, Uint8)
	c.dtype(1, Float32)
	c.dtype(3, Float32)
	c.sameType(0, 2)
	c.sameType(0, 4)
	c.scalarInput(1, "x_scale")
	c.scalarInputIf(2, "x_zero_point")
	c.scalarInput(3, "y_scale")
	c.scalarInputIf(4, "y_zero_point")
	if c.attrInt("channels_last", 0) != 0 {
		c.fail(ErrUnsupported, "channels_last=1")
	}
	if c.err != nil {
		return nil, nil
	}
	x := c.in[0].Shape
	if len(x) < 3 || len(x) > 5 {
		c.fail(ErrShape, "input %v needs 1 to 3 spatial dimensions", x)
		return nil, nil
	}
	rank := len(x) - 2
	var g geom
	includePad := false
	if global {
		k := make([]int64, rank)
		for i := range k {
			k[i] = int64(x[2+i])
		}
		g = c.windowGeom(x[2:], k, windowAttrs{strides: ones64(rank), dils: ones64(rank), pads: make([]int64, 2*rank), autoPad: "NOTSET"}, false)
	} else {
		kshape := c.attrInts("kernel_shape", nil)
		if len(kshape) != rank {
			c.fail(ErrParams, "kernel_shape %v for %d spatial dimensions", kshape, rank)
			return nil, nil
		}
		ceil := c.attrBool("ceil_mode", false)
		includePad = c.attrBool("count_include_pad", false)
		wa := c.readWindow(rank, false)
		g = c.windowGeom(x[2:], kshape, wa, ceil)
	}
	if c.err != nil {
		return nil, nil
	}
	out := g.outShape(x[0], x[1])
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	dt := c.in[0].DType
	return []ValueInfo{info(dt, out)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		if err := checkScales(in[1], in[3]); err != nil {
			return nil, err
		}
		X := in[0]
		xzp, yzp := zeroPointsOf(opt(in, 2), 1)[0], zeroPointsOf(opt(in, 4), 1)[0]
		xs, ys := in[1].F32[0], in[3].F32[0]
		qmin, qmax := qrange(dt)
		y := alloc(dt, out)
		ec.parallelFor(x[0]*x[1], func(lo, hi int) {
			for p := lo; p < hi; p++ {
				i := p * g.oSize
				for z := 0; z < g.out[0]; z++ {
					az, bz := g.taps(0, z)
					for yy := 0; yy < g.out[1]; yy++ {
						ay, by := g.taps(1, yy)
						for xx := 0; xx < g.out[2]; xx++ {
							ax, bx := g.taps(2, xx)
							var sum int32
							for a := az; a < bz; a++ {
								iz := z*g.stride[0] - g.pb[0] + a*g.dil[0]
								for e := ay; e < by; e++ {
									iy := yy*g.stride[1] - g.pb[1] + e*g.dil[1]
									for f := ax; f < bx; f++ {
										ix := xx*g.stride[2] - g.pb[2] + f*g.dil[2]
										sum += qat(X, p*g.inSize+(iz*g.in[1]+iy)*g.in[2]+ix) - xzp
									}
								}
							}
							cnt := (bz - az) * (by - ay) * (bx - ax)
							if includePad {
								cnt = 1
								for j, o := range [3]int{z, yy, xx} {
									l, h := validRange(g.k[j], g.dil[j], o*g.stride[j], g.in[j]+g.pb[j]+g.pe[j])
									cnt *= h - l
								}
							}
							v := yzp
							if cnt > 0 {
								m := qtensor.RequantMultiplier(xs, 1/float32(cnt), ys)
								v = qtensor.Requantize(sum, m, yzp, qmin, qmax)
							}
							qput(y, i, v)
							i++
						}
					}
				}
			}
		})
		return y, nil
	})
}

func ones64(n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// --- QLinearSigmoid, QLinearLeakyRelu ---

func prepQLinearUnary(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(4, 5)
	c.dtype(0, Int8, Uint8)
	c.dtype(1, Float32)
	c.dtype(3, Float32)
	c.sameType(0, 2)
	c.sameType(0, 4)
	c.scalarInput(1, "X_scale")
	c.scalarInputIf(2, "X_zero_point")
	c.scalarInput(3, "Y_scale")
	c.scalarInputIf(4, "Y_zero_point")
	var f func(float32) float32
	switch c.n.OpType {
	case "QLinearSigmoid":
		f = unaryFloat["Sigmoid"](c)
	case "QLinearLeakyRelu":
		f = unaryFloat["LeakyRelu"](c)
	}
	if c.err != nil {
		return nil, nil
	}
	dt, shape := c.in[0].DType, c.in[0].Shape
	return []ValueInfo{info(dt, shape)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		if err := checkScales(in[1], in[3]); err != nil {
			return nil, err
		}
		qd := qtensor.Uint8
		if dt == Int8 {
			qd = qtensor.Int8
		}
		table, err := qtensor.ActivationTable(qd, in[1].F32[0], zeroPointsOf(opt(in, 2), 1)[0], qd, in[3].F32[0], zeroPointsOf(opt(in, 4), 1)[0], f)
		if err != nil {
			return nil, err
		}
		y := alloc(dt, shape)
		for i := range y.Len() {
			qput(y, i, qtensor.ByteValue(qd, table[byte(qat(in[0], i))]))
		}
		return y, nil
	})
}

// UnaryFunc returns the elementwise float function of node i of a built
// graph when it is one (Relu, LeakyRelu, Sigmoid, Tanh, HardSigmoid,
// HardSwish, Gelu, Erf, Elu, Softplus and the other one-input float ops;
// for com.microsoft QLinearSigmoid and QLinearLeakyRelu, the float
// function between their quantizations), with the node's attributes.
func (g *Graph) UnaryFunc(i int) (func(float32) float32, bool) {
	if !g.built || i < 0 || i >= len(g.Nodes) {
		return nil, false
	}
	n := g.Nodes[i]
	name := n.OpType
	if n.Domain == "com.microsoft" && (name == "QLinearSigmoid" || name == "QLinearLeakyRelu") {
		name = name[len("QLinear"):]
	} else if !isDefaultDomain(n.Domain) || len(n.Inputs) != 1 {
		return nil, false
	}
	mk, ok := unaryFloat[name]
	if !ok {
		return nil, false
	}
	c := &prepCtx{n: n, opset: g.Opset, used: map[string]bool{}}
	f := mk(c)
	return f, c.err == nil
}

// --- QLinearConcat ---

// prepQLinearConcat: Y_scale, Y_zero_point, then (X, X_scale,
// X_zero_point) per input; axis. Each input is copied when its params are
// the output's, else requantized as ONNX Runtime does and the engine's
// Concat does: Quantize(Dequantize(x)).
func prepQLinearConcat(c *prepCtx) ([]ValueInfo, kernel) {
	if len(c.in) < 5 || (len(c.in)-2)%3 != 0 {
		c.fail(ErrParams, "takes Y_scale, Y_zero_point and triples (X, X_scale, X_zero_point), has %d inputs", len(c.in))
		return nil, nil
	}
	c.dtype(0, Float32)
	c.scalarInput(0, "Y_scale")
	c.scalarInput(1, "Y_zero_point")
	c.dtype(1, Int8, Uint8)
	if c.err != nil {
		return nil, nil
	}
	dt := c.in[1].DType
	k := (len(c.in) - 2) / 3
	first := c.in[2].Shape
	ax := c.axis("axis", c.attrInt("axis", 0), len(first))
	out := slices.Clone(first)
	out[ax] = 0
	for j := 0; j < k; j++ {
		xi := 2 + 3*j
		c.dtype(xi, dt)
		c.dtype(xi+1, Float32)
		c.scalarInput(xi+1, "X_scale")
		c.scalarInput(xi+2, "X_zero_point")
		c.sameType(xi, xi+2)
		if c.err != nil {
			return nil, nil
		}
		s := c.in[xi].Shape
		if len(s) != len(first) {
			c.fail(ErrShape, "input %d has shape %v, input 0 %v", j, s, first)
			return nil, nil
		}
		for d := range s {
			if d != ax && s[d] != first[d] {
				c.fail(ErrShape, "input %d has shape %v, input 0 %v", j, s, first)
				return nil, nil
			}
		}
		out[ax] += s[ax]
	}
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	outer, inner := numel(out[:ax]), numel(out[ax+1:])
	return []ValueInfo{info(dt, out)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		ys := in[0].F32[0]
		yzp := zeroPointsOf(in[1], 1)[0]
		qmin, qmax := qrange(dt)
		y := alloc(dt, out)
		off := 0
		for j := 0; j < k; j++ {
			X, xs, xzp := in[2+3*j], in[3+3*j], in[4+3*j]
			if err := checkScales(xs); err != nil {
				return nil, err
			}
			zx := zeroPointsOf(xzp, 1)[0]
			same := xs.F32[0] == ys && zx == yzp
			w := X.Shape[ax] * inner
			for o := 0; o < outer; o++ {
				for e := 0; e < w; e++ {
					v := qat(X, o*w+e)
					if !same {
						v = qtensor.Quantize(qtensor.Dequantize(v, zx, xs.F32[0]), ys, yzp, qmin, qmax)
					}
					qput(y, o*out[ax]*inner+off+e, v)
				}
			}
			off += w
		}
		return y, nil
	})
}
