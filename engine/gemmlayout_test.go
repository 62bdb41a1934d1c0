package engine_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// upQ uploads an int8 or uint8 tensor of the given values.
func upQ(t *testing.T, e *engine.Engine, d qtensor.DType, shape []int, p qtensor.Params, v ...int32) *engine.Tensor {
	t.Helper()
	h, err := qtensor.New(d, shape, p)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range v {
		h.Set(i, x)
	}
	x, err := e.Upload(h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Release)
	return x
}

// TestGemmTransposeB runs a GEMM whose B is stored [N][K] with
// GemmOptions.TransposeB and checks the result against hand-computed
// values, and the shapes, params and backend op it records.
func TestGemmTransposeB(t *testing.T) {
	e := newCPU(t, 256)
	// A = [[1, 2, 3], [4, 5, 6]] (zp 0); the weight of a Linear(3, 2),
	// W = [[1, 0, -1], [2, 1, 0]] ([out][in]), per output channel: zero
	// points [0, 1] (W - zp = [[1, 0, -1], [1, 0, -1]]), scales [0.5, 0.25].
	// acc = A (W - zp)^T = [[1-3, 1-3], [4-6, 4-6]] = [[-2, -2], [-2, -2]];
	// with bias [10, 20]: [[8, 18], [8, 18]].
	a := upQ(t, e, qtensor.Uint8, []int{2, 3}, qtensor.TensorParams(1, 0), 1, 2, 3, 4, 5, 6)
	wp := qtensor.Params{Granularity: qtensor.PerAxis, Axis: 0, Scales: []float32{0.5, 0.25}, ZeroPoints: []int32{0, 1}}
	w := upQ(t, e, qtensor.Int8, []int{2, 3}, wp, 1, 0, -1, 2, 1, 0)
	b := e.NewBatch()
	y, err := b.Gemm(a, w, engine.GemmOptions{TransposeB: true, Bias: []int32{10, 20}})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Release()
	// Float output: float32(acc) * (1 * scale[n]): [[-1, -0.5], [-1, -0.5]].
	yf, err := b.Gemm(a, w, engine.GemmOptions{TransposeB: true, Output: engine.OutFloat32})
	if err != nil {
		t.Fatal(err)
	}
	defer yf.Release()
	g := b.Ops()[0].(*backend.Gemm)
	if !g.TransposeB || g.M != 2 || g.K != 3 || g.N != 2 || !slices.Equal(g.BZP, []int32{0, 1}) {
		t.Errorf("recorded op: TransposeB %v, M K N = %d %d %d, BZP %v", g.TransposeB, g.M, g.K, g.N, g.BZP)
	}
	if k, n := g.BStrides(); k != 1 || n != 3 {
		t.Errorf("BStrides() = %d, %d, want 1, 3", k, n)
	}
	if err := b.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	h, err := e.Download(y)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Int32s(); !slices.Equal(got, []int32{8, 18, 8, 18}) || !slices.Equal(h.Shape, []int{2, 2}) {
		t.Errorf("int32 output %v %v, want [8 18 8 18] [2 2]", got, h.Shape)
	}
	f, err := e.DownloadFloat32(yf)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f, []float32{-1, -0.5, -1, -0.5}) {
		t.Errorf("float output %v, want [-1 -0.5 -1 -0.5]", f)
	}
}

// TestGemmLayoutErrors checks that a B whose shape or per-channel axis
// fits only the other layout is refused with the option to change.
func TestGemmLayoutErrors(t *testing.T) {
	e := newCPU(t, 0)
	pt := qtensor.TensorParams(0.5, 0)
	axis := func(ax, n int) qtensor.Params {
		p := qtensor.Params{Granularity: qtensor.PerAxis, Axis: ax}
		for range n {
			p.Scales, p.ZeroPoints = append(p.Scales, 0.5), append(p.ZeroPoints, 0)
		}
		return p
	}
	zeros := func(n int) []int32 { return make([]int32, n) }
	a := upQ(t, e, qtensor.Uint8, []int{2, 3}, pt, zeros(6)...)
	nk := upQ(t, e, qtensor.Int8, []int{4, 3}, pt, zeros(12)...)             // [N][K], K = 3
	kn := upQ(t, e, qtensor.Int8, []int{3, 4}, pt, zeros(12)...)             // [K][N]
	sq0 := upQ(t, e, qtensor.Int8, []int{3, 3}, axis(0, 3), zeros(9)...)     // square, per axis 0
	sq1 := upQ(t, e, qtensor.Int8, []int{3, 3}, axis(1, 3), zeros(9)...)     // square, per axis 1
	nkK := upQ(t, e, qtensor.Int8, []int{4, 3}, axis(1, 3), zeros(12)...)    // [N][K] per axis 1 (K)
	bnk := upQ(t, e, qtensor.Int8, []int{2, 4, 3}, axis(1, 4), zeros(24)...) // batched [N][K] per N
	bkn := upQ(t, e, qtensor.Int8, []int{2, 3, 4}, axis(2, 4), zeros(24)...) // batched [K][N] per N
	vec := upQ(t, e, qtensor.Int8, []int{3}, pt, zeros(3)...)                // 1-D: both layouts
	f32 := engine.OutFloat32
	cases := []struct {
		name string
		b    *engine.Tensor
		o    engine.GemmOptions
		err  error    // nil: accepted
		want []string // in the message
		out  []int    // accepted: the output shape
	}{
		{"[N][K] without TransposeB", nk, engine.GemmOptions{}, engine.ErrShape,
			[]string{"B looks like [..., N, K]", "set GemmOptions.TransposeB"}, nil},
		{"[N][K] with TransposeB", nk, engine.GemmOptions{TransposeB: true}, nil, nil, []int{2, 4}},
		{"[K][N] with TransposeB", kn, engine.GemmOptions{TransposeB: true}, engine.ErrShape,
			[]string{"B looks like [..., K, N]", "unset GemmOptions.TransposeB"}, nil},
		{"[K][N]", kn, engine.GemmOptions{}, nil, nil, []int{2, 4}},
		{"square, per axis 0, float output", sq0, engine.GemmOptions{Output: f32}, engine.ErrParams,
			[]string{"per axis 0, its K axis", "set GemmOptions.TransposeB"}, nil},
		{"square, per axis 0, int32 output (zero points)", sq0, engine.GemmOptions{}, engine.ErrParams,
			[]string{"set GemmOptions.TransposeB"}, nil},
		{"square, per axis 0, TransposeB", sq0, engine.GemmOptions{TransposeB: true, Output: f32}, nil, nil, []int{2, 3}},
		{"square, per axis 1, TransposeB", sq1, engine.GemmOptions{TransposeB: true, Output: f32}, engine.ErrParams,
			[]string{"per axis 1, its K axis", "unset GemmOptions.TransposeB"}, nil},
		{"square, per axis 0, zero points and scales given", sq0, engine.GemmOptions{BZP: []int32{0}, Output: engine.OutFloat32, BScale: []float32{1}}, nil, nil, []int{2, 3}},
		{"[N][K] per axis K, TransposeB", nkK, engine.GemmOptions{TransposeB: true}, engine.ErrParams,
			[]string{"per axis 1, its K axis", "output channels (N) are axis 0"}, nil},
		{"batched [N][K] per N, TransposeB", bnk, engine.GemmOptions{TransposeB: true, Output: f32}, nil, nil, []int{2, 2, 4}},
		{"batched [N][K] without TransposeB", bnk, engine.GemmOptions{}, engine.ErrShape, []string{"set GemmOptions.TransposeB"}, nil},
		{"batched [K][N] per N", bkn, engine.GemmOptions{Output: f32}, nil, nil, []int{2, 2, 4}},
		{"1-D B with TransposeB", vec, engine.GemmOptions{TransposeB: true}, nil, nil, []int{2}},
		{"1-D B", vec, engine.GemmOptions{}, nil, nil, []int{2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := e.NewBatch()
			defer b.Release()
			y, err := b.Gemm(a, c.b, c.o)
			if c.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(y.Shape(), c.out) {
					t.Errorf("output shape %v, want %v", y.Shape(), c.out)
				}
				return
			}
			if !errors.Is(err, c.err) {
				t.Fatalf("error %v, want one wrapping %v", err, c.err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
