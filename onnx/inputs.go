package onnx

import "github.com/qgpu/qgpu/onnx/onnxpb"

// FeedInputs returns the inputs of g that a caller feeds: its graph
// inputs that are not initializers (IR versions before 4 list every
// initializer among the inputs too), in graph order.
func FeedInputs(g *onnxpb.GraphProto) []*onnxpb.ValueInfoProto {
	inits := make(map[string]bool, len(g.GetInitializer()))
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	var in []*onnxpb.ValueInfoProto
	for _, v := range g.GetInput() {
		if !inits[v.GetName()] {
			in = append(in, v)
		}
	}
	return in
}
