package gpu

import (
	"fmt"
	"math"

	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
	"github.com/qgpu/qgpu/shaders"
)

// Slot names the four storage-buffer bindings of every kernel.
const (
	SlotX   = 0 // first input
	SlotW   = 1 // second input
	SlotY   = 2 // output
	SlotAux = 3 // the plan's auxiliary words
)

// Launch is one kernel dispatch. A nil tensor in Bind (other than SlotAux)
// is an unused binding: bind any small buffer. Bind[SlotAux] is unused; the
// backend binds the plan's Aux words there.
type Launch struct {
	// Params is the kernel's parameter block; Params.Kernel() names the
	// kernel.
	Params shaders.Params
	Bind   [4]*backend.Tensor
	Groups [3]uint32 // work groups in x, y, z
	// WritesAux says the kernel writes the plan's aux buffer (a scratch
	// after the aux words that a later launch reads), so the backends
	// order the later launch after it.
	WritesAux bool
}

// Kernel returns the name of the launch's kernel.
func (l *Launch) Kernel() string { return l.Params.Kernel() }

// Plan is the launches of one op, run in order with a storage barrier
// between them, and the auxiliary words they read (never empty).
type Plan struct {
	Aux      []uint32
	Launches []Launch
}

// MaxElements is the largest tensor the kernels index (32-bit indices).
const MaxElements = math.MaxUint32 - 256

// MaxGroupsX is the work-group count per grid dimension the plans use (the
// minimum both APIs guarantee).
const MaxGroupsX = 65535

// groups returns a grid of work groups covering items invocations.
func groups(items int) [3]uint32 {
	g := (items + shaders.LocalSize - 1) / shaders.LocalSize
	if g == 0 {
		g = 1
	}
	if g <= MaxGroupsX {
		return [3]uint32{uint32(g), 1, 1}
	}
	return [3]uint32{MaxGroupsX, uint32((g + MaxGroupsX - 1) / MaxGroupsX), 1}
}

// perWord is the number of elements of type d in one 32-bit word.
func perWord(d qtensor.DType) int { return 32 / d.Bits() }

func words(d qtensor.DType, n int) int { return (n + perWord(d) - 1) / perWord(d) }

type aux struct{ w []uint32 }

func (a *aux) add(v ...uint32) uint32 {
	off := uint32(len(a.w))
	a.w = append(a.w, v...)
	return off
}

func (a *aux) floats(f []float32) uint32 {
	off := uint32(len(a.w))
	for _, v := range f {
		a.w = append(a.w, math.Float32bits(v))
	}
	return off
}

func (a *aux) ints(s []int32) uint32 {
	off := uint32(len(a.w))
	for _, v := range s {
		a.w = append(a.w, uint32(v))
	}
	return off
}

func (a *aux) indices(s []int) uint32 {
	off := uint32(len(a.w))
	for _, v := range s {
		a.w = append(a.w, uint32(v))
	}
	return off
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", backend.ErrUnsupported, fmt.Sprintf(format, args...))
}

// PlanOp returns the launches of op, or an error wrapping
// backend.ErrUnsupported when the kernels cannot run it.
func PlanOp(op backend.Op) (Plan, error) {
	for _, t := range op.Outputs() {
		if t.Len() > MaxElements {
			return Plan{}, unsupported("%v has more than 2^32 elements", t)
		}
	}
	var a aux
	var ls []Launch
	var err error
	switch op := op.(type) {
	case *backend.Quantize:
		ls, err = planQuantize(&a, op.X, op.Y, op.Y, false, op.Rounding)
	case *backend.Dequantize:
		ls, err = planQuantize(&a, op.X, op.Y, op.X, true, 0)
	case *backend.ByteWeightDequant:
		ls = []Launch{{
			Params: &shaders.EltwiseParams{N: uint32(op.X.Len()), Type: uint32(qtensor.Uint8), Mode: shaders.EltwiseByteWeight,
				Range: op.Max - op.Min, Min: op.Min},
			Bind:   [4]*backend.Tensor{op.X, nil, op.Y},
			Groups: groups(op.X.Len()),
		}}
	case *backend.Requantize:
		n := op.X.Len()
		channels, inner := 1, 1
		if op.Axis >= 0 {
			channels = op.X.Dim(op.Axis)
			for _, d := range op.X.Shape()[op.Axis+1:] {
				inner *= d
			}
		}
		zp := op.XZP
		if op.X.DType() == qtensor.Int32 {
			zp = 0
		}
		ls = []Launch{{
			Params: &shaders.RequantizeParams{N: uint32(n), XType: uint32(op.X.DType()), XZeroPoint: zp,
				Channels: uint32(channels), Inner: uint32(inner), Epilogue: epilogue(&a, &op.Epilogue, op.Y.DType())},
			Bind:   [4]*backend.Tensor{op.X, nil, op.Y},
			Groups: groups(words(op.Y.DType(), n)),
		}}
	case *backend.Gemm:
		ls, err = planGemm(&a, op)
	case *backend.Conv:
		ls, err = planConv(&a, op)
	case *backend.Add:
		ls = []Launch{eltwise(op.A, op.B, op.Y, shaders.EltwiseParams{Mode: shaders.EltwiseAdd, ZA: op.ZA, ZB: op.ZB, ZY: op.ZY, MA: op.MA, MB: op.MB})}
	case *backend.Mul:
		ls = []Launch{eltwise(op.A, op.B, op.Y, shaders.EltwiseParams{Mode: shaders.EltwiseMul, ZA: op.ZA, ZB: op.ZB, ZY: op.ZY, MA: op.M})}
	case *backend.ReLU:
		ls = []Launch{eltwise(op.X, nil, op.Y, shaders.EltwiseParams{Mode: shaders.EltwiseReLU, ZA: op.ZP, ZY: op.ZP})}
	case *backend.Pool:
		ls, err = planPool(op)
	case *backend.MinMax:
		ls = planMinMax(op)
	case *backend.Histogram:
		ls, err = planHistogram(op)
	case *backend.Lookup:
		n := op.Y.Len()
		ls = []Launch{lookup(&a, op.X, op.Y, &op.Table, 1, n, n, 0)}
	case *backend.Concat:
		inner, off := op.Y.Len()/op.Outer, 0
		for j, x := range op.Xs {
			ls = append(ls, lookup(&a, x, op.Y, op.Tables[j], op.Outer, op.Inner[j], inner, off))
			off += op.Inner[j]
		}
	case *backend.MatMulNBits:
		ls, err = planMatMulNBits(&a, op)
	default:
		return Plan{}, unsupported("op %v", op.Kind())
	}
	if err != nil {
		return Plan{}, err
	}
	if len(a.w) == 0 {
		a.add(0)
	}
	return Plan{Aux: a.w, Launches: ls}, nil
}

// planQuantize plans Quantize (y quantized) or Dequantize (x quantized);
// q is the quantized tensor whose params apply.
func planQuantize(a *aux, x, y, q *backend.Tensor, dequant bool, r qtensor.Rounding) ([]Launch, error) {
	p := q.Params()
	shape := q.Shape()
	n := q.Len()
	qp := &shaders.QuantizeParams{N: uint32(n), Type: uint32(q.DType()), QMin: q.DType().QMin(), QMax: q.DType().QMax(),
		Granularity: uint32(p.Granularity)}
	if p.Granularity != qtensor.PerTensor {
		inner := 1
		for _, d := range shape[p.Axis+1:] {
			inner *= d
		}
		qp.Inner, qp.AxisLen = uint32(inner), uint32(shape[p.Axis])
		if p.Granularity == qtensor.PerBlock {
			qp.BlockSize = uint32(p.BlockSize)
			qp.Blocks = uint32((shape[p.Axis] + p.BlockSize - 1) / p.BlockSize)
		}
	}
	l := Launch{Params: qp, Bind: [4]*backend.Tensor{x, nil, y}}
	scales := p.Scales
	switch {
	case dequant:
		qp.Mode = shaders.Dequantize
		l.Groups = groups(n)
	case r == qtensor.RoundTorch:
		qp.Mode = shaders.QuantizeMultiply
		inv := make([]float32, len(scales))
		for i, s := range scales {
			inv[i] = 1 / s // the reciprocal qtensor.QuantizeTorch multiplies by
		}
		scales = inv
		l.Groups = groups(words(q.DType(), n))
	default:
		qp.Mode = shaders.QuantizeDivide
		l.Groups = groups(words(q.DType(), n))
	}
	qp.Scales = a.floats(scales)
	qp.ZeroPoints = a.ints(p.ZeroPoints)
	return []Launch{l}, nil
}

// epilogue returns the block of the shared epilogue (src/epilogue.glsl) of
// an output of type yt, its arrays added to a.
func epilogue(a *aux, ep *backend.Epilogue, yt qtensor.DType) shaders.Epilogue {
	e := shaders.Epilogue{YType: uint32(yt), Bias: shaders.NoAux, FloatBias: shaders.NoAux}
	if ep.Bias != nil {
		e.Bias, e.BiasPerChannel = a.ints(ep.Bias), b2u(len(ep.Bias) > 1)
	}
	switch ep.Output {
	case backend.OutInt32:
		e.OutKind = shaders.EpilogueInt32
	case backend.OutFloat32:
		e.OutKind = shaders.EpilogueFloat32
		e.Scale, e.ScalePerChannel = a.floats(ep.Scale), b2u(len(ep.Scale) > 1)
		if ep.FloatBias != nil {
			e.FloatBias, e.FloatBiasPerChannel = a.floats(ep.FloatBias), b2u(len(ep.FloatBias) > 1)
		}
	case backend.OutQuantized:
		qmin, qmax := yt.QMin(), yt.QMax()
		if ep.ReLU {
			qmin = max(qmin, ep.YZP)
		}
		e.YQMin, e.YQMax, e.YZeroPoint = qmin, qmax, ep.YZP
		if ep.Fixed != nil {
			e.OutKind = shaders.EpilogueQuantFixed
			e.Scale, e.ScalePerChannel = uint32(len(a.w)), b2u(len(ep.Fixed) > 1)
			for _, fp := range ep.Fixed {
				a.add(uint32(fp.Multiplier), uint32(fp.Shift))
			}
		} else {
			e.OutKind = shaders.EpilogueQuantFloat
			e.Scale, e.ScalePerChannel = a.floats(ep.Mult), b2u(len(ep.Mult) > 1)
		}
	}
	return e
}

func planGemm(a *aux, op *backend.Gemm) ([]Launch, error) {
	if op.A.Len() > MaxElements || op.B.Len() > MaxElements {
		return nil, unsupported("Gemm operands over 2^32 elements")
	}
	total := op.Batch * op.M * op.N
	p := &shaders.GemmParams{Total: uint32(total), M: uint32(op.M), K: uint32(op.K), N: uint32(op.N),
		AType: uint32(op.A.DType()), BType: uint32(op.B.DType())}
	p.AZeroPoints, p.AZeroPointPerRow = a.ints(op.AZP), b2u(len(op.AZP) > 1)
	p.BZeroPoints, p.BZeroPointPerColumn = a.ints(op.BZP), b2u(len(op.BZP) > 1)
	p.AIndex, p.BIndex = a.indices(op.AIndex), a.indices(op.BIndex)
	sk, sn := op.BStrides()
	p.BStrideK, p.BStrideN = uint32(sk), uint32(sn)
	p.Epilogue = epilogue(a, &op.Epilogue, op.Y.DType())
	return []Launch{{Params: p, Bind: [4]*backend.Tensor{op.A, op.B, op.Y}, Groups: groups(words(op.Y.DType(), total))}}, nil
}

func planConv(a *aux, op *backend.Conv) ([]Launch, error) {
	if op.X.Len() > MaxElements || op.W.Len() > MaxElements {
		return nil, unsupported("Conv operands over 2^32 elements")
	}
	total := op.Y.Len()
	p := &shaders.ConvParams{Total: uint32(total), C: uint32(op.C), H: uint32(op.H), W: uint32(op.Wd), O: uint32(op.O),
		KH: uint32(op.KH), KW: uint32(op.KW), OH: uint32(op.OH), OW: uint32(op.OW), Group: uint32(op.Group),
		StrideH: uint32(op.StrideH), StrideW: uint32(op.StrideW), DilationH: uint32(op.DilationH), DilationW: uint32(op.DilationW),
		PadTop: int32(op.PadTop), PadLeft: int32(op.PadLeft),
		XZeroPoint: op.XZP, XType: uint32(op.X.DType()), WType: uint32(op.W.DType())}
	p.WZeroPoints, p.Flags = a.ints(op.WZP), layouts(op.XLayout, op.YLayout)
	if len(op.WZP) > 1 {
		p.Flags |= shaders.ConvWZeroPointPerChannel
	}
	p.Epilogue = epilogue(a, &op.Epilogue, op.Y.DType())
	return []Launch{{Params: p, Bind: [4]*backend.Tensor{op.X, op.W, op.Y}, Groups: groups(words(op.Y.DType(), total))}}, nil
}

// layouts is the shaders' flag set of a conv's or pool's layouts.
func layouts(x, y backend.Layout) shaders.Flags {
	var l shaders.Flags
	if x == backend.NHWC {
		l |= shaders.LayoutXNHWC
	}
	if y == backend.NHWC {
		l |= shaders.LayoutYNHWC
	}
	return l
}

// eltwise completes p (mode, zero points and multipliers set) for output y.
func eltwise(x, w, y *backend.Tensor, p shaders.EltwiseParams) Launch {
	t := y.DType()
	p.N, p.Type, p.QMin, p.QMax = uint32(y.Len()), uint32(t), t.QMin(), t.QMax()
	return Launch{Params: &p, Bind: [4]*backend.Tensor{x, w, y}, Groups: groups(words(t, y.Len()))}
}

// identity is the table that copies bytes.
var identity = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	return t
}()

// lookup is a launch of lookup.comp filling the window of inner bytes at
// byte offset off of each of y's outer rows of innerY bytes from x through
// tab (nil: copied).
func lookup(a *aux, x, y *backend.Tensor, tab *[256]byte, outer, inner, innerY, off int) Launch {
	if tab == nil {
		tab = &identity
	}
	t := make([]uint32, len(tab))
	for i, v := range tab {
		t[i] = uint32(v)
	}
	nw := (y.Bytes() + 3) / 4
	p := &shaders.LookupParams{Words: uint32(nw), Outer: uint32(outer), InnerX: uint32(inner), InnerY: uint32(innerY),
		Offset: uint32(off), Table: a.add(t...)}
	return Launch{Params: p, Bind: [4]*backend.Tensor{x, nil, y}, Groups: groups(nw)}
}

// planMatMulNBits plans MatMulNBits: one launch of nbits.comp, one
// invocation per output word; scales, zero points and bias in aux.
func planMatMulNBits(a *aux, op *backend.MatMulNBits) ([]Launch, error) {
	if op.A.Len() > MaxElements || op.B.Len() > MaxElements {
		return nil, unsupported("MatMulNBits operands over 2^32 elements")
	}
	yt := op.Y.DType()
	total := op.M * op.N
	p := &shaders.NbitsParams{Total: uint32(total), K: uint32(op.K), N: uint32(op.N), BType: uint32(op.B.DType()),
		BlockSize: uint32(op.BlockSize), Blocks: uint32(op.Blocks), RowLen: uint32(op.RowLen), Mode: shaders.NBitsFloat,
		Bias: shaders.NoAux, YType: uint32(yt)}
	if op.Mode == backend.NBitsInt8 {
		p.Mode = shaders.NBitsInt8
	}
	p.Scales, p.ZeroPoints = a.floats(op.Scales), a.ints(op.ZeroPoints)
	if op.Bias != nil {
		p.Bias = a.floats(op.Bias)
	}
	if op.Quantized {
		p.YScaleBits, p.YZeroPoint, p.YQMin, p.YQMax = math.Float32bits(op.YScale), op.YZP, yt.QMin(), yt.QMax()
	}
	run := Launch{Params: p, Bind: [4]*backend.Tensor{op.A, op.B, op.Y}, Groups: groups(words(yt, total))}
	if op.Mode != backend.NBitsInt8 {
		return []Launch{run}, nil
	}
	// The int8 mode: a first launch quantizes each row's blocks once into
	// a scratch after the aux words (each block's scale and sum, then the
	// values four to a word), which the second reads.
	rows := int64(op.M) * int64(op.Blocks)
	qaWords := rows * int64(op.BlockSize) / 4
	if 2*rows+qaWords > MaxElements/4 {
		return nil, unsupported("MatMulNBits int8 scratch of %d words", 2*rows+qaWords)
	}
	p.Scratch = a.add(make([]uint32, 2*rows)...)
	p.ScratchQA = a.add(make([]uint32, qaWords)...)
	prep := *p
	prep.Mode, prep.Total = shaders.NBitsPrep, uint32(rows)
	return []Launch{{Params: &prep, Bind: [4]*backend.Tensor{op.A}, Groups: groups(int(rows)), WritesAux: true}, run}, nil
}

func planPool(op *backend.Pool) ([]Launch, error) {
	if int64(op.KH)*int64(op.KW)*255 >= math.MaxInt32 {
		return nil, unsupported("pooling window of %dx%d cells (sums must stay below 2^31)", op.KH, op.KW)
	}
	t := op.X.DType()
	p := &shaders.PoolParams{Total: uint32(op.Y.Len()), C: uint32(op.C), Layouts: layouts(op.XLayout, op.YLayout), H: uint32(op.H), W: uint32(op.W), OH: uint32(op.OH), OW: uint32(op.OW),
		KH: uint32(op.KH), KW: uint32(op.KW), StrideH: uint32(op.StrideH), StrideW: uint32(op.StrideW),
		DilationH: uint32(op.DilationH), DilationW: uint32(op.DilationW), PadTop: int32(op.PadTop), PadLeft: int32(op.PadLeft),
		Type: uint32(t), ZeroPoint: op.ZP, Max: b2u(op.Max), CountIncludePad: b2u(op.CountIncludePad), QMin: t.QMin(), QMax: t.QMax()}
	return []Launch{{Params: p, Bind: [4]*backend.Tensor{op.X, nil, op.Y}, Groups: groups(words(t, op.Y.Len()))}}, nil
}

// reduceGroups bounds the grid of a reduction: each invocation loops over a
// stride, and fewer groups mean fewer global atomics.
func reduceGroups(n int) [3]uint32 {
	g := groups(n)
	if g[0] > 1024 || g[1] > 1 {
		g = [3]uint32{1024, 1, 1}
	}
	return g
}

func planMinMax(op *backend.MinMax) []Launch {
	init := Launch{Params: &shaders.ReduceParams{N: uint32(6 * op.Channels), Mode: shaders.ReduceMinMaxInit},
		Bind: [4]*backend.Tensor{nil, nil, op.Y}, Groups: groups(6 * op.Channels)}
	run := Launch{Params: &shaders.ReduceParams{N: uint32(op.X.Len()), Mode: shaders.ReduceMinMax, Channels: uint32(op.Channels), Inner: uint32(op.Inner)},
		Bind: [4]*backend.Tensor{op.X, nil, op.Y}, Groups: reduceGroups(op.X.Len())}
	return []Launch{init, run}
}

// MaxAlignedStart bounds |Start| of an aligned histogram (the engine's
// limit): the saturated grid indices +-2^62 of qtensor.HistBinAligned then
// always fall outside the window, which the kernel relies on.
const MaxAlignedStart = 1 << 61

// roundUp returns the smallest float32 not below the integer a.
func roundUp(a int64) float32 {
	v := float32(a)
	if int64(v) < a { // v is integer-valued and |v| <= 2^62: exact
		v = math.Nextafter32(v, float32(math.Inf(1)))
	}
	return v
}

func planHistogram(op *backend.Histogram) ([]Launch, error) {
	if op.Aligned && (op.Start < -MaxAlignedStart || op.Start > MaxAlignedStart || op.Bins > math.MaxInt32) {
		return nil, unsupported("aligned histogram start %d beyond +-2^61 or %d bins", op.Start, op.Bins)
	}
	init := Launch{Params: &shaders.ReduceParams{N: uint32(op.Bins + 3), Mode: shaders.ReduceHistogramInit},
		Bind: [4]*backend.Tensor{nil, nil, op.Y}, Groups: groups(op.Bins + 3)}
	p := &shaders.ReduceParams{N: uint32(op.X.Len()), Bins: uint32(op.Bins)}
	if op.Aligned {
		end := op.Start + int64(op.Bins)
		p.Mode, p.ScaleBits, p.Start = shaders.ReduceHistogramAligned, math.Float32bits(qtensor.HistScalePow2(op.Exp)), uint32(op.Start)
		p.StartUp, p.EndUp, p.NegStartUp, p.NegEndUp = roundUp(op.Start), roundUp(end), roundUp(-op.Start), roundUp(-end)
	} else {
		p.Mode = shaders.ReduceHistogram
		p.LoBits, p.HiBits = math.Float32bits(op.Lo), math.Float32bits(op.Hi)
		p.ScaleBits = math.Float32bits(qtensor.HistScale(op.Bins, op.Lo, op.Hi))
	}
	run := Launch{Params: p, Bind: [4]*backend.Tensor{op.X, nil, op.Y}, Groups: reduceGroups(op.X.Len())}
	return []Launch{init, run}, nil
}

// GemmTile is the output tile side (rows and columns) of one work group of
// the tiled GEMM variant (shaders/src/gemm.comp, QGPU_GEMM_TILED).
const GemmTile = 64

// TiledGemmGroups returns the grid of the tiled GEMM variant for a "gemm"
// launch planned by PlanOp: one work group per 64x64 output tile of each
// batch entry, numbered x + y * (groups in x). ok is false when the launch
// is not a GEMM or its tiles do not fit a grid: run the baseline grid then.
// Backends that never run the variant (OpenGL) need not call it.
func TiledGemmGroups(l *Launch) (g [3]uint32, ok bool) {
	p, isGemm := l.Params.(*shaders.GemmParams)
	if !isGemm {
		return g, false
	}
	m, n := uint64(p.M), uint64(p.N)
	if m == 0 || n == 0 || p.Total == 0 {
		return g, false
	}
	batch := uint64(p.Total) / (m * n)
	tiles := batch * ((m + GemmTile - 1) / GemmTile) * ((n + GemmTile - 1) / GemmTile)
	if tiles == 0 || tiles > MaxGroupsX*MaxGroupsX {
		return g, false
	}
	if tiles <= MaxGroupsX {
		return [3]uint32{uint32(tiles), 1, 1}, true
	}
	return [3]uint32{MaxGroupsX, uint32((tiles + MaxGroupsX - 1) / MaxGroupsX), 1}, true
}
