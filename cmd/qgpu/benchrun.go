package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/qgpu/qgpu/bench/models"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// benchData returns n pseudo-random values from a fixed seed.
func benchData(n int, seed uint64, f func(r *rand.Rand) byte) []byte {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = f(r)
	}
	return b
}

func randU8(r *rand.Rand) byte { return byte(r.Uint32()) }
func randS8(r *rand.Rand) byte { return byte(int8(r.IntN(255) - 127)) }

func randF32(n int, seed uint64, lo, hi float32) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = lo + (hi-lo)*r.Float32()
	}
	return x
}

// Scales of the benchmark operands.
const (
	benchAScale = 0.02
	benchBScale = 0.01
)

// benchOutputKind is the output of a benchmark GEMM or convolution with k
// products per output: its kind, and for a quantized one a y_scale that
// keeps typical accumulators inside uint8.
func benchOutputKind(o benchOptions, k int) (kind engine.OutputKind, yScale float32) {
	switch o.output {
	case "float32":
		return engine.OutFloat32, 0
	case "quantized":
		return engine.OutQuantized, float32(benchAScale * benchBScale * 64 * math.Sqrt(float64(k)))
	}
	return engine.OutInt32, 0
}

// benchGemmOptions and benchConvOptions set the output of benchOutputKind (a
// quantized one is uint8 with zero point 128).
func benchGemmOptions(o benchOptions, k int) engine.GemmOptions {
	kind, ys := benchOutputKind(o, k)
	g := engine.GemmOptions{Output: kind}
	if kind == engine.OutQuantized {
		g.YType, g.YScale, g.YZP = qtensor.Uint8, ys, 128
	}
	return g
}

func benchConvOptions(o benchOptions, k int) engine.ConvOptions {
	kind, ys := benchOutputKind(o, k)
	c := engine.ConvOptions{Output: kind}
	if kind == engine.OutQuantized {
		c.YType, c.YScale, c.YZP = qtensor.Uint8, ys, 128
	}
	return c
}

func upload(eng *engine.Engine, d qtensor.DType, shape []int, p qtensor.Params, data []byte) (*engine.Tensor, error) {
	return eng.Upload(&qtensor.Tensor{DType: d, Shape: shape, Params: p, Data: data})
}

// benchSetup is a recorded case: the batch to time, the tensors to
// release, and the work per run.
type benchSetup struct {
	b       *engine.Batch
	tensors []*engine.Tensor
	ops     float64 // operations per run (GEMM, conv, model)
	bytes   float64 // bytes moved per run (quantize, dequantize, histogram, minmax)
	output  string  // the out column
}

func (s *benchSetup) release() {
	for _, t := range s.tensors {
		t.Release()
	}
}

// keep adds t to the tensors released with s.
func (s *benchSetup) keep(t *engine.Tensor, err error) (*engine.Tensor, error) {
	if err == nil {
		s.tensors = append(s.tensors, t)
	}
	return t, err
}

// setupCase uploads the case's operands and records its batch.
func setupCase(eng *engine.Engine, c benchCase, o benchOptions) (*benchSetup, error) {
	s := &benchSetup{b: eng.NewBatch()}
	var err error
	switch c.op {
	case "gemm":
		err = s.gemm(eng, c, o)
	case "conv":
		err = s.conv(eng, c, o)
	case "quantize", "dequantize", "histogram", "minmax":
		err = s.stream(eng, c)
	case "matmulnbits":
		err = s.nbits(eng, c)
	case "model":
		var m *models.Model
		if m, err = models.Build(c.shape, eng, func() *engine.Batch { return s.b }); err == nil {
			s.tensors = append(s.tensors, m.Tensors...)
			s.ops, s.output = m.Ops, "uint8"
		}
	default:
		err = fmt.Errorf("bench: unknown op %q", c.op)
	}
	if err != nil {
		s.release()
		return nil, err
	}
	return s, nil
}

func (s *benchSetup) gemm(eng *engine.Engine, c benchCase, o benchOptions) error {
	a, err := s.keep(upload(eng, qtensor.Uint8, []int{c.m, c.k}, qtensor.TensorParams(benchAScale, 128), benchData(c.m*c.k, 1, randU8)))
	if err != nil {
		return err
	}
	w, err := s.keep(upload(eng, qtensor.Int8, []int{c.k, c.n}, qtensor.TensorParams(benchBScale, 0), benchData(c.k*c.n, 2, randS8)))
	if err != nil {
		return err
	}
	if _, err := s.keep(s.b.Gemm(a, w, benchGemmOptions(o, c.k))); err != nil {
		return err
	}
	s.ops, s.output = 2*float64(c.m)*float64(c.n)*float64(c.k), o.output
	return nil
}

func (s *benchSetup) conv(eng *engine.Engine, c benchCase, o benchOptions) error {
	x, err := s.keep(upload(eng, qtensor.Uint8, []int{c.cn, c.cc, c.ch, c.cw}, qtensor.TensorParams(benchAScale, 128), benchData(c.cn*c.cc*c.ch*c.cw, 3, randU8)))
	if err != nil {
		return err
	}
	cg := c.cc / c.group
	w, err := s.keep(upload(eng, qtensor.Int8, []int{c.co, cg, c.kh, c.kw}, qtensor.TensorParams(benchBScale, 0), benchData(c.co*cg*c.kh*c.kw, 4, randS8)))
	if err != nil {
		return err
	}
	p := c.pad
	co := benchConvOptions(o, cg*c.kh*c.kw)
	co.Pads, co.Strides, co.Group = []int{p, p, p, p}, []int{c.stride, c.stride}, c.group
	y, err := s.keep(s.b.Conv(x, w, co))
	if err != nil {
		return err
	}
	oh, ow := y.Dim(2), y.Dim(3)
	if eh, ew := convOut(c); eh != oh || ew != ow {
		return fmt.Errorf("bench: conv %s: output %dx%d, expected %dx%d", c.shape, oh, ow, eh, ew)
	}
	s.ops, s.output = 2*float64(c.cn)*float64(c.co)*float64(oh*ow)*float64(cg*c.kh*c.kw), o.output
	return nil
}

// stream records quantize, dequantize, histogram or minmax of c.size
// elements.
func (s *benchSetup) stream(eng *engine.Engine, c benchCase) error {
	var x *engine.Tensor
	var err error
	if c.op == "dequantize" {
		x, err = s.keep(upload(eng, qtensor.Uint8, []int{c.size}, qtensor.TensorParams(benchAScale, 128), benchData(c.size, 6, randU8)))
	} else {
		x, err = s.keep(eng.UploadFloat32([]int{c.size}, randF32(c.size, map[bool]uint64{true: 5, false: 9}[c.op == "quantize"], -2.5, 2.5)))
	}
	if err != nil {
		return err
	}
	s.bytes = 4 * float64(c.size)
	switch c.op {
	case "quantize":
		_, err = s.keep(s.b.Quantize(x, qtensor.Uint8, qtensor.TensorParams(benchAScale, 128), qtensor.RoundONNX))
		s.bytes, s.output = 5*float64(c.size), "uint8"
	case "dequantize":
		_, err = s.keep(s.b.Dequantize(x))
		s.bytes, s.output = 5*float64(c.size), "float32"
	case "histogram":
		// The calibration histogram: bin width 2^-8, 2048 bins from grid
		// index -1024 (values in [-4, 4)).
		_, err = s.keep(s.b.HistogramAligned(x, -8, -1024, 2048))
		s.output = "2048 bins"
	case "minmax":
		_, err = s.keep(s.b.MinMax(x, -1))
		s.output = "min/max"
	}
	return err
}

// runBenchCase uploads the case's operands, records one batch and times
// it (Batch.RunTimed: wall time, and device time where the backend has
// timestamps).
func runBenchCase(ctx context.Context, eng *engine.Engine, c benchCase, o benchOptions) (benchResult, error) {
	r := benchResult{Op: c.op, Shape: c.shape}
	s, err := setupCase(eng, c, o)
	if err != nil {
		return r, err
	}
	defer s.release()
	var dev []float64
	st, err := measure(ctx, o, func() error {
		t, err := s.b.RunTimed(ctx)
		if len(t) > 0 {
			sum := 0.0
			for _, v := range t {
				sum += v
			}
			dev = append(dev, sum)
		}
		return err
	})
	if err != nil {
		return r, err
	}
	r.Output = s.output
	r.setTiming(st)
	if len(dev) > 0 {
		// The warm-up run's device time comes first.
		r.devTimes = dev[len(dev)-min(len(dev), st.runs):]
		r.DeviceSeconds = median(r.devTimes)
	}
	if s.ops > 0 {
		r.GOPS, r.Ops = s.ops/r.Seconds/1e9, s.ops
	}
	if s.bytes > 0 {
		r.GBps, r.Elements = s.bytes/r.Seconds/1e9, c.size
	}
	return r, nil
}

// setTiming copies the statistics of the timed runs into r.
func (r *benchResult) setTiming(t timing) {
	r.Runs, r.Seconds, r.MinSeconds, r.MaxSeconds, r.MADSeconds = t.runs, t.median, t.min, t.max, t.mad
	r.WarmupSeconds, r.times = t.warmup, t.times
}

// sgemmBaselineFor returns the float32 baseline of a GEMM or conv case
// and its operations per run (nil for the other ops).
func sgemmBaselineFor(c benchCase) (func() error, float64) {
	switch c.op {
	case "gemm":
		return sgemmBaseline(c.m, c.k, c.n, 1), 2 * float64(c.m) * float64(c.n) * float64(c.k)
	case "conv":
		oh, ow := convOut(c)
		cg := c.cc / c.group
		return sgemmBaseline(c.co/c.group, cg*c.kh*c.kw, oh*ow, c.cn*c.group),
			2 * float64(c.cn) * float64(c.co) * float64(oh*ow) * float64(cg*c.kh*c.kw)
	}
	return nil, 0
}

// sgemmBaseline returns a function that runs count float32 GEMMs of
// M x K times K x N with gonum's Sgemm.
func sgemmBaseline(m, k, n, count int) func() error {
	a := randF32(m*k, 7, -1, 1)
	bm := randF32(k*n, 8, -1, 1)
	c := make([]float32, m*n)
	impl := gonum.Implementation{}
	return func() error {
		for range count {
			impl.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, bm, n, 0, c, n)
		}
		return nil
	}
}

// baseline is the measured float32 baseline of a case.
type baseline struct {
	t   timing
	ops float64
}

// measureBaseline times the gonum baseline of c, if it has one, with
// GOMAXPROCS set to the thread count.
func measureBaseline(ctx context.Context, c benchCase, o benchOptions, threads int) (*baseline, error) {
	fn, ops := sgemmBaselineFor(c)
	if fn == nil {
		return nil, nil
	}
	prev := runtime.GOMAXPROCS(threads)
	defer runtime.GOMAXPROCS(prev)
	t, err := measure(ctx, o, fn)
	if err != nil {
		return nil, err
	}
	return &baseline{t: t, ops: ops}, nil
}

// setBaseline fills r's float32 columns from b: the GFLOPS of gonum's
// fastest run and the ratio of the fastest int8 run to it. The fastest
// runs are compared because other load on the machine only ever adds
// time: medians of two separate measurements can be disturbed by
// different amounts (a 256^3 ratio read 66x, 66x and 228x in three runs),
// minima much less.
func (r *benchResult) setBaseline(b *baseline) {
	r.F32Seconds, r.F32MinSeconds = b.t.median, b.t.min
	r.F32GFLOPS = b.ops / b.t.min / 1e9
	r.Ratio = (r.Ops / r.MinSeconds) / (b.ops / b.t.min)
	r.f32 = &b.t
}

// now is the clock of measure (tests replace it).
var now = time.Now

type timing struct {
	runs                  int
	median, min, max, mad float64
	warmup                float64   // seconds of the untimed warm-up run
	times                 []float64 // every timed run, in order
}

// measure runs fn once to warm up (pipeline creation, first-touch page
// faults, caches: never timed), then at least o.minRuns times and for at
// least o.minTime of timed runs (at most 10000 runs), but stops once
// o.maxTime is spent after one timed run. It returns statistics of the
// timed runs in seconds and the warm-up's time.
func measure(ctx context.Context, o benchOptions, fn func() error) (timing, error) {
	var ts []float64
	var total time.Duration
	t0 := now()
	if err := fn(); err != nil {
		return timing{}, err
	}
	warm := now().Sub(t0).Seconds()
	for len(ts) < o.minRuns || (total < o.minTime && len(ts) < 10000) {
		if len(ts) > 0 && o.maxTime > 0 && total >= o.maxTime {
			break
		}
		if err := ctx.Err(); err != nil {
			return timing{}, err
		}
		t0 := now()
		if err := fn(); err != nil {
			return timing{}, err
		}
		d := now().Sub(t0)
		total += d
		ts = append(ts, d.Seconds())
	}
	med := median(ts)
	dev := make([]float64, len(ts))
	for i, t := range ts {
		dev[i] = math.Abs(t - med)
	}
	return timing{runs: len(ts), median: med, min: slices.Min(ts), max: slices.Max(ts), mad: median(dev), warmup: warm, times: ts}, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Limits past which a measurement says little (see warnings).
const (
	minSoundRuns   = 5    // fewer timed runs
	maxSoundSpread = 0.10 // median absolute deviation above 10% of the median
)

// warnings says why a timing is unreliable: too few runs, a wide spread;
// what prefixes each (e.g. "f32 ").
func (t timing) warnings(what string) []string {
	var w []string
	if t.runs < minSoundRuns {
		w = append(w, fmt.Sprintf("%sonly %d run(s)", what, t.runs))
	}
	if t.median > 0 && t.mad/t.median > maxSoundSpread {
		w = append(w, fmt.Sprintf("%sspread ±%.0f%%", what, 100*t.mad/t.median))
	}
	return w
}

// fmtSeconds prints a duration with 3 significant digits in s, ms or µs.
func fmtSeconds(s float64) string {
	switch {
	case s >= 1:
		return fmt.Sprintf("%.3g s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.3g ms", s*1e3)
	}
	return fmt.Sprintf("%.3g µs", s*1e6)
}
