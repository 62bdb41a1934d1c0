package model_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/model"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/modeltest"
	"github.com/qgpu/qgpu/onnx"
)

// FuzzLoadRun feeds arbitrary bytes through Read (decode, build, plan,
// upload, trial) and, when the model loads, a Run on zero inputs: none of
// it may panic, and every device tensor must be released by Close. Seeds:
// the test models of modeltest and the committed QDQ fixtures.
func FuzzLoadRun(f *testing.F) {
	for _, c := range modeltest.Cases() {
		if data, err := onnx.Encode(c.Model(f)); err == nil {
			f.Add(data)
		}
	}
	paths, _ := filepath.Glob("testdata/*.onnx")
	more, _ := filepath.Glob("testdata/qdq/*.onnx")
	for _, p := range append(paths, more...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	eng, err := engine.New(engine.Config{Backend: "cpu", GuardBytes: 64})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { eng.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := model.Read(bytes.NewReader(data), model.Options{Engine: eng, Batch: 1, MaxElements: 1 << 16,
			Decode: onnx.DecodeOptions{MaxBytes: 1 << 20}})
		if err != nil {
			return
		}
		defer m.Close()
		var in []model.NamedTensor
		for _, v := range m.Inputs() {
			x, err := graph.NewTensor(v.DType, v.Shape)
			if err != nil {
				t.Fatalf("input %s of a loaded model: %v", v.Name, err)
			}
			in = append(in, model.NamedTensor{Name: v.Name, Tensor: x})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		m.Run(ctx, in) // errors are fine, panics are not
		if err := eng.CheckGuards(); err != nil {
			t.Fatal(err)
		}
	})
}
