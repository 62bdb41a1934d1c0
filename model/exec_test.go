package model_test

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/model"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/modeltest"
)

// TestRerun: a model's executors - Run's (its batches recorded once, its
// activations reused) and Profile's (every step a batch of its own) -
// give, run after run on changing inputs, the bytes of the reference path
// (RunReference), which records every step anew on fresh tensors. The test
// models cover one submission, host steps between submissions (uploads
// and downloads) and constants read by engine steps.
func TestRerun(t *testing.T) {
	eng, err := engine.New(engine.Config{Backend: "cpu", Threads: 2, GuardBytes: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	type load struct {
		name   string
		model  func() (*model.Model, error)
		inputs func(m *model.Model, seed uint64) map[string]*graph.Tensor
	}
	var loads []load
	for _, c := range modeltest.Cases() {
		loads = append(loads, load{c.Name,
			func() (*model.Model, error) { return model.FromONNX(c.Model(t), model.Options{Engine: eng}) },
			func(_ *model.Model, seed uint64) map[string]*graph.Tensor {
				return c.Inputs(rand.New(rand.NewPCG(seed, 9)))
			}})
	}
	for _, path := range modeltest.Fixtures() {
		loads = append(loads, load{filepath.Base(path),
			func() (*model.Model, error) { return model.Load(path, model.Options{Engine: eng}) },
			func(m *model.Model, seed uint64) map[string]*graph.Tensor {
				rng := rand.New(rand.NewPCG(seed, 9))
				in := map[string]*graph.Tensor{}
				for _, v := range m.Inputs() {
					in[v.Name] = modeltest.RandInput(rng, v.Shape, -1, 1)
				}
				return in
			}})
	}
	for _, l := range loads {
		t.Run(l.name, func(t *testing.T) {
			m, err := l.model()
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			// Inputs 1, 2, 1, 3: a rerun on earlier inputs too.
			for _, seed := range []uint64{1, 2, 1, 3} {
				in := l.inputs(m, seed)
				var named []model.NamedTensor
				for name, x := range in {
					named = append(named, model.NamedTensor{Name: name, Tensor: x})
				}
				want, err := model.RunReference(m, t.Context(), named)
				if err != nil {
					t.Fatal(err)
				}
				got, err := m.Run(t.Context(), named)
				if err != nil {
					t.Fatal(err)
				}
				_, prof, err := m.Profile(t.Context(), named)
				if err != nil {
					t.Fatal(err)
				}
				for i, w := range want {
					if d := modeltest.Diff(got[i].Tensor, w.Tensor); d != "" {
						t.Errorf("inputs %d: Run: output %s: %s", seed, w.Name, d)
					}
					if d := modeltest.Diff(prof[i].Tensor, w.Tensor); d != "" {
						t.Errorf("inputs %d: Profile: output %s: %s", seed, w.Name, d)
					}
				}
			}
		})
	}
	if err := eng.CheckGuards(); err != nil {
		t.Error(err)
	}
}

// TestLayoutsSameBytes: the plan with channels-last activations (the
// default) and the all-NCHW plan (Options.NCHW) give the same bytes on
// every test model, on the reference kernels and the fast ones; the
// channels-last plan must actually keep some values NHWC on the models
// with convolutions.
func TestLayoutsSameBytes(t *testing.T) {
	for _, cfg := range []engine.Config{modeltest.Reference(), {Backend: "cpu", Threads: 2}} {
		eng, err := engine.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		type load struct {
			name  string
			model func(nchw bool) (*model.Model, error)
		}
		var loads []load
		for _, c := range modeltest.Cases() {
			loads = append(loads, load{c.Name, func(nchw bool) (*model.Model, error) {
				return model.FromONNX(c.Model(t), model.Options{Engine: eng, NCHW: nchw})
			}})
		}
		for _, path := range modeltest.Fixtures() {
			loads = append(loads, load{filepath.Base(path), func(nchw bool) (*model.Model, error) {
				return model.Load(path, model.Options{Engine: eng, NCHW: nchw})
			}})
		}
		nhwcModels := 0
		for _, l := range loads {
			a, err := l.model(false)
			if err != nil {
				t.Fatal(err)
			}
			b, err := l.model(true)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(a.Plan().String(), "NHWC") {
				nhwcModels++
			}
			if strings.Contains(b.Plan().String(), "NHWC") {
				t.Errorf("%s: the NCHW plan has channels-last values:\n%v", l.name, b.Plan())
			}
			rng := rand.New(rand.NewPCG(5, 6))
			in := map[string]*graph.Tensor{}
			for _, v := range a.Inputs() {
				in[v.Name] = modeltest.RandInput(rng, v.Shape, -1, 1)
			}
			got, err := a.RunMap(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := b.RunMap(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			for name, w := range want {
				if d := modeltest.Diff(got[name], w); d != "" {
					t.Errorf("%s on %s: output %s: %s", l.name, eng.Backend().Name(), name, d)
				}
			}
			a.Close()
			b.Close()
		}
		if nhwcModels < 5 {
			t.Errorf("only %d test models have channels-last values", nhwcModels)
		}
	}
}
