package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/model/quantize"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/qtensor"
)

func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init()
	os.Exit(m.Run())
}

var fashion = filepath.Join("..", "..", "..", "..", "model", "quantize", "testdata", "fashion")

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var o options
	fs := flag.NewFlagSet("beam-quantize", flag.ContinueOnError)
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := o.run(context.Background(), &out)
	return out.String(), err
}

// TestCommand: the flags reach the quantizer - the command's model is the
// one package quantize makes in one process with the same options - and
// missing flags are usage errors.
func TestCommand(t *testing.T) {
	x, err := qtensor.LoadNPY(filepath.Join(fashion, "calib_u8.npy"))
	if err != nil {
		t.Fatal(err)
	}
	f := make([]float32, len(x.Data))
	for i, v := range x.Data {
		f[i] = float32(v)/255*4 - 1
	}
	dir := t.TempDir()
	for i, n := range []int{24, 40} {
		off := []int{0, 24}[i]
		tt, err := qtensor.FromFloat32([]int{n, 1, 28, 28}, f[off*784:(off+n)*784])
		if err != nil {
			t.Fatal(err)
		}
		if err := qtensor.SaveNPY(filepath.Join(dir, []string{"a.npy", "b.npy"}[i]), tt); err != nil {
			t.Fatal(err)
		}
	}
	model := filepath.Join(fashion, "fashion_cnn.onnx")
	out, table := filepath.Join(dir, "q.onnx"), filepath.Join(dir, "t.json")
	stdout, err := run(t, "--model", model, "--calib", filepath.Join(dir, "*.npy"), "--out", out, "--table", table,
		"--method", "percentile", "--percentile", "99.9", "--bins", "1024", "--per-channel", "--activation-type", "int8",
		"--symmetric-activations", "--reduce-range", "--exclude", "/fc/Gemm")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "2 shards") || !strings.Contains(stdout, "samples 64") {
		t.Errorf("stdout: %s", stdout)
	}
	m, err := onnx.Load(model, onnx.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := quantize.QuantizeModel(context.Background(), m,
		quantize.NPYBatches([]quantize.NPYInput{{Name: "input", Files: []string{filepath.Join(dir, "a.npy"), filepath.Join(dir, "b.npy")}}}, 8),
		quantize.Options{Method: calib.MethodPercentile, Percentile: 0.999, Bins: 1024, PerChannel: true, ActivationType: qtensor.Int8,
			SymmetricActivations: true, ReduceRange: true, Exclude: []string{"/fc/Gemm"}})
	if err != nil {
		t.Fatal(err)
	}
	want, err := onnx.Encode(res.Model)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("the command's model differs from package quantize's with the same options")
	}
	if _, err := os.Stat(table); err != nil {
		t.Error(err)
	}

	for _, args := range [][]string{
		{"--calib", "x.npy", "--out", out},
		{"--model", model, "--out", out},
		{"--model", model, "--calib", "x.npy"},
		{"--model", model, "--calib", "x.npy", "--out", out, "--percentile", "20"},
	} {
		var u usageError
		if _, err := run(t, args...); !errors.As(err, &u) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	if _, err := run(t, "--model", model, "--calib", filepath.Join(dir, "*.npy"), "--out", filepath.Join(dir, "a.npy")); err == nil || !strings.Contains(err.Error(), "an input and an output") {
		t.Errorf("--out over a shard: %v", err)
	}
	if _, err := run(t, "--model", model, "--calib", filepath.Join(dir, "*.npy"), "--out", out, "--method", "moving-average"); err == nil || !strings.Contains(err.Error(), "cannot be merged") {
		t.Errorf("moving-average: %v", err)
	}
}
