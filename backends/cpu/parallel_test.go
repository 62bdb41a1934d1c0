package cpu_test

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// TestParallelChunks runs the fast paths on tensors large enough to be
// split over several workers (the conformance suite's tensors are not) and
// compares them with the reference kernels byte for byte.
func TestParallelChunks(t *testing.T) {
	ref, err := engine.New(engine.Config{Backend: "cpu", Options: engine.Options{Kernels: "generic"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	fast, err := engine.New(engine.Config{Backend: "cpu", Options: engine.Options{Threads: 3}, GuardBytes: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	r := rand.New(rand.NewPCG(7, 7))
	shape := []int{7, 3, 19001} // 399021 elements: uneven chunks, channel runs cut by chunk edges
	n := 7 * 3 * 19001
	x := make([]float32, n)
	acc := make([]int32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 4)
		if i%997 == 0 {
			x[i] = float32(math.NaN())
		}
		acc[i] = int32(r.IntN(1<<20) - 1<<19)
	}
	xf, _ := qtensor.FromFloat32(shape, x)
	xi, _ := qtensor.FromInt32(shape, acc)
	axis := qtensor.AxisParams(1, []float32{0.03, 0.05, 0.07}, []int32{-3, 0, 9})
	cases := map[string]func(e *engine.Engine, b *engine.Batch) (*engine.Tensor, error){
		"quantize per tensor": func(e *engine.Engine, b *engine.Batch) (*engine.Tensor, error) {
			t, _ := e.Upload(xf)
			return b.Quantize(t, qtensor.Uint8, qtensor.TensorParams(0.04, 120), qtensor.RoundONNX)
		},
		"quantize per axis torch": func(e *engine.Engine, b *engine.Batch) (*engine.Tensor, error) {
			t, _ := e.Upload(xf)
			return b.Quantize(t, qtensor.Int8, axis, qtensor.RoundTorch)
		},
		"dequantize per axis": func(e *engine.Engine, b *engine.Batch) (*engine.Tensor, error) {
			t, _ := e.Upload(xf)
			q, err := b.Quantize(t, qtensor.Int8, axis, qtensor.RoundONNX)
			if err != nil {
				return nil, err
			}
			return b.Dequantize(q)
		},
		"requantize per channel": func(e *engine.Engine, b *engine.Batch) (*engine.Tensor, error) {
			t, _ := e.Upload(xi)
			return b.Requantize(t, []float32{1e-4, 3e-4, 7e-5}, 1, qtensor.Int8, 1, 4, false)
		},
		"minmax": func(e *engine.Engine, b *engine.Batch) (*engine.Tensor, error) {
			t, _ := e.Upload(xf)
			return b.MinMax(t, -1)
		},
		"minmax per channel": func(e *engine.Engine, b *engine.Batch) (*engine.Tensor, error) {
			t, _ := e.Upload(xf)
			return b.MinMax(t, 1)
		},
		"histogram": func(e *engine.Engine, b *engine.Batch) (*engine.Tensor, error) {
			t, _ := e.Upload(xf)
			return b.Histogram(t, 1000, -6, 5)
		},
	}
	for name, build := range cases {
		var outs [2][]byte
		for i, e := range []*engine.Engine{ref, fast} {
			b := e.NewBatch()
			y, err := build(e, b)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := b.Run(context.Background()); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			h, err := e.Download(y)
			if err != nil {
				t.Fatal(err)
			}
			outs[i] = h.Data
		}
		if !bytes.Equal(outs[0], outs[1]) {
			t.Errorf("%s: fast kernels on 3 workers differ from the reference", name)
		}
	}
	if err := fast.CheckGuards(); err != nil {
		t.Error(err)
	}
}
