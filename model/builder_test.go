package model_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/model"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// builder makes small ONNX models in Go for the tests: QDQ graphs with
// weights drawn from a seeded generator.
type builder struct {
	t       testing.TB
	opset   int64
	nodes   []*onnxpb.NodeProto
	inits   []*onnxpb.TensorProto
	inputs  []*onnxpb.ValueInfoProto
	outputs []*onnxpb.ValueInfoProto
	n       int
	rng     *rand.Rand
}

func newBuilder(t testing.TB, seed uint64) *builder {
	return &builder{t: t, opset: 17, rng: rand.New(rand.NewPCG(seed, 7))}
}

func (b *builder) name(prefix string) string {
	b.n++
	return fmt.Sprintf("%s%d", prefix, b.n)
}

func valueInfo(name string, dt onnx.DataType, dims ...int) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt)), Shape: shape}}},
	}
}

func (b *builder) input(name string, dims ...int) string {
	b.inputs = append(b.inputs, valueInfo(name, onnx.Float, dims...))
	return name
}

// output declares a graph output of element type dt (default float),
// shape left to inference.
func (b *builder) output(name string, dt ...onnx.DataType) {
	d := onnx.Float
	if len(dt) > 0 {
		d = dt[0]
	}
	b.outputs = append(b.outputs, &onnxpb.ValueInfoProto{Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(d))}}}})
}

type attr = *onnxpb.AttributeProto

func aInt(name string, v int64) attr {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func aInts(name string, v ...int64) attr {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func aFloat(name string, v float32) attr {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// node adds a node with one output and returns the output's name.
func (b *builder) node(op string, ins []string, attrs ...attr) string {
	out := b.name("v")
	b.nodes = append(b.nodes, &onnxpb.NodeProto{Name: proto.String(b.name(op)), OpType: proto.String(op), Input: ins, Output: []string{out}, Attribute: attrs})
	return out
}

func init_[T onnx.Element](b *builder, dims []int, data []T) string {
	name := b.name("c")
	tp, err := onnx.NewTensor(name, dims, data)
	if err != nil {
		b.t.Fatal(err)
	}
	b.inits = append(b.inits, tp)
	return name
}

func (b *builder) f32(dims []int, v ...float32) string { return init_(b, dims, v) }

// zp returns a zero point initializer of type dt (onnx.Uint8 or Int8).
func (b *builder) zp(dt onnx.DataType, dims []int, v ...int) string {
	if dt == onnx.Int8 {
		d := make([]int8, len(v))
		for i, x := range v {
			d[i] = int8(x)
		}
		return init_(b, dims, d)
	}
	d := make([]uint8, len(v))
	for i, x := range v {
		d[i] = uint8(x)
	}
	return init_(b, dims, d)
}

// q adds QuantizeLinear(x) per tensor into dt with (scale, zp).
func (b *builder) q(x string, dt onnx.DataType, scale float32, zp int) string {
	return b.node("QuantizeLinear", []string{x, b.f32(nil, scale), b.zp(dt, nil, zp)})
}

// dq adds DequantizeLinear(x) per tensor.
func (b *builder) dq(x string, dt onnx.DataType, scale float32, zp int) string {
	return b.node("DequantizeLinear", []string{x, b.f32(nil, scale), b.zp(dt, nil, zp)})
}

// qdq is Q then DQ: a quantized activation as the QDQ format writes it.
func (b *builder) qdq(x string, dt onnx.DataType, scale float32, zp int) string {
	return b.dq(b.q(x, dt, scale, zp), dt, scale, zp)
}

// weights adds random int8 weights of the given shape, per output channel
// (axis) or per tensor (axis < 0), and returns DequantizeLinear of them.
func (b *builder) weights(shape []int, axis int, scale float32) (string, []int8, []float32) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	w := make([]int8, n)
	for i := range w {
		w[i] = int8(b.rng.IntN(255) - 127)
	}
	wn := init_(b, shape, w)
	if axis < 0 {
		return b.node("DequantizeLinear", []string{wn, b.f32(nil, scale), b.zp(onnx.Int8, nil, 0)}), w, []float32{scale}
	}
	c := shape[axis]
	scales := make([]float32, c)
	zps := make([]int, c)
	for i := range scales {
		scales[i] = scale * float32(0.5+b.rng.Float64())
	}
	out := b.node("DequantizeLinear", []string{wn, b.f32([]int{c}, scales...), b.zp(onnx.Int8, []int{c}, zps...)}, aInt("axis", int64(axis)))
	return out, w, scales
}

// bias adds an int32 bias DequantizeLinear with scale xs*ws[c].
func (b *builder) bias(n int, xs float32, ws []float32) (string, []int32) {
	v := make([]int32, n)
	s := make([]float32, n)
	for i := range v {
		v[i] = int32(b.rng.IntN(4001) - 2000)
		s[i] = xs * ws[min(i, len(ws)-1)]
	}
	bn := init_(b, []int{n}, v)
	return b.node("DequantizeLinear", []string{bn, b.f32([]int{n}, s...), init_(b, []int{n}, make([]int32, n))}, aInt("axis", 0)), v
}

func (b *builder) model() *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("qgpu model test"),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(b.opset)}},
		Graph: &onnxpb.GraphProto{Name: proto.String("g"), Node: b.nodes, Initializer: b.inits,
			Input: b.inputs, Output: b.outputs},
	}
}

// bytes encodes the model.
func (b *builder) bytes() []byte {
	data, err := onnx.Encode(b.model())
	if err != nil {
		b.t.Fatal(err)
	}
	return data
}

// graph builds the model's graph as the runtime does.
func (b *builder) graph() *graph.Graph {
	g, err := graph.FromONNX(b.model(), graph.Options{})
	if err != nil {
		b.t.Fatal(err)
	}
	return g
}

// load builds the model on opts.
func (b *builder) load(opts model.Options) *model.Model {
	b.t.Helper()
	m, err := model.FromONNX(b.model(), opts)
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { m.Close() })
	return m
}

// randInput returns a float32 tensor of uniform values in [lo, hi).
func randInput(rng *rand.Rand, shape []int, lo, hi float32) *graph.Tensor {
	t, err := graph.NewTensor(graph.Float32, shape)
	if err != nil {
		panic(err)
	}
	for i := range t.F32 {
		t.F32[i] = lo + (hi-lo)*rng.Float32()
	}
	return t
}
