package vulkan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
	"github.com/qgpu/qgpu/tests"
)

// exactDivName is a test-only registration of the backend with the
// integer-only quantize division forced on, so the conformance cases run
// through it on every device.
const exactDivName = "vulkan-exactdiv-test"

// gemmDotName forces the integer-dot-product GEMM variant.
const gemmDotName = "vulkan-gemmdot-test"

func init() {
	backend.Register(exactDivName, 0, func(o engine.Options) (backend.Backend, error) {
		return open(o, config{forceExactDiv: true})
	})
	backend.Register(gemmDotName, 0, func(o engine.Options) (backend.Backend, error) {
		return open(o, config{forceGemm: "gemm_dot"})
	})
}

// skipUnavailable skips (or fails under QGPU_REQUIRE=vulkan) when err says
// Vulkan cannot run here.
func skipUnavailable(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, engine.ErrUnavailable) && !tests.Required("vulkan") {
		t.Skipf("vulkan unavailable (set QGPU_REQUIRE=vulkan to fail): %v", err)
	}
	t.Fatal(err)
}

func openTest(t testing.TB, cfg config) *Backend {
	t.Helper()
	b, err := open(engine.Options{}, cfg)
	skipUnavailable(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

func newEngine(t testing.TB) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Config{Backend: "vulkan"})
	skipUnavailable(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// divPairs returns adversarial and random (x, s) pairs for the division
// emulation: quotients near the midpoints between floats, quotients with
// denormal results and exact ties there, overflow, zeros, infinities, NaN,
// denormal operands, and random bit patterns.
func divPairs(seed uint64, n int) (xs, ss []float32) {
	r := rand.New(rand.NewPCG(seed, 7))
	inf := float32(math.Inf(1))
	randNormal := func(lo, hi int) float32 {
		return float32(math.Ldexp(1+r.Float64(), lo+r.IntN(hi-lo+1)))
	}
	specials := []float32{0, float32(math.Copysign(0, -1)), inf, -inf, float32(math.NaN()), 0x1p-149, -0x1p-149, 0x1.fffffcp-127, 0x1p-126, math.MaxFloat32, -math.MaxFloat32, 1, 3, 0.1}
	for len(xs) < n {
		var x, s float32
		switch r.IntN(8) {
		case 0: // random bit patterns
			x, s = math.Float32frombits(r.Uint32()), math.Float32frombits(r.Uint32())
		case 1: // specials against anything
			x, s = specials[r.IntN(len(specials))], math.Float32frombits(r.Uint32())
			if r.IntN(2) == 0 {
				x, s = s, x
			}
		case 2, 3: // quotient near the midpoint between q and its successor
			q := randNormal(-100, 100)
			s = randNormal(-60, 60)
			mid := (float64(q) + float64(math.Nextafter32(q, inf))) / 2
			x = float32(mid * float64(s))
			if d := r.IntN(5) - 2; d != 0 {
				for range d * d {
					x = math.Nextafter32(x, float32(d)*inf)
				}
			}
		case 4: // denormal results, with exact ties for power-of-two divisors
			x = float32(math.Ldexp(float64(1+r.IntN(1<<12)), -140+r.IntN(20)))
			s = float32(math.Ldexp(1, r.IntN(30)))
			if r.IntN(2) == 0 {
				s = randNormal(0, 30)
			}
		case 5: // overflow edge
			x = randNormal(100, 127)
			s = randNormal(-30, 0)
		case 6: // denormal operands
			x = math.Float32frombits(r.Uint32() & 0x807fffff)
			s = math.Float32frombits(r.Uint32() & 0x807fffff)
			if r.IntN(2) == 0 {
				s = randNormal(-130, -100)
			}
		default: // quantize-like
			s = randNormal(-125, 125)
			x = s * float32(200*r.Float64()-100)
		}
		if r.IntN(2) == 0 {
			x = -x
		}
		xs, ss = append(xs, x), append(ss, s)
	}
	return xs, ss
}

// TestExactDivision checks the integer-only division of quantize_exactdiv
// bit for bit against Go's float32 division (IEEE round to nearest even)
// on the device, over adversarial and random pairs, and the self-test of
// both quantize variants against qtensor.Quantize.
func TestExactDivision(t *testing.T) {
	b := openTest(t, config{forceExactDiv: true})
	xs, ss := divPairs(1, 1<<16)
	got, err := b.quotientRaw("quantize_exactdiv", xs, ss)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i := range xs {
		want := xs[i] / ss[i]
		g := math.Float32frombits(got[i])
		if want != want && g != g {
			continue
		}
		if got[i] != math.Float32bits(want) {
			if bad < 5 {
				t.Errorf("%g / %g (%#08x / %#08x) = %g (%#08x), want %g (%#08x)", xs[i], ss[i],
					math.Float32bits(xs[i]), math.Float32bits(ss[i]), g, got[i], want, math.Float32bits(want))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d quotients differ", bad, len(xs))
	}
	for _, k := range []string{"quantize_exactdiv", "quantize"} {
		n, first, err := b.checkQuantize(k)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 && (k == "quantize_exactdiv" || !b.exactDivChosenBySelfTest()) {
			t.Errorf("%s: %d self-test results differ: %s", k, n, first)
		}
	}
}

// exactDivChosenBySelfTest reports whether a backend opened normally on this
// device would pick the emulation (then the plain division may differ).
func (b *Backend) exactDivChosenBySelfTest() bool {
	o, err := open(engine.Options{}, config{})
	if err != nil {
		return false
	}
	defer o.Close()
	return o.exactDiv
}

// TestNearTiePairs checks that the self-test vectors are valid and sit
// near quantize's ties, where a reciprocal product gives other integers.
func TestNearTiePairs(t *testing.T) {
	xs, ss := nearTiePairs(0x71676075, selfTestPairs)
	ties, recip := 0, 0
	for i := range xs {
		if ss[i] < 0x1p-125 || ss[i] > 0x1p125 || math.IsInf(float64(xs[i]), 0) {
			t.Fatalf("pair %d: invalid scale %g or x %g", i, ss[i], xs[i])
		}
		v := float64(xs[i]) / float64(ss[i])
		if math.Abs(v-math.Floor(v)-0.5) < 1e-4 {
			ties++
		}
		// The reciprocal product must give a different integer for some
		// pairs, or the test would not tell division from it.
		if qtensor.QuantizeTorch(xs[i], ss[i], 0, -128, 127) != qtensor.Quantize(xs[i], ss[i], 0, -128, 127) {
			recip++
		}
	}
	if ties < len(xs)/2 || recip == 0 {
		t.Errorf("%d near-tie pairs, %d where x*(1/s) differs from x/s: the self-test vectors are too weak", ties, recip)
	}
	t.Logf("%d near ties, %d pairs where the reciprocal product differs", ties, recip)
}

// TestConformanceExactDiv runs the quantize-related conformance cases with
// the integer-only division forced on.
func TestConformanceExactDiv(t *testing.T) {
	tests.RunOptions(t, engine.Config{Backend: exactDivName}, tests.Options{
		Require: tests.Required("vulkan"),
		Match: func(op, name string) bool {
			return op == "Quantize" || op == "DynamicQuantizeLinear" || op == "Chain"
		},
	})
}

// TestConformanceGemmDot runs the GEMM and chain cases through the
// integer-dot-product variant where the device has the feature.
func TestConformanceGemmDot(t *testing.T) {
	b := openTest(t, config{skipSelfTest: true})
	if !b.caps.ShaderIntegerDotProduct {
		t.Skip("no shaderIntegerDotProduct")
	}
	tests.RunOptions(t, engine.Config{Backend: gemmDotName}, tests.Options{
		Require: tests.Required("vulkan"),
		Match:   func(op, name string) bool { return op == "Gemm" || op == "Chain" },
	})
}

func TestDeviceInfo(t *testing.T) {
	b := openTest(t, config{})
	d := b.Device()
	t.Logf("%s | %s | kind %s", d.Name, d.Driver, d.Kind)
	for _, k := range []string{"denormals", "kernel_quantize_division", "kernel_gemm", "subgroup_size", "shared_memory", "integer_dot_product", "8bit_storage", "timestamps"} {
		if d.Caps[k] == "" {
			t.Errorf("Caps[%q] missing", k)
		}
		t.Logf("  %s = %s", k, d.Caps[k])
	}
	name := strings.ToLower(d.Name + " " + d.Driver)
	switch {
	case strings.Contains(name, "swiftshader"):
		if d.Kind != "software" || d.Caps["denormals"] != "flush" {
			t.Errorf("SwiftShader: kind %q, denormals %q; want software, flush", d.Kind, d.Caps["denormals"])
		}
	case strings.Contains(name, "llvmpipe"):
		if d.Kind != "software" || d.Caps["denormals"] != "preserve" {
			t.Errorf("lavapipe: kind %q, denormals %q; want software, preserve", d.Kind, d.Caps["denormals"])
		}
	}
	d.Caps["denormals"] = "changed"
	if b.Device().Caps["denormals"] == "changed" {
		t.Error("Device returns the backend's own Caps map")
	}
}

// TestAutoFallsBack: auto selection must not pick a software Vulkan device.
func TestAutoFallsBack(t *testing.T) {
	e, err := engine.New(engine.Config{Backend: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	b, err := open(engine.Options{}, config{skipSelfTest: true})
	if err != nil {
		if e.Backend().Name() != "cpu" {
			t.Errorf("vulkan unavailable, auto picked %s", e.Backend().Name())
		}
		return
	}
	kind := b.Device().Kind
	b.Close()
	if kind != "software" {
		t.Skipf("a hardware Vulkan device (%s) is present", kind)
	}
	if e.Backend().Name() != "cpu" {
		t.Fatalf("auto picked %s with only a software Vulkan device", e.Backend().Name())
	}
	found := false
	for _, f := range e.Fallbacks() {
		if strings.Contains(f, "vulkan") && strings.Contains(f, "software") {
			found = true
		}
	}
	if !found {
		t.Errorf("Fallbacks %q do not say why vulkan was passed over", e.Fallbacks())
	}
}

func TestCloseAndFree(t *testing.T) {
	b := openTest(t, config{skipSelfTest: true})
	buf, err := b.Alloc(100)
	if err != nil {
		t.Fatal(err)
	}
	if err := buf.Write(0, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := buf.Write(99, []byte{1, 2}); !errors.Is(err, engine.ErrShape) {
		t.Errorf("write past the end: %v", err)
	}
	got := make([]byte, 4)
	if err := buf.Read(0, got); err != nil || string(got) != "\x01\x02\x03\x00" {
		t.Errorf("read %v, %v", got, err)
	}
	buf.Free()
	buf.Free()
	if err := buf.Read(0, got); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("read after free: %v", err)
	}
	// A reused buffer comes back zeroed.
	buf2, err := b.Alloc(100)
	if err != nil {
		t.Fatal(err)
	}
	if err := buf2.Read(0, got); err != nil || string(got) != "\x00\x00\x00\x00" {
		t.Errorf("reused buffer not zeroed: %v, %v", got, err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	buf2.Free()
	if _, err := b.Alloc(4); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("alloc after close: %v", err)
	}
	if err := b.Run(context.Background(), nil); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("run after close: %v", err)
	}
}

// workload is a small op mix (quantize then GEMM) with its reference
// result from the CPU backend.
type workload struct {
	x    *qtensor.Tensor
	w    *qtensor.Tensor
	want []byte
}

func newWorkload(t testing.TB, seed uint64) *workload {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	const m, k, n = 5, 37, 9
	xf := make([]float32, m*k)
	for i := range xf {
		xf[i] = float32(r.NormFloat64())
	}
	x, err := qtensor.FromFloat32([]int{m, k}, xf)
	if err != nil {
		t.Fatal(err)
	}
	wd := make([]byte, k*n)
	for i := range wd {
		wd[i] = byte(r.IntN(256))
	}
	w := &qtensor.Tensor{DType: qtensor.Int8, Shape: []int{k, n}, Params: qtensor.TensorParams(0.02, 0), Data: wd}
	wl := &workload{x: x, w: w}
	ref, err := engine.New(engine.Config{Backend: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	wl.want, err = wl.run(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return wl
}

// run uploads, quantizes x to uint8, multiplies by w into int8 and
// downloads the result.
func (wl *workload) run(ctx context.Context, e *engine.Engine) ([]byte, error) {
	x, err := e.Upload(wl.x)
	if err != nil {
		return nil, err
	}
	defer x.Release()
	w, err := e.Upload(wl.w)
	if err != nil {
		return nil, err
	}
	defer w.Release()
	b := e.NewBatch()
	q, err := b.Quantize(x, qtensor.Uint8, qtensor.TensorParams(0.03, 128), qtensor.RoundONNX)
	if err != nil {
		return nil, err
	}
	defer q.Release()
	y, err := b.Gemm(q, w, engine.GemmOptions{OutputOptions: engine.OutputOptions{Output: engine.OutQuantized, YType: qtensor.Int8, YScale: 0.05}})
	if err != nil {
		return nil, err
	}
	defer y.Release()
	if err := b.Run(ctx); err != nil {
		return nil, err
	}
	h, err := e.Download(y)
	if err != nil {
		return nil, err
	}
	return h.Data, nil
}

func (wl *workload) check(got []byte) error {
	if string(got) != string(wl.want) {
		return fmt.Errorf("result differs from the CPU reference")
	}
	return nil
}

// TestGCStress runs thousands of engine ops through the backend while
// another goroutine forces garbage collections.
func TestGCStress(t *testing.T) {
	e := newEngine(t)
	wl := newWorkload(t, 2)
	n := 1000
	if testing.Short() {
		n = 100
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for i := range n { // 2 ops, 4 uploads/downloads each
		got, err := wl.run(context.Background(), e)
		if err != nil {
			t.Fatalf("iteration %d: %v", i, err)
		}
		if err := wl.check(got); err != nil {
			t.Fatalf("iteration %d: %v", i, err)
		}
	}
}

// TestConcurrent uses one engine from many goroutines (run it with -race).
func TestConcurrent(t *testing.T) {
	e := newEngine(t)
	wls := []*workload{newWorkload(t, 3), newWorkload(t, 4)}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wl := wls[g%2]
			for i := range 25 {
				got, err := wl.run(context.Background(), e)
				if err == nil {
					err = wl.check(got)
				}
				if err != nil {
					if failed.Add(1) == 1 {
						t.Errorf("goroutine %d, iteration %d: %v", g, i, err)
					}
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestCancel cancels runs at random moments; the backend must stay usable
// and correct afterwards.
func TestCancel(t *testing.T) {
	e := newEngine(t)
	wl := newWorkload(t, 5)
	for i := range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i*50)*time.Microsecond)
		_, err := wl.run(ctx, e)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("cancelled run %d: %v", i, err)
		}
	}
	got, err := wl.run(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if err := wl.check(got); err != nil {
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

// TestMemoryFlat runs 10,000 ops and checks that RSS stays flat after a
// warm-up. Slack: 16 MiB, for the Go heap's pacing (the GC target moves
// with live data) and the drivers' internal caches; a leak of one 4 KiB
// buffer or a descriptor pool per op would exceed it by far (40+ MiB).
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	if rssBytes() < 0 {
		t.Skip("no /proc/self/statm")
	}
	e := newEngine(t)
	wl := newWorkload(t, 6)
	ctx := context.Background()
	for range 500 {
		if _, err := wl.run(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	before := rssBytes()
	for i := range 5000 { // 2 ops each: 10,000 ops
		if _, err := wl.run(ctx, e); err != nil {
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

// TestTimed checks RunTimed returns one non-negative GPU time per op.
func TestTimed(t *testing.T) {
	e := newEngine(t)
	x, err := e.UploadFloat32([]int{1 << 16}, make([]float32, 1<<16))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Release()
	b := e.NewBatch()
	q, err := b.Quantize(x, qtensor.Int8, qtensor.TensorParams(0.5, 0), qtensor.RoundONNX)
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
	if e.Backend().Device().Caps["timestamps"] == "yes" && ts[0] == 0 {
		t.Errorf("timestamps supported but quantize took 0 s")
	}
	t.Logf("quantize 64K: %.1f us, minmax 64K: %.1f us", ts[0]*1e6, ts[1]*1e6)
}

// TestLoopBudget: on lavapipe (llvmpipe's loop limiter) an op whose kernel
// could loop past gpu.LoopBudget is refused, and one just under it runs
// exactly (a max pool whose largest cells come last in each window).
func TestLoopBudget(t *testing.T) {
	e := newEngine(t)
	limited := strings.Contains(strings.ToLower(e.Backend().Device().Name), "llvmpipe")
	for _, c := range []struct {
		kh, kw int
		over   bool
	}{{2, 48000, false}, {4, 40000, true}} {
		w := c.kw + 3
		h, err := qtensor.New(qtensor.Int8, []int{1, 1, c.kh, w}, qtensor.TensorParams(1, 0))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			h.Set((c.kh-1)*w+c.kw-1+i, int32(100+i))
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
		if n := gpu.LoopIterations(b.Ops()[0]); (n > gpu.LoopBudget) != c.over {
			t.Fatalf("window %dx%d: estimate %d against budget %d", c.kh, c.kw, n, gpu.LoopBudget)
		}
		err = b.Run(context.Background())
		if c.over && limited {
			if !errors.Is(err, engine.ErrUnsupported) {
				t.Errorf("window %dx%d over the loop budget on %s: err = %v, want ErrUnsupported", c.kh, c.kw, e.Backend().Device().Name, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Download(y)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 4 { // window i ends at the cell holding 100+i
			if v := got.At(i); v != int32(100+i) {
				t.Errorf("window %dx%d output %d = %d, want %d", c.kh, c.kw, i, v, 100+i)
			}
		}
	}
}
