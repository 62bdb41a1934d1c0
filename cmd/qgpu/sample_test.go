package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// TestSample: constants are exact and 0-d by default; integers are
// rounded half to even and clamped; random values repeat with the seed,
// follow --scale and their distribution's support.
func TestSample(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	load := func(n string) *qtensor.Tensor {
		t.Helper()
		x, err := qtensor.LoadNPY(p(n))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	mustRun(t, "sample", "--fill", "0.001", "--out", p("s.npy"))
	if x := load("s.npy"); len(x.Shape) != 0 || x.DType != qtensor.Float32 || x.Float32s()[0] != 0.001 {
		t.Errorf("--fill 0.001: %+v", x)
	}
	mustRun(t, "sample", "--fill", "2.5", "--shape", "3", "--dtype", "int8", "--out", p("i.npy"))
	if x := load("i.npy"); x.DType != qtensor.Int8 || !slices.Equal(x.Int32s(), []int32{2, 2, 2}) {
		t.Errorf("--fill 2.5 int8: %v", x.Int32s())
	}
	mustRun(t, "sample", "--fill", "300", "--dtype", "uint8", "--out", p("u.npy"))
	if x := load("u.npy"); x.DType != qtensor.Uint8 || x.Int32s()[0] != 255 {
		t.Errorf("--fill 300 uint8: %v", x.Int32s())
	}
	mustRun(t, "sample", "--shape", "64x32", "--seed", "7", "--out", p("a.npy"))
	mustRun(t, "sample", "--shape", "64x32", "--seed", "7", "--out", p("b.npy"))
	mustRun(t, "sample", "--shape", "64x32", "--seed", "8", "--out", p("c.npy"))
	a, _ := os.ReadFile(p("a.npy"))
	b, _ := os.ReadFile(p("b.npy"))
	c, _ := os.ReadFile(p("c.npy"))
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Error("the same seed must give the same values, another seed others")
	}
	mustRun(t, "sample", "--shape", "1000", "--dist", "relu", "--out", p("r.npy"))
	mustRun(t, "sample", "--shape", "1000", "--dist", "uniform", "--scale", "3", "--out", p("v.npy"))
	neg, zero := 0, 0
	for _, v := range load("r.npy").Float32s() {
		if v < 0 {
			neg++
		}
		if v == 0 {
			zero++
		}
	}
	if neg > 0 || zero < 300 || zero > 700 {
		t.Errorf("relu: %d negative, %d zeros of 1000 (want none and about half)", neg, zero)
	}
	var big bool
	for _, v := range load("v.npy").Float32s() {
		if v < -3 || v >= 3 {
			t.Fatalf("uniform --scale 3 gave %v", v)
		}
		big = big || math.Abs(float64(v)) > 2
	}
	if !big {
		t.Error("uniform --scale 3: nothing beyond ±2")
	}
	wantError(t, 2, "--shape is required", "sample", "--out", p("x.npy"))
	wantError(t, 2, "drop --dist, --scale and --seed", "sample", "--fill", "1", "--scale", "2", "--out", p("x.npy"))
	wantError(t, 2, "(did you mean normal?)", "sample", "--shape", "2", "--dist", "norml", "--out", p("x.npy"))
}
