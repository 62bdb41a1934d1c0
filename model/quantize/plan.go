package quantize

import (
	"fmt"
	"slices"
	"sort"

	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// Kind says what a quantized tensor is to the model.
type Kind uint8

// Kinds of quantized tensors.
const (
	// Activation: a value computed at run time (or a graph input), given a
	// QuantizeLinear -> DequantizeLinear pair with calibrated parameters.
	Activation Kind = iota
	// Weight: a float initializer read as the weight of a Conv, Gemm,
	// MatMul or normalisation, stored quantized with one DequantizeLinear.
	Weight
	// Bias: the float bias of a Conv or Gemm (or a normalisation), stored
	// as int32 with the scale input scale x weight scale and one
	// DequantizeLinear.
	Bias
	// Constant: a float constant that a quantized op reads as an
	// activation (the second operand of an Add, say), quantized like an
	// activation from its own minimum and maximum.
	Constant
)

var kindNames = [...]string{"activation", "weight", "bias", "constant"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// MarshalText implements encoding.TextMarshaler (the JSON form).
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if string(b) == n {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("%w: quantize: unknown tensor kind %q", ErrParams, b)
}

// mark is what the planner decided for one tensor.
type mark struct {
	kind Kind
	// axis of a per-channel weight (-1: per tensor).
	axis int
	// provider: the tensor whose quantization parameters this activation
	// shares (the input of a MaxPool, Reshape, ...), "" when it has its
	// own.
	provider string
}

// biasUse is one bias of a quantized node.
type biasUse struct {
	bias, input, weight string
	beta                float32
	node                string
}

// plan is the result of marking: which tensors get quantized and how.
// It is computed once from the model (no data needed) on a working copy
// whose Relu/Clip nodes that fold into their producer's Q are removed
// (the producer writes the Relu's output) and whose Gemm beta is set to 1
// where the bias absorbs it.
type plan struct {
	model   *onnxpb.ModelProto // working copy (nodes rewritten as said above)
	opset   int64
	types   map[string]graph.DType   // element type of every known value
	consts  map[string]*graph.Tensor // constant values after folding (the built graph's initializers)
	inits   map[string]*onnxpb.TensorProto
	inputs  map[string]bool // graph inputs (not initializers)
	outputs map[string]bool

	marks   map[string]*mark
	order   []string // marking order of marks' keys
	biases  []biasUse
	removed []string // names of the nodes removed (Relu/Clip folded into a Q)
	drop    map[*onnxpb.NodeProto]bool
	floats  []string // nodes left in float (op type not quantized, excluded)
	// observe lists the activations to calibrate (sorted); rangeOf maps
	// an activation to the observed tensor whose range it takes (itself,
	// or a Relu/Clip output).
	observe []string
	rangeOf map[string]string
	// fixed ranges (Softmax outputs: [0, 1]).
	fixed map[string][2]float32
}

// nodeName is a node's name for Options.Exclude and reports: its name,
// or "<op type>#<index>" for a node without one.
func nodeName(n *onnxpb.NodeProto, i int) string {
	if n.GetName() != "" {
		return n.GetName()
	}
	return fmt.Sprintf("%s#%d", n.GetOpType(), i)
}

func isFloat(d graph.DType) bool { return d == graph.Float32 }

// newPlan marks the tensors of m (a clone owned by the plan) with ONNX
// Runtime's QDQ quantizer rules (see the package documentation). built is
// m built by package graph, for value types and folded constants.
func newPlan(m *onnxpb.ModelProto, built *graph.Graph, o Options) (*plan, error) {
	g := m.GetGraph()
	p := &plan{model: m, types: map[string]graph.DType{}, consts: built.Initializers,
		inits: map[string]*onnxpb.TensorProto{}, inputs: map[string]bool{}, outputs: map[string]bool{},
		marks: map[string]*mark{}, drop: map[*onnxpb.NodeProto]bool{}, rangeOf: map[string]string{}, fixed: map[string][2]float32{}}
	p.opset, _ = onnx.OpsetVersion(m, "")
	for name, vi := range built.Values {
		p.types[name] = vi.DType
	}
	for _, t := range g.GetInitializer() {
		p.inits[t.GetName()] = t
		if d, err := graph.DTypeFromONNX(t.GetDataType()); err == nil {
			p.types[t.GetName()] = d
		}
	}
	for _, in := range g.GetInput() {
		if _, ok := p.inits[in.GetName()]; !ok {
			p.inputs[in.GetName()] = true
		}
	}
	for _, out := range g.GetOutput() {
		p.outputs[out.GetName()] = true
	}
	names := map[string]bool{}
	for i, n := range g.GetNode() {
		names[nodeName(n, i)] = true
	}
	for _, e := range o.Exclude {
		if !names[e] {
			return nil, fmt.Errorf("%w: quantize: no node named %q to exclude", ErrParams, e)
		}
	}
	exclude := map[string]bool{}
	for _, e := range o.Exclude {
		exclude[e] = true
	}
	opTypes := map[string]bool{}
	for _, t := range o.OpTypes {
		opTypes[t] = true
	}
	should := func(n *onnxpb.NodeProto, i int) bool {
		if d := n.GetDomain(); d != "" && d != "ai.onnx" {
			return false
		}
		return opTypes[n.GetOpType()] && !exclude[nodeName(n, i)]
	}

	nodes := g.GetNode()
	for i, n := range nodes {
		if !should(n, i) {
			if n.GetOpType() != "Constant" { // computes nothing
				p.floats = append(p.floats, nodeName(n, i))
			}
			continue
		}
		if p.markNode(n, o) {
			p.removed = append(p.removed, nodeName(n, i))
			p.drop[n] = true
		}
	}
	if len(p.drop) > 0 {
		var kept []*onnxpb.NodeProto
		for _, n := range nodes {
			if !p.drop[n] {
				kept = append(kept, n)
			}
		}
		g.Node = kept
	}
	p.adjustRanges(o)
	for name, mk := range p.marks {
		if mk.kind != Activation || mk.provider != "" || p.isConst(name) {
			continue
		}
		if _, ok := p.fixed[name]; ok {
			continue
		}
		src := name
		if r, ok := p.rangeOf[name]; ok {
			src = r
		}
		p.rangeOf[name] = src
		if !slices.Contains(p.observe, src) {
			p.observe = append(p.observe, src)
		}
	}
	sort.Strings(p.observe)
	return p, nil
}

// isConst reports whether a value is constant (an initializer of the
// source or folded by graph.Build).
func (p *plan) isConst(name string) bool {
	if _, ok := p.inits[name]; ok {
		return true
	}
	_, ok := p.consts[name]
	return ok
}

// quantizable reports whether name is a float value the planner can mark.
func (p *plan) quantizable(name string) bool {
	if name == "" {
		return false
	}
	d, ok := p.types[name]
	return ok && isFloat(d)
}

func (p *plan) marked(name string) bool {
	if _, ok := p.marks[name]; ok {
		return true
	}
	return slices.ContainsFunc(p.biases, func(b biasUse) bool { return b.bias == name })
}

func (p *plan) setMark(name string, mk *mark) {
	if _, ok := p.marks[name]; !ok {
		p.order = append(p.order, name)
	}
	p.marks[name] = mk
}

// markAct marks an activation (or, for an initializer, a constant).
func (p *plan) markAct(name string) {
	if !p.quantizable(name) {
		return
	}
	if _, ok := p.marks[name]; ok {
		return
	}
	k := Activation
	if _, ok := p.inits[name]; ok {
		k = Constant
	}
	p.setMark(name, &mark{kind: k, axis: -1})
}

// markShared marks output as sharing input's parameters.
func (p *plan) markShared(output, input string) {
	if !p.quantizable(output) {
		return
	}
	p.setMark(output, &mark{kind: Activation, axis: -1, provider: input})
}

// markWeight marks an initializer as a weight, per channel along axis
// when o.PerChannel (a negative axis counts from the end). A weight that
// is not an initializer is an activation (a MatMul of two activations).
func (p *plan) markWeight(name string, axis int, o Options) {
	t, ok := p.inits[name]
	if !ok {
		p.markAct(name)
		return
	}
	if !p.quantizable(name) {
		return
	}
	ax := -1
	if o.PerChannel {
		rank := len(t.GetDims())
		if axis < 0 {
			axis += rank
		}
		if axis >= 0 && axis < rank {
			ax = axis
		}
	}
	p.setMark(name, &mark{kind: Weight, axis: ax})
}

func (p *plan) markBias(n *onnxpb.NodeProto, idx int, beta float32) {
	bias := n.Input[idx]
	t, ok := p.inits[bias]
	if !ok || !p.quantizable(bias) {
		return
	}
	name := bias
	if slices.ContainsFunc(p.biases, func(b biasUse) bool { return b.bias == bias }) {
		// Read by two nodes: each gets its own copy (as ORT does).
		for s := 0; ; s++ {
			name = fmt.Sprintf("%s%d", bias, s)
			if _, used := p.inits[name]; !used && p.types[name] == graph.Invalid {
				break
			}
		}
		dup := proto.Clone(t).(*onnxpb.TensorProto)
		dup.Name = &name
		p.model.Graph.Initializer = append(p.model.Graph.Initializer, dup)
		p.inits[name] = dup
		p.types[name] = graph.Float32
		n.Input[idx] = name
	}
	p.biases = append(p.biases, biasUse{bias: name, input: n.Input[0], weight: n.Input[1], beta: beta, node: n.GetName()})
}

func attrInt(n *onnxpb.NodeProto, name string, def int64) int64 {
	v, err := onnx.AttrInt(n, name, def)
	if err != nil {
		return def
	}
	return v
}

func attrFloat(n *onnxpb.NodeProto, name string, def float32) float32 {
	v, err := onnx.AttrFloat(n, name, def)
	if err != nil {
		return def
	}
	return v
}

func input(n *onnxpb.NodeProto, i int) string {
	if i < len(n.Input) {
		return n.Input[i]
	}
	return ""
}

// markNode applies the op quantizer of n's op type (ONNX Runtime's
// operators/*.py, QDQ forms). It reports whether n is to be removed (a
// Relu or Clip whose producer now writes its output).
func (p *plan) markNode(n *onnxpb.NodeProto, o Options) (remove bool) {
	switch n.GetOpType() {
	case "Conv", "ConvTranspose":
		p.markAct(input(n, 0))
		p.markAct(n.Output[0])
		axis := 0
		if n.GetOpType() == "ConvTranspose" {
			axis = 1
		}
		p.markWeight(input(n, 1), axis, o)
		if input(n, 2) != "" {
			p.markBias(n, 2, 1)
		}
	case "Gemm":
		p.markAct(input(n, 0))
		p.markAct(n.Output[0])
		axis := 1
		if attrInt(n, "transB", 0) != 0 {
			axis = 0
		}
		p.markWeight(input(n, 1), axis, o)
		if c := input(n, 2); c != "" {
			if _, ok := p.inits[c]; ok && p.quantizable(c) {
				p.markBias(n, 2, attrFloat(n, "beta", 1))
			}
		}
	case "MatMul":
		for _, name := range append(slices.Clone(n.Input), n.Output...) {
			if _, ok := p.inits[name]; ok {
				p.markWeight(name, -1, o)
			} else {
				p.markAct(name)
			}
		}
	case "Relu", "Clip":
		in, out := input(n, 0), n.Output[0]
		if !p.marked(in) {
			return false
		}
		if o.SymmetricActivations || !p.replaceUpstream(in, out) {
			p.markAct(in)
		} else {
			remove = true
		}
		p.markAct(out)
	case "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Resize", "MaxPool", "AveragePool", "Slice":
		if p.marked(input(n, 0)) {
			p.markShared(n.Output[0], input(n, 0))
		}
	case "Split":
		if !p.marked(input(n, 0)) {
			p.markAct(input(n, 0))
		}
		for _, out := range n.Output {
			p.markShared(out, input(n, 0))
		}
	case "Pad":
		for _, in := range n.Input {
			p.markAct(in)
		}
		mode, _ := onnx.AttrString(n, "mode", "constant")
		same := mode == "reflect" || mode == "edge" || mode == "wrap"
		if mode == "constant" {
			if v := input(n, 2); v != "" {
				c := p.consts[v]
				same = c != nil && c.DType == graph.Float32 && len(c.F32) > 0 && c.F32[0] == 0
			} else {
				same = true
			}
		}
		if same {
			p.markShared(n.Output[0], input(n, 0))
		} else {
			p.markAct(n.Output[0])
		}
	case "Gather", "GatherElements":
		in := input(n, 0)
		if _, ok := p.inits[in]; ok && p.quantizable(in) {
			p.markAct(in)
			p.markShared(n.Output[0], in)
		} else if p.marked(in) {
			p.markShared(n.Output[0], in)
		}
	case "Where":
		if p.marked(input(n, 1)) && p.marked(input(n, 2)) {
			for _, out := range n.Output {
				p.markAct(out)
			}
		}
	case "InstanceNormalization", "LayerNormalization", "BatchNormalization":
		p.markAct(input(n, 0))
		if _, ok := p.inits[input(n, 1)]; ok {
			p.markWeight(input(n, 1), 1, o)
		} else {
			p.markAct(input(n, 1))
		}
		if input(n, 2) != "" {
			p.markBias(n, 2, 1)
		}
		for _, out := range n.Output {
			p.markAct(out)
		}
	default:
		for _, name := range n.Input {
			p.markAct(name)
		}
		for _, name := range n.Output {
			p.markAct(name)
		}
	}
	return remove
}

// consumers counts the nodes reading name.
func (p *plan) consumers(name string) int {
	c := 0
	for _, n := range p.model.Graph.Node {
		if slices.Contains(n.Input, name) {
			c++
		}
	}
	return c
}

// replaceUpstream is ORT's try_replacing_upstream_output: the producer of
// upstream writes output directly when upstream has one consumer and is
// not a graph input or output.
func (p *plan) replaceUpstream(upstream, output string) bool {
	if !p.quantizable(output) || p.consumers(upstream) != 1 || p.outputs[upstream] || p.inputs[upstream] || p.isConst(upstream) {
		return false
	}
	found := false
	for _, n := range p.model.Graph.Node {
		for i, o := range n.Output {
			if o == upstream {
				n.Output[i] = output
				found = true
			}
		}
	}
	if !found {
		return false
	}
	if _, ok := p.marks[upstream]; ok {
		delete(p.marks, upstream)
		p.order = slices.DeleteFunc(p.order, func(s string) bool { return s == upstream })
	}
	return true
}

// adjustRanges is ORT's adjust_tensor_ranges: the input of a Relu or Clip
// that stayed (symmetric activations, or an input with several readers is
// excluded by ORT's rule) takes the output's range when the node is its
// only reader; a Softmax output has the range [0, 1].
func (p *plan) adjustRanges(o Options) {
	opTypes := map[string]bool{}
	for _, t := range o.OpTypes {
		opTypes[t] = true
	}
	exclude := map[string]bool{}
	for _, e := range o.Exclude {
		exclude[e] = true
	}
	for i, n := range p.model.Graph.Node {
		if !opTypes[n.GetOpType()] || exclude[nodeName(n, i)] {
			continue
		}
		switch n.GetOpType() {
		case "Relu", "Clip":
			in, out := input(n, 0), n.Output[0]
			if p.consumers(in) != 1 {
				continue
			}
			if mi, ok := p.marks[in]; ok && mi.kind == Activation && mi.provider == "" && !p.isConst(in) {
				if mo, ok := p.marks[out]; ok && mo.kind == Activation && mo.provider == "" {
					p.rangeOf[in] = out
				}
			}
		case "Softmax":
			if mk, ok := p.marks[n.Output[0]]; ok && mk.kind == Activation {
				p.fixed[n.Output[0]] = [2]float32{0, 1}
			}
		}
	}
}
