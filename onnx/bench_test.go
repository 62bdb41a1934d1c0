package onnx

import (
	"testing"
)

// benchModel is testModel with a 16 MiB FLOAT initializer and 10000 small
// nodes.
func benchModel(b *testing.B) []byte {
	m := testModel(b)
	w, err := NewTensor("big", []int{1 << 22}, make([]float32, 1<<22))
	if err != nil {
		b.Fatal(err)
	}
	m.Graph.Initializer = append(m.Graph.Initializer, w)
	for i := 0; i < 10000; i++ {
		m.Graph.Node = append(m.Graph.Node, m.Graph.Node[0])
	}
	return marshal(b, m)
}

func BenchmarkDecode(b *testing.B) {
	data := benchModel(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data, DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	m, err := Decode(benchModel(b), DecodeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var n int
	for b.Loop() {
		data, err := Encode(m)
		if err != nil {
			b.Fatal(err)
		}
		n = len(data)
	}
	b.SetBytes(int64(n))
}

func BenchmarkTensorFromProto(b *testing.B) {
	tp, err := NewTensor("big", []int{1 << 22}, make([]float32, 1<<22))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(tp.GetRawData())))
	for b.Loop() {
		if _, err := TensorFromProto(tp); err != nil {
			b.Fatal(err)
		}
	}
}
