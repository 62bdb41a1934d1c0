package quantize

import (
	"context"
	"iter"
	"path/filepath"
	"testing"

	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/interp"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/onnx/onnxpb"
	"github.com/qgpu/qgpu/qtensor"
)

var fashionDir = filepath.Join("testdata", "fashion")

// loadFashion returns the float Fashion-MNIST CNN (train.py).
func loadFashion(t testing.TB) *onnxpb.ModelProto {
	t.Helper()
	m, err := onnx.Load(filepath.Join(fashionDir, "fashion_cnn.onnx"), onnx.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fashionImages returns the committed calibration images (64 training
// images) normalised as train.py does, in float32, [64, 1, 28, 28].
func fashionImages(t testing.TB) []float32 {
	t.Helper()
	x, err := qtensor.LoadNPY(filepath.Join(fashionDir, "calib_u8.npy"))
	if err != nil {
		t.Fatal(err)
	}
	raw := x.Data
	if x.DType != qtensor.Uint8 || len(raw) != 64*28*28 {
		t.Fatalf("calib_u8.npy: %v %v", x.DType, x.Shape)
	}
	out := make([]float32, len(raw))
	for i, v := range raw {
		out[i] = (float32(v)/float32(255) - float32(0.2860)) / float32(0.3530)
	}
	return out
}

// split feeds images [n, 1, 28, 28] as batches of the given sizes (in
// order; their sum must be n) to the graph input "input".
func split(t testing.TB, x []float32, sizes ...int) iter.Seq2[Batch, error] {
	return func(yield func(Batch, error) bool) {
		off := 0
		for _, s := range sizes {
			b, err := graph.FromFloat32([]int{s, 1, 28, 28}, x[off*784:(off+s)*784])
			if err != nil {
				t.Fatal(err)
			}
			off += s
			if !yield(Batch{"input": b}, nil) {
				return
			}
		}
		if off*784 != len(x) {
			t.Fatalf("batches cover %d of %d images", off, len(x)/784)
		}
	}
}

// runModel runs a model with the interpreter on inputs.
func runModel(t testing.TB, m *onnxpb.ModelProto, in Batch) map[string]*graph.Tensor {
	t.Helper()
	shapes := map[string][]int{}
	for name, v := range in {
		shapes[name] = v.Shape
	}
	g, err := graph.FromONNX(m, graph.Options{Shapes: shapes})
	if err != nil {
		t.Fatal(err)
	}
	out, err := interp.Run(context.Background(), g, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func encode(t testing.TB, m *onnxpb.ModelProto) []byte {
	t.Helper()
	b, err := onnx.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
