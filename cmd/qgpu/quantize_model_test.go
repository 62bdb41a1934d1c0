package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/interp"
	"github.com/qgpu/qgpu/model/quantize"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/qtensor"
)

var fashionModel = filepath.Join("..", "..", "model", "quantize", "testdata", "fashion", "fashion_cnn.onnx")

// fashionCalib writes the first n of the committed Fashion-MNIST
// calibration images, normalised as train.py does, to dir/calib.npy.
func fashionCalib(t *testing.T, dir string, n int) (string, []float32) {
	t.Helper()
	u, err := qtensor.LoadNPY(filepath.Join("..", "..", "model", "quantize", "testdata", "fashion", "calib_u8.npy"))
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, n*784)
	for i := range x {
		x[i] = (float32(u.Data[i])/float32(255) - float32(0.2860)) / float32(0.3530)
	}
	return writeF32(t, dir, "calib.npy", []int{n, 1, 28, 28}, x), x
}

// activations runs the float model on x (n images) in batches of b and
// returns the named activations concatenated in run order.
func activations(t *testing.T, x []float32, n, b int, names ...string) map[string][]float32 {
	t.Helper()
	g, err := graph.Load(fashionModel, onnx.DecodeOptions{}, graph.Options{Batch: b})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for i := 0; i < n; i += b {
		in, err := graph.FromFloat32([]int{b, 1, 28, 28}, x[i*784:(i+b)*784])
		if err != nil {
			t.Fatal(err)
		}
		_, err = interp.Run(context.Background(), g, map[string]*graph.Tensor{"input": in}, &interp.Options{Observer: func(name string, v *graph.Tensor) error {
			if slices.Contains(names, name) {
				out[name] = append(out[name], v.F32...)
			}
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestModelQuantizeMatchesCalibrate checks that the parameters `qgpu model
// quantize` gives an activation are those `qgpu calibrate` gives the same
// tensor's data with the same method, for every method: the graph input,
// a Relu output (folded into its Conv) and the signed residual branch.
// The data go to calibrate as 4 batches, the runs of the model.
func TestModelQuantizeMatchesCalibrate(t *testing.T) {
	dir := t.TempDir()
	const n, b = 32, 8
	calibPath, x := fashionCalib(t, dir, n)
	tensors := []string{"input", "/Relu_3_output_0", "/res2/res2.0/Conv_output_0"}
	acts := activations(t, x, n, b, tensors...)
	files := map[string]string{}
	for i, name := range tensors {
		files[name] = writeF32(t, dir, fmt.Sprintf("act%d.npy", i), []int{len(acts[name])}, acts[name])
	}
	for _, m := range calib.Methods() {
		for _, act := range []string{"uint8", "int8"} {
			t.Run(m.Name+"/"+act, func(t *testing.T) {
				rp := filepath.Join(dir, "r.json")
				args := []string{"model", "quantize", "--model", fashionModel, "--calib", calibPath, "--batch", fmt.Sprint(b),
					"--method", m.Name, "--activation-type", act, "--out", filepath.Join(dir, "q.onnx"), "--report", rp, "--report-samples", "8"}
				if act == "int8" {
					args = append(args, "--symmetric-activations")
				}
				if code, _, stderr := qgpu(t, args...); code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				var rep modelQuantizeReport
				raw, err := os.ReadFile(rp)
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(raw, &rep); err != nil {
					t.Fatal(err)
				}
				for _, name := range tensors {
					var got *quantize.TensorInfo
					for i := range rep.Quantized {
						if rep.Quantized[i].Name == name {
							got = &rep.Quantized[i]
						}
					}
					if got == nil {
						t.Fatalf("%s not in the report", name)
					}
					cargs := []string{"--in", files[name], "--method", m.Name, "--dtype", act, "--batches", fmt.Sprint(n / b)}
					if act == "int8" {
						cargs = append(cargs, "--scheme", "symmetric", "--qmin", "-127", "--qmax", "127")
					}
					want := calibJSON(t, cargs...)
					if got.Scale[0] != want.Scale[0] || got.ZeroPoint[0] != want.ZeroPoint[0] {
						t.Errorf("%s: model quantize scale %v zp %d, calibrate %v %d", name, got.Scale[0], got.ZeroPoint[0], want.Scale[0], want.ZeroPoint[0])
					}
				}
			})
		}
	}
}

// TestModelQuantizeCLI runs the commands end to end: the QDQ model loads
// and runs, the report and plot are written, compare agrees with the
// report, and --auto-exclude keeps a node in float.
func TestModelQuantizeCLI(t *testing.T) {
	dir := t.TempDir()
	calibPath, _ := fashionCalib(t, dir, 16)
	q, rp, pp := filepath.Join(dir, "q.onnx"), filepath.Join(dir, "r.json"), filepath.Join(dir, "r.png")
	code, out, stderr := qgpu(t, "model", "quantize", "--model", fashionModel, "--calib", calibPath, "--calib", calibPath,
		"--per-channel", "--method", "l2", "--out", q, "--report", rp, "--plot", pp)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"calibration: 4 runs, 32 samples", "7 Relu/Clip folded", "float nodes: /Flatten", `output "logits"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var rep modelQuantizeReport
	raw, _ := os.ReadFile(rp)
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Error == nil || len(rep.Error.Outputs) != 1 || rep.Error.Samples != 32 || rep.Options.Method != "l2" || !rep.Options.PerChannel {
		t.Fatalf("report: %+v", rep)
	}
	if st, err := os.Stat(pp); err != nil || st.Size() < 10000 {
		t.Errorf("plot: %v", err)
	}
	m, err := onnx.Load(q, onnx.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range m.GetGraph().GetNode() {
		if n.GetName() == "onnx::Conv_72_DequantizeLinear" {
			if a, _ := onnx.AttrInt(n, "axis", -1); a != 0 {
				t.Errorf("per-channel weight DQ axis %d", a)
			}
		}
	}
	// compare on the same data gives the report's numbers.
	code, out, stderr = qgpu(t, "model", "compare", "--float", fashionModel, "--quant", q, "--in", calibPath, "--in", calibPath, "--json")
	if code != 0 {
		t.Fatalf("compare: exit %d: %s", code, stderr)
	}
	var cr quantize.Report
	if err := json.Unmarshal([]byte(out), &cr); err != nil {
		t.Fatal(err)
	}
	if cr.Outputs[0].SQNR != rep.Error.Outputs[0].SQNR || len(cr.Tensors) != len(rep.Error.Tensors) || cr.Tensors[0].Name != rep.Error.Tensors[0].Name {
		t.Errorf("compare %+v\nreport %+v", cr.Outputs, rep.Error.Outputs)
	}
	// --auto-exclude with an unreachable target excludes nodes, worst first.
	code, out, stderr = qgpu(t, "model", "quantize", "--model", fashionModel, "--calib", calibPath, "--out", q, "--auto-exclude", "200", "--auto-exclude-steps", "2", "--report", rp)
	if code != 0 {
		t.Fatalf("auto-exclude: exit %d: %s", code, stderr)
	}
	raw, _ = os.ReadFile(rp)
	rep = modelQuantizeReport{}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Excluded) != 2 || len(rep.Steps) != 3 || !strings.Contains(out, "auto-excluded: ") {
		t.Errorf("auto-exclude: excluded %v, steps %v\n%s", rep.Excluded, rep.Steps, out)
	}
}

func TestModelQuantizeUsage(t *testing.T) {
	dir := t.TempDir()
	calibPath, _ := fashionCalib(t, dir, 4)
	q := filepath.Join(dir, "q.onnx")
	os.WriteFile(filepath.Join(dir, "junk.onnx"), []byte("not a model"), 0o644)
	for _, c := range []struct {
		want string
		args []string
	}{
		{"--model is required", []string{"model", "quantize", "--calib", calibPath, "--out", q}},
		{"--calib file is required", []string{"model", "quantize", "--model", fashionModel, "--out", q}},
		{"--out is required", []string{"model", "quantize", "--model", fashionModel, "--calib", calibPath}},
		{"did you mean", []string{"model", "quantize", "--model", fashionModel, "--calib", calibPath, "--out", q, "--method", "entropie"}},
		{"--percentile applies", []string{"model", "quantize", "--model", fashionModel, "--calib", calibPath, "--out", q, "--percentile", "99"}},
		{"--activation-type", []string{"model", "quantize", "--model", fashionModel, "--calib", calibPath, "--out", q, "--activation-type", "int4"}},
		{"no node named", []string{"model", "quantize", "--model", fashionModel, "--calib", calibPath, "--out", q, "--exclude", "nope"}},
		{"invalid ONNX", []string{"model", "quantize", "--model", filepath.Join(dir, "junk.onnx"), "--calib", calibPath, "--out", q}},
		{"no such file", []string{"model", "quantize", "--model", fashionModel, "--calib", filepath.Join(dir, "none.npy"), "--out", q}},
		{"is the input file", []string{"model", "quantize", "--model", fashionModel, "--calib", calibPath, "--out", calibPath}},
		{"unknown subcommand", []string{"model", "nosuch"}},
		{"--float and --quant", []string{"model", "compare", "--float", fashionModel, "--in", calibPath}},
	} {
		wantError(t, 2, c.want, c.args...)
	}
}
