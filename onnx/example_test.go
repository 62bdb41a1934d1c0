package onnx_test

import (
	"fmt"
	"log"

	"github.com/qgpu/qgpu/onnx"
)

// Load a model, read its opset, a node attribute and an initializer.
func Example() {
	m, err := onnx.Load("testdata/models/qdq_conv.onnx", onnx.DecodeOptions{})
	if err != nil {
		log.Fatal(err)
	}
	v, _ := onnx.OpsetVersion(m, "")
	fmt.Println("IR", m.GetIrVersion(), "opset", v)
	for i, n := range m.GetGraph().GetNode() {
		if n.GetOpType() == "Conv" {
			group, err := onnx.AttrInt(n, "group", 1)
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println(onnx.NodeName(n, i), "group", group)
		}
	}
	for _, tp := range m.GetGraph().GetInitializer() {
		if tp.GetName() != "w" {
			continue
		}
		w, err := onnx.TensorFromProto(tp)
		if err != nil {
			log.Fatal(err)
		}
		q, err := onnx.Data[int8](w)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(w.Name, w.Type, w.Dims, q)
	}
	// Output:
	// IR 7 opset 13
	// node "conv1" (Conv) group 1
	// w INT8 [2 1 2 2] [1 -2 3 -4 -128 127 0 5]
}

// Build a tensor for writing and read it back.
func ExampleNewTensor() {
	tp, err := onnx.NewTensor("scale", []int{2}, []float32{0.5, 0.25})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("% x\n", tp.GetRawData())
	t, err := onnx.TensorFromProto(tp)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Values())
	// Output:
	// 00 00 00 3f 00 00 80 3e
	// [0.5 0.25]
}
