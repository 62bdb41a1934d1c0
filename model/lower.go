package model

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/qtensor"
)

// lowerer tries to lower node i (and the nodes around it: its output
// activation and QuantizeLinear) to engine steps. It returns the group, or
// nil and the reason the node stays on the host.
type lowerer func(p *plan, i int) (*group, string)

// lowerers by op ("domain.op" outside the default domain). Adding an op is
// one entry here.
var lowerers map[string]lowerer

func init() {
	lowerers = map[string]lowerer{
		"Conv":              lowerConv,
		"MatMul":            lowerMatMulAny,
		"Gemm":              lowerGemm,
		"Add":               lowerBinary,
		"Mul":               lowerBinary,
		"Relu":              lowerClamp,
		"Clip":              lowerClamp,
		"MaxPool":           lowerMaxPool,
		"AveragePool":       lowerAvgPool,
		"GlobalAveragePool": lowerAvgPool,
		"QuantizeLinear":    lowerRequantize,
		"Concat":            lowerConcat,
	}
	for k, v := range qopLowerers {
		lowerers[k] = v
	}
	lowerers[ms+"MatMulNBits"] = lowerMatMulNBits
}

// lowerMatMulAny lowers a MatMul with blocked weights to MatMulNBits
// (lower_nbits.go), any other as lowerMatMul does.
func lowerMatMulAny(p *plan, i int) (*group, string) {
	if gr, why, ok := lowerMatMulBlocked(p, i); ok {
		return gr, why
	}
	return lowerMatMul(p, i)
}

func newGroup(anchor int) *group {
	return &group{anchor: anchor, covers: map[int]string{anchor: ""}, outQ: map[string]qparams{}}
}

// --- node attributes ---

func attrInt(n *graph.Node, name string, def int64) int64 {
	if a, ok := n.Attrs[name]; ok && a.Type == graph.AttrInt {
		return a.Int
	}
	return def
}

func attrFloat(n *graph.Node, name string, def float32) float32 {
	if a, ok := n.Attrs[name]; ok && a.Type == graph.AttrFloat {
		return a.Float
	}
	return def
}

func attrString(n *graph.Node, name, def string) string {
	if a, ok := n.Attrs[name]; ok && a.Type == graph.AttrString {
		return a.String
	}
	return def
}

func attrInts(n *graph.Node, name string) []int {
	a, ok := n.Attrs[name]
	if !ok || a.Type != graph.AttrInts {
		return nil
	}
	out := make([]int, len(a.Ints))
	for i, v := range a.Ints {
		out[i] = int(v)
	}
	return out
}

func ones(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// window resolves the strides, dilations and pads (engine order: begins
// then ends) of a window op over spatial input in with kernel k, auto_pad
// included (as package graph does).
func window(n *graph.Node, in, k []int, dilations bool) (strides, dils, pads []int) {
	r := len(in)
	strides, dils = attrInts(n, "strides"), ones(r)
	if strides == nil {
		strides = ones(r)
	}
	if dilations {
		if d := attrInts(n, "dilations"); d != nil {
			dils = d
		}
	}
	pads = attrInts(n, "pads")
	if pads == nil {
		pads = make([]int, 2*r)
	}
	switch attrString(n, "auto_pad", "NOTSET") {
	case "SAME_UPPER", "SAME_LOWER":
		upper := attrString(n, "auto_pad", "") == "SAME_UPPER"
		pads = make([]int, 2*r)
		for j := range r {
			eff := (k[j]-1)*dils[j] + 1
			o := (in[j] + strides[j] - 1) / strides[j]
			total := max(0, (o-1)*strides[j]+eff-in[j])
			if upper {
				pads[j] = total / 2
			} else {
				pads[j] = total - total/2
			}
			pads[j+r] = total - pads[j]
		}
	case "VALID":
		pads = make([]int, 2*r)
	}
	return strides, dils, pads
}

// --- the output side: [Relu | Clip] -> QuantizeLinear ---

// tail is how a float result becomes a quantized value: the
// QuantizeLinear that reads it (through at most one Relu or Clip).
type tail struct {
	out string  // the QuantizeLinear's output
	p   qparams // its parameters
	// act is the Relu or Clip before the QuantizeLinear as a float
	// function (nil: none, or implied by the output range and dropped).
	// Q(act(v)) = clamp(Q(v), Q(a), Q(b)) exactly, Q being monotone.
	act func(float32) float32
	// relu: act is a ReLU on the quantized output (Q(a) is the zero
	// point, Q(b) >= qmax); otherwise act needs a table lookup.
	relu   bool
	covers map[int]string
}

// post returns what follows an op that makes t's quantized value without
// its activation: nothing, a ReLU (when relu and the op has none of its
// own: fusedReLU false), or a Lookup of the clamp; and the ops' names.
func (t *tail) post(fusedReLU bool) (func(*engine.Batch, *engine.Tensor, func(*engine.Tensor)) (*engine.Tensor, error), []string) {
	switch {
	case t.act == nil || t.relu && fusedReLU:
		return nil, nil
	case t.relu:
		return func(b *engine.Batch, y *engine.Tensor, keep func(*engine.Tensor)) (*engine.Tensor, error) {
			keep(y)
			return b.ReLU(y)
		}, []string{fmt.Sprintf("ReLU(%v)", t.p.dt)}
	}
	table, err := qtensor.ActivationTable(t.p.dt, t.p.scale, t.p.zp, t.p.dt, t.p.scale, t.p.zp, t.act)
	if err != nil {
		panic(err) // t.p was validated
	}
	return func(b *engine.Batch, y *engine.Tensor, keep func(*engine.Tensor)) (*engine.Tensor, error) {
		keep(y)
		return b.Lookup(y, &table, t.p.dt, t.p.scale, t.p.zp)
	}, []string{fmt.Sprintf("Lookup(%v->%v,clamp)", t.p.dt, t.p.dt)}
}

// tailOf finds the tail of float value f, or why f is not quantized
// directly. acts allows a Relu or Clip between f and the QuantizeLinear.
func (p *plan) tailOf(f string, acts bool) (*tail, string) {
	single := func(v string) (int, string) {
		if p.isOut[v] {
			return -1, fmt.Sprintf("%s is a graph output", v)
		}
		if c := p.cons[v]; len(c) != 1 {
			return -1, fmt.Sprintf("%s has %d consumers", v, len(c))
		}
		return p.cons[v][0], ""
	}
	c, why := single(f)
	if c < 0 {
		return nil, why
	}
	t := &tail{covers: map[int]string{}}
	act := -1
	if n := p.node(c); acts && isDefault(n.Domain) && (n.OpType == "Relu" || n.OpType == "Clip") {
		act = c
		if c, why = single(n.Outputs[0]); c < 0 {
			return nil, why
		}
	}
	qn := p.node(c)
	if !isDefault(qn.Domain) || qn.OpType != "QuantizeLinear" {
		return nil, fmt.Sprintf("%s is read by %s, not by a QuantizeLinear", f, p.op(c))
	}
	q, why := p.qOut(c)
	if why != "" {
		return nil, "its QuantizeLinear: " + why
	}
	t.out, t.p = qn.Outputs[0], q
	t.covers[c] = "output quantized by the engine op"
	if act >= 0 {
		f, lo, hi, why := p.clampOf(act, q)
		if why != "" {
			return nil, why
		}
		switch {
		case lo <= q.dt.QMin() && hi >= q.dt.QMax():
			t.covers[act] = "dropped: implied by the QuantizeLinear's range"
		case lo == q.zp && hi >= q.dt.QMax():
			t.act, t.relu = f, true
			t.covers[act] = "a ReLU on the quantized output"
		default:
			t.act = f
			t.covers[act] = fmt.Sprintf("a table lookup clamping the quantized output to [%d, %d]", lo, hi)
		}
	}
	return t, ""
}

// clampOf returns the float function of a Relu or Clip node and its
// quantized bounds [lo, hi] = [Q(a), Q(b)] with params q.
func (p *plan) clampOf(i int, q qparams) (f func(float32) float32, lo, hi int32, why string) {
	n := p.node(i)
	qmin, qmax := q.dt.QMin(), q.dt.QMax()
	quant := func(x float32) int32 { return qtensor.Quantize(x, q.scale, q.zp, qmin, qmax) }
	if n.OpType == "Relu" {
		return func(x float32) float32 { return max(x, 0) }, q.zp, qmax, ""
	}
	a, b := float32(math.Inf(-1)), float32(math.Inf(1))
	if v, ok := n.Attrs["min"]; ok && v.Type == graph.AttrFloat {
		a = v.Float
	}
	if v, ok := n.Attrs["max"]; ok && v.Type == graph.AttrFloat {
		b = v.Float
	}
	for j, dst := range []*float32{&a, &b} {
		if len(n.Inputs) > j+1 && n.Inputs[j+1] != "" {
			t := p.constant(n.Inputs[j+1])
			if t == nil || t.DType != graph.Float32 || t.Len() != 1 {
				return nil, 0, 0, "Clip with a bound that is not a constant float"
			}
			*dst = t.F32[0]
		}
	}
	if a != a || b != b {
		return nil, 0, 0, "Clip with a NaN bound"
	}
	return func(x float32) float32 { return min(max(x, a), b) }, quant(a), quant(b), ""
}

// --- the input side: weights and biases ---

// weightOf returns the constant quantized tensor w behind float value f =
// DequantizeLinear(w), with per-tensor or per-axis params, or why f is not
// one.
func (p *plan) weightOf(f string) (*qtensor.Tensor, string) {
	i, ok := p.prod[f]
	for ok && isDefault(p.node(i).Domain) && p.node(i).OpType == "Identity" {
		// Exporters share weights through Identity nodes.
		i, ok = p.prod[p.node(i).Inputs[0]]
	}
	if !ok || !isDefault(p.node(i).Domain) || p.node(i).OpType != "DequantizeLinear" {
		return nil, fmt.Sprintf("%s is not a DequantizeLinear of constant weights", f)
	}
	n := p.node(i)
	w := p.constant(n.Inputs[0])
	if w == nil {
		return nil, fmt.Sprintf("%s is not a DequantizeLinear of constant weights", f)
	}
	prm, why := p.dqParams(i, len(w.Shape))
	if why != "" {
		return nil, "weights " + f + ": " + why
	}
	q, err := hostToQ(w, prm)
	if err != nil {
		return nil, "weights " + f + ": " + err.Error()
	}
	if !q.DType.Quantized() {
		return nil, fmt.Sprintf("weights %s are %v", f, w.DType)
	}
	if err := prm.Validate(q.DType, q.Shape); err != nil {
		return nil, "weights " + f + ": " + err.Error()
	}
	return q, ""
}

// dqParams reads the constant parameters of a QuantizeLinear or
// DequantizeLinear node i over a tensor of the given rank: per tensor, or
// per axis.
func (p *plan) dqParams(i, rank int) (qtensor.Params, string) {
	n := p.node(i)
	s := p.constant(n.Inputs[1])
	if s == nil {
		return qtensor.Params{}, "the scale is not a constant"
	}
	var zps []int64
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		z := p.constant(n.Inputs[2])
		if z == nil {
			return qtensor.Params{}, "the zero point is not a constant"
		}
		zps, _ = z.Ints()
	} else {
		zps = make([]int64, s.Len())
	}
	if attrInt(n, "block_size", 0) != 0 {
		return qtensor.Params{}, "blocked quantization"
	}
	z32 := make([]int32, len(zps))
	for k, v := range zps {
		z32[k] = int32(v)
	}
	if s.Len() == 1 && len(s.Shape) <= 1 {
		return qtensor.TensorParams(s.F32[0], z32[0]), ""
	}
	axis := int(attrInt(n, "axis", 1))
	if axis < 0 {
		axis += rank
	}
	return qtensor.AxisParams(axis, slices.Clone(s.F32), z32), ""
}

// biasOf returns the bias input f of a Conv or Gemm as int32 values at the
// accumulator scale acc[c] (one per output channel, or one), scaled by
// beta: an int32 DequantizeLinear whose scale is the accumulator's is
// taken as is (the usual case, ONNX Runtime's quantizer writes it so);
// other scales and float biases are rounded to the accumulator scale
// (half to even), a real-value error below half a unit of the accumulator.
// It also returns f's float value when it is a float constant (for a float
// output's exact FloatBias) and whether the int32 path was exact.
func (p *plan) biasOf(f string, acc []float32, channels int, beta float32) (bias []int32, fbias []float32, why string) {
	if t := p.constant(f); t != nil && t.DType == graph.Float32 {
		if t.Len() != channels && t.Len() != 1 {
			return nil, nil, fmt.Sprintf("bias %s has %d values for %d channels", f, t.Len(), channels)
		}
		real := make([]float64, t.Len())
		for c, v := range t.F32 {
			real[c] = float64(beta) * float64(v)
		}
		bias, why = roundBias(real, acc)
		fb := make([]float32, len(real))
		for c, v := range real {
			fb[c] = float32(v)
		}
		return bias, fb, why
	}
	i, ok := p.prod[f]
	if !ok || p.node(i).OpType != "DequantizeLinear" || !isDefault(p.node(i).Domain) {
		return nil, nil, fmt.Sprintf("bias %s is neither a float constant nor a DequantizeLinear of one", f)
	}
	n := p.node(i)
	b := p.constant(n.Inputs[0])
	if b == nil || b.DType != graph.Int32 {
		return nil, nil, fmt.Sprintf("bias %s is not a DequantizeLinear of constant int32 values", f)
	}
	if b.Len() != channels && b.Len() != 1 {
		return nil, nil, fmt.Sprintf("bias %s has %d values for %d channels", f, b.Len(), channels)
	}
	prm, why := p.dqParams(i, len(b.Shape))
	if why != "" {
		return nil, nil, "bias " + f + ": " + why
	}
	for _, z := range prm.ZeroPoints {
		if z != 0 {
			return nil, nil, "bias with a non-zero zero point"
		}
	}
	bs := prm.Scales
	exact := beta == 1
	for c := 0; c < max(len(acc), len(bs)) && exact; c++ {
		if bs[min(c, len(bs)-1)] != acc[min(c, len(acc)-1)] {
			exact = false
		}
	}
	if exact {
		out := slices.Clone(b.I32)
		return out, nil, ""
	}
	n2 := max(b.Len(), len(bs))
	real := make([]float64, n2)
	for c := range real {
		real[c] = float64(beta) * float64(b.I32[min(c, b.Len()-1)]) * float64(bs[min(c, len(bs)-1)])
	}
	bias, why = roundBias(real, acc)
	return bias, nil, why
}

func roundBias(real []float64, acc []float32) ([]int32, string) {
	n := max(len(real), len(acc))
	out := make([]int32, n)
	for c := range out {
		v := math.RoundToEven(real[min(c, len(real)-1)] / float64(acc[min(c, len(acc)-1)]))
		if math.IsNaN(v) || math.Abs(v) > math.MaxInt32/2 {
			return nil, fmt.Sprintf("bias %g is too large for the int32 accumulator", real[min(c, len(real)-1)])
		}
		out[c] = int32(v)
	}
	return out, ""
}

// accScales returns float32(xs * ws[c]) per weight scale.
func accScales(xs float32, ws []float32) []float32 {
	out := make([]float32, len(ws))
	for c, s := range ws {
		out[c] = xs * s
	}
	return out
}

// --- Conv, MatMul, Gemm ---

func lowerConv(p *plan, i int) (*group, string) {
	n := p.node(i)
	xs := p.g.Values[n.Inputs[0]].Shape
	rank := len(xs) - 2
	if rank != 1 && rank != 2 {
		return nil, fmt.Sprintf("Conv with %d spatial dimensions (the engine's Conv is 1-D or 2-D)", rank)
	}
	x, why := p.twinOf(n.Inputs[0])
	if x == nil {
		return nil, why
	}
	w, why := p.weightOf(n.Inputs[1])
	if w == nil {
		return nil, why
	}
	if w.Params.Granularity == qtensor.PerAxis && w.Params.Axis != 0 {
		return nil, fmt.Sprintf("weights quantized along axis %d, not per output channel", w.Params.Axis)
	}
	k := w.Shape[2:]
	if ks := attrInts(n, "kernel_shape"); ks != nil && !slices.Equal(ks, k) {
		return nil, fmt.Sprintf("kernel_shape %v differs from the weights' %v", ks, k)
	}
	strides, dils, pads := window(n, xs[2:], k, true)
	O := w.Shape[0]
	gr := newGroup(i)
	gr.reads = []string{n.Inputs[0], n.Inputs[1]}
	opts := engine.ConvOptions{Strides: strides, Dilations: dils, Pads: pads, Group: int(attrInt(n, "group", 1))}
	acc := accScales(x.p.scale, w.Params.Scales)
	var fbias []float32
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		var why string
		opts.Bias, fbias, why = p.biasOf(n.Inputs[2], acc, O, 1)
		if why != "" {
			return nil, why
		}
		gr.reads = append(gr.reads, n.Inputs[2])
	}
	key := n.Inputs[1]
	p.weights[key] = w
	sel, out, desc, post, postOps := p.output(gr, n.Outputs[0], fbias, true)
	sel.conv(&opts)
	s := &step{node: i, ins: []string{x.name}, outs: []string{out},
		ops: []string{fmt.Sprintf("Conv(%v,%v->%s)", x.p.dt, w.DType, desc)},
		lay: layWindow,
		record: func(b *engine.Batch, in []*engine.Tensor, _ func(*engine.Tensor)) ([]*engine.Tensor, error) {
			o := opts
			o.XLayout, o.YLayout = p.layout(x.name), p.layout(out)
			y, err := b.Conv(in[0], p.wdev[key], o)
			return []*engine.Tensor{y}, err
		}}
	gr.steps = []*step{withPost(s, post, postOps)}
	gr.outDev = []string{out}
	return gr, ""
}

// outSel is the output p.output chose for a Conv or GEMM.
type outSel struct {
	kind      engine.OutputKind
	yt        qtensor.DType
	ys        float32
	yzp       int32
	relu      bool
	floatBias []float32 // replaces the int32 bias when not nil
}

func (s outSel) gemm(o *engine.GemmOptions) {
	o.Output, o.YType, o.YScale, o.YZP, o.ReLU = s.kind, s.yt, s.ys, s.yzp, s.relu
	if s.floatBias != nil {
		o.Bias, o.FloatBias = nil, s.floatBias
	}
}

func (s outSel) conv(o *engine.ConvOptions) {
	o.Output, o.YType, o.YScale, o.YZP, o.ReLU = s.kind, s.yt, s.ys, s.yzp, s.relu
	if s.floatBias != nil {
		o.Bias, o.FloatBias = nil, s.floatBias
	}
}

// output chooses the output of a Conv or GEMM whose float result is f:
// quantized into f's tail when it has one (a ReLU in the epilogue, a clamp
// by a table lookup after it), else float32 (f itself, with the float bias
// when the bias was a float constant). It returns the choice, the value
// the step writes, a description of the output, and what follows the op.
func (p *plan) output(gr *group, f string, fbias []float32, acts bool) (outSel, string, string, postFn, []string) {
	if t, why := p.tailOf(f, acts); t != nil {
		sel := outSel{kind: engine.OutQuantized, yt: t.p.dt, ys: t.p.scale, yzp: t.p.zp, relu: t.act != nil && t.relu}
		for c, how := range t.covers {
			gr.covers[c] = how
		}
		gr.outQ[t.out] = t.p
		desc := t.p.dt.String()
		if sel.relu {
			desc += ",ReLU"
		}
		post, ops := t.post(true)
		return sel, t.out, desc, post, ops
	} else {
		gr.covers[gr.anchor] = "float32 output: " + why
	}
	return outSel{kind: engine.OutFloat32, floatBias: fbias}, f, "float32", nil, nil
}

// firstFn records the pool of a passGroup on x, its input in layout xl
// and its output in yl.
type firstFn = func(b *engine.Batch, x *engine.Tensor, xl, yl engine.Layout) (*engine.Tensor, error)

// postFn is an op appended to a step's last output.
type postFn = func(*engine.Batch, *engine.Tensor, func(*engine.Tensor)) (*engine.Tensor, error)

// withPost appends post (and its op names) to step s's only output.
func withPost(s *step, post postFn, ops []string) *step {
	if post == nil {
		return s
	}
	rec := s.record
	s.ops = append(s.ops, ops...)
	s.record = func(b *engine.Batch, in []*engine.Tensor, keep func(*engine.Tensor)) ([]*engine.Tensor, error) {
		y, err := rec(b, in, keep)
		if err != nil {
			return nil, err
		}
		r, err := post(b, y[0], keep)
		return []*engine.Tensor{r}, err
	}
	return s
}

func lowerMatMul(p *plan, i int) (*group, string) {
	n := p.node(i)
	a, why := p.twinOf(n.Inputs[0])
	if a == nil {
		return nil, why
	}
	gr := newGroup(i)
	gr.reads = []string{n.Inputs[0], n.Inputs[1]}
	var opts engine.GemmOptions
	bIn, bKey, bDesc := "", "", ""
	if w, _ := p.weightOf(n.Inputs[1]); w != nil {
		if w.Params.Granularity == qtensor.PerAxis && w.Params.Axis != len(w.Shape)-1 {
			return nil, fmt.Sprintf("weights quantized along axis %d, not per output column", w.Params.Axis)
		}
		if len(w.Shape) > 2 && w.Params.Granularity != qtensor.PerTensor {
			return nil, "batched weights quantized per axis"
		}
		bKey, bDesc = n.Inputs[1], w.DType.String()
		p.weights[bKey] = w
	} else {
		b, why := p.twinOf(n.Inputs[1])
		if b == nil {
			return nil, why
		}
		bIn, bDesc = b.name, b.p.dt.String()
	}
	sel, out, desc, post, postOps := p.output(gr, n.Outputs[0], nil, true)
	sel.gemm(&opts)
	s := withPost(gemmStep(p, i, a, bIn, bKey, out, opts, bDesc, desc), post, postOps)
	gr.steps, gr.outDev = []*step{s}, []string{out}
	return gr, ""
}

// gemmStep records Gemm(A, B) with B the device value bIn or the weights
// bKey.
func gemmStep(p *plan, i int, a *twin, bIn, bKey, out string, opts engine.GemmOptions, bDesc, desc string) *step {
	ins := []string{a.name}
	if bIn != "" {
		ins = append(ins, bIn)
	}
	return &step{node: i, ins: ins, outs: []string{out},
		ops: []string{fmt.Sprintf("Gemm(%v,%s->%s)", a.p.dt, bDesc, desc)},
		record: func(b *engine.Batch, in []*engine.Tensor, _ func(*engine.Tensor)) ([]*engine.Tensor, error) {
			w := p.wdev[bKey]
			if bIn != "" {
				w = in[1]
			}
			y, err := b.Gemm(in[0], w, opts)
			return []*engine.Tensor{y}, err
		}}
}

func lowerGemm(p *plan, i int) (*group, string) {
	n := p.node(i)
	if attrInt(n, "transA", 0) != 0 {
		return nil, "Gemm with transA=1 (the engine's Gemm reads A as [M][K]; transposing activations has no engine op)"
	}
	a, why := p.twinOf(n.Inputs[0])
	if a == nil {
		return nil, why
	}
	alpha, beta := attrFloat(n, "alpha", 1), attrFloat(n, "beta", 1)
	transB := attrInt(n, "transB", 0) != 0
	gr := newGroup(i)
	gr.reads = []string{n.Inputs[0], n.Inputs[1]}
	var opts engine.GemmOptions
	if alpha != 1 {
		opts.AScale = alpha * a.p.scale
		if qtensor.CheckScale(opts.AScale) != nil {
			return nil, fmt.Sprintf("alpha %g", alpha)
		}
	}
	ascale := a.p.scale
	if alpha != 1 {
		ascale = opts.AScale
	}
	bIn, bKey, bDesc := "", "", ""
	var bScales []float32
	N := p.g.Values[n.Outputs[0]].Shape[1]
	if w, _ := p.weightOf(n.Inputs[1]); w != nil {
		axis := 1
		if transB {
			axis = 0
		}
		if w.Params.Granularity == qtensor.PerAxis && w.Params.Axis != axis {
			return nil, fmt.Sprintf("weights quantized along axis %d, not per output column", w.Params.Axis)
		}
		if transB {
			w = transpose2D(w)
		}
		bKey, bDesc = n.Inputs[1], w.DType.String()
		if transB {
			bKey += "#T"
		}
		p.weights[bKey] = w
		bScales = w.Params.Scales
	} else {
		if transB {
			return nil, "Gemm with transB=1 on an activation (transposing activations has no engine op)"
		}
		b, why := p.twinOf(n.Inputs[1])
		if b == nil {
			return nil, why
		}
		bIn, bDesc = b.name, b.p.dt.String()
		bScales = []float32{b.p.scale}
	}
	var fbias []float32
	if len(n.Inputs) > 2 && n.Inputs[2] != "" && beta != 0 {
		if c := p.g.Values[n.Inputs[2]].Shape; numel(c) != N && numel(c) != 1 || len(c) == 2 && c[0] != 1 {
			return nil, fmt.Sprintf("bias C of shape %v (the engine adds one value per output column)", c)
		}
		var why string
		opts.Bias, fbias, why = p.biasOf(n.Inputs[2], accScales(ascale, bScales), N, beta)
		if why != "" {
			return nil, why
		}
		gr.reads = append(gr.reads, n.Inputs[2])
	}
	sel, out, desc, post, postOps := p.output(gr, n.Outputs[0], fbias, true)
	sel.gemm(&opts)
	s := withPost(gemmStep(p, i, a, bIn, bKey, out, opts, bDesc, desc), post, postOps)
	gr.steps, gr.outDev = []*step{s}, []string{out}
	return gr, ""
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// transpose2D returns the [K][N] transpose of a [N][K] quantized matrix;
// per-axis params along axis 0 move to axis 1.
func transpose2D(w *qtensor.Tensor) *qtensor.Tensor {
	N, K := w.Shape[0], w.Shape[1]
	t := &qtensor.Tensor{DType: w.DType, Shape: []int{K, N}, Params: w.Params.Clone(), Data: make([]byte, len(w.Data))}
	for r := 0; r < N; r++ {
		for c := 0; c < K; c++ {
			t.Data[c*N+r] = w.Data[r*K+c]
		}
	}
	if t.Params.Granularity == qtensor.PerAxis {
		t.Params.Axis = 1
	}
	return t
}

// --- elementwise ---

func lowerBinary(p *plan, i int) (*group, string) {
	n := p.node(i)
	a, why := p.twinOf(n.Inputs[0])
	if a == nil {
		return nil, why
	}
	b, why := p.twinOf(n.Inputs[1])
	if b == nil {
		return nil, why
	}
	t, why := p.tailOf(n.Outputs[0], true)
	if t == nil {
		return nil, why
	}
	return p.binaryGroup(i, n.OpType, a, b, p.g.Values[n.Inputs[0]].Shape, p.g.Values[n.Inputs[1]].Shape, t, []string{n.Inputs[0], n.Inputs[1]})
}

// binaryGroup lowers Add or Mul (op) of quantized a and b, of float shapes
// sa and sb, into the tail t. reads are the float values read through
// their twins.
func (p *plan) binaryGroup(i int, op string, a, b *twin, sa, sb []int, t *tail, reads []string) (*group, string) {
	ys := p.g.Values[t.out].Shape
	ins := []string{a.name, b.name}
	bKey := ""
	if !slices.Equal(sa, sb) || a.p.dt != b.p.dt {
		// A constant operand is expanded to the other's shape (numpy
		// broadcasting) and converted to its type once at load; the
		// engine's ops take equal shapes and types. Both ops commute.
		sx := sa
		if p.weights[a.name] != nil && p.weights[b.name] == nil {
			a, b, sx = b, a, sb
		}
		if p.weights[b.name] != nil && slices.Equal(sx, ys) {
			bKey = p.expand(b.name, ys, a.p.dt)
		}
		if bKey == "" {
			return nil, fmt.Sprintf("operands %v%v and %v%v (the engine's %s takes equal shapes and types; only a constant operand is broadcast and converted, at load)", a.p.dt, sa, b.p.dt, sb, op)
		}
		ins = []string{a.name}
		b = &twin{name: bKey, p: qparams{dt: a.p.dt, scale: b.p.scale, zp: b.p.zp + shift(b.p.dt, a.p.dt)}, view: -1}
	}
	if t.p.dt != a.p.dt {
		return nil, fmt.Sprintf("output type %v differs from the operands' %v", t.p.dt, a.p.dt)
	}
	gr := newGroup(i)
	gr.reads = reads
	for c, how := range t.covers {
		gr.covers[c] = how
	}
	gr.outQ[t.out] = t.p
	ops := []string{fmt.Sprintf("%s(%v->%v)", op, a.p.dt, t.p.dt)}
	s := &step{node: i, ins: ins, outs: []string{t.out}, ops: ops,
		lay: layElem, // two activations (an expanded constant keeps the graph's layout)
		record: func(bt *engine.Batch, in []*engine.Tensor, keep func(*engine.Tensor)) ([]*engine.Tensor, error) {
			var y *engine.Tensor
			var err error
			second := p.wdev[bKey]
			if bKey == "" {
				second = in[1]
			}
			if op == "Add" {
				y, err = bt.Add(in[0], second, t.p.scale, t.p.zp)
			} else {
				y, err = bt.Mul(in[0], second, t.p.scale, t.p.zp)
			}
			return []*engine.Tensor{y}, err
		}}
	if bKey != "" {
		s.lay = layNCHW
	}
	post, postOps := t.post(false)
	gr.steps, gr.outDev = []*step{withPost(s, post, postOps)}, []string{t.out}
	return gr, ""
}

// maxExpand bounds the element count of a constant operand expanded at
// load.
const maxExpand = 1 << 24

// shift is what converting quantized values from type from to type to
// adds to them and to their zero point: 128 from int8 to uint8, -128 back
// (the real values stay the same).
func shift(from, to qtensor.DType) int32 {
	switch {
	case from == qtensor.Int8 && to == qtensor.Uint8:
		return 128
	case from == qtensor.Uint8 && to == qtensor.Int8:
		return -128
	}
	return 0
}

// expand registers the constant quantized tensor name broadcast to shape
// (numpy rules) and converted to type dt as a weight, and returns its key
// ("" if it does not broadcast or would be too large).
func (p *plan) expand(name string, shape []int, dt qtensor.DType) string {
	src := p.weights[name]
	key := fmt.Sprintf("%s#expand%v%v", name, shape, dt)
	if p.weights[key] != nil {
		return key
	}
	n := numel(shape)
	if len(src.Shape) > len(shape) || n > maxExpand {
		return ""
	}
	off := len(shape) - len(src.Shape)
	for k, d := range src.Shape {
		if d != 1 && d != shape[off+k] {
			return ""
		}
	}
	sh := shift(src.DType, dt)
	prm := src.Params.Clone()
	for k := range prm.ZeroPoints {
		prm.ZeroPoints[k] += sh
	}
	dst := &qtensor.Tensor{DType: dt, Shape: slices.Clone(shape), Params: prm, Data: make([]byte, n)}
	idx := make([]int, len(shape))
	for i := range n {
		// i's multi-index, then the source index with broadcast axes at 0.
		r := i
		for k := len(shape) - 1; k >= 0; k-- {
			idx[k] = r % shape[k]
			r /= shape[k]
		}
		j := 0
		for k, d := range src.Shape {
			if d != 1 {
				j = j*d + idx[off+k]
			} else {
				j *= d
			}
		}
		dst.Data[i] = src.Data[j] + byte(sh) // two's complement: int8 q + 128 is uint8 q+128
	}
	p.weights[key] = dst
	return key
}

// lowerClamp lowers DequantizeLinear -> Relu|Clip -> QuantizeLinear.
// With equal params: nothing when the Q's range implies the clamp, the
// engine's ReLU when it is one (max(q, zp)), else a table lookup; with
// other params, a table lookup Q_out(clip(DQ_in(q))), which is the QDQ
// graph's own arithmetic element by element.
func lowerClamp(p *plan, i int) (*group, string) {
	n := p.node(i)
	x, why := p.twinOf(n.Inputs[0])
	if x == nil {
		return nil, why
	}
	t, why := p.tailOf(n.Outputs[0], false)
	if t == nil {
		return nil, why
	}
	f, lo, hi, why := p.clampOf(i, t.p)
	if why != "" {
		return nil, why
	}
	if !(lo <= t.p.dt.QMin() && hi >= t.p.dt.QMax()) {
		t.act, t.relu = f, lo == t.p.zp && hi >= t.p.dt.QMax()
	}
	return passGroup(p, i, x, t, nil, "")
}

// lowerUnary lowers DequantizeLinear -> f -> QuantizeLinear for an
// elementwise float op f (Sigmoid, Tanh, HardSigmoid, HardSwish, Gelu,
// LeakyRelu, Exp, ...): one table lookup, table[q] = Q_out(f(DQ_in(q)))
// computed once at load with package graph's f - the QDQ graph's own
// arithmetic, element by element.
func lowerUnary(p *plan, i int) (*group, string) {
	n := p.node(i)
	f, ok := p.g.UnaryFunc(i)
	if !ok {
		return nil, "no quantized lowering for " + p.op(i)
	}
	x, why := p.twinOf(n.Inputs[0])
	if x == nil {
		return nil, why
	}
	t, why := p.tailOf(n.Outputs[0], false)
	if t == nil {
		return nil, why
	}
	t.act, t.relu = f, false
	return passGroup(p, i, x, t, nil, "")
}

// passGroup makes the group of a node whose result is its quantized
// input x (after first, an optional pool that keeps x's params, given the
// input's and the output's layouts) taken to the tail's params through
// the tail's activation: nothing (a view), the engine's ReLU, or one
// table lookup Q_out(act(DQ_in(q))).
func passGroup(p *plan, i int, x *twin, t *tail, first firstFn, firstOp string) (*group, string) {
	n := p.node(i)
	gr := newGroup(i)
	gr.reads = []string{n.Inputs[0]}
	for c, how := range t.covers {
		gr.covers[c] = how
	}
	gr.outQ[t.out] = t.p
	var ops []string
	if firstOp != "" {
		ops = append(ops, firstOp)
	}
	var table *[256]byte
	relu := false
	switch {
	case x.p == t.p && t.act == nil:
	case x.p == t.p && t.relu:
		relu = true
		ops = append(ops, fmt.Sprintf("ReLU(%v)", t.p.dt))
	default:
		f := t.act
		if f == nil {
			f = func(v float32) float32 { return v }
		}
		tb, err := qtensor.ActivationTable(x.p.dt, x.p.scale, x.p.zp, t.p.dt, t.p.scale, t.p.zp, f)
		if err != nil {
			return nil, err.Error()
		}
		table = &tb
		ops = append(ops, fmt.Sprintf("Lookup(%v->%v)", x.p.dt, t.p.dt))
	}
	shape := p.g.Values[t.out].Shape
	alias := len(ops) == 0
	if alias {
		ops = []string{"Reshape(view)"}
	}
	lay := layElem
	if first != nil {
		lay = layWindow
	}
	s := &step{node: i, ins: []string{x.name}, outs: []string{t.out}, ops: ops, lay: lay,
		record: func(b *engine.Batch, in []*engine.Tensor, keep func(*engine.Tensor)) ([]*engine.Tensor, error) {
			if alias {
				y, err := p.eng.Reshape(in[0], p.devShape(t.out, shape))
				return []*engine.Tensor{y}, err
			}
			y := in[0]
			var err error
			if first != nil {
				if y, err = first(b, y, p.layout(x.name), p.layout(t.out)); err != nil {
					return nil, err
				}
			}
			switch {
			case relu:
				if first != nil {
					keep(y)
				}
				y, err = b.ReLU(y)
			case table != nil:
				if first != nil {
					keep(y)
				}
				y, err = b.Lookup(y, table, t.p.dt, t.p.scale, t.p.zp)
			}
			return []*engine.Tensor{y}, err
		}}
	gr.steps, gr.outDev = []*step{s}, []string{t.out}
	return gr, ""
}

// lowerConcat lowers Concat of DequantizeLinear outputs into a
// QuantizeLinear: the engine's Concat, which copies the inputs quantized
// with the output's params and takes the others through Q_out(DQ_in(q)) -
// the QDQ graph's arithmetic.
func lowerConcat(p *plan, i int) (*group, string) {
	n := p.node(i)
	var xs []*twin
	for _, in := range n.Inputs {
		x, why := p.twinOf(in)
		if x == nil {
			return nil, why
		}
		xs = append(xs, x)
	}
	t, why := p.tailOf(n.Outputs[0], false)
	if t == nil {
		return nil, why
	}
	return p.concatGroup(i, xs, int(attrInt(n, "axis", 0)), t, slices.Clone(n.Inputs))
}

// concatGroup records the engine's Concat of xs along axis into t.
func (p *plan) concatGroup(i int, xs []*twin, axis int, t *tail, reads []string) (*group, string) {
	ins := make([]string, len(xs))
	for k, x := range xs {
		if x.p.dt != t.p.dt {
			return nil, fmt.Sprintf("input %d is %v, the output %v (the engine's Concat keeps the type)", k, x.p.dt, t.p.dt)
		}
		ins[k] = x.name
	}
	if len(xs) > engine.MaxConcatInputs {
		return nil, fmt.Sprintf("%d inputs", len(xs))
	}
	gr := newGroup(i)
	gr.reads = reads
	for c, how := range t.covers {
		gr.covers[c] = how
	}
	gr.outQ[t.out] = t.p
	s := &step{node: i, ins: ins, outs: []string{t.out}, ops: []string{fmt.Sprintf("Concat(%dx%v)", len(xs), t.p.dt)},
		record: func(b *engine.Batch, in []*engine.Tensor, _ func(*engine.Tensor)) ([]*engine.Tensor, error) {
			y, err := b.Concat(in, axis, t.p.scale, t.p.zp)
			return []*engine.Tensor{y}, err
		}}
	gr.steps, gr.outDev = []*step{s}, []string{t.out}
	return gr, ""
}

// lowerRequantize lowers DequantizeLinear -> QuantizeLinear: a view
// (equal params) or a table lookup Q_out(DQ_in(q)).
func lowerRequantize(p *plan, i int) (*group, string) {
	n := p.node(i)
	x, why := p.twinOf(n.Inputs[0])
	if x == nil {
		return nil, why
	}
	q, why := p.qOut(i)
	if why != "" {
		return nil, why
	}
	t := &tail{out: n.Outputs[0], p: q, covers: map[int]string{}}
	return passGroup(p, i, x, t, nil, "")
}

// --- pooling ---

func lowerMaxPool(p *plan, i int) (*group, string) {
	n := p.node(i)
	if len(n.Outputs) > 1 && n.Outputs[1] != "" {
		return nil, "MaxPool with an Indices output"
	}
	x, o, why := p.poolGeom(i, true)
	if x == nil {
		return nil, why
	}
	t, why := p.tailOf(n.Outputs[0], true)
	if t == nil {
		return nil, why
	}
	return passGroup(p, i, x, t, func(b *engine.Batch, y *engine.Tensor, xl, yl engine.Layout) (*engine.Tensor, error) {
		o := o
		o.XLayout, o.YLayout = xl, yl
		return b.MaxPool(y, o)
	}, fmt.Sprintf("MaxPool(%v)", x.p.dt))
}

// poolGeom reads a 2-D pool's input twin and window. MaxPool's ceil_mode
// becomes extra end padding (padding cells never win a max); an
// AveragePool whose ceil_mode changes the output size is refused.
func (p *plan) poolGeom(i int, isMax bool) (*twin, engine.PoolOptions, string) {
	n := p.node(i)
	if xs := p.g.Values[n.Inputs[0]].Shape; len(xs) != 4 {
		return nil, engine.PoolOptions{}, fmt.Sprintf("%s on a %d-D input (the engine pools NCHW)", n.OpType, len(xs))
	}
	x, why := p.twinOf(n.Inputs[0])
	if x == nil {
		return nil, engine.PoolOptions{}, why
	}
	o, why := p.poolOpts(i, isMax)
	if why != "" {
		return nil, o, why
	}
	return x, o, ""
}

// poolOpts reads the window of a 2-D pool node (the Global ones: the
// whole image).
func (p *plan) poolOpts(i int, isMax bool) (engine.PoolOptions, string) {
	n := p.node(i)
	xs := p.g.Values[n.Inputs[0]].Shape
	ys := p.g.Values[n.Outputs[0]].Shape
	if len(xs) != 4 {
		return engine.PoolOptions{}, fmt.Sprintf("%s on a %d-D input (the engine pools NCHW)", n.OpType, len(xs))
	}
	if strings.HasPrefix(n.OpType, "QLinearGlobal") || n.OpType == "GlobalAveragePool" {
		return engine.PoolOptions{Kernel: []int{xs[2], xs[3]}}, ""
	}
	k := attrInts(n, "kernel_shape")
	if len(k) != 2 {
		return engine.PoolOptions{}, "kernel_shape is not 2-D"
	}
	strides, dils, pads := window(n, xs[2:], k, isMax || p.g.Opset >= 19 && isDefault(n.Domain))
	o := engine.PoolOptions{Kernel: k, Strides: strides, Dilations: dils, Pads: pads, CountIncludePad: !isMax && attrInt(n, "count_include_pad", 0) != 0}
	for j := range 2 {
		eff := (k[j]-1)*dils[j] + 1
		floor := (xs[2+j]+pads[j]+pads[j+2]-eff)/strides[j] + 1
		if ys[2+j] == floor {
			continue
		}
		if !isMax {
			return o, n.OpType + " with ceil_mode adding a window (its divisor differs at the edge)"
		}
		pads[j+2] = max(pads[j+2], (ys[2+j]-1)*strides[j]+eff-xs[2+j]-pads[j])
	}
	return o, ""
}

// lowerAvgPool lowers AveragePool and GlobalAveragePool. When every
// window has the same divisor (no padding, or count_include_pad) the
// average is a depthwise convolution with a kernel of ones of scale
// 1/(kh*kw): one rounding into the output's params, as ONNX Runtime's
// QLinearAveragePool and QLinearGlobalAveragePool round once. Otherwise
// it is the engine's AvgPool (exact integer average in the input's params)
// followed by a Requantize when the output's params differ: two roundings.
func lowerAvgPool(p *plan, i int) (*group, string) {
	n := p.node(i)
	x, o, why := p.poolGeom(i, false)
	if x == nil {
		return nil, why
	}
	t, why := p.tailOf(n.Outputs[0], true)
	if t == nil {
		return nil, why
	}
	padded := slices.ContainsFunc(o.Pads, func(v int) bool { return v != 0 })
	if padded && !o.CountIncludePad {
		return passGroup(p, i, x, t, func(b *engine.Batch, y *engine.Tensor, xl, yl engine.Layout) (*engine.Tensor, error) {
			o := o
			o.XLayout, o.YLayout = xl, yl
			return b.AvgPool(y, o)
		}, fmt.Sprintf("AvgPool(%v)", x.p.dt))
	}
	return p.onesConv(i, x, o, t, []string{n.Inputs[0]})
}

// onesConv lowers an average over windows o of constant size k (no
// padding, or padding counted) to a depthwise Conv of x with a kernel of
// ones and weight scale 1/k, quantized into the tail t: one rounding of
// float32(sum) * float32(x_scale * float32(1/k)) / y_scale.
func (p *plan) onesConv(i int, x *twin, o engine.PoolOptions, t *tail, reads []string) (*group, string) {
	C := p.g.Values[p.node(i).Inputs[0]].Shape[1]
	kh, kw := o.Kernel[0], o.Kernel[1]
	key := fmt.Sprintf("#ones[%d,1,%d,%d]", C, kh, kw)
	if p.weights[key] == nil {
		w, err := qtensor.New(qtensor.Int8, []int{C, 1, kh, kw}, qtensor.TensorParams(1/float32(kh*kw), 0))
		if err != nil {
			return nil, err.Error()
		}
		for j := range w.Data {
			w.Data[j] = 1
		}
		p.weights[key] = w
	}
	relu := t.act != nil && t.relu
	opts := engine.ConvOptions{Strides: o.Strides, Dilations: o.Dilations, Pads: o.Pads, Group: C,
		Output: engine.OutQuantized, YType: t.p.dt, YScale: t.p.scale, YZP: t.p.zp, ReLU: relu}
	gr := newGroup(i)
	gr.reads = reads
	for c, how := range t.covers {
		gr.covers[c] = how
	}
	gr.covers[i] = "a depthwise convolution with a kernel of ones (one rounding)"
	gr.outQ[t.out] = t.p
	desc := t.p.dt.String()
	if relu {
		desc += ",ReLU"
	}
	s := &step{node: i, ins: []string{x.name}, outs: []string{t.out},
		ops: []string{fmt.Sprintf("Conv(%v,ones/%d->%s)", x.p.dt, kh*kw, desc)},
		lay: layWindow,
		record: func(b *engine.Batch, in []*engine.Tensor, _ func(*engine.Tensor)) ([]*engine.Tensor, error) {
			o := opts
			o.XLayout, o.YLayout = p.layout(x.name), p.layout(t.out)
			y, err := b.Conv(in[0], p.wdev[key], o)
			return []*engine.Tensor{y}, err
		}}
	post, postOps := t.post(true)
	gr.steps, gr.outDev = []*step{withPost(s, post, postOps)}, []string{t.out}
	return gr, ""
}

// --- boundary steps ---

// quantizeStep is a QuantizeLinear on the engine (its input a graph input
// or a float engine result).
func (p *plan) quantizeStep(i int) (*step, string) {
	n := p.node(i)
	out := p.g.Values[n.Outputs[0]]
	prm, why := p.dqParams(i, len(out.Shape))
	if why != "" {
		return nil, why
	}
	dt := qtensor.Uint8
	if out.DType == graph.Int8 {
		dt = qtensor.Int8
	}
	if err := prm.Validate(dt, out.Shape); err != nil {
		return nil, err.Error()
	}
	if prm.Granularity == qtensor.PerTensor {
		p.qv[n.Outputs[0]] = qparams{dt: dt, scale: prm.Scales[0], zp: prm.ZeroPoints[0]}
	}
	return &step{node: i, ins: []string{n.Inputs[0]}, outs: []string{n.Outputs[0]},
		ops: []string{fmt.Sprintf("Quantize(float32->%v)", dt)},
		record: func(b *engine.Batch, in []*engine.Tensor, _ func(*engine.Tensor)) ([]*engine.Tensor, error) {
			y, err := b.Quantize(in[0], dt, prm, qtensor.RoundONNX)
			return []*engine.Tensor{y}, err
		}}, ""
}

// dequantizeStep is a DequantizeLinear on the engine (for a graph output).
func dequantizeStep(i int, in, out string) *step {
	return &step{node: i, ins: []string{in}, outs: []string{out}, ops: []string{"Dequantize(->float32)"},
		record: func(b *engine.Batch, in []*engine.Tensor, _ func(*engine.Tensor)) ([]*engine.Tensor, error) {
			y, err := b.Dequantize(in[0])
			return []*engine.Tensor{y}, err
		}}
}

// viewStep makes the quantized view out of in with the given shape (no
// copy: Engine.Reshape).
func (p *plan) viewStep(i int, in, out string, shape []int) *step {
	return &step{node: i, ins: []string{in}, outs: []string{out}, ops: []string{"Reshape(view)"},
		record: func(b *engine.Batch, in []*engine.Tensor, _ func(*engine.Tensor)) ([]*engine.Tensor, error) {
			y, err := p.eng.Reshape(in[0], shape)
			return []*engine.Tensor{y}, err
		}}
}
