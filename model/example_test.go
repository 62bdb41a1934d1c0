package model_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"testing"

	"github.com/qgpu/qgpu/model"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/modeltest"
	"github.com/qgpu/qgpu/onnx"
)

var update = flag.Bool("update", false, "rewrite testdata/qdq_cnn.onnx from modeltest.ResNetBlock")

// TestExampleFixture: testdata/qdq_cnn.onnx is modeltest.ResNetBlock
// encoded (go test -run TestExampleFixture -update rewrites it).
func TestExampleFixture(t *testing.T) {
	want, err := onnx.Encode(modeltest.ResNetBlock(t))
	if err != nil {
		t.Fatal(err)
	}
	const path = "testdata/qdq_cnn.onnx"
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not modeltest.ResNetBlock (go test -run TestExampleFixture -update)", path)
	}
}

// Load a small QDQ CNN (uint8 activations, int8 per-channel weights),
// look at its plan and classify two images.
func Example() {
	m, err := model.Load("testdata/qdq_cnn.onnx", model.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	in := m.Inputs()[0]
	fmt.Println("input:", in)

	p := m.Plan()
	c := p.Counts()
	fmt.Printf("plan: %d nodes on the engine, %d fused into them, %d on the host; %d submission per inference\n",
		c[model.OnEngine], c[model.Fused], c[model.OnHost], p.Submissions)
	fmt.Println("engine ops:", p.EngineOps())

	x, _ := graph.NewTensor(graph.Float32, in.Shape) // [2 3 16 16]
	for i := range x.F32 {
		img := i / (len(x.F32) / 2)
		x.F32[i] = float32((i*(7+4*img))%23)/11 - 1 // two different patterns
	}
	out, err := m.Run(context.Background(), []model.NamedTensor{{Tensor: x}})
	if err != nil {
		log.Fatal(err)
	}
	y := out[0].Tensor // [2 10]
	for i := 0; i < y.Shape[0]; i++ {
		row := y.F32[i*10 : (i+1)*10]
		best := 0
		for k, v := range row {
			if v > row[best] {
				best = k
			}
		}
		fmt.Printf("image %d: class %d (%.1f)\n", i, best, row[best])
	}
	// Output:
	// input: x float32[2 3 16 16]
	// plan: 10 nodes on the engine, 25 fused into them, 0 on the host; 1 submission per inference
	// engine ops: map[Add:1 Conv:4 Dequantize:1 Gemm:1 MaxPool:1 Quantize:1 Reshape:1]
	// image 0: class 6 (7.0)
	// image 1: class 6 (7.5)
}
