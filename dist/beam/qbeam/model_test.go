package qbeam

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/qgpu/qgpu/qtensor"
)

// fashionDir holds the committed Fashion-MNIST CNN and 64 calibration
// images of package quantize's tests.
var fashionDir = filepath.Join(root, "model", "quantize", "testdata", "fashion")

var fashionModel = filepath.Join(fashionDir, "fashion_cnn.onnx")

// fashionImages returns the 64 committed images normalised as the model
// was trained (float32), [64, 1, 28, 28] flattened.
func fashionImages(t testing.TB) []float32 {
	t.Helper()
	x, err := qtensor.LoadNPY(filepath.Join(fashionDir, "calib_u8.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if x.DType != qtensor.Uint8 || len(x.Data) != 64*28*28 {
		t.Fatalf("calib_u8.npy: %v %v", x.DType, x.Shape)
	}
	out := make([]float32, len(x.Data))
	for i, v := range x.Data {
		out[i] = (float32(v)/float32(255) - float32(0.2860)) / float32(0.3530)
	}
	return out
}

// writeShards writes images [n, 1, 28, 28] into dir as one .npy file per
// size (in order; the sizes add up to n) and returns the paths in a
// shuffled order.
func writeShards(t testing.TB, dir string, x []float32, seed uint64, sizes ...int) []string {
	t.Helper()
	var paths []string
	off := 0
	for i, s := range sizes {
		p := filepath.Join(dir, fmt.Sprintf("shard%02d.npy", i))
		saveF32(t, p, []int{s, 1, 28, 28}, x[off*784:(off+s)*784])
		off += s
		paths = append(paths, p)
	}
	if off*784 != len(x) {
		t.Fatalf("shards cover %d of %d images", off, len(x)/784)
	}
	rand.New(rand.NewPCG(seed, 1)).Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
	return paths
}

// cliReference runs `qgpu model quantize` on the whole calibration set
// in one process and returns its QDQ model and the "quantized" list of
// its report, indented as QuantizeCalibration indents the table.
func cliReference(t *testing.T, dir string, all string, flags ...string) (model, table []byte) {
	t.Helper()
	return cliReferenceFor(t, dir, fashionModel, []string{all}, flags...)
}

// cliReferenceFor is cliReference for any model and --calib arguments.
func cliReferenceFor(t *testing.T, dir, modelPath string, calibArgs []string, flags ...string) (model, table []byte) {
	t.Helper()
	out, rep := filepath.Join(dir, "ref.onnx"), filepath.Join(dir, "ref.json")
	args := []string{"model", "quantize", "--model", modelPath, "--out", out, "--report", rep}
	for _, c := range calibArgs {
		args = append(args, "--calib", c)
	}
	runCLI(t, append(args, flags...)...)
	var r struct {
		Quantized json.RawMessage `json:"quantized"`
	}
	if err := json.Unmarshal(readFile(t, rep), &r); err != nil {
		t.Fatal(err)
	}
	var compact, indented bytes.Buffer
	if err := json.Compact(&compact, r.Quantized); err != nil {
		t.Fatal(err)
	}
	if err := json.Indent(&indented, compact.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	indented.WriteByte('\n')
	return readFile(t, out), indented.Bytes()
}

// quantizeRun runs the model pipeline on the patterns and returns the
// model and table it wrote, and its counters. wrap, if set, is applied
// to the PCollection of shards before Calibrate.
func quantizeRun(t *testing.T, cfg ModelConfig, patterns []string, out, table string, wrap func(beam.Scope, beam.PCollection) beam.PCollection) (map[string]int64, error) {
	t.Helper()
	shards, err := PrepareModel(context.Background(), &cfg, patterns)
	if err != nil {
		return nil, err
	}
	return runPipeline(t, func(s beam.Scope) error {
		col := beam.Reshuffle(s, beam.CreateList(s, shards))
		if wrap != nil {
			col = wrap(s, col)
		}
		WriteModel(s, cfg, Calibrate(s, cfg, col), out, table)
		return nil
	})
}

// TestQuantizeIdentity: the calibration set split into 1, 3 and 8 shards,
// listed in shuffled orders, gives on Prism the byte-identical QDQ model
// and calibration table that single-process `qgpu model quantize` writes
// for the whole set - with min-max calibration per tensor, and with the
// percentile search on the exactly mergeable histograms and per-channel
// weights.
func TestQuantizeIdentity(t *testing.T) {
	x := fashionImages(t)
	dir := t.TempDir()
	all := filepath.Join(dir, "all.npy")
	saveF32(t, all, []int{64, 1, 28, 28}, x)
	splits := map[int][]string{
		1: {all},
		3: writeShards(t, t.TempDir(), x, 3, 10, 30, 24),
		8: writeShards(t, t.TempDir(), x, 8, 5, 9, 13, 3, 7, 11, 8, 8),
	}
	for _, tc := range []struct {
		name  string
		cfg   ModelConfig
		flags []string
	}{
		{"minmax", ModelConfig{Method: "minmax"}, nil},
		{"percentile-per-channel", ModelConfig{Method: "percentile", Percentile: 0.9999, PerChannel: true}, []string{"--method", "percentile", "--percentile", "99.99", "--per-channel"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantModel, wantTable := cliReference(t, t.TempDir(), all, tc.flags...)
			if len(wantModel) == 0 || !bytes.Contains(wantTable, []byte(`"kind": "activation"`)) {
				t.Fatalf("the reference is empty: %d bytes of model, table %.200s", len(wantModel), wantTable)
			}
			for _, n := range []int{1, 3, 8} {
				cfg := tc.cfg
				cfg.Model = fashionModel
				out, table := filepath.Join(t.TempDir(), "q.onnx"), filepath.Join(t.TempDir(), "table.json")
				counters, err := quantizeRun(t, cfg, splits[n], out, table, nil)
				if err != nil {
					t.Fatalf("%d shards: %v", n, err)
				}
				if counters["shards"] != int64(n) || counters["samples"] != 64 {
					t.Errorf("%d shards: counters %v", n, counters)
				}
				if got := readFile(t, out); !bytes.Equal(got, wantModel) {
					t.Errorf("%d shards: the QDQ model differs from qgpu model quantize's (%d bytes, want %d)", n, len(got), len(wantModel))
				}
				if got := readFile(t, table); !bytes.Equal(got, wantTable) {
					t.Errorf("%d shards: the calibration table differs from qgpu model quantize's:\n%s", n, firstDiff(got, wantTable))
				}
				t.Logf("%d shards: counters %v", n, counters)
			}
		})
	}
}

// firstDiff shows where two texts first differ.
func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-200)
	return fmt.Sprintf("at byte %d:\ngot  ...%s\nwant ...%s", i, got[lo:min(len(got), i+100)], want[lo:min(len(want), i+100)])
}

// TestRefusesOrderDependentMethods: moving-average and torch-histogram
// cannot be merged; the pipeline says so before it starts.
func TestRefusesOrderDependentMethods(t *testing.T) {
	for _, m := range []string{"moving-average", "torch-histogram"} {
		cfg := ModelConfig{Model: fashionModel, Method: m}
		_, err := PrepareModel(context.Background(), &cfg, []string{filepath.Join(fashionDir, "calib_u8.npy")})
		if err == nil || !strings.Contains(err.Error(), "cannot be merged") || !errors.Is(err, qtensor.ErrUnsupported) {
			t.Errorf("%s: %v", m, err)
		}
	}
}

// failOnceFn passes shards through, but fails on shard Target as long as
// the file Marker exists (removing it): a worker that fails once.
type failOnceFn struct {
	Marker string
	Target int
}

func (f *failOnceFn) ProcessElement(s Shard) (Shard, error) {
	if s.Index == f.Target && os.Remove(f.Marker) == nil {
		return s, fmt.Errorf("injected failure on %v", s)
	}
	return s, nil
}

func init() { beam.RegisterType(reflect.TypeOf((*failOnceFn)(nil)).Elem()) }

// TestFailOnce: a DoFn that fails once on one shard. Prism does not retry
// a failed bundle (unlike Dataflow, Flink and Spark, which rerun it): the
// job fails with the worker's error and writes nothing. Run again - what
// a retry does with the bundle - it gives the model and table of an
// undisturbed run, byte for byte.
func TestFailOnce(t *testing.T) {
	x := fashionImages(t)
	dir := t.TempDir()
	all := filepath.Join(dir, "all.npy")
	saveF32(t, all, []int{64, 1, 28, 28}, x)
	wantModel, wantTable := cliReference(t, t.TempDir(), all, "--method", "kl")
	paths := writeShards(t, t.TempDir(), x, 5, 20, 20, 24)
	marker := filepath.Join(dir, "fail-once")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := ModelConfig{Model: fashionModel, Method: "kl"}
	out, table := filepath.Join(dir, "q.onnx"), filepath.Join(dir, "table.json")
	flaky := func(s beam.Scope, col beam.PCollection) beam.PCollection {
		return beam.ParDo(s, &failOnceFn{Marker: marker, Target: 1}, col)
	}
	_, err := quantizeRun(t, cfg, paths, out, table, flaky)
	if err == nil || !strings.Contains(err.Error(), "injected failure on shard 1") {
		t.Fatalf("first run: %v, want the injected failure", err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the failing DoFn did not run: %v", err)
	}
	for _, p := range []string{out, table} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the failed run left %s: %v", p, err)
		}
	}
	counters, err := quantizeRun(t, cfg, paths, out, table, flaky)
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if counters["shards"] != 3 || counters["samples"] != 64 {
		t.Errorf("second run: counters %v", counters)
	}
	if !bytes.Equal(readFile(t, out), wantModel) {
		t.Error("second run: the QDQ model differs from qgpu model quantize's")
	}
	if got := readFile(t, table); !bytes.Equal(got, wantTable) {
		t.Errorf("second run: the table differs from qgpu model quantize's:\n%s", firstDiff(got, wantTable))
	}
}

// TestCorruptShard: a shard that is not a valid float32 .npy file fails
// the job with an error naming the file, and nothing is written.
func TestCorruptShard(t *testing.T) {
	x := fashionImages(t)
	for _, tc := range []struct {
		name    string
		corrupt func(path string) error
		want    string
	}{
		{"truncated", func(p string) error { return os.Truncate(p, 1000) }, "corrupt"},
		{"not npy", func(p string) error { return os.WriteFile(p, []byte("this is not a .npy file at all"), 0o644) }, "corrupt"},
		{"uint8", func(p string) error {
			b, err := os.ReadFile(filepath.Join(fashionDir, "calib_u8.npy"))
			if err != nil {
				return err
			}
			return os.WriteFile(p, b, 0o644)
		}, "want float32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			paths := writeShards(t, dir, x, 7, 20, 20, 24)
			bad := filepath.Join(dir, "shard01.npy")
			if err := tc.corrupt(bad); err != nil {
				t.Fatal(err)
			}
			out, table := filepath.Join(dir, "q.onnx"), filepath.Join(dir, "table.json")
			_, err := quantizeRun(t, ModelConfig{Model: fashionModel}, paths, out, table, nil)
			if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %s (%s)", err, bad, tc.want)
			}
			t.Logf("error: %s", Cause(err))
			for _, p := range []string{out, table} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the failed run left %s: %v", p, err)
				}
			}
		})
	}
}
