package qbeam

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// tensorFixture writes an activation dump ("act", [rows, 16, 5] in
// several files with NaN and ±Inf among the values) and two weights
// (w1 [8, 3, 3, 3], w2 [16, 8], one file each) into dir, and returns the
// activation's files per split: 1 file or 3.
type tensorFixture struct {
	dir    string
	act    map[int][]string // files of the dump, by number of files
	w1, w2 string
}

func newTensorFixture(t *testing.T) *tensorFixture {
	t.Helper()
	r := rand.New(rand.NewPCG(17, 4))
	f := &tensorFixture{dir: t.TempDir(), act: map[int][]string{}}
	act := make([]float32, 30*16*5)
	for i := range act {
		// Channels of different scales, a heavy tail, and specials.
		c := (i / 5) % 16
		act[i] = float32(r.NormFloat64()*float64(c+1)*0.25 + float64(c)*0.1)
		if r.IntN(50) == 0 {
			act[i] *= 20
		}
	}
	act[7], act[100], act[2000] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))
	one := filepath.Join(f.dir, "one", "act.npy")
	mkdir(t, filepath.Dir(one))
	saveF32(t, one, []int{30, 16, 5}, act)
	f.act[1] = []string{one}
	mkdir(t, filepath.Join(f.dir, "three"))
	off := 0
	for i, n := range []int{11, 4, 15} {
		p := filepath.Join(f.dir, "three", fmt.Sprintf("act_%d.npy", i))
		saveF32(t, p, []int{n, 16, 5}, act[off*80:(off+n)*80])
		off += n
		f.act[3] = append(f.act[3], p)
	}
	weights := func(name string, shape ...int) string {
		n := 1
		for _, d := range shape {
			n *= d
		}
		w := make([]float32, n)
		for i := range w {
			w[i] = float32(r.Float64()*2-1) * float32(i%7+1) * 0.05
		}
		p := filepath.Join(f.dir, "weights", name+".npy")
		saveF32(t, p, shape, w)
		return p
	}
	mkdir(t, filepath.Join(f.dir, "weights"))
	f.w1, f.w2 = weights("w1", 8, 3, 3, 3), weights("w2", 16, 8)
	return f
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := osMkdirAll(dir); err != nil {
		t.Fatal(err)
	}
}

// calibrateRun runs the tensors pipeline and returns its table.
func calibrateRun(t *testing.T, cfg TensorConfig, patterns []string) ([]byte, error) {
	t.Helper()
	shards, err := PrepareTensors(context.Background(), cfg, patterns)
	if err != nil {
		return nil, err
	}
	table := filepath.Join(t.TempDir(), "table.json")
	if _, err := runPipeline(t, func(s beam.Scope) error { return CalibrateTensorFiles(s, cfg, shards, table) }); err != nil {
		return nil, err
	}
	return readFile(t, table), nil
}

// TestTensorsMatchCalibrate: the tensors pipeline gives every tensor the
// parameters `qgpu calibrate --json` computes from the same files in one
// process - range, scale, zero point and data counts - per tensor and per
// channel, for min-max and the histogram searches; and the same table
// whether the dump is one file or three, read 4 or 1024 rows at a time.
func TestTensorsMatchCalibrate(t *testing.T) {
	f := newTensorFixture(t)
	for _, tc := range []struct {
		name  string
		cfg   TensorConfig
		flags []string
	}{
		{"minmax", TensorConfig{}, []string{"--method", "minmax"}},
		{"percentile-int8-symmetric", TensorConfig{Method: "percentile", Percentile: 0.999, Bins: 512, DType: "int8", Scheme: "symmetric"},
			[]string{"--method", "percentile", "--percentile", "99.9", "--bins", "512", "--dtype", "int8", "--scheme", "symmetric"}},
		{"l2-axis1", TensorConfig{Method: "l2", Bins: 256, PerChannel: true, Axis: 1}, []string{"--method", "l2", "--bins", "256", "--axis", "1"}},
		{"kl-axis-last-reduce", TensorConfig{Method: "kl", Bins: 256, PerChannel: true, Axis: -1, ReduceRange: true},
			[]string{"--method", "kl", "--bins", "256", "--axis", "-1", "--reduce-range"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The reference, tensor by tensor.
			want := map[string]TensorParams{}
			for name, files := range map[string][]string{"act": f.act[3], "w1": {f.w1}, "w2": {f.w2}} {
				args := []string{"calibrate", "--json"}
				for _, in := range files {
					args = append(args, "--in", in)
				}
				var p TensorParams
				if err := json.Unmarshal(runCLI(t, append(args, tc.flags...)...), &p); err != nil {
					t.Fatal(err)
				}
				p.Name = name
				want[name] = p
			}
			var first []byte
			for _, run := range []struct {
				split, rows int
			}{{1, 0}, {3, 4}, {3, 0}} {
				cfg := tc.cfg
				cfg.Rows = run.rows
				patterns := []string{filepath.Join(f.dir, "weights", "w*.npy")}
				if run.split == 1 {
					patterns = append(patterns, "act="+f.act[1][0])
				} else {
					patterns = append(patterns, "act="+filepath.Join(f.dir, "three", "act_*.npy"))
				}
				got, err := calibrateRun(t, cfg, patterns)
				if err != nil {
					t.Fatalf("%d files, rows %d: %s", run.split, run.rows, Cause(err))
				}
				var table []TensorParams
				if err := json.Unmarshal(got, &table); err != nil {
					t.Fatal(err)
				}
				if len(table) != 3 {
					t.Fatalf("%d entries, want 3:\n%s", len(table), got)
				}
				for _, p := range table {
					if w := want[p.Name]; !reflect.DeepEqual(p, w) {
						t.Errorf("%d files, rows %d: tensor %s:\n got %+v\nwant %+v", run.split, run.rows, p.Name, p, w)
					}
				}
				if first == nil {
					first = got
				} else if !bytes.Equal(got, first) {
					t.Errorf("%d files, rows %d: the table differs from the one-file table", run.split, run.rows)
				}
			}
			if a := want["act"]; a.NaN != 1 || a.PosInf != 1 || a.NegInf != 1 {
				t.Errorf("the reference missed the fixture's specials: %+v", want["act"])
			}
		})
	}
}

// TestTensorsPerChannelAxis0: per channel along axis 0 (a weight's output
// channels) matches `qgpu calibrate --axis 0`; a tensor of several files
// is refused for axis 0 before the pipeline starts.
func TestTensorsPerChannelAxis0(t *testing.T) {
	f := newTensorFixture(t)
	cfg := TensorConfig{Method: "minmax", PerChannel: true, Axis: 0, DType: "int8", Scheme: "symmetric", Rows: 3}
	got, err := calibrateRun(t, cfg, []string{filepath.Join(f.dir, "weights", "*.npy")})
	if err != nil {
		t.Fatal(Cause(err))
	}
	var table []TensorParams
	if err := json.Unmarshal(got, &table); err != nil {
		t.Fatal(err)
	}
	if len(table) != 2 || table[0].Name != "w1" || table[1].Name != "w2" {
		t.Fatalf("table:\n%s", got)
	}
	for i, in := range []string{f.w1, f.w2} {
		var want TensorParams
		if err := json.Unmarshal(runCLI(t, "calibrate", "--json", "--in", in, "--method", "minmax", "--axis", "0", "--dtype", "int8", "--scheme", "symmetric"), &want); err != nil {
			t.Fatal(err)
		}
		want.Name = table[i].Name
		if !reflect.DeepEqual(table[i], want) {
			t.Errorf("%s:\n got %+v\nwant %+v", in, table[i], want)
		}
		if len(want.Scale) != []int{8, 16}[i] {
			t.Errorf("%s: %d channels", in, len(want.Scale))
		}
	}
	_, err = PrepareTensors(context.Background(), cfg, []string{"act=" + filepath.Join(f.dir, "three", "*.npy")})
	if err == nil || !strings.Contains(err.Error(), "axis 0") {
		t.Errorf("axis 0 over 3 files: %v", err)
	}
}

// TestTensorsErrors: files of one tensor with different row shapes, a
// corrupt file and an order-dependent method give clear errors.
func TestTensorsErrors(t *testing.T) {
	f := newTensorFixture(t)
	_, err := calibrateRun(t, TensorConfig{}, []string{"x=" + f.w1, "x=" + f.w2})
	if err == nil || !strings.Contains(Cause(err), "shape") {
		t.Errorf("mismatched shapes: %v", err)
	}
	bad := filepath.Join(f.dir, "bad.npy")
	if err := osWriteFile(bad, []byte("\x93NUMPY garbage")); err != nil {
		t.Fatal(err)
	}
	_, err = calibrateRun(t, TensorConfig{}, []string{bad, f.w1})
	if err == nil || !strings.Contains(Cause(err), bad) {
		t.Errorf("corrupt file: %v", err)
	}
	if _, err := PrepareTensors(context.Background(), TensorConfig{Method: "moving-average"}, []string{f.w1}); err == nil || !strings.Contains(err.Error(), "cannot be merged") {
		t.Errorf("moving-average: %v", err)
	}
	if _, err := PrepareTensors(context.Background(), TensorConfig{}, []string{filepath.Join(f.dir, "nothing*.npy")}); err == nil || !strings.Contains(err.Error(), "matches no file") {
		t.Errorf("empty pattern: %v", err)
	}
}
