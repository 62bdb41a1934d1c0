package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/model"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/modeltest"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/qtensor"
)

// writeCase writes a test model to dir and returns its path.
func writeCase(t *testing.T, dir, name string) string {
	t.Helper()
	for _, c := range modeltest.Cases() {
		if c.Name == name {
			path := filepath.Join(dir, name+".onnx")
			modeltest.WriteCase(t, c, path)
			return path
		}
	}
	t.Fatalf("no case %s", name)
	return ""
}

func saveNPY(t *testing.T, path string, x *graph.Tensor) {
	t.Helper()
	q, err := qtensor.FromFloat32(x.Shape, x.F32)
	if err != nil {
		t.Fatal(err)
	}
	if err := qtensor.SaveNPY(path, q); err != nil {
		t.Fatal(err)
	}
}

// TestModelRun: qgpu model run writes what the Go API returns, on every
// output, byte for byte.
func TestModelRun(t *testing.T) {
	dir := t.TempDir()
	path := writeCase(t, dir, "qdq_resnet_block")
	x := modeltest.RandInput(rand.New(rand.NewPCG(1, 1)), []int{2, 3, 16, 16}, -2, 2)
	in := filepath.Join(dir, "x.npy")
	saveNPY(t, in, x)
	out := filepath.Join(dir, "y.npy")
	if code, _, stderr := qgpu(t, "model", "run", "--model", path, "--in", in, "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, err := qtensor.LoadNPY(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(path, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want, err := m.Run(t.Context(), []model.NamedTensor{{Tensor: x}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := graph.FromQTensor(got)
	if err != nil {
		t.Fatal(err)
	}
	if d := modeltest.Diff(g, want[0].Tensor); d != "" {
		t.Fatal(d)
	}
	// The --out extension picks the format: .qt holds the same values.
	qt := filepath.Join(dir, "y.qt")
	if code, _, stderr := qgpu(t, "model", "run", "--model", path, "--in", in, "--out", qt); code != 0 {
		t.Fatalf("--out y.qt: exit %d: %s", code, stderr)
	}
	if q, err := qtensor.Load(qt); err != nil || q.DType != got.DType || !slices.Equal(q.Data, got.Data) {
		t.Fatalf("y.qt: %v %v, want the data of y.npy", q, err)
	}
	wantError(t, 2, `unknown extension ".txt"`, "model", "run", "--model", path, "--in", in, "--out", filepath.Join(dir, "y.txt"))
	// The batch size comes from the input: a model with a dynamic batch
	// runs on a batch of 3.
	b := modeltest.NewBuilder(t, 9)
	b.Dynamic = true
	xq := b.QDQ(b.Input("x", 0, 4), onnx.Uint8, 0.02, 128)
	b.Output(b.Q(b.Node("Relu", []string{xq}), onnx.Uint8, 0.02, 128), onnx.Uint8)
	dyn := filepath.Join(dir, "dyn.onnx")
	if err := onnx.Save(dyn, b.Model()); err != nil {
		t.Fatal(err)
	}
	saveNPY(t, in, modeltest.RandInput(rand.New(rand.NewPCG(2, 2)), []int{3, 4}, -2, 2))
	if code, _, stderr := qgpu(t, "model", "run", "--model", dyn, "--in", in, "--out", out); code != 0 {
		t.Fatalf("dynamic batch: exit %d: %s", code, stderr)
	}
	if got, err := qtensor.LoadNPY(out); err != nil || got.DType != qtensor.Uint8 || got.Shape[0] != 3 {
		t.Fatalf("dynamic batch output %v, %v", got, err)
	}
}

func TestModelInfoAndBench(t *testing.T) {
	dir := t.TempDir()
	path := writeCase(t, dir, "qdq_int8_mlp")
	code, stdout, stderr := qgpu(t, "model", "info", "--model", path)
	if code != 0 {
		t.Fatalf("info: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"input  x float32[4 32]", "Softmax", "host", "no quantized lowering for Softmax", "2 engine submission(s)", "Gemm(int8,int8->int8,ReLU)", "Lookup(int8->int8)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("info lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, stderr = qgpu(t, "model", "info", "--model", path, "--json")
	if code != 0 {
		t.Fatalf("info --json: exit %d: %s", code, stderr)
	}
	var info struct {
		Inputs []struct {
			Name  string
			Shape []int
		}
		OpCounts    map[string]int `json:"op_counts"`
		Submissions int
		Plan        []model.NodePlan
	}
	if err := json.Unmarshal([]byte(stdout), &info); err != nil {
		t.Fatal(err)
	}
	if info.Inputs[0].Name != "x" || info.OpCounts["MatMul"] != 1 || info.Submissions != 2 || len(info.Plan) == 0 {
		t.Errorf("info --json: %+v", info)
	}
	code, stdout, stderr = qgpu(t, "model", "bench", "--model", path, "--runs", "3", "--profile", "1", "--threads", "1", "--json")
	if code != 0 {
		t.Fatalf("bench: exit %d: %s", code, stderr)
	}
	var b modelBenchJSON
	if err := json.Unmarshal([]byte(stdout), &b); err != nil {
		t.Fatal(err)
	}
	if b.Runs != 3 || b.MedianMS <= 0 || b.MinMS > b.MedianMS || b.Threads != 1 || b.HostNodes == 0 || len(b.Profile) == 0 {
		t.Errorf("bench --json: %+v", b)
	}
	kinds := map[string]bool{}
	for _, k := range b.Profile {
		kinds[k.Where+"/"+k.Kind] = true
	}
	for _, want := range []string{"engine/Gemm", "host/Softmax", "transfer/download", "engine/Lookup"} {
		if !kinds[want] {
			t.Errorf("profile lacks %s: %+v", want, b.Profile)
		}
	}
}

func TestModelErrors(t *testing.T) {
	dir := t.TempDir()
	path := writeCase(t, dir, "qdq_resnet_block")
	bad := filepath.Join(dir, "bad.onnx")
	if err := os.WriteFile(bad, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "x.npy")
	saveNPY(t, in, modeltest.RandInput(rand.New(rand.NewPCG(1, 1)), []int{2, 3, 15, 16}, -1, 1))
	for _, c := range []struct {
		want string
		args []string
	}{
		{"want a subcommand", []string{"model"}},
		{`unknown subcommand "eval"`, []string{"model", "eval"}},
		{"--model is required", []string{"model", "info"}},
		{"no such file", []string{"model", "info", "--model", filepath.Join(dir, "none.onnx")}},
		{"bad.onnx", []string{"model", "info", "--model", bad}},
		{`unknown backend "nope"`, []string{"model", "info", "--model", path, "--backend", "nope"}},
		{"--in and --out are required", []string{"model", "run", "--model", path}},
		{"shape", []string{"model", "run", "--model", path, "--in", in, "--out", filepath.Join(dir, "y.npy")}},
		{"2 --out given", []string{"model", "run", "--model", path, "--in", in, "--out", "a.npy", "--out", "b.npy"}},
		{"--runs", []string{"model", "bench", "--model", path, "--runs", "-1"}},
	} {
		wantError(t, 2, c.want, c.args...)
	}
}
