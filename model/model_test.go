package model_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/model"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/interp"
	"github.com/qgpu/qgpu/model/modeltest"
	"github.com/qgpu/qgpu/onnx"
)

func caseByName(name string) modeltest.Case {
	for _, c := range modeltest.Cases() {
		if c.Name == name {
			return c
		}
	}
	panic(name)
}

// TestPlans: the test models lower as intended: the residual CNN
// completely (one submission), the MLP around its Softmax (two), the
// fallbacks where they must.
func TestPlans(t *testing.T) {
	for _, tc := range []struct {
		name  string
		subs  int
		where map[string]model.Where
	}{
		{"qdq_resnet_block", 1, map[string]model.Where{"Conv": model.OnEngine, "MaxPool": model.OnEngine, "Add": model.OnEngine,
			"GlobalAveragePool": model.OnEngine, "Flatten": model.OnEngine, "Gemm": model.OnEngine, "Relu": model.Fused}},
		{"qdq_int8_mlp", 2, map[string]model.Where{"MatMul": model.OnEngine, "Sigmoid": model.OnEngine, "Softmax": model.OnHost, "Mul": model.OnEngine, "Gemm": model.OnEngine}},
		{"qdq_fallbacks", 2, map[string]model.Where{"Conv": model.OnEngine, "Clip": model.Fused, "AveragePool": model.OnHost, "Add": model.OnHost}},
		{"nbits_mlp", 2, map[string]model.Where{"com.microsoft.MatMulNBits": model.OnEngine, "Relu": model.OnHost, "MatMul": model.OnEngine,
			"DequantizeLinear": model.Fused}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := model.FromONNX(caseByName(tc.name).Model(t), model.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			p := m.Plan()
			if p.Submissions != tc.subs {
				t.Errorf("%d submissions, want %d\n%v", p.Submissions, tc.subs, p)
			}
			for op, w := range tc.where {
				wantPlan(t, p, op, w)
			}
			// Every host node says why.
			for _, n := range p.Nodes {
				if n.Where == model.OnHost && n.Reason == "" {
					t.Errorf("%s on the host without a reason", n.Node)
				}
			}
		})
	}
}

// TestModelsAgainstInterpreter: every output of every test model is
// within one unit of its output scale of the fake-quantized float graph
// (the per-op tests pin down exactly where they may differ); quantized
// values are compared through the last DequantizeLinear, so a difference
// of one unit is the output scale.
func TestModelsAgainstInterpreter(t *testing.T) {
	// (qdq_fallbacks ends in a float output, where a one-unit difference
	// upstream becomes a weight-sized one: its parts are checked op by op.)
	scales := map[string]float32{"qdq_resnet_block": 0.1}
	for _, c := range modeltest.Cases() {
		s, ok := scales[c.Name]
		if !ok {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			mp := c.Model(t)
			m, err := model.FromONNX(mp, model.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			g, err := graph.FromONNX(mp, graph.Options{})
			if err != nil {
				t.Fatal(err)
			}
			in := c.Inputs(rand.New(rand.NewPCG(5, 5)))
			got, err := m.RunMap(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := interp.Run(t.Context(), g, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			for name, w := range want {
				diff := 0
				for i, v := range w.F32 {
					d := got[name].F32[i] - v
					if d > s*1.0001 || d < -s*1.0001 {
						t.Fatalf("%s[%d] = %g, the float graph gives %g: more than one unit (%g) apart", name, i, got[name].F32[i], v, s)
					}
					if d != 0 {
						diff++
					}
				}
				t.Logf("%s: %d of %d differ by one unit", name, diff, len(w.F32))
			}
		})
	}
}

// TestRunInputs: inputs in graph order or by name give the same outputs;
// wrong counts, names, types and shapes are errors wrapping ErrParams or
// ErrShape.
func TestRunInputs(t *testing.T) {
	b := modeltest.NewBuilder(t, 200)
	x := b.QDQ(b.Input("x", 2, 4), onnx.Uint8, 0.02, 128)
	y := b.QDQ(b.Input("y", 2, 4), onnx.Uint8, 0.03, 128)
	sum := b.DQ(b.Q(b.Node("Add", []string{x, y}), onnx.Uint8, 0.04, 128), onnx.Uint8, 0.04, 128)
	b.Output(sum)
	m := b.Load(model.Options{})
	if ins := m.Inputs(); len(ins) != 2 || ins[0].Name != "x" || !slices.Equal(ins[1].Shape, []int{2, 4}) {
		t.Fatalf("inputs %v", ins)
	}
	if outs := m.Outputs(); len(outs) != 1 || outs[0].Name != sum || outs[0].DType != graph.Float32 {
		t.Fatalf("outputs %v", outs)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	xt, yt := modeltest.RandInput(rng, []int{2, 4}, -2, 2), modeltest.RandInput(rng, []int{2, 4}, -2, 2)
	ctx := context.Background()
	a, err := m.Run(ctx, []model.NamedTensor{{Tensor: xt}, {Tensor: yt}})
	if err != nil {
		t.Fatal(err)
	}
	bb, err := m.Run(ctx, []model.NamedTensor{{Name: "y", Tensor: yt}, {Name: "x", Tensor: xt}})
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Name != sum || modeltest.Diff(a[0].Tensor, bb[0].Tensor) != "" {
		t.Fatalf("by order %v, by name %v", a[0], bb[0])
	}
	swapped, err := m.Run(ctx, []model.NamedTensor{{Tensor: yt}, {Tensor: xt}})
	if err != nil {
		t.Fatal(err)
	}
	if modeltest.Diff(a[0].Tensor, swapped[0].Tensor) == "" {
		t.Fatal("inputs in graph order ignored their order")
	}
	bad, _ := graph.NewTensor(graph.Float32, []int{2, 5})
	for name, in := range map[string][]model.NamedTensor{
		"count":     {{Tensor: xt}},
		"name":      {{Name: "x", Tensor: xt}, {Name: "z", Tensor: yt}},
		"twice":     {{Name: "x", Tensor: xt}, {Name: "x", Tensor: yt}},
		"mixed":     {{Name: "x", Tensor: xt}, {Tensor: yt}},
		"shape":     {{Tensor: xt}, {Tensor: bad}},
		"nil":       {{Tensor: xt}, {}},
		"wrongtype": {{Tensor: xt}, {Tensor: &graph.Tensor{DType: graph.Int64, Shape: []int{2, 4}, I64: make([]int64, 8)}}},
	} {
		if _, err := m.Run(ctx, in); !errors.Is(err, model.ErrParams) && !errors.Is(err, model.ErrShape) {
			t.Errorf("%s: %v, want ErrParams or ErrShape", name, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Run(cctx, []model.NamedTensor{{Tensor: xt}, {Tensor: yt}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestConcurrentRuns: runs from many goroutines at once give each its
// own result, the same as alone, on the fast CPU kernels with guard bytes.
func TestConcurrentRuns(t *testing.T) {
	eng, err := engine.New(engine.Config{Backend: "cpu", Threads: 2, GuardBytes: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	c := caseByName("qdq_int8_mlp") // engine and host steps, uploads and downloads
	m, err := model.FromONNX(c.Model(t), model.Options{Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	const n = 8
	ins := make([]map[string]*graph.Tensor, n)
	want := make([]map[string]*graph.Tensor, n)
	for i := range ins {
		ins[i] = c.Inputs(rand.New(rand.NewPCG(uint64(i), 1)))
		if want[i], err = m.RunMap(t.Context(), ins[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n*4)
	for r := 0; r < 4; r++ {
		for i := range ins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := m.RunMap(context.Background(), ins[i])
				if err != nil {
					errs <- err
					return
				}
				for name, w := range want[i] {
					if d := modeltest.Diff(got[name], w); d != "" {
						errs <- errors.New(name + ": " + d)
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := eng.CheckGuards(); err != nil {
		t.Error(err)
	}
}

// TestClose: Close frees the weights and (for an engine the model
// opened) the engine; it is safe twice; Run after Close is ErrClosed; a
// caller's engine stays open.
func TestClose(t *testing.T) {
	eng, err := engine.New(engine.Config{Backend: "cpu", GuardBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	c := caseByName("qdq_resnet_block")
	m, err := model.FromONNX(c.Model(t), model.Options{Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	in := c.Inputs(rand.New(rand.NewPCG(1, 1)))
	if _, err := m.RunMap(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.RunMap(t.Context(), in); !errors.Is(err, model.ErrClosed) {
		t.Fatalf("run after close: %v", err)
	}
	// The caller's engine is open, and holds no tensor of the model.
	if _, err := eng.UploadFloat32([]int{1}, []float32{1}); err != nil {
		t.Fatalf("engine closed by the model: %v", err)
	}
	own, err := model.FromONNX(c.Model(t), model.Options{Config: engine.Config{Backend: "cpu"}})
	if err != nil {
		t.Fatal(err)
	}
	e := own.Engine()
	own.Close()
	if _, err := e.UploadFloat32([]int{1}, []float32{1}); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("the model's own engine after Close: %v", err)
	}
}

// TestReadAndBatch: Read takes the encoded model; a dynamic batch
// dimension needs Options.Batch, and the error says so.
func TestReadAndBatch(t *testing.T) {
	b := modeltest.NewBuilder(t, 300)
	b.Dynamic = true
	x := b.QDQ(b.Input("x", 0, 4), onnx.Uint8, 0.02, 128)
	b.Output(b.DQ(b.Q(b.Node("Relu", []string{x}), onnx.Uint8, 0.02, 128), onnx.Uint8, 0.02, 128))
	data := b.Bytes()
	if _, err := model.Read(bytes.NewReader(data), model.Options{}); err == nil || !errors.Is(err, model.ErrShape) {
		t.Fatalf("dynamic batch without Options.Batch: %v", err)
	} else if !bytes.Contains([]byte(err.Error()), []byte("Options.Batch")) {
		t.Errorf("error does not ask for Options.Batch: %v", err)
	}
	m, err := model.Read(bytes.NewReader(data), model.Options{Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if s := m.Inputs()[0].Shape; !slices.Equal(s, []int{3, 4}) {
		t.Fatalf("input shape %v", s)
	}
	if _, err := model.Read(bytes.NewReader(data[:len(data)/2]), model.Options{Batch: 3}); err == nil {
		t.Fatal("truncated model read")
	}
}

// TestQOperatorExact: a QOperator model gives the same bytes on the engine
// as package graph's reference kernels in the float interpreter: both
// compute qgpu's integer formulas (exact accumulators, one float32
// requantization), so nothing may differ.
func TestQOperatorExact(t *testing.T) {
	c := caseByName("qop_cnn")
	mp := c.Model(t)
	m, err := model.FromONNX(mp, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p := m.Plan()
	for _, op := range []string{"QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger", "com.microsoft.QGemm",
		"com.microsoft.QLinearAdd", "com.microsoft.QLinearMul", "com.microsoft.QLinearGlobalAveragePool",
		"com.microsoft.QLinearConcat", "com.microsoft.QLinearSigmoid"} {
		if ns := planOf(p, op); len(ns) == 0 || ns[0].Where != model.OnEngine {
			t.Errorf("%s not on the engine:\n%v", op, p)
		}
	}
	g, err := graph.FromONNX(mp, graph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(3) {
		in := c.Inputs(rand.New(rand.NewPCG(seed, 9)))
		got, err := m.RunMap(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		want, err := interp.Run(t.Context(), g, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		for name, w := range want {
			if d := modeltest.Diff(got[name], w); d != "" {
				t.Errorf("seed %d, output %s: %s", seed, name, d)
			}
		}
	}
}

// TestTrialFallback: an op the engine refuses when it is recorded (here a
// Conv whose int32 accumulator could overflow: 8192x3x3 products of up to
// 255 x 128) runs on the host instead, with the engine's reason, and the
// model still gives the float graph's result.
func TestTrialFallback(t *testing.T) {
	b := modeltest.NewBuilder(t, 400)
	x := b.QDQ(b.Input("x", 1, 8192, 3, 3), onnx.Uint8, 0.01, 0)
	w, _, ws := b.Weights([]int{2, 8192, 3, 3}, 0, 0.001)
	bias, _ := b.Bias(2, 0.01, ws)
	out := b.DQ(b.Q(b.Node("Conv", []string{x, w, bias}), onnx.Uint8, 0.5, 128), onnx.Uint8, 0.5, 128)
	b.Output(out)
	m := b.Load(model.Options{})
	wantPlan(t, m.Plan(), "Conv", model.OnHost, "the engine refused it", "overflow")
	in := map[string]*graph.Tensor{"x": modeltest.RandInput(rand.New(rand.NewPCG(1, 1)), []int{1, 8192, 3, 3}, 0, 2.55)}
	got, fake := runBoth(t, b, m, in, out)
	if d := modeltest.Diff(got, fake); d != "" {
		t.Fatal(d)
	}
}
