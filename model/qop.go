package model

import (
	"fmt"
	"slices"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/qtensor"
)

// The QOperator ops carry their quantization parameters as inputs. They
// lower to the same engine ops as their QDQ forms; package graph's
// reference kernels compute the same formulas, so a QOperator model gives
// the same bytes whether a node runs on the engine or on the host.
//

const ms = "com.microsoft."

var qopLowerers = map[string]lowerer{
	"QLinearConv":                   lowerQConv,
	"ConvInteger":                   lowerQConv,
	"QLinearMatMul":                 lowerQMatMul,
	"MatMulInteger":                 lowerQMatMul,
	ms + "QGemm":                    lowerQGemm,
	ms + "QLinearAdd":               lowerQBinary,
	ms + "QLinearMul":               lowerQBinary,
	ms + "QLinearGlobalAveragePool": lowerQPool,
	ms + "QLinearAveragePool":       lowerQPool,
	ms + "QLinearConcat":            lowerQConcat,
	ms + "QLinearSigmoid":           lowerQUnary,
	ms + "QLinearLeakyRelu":         lowerQUnary,
	"Flatten":                       lowerQView,
	"Reshape":                       lowerQView,
	"Squeeze":                       lowerQView,
	"Unsqueeze":                     lowerQView,
	"Identity":                      lowerQView,
}

// lowerQView lowers a shape op on quantized data (as QOperator models have
// them): an engine view with the input's params.
func lowerQView(p *plan, i int) (*group, string) {
	n := p.node(i)
	v := n.Inputs[0]
	q, ok := p.producerParams(v)
	if !ok {
		return nil, fmt.Sprintf("%s is %v data whose quantization parameters are not known", v, p.g.Values[v].DType)
	}
	gr := newGroup(i)
	gr.outQ[n.Outputs[0]] = q
	s := p.viewStep(i, v, n.Outputs[0], p.g.Values[n.Outputs[0]].Shape)
	gr.steps, gr.outDev = []*step{s}, []string{n.Outputs[0]}
	return gr, ""
}

// qscalars reads constant per-tensor parameters (scale at input si, zero
// point at zi, "" or absent: 0) of quantized type dt.
func (p *plan) qscalars(i, si, zi int, d graph.DType) (qparams, string) {
	n := p.node(i)
	q := qparams{}
	switch d {
	case graph.Int8:
		q.dt = qtensor.Int8
	case graph.Uint8:
		q.dt = qtensor.Uint8
	default:
		return q, fmt.Sprintf("quantized type %v", d)
	}
	s := p.constant(input(n, si))
	if s == nil || s.DType != graph.Float32 || s.Len() != 1 {
		return q, fmt.Sprintf("input %d (a scale) is not a constant scalar", si)
	}
	q.scale = s.F32[0]
	if zi >= 0 && input(n, zi) != "" {
		z := p.constant(input(n, zi))
		if z == nil || z.Len() != 1 {
			return q, fmt.Sprintf("input %d (a zero point) is not a constant scalar", zi)
		}
		v, err := z.Ints()
		if err != nil {
			return q, err.Error()
		}
		q.zp = int32(v[0])
	}
	if err := q.params().Validate(q.dt, []int{1}); err != nil {
		return q, err.Error()
	}
	return q, ""
}

func input(n *graph.Node, i int) string {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return ""
}

// qin returns quantized value v (input vi of node i) with the per-tensor
// params of inputs si and zi, checked against the params v has.
func (p *plan) qin(i, vi, si, zi int) (*twin, string) {
	v := input(p.node(i), vi)
	q, why := p.qscalars(i, si, zi, p.g.Values[v].DType)
	if why != "" {
		return nil, why
	}
	if have, ok := p.producerParams(v); ok && have != q {
		return nil, fmt.Sprintf("%s was quantized with %v and is read with %v", v, have, q)
	} else if !ok {
		p.qv[v] = q
	}
	if t := p.constant(v); t != nil && p.weights[v] == nil {
		h, err := hostToQ(t, q.params())
		if err != nil {
			return nil, err.Error()
		}
		p.weights[v] = h
	}
	return &twin{name: v, p: q, view: -1}, ""
}

// qopOutParams returns the output parameters of QOperator node i (its
// y_scale and y_zero_point inputs).
func (p *plan) qopOutParams(i int) (qparams, bool) {
	n := p.node(i)
	si, zi := -1, -1
	switch p.op(i) {
	case "QLinearConv":
		si, zi = 6, 7
	case "QLinearMatMul", ms + "QLinearAdd", ms + "QLinearMul":
		si, zi = 6, 7
	case ms + "QGemm":
		si, zi = 7, 8
	case ms + "QLinearGlobalAveragePool", ms + "QLinearAveragePool", ms + "QLinearSigmoid", ms + "QLinearLeakyRelu":
		si, zi = 3, 4
	case ms + "QLinearConcat":
		si, zi = 0, 1
	}
	if si < 0 || input(n, si) == "" {
		return qparams{}, false
	}
	q, why := p.qscalars(i, si, zi, p.g.Values[n.Outputs[0]].DType)
	return q, why == ""
}

// qweights reads constant weights (input wi) with scale si and zero point
// zi (per tensor, or per channel along axis), as a qtensor.
func (p *plan) qweights(i, wi, si, zi, axis int) (*qtensor.Tensor, string) {
	n := p.node(i)
	w := p.constant(input(n, wi))
	if w == nil {
		return nil, ""
	}
	scales := []float32{1}
	if si >= 0 {
		s := p.constant(input(n, si))
		if s == nil || s.DType != graph.Float32 {
			return nil, fmt.Sprintf("input %d (the weight scale) is not a constant", si)
		}
		scales = s.F32
	}
	zps := make([]int32, len(scales))
	if z := input(n, zi); z != "" {
		t := p.constant(z)
		if t == nil {
			return nil, fmt.Sprintf("input %d (the weight zero point) is not a constant", zi)
		}
		v, _ := t.Ints()
		zps = make([]int32, len(v))
		for k, x := range v {
			zps[k] = int32(x)
		}
	}
	var prm qtensor.Params
	switch {
	case len(scales) == 1 && len(zps) == 1:
		prm = qtensor.TensorParams(scales[0], zps[0])
	case len(scales) == 1:
		// Per-channel zero points with one scale (MatMulInteger).
		prm = qtensor.AxisParams(axis, slices.Repeat(scales, len(zps)), zps)
	case len(zps) == 1:
		prm = qtensor.AxisParams(axis, scales, slices.Repeat(zps, len(scales)))
	default:
		prm = qtensor.AxisParams(axis, scales, zps)
	}
	q, err := hostToQ(w, prm)
	if err != nil {
		return nil, err.Error()
	}
	if err := prm.Validate(q.DType, q.Shape); err != nil {
		return nil, "weights: " + err.Error()
	}
	return q, ""
}

// zpConst reads a constant zero point input (absent: 0) as int32s.
func (p *plan) zpConst(i, zi int) ([]int32, string) {
	z := input(p.node(i), zi)
	if z == "" {
		return []int32{0}, ""
	}
	t := p.constant(z)
	if t == nil {
		return nil, fmt.Sprintf("input %d (a zero point) is not a constant", zi)
	}
	v, _ := t.Ints()
	out := make([]int32, len(v))
	for k, x := range v {
		out[k] = int32(x)
	}
	return out, ""
}

// lowerQConv lowers QLinearConv (quantized output) and ConvInteger (int32
// output).
func lowerQConv(p *plan, i int) (*group, string) {
	n := p.node(i)
	ql := n.OpType == "QLinearConv"
	xs := p.g.Values[n.Inputs[0]].Shape
	if r := len(xs) - 2; r != 1 && r != 2 {
		return nil, fmt.Sprintf("%s with %d spatial dimensions (the engine's Conv is 1-D or 2-D)", n.OpType, r)
	}
	wi, si, zi := 1, -1, 3
	if ql {
		wi, si, zi = 3, 4, 5
	}
	w, why := p.qweights(i, wi, si, zi, 0)
	if w == nil {
		if why == "" {
			why = "the weights are not constant"
		}
		return nil, why
	}
	var opts engine.ConvOptions
	var x *twin
	gr := newGroup(i)
	outV := n.Outputs[0]
	desc := "int32"
	if ql {
		if x, why = p.qin(i, 0, 1, 2); x == nil {
			return nil, why
		}
		yq, ok := p.qopOutParams(i)
		if !ok {
			return nil, "y_scale and y_zero_point are not constant scalars"
		}
		opts.Output, opts.YType, opts.YScale, opts.YZP = engine.OutQuantized, yq.dt, yq.scale, yq.zp
		if b := input(n, 8); b != "" {
			t := p.constant(b)
			if t == nil || t.DType != graph.Int32 {
				return nil, "the bias is not a constant int32"
			}
			opts.Bias = slices.Clone(t.I32)
		}
		gr.outQ[outV] = yq
		desc = yq.dt.String()
	} else {
		xzp, why := p.zpConst(i, 2)
		if why != "" {
			return nil, why
		}
		x = &twin{name: n.Inputs[0], view: -1}
		opts.XZP = xzp
		opts.WZP = w.Params.ZeroPoints
		opts.Output = engine.OutInt32
		w.Params = qtensor.TensorParams(1, 0) // the zero points are passed explicitly
		if len(opts.WZP) > 1 {
			w.Params = qtensor.AxisParams(0, slices.Repeat([]float32{1}, len(opts.WZP)), opts.WZP)
		}
	}
	k := w.Shape[2:]
	opts.Strides, opts.Dilations, opts.Pads = window(n, xs[2:], k, true)
	opts.Group = int(attrInt(n, "group", 1))
	key := "#qconv:" + outV
	p.weights[key] = w
	dtx := p.g.Values[n.Inputs[0]].DType
	s := &step{node: i, ins: []string{x.name}, outs: []string{outV},
		ops: []string{fmt.Sprintf("Conv(%v,%v->%s)", dtx, w.DType, desc)},
		lay: layWindow,
		record: func(b *engine.Batch, in []*engine.Tensor, _ func(*engine.Tensor)) ([]*engine.Tensor, error) {
			o := opts
			o.XLayout, o.YLayout = p.layout(x.name), p.layout(outV)
			y, err := b.Conv(in[0], p.wdev[key], o)
			return []*engine.Tensor{y}, err
		}}
	gr.steps, gr.outDev = []*step{s}, []string{outV}
	return gr, ""
}

// lowerQMatMul lowers QLinearMatMul and MatMulInteger.
func lowerQMatMul(p *plan, i int) (*group, string) {
	n := p.node(i)
	ql := n.OpType == "QLinearMatMul"
	bi, si, zi := 1, -1, 3
	if ql {
		bi, si, zi = 3, 4, 5
	}
	var opts engine.GemmOptions
	gr := newGroup(i)
	outV := n.Outputs[0]
	desc := "int32"
	var a *twin
	var why string
	if ql {
		if a, why = p.qin(i, 0, 1, 2); a == nil {
			return nil, why
		}
		yq, ok := p.qopOutParams(i)
		if !ok {
			return nil, "y_scale and y_zero_point are not constant scalars"
		}
		opts.Output, opts.YType, opts.YScale, opts.YZP = engine.OutQuantized, yq.dt, yq.scale, yq.zp
		gr.outQ[outV] = yq
		desc = yq.dt.String()
	} else {
		azp, why := p.zpConst(i, 2)
		if why != "" {
			return nil, why
		}
		a = &twin{name: n.Inputs[0], view: -1}
		opts.AZP = azp
	}
	bs := p.g.Values[n.Inputs[bi]].Shape
	bIn, bKey := "", ""
	bDesc := p.g.Values[n.Inputs[bi]].DType.String()
	if w, why := p.qweights(i, bi, si, zi, len(bs)-1); w != nil {
		if w.Params.Granularity == qtensor.PerAxis && len(bs) != 2 {
			return nil, "batched weights quantized per column"
		}
		if !ql {
			opts.BZP = w.Params.ZeroPoints
			w.Params = qtensor.TensorParams(1, 0)
		}
		bKey = "#qmatmul:" + outV
		p.weights[bKey] = w
	} else if why != "" {
		return nil, why
	} else if ql {
		b, why := p.qin(i, 3, 4, 5)
		if b == nil {
			return nil, why
		}
		bIn = b.name
	} else {
		bzp, why := p.zpConst(i, 3)
		if why != "" {
			return nil, why
		}
		opts.BZP = bzp
		bIn = n.Inputs[1]
	}
	s := gemmStep(p, i, &twin{name: a.name, p: qparams{dt: qtype(p.g.Values[n.Inputs[0]].DType)}}, bIn, bKey, outV, opts, bDesc, desc)
	gr.steps, gr.outDev = []*step{s}, []string{outV}
	return gr, ""
}

func qtype(d graph.DType) qtensor.DType {
	if d == graph.Int8 {
		return qtensor.Int8
	}
	return qtensor.Uint8
}

// lowerQGemm lowers com.microsoft.QGemm: alpha folded into the activation
// scale, B transposed at load, C as the int32 bias (one value, or one per
// column); without y_scale a float32 output.
func lowerQGemm(p *plan, i int) (*group, string) {
	n := p.node(i)
	if attrInt(n, "transA", 0) != 0 {
		return nil, "QGemm with transA=1 (transposing activations has no engine op)"
	}
	a, why := p.qin(i, 0, 1, 2)
	if a == nil {
		return nil, why
	}
	transB := attrInt(n, "transB", 0) != 0
	axis := 1
	if transB {
		axis = 0
	}
	w, why := p.qweights(i, 3, 4, 5, axis)
	if w == nil {
		if why == "" {
			why = "B is not constant"
		}
		return nil, why
	}
	if transB {
		w = transpose2D(w)
	}
	N := w.Shape[1]
	var opts engine.GemmOptions
	if alpha := attrFloat(n, "alpha", 1); alpha != 1 {
		opts.AScale = alpha * a.p.scale
	}
	if c := input(n, 6); c != "" {
		t := p.constant(c)
		if t == nil || t.DType != graph.Int32 || t.Len() != N && t.Len() != 1 || len(t.Shape) == 2 && t.Shape[0] != 1 {
			return nil, fmt.Sprintf("C %v (the engine adds one constant value per output column)", p.g.Values[c].Shape)
		}
		opts.Bias = slices.Clone(t.I32)
	}
	gr := newGroup(i)
	outV := n.Outputs[0]
	desc := "float32"
	if yq, ok := p.qopOutParams(i); ok {
		opts.Output, opts.YType, opts.YScale, opts.YZP = engine.OutQuantized, yq.dt, yq.scale, yq.zp
		gr.outQ[outV] = yq
		desc = yq.dt.String()
	} else if input(n, 7) != "" {
		return nil, "y_scale and y_zero_point are not constant scalars"
	} else {
		opts.Output = engine.OutFloat32
	}
	key := "#qgemm:" + outV
	p.weights[key] = w
	s := gemmStep(p, i, a, "", key, outV, opts, w.DType.String(), desc)
	gr.steps, gr.outDev = []*step{s}, []string{outV}
	return gr, ""
}

// lowerQBinary lowers com.microsoft.QLinearAdd and QLinearMul.
func lowerQBinary(p *plan, i int) (*group, string) {
	n := p.node(i)
	a, why := p.qin(i, 0, 1, 2)
	if a == nil {
		return nil, why
	}
	b, why := p.qin(i, 3, 4, 5)
	if b == nil {
		return nil, why
	}
	yq, ok := p.qopOutParams(i)
	if !ok {
		return nil, "C_scale and C_zero_point are not constant scalars"
	}
	t := &tail{out: n.Outputs[0], p: yq, covers: map[int]string{}}
	op := "Add"
	if n.OpType == "QLinearMul" {
		op = "Mul"
	}
	return p.binaryGroup(i, op, a, b, p.g.Values[n.Inputs[0]].Shape, p.g.Values[n.Inputs[3]].Shape, t, nil)
}

// lowerQPool lowers com.microsoft.QLinearGlobalAveragePool and
// QLinearAveragePool when every window has the same divisor: the
// depthwise Conv of ones, which computes the reference formula.
func lowerQPool(p *plan, i int) (*group, string) {
	n := p.node(i)
	if attrInt(n, "channels_last", 0) != 0 {
		return nil, "channels_last=1"
	}
	x, why := p.qin(i, 0, 1, 2)
	if x == nil {
		return nil, why
	}
	o, why := p.poolOpts(i, false)
	if why != "" {
		return nil, why
	}
	if slices.ContainsFunc(o.Pads, func(v int) bool { return v != 0 }) && !o.CountIncludePad {
		return nil, "padded windows with count_include_pad=0 have different divisors (no engine op computes that average in one rounding)"
	}
	yq, ok := p.qopOutParams(i)
	if !ok {
		return nil, "y_scale and y_zero_point are not constant scalars"
	}
	return p.onesConv(i, x, o, &tail{out: n.Outputs[0], p: yq, covers: map[int]string{}}, nil)
}

// lowerQConcat lowers com.microsoft.QLinearConcat: the engine's Concat.
func lowerQConcat(p *plan, i int) (*group, string) {
	n := p.node(i)
	if len(n.Inputs) < 5 || (len(n.Inputs)-2)%3 != 0 {
		return nil, "malformed QLinearConcat"
	}
	var xs []*twin
	for k := 2; k < len(n.Inputs); k += 3 {
		x, why := p.qin(i, k, k+1, k+2)
		if x == nil {
			return nil, why
		}
		xs = append(xs, x)
	}
	yq, ok := p.qopOutParams(i)
	if !ok {
		return nil, "Y_scale and Y_zero_point are not constant scalars"
	}
	return p.concatGroup(i, xs, int(attrInt(n, "axis", 0)), &tail{out: n.Outputs[0], p: yq, covers: map[int]string{}}, nil)
}

// lowerQUnary lowers com.microsoft.QLinearSigmoid and QLinearLeakyRelu:
// one Lookup with the table package graph's reference kernel uses.
func lowerQUnary(p *plan, i int) (*group, string) {
	n := p.node(i)
	f, ok := p.g.UnaryFunc(i)
	if !ok {
		return nil, "no float function for " + p.op(i)
	}
	x, why := p.qin(i, 0, 1, 2)
	if x == nil {
		return nil, why
	}
	yq, ok := p.qopOutParams(i)
	if !ok {
		return nil, "Y_scale and Y_zero_point are not constant scalars"
	}
	t := &tail{out: n.Outputs[0], p: yq, act: f, covers: map[int]string{}}
	return passGroup(p, i, x, t, nil, "")
}
