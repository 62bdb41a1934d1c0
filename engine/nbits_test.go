package engine_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	_ "github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// TestMatMulNBitsValidation: every bad input is an error wrapping the
// right sentinel, recorded nothing, and the good forms give the output
// shape and type they promise.
func TestMatMulNBitsValidation(t *testing.T) {
	e, err := engine.New(engine.Config{Backend: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	up := func(d qtensor.DType, shape []int, p qtensor.Params) *engine.Tensor {
		t.Helper()
		h, err := qtensor.New(d, shape, p)
		if err != nil {
			t.Fatal(err)
		}
		x, err := e.Upload(h)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	blocks := func(n, nb, bs int) qtensor.Params {
		s, z := make([]float32, n*nb), make([]int32, n*nb)
		for i := range s {
			s[i], z[i] = 0.5, 8
		}
		return qtensor.BlockParams(1, bs, s, z)
	}
	a := up(qtensor.Float32, []int{2, 3, 40}, qtensor.Params{}) // K = 40
	a1 := up(qtensor.Float32, []int{40}, qtensor.Params{})      // rank 1
	w := up(qtensor.Uint4, []int{5, 40}, blocks(5, 3, 16))      // [N, K], 3 blocks of 16
	wpad := up(qtensor.Uint4, []int{5, 48}, blocks(5, 3, 16))   // padded to whole blocks
	wlong := up(qtensor.Uint4, []int{5, 64}, blocks(5, 4, 16))  // a block too many
	wshort := up(qtensor.Uint4, []int{5, 32}, blocks(5, 2, 16)) // K too short
	wKN := up(qtensor.Uint4, []int{40, 40}, blocks(40, 3, 16))
	w3 := up(qtensor.Uint4, []int{1, 5, 40}, qtensor.BlockParams(2, 16, make1(15, 0.5), make([]int32, 15)))
	w8 := up(qtensor.Uint4, []int{5, 40}, blocks(5, 5, 8))      // block 8
	w24 := up(qtensor.Uint4, []int{5, 48}, blocks(5, 2, 24))    // block 24
	w512 := up(qtensor.Uint4, []int{5, 512}, blocks(5, 1, 512)) // block 512
	waxis := up(qtensor.Uint4, []int{5, 40}, qtensor.AxisParams(0, make1(5, 0.5), make([]int32, 5)))
	wtensor := up(qtensor.Uint4, []int{5, 40}, qtensor.TensorParams(0.5, 8))
	wblock0 := up(qtensor.Uint4, []int{32, 40}, qtensor.BlockParams(0, 16, make1(80, 0.5), make([]int32, 80)))
	w32 := up(qtensor.Int32, []int{5, 40}, qtensor.Params{})
	af := up(qtensor.Uint8, []int{2, 40}, qtensor.TensorParams(1, 0))
	nan := float32(math.NaN())
	for _, c := range []struct {
		name string
		a, w *engine.Tensor
		o    engine.NBitsOptions
		want error
	}{
		{"a not float", af, w, engine.NBitsOptions{}, engine.ErrParams},
		{"w int32", a, w32, engine.NBitsOptions{}, engine.ErrParams},
		{"w rank 3", a, w3, engine.NBitsOptions{}, engine.ErrShape},
		{"block 8", a, w8, engine.NBitsOptions{}, engine.ErrParams},
		{"block 24", a, w24, engine.NBitsOptions{}, engine.ErrParams},
		{"block 512", a, w512, engine.NBitsOptions{}, engine.ErrParams},
		{"per axis", a, waxis, engine.NBitsOptions{}, engine.ErrParams},
		{"per tensor", a, wtensor, engine.NBitsOptions{}, engine.ErrParams},
		{"blocks along N", a, wblock0, engine.NBitsOptions{}, engine.ErrParams},
		{"K too short", a, wshort, engine.NBitsOptions{}, engine.ErrShape},
		{"a block too many", a, wlong, engine.NBitsOptions{}, engine.ErrShape},
		{"[K, N]", up(qtensor.Float32, []int{2, 5}, qtensor.Params{}), wKN, engine.NBitsOptions{}, engine.ErrShape},
		{"bias length", a, w, engine.NBitsOptions{Bias: []float32{1, 2}}, engine.ErrParams},
		{"bias NaN", a, w, engine.NBitsOptions{Bias: []float32{0, 0, nan, 0, 0}}, engine.ErrParams},
		{"bias denormal", a, w, engine.NBitsOptions{Bias: []float32{0, 0, 1e-40, 0, 0}}, engine.ErrParams},
		{"output int4", a, w, engine.NBitsOptions{YType: qtensor.Int4, YScale: 1}, engine.ErrParams},
		{"output int32", a, w, engine.NBitsOptions{YType: qtensor.Int32}, engine.ErrParams},
		{"output scale 0", a, w, engine.NBitsOptions{YType: qtensor.Uint8}, engine.ErrParams},
		{"output zp out of range", a, w, engine.NBitsOptions{YType: qtensor.Int8, YScale: 1, YZP: 200}, engine.ErrParams},
		{"float output with a scale", a, w, engine.NBitsOptions{YScale: 1}, engine.ErrParams},
	} {
		b := e.NewBatch()
		y, err := b.MatMulNBits(c.a, c.w, c.o)
		if !errors.Is(err, c.want) || y != nil || b.Len() != 0 {
			t.Errorf("%s: got %v, %v (%d ops), want an error wrapping %v", c.name, y, err, b.Len(), c.want)
		}
	}
	for _, c := range []struct {
		a, w  *engine.Tensor
		o     engine.NBitsOptions
		shape []int
		d     qtensor.DType
	}{
		{a, w, engine.NBitsOptions{}, []int{2, 3, 5}, qtensor.Float32},
		{a, wpad, engine.NBitsOptions{Int8Activations: true, Bias: make([]float32, 5)}, []int{2, 3, 5}, qtensor.Float32},
		{a1, w, engine.NBitsOptions{YType: qtensor.Int8, YScale: 0.1, YZP: -3}, []int{5}, qtensor.Int8},
	} {
		b := e.NewBatch()
		y, err := b.MatMulNBits(c.a, c.w, c.o)
		if err != nil {
			t.Fatal(err)
		}
		if got := y.Shape(); y.DType() != c.d || !slices.Equal(got, c.shape) {
			t.Errorf("output %v %v, want %v %v", y.DType(), got, c.d, c.shape)
		}
		b.Release()
	}
}

func make1(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}
