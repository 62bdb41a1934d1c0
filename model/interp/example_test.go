package interp_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/interp"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/qtensor"
)

// Load a small CNN exported from PyTorch, run it on a batch of two images
// and print each image's most likely class.
func Example() {
	g, err := graph.Load("testdata/torch/tiny_cnn_op13.onnx", onnx.DecodeOptions{}, graph.Options{})
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Open("testdata/torch/tiny_cnn_op13.input.npy") // float32 [2 3 16 16]
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	q, err := qtensor.ReadNPY(f)
	if err != nil {
		log.Fatal(err)
	}
	x, err := graph.FromQTensor(q)
	if err != nil {
		log.Fatal(err)
	}
	out, err := interp.Run(context.Background(), g, map[string]*graph.Tensor{"input": x}, nil)
	if err != nil {
		log.Fatal(err)
	}
	probs := out["output"] // softmax over 10 classes, [2 10]
	for i := 0; i < probs.Shape[0]; i++ {
		row := probs.F32[i*10 : (i+1)*10]
		best := 0
		for c, p := range row {
			if p > row[best] {
				best = c
			}
		}
		fmt.Printf("image %d: class %d (p=%.3f)\n", i, best, row[best])
	}
	// Output:
	// image 0: class 2 (p=0.119)
	// image 1: class 2 (p=0.119)
}
