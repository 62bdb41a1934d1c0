package interp_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/interp"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/qtensor"
)

// The torch fixtures (testdata/torch, made by gen_torch.py): small models
// exported with torch.onnx.export and torch's own outputs for a seeded
// input.

type torchMeta struct {
	Opset        int    `json:"opset"`
	Batch        int    `json:"batch"`
	DynamicBatch bool   `json:"dynamic_batch"`
	Input        string `json:"input"`
	Output       string `json:"output"`
}

// torchTol: |got - want| <= abs + rel*|want|. torch runs its convolutions
// and GEMMs with oneDNN/MKL (blocked, vectorised sums in another order
// than gonum's) and its transcendental functions in float32; through a
// dozen layers of O(1) activations that leaves differences of a few
// 1e-6. 1e-5 is a few times what the worst element shows.
const torchAbs, torchRel = 1e-5, 1e-5

func readNPY(t testing.TB, path string) *graph.Tensor {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	q, err := qtensor.ReadNPY(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	x, err := graph.FromQTensor(q)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

type torchCase struct {
	name string
	meta torchMeta
	g    *graph.Graph
	x    *graph.Tensor
	want *graph.Tensor
}

func loadTorchCases(t testing.TB) []torchCase {
	t.Helper()
	metas, _ := filepath.Glob("testdata/torch/*.json")
	if len(metas) == 0 {
		t.Fatal("no torch fixtures in testdata/torch")
	}
	var cases []torchCase
	for _, mp := range metas {
		base := strings.TrimSuffix(mp, ".json")
		var c torchCase
		c.name = filepath.Base(base)
		data, err := os.ReadFile(mp)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &c.meta); err != nil {
			t.Fatal(err)
		}
		c.g, err = graph.Load(base+".onnx", onnx.DecodeOptions{}, graph.Options{Batch: c.meta.Batch})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		c.x = readNPY(t, base+".input.npy")
		c.want = readNPY(t, base+".output.npy")
		cases = append(cases, c)
	}
	return cases
}

func TestTorchModels(t *testing.T) {
	for _, c := range loadTorchCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if c.g.Opset != c.meta.Opset {
				t.Errorf("opset %d, the export used %d", c.g.Opset, c.meta.Opset)
			}
			out, err := interp.Run(context.Background(), c.g, map[string]*graph.Tensor{c.meta.Input: c.x}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := out[c.meta.Output]
			if got == nil || got.Info().String() != c.want.Info().String() {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			worst := 0.0
			for i, w := range c.want.F32 {
				d := math.Abs(float64(got.F32[i]) - float64(w))
				lim := torchAbs + torchRel*math.Abs(float64(w))
				if !(d <= lim) {
					t.Errorf("element %d: got %v, want %v (|diff| %.3g > %.3g)", i, got.F32[i], w, d, lim)
				}
				worst = max(worst, d)
			}
			t.Logf("%d nodes after folding, max |diff| from torch %.3g", len(c.g.Nodes), worst)
		})
	}
}

// TestTorchFolding checks what folding leaves of the exporters' shape
// arithmetic: no Shape, Gather-on-shapes, Unsqueeze, Concat, Cast or
// Constant nodes survive in the encoders (traced with a dynamic batch or
// not), and every Reshape's shape input became an initializer.
func TestTorchFolding(t *testing.T) {
	for _, c := range loadTorchCases(t) {
		for _, n := range c.g.Nodes {
			switch n.OpType {
			case "Shape", "Constant", "ConstantOfShape", "Unsqueeze", "Concat", "Cast", "Identity":
				t.Errorf("%s: %v survived folding", c.name, n)
			case "Reshape":
				if c.g.Initializers[n.Inputs[1]] == nil {
					t.Errorf("%s: %v shape input %q is not an initializer", c.name, n, n.Inputs[1])
				}
			}
		}
	}
}

// TestDeterministicWorkers runs every torch model with 1 worker and
// GOMAXPROCS 1, then with 5 workers and GOMAXPROCS 4 (gonum's GEMMs
// parallelise up to GOMAXPROCS): the outputs and every observed
// intermediate must agree bit for bit.
func TestDeterministicWorkers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, c := range loadTorchCases(t) {
		seen := [2]map[string][]uint32{{}, {}}
		for k, w := range []int{1, 5} {
			runtime.GOMAXPROCS(1 + 3*k)
			obs := func(name string, x *graph.Tensor) error {
				if x.DType == graph.Float32 {
					b := make([]uint32, len(x.F32))
					for i, v := range x.F32 {
						b[i] = math.Float32bits(v)
					}
					seen[k][name] = b
				}
				return nil
			}
			if _, err := interp.Run(context.Background(), c.g, map[string]*graph.Tensor{c.meta.Input: c.x},
				&interp.Options{Workers: w, Observer: obs}); err != nil {
				t.Fatal(err)
			}
		}
		if len(seen[0]) != len(seen[1]) || len(seen[0]) < 2 {
			t.Fatalf("%s: observed %d and %d values", c.name, len(seen[0]), len(seen[1]))
		}
		for name, a := range seen[0] {
			b := seen[1][name]
			for i := range a {
				if a[i] != b[i] {
					t.Errorf("%s: value %q element %d differs between 1 and 5 workers", c.name, name, i)
					break
				}
			}
		}
	}
}

// BenchmarkTorchModels runs each committed torch fixture (batch 2 or 3).
func BenchmarkTorchModels(b *testing.B) {
	for _, c := range loadTorchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			in := map[string]*graph.Tensor{c.meta.Input: c.x}
			for range b.N {
				if _, err := interp.Run(context.Background(), c.g, in, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
