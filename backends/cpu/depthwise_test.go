package cpu_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/backends/cpu/internal/dwconv"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// TestDepthwiseChannels runs random depthwise convolutions (every channel
// count 1..70; strides 1..3, dilations, asymmetric padding, int8 and uint8
// inputs and weights, per-channel weight zero points, every output kind,
// inputs and outputs NCHW or NHWC) on the fast path under each depthwise
// kernel and compares the bytes with the reference kernels.
func TestDepthwiseChannels(t *testing.T) {
	ref, fast := refAndFast(t)
	for _, isa := range []cpu.ISA{cpu.ISAGeneric, cpu.ISAAVX2, cpu.ISAAVX512} {
		t.Run(isa.String(), func(t *testing.T) {
			if !dwconv.Supported(isa) {
				t.Skipf("%v not supported here", isa)
			}
			restore, err := dwconv.SetISA(isa)
			if err != nil {
				t.Fatal(err)
			}
			defer restore()
			rng := rand.New(rand.NewPCG(11, uint64(isa)))
			for c := 1; c <= 70; c++ {
				depthwiseCase(t, rng, ref, fast, c, engine.NCHW, engine.NCHW, false)
				for _, xl := range []engine.Layout{engine.NCHW, engine.NHWC} {
					depthwiseCase(t, rng, ref, fast, c, xl, engine.NHWC, false)
				}
				depthwiseCase(t, rng, ref, fast, c, engine.NHWC, engine.NCHW, false)
			}
		})
	}
}

// TestDepthwiseBatches runs depthwise convolutions of batches of 3-8
// images large enough that the fast path splits their output rows and
// their border staging over the workers across image boundaries, and
// compares the bytes with the reference kernels.
func TestDepthwiseBatches(t *testing.T) {
	ref, fast := refAndFast(t)
	rng := rand.New(rand.NewPCG(12, 34))
	for _, c := range []int{16, 64, 200, 256} {
		for _, l := range [][2]engine.Layout{{engine.NHWC, engine.NHWC}, {engine.NHWC, engine.NCHW}, {engine.NCHW, engine.NHWC}} {
			for range 3 {
				depthwiseCase(t, rng, ref, fast, c, l[0], l[1], true)
			}
		}
	}
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func depthwiseCase(t *testing.T, rng *rand.Rand, ref, fast *engine.Engine, C int, xl, yl engine.Layout, big bool) {
	t.Helper()
	n, h, w := 1+rng.IntN(2), 1+rng.IntN(19), 1+rng.IntN(40)
	if big { // batches whose rows and border staging split over the workers across images
		n, h, w = 3+rng.IntN(6), 7+rng.IntN(22), 7+rng.IntN(22)
	}
	kh, kw := 3, 3
	if !big && rng.IntN(4) == 0 {
		kh, kw = 1+rng.IntN(5), 1+rng.IntN(5)
	}
	s := []int{1 + rng.IntN(2), 1 + rng.IntN(2)}
	if rng.IntN(6) == 0 {
		s[1] = 3
	}
	d := []int{1 + rng.IntN(2), 1 + rng.IntN(2)}
	pads := []int{rng.IntN(3), rng.IntN(3), rng.IntN(3), rng.IntN(3)}
	if rng.IntN(4) == 0 {
		pads = []int{0, 0, 0, 0}
	}
	h = max(h, (kh-1)*d[0]+1)
	w = max(w, (kw-1)*d[1]+1)
	xt, wt := qtensor.Uint8, qtensor.Int8
	if rng.IntN(2) == 0 {
		xt = qtensor.Int8
	}
	if rng.IntN(2) == 0 {
		wt = qtensor.Uint8
	}
	xzp := xt.QMin() + rng.Int32N(256)
	wzp := make([]int32, C)
	scales := make([]float32, C)
	for i := range wzp {
		wzp[i] = wt.QMin() + rng.Int32N(256)
		scales[i] = 0.001 + rng.Float32()*0.01
	}
	xq, _ := qtensor.New(xt, xl.Shape(n, C, h, w), qtensor.TensorParams(0.05, xzp))
	xq.Data = randBytes(rng, len(xq.Data))
	wq, _ := qtensor.New(wt, []int{C, 1, kh, kw}, qtensor.AxisParams(0, scales, wzp))
	wq.Data = randBytes(rng, len(wq.Data))
	o := engine.ConvOptions{Strides: s, Dilations: d, Pads: pads, Group: C, XLayout: xl, YLayout: yl}
	var bias []int32
	if rng.IntN(2) == 0 {
		bias = make([]int32, C)
		for i := range bias {
			bias[i] = rng.Int32N(1<<16) - 1<<15
		}
	}
	o.Bias = bias
	kinds := []string{"int32", "quantized", "relu", "fixed", "float32"}
	kind := kinds[rng.IntN(len(kinds))]
	switch kind {
	case "int32":
		o.Output = engine.OutInt32
	case "float32":
		o.Output = engine.OutFloat32
	default:
		o.Output = engine.OutQuantized
		o.YType, o.YScale, o.YZP = qtensor.Uint8, 0.02+rng.Float32()*0.5, 100+rng.Int32N(50)
		o.ReLU = kind == "relu"
		o.Fixed = kind == "fixed"
	}
	name := fmt.Sprintf("C=%d n=%d %dx%d k=%dx%d s=%v d=%v pads=%v %v/%v %s %v->%v", C, n, h, w, kh, kw, s, d, pads, xt, wt, kind, xl, yl)
	if !bytes.Equal(convBytes(t, ref, xq, wq, o, name), convBytes(t, fast, xq, wq, o, name)) {
		t.Errorf("%s: fast depthwise differs from the reference", name)
	}
}

// TestDepthwiseSharedWeights: two depthwise convolutions of one weight
// tensor with other input zero points, weight zero points and biases, in
// one batch run twice, and after the weights are overwritten: the fast
// kernels keep per-weights data (dwconv's start values fold the input
// zero point and the bias in), which must follow each op and the writes.
func TestDepthwiseSharedWeights(t *testing.T) {
	ref, fast := refAndFast(t)
	rng := rand.New(rand.NewPCG(13, 14))
	const C = 24
	wq, _ := qtensor.New(qtensor.Int8, []int{C, 1, 3, 3}, qtensor.TensorParams(0.01, 0))
	wq.Data = randBytes(rng, len(wq.Data))
	x1, _ := qtensor.New(qtensor.Uint8, []int{1, 9, 11, C}, qtensor.TensorParams(0.05, 3))
	x1.Data = randBytes(rng, len(x1.Data))
	x2, _ := qtensor.New(qtensor.Uint8, []int{1, 9, 11, C}, qtensor.TensorParams(0.05, 200))
	x2.Data = randBytes(rng, len(x2.Data))
	bias := make([]int32, C)
	for i := range bias {
		bias[i] = rng.Int32N(2000) - 1000
	}
	o1 := engine.ConvOptions{Group: C, Pads: []int{1, 1, 1, 1}, XLayout: engine.NHWC, YLayout: engine.NHWC}
	o2 := o1
	o2.Bias, o2.WZP = bias, []int32{5}
	run := func(e *engine.Engine, w2 *qtensor.Tensor) [][]byte {
		t.Helper()
		var ts []*engine.Tensor
		for _, h := range []*qtensor.Tensor{x1, x2, wq} {
			d, err := e.Upload(h)
			if err != nil {
				t.Fatal(err)
			}
			ts = append(ts, d)
		}
		b := e.NewBatch()
		y1, err := b.Conv(ts[0], ts[2], o1)
		if err != nil {
			t.Fatal(err)
		}
		y2, err := b.Conv(ts[1], ts[2], o2)
		if err != nil {
			t.Fatal(err)
		}
		var out [][]byte
		for range 2 {
			if err := b.Run(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, y := range []*engine.Tensor{y1, y2} {
				h, err := e.Download(y)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, h.Data)
			}
			if err := e.Write(ts[2], w2); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	w2 := &qtensor.Tensor{DType: wq.DType, Shape: wq.Shape, Params: wq.Params, Data: randBytes(rng, len(wq.Data))}
	want, got := run(ref, w2), run(fast, w2)
	for i := range want {
		if !bytes.Equal(want[i], got[i]) {
			t.Errorf("output %d (run %d, conv %d) differs from the reference", i, i/2, i%2)
		}
	}
}
