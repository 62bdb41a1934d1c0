package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

func newCPU(t *testing.T, guard int) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Config{Backend: "cpu", GuardBytes: guard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestAutoSelectsCPU(t *testing.T) {
	for _, name := range []string{"", "auto"} {
		e, err := engine.New(engine.Config{Backend: name})
		if err != nil {
			t.Fatal(err)
		}
		if e.Backend().Name() != "cpu" {
			t.Errorf("auto picked %s; only cpu is linked into this test", e.Backend().Name())
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil { // idempotent
			t.Fatalf("second Close: %v", err)
		}
	}
	if !slices.Contains(engine.Backends(), "cpu") {
		t.Errorf("Backends() = %v", engine.Backends())
	}
	seen := map[string]bool{}
	for _, k := range backend.OpKinds() {
		if n := k.String(); strings.HasPrefix(n, "OpKind(") || seen[n] {
			t.Errorf("op kind %d has no name of its own: %q", k, n)
		}
		seen[k.String()] = true
	}
	if backend.OpGemm.String() != "Gemm" || !strings.HasPrefix(backend.OpKind(99).String(), "OpKind(") {
		t.Errorf("OpKinds %v", backend.OpKinds())
	}
}

// TestGuards writes one byte outside a tensor's data, before and after, and
// checks that CheckGuards reports it (and nothing else).
func TestGuards(t *testing.T) {
	for _, where := range []string{"before", "after", "after-padding"} {
		e := newCPU(t, 100) // rounded up to 256
		x, err := e.UploadFloat32([]int{3}, []float32{1, 2, 3})
		if err != nil {
			t.Fatal(err)
		}
		y, err := e.Empty(qtensor.Uint4, []int{5}, qtensor.TensorParams(1, 0)) // 3 data bytes, 1 padding byte
		if err != nil {
			t.Fatal(err)
		}
		if err := e.CheckGuards(); err != nil {
			t.Fatalf("clean guards: %v", err)
		}
		if y.Desc().Offset() != 256 {
			t.Fatalf("guard offset %d, want 256", y.Desc().Offset())
		}
		off := map[string]int{"before": y.Desc().Offset() - 1, "after": y.Desc().Offset() + y.Bytes() + 1, "after-padding": y.Desc().Offset() + y.Bytes()}[where]
		if err := y.Desc().Buffer().Write(off, []byte{0}); err != nil {
			t.Fatal(err)
		}
		err = e.CheckGuards()
		if err == nil || !strings.Contains(err.Error(), "uint4[5]") || !strings.Contains(err.Error(), where[:5]) || strings.Contains(err.Error(), "float32") {
			t.Errorf("%s: CheckGuards = %v", where, err)
		}
		// A released tensor's guards are no longer checked.
		y.Release()
		if err := e.CheckGuards(); err != nil {
			t.Errorf("%s: after release: %v", where, err)
		}
		x.Release()
	}
	// Without GuardBytes the check is a no-op.
	e := newCPU(t, 0)
	y, _ := e.Empty(qtensor.Int8, []int{4}, qtensor.TensorParams(1, 0))
	if y.Desc().Offset() != 0 {
		t.Errorf("offset %d without guards", y.Desc().Offset())
	}
	if err := e.CheckGuards(); err != nil {
		t.Error(err)
	}
}

// workload records a small mixed batch (Quantize, Gemm, Conv, Requantize,
// Pool, MinMax, Histogram) on e from seed and returns the downloaded
// outputs' bytes.
func workload(ctx context.Context, e *engine.Engine, shared *engine.Tensor, seed uint64) ([][]byte, error) {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, 6*16)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 3)
	}
	xt, err := e.UploadFloat32([]int{6, 16}, x)
	if err != nil {
		return nil, err
	}
	defer xt.Release()
	var outs []*engine.Tensor
	defer func() {
		for _, t := range outs {
			t.Release()
		}
	}()
	err = e.Do(ctx, func(b *engine.Batch) error {
		add := func(t *engine.Tensor, err error) (*engine.Tensor, error) {
			if err == nil {
				outs = append(outs, t)
			}
			return t, err
		}
		q, err := add(b.Quantize(xt, qtensor.Uint8, qtensor.TensorParams(0.05, 128), qtensor.RoundONNX))
		if err != nil {
			return err
		}
		acc, err := add(b.Gemm(q, shared, engine.GemmOptions{}))
		if err != nil {
			return err
		}
		if _, err := add(b.Requantize(acc, []float32{0.001}, -1, qtensor.Int8, 1, 0, true)); err != nil {
			return err
		}
		if _, err := add(b.MinMax(xt, 0)); err != nil {
			return err
		}
		if _, err := add(b.Histogram(xt, 32, -5, 5)); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var res [][]byte
	for _, t := range outs {
		h, err := e.Download(t)
		if err != nil {
			return nil, err
		}
		res = append(res, h.Data)
	}
	// A conv and a pool in a second batch, on their own tensors.
	h, _ := qtensor.New(qtensor.Uint8, []int{1, 2, 6, 6}, qtensor.TensorParams(0.1, 3))
	for i := range h.Data {
		h.Data[i] = byte(r.IntN(256))
	}
	ct, err := e.Upload(h)
	if err != nil {
		return nil, err
	}
	defer ct.Release()
	err = e.Do(ctx, func(b *engine.Batch) error {
		w, err := e.Empty(qtensor.Int8, []int{3, 2, 3, 3}, qtensor.TensorParams(0.5, 0))
		if err != nil {
			return err
		}
		outs = append(outs, w)
		y, err := b.Conv(ct, w, engine.ConvOptions{Pads: []int{1, 1, 1, 1}, Strides: []int{2, 1}})
		if err != nil {
			return err
		}
		outs = append(outs, y)
		p, err := b.AvgPool(ct, engine.PoolOptions{Kernel: []int{3, 3}, Pads: []int{1, 1, 1, 1}})
		if err != nil {
			return err
		}
		outs = append(outs, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, t := range outs[len(outs)-2:] {
		h, err := e.Download(t)
		if err != nil {
			return nil, err
		}
		res = append(res, h.Data)
	}
	return res, nil
}

// TestConcurrentUse runs many goroutines recording, running and
// downloading on one engine (sharing one read-only input) and checks every
// result against a serial run. Run it with -race.
func TestConcurrentUse(t *testing.T) {
	e := newCPU(t, 256)
	h, _ := qtensor.New(qtensor.Int8, []int{16, 8}, qtensor.TensorParams(0.02, 0))
	for i := range h.Data {
		h.Data[i] = byte(i * 37)
	}
	shared, err := e.Upload(h)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const workers, iters, seeds = 8, 6, 4
	want := make([][][]byte, seeds)
	for s := range want {
		if want[s], err = workload(ctx, e, shared, uint64(s)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*iters)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range iters {
				s := (w + i) % seeds
				got, err := workload(ctx, e, shared, uint64(s))
				if err != nil {
					errs <- err
					return
				}
				for j := range got {
					if !slices.Equal(got[j], want[s][j]) {
						errs <- fmt.Errorf("worker %d iteration %d: output %d differs from the serial run", w, i, j)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := e.CheckGuards(); err != nil {
		t.Error(err)
	}
}

// TestCheckGuardsWhileReleasing runs CheckGuards while other goroutines
// make and release tensors: Release must not free a buffer CheckGuards is
// reading (it once did: "cpu: buffer closed", and a data race under -race).
func TestCheckGuardsWhileReleasing(t *testing.T) {
	e := newCPU(t, 256)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ring [64]*engine.Tensor
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if old := ring[i%len(ring)]; old != nil {
					old.Release()
				}
				x, err := e.Empty(qtensor.Int8, []int{1 << 12}, qtensor.TensorParams(1, 0))
				if err != nil {
					t.Error(err)
					return
				}
				ring[i%len(ring)] = x
			}
		}()
	}
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
		if err := e.CheckGuards(); err != nil {
			t.Error(err)
			break
		}
	}
	close(stop)
	wg.Wait()
}

// TestCloseWhileRunning closes the engine while goroutines are using it:
// every call either succeeds or returns ErrClosed; nothing panics.
func TestCloseWhileRunning(t *testing.T) {
	e, err := engine.New(engine.Config{Backend: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := qtensor.New(qtensor.Int8, []int{16, 8}, qtensor.TensorParams(0.02, 0))
	shared, err := e.Upload(h)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					errs <- fmt.Errorf("worker %d panicked: %v", w, v)
				}
			}()
			for range 50 {
				if _, err := workload(context.Background(), e, shared, uint64(w)); err != nil {
					if !errors.Is(err, engine.ErrClosed) {
						errs <- fmt.Errorf("worker %d: %v, want nil or ErrClosed", w, err)
					}
					return
				}
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestContextCancelled(t *testing.T) {
	e := newCPU(t, 0)
	x, err := e.UploadFloat32([]int{4}, []float32{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := e.NewBatch()
	if _, err := b.Quantize(x, qtensor.Int8, qtensor.TensorParams(1, 0), qtensor.RoundONNX); err != nil {
		t.Fatal(err)
	}
	if err := b.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context: %v", err)
	}
	if _, err := b.RunTimed(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("RunTimed with a cancelled context: %v", err)
	}
	if _, err := e.MinMax(ctx, x, -1); !errors.Is(err, context.Canceled) {
		t.Errorf("MinMax: %v", err)
	}
	if _, err := e.Histogram(ctx, x, 4, 0, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Histogram: %v", err)
	}
	if _, _, _, err := e.DynamicQuantizeLinear(ctx, x); !errors.Is(err, context.Canceled) {
		t.Errorf("DynamicQuantizeLinear: %v", err)
	}
	dl, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	if err := e.Do(dl, func(b *engine.Batch) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Do with an expired deadline: %v", err)
	}
}

// tripCtx is a context that turns cancelled at its trip-th Err call (never
// when trip is 0) and counts the calls, so a test can cancel an op at each
// of the points where it checks, with no dependence on timing.
type tripCtx struct {
	context.Context
	mu    sync.Mutex
	trip  int
	calls int
	done  chan struct{}
}

func newTripCtx(trip int) *tripCtx {
	return &tripCtx{Context: context.Background(), trip: trip, done: make(chan struct{})}
}

func (c *tripCtx) Done() <-chan struct{} { return c.done }

func (c *tripCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.trip > 0 && c.calls >= c.trip {
		if c.calls == c.trip {
			close(c.done)
		}
		return context.Canceled
	}
	return nil
}

// TestContextCancelledMidway cancels long ops while they run: a batched
// GEMM and a grouped convolution must check the context inside the op, not
// only before it, and stop with the context's error at whichever check
// sees it cancelled. An uncancelled run counts the checks first; each
// cancelled run then trips at one of them. (An earlier version cancelled
// after 20 ms of wall time and failed on CI once the GEMM got faster.)
func TestContextCancelledMidway(t *testing.T) {
	e := newCPU(t, 0)
	a, err := e.Empty(qtensor.Uint8, []int{8, 64, 256}, qtensor.TensorParams(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	w, err := e.Empty(qtensor.Int8, []int{8, 256, 64}, qtensor.TensorParams(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	x, err := e.Empty(qtensor.Uint8, []int{4, 16, 12, 12}, qtensor.TensorParams(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	k, err := e.Empty(qtensor.Int8, []int{16, 4, 3, 3}, qtensor.TensorParams(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		inside int // the fewest checks inside the op: one per batch or (image, group)
		build  func(b *engine.Batch) error
	}{
		{"gemm", 8, func(b *engine.Batch) error { _, err := b.Gemm(a, w, engine.GemmOptions{}); return err }},
		{"conv", 4 * 4, func(b *engine.Batch) error {
			_, err := b.Conv(x, k, engine.ConvOptions{Pads: []int{1, 1, 1, 1}, Group: 4})
			return err
		}},
	} {
		run := func(ctx context.Context) error {
			b := e.NewBatch()
			if err := c.build(b); err != nil {
				t.Fatal(err)
			}
			defer b.Release()
			return b.Run(ctx)
		}
		count := newTripCtx(0)
		if err := run(count); err != nil {
			t.Fatalf("%s: uncancelled Run: %v", c.name, err)
		}
		// Before the op: the engine's check and the backend's, at least.
		before := 2
		if count.calls < before+c.inside {
			t.Fatalf("%s: %d context checks, want at least %d (%d inside the op)", c.name, count.calls, before+c.inside, c.inside)
		}
		for trip := 1; trip <= count.calls; trip++ {
			ctx := newTripCtx(trip)
			if err := run(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("%s: cancelled at check %d of %d: Run = %v, want context.Canceled", c.name, trip, count.calls, err)
			}
			if ctx.calls != trip {
				t.Errorf("%s: cancelled at check %d: %d checks, want the op to stop at the first cancelled one", c.name, trip, ctx.calls)
			}
		}
	}
}
