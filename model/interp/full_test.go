package interp_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/interp"
	"github.com/qgpu/qgpu/onnx"
)

// Full-size torchvision models, written by
//
//	/usr/bin/python3 model/interp/testdata/torch/gen_torch.py --full DIR
//
// and found through QGPU_MODELS=DIR (not committed: ResNet-50 alone is
// 100 MB).

type fullModel struct {
	name string
	meta torchMeta
	g    *graph.Graph
	x    *graph.Tensor
	want *graph.Tensor
}

func loadFull(tb testing.TB, name string) *fullModel {
	tb.Helper()
	dir := os.Getenv("QGPU_MODELS")
	if dir == "" {
		tb.Skip("QGPU_MODELS not set (gen_torch.py --full DIR writes the models)")
	}
	base := filepath.Join(dir, name)
	if _, err := os.Stat(base + ".onnx"); err != nil {
		tb.Skipf("%s.onnx not in QGPU_MODELS", name)
	}
	m := &fullModel{name: name}
	data, err := os.ReadFile(base + ".json")
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(data, &m.meta); err != nil {
		tb.Fatal(err)
	}
	if m.g, err = graph.Load(base+".onnx", onnx.DecodeOptions{}, graph.Options{Batch: m.meta.Batch}); err != nil {
		tb.Fatal(err)
	}
	m.x = readNPY(tb, base+".input.npy")
	m.want = readNPY(tb, base+".output.npy")
	return m
}

var fullNames = []string{"resnet18", "resnet50", "mobilenet_v2"}

// TestFullModels compares the full-size models with torch's logits. Their
// sums run over up to 4608 terms per layer through 50 layers; the
// tolerance is relative to the largest logit.
func TestFullModels(t *testing.T) {
	for _, name := range fullNames {
		t.Run(name, func(t *testing.T) {
			m := loadFull(t, name)
			start := time.Now()
			out, err := interp.Run(context.Background(), m.g, map[string]*graph.Tensor{m.meta.Input: m.x}, nil)
			if err != nil {
				t.Fatal(err)
			}
			el := time.Since(start)
			got := out[m.meta.Output]
			scale, worst := 0.0, 0.0
			for i, w := range m.want.F32 {
				scale = max(scale, math.Abs(float64(w)))
				worst = max(worst, math.Abs(float64(got.F32[i])-float64(w)))
			}
			if worst > 1e-4*scale {
				t.Errorf("max |diff| %.3g, more than 1e-4 of the largest logit %.3g", worst, scale)
			}
			t.Logf("%s: one run %v, %d nodes, max |diff| from torch %.3g (largest logit %.3g)", name, el, len(m.g.Nodes), worst, scale)
		})
	}
}

func BenchmarkFullModels(b *testing.B) {
	for _, name := range fullNames {
		b.Run(name, func(b *testing.B) {
			m := loadFull(b, name)
			in := map[string]*graph.Tensor{m.meta.Input: m.x}
			b.ResetTimer()
			for range b.N {
				if _, err := interp.Run(context.Background(), m.g, in, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
