package modeltest

import (
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// Case is a test model with inputs.
type Case struct {
	Name string
	// Model builds the ONNX model.
	Model func(t testing.TB) *onnxpb.ModelProto
	// Inputs draws the inputs (by graph input name).
	Inputs func(rng *rand.Rand) map[string]*graph.Tensor
}

// Cases returns the models built in Go that every backend must run to
// the same bytes: a QDQ residual CNN that lowers completely (one engine
// submission), an int8 MLP with a host fallback in the middle (a Sigmoid:
// several submissions, uploads and downloads), and a graph of fallbacks
// (a Clip that needs a table lookup after a float-output Conv, a
// ceil_mode AveragePool, a broadcasting Add).
func Cases() []Case {
	return []Case{
		{Name: "qdq_resnet_block", Model: ResNetBlock, Inputs: func(rng *rand.Rand) map[string]*graph.Tensor {
			return map[string]*graph.Tensor{"x": RandInput(rng, []int{2, 3, 16, 16}, -2.7, 2.7)}
		}},
		{Name: "qdq_int8_mlp", Model: Int8MLP, Inputs: func(rng *rand.Rand) map[string]*graph.Tensor {
			return map[string]*graph.Tensor{"x": RandInput(rng, []int{4, 32}, -7, 7)}
		}},
		{Name: "qdq_fallbacks", Model: Fallbacks, Inputs: func(rng *rand.Rand) map[string]*graph.Tensor {
			return map[string]*graph.Tensor{"x": RandInput(rng, []int{1, 4, 9, 9}, -2.7, 2.7)}
		}},
		{Name: "nbits_mlp", Model: NBitsMLP, Inputs: func(rng *rand.Rand) map[string]*graph.Tensor {
			return map[string]*graph.Tensor{"x": RandInput(rng, []int{2, 3, 64}, -2, 2)}
		}},
		{Name: "qop_cnn", Model: QOpCNN, Inputs: func(rng *rand.Rand) map[string]*graph.Tensor {
			return map[string]*graph.Tensor{"x": RandInput(rng, []int{2, 3, 8, 8}, -2.7, 2.7), "x2": RandInput(rng, []int{4, 16}, -3, 3)}
		}},
	}
}

// QOpCNN is a QOperator model (ONNX Runtime's QOperator format): two
// QLinearConvs, QLinearAdd, QLinearMul, QLinearGlobalAveragePool, a
// Flatten of quantized data, QGemm (quantized and float outputs),
// QLinearMatMul with per-column weights, QLinearSigmoid, QLinearConcat,
// and on a second input a MatMulInteger
// and ConvInteger with constant zero points and a MatMulInteger after a
// DynamicQuantizeLinear (its zero point computed: on the host).
func QOpCNN(t testing.TB) *onnxpb.ModelProto {
	b := NewBuilder(t, 104)
	u8, i8 := onnx.Uint8, onnx.Int8
	x := b.Q(b.Input("x", 2, 3, 8, 8), u8, 0.02, 128)
	w1, _ := b.RawWeights([]int{4, 3, 3, 3})
	bias1 := b.I32([]int{4}, 100, -200, 300, 0)
	c1 := b.Node("QLinearConv", []string{x, b.F32(nil, 0.02), b.ZP(u8, nil, 128), w1, b.F32([]int{4}, 0.01, 0.012, 0.008, 0.011), b.ZP(i8, []int{4}, 0, 0, 0, 0),
		b.F32(nil, 0.05), b.ZP(u8, nil, 0), bias1}, AInts("pads", 1, 1, 1, 1))
	w2, _ := b.RawWeights([]int{4, 4, 1, 1})
	c2 := b.Node("QLinearConv", []string{c1, b.F32(nil, 0.05), b.ZP(u8, nil, 0), w2, b.F32(nil, 0.02), b.ZP(i8, nil, 0), b.F32(nil, 0.04), b.ZP(u8, nil, 10)})
	cat := b.MSNode("QLinearConcat", []string{b.F32(nil, 0.05), b.ZP(u8, nil, 3), c1, b.F32(nil, 0.05), b.ZP(u8, nil, 0), c2, b.F32(nil, 0.04), b.ZP(u8, nil, 10)}, AInt("axis", 1))
	b.Output(b.DQ(cat, u8, 0.05, 3))
	add := b.MSNode("QLinearAdd", []string{c1, b.F32(nil, 0.05), b.ZP(u8, nil, 0), c2, b.F32(nil, 0.04), b.ZP(u8, nil, 10), b.F32(nil, 0.06), b.ZP(u8, nil, 5)})
	mul := b.MSNode("QLinearMul", []string{add, b.F32(nil, 0.06), b.ZP(u8, nil, 5), c2, b.F32(nil, 0.04), b.ZP(u8, nil, 10), b.F32(nil, 0.2), b.ZP(u8, nil, 100)})
	gap := b.MSNode("QLinearGlobalAveragePool", []string{mul, b.F32(nil, 0.2), b.ZP(u8, nil, 100), b.F32(nil, 0.03), b.ZP(u8, nil, 128)})
	fl := b.Node("Flatten", []string{gap})
	wg, _ := b.RawWeights([]int{6, 4})
	qg := b.MSNode("QGemm", []string{fl, b.F32(nil, 0.03), b.ZP(u8, nil, 128), wg, b.F32(nil, 0.02), b.ZP(i8, nil, 0), b.I32([]int{6}, 5, -5, 50, -50, 0, 7),
		b.F32(nil, 0.1), b.ZP(u8, nil, 128)}, AInt("transB", 1), AFloat("alpha", 0.5))
	wm, _ := b.RawWeights([]int{6, 5})
	mm := b.Node("QLinearMatMul", []string{qg, b.F32(nil, 0.1), b.ZP(u8, nil, 128), wm, b.F32([]int{5}, 0.01, 0.02, 0.015, 0.01, 0.03), b.ZP(i8, []int{5}, 0, 1, -1, 0, 2),
		b.F32(nil, 0.2), b.ZP(u8, nil, 100)})
	sig := b.MSNode("QLinearSigmoid", []string{mm, b.F32(nil, 0.2), b.ZP(u8, nil, 100), b.F32(nil, 1.0/256), b.ZP(u8, nil, 0)})
	b.Output(b.DQ(sig, u8, 1.0/256, 0))
	wf, _ := b.RawWeights([]int{6, 3})
	b.Output(b.MSNode("QGemm", []string{qg, b.F32(nil, 0.1), b.ZP(u8, nil, 128), wf, b.F32(nil, 0.05), b.ZP(i8, nil, 0)}))

	x2 := b.Input("x2", 4, 16)
	q2 := b.Q(x2, u8, 0.03, 120)
	wi, _ := b.RawWeights([]int{16, 8})
	mi := b.Node("MatMulInteger", []string{q2, wi, b.ZP(u8, nil, 120), b.ZP(i8, []int{8}, 0, 1, 2, 3, -1, -2, -3, 0)})
	b.Output(mi, onnx.Int32)
	wc, _ := b.RawWeights([]int{2, 4, 3})
	ci := b.Node("ConvInteger", []string{b.Node("Unsqueeze", []string{q2, b.I64([]int{1}, 0)}), wc, b.ZP(u8, nil, 120)}, AInts("pads", 1, 1))
	b.Output(ci, onnx.Int32)
	dq := b.NodeN("DynamicQuantizeLinear", 3, []string{x2})
	b.Output(b.Node("MatMulInteger", []string{dq[0], wi, dq[2]}), onnx.Int32)
	return b.Model()
}

// ResNetBlock is a QDQ residual CNN (uint8 activations, int8 per-channel
// weights, int32 biases, as ONNX Runtime's quantizer writes them): a
// strided 3x3 Conv+Relu, a MaxPool, a 1x1 and a depthwise 3x3 Conv, a
// residual Add+Relu, GlobalAveragePool, Flatten and a Gemm with transB.
// Every node lowers.
func ResNetBlock(t testing.TB) *onnxpb.ModelProto {
	b := NewBuilder(t, 101)
	x := b.QDQ(b.Input("x", 2, 3, 16, 16), onnx.Uint8, 0.02, 128)
	conv := func(x string, xs float32, cin, cout, k, stride, group int, relu bool, ys float32, yzp int) string {
		w, _, ws := b.Weights([]int{cout, cin / group, k, k}, 0, 0.03)
		bias, _ := b.Bias(cout, xs, ws)
		p := int64(k / 2)
		y := b.Node("Conv", []string{x, w, bias}, AInt("group", int64(group)), AInts("strides", int64(stride), int64(stride)),
			AInts("pads", p, p, p, p), AInts("kernel_shape", int64(k), int64(k)))
		if relu {
			y = b.Node("Relu", []string{y})
		}
		return b.QDQ(y, onnx.Uint8, ys, yzp)
	}
	c1 := conv(x, 0.02, 3, 8, 3, 2, 1, true, 0.05, 0)
	mp := b.QDQ(b.Node("MaxPool", []string{c1}, AInts("kernel_shape", 3, 3), AInts("strides", 2, 2), AInts("pads", 1, 1, 1, 1)), onnx.Uint8, 0.05, 0)
	c2 := conv(mp, 0.05, 8, 8, 1, 1, 1, true, 0.04, 0)
	c3 := conv(c2, 0.04, 8, 8, 3, 1, 8, false, 0.06, 128)
	add := b.QDQ(b.Node("Relu", []string{b.Node("Add", []string{c3, mp})}), onnx.Uint8, 0.07, 0)
	gap := b.QDQ(b.Node("GlobalAveragePool", []string{add}), onnx.Uint8, 0.02, 0)
	fl := b.Node("Flatten", []string{gap})
	w, _, ws := b.Weights([]int{10, 8}, 0, 0.005)
	bias, _ := b.Bias(10, 0.02, ws)
	y := b.Node("Gemm", []string{fl, w, bias}, AInt("transB", 1))
	b.Output(b.DQ(b.Q(y, onnx.Uint8, 0.1, 128), onnx.Uint8, 0.1, 128))
	return b.Model()
}

// Int8MLP is a QDQ MLP with symmetric int8 activations: MatMul+Relu (a
// ReLU the range does not imply: zero point 0), a Sigmoid (a table
// lookup), a Softmax on the host, a Mul of two quantized tensors, and a
// Gemm with a float output.
func Int8MLP(t testing.TB) *onnxpb.ModelProto {
	b := NewBuilder(t, 102)
	x := b.QDQ(b.Input("x", 4, 32), onnx.Int8, 0.05, 0)
	w, _, _ := b.Weights([]int{32, 16}, 1, 0.02)
	h := b.QDQ(b.Node("Relu", []string{b.Node("MatMul", []string{x, w})}), onnx.Int8, 0.03, 0)
	sg := b.QDQ(b.Node("Sigmoid", []string{h}), onnx.Int8, 1.0/256, -128)
	s := b.QDQ(b.Node("Softmax", []string{sg}, AInt("axis", -1)), onnx.Int8, 1.0/256, -128)
	mul := b.QDQ(b.Node("Mul", []string{h, s}), onnx.Int8, 0.02, 0)
	w2, _, ws2 := b.Weights([]int{16, 6}, 1, 0.04)
	bias, _ := b.Bias(6, 0.02, ws2)
	b.Output(b.Node("Gemm", []string{mul, w2, bias}))
	return b.Model()
}

// Fallbacks is a QDQ graph of nodes that do not lower, or lower only in
// part: a Conv with a Clip the output range does not imply (a table
// lookup), a ceil_mode AveragePool and an Add of a float constant on the
// host, then a Conv with a float32 output (a graph output).
func Fallbacks(t testing.TB) *onnxpb.ModelProto {
	b := NewBuilder(t, 103)
	x := b.QDQ(b.Input("x", 1, 4, 9, 9), onnx.Uint8, 0.02, 128)
	w, _, ws := b.Weights([]int{6, 4, 3, 3}, 0, 0.03)
	bias, _ := b.Bias(6, 0.02, ws)
	c := b.Node("Conv", []string{x, w, bias}, AInts("pads", 1, 1, 1, 1))
	cl := b.QDQ(b.Node("Clip", []string{c, b.F32(nil, 0.5), b.F32(nil, 3)}), onnx.Uint8, 0.02, 0)
	ap := b.QDQ(b.Node("AveragePool", []string{cl}, AInts("kernel_shape", 2, 2), AInts("strides", 2, 2), AInt("ceil_mode", 1)), onnx.Uint8, 0.02, 0)
	add := b.QDQ(b.Node("Add", []string{ap, b.F32([]int{6, 1, 1}, 0.1, -0.2, 0.3, -0.4, 0.5, -0.6)}), onnx.Uint8, 0.025, 10)
	w2, _, ws2 := b.Weights([]int{3, 6, 3, 3}, 0, 0.03)
	bias2, _ := b.Bias(3, 0.025, ws2)
	y := b.Node("Conv", []string{add, w2, bias2}, AInts("pads", 1, 1, 1, 1))
	b.Output(y)
	return b.Model()
}
