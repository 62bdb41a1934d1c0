package opengl

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/qgpu/qgpu/backends/cpu" // the fallback of auto selection
	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
	"github.com/qgpu/qgpu/tests"
)

// newEngine opens an engine on the backend (context path from
// QGPU_GL_CONTEXT), skipping when OpenGL is unavailable unless QGPU_REQUIRE
// names opengl.
func newEngine(t testing.TB, mod func(*engine.Config)) *engine.Engine {
	t.Helper()
	cfg := testConfig()
	if mod != nil {
		mod(&cfg)
	}
	e, err := engine.New(cfg)
	if err != nil {
		if errors.Is(err, engine.ErrUnavailable) && !tests.Required("opengl") {
			t.Skipf("opengl unavailable (set %s=opengl to fail instead): %v", tests.RequireEnv, err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

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

// TestConcurrentRuns submits checked batches from 16 goroutines through
// one engine.
func TestConcurrentRuns(t *testing.T) {
	e := newEngine(t, nil)
	const workers, iters = 16, 6
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

// TestCloseWhileRunning closes the engine while goroutines submit work:
// every call must either succeed with correct results or fail with an
// error wrapping ErrClosed; nothing may crash or hang.
func TestCloseWhileRunning(t *testing.T) {
	e := newEngine(t, nil)
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

// TestBackendAfterClose checks the backend itself (not the engine's
// guard): every use after Close returns ErrClosed, Free and Close are
// safe twice.
func TestBackendAfterClose(t *testing.T) {
	b, err := Open(testConfig().Options)
	if err != nil {
		if errors.Is(err, engine.ErrUnavailable) && !tests.Required("opengl") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
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
	if _, err := b.Alloc(-1); !errors.Is(err, engine.ErrShape) {
		t.Errorf("Alloc(-1) = %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := b.Alloc(4); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Alloc after Close = %v", err)
	}
	if err := buf.Read(0, got); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Read after Close = %v", err)
	}
	if err := b.Run(context.Background(), nil); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Run after Close = %v", err)
	}
	buf.Free()
	buf.Free()
	if err := buf.Write(0, []byte{1}); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Write after Free = %v", err)
	}
}

// TestGCStress runs checked batches while the garbage collector runs in a
// loop, dropping every host slice as soon as it is used.
func TestGCStress(t *testing.T) {
	e := newEngine(t, nil)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	defer func() { close(stop); <-done }()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range 25 {
				j := newJob(uint64(1e6 + g*100 + it))
				if err := j.run(context.Background(), e); err != nil {
					t.Errorf("worker %d iteration %d: %v", g, it, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestAutoSkipsSoftware: auto selection must not pick llvmpipe (software),
// and must say why it fell back to the CPU.
func TestAutoSkipsSoftware(t *testing.T) {
	gl := newEngine(t, nil)
	dev := gl.Backend().Device()
	e, err := engine.New(engine.Config{Backend: "auto", Options: testConfig().Options})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	fb := strings.Join(e.Fallbacks(), "\n")
	if dev.Kind == "software" {
		if got := e.Backend().Name(); got != "cpu" {
			t.Errorf("auto picked %s on a software GL device (%s), want cpu", got, dev.Name)
		}
		if !strings.Contains(fb, "opengl") || !strings.Contains(fb, "software") {
			t.Errorf("Fallbacks do not explain skipping opengl: %q", fb)
		}
	} else if got := e.Backend().Name(); got == "cpu" {
		t.Errorf("auto picked cpu over the hardware GL device %s: %q", dev.Name, fb)
	}
}

// TestDeviceInfo checks the description and the self-test outcomes.
func TestDeviceInfo(t *testing.T) {
	e := newEngine(t, nil)
	d := e.Backend().Device()
	if d.Backend != "opengl" || d.Name == "" {
		t.Errorf("DeviceInfo = %+v", d)
	}
	if sw := softwareRenderer(d.Name); sw != (d.Kind == "software") {
		t.Errorf("renderer %q: Kind %q", d.Name, d.Kind)
	}
	for _, k := range []string{"gl_version", "renderer", "vendor", "glsl_version", "shared_memory", "workgroup_invocations",
		"workgroup_size", "workgroup_count", "ssbo_offset_align", "extensions", "context", "division_selftest",
		"kernel_quantize_division", tests.CapDenormals} {
		if d.Caps[k] == "" {
			t.Errorf("Caps[%q] missing", k)
		}
	}
	if !strings.HasPrefix(d.Caps["division_selftest"], "pass") && d.Caps["kernel_quantize_division"] != "exactdiv" {
		t.Errorf("division self-test %q with kernel %q", d.Caps["division_selftest"], d.Caps["kernel_quantize_division"])
	}
	if strings.Contains(strings.ToLower(d.Name), "llvmpipe") && d.Caps[tests.CapDenormals] != "preserve" {
		t.Errorf("llvmpipe keeps denormals (PLATFORM.md), probe says %q", d.Caps[tests.CapDenormals])
	}
	t.Logf("%s (%s), kind %s, caps %v", d.Name, d.Driver, d.Kind, d.Caps)
}

func TestSoftwareRenderer(t *testing.T) {
	for _, c := range []struct {
		r    string
		want bool
	}{
		{"llvmpipe (LLVM 15.0.6, 256 bits)", true},
		{"softpipe", true},
		{"Software Rasterizer", true},
		{"Mesa DRI swrast", true},
		{"NVIDIA GeForce RTX 3080/PCIe/SSE2", false},
		{"AMD Radeon RX 6800 (navi21, LLVM 15.0.6, DRM 3.49, 6.1.0)", false},
		{"Mesa Intel(R) UHD Graphics 620 (KBL GT2)", false},
	} {
		if got := softwareRenderer(c.r); got != c.want {
			t.Errorf("softwareRenderer(%q) = %v", c.r, got)
		}
	}
}

// TestOpenErrors: bad context names are parameter errors; the GLFW path
// without the glfw build tag is unavailable with the reason.
func TestOpenErrors(t *testing.T) {
	if _, err := Open(engine.Options{Device: "vulkan"}); !errors.Is(err, engine.ErrParams) {
		t.Errorf("Device vulkan: %v, want ErrParams", err)
	}
	if _, err := Open(engine.Options{Device: "egl:nowhere"}); !errors.Is(err, engine.ErrParams) {
		t.Errorf("Device egl:nowhere: %v, want ErrParams", err)
	}
	if !glfwBuilt {
		_, err := Open(engine.Options{Device: "glfw"})
		if !errors.Is(err, engine.ErrUnavailable) || !strings.Contains(err.Error(), "glfw build tag") {
			t.Errorf("Device glfw without the tag: %v", err)
		}
	}
}

// TestDebugAndTiming runs a batch with Options.Debug (GL errors checked
// after every dispatch, KHR_debug on) and timed.
func TestDebugAndTiming(t *testing.T) {
	e := newEngine(t, func(c *engine.Config) { c.Debug = true })
	x, err := e.UploadFloat32([]int{4, 300}, make([]float32, 1200))
	if err != nil {
		t.Fatal(err)
	}
	b := e.NewBatch()
	q, err := b.Quantize(x, qtensor.Uint8, qtensor.TensorParams(0.1, 3), qtensor.RoundONNX)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.MinMax(x, -1); err != nil {
		t.Fatal(err)
	}
	times, err := b.RunTimed(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(times) != 2 {
		t.Fatalf("RunTimed gave %d times for 2 ops", len(times))
	}
	for i, s := range times {
		if !(s > 0 && s < 10) {
			t.Errorf("op %d: GPU time %g s", i, s)
		}
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
}

// TestCancelledContext: a cancelled context stops Run before submission.
func TestCancelledContext(t *testing.T) {
	e := newEngine(t, nil)
	x, err := e.UploadFloat32([]int{8}, make([]float32, 8))
	if err != nil {
		t.Fatal(err)
	}
	b := e.NewBatch()
	if _, err := b.ReLU(must(b.Quantize(x, qtensor.Int8, qtensor.TensorParams(1, 0), qtensor.RoundONNX))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// exactDivName is a test-only registration of the backend with the
// exact-division quantize kernel forced on.
const exactDivName = "opengl-exactdiv-test"

func init() {
	backend.Register(exactDivName, 0, func(o engine.Options) (backend.Backend, error) {
		return open(o, config{forceExactDiv: true})
	})
}

// TestConformanceExactDiv runs the quantize cases with the integer-only
// division kernel, which the self-test selects on drivers whose float
// division is not correctly rounded (llvmpipe's is).
func TestConformanceExactDiv(t *testing.T) {
	e := newEngine(t, func(c *engine.Config) { c.Backend = exactDivName })
	if k := e.Backend().Device().Caps["kernel_quantize_division"]; k != "exactdiv" {
		t.Fatalf("forced exact division: kernel %q", k)
	}
	e.Close()
	tests.RunOptions(t, engine.Config{Backend: exactDivName, Options: testConfig().Options}, tests.Options{
		Require: tests.Required("opengl"),
		Match: func(op, name string) bool {
			return op == "Quantize" || op == "DynamicQuantizeLinear"
		},
	})
}

// TestLoopBudget: on llvmpipe every loop of an invocation stops after
// gpu.LoopBudget iterations in total. A max pool whose invocation needs
// just under that must be exact; one that may need more must be refused
// (ErrUnsupported), not computed wrong.
func TestLoopBudget(t *testing.T) {
	e := newEngine(t, nil)
	ref, err := engine.New(tests.Reference())
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	be := e.Backend().(*Backend)
	pool := func(eng *engine.Engine, kh, kw int) (*engine.Tensor, *engine.Batch, error) {
		// 4 windows of kh x kw cells side by side: one invocation computes
		// all four int8 outputs of its word. The largest values sit in the
		// windows' last cells.
		r := rand.New(rand.NewPCG(uint64(kw), 5))
		w := kw + 3
		h := must(qtensor.New(qtensor.Int8, []int{1, 1, kh, w}, qtensor.TensorParams(1, 0)))
		for i := range kh * w {
			h.Set(i, int32(r.IntN(150)-100))
		}
		for i := range 4 {
			h.Set((kh-1)*w+kw-1+i, int32(124+i))
		}
		x, err := eng.Upload(h)
		if err != nil {
			return nil, nil, err
		}
		b := eng.NewBatch()
		y, err := b.MaxPool(x, engine.PoolOptions{Kernel: []int{kh, kw}})
		return y, b, err
	}
	type win struct{ kh, kw int }
	under, over := win{2, 48000}, win{4, 40000}
	for _, c := range []win{under, over} {
		kh, kw := c.kh, c.kw
		y, b, err := pool(e, kh, kw)
		if err != nil {
			t.Fatal(err)
		}
		op := b.Ops()[0]
		n := gpu.LoopIterations(op)
		if (n <= gpu.LoopBudget) != (c == under) {
			t.Fatalf("window %dx%d: estimate %d against budget %d", kh, kw, n, gpu.LoopBudget)
		}
		err = b.Run(context.Background())
		if c == over && be.loopLimited {
			if !errors.Is(err, engine.ErrUnsupported) {
				t.Errorf("window %dx%d (estimate %d) on %s: Run = %v, want ErrUnsupported", kh, kw, n, be.caps.Renderer, err)
			}
			// What the guard prevents: the same launch run directly.
			if err := be.Run(context.Background(), b.Ops()); err != nil {
				t.Fatal(err)
			}
			got := must(e.Download(y))
			t.Logf("window %dx%d without the guard: maxima %d %d %d %d (want 124 125 126 127)", kh, kw, got.At(0), got.At(1), got.At(2), got.At(3))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ry, rb, err := pool(ref, kh, kw)
		if err != nil {
			t.Fatal(err)
		}
		if err := rb.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, want := must(e.Download(y)), must(ref.Download(ry))
		for i := range 4 {
			if got.At(i) != want.At(i) || want.At(i) != int32(124+i) {
				t.Errorf("window %dx%d (estimate %d): max %d = %d, reference %d, want %d", kh, kw, n, i, got.At(i), want.At(i), 124+i)
			}
		}
	}
}

// TestSelfTestSensitivity: the division self-test's pairs must catch a
// quotient that is not correctly rounded. The torch mode multiplies by the
// float32 reciprocal, which PLATFORM.md measured wrong near ties: on the
// same pairs it must disagree with qtensor.Quantize (and agree with
// qtensor.QuantizeTorch, which checks the harness itself).
func TestSelfTestSensitivity(t *testing.T) {
	e := newEngine(t, nil)
	be := e.Backend().(*Backend)
	xs, ss := divisionPairs()
	inv := make([]float32, len(ss))
	for i, s := range ss {
		inv[i] = 1 / s
	}
	q, err := be.quantizeInt8(xs, inv, 1)
	if err != nil {
		t.Fatal(err)
	}
	onnx, torch := 0, 0
	for i := range xs {
		if q[i] != qtensor.Quantize(xs[i], ss[i], 0, -128, 127) {
			onnx++
		}
		if q[i] != qtensor.QuantizeTorch(xs[i], ss[i], 0, -128, 127) {
			torch++
		}
	}
	if onnx == 0 || torch != 0 {
		t.Errorf("reciprocal quantization of %d near-tie pairs: %d differ from Quantize (want > 0), %d from QuantizeTorch (want 0)", len(xs), onnx, torch)
	}
	t.Logf("reciprocal products change %d of %d near-tie quantizations", onnx, len(xs))
	if bad, err := be.divisionMismatches(xs, ss); err != nil || bad != 0 {
		t.Errorf("division self-test on the open backend: %d mismatches, %v", bad, err)
	}
}
