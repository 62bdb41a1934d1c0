package graph

import (
	"slices"
	"testing"
)

// run1 builds a one-node graph over constant inputs and returns output 0
// (FoldQDQ so that the node is evaluated at build time, then also run
// through EvalNode on a graph where the input is fed).
func evalQDQ(t *testing.T, op string, x *Tensor, rest []*Tensor, attrs ...any) *Tensor {
	t.Helper()
	g := &Graph{Opset: 13, Initializers: map[string]*Tensor{},
		Inputs: []Value{{Name: "x", DType: x.DType, Dims: dims(x.Shape...)}}, Outputs: []Value{out("y")}}
	names := []string{"x"}
	for i, r := range rest {
		name := string(rune('a' + i))
		g.Initializers[name] = r
		names = append(names, name)
	}
	g.Nodes = []*Node{node(op, names, []string{"y"}, attrs...)}
	b, err := Build(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	args := []*Tensor{x}
	for _, name := range names[1:] {
		args = append(args, b.Initializers[name])
	}
	res, err := b.EvalNode(0, args, 1)
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

// TestQuantizeDequantize: per-axis and per-tensor, int8 and uint8, with
// ties rounded half to even, saturation and NaN, worked out by hand from
// q = clamp(rint(x / s) + zp) and x = (q - zp) * s.
func TestQuantizeDequantize(t *testing.T) {
	nan := float32(0)
	nan = nan / nan
	x := f32s([]int{2, 4}, 0.5, 1.5, -2.5, nan, 0.25, 100, -0.75, -1000)
	scales := f32s([]int{2}, 1, 0.5)
	zps := &Tensor{DType: Int8, Shape: []int{2}, I8: []int8{0, 10}}
	q := evalQDQ(t, "QuantizeLinear", x, []*Tensor{scales, zps}, "axis", 0)
	// row 0 (s=1, zp=0): rint(0.5)=0, rint(1.5)=2, rint(-2.5)=-2, NaN->0
	// row 1 (s=0.5, zp=10): 0.5->0+10, 200+10 saturates, -1.5->-2+10, -2000+10 saturates
	if want := []int8{0, 2, -2, 0, 10, 127, 8, -128}; q.DType != Int8 || !slices.Equal(q.I8, want) {
		t.Fatalf("quantize: %v %v, want %v", q.DType, q.I8, want)
	}
	d := evalQDQ(t, "DequantizeLinear", q, []*Tensor{scales, zps}, "axis", 0)
	if want := []float32{0, 2, -2, 0, 0, 58.5, -1, -69}; !slices.Equal(d.F32, want) {
		t.Fatalf("dequantize: %v, want %v", d.F32, want)
	}
	// Per tensor, no zero point: uint8 with zero point 0.
	u := evalQDQ(t, "QuantizeLinear", f32s([]int{4}, -1, 300, 2.5, 3.5), []*Tensor{Scalar(1)})
	if want := []uint8{0, 255, 2, 4}; u.DType != Uint8 || !slices.Equal(u.U8, want) {
		t.Fatalf("uint8: %v %v, want %v", u.DType, u.U8, want)
	}
	// Per axis 1 of a [2 2 2] tensor: channel = (i / 2) % 2.
	x3 := f32s([]int{2, 2, 2}, 1, 1, 1, 1, 1, 1, 1, 1)
	q3 := evalQDQ(t, "QuantizeLinear", x3, []*Tensor{f32s([]int{2}, 1, 0.25),
		{DType: Uint8, Shape: []int{2}, U8: []uint8{0, 100}}}, "axis", -2)
	if want := []uint8{1, 1, 104, 104, 1, 1, 104, 104}; !slices.Equal(q3.U8, want) {
		t.Fatalf("axis 1: %v, want %v", q3.U8, want)
	}
	// A bad scale is an error at run time.
	g := &Graph{Opset: 13, Inputs: []Value{in("x", Float32, dims(1)), in("s", Float32, dims())}, Outputs: []Value{out("y")},
		Nodes: []*Node{node("QuantizeLinear", []string{"x", "s"}, []string{"y"})}}
	b, err := Build(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.EvalNode(0, []*Tensor{f32s([]int{1}, 1), Scalar(0)}, 1); err == nil {
		t.Fatal("scale 0 accepted")
	}
}

// TestQDQOneElementParams: a scale of shape [1] with a zero point of shape
// [] (as ONNX Runtime's quantizer writes biases) is per tensor; a [2]
// scale with a [] zero point is still an error.
func TestQDQOneElementParams(t *testing.T) {
	b := &Tensor{DType: Int32, Shape: []int{3}, I32: []int32{-2, 0, 5}}
	d := evalQDQ(t, "DequantizeLinear", b, []*Tensor{f32s([]int{1}, 0.5), {DType: Int32, Shape: []int{}, I32: []int32{0}}})
	if want := []float32{-1, 0, 2.5}; !slices.Equal(d.F32, want) {
		t.Fatalf("dequantize: %v, want %v", d.F32, want)
	}
	g := &Graph{Opset: 13, Initializers: map[string]*Tensor{"s": f32s([]int{2}, 1, 2), "z": {DType: Uint8, Shape: []int{}, U8: []uint8{0}}},
		Inputs: []Value{in("x", Float32, dims(2))}, Outputs: []Value{out("y")},
		Nodes: []*Node{node("QuantizeLinear", []string{"x", "s", "z"}, []string{"y"}, "axis", 0)}}
	if _, err := Build(g, Options{}); err == nil {
		t.Fatal("[2] scale with a [] zero point accepted")
	}
}
