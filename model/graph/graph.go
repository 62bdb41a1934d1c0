package graph

import (
	"fmt"
	"slices"
	"strings"

	"github.com/qgpu/qgpu/qtensor"
)

// Sentinel errors, shared with the rest of qgpu: test with errors.Is.
var (
	// ErrShape: a shape is invalid, too large, or operands' shapes do not
	// match.
	ErrShape = qtensor.ErrShape
	// ErrParams: an attribute, input or graph structure is invalid.
	ErrParams = qtensor.ErrParams
	// ErrUnsupported: an op, attribute value or element type this package
	// does not implement.
	ErrUnsupported = qtensor.ErrUnsupported
)

// DefaultMaxElements is the default limit on the element count of any one
// tensor (values, initializers, scratch buffers): 2^30, 4 GiB of float32.
const DefaultMaxElements = 1 << 30

// Dim is one declared dimension of a graph input or output: a known size
// (Value >= 0), a symbolic one (Param != ""), or unknown (Value < 0 and
// Param == "").
type Dim struct {
	Value int
	Param string
}

func (d Dim) String() string {
	switch {
	case d.Param != "":
		return d.Param
	case d.Value < 0:
		return "?"
	}
	return fmt.Sprint(d.Value)
}

// Static reports whether the dimension has a known size.
func (d Dim) Static() bool { return d.Param == "" && d.Value >= 0 }

// Value declares a graph input or output: its name, element type and
// shape as the model states it (dimensions may be symbolic). Dims is nil
// when the model gives no shape at all.
type Value struct {
	Name  string
	DType DType
	Dims  []Dim
}

// ValueInfo is the inferred element type and concrete shape of a value.
type ValueInfo struct {
	DType DType
	Shape []int
}

func (v ValueInfo) String() string { return fmt.Sprintf("%v%v", v.DType, v.Shape) }

// AttrType is the type of a node attribute.
type AttrType uint8

// Attribute types (the ONNX attribute types this package can hold).
const (
	AttrUndefined AttrType = iota
	AttrFloat
	AttrInt
	AttrString
	AttrTensor
	AttrFloats
	AttrInts
	AttrStrings
)

var attrTypeNames = [...]string{"undefined", "float", "int", "string", "tensor", "floats", "ints", "strings"}

func (t AttrType) String() string {
	if int(t) < len(attrTypeNames) {
		return attrTypeNames[t]
	}
	return fmt.Sprintf("AttrType(%d)", uint8(t))
}

// Attr is a node attribute; the field of its Type holds the value.
type Attr struct {
	Type    AttrType
	Float   float32
	Int     int64
	String  string
	Tensor  *Tensor
	Floats  []float32
	Ints    []int64
	Strings []string
}

// Node is one operator application. Inputs and Outputs name values; an
// empty name is an absent optional input or output.
type Node struct {
	Name    string
	OpType  string
	Domain  string // "" (or "ai.onnx") for the default ONNX domain
	Inputs  []string
	Outputs []string
	Attrs   map[string]Attr

	run kernel // set by Build
}

func (n *Node) String() string {
	if n.Name != "" {
		return fmt.Sprintf("node %q (%s)", n.Name, n.OpType)
	}
	return fmt.Sprintf("node (%s) -> %s", n.OpType, strings.Join(n.Outputs, ","))
}

// Graph is a model graph.
//
// A Graph is either a definition - its parts filled in by hand or by
// FromONNX before Build - or built: returned by Build (or FromONNX), with
// its Nodes in topological order, every value's type and concrete shape in
// Values, constant subgraphs folded into Initializers and nodes that no
// output depends on removed. Only built graphs can run. A built graph must
// not be modified; it is safe for concurrent use by any number of runs.
type Graph struct {
	Name string
	// Opset is the version of the default ONNX domain the nodes follow
	// (13 to 21 are the target; older ones are accepted where their
	// semantics are implemented).
	Opset int
	// Inputs are the values a caller supplies (initializers excluded).
	Inputs []Value
	// Outputs are the values a run returns.
	Outputs []Value
	Nodes   []*Node
	// Initializers are the constant values (weights, folded constants).
	Initializers map[string]*Tensor
	// Values holds the type and shape of every value of a built graph:
	// inputs, initializers and node outputs.
	Values map[string]ValueInfo

	built bool
}

// Built reports whether g was returned by Build or FromONNX.
func (g *Graph) Built() bool { return g.built }

// Options control how a graph is built.
type Options struct {
	// Batch, if positive, is the size of dimension 0 of every input whose
	// dimension 0 is symbolic or unknown. It is an error for an input with
	// a static dimension 0 of another size.
	Batch int
	// Dims gives sizes to symbolic dimensions by name (they take
	// precedence over Batch).
	Dims map[string]int
	// Shapes overrides the declared shape of inputs by name.
	Shapes map[string][]int
	// Constants fixes the value of graph inputs by name: they become
	// initializers (and leave Inputs), so that what depends on them folds.
	// A model that takes a Reshape's shape or a Resize's sizes as an input
	// can only be built that way, since every shape is fixed at build
	// time. Each value must match the input's declared element type and
	// static dimensions.
	Constants map[string]*Tensor
	// MaxElements limits the element count of every tensor: values,
	// initializers, folded constants and kernels' scratch buffers. Zero
	// means DefaultMaxElements.
	MaxElements int
	// FoldQDQ lets constant folding evaluate QuantizeLinear and
	// DequantizeLinear nodes. By default they are kept, so that a quantized
	// runtime sees the QDQ structure (DequantizeLinear of int8 weights)
	// of a quantized model.
	FoldQDQ bool
}

func (o *Options) maxElements() int {
	if o.MaxElements > 0 {
		return o.MaxElements
	}
	return DefaultMaxElements
}

// EvalNode runs node i of a built graph on its input tensors (nil for an
// absent optional input) and returns its outputs (nil for an output whose
// name is empty). The inputs must have the types and shapes of g.Values.
// workers bounds the goroutines the kernel may use (<= 1: one); results do
// not depend on it.
func (g *Graph) EvalNode(i int, inputs []*Tensor, workers int) ([]*Tensor, error) {
	if !g.built {
		return nil, errorf(ErrParams, "graph not built")
	}
	if i < 0 || i >= len(g.Nodes) {
		return nil, errorf(ErrParams, "node index %d out of range", i)
	}
	n := g.Nodes[i]
	if len(inputs) != len(n.Inputs) {
		return nil, errorf(ErrParams, "%v takes %d inputs, got %d", n, len(n.Inputs), len(inputs))
	}
	for j, name := range n.Inputs {
		if name == "" {
			if inputs[j] != nil {
				return nil, errorf(ErrParams, "%v input %d is absent but a tensor was given", n, j)
			}
			continue
		}
		if err := checkInfo(inputs[j], g.Values[name]); err != nil {
			return nil, fmt.Errorf("%v input %q: %w", n, name, err)
		}
	}
	ec := &execCtx{workers: max(workers, 1)}
	out, err := n.run(ec, inputs)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", n, err)
	}
	return out, nil
}

// checkInfo checks that t is a valid tensor of type and shape v.
func checkInfo(t *Tensor, v ValueInfo) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if t.DType != v.DType || !slices.Equal(t.Shape, v.Shape) {
		return errorf(ErrShape, "got %v, want %v", t.Info(), v)
	}
	return nil
}

// CheckInput checks that t can be fed as input name of the built graph.
func (g *Graph) CheckInput(name string, t *Tensor) error {
	v, ok := g.Values[name]
	if !ok || !slices.ContainsFunc(g.Inputs, func(in Value) bool { return in.Name == name }) {
		return errorf(ErrParams, "graph has no input %q", name)
	}
	if err := checkInfo(t, v); err != nil {
		return fmt.Errorf("input %q: %w", name, err)
	}
	return nil
}
