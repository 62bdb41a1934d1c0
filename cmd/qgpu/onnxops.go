package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// attrKind is the type of an ONNX attribute.
type attrKind uint8

const (
	attrInt attrKind = iota
	attrInts
	attrString
)

// attrSpec declares one attribute of an op.
type attrSpec struct {
	kind attrKind
	def  string // ONNX default, as text ("" for none)
	help string
}

// onnxOp describes one ONNX op that `qgpu run` evaluates.
type onnxOp struct {
	inputs   []string // ONNX input names in order; optional ones end with "?"
	outputs  []string
	attrs    map[string]attrSpec
	about    string
	evaluate func(r *opRun) ([]*qtensor.Tensor, error)
}

// opRun is one evaluation: the engine, the inputs (nil for omitted
// optional ones) and the attributes.
type opRun struct {
	ctx   context.Context
	op    string
	eng   *engine.Engine
	in    []*qtensor.Tensor
	names []string // input names (for messages)
	files []string // input files (for messages)
	ints  map[string]int
	intss map[string][]int
	strs  map[string]string
	given map[string]bool // attributes set on the command line
	owned []*engine.Tensor
}

var convAttrs = map[string]attrSpec{
	"auto_pad":     {attrString, "NOTSET", "NOTSET, VALID, SAME_UPPER or SAME_LOWER"},
	"dilations":    {attrInts, "", "dilation per spatial axis (default 1)"},
	"group":        {attrInt, "1", "number of groups"},
	"kernel_shape": {attrInts, "", "kernel size per spatial axis (default: from w)"},
	"pads":         {attrInts, "", "begins then ends per spatial axis: top,left,bottom,right (default 0)"},
	"strides":      {attrInts, "", "stride per spatial axis (default 1)"},
}

var quantAttrs = map[string]attrSpec{
	"axis":       {attrInt, "1", "per-axis or per-block axis (negative counts from the end)"},
	"block_size": {attrInt, "0", "per-block quantization block size (0: per tensor or per axis)"},
}

var onnxOps = map[string]*onnxOp{
	"QuantizeLinear": {
		inputs: []string{"x", "y_scale", "y_zero_point?"}, outputs: []string{"y"},
		attrs: map[string]attrSpec{
			"axis": quantAttrs["axis"], "block_size": quantAttrs["block_size"],
			"saturate":     {attrInt, "1", "ignored (float8 only)"},
			"output_dtype": {attrInt, "0", "ONNX element type when y_zero_point is omitted: 2 uint8 (default), 3 int8, 21 uint4, 22 int4"},
		},
		about:    "y = saturate(round_half_even(x / y_scale) + y_zero_point); uint8 unless y_zero_point or output_dtype says otherwise (4-bit outputs are written unpacked)",
		evaluate: evalQuantizeLinear,
	},
	"DequantizeLinear": {
		inputs: []string{"x", "x_scale", "x_zero_point?"}, outputs: []string{"y"},
		attrs:    quantAttrs,
		about:    "y = float32(x - x_zero_point) * x_scale",
		evaluate: evalDequantizeLinear,
	},
	"DynamicQuantizeLinear": {
		inputs: []string{"x"}, outputs: []string{"y", "y_scale", "y_zero_point"},
		about:    "uint8 scale and zero point from the range of x (widened to include 0), then QuantizeLinear",
		evaluate: evalDynamicQuantizeLinear,
	},
	"MatMulInteger": {
		inputs: []string{"A", "B", "a_zero_point?", "b_zero_point?"}, outputs: []string{"Y"},
		about:    "Y = (A - a_zero_point) x (B - b_zero_point) in int32; a_zero_point per tensor or per row, b_zero_point per tensor or per column",
		evaluate: evalMatMulInteger,
	},
	"QLinearMatMul": {
		inputs:   []string{"a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point", "y_scale", "y_zero_point"},
		outputs:  []string{"y"},
		about:    "y = saturate(round_half_even(acc * a_scale * b_scale / y_scale) + y_zero_point)",
		evaluate: evalQLinearMatMul,
	},
	"ConvInteger": {
		inputs: []string{"x", "w", "x_zero_point?", "w_zero_point?"}, outputs: []string{"y"},
		attrs:    convAttrs,
		about:    "int32 convolution of (x - x_zero_point) with (w - w_zero_point); NCHW or NCL",
		evaluate: evalConvInteger,
	},
	"QLinearConv": {
		inputs:   []string{"x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point", "y_scale", "y_zero_point", "B?"},
		outputs:  []string{"y"},
		attrs:    convAttrs,
		about:    "quantized convolution with an optional int32 bias, requantized into y's scale and zero point",
		evaluate: evalQLinearConv,
	},
}

// parseAttrs checks and stores the --attr values, then fills defaults.
func (r *opRun) parseAttrs(op *onnxOp, attrs []string) error {
	for _, a := range attrs {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return usagef("%s: --attr %s: want key=value", r.op, shortQ(a))
		}
		spec, ok := op.attrs[k]
		if !ok {
			if len(op.attrs) == 0 {
				return usagef("%s: --attr %s: the operator has no attributes", r.op, shortQ(k))
			}
			known := make([]string, 0, len(op.attrs))
			for n := range op.attrs {
				known = append(known, n)
			}
			sort.Strings(known)
			return usagef("%s: unknown attribute %s%s (the operator has: %s)", r.op, shortQ(k), didYouMean(k, known), strings.Join(known, ", "))
		}
		if r.given[k] {
			return usagef("%s: attribute %q given twice", r.op, k)
		}
		r.given[k] = true
		if err := r.setAttr(k, spec.kind, v); err != nil {
			return usagef("%s: --attr %s: %v", r.op, k, err)
		}
	}
	for k, spec := range op.attrs {
		if !r.given[k] && spec.def != "" {
			if err := r.setAttr(k, spec.kind, spec.def); err != nil {
				panic("bad default of " + k)
			}
		}
	}
	return nil
}

func (r *opRun) setAttr(k string, kind attrKind, v string) error {
	switch kind {
	case attrInt:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%s is not an integer", shortQ(v))
		}
		r.ints[k] = n
	case attrInts:
		ns, err := parseInts(v, ",")
		if err != nil {
			return err
		}
		r.intss[k] = ns
	case attrString:
		r.strs[k] = v
	}
	return nil
}

// inErr describes a problem with input i (a usage error).
func (r *opRun) inErr(i int, format string, args ...any) error {
	return usagef("input %d (%s, %s): %s", i, r.names[i], r.files[i], fmt.Sprintf(format, args...))
}

// wantType checks input i's element type.
func (r *opRun) wantType(i int, types ...qtensor.DType) error {
	t := r.in[i]
	if slices.Contains(types, t.DType) {
		return nil
	}
	ts := make([]string, len(types))
	for j, d := range types {
		ts[j] = d.String()
	}
	return r.inErr(i, "has element type %v, want %s", t.DType, strings.Join(ts, " or "))
}

// floats returns the values of float32 input i.
func (r *opRun) floats(i int) ([]float32, error) {
	if err := r.wantType(i, qtensor.Float32); err != nil {
		return nil, err
	}
	return r.in[i].Float32s(), nil
}

// zeroPoints returns the values of zero-point input i, which must have the
// element type d; nil input i yields n zeros.
func (r *opRun) zeroPoints(i int, d qtensor.DType, n int) ([]int32, error) {
	if r.in[i] == nil {
		return make([]int32, n), nil
	}
	if err := r.wantType(i, d); err != nil {
		return nil, err
	}
	return r.in[i].Int32s(), nil
}

// scalarLike reports whether t is per-tensor: 0-d, or 1-D with one element.
func scalarLike(t *qtensor.Tensor) bool {
	return len(t.Shape) == 0 || (len(t.Shape) == 1 && t.Shape[0] == 1)
}

// vector checks that input i is 0-d, [1] or 1-D of length n (per channel)
// and returns its element count.
func (r *opRun) vector(i, n int, what string) error {
	t := r.in[i]
	if t == nil || scalarLike(t) || (len(t.Shape) == 1 && t.Shape[0] == n) {
		return nil
	}
	return r.inErr(i, "has shape %v, want a scalar, [1] or [%d] (%s)", t.Shape, n, what)
}

// scalar checks that input i is per tensor.
func (r *opRun) scalar(i int) error {
	if t := r.in[i]; t != nil && !scalarLike(t) {
		return r.inErr(i, "has shape %v, want a scalar or [1]", t.Shape)
	}
	return nil
}

// upload copies a host tensor to the engine; the tensor is released when
// the command ends.
func (r *opRun) upload(t *qtensor.Tensor) (*engine.Tensor, error) {
	d, err := r.eng.Upload(t)
	if err != nil {
		return nil, err
	}
	r.owned = append(r.owned, d)
	return d, nil
}

// run executes the batch and downloads out.
func (r *opRun) runAndDownload(b *engine.Batch, out *engine.Tensor) (*qtensor.Tensor, error) {
	r.owned = append(r.owned, out)
	if err := b.Run(r.ctx); err != nil {
		return nil, err
	}
	return r.eng.Download(out)
}

// withParams returns a copy of quantized t with params p.
func withParams(t *qtensor.Tensor, p qtensor.Params) *qtensor.Tensor {
	c := *t
	c.Params = p
	return &c
}

// unitParams are the placeholder params of an integer operand whose zero
// points are passed to the op explicitly.
var unitParams = qtensor.TensorParams(1, 0)

// --- QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear ---

// onnxElemTypes maps ONNX TensorProto element types to qgpu's.
var onnxElemTypes = map[int]qtensor.DType{2: qtensor.Uint8, 3: qtensor.Int8, 21: qtensor.Uint4, 22: qtensor.Int4}

// quantParams builds the params of a tensor of shape xShape from the scale
// input si and zero-point input zi (nil: zeros) of type d, with ONNX's
// axis and block_size attributes: per tensor for a scalar scale, per axis
// for a 1-D scale, per block when block_size > 0 (the scale then has x's
// rank with the axis dimension ceil(dim / block_size)).
func (r *opRun) quantParams(xShape []int, si, zi int, d qtensor.DType) (qtensor.Params, error) {
	scales, err := r.floats(si)
	if err != nil {
		return qtensor.Params{}, err
	}
	st := r.in[si]
	if z := r.in[zi]; z != nil && !slices.Equal(z.Shape, st.Shape) {
		return qtensor.Params{}, r.inErr(zi, "has shape %v, want the scale's shape %v", z.Shape, st.Shape)
	}
	zps, err := r.zeroPoints(zi, d, len(scales))
	if err != nil {
		return qtensor.Params{}, err
	}
	axis, bs := r.ints["axis"], r.ints["block_size"]
	rank := len(xShape)
	if bs < 0 {
		return qtensor.Params{}, usagef("block_size %d must be >= 0", bs)
	}
	if bs == 0 && scalarLike(st) {
		if r.given["axis"] && (axis < -rank || axis >= rank) {
			return qtensor.Params{}, usagef("axis %d out of range for rank %d", axis, rank)
		}
		return qtensor.TensorParams(scales[0], zps[0]), nil
	}
	if axis < -rank || axis >= rank {
		return qtensor.Params{}, usagef("axis %d out of range for rank %d (x has shape %v)", axis, rank, xShape)
	}
	if axis < 0 {
		axis += rank
	}
	if bs == 0 {
		if len(st.Shape) != 1 || st.Shape[0] != xShape[axis] {
			return qtensor.Params{}, r.inErr(si, "has shape %v; per-axis quantization along axis %d of x %v needs [%d]", st.Shape, axis, xShape, xShape[axis])
		}
		return qtensor.AxisParams(axis, scales, zps), nil
	}
	want := slices.Clone(xShape)
	want[axis] = (xShape[axis] + bs - 1) / bs
	if !slices.Equal(st.Shape, want) {
		return qtensor.Params{}, r.inErr(si, "has shape %v; blocks of %d along axis %d of x %v need %v", st.Shape, bs, axis, xShape, want)
	}
	return qtensor.BlockParams(axis, bs, scales, zps), nil
}

func evalQuantizeLinear(r *opRun) ([]*qtensor.Tensor, error) {
	x := r.in[0]
	if err := r.wantType(0, qtensor.Float32); err != nil {
		return nil, err
	}
	d := qtensor.Uint8
	od := r.ints["output_dtype"]
	if od != 0 {
		var ok bool
		if d, ok = onnxElemTypes[od]; !ok {
			return nil, usagef("output_dtype %d: want 2 (uint8), 3 (int8), 21 (uint4) or 22 (int4)", od)
		}
	}
	if z := r.in[2]; z != nil {
		if err := r.wantType(2, qtensor.Uint8, qtensor.Int8); err != nil {
			return nil, err
		}
		if od != 0 && z.DType != d {
			return nil, usagef("output_dtype %d (%v) differs from the zero point's type %v", od, d, z.DType)
		}
		d = z.DType
	}
	p, err := r.quantParams(x.Shape, 1, 2, d)
	if err != nil {
		return nil, err
	}
	if d == qtensor.Uint4 || d == qtensor.Int4 {
		if err := p.Validate(d, x.Shape); err != nil {
			return nil, err
		}
	}
	dx, err := r.upload(x)
	if err != nil {
		return nil, err
	}
	b := r.eng.NewBatch()
	y, err := b.Quantize(dx, d, p, qtensor.RoundONNX)
	if err != nil {
		return nil, err
	}
	out, err := r.runAndDownload(b, y)
	return []*qtensor.Tensor{out}, err
}

func evalDequantizeLinear(r *opRun) ([]*qtensor.Tensor, error) {
	x := r.in[0]
	if err := r.wantType(0, qtensor.Uint8, qtensor.Int8); err != nil {
		return nil, err
	}
	p, err := r.quantParams(x.Shape, 1, 2, x.DType)
	if err != nil {
		return nil, err
	}
	dx, err := r.upload(withParams(x, p))
	if err != nil {
		return nil, err
	}
	b := r.eng.NewBatch()
	y, err := b.Dequantize(dx)
	if err != nil {
		return nil, err
	}
	out, err := r.runAndDownload(b, y)
	return []*qtensor.Tensor{out}, err
}

func evalDynamicQuantizeLinear(r *opRun) ([]*qtensor.Tensor, error) {
	if err := r.wantType(0, qtensor.Float32); err != nil {
		return nil, err
	}
	dx, err := r.upload(r.in[0])
	if err != nil {
		return nil, err
	}
	y, scale, zp, err := r.eng.DynamicQuantizeLinear(r.ctx, dx)
	if err != nil {
		return nil, err
	}
	r.owned = append(r.owned, y)
	hy, err := r.eng.Download(y)
	if err != nil {
		return nil, err
	}
	hs, err := qtensor.FromFloat32([]int{}, []float32{scale})
	if err != nil {
		return nil, err
	}
	hz, err := qtensor.New(qtensor.Uint8, []int{}, unitParams)
	if err != nil {
		return nil, err
	}
	hz.Set(0, zp)
	return []*qtensor.Tensor{hy, hs, hz}, nil
}

// --- MatMulInteger, QLinearMatMul ---

// matDims returns M and N of a matmul of A and B shapes (numpy rules for
// 1-D operands), or an error for rank 0.
func matDims(a, b []int) (m, n int, err error) {
	if len(a) == 0 || len(b) == 0 {
		return 0, 0, usagef("matmul operands must have rank >= 1, have %v and %v", a, b)
	}
	m = 1
	if len(a) >= 2 {
		m = a[len(a)-2]
	}
	n = 1
	if len(b) >= 2 {
		n = b[len(b)-1]
	}
	return m, n, nil
}

// outSpec is the output of a GEMM or convolution: int32 (the zero
// value), or quantized with the scales of requantOutput, plus a bias.
type outSpec struct {
	kind engine.OutputKind
	bias []int32
	as   float32   // activation scale
	ws   []float32 // weight scales
	yt   qtensor.DType
	ys   float32
	yzp  int32
}

func (s *outSpec) gemm(o *engine.GemmOptions) {
	o.Output, o.Bias, o.AScale, o.BScale, o.YType, o.YScale, o.YZP = s.kind, s.bias, s.as, s.ws, s.yt, s.ys, s.yzp
}

func (s *outSpec) conv(o *engine.ConvOptions) {
	o.Output, o.Bias, o.XScale, o.WScale, o.YType, o.YScale, o.YZP = s.kind, s.bias, s.as, s.ws, s.yt, s.ys, s.yzp
}

// gemm records and runs the GEMM of inputs ai and bi with zero-point
// inputs azi and bzi (nil: 0) and the given output.
func (r *opRun) gemm(ai, bi, azi, bzi int, out outSpec) (*qtensor.Tensor, error) {
	a, w := r.in[ai], r.in[bi]
	if err := r.wantType(ai, qtensor.Uint8, qtensor.Int8); err != nil {
		return nil, err
	}
	if err := r.wantType(bi, qtensor.Uint8, qtensor.Int8); err != nil {
		return nil, err
	}
	m, n, err := matDims(a.Shape, w.Shape)
	if err != nil {
		return nil, err
	}
	if err := r.vector(azi, m, "per row of A"); err != nil {
		return nil, err
	}
	if err := r.vector(bzi, n, "per column of B"); err != nil {
		return nil, err
	}
	azp, err := r.zeroPoints(azi, a.DType, 1)
	if err != nil {
		return nil, err
	}
	bzp, err := r.zeroPoints(bzi, w.DType, 1)
	if err != nil {
		return nil, err
	}
	da, err := r.upload(withParams(a, unitParams))
	if err != nil {
		return nil, err
	}
	db, err := r.upload(withParams(w, unitParams))
	if err != nil {
		return nil, err
	}
	b := r.eng.NewBatch()
	o := engine.GemmOptions{AZP: azp, BZP: bzp}
	out.gemm(&o)
	y, err := b.Gemm(da, db, o)
	if err != nil {
		return nil, err
	}
	return r.runAndDownload(b, y)
}

func evalMatMulInteger(r *opRun) ([]*qtensor.Tensor, error) {
	y, err := r.gemm(0, 1, 2, 3, outSpec{})
	return []*qtensor.Tensor{y}, err
}

// requantOutput reads the per-tensor activation scale (input asi), the
// weight scales (input wsi: per tensor or n per channel), the output scale
// ysi and output zero point yzi into a quantized output.
func (r *opRun) requantOutput(asi, wsi, ysi, yzi, n int, what string) (outSpec, error) {
	var oo outSpec
	for _, i := range []int{asi, ysi, yzi} {
		if err := r.scalar(i); err != nil {
			return oo, err
		}
	}
	if err := r.vector(wsi, n, what); err != nil {
		return oo, err
	}
	as, err := r.floats(asi)
	if err != nil {
		return oo, err
	}
	ws, err := r.floats(wsi)
	if err != nil {
		return oo, err
	}
	ys, err := r.floats(ysi)
	if err != nil {
		return oo, err
	}
	if err := r.wantType(yzi, qtensor.Uint8, qtensor.Int8); err != nil {
		return oo, err
	}
	yz := r.in[yzi]
	return outSpec{kind: engine.OutQuantized, as: as[0], ws: ws, yt: yz.DType, ys: ys[0], yzp: yz.At(0)}, nil
}

func evalQLinearMatMul(r *opRun) ([]*qtensor.Tensor, error) {
	// a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point
	if t := r.in[1]; !scalarLike(t) {
		return nil, fmt.Errorf("input 1 (a_scale, %s) has shape %v: per-row activation scales are %w here", r.files[1], t.Shape, engine.ErrUnsupported)
	}
	_, n, err := matDims(r.in[0].Shape, r.in[3].Shape)
	if err != nil {
		return nil, err
	}
	oo, err := r.requantOutput(1, 4, 6, 7, n, "per column of b")
	if err != nil {
		return nil, err
	}
	y, err := r.gemm(0, 3, 2, 5, oo)
	return []*qtensor.Tensor{y}, err
}

// --- ConvInteger, QLinearConv ---

// convOptions turns the ONNX conv attributes into engine options for input
// x (NCHW or NCL) and weights w.
func (r *opRun) convOptions(x, w *qtensor.Tensor) (engine.ConvOptions, error) {
	var o engine.ConvOptions
	if len(x.Shape) != 3 && len(x.Shape) != 4 {
		return o, usagef("x has shape %v: only 1-D (NCL) and 2-D (NCHW) convolutions are supported", x.Shape)
	}
	if len(w.Shape) != len(x.Shape) {
		return o, usagef("w has shape %v, want rank %d like x %v", w.Shape, len(x.Shape), x.Shape)
	}
	sr := len(x.Shape) - 2
	in, k := x.Shape[2:], w.Shape[2:]
	list := func(name string, def int) ([]int, error) {
		want := sr
		if name == "pads" {
			want = 2 * sr
		}
		v, ok := r.intss[name]
		if !ok {
			v = make([]int, want)
			for i := range v {
				v[i] = def
			}
		}
		if len(v) != want {
			return nil, usagef("%s %s: want %d values for %d spatial axes", name, shortInts(v), want, sr)
		}
		return v, nil
	}
	ks, err := list("kernel_shape", 0)
	if err != nil {
		return o, err
	}
	if _, ok := r.intss["kernel_shape"]; ok && !slices.Equal(ks, k) {
		return o, usagef("kernel_shape %v differs from w's spatial shape %v", ks, k)
	}
	strides, err := list("strides", 1)
	if err != nil {
		return o, err
	}
	dil, err := list("dilations", 1)
	if err != nil {
		return o, err
	}
	pads, err := list("pads", 0)
	if err != nil {
		return o, err
	}
	if pads, err = r.autoPad(pads, strides, dil, in, k); err != nil {
		return o, err
	}
	o.Strides, o.Dilations, o.Pads, o.Group = strides, dil, pads, r.ints["group"]
	if o.Group < 1 {
		return o, usagef("group %d must be >= 1", o.Group)
	}
	return o, nil
}

// autoPad applies the auto_pad attribute: the pads of VALID (none) and
// SAME_UPPER / SAME_LOWER (the output size ceil(in / stride), the odd
// padding at the end or the beginning), or pads unchanged for NOTSET.
func (r *opRun) autoPad(pads, strides, dil, in, k []int) ([]int, error) {
	sr := len(in)
	ap := r.strs["auto_pad"]
	switch ap {
	case "NOTSET":
		return pads, nil
	case "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		return nil, usagef("auto_pad %q: want NOTSET, VALID, SAME_UPPER or SAME_LOWER", ap)
	}
	if _, ok := r.intss["pads"]; ok {
		return nil, usagef("pads cannot be combined with auto_pad=%s", ap)
	}
	pads = make([]int, 2*sr)
	if ap == "VALID" {
		return pads, nil
	}
	for i := range sr {
		if strides[i] < 1 || dil[i] < 1 {
			return nil, usagef("strides %v and dilations %v must be positive", strides, dil)
		}
		out := (in[i] + strides[i] - 1) / strides[i]
		total := max(0, (out-1)*strides[i]+(k[i]-1)*dil[i]+1-in[i])
		begin := total / 2
		if ap == "SAME_LOWER" {
			begin = total - total/2
		}
		pads[i], pads[sr+i] = begin, total-begin
	}
	return pads, nil
}

// conv records and runs the convolution of inputs xi and wi with zero-point
// inputs xzi and wzi (nil: 0).
func (r *opRun) conv(xi, wi, xzi, wzi int, out outSpec) (*qtensor.Tensor, error) {
	x, w := r.in[xi], r.in[wi]
	if err := r.wantType(xi, qtensor.Uint8, qtensor.Int8); err != nil {
		return nil, err
	}
	if err := r.wantType(wi, qtensor.Uint8, qtensor.Int8); err != nil {
		return nil, err
	}
	o, err := r.convOptions(x, w)
	if err != nil {
		return nil, err
	}
	if err := r.scalar(xzi); err != nil {
		return nil, err
	}
	if err := r.vector(wzi, w.Shape[0], "per output channel"); err != nil {
		return nil, err
	}
	if o.XZP, err = r.zeroPoints(xzi, x.DType, 1); err != nil {
		return nil, err
	}
	if o.WZP, err = r.zeroPoints(wzi, w.DType, 1); err != nil {
		return nil, err
	}
	out.conv(&o)
	dx, err := r.upload(withParams(x, unitParams))
	if err != nil {
		return nil, err
	}
	dw, err := r.upload(withParams(w, unitParams))
	if err != nil {
		return nil, err
	}
	b := r.eng.NewBatch()
	y, err := b.Conv(dx, dw, o)
	if err != nil {
		return nil, err
	}
	return r.runAndDownload(b, y)
}

func evalConvInteger(r *opRun) ([]*qtensor.Tensor, error) {
	y, err := r.conv(0, 1, 2, 3, outSpec{})
	return []*qtensor.Tensor{y}, err
}

func evalQLinearConv(r *opRun) ([]*qtensor.Tensor, error) {
	// x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B
	w := r.in[3]
	if len(w.Shape) == 0 {
		return nil, r.inErr(3, "is a scalar, want OIHW weights")
	}
	oo, err := r.requantOutput(1, 4, 6, 7, w.Shape[0], "per output channel")
	if err != nil {
		return nil, err
	}
	if bt := r.in[8]; bt != nil {
		if err := r.wantType(8, qtensor.Int32); err != nil {
			return nil, err
		}
		if len(bt.Shape) != 1 || bt.Shape[0] != w.Shape[0] {
			return nil, r.inErr(8, "has shape %v, want [%d] (one per output channel)", bt.Shape, w.Shape[0])
		}
		oo.bias = bt.Int32s()
	}
	y, err := r.conv(0, 3, 2, 5, oo)
	return []*qtensor.Tensor{y}, err
}
