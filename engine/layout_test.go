package engine_test

import (
	"slices"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// TestLayoutShapes: the shapes Conv and the pools read and give in each
// layout, 2-D and 1-D.
func TestLayoutShapes(t *testing.T) {
	e := newCPU(t, 0)
	b := e.NewBatch()
	defer b.Release()
	empty := func(d qtensor.DType, shape ...int) *engine.Tensor {
		t.Helper()
		x, err := e.Empty(d, shape, qtensor.TensorParams(1, 0))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(x.Release)
		return x
	}
	w2, w1 := empty(qtensor.Int8, 4, 3, 3, 3), empty(qtensor.Int8, 4, 3, 3)
	for _, c := range []struct {
		x      *engine.Tensor
		w      *engine.Tensor
		xl, yl engine.Layout
		want   []int
	}{
		{empty(qtensor.Uint8, 2, 3, 7, 9), w2, engine.NCHW, engine.NCHW, []int{2, 4, 5, 7}},
		{empty(qtensor.Uint8, 2, 3, 7, 9), w2, engine.NCHW, engine.NHWC, []int{2, 5, 7, 4}},
		{empty(qtensor.Uint8, 2, 7, 9, 3), w2, engine.NHWC, engine.NHWC, []int{2, 5, 7, 4}},
		{empty(qtensor.Uint8, 2, 7, 9, 3), w2, engine.NHWC, engine.NCHW, []int{2, 4, 5, 7}},
		{empty(qtensor.Uint8, 2, 3, 9), w1, engine.NCHW, engine.NHWC, []int{2, 7, 4}},
		{empty(qtensor.Uint8, 2, 9, 3), w1, engine.NHWC, engine.NHWC, []int{2, 7, 4}},
		{empty(qtensor.Uint8, 2, 9, 3), w1, engine.NHWC, engine.NCHW, []int{2, 4, 7}},
	} {
		y, err := b.Conv(c.x, c.w, engine.ConvOptions{XLayout: c.xl, YLayout: c.yl})
		if err != nil {
			t.Fatalf("Conv %v %v->%v: %v", c.x, c.xl, c.yl, err)
		}
		if !slices.Equal(y.Shape(), c.want) {
			t.Errorf("Conv %v %v->%v: output %v, want %v", c.x, c.xl, c.yl, y.Shape(), c.want)
		}
	}
	x := empty(qtensor.Int8, 1, 6, 8, 5) // NHWC: 5 channels of 6x8
	y, err := b.MaxPool(x, engine.PoolOptions{Kernel: []int{2, 2}, Strides: []int{2, 2}, XLayout: engine.NHWC})
	if err != nil || !slices.Equal(y.Shape(), []int{1, 5, 3, 4}) {
		t.Errorf("MaxPool NHWC->NCHW: %v %v", y, err)
	}
	y, err = b.AvgPool(x, engine.PoolOptions{Kernel: []int{3, 2}, XLayout: engine.NHWC, YLayout: engine.NHWC})
	if err != nil || !slices.Equal(y.Shape(), []int{1, 4, 7, 5}) {
		t.Errorf("AvgPool NHWC: %v %v", y, err)
	}
}
