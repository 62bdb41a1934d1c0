package gputest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
	"github.com/qgpu/qgpu/tests"
)

// job is one goroutine's worth of checked work: quantize x to int8, then a
// GEMM of the quantized x (M x K) with w (K x N, int8, zero point 0), in
// one batch (the GEMM reads the quantize's output: a barrier inside the
// submission).
type job struct {
	M, K, N int
	x       []float32
	scale   float32
	zp      int32
	w       []int8
	wantQ   []int32 // from qtensor.Quantize
	wantAcc []int32 // sum_k (q - zp) * w, computed here
}

func newJob(seed uint64) job {
	r := rand.New(rand.NewPCG(seed, 17))
	j := job{M: 1 + r.IntN(9), K: 1 + r.IntN(70), N: 1 + r.IntN(11), scale: 0.01 + r.Float32(), zp: int32(r.IntN(21) - 10)}
	j.x = make([]float32, j.M*j.K)
	for i := range j.x {
		j.x[i] = float32(r.NormFloat64() * 60 * float64(j.scale))
	}
	j.w = make([]int8, j.K*j.N)
	for i := range j.w {
		j.w[i] = int8(r.IntN(256) - 128)
	}
	j.wantQ = make([]int32, len(j.x))
	for i, v := range j.x {
		j.wantQ[i] = qtensor.Quantize(v, j.scale, j.zp, -128, 127)
	}
	j.wantAcc = make([]int32, j.M*j.N)
	for m := range j.M {
		for n := range j.N {
			var acc int32
			for k := range j.K {
				acc += (j.wantQ[m*j.K+k] - j.zp) * int32(j.w[k*j.N+n])
			}
			j.wantAcc[m*j.N+n] = acc
		}
	}
	return j
}

// run executes the job on e and compares both outputs.
func (j *job) run(ctx context.Context, e *engine.Engine) error {
	x, err := e.UploadFloat32([]int{j.M, j.K}, j.x)
	if err != nil {
		return err
	}
	defer x.Release()
	wh, err := qtensor.New(qtensor.Int8, []int{j.K, j.N}, qtensor.TensorParams(0.5, 0))
	if err != nil {
		return err
	}
	for i, v := range j.w {
		wh.Set(i, int32(v))
	}
	w, err := e.Upload(wh)
	if err != nil {
		return err
	}
	defer w.Release()
	b := e.NewBatch()
	q, err := b.Quantize(x, qtensor.Int8, qtensor.TensorParams(j.scale, j.zp), qtensor.RoundONNX)
	if err != nil {
		return err
	}
	defer q.Release()
	acc, err := b.Gemm(q, w, engine.GemmOptions{})
	if err != nil {
		return err
	}
	defer acc.Release()
	if err := b.Run(ctx); err != nil {
		return err
	}
	qh, err := e.Download(q)
	if err != nil {
		return err
	}
	ah, err := e.Download(acc)
	if err != nil {
		return err
	}
	for i, want := range j.wantQ {
		if got := qh.At(i); got != want {
			return fmt.Errorf("quantize element %d: got %d, want %d", i, got, want)
		}
	}
	for i, want := range j.wantAcc {
		if got := ah.At(i); got != want {
			return fmt.Errorf("gemm %dx%dx%d element %d: got %d, want %d", j.M, j.K, j.N, i, got, want)
		}
	}
	return nil
}

// concurrent submits checked batches from 16 goroutines through one
// engine (run it with -race).
func concurrent(t *testing.T, tg *Target) {
	e := tg.Engine(t)
	const workers, iters = 16, 12
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range iters {
				j := newJob(uint64(g*1000 + it))
				if err := j.run(context.Background(), e); err != nil {
					errs <- fmt.Errorf("worker %d iteration %d: %w", g, it, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// closeWhileRunning closes the engine while goroutines submit work: every
// call must either succeed with correct results or fail with an error
// wrapping ErrClosed; nothing may crash or hang.
func closeWhileRunning(t *testing.T, tg *Target) {
	e := tg.Engine(t)
	var wg sync.WaitGroup
	var ok, closed atomic.Int64
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := 0; ; it++ {
				j := newJob(uint64(g*7919 + it))
				err := j.run(context.Background(), e)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, engine.ErrClosed):
					closed.Add(1)
					return
				default:
					errs <- fmt.Errorf("worker %d: %w", g, err)
					return
				}
			}
		}()
	}
	time.Sleep(150 * time.Millisecond)
	if err := e.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if closed.Load() != 8 {
		t.Errorf("%d of 8 workers saw ErrClosed", closed.Load())
	}
	t.Logf("%d batches finished before Close", ok.Load())
}

// afterClose checks the backend itself (not the engine's guard): buffer
// bounds, a reused buffer coming back zeroed, and every use after Close or
// Free returning ErrClosed; Free and Close are safe twice.
func afterClose(t *testing.T, tg *Target) {
	b := tg.open(t, false, true)
	buf, err := b.Alloc(10)
	if err != nil {
		t.Fatal(err)
	}
	if buf.Size() != 10 {
		t.Errorf("Size = %d, want 10", buf.Size())
	}
	if err := buf.Write(0, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 3)
	if err := buf.Read(7, got); err != nil || string(got) != "\x08\x09\x0a" {
		t.Errorf("Read = %v, %v", got, err)
	}
	for _, c := range []struct{ off, n int }{{-1, 1}, {8, 3}, {11, 0}} {
		if err := buf.Read(c.off, make([]byte, c.n)); !errors.Is(err, engine.ErrShape) {
			t.Errorf("Read(%d, %d bytes) = %v, want ErrShape", c.off, c.n, err)
		}
	}
	if err := buf.Write(9, []byte{1, 2}); !errors.Is(err, engine.ErrShape) {
		t.Errorf("write past the end: %v, want ErrShape", err)
	}
	if _, err := b.Alloc(-1); !errors.Is(err, engine.ErrShape) {
		t.Errorf("Alloc(-1) = %v, want ErrShape", err)
	}
	if _, err := b.Alloc(gpu.MaxAlloc + 1); !errors.Is(err, engine.ErrOutOfMemory) {
		t.Errorf("Alloc(MaxAlloc+1) = %v, want ErrOutOfMemory", err)
	}
	buf.Free()
	buf.Free()
	if err := buf.Read(0, got); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Read after Free = %v, want ErrClosed", err)
	}
	if err := buf.Write(0, []byte{1}); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Write after Free = %v, want ErrClosed", err)
	}
	// A reused buffer (the pool hands back the one just freed) is zeroed.
	buf2, err := b.Alloc(10)
	if err != nil {
		t.Fatal(err)
	}
	if err := buf2.Read(0, got); err != nil || string(got) != "\x00\x00\x00" {
		t.Errorf("reused buffer not zeroed: %v, %v", got, err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := b.Alloc(4); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Alloc after Close = %v, want ErrClosed", err)
	}
	if err := buf2.Read(0, got); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Read after Close = %v, want ErrClosed", err)
	}
	if err := b.Run(context.Background(), nil); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
	if err := b.Supports(nil); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Supports after Close = %v, want ErrClosed", err)
	}
	buf2.Free()
	buf2.Free()
}

// gcStress runs checked batches from 4 goroutines while the garbage
// collector runs in a loop, dropping every host slice as soon as it is
// used.
func gcStress(t *testing.T, tg *Target) {
	e := tg.Engine(t)
	n := 100
	if testing.Short() {
		n = 25
	}
	defer CollectGarbage()()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range n {
				j := newJob(uint64(1e6 + g*1000 + it))
				if err := j.run(context.Background(), e); err != nil {
					t.Errorf("worker %d iteration %d: %v", g, it, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// cancel: a cancelled context stops Run before submission, and runs
// cancelled at random moments leave the backend usable and correct.
func cancel(t *testing.T, tg *Target) {
	e := tg.Engine(t)
	ctx, stop := context.WithCancel(context.Background())
	stop()
	j := newJob(5)
	if err := j.run(ctx, e); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context: %v, want context.Canceled", err)
	}
	for i := range 20 {
		ctx, stop := context.WithTimeout(context.Background(), time.Duration(i*50)*time.Microsecond)
		j := newJob(uint64(i))
		err := j.run(ctx, e)
		stop()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("cancelled run %d: %v", i, err)
		}
	}
	if err := j.run(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// memoryFlat runs 10,000 ops and checks that RSS stays flat after a
// warm-up. Slack: 16 MiB, for the Go heap's pacing (the GC target moves
// with live data) and the drivers' internal caches; a leak of one 4 KiB
// buffer or a descriptor pool per op would exceed it by far (40+ MiB).
func memoryFlat(t *testing.T, tg *Target) {
	if testing.Short() {
		t.Skip("long")
	}
	if rssBytes() < 0 {
		t.Skip("no /proc/self/statm")
	}
	e := tg.Engine(t)
	j := newJob(6)
	ctx := context.Background()
	for range 500 {
		if err := j.run(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	before := rssBytes()
	for i := range 5000 { // 2 ops each: 10,000 ops
		if err := j.run(ctx, e); err != nil {
			t.Fatalf("iteration %d: %v", i, err)
		}
	}
	runtime.GC()
	after := rssBytes()
	const slack = 16 << 20
	t.Logf("RSS %d KiB -> %d KiB over 10,000 ops", before>>10, after>>10)
	if after-before > slack {
		t.Errorf("RSS grew by %d KiB over 10,000 ops (slack %d KiB)", (after-before)>>10, slack>>10)
	}
}

// CollectGarbage runs the garbage collector in a loop until the returned
// function is called (for stress tests: finalizers and freed memory
// while device calls run).
func CollectGarbage() (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			default:
				runtime.GC()
			}
		}
	}()
	return func() { close(quit); <-done }
}

// Timed checks RunTimed returns one plausible device time per op, and the
// ops' results (also for a variant of a target, such as a debug context).
func Timed(t *testing.T, tg Target) { timed(t, &tg) }

// timed checks RunTimed returns one plausible device time per op.
func timed(t *testing.T, tg *Target) {
	e := tg.Engine(t)
	x, err := e.UploadFloat32([]int{1 << 16}, make([]float32, 1<<16))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Release()
	b := e.NewBatch()
	q, err := b.Quantize(x, qtensor.Int8, qtensor.TensorParams(0.5, 3), qtensor.RoundONNX)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Release()
	mm, err := b.MinMax(x, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer mm.Release()
	ts, err := b.RunTimed(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 {
		t.Fatalf("%d times for 2 ops", len(ts))
	}
	for i, v := range ts {
		if v < 0 || v > 10 {
			t.Errorf("op %d: %g s", i, v)
		}
	}
	if e.Backend().Device().Caps["timestamps"] == "yes" && (ts[0] == 0 || ts[1] == 0) {
		t.Errorf("timestamps supported but an op took 0 s: %v", ts)
	}
	qh, err := e.Download(q)
	if err != nil {
		t.Fatal(err)
	}
	for i := range qh.Data {
		if qh.At(i) != 3 {
			t.Fatalf("element %d = %d, want the zero point 3", i, qh.At(i))
		}
	}
	t.Logf("quantize 64K: %.1f us, minmax 64K: %.1f us", ts[0]*1e6, ts[1]*1e6)
}

// loopBudget: on llvmpipe every loop of an invocation stops after
// gpu.LoopBudget iterations in total. A max pool whose invocation needs
// just under that must be exact; one that may need more must be refused
// (ErrUnsupported, by Supports and by Run), not computed wrong.
func loopBudget(t *testing.T, tg *Target) {
	e := tg.Engine(t)
	limited := loopLimited(e)
	for _, c := range []struct {
		kh, kw int
		over   bool
	}{{2, 48000, false}, {4, 40000, true}} {
		// 4 windows of kh x kw cells side by side: one invocation
		// computes all four int8 outputs of its word. The largest values
		// sit in the windows' last cells.
		r := rand.New(rand.NewPCG(uint64(c.kw), 5))
		w := c.kw + 3
		h, err := qtensor.New(qtensor.Int8, []int{1, 1, c.kh, w}, qtensor.TensorParams(1, 0))
		if err != nil {
			t.Fatal(err)
		}
		for i := range c.kh * w {
			h.Set(i, int32(r.IntN(150)-100))
		}
		for i := range 4 {
			h.Set((c.kh-1)*w+c.kw-1+i, int32(124+i))
		}
		x, err := e.Upload(h)
		if err != nil {
			t.Fatal(err)
		}
		b := e.NewBatch()
		y, err := b.MaxPool(x, engine.PoolOptions{Kernel: []int{c.kh, c.kw}})
		if err != nil {
			t.Fatal(err)
		}
		n := gpu.LoopIterations(b.Ops()[0])
		if (n > gpu.LoopBudget) != c.over {
			t.Fatalf("window %dx%d: estimate %d against budget %d", c.kh, c.kw, n, gpu.LoopBudget)
		}
		err = b.Run(context.Background())
		if c.over && limited {
			if !errors.Is(err, engine.ErrUnsupported) || !errors.Is(e.Supports(b), engine.ErrUnsupported) {
				t.Errorf("window %dx%d (estimate %d) on %s: Run = %v, want ErrUnsupported", c.kh, c.kw, n, e.Backend().Device().Name, err)
			}
			t.Logf("refused: %v", err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Download(y)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 4 { // window i ends at the cell holding 124+i
			if v := got.At(i); v != int32(124+i) {
				t.Errorf("window %dx%d (estimate %d): max %d = %d, want %d", c.kh, c.kw, n, i, v, 124+i)
			}
		}
	}
}

// deviceInfo checks the capabilities every GPU backend reports and the
// self-test outcomes where they are known: SwiftShader flushes denormals,
// llvmpipe keeps them.
func deviceInfo(t *testing.T, tg *Target) {
	e := tg.Engine(t)
	d := e.Backend().Device()
	t.Logf("%s | %s | kind %s", d.Name, d.Driver, d.Kind)
	if d.Backend != tg.name() || d.Name == "" || d.Kind == "" {
		t.Errorf("DeviceInfo = %+v", d)
	}
	for _, k := range []string{tests.CapDenormals, "kernel_quantize_division", "kernel_gemm", "selftest_division", "loop_budget", "timestamps",
		"shared_memory", "workgroup_invocations", "workgroup_size", "workgroup_count", "storage_offset_align", "max_storage_binding"} {
		if d.Caps[k] == "" {
			t.Errorf("Caps[%q] missing", k)
		}
		t.Logf("  %s = %s", k, d.Caps[k])
	}
	div, sel := d.Caps["kernel_quantize_division"], d.Caps["selftest_division"]
	if !(div == "plain" && strings.HasPrefix(sel, "plain: 0 of")) && !(div == "exactdiv" && strings.HasSuffix(sel, "exactdiv: 0 of 4096 pairs differ")) {
		t.Errorf("kernel_quantize_division %q with self-test %q", div, sel)
	}
	switch {
	case deviceMatches(d, "swiftshader"):
		if d.Kind != "software" || d.Caps[tests.CapDenormals] != "flush" {
			t.Errorf("SwiftShader: kind %q, denormals %q; want software, flush", d.Kind, d.Caps[tests.CapDenormals])
		}
	case deviceMatches(d, "llvmpipe"):
		if d.Kind != "software" || d.Caps[tests.CapDenormals] != "preserve" || !loopLimited(e) {
			t.Errorf("llvmpipe: kind %q, denormals %q, loop budget %q; want software, preserve, limited", d.Kind, d.Caps[tests.CapDenormals], d.Caps["loop_budget"])
		}
	}
	d.Caps[tests.CapDenormals] = "changed"
	if e.Backend().Device().Caps[tests.CapDenormals] == "changed" {
		t.Error("Device returns the backend's own Caps map")
	}
}

// autoSkipsSoftware: auto selection must not pick a software device, and
// must say why it fell back to the CPU.
func autoSkipsSoftware(t *testing.T, tg *Target) {
	dev := tg.Engine(t).Backend().Device()
	c := tg.Config
	c.Backend, c.GuardBytes = "auto", 0
	e, err := engine.New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	fb := strings.Join(e.Fallbacks(), "\n")
	if dev.Kind != "software" {
		if got := e.Backend().Name(); got == "cpu" {
			t.Errorf("auto picked cpu over the hardware device %s (%s): %q", dev.Name, dev.Kind, fb)
		}
		return
	}
	if got := e.Backend().Name(); got == tg.name() {
		t.Errorf("auto picked %s on a software device (%s)", got, dev.Name)
	}
	if !strings.Contains(fb, tg.name()) || !strings.Contains(fb, "software") {
		t.Errorf("Fallbacks do not explain skipping %s: %q", tg.name(), fb)
	}
}
