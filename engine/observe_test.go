package engine_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// allocCounter is the CPU backend without its InPlaceReducer (the path
// of the GPU backends) that records the size of every allocation.
type allocCounter struct {
	backend.Backend
	mu    sync.Mutex
	sizes []int
}

func (a *allocCounter) Alloc(size int) (backend.Buffer, error) {
	a.mu.Lock()
	a.sizes = append(a.sizes, size)
	a.mu.Unlock()
	return a.Backend.Alloc(size)
}

// since returns the sizes allocated after the first n allocations.
func (a *allocCounter) since(n int) []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.sizes[n:])
}

func (a *allocCounter) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.sizes)
}

func init() {
	backend.Register("cpu-alloc-test", -101, func(o engine.Options) (backend.Backend, error) {
		b, err := cpu.New(o)
		if err != nil {
			return nil, err
		}
		return &allocCounter{Backend: b}, nil
	})
}

// recorder is a calib.Observer that keeps copies of the batches it sees.
type recorder struct {
	batches [][]float32
	shapes  [][]int
}

func (r *recorder) Observe(_ context.Context, x []float32, shape []int) error {
	r.batches = append(r.batches, slices.Clone(x))
	r.shapes = append(r.shapes, slices.Clone(shape))
	return nil
}
func (r *recorder) Params(calib.Target) (qtensor.Params, error) { return qtensor.Params{}, nil }
func (r *recorder) Stats() calib.RangeStats                     { return calib.RangeStats{} }

// sameBits reports whether a and b hold the same float32 bit patterns.
func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// observers returns fresh observers of several kinds on reducer r.
func observers(t *testing.T, r calib.Reducer) []calib.Observer {
	t.Helper()
	h, err := calib.NewObserver(calib.MethodL2, calib.ObserverOptions{Reducer: r, Bins: 256})
	if err != nil {
		t.Fatal(err)
	}
	return []calib.Observer{&calib.MinMaxObserver{Reducer: r}, h, &calib.PerChannelMinMaxObserver{Reducer: r, Axis: 1}}
}

// TestObserve feeds device tensors of every form to observers through
// Engine.Observe and ObserveAccumulators, on the CPU backend (in-place
// reducer) and on the upload path of the GPU backends, and compares the
// values observed with ones computed here from the host data, and the
// resulting params with observers fed those values on the host.
func TestObserve(t *testing.T) {
	for _, name := range []string{"cpu", "cpu-upload-test", "cpu-alloc-test"} {
		t.Run(name, func(t *testing.T) {
			e, err := engine.New(engine.Config{Backend: name, GuardBytes: 256})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			ctx := context.Background()
			shape := []int{6, 7, 5}

			// float32 data, with NaN, ±Inf, ±0 and denormals.
			xf := calibData(6*7*5, 3)
			// uint8 data, per axis 1 (the 7 channels).
			qp := qtensor.AxisParams(1, []float32{0.5, 0.25, 0.125, 1, 2, 0.0625, 3}, []int32{0, 128, 255, 7, 100, 3, 9})
			xq, err := qtensor.New(qtensor.Uint8, shape, qp)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, xq.Len()) // dequantized here: float32(q - zp) * scale
			for i := range want {
				q := int32(i * 37 % 256)
				xq.Set(i, q)
				c := (i / 5) % 7
				want[i] = float32(q-qp.ZeroPoints[c]) * qp.Scales[c]
			}
			for _, tc := range []struct {
				name string
				h    *qtensor.Tensor
				want []float32
			}{
				{"float32", must(qtensor.FromFloat32(shape, xf)), xf},
				{"uint8 per axis", xq, want},
			} {
				d, err := e.Upload(tc.h)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Release()
				var rec recorder
				if err := e.Observe(ctx, &rec, d); err != nil {
					t.Fatal(err)
				}
				if len(rec.batches) != 1 || !sameBits(rec.batches[0], tc.want) || !slices.Equal(rec.shapes[0], shape) {
					t.Fatalf("%s: observed %d batches, first of shape %v, values equal %v", tc.name, len(rec.batches), rec.shapes, len(rec.batches) == 1 && sameBits(rec.batches[0], tc.want))
				}
				got, host := observers(t, e.Reducer()), observers(t, nil)
				for i := range got {
					if err := e.Observe(ctx, got[i], d); err != nil {
						t.Fatal(err)
					}
					if err := host[i].Observe(ctx, tc.want, shape); err != nil {
						t.Fatal(err)
					}
					gp, gerr := got[i].Params(calib.Uint8Affine)
					hp, herr := host[i].Params(calib.Uint8Affine)
					if !reflect.DeepEqual(gp, hp) || (gerr == nil) != (herr == nil) || got[i].Stats() != host[i].Stats() {
						t.Errorf("%s, %T: params %+v (%v), stats %+v; host %+v (%v), %+v", tc.name, got[i], gp, gerr, got[i].Stats(), hp, herr, host[i].Stats())
					}
				}
			}
		})
	}
}

// TestObserveAccumulators checks that the int32 accumulators of a GEMM
// observed with their scales are the values of the same GEMM's float32
// output, and the float32(acc) * scale of the host.
func TestObserveAccumulators(t *testing.T) {
	e := newCPU(t, 256)
	ctx := context.Background()
	// A [4][6] uint8 (scale 0.05, zp 128) x B stored [3][6] int8 per output channel.
	ah, _ := qtensor.New(qtensor.Uint8, []int{4, 6}, qtensor.TensorParams(0.05, 128))
	for i := range ah.Len() {
		ah.Set(i, int32(i*53%256))
	}
	bp := qtensor.AxisParams(0, []float32{0.5, 0.03125, 0.1}, []int32{0, 0, 0})
	bh, _ := qtensor.New(qtensor.Int8, []int{3, 6}, bp)
	for i := range bh.Len() {
		bh.Set(i, int32(i*29%256)-128)
	}
	a, err := e.Upload(ah)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	b, err := e.Upload(bh)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	var acc, yf *engine.Tensor
	err = e.Do(ctx, func(bt *engine.Batch) error {
		var err error
		if acc, err = bt.Gemm(a, b, engine.GemmOptions{TransposeB: true}); err != nil {
			return err
		}
		yf, err = bt.Gemm(a, b, engine.GemmOptions{TransposeB: true, Output: engine.OutFloat32})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer acc.Release()
	defer yf.Release()
	scales := make([]float32, 3)
	for i, s := range bp.Scales {
		scales[i] = float32(0.05 * s)
	}
	var fromAcc, fromFloat recorder
	if err := e.ObserveAccumulators(ctx, &fromAcc, acc, scales, -1); err != nil {
		t.Fatal(err)
	}
	if err := e.Observe(ctx, &fromFloat, yf); err != nil {
		t.Fatal(err)
	}
	h, err := e.Download(acc)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, h.Len())
	for i, v := range h.Int32s() {
		want[i] = float32(v) * scales[i%3]
	}
	if !sameBits(fromAcc.batches[0], want) || !sameBits(fromFloat.batches[0], want) || !slices.Equal(fromAcc.shapes[0], []int{4, 3}) {
		t.Errorf("accumulators observed as %v, the float output as %v; want %v", fromAcc.batches[0], fromFloat.batches[0], want)
	}
	// One scale for all: axis ignored.
	var one recorder
	if err := e.ObserveAccumulators(ctx, &one, acc, []float32{0.25}, 99); err != nil {
		t.Fatal(err)
	}
	for i, v := range h.Int32s() {
		if one.batches[0][i] != float32(v)*0.25 {
			t.Fatalf("per-tensor scale: element %d is %g, want %g", i, one.batches[0][i], float32(v)*0.25)
		}
	}
}

// TestObserveOnDevice checks that, on the upload path of the GPU
// backends, Observe's observer passes run on the device tensor: no buffer
// the size of the data is allocated during Observe, while observing the
// same values from a host slice uploads them.
func TestObserveOnDevice(t *testing.T) {
	e, err := engine.New(engine.Config{Backend: "cpu-alloc-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ac := e.Backend().(*allocCounter)
	ctx := context.Background()
	x := calibData(4096, 5)
	d, err := e.UploadFloat32([]int{64, 64}, x)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Release()
	large := func(sizes []int) (n int) {
		for _, s := range sizes {
			if s >= 4*len(x) {
				n++
			}
		}
		return n
	}
	o, err := calib.NewObserver(calib.MethodKL, calib.ObserverOptions{Reducer: e.Reducer(), Bins: 512})
	if err != nil {
		t.Fatal(err)
	}
	n0 := ac.count()
	if err := e.Observe(ctx, o, d); err != nil {
		t.Fatal(err)
	}
	if got := ac.since(n0); large(got) != 0 || len(got) == 0 {
		t.Errorf("Observe allocated %v: want only the small outputs of the MinMax and Histogram ops", got)
	}
	n0 = ac.count()
	if err := o.Observe(ctx, x, []int{64, 64}); err != nil {
		t.Fatal(err)
	}
	if got := ac.since(n0); large(got) == 0 {
		t.Errorf("observing a host slice allocated %v: want uploads of the data (the test's premise)", got)
	}
}

func TestObserveErrors(t *testing.T) {
	e := newCPU(t, 0)
	ctx := context.Background()
	f, _ := e.UploadFloat32([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	defer f.Release()
	i32, _ := e.Empty(qtensor.Int32, []int{2, 3}, qtensor.Params{})
	defer i32.Release()
	empty, _ := e.Empty(qtensor.Uint8, []int{0, 3}, qtensor.TensorParams(1, 0))
	defer empty.Release()
	rel, _ := e.UploadFloat32([]int{1}, []float32{1})
	rel.Release()
	var rec recorder
	for _, c := range []struct {
		name string
		err  error
		say  string
		call func() error
	}{
		{"nil observer", engine.ErrParams, "nil observer", func() error { return e.Observe(ctx, nil, f) }},
		{"nil tensor", engine.ErrParams, "nil", func() error { return e.Observe(ctx, &rec, nil) }},
		{"released tensor", engine.ErrClosed, "released", func() error { return e.Observe(ctx, &rec, rel) }},
		{"int32 to Observe", engine.ErrParams, "use ObserveAccumulators", func() error { return e.Observe(ctx, &rec, i32) }},
		{"float32 to ObserveAccumulators", engine.ErrParams, "want int32", func() error { return e.ObserveAccumulators(ctx, &rec, f, []float32{1}, 0) }},
		{"2 scales for 3 channels", engine.ErrParams, "2 scales, want 1 or 3", func() error { return e.ObserveAccumulators(ctx, &rec, i32, []float32{1, 2}, -1) }},
		{"axis out of range", engine.ErrParams, "out of range", func() error { return e.ObserveAccumulators(ctx, &rec, i32, []float32{1, 2, 3}, 2) }},
		{"no scales", engine.ErrParams, "0 scales", func() error { return e.ObserveAccumulators(ctx, &rec, i32, nil, -1) }},
		{"scale 0", engine.ErrParams, "scale 0", func() error { return e.ObserveAccumulators(ctx, &rec, i32, []float32{0}, -1) }},
		{"denormal scale", engine.ErrParams, "scale 1", func() error { return e.ObserveAccumulators(ctx, &rec, i32, []float32{1, 1e-40, 1}, -1) }},
	} {
		err := c.call()
		if !errors.Is(err, c.err) || !strings.Contains(fmtErr(err), c.say) {
			t.Errorf("%s: error %v, want one wrapping %v that says %q", c.name, err, c.err, c.say)
		}
	}
	if len(rec.batches) != 0 {
		t.Fatalf("a failed call observed %d batches", len(rec.batches))
	}
	if err := e.Observe(ctx, &rec, empty); err != nil || len(rec.batches) != 1 || len(rec.batches[0]) != 0 || !slices.Equal(rec.shapes[0], []int{0, 3}) {
		t.Errorf("empty tensor: error %v, batches %v %v; want one empty batch of shape [0 3]", err, rec.batches, rec.shapes)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
