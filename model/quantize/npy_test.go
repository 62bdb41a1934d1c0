package quantize

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// TestNPYBatches streams two files of 5 and 3 samples in batches of 2 and
// checks every batch against the files read whole by qtensor.
func TestNPYBatches(t *testing.T) {
	dir := t.TempDir()
	var files []string
	var all []float32
	for k, n := range []int{5, 3} {
		x := make([]float32, n*2*3)
		for i := range x {
			x[i] = float32(k*1000 + i)
		}
		all = append(all, x...)
		qt, err := qtensor.FromFloat32([]int{n, 2, 3}, x)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, []string{"a.npy", "b.npy"}[k])
		if err := qtensor.SaveNPY(p, qt); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	var sizes []int
	var got []float32
	for b, err := range NPYBatches([]NPYInput{{Name: "x", Files: files}}, 2) {
		if err != nil {
			t.Fatal(err)
		}
		x := b["x"]
		if !slices.Equal(x.Shape[1:], []int{2, 3}) {
			t.Fatalf("shape %v", x.Shape)
		}
		sizes = append(sizes, x.Shape[0])
		got = append(got, x.F32...)
	}
	if !slices.Equal(sizes, []int{2, 2, 1, 2, 1}) || !slices.Equal(got, all) {
		t.Errorf("batches %v, data equal %v", sizes, slices.Equal(got, all))
	}

	// Errors: mismatched sample counts, truncation, other dtypes.
	for _, err := range NPYBatches([]NPYInput{{Name: "x", Files: files[:1]}, {Name: "y", Files: files[1:]}}, 2) {
		if !errors.Is(err, ErrShape) {
			t.Errorf("mismatched samples: %v", err)
		}
		break
	}
	raw, _ := os.ReadFile(files[0])
	trunc := filepath.Join(dir, "t.npy")
	os.WriteFile(trunc, raw[:len(raw)-3], 0o644)
	i8, _ := qtensor.New(qtensor.Int8, []int{4, 2}, qtensor.TensorParams(1, 0))
	i8p := filepath.Join(dir, "i8.npy")
	qtensor.SaveNPY(i8p, i8)
	for _, p := range []string{trunc, i8p, filepath.Join(dir, "missing.npy")} {
		n := 0
		for _, err := range NPYBatches([]NPYInput{{Name: "x", Files: []string{p}}}, 2) {
			n++
			if err == nil {
				t.Errorf("%s: no error", p)
			}
		}
		if n != 1 {
			t.Errorf("%s: %d results", p, n)
		}
	}
}

func FuzzNPYHeader(f *testing.F) {
	f.Add([]byte("\x93NUMPY\x01\x00F\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }          \n"))
	f.Add([]byte("\x93NUMPY\x02\x00\x10\x00\x00\x00{'shape': (2,), 'descr': \"<f4\", 'fortran_order': True}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, shape, size, err := parseNPYPrefix(bytes.NewReader(b))
		if err != nil {
			return
		}
		if size > int64(len(b)) || len(shape) > 32 {
			t.Fatalf("prefix of %d bytes in %d, shape %v", size, len(b), shape)
		}
	})
}
