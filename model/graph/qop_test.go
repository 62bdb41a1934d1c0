package graph

import (
	"slices"
	"testing"
)

// evalOp builds a one-node graph (input 0 a graph input, the others
// initializers; nil: absent) and evaluates the node on ins.
func evalOp(t *testing.T, domain, op string, ins []*Tensor, attrs ...any) *Tensor {
	t.Helper()
	g := &Graph{Opset: 17, Initializers: map[string]*Tensor{},
		Inputs: []Value{{Name: "x", DType: ins[0].DType, Dims: dims(ins[0].Shape...)}}, Outputs: []Value{out("y")}}
	names := []string{"x"}
	for i, r := range ins[1:] {
		if r == nil {
			names = append(names, "")
			continue
		}
		name := string(rune('a' + i))
		g.Initializers[name] = r
		names = append(names, name)
	}
	n := node(op, names, []string{"y"}, attrs...)
	n.Domain = domain
	g.Nodes = []*Node{n}
	b, err := Build(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	args := []*Tensor{ins[0]}
	for _, name := range names[1:] {
		args = append(args, b.Initializers[name])
	}
	res, err := b.EvalNode(0, args, 2)
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

func u8s(shape []int, v ...uint8) *Tensor { return &Tensor{DType: Uint8, Shape: shape, U8: v} }
func i8s(shape []int, v ...int8) *Tensor  { return &Tensor{DType: Int8, Shape: shape, I8: v} }
func i32s(shape []int, v ...int32) *Tensor {
	return &Tensor{DType: Int32, Shape: shape, I32: v}
}
func sc(v float32) *Tensor { return f32s([]int{}, v) }

const ms = "com.microsoft"

// The com.microsoft ops on values worked out by hand (the ONNX-domain
// QOperator ops are checked against the ONNX backend tests).
func TestQLinearAddMul(t *testing.T) {
	// a = (q - 10) * 0.5 = {0, 5, 10, 15}; b = {0, 1} broadcast;
	// c = a + b = {0, 6, 10, 16} at scale 1, zero point 5.
	y := evalOp(t, ms, "QLinearAdd", []*Tensor{u8s([]int{2, 2}, 10, 20, 30, 40), sc(0.5), u8s(nil, 10),
		u8s([]int{2}, 0, 4), sc(0.25), u8s(nil, 0), sc(1), u8s(nil, 5)})
	if want := []uint8{5, 11, 15, 21}; !slices.Equal(y.U8, want) {
		t.Errorf("QLinearAdd: %v, want %v", y.U8, want)
	}
	// a = {-2, 3}, b = {1, -0.5}: products {-2, -1.5} at scale 0.5.
	y = evalOp(t, ms, "QLinearMul", []*Tensor{i8s([]int{2}, -3, 7), sc(0.5), i8s(nil, 1),
		i8s([]int{2}, 4, -2), sc(0.25), i8s(nil, 0), sc(0.5), i8s(nil, 0)})
	if want := []int8{-4, -3}; !slices.Equal(y.I8, want) {
		t.Errorf("QLinearMul: %v, want %v", y.I8, want)
	}
}

func TestQLinearPools(t *testing.T) {
	x := u8s([]int{1, 2, 2, 2}, 1, 2, 3, 4, 10, 10, 10, 13)
	// Means 2.5 (ties to even: 2) and 10.75 (11).
	y := evalOp(t, ms, "QLinearGlobalAveragePool", []*Tensor{x, sc(1), u8s(nil, 0), sc(1), u8s(nil, 0)})
	if want := []uint8{2, 11}; !slices.Equal(y.U8, want) || !slices.Equal(y.Shape, []int{1, 2, 1, 1}) {
		t.Errorf("QLinearGlobalAveragePool: %v %v, want %v", y.Shape, y.U8, want)
	}
	// 3x3 input, 2x2 windows, stride 2, pads 1 at the start: the first
	// window holds one cell (count 1 without the padding, 4 with it).
	x3 := u8s([]int{1, 1, 3, 3}, 8, 8, 8, 8, 8, 8, 8, 8, 8)
	for _, c := range []struct {
		include int
		want    []uint8
	}{{0, []uint8{8, 8, 8, 8}}, {1, []uint8{2, 4, 4, 8}}} {
		y = evalOp(t, ms, "QLinearAveragePool", []*Tensor{x3, sc(1), u8s(nil, 0), sc(1), u8s(nil, 0)},
			"kernel_shape", []int64{2, 2}, "strides", []int64{2, 2}, "pads", []int64{1, 1, 0, 0}, "count_include_pad", c.include)
		if !slices.Equal(y.U8, c.want) {
			t.Errorf("QLinearAveragePool count_include_pad=%d: %v, want %v", c.include, y.U8, c.want)
		}
	}
}

func TestQLinearUnaryAndConcat(t *testing.T) {
	// x = q/16: sigmoid(0) = 0.5 -> 128 - 128 = 0; sigmoid(1) = 0.7311
	// -> rint(187.15) - 128 = 59; sigmoid(-8) = 0.000335 -> 0 - 128.
	y := evalOp(t, ms, "QLinearSigmoid", []*Tensor{i8s([]int{3}, 0, 16, -128), sc(1.0 / 16), i8s(nil, 0), sc(1.0 / 256), i8s(nil, -128)})
	if want := []int8{0, 59, -128}; !slices.Equal(y.I8, want) {
		t.Errorf("QLinearSigmoid: %v, want %v", y.I8, want)
	}
	// x = (q - 100) / 2: -50 -> -5 -> -20 + 100 = 80; 50 -> 200 + 100
	// saturates at 255; 2 -> 8 + 100.
	y = evalOp(t, ms, "QLinearLeakyRelu", []*Tensor{u8s([]int{3}, 0, 200, 104), sc(0.5), u8s(nil, 100), sc(0.25), u8s(nil, 100)}, "alpha", float32(0.1))
	if want := []uint8{80, 255, 108}; !slices.Equal(y.U8, want) {
		t.Errorf("QLinearLeakyRelu: %v, want %v", y.U8, want)
	}
	// Concat along axis 1 into (s=1, zp=0): input 0 has the output's
	// params (copied), input 1 (s=0.5, zp=2) is requantized: (q-2)/2.
	y = evalOp(t, ms, "QLinearConcat", []*Tensor{sc(1), u8s(nil, 0),
		u8s([]int{2, 1}, 7, 9), sc(1), u8s(nil, 0),
		u8s([]int{2, 2}, 2, 5, 12, 255), sc(0.5), u8s(nil, 2)}, "axis", 1)
	// (5-2)/2 = 1.5 -> 2 (ties to even); (12-2)/2 = 5; 253/2 = 126.5 -> 126.
	if want := []uint8{7, 0, 2, 9, 5, 126}; !slices.Equal(y.U8, want) || !slices.Equal(y.Shape, []int{2, 3}) {
		t.Errorf("QLinearConcat: %v %v, want %v", y.Shape, y.U8, want)
	}
}

func TestQGemm(t *testing.T) {
	// A (uint8, zp 2) [2 3], B (int8, zp 0) transposed [2 3], C [2].
	a := u8s([]int{2, 3}, 3, 2, 4, 2, 5, 2)  // minus zp: {1 0 2; 0 3 0}
	b := i8s([]int{2, 3}, 1, 2, 3, -1, 0, 1) // B^T rows: column 0 = {1 2 3}, column 1 = {-1 0 1}
	c := i32s([]int{2}, 10, -10)
	// acc = {1+6+10, -1+2-10; 6+10, 0-10} = {17, -9; 16, -10}
	// Float output: acc * alpha * a_scale * b_scale = acc * 2 * 0.5 * 0.25.
	y := evalOp(t, ms, "QGemm", []*Tensor{a, sc(0.5), u8s(nil, 2), b, sc(0.25), i8s(nil, 0), c}, "transB", 1, "alpha", float32(2))
	if want := []float32{4.25, -2.25, 4, -2.5}; !slices.Equal(y.F32, want) {
		t.Errorf("QGemm float: %v, want %v", y.F32, want)
	}
	// Quantized into (s=0.5, zp=128): acc * 0.25 / 0.5 = acc / 2:
	// 8.5 -> 8 (even), -4.5 -> -4, 8, -5.
	y = evalOp(t, ms, "QGemm", []*Tensor{a, sc(0.5), u8s(nil, 2), b, sc(0.25), i8s(nil, 0), c, sc(0.5), u8s(nil, 128)}, "transB", 1, "alpha", float32(2))
	if want := []uint8{136, 124, 136, 123}; !slices.Equal(y.U8, want) {
		t.Errorf("QGemm quantized: %v, want %v", y.U8, want)
	}
}

// TestUnaryFunc: UnaryFunc gives a unary node's function with its
// attributes, and refuses other nodes.
func TestUnaryFunc(t *testing.T) {
	g := &Graph{Opset: 17, Inputs: []Value{in("x", Float32, dims(2))}, Outputs: []Value{out("y"), out("z")},
		Nodes: []*Node{node("LeakyRelu", []string{"x"}, []string{"y"}, "alpha", float32(0.5)), node("Add", []string{"x", "x"}, []string{"z"})}}
	b, err := Build(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, ok := b.UnaryFunc(0)
	if !ok || f(-2) != -1 || f(3) != 3 {
		t.Fatalf("LeakyRelu(alpha 0.5): ok %v", ok)
	}
	if _, ok := b.UnaryFunc(1); ok {
		t.Fatal("Add is not unary")
	}
}
