package quantize

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/onnx/onnxpb"
	"github.com/qgpu/qgpu/qtensor"
)

// writer rewrites a clone of the plan's model into the QDQ model, with
// ONNX Runtime's names:
//
//	activation t:  t_scale, t_zero_point, t_QuantizeLinear -> t_QuantizeLinear_Output,
//	               t_DequantizeLinear -> t_DequantizeLinear_Output (read by every consumer of t;
//	               a graph output t keeps its name on the DQ output and its producer writes
//	               t_QuantizeLinear_Input)
//	weight w:      w_quantized, w_scale, w_zero_point, w_DequantizeLinear -> w_DequantizeLinear_Output
//	bias b:        b_quantized (int32), b_quantized_scale ([1] or [C]), b_quantized_zero_point
//	               ([] or [C]), b_DequantizeLinear -> b
//
// A name already taken in the model gets a suffix _1, _2, ... New DQ
// nodes of initializers come first, Q/DQ pairs of graph inputs next, and
// the pair of every other activation right after its producer, so the
// node list stays topologically sorted and the output is a deterministic
// function of the plan and the parameters.
type writer struct {
	p        *plan
	m        *onnxpb.ModelProto
	used     map[string]bool
	producer map[string]int // value -> index of the node writing it (in m)
	front    []*onnxpb.NodeProto
	inFront  []*onnxpb.NodeProto
	after    map[int][]*onnxpb.NodeProto
	inits    []*onnxpb.TensorProto
	drop     map[string]bool      // float initializers replaced (removed once no node reads them)
	dropBias map[string]bool      // float biases (removed: their DQ writes the name)
	qparams  map[string][2]string // tensor -> scale and zero point initializer names
}

func newWriter(p *plan) *writer {
	m := proto.Clone(p.model).(*onnxpb.ModelProto)
	w := &writer{p: p, m: m, used: map[string]bool{}, producer: map[string]int{}, after: map[int][]*onnxpb.NodeProto{},
		drop: map[string]bool{}, dropBias: map[string]bool{}, qparams: map[string][2]string{}}
	g := m.GetGraph()
	for _, t := range g.GetInitializer() {
		w.used[t.GetName()] = true
	}
	for _, v := range g.GetInput() {
		w.used[v.GetName()] = true
	}
	for _, v := range g.GetOutput() {
		w.used[v.GetName()] = true
	}
	for i, n := range g.GetNode() {
		w.used[n.GetName()] = true
		for _, s := range n.Input {
			w.used[s] = true
		}
		for _, s := range n.Output {
			w.used[s] = true
			w.producer[s] = i
		}
	}
	return w
}

// unique returns name, or name with the first free suffix _1, _2, ...
func (w *writer) unique(name string) string {
	s := name
	for k := 1; w.used[s]; k++ {
		s = fmt.Sprintf("%s_%d", name, k)
	}
	w.used[s] = true
	return s
}

func (w *writer) replaceInput(old, new string) {
	for _, n := range w.m.Graph.Node {
		for i, s := range n.Input {
			if s == old {
				n.Input[i] = new
			}
		}
	}
}

func newNode(op, name string, in, out []string, axis int) *onnxpb.NodeProto {
	n := &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: in, Output: out}
	if axis >= 0 {
		t := onnxpb.AttributeProto_INT
		n.Attribute = []*onnxpb.AttributeProto{{Name: proto.String("axis"), Type: &t, I: proto.Int64(int64(axis))}}
	}
	return n
}

// onnxType is the ONNX element type of a quantized dtype.
func onnxType(d qtensor.DType) onnx.DataType {
	switch d {
	case qtensor.Int8:
		return onnx.Int8
	case qtensor.Int32:
		return onnx.Int32
	}
	return onnx.Uint8
}

// zeroPointTensor builds a zero point initializer of type d.
func zeroPointTensor(name string, d qtensor.DType, dims []int, zps []int32) (*onnxpb.TensorProto, error) {
	switch d {
	case qtensor.Int8:
		v := make([]int8, len(zps))
		for i, z := range zps {
			v[i] = int8(z)
		}
		return onnx.NewTensor(name, dims, v)
	case qtensor.Uint8:
		v := make([]uint8, len(zps))
		for i, z := range zps {
			v[i] = uint8(z)
		}
		return onnx.NewTensor(name, dims, v)
	}
	return onnx.NewTensor(name, dims, zps)
}

// scaleZP adds t_scale and t_zero_point (shape [] per tensor, [C] per
// channel).
func (w *writer) scaleZP(base string, pr *params) (string, string, error) {
	var dims []int
	if pr.axis >= 0 {
		dims = []int{len(pr.scales)}
	}
	sName, zName := w.unique(base+"_scale"), w.unique(base+"_zero_point")
	st, err := onnx.NewTensor(sName, dims, pr.scales)
	if err != nil {
		return "", "", err
	}
	zt, err := zeroPointTensor(zName, pr.dtype, dims, pr.zps)
	if err != nil {
		return "", "", err
	}
	w.inits = append(w.inits, st, zt)
	return sName, zName, nil
}

// pair inserts the Q -> DQ pair of activation name (with the given scale
// and zero point initializers, or new ones) and returns the DQ output.
func (w *writer) pair(name string, pr *params, scaleName, zpName string) (string, error) {
	if scaleName == "" {
		var err error
		if scaleName, zpName, err = w.scaleZP(name, pr); err != nil {
			return "", err
		}
	}
	w.qparams[name] = [2]string{scaleName, zpName}
	prod, hasProd := w.producer[name]
	qIn, dqOut := name, ""
	if w.p.outputs[name] && hasProd {
		qIn, dqOut = w.unique(name+"_QuantizeLinear_Input"), name
		for i, s := range w.m.Graph.Node[prod].Output {
			if s == name {
				w.m.Graph.Node[prod].Output[i] = qIn
			}
		}
	} else {
		dqOut = w.unique(name + "_DequantizeLinear_Output")
		w.replaceInput(name, dqOut)
	}
	qOut := w.unique(name + "_QuantizeLinear_Output")
	qn := newNode("QuantizeLinear", w.unique(name+"_QuantizeLinear"), []string{qIn, scaleName, zpName}, []string{qOut}, -1)
	dqn := newNode("DequantizeLinear", w.unique(name+"_DequantizeLinear"), []string{qOut, scaleName, zpName}, []string{dqOut}, -1)
	if hasProd {
		w.after[prod] = append(w.after[prod], qn, dqn)
	} else {
		w.inFront = append(w.inFront, qn, dqn)
	}
	return dqOut, nil
}

// quantizeValues quantizes a weight or constant with its parameters
// (qtensor.Quantize: x / scale in float32, rounded half to even, clamped
// to the target's range).
func (pr *params) quantizeValues() ([]int32, error) {
	qmin, qmax, err := pr.target.Range()
	if err != nil {
		return nil, err
	}
	out := make([]int32, len(pr.values))
	channels, inner := 1, len(pr.values)
	if pr.axis >= 0 {
		channels, inner = pr.dims[pr.axis], 1
		for _, d := range pr.dims[pr.axis+1:] {
			inner *= d
		}
	}
	for i, x := range pr.values {
		c := (i / inner) % channels
		out[i] = qtensor.Quantize(x, pr.scales[c], pr.zps[c], qmin, qmax)
	}
	return out, nil
}

// initializer replaces a float initializer (weight or constant) by its
// quantized form and a DQ; it returns the DQ output.
func (w *writer) initializer(name string, pr *params) (string, error) {
	qv, err := pr.quantizeValues()
	if err != nil {
		return "", fmt.Errorf("quantize: %q: %w", name, err)
	}
	qName := w.unique(name + "_quantized")
	var qt *onnxpb.TensorProto
	switch pr.dtype {
	case qtensor.Int8, qtensor.Uint8:
		qt, err = zeroPointTensor(qName, pr.dtype, pr.dims, qv)
	default:
		err = fmt.Errorf("%w: quantize: %q: type %v", ErrUnsupported, name, pr.dtype)
	}
	if err != nil {
		return "", err
	}
	w.inits = append(w.inits, qt)
	sName, zName, err := w.scaleZP(name, pr)
	if err != nil {
		return "", err
	}
	w.qparams[name] = [2]string{sName, zName}
	out := w.unique(name + "_DequantizeLinear_Output")
	w.replaceInput(name, out)
	w.front = append(w.front, newNode("DequantizeLinear", w.unique(name+"_DequantizeLinear"), []string{qName, sName, zName}, []string{out}, pr.axis))
	w.drop[name] = true
	return out, nil
}

// bias replaces a float bias by its int32 form and a DQ writing the
// bias's own name; a Gemm's beta, folded into the values, becomes 1.
func (w *writer) bias(bu biasUse, q []int32, scales []float32, dims []int) (string, error) {
	name := bu.bias
	qName := w.unique(name + "_quantized")
	qt, err := onnx.NewTensor(qName, dims, q)
	if err != nil {
		return "", err
	}
	sName, zName := w.unique(qName+"_scale"), w.unique(qName+"_zero_point")
	// As ONNX Runtime writes them: the scale has shape [1] per tensor
	// (one element: per tensor whatever its rank), [C] per channel; the
	// zero point [] or [C].
	var zdims []int
	axis := -1
	if len(scales) > 1 {
		zdims, axis = []int{len(scales)}, 0
	}
	st, err := onnx.NewTensor(sName, []int{len(scales)}, scales)
	if err != nil {
		return "", err
	}
	zt, err := onnx.NewTensor(zName, zdims, make([]int32, len(scales)))
	if err != nil {
		return "", err
	}
	w.inits = append(w.inits, qt, st, zt)
	w.front = append(w.front, newNode("DequantizeLinear", w.unique(name+"_DequantizeLinear"), []string{qName, sName, zName}, []string{name}, axis))
	w.dropBias[name] = true
	if bu.beta != 1 {
		for _, n := range w.m.Graph.Node {
			if n.GetOpType() == "Gemm" && len(n.Input) > 2 && n.Input[2] == name {
				for _, a := range n.Attribute {
					if a.GetName() == "beta" {
						a.F = proto.Float32(1)
					}
				}
			}
		}
	}
	return name, nil
}

// finish assembles the node list and the initializers.
func (w *writer) finish() (*onnxpb.ModelProto, error) {
	g := w.m.Graph
	nodes := slices.Clone(w.front)
	nodes = append(nodes, w.inFront...)
	for i, n := range g.Node {
		nodes = append(nodes, n)
		nodes = append(nodes, w.after[i]...)
	}
	g.Node = nodes
	read := map[string]bool{}
	for _, n := range nodes {
		for _, s := range n.Input {
			read[s] = true
		}
	}
	for _, v := range g.GetOutput() {
		read[v.GetName()] = true
	}
	var inits []*onnxpb.TensorProto
	removed := map[string]bool{}
	for _, t := range g.Initializer {
		if w.dropBias[t.GetName()] || (w.drop[t.GetName()] && !read[t.GetName()]) {
			removed[t.GetName()] = true
			continue
		}
		inits = append(inits, t)
	}
	g.Initializer = append(inits, w.inits...)
	if len(removed) > 0 {
		g.Input = slices.DeleteFunc(g.Input, func(v *onnxpb.ValueInfoProto) bool { return removed[v.GetName()] })
	}
	// Value infos named values that are renamed or gone; readers infer
	// them again.
	g.ValueInfo = nil
	w.m.ProducerName = proto.String("qgpu")
	w.m.ProducerVersion = nil
	if _, err := onnx.Encode(w.m); err != nil {
		return nil, fmt.Errorf("quantize: the QDQ model does not encode: %w", err)
	}
	return w.m, nil
}
