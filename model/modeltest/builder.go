package modeltest

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

// Builder makes small ONNX models in Go: QDQ graphs with weights drawn
// from a seeded generator.
type Builder struct {
	// Opset is the default-domain opset the model imports (17).
	Opset int64
	// Rand draws the weights; tests may draw inputs from it too.
	Rand *rand.Rand
	// Dynamic declares dimension 0 of later inputs as the symbolic "N".
	Dynamic bool
	t       testing.TB
	nodes   []*onnxpb.NodeProto
	inits   []*onnxpb.TensorProto
	inputs  []*onnxpb.ValueInfoProto
	outputs []*onnxpb.ValueInfoProto
	n       int
	ms      bool // a com.microsoft node was added
}

// NewBuilder starts an empty model whose weights are drawn with seed.
func NewBuilder(t testing.TB, seed uint64) *Builder {
	return &Builder{t: t, Opset: 17, Rand: rand.New(rand.NewPCG(seed, 7))}
}

func (b *Builder) name(prefix string) string {
	b.n++
	return fmt.Sprintf("%s%d", prefix, b.n)
}

// ValueInfo is the ValueInfoProto of a tensor with static dims.
func ValueInfo(name string, dt onnx.DataType, dims ...int) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt)), Shape: shape}}},
	}
}

// Input declares a float32 graph input with static dims.
func (b *Builder) Input(name string, dims ...int) string {
	vi := ValueInfo(name, onnx.Float, dims...)
	if b.Dynamic && len(dims) > 0 {
		vi.Type.GetTensorType().Shape.Dim[0].Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
	}
	b.inputs = append(b.inputs, vi)
	return name
}

// Output declares a graph output of element type dt (default float),
// shape left to inference.
func (b *Builder) Output(name string, dt ...onnx.DataType) {
	d := onnx.Float
	if len(dt) > 0 {
		d = dt[0]
	}
	b.outputs = append(b.outputs, &onnxpb.ValueInfoProto{Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(d))}}}})
}

// Attr is a node attribute.
type Attr = *onnxpb.AttributeProto

// AInt is an int attribute.
func AInt(name string, v int64) Attr {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

// AInts is an ints attribute.
func AInts(name string, v ...int64) Attr {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

// AFloat is a float attribute.
func AFloat(name string, v float32) Attr {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// Node adds a node with one output and returns the output's name.
func (b *Builder) Node(op string, ins []string, attrs ...Attr) string {
	out := b.name("v")
	b.nodes = append(b.nodes, &onnxpb.NodeProto{Name: proto.String(b.name(op)), OpType: proto.String(op), Input: ins, Output: []string{out}, Attribute: attrs})
	return out
}

// I32 adds an int32 initializer.
func (b *Builder) I32(dims []int, v ...int32) string { return initT(b, dims, v) }

// I8 adds an int8 initializer.
func (b *Builder) I8(dims []int, v ...int8) string { return initT(b, dims, v) }

// NodeN adds a node with n outputs and returns their names.
func (b *Builder) NodeN(op string, n int, ins []string, attrs ...Attr) []string {
	outs := make([]string, n)
	for i := range outs {
		outs[i] = b.name("v")
	}
	b.nodes = append(b.nodes, &onnxpb.NodeProto{Name: proto.String(b.name(op)), OpType: proto.String(op), Input: ins, Output: outs, Attribute: attrs})
	return outs
}

// MSNode adds a node of ONNX Runtime's com.microsoft domain (QLinearAdd,
// QGemm, ...) with one output and returns the output's name.
func (b *Builder) MSNode(op string, ins []string, attrs ...Attr) string {
	out := b.Node(op, ins, attrs...)
	b.nodes[len(b.nodes)-1].Domain = proto.String("com.microsoft")
	b.ms = true
	return out
}

func initT[T onnx.Element](b *Builder, dims []int, data []T) string {
	name := b.name("c")
	tp, err := onnx.NewTensor(name, dims, data)
	if err != nil {
		b.t.Fatal(err)
	}
	b.inits = append(b.inits, tp)
	return name
}

// F32 adds a float32 initializer (nil dims: a scalar).
func (b *Builder) F32(dims []int, v ...float32) string { return initT(b, dims, v) }

// ZP returns a zero point initializer of type dt (onnx.Uint8, Int8 or
// Int32).
func (b *Builder) ZP(dt onnx.DataType, dims []int, v ...int) string {
	if dt == onnx.Int32 {
		d := make([]int32, len(v))
		for i, x := range v {
			d[i] = int32(x)
		}
		return initT(b, dims, d)
	}
	if dt == onnx.Int8 {
		d := make([]int8, len(v))
		for i, x := range v {
			d[i] = int8(x)
		}
		return initT(b, dims, d)
	}
	d := make([]uint8, len(v))
	for i, x := range v {
		d[i] = uint8(x)
	}
	return initT(b, dims, d)
}

// Q adds QuantizeLinear(x) per tensor into dt with (scale, zp).
func (b *Builder) Q(x string, dt onnx.DataType, scale float32, zp int) string {
	return b.Node("QuantizeLinear", []string{x, b.F32(nil, scale), b.ZP(dt, nil, zp)})
}

// DQ adds DequantizeLinear(x) per tensor.
func (b *Builder) DQ(x string, dt onnx.DataType, scale float32, zp int) string {
	return b.Node("DequantizeLinear", []string{x, b.F32(nil, scale), b.ZP(dt, nil, zp)})
}

// QDQ is Q then DQ: a quantized activation as the QDQ format writes it.
func (b *Builder) QDQ(x string, dt onnx.DataType, scale float32, zp int) string {
	return b.DQ(b.Q(x, dt, scale, zp), dt, scale, zp)
}

// Weights adds random int8 weights of the given shape, per output channel
// (axis) or per tensor (axis < 0), and returns DequantizeLinear of them.
func (b *Builder) Weights(shape []int, axis int, scale float32) (string, []int8, []float32) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	w := make([]int8, n)
	for i := range w {
		w[i] = int8(b.Rand.IntN(255) - 127)
	}
	wn := initT(b, shape, w)
	if axis < 0 {
		return b.Node("DequantizeLinear", []string{wn, b.F32(nil, scale), b.ZP(onnx.Int8, nil, 0)}), w, []float32{scale}
	}
	c := shape[axis]
	scales := make([]float32, c)
	zps := make([]int, c)
	for i := range scales {
		scales[i] = scale * float32(0.5+b.Rand.Float64())
	}
	out := b.Node("DequantizeLinear", []string{wn, b.F32([]int{c}, scales...), b.ZP(onnx.Int8, []int{c}, zps...)}, AInt("axis", int64(axis)))
	return out, w, scales
}

// RawWeights adds random int8 weights of the given shape (no
// DequantizeLinear: for QOperator nodes) and returns their name and
// values.
func (b *Builder) RawWeights(shape []int) (string, []int8) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	w := make([]int8, n)
	for i := range w {
		w[i] = int8(b.Rand.IntN(255) - 127)
	}
	return initT(b, shape, w), w
}

// Bias adds an int32 bias DequantizeLinear with scale xs*ws[c].
func (b *Builder) Bias(n int, xs float32, ws []float32) (string, []int32) {
	v := make([]int32, n)
	s := make([]float32, n)
	for i := range v {
		v[i] = int32(b.Rand.IntN(4001) - 2000)
		s[i] = xs * ws[min(i, len(ws)-1)]
	}
	bn := initT(b, []int{n}, v)
	return b.Node("DequantizeLinear", []string{bn, b.F32([]int{n}, s...), initT(b, []int{n}, make([]int32, n))}, AInt("axis", 0)), v
}

// Model returns the ModelProto (IR 8).
func (b *Builder) Model() *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("qgpu model test"),
		OpsetImport:  b.opsets(),
		Graph: &onnxpb.GraphProto{Name: proto.String("g"), Node: b.nodes, Initializer: b.inits,
			Input: b.inputs, Output: b.outputs},
	}
}

func (b *Builder) opsets() []*onnxpb.OperatorSetIdProto {
	o := []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(b.Opset)}}
	if b.ms {
		o = append(o, &onnxpb.OperatorSetIdProto{Domain: proto.String("com.microsoft"), Version: proto.Int64(1)})
	}
	return o
}

// Bytes encodes the model.
func (b *Builder) Bytes() []byte {
	data, err := onnx.Encode(b.Model())
	if err != nil {
		b.t.Fatal(err)
	}
	return data
}

// Graph builds the model's graph as the runtime does.
func (b *Builder) Graph() *graph.Graph {
	g, err := graph.FromONNX(b.Model(), graph.Options{})
	if err != nil {
		b.t.Fatal(err)
	}
	return g
}

// Load makes the model with opts; it is closed when the test ends.
func (b *Builder) Load(opts model.Options) *model.Model {
	b.t.Helper()
	m, err := model.FromONNX(b.Model(), opts)
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { m.Close() })
	return m
}

// RandInput returns a float32 tensor of uniform values in [lo, hi).
func RandInput(rng *rand.Rand, shape []int, lo, hi float32) *graph.Tensor {
	t, err := graph.NewTensor(graph.Float32, shape)
	if err != nil {
		panic(err)
	}
	for i := range t.F32 {
		t.F32[i] = lo + (hi-lo)*rng.Float32()
	}
	return t
}

// I64 adds an int64 initializer (a Reshape's shape, say).
func (b *Builder) I64(dims []int, v ...int64) string { return initT(b, dims, v) }
