package engine_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// TestWriteRerun records a batch once and runs it again after writing new
// inputs into its operands: the activation (a Quantize input) and the
// weights of a Gemm, which the CPU backend packs and caches on the first
// run, so the second run shows that a Write drops the stale packed form.
// Expected values are computed by hand.
func TestWriteRerun(t *testing.T) {
	e := newCPU(t, 256)
	ctx := context.Background()
	x, err := e.UploadFloat32([]int{1, 2}, []float32{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	w, err := e.Upload(int8Tensor(t, []int{2, 2}, []int8{1, 0, 0, 1})) // identity
	if err != nil {
		t.Fatal(err)
	}
	b := e.NewBatch()
	// scale 0.5, zero point 0: q = round_half_even(x / 0.5).
	q, err := b.Quantize(x, qtensor.Int8, qtensor.TensorParams(0.5, 0), qtensor.RoundONNX)
	if err != nil {
		t.Fatal(err)
	}
	y, err := b.Gemm(q, w, engine.GemmOptions{})
	if err != nil {
		t.Fatal(err)
	}
	run := func(want []int32) {
		t.Helper()
		if err := b.Run(ctx); err != nil {
			t.Fatal(err)
		}
		h, err := e.Download(y)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Int32s(); !slices.Equal(got, want) {
			t.Fatalf("Gemm = %v, want %v", got, want)
		}
		if err := e.CheckGuards(); err != nil {
			t.Fatal(err)
		}
	}
	run([]int32{2, 4}) // q = [2 4] times the identity
	// 0.25/0.5 = 0.5 rounds to 0, -1.25/0.5 = -2.5 to -2.
	if err := e.WriteFloat32(x, []float32{0.25, -1.25}); err != nil {
		t.Fatal(err)
	}
	run([]int32{0, -2})
	// New weights: [[1 2] [3 4]]; q = [0 -2] gives [-6 -8].
	if err := e.Write(w, int8Tensor(t, []int{2, 2}, []int8{1, 2, 3, 4})); err != nil {
		t.Fatal(err)
	}
	run([]int32{-6, -8})
	hx, err := qtensor.FromFloat32([]int{1, 2}, []float32{3, 1.75}) // q = [6 4] (3.5 to even)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Write(x, hx); err != nil {
		t.Fatal(err)
	}
	run([]int32{6 + 12, 12 + 16})
}

// TestWriteView checks that data written through a view is seen through
// its base.
func TestWriteView(t *testing.T) {
	e := newCPU(t, 0)
	x, err := e.UploadFloat32([]int{2, 3}, make([]float32, 6))
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.Reshape(x, []int{6})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.WriteFloat32(v, []float32{1, 2, 3, 4, 5, 6}); err != nil {
		t.Fatal(err)
	}
	got, err := e.DownloadFloat32(x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []float32{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("base reads %v", got)
	}
}

// TestWriteErrors checks what Write refuses, and that a refused write
// leaves the tensor as it was.
func TestWriteErrors(t *testing.T) {
	e := newCPU(t, 0)
	p := qtensor.TensorParams(0.5, 3)
	h := func(d qtensor.DType, shape []int, p qtensor.Params) *qtensor.Tensor {
		t.Helper()
		q, err := qtensor.New(d, shape, p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range q.Data {
			q.Data[i] = 7
		}
		return q
	}
	x, err := e.Upload(h(qtensor.Uint8, []int{2, 2}, p))
	if err != nil {
		t.Fatal(err)
	}
	f, err := e.UploadFloat32([]int{2}, []float32{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	other := newCPU(t, 0)
	y, err := other.Upload(h(qtensor.Uint8, []int{2, 2}, p))
	if err != nil {
		t.Fatal(err)
	}
	gone, err := e.Upload(h(qtensor.Uint8, []int{2, 2}, p))
	if err != nil {
		t.Fatal(err)
	}
	gone.Release()
	bad := h(qtensor.Uint8, []int{2, 2}, p)
	bad.Data = bad.Data[:3]
	for _, c := range []struct {
		name string
		err  error
		do   func() error
	}{
		{"nil host tensor", engine.ErrParams, func() error { return e.Write(x, nil) }},
		{"nil tensor", engine.ErrParams, func() error { return e.Write(nil, h(qtensor.Uint8, []int{2, 2}, p)) }},
		{"invalid host tensor", engine.ErrShape, func() error { return e.Write(x, bad) }},
		{"other type", engine.ErrParams, func() error { return e.Write(x, h(qtensor.Int8, []int{2, 2}, p)) }},
		{"other shape", engine.ErrShape, func() error { return e.Write(x, h(qtensor.Uint8, []int{4}, p)) }},
		{"other scale", engine.ErrParams, func() error { return e.Write(x, h(qtensor.Uint8, []int{2, 2}, qtensor.TensorParams(0.25, 3))) }},
		{"other zero point", engine.ErrParams, func() error { return e.Write(x, h(qtensor.Uint8, []int{2, 2}, qtensor.TensorParams(0.5, 4))) }},
		{"per axis", engine.ErrParams, func() error {
			return e.Write(x, h(qtensor.Uint8, []int{2, 2}, qtensor.AxisParams(0, []float32{0.5, 0.5}, []int32{3, 3})))
		}},
		{"other engine", engine.ErrParams, func() error { return e.Write(y, h(qtensor.Uint8, []int{2, 2}, p)) }},
		{"released", engine.ErrClosed, func() error { return e.Write(gone, h(qtensor.Uint8, []int{2, 2}, p)) }},
		{"float32 count", engine.ErrShape, func() error { return e.WriteFloat32(f, []float32{1, 2, 3}) }},
		{"float32 into uint8", engine.ErrParams, func() error { return e.WriteFloat32(x, []float32{1, 2, 3, 4}) }},
		{"float32 nil tensor", engine.ErrParams, func() error { return e.WriteFloat32(nil, nil) }},
		{"float32 released", engine.ErrClosed, func() error { return e.WriteFloat32(gone, nil) }},
	} {
		err := c.do()
		if !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
	got, err := e.Download(x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Data, []byte{7, 7, 7, 7}) {
		t.Fatalf("a refused write changed the tensor: %v", got.Data)
	}
	e.Close()
	if err := e.WriteFloat32(f, []float32{1, 2}); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func int8Tensor(t *testing.T, shape []int, v []int8) *qtensor.Tensor {
	t.Helper()
	q, err := qtensor.New(qtensor.Int8, shape, qtensor.TensorParams(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range v {
		q.Data[i] = byte(x)
	}
	return q
}
