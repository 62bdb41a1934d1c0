package tests

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// StressSecondsEnv names the environment variable that turns RunStress into
// its long form: the stress then runs for that many seconds instead of a
// fixed number of iterations, and logs its progress.
const StressSecondsEnv = "QGPU_STRESS_SECONDS"

// StressOptions configure Stress.
type StressOptions struct {
	// Workers is the number of goroutines (0: 16).
	Workers int
	// Iterations is the number of runs each worker makes (0: until
	// Duration has passed).
	Iterations int
	// Duration bounds the run when Iterations is 0.
	Duration time.Duration
	// Seed seeds the workers' random choices.
	Seed uint64
	// Progress, if set, is called about every ProgressEvery with the
	// report so far.
	Progress      func(StressReport)
	ProgressEvery time.Duration
}

// StressReport is the outcome of Stress.
type StressReport struct {
	Backend, Device string
	// Runs counts the batches that ran; Compared the outputs downloaded
	// and compared with the reference, Mismatches those that differed.
	Runs, Compared, Mismatches int64
	// Refused counts runs that failed with ErrClosed because an input had
	// been released before the run started (the expected outcome of such
	// a race, and of a release before Run); Cancelled counts runs ended by
	// their context.
	Refused, Cancelled int64
	// WitnessChecks counts the re-reads of the workers' long-lived
	// tensors, which no op writes (WitnessMismatches: those that changed).
	WitnessChecks, WitnessMismatches int64
	// GuardChecks counts CheckGuards calls made while the workers ran.
	GuardChecks int64
	// ReleasedDuring counts the runs during which (between the call of
	// Run and its return) another goroutine released their inputs.
	ReleasedDuring int64
	// Errors holds the first unexpected errors and mismatch details.
	Errors []string
	// RSS and Go heap (HeapInuse) in bytes at the start and at the end
	// (RSS from /proc/self/statm; 0 where unavailable), and both once more
	// after the workers have stopped and the garbage collector has run and
	// returned free memory to the system (runtime/debug.FreeOSMemory): what
	// is still held then is not garbage or GC headroom.
	RSSStart, RSSEnd, HeapStart, HeapEnd int64
	RSSAfterGC, HeapAfterGC              int64
	Elapsed                              time.Duration
}

// OK reports whether nothing went wrong.
func (r *StressReport) OK() bool {
	return r.Mismatches == 0 && r.WitnessMismatches == 0 && len(r.Errors) == 0
}

func (r *StressReport) String() string {
	return fmt.Sprintf("%s (%s): %d runs in %v, %d compared, %d mismatches, %d with inputs released during the run, %d refused (input released first), %d cancelled, %d witness checks (%d changed), %d guard checks, RSS %.1f -> %.1f MiB, Go heap in use %.1f -> %.1f MiB",
		r.Backend, r.Device, r.Runs, r.Elapsed.Round(time.Millisecond), r.Compared, r.Mismatches, r.ReleasedDuring, r.Refused, r.Cancelled,
		r.WitnessChecks, r.WitnessMismatches, r.GuardChecks,
		float64(r.RSSStart)/(1<<20), float64(r.RSSEnd)/(1<<20), float64(r.HeapStart)/(1<<20), float64(r.HeapEnd)/(1<<20)) + r.afterGC()
}

func (r *StressReport) afterGC() string {
	if r.RSSAfterGC == 0 && r.HeapAfterGC == 0 {
		return ""
	}
	return fmt.Sprintf("; after GC and FreeOSMemory: RSS %.1f MiB, heap %.1f MiB", float64(r.RSSAfterGC)/(1<<20), float64(r.HeapAfterGC)/(1<<20))
}

// stressCase is one op of the stress with its inputs and the reference
// engine's output.
type stressCase struct {
	name   string
	inputs []*qtensor.Tensor
	build  func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error)
	want   *qtensor.Tensor
	nanos  atomic.Int64 // a recent run time on the target, for release delays
}

// stressCases returns the ops the stress runs: Quantize, Gemm and Conv of
// a few shapes (outputs are integers, exact on every backend; the float
// inputs are normal numbers, so no denormal tolerance applies).
func stressCases(seed uint64) []*stressCase {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	floats := func(shape []int) *qtensor.Tensor {
		x := make([]float32, numel(shape))
		for i := range x {
			x[i] = float32(r.NormFloat64() * 4)
		}
		return must(qtensor.FromFloat32(shape, x))
	}
	ints := func(d qtensor.DType, shape []int, p qtensor.Params) *qtensor.Tensor {
		t := must(qtensor.New(d, shape, p))
		for i := range t.Len() {
			t.Set(i, d.QMin()+int32(r.IntN(int(d.QMax()-d.QMin())+1)))
		}
		return t
	}
	axisScales := func(n int) ([]float32, []int32) {
		s, z := make([]float32, n), make([]int32, n)
		for i := range s {
			s[i] = 0.01 + 0.05*r.Float32()
			z[i] = int32(r.IntN(256))
		}
		return s, z
	}
	var cs []*stressCase
	for _, shape := range [][]int{{256, 256}, {96, 130}} {
		s, z := axisScales(shape[0])
		cs = append(cs,
			&stressCase{name: fmt.Sprintf("Quantize/int8/%v", shape), inputs: []*qtensor.Tensor{floats(shape)},
				build: func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
					return b.Quantize(in[0], qtensor.Int8, qtensor.TensorParams(0.03, -3), qtensor.RoundONNX)
				}},
			&stressCase{name: fmt.Sprintf("Quantize/uint8-per-axis/%v", shape), inputs: []*qtensor.Tensor{floats(shape)},
				build: func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
					return b.Quantize(in[0], qtensor.Uint8, qtensor.AxisParams(0, s, z), qtensor.RoundONNX)
				}})
	}
	for _, d := range [][3]int{{64, 256, 128}, {33, 200, 70}} {
		M, K, N := d[0], d[1], d[2]
		a := ints(qtensor.Uint8, []int{M, K}, qtensor.TensorParams(0.02, 131))
		w := ints(qtensor.Int8, []int{K, N}, qtensor.TensorParams(0.01, 0))
		cs = append(cs,
			&stressCase{name: fmt.Sprintf("Gemm/int32/%dx%dx%d", M, K, N), inputs: []*qtensor.Tensor{a, w},
				build: func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
					return b.Gemm(in[0], in[1], engine.GemmOptions{})
				}},
			&stressCase{name: fmt.Sprintf("Gemm/uint8/%dx%dx%d", M, K, N), inputs: []*qtensor.Tensor{a, w},
				build: func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
					return b.Gemm(in[0], in[1], engine.GemmOptions{Output: engine.OutQuantized, YType: qtensor.Uint8, YScale: 2, YZP: 120})
				}})
	}
	for _, g := range []struct{ n, c, h, o, k, pad int }{{1, 16, 32, 32, 3, 1}, {2, 8, 19, 12, 5, 2}} {
		x := ints(qtensor.Uint8, []int{g.n, g.c, g.h, g.h}, qtensor.TensorParams(0.02, 128))
		w := ints(qtensor.Int8, []int{g.o, g.c, g.k, g.k}, qtensor.TensorParams(0.01, 0))
		p := g.pad
		cs = append(cs, &stressCase{name: fmt.Sprintf("Conv/int32/%v/%v", x.Shape, w.Shape), inputs: []*qtensor.Tensor{x, w},
			build: func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
				return b.Conv(in[0], in[1], engine.ConvOptions{Pads: []int{p, p, p, p}})
			}})
	}
	return cs
}

// Stress runs Quantize, GEMM and convolution batches on the target from
// many goroutines at once, releasing their inputs (and at times their
// outputs) at random moments while they run, cancelling some runs, and
// uploading meanwhile, so that a buffer freed or pooled too early is
// reused under a running op. Every completed run's output is compared bit
// for bit with the reference engine's (Reference(): the generic CPU
// kernels), and each worker's long-lived witness tensor, which no op
// writes, is re-read and compared with what was uploaded. A run that fails
// with ErrClosed because an input was released before it started is the
// expected outcome of that race, not a failure.
func Stress(ctx context.Context, target engine.Config, opts StressOptions) (StressReport, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = 16
	}
	if opts.Iterations <= 0 && opts.Duration <= 0 {
		return StressReport{}, fmt.Errorf("stress: set Iterations or Duration")
	}
	ref, err := engine.New(Reference())
	if err != nil {
		return StressReport{}, fmt.Errorf("stress: reference engine: %w", err)
	}
	cases := stressCases(opts.Seed)
	for _, c := range cases {
		if c.want, err = stressOnce(ctx, ref, c); err != nil {
			ref.Close()
			return StressReport{}, fmt.Errorf("stress: reference %s: %w", c.name, err)
		}
	}
	ref.Close()
	if target.GuardBytes < GuardBytes {
		target.GuardBytes = GuardBytes
	}
	tgt, err := engine.New(target)
	if err != nil {
		return StressReport{}, fmt.Errorf("stress: target engine: %w", err)
	}
	defer tgt.Close()
	// Warm up (pipelines, kernels) and time each case's Run once.
	for _, c := range cases {
		got, err := stressOnce(ctx, tgt, c)
		if err != nil {
			return StressReport{}, fmt.Errorf("stress: %s: %w", c.name, err)
		}
		if d := diff(c.want, got); d != "" {
			return StressReport{}, fmt.Errorf("stress: %s without concurrency: %s", c.name, d)
		}
	}

	s := &stress{eng: tgt, cases: cases}
	rssStart, heapStart := memNow()
	start := time.Now()
	var deadline time.Time
	if opts.Iterations <= 0 {
		deadline = start.Add(opts.Duration)
	}
	stop := make(chan struct{})
	var aux sync.WaitGroup
	aux.Add(1)
	go func() { // CheckGuards meanwhile
		defer aux.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if err := tgt.CheckGuards(); err != nil {
				s.fail("CheckGuards: %v", err)
			}
			s.guardChecks.Add(1)
		}
	}()
	if opts.Progress != nil {
		every := opts.ProgressEvery
		if every <= 0 {
			every = 10 * time.Second
		}
		aux.Add(1)
		go func() {
			defer aux.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(every):
				}
				r := s.report(start)
				r.RSSStart, r.HeapStart = rssStart, heapStart
				r.RSSEnd, r.HeapEnd = memNow()
				opts.Progress(r)
			}
		}()
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.worker(ctx, rand.New(rand.NewPCG(opts.Seed, uint64(w)+1)), opts.Iterations, deadline)
		}()
	}
	wg.Wait()
	close(stop)
	aux.Wait()
	if err := tgt.CheckGuards(); err != nil {
		s.fail("CheckGuards after the run: %v", err)
	}
	rep := s.report(start)
	rep.RSSStart, rep.HeapStart = rssStart, heapStart
	rep.RSSEnd, rep.HeapEnd = memNow()
	debug.FreeOSMemory()
	rep.RSSAfterGC, rep.HeapAfterGC = memNow()
	return rep, ctx.Err()
}

// stressOnce runs c on e with nothing else going on.
func stressOnce(ctx context.Context, e *engine.Engine, c *stressCase) (*qtensor.Tensor, error) {
	in, err := uploadAll(e, c.inputs)
	if err != nil {
		return nil, err
	}
	defer releaseAll(in)
	b := e.NewBatch()
	y, err := c.build(b, in)
	if err != nil {
		return nil, err
	}
	defer y.Release()
	start := time.Now()
	if err := b.Run(ctx); err != nil {
		return nil, err
	}
	c.nanos.Store(int64(time.Since(start)))
	return e.Download(y)
}

func uploadAll(e *engine.Engine, hs []*qtensor.Tensor) ([]*engine.Tensor, error) {
	ts := make([]*engine.Tensor, 0, len(hs))
	for _, h := range hs {
		t, err := e.Upload(h)
		if err != nil {
			releaseAll(ts)
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

func releaseAll(ts []*engine.Tensor) {
	for _, t := range ts {
		t.Release()
	}
}

// diff is "" when got equals want bit for bit, else the first difference.
func diff(want, got *qtensor.Tensor) string {
	if want.DType != got.DType || !slices.Equal(want.Shape, got.Shape) {
		return fmt.Sprintf("got %v%v, want %v%v", got.DType, got.Shape, want.DType, want.Shape)
	}
	for i := range want.Len() {
		if !elemEqual(want, got, i) {
			n := 0
			for j := range want.Len() {
				if !elemEqual(want, got, j) {
					n++
				}
			}
			return fmt.Sprintf("%d of %d elements differ; first at %v: got %s, want %s",
				n, want.Len(), multiIndex(want.Shape, i), elemString(got, i), elemString(want, i))
		}
	}
	return ""
}

type stress struct {
	eng   *engine.Engine
	cases []*stressCase

	runs, compared, mismatches, refused, cancelled atomic.Int64
	witnessChecks, witnessMismatches, guardChecks  atomic.Int64
	releasedDuring                                 atomic.Int64

	mu   sync.Mutex
	errs []string
}

const maxStressErrors = 20

func (s *stress) fail(format string, args ...any) {
	s.mu.Lock()
	if len(s.errs) < maxStressErrors {
		s.errs = append(s.errs, fmt.Sprintf(format, args...))
	}
	s.mu.Unlock()
}

func (s *stress) report(start time.Time) StressReport {
	r := StressReport{
		Backend: s.eng.Backend().Name(), Device: s.eng.Backend().Device().Name,
		Runs: s.runs.Load(), Compared: s.compared.Load(), Mismatches: s.mismatches.Load(),
		Refused: s.refused.Load(), Cancelled: s.cancelled.Load(),
		WitnessChecks: s.witnessChecks.Load(), WitnessMismatches: s.witnessMismatches.Load(),
		GuardChecks: s.guardChecks.Load(), ReleasedDuring: s.releasedDuring.Load(), Elapsed: time.Since(start),
	}
	s.mu.Lock()
	r.Errors = slices.Clone(s.errs)
	s.mu.Unlock()
	return r
}

// worker runs iterations (or until deadline) random stress iterations.
func (s *stress) worker(ctx context.Context, r *rand.Rand, iterations int, deadline time.Time) {
	// The witness: a tensor uploaded once that no op writes. A buffer
	// freed while an op still wrote it and handed to the witness, or the
	// witness's buffer handed to another tensor, shows up here.
	wh := s.cases[r.IntN(len(s.cases))].inputs[0]
	witness, err := s.eng.Upload(wh)
	if err != nil {
		s.fail("witness upload: %v", err)
		return
	}
	defer witness.Release()
	for i := 0; ; i++ {
		if iterations > 0 && i >= iterations || iterations <= 0 && time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		s.iteration(ctx, r)
		if i%4 == 3 {
			s.checkWitness(witness, wh)
		}
	}
	s.checkWitness(witness, wh)
}

func (s *stress) checkWitness(w *engine.Tensor, want *qtensor.Tensor) {
	got, err := s.eng.Download(w)
	if err != nil {
		s.fail("witness download: %v", err)
		return
	}
	s.witnessChecks.Add(1)
	if d := diff(want, got); d != "" {
		s.witnessMismatches.Add(1)
		s.fail("witness %v changed: %s", w, d)
	}
}

// iteration uploads one case's inputs, records its op one to six times in
// one batch and runs it, releasing the inputs (and sometimes the outputs)
// at a random moment from another goroutine, maybe cancelling the run, and
// compares every output with the reference.
func (s *stress) iteration(ctx context.Context, r *rand.Rand) {
	c := s.cases[r.IntN(len(s.cases))]
	in, err := uploadAll(s.eng, c.inputs)
	if err != nil {
		s.fail("%s: upload: %v", c.name, err)
		return
	}
	defer releaseAll(in)
	b := s.eng.NewBatch()
	reps := 1 + r.IntN(6)
	ys := make([]*engine.Tensor, 0, reps)
	defer func() { releaseAll(ys) }()
	for range reps {
		y, err := c.build(b, in)
		if err != nil {
			s.fail("%s: record: %v", c.name, err)
			return
		}
		ys = append(ys, y)
	}
	// What happens during the run: 0 nothing, 1-4 the inputs are released
	// at a random moment (5, 6: the outputs too), 7 the run is cancelled
	// at a random moment (and the inputs released), 8 an input is
	// released before Run (which must then fail with ErrClosed).
	mode := r.IntN(9)
	runCtx := ctx
	// The moment: at once as Run is called (racing with its pinning of
	// the operands), or within about 1.2 times the batch's run time.
	var delay time.Duration
	if r.IntN(3) > 0 {
		delay = time.Duration(r.Int64N(max(1, c.nanos.Load()*int64(reps)*6/5)))
	}
	var cancel context.CancelFunc = func() {}
	if mode == 7 {
		runCtx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	var side sync.WaitGroup
	var running, during atomic.Bool
	started := make(chan struct{})
	if mode == 8 {
		in[r.IntN(len(in))].Release()
	}
	if mode >= 1 && mode <= 7 {
		side.Add(1)
		go func() {
			defer side.Done()
			<-started
			if delay > 0 {
				time.Sleep(delay)
			}
			during.Store(running.Load())
			if mode == 7 {
				cancel()
			}
			releaseAll(in)
			if mode == 5 || mode == 6 {
				releaseAll(ys)
			}
		}()
	}
	start := time.Now()
	running.Store(true)
	close(started)
	err = b.Run(runCtx)
	running.Store(false)
	if err == nil {
		c.nanos.Store((c.nanos.Load()*7 + int64(time.Since(start))/int64(reps)) / 8)
	}
	s.runs.Add(1)
	if side.Wait(); during.Load() {
		s.releasedDuring.Add(1)
	}
	switch {
	case mode == 8:
		if errors.Is(err, engine.ErrClosed) {
			s.refused.Add(1)
		} else {
			s.fail("%s: run with a released input: %v, want an error wrapping ErrClosed", c.name, err)
		}
		return
	case err == nil:
	case errors.Is(err, engine.ErrClosed) && mode >= 1:
		// An input (or an output) was released before the run pinned it.
		s.refused.Add(1)
		return
	case mode == 7 && runCtx.Err() != nil && errors.Is(err, runCtx.Err()):
		s.cancelled.Add(1)
		return
	default:
		s.fail("%s: run (mode %d): %v", c.name, mode, err)
		return
	}
	for i, y := range ys {
		got, err := s.eng.Download(y)
		if err != nil {
			if (mode == 5 || mode == 6) && errors.Is(err, engine.ErrClosed) {
				return
			}
			s.fail("%s: download: %v", c.name, err)
			return
		}
		s.compared.Add(1)
		if d := diff(c.want, got); d != "" {
			s.mismatches.Add(1)
			s.fail("%s (mode %d, output %d of %d): %s", c.name, mode, i, reps, d)
		}
	}
}

// memNow returns the resident set size (from /proc/self/statm, 0 where it
// cannot be read) and the Go heap in use, in bytes.
func memNow() (rss, heap int64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap = int64(ms.HeapInuse)
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			if pages, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				rss = pages * int64(os.Getpagesize())
			}
		}
	}
	return rss, heap
}

// StressTester is the part of *testing.T that RunStress uses (this package
// does not import testing: see Tester).
type StressTester interface {
	Helper()
	Context() context.Context
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Logf(format string, args ...any)
}

// RunStress runs Stress against the target as a test with opts (the short
// form, for CI: give Iterations), or, when QGPU_STRESS_SECONDS is set, for
// that many seconds with progress logged every 10 s. An unavailable backend
// skips the test unless QGPU_REQUIRE names it.
func RunStress(t StressTester, target engine.Config, opts StressOptions) {
	t.Helper()
	if v := os.Getenv(StressSecondsEnv); v != "" {
		sec, err := strconv.Atoi(v)
		if err != nil || sec <= 0 {
			t.Fatalf("%s=%q: want a positive number of seconds", StressSecondsEnv, v)
		}
		opts.Iterations, opts.Duration = 0, time.Duration(sec)*time.Second
		opts.Progress = func(r StressReport) { t.Logf("after %v: %v", r.Elapsed.Round(time.Second), &r) }
	}
	rep, err := Stress(t.Context(), target, opts)
	if err != nil {
		if errors.Is(err, engine.ErrUnavailable) && !Required(target.Backend) {
			t.Skipf("backend %q unavailable (set %s=%s to make this a failure): %v", target.Backend, RequireEnv, target.Backend, err)
		}
		t.Fatalf("%v", err)
	}
	t.Logf("%v", &rep)
	for _, e := range rep.Errors {
		t.Errorf("%s", e)
	}
	if !rep.OK() {
		t.Fatalf("stress failed: %v", &rep)
	}
	if rep.Compared == 0 {
		t.Fatalf("no run was compared: %v", &rep)
	}
}
