package model_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/model"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/modeltest"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/qtensor"
)

// convSpec is a QDQ convolution: x -> Q -> DQ -> Conv(DQ(w), DQ(b)) ->
// [act] -> Q -> DQ -> y.
type convSpec struct {
	name                  string
	N, C, H, W, O, KH, KW int // H == 0: a 1-D convolution over [N, C, W]
	group, stride, pad    int
	dil                   int
	xdt                   onnx.DataType
	xs                    float32
	xzp                   int
	ydt                   onnx.DataType
	ys                    float32
	yzp                   int
	perChannel, bias      bool
	act                   string // "", "Relu" or "Clip"
	clipLo, clipHi        float32
	wantAct               string // a word of the act node's plan reason
}

var convSpecs = []convSpec{
	{name: "uint8/relu-implied", N: 2, C: 3, H: 9, W: 8, O: 5, KH: 3, KW: 3, group: 1, stride: 1, pad: 1, dil: 1,
		xdt: onnx.Uint8, xs: 0.02, xzp: 128, ydt: onnx.Uint8, ys: 0.03, yzp: 0, perChannel: true, bias: true, act: "Relu", wantAct: "implied"},
	{name: "int8/relu-fused/stride2-dil2", N: 1, C: 4, H: 11, W: 10, O: 6, KH: 3, KW: 3, group: 1, stride: 2, pad: 2, dil: 2,
		xdt: onnx.Int8, xs: 0.015, xzp: 3, ydt: onnx.Int8, ys: 0.04, yzp: -5, bias: true, act: "Relu", wantAct: "ReLU"},
	{name: "depthwise/relu6-implied", N: 1, C: 6, H: 7, W: 7, O: 6, KH: 3, KW: 3, group: 6, stride: 1, pad: 1, dil: 1,
		xdt: onnx.Uint8, xs: 0.05, xzp: 100, ydt: onnx.Uint8, ys: 6.0 / 255, yzp: 0, perChannel: true, bias: true, act: "Clip", clipLo: 0, clipHi: 6, wantAct: "implied"},
	{name: "grouped/no-act", N: 1, C: 4, H: 5, W: 9, O: 6, KH: 1, KW: 3, group: 2, stride: 1, pad: 0, dil: 1,
		xdt: onnx.Int8, xs: 0.03, xzp: -7, ydt: onnx.Int8, ys: 0.02, yzp: 10, perChannel: true},
	{name: "clip-as-relu", N: 1, C: 3, H: 6, W: 6, O: 4, KH: 3, KW: 3, group: 1, stride: 1, pad: 1, dil: 1,
		xdt: onnx.Int8, xs: 0.02, xzp: 0, ydt: onnx.Int8, ys: 0.05, yzp: -10, perChannel: true, bias: true, act: "Clip", clipLo: 0, clipHi: 100, wantAct: "ReLU"},
	{name: "clip-table", N: 1, C: 3, H: 6, W: 6, O: 4, KH: 3, KW: 3, group: 1, stride: 1, pad: 1, dil: 1,
		xdt: onnx.Uint8, xs: 0.02, xzp: 128, ydt: onnx.Uint8, ys: 0.02, yzp: 0, perChannel: true, bias: true, act: "Clip", clipLo: 0.1, clipHi: 0.5, wantAct: "table lookup"},
	{name: "1d", N: 2, C: 3, W: 12, O: 4, KW: 3, group: 1, stride: 2, pad: 1, dil: 1,
		xdt: onnx.Uint8, xs: 0.02, xzp: 128, ydt: onnx.Uint8, ys: 0.05, yzp: 128, perChannel: true, bias: true},
}

func (c convSpec) oneD() bool { return c.H == 0 }

// build makes the spec's model and returns the builder, the weights, their
// scales and the bias.
func (c convSpec) build(t *testing.T, seed uint64) (*modeltest.Builder, []int8, []float32, []int32) {
	b := modeltest.NewBuilder(t, seed)
	xshape := []int{c.N, c.C, c.H, c.W}
	wshape := []int{c.O, c.C / c.group, c.KH, c.KW}
	rep := func(v int) []int64 { return []int64{int64(v), int64(v)} }
	pads := []int64{int64(c.pad), int64(c.pad), int64(c.pad), int64(c.pad)}
	if c.oneD() {
		xshape, wshape = []int{c.N, c.C, c.W}, []int{c.O, c.C / c.group, c.KW}
		rep = func(v int) []int64 { return []int64{int64(v)} }
		pads = pads[:2]
	}
	x := b.Input("x", xshape...)
	xq := b.QDQ(x, c.xdt, c.xs, c.xzp)
	axis := -1
	if c.perChannel {
		axis = 0
	}
	w, wv, ws := b.Weights(wshape, axis, 0.02)
	ins := []string{xq, w}
	var bias []int32
	if c.bias {
		var bn string
		bn, bias = b.Bias(c.O, c.xs, ws)
		ins = append(ins, bn)
	}
	y := b.Node("Conv", ins, modeltest.AInt("group", int64(c.group)), modeltest.AInts("strides", rep(c.stride)...),
		modeltest.AInts("dilations", rep(c.dil)...), modeltest.AInts("pads", pads...))
	switch c.act {
	case "Relu":
		y = b.Node("Relu", []string{y})
	case "Clip":
		y = b.Node("Clip", []string{y, b.F32(nil, c.clipLo), b.F32(nil, c.clipHi)})
	}
	b.Output(b.DQ(b.Q(y, c.ydt, c.ys, c.yzp), c.ydt, c.ys, c.yzp))
	return b, wv, ws, bias
}

// refConv returns the exact accumulators (bias included) and the sums of
// |terms| of the convolution of quantized x with w, in NCHW order.
func (c convSpec) refConv(xq []int32, w []int8, bias []int32) (acc []int64, abs []float64, oh, ow int) {
	H, KH := c.H, c.KH
	if c.oneD() {
		H, KH = 1, 1
	}
	padH := c.pad
	if c.oneD() {
		padH = 0
	}
	oh = (H+2*padH-c.dil*(KH-1)-1)/c.stride + 1
	ow = (c.W+2*c.pad-c.dil*(c.KW-1)-1)/c.stride + 1
	strideH := c.stride
	if c.oneD() {
		strideH = 1
	}
	cg, og := c.C/c.group, c.O/c.group
	for n := 0; n < c.N; n++ {
		for o := 0; o < c.O; o++ {
			g := o / og
			for y := 0; y < oh; y++ {
				for x := 0; x < ow; x++ {
					var a int64
					var s float64
					for ci := 0; ci < cg; ci++ {
						for ky := 0; ky < KH; ky++ {
							for kx := 0; kx < c.KW; kx++ {
								iy, ix := y*strideH-padH+ky*c.dil, x*c.stride-c.pad+kx*c.dil
								if iy < 0 || iy >= H || ix < 0 || ix >= c.W {
									continue
								}
								xv := int64(xq[((n*c.C+g*cg+ci)*H+iy)*c.W+ix]) - int64(c.xzp)
								wv := int64(w[((o*cg+ci)*KH+ky)*c.KW+kx])
								a += xv * wv
								s += math.Abs(float64(xv * wv))
							}
						}
					}
					if bias != nil {
						a += int64(bias[o])
						s += math.Abs(float64(bias[o]))
					}
					acc = append(acc, a)
					abs = append(abs, s)
				}
			}
		}
	}
	return acc, abs, oh, ow
}

// TestConvLowering: each QDQ convolution runs as one engine Conv (with
// its activation fused or dropped), bit for bit the documented integer
// formula, and within the rounding-boundary rule of the fake-quantized
// float graph.
func TestConvLowering(t *testing.T) {
	for k, c := range convSpecs {
		t.Run(c.name, func(t *testing.T) {
			b, w, ws, bias := c.build(t, uint64(k+1))
			m := b.Load(model.Options{})
			p := m.Plan()
			wantPlan(t, p, "Conv", model.OnEngine, "Conv(")
			if c.act != "" {
				wantPlan(t, p, c.act, model.Fused, c.wantAct)
			}
			if p.Submissions != 1 {
				t.Errorf("%d submissions, want 1\n%v", p.Submissions, p)
			}
			xd := qtype(c.xdt)
			lo, hi := float32(xd.QMin()-int32(c.xzp))*c.xs*1.1, float32(xd.QMax()-int32(c.xzp))*c.xs*1.1
			in := m.Inputs()[0]
			x := modeltest.RandInput(rand.New(rand.NewPCG(uint64(k), 9)), in.Shape, lo, hi)
			got, fake := runBoth(t, b, m, map[string]*graph.Tensor{"x": x}, m.Outputs()[0].Name)
			acc, abs, oh, ow := c.refConv(quantize(x.F32, c.xdt, c.xs, c.xzp), w, bias)
			yd := qtype(c.ydt)
			// The activation is the clamp [Q(a), Q(b)] of the quantized
			// output (Q is monotone).
			qlo, qhi := yd.QMin(), yd.QMax()
			switch c.act {
			case "Relu":
				qlo = int32(c.yzp)
			case "Clip":
				qlo = qtensor.Quantize(c.clipLo, c.ys, int32(c.yzp), yd.QMin(), yd.QMax())
				qhi = qtensor.Quantize(c.clipHi, c.ys, int32(c.yzp), yd.QMin(), yd.QMax())
			}
			K := float64(c.C / c.group * max(c.KH, 1) * c.KW)
			v, tol := make([]float64, len(acc)), make([]float64, len(acc))
			want := make([]int32, len(acc))
			for i, a := range acc {
				o := (i / (oh * ow)) % c.O
				s := ws[min(o, len(ws)-1)]
				want[i] = min(max(refRequant(a, c.xs, s, c.ys, int32(c.yzp), yd, false), qlo), qhi)
				unit := float64(c.xs) * float64(s) / float64(c.ys)
				v[i] = float64(a) * unit
				tol[i] = (K+16)*0x1p-23*abs[i]*unit + 0x1p-20*math.Abs(v[i]) + 0x1p-20
			}
			gq := qOf(got.F32, c.ys, int32(c.yzp))
			for i := range want {
				if gq[i] != want[i] {
					t.Fatalf("y[%d] = %d, the integer formula gives %d (acc %d)", i, gq[i], want[i], acc[i])
				}
			}
			near := checkReal(t, "y", gq, qOf(fake.F32, c.ys, int32(c.yzp)), v, tol, int32(c.yzp), qlo, qhi)
			t.Logf("%d outputs, %d near a rounding boundary", len(v), near)
		})
	}
}
