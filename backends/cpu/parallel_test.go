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
	ref, fast := refAndFast(t)
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
		// Convolutions of several blocks of output rows (blocks rounded to
		// a multiple of the 3 workers) and of one block split by the GEMM.
		"conv 32x40x40 quantized": func(e *engine.Engine, b *engine.Batch) (*engine.Tensor, error) {
			return convCase(e, b, 32, 40, 48, engine.OutQuantized)
		},
		"conv 256x7x7 int32": func(e *engine.Engine, b *engine.Batch) (*engine.Tensor, error) {
			return convCase(e, b, 256, 7, 256, engine.OutInt32)
		},
		"conv 64x14x14 float32": func(e *engine.Engine, b *engine.Batch) (*engine.Tensor, error) {
			return convCase(e, b, 64, 14, 80, engine.OutFloat32)
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
}

// convCase adds a 3x3 convolution (pads 1) of random data with C input and
// O output channels on an HxH image to b; the data depend on the arguments
// only.
func convCase(e *engine.Engine, b *engine.Batch, C, H, O int, out engine.OutputKind) (*engine.Tensor, error) {
	r := rand.New(rand.NewPCG(uint64(C), uint64(H*1000+O)))
	xq, _ := qtensor.New(qtensor.Uint8, []int{1, C, H, H}, qtensor.TensorParams(0.05, 131))
	xq.Data = randBytes(r, len(xq.Data))
	scales := make([]float32, O)
	for i := range scales {
		scales[i] = 0.001 + r.Float32()*0.01
	}
	wq, _ := qtensor.New(qtensor.Int8, []int{O, C, 3, 3}, qtensor.AxisParams(0, scales, make([]int32, O)))
	wq.Data = randBytes(r, len(wq.Data))
	x, err := e.Upload(xq)
	if err != nil {
		return nil, err
	}
	w, err := e.Upload(wq)
	if err != nil {
		return nil, err
	}
	bias := make([]int32, O)
	for i := range bias {
		bias[i] = r.Int32N(1<<16) - 1<<15
	}
	o := engine.ConvOptions{Pads: []int{1, 1, 1, 1}, Output: out, Bias: bias}
	if out == engine.OutQuantized {
		o.YType, o.YScale, o.YZP = qtensor.Uint8, 2.5, 120
	}
	return b.Conv(x, w, o)
}
