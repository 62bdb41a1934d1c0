// Package gpu turns engine ops into kernel launches of package shaders. It
// is shared by the Vulkan and OpenGL backends, which only have to execute
// the launches: bind four storage buffers and a 32-word parameter block,
// then dispatch a grid of work groups.
//
// The parameter layouts are documented at the top of each kernel in
// shaders/src; this file is their only writer.
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
	Kernel string
	Bind   [4]*backend.Tensor
	Params [shaders.ParamWords]uint32
	Groups [3]uint32 // work groups in x, y, z
}

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

func f(v float32) uint32 { return math.Float32bits(v) }

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
		l := Launch{Kernel: "eltwise", Bind: [4]*backend.Tensor{op.X, nil, op.Y}}
		l.Params[0], l.Params[1], l.Params[9] = uint32(op.X.Len()), uint32(qtensor.Uint8), 3
		l.Params[5], l.Params[6] = f(op.Max-op.Min), f(op.Min)
		l.Groups = groups(op.X.Len())
		ls = []Launch{l}
	case *backend.Requantize:
		l := Launch{Kernel: "requantize", Bind: [4]*backend.Tensor{op.X, nil, op.Y}}
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
		l.Params[0], l.Params[1], l.Params[2], l.Params[3], l.Params[4] = uint32(n), uint32(op.X.DType()), uint32(zp), uint32(channels), uint32(inner)
		epilogue(&a, &l, &op.Epilogue, op.Y.DType())
		l.Groups = groups(words(op.Y.DType(), n))
		ls = []Launch{l}
	case *backend.Gemm:
		ls, err = planGemm(&a, op)
	case *backend.Conv:
		ls, err = planConv(&a, op)
	case *backend.Add:
		ls = []Launch{eltwise(op.A, op.B, op.Y, 0, op.ZA, op.ZB, op.ZY, f(op.MA), f(op.MB))}
	case *backend.Mul:
		ls = []Launch{eltwise(op.A, op.B, op.Y, 1, op.ZA, op.ZB, op.ZY, f(op.M), 0)}
	case *backend.ReLU:
		ls = []Launch{eltwise(op.X, nil, op.Y, 2, op.ZP, 0, op.ZP, 0, 0)}
	case *backend.Pool:
		ls, err = planPool(op)
	case *backend.MinMax:
		ls = planMinMax(op)
	case *backend.Histogram:
		ls, err = planHistogram(op)
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
	l := Launch{Kernel: "quantize", Bind: [4]*backend.Tensor{x, nil, y}}
	n := q.Len()
	l.Params[0], l.Params[1] = uint32(n), uint32(q.DType())
	l.Params[2], l.Params[3] = uint32(q.DType().QMin()), uint32(q.DType().QMax())
	l.Params[4] = uint32(p.Granularity)
	if p.Granularity != qtensor.PerTensor {
		inner := 1
		for _, d := range shape[p.Axis+1:] {
			inner *= d
		}
		l.Params[5], l.Params[6] = uint32(inner), uint32(shape[p.Axis])
		if p.Granularity == qtensor.PerBlock {
			l.Params[7] = uint32(p.BlockSize)
			l.Params[8] = uint32((shape[p.Axis] + p.BlockSize - 1) / p.BlockSize)
		}
	}
	scales := p.Scales
	switch {
	case dequant:
		l.Params[9] = 2
		l.Groups = groups(n)
	case r == qtensor.RoundTorch:
		l.Params[9] = 1
		inv := make([]float32, len(scales))
		for i, s := range scales {
			inv[i] = 1 / s // the reciprocal qtensor.QuantizeTorch multiplies by
		}
		scales = inv
		l.Groups = groups(words(q.DType(), n))
	default:
		l.Groups = groups(words(q.DType(), n))
	}
	l.Params[10] = a.floats(scales)
	l.Params[11] = a.ints(p.ZeroPoints)
	return []Launch{l}, nil
}

// epilogue fills parameter words 21..31 (see shaders/src/epilogue.glsl).
func epilogue(a *aux, l *Launch, ep *backend.Epilogue, yt qtensor.DType) {
	const none = math.MaxUint32
	p := &l.Params
	p[22] = uint32(yt)
	p[26], p[30] = none, none
	if ep.Bias != nil {
		p[26], p[27] = a.ints(ep.Bias), b2u(len(ep.Bias) > 1)
	}
	switch ep.Output {
	case backend.OutInt32:
		p[21] = 0
	case backend.OutFloat32:
		p[21] = 1
		p[28], p[29] = a.floats(ep.Scale), b2u(len(ep.Scale) > 1)
		if ep.FloatBias != nil {
			p[30], p[31] = a.floats(ep.FloatBias), b2u(len(ep.FloatBias) > 1)
		}
	case backend.OutQuantized:
		qmin, qmax := yt.QMin(), yt.QMax()
		if ep.ReLU {
			qmin = max(qmin, ep.YZP)
		}
		p[23], p[24], p[25] = uint32(qmin), uint32(qmax), uint32(ep.YZP)
		if ep.Fixed != nil {
			p[21] = 3
			p[28], p[29] = uint32(len(a.w)), b2u(len(ep.Fixed) > 1)
			for _, fp := range ep.Fixed {
				a.add(uint32(fp.Multiplier), uint32(fp.Shift))
			}
		} else {
			p[21] = 2
			p[28], p[29] = a.floats(ep.Mult), b2u(len(ep.Mult) > 1)
		}
	}
}

func planGemm(a *aux, op *backend.Gemm) ([]Launch, error) {
	if op.A.Len() > MaxElements || op.B.Len() > MaxElements {
		return nil, unsupported("Gemm operands over 2^32 elements")
	}
	l := Launch{Kernel: "gemm", Bind: [4]*backend.Tensor{op.A, op.B, op.Y}}
	total := op.Batch * op.M * op.N
	p := &l.Params
	p[0], p[1], p[2], p[3] = uint32(total), uint32(op.M), uint32(op.K), uint32(op.N)
	p[4] = uint32(op.A.DType()) | uint32(op.B.DType())<<8
	p[5], p[6] = a.ints(op.AZP), b2u(len(op.AZP) > 1)
	p[7], p[8] = a.ints(op.BZP), b2u(len(op.BZP) > 1)
	p[9], p[10] = a.indices(op.AIndex), a.indices(op.BIndex)
	epilogue(a, &l, &op.Epilogue, op.Y.DType())
	l.Groups = groups(words(op.Y.DType(), total))
	return []Launch{l}, nil
}

func planConv(a *aux, op *backend.Conv) ([]Launch, error) {
	if op.X.Len() > MaxElements || op.W.Len() > MaxElements {
		return nil, unsupported("Conv operands over 2^32 elements")
	}
	l := Launch{Kernel: "conv", Bind: [4]*backend.Tensor{op.X, op.W, op.Y}}
	total := op.Y.Len()
	p := &l.Params
	for i, v := range []int{total, op.N, op.C, op.H, op.Wd, op.O, op.KH, op.KW, op.OH, op.OW, op.Group,
		op.StrideH, op.StrideW, op.DilationH, op.DilationW, op.PadTop, op.PadLeft} {
		p[i] = uint32(v)
	}
	p[17] = uint32(op.XZP)
	p[18], p[19] = a.ints(op.WZP), b2u(len(op.WZP) > 1)
	p[20] = uint32(op.X.DType()) | uint32(op.W.DType())<<8
	epilogue(a, &l, &op.Epilogue, op.Y.DType())
	l.Groups = groups(words(op.Y.DType(), total))
	return []Launch{l}, nil
}

func eltwise(x, w, y *backend.Tensor, mode uint32, za, zb, zy int32, m1, m2 uint32) Launch {
	l := Launch{Kernel: "eltwise", Bind: [4]*backend.Tensor{x, w, y}}
	t := y.DType()
	p := &l.Params
	p[0], p[1], p[2], p[3], p[4] = uint32(y.Len()), uint32(t), uint32(za), uint32(zb), uint32(zy)
	p[5], p[6], p[7], p[8], p[9] = m1, m2, uint32(t.QMin()), uint32(t.QMax()), mode
	l.Groups = groups(words(t, y.Len()))
	return l
}

func planPool(op *backend.Pool) ([]Launch, error) {
	if int64(op.KH)*int64(op.KW)*255 >= math.MaxInt32 {
		return nil, unsupported("pooling window of %dx%d cells (sums must stay below 2^31)", op.KH, op.KW)
	}
	l := Launch{Kernel: "pool", Bind: [4]*backend.Tensor{op.X, nil, op.Y}}
	t := op.X.DType()
	p := &l.Params
	for i, v := range []int{op.Y.Len(), op.N * op.C, op.H, op.W, op.OH, op.OW, op.KH, op.KW,
		op.StrideH, op.StrideW, op.DilationH, op.DilationW, op.PadTop, op.PadLeft} {
		p[i] = uint32(v)
	}
	p[14], p[15], p[16], p[17] = uint32(t), uint32(op.ZP), b2u(op.Max), b2u(op.CountIncludePad)
	p[18], p[19] = uint32(t.QMin()), uint32(t.QMax())
	l.Groups = groups(words(t, op.Y.Len()))
	return []Launch{l}, nil
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
	init := Launch{Kernel: "reduce", Bind: [4]*backend.Tensor{nil, nil, op.Y}}
	init.Params[0], init.Params[1] = uint32(6*op.Channels), 0
	init.Groups = groups(6 * op.Channels)
	run := Launch{Kernel: "reduce", Bind: [4]*backend.Tensor{op.X, nil, op.Y}}
	run.Params[0], run.Params[1], run.Params[2], run.Params[3] = uint32(op.X.Len()), 1, uint32(op.Channels), uint32(op.Inner)
	run.Groups = reduceGroups(op.X.Len())
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
	init := Launch{Kernel: "reduce", Bind: [4]*backend.Tensor{nil, nil, op.Y}}
	init.Params[0], init.Params[1] = uint32(op.Bins+3), 2
	init.Groups = groups(op.Bins + 3)
	run := Launch{Kernel: "reduce", Bind: [4]*backend.Tensor{op.X, nil, op.Y}}
	p := &run.Params
	if op.Aligned {
		end := op.Start + int64(op.Bins)
		p[0], p[1], p[2] = uint32(op.X.Len()), 4, uint32(op.Bins)
		p[3], p[4] = f(qtensor.HistScalePow2(op.Exp)), uint32(op.Start)
		p[5], p[6], p[7], p[8] = f(roundUp(op.Start)), f(roundUp(end)), f(roundUp(-op.Start)), f(roundUp(-end))
		run.Groups = reduceGroups(op.X.Len())
		return []Launch{init, run}, nil
	}
	p[0], p[1], p[2] = uint32(op.X.Len()), 3, uint32(op.Bins)
	p[3], p[4], p[5] = f(op.Lo), f(op.Hi), f(qtensor.HistScale(op.Bins, op.Lo, op.Hi))
	run.Groups = reduceGroups(op.X.Len())
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
	p := &l.Params
	m, n := uint64(p[1]), uint64(p[3])
	if l.Kernel != "gemm" || m == 0 || n == 0 || p[0] == 0 {
		return g, false
	}
	batch := uint64(p[0]) / (m * n)
	tiles := batch * ((m + GemmTile - 1) / GemmTile) * ((n + GemmTile - 1) / GemmTile)
	if tiles == 0 || tiles > MaxGroupsX*MaxGroupsX {
		return g, false
	}
	if tiles <= MaxGroupsX {
		return [3]uint32{uint32(tiles), 1, 1}, true
	}
	return [3]uint32{MaxGroupsX, uint32((tiles + MaxGroupsX - 1) / MaxGroupsX), 1}, true
}
