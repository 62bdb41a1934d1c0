package interp_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/interp"
	"github.com/qgpu/qgpu/onnx"
)

// FuzzBuildRun feeds arbitrary bytes through onnx.Decode, graph.FromONNX
// and, when the graph builds, a run on zero inputs: none of it may panic
// or allocate beyond MaxElements per tensor. Seeds: the torch fixtures and
// a few ONNX backend test models.
func FuzzBuildRun(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/torch/*.onnx")
	for _, name := range []string{"test_conv_with_strides_padding", "test_resize_upsample_scales_linear",
		"test_slice_neg_steps", "test_gather_elements_negative_indices", "test_pad", "test_reshape_negative_dim"} {
		seeds = append(seeds, filepath.Join(backendRoot, "node", name, "model.onnx"))
	}
	for _, p := range seeds {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := onnx.Decode(data, onnx.DecodeOptions{MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		g, err := graph.FromONNX(m, graph.Options{Batch: 1, MaxElements: 1 << 16})
		if err != nil {
			return
		}
		inputs := map[string]*graph.Tensor{}
		for _, in := range g.Inputs {
			x, err := graph.NewTensor(g.Values[in.Name].DType, g.Values[in.Name].Shape)
			if err != nil {
				t.Fatalf("input %q of a built graph: %v", in.Name, err)
			}
			inputs[in.Name] = x
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		interp.Run(ctx, g, inputs, nil) // errors are fine, panics are not
	})
}

// TestConcurrentRuns runs one built graph from several goroutines at once
// (run it with -race): every run must give the single-run result.
func TestConcurrentRuns(t *testing.T) {
	for _, c := range loadTorchCases(t) {
		in := map[string]*graph.Tensor{c.meta.Input: c.x}
		ref, err := interp.Run(context.Background(), c.g, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 4)
		outs := make([]map[string]*graph.Tensor, 4)
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i], errs[i] = interp.Run(context.Background(), c.g, in, &interp.Options{Workers: 1 + i})
			}()
		}
		wg.Wait()
		for i := range 4 {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			a, b := ref[c.meta.Output].F32, outs[i][c.meta.Output].F32
			for j := range a {
				if a[j] != b[j] {
					t.Fatalf("%s: concurrent run %d differs at %d", c.name, i, j)
				}
			}
		}
	}
}
