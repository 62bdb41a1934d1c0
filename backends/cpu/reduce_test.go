package cpu_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/engine"
)

// reduceData mixes normal values with the ones reductions must
// special-case; with runs set, long stretches repeat one value (the
// sub-histogram path of the histogram kernel).
func reduceData(n int, seed uint64, runs bool) []float32 {
	r := rand.New(rand.NewPCG(seed, 9))
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 0,
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 1e-40, -1e-40, math.MaxFloat32, -math.MaxFloat32, 0.25, -0.25, 1 << 62, -1 << 62}
	x := make([]float32, n)
	for i := range x {
		switch {
		case runs && (i/1000)%2 == 0:
			x[i] = 0
		case r.IntN(10) == 0:
			x[i] = specials[r.IntN(len(specials))]
		default:
			x[i] = float32(r.NormFloat64() * 3)
		}
	}
	return x
}

// TestInPlaceReducerMatchesHost checks the CPU backend's in-place reducer
// (the one Engine.Reducer returns on this backend) against the pure-Go
// calib.HostReducer under every instruction set: identical statistics and
// counts, for inputs split over both threads and per-channel layouts on
// both sides of the 64-value run the vector path needs.
func TestInPlaceReducerMatchesHost(t *testing.T) {
	ctx := context.Background()
	host := calib.HostReducer{Workers: 1}
	forEachCPUISA(t, []cpu.ISA{cpu.ISAAVX512, cpu.ISAGeneric}, func(t *testing.T, isa cpu.ISA) {
		b, err := cpu.New(engine.Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		red := b.InPlaceReducer()
		for _, tc := range []struct {
			n    int
			runs bool
			ci   [][2]int // channels, inner
		}{
			{1, false, [][2]int{{1, 1}}},
			{37, false, [][2]int{{1, 37}}},
			{6 * 70 * 5, false, [][2]int{{1, 6 * 70 * 5}, {6, 70}, {3, 140}, {7, 5}, {5, 1}}},
			{300_000, false, [][2]int{{1, 300_000}, {3, 100}}},
			{300_000, true, [][2]int{{1, 300_000}}},
		} {
			x := reduceData(tc.n, uint64(tc.n), tc.runs)
			for _, ci := range tc.ci {
				got, err := red.MinMax(ctx, x, ci[0], ci[1])
				if err != nil {
					t.Fatal(err)
				}
				want, err := host.MinMax(ctx, x, ci[0], ci[1])
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("n=%d MinMax channels=%d inner=%d:\n got %+v\nwant %+v", tc.n, ci[0], ci[1], got, want)
				}
			}
			for _, g := range []calib.Grid{{Exp: -3, Start: -20, Bins: 40}, {Exp: -8, Start: -1024, Bins: 2048}, {Exp: 0, Start: 0, Bins: 8},
				{Exp: 4, Start: -1, Bins: 2}, {Exp: -126, Start: -5, Bins: 10}, {Exp: 126, Start: -2, Bins: 4},
				{Exp: 0, Start: 1 << 61, Bins: 3}, {Exp: 0, Start: -1 << 61, Bins: 3}, {Exp: 0, Start: 1<<24 - 2, Bins: 5}} {
				got, err := red.Histogram(ctx, x, g)
				if err != nil {
					t.Fatal(err)
				}
				want, err := host.Histogram(ctx, x, g)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("n=%d Histogram %+v:\n got %+v\nwant %+v", tc.n, g, got, want)
				}
			}
		}
	})
}

// TestInPlaceReducerErrors checks that bad arguments and a cancelled
// context are errors, as on the host reducer.
func TestInPlaceReducerErrors(t *testing.T) {
	b, err := cpu.New(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	red := b.InPlaceReducer()
	x := make([]float32, 100)
	ctx := context.Background()
	if _, err := red.MinMax(ctx, x, 3, 64); err == nil {
		t.Error("MinMax of 100 values as 3x64: no error")
	}
	if _, err := red.MinMax(ctx, x, 0, 100); err == nil {
		t.Error("MinMax with 0 channels: no error")
	}
	if _, err := red.Histogram(ctx, x, calib.Grid{Exp: 0, Bins: 0}); err == nil {
		t.Error("Histogram of 0 bins: no error")
	}
	if _, err := red.Histogram(ctx, x, calib.Grid{Exp: 127, Bins: 4}); err == nil {
		t.Error("Histogram with grid exponent 127: no error")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := red.MinMax(cancelled, x, 1, 100); !errors.Is(err, context.Canceled) {
		t.Errorf("MinMax with a cancelled context: %v", err)
	}
	if _, err := red.Histogram(cancelled, x, calib.Grid{Exp: 0, Bins: 4}); !errors.Is(err, context.Canceled) {
		t.Errorf("Histogram with a cancelled context: %v", err)
	}
}

// BenchmarkObserve64M is issue 5's calibration pass: a 2048-bin histogram
// observer takes 64M normal floats (one min/max pass, one counting pass)
// through the engine's reducer on the CPU backend, with 2 threads and 1,
// and through the pure-Go calib.HostReducer. The copy sub-benchmark
// copies the same 256 MiB (MB/s counts the bytes copied, as the observe
// cases count the bytes read), so the ratios compare in one run.
func BenchmarkObserve64M(b *testing.B) {
	x := make([]float32, 64<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	observe := func(b *testing.B, red calib.Reducer) {
		b.SetBytes(int64(len(x)) * 4)
		for b.Loop() {
			h, err := calib.NewHistogram(2048, red)
			if err != nil {
				b.Fatal(err)
			}
			if err := h.Observe(context.Background(), x); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, threads := range []int{2, 1} {
		b.Run(fmt.Sprintf("engine-cpu-%dthreads", threads), func(b *testing.B) {
			e, err := engine.New(engine.Config{Backend: "cpu", Threads: threads})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			observe(b, e.Reducer())
		})
	}
	b.Run("host-reducer", func(b *testing.B) { observe(b, calib.HostReducer{}) })
	b.Run("copy", func(b *testing.B) {
		dst := make([]float32, len(x))
		copy(dst, x) // fault the pages in outside the timing
		b.SetBytes(int64(len(x)) * 4)
		for b.Loop() {
			copy(dst, x)
		}
	})
}
