package engine_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
)

// calibData mixes normal values with the ones reductions must special-case.
func calibData(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 0,
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 1e-40, -1e-40, math.MaxFloat32, -math.MaxFloat32, 0.25, -0.25}
	x := make([]float32, n)
	for i := range x {
		if r.IntN(10) == 0 {
			x[i] = specials[r.IntN(len(specials))]
		} else {
			x[i] = float32(r.NormFloat64() * 3)
		}
	}
	return x
}

// uploadOnly is the CPU backend without its InPlaceReducer, so that
// Engine.Reducer takes the path GPU backends take: upload, then run the
// MinMax and Histogram ops.
type uploadOnly struct{ backend.Backend }

func init() {
	backend.Register("cpu-upload-test", -100, func(o engine.Options) (backend.Backend, error) {
		b, err := cpu.New(o)
		if err != nil {
			return nil, err
		}
		return uploadOnly{b}, nil
	})
}

// TestReducerMatchesHost checks the engine's calib.Reducer against the
// pure-Go calib.HostReducer: identical statistics and counts, on the CPU
// backend's in-place reducer and on the upload path.
func TestReducerMatchesHost(t *testing.T) {
	for _, name := range []string{"cpu", "cpu-upload-test"} {
		t.Run(name, func(t *testing.T) { testReducerMatchesHost(t, name) })
	}
}

func testReducerMatchesHost(t *testing.T, name string) {
	e, err := engine.New(engine.Config{Backend: name})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, inPlace := e.Backend().(backend.InPlaceReducer); inPlace != (name == "cpu") {
		t.Fatalf("name %s: implements InPlaceReducer = %v", name, inPlace)
	}
	ctx := context.Background()
	host := calib.HostReducer{}
	x := calibData(6*7*5, 1)
	for _, ci := range [][2]int{{1, len(x)}, {7, 5}, {6, 35}, {5, 1}} {
		got, err := e.Reducer().MinMax(ctx, x, ci[0], ci[1])
		if err != nil {
			t.Fatal(err)
		}
		want, err := host.MinMax(ctx, x, ci[0], ci[1])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("MinMax channels=%d inner=%d:\n got %+v\nwant %+v", ci[0], ci[1], got, want)
		}
	}
	for _, g := range []calib.Grid{{Exp: -3, Start: -20, Bins: 40}, {Exp: 0, Start: 0, Bins: 8}, {Exp: 4, Start: -1, Bins: 2}, {Exp: -126, Start: -5, Bins: 10}, {Exp: 126, Start: -2, Bins: 4}} {
		got, err := e.Reducer().Histogram(ctx, x, g)
		if err != nil {
			t.Fatal(err)
		}
		want, err := host.Histogram(ctx, x, g)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Histogram %+v:\n got %+v\nwant %+v", g, got, want)
		}
		var total int64 = got.Below + got.Above + got.NaN
		for _, c := range got.Counts {
			total += int64(c)
		}
		if total != int64(len(x)) {
			t.Errorf("Histogram %+v counted %d of %d values", g, total, len(x))
		}
	}
	if _, err := e.Reducer().MinMax(ctx, x, 4, 4); err == nil {
		t.Error("MinMax with a length that is not a multiple of channels*inner: no error")
	}
}

// TestObserverOnEngine builds a calibration histogram with the engine's
// reducer and checks it equals the one built on the host.
func TestObserverOnEngine(t *testing.T) {
	e, err := engine.New(engine.Config{Backend: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	x := calibData(4096, 2)
	a, err := calib.NewHistogram(0, e.Reducer())
	if err != nil {
		t.Fatal(err)
	}
	b, err := calib.NewHistogram(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []*calib.Histogram{a, b} {
		for _, part := range [][]float32{x[:1000], x[1000:3000], x[3000:]} {
			if err := h.Observe(context.Background(), part); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !a.Equal(b) {
		t.Error("histogram observer state differs between the engine and the host reducer")
	}
}

// TestReducerAfterClose checks that both reducer paths fail with ErrClosed
// once the engine is closed.
func TestReducerAfterClose(t *testing.T) {
	for _, name := range []string{"cpu", "cpu-upload-test"} {
		e, err := engine.New(engine.Config{Backend: name})
		if err != nil {
			t.Fatal(err)
		}
		r := e.Reducer()
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		x := calibData(100, 3)
		if _, err := r.MinMax(context.Background(), x, 1, len(x)); !errors.Is(err, engine.ErrClosed) {
			t.Errorf("%s: MinMax after Close: %v, want ErrClosed", name, err)
		}
		if _, err := r.Histogram(context.Background(), x, calib.Grid{Exp: 0, Start: -4, Bins: 8}); !errors.Is(err, engine.ErrClosed) {
			t.Errorf("%s: Histogram after Close: %v, want ErrClosed", name, err)
		}
	}
}
