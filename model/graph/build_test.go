package graph

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// Helpers for hand-built graphs.

func dims(s ...int) []Dim {
	d := make([]Dim, len(s))
	for i, v := range s {
		d[i] = Dim{Value: v}
	}
	return d
}

func in(name string, dt DType, d []Dim) Value { return Value{Name: name, DType: dt, Dims: d} }
func out(name string) Value                   { return Value{Name: name} }

func node(op string, ins, outs []string, attrs ...any) *Node {
	n := &Node{OpType: op, Inputs: ins, Outputs: outs, Name: op + "_" + strings.Join(outs, "_")}
	if len(attrs) > 0 {
		n.Attrs = map[string]Attr{}
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		name := attrs[i].(string)
		switch v := attrs[i+1].(type) {
		case int:
			n.Attrs[name] = Attr{Type: AttrInt, Int: int64(v)}
		case float32:
			n.Attrs[name] = Attr{Type: AttrFloat, Float: v}
		case string:
			n.Attrs[name] = Attr{Type: AttrString, String: v}
		case []int64:
			n.Attrs[name] = Attr{Type: AttrInts, Ints: v}
		case []float32:
			n.Attrs[name] = Attr{Type: AttrFloats, Floats: v}
		case *Tensor:
			n.Attrs[name] = Attr{Type: AttrTensor, Tensor: v}
		default:
			panic("attr type")
		}
	}
	return n
}

func ints(v ...int64) *Tensor { return &Tensor{DType: Int64, Shape: []int{len(v)}, I64: v} }

func f32s(shape []int, v ...float32) *Tensor {
	return &Tensor{DType: Float32, Shape: shape, F32: v}
}

func mustErr(t *testing.T, err error, kind error, substr ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", kind)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error %q does not wrap %v", err, kind)
	}
	for _, s := range substr {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("error %q does not mention %q", err, s)
		}
	}
}

func TestMissingProducer(t *testing.T) {
	g := &Graph{Opset: 13,
		Inputs:  []Value{in("x", Float32, dims(2, 3))},
		Outputs: []Value{out("y")},
		Nodes:   []*Node{node("Add", []string{"x", "bias"}, []string{"y"})},
	}
	_, err := Build(g, Options{})
	mustErr(t, err, ErrParams, `"Add_y"`, `"bias"`, "missing initializer")
	g.Outputs = []Value{out("nope")}
	g.Initializers = map[string]*Tensor{"bias": f32s([]int{3}, 1, 2, 3)}
	_, err = Build(g, Options{})
	mustErr(t, err, ErrParams, `"nope"`)
}

func TestDuplicateProducer(t *testing.T) {
	base := func() *Graph {
		return &Graph{Opset: 13,
			Inputs:  []Value{in("x", Float32, dims(2))},
			Outputs: []Value{out("y")},
			Nodes:   []*Node{node("Relu", []string{"x"}, []string{"y"})},
		}
	}
	g := base()
	g.Nodes = append(g.Nodes, node("Neg", []string{"x"}, []string{"y"}))
	_, err := Build(g, Options{})
	mustErr(t, err, ErrParams, `"y"`, "produced twice")

	g = base()
	g.Initializers = map[string]*Tensor{"y": f32s([]int{2}, 1, 2)}
	_, err = Build(g, Options{})
	mustErr(t, err, ErrParams, `"y"`, "produced twice", "initializer")

	g = base()
	g.Inputs = append(g.Inputs, in("x", Float32, dims(2)))
	_, err = Build(g, Options{})
	mustErr(t, err, ErrParams, `"x"`, "twice")

	// An input with an initializer of the same name is one constant.
	g = base()
	g.Initializers = map[string]*Tensor{"x": f32s([]int{2}, -1, 2)}
	b, err := Build(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Inputs) != 0 || b.Initializers["y"] == nil || !slices.Equal(b.Initializers["y"].F32, []float32{0, 2}) {
		t.Fatalf("inputs %v, y %v", b.Inputs, b.Initializers["y"])
	}
}

func TestCycle(t *testing.T) {
	g := &Graph{Opset: 13,
		Inputs:  []Value{in("x", Float32, dims(2))},
		Outputs: []Value{out("d")},
		Nodes: []*Node{
			node("Add", []string{"x", "c"}, []string{"a"}),
			node("Relu", []string{"a"}, []string{"b"}),
			node("Neg", []string{"b"}, []string{"c"}),
			node("Relu", []string{"c"}, []string{"d"}),
		},
	}
	_, err := Build(g, Options{})
	mustErr(t, err, ErrParams, "cycle")
	// A self-loop.
	g.Nodes = []*Node{node("Add", []string{"x", "d"}, []string{"d"})}
	_, err = Build(g, Options{})
	mustErr(t, err, ErrParams, "cycle")
}

func TestToposortKeepsOrderAndSorts(t *testing.T) {
	g := &Graph{Opset: 13,
		Inputs:  []Value{in("x", Float32, dims(2))},
		Outputs: []Value{out("c"), out("d")},
		Nodes: []*Node{
			node("Relu", []string{"b"}, []string{"c"}),
			node("Neg", []string{"x"}, []string{"a"}),
			node("Abs", []string{"a"}, []string{"b"}),
			node("Exp", []string{"x"}, []string{"d"}),
		},
	}
	b, err := Build(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, n := range b.Nodes {
		ops = append(ops, n.OpType)
	}
	if want := []string{"Neg", "Abs", "Relu", "Exp"}; !slices.Equal(ops, want) {
		t.Fatalf("order %v, want %v", ops, want)
	}
	if g.Nodes[0].OpType != "Relu" {
		t.Fatal("Build modified its argument")
	}
}

func TestIdentityAliases(t *testing.T) {
	w := f32s([]int{3}, 1, 2, 3)
	g := &Graph{Opset: 13,
		Inputs:       []Value{in("x", Float32, dims(2, 3))},
		Outputs:      []Value{out("y"), out("z")},
		Initializers: map[string]*Tensor{"w": w},
		Nodes: []*Node{
			node("Identity", []string{"w"}, []string{"w2"}),
			node("Identity", []string{"w2"}, []string{"w3"}),
			node("Mul", []string{"x", "w3"}, []string{"y"}),
			node("Identity", []string{"x"}, []string{"z"}),
		},
	}
	b, err := Build(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Initializers["w3"] != w {
		t.Fatalf("w3 is not the initializer w itself: %v", b.Initializers["w3"])
	}
	var ops []string
	for _, n := range b.Nodes {
		ops = append(ops, n.OpType)
	}
	// The Identity of an activation stays (it is a graph output).
	if !slices.Equal(ops, []string{"Mul", "Identity"}) {
		t.Fatalf("nodes %v", ops)
	}
	if _, ok := b.Initializers["w2"]; ok {
		t.Fatal("unused alias w2 kept")
	}
}

// TestFoldShapeChain builds the chain torch emits for x.view(N, -1) with
// a dynamic batch: Shape -> Gather(0) -> Unsqueeze -> Concat with [-1] ->
// Reshape. Fixing the batch at 3 must fold all of it into an initializer
// [3, -1] for the Reshape.
func TestFoldShapeChain(t *testing.T) {
	g := &Graph{Opset: 13,
		Inputs:       []Value{{Name: "x", DType: Float32, Dims: []Dim{{Value: -1, Param: "N"}, {Value: 4}, {Value: 5}}}},
		Outputs:      []Value{out("y")},
		Initializers: map[string]*Tensor{"zero": {DType: Int64, Shape: []int{}, I64: []int64{0}}, "axes": ints(0)},
		Nodes: []*Node{
			node("Shape", []string{"x"}, []string{"s"}),
			node("Gather", []string{"s", "zero"}, []string{"n"}, "axis", 0),
			node("Unsqueeze", []string{"n", "axes"}, []string{"n1"}),
			node("Constant", nil, []string{"m1"}, "value", ints(-1)),
			node("Concat", []string{"n1", "m1"}, []string{"shape"}, "axis", 0),
			node("Cast", []string{"shape"}, []string{"shape64"}, "to", 7),
			node("Reshape", []string{"x", "shape64"}, []string{"y"}),
		},
	}
	b, err := Build(g, Options{Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Nodes) != 1 || b.Nodes[0].OpType != "Reshape" {
		t.Fatalf("nodes after folding: %v", b.Nodes)
	}
	sh := b.Initializers[b.Nodes[0].Inputs[1]]
	if sh == nil || !slices.Equal(sh.I64, []int64{3, -1}) {
		t.Fatalf("Reshape's shape is %v, want the initializer [3 -1]", sh)
	}
	if got := b.Values["y"]; !slices.Equal(got.Shape, []int{3, 20}) {
		t.Fatalf("y is %v, want [3 20]", got)
	}
	if len(b.Initializers) != 1 {
		t.Fatalf("dead initializers kept: %d", len(b.Initializers))
	}
	// Without a batch size the symbolic dimension is an error.
	_, err = Build(g, Options{})
	mustErr(t, err, ErrShape, `"x"`, "N")
	// Named dimensions can be bound by name as well.
	b, err = Build(g, Options{Dims: map[string]int{"N": 2}})
	if err != nil || !slices.Equal(b.Values["y"].Shape, []int{2, 20}) {
		t.Fatalf("Dims: %v %v", err, b.Values["y"])
	}
}

func TestFoldConstantArithmetic(t *testing.T) {
	// (w * 2) + ConstantOfShape([3], 1) folds; x * that does not.
	g := &Graph{Opset: 17,
		Inputs:       []Value{in("x", Float32, dims(3))},
		Outputs:      []Value{out("y")},
		Initializers: map[string]*Tensor{"w": f32s([]int{3}, 1, 2, 3), "two": Scalar(2), "n": ints(3)},
		Nodes: []*Node{
			node("Mul", []string{"w", "two"}, []string{"w2"}),
			node("ConstantOfShape", []string{"n"}, []string{"ones"}, "value", f32s([]int{1}, 1)),
			node("Add", []string{"w2", "ones"}, []string{"k"}),
			node("Mul", []string{"x", "k"}, []string{"y"}),
		},
	}
	b, err := Build(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Nodes) != 1 || !slices.Equal(b.Initializers["k"].F32, []float32{3, 5, 7}) {
		t.Fatalf("nodes %v, k %v", b.Nodes, b.Initializers["k"])
	}
}

func TestFoldKeepsQDQ(t *testing.T) {
	g := &Graph{Opset: 13,
		Inputs:  []Value{in("x", Float32, dims(2))},
		Outputs: []Value{out("y")},
		Initializers: map[string]*Tensor{
			"wq": {DType: Int8, Shape: []int{2}, I8: []int8{-3, 5}},
			"s":  Scalar(0.5),
			"z":  {DType: Int8, Shape: []int{}, I8: []int8{1}},
		},
		Nodes: []*Node{
			node("DequantizeLinear", []string{"wq", "s", "z"}, []string{"w"}),
			node("Mul", []string{"x", "w"}, []string{"y"}),
		},
	}
	b, err := Build(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Nodes) != 2 || b.Nodes[0].OpType != "DequantizeLinear" {
		t.Fatalf("DequantizeLinear folded by default: %v", b.Nodes)
	}
	b, err = Build(g, Options{FoldQDQ: true})
	if err != nil {
		t.Fatal(err)
	}
	// (q - zp) * scale: (-3-1)*0.5, (5-1)*0.5
	if len(b.Nodes) != 1 || !slices.Equal(b.Initializers["w"].F32, []float32{-2, 2}) {
		t.Fatalf("FoldQDQ: nodes %v, w %v", b.Nodes, b.Initializers["w"])
	}
}

func TestDeadNodesPruned(t *testing.T) {
	g := &Graph{Opset: 13,
		Inputs:  []Value{in("x", Float32, dims(2))},
		Outputs: []Value{out("y")},
		Nodes: []*Node{
			node("Relu", []string{"x"}, []string{"y"}),
			node("Exp", []string{"x"}, []string{"unused"}),
		},
	}
	b, err := Build(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Nodes) != 1 || b.Nodes[0].OpType != "Relu" {
		t.Fatalf("nodes %v", b.Nodes)
	}
	if _, ok := b.Values["unused"]; ok {
		t.Fatal("value of a pruned node kept")
	}
}

func TestInputShapes(t *testing.T) {
	g := &Graph{Opset: 13,
		Inputs:  []Value{in("x", Float32, dims(1, 3))},
		Outputs: []Value{out("y")},
		Nodes:   []*Node{node("Relu", []string{"x"}, []string{"y"})},
	}
	_, err := Build(g, Options{Batch: 4})
	mustErr(t, err, ErrShape, "static batch")
	b, err := Build(g, Options{Shapes: map[string][]int{"x": {4, 3}}})
	if err != nil || !slices.Equal(b.Values["y"].Shape, []int{4, 3}) {
		t.Fatalf("Shapes: %v %v", err, b.Values["y"])
	}
	g.Inputs[0].Dims = nil
	_, err = Build(g, Options{})
	mustErr(t, err, ErrShape, "no declared shape")
	// Huge shapes are refused before anything is allocated.
	_, err = Build(g, Options{Shapes: map[string][]int{"x": {1 << 20, 1 << 20}}})
	mustErr(t, err, ErrShape, "limit")
	_, err = Build(g, Options{Shapes: map[string][]int{"x": {1 << 40, 1 << 40}}})
	mustErr(t, err, ErrShape, "overflows")
	_, err = Build(g, Options{Shapes: map[string][]int{"x": {-1, 3}}})
	mustErr(t, err, ErrShape, "negative")
}

func TestConstantsOption(t *testing.T) {
	g := &Graph{Opset: 13,
		Inputs:  []Value{in("x", Float32, dims(2, 6)), in("shape", Int64, dims(3))},
		Outputs: []Value{out("y")},
		Nodes:   []*Node{node("Reshape", []string{"x", "shape"}, []string{"y"})},
	}
	_, err := Build(g, Options{})
	mustErr(t, err, ErrUnsupported, "must be a constant")
	b, err := Build(g, Options{Constants: map[string]*Tensor{"shape": ints(2, 3, -1)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Inputs) != 1 || !slices.Equal(b.Values["y"].Shape, []int{2, 3, 2}) {
		t.Fatalf("inputs %v, y %v", b.Inputs, b.Values["y"])
	}
	_, err = Build(g, Options{Constants: map[string]*Tensor{"shape": ints(2, 6)}})
	mustErr(t, err, ErrShape, "declared")
	_, err = Build(g, Options{Constants: map[string]*Tensor{"other": ints(2)}})
	mustErr(t, err, ErrParams, "not a graph input")
}

func TestDeclaredOutputChecked(t *testing.T) {
	g := &Graph{Opset: 13,
		Inputs:  []Value{in("x", Float32, dims(2, 3))},
		Outputs: []Value{in("y", Float32, dims(3, 2))},
		Nodes:   []*Node{node("Relu", []string{"x"}, []string{"y"})},
	}
	_, err := Build(g, Options{})
	mustErr(t, err, ErrShape, `"y"`, "declares")
	g.Outputs[0] = in("y", Int64, nil)
	_, err = Build(g, Options{})
	mustErr(t, err, ErrShape, `"y"`, "int64")
}
