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

// unary builds x -> Q(xdt, xs, xzp) -> DQ -> body -> Q(ydt, ys, yzp) -> DQ
// and returns the model, its builder and the output's name.
func unary(t *testing.T, shape []int, xdt onnx.DataType, xs float32, xzp int, ydt onnx.DataType, ys float32, yzp int,
	body func(b *modeltest.Builder, x string) string) (*model.Model, *modeltest.Builder, string) {
	b := modeltest.NewBuilder(t, 50)
	x := b.QDQ(b.Input("x", shape...), xdt, xs, xzp)
	y := b.DQ(b.Q(body(b, x), ydt, ys, yzp), ydt, ys, yzp)
	b.Output(y)
	return b.Load(model.Options{}), b, y
}

// fullRange draws inputs covering the quantized range of (dt, s, zp) and
// a little beyond.
func fullRange(rng *rand.Rand, shape []int, dt onnx.DataType, s float32, zp int) *graph.Tensor {
	d := qtype(dt)
	return modeltest.RandInput(rng, shape, float32(d.QMin()-int32(zp))*s*1.1, float32(d.QMax()-int32(zp))*s*1.1)
}

// TestBinaryLowering: Add and Mul of two quantized tensors of one shape
// are the engine's Add and Mul (and a ReLU the output range does not
// imply is the engine's ReLU): the formulas of docs/semantics.md section 4
// bit for bit, and the rounding-boundary rule against the float graph.
func TestBinaryLowering(t *testing.T) {
	type spec struct {
		op       string
		dt       onnx.DataType
		sa, sb   float32
		za, zb   int
		sy       float32
		zy       int
		relu     bool
		wantPlan string
	}
	for _, c := range []spec{
		{op: "Add", dt: onnx.Uint8, sa: 0.02, za: 100, sb: 0.03, zb: 120, sy: 0.04, zy: 90, relu: true, wantPlan: "ReLU"},
		{op: "Add", dt: onnx.Int8, sa: 0.05, za: 0, sb: 0.05, zb: 0, sy: 0.07, zy: -3},
		{op: "Mul", dt: onnx.Int8, sa: 0.02, za: 4, sb: 0.03, zb: -6, sy: 0.05, zy: 2},
		{op: "Mul", dt: onnx.Uint8, sa: 0.01, za: 128, sb: 0.02, zb: 128, sy: 0.004, zy: 0, relu: true, wantPlan: "implied"},
	} {
		t.Run(c.op+"/"+c.dt.String(), func(t *testing.T) {
			shape := []int{2, 3, 4, 5}
			b := modeltest.NewBuilder(t, 60)
			a := b.QDQ(b.Input("a", shape...), c.dt, c.sa, c.za)
			bb := b.QDQ(b.Input("b", shape...), c.dt, c.sb, c.zb)
			y := b.Node(c.op, []string{a, bb})
			if c.relu {
				y = b.Node("Relu", []string{y})
			}
			out := b.DQ(b.Q(y, c.dt, c.sy, c.zy), c.dt, c.sy, c.zy)
			b.Output(out)
			m := b.Load(model.Options{})
			p := m.Plan()
			wantPlan(t, p, c.op, model.OnEngine, c.op+"(")
			if c.relu {
				wantPlan(t, p, "Relu", model.Fused, c.wantPlan)
			}
			if p.Submissions != 1 {
				t.Errorf("%d submissions\n%v", p.Submissions, p)
			}
			rng := rand.New(rand.NewPCG(6, 6))
			ax, bx := fullRange(rng, shape, c.dt, c.sa, c.za), fullRange(rng, shape, c.dt, c.sb, c.zb)
			got, fake := runBoth(t, b, m, map[string]*graph.Tensor{"a": ax, "b": bx}, out)
			aq, bq := quantize(ax.F32, c.dt, c.sa, c.za), quantize(bx.F32, c.dt, c.sb, c.zb)
			d := qtype(c.dt)
			lo := d.QMin()
			if c.relu {
				lo = max(lo, int32(c.zy))
			}
			want := make([]int32, len(aq))
			v, tol := make([]float64, len(aq)), make([]float64, len(aq))
			for i := range aq {
				da, db := aq[i]-int32(c.za), bq[i]-int32(c.zb)
				var r float32
				if c.op == "Add" {
					ma, mb := c.sa/c.sy, c.sb/c.sy
					r = float32(ma*float32(da)) + float32(mb*float32(db))
					ra, rb := float64(c.sa)*float64(da), float64(c.sb)*float64(db)
					v[i] = (ra + rb) / float64(c.sy)
					tol[i] = 0x1p-20*(math.Abs(ra)+math.Abs(rb))/float64(c.sy) + 0x1p-20
				} else {
					mm := float32(c.sa*c.sb) / c.sy
					r = float32(float32(da*db) * mm)
					v[i] = float64(c.sa) * float64(c.sb) * float64(da*db) / float64(c.sy)
					tol[i] = 0x1p-20*math.Abs(v[i]) + 0x1p-20
				}
				want[i] = int32(min(max(math.RoundToEven(float64(r))+float64(c.zy), float64(lo)), float64(d.QMax())))
			}
			gq := qOf(got.F32, c.sy, int32(c.zy))
			for i := range want {
				if gq[i] != want[i] {
					t.Fatalf("y[%d] = %d, the formula gives %d", i, gq[i], want[i])
				}
			}
			checkReal(t, "y", gq, qOf(fake.F32, c.sy, int32(c.zy)), v, tol, int32(c.zy), lo, d.QMax())
		})
	}
}

// TestBroadcastConstant: Add and Mul with a constant operand of a
// broadcasting shape (a bias, say) expand it at load and run on the
// engine: the same integers as the formulas on the expanded operand.
func TestBroadcastConstant(t *testing.T) {
	for _, op := range []string{"Add", "Mul"} {
		t.Run(op, func(t *testing.T) {
			b := modeltest.NewBuilder(t, 61)
			x := b.QDQ(b.Input("x", 2, 3, 4), onnx.Uint8, 0.02, 120)
			cq := []int8{-100, -5, 0, 77}
			c := b.DQ(b.I8([]int{4}, cq...), onnx.Int8, 0.01, 3)
			in := []string{x, c}
			if op == "Mul" {
				in = []string{c, x} // the constant first: the ops commute
			}
			out := b.DQ(b.Q(b.Node(op, in), onnx.Uint8, 0.03, 100), onnx.Uint8, 0.03, 100)
			b.Output(out)
			m := b.Load(model.Options{})
			wantPlan(t, m.Plan(), op, model.OnEngine, op+"(")
			xin := fullRange(rand.New(rand.NewPCG(3, 3)), []int{2, 3, 4}, onnx.Uint8, 0.02, 120)
			got, fake := runBoth(t, b, m, map[string]*graph.Tensor{"x": xin}, out)
			xq := quantize(xin.F32, onnx.Uint8, 0.02, 120)
			want := make([]int32, len(xq))
			v, tol := make([]float64, len(xq)), make([]float64, len(xq))
			for i, q := range xq {
				da, db := q-120, int32(cq[i%4])-3
				var r float32
				if op == "Add" {
					r = float32(float32(0.02)/0.03*float32(da)) + float32(float32(0.01)/0.03*float32(db))
					v[i] = (float64(float32(0.02))*float64(da) + float64(float32(0.01))*float64(db)) / float64(float32(0.03))
				} else {
					r = float32(float32(da*db) * (float32(float32(0.02)*float32(0.01)) / 0.03))
					v[i] = float64(float32(0.02)) * float64(float32(0.01)) * float64(da*db) / float64(float32(0.03))
				}
				want[i] = int32(min(max(math.RoundToEven(float64(r))+100, 0), 255))
				tol[i] = 0x1p-19*math.Abs(v[i]) + 0x1p-18
			}
			gq := qOf(got.F32, 0.03, 100)
			for i := range want {
				if gq[i] != want[i] {
					t.Fatalf("y[%d] = %d, the formula gives %d", i, gq[i], want[i])
				}
			}
			checkReal(t, "y", gq, qOf(fake.F32, 0.03, 100), v, tol, 100, 0, 255)
		})
	}
}

// TestClampLowering: DequantizeLinear -> Relu|Clip -> QuantizeLinear
// with equal params is nothing (an implied Clip: a view) or the engine's
// ReLU (max(q, zp)); any other is one table lookup Q_out(clip(DQ_in(q))):
// the QDQ graph's own arithmetic, so the float interpreter gives the same
// bytes.
func TestClampLowering(t *testing.T) {
	type spec struct {
		name    string
		act     string
		lo, hi  float32
		xs, ys  float32
		xzp     int
		yzp     int
		wantOps []string
	}
	for _, c := range []spec{
		{name: "relu/equal", act: "Relu", xs: 0.05, ys: 0.05, xzp: 10, yzp: 10, wantOps: []string{"ReLU("}},
		{name: "relu/requantize", act: "Relu", xs: 0.05, ys: 0.03, xzp: 10, yzp: -20, wantOps: []string{"Lookup(int8->int8)"}},
		{name: "clip-implied/equal", act: "Clip", lo: -100, hi: 100, xs: 0.05, ys: 0.05, xzp: 0, yzp: 0, wantOps: []string{"Reshape(view)"}},
		{name: "clip-as-relu/requantize", act: "Clip", lo: 0, hi: 1000, xs: 0.05, ys: 0.02, xzp: 0, yzp: -7, wantOps: []string{"Lookup("}},
		{name: "clip/equal", act: "Clip", lo: -1, hi: 2.5, xs: 0.05, ys: 0.05, xzp: 3, yzp: 3, wantOps: []string{"Lookup("}},
		{name: "relu6/requantize", act: "Clip", lo: 0, hi: 6, xs: 0.05, ys: 0.1, xzp: 0, yzp: -128, wantOps: []string{"Lookup("}},
	} {
		t.Run(c.name, func(t *testing.T) {
			shape := []int{3, 50}
			m, b, out := unary(t, shape, onnx.Int8, c.xs, c.xzp, onnx.Int8, c.ys, c.yzp, func(b *modeltest.Builder, x string) string {
				if c.act == "Relu" {
					return b.Node("Relu", []string{x})
				}
				return b.Node("Clip", []string{x, b.F32(nil, c.lo), b.F32(nil, c.hi)})
			})
			wantPlan(t, m.Plan(), c.act, model.OnEngine, c.wantOps...)
			rng := rand.New(rand.NewPCG(7, 7))
			x := fullRange(rng, shape, onnx.Int8, c.xs, c.xzp)
			got, fake := runBoth(t, b, m, map[string]*graph.Tensor{"x": x}, out)
			xq := quantize(x.F32, onnx.Int8, c.xs, c.xzp)
			gq := qOf(got.F32, c.ys, int32(c.yzp))
			for i, q := range xq {
				// Dequantize, clamp, quantize: the definition.
				v := float32(q-int32(c.xzp)) * c.xs
				if c.act == "Relu" {
					v = max(v, 0)
				} else {
					v = min(max(v, c.lo), c.hi)
				}
				want := qtensor.Quantize(v, c.ys, int32(c.yzp), -128, 127)
				if gq[i] != want {
					t.Fatalf("y[%d] = %d, want %d (x %d)", i, gq[i], want, q)
				}
			}
			if d := modeltest.Diff(got, fake); d != "" {
				t.Errorf("runtime and float graph differ: %s", d)
			}
		})
	}
}

// TestUnaryLookup: DequantizeLinear -> f -> QuantizeLinear for elementwise
// float ops f is one engine Lookup whose table is the QDQ graph's own
// arithmetic: the same bytes as the float interpreter, for every input.
func TestUnaryLookup(t *testing.T) {
	for _, op := range []struct {
		name  string
		attrs []modeltest.Attr
	}{{"Sigmoid", nil}, {"Tanh", nil}, {"HardSwish", nil}, {"HardSigmoid", nil}, {"Gelu", nil}, {"LeakyRelu", []modeltest.Attr{modeltest.AFloat("alpha", 0.2)}}, {"Exp", nil}} {
		t.Run(op.name, func(t *testing.T) {
			shape := []int{2, 128}
			m, b, out := unary(t, shape, onnx.Uint8, 0.03, 128, onnx.Int8, 0.02, -10, func(b *modeltest.Builder, x string) string {
				return b.Node(op.name, []string{x}, op.attrs...)
			})
			wantPlan(t, m.Plan(), op.name, model.OnEngine, "Lookup(uint8->int8)")
			// Every input byte: x = (q - 128) * 0.03 for q in 0..255.
			x, _ := graph.NewTensor(graph.Float32, shape)
			for i := range x.F32 {
				x.F32[i] = float32(i%256-128) * 0.03
			}
			got, fake := runBoth(t, b, m, map[string]*graph.Tensor{"x": x}, out)
			if d := modeltest.Diff(got, fake); d != "" {
				t.Errorf("runtime and float graph differ: %s", d)
			}
		})
	}
}

// TestConcatLowering: Concat of DequantizeLinear outputs (activations
// with their own params, a constant) into a QuantizeLinear is the
// engine's Concat: the QDQ graph's arithmetic, the same bytes as the float
// interpreter.
func TestConcatLowering(t *testing.T) {
	b := modeltest.NewBuilder(t, 62)
	x := b.QDQ(b.Input("x", 2, 3, 4), onnx.Uint8, 0.02, 128)
	y := b.QDQ(b.Input("y", 2, 1, 4), onnx.Uint8, 0.05, 10)
	c := b.DQ(b.ZP(onnx.Uint8, []int{2, 2, 4}, 0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 250), onnx.Uint8, 0.03, 0)
	out := b.DQ(b.Q(b.Node("Concat", []string{x, y, c}, modeltest.AInt("axis", 1)), onnx.Uint8, 0.02, 128), onnx.Uint8, 0.02, 128)
	b.Output(out)
	m := b.Load(model.Options{})
	wantPlan(t, m.Plan(), "Concat", model.OnEngine, "Concat(3xuint8)")
	rng := rand.New(rand.NewPCG(10, 10))
	in := map[string]*graph.Tensor{"x": fullRange(rng, []int{2, 3, 4}, onnx.Uint8, 0.02, 128), "y": fullRange(rng, []int{2, 1, 4}, onnx.Uint8, 0.05, 10)}
	got, fake := runBoth(t, b, m, in, out)
	if d := modeltest.Diff(got, fake); d != "" {
		t.Fatal(d)
	}
	// Element [0, 4, 3] is the constant's [0, 0, 3]: 30 * 0.03 = 0.9,
	// quantized into (0.02, 128) as 45 + 128, dequantized as 45 * 0.02.
	if want := float32(45) * 0.02; got.F32[4*4+3] != want {
		t.Errorf("constant element: %g, want %g", got.F32[4*4+3], want)
	}
}

// TestPoolLowering: MaxPool (ceil_mode as extra padding), AveragePool and
// GlobalAveragePool.
func TestPoolLowering(t *testing.T) {
	const N, C, H, W = 2, 3, 7, 8
	shape := []int{N, C, H, W}
	type spec struct {
		name     string
		op       string
		attrs    []modeltest.Attr
		ys       float32
		yzp      int
		wantOps  []string
		k, s, p  int // window (square), stride, pad (begin and end)
		ceil     bool
		countPad bool
	}
	const xs, xzp = 0.04, 100
	for _, c := range []spec{
		{name: "maxpool/equal", op: "MaxPool", k: 3, s: 2, p: 1, ys: xs, yzp: xzp, wantOps: []string{"MaxPool("}},
		{name: "maxpool/ceil/requantize", op: "MaxPool", k: 2, s: 2, ceil: true, ys: 0.05, yzp: 90, wantOps: []string{"MaxPool(", "Lookup("}},
		{name: "avgpool/padded/equal", op: "AveragePool", k: 3, s: 1, p: 1, ys: xs, yzp: xzp, wantOps: []string{"AvgPool("}},
		{name: "avgpool/padded/requantize", op: "AveragePool", k: 3, s: 2, p: 1, ys: 0.03, yzp: 120, wantOps: []string{"AvgPool(", "Lookup("}},
		{name: "avgpool/count-pad/conv", op: "AveragePool", k: 3, s: 2, p: 1, countPad: true, ys: 0.03, yzp: 120, wantOps: []string{"Conv(uint8,ones/9"}},
		{name: "avgpool/unpadded/conv", op: "AveragePool", k: 2, s: 2, ys: 0.02, yzp: 110, wantOps: []string{"Conv(uint8,ones/4"}},
		{name: "global/conv", op: "GlobalAveragePool", ys: 0.01, yzp: 0, wantOps: []string{"Conv(uint8,ones/56"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, b, out := unary(t, shape, onnx.Uint8, xs, xzp, onnx.Uint8, c.ys, c.yzp, func(b *modeltest.Builder, x string) string {
				if c.op == "GlobalAveragePool" {
					return b.Node(c.op, []string{x})
				}
				at := []modeltest.Attr{modeltest.AInts("kernel_shape", int64(c.k), int64(c.k)), modeltest.AInts("strides", int64(c.s), int64(c.s)),
					modeltest.AInts("pads", int64(c.p), int64(c.p), int64(c.p), int64(c.p))}
				if c.ceil {
					at = append(at, modeltest.AInt("ceil_mode", 1))
				}
				if c.countPad {
					at = append(at, modeltest.AInt("count_include_pad", 1))
				}
				return b.Node(c.op, []string{x}, at...)
			})
			wantPlan(t, m.Plan(), c.op, model.OnEngine, c.wantOps...)
			rng := rand.New(rand.NewPCG(8, 8))
			x := fullRange(rng, shape, onnx.Uint8, xs, xzp)
			got, fake := runBoth(t, b, m, map[string]*graph.Tensor{"x": x}, out)
			xq := quantize(x.F32, onnx.Uint8, xs, xzp)
			k, s, pd := c.k, c.s, c.p
			if c.op == "GlobalAveragePool" {
				k, s, pd = 0, 1, 0
			}
			kh, kw := k, k
			if k == 0 {
				kh, kw = H, W
			}
			oh, ow := (H+2*pd-kh)/s+1, (W+2*pd-kw)/s+1
			if c.ceil {
				oh, ow = (H+2*pd-kh+s-1)/s+1, (W+2*pd-kw+s-1)/s+1
			}
			var want []int32
			var v, tol []float64
			for n := 0; n < N*C; n++ {
				for y := 0; y < oh; y++ {
					for x0 := 0; x0 < ow; x0++ {
						mx, sum, cnt := int32(-1), int64(0), int64(0)
						for dy := 0; dy < kh; dy++ {
							for dx := 0; dx < kw; dx++ {
								iy, ix := y*s-pd+dy, x0*s-pd+dx
								if iy < 0 || iy >= H || ix < 0 || ix >= W {
									continue
								}
								q := xq[(n*H+iy)*W+ix]
								mx = max(mx, q)
								sum += int64(q - xzp)
								cnt++
							}
						}
						if c.countPad {
							cnt = int64(kh * kw)
						}
						var w int32
						var real float64
						switch {
						case c.op == "MaxPool":
							w = mx
							if c.ys != xs {
								// A table lookup: Quantize(Dequantize(q)).
								w = qtensor.Quantize(qtensor.Dequantize(mx, xzp, xs), c.ys, int32(c.yzp), 0, 255)
							}
							real = float64(xs) * float64(mx-xzp) / float64(c.ys)
						case slicesContain(c.wantOps, "AvgPool("):
							// Exact average in the input's params, then
							// requantized: two roundings.
							w = qtensor.AveragePool(sum, cnt, xzp, 0, 255)
							if c.ys != xs {
								w = qtensor.Quantize(qtensor.Dequantize(w, xzp, xs), c.ys, int32(c.yzp), 0, 255)
							}
							real = float64(xs) * float64(sum) / float64(cnt) / float64(c.ys)
						default:
							// A depthwise conv of ones, scale 1/k: one rounding.
							w = refRequant(sum, xs, 1/float32(kh*kw), c.ys, int32(c.yzp), qtensor.Uint8, false)
							real = float64(xs) * float64(sum) / float64(cnt) / float64(c.ys)
						}
						want = append(want, w)
						v = append(v, real)
						tol = append(tol, 0x1p-19*math.Abs(real)+0x1p-20)
					}
				}
			}
			gq, fq := qOf(got.F32, c.ys, int32(c.yzp)), qOf(fake.F32, c.ys, int32(c.yzp))
			if len(gq) != len(want) {
				t.Fatalf("%d outputs, want %d", len(gq), len(want))
			}
			for i := range want {
				if gq[i] != want[i] {
					t.Fatalf("y[%d] = %d, want %d", i, gq[i], want[i])
				}
			}
			if slicesContain(c.wantOps, "AvgPool(") && c.ys != xs {
				// Two roundings: within half an input unit (in output
				// units) plus one rounding of the exact value.
				bound := 0.5*float64(xs)/float64(c.ys) + 0.5 + 1e-6
				for i := range v {
					if d := math.Abs(float64(gq[i]-int32(c.yzp)) - v[i]); d > bound && gq[i] > 0 && gq[i] < 255 {
						t.Errorf("y[%d] = %d is %.3f units from the exact %.3f (bound %.3f)", i, gq[i], d, v[i], bound)
					}
				}
				return
			}
			checkReal(t, "y", gq, fq, v, tol, int32(c.yzp), 0, 255)
		})
	}
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestViewsAndRequantize: shape ops on quantized data are engine views
// (no copy); DequantizeLinear -> QuantizeLinear is a view or a Requantize;
// a QuantizeLinear output can be a graph output (int8).
func TestViewsAndRequantize(t *testing.T) {
	b := modeltest.NewBuilder(t, 70)
	x := b.QDQ(b.Input("x", 2, 3, 2, 2), onnx.Uint8, 0.02, 128)
	fl := b.Node("Flatten", []string{x}) // [2, 12], read quantized by the Gemm
	w, wv, ws := b.Weights([]int{12, 5}, 1, 0.05)
	g := b.Node("Gemm", []string{fl, w})
	gq := b.Q(g, onnx.Uint8, 0.1, 100)
	b.Output(gq, onnx.Uint8) // a quantized graph output
	// DQ -> Reshape -> Q with equal params: a view of the input.
	r := b.Node("Reshape", []string{x, b.I64([]int{2}, 6, 4)})
	rq := b.Q(r, onnx.Uint8, 0.02, 128)
	// DQ -> Q with other params: a Requantize.
	rr := b.Q(b.DQ(rq, onnx.Uint8, 0.02, 128), onnx.Int8, 0.03, -5)
	b.Output(b.DQ(rr, onnx.Int8, 0.03, -5))
	m := b.Load(model.Options{})
	p := m.Plan()
	wantPlan(t, p, "Flatten", model.OnEngine, "Reshape(view)")
	wantPlan(t, p, "Gemm", model.OnEngine, "Gemm(uint8,int8->uint8)")
	if p.Submissions != 1 {
		t.Errorf("%d submissions\n%v", p.Submissions, p)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	xin := fullRange(rng, []int{2, 3, 2, 2}, onnx.Uint8, 0.02, 128)
	res, err := m.RunMap(t.Context(), map[string]*graph.Tensor{"x": xin})
	if err != nil {
		t.Fatal(err)
	}
	xq := quantize(xin.F32, onnx.Uint8, 0.02, 128)
	got := res[gq]
	if got.DType != graph.Uint8 || len(got.U8) != 10 {
		t.Fatalf("quantized output %v", got)
	}
	for i := 0; i < 2; i++ {
		for n := 0; n < 5; n++ {
			var acc int64
			for k := 0; k < 12; k++ {
				acc += int64(xq[i*12+k]-128) * int64(wv[k*5+n])
			}
			if want := refRequant(acc, 0.02, ws[n], 0.1, 100, qtensor.Uint8, false); int32(got.U8[i*5+n]) != want {
				t.Fatalf("gemm[%d,%d] = %d, want %d", i, n, got.U8[i*5+n], want)
			}
		}
	}
	out := res[m.Outputs()[1].Name]
	for i, q := range xq {
		r := math.RoundToEven(float64(float32(float32(q-128) * float32(0.02/float32(0.03)))))
		want := float32(int32(min(max(r-5, -128), 127))+5) * 0.03
		if out.F32[i] != want {
			t.Fatalf("requantized[%d] = %g, want %g", i, out.F32[i], want)
		}
	}
}
