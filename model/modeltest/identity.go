package modeltest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/model"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/qtensor"
)

// RequireEnv names the backends (comma-separated) that must be available:
// a test of a backend that is not available is skipped unless it is named
// here (CI sets it where the driver is installed).
const RequireEnv = "QGPU_REQUIRE"

func required(backend string) bool {
	for _, n := range strings.Split(os.Getenv(RequireEnv), ",") {
		if strings.TrimSpace(n) == backend {
			return true
		}
	}
	return false
}

// Reference is the engine configuration every backend is compared with:
// the CPU backend's generic (reference) kernels.
func Reference() engine.Config {
	return engine.Config{Backend: "cpu", Kernels: "generic"}
}

// FixtureDirs are the directories (relative to package model) whose
// .onnx files Identity runs besides Cases, with inputs from the .npy file
// of the same base name and suffix ".input.npy" (or random ones).
var FixtureDirs = []string{"testdata/qdq"}

// modelDir is the directory of package model in the source tree.
func modelDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	return filepath.Join(filepath.Dir(file), "..")
}

// Fixtures returns the model files of FixtureDirs.
func Fixtures() []string {
	var out []string
	for _, d := range FixtureDirs {
		m, _ := filepath.Glob(filepath.Join(modelDir(), d, "*.onnx"))
		out = append(out, m...)
	}
	sort.Strings(out)
	return out
}

// Identity runs every test model - Cases and the fixtures - on an engine
// opened with cfg (with guard bytes around every tensor) and on the
// reference engine, and fails unless both lower every node the same way,
// every output is byte-identical and no guard byte was overwritten.
// Backends that cannot open here skip the test unless QGPU_REQUIRE names
// them. The test binary must register the CPU backend (import
// backends/cpu, or package tests, which does).
func Identity(t *testing.T, cfg engine.Config) {
	t.Helper()
	if cfg.GuardBytes == 0 {
		cfg.GuardBytes = 256
	}
	eng, err := engine.New(cfg)
	if err != nil {
		if errors.Is(err, engine.ErrUnavailable) && !required(cfg.Backend) {
			t.Skipf("backend %s: %v", cfg.Backend, err)
		}
		t.Fatal(err)
	}
	defer eng.Close()
	ref, err := engine.New(Reference())
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			m := c.Model(t)
			compare(t, func(e *engine.Engine) (*model.Model, error) { return model.FromONNX(m, model.Options{Engine: e}) },
				func(*model.Model) (map[string]*graph.Tensor, error) {
					return c.Inputs(rand.New(rand.NewPCG(1, 2))), nil
				}, eng, ref)
		})
	}
	for _, path := range Fixtures() {
		t.Run(filepath.Base(path), func(t *testing.T) {
			compare(t, func(e *engine.Engine) (*model.Model, error) { return model.Load(path, model.Options{Engine: e}) },
				func(m *model.Model) (map[string]*graph.Tensor, error) { return FixtureInputs(path, m) }, eng, ref)
		})
	}
	if err := eng.CheckGuards(); err != nil {
		t.Error(err)
	}
}

// FixtureInputs returns the inputs of a fixture model: path with .onnx
// replaced by .input.npy for the first input if that file exists, random
// values in [-1, 1) otherwise.
func FixtureInputs(path string, m *model.Model) (map[string]*graph.Tensor, error) {
	in := map[string]*graph.Tensor{}
	rng := rand.New(rand.NewPCG(3, 4))
	for k, v := range m.Inputs() {
		npy := strings.TrimSuffix(path, ".onnx") + ".input.npy"
		if k == 0 {
			if q, err := qtensor.LoadNPY(npy); err == nil {
				t, err := graph.FromQTensor(q)
				if err != nil {
					return nil, err
				}
				in[v.Name] = t
				continue
			}
		}
		if v.DType != graph.Float32 {
			return nil, fmt.Errorf("input %s is %v; give it in %s", v.Name, v.DType, npy)
		}
		in[v.Name] = RandInput(rng, v.Shape, -1, 1)
	}
	return in, nil
}

// compare loads a model on eng and on ref and checks that their outputs
// on the same inputs agree byte for byte.
func compare(t *testing.T, load func(*engine.Engine) (*model.Model, error), inputs func(*model.Model) (map[string]*graph.Tensor, error), eng, ref *engine.Engine) {
	t.Helper()
	mr, err := load(ref)
	if err != nil {
		t.Fatal(err)
	}
	defer mr.Close()
	mt, err := load(eng)
	if err != nil {
		t.Fatal(err)
	}
	defer mt.Close()
	// The same lowering: a backend refusing an op would move it to the
	// host, where its float result differs.
	pr, pt := mr.Plan(), mt.Plan()
	for i := range pr.Nodes {
		if a, b := pt.Nodes[i], pr.Nodes[i]; a.Where != b.Where || strings.Join(a.Ops, "+") != strings.Join(b.Ops, "+") {
			t.Errorf("node %s: %v %v (%s) on %s, %v %v on the reference", a.Node, a.Where, a.Ops, a.Reason, eng.Backend().Name(), b.Where, b.Ops)
		}
	}
	in, err := inputs(mr)
	if err != nil {
		t.Fatal(err)
	}
	want, err := mr.RunMap(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := mt.RunMap(context.Background(), in)
	if err != nil {
		t.Fatalf("%v\nplan:\n%v", err, mt.Plan())
	}
	for name, w := range want {
		if d := Diff(got[name], w); d != "" {
			t.Errorf("output %s: %s\nplan on %s:\n%vreference plan:\n%v", name, d, eng.Backend().Name(), mt.Plan(), mr.Plan())
		}
	}
}

// Diff describes how a differs from b byte for byte ("" if it does not):
// element type, shape, the number of differing elements and the first.
func Diff(a, b *graph.Tensor) string {
	if a == nil || b == nil {
		return fmt.Sprintf("missing tensor (%v, %v)", a, b)
	}
	if a.DType != b.DType || !equalInts(a.Shape, b.Shape) {
		return fmt.Sprintf("%v vs %v", a, b)
	}
	n, first := 0, -1
	for i := 0; i < a.Len(); i++ {
		var same bool
		switch a.DType {
		case graph.Float32:
			same = math.Float32bits(a.F32[i]) == math.Float32bits(b.F32[i])
		case graph.Int8:
			same = a.I8[i] == b.I8[i]
		case graph.Uint8:
			same = a.U8[i] == b.U8[i]
		case graph.Int32:
			same = a.I32[i] == b.I32[i]
		case graph.Int64:
			same = a.I64[i] == b.I64[i]
		case graph.Bool:
			same = a.Bool[i] == b.Bool[i]
		}
		if !same {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d elements differ; first at %d: %v vs %v", n, a.Len(), first, a.Float64s()[first], b.Float64s()[first])
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// WriteCase writes a case's model to an ONNX file.
func WriteCase(t testing.TB, c Case, path string) {
	t.Helper()
	if err := onnx.Save(path, c.Model(t)); err != nil {
		t.Fatal(err)
	}
}
