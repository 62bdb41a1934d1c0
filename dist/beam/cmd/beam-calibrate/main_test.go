package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/dist/beam/qbeam"
	"github.com/qgpu/qgpu/qtensor"
)

func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init()
	os.Exit(m.Run())
}

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	o := options{given: map[string]bool{}}
	fs := flag.NewFlagSet("beam-calibrate", flag.ContinueOnError)
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	fs.Visit(func(f *flag.Flag) { o.given[f.Name] = true })
	var out bytes.Buffer
	err := o.run(context.Background(), &out)
	return out.String(), err
}

// TestCommand: the flags reach the calibration - a symmetric int8 range
// per channel with a custom integer range, checked against calib.QParams
// on the hand-made data's exact per-channel extremes - and wrong flags
// are usage errors.
func TestCommand(t *testing.T) {
	dir := t.TempDir()
	// w [3, 4]: channel c (axis 1) holds c+1 and -(c+1)/2 and zeros.
	var x []float32
	for r := range 3 {
		for c := range 4 {
			v := float32(0)
			switch r {
			case 0:
				v = float32(c + 1)
			case 1:
				v = -float32(c+1) / 2
			}
			x = append(x, v)
		}
	}
	w, err := qtensor.FromFloat32([]int{3, 4}, x)
	if err != nil {
		t.Fatal(err)
	}
	if err := qtensor.SaveNPY(filepath.Join(dir, "w.npy"), w); err != nil {
		t.Fatal(err)
	}
	table := filepath.Join(dir, "t.json")
	stdout, err := run(t, "--in", filepath.Join(dir, "*.npy"), "--table", table, "--dtype", "int8", "--scheme", "symmetric",
		"--qmin", "-100", "--qmax", "100", "--axis", "1", "--rows", "2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "1 files, 1 tensors") {
		t.Errorf("stdout: %s", stdout)
	}
	b, err := os.ReadFile(table)
	if err != nil {
		t.Fatal(err)
	}
	var got []qbeam.TensorParams
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "w" || got[0].Axis == nil || *got[0].Axis != 1 || len(got[0].Scale) != 4 {
		t.Fatalf("table: %s", b)
	}
	target := calib.Target{DType: qtensor.Int8, Scheme: calib.Symmetric, Custom: true, QMin: -100, QMax: 100}
	for c := range 4 {
		lo, hi := -float32(c+1)/2, float32(c+1)
		s, zp, err := calib.QParams(lo, hi, target)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Scale[c] != s || got[0].ZeroPoint[c] != zp || got[0].Range.Min[c] != lo || got[0].Range.Max[c] != hi {
			t.Errorf("channel %d: scale %g zp %d range [%g, %g], want %g %d [%g, %g]", c, got[0].Scale[c], got[0].ZeroPoint[c],
				got[0].Range.Min[c], got[0].Range.Max[c], s, zp, lo, hi)
		}
	}
	for _, args := range [][]string{
		{"--table", table},
		{"--in", "x.npy"},
		{"--in", "x.npy", "--table", table, "--qmin", "-3"},
		{"--in", "x.npy", "--table", table, "--percentile", "99"},
		{"--in", "x.npy", "--table", table, "--rows", "0"},
	} {
		var u usageError
		if _, err := run(t, args...); !errors.As(err, &u) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}
