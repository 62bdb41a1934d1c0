package model_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/model"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/interp"
	"github.com/qgpu/qgpu/model/modeltest"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/qtensor"
)

// The oracles of the lowering tests.
//
// A QDQ graph states a float computation between quantizations: for a
// Conv, Q(conv(DQ(x), DQ(w)) + DQ(b)). Its exact result, in units of the
// output scale, is the real number v = acc * xs * ws / ys, where acc is
// the exact integer accumulator sum (x - zx)(w - zw) + b. Two
// computations approximate it:
//
//   - the runtime's integer kernels: acc exactly, then one rounding of
//     float32(acc) * M with M = float32(xs*ws)/ys (docs/semantics.md,
//     the epilogue): relative error below 2^-22 before rounding;
//   - the float interpreter running the same graph ("fake quantization"):
//     a float32 convolution of the dequantized values, whose error is
//     bounded by about K * 2^-24 * sum |terms| (K terms), then Q.
//
// Both round v to the nearest integer. They must therefore agree with
// rint(v) - and with each other - unless v lies within their error bound
// of a rounding boundary (a half-integer), where either neighbour is a
// correct rounding: then they may differ, by one unit of the output scale
// and no more. checkReal asserts exactly that, with v computed here from
// integers in float64. The runtime must in addition equal, bit for bit,
// the documented integer formula computed here independently
// (refRequant).

// qOf recovers the integers q from dequantized values y = float32(q-zp)*s
// (exact: |q - zp| <= 255 keeps y/s within 2^-15 of an integer).
func qOf(y []float32, s float32, zp int32) []int32 {
	q := make([]int32, len(y))
	for i, v := range y {
		q[i] = int32(math.RoundToEven(float64(v/s))) + zp
	}
	return q
}

// checkReal checks quantized results got (the runtime) and fake (the
// float interpreter) against the exact real values v (units of the output
// scale, zero point excluded) with error bounds tol: both must be
// clamp(rint(v) + zp, lo, hi) unless v is within tol of a half-integer,
// and then both must be one of the two neighbours. It returns how many
// elements were near a boundary.
func checkReal(t *testing.T, what string, got, fake []int32, v, tol []float64, zp, lo, hi int32) int {
	t.Helper()
	if len(got) != len(v) || len(fake) != len(v) {
		t.Fatalf("%s: %d results, %d fake, %d reference", what, len(got), len(fake), len(v))
	}
	clamp := func(x float64) int32 { return int32(min(max(x+float64(zp), float64(lo)), float64(hi))) }
	near, bad := 0, 0
	for i := range v {
		want := clamp(math.RoundToEven(v[i]))
		frac := v[i] - math.Floor(v[i])
		if math.Abs(frac-0.5) > tol[i] {
			if got[i] != want || fake[i] != want {
				if bad++; bad <= 5 {
					t.Errorf("%s[%d]: v=%.6f (tol %.2g): runtime %d, interpreter %d, want %d", what, i, v[i], tol[i], got[i], fake[i], want)
				}
			}
			continue
		}
		near++
		a, b := clamp(math.Floor(v[i])), clamp(math.Ceil(v[i]))
		for _, q := range []int32{got[i], fake[i]} {
			if q != a && q != b {
				if bad++; bad <= 5 {
					t.Errorf("%s[%d]: v=%.6f is near a tie: runtime %d, interpreter %d, want %d or %d", what, i, v[i], got[i], fake[i], a, b)
				}
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d wrong elements in all", what, bad)
	}
	return near
}

// refRequant is the quantized epilogue of docs/semantics.md, written out
// here: y = clamp(rint(float32(acc) * M) + zp), M = float32(as*ws)/ys,
// ReLU raising the lower bound to zp.
func refRequant(acc int64, as, ws, ys float32, zp int32, dt qtensor.DType, relu bool) int32 {
	m := float32(as*ws) / ys
	r := math.RoundToEven(float64(float32(float32(acc) * m)))
	lo := float64(dt.QMin())
	if relu {
		lo = float64(zp)
	}
	return int32(min(max(r+float64(zp), lo), float64(dt.QMax())))
}

func qtype(dt onnx.DataType) qtensor.DType {
	if dt == onnx.Int8 {
		return qtensor.Int8
	}
	return qtensor.Uint8
}

// quantize is QuantizeLinear (qtensor's scalar formula, the definition).
func quantize(x []float32, dt onnx.DataType, s float32, zp int) []int32 {
	d := qtype(dt)
	q := make([]int32, len(x))
	for i, v := range x {
		q[i] = qtensor.Quantize(v, s, int32(zp), d.QMin(), d.QMax())
	}
	return q
}

// runBoth runs m and the float interpreter on the same graph and inputs
// and returns the output named out of each.
func runBoth(t *testing.T, b *modeltest.Builder, m *model.Model, in map[string]*graph.Tensor, out string) (got, fake *graph.Tensor) {
	t.Helper()
	res, err := m.RunMap(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := interp.Run(context.Background(), b.Graph(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res[out], ref[out]
}

// planOf returns the plan entries of the nodes whose op is op.
func planOf(p model.Plan, op string) []model.NodePlan {
	var out []model.NodePlan
	for _, n := range p.Nodes {
		if n.OpType == op {
			out = append(out, n)
		}
	}
	return out
}

// wantPlan checks that every node of op type op is placed at where, with
// the given words in its reason (or ops).
func wantPlan(t *testing.T, p model.Plan, op string, where model.Where, words ...string) {
	t.Helper()
	ns := planOf(p, op)
	if len(ns) == 0 {
		t.Errorf("plan has no %s node:\n%v", op, p)
		return
	}
	for _, n := range ns {
		if n.Where != where {
			t.Errorf("%s %s: placed %v (%s), want %v\n%v", op, n.Node, n.Where, n.Reason, where, p)
			continue
		}
		text := n.Reason + " " + strings.Join(n.Ops, " ")
		for _, w := range words {
			if !strings.Contains(text, w) {
				t.Errorf("%s %s: %q lacks %q", op, n.Node, text, w)
			}
		}
	}
}

// floats returns the values of a float tensor as float64.
func sameFloats(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}
