package model_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/model"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/interp"
	"github.com/qgpu/qgpu/model/modeltest"
	"github.com/qgpu/qgpu/qtensor"
)

// TestMatMulNBitsLowering: com.microsoft MatMulNBits nodes (float and int8
// activations, with and without zero points and bias) run as engine
// MatMulNBits, bit for bit package graph's kernel, which the float
// interpreter runs.
func TestMatMulNBitsLowering(t *testing.T) {
	b := modeltest.NewBuilder(t, 31)
	x := b.Input("x", 3, 40)
	h := b.MatMulNBits(x, 40, 17, 4, 16, true, true, 0)
	h = b.MatMulNBits(h, 17, 9, 8, 32, false, false, 4)
	b.Output(h)
	m := b.Load(model.Options{})
	for _, n := range planOf(m.Plan(), "com.microsoft.MatMulNBits") {
		if n.Where != model.OnEngine || !strings.Contains(strings.Join(n.Ops, " "), "MatMulNBits(") {
			t.Fatalf("%s: %v %v (%s)", n.Node, n.Where, n.Ops, n.Reason)
		}
	}
	in := map[string]*graph.Tensor{"x": modeltest.RandInput(rand.New(rand.NewPCG(1, 2)), []int{3, 40}, -3, 3)}
	got, want := runBoth(t, b, m, in, h)
	for i, w := range want.F32 {
		if math.Float32bits(got.F32[i]) != math.Float32bits(w) {
			t.Fatalf("y[%d] = %g, package graph's kernel %g", i, got.F32[i], w)
		}
	}
}

// TestBlockedMatMulLowering: a MatMul of float activations and an opset 21
// DequantizeLinear of int4/uint4 weights in blocks along K runs as engine
// MatMulNBits on the transposed weights: bit for bit the MatMulNBits
// formula (qtensor.MatMulNBitsRow) on weights built here from the values,
// and within float rounding of the float graph's MatMul of the
// dequantized weights.
func TestBlockedMatMulLowering(t *testing.T) {
	for _, signed := range []bool{true, false} {
		b := modeltest.NewBuilder(t, 32)
		b.Opset = 21
		const M, K, N, bs = 4, 37, 6, 16
		x := b.Input("x", M, K)
		w, vals, p := b.BlockedWeights(K, N, bs, signed)
		y := b.Node("MatMul", []string{x, w})
		b.Output(y)
		m := b.Load(model.Options{})
		wantPlan(t, m.Plan(), "MatMul", model.OnEngine, "MatMulNBits")
		wantPlan(t, m.Plan(), "DequantizeLinear", model.Fused)
		in := map[string]*graph.Tensor{"x": modeltest.RandInput(rand.New(rand.NewPCG(3, 4)), []int{M, K}, -2, 2)}
		got, fake := runBoth(t, b, m, in, y)
		// The expected bits: weights [N, K] with blocks along axis 1.
		nb := (K + bs - 1) / bs
		d := qtensor.Uint4
		if signed {
			d = qtensor.Int4
		}
		tp := qtensor.Params{Granularity: qtensor.PerBlock, Axis: 1, BlockSize: bs, Scales: make([]float32, N*nb), ZeroPoints: make([]int32, N*nb)}
		for blk := range nb {
			for n := range N {
				tp.Scales[n*nb+blk], tp.ZeroPoints[n*nb+blk] = p.Scales[blk*N+n], p.ZeroPoints[blk*N+n]
			}
		}
		wt, err := qtensor.New(d, []int{N, K}, tp)
		if err != nil {
			t.Fatal(err)
		}
		for k := range K {
			for n := range N {
				wt.Set(n*K+k, int32(vals[k*N+n]))
			}
		}
		row := make([]float32, N)
		for mi := range M {
			a := in["x"].F32[mi*K : (mi+1)*K]
			qtensor.MatMulNBitsRow(row, a, wt, false, nil)
			for n, want := range row {
				g := got.F32[mi*N+n]
				if math.Float32bits(g) != math.Float32bits(want) {
					t.Fatalf("signed %v: y[%d][%d] = %g, the MatMulNBits formula gives %g", signed, mi, n, g, want)
				}
				// Both are float32 sums of K products: within 2 (K+2) u
				// sum |a w| of each other.
				var s float64
				for k := range K {
					blk := k / bs
					s += math.Abs(float64(a[k]) * float64(p.Scales[blk*N+n]) * float64(int32(vals[k*N+n])-p.ZeroPoints[blk*N+n]))
				}
				if d := math.Abs(float64(g) - float64(fake.F32[mi*N+n])); d > 2*(K+2)*0x1p-24*s {
					t.Fatalf("y[%d][%d] = %g, the float graph %g: beyond float rounding", mi, n, g, fake.F32[mi*N+n])
				}
			}
		}
	}
}

// TestMatMulNBitsFallback: nodes the engine cannot run stay on the host
// with a reason, and the model still computes package graph's result.
func TestMatMulNBitsFallback(t *testing.T) {
	b := modeltest.NewBuilder(t, 33)
	b.Opset = 21
	x := b.Input("x", 2, 64)
	h := b.MatMulNBits(x, 64, 5, 4, 512, false, false, 0) // block 512: beyond the engine's 256
	b.Output(h)
	m := b.Load(model.Options{})
	wantPlan(t, m.Plan(), "com.microsoft.MatMulNBits", model.OnHost, "block")
	in := map[string]*graph.Tensor{"x": modeltest.RandInput(rand.New(rand.NewPCG(5, 6)), []int{2, 64}, -1, 1)}
	got, err := m.RunMap(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	want, err := interp.Run(t.Context(), b.Graph(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want[h].F32 {
		if got[h].F32[i] != w {
			t.Fatalf("y[%d] = %g, want %g", i, got[h].F32[i], w)
		}
	}
}
