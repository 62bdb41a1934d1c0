package quantize

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"testing"

	_ "github.com/qgpu/qgpu/backends/cpu" // the engine's CPU backend runs the passes in one variant
	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/engine"
)

// TestDeterminism checks that the QDQ model is byte-identical whatever
// the batch boundaries, the split of the data into shards and the order
// in which the shards are merged (also through MarshalBinary), the
// number of interpreter workers and the backend that runs the histogram
// passes - for every method whose state does not depend on the batches.
// Moving-average is the exception by definition: reproducible for one
// split, different for another.
func TestDeterminism(t *testing.T) {
	m := loadFashion(t)
	x := fashionImages(t)
	ctx := context.Background()
	eng, err := engine.New(engine.Config{Backend: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	calibrate := func(t *testing.T, o Options, b iter.Seq2[Batch, error]) (*Quantizer, *Calibration) {
		t.Helper()
		q, err := New(m, o)
		if err != nil {
			t.Fatal(err)
		}
		c, err := q.Calibrate(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		return q, c
	}
	model := func(t *testing.T, q *Quantizer, c *Calibration) []byte {
		t.Helper()
		res, err := q.Quantize(c)
		if err != nil {
			t.Fatal(err)
		}
		return encode(t, res.Model)
	}
	for _, mi := range calib.Methods() {
		if !mergeable(mi.Method) {
			continue
		}
		t.Run(mi.Name, func(t *testing.T) {
			o := Options{Method: mi.Method, PerChannel: mi.Method == calib.MethodL2}
			q, c := calibrate(t, o, split(t, x, 64))
			want := model(t, q, c)
			check := func(what string, got []byte) {
				t.Helper()
				if !bytes.Equal(got, want) {
					t.Errorf("%s: the model differs from the one-batch calibration", what)
				}
			}
			for _, sizes := range [][]int{{1, 63}, {16, 16, 16, 16}, {7, 20, 37}} {
				q2, c2 := calibrate(t, o, split(t, x, sizes...))
				check("batches", model(t, q2, c2))
			}
			// Shards: [0,24), [24,40), [40,64), merged in two orders, one
			// of them carried through MarshalBinary.
			shard := func(lo, hi int) *Calibration {
				_, c := calibrate(t, o, split(t, x[lo*784:hi*784], hi-lo))
				return c
			}
			a, b, d := shard(0, 24), shard(24, 40), shard(40, 64)
			for _, order := range [][]*Calibration{{a, b, d}, {d, b, a}} {
				acc, err := q.NewCalibration()
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range order {
					if err := acc.Merge(s); err != nil {
						t.Fatal(err)
					}
				}
				check("merged shards", model(t, q, acc))
			}
			enc, err := d.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			d2, err := q.UnmarshalCalibration(enc)
			if err != nil {
				t.Fatal(err)
			}
			if err := d2.Merge(a); err != nil {
				t.Fatal(err)
			}
			if err := d2.Merge(b); err != nil {
				t.Fatal(err)
			}
			if runs, samples := d2.Runs(); runs != 3 || samples != 64 {
				t.Errorf("merged calibration: %d runs, %d samples", runs, samples)
			}
			check("shards through MarshalBinary", model(t, q, d2))
			// The engine's CPU backend running the passes, one worker.
			o2 := o
			o2.Reducer, o2.Workers = eng.Reducer(), 1
			q3, c3 := calibrate(t, o2, split(t, x, 32, 32))
			check("engine reducer", model(t, q3, c3))
		})
	}
	t.Run("moving-average", func(t *testing.T) {
		o := Options{Method: calib.MethodMovingAverage}
		q1, c1 := calibrate(t, o, split(t, x, 16, 16, 16, 16))
		q2, c2 := calibrate(t, o, split(t, x, 16, 16, 16, 16))
		if !bytes.Equal(model(t, q1, c1), model(t, q2, c2)) {
			t.Error("moving-average: the same batches gave different models")
		}
		q3, c3 := calibrate(t, o, split(t, x, 32, 32))
		if bytes.Equal(model(t, q1, c1), model(t, q3, c3)) {
			t.Error("moving-average: other batches gave the same model (the averages should depend on them)")
		}
		if err := c1.Merge(c2); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Merge: %v, want ErrUnsupported", err)
		}
		if _, err := c1.MarshalBinary(); !errors.Is(err, ErrUnsupported) {
			t.Errorf("MarshalBinary: %v, want ErrUnsupported", err)
		}
	})
	t.Run("torch-histogram", func(t *testing.T) {
		o := Options{Method: calib.MethodTorchHistogram}
		q1, c1 := calibrate(t, o, split(t, x, 32, 32))
		q2, c2 := calibrate(t, o, split(t, x, 32, 32))
		if !bytes.Equal(model(t, q1, c1), model(t, q2, c2)) {
			t.Error("torch-histogram: the same batches gave different models")
		}
		if err := c1.Merge(c2); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Merge: %v, want ErrUnsupported", err)
		}
	})
}

// TestMarshalErrors checks that corrupt and mismatched encodings are
// errors.
func TestMarshalErrors(t *testing.T) {
	m := loadFashion(t)
	x := fashionImages(t)
	q, err := New(m, Options{Method: calib.MethodKL})
	if err != nil {
		t.Fatal(err)
	}
	c, err := q.Calibrate(context.Background(), split(t, x[:8*784], 8))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.UnmarshalCalibration(enc); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(enc); i += 97 {
		bad := bytes.Clone(enc)
		bad[i] ^= 0x40
		if _, err := q.UnmarshalCalibration(bad); err == nil {
			t.Errorf("byte %d flipped: no error", i)
		}
	}
	for _, n := range []int{0, 3, 20, len(enc) / 2, len(enc) - 1} {
		if _, err := q.UnmarshalCalibration(enc[:n]); !errors.Is(err, ErrFormat) {
			t.Errorf("truncated to %d: %v", n, err)
		}
	}
	q2, err := New(m, Options{Method: calib.MethodL2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q2.UnmarshalCalibration(enc); !errors.Is(err, ErrParams) {
		t.Errorf("other method: %v", err)
	}
	c2, err := q2.NewCalibration()
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Merge(c); !errors.Is(err, ErrParams) {
		t.Errorf("merging calibrations of other methods: %v", err)
	}
	q3, err := New(m, Options{Method: calib.MethodKL, Exclude: []string{"/fc/Gemm"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q3.UnmarshalCalibration(enc); !errors.Is(err, ErrParams) {
		t.Errorf("other tensors: %v", err)
	}
}

func FuzzUnmarshalCalibration(f *testing.F) {
	m := loadFashion(f)
	q, err := New(m, Options{Method: calib.MethodPercentile})
	if err != nil {
		f.Fatal(err)
	}
	qm, err := New(m, Options{})
	if err != nil {
		f.Fatal(err)
	}
	x := fashionImages(f)
	for _, qq := range []*Quantizer{q, qm} {
		c, err := qq.Calibrate(context.Background(), split(f, x[:2*784], 2))
		if err != nil {
			f.Fatal(err)
		}
		enc, err := c.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, qq := range []*Quantizer{q, qm} {
			c, err := qq.UnmarshalCalibration(b)
			if err != nil {
				continue
			}
			if _, err := c.MarshalBinary(); err != nil {
				t.Fatalf("a decoded calibration does not encode: %v", err)
			}
			_, _ = qq.Quantize(c)
		}
	})
}
