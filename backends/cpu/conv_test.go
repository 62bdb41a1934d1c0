package cpu_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// TestConvImplicitShapes runs convolutions through the implicit GEMM path
// with images wide enough (W >= 32) for the staging to transpose input
// rows straight into their window cells, and narrow ones staged through
// NHWC: strides 1..3, kernel heights 1..5 with dilations 1..3, asymmetric
// padding (rows that no output reads, rows read by only some kernel rows),
// channel counts below and above the 16-row transpose blocks, groups,
// every output kind, on 1 and 3 workers; a few with a column dilation,
// which takes the im2col path. Inputs and outputs are NCHW or NHWC
// (channels-last inputs read in place or from a padded copy, outputs
// written by the GEMM in place). The bytes must equal the reference
// kernels'.
func TestConvImplicitShapes(t *testing.T) {
	ref, err := engine.New(engine.Config{Backend: "cpu", Kernels: "generic"})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	for _, threads := range []int{1, 3} {
		fast, err := engine.New(engine.Config{Backend: "cpu", Threads: threads, GuardBytes: 256})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(5, uint64(threads)))
		for i := range 90 {
			implicitCase(t, rng, ref, fast, i)
		}
		if err := fast.CheckGuards(); err != nil {
			t.Error(err)
		}
		fast.Close()
	}
}

func implicitCase(t *testing.T, rng *rand.Rand, ref, fast *engine.Engine, i int) {
	t.Helper()
	group := 1
	if i%7 == 3 {
		group = 2
	}
	cg := []int{3, 4, 8, 16, 24, 40}[rng.IntN(6)]
	C, O := cg*group, (1+rng.IntN(20))*group
	kh, kw := 1+rng.IntN(5), 1+rng.IntN(4)
	dh := 1 + rng.IntN(3)
	pads := []int{rng.IntN(4), rng.IntN(3), rng.IntN(4), rng.IntN(3)}
	w := 32 + rng.IntN(40)
	if i%4 == 0 {
		w = 1 + rng.IntN(31) // narrow: staged through NHWC
	}
	h := (kh-1)*dh + 1 + rng.IntN(6)
	w = max(w, kw)
	n := 1 + rng.IntN(2)
	xt, wt := qtensor.Uint8, qtensor.Int8
	if rng.IntN(2) == 0 {
		xt = qtensor.Int8
	}
	wzp := int32(0)
	if rng.IntN(2) == 0 {
		wt, wzp = qtensor.Uint8, 128 // zero after the shift: still the implicit path
	}
	xl, yl := engine.Layout(rng.IntN(2)), engine.Layout(rng.IntN(2))
	if i < 30 {
		xl, yl = engine.NCHW, engine.NCHW
	}
	xq, _ := qtensor.New(xt, xl.Shape(n, C, h, w), qtensor.TensorParams(0.05, xt.QMin()+rng.Int32N(256)))
	xq.Data = randBytes(rng, len(xq.Data))
	scales := make([]float32, O)
	zps := make([]int32, O)
	for o := range scales {
		scales[o] = 0.001 + rng.Float32()*0.01
		zps[o] = wzp
	}
	wq, _ := qtensor.New(wt, []int{O, cg, kh, kw}, qtensor.AxisParams(0, scales, zps))
	wq.Data = randBytes(rng, len(wq.Data))
	sh, sw, dw := 1, 1, 1
	if i%3 == 1 {
		sh, sw = 1+rng.IntN(3), 1+rng.IntN(3)
	}
	if i%10 == 9 {
		dw = 2 // not implicit: the im2col path
		w = max(w, kw*2)
	}
	if i%5 == 2 {
		pads = []int{0, 0, 0, 0} // an NHWC input read in place
	}
	o := engine.ConvOptions{Strides: []int{sh, sw}, Dilations: []int{dh, dw}, Pads: pads, Group: group, XLayout: xl, YLayout: yl}
	switch rng.IntN(3) {
	case 0:
		o.Output = engine.OutInt32
	case 1:
		o.Output = engine.OutFloat32
	default:
		o.Output = engine.OutQuantized
		o.YType, o.YScale, o.YZP = qtensor.Uint8, 0.5+rng.Float32()*4, 100
	}
	name := fmt.Sprintf("case %d: n=%d C=%d O=%d g=%d %dx%d k=%dx%d s=%dx%d d=%dx%d pads=%v %v/%v out=%v %v->%v", i, n, C, O, group, h, w, kh, kw, sh, sw, dh, dw, pads, xt, wt, o.Output, xl, yl)
	if !bytes.Equal(convBytes(t, ref, xq, wq, o, name), convBytes(t, fast, xq, wq, o, name)) {
		t.Errorf("%s: fast conv differs from the reference", name)
	}
}

// convBytes runs the convolution of xq by wq with o on e and returns the
// output's bytes.
func convBytes(t *testing.T, e *engine.Engine, xq, wq *qtensor.Tensor, o engine.ConvOptions, name string) []byte {
	t.Helper()
	return runBytes(t, e, name, []*qtensor.Tensor{xq, wq}, func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
		return b.Conv(in[0], in[1], o)
	})
}
