package model_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/model"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/modeltest"
	"github.com/qgpu/qgpu/onnx"
)

// gemmSpec is a QDQ MatMul or Gemm: A [Bt, M, K] (Bt 0: [M, K]) times
// weights or a second activation.
type gemmSpec struct {
	name        string
	op          string // "MatMul" or "Gemm"
	Bt, M, K, N int
	adt         onnx.DataType
	as          float32
	azp         int
	dynamicB    bool // B is a second quantized input [Bt, K, N]
	transB      bool
	perChannel  bool
	bias        bool
	alpha, beta float32
	ydt         onnx.DataType
	ys          float32
	yzp         int
	relu        bool
}

var gemmSpecs = []gemmSpec{
	{name: "matmul/batched/per-column", op: "MatMul", Bt: 2, M: 3, K: 16, N: 8, adt: onnx.Uint8, as: 0.02, azp: 120, perChannel: true,
		ydt: onnx.Uint8, ys: 0.1, yzp: 128},
	{name: "gemm/transB/bias/relu", op: "Gemm", M: 4, K: 20, N: 6, adt: onnx.Int8, as: 0.03, azp: -3, transB: true, perChannel: true, bias: true,
		alpha: 1, beta: 1, ydt: onnx.Int8, ys: 0.08, yzp: 0, relu: true},
	{name: "gemm/alpha-beta/rescaled-bias", op: "Gemm", M: 3, K: 20, N: 6, adt: onnx.Uint8, as: 0.02, azp: 128, bias: true,
		alpha: 0.5, beta: 2, ydt: onnx.Uint8, ys: 0.05, yzp: 100},
	{name: "matmul/two-activations", op: "MatMul", Bt: 2, M: 4, K: 8, N: 5, adt: onnx.Uint8, as: 0.05, azp: 128, dynamicB: true,
		ydt: onnx.Uint8, ys: 0.2, yzp: 128},
}

func (c gemmSpec) ashape() []int {
	if c.Bt > 0 {
		return []int{c.Bt, c.M, c.K}
	}
	return []int{c.M, c.K}
}

// TestGemmLowering: MatMul and Gemm (weights transposed at load, alpha,
// beta, bias) run as one engine Gemm, bit for bit the integer formula and
// within the rounding-boundary rule of the float graph.
func TestGemmLowering(t *testing.T) {
	for k, c := range gemmSpecs {
		t.Run(c.name, func(t *testing.T) {
			b := modeltest.NewBuilder(t, uint64(10+k))
			a := b.QDQ(b.Input("a", c.ashape()...), c.adt, c.as, c.azp)
			const bs0, bzp = 0.04, 128
			var wv []int8
			var ws []float32
			var bIn string
			if c.dynamicB {
				bIn = b.QDQ(b.Input("b", c.Bt, c.K, c.N), onnx.Uint8, bs0, bzp)
				ws = []float32{bs0}
			} else {
				shape, axis := []int{c.K, c.N}, 1
				if c.transB {
					shape, axis = []int{c.N, c.K}, 0
				}
				if !c.perChannel {
					axis = -1
				}
				bIn, wv, ws = b.Weights(shape, axis, 0.02)
			}
			ins := []string{a, bIn}
			var bias []int32
			var biasScale float32
			if c.bias {
				biasScale = c.as * 0.02 // not the accumulator's when alpha != 1 or per channel
				if c.alpha == 1 {
					var bn string
					bn, bias = b.Bias(c.N, c.as, ws)
					ins = append(ins, bn)
				} else {
					bias = make([]int32, c.N)
					for i := range bias {
						bias[i] = int32(b.Rand.IntN(2001) - 1000)
					}
					ins = append(ins, b.DQ(b.I32([]int{c.N}, bias...), onnx.Int32, biasScale, 0))
				}
			}
			var y string
			if c.op == "MatMul" {
				y = b.Node("MatMul", ins)
			} else {
				tb := int64(0)
				if c.transB {
					tb = 1
				}
				y = b.Node("Gemm", ins, modeltest.AFloat("alpha", c.alpha), modeltest.AFloat("beta", c.beta), modeltest.AInt("transB", tb))
			}
			if c.relu {
				y = b.Node("Relu", []string{y})
			}
			b.Output(b.DQ(b.Q(y, c.ydt, c.ys, c.yzp), c.ydt, c.ys, c.yzp))
			m := b.Load(model.Options{})
			p := m.Plan()
			wantPlan(t, p, c.op, model.OnEngine, "Gemm(")
			if p.Submissions != 1 {
				t.Errorf("%d submissions\n%v", p.Submissions, p)
			}
			if c.relu {
				wantPlan(t, p, "Relu", model.Fused, "ReLU")
			}

			rng := rand.New(rand.NewPCG(uint64(k), 3))
			ad := qtype(c.adt)
			ax := modeltest.RandInput(rng, c.ashape(), float32(ad.QMin()-int32(c.azp))*c.as*1.05, float32(ad.QMax()-int32(c.azp))*c.as*1.05)
			in := map[string]*graph.Tensor{"a": ax}
			var bq []int32 // B as [Bt?][K][N] integers minus zero point
			if c.dynamicB {
				bx := modeltest.RandInput(rng, []int{c.Bt, c.K, c.N}, -128*bs0, 127*bs0)
				in["b"] = bx
				for _, q := range quantize(bx.F32, onnx.Uint8, bs0, bzp) {
					bq = append(bq, q-bzp)
				}
			} else {
				bq = make([]int32, c.K*c.N)
				for kk := 0; kk < c.K; kk++ {
					for n := 0; n < c.N; n++ {
						if c.transB {
							bq[kk*c.N+n] = int32(wv[n*c.K+kk])
						} else {
							bq[kk*c.N+n] = int32(wv[kk*c.N+n])
						}
					}
				}
			}
			got, fake := runBoth(t, b, m, in, m.Outputs()[0].Name)
			aq := quantize(ax.F32, c.adt, c.as, c.azp)
			yd := qtype(c.ydt)
			alpha, beta := c.alpha, c.beta
			if c.op == "MatMul" {
				alpha, beta = 1, 1
			}
			ascale := c.as
			if alpha != 1 {
				ascale = alpha * c.as
			}
			bt := max(c.Bt, 1)
			var want []int32
			var v, tol []float64
			for t0 := 0; t0 < bt; t0++ {
				for i := 0; i < c.M; i++ {
					for n := 0; n < c.N; n++ {
						var acc int64
						var abs float64
						for kk := 0; kk < c.K; kk++ {
							x := int64(aq[(t0*c.M+i)*c.K+kk]) - int64(c.azp)
							var w int64
							if c.dynamicB {
								w = int64(bq[(t0*c.K+kk)*c.N+n])
							} else {
								w = int64(bq[kk*c.N+n])
							}
							acc += x * w
							abs += math.Abs(float64(x * w))
						}
						s := ws[min(n, len(ws)-1)]
						accUnit := float32(ascale * s) // the accumulator's scale
						real := float64(alpha) * float64(c.as) * float64(s) * float64(acc)
						slack := 0.0
						if bias != nil {
							if alpha == 1 {
								acc += int64(bias[n])
								real += float64(bias[n]) * float64(accUnit)
							} else {
								// The bias is rounded to the accumulator's scale.
								r := float64(beta) * float64(bias[n]) * float64(biasScale)
								acc += int64(math.RoundToEven(r / float64(accUnit)))
								real += r
								slack = 0.5 * float64(accUnit) / float64(c.ys)
							}
						}
						q := refRequant(acc, ascale, s, c.ys, int32(c.yzp), yd, c.relu)
						want = append(want, q)
						vv := real / float64(c.ys)
						v = append(v, vv)
						tol = append(tol, float64(c.K+16)*0x1p-23*abs*float64(accUnit)/float64(c.ys)+0x1p-20*math.Abs(vv)+0x1p-20+slack)
					}
				}
			}
			gq := qOf(got.F32, c.ys, int32(c.yzp))
			for i := range want {
				if gq[i] != want[i] {
					t.Fatalf("y[%d] = %d, the integer formula gives %d", i, gq[i], want[i])
				}
			}
			lo := yd.QMin()
			if c.relu {
				lo = int32(c.yzp)
			}
			near := checkReal(t, "y", gq, qOf(fake.F32, c.ys, int32(c.yzp)), v, tol, int32(c.yzp), lo, yd.QMax())
			t.Logf("%d outputs, %d near a rounding boundary", len(v), near)
		})
	}
}

// TestFloatOutput: a Conv or MatMul whose result is not quantized (a
// graph output here) runs on the engine with a float32 output:
// float32(float32(acc + bias) * float32(xs*ws)) bit for bit, plus the
// float bias when the bias is a float constant.
func TestFloatOutput(t *testing.T) {
	b := modeltest.NewBuilder(t, 40)
	x := b.QDQ(b.Input("x", 1, 2, 6, 6), onnx.Uint8, 0.02, 128)
	w, wv, ws := b.Weights([]int{3, 2, 3, 3}, 0, 0.02)
	fbias := []float32{0.5, -0.25, 1.75}
	c := b.Node("Conv", []string{x, w, b.F32([]int{3}, fbias...)}, modeltest.AInts("pads", 1, 1, 1, 1))
	b.Output(c)
	// A MatMul straight to a graph output, its bias an int32 DQ.
	a2 := b.QDQ(b.Input("a", 3, 8), onnx.Int8, 0.05, 0)
	w2, wv2, ws2 := b.Weights([]int{8, 4}, 1, 0.03)
	mm := b.Node("MatMul", []string{a2, w2})
	b.Output(mm)
	m := b.Load(model.Options{})
	p := m.Plan()
	wantPlan(t, p, "Conv", model.OnEngine, "float32", "graph output")
	wantPlan(t, p, "MatMul", model.OnEngine, "float32", "graph output")

	rng := rand.New(rand.NewPCG(4, 4))
	xin := modeltest.RandInput(rng, []int{1, 2, 6, 6}, -2.6, 2.6)
	ain := modeltest.RandInput(rng, []int{3, 8}, -6, 6)
	res, err := m.RunMap(t.Context(), map[string]*graph.Tensor{"x": xin, "a": ain})
	if err != nil {
		t.Fatal(err)
	}
	spec := convSpec{N: 1, C: 2, H: 6, W: 6, O: 3, KH: 3, KW: 3, group: 1, stride: 1, pad: 1, dil: 1, xzp: 128}
	acc, _, _, _ := spec.refConv(quantize(xin.F32, onnx.Uint8, 0.02, 128), wv, nil)
	for i, a := range acc {
		o := i / 36
		want := float32(float32(a)*float32(0.02*ws[o])) + fbias[o]
		if got := res[c].F32[i]; got != want {
			t.Fatalf("conv[%d] = %g, want %g", i, got, want)
		}
	}
	aq := quantize(ain.F32, onnx.Int8, 0.05, 0)
	for i := 0; i < 3; i++ {
		for n := 0; n < 4; n++ {
			var acc int32
			for k := 0; k < 8; k++ {
				acc += aq[i*8+k] * int32(wv2[k*4+n])
			}
			want := float32(float32(acc) * float32(0.05*ws2[n]))
			if got := res[mm].F32[i*4+n]; got != want {
				t.Fatalf("mm[%d,%d] = %g, want %g", i, n, got, want)
			}
		}
	}
}
