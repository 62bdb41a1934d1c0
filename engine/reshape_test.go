package engine_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// TestReshape checks that a view shares its base's memory, outlives the
// base's Release, and is refused for shapes, params and tensors it cannot
// take.
func TestReshape(t *testing.T) {
	e := newCPU(t, 256)
	x, err := e.UploadFloat32([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.Reshape(x, []int{3, 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.Shape(), []int{3, 2}) || !slices.Equal(x.Shape(), []int{2, 3}) {
		t.Fatalf("shapes %v %v", v.Shape(), x.Shape())
	}
	// An op writing into the view's memory through the base is seen by the view:
	// quantize the base, then reshape the output and read it back.
	b := e.NewBatch()
	q, err := b.Quantize(x, qtensor.Int8, qtensor.TensorParams(1, 0), qtensor.RoundONNX)
	if err != nil {
		t.Fatal(err)
	}
	qv, err := e.Reshape(q, []int{6})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, err := e.Download(qv)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h.Data, []byte{1, 2, 3, 4, 5, 6}) || !slices.Equal(h.Shape, []int{6}) {
		t.Fatalf("view of the quantized output: %v %v", h.Shape, h.Data)
	}
	// The view stays usable after its base is released, and the memory is
	// freed only with the last handle (the guard check still sees it).
	x.Release()
	got, err := e.DownloadFloat32(v)
	if err != nil || !slices.Equal(got, []float32{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("view after the base's release: %v %v", got, err)
	}
	if err := e.CheckGuards(); err != nil {
		t.Fatal(err)
	}
	v.Release()
	v.Release()
	if _, err := e.Download(v); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("download of a released view: %v", err)
	}
	for _, c := range []struct {
		name  string
		t     *engine.Tensor
		shape []int
		want  error
	}{
		{"element count", q, []int{5}, engine.ErrShape},
		{"negative dim", q, []int{-6}, engine.ErrShape},
		{"released", x, []int{6}, engine.ErrClosed},
	} {
		if _, err := e.Reshape(c.t, c.shape); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	w, err := e.Upload(&qtensor.Tensor{DType: qtensor.Int8, Shape: []int{2, 2}, Params: qtensor.AxisParams(0, []float32{1, 2}, []int32{0, 0}), Data: make([]byte, 4)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Reshape(w, []int{4}); !errors.Is(err, engine.ErrParams) {
		t.Errorf("per-axis reshape: %v", err)
	}
}
