package graph

import (
	"container/heap"
	"fmt"
	"maps"
	"slices"
)

// producer kinds
const (
	fromInput = iota
	fromInit
	fromNode
)

type producer struct {
	kind int
	node int // index into the definition's Nodes for fromNode
}

// Build checks a graph definition and returns the built graph: nodes in
// topological order, every value's type and concrete shape inferred,
// constants folded, and nodes that no output depends on removed. def is
// not modified (initializer tensors are shared, not copied).
//
// Build checks, in this order:
//   - every node has an op type and at least one output, every value is
//     produced exactly once (by a graph input, an initializer or a node
//     output; an input with an initializer of the same name is a constant
//     with a default, as in ONNX IR < 4, and counts once), and every
//     non-empty node input and every graph output has a producer;
//   - the graph has no cycle (a cycle is an error naming a node on it);
//   - every input's shape resolves to a concrete one (Options.Batch,
//     Dims, Shapes) within Options.MaxElements;
//   - every node's op is supported, its attributes are valid and its
//     inputs' types and shapes are consistent; the outputs' shapes are
//     inferred and checked against MaxElements before anything is
//     allocated;
//   - the inferred type and shape of each graph output agree with what
//     the definition declares for it (static dimensions only).
//
// Identity nodes whose input is a constant become aliases of that constant
// (exporters deduplicate weights that way); every other node whose inputs
// are all constant (Constant, Shape of a value with a now-static shape,
// and the Gather/Unsqueeze/Concat/Reshape/Cast/ConstantOfShape chains that
// follow) is evaluated once and replaced by its outputs as initializers,
// except QuantizeLinear and DequantizeLinear unless Options.FoldQDQ is set.
func Build(def *Graph, opts Options) (*Graph, error) {
	if def == nil {
		return nil, errorf(ErrParams, "nil graph")
	}
	limit := opts.maxElements()
	opset := def.Opset
	if opset <= 0 {
		return nil, errorf(ErrParams, "graph opset %d must be positive", opset)
	}

	// Producers.
	prod := map[string]producer{}
	for name, t := range def.Initializers {
		if name == "" {
			return nil, errorf(ErrParams, "initializer with an empty name")
		}
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("graph: initializer %q: %w", name, err)
		}
		if _, err := NumElements(t.Shape, limit); err != nil {
			return nil, fmt.Errorf("graph: initializer %q: %w", name, err)
		}
		prod[name] = producer{kind: fromInit}
	}
	inits, cloned := def.Initializers, false
	var inputs []Value
	for _, in := range def.Inputs {
		if in.Name == "" {
			return nil, errorf(ErrParams, "graph input with an empty name")
		}
		if _, ok := def.Initializers[in.Name]; ok {
			continue // a constant with a default value
		}
		if t, ok := opts.Constants[in.Name]; ok {
			if err := checkDeclared(in, t, limit); err != nil {
				return nil, fmt.Errorf("graph: Options.Constants[%q]: %w", in.Name, err)
			}
			if _, dup := prod[in.Name]; dup {
				return nil, errorf(ErrParams, "graph input %q is declared twice", in.Name)
			}
			if !cloned {
				inits, cloned = maps.Clone(def.Initializers), true
				if inits == nil {
					inits = map[string]*Tensor{}
				}
			}
			inits[in.Name] = t
			prod[in.Name] = producer{kind: fromInit}
			continue
		}
		if _, dup := prod[in.Name]; dup {
			return nil, errorf(ErrParams, "graph input %q is declared twice", in.Name)
		}
		prod[in.Name] = producer{kind: fromInput}
		inputs = append(inputs, in)
	}
	for i, n := range def.Nodes {
		if n == nil {
			return nil, errorf(ErrParams, "node %d is nil", i)
		}
		if n.OpType == "" {
			return nil, errorf(ErrParams, "node %d (%q) has no op type", i, n.Name)
		}
		if len(n.Outputs) == 0 {
			return nil, errorf(ErrParams, "%v has no output", n)
		}
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if p, dup := prod[o]; dup {
				return nil, errorf(ErrParams, "value %q is produced twice: by %v and by %s", o, n, describeProducer(def, p))
			}
			prod[o] = producer{kind: fromNode, node: i}
		}
	}
	for _, n := range def.Nodes {
		for j, in := range n.Inputs {
			if in == "" {
				continue
			}
			if _, ok := prod[in]; !ok {
				return nil, errorf(ErrParams, "%v input %d %q is not produced by any node, graph input or initializer (missing initializer?)", n, j, in)
			}
		}
	}
	for name := range opts.Constants {
		if !slices.ContainsFunc(def.Inputs, func(v Value) bool { return v.Name == name }) {
			return nil, errorf(ErrParams, "graph: Options.Constants names %q, which is not a graph input", name)
		}
	}
	seen := map[string]bool{}
	for _, o := range def.Outputs {
		if _, ok := prod[o.Name]; !ok {
			return nil, errorf(ErrParams, "graph output %q is not produced by any node, graph input or initializer", o.Name)
		}
		if seen[o.Name] {
			return nil, errorf(ErrParams, "graph output %q is listed twice", o.Name)
		}
		seen[o.Name] = true
	}

	order, err := toposort(def.Nodes, prod)
	if err != nil {
		return nil, err
	}

	g := &Graph{
		Name:         def.Name,
		Opset:        opset,
		Inputs:       slices.Clone(inputs),
		Outputs:      slices.Clone(def.Outputs),
		Initializers: maps.Clone(inits),
		Values:       map[string]ValueInfo{},
	}
	if g.Initializers == nil {
		g.Initializers = map[string]*Tensor{}
	}
	for name, t := range g.Initializers {
		g.Values[name] = t.Info()
	}
	for _, in := range inputs {
		shape, err := resolveShape(in, &opts, limit)
		if err != nil {
			return nil, err
		}
		if !in.DType.Valid() {
			return nil, errorf(ErrUnsupported, "graph input %q has no supported element type", in.Name)
		}
		g.Values[in.Name] = ValueInfo{DType: in.DType, Shape: shape}
	}

	// Inference and folding, in topological order.
	for _, i := range order {
		src := def.Nodes[i]
		n := &Node{Name: src.Name, OpType: src.OpType, Domain: src.Domain,
			Inputs: slices.Clone(src.Inputs), Outputs: slices.Clone(src.Outputs), Attrs: src.Attrs}
		c := &prepCtx{n: n, opset: opset, limit: limit, used: map[string]bool{}}
		c.in = make([]ValueInfo, len(n.Inputs))
		c.consts = make([]*Tensor, len(n.Inputs))
		allConst := true
		for j, name := range n.Inputs {
			if name == "" {
				continue
			}
			c.in[j] = g.Values[name]
			c.consts[j] = g.Initializers[name]
			if c.consts[j] == nil {
				allConst = false
			}
		}
		if n.OpType == "Identity" && isDefaultDomain(n.Domain) && len(n.Inputs) == 1 && len(n.Outputs) == 1 &&
			c.consts[0] != nil && n.Outputs[0] != "" && len(n.Attrs) == 0 {
			g.Initializers[n.Outputs[0]] = c.consts[0]
			g.Values[n.Outputs[0]] = g.Values[n.Inputs[0]]
			continue
		}
		out, run, err := prepare(c)
		if err != nil {
			return nil, fmt.Errorf("graph: %v: %w", n, err)
		}
		for j, name := range n.Outputs {
			if name == "" {
				continue
			}
			if j >= len(out) {
				return nil, errorf(ErrParams, "graph: %v has output %d %q, the op has only %d", n, j, name, len(out))
			}
			if _, err := NumElements(out[j].Shape, limit); err != nil {
				return nil, fmt.Errorf("graph: %v output %q: %w", n, name, err)
			}
			g.Values[name] = out[j]
		}
		n.run = run
		fold := allConst || c.foldAlways
		if fold && !opts.FoldQDQ && (n.OpType == "QuantizeLinear" || n.OpType == "DequantizeLinear") {
			fold = false
		}
		if fold {
			ins := slices.Clone(c.consts)
			res, err := run(&execCtx{workers: 1}, ins)
			if err != nil {
				return nil, fmt.Errorf("graph: folding %v: %w", n, err)
			}
			for j, name := range n.Outputs {
				if name != "" {
					g.Initializers[name] = res[j]
				}
			}
			continue
		}
		g.Nodes = append(g.Nodes, n)
	}

	g.prune()

	for _, o := range g.Outputs {
		v := g.Values[o.Name]
		if o.DType != Invalid && o.DType != v.DType {
			return nil, errorf(ErrShape, "graph output %q: inferred %v, the model declares element type %v", o.Name, v, o.DType)
		}
		if o.Dims != nil {
			if len(o.Dims) != len(v.Shape) {
				return nil, errorf(ErrShape, "graph output %q: inferred %v, the model declares shape %v", o.Name, v, o.Dims)
			}
			for k, d := range o.Dims {
				if d.Static() && d.Value != v.Shape[k] {
					return nil, errorf(ErrShape, "graph output %q: inferred %v, the model declares shape %v", o.Name, v, o.Dims)
				}
			}
		}
	}
	g.built = true
	return g, nil
}

func describeProducer(def *Graph, p producer) string {
	switch p.kind {
	case fromInput:
		return "a graph input"
	case fromInit:
		return "an initializer"
	}
	return def.Nodes[p.node].String()
}

func isDefaultDomain(d string) bool { return d == "" || d == "ai.onnx" }

// toposort returns the node indices in a topological order: Kahn's
// algorithm taking ready nodes in their definition order, so the order is
// deterministic and a graph already sorted keeps its order.
func toposort(nodes []*Node, prod map[string]producer) ([]int, error) {
	indeg := make([]int, len(nodes))
	users := make([][]int, len(nodes))
	for i, n := range nodes {
		deps := map[int]bool{}
		for _, in := range n.Inputs {
			if p, ok := prod[in]; ok && in != "" && p.kind == fromNode && !deps[p.node] {
				deps[p.node] = true
				users[p.node] = append(users[p.node], i)
				indeg[i]++
			}
		}
	}
	// Ready nodes leave in index order (a min-heap), so the order is
	// deterministic, O(n log n), and a sorted graph keeps its order.
	ready := &intHeap{}
	for i := range nodes {
		if indeg[i] == 0 {
			heap.Push(ready, i)
		}
	}
	order := make([]int, 0, len(nodes))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		order = append(order, i)
		for _, u := range users[i] {
			indeg[u]--
			if indeg[u] == 0 {
				heap.Push(ready, u)
			}
		}
	}
	if len(order) < len(nodes) {
		for i := range nodes {
			if indeg[i] > 0 {
				return nil, errorf(ErrParams, "the graph has a cycle through %v", nodes[i])
			}
		}
	}
	return order, nil
}

// checkDeclared checks a constant for an input against its declaration.
func checkDeclared(in Value, t *Tensor, limit int) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if _, err := NumElements(t.Shape, limit); err != nil {
		return err
	}
	if in.DType != Invalid && t.DType != in.DType {
		return errorf(ErrShape, "%v tensor for a %v input", t.DType, in.DType)
	}
	if in.Dims != nil {
		if len(in.Dims) != len(t.Shape) {
			return errorf(ErrShape, "shape %v for declared shape %v", t.Shape, in.Dims)
		}
		for k, d := range in.Dims {
			if d.Static() && d.Value != t.Shape[k] {
				return errorf(ErrShape, "shape %v for declared shape %v", t.Shape, in.Dims)
			}
		}
	}
	return nil
}

// resolveShape gives an input its concrete shape.
func resolveShape(in Value, opts *Options, limit int) ([]int, error) {
	if s, ok := opts.Shapes[in.Name]; ok {
		if _, err := NumElements(s, limit); err != nil {
			return nil, fmt.Errorf("graph: Options.Shapes[%q]: %w", in.Name, err)
		}
		return slices.Clone(s), nil
	}
	if in.Dims == nil {
		return nil, errorf(ErrShape, "graph input %q has no declared shape; give one in Options.Shapes", in.Name)
	}
	shape := make([]int, len(in.Dims))
	for k, d := range in.Dims {
		switch {
		case d.Param != "" && opts.Dims[d.Param] > 0:
			shape[k] = opts.Dims[d.Param]
		case d.Static():
			if k == 0 && opts.Batch > 0 && d.Value != opts.Batch {
				return nil, errorf(ErrShape, "graph input %q has a static batch dimension %d, Options.Batch is %d (use Options.Shapes to override)", in.Name, d.Value, opts.Batch)
			}
			shape[k] = d.Value
		case k == 0 && opts.Batch > 0:
			shape[k] = opts.Batch
		default:
			return nil, errorf(ErrShape, "graph input %q dimension %d is %v; set Options.Batch, Dims or Shapes", in.Name, k, d)
		}
	}
	if _, err := NumElements(shape, limit); err != nil {
		return nil, fmt.Errorf("graph: input %q: %w", in.Name, err)
	}
	return shape, nil
}

// prune removes nodes whose outputs no graph output depends on, and
// initializers nothing uses.
func (g *Graph) prune() {
	need := map[string]bool{}
	for _, o := range g.Outputs {
		need[o.Name] = true
	}
	keep := make([]bool, len(g.Nodes))
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		for _, o := range n.Outputs {
			if o != "" && need[o] {
				keep[i] = true
			}
		}
		if keep[i] {
			for _, in := range n.Inputs {
				if in != "" {
					need[in] = true
				}
			}
		}
	}
	nodes := g.Nodes[:0]
	for i, n := range g.Nodes {
		if keep[i] {
			nodes = append(nodes, n)
		} else {
			for _, o := range n.Outputs {
				delete(g.Values, o)
			}
		}
	}
	g.Nodes = nodes
	for name := range g.Initializers {
		if !need[name] {
			delete(g.Initializers, name)
			delete(g.Values, name)
		}
	}
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
