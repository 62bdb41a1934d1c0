package engine

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// Batch records ops to run together as one submission (one command buffer
// on a GPU). Every op method validates its operands at once and returns the
// op's output tensor, allocated but not computed until Run. A Batch is not
// safe for concurrent use; the Engine is.
//
// If a Batch is dropped without Run, Release the outputs it returned.
type Batch struct {
	e     *Engine
	ops   []backend.Op
	uses  []*Tensor // the operands of ops, pinned while the batch runs
	useOp []int     // the index in ops of each entry of uses
	made  []*Tensor // the outputs the batch allocated
}

// NewBatch starts an empty batch.
func (e *Engine) NewBatch() *Batch { return &Batch{e: e} }

// Ops returns the recorded ops as a backend receives them. For tests of
// backends.
func (b *Batch) Ops() []backend.Op { return append([]backend.Op(nil), b.ops...) }

// Len is the number of recorded ops.
func (b *Batch) Len() int { return len(b.ops) }

// Run executes the recorded ops in order and returns when they are done
// or ctx is cancelled. A batch can be run again (the ops read their
// inputs anew).
func (b *Batch) Run(ctx context.Context) error {
	_, err := b.e.run(ctx, b, false)
	return err
}

// RunTimed is Run that also returns each op's device time in seconds when
// the backend measures it (GPU timestamps); otherwise the slice is nil.
func (b *Batch) RunTimed(ctx context.Context) ([]float64, error) {
	return b.e.run(ctx, b, true)
}

// add records op, whose operands are ts.
func (b *Batch) add(op backend.Op, ts ...*Tensor) {
	for range ts {
		b.useOp = append(b.useOp, len(b.ops))
	}
	b.ops = append(b.ops, op)
	b.uses = append(b.uses, ts...)
}

// out allocates an output tensor.

func (b *Batch) out(d qtensor.DType, shape []int, p qtensor.Params) (*Tensor, error) {
	if err := b.e.enter(); err != nil {
		return nil, err
	}
	defer b.e.leave()
	t, err := b.e.alloc(d, shape, p)
	if err == nil {
		b.made = append(b.made, t)
	}
	return t, err
}

func errf(op string, base error, format string, args ...any) error {
	return fmt.Errorf("engine: %s: %w: %s", op, base, fmt.Sprintf(format, args...))
}

// checkIn validates an input tensor: owned, live, non-empty, one of the
// given types.
func (b *Batch) checkIn(op, name string, t *Tensor, types ...qtensor.DType) error {
	if err := b.e.check(name, t); err != nil {
		return fmt.Errorf("engine: %s: %w", op, err)
	}
	if t.Len() == 0 {
		return errf(op, ErrShape, "%s is empty (shape %v)", name, t.Shape())
	}
	for _, d := range types {
		if t.DType() == d {
			return nil
		}
	}
	return errf(op, ErrParams, "%s has type %v, want one of %v", name, t.DType(), types)
}

func perTensor(op, name string, t *Tensor) (float32, int32, error) {
	return perTensorParams(op, name, t.Params())
}

func perTensorParams(op, name string, p qtensor.Params) (float32, int32, error) {
	if p.Granularity != qtensor.PerTensor || len(p.Scales) != 1 {
		return 0, 0, errf(op, ErrParams, "%s needs per-tensor quantization parameters, has %v", name, p.Granularity)
	}
	return p.Scales[0], p.ZeroPoints[0], nil
}

// Quantize records ONNX QuantizeLinear of float32 x into type d with
// params p (per tensor, per axis or per block), rounding by rule r.
func (b *Batch) Quantize(x *Tensor, d qtensor.DType, p qtensor.Params, r qtensor.Rounding) (*Tensor, error) {
	const op = "Quantize"
	if err := b.checkIn(op, "x", x, qtensor.Float32); err != nil {
		return nil, err
	}
	if !d.Quantized() {
		return nil, errf(op, ErrParams, "output type %v is not a quantized type", d)
	}
	if r != qtensor.RoundONNX && r != qtensor.RoundTorch {
		return nil, errf(op, ErrParams, "unknown rounding %v", r)
	}
	if err := p.Validate(d, x.Shape()); err != nil {
		return nil, fmt.Errorf("engine: %s: %w", op, err)
	}
	y, err := b.out(d, x.Shape(), p)
	if err != nil {
		return nil, err
	}
	b.add(&backend.Quantize{X: x.d, Y: y.d, Rounding: r}, x, y)
	return y, nil
}

// Dequantize records ONNX DequantizeLinear of x with its own params.
func (b *Batch) Dequantize(x *Tensor) (*Tensor, error) {
	const op = "Dequantize"
	if err := b.checkIn(op, "x", x, qtensor.Int8, qtensor.Uint8, qtensor.Int4, qtensor.Uint4); err != nil {
		return nil, err
	}
	y, err := b.out(qtensor.Float32, x.Shape(), qtensor.Params{})
	if err != nil {
		return nil, err
	}
	b.add(&backend.Dequantize{X: x.d, Y: y.d}, x, y)
	return y, nil
}

// ByteWeightDequant records Caffe2's ByteWeightDequant of uint8 x into a
// float32 tensor of the given shape (whose element count must match x's).
// Caffe2's defaults are min -3, max 3.
func (b *Batch) ByteWeightDequant(x *Tensor, min, max float32, shape []int) (*Tensor, error) {
	const op = "ByteWeightDequant"
	if err := b.checkIn(op, "x", x, qtensor.Uint8); err != nil {
		return nil, err
	}
	if !finite(min) || !finite(max) || !finite(max-min) {
		return nil, errf(op, ErrParams, "min %g, max %g and max-min must be finite", min, max)
	}
	if shape == nil {
		shape = x.Shape()
	}
	n, err := qtensor.NumElements(shape)
	if err != nil {
		return nil, fmt.Errorf("engine: %s: %w", op, err)
	}
	if n != x.Len() {
		return nil, errf(op, ErrShape, "shape %v has %d elements, input has %d", shape, n, x.Len())
	}
	y, err := b.out(qtensor.Float32, shape, qtensor.Params{})
	if err != nil {
		return nil, err
	}
	b.add(&backend.ByteWeightDequant{X: x.d, Y: y.d, Min: min, Max: max}, x, y)
	return y, nil
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// GemmOptions configure Batch.Gemm.
type GemmOptions struct {
	// AZP are A's zero points: one, or one per row (M); nil takes them
	// from A's params (per tensor, or per axis along the rows).
	AZP []int32
	// BZP are B's zero points: one, or one per output channel (N); nil
	// takes them from B's params (per tensor, or per axis along N).
	BZP []int32
	// TransposeB says B is stored [..., N, K] - the [out][in] layout of a
	// linear layer's weight in PyTorch, ONNX Gemm with transB=1 and most
	// frameworks - instead of [..., K, N] (ONNX MatMul); its per-channel
	// params then lie along axis rank-2 (N) instead of rank-1. The result
	// is the same as for the [K][N] transpose of B, bit for bit.
	TransposeB bool

	// The output. Output is OutInt32 (the default: the accumulators plus
	// Bias), OutFloat32 (scaled by AScale x BScale, plus FloatBias) or
	// OutQuantized (requantized to YType with YScale and YZP).
	Output OutputKind
	// Bias is added to the accumulator: nil, one, or one per output
	// channel (column of the product).
	Bias []int32
	// AScale is A's scale for float and quantized outputs; 0 takes A's
	// per-tensor scale.
	AScale float32
	// BScale are B's scales, one or one per output channel; nil takes
	// them from B's params (per tensor, or per axis along N).
	BScale []float32
	// FloatBias is added after scaling for OutFloat32: nil, one or one per
	// output channel.
	FloatBias []float32
	// YType (int8 or uint8), YScale and YZP describe a quantized output.
	YType  qtensor.DType
	YScale float32
	YZP    int32
	// Fixed selects fixed-point requantization (qtensor.RequantizeFixed)
	// instead of the float multiplier.
	Fixed bool
	// ReLU clamps a quantized output below at YZP.
	ReLU bool
}

// spec is o's output stage for backend.OutputSpec.Epilogue.
func (o *GemmOptions) spec() *backend.OutputSpec {
	return &backend.OutputSpec{Output: o.Output, Bias: o.Bias, AScale: o.AScale, WScale: o.BScale, FloatBias: o.FloatBias,
		YType: o.YType, YScale: o.YScale, YZP: o.YZP, Fixed: o.Fixed, ReLU: o.ReLU}
}

// zeroPoints resolves explicit or tensor-derived zero points: one entry or
// one per index of axis (counted from the end).
func zeroPoints(op, name string, t *Tensor, given []int32, count, axisFromEnd int) ([]int32, error) {
	return backend.ZeroPoints(op, name, t.DType(), t.Params(), len(t.Shape())-axisFromEnd, given, count)
}

// epilogue validates an output spec for channels output channels (weight
// scales of w along axisFromEnd) and returns the epilogue and output type.
func epilogue(op string, o *backend.OutputSpec, a, w *Tensor, channels, wAxisFromEnd int) (backend.Epilogue, qtensor.DType, qtensor.Params, error) {
	return o.Epilogue(op, a.Params(), w.Params(), len(w.Shape())-wAxisFromEnd, channels)
}

// Gemm records batched integer matrix multiplication (MatMulInteger,
// QLinearMatMul and their float-output and bias variants). A is uint8 or
// int8 with shape [..., M, K] (or [K]), B int8 or uint8 with shape
// [..., K, N], or [..., N, K] with GemmOptions.TransposeB (or [K] either
// way); leading dimensions broadcast like numpy's matmul.
func (b *Batch) Gemm(a, w *Tensor, o GemmOptions) (*Tensor, error) {
	const op = "Gemm"
	if err := b.checkIn(op, "A", a, qtensor.Uint8, qtensor.Int8); err != nil {
		return nil, err
	}
	if err := b.checkIn(op, "B", w, qtensor.Int8, qtensor.Uint8); err != nil {
		return nil, err
	}
	as, bs := a.Shape(), w.Shape()
	if len(as) == 0 || len(bs) == 0 {
		return nil, errf(op, ErrShape, "operands must have rank >= 1, have %v and %v", as, bs)
	}
	aVec, bVec := len(as) == 1, len(bs) == 1
	if aVec {
		as = []int{1, as[0]}
	}
	if bVec {
		bs = []int{bs[0], 1}
		if o.TransposeB {
			bs = []int{1, bs[0]}
		}
	}
	M, K := as[len(as)-2], as[len(as)-1]
	K2, N := bs[len(bs)-2], bs[len(bs)-1]
	// nAxis is B's output-channel axis counted from the end.
	nAxis := 1
	if o.TransposeB {
		N, K2, nAxis = K2, N, 2
	}
	if K != K2 {
		return nil, errf(op, ErrShape, "inner dimensions differ: A %v has K=%d, %s", a.Shape(), K, gemmLayoutHint(w.Shape(), K, o.TransposeB))
	}
	batch, ai, bi, err := broadcastBatch(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, errf(op, ErrShape, "batch dimensions of %v and %v: %v", a.Shape(), w.Shape(), err)
	}
	azp, err := zeroPoints(op, "A", a, o.AZP, M, 2)
	if err != nil {
		return nil, err
	}
	if err := checkGemmChannelAxis(op, w.Shape(), w.Params(), &o, nAxis); err != nil {
		return nil, err
	}
	bzp, err := zeroPoints(op, "B", w, o.BZP, N, nAxis)
	if err != nil {
		return nil, err
	}
	ep, yt, yp, err := epilogue(op, o.spec(), a, w, N, nAxis)
	if err != nil {
		return nil, err
	}
	if err := backend.CheckAccumulator(op, int64(K), backend.MaxAbsDiff(a.DType(), azp), backend.MaxAbsDiff(w.DType(), bzp), ep.Bias); err != nil {
		return nil, err
	}
	outShape := append(append([]int(nil), batch...), M, N)
	if aVec {
		outShape = append(outShape[:len(outShape)-2], N)
	}
	if bVec {
		outShape = outShape[:len(outShape)-1]
	}
	y, err := b.out(yt, outShape, yp)
	if err != nil {
		return nil, err
	}
	b.add(&backend.Gemm{A: a.d, B: w.d, Y: y.d, M: M, K: K, N: N, Batch: len(ai), AIndex: ai, BIndex: bi, AZP: azp, BZP: bzp,
		TransposeB: o.TransposeB && !bVec, Epilogue: ep}, a, w, y)
	return y, nil
}

// gemmLayoutHint describes a B of shape bs whose inner dimension does not
// match A's K in the layout chosen by transposed, and says which layout
// would fit: the [N][K] weight of a linear layer given as a [K][N] B is
// the usual mistake.
func gemmLayoutHint(bs []int, K int, transposed bool) string {
	r := len(bs)
	if !transposed {
		s := fmt.Sprintf("B %v is [..., K, N] with K=%d", bs, bs[max(r-2, 0)])
		if r >= 2 && bs[r-1] == K {
			s += "; B looks like [..., N, K] (the [out][in] layout of a linear layer's weight): set GemmOptions.TransposeB"
		}
		return s
	}
	s := fmt.Sprintf("B %v is [..., N, K] (GemmOptions.TransposeB) with K=%d", bs, bs[r-1])
	if r >= 2 && bs[r-2] == K {
		s += "; B looks like [..., K, N]: unset GemmOptions.TransposeB"
	}
	return s
}

// checkGemmChannelAxis rejects a B quantized per axis along its K axis
// where its per-axis params would be used (zero points or scales not
// given), saying which axis holds the output channels in the chosen
// layout and, when B's matrices are square (so both layouts fit the
// shapes), that the params are those of the other layout.
func checkGemmChannelAxis(op string, bs []int, p qtensor.Params, o *GemmOptions, nAxis int) error {
	r := len(bs)
	if p.Granularity != qtensor.PerAxis || r < 2 || p.Axis == r-nAxis {
		return nil
	}
	if o.BZP != nil && (o.BScale != nil || o.Output == OutInt32) {
		return nil // the params are not used
	}
	kAxis := r - 3 + nAxis // the other matrix axis
	if p.Axis != kAxis {
		return nil // the general error of zeroPoints or epilogue
	}
	layout, fix := "[..., K, N]", "set GemmOptions.TransposeB: B looks like [..., N, K], a linear layer's [out][in] weight quantized per output channel"
	if o.TransposeB {
		layout, fix = "[..., N, K] (GemmOptions.TransposeB)", "unset GemmOptions.TransposeB: B looks like [..., K, N] quantized per column"
	}
	msg := fmt.Sprintf("B %v, %s, is quantized per axis %d, its K axis; its output channels (N) are axis %d", bs, layout, p.Axis, r-nAxis)
	if bs[r-1] == bs[r-2] {
		msg += "; " + fix
	}
	return errf(op, ErrParams, "%s", msg)
}

// broadcastBatch broadcasts two batch shapes like numpy and returns the
// output batch shape and, for each output matrix, the index of the A and B
// matrices that feed it.
func broadcastBatch(a, b []int) (out []int, ai, bi []int, err error) {
	r := max(len(a), len(b))
	out = make([]int, r)
	pad := func(s []int) []int { return append(make([]int, r-len(s)), s...) }
	pa, pb := pad(a), pad(b)
	for i := range r {
		x, y := pa[i], pb[i]
		if i < r-len(a) {
			x = 1
		}
		if i < r-len(b) {
			y = 1
		}
		pa[i], pb[i] = x, y
		switch {
		case x == y || y == 1:
			out[i] = x
		case x == 1:
			out[i] = y
		default:
			return nil, nil, nil, fmt.Errorf("dimension %d: %d vs %d", i, x, y)
		}
	}
	total, err := qtensor.NumElements(out)
	if err != nil {
		return nil, nil, nil, err
	}
	if total > 1<<24 {
		return nil, nil, nil, fmt.Errorf("%d batch matrices is too many", total)
	}
	ai, bi = make([]int, total), make([]int, total)
	idx := make([]int, r)
	for k := range total {
		// k's multi-index over out, row-major.
		rem := k
		for i := r - 1; i >= 0; i-- {
			if out[i] > 0 {
				idx[i] = rem % out[i]
				rem /= out[i]
			}
		}
		sa, sb := 0, 0
		for i := range r {
			ia, ib := idx[i], idx[i]
			if pa[i] == 1 {
				ia = 0
			}
			if pb[i] == 1 {
				ib = 0
			}
			sa = sa*pa[i] + ia
			sb = sb*pb[i] + ib
		}
		ai[k], bi[k] = sa, sb
	}
	return out, ai, bi, nil
}

// ConvOptions configure Batch.Conv (ONNX ConvInteger / QLinearConv
// attributes; 2-D, or 1-D with H = 1).
type ConvOptions struct {
	Strides   []int // [sh, sw]; nil: 1
	Dilations []int // [dh, dw]; nil: 1
	// Pads are [top, left, bottom, right] (ONNX order: begins then ends).
	Pads  []int
	Group int // 0 or 1: ordinary convolution
	// XZP is X's zero point (nil: from X's per-tensor params).
	XZP []int32
	// WZP are W's zero points, one or one per output channel (nil: from W's params).
	WZP []int32
	// XLayout and YLayout are the layouts of X and Y: NCHW (the default,
	// ONNX's) or NHWC (channels last). The weights are OIHW either way.
	XLayout, YLayout Layout

	// The output, as for GemmOptions: Output is OutInt32 (the default),
	// OutFloat32 or OutQuantized.
	Output OutputKind
	// Bias is added to the accumulator: nil, one, or one per output
	// channel.
	Bias []int32
	// XScale is X's scale for float and quantized outputs; 0 takes X's
	// per-tensor scale.
	XScale float32
	// WScale are W's scales, one or one per output channel; nil takes them
	// from W's params (per tensor, or per axis 0).
	WScale []float32
	// FloatBias is added after scaling for OutFloat32: nil, one or one per
	// output channel.
	FloatBias []float32
	// YType (int8 or uint8), YScale and YZP describe a quantized output.
	YType  qtensor.DType
	YScale float32
	YZP    int32
	// Fixed selects fixed-point requantization (qtensor.RequantizeFixed).
	Fixed bool
	// ReLU clamps a quantized output below at YZP.
	ReLU bool
}

// spec is o's output stage for backend.OutputSpec.Epilogue.
func (o *ConvOptions) spec() *backend.OutputSpec {
	return &backend.OutputSpec{Output: o.Output, Bias: o.Bias, AScale: o.XScale, WScale: o.WScale, FloatBias: o.FloatBias,
		YType: o.YType, YScale: o.YScale, YZP: o.YZP, Fixed: o.Fixed, ReLU: o.ReLU}
}

// spatial is the geometry of a 2-D window op.
type spatial struct {
	sh, sw, dh, dw, pt, pl, pb, pr, oh, ow int
}

func windowGeometry(op string, h, w, kh, kw int, strides, dilations, pads []int) (spatial, error) {
	var g spatial
	get := func(s []int, n int, def int, name string) ([]int, error) {
		if s == nil {
			r := make([]int, n)
			for i := range r {
				r[i] = def
			}
			return r, nil
		}
		if len(s) != n {
			return nil, errf(op, ErrParams, "%s has %d values, want %d", name, len(s), n)
		}
		return s, nil
	}
	st, err := get(strides, 2, 1, "strides")
	if err != nil {
		return g, err
	}
	di, err := get(dilations, 2, 1, "dilations")
	if err != nil {
		return g, err
	}
	pa, err := get(pads, 4, 0, "pads")
	if err != nil {
		return g, err
	}
	const lim = 1 << 20
	for _, v := range append(append([]int(nil), st...), di...) {
		if v < 1 || v > lim {
			return g, errf(op, ErrParams, "strides and dilations must be in [1, 2^20], have %v and %v", st, di)
		}
	}
	for _, v := range pa {
		if v < 0 || v > lim {
			return g, errf(op, ErrParams, "pads must be in [0, 2^20], have %v", pa)
		}
	}
	g = spatial{sh: st[0], sw: st[1], dh: di[0], dw: di[1], pt: pa[0], pl: pa[1], pb: pa[2], pr: pa[3]}
	ekh, ekw := (kh-1)*g.dh+1, (kw-1)*g.dw+1
	hp, wp := h+g.pt+g.pb, w+g.pl+g.pr
	if ekh > hp || ekw > wp {
		return g, errf(op, ErrShape, "dilated kernel %dx%d larger than padded input %dx%d", ekh, ekw, hp, wp)
	}
	g.oh = (hp-ekh)/g.sh + 1
	g.ow = (wp-ekw)/g.sw + 1
	return g, nil
}

// Conv records a 2-D integer convolution. X is [N, C, H, W] (or [N, C,
// L]) uint8/int8, or [N, H, W, C] (or [N, L, C]) with XLayout NHWC; W is
// [O, C/Group, KH, KW] (or [O, C/Group, KL]) int8/uint8; Y is [N, O, OH,
// OW] (or [N, O, OL]), or [N, OH, OW, O] (or [N, OL, O]) with YLayout
// NHWC.
func (b *Batch) Conv(x, w *Tensor, o ConvOptions) (*Tensor, error) {
	const op = "Conv"
	if err := b.checkIn(op, "X", x, qtensor.Uint8, qtensor.Int8); err != nil {
		return nil, err
	}
	if err := b.checkIn(op, "W", w, qtensor.Int8, qtensor.Uint8); err != nil {
		return nil, err
	}
	if err := checkLayouts(op, o.XLayout, o.YLayout); err != nil {
		return nil, err
	}
	xs, ws := x.Shape(), w.Shape()
	oneD := len(xs) == 3
	if (len(xs) != 4 && len(xs) != 3) || len(ws) != len(xs) {
		return nil, errf(op, ErrShape, "X must be %s (or %s) and W OIHW (or OIL) of the same rank, have %v and %v", o.XLayout, layout1D(o.XLayout), xs, ws)
	}
	if oneD {
		xs = slices.Insert(xs, len(xs)-1-layoutChannelLast(o.XLayout), 1) // H = 1
		ws = []int{ws[0], ws[1], 1, ws[2]}
		o.Strides, o.Dilations, o.Pads = to2D(o.Strides, 1), to2D(o.Dilations, 1), pads1D(o.Pads)
	}
	xs = toNCHW(o.XLayout, xs)
	group := o.Group
	if group == 0 {
		group = 1
	}
	N, C, H, W := xs[0], xs[1], xs[2], xs[3]
	O, Cg, KH, KW := ws[0], ws[1], ws[2], ws[3]
	if group < 1 || C%group != 0 || O%group != 0 || Cg != C/group {
		return nil, errf(op, ErrShape, "group %d does not fit %d input channels, %d output channels and weights %v", group, C, O, w.Shape())
	}
	g, err := windowGeometry(op, H, W, KH, KW, o.Strides, o.Dilations, o.Pads)
	if err != nil {
		return nil, err
	}
	xzp, err := zeroPoints(op, "X", x, o.XZP, 1, 0)
	if err != nil {
		return nil, err
	}
	if len(xzp) != 1 {
		return nil, errf(op, ErrParams, "X needs one zero point")
	}
	wzp, err := zeroPoints(op, "W", w, o.WZP, O, len(w.Shape()))
	if err != nil {
		return nil, err
	}
	ep, yt, yp, err := epilogue(op, o.spec(), x, w, O, len(w.Shape()))
	if err != nil {
		return nil, err
	}
	if err := backend.CheckAccumulator(op, int64(Cg)*int64(KH)*int64(KW), backend.MaxAbsDiff(x.DType(), xzp), backend.MaxAbsDiff(w.DType(), wzp), ep.Bias); err != nil {
		return nil, err
	}
	outShape := o.YLayout.Shape(N, O, g.oh, g.ow)
	if oneD {
		outShape = slices.Delete(outShape, len(outShape)-2-layoutChannelLast(o.YLayout), len(outShape)-1-layoutChannelLast(o.YLayout)) // OH = 1
	}
	y, err := b.out(yt, outShape, yp)
	if err != nil {
		return nil, err
	}
	b.add(&backend.Conv{X: x.d, W: w.d, Y: y.d, N: N, C: C, H: H, Wd: W, O: O, KH: KH, KW: KW, OH: g.oh, OW: g.ow, Group: group,
		StrideH: g.sh, StrideW: g.sw, DilationH: g.dh, DilationW: g.dw, PadTop: g.pt, PadLeft: g.pl, PadBottom: g.pb, PadRight: g.pr,
		XZP: xzp[0], WZP: wzp, XLayout: o.XLayout, YLayout: o.YLayout, Epilogue: ep}, x, w, y)
	return y, nil
}

// checkLayouts validates the layouts of a Conv or Pool.
func checkLayouts(op string, ls ...Layout) error {
	for _, l := range ls {
		if l != NCHW && l != NHWC {
			return errf(op, ErrParams, "unknown layout %d (want NCHW or NHWC)", uint8(l))
		}
	}
	return nil
}

// layoutChannelLast is 1 for NHWC, 0 for NCHW.
func layoutChannelLast(l Layout) int {
	if l == NHWC {
		return 1
	}
	return 0
}

// layout1D names the 1-D form of a layout.
func layout1D(l Layout) string {
	if l == NHWC {
		return "NLC"
	}
	return "NCL"
}

// toNCHW returns the 4-D shape s of layout l in NCHW order.
func toNCHW(l Layout, s []int) []int {
	if l == NHWC && len(s) == 4 {
		return []int{s[0], s[3], s[1], s[2]}
	}
	return s
}

func to2D(s []int, def int) []int {
	if len(s) != 1 {
		return s
	}
	return []int{def, s[0]}
}

func pads1D(p []int) []int {
	if len(p) != 2 {
		return p
	}
	return []int{0, p[0], 0, p[1]}
}

// Requantize records requantization of x (int32 accumulators with scale
// inScales, one or one per index of axis; or int8/uint8 with its own
// params) to yType with per-tensor (yScale, yZP). axis is -1 for
// per-tensor input scales. Fixed selects the fixed-point rule.
func (b *Batch) Requantize(x *Tensor, inScales []float32, axis int, yType qtensor.DType, yScale float32, yZP int32, fixed bool) (*Tensor, error) {
	const op = "Requantize"
	if err := b.checkIn(op, "x", x, qtensor.Int32, qtensor.Int8, qtensor.Uint8); err != nil {
		return nil, err
	}
	r := &backend.Requantize{X: x.d, Axis: axis}
	if x.DType() != qtensor.Int32 {
		if inScales != nil {
			return nil, errf(op, ErrParams, "a quantized input carries its own scale; pass nil inScales")
		}
		switch x.Params().Granularity {
		case qtensor.PerTensor:
			r.Axis = -1
		case qtensor.PerAxis:
			if !allEqual(x.Params().ZeroPoints) {
				return nil, errf(op, ErrParams, "per-axis input needs one zero point for all channels")
			}
			r.Axis = x.Params().Axis
		default:
			return nil, errf(op, ErrParams, "input quantized %v is not supported", x.Params().Granularity)
		}
		inScales = x.Params().Scales
		r.XZP = x.Params().ZeroPoints[0]
	}
	channels := 1
	if r.Axis >= 0 {
		if r.Axis >= len(x.Shape()) {
			return nil, errf(op, ErrParams, "axis %d out of range for shape %v", r.Axis, x.Shape())
		}
		channels = x.Shape()[r.Axis]
	} else if r.Axis != -1 {
		return nil, errf(op, ErrParams, "axis %d (use -1 for per tensor)", axis)
	}
	if len(inScales) != 1 && len(inScales) != channels {
		return nil, errf(op, ErrParams, "%d input scales, want 1 or %d", len(inScales), channels)
	}
	oo := backend.OutputSpec{Output: OutQuantized, AScale: 1, WScale: inScales, YType: yType, YScale: yScale, YZP: yZP, Fixed: fixed}
	ep, yt, yp, err := epilogue(op, &oo, x, x, channels, 1)
	if err != nil {
		return nil, err
	}
	r.Epilogue = ep
	y, err := b.out(yt, x.Shape(), yp)
	if err != nil {
		return nil, err
	}
	r.Y = y.d
	b.add(r, x, y)
	return y, nil
}

func allEqual(s []int32) bool {
	for _, v := range s {
		if v != s[0] {
			return false
		}
	}
	return true
}

// binaryCheck validates two same-shape, same-type per-tensor operands and
// the output params.
func (b *Batch) binaryCheck(op string, a, c *Tensor, yScale float32, yZP int32) (sa, sb float32, za, zb int32, err error) {
	if err = b.checkIn(op, "A", a, qtensor.Int8, qtensor.Uint8); err != nil {
		return
	}
	if err = b.checkIn(op, "B", c, qtensor.Int8, qtensor.Uint8); err != nil {
		return
	}
	if a.DType() != c.DType() {
		err = errf(op, ErrParams, "operands must have the same type, have %v and %v", a, c)
		return
	}
	if !equalShape(a.Shape(), c.Shape()) {
		err = errf(op, ErrShape, "operands must have the same shape, have %v and %v", a, c)
		return
	}
	if sa, za, err = perTensor(op, "A", a); err != nil {
		return
	}
	if sb, zb, err = perTensor(op, "B", c); err != nil {
		return
	}
	if e := qtensor.TensorParams(yScale, yZP).Validate(a.DType(), []int{1}); e != nil {
		err = fmt.Errorf("engine: %s: output: %w", op, e)
	}
	return
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Add records quantized elementwise addition into (yScale, yZP) of A's type.
func (b *Batch) Add(a, c *Tensor, yScale float32, yZP int32) (*Tensor, error) {
	const op = "Add"
	sa, sb, za, zb, err := b.binaryCheck(op, a, c, yScale, yZP)
	if err != nil {
		return nil, err
	}
	ma, mb := qtensor.AddMultipliers(sa, sb, yScale)
	if err := qtensor.CheckMultiplier(ma); err != nil {
		return nil, fmt.Errorf("engine: %s: %w", op, err)
	}
	if err := qtensor.CheckMultiplier(mb); err != nil {
		return nil, fmt.Errorf("engine: %s: %w", op, err)
	}
	y, err := b.out(a.DType(), a.Shape(), qtensor.TensorParams(yScale, yZP))
	if err != nil {
		return nil, err
	}
	b.add(&backend.Add{A: a.d, B: c.d, Y: y.d, ZA: za, ZB: zb, ZY: yZP, MA: ma, MB: mb}, a, c, y)
	return y, nil
}

// Mul records quantized elementwise multiplication into (yScale, yZP).
func (b *Batch) Mul(a, c *Tensor, yScale float32, yZP int32) (*Tensor, error) {
	const op = "Mul"
	sa, sb, za, zb, err := b.binaryCheck(op, a, c, yScale, yZP)
	if err != nil {
		return nil, err
	}
	m := qtensor.MulMultiplier(sa, sb, yScale)
	if err := qtensor.CheckMultiplier(m); err != nil {
		return nil, fmt.Errorf("engine: %s: %w", op, err)
	}
	y, err := b.out(a.DType(), a.Shape(), qtensor.TensorParams(yScale, yZP))
	if err != nil {
		return nil, err
	}
	b.add(&backend.Mul{A: a.d, B: c.d, Y: y.d, ZA: za, ZB: zb, ZY: yZP, M: m}, a, c, y)
	return y, nil
}

// ReLU records quantized ReLU (max(x, zero point)); x must be per tensor.
func (b *Batch) ReLU(x *Tensor) (*Tensor, error) {
	const op = "ReLU"
	if err := b.checkIn(op, "x", x, qtensor.Int8, qtensor.Uint8); err != nil {
		return nil, err
	}
	_, zp, err := perTensor(op, "x", x)
	if err != nil {
		return nil, err
	}
	y, err := b.out(x.DType(), x.Shape(), x.Params())
	if err != nil {
		return nil, err
	}
	b.add(&backend.ReLU{X: x.d, Y: y.d, ZP: zp}, x, y)
	return y, nil
}

// PoolOptions configure MaxPool and AvgPool (ONNX attributes, 2-D).
type PoolOptions struct {
	Kernel          []int // [kh, kw], required
	Strides         []int // nil: 1
	Dilations       []int // nil: 1
	Pads            []int // [top, left, bottom, right]; nil: 0
	CountIncludePad bool  // AvgPool only
	// XLayout and YLayout are the layouts of the input and the output:
	// NCHW (the default) or NHWC.
	XLayout, YLayout Layout
}

// MaxPool records quantized max pooling of an NCHW tensor [N, C, H, W]
// (or NHWC [N, H, W, C] with PoolOptions.XLayout); the output is [N, C,
// OH, OW] (or [N, OH, OW, C] with YLayout NHWC).
func (b *Batch) MaxPool(x *Tensor, o PoolOptions) (*Tensor, error) { return b.pool(true, x, o) }

// AvgPool records quantized average pooling of an NCHW (or NHWC) tensor,
// as MaxPool.
func (b *Batch) AvgPool(x *Tensor, o PoolOptions) (*Tensor, error) { return b.pool(false, x, o) }

func (b *Batch) pool(isMax bool, x *Tensor, o PoolOptions) (*Tensor, error) {
	op := "AvgPool"
	if isMax {
		op = "MaxPool"
	}
	if err := b.checkIn(op, "x", x, qtensor.Int8, qtensor.Uint8); err != nil {
		return nil, err
	}
	if err := checkLayouts(op, o.XLayout, o.YLayout); err != nil {
		return nil, err
	}
	if len(x.Shape()) != 4 {
		return nil, errf(op, ErrShape, "input must be %s, has shape %v", o.XLayout, x.Shape())
	}
	_, zp, err := perTensor(op, "x", x)
	if err != nil {
		return nil, err
	}
	if len(o.Kernel) != 2 || o.Kernel[0] < 1 || o.Kernel[1] < 1 || o.Kernel[0] > 1<<16 || o.Kernel[1] > 1<<16 {
		return nil, errf(op, ErrParams, "kernel must be two sizes in [1, 65536], have %v", o.Kernel)
	}
	if isMax && o.CountIncludePad {
		return nil, errf(op, ErrParams, "CountIncludePad applies to AvgPool only")
	}
	xs := toNCHW(o.XLayout, x.Shape())
	g, err := windowGeometry(op, xs[2], xs[3], o.Kernel[0], o.Kernel[1], o.Strides, o.Dilations, o.Pads)
	if err != nil {
		return nil, err
	}
	y, err := b.out(x.DType(), o.YLayout.Shape(xs[0], xs[1], g.oh, g.ow), x.Params())
	if err != nil {
		return nil, err
	}
	b.add(&backend.Pool{Max: isMax, X: x.d, Y: y.d, N: xs[0], C: xs[1], H: xs[2], W: xs[3], OH: g.oh, OW: g.ow,
		KH: o.Kernel[0], KW: o.Kernel[1], StrideH: g.sh, StrideW: g.sw, DilationH: g.dh, DilationW: g.dw,
		PadTop: g.pt, PadLeft: g.pl, PadBottom: g.pb, PadRight: g.pr, CountIncludePad: o.CountIncludePad, ZP: zp,
		XLayout: o.XLayout, YLayout: o.YLayout}, x, y)
	return y, nil
}

// maxCounted is the largest element count of a MinMax or Histogram op
// (uint32 counters).
const maxCounted = math.MaxUint32

// MinMax records a per-channel min/max reduction of float32 x (axis -1:
// the whole tensor). Decode its output with Engine.MinMaxResults.
func (b *Batch) MinMax(x *Tensor, axis int) (*Tensor, error) {
	const op = "MinMax"
	if err := b.checkIn(op, "x", x, qtensor.Float32); err != nil {
		return nil, err
	}
	if x.Len() > maxCounted {
		return nil, errf(op, ErrShape, "%d elements exceed the 2^32-1 a reduction counts", x.Len())
	}
	channels, inner := 1, x.Len()
	if axis != -1 {
		if axis < 0 || axis >= len(x.Shape()) {
			return nil, errf(op, ErrParams, "axis %d out of range for shape %v", axis, x.Shape())
		}
		channels, inner = x.Shape()[axis], 1
		for _, d := range x.Shape()[axis+1:] {
			inner *= d
		}
	}
	y, err := b.out(qtensor.Int32, []int{channels, 6}, qtensor.Params{})
	if err != nil {
		return nil, err
	}
	b.add(&backend.MinMax{X: x.d, Y: y.d, Channels: channels, Inner: inner}, x, y)
	return y, nil
}

// MaxHistogramBins bounds Histogram's bin count.
const MaxHistogramBins = 1 << 20

// histEdge reports whether v may be a histogram range edge: 0 or at least
// 2^-100 in magnitude. With such edges and a normal bins/(hi-lo), no
// intermediate of qtensor.HistBin that can change a bin is a denormal, so
// devices that flush denormals count exactly like the reference.
func histEdge(v float32) bool { return v == 0 || math.Abs(float64(v)) >= 0x1p-100 }

// Histogram records a histogram of float32 x with bins bins over [lo, hi].
// lo and hi must each be 0 or at least 2^-100 in magnitude, and
// bins/(hi-lo) a normal float32 (see histEdge). Decode its output with
// Engine.HistogramResult.
func (b *Batch) Histogram(x *Tensor, bins int, lo, hi float32) (*Tensor, error) {
	const op = "Histogram"
	if err := b.checkIn(op, "x", x, qtensor.Float32); err != nil {
		return nil, err
	}
	if x.Len() > maxCounted {
		return nil, errf(op, ErrShape, "%d elements exceed the 2^32-1 a reduction counts", x.Len())
	}
	if bins < 1 || bins > MaxHistogramBins {
		return nil, errf(op, ErrParams, "bins %d outside [1, %d]", bins, MaxHistogramBins)
	}
	if !finite(lo) || !finite(hi) || !(lo < hi) || !finite(hi-lo) {
		return nil, errf(op, ErrParams, "range [%g, %g] must be finite with lo < hi and a finite hi-lo", lo, hi)
	}
	if !histEdge(lo) || !histEdge(hi) {
		return nil, errf(op, ErrParams, "range edges %g and %g must each be 0 or at least 2^-100 in magnitude", lo, hi)
	}
	if s := qtensor.HistScale(bins, lo, hi); !finite(s) || s < 0x1p-126 {
		return nil, errf(op, ErrParams, "bins/(hi-lo) = %g must be a finite normal float32", s)
	}
	y, err := b.out(qtensor.Int32, []int{bins + 3}, qtensor.Params{})
	if err != nil {
		return nil, err
	}
	b.add(&backend.Histogram{X: x.d, Y: y.d, Bins: bins, Lo: lo, Hi: hi}, x, y)
	return y, nil
}

// HistogramAligned records a histogram of float32 x on the zero-aligned
// grid of bin width 2^exp (exp in [-126, 126]): bins bins starting at grid
// index start (see Histogram). Decode its output with
// Engine.HistogramResult.
func (b *Batch) HistogramAligned(x *Tensor, exp int, start int64, bins int) (*Tensor, error) {
	const op = "Histogram"
	if err := b.checkIn(op, "x", x, qtensor.Float32); err != nil {
		return nil, err
	}
	if x.Len() > maxCounted {
		return nil, errf(op, ErrShape, "%d elements exceed the 2^32-1 a reduction counts", x.Len())
	}
	if bins < 1 || bins > MaxHistogramBins {
		return nil, errf(op, ErrParams, "bins %d outside [1, %d]", bins, MaxHistogramBins)
	}
	if exp < -126 || exp > 126 {
		return nil, errf(op, ErrParams, "grid exponent %d outside [-126, 126]", exp)
	}
	if start < -(1<<61) || start > 1<<61 {
		return nil, errf(op, ErrParams, "grid start %d outside [-2^61, 2^61]", start)
	}
	y, err := b.out(qtensor.Int32, []int{bins + 3}, qtensor.Params{})
	if err != nil {
		return nil, err
	}
	b.add(&backend.Histogram{X: x.d, Y: y.d, Bins: bins, Aligned: true, Exp: exp, Start: start}, x, y)
	return y, nil
}

// Lookup records the table lookup of an int8 or uint8 tensor: Y[i] =
// table[byte(X[i])] (see backend.Lookup), with Y of type yType and the
// per-tensor pair (yScale, yZP). It is how quantized graphs run unary
// activations (sigmoid, tanh, hardswish, gelu, a clip...) on 8-bit data:
// qtensor.ActivationTable computes the table of a function between two
// quantizations once, and every backend applies it exactly.
func (b *Batch) Lookup(x *Tensor, table *[256]byte, yType qtensor.DType, yScale float32, yZP int32) (*Tensor, error) {
	const op = "Lookup"
	if err := b.checkIn(op, "x", x, qtensor.Int8, qtensor.Uint8); err != nil {
		return nil, err
	}
	if table == nil {
		return nil, errf(op, ErrParams, "nil table")
	}
	if yType != qtensor.Int8 && yType != qtensor.Uint8 {
		return nil, errf(op, ErrParams, "output type %v, want int8 or uint8", yType)
	}
	yp := qtensor.TensorParams(yScale, yZP)
	if err := yp.Validate(yType, []int{1}); err != nil {
		return nil, fmt.Errorf("engine: %s: output: %w", op, err)
	}
	y, err := b.out(yType, x.Shape(), yp)
	if err != nil {
		return nil, err
	}
	b.add(&backend.Lookup{X: x.d, Y: y.d, Table: *table}, x, y)
	return y, nil
}

// MaxConcatInputs bounds the inputs of one Concat.
const MaxConcatInputs = 1 << 12

// Concat records the concatenation of int8 or uint8 tensors along axis
// (negative counts from the end) into the per-tensor pair (yScale, yZP),
// as ONNX QLinearConcat: the inputs share a type and per-tensor
// quantization and agree in every dimension but axis; an input quantized
// with (yScale, yZP) is copied, any other is requantized (dequantized,
// then quantized: qtensor.RequantizeTable).
func (b *Batch) Concat(xs []*Tensor, axis int, yScale float32, yZP int32) (*Tensor, error) {
	const op = "Concat"
	if len(xs) == 0 || len(xs) > MaxConcatInputs {
		return nil, errf(op, ErrParams, "%d inputs, want 1 to %d", len(xs), MaxConcatInputs)
	}
	for i, x := range xs {
		if err := b.checkIn(op, fmt.Sprintf("input %d", i), x, qtensor.Int8, qtensor.Uint8); err != nil {
			return nil, err
		}
	}
	d, shape := xs[0].DType(), xs[0].Shape()
	r := len(shape)
	if axis < -r || axis >= r {
		return nil, errf(op, ErrParams, "axis %d out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += r
	}
	yp := qtensor.TensorParams(yScale, yZP)
	if err := yp.Validate(d, []int{1}); err != nil {
		return nil, fmt.Errorf("engine: %s: output: %w", op, err)
	}
	outer := 1
	for _, v := range shape[:axis] {
		outer *= v
	}
	c := &backend.Concat{Outer: outer, Inner: make([]int, len(xs)), Tables: make([]*[256]byte, len(xs))}
	total := 0
	for i, x := range xs {
		s := x.Shape()
		if x.DType() != d || len(s) != r {
			return nil, errf(op, ErrShape, "input %d is %v, input 0 is %v: type and rank must agree", i, x, xs[0])
		}
		for j := range r {
			if j != axis && s[j] != shape[j] {
				return nil, errf(op, ErrShape, "input %d is %v, input 0 is %v: dimensions other than axis %d must agree", i, x, xs[0], axis)
			}
		}
		sx, zx, err := perTensor(op, fmt.Sprintf("input %d", i), x)
		if err != nil {
			return nil, err
		}
		if total += s[axis]; total > maxInt/2 {
			return nil, errf(op, ErrShape, "the output's axis %d is too long", axis)
		}
		c.Inner[i] = x.Len() / max(outer, 1)
		if sx != yScale || zx != yZP {
			t, err := qtensor.RequantizeTable(d, sx, zx, yScale, yZP)
			if err != nil {
				return nil, fmt.Errorf("engine: %s: input %d: %w", op, i, err)
			}
			c.Tables[i] = &t
		}
	}
	shape[axis] = total
	y, err := b.out(d, shape, yp)
	if err != nil {
		return nil, err
	}
	c.Xs, c.Y = make([]*backend.Tensor, len(xs)), y.d
	for i, x := range xs {
		c.Xs[i] = x.d
	}
	b.add(c, append(append([]*Tensor(nil), xs...), y)...)
	return y, nil
}

// NBitsOptions configure Batch.MatMulNBits.
type NBitsOptions struct {
	// Int8Activations selects the int8-activation mode (ONNX Runtime's
	// accuracy_level 4, llama.cpp's Q8 activations): each block of each
	// row of A is quantized to int8 with a symmetric scale and the blocks'
	// dot products are integers. Otherwise the float32 activations
	// multiply the integer weights in float32.
	Int8Activations bool
	// Bias is nil or one float32 per column (N), each finite and zero or
	// normal (devices that flush denormals would disagree).
	Bias []float32
	// YType selects a quantized output, int8 or uint8 with the per-tensor
	// pair (YScale, YZP): Y = qtensor.Quantize(y, YScale, YZP). Zero (or
	// qtensor.Float32) gives the float32 result.
	YType  qtensor.DType
	YScale float32
	YZP    int32
}

// Block sizes MatMulNBits accepts: powers of two from MinNBitsBlock to
// MaxNBitsBlock.
const (
	MinNBitsBlock = 16
	MaxNBitsBlock = 256
)

// MatMulNBits records weight-only low-bit matrix multiplication (ONNX
// Runtime's MatMulNBits; docs/semantics.md): float32 activations a with
// shape [..., K] times weights w of type int4, uint4, int8 or uint8 with
// shape [N, KB], stored [out][in] like a linear layer's weight and
// quantized per block along axis 1 (qtensor.BlockParams(1, bs, ...), bs a
// power of two from 16 to 256). KB is K, or K padded up to a multiple of
// bs (then the bytes are ONNX Runtime's B input [N][blocks][bs*bits/8]);
// the padding elements are ignored. The output has shape [..., N]:
// float32, or int8/uint8 with NBitsOptions.YType.
func (b *Batch) MatMulNBits(a, w *Tensor, o NBitsOptions) (*Tensor, error) {
	const op = "MatMulNBits"
	if err := b.checkIn(op, "A", a, qtensor.Float32); err != nil {
		return nil, err
	}
	if err := b.checkIn(op, "B", w, qtensor.Int4, qtensor.Uint4, qtensor.Int8, qtensor.Uint8); err != nil {
		return nil, err
	}
	as, ws := a.Shape(), w.Shape()
	if len(as) == 0 {
		return nil, errf(op, ErrShape, "A must have rank >= 1, has shape %v", as)
	}
	if len(ws) != 2 {
		return nil, errf(op, ErrShape, "B must be [N, K] (a linear layer's [out][in] weight), has shape %v", ws)
	}
	K := as[len(as)-1]
	N, KB := ws[0], ws[1]
	p := w.Params()
	if p.Granularity != qtensor.PerBlock || p.Axis != 1 {
		return nil, errf(op, ErrParams, "B must be quantized per block along axis 1 (K), is %v (axis %d)", p.Granularity, p.Axis)
	}
	bs := p.BlockSize
	if bs < MinNBitsBlock || bs > MaxNBitsBlock || bs&(bs-1) != 0 {
		return nil, errf(op, ErrParams, "block size %d, want a power of two from %d to %d", bs, MinNBitsBlock, MaxNBitsBlock)
	}
	blocks := (K + bs - 1) / bs
	if KB < K || (KB+bs-1)/bs != blocks {
		hint := ""
		if KB < K && len(as) >= 1 && N == K {
			hint = "; is B stored [K, N]? MatMulNBits takes [N, K]"
		}
		return nil, errf(op, ErrShape, "A %v has K=%d, B %v has rows of %d: want K up to K rounded up to the block size %d (%d blocks)%s",
			as, K, ws, KB, bs, blocks, hint)
	}
	mode := backend.NBitsFloat
	if o.Int8Activations {
		mode = backend.NBitsInt8
	}
	if o.Bias != nil {
		if len(o.Bias) != N {
			return nil, errf(op, ErrParams, "bias has %d entries, want N = %d", len(o.Bias), N)
		}
		for i, v := range o.Bias {
			if !finite(v) || (v != 0 && math.Abs(float64(v)) < 0x1p-126) {
				return nil, errf(op, ErrParams, "bias[%d] = %g must be finite and zero or normal (devices that flush denormals would disagree)", i, v)
			}
		}
	}
	yt, yp := qtensor.Float32, qtensor.Params{}
	quant := false
	switch o.YType {
	case qtensor.Invalid, qtensor.Float32:
		if o.YScale != 0 || o.YZP != 0 {
			return nil, errf(op, ErrParams, "YScale and YZP need a quantized YType (int8 or uint8)")
		}
	case qtensor.Int8, qtensor.Uint8:
		yt, yp, quant = o.YType, qtensor.TensorParams(o.YScale, o.YZP), true
		if err := yp.Validate(yt, []int{1}); err != nil {
			return nil, fmt.Errorf("engine: %s: output: %w", op, err)
		}
	default:
		return nil, errf(op, ErrParams, "output type %v, want float32, int8 or uint8", o.YType)
	}
	outShape := append(as[:len(as)-1:len(as)-1], N)
	y, err := b.out(yt, outShape, yp)
	if err != nil {
		return nil, err
	}
	m := &backend.MatMulNBits{A: a.d, B: w.d, Y: y.d, M: a.Len() / K, K: K, N: N, BlockSize: bs, Blocks: blocks, RowLen: KB,
		Scales: p.Scales, ZeroPoints: p.ZeroPoints, Mode: mode, Quantized: quant, YScale: o.YScale, YZP: o.YZP}
	m.UniformZeroPoints = allEqual(p.ZeroPoints)
	if o.Bias != nil {
		m.Bias = append([]float32(nil), o.Bias...)
	}
	b.add(m, a, w, y)
	return y, nil
}
