package graph

import (
	"math"
	"testing"
)

// TestGelu checks the opset-20 Gelu op (ONNX 1.12's backend data predates
// it) against Python's float64 math rounded to float32:
//
//	none: 0.5*x*math.erfc(-x/math.sqrt(2))
//	tanh: 0.5*x*(1+math.tanh(math.sqrt(2/math.pi)*(x+0.044715*x**3)))
//
// (torch 1.13's float32 gelu agrees to 1 ulp for x >= -0.5 and loses
// precision to cancellation below: -0.0040498674 for gelu(-3), whose
// value is -0.0040496942.)
func TestGelu(t *testing.T) {
	x := []float32{-3, -2, -0.5, 0, 0.7, 1, 2.5}
	want := map[string][]float32{
		"none": {-0.004049694165587425, -0.0455002635717392, -0.1542687714099884, 0.0, 0.5306254625320435, 0.8413447737693787, 2.48447585105896},
		"tanh": {-0.003637392073869705, -0.04540230706334114, -0.1542859971523285, 0.0, 0.5305701494216919, 0.8411920070648193, 2.4849157333374023},
	}
	for mode, w := range want {
		g := &Graph{Opset: 20, Inputs: []Value{in("x", Float32, dims(len(x)))}, Outputs: []Value{out("y")},
			Nodes: []*Node{node("Gelu", []string{"x"}, []string{"y"}, "approximate", mode)}}
		b, err := Build(g, Options{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := b.EvalNode(0, []*Tensor{f32s([]int{len(x)}, x...)}, 1)
		if err != nil {
			t.Fatal(err)
		}
		for i := range x {
			// Both round a float64 result once; erf and tanh of Go and
			// of C's libm may differ in the last bit of a float64,
			// which can move the float32 by one ulp.
			if d := math.Abs(float64(res[0].F32[i] - w[i])); d > ulp(w[i]) {
				t.Errorf("%s gelu(%v) = %v, want %v", mode, x[i], res[0].F32[i], w[i])
			}
		}
	}
	_, err := infer(20, "Gelu", []arg{sh(2)}, 1, "approximate", "fast")
	mustErr(t, err, ErrUnsupported, "approximate")
}

func ulp(v float32) float64 {
	b := math.Float32bits(float32(math.Abs(float64(v))))
	return float64(math.Float32frombits(b+1) - math.Float32frombits(b))
}
