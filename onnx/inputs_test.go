package onnx

import (
	"testing"

	"github.com/qgpu/qgpu/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// TestFeedInputs: initializers listed among the inputs (IR < 4) are left
// out, the others kept in graph order.
func TestFeedInputs(t *testing.T) {
	vi := func(n string) *onnxpb.ValueInfoProto { return &onnxpb.ValueInfoProto{Name: proto.String(n)} }
	g := &onnxpb.GraphProto{
		Input:       []*onnxpb.ValueInfoProto{vi("w"), vi("x"), vi("b"), vi("mask")},
		Initializer: []*onnxpb.TensorProto{{Name: proto.String("w")}, {Name: proto.String("b")}},
	}
	var got []string
	for _, v := range FeedInputs(g) {
		got = append(got, v.GetName())
	}
	if len(got) != 2 || got[0] != "x" || got[1] != "mask" {
		t.Errorf("FeedInputs = %v, want [x mask]", got)
	}
}
