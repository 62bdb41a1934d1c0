package onnx

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// testModel is a small valid model: y = x + w, IR 8, opset 17.
func testModel(t testing.TB) *onnxpb.ModelProto {
	t.Helper()
	w, err := NewTensor("w", []int{2}, []float32{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("qgpu test"),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph: &onnxpb.GraphProto{
			Name:        proto.String("g"),
			Node:        []*onnxpb.NodeProto{{Name: proto.String("add"), OpType: proto.String("Add"), Input: []string{"x", "w"}, Output: []string{"y"}}},
			Initializer: []*onnxpb.TensorProto{w},
			Input:       []*onnxpb.ValueInfoProto{tensorValue("x", Float, 2)},
			Output:      []*onnxpb.ValueInfoProto{tensorValue("y", Float, 2)},
		},
	}
}

// tensorValue is a ValueInfoProto of a tensor with static dims.
func tensorValue(name string, dt DataType, dims ...int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt)), Shape: shape}}},
	}
}

// marshal encodes m with plain proto.Marshal (no checks, unlike Encode).
func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nest returns a model whose main graph holds If nodes nested depth
// graphs deep in all (depth 1: no If).
func nest(t testing.TB, depth int) *onnxpb.ModelProto {
	m := testModel(t)
	g := m.Graph
	for i := 1; i < depth; i++ {
		sub := &onnxpb.GraphProto{Name: proto.String("sub")}
		g.Node = append(g.Node, &onnxpb.NodeProto{
			OpType: proto.String("If"), Input: []string{"c"}, Output: []string{"o"},
			Attribute: []*onnxpb.AttributeProto{
				{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: sub},
				{Name: proto.String("else_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: &onnxpb.GraphProto{}},
			},
		})
		g = sub
	}
	return m
}
