package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// ortManifest is testdata/ort/manifest.json, written by testdata/ort/gen.js
// from ONNX Runtime's CPU execution provider (an independent oracle).
type ortManifest struct {
	ORT   string `json:"ort"`
	Cases []struct {
		Name    string   `json:"name"`
		Op      string   `json:"op"`
		Attrs   []string `json:"attrs"`
		Inputs  []string `json:"inputs"`
		Outputs []string `json:"outputs"`
		// Tolerance is the largest |qgpu - ORT| accepted for integer
		// outputs, with the reason in Note (0: bit-exact).
		Tolerance int    `json:"tolerance"`
		Note      string `json:"note"`
		// TolFiles, one per output, hold a bound per float32 output
		// element that |qgpu - ORT| must not exceed (MatMulNBits, whose
		// ORT kernels sum in other orders), computed by gen.js from the
		// inputs; the reason is in Note. Without them floats are
		// compared bit for bit.
		TolFiles []string `json:"tolFiles"`
	} `json:"cases"`
}

// TestRunAgainstORT runs `qgpu run` on the inputs of every ORT fixture and
// compares with ORT's outputs: bit for bit, except the requantizing ops
// (QLinearMatMul, QLinearConv), whose declared tolerance and reason are in
// the manifest and whose off-by-one elements are counted and logged.
func TestRunAgainstORT(t *testing.T) {
	root := filepath.Join("testdata", "ort")
	b, err := os.ReadFile(filepath.Join(root, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m ortManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Cases) < 20 {
		t.Fatalf("manifest has %d cases; regenerate with node gen.js", len(m.Cases))
	}
	for _, c := range m.Cases {
		t.Run(c.Name, func(t *testing.T) {
			dir := filepath.Join(root, "cases", c.Name)
			tmp := t.TempDir()
			args := []string{"run", c.Op, "--backend", "cpu"}
			for _, a := range c.Attrs {
				args = append(args, "--attr", a)
			}
			for _, in := range c.Inputs {
				if in != "none" {
					in = filepath.Join(dir, in)
				}
				args = append(args, "--in", in)
			}
			for _, out := range c.Outputs {
				args = append(args, "--out", filepath.Join(tmp, out))
			}
			code, _, stderr := qgpu(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for oi, out := range c.Outputs {
				want, err := qtensor.LoadNPY(filepath.Join(dir, out))
				if err != nil {
					t.Fatal(err)
				}
				got, err := qtensor.LoadNPY(filepath.Join(tmp, out))
				if err != nil {
					t.Fatal(err)
				}
				if got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) {
					t.Fatalf("%s: got %v%v, ORT %v%v", out, got.DType, got.Shape, want.DType, want.Shape)
				}
				if got.DType == qtensor.Float32 && oi < len(c.TolFiles) {
					tt, err := qtensor.LoadNPY(filepath.Join(dir, c.TolFiles[oi]))
					if err != nil {
						t.Fatal(err)
					}
					g, w, tol := got.Float32s(), want.Float32s(), tt.Float32s()
					if len(tol) != len(g) {
						t.Fatalf("%s: %d bounds for %d elements", c.TolFiles[oi], len(tol), len(g))
					}
					worst, ratio := 0.0, 0.0
					for i := range g {
						d := math.Abs(float64(g[i]) - float64(w[i]))
						if !(d <= float64(tol[i])) {
							t.Errorf("%s[%d] = %v, ORT %v: |difference| %g above the bound %g", out, i, g[i], w[i], d, tol[i])
						}
						worst, ratio = max(worst, d), max(ratio, d/float64(tol[i]))
					}
					t.Logf("%s: max |qgpu - ORT| = %.3g, at most %.3g of the declared bound (%s)", out, worst, ratio, c.Note)
					continue
				}
				if got.DType == qtensor.Float32 {
					g, w := got.Float32s(), want.Float32s()
					for i := range g {
						if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
							t.Errorf("%s[%d] = %v, ORT %v", out, i, g[i], w[i])
						}
					}
					continue
				}
				g, w := got.Int32s(), want.Int32s()
				off := 0
				for i := range g {
					d := int(g[i]) - int(w[i])
					if d == 0 {
						continue
					}
					off++
					if d > c.Tolerance || -d > c.Tolerance {
						t.Errorf("%s[%d] = %d, ORT %d (tolerance %d)", out, i, g[i], w[i], c.Tolerance)
					}
				}
				if off > 0 {
					t.Logf("%s: %d of %d elements differ from ORT within the declared tolerance %d (%s)", out, off, len(g), c.Tolerance, c.Note)
				}
			}
		})
	}
}
