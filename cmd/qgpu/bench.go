package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/qgpu/qgpu/bench/models"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

func init() {
	register(&command{name: "bench", summary: "time GEMM, conv, quantize, dequantize and calibration passes on backends", run: cmdBench})
}

// benchCase is one shape of one op to time.
type benchCase struct {
	op    string // gemm, conv, quantize, dequantize, histogram, minmax, model
	shape string // as printed
	// gemm
	m, k, n int
	// conv
	cn, cc, ch, cw, co, kh, kw, pad, stride, group int
	// quantize, dequantize, histogram, minmax
	size int
}

// benchResult is one measured case; it is also the JSON line of --json.
type benchResult struct {
	Op         string  `json:"op"`
	Backend    string  `json:"backend"`
	Device     string  `json:"device"`
	CPU        string  `json:"cpu,omitempty"` // the host CPU model
	Shape      string  `json:"shape"`
	Output     string  `json:"output,omitempty"`
	Threads    int     `json:"threads"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	Runs       int     `json:"runs"`
	Seconds    float64 `json:"seconds"` // median wall time of one Batch.Run
	MinSeconds float64 `json:"min_seconds"`
	MaxSeconds float64 `json:"max_seconds"`
	MADSeconds float64 `json:"mad_seconds"`
	// DeviceSeconds is the median device time (GPU timestamps) when the
	// backend measures it.
	DeviceSeconds float64 `json:"device_seconds,omitempty"`
	GOPS          float64 `json:"gops,omitempty"`
	GBps          float64 `json:"gbps,omitempty"`
	Ops           float64 `json:"ops,omitempty"`      // operations per run (GEMM, conv)
	Elements      int     `json:"elements,omitempty"` // elements per run (quantize, dequantize, histogram, minmax)
	// The float32 baseline: gonum's Sgemm on the same GEMM (for conv, the
	// im2col GEMM of the same layer, im2col itself not timed), with
	// GOMAXPROCS set to Threads.
	F32Seconds float64 `json:"f32_seconds,omitempty"`
	F32GFLOPS  float64 `json:"f32_gflops,omitempty"`
	Ratio      float64 `json:"int8_f32_ratio,omitempty"` // GOPS / F32GFLOPS

	times    []float64 // wall seconds of each timed run, in order
	devTimes []float64 // device seconds of each timed run (GPU backends)
	gpu      bool      // the backend's device is not the CPU
}

type benchOptions struct {
	threads  int
	output   string
	minRuns  int
	minTime  time.Duration
	maxTime  time.Duration
	baseline bool
	progress io.Writer // nil: no progress line
}

const benchAbout = `
Times qgpu ops on one or more backends (--backend is repeatable: every case
runs on each). Suites:

  gemm        integer GEMM (uint8 A x int8 B), --shape MxKxN (repeatable).
              Default: square 128..2048, and the linear layers of
              BERT-base (768x768, 768x3072, 3072x768) and LLaMA-7B
              (4096x4096, 4096x11008, 11008x4096) as KxN at M = 1, 16, 128
  conv        integer convolution, --shape NxCxHxW,OxKHxKW[,padP][,strideS][,groupG].
              Default: the 23 distinct convolutions of ResNet-50 at N = 1
  quantize    float32 -> uint8 QuantizeLinear of --size elements
              (default: 64Ki, 1Mi and 16Mi elements)
  dequantize  uint8 -> float32 DequantizeLinear, sizes as quantize
  histogram   calibration passes: a 2048-bin aligned histogram and a
              min/max reduction of float32 data, sizes as quantize
  model       a whole network as one batch, --shape NAME (repeatable): resnet50
              (ResNet-50 v1.5) and mobilenetv2 at N = 1, 224x224, random
              int8 weights, uint8 activations (package bench/models);
              GOPS counts the convolutions. Not part of all
  all         every suite above but model (long on the generic Go kernels)
  (none)      a quick suite: GEMM 128 and 256 cubed, a BERT layer at M = 16
              and a LLaMA layer at M = 1, one ResNet 1x1 conv, quantize,
              dequantize, histogram and min/max of --size (16Mi) elements;
              --max-time defaults to 2s here

Inputs and weights are uploaded once outside the timed loop; one batch is
recorded once and Batch.RunTimed is timed, after a warm-up run, at least
--runs times and for at least --time (but no longer than --max-time). Each
case reports the median wall time, the spread (median absolute deviation,
min, max), on GPU backends the median GPU time (timestamps) separately,
GOPS (2*M*N*K/t; conv 2*N*O*OH*OW*C/group*KH*KW/t) or GB/s (quantize and
dequantize 5 bytes per element: 4 as float32, 1 as uint8; histogram and
min/max 4), and a float32 baseline: gonum's Sgemm on the same GEMM (for
conv the im2col GEMM of the layer, im2col not timed), with GOMAXPROCS set to
the thread count, and the ratio int8 GOPS / f32 GFLOPS. The header names the
CPU, its SIMD features and each backend's device. GPU backends add a
transfer section (--json: ops upload, download, empty_submission): 16 MiB
Engine.Upload and Engine.Download rates, and the fixed cost of one
submission, measured on the smallest op (ReLU of 4 elements).

--json prints one JSON object per case per backend per line. --benchfmt
prints the Go benchmark format (goos/goarch/cpu header, then lines like
"BenchmarkGemm/backend=cpu/shape=512x512x512/out=int32/threads=2-2  5  1234 ns/op  217.5 GOPS",
the timed runs in up to 10 groups, and BenchmarkGemmF32/... for the
baseline) for benchstat: qgpu bench --benchfmt > old.txt; ...; benchstat
old.txt new.txt. --plot draws throughput against size per backend (GOPS
against operations per run; GB/s against elements). --isa runs the CPU
backend's kernels of another instruction set than the best one (avx2 on an
AVX-512 machine shows what CPUs without VNNI get).`

const benchExamples = `
  qgpu bench
  qgpu bench gemm --threads 1 --shape 1024x1024x1024 --shape 1x4096x4096
  qgpu bench gemm --backend cpu --backend vulkan --plot gemm.svg
  qgpu bench gemm --output quantized --json
  qgpu bench conv --shape 1x64x56x56,64x3x3,pad1 --shape 1x32x112x112,32x3x3,pad1,group32
  qgpu bench quantize --size 1000000
  qgpu bench conv --isa avx2 --threads 1 --output quantized
  qgpu bench model --backend cpu --backend vulkan
  qgpu bench histogram --backend vulkan
  qgpu bench --benchfmt --runs 10 > new.txt && benchstat old.txt new.txt`

// benchEngine is one opened backend.
type benchEngine struct {
	name    string
	eng     *engine.Engine
	dev     engine.DeviceInfo
	threads int
}

func cmdBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "qgpu bench [gemm|conv|quantize|dequantize|histogram|all] [flags]", benchAbout, benchExamples, stdout)
	var o benchOptions
	var shapes, backends stringList
	fs.Var(&backends, "backend", "backend to time (see qgpu devices); repeatable (default cpu)")
	fs.IntVar(&o.threads, "threads", 0, "CPU worker threads (0: GOMAXPROCS)")
	fs.Var(&shapes, "shape", "GEMM `MxKxN` or conv NxCxHxW,OxKHxKW[,padP][,strideS][,groupG]; repeatable")
	size := fs.Int("size", 16<<20, "elements for quantize, dequantize and histogram (default: a sweep in their suites)")
	fs.StringVar(&o.output, "output", "int32", "GEMM and conv output: int32, float32 or quantized (uint8)")
	fs.IntVar(&o.minRuns, "runs", 5, "minimum timed runs per case")
	fs.DurationVar(&o.minTime, "time", 300*time.Millisecond, "minimum timed duration per case")
	fs.DurationVar(&o.maxTime, "max-time", 5*time.Second, "stop timing a case after this long (at least one run; 0: no limit; quick suite: 2s)")
	noF32 := fs.Bool("no-f32", false, "skip the float32 gonum baseline")
	asJSON := fs.Bool("json", false, "print one JSON object per case per line")
	benchfmt := fs.Bool("benchfmt", false, "print Go benchmark format lines (for benchstat)")
	plotPath := fs.String("plot", "", "draw throughput against size to `FILE` (.png or .svg)")
	isa := isaFlag(fs.FlagSet)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	restoreISA, err := applyISA("bench", *isa)
	if err != nil {
		return err
	}
	defer restoreISA()
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	o.baseline = !*noF32
	if len(pos) > 1 {
		return usagef("bench: one suite at most, have %q", pos)
	}
	if err := checkThreads("bench", o.threads); err != nil {
		return err
	}
	if o.minRuns < 1 || o.minTime < 0 || o.maxTime < 0 {
		return usagef("bench: --runs must be >= 1, --time and --max-time >= 0")
	}
	if *asJSON && *benchfmt {
		return usagef("bench: --json and --benchfmt exclude each other")
	}
	switch o.output {
	case "int32", "float32", "quantized":
	default:
		return usagef("bench: --output %q: want int32, float32 or quantized", o.output)
	}
	if *plotPath != "" {
		if _, err := plotFormat("--plot", *plotPath); err != nil {
			return err
		}
	}
	if len(backends) == 0 {
		backends = stringList{"cpu"}
	}
	for i, b := range backends {
		if slices.Contains(backends[:i], b) {
			return usagef("bench: --backend %s given twice", b)
		}
	}
	suite := ""
	if len(pos) == 1 {
		suite = pos[0]
	}
	var sizes []int
	if given["size"] || suite == "" {
		sizes = []int{*size}
	}
	cases, err := benchCases(suite, shapes, sizes)
	if err != nil {
		return err
	}
	if suite == "" && !given["max-time"] {
		o.maxTime = 2 * time.Second
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if isTerminal(stderr) {
		o.progress = stderr
	}
	var engines []benchEngine
	defer func() {
		for _, e := range engines {
			e.eng.Close()
		}
	}()
	for _, name := range backends {
		eng, err := openEngine(name, o.threads)
		if err != nil {
			return err
		}
		e := benchEngine{name: eng.Backend().Name(), eng: eng, dev: eng.Backend().Device(), threads: o.threads}
		if e.threads == 0 {
			if t, err := strconv.Atoi(e.dev.Caps["threads"]); err == nil {
				e.threads = t
			} else {
				e.threads = runtime.GOMAXPROCS(0)
			}
		}
		engines = append(engines, e)
	}
	mach := machineInfo()
	anyGPU := false
	for _, e := range engines {
		anyGPU = anyGPU || e.dev.Kind != "cpu"
	}
	switch {
	case *benchfmt:
		writeBenchfmtHeader(stdout, mach, engines)
	case !*asJSON:
		fmt.Fprintf(stdout, "machine: %s, %d CPUs, GOMAXPROCS %d, %s/%s; features: %s\n", mach.CPU, mach.CPUs, runtime.GOMAXPROCS(0),
			runtime.GOOS, runtime.GOARCH, strings.Join(append(mach.Features, "")[:max(len(mach.Features), 1)], " "))
		for _, e := range engines {
			fmt.Fprintf(stdout, "backend %s: %s (%s, %s); threads %d\n", e.name, e.dev.Name, e.dev.Kind, e.dev.Driver, e.threads)
			if len(e.dev.Caps) > 0 {
				fmt.Fprintf(stdout, "  caps: %s\n", formatCaps(e.dev.Caps))
			}
		}
	}
	var tw *tabwriter.Writer
	if !*asJSON && !*benchfmt {
		tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		gpuCol := ""
		if anyGPU {
			gpuCol = "gpu\t"
		}
		fmt.Fprintf(tw, "backend\top\tshape\tout\tthr\truns\tmedian\t±mad\tmin\tmax\t%srate\tf32 (gonum)\tint8/f32\t\n", gpuCol)
	}
	enc := json.NewEncoder(stdout)
	var all []benchResult
	step, steps := 0, len(cases)*len(engines)
	for _, c := range cases {
		var base *timing
		var baseOps float64
		for _, e := range engines {
			step++
			if o.progress != nil {
				fmt.Fprintf(o.progress, "\r\033[K[%d/%d] %s %s on %s ...", step, steps, c.op, c.shape, e.name)
			}
			r, err := runBenchCase(ctx, e.eng, c, o)
			if err == nil && o.baseline && base == nil {
				if fn, ops := sgemmBaselineFor(c); fn != nil {
					threads := o.threads
					if threads == 0 {
						threads = runtime.GOMAXPROCS(0)
					}
					prev := runtime.GOMAXPROCS(threads)
					var t timing
					t, err = measure(ctx, o, fn)
					runtime.GOMAXPROCS(prev)
					base, baseOps = &t, ops
					if err == nil && *benchfmt {
						writeBenchfmtBaseline(stdout, c, threads, t, ops)
					}
				}
			}
			if o.progress != nil {
				fmt.Fprint(o.progress, "\r\033[K")
			}
			if err != nil {
				return err
			}
			r.Backend, r.Device, r.CPU, r.Threads, r.GOMAXPROCS = e.name, e.dev.Name, mach.CPU, e.threads, runtime.GOMAXPROCS(0)
			r.gpu = e.dev.Kind != "cpu"
			if base != nil {
				r.F32Seconds = base.median
				r.F32GFLOPS = baseOps / base.median / 1e9
				r.Ratio = r.GOPS / r.F32GFLOPS
			}
			all = append(all, r)
			switch {
			case *asJSON:
				if err := enc.Encode(r); err != nil {
					return err
				}
				continue
			case *benchfmt:
				writeBenchfmtResult(stdout, r)
				continue
			}
			rate, f32, ratio, gpu := "", "-", "-", ""
			if r.GOPS > 0 {
				rate = fmt.Sprintf("%.1f GOPS", r.GOPS)
			} else {
				rate = fmt.Sprintf("%.2f GB/s", r.GBps)
			}
			if r.F32GFLOPS > 0 {
				f32 = fmt.Sprintf("%.1f GFLOPS", r.F32GFLOPS)
				ratio = fmt.Sprintf("%.2fx", r.Ratio)
			}
			if anyGPU {
				gpu = "-\t"
				if r.DeviceSeconds > 0 {
					gpu = fmtSeconds(r.DeviceSeconds) + "\t"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%.1f%%\t%s\t%s\t%s%s\t%s\t%s\t\n", r.Backend, r.Op, r.Shape, r.Output, r.Threads, r.Runs,
				fmtSeconds(r.Seconds), 100*r.MADSeconds/r.Seconds, fmtSeconds(r.MinSeconds), fmtSeconds(r.MaxSeconds), gpu, rate, f32, ratio)
		}
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if err := benchTransfers(ctx, stdout, engines, o, mach, *asJSON, *benchfmt); err != nil {
		return err
	}
	if *plotPath != "" {
		if err := plotBench(*plotPath, all, mach); err != nil {
			return fmt.Errorf("bench: --plot: %w", err)
		}
		if !*asJSON && !*benchfmt {
			fmt.Fprintf(stdout, "plot: %s\n", *plotPath)
		}
	}
	return nil
}

// openEngine opens an engine on the named backend: an unknown name is a
// usage error, a backend that cannot open here a failure.
func openEngine(backend string, threads int) (*engine.Engine, error) {
	if backend != "auto" && !slices.Contains(engine.Backends(), backend) {
		return nil, usagef("unknown backend %q (compiled in: %s)", backend, strings.Join(engine.Backends(), ", "))
	}
	return engine.New(engine.Config{Backend: backend, Options: engine.Options{Threads: threads}})
}

// benchCases returns the cases of a suite; sizes are the element counts of
// the streaming ops (nil: streamSizes).
func benchCases(suite string, shapes []string, sizes []int) ([]benchCase, error) {
	for _, s := range sizes {
		if s < 1 {
			return nil, usagef("bench: --size must be positive")
		}
	}
	if len(sizes) == 0 {
		sizes = streamSizes
	}
	parse := func(def []string, f func(string) (benchCase, error)) ([]benchCase, error) {
		if len(shapes) > 0 {
			def = shapes
		}
		var cs []benchCase
		for _, s := range def {
			c, err := f(s)
			if err != nil {
				return nil, err
			}
			cs = append(cs, c)
		}
		return cs, nil
	}
	stream := func(ops ...string) []benchCase {
		var cs []benchCase
		for _, op := range ops {
			for _, n := range sizes {
				cs = append(cs, benchCase{op: op, size: n, shape: sizeShape(n)})
			}
		}
		return cs
	}
	switch suite {
	case "gemm":
		return parse(gemmSuite(), parseGemmShape)
	case "conv":
		return parse(resnet50Conv, parseConvShape)
	case "model":
		return parse(models.Names(), parseModel)
	case "quantize", "dequantize", "histogram", "all", "":
		if len(shapes) > 0 {
			if suite == "" || suite == "all" {
				return nil, usagef("bench: --shape needs a suite (gemm, conv or model)")
			}
			return nil, usagef("bench: %s takes --size, not --shape", suite)
		}
	default:
		return nil, usagef("bench: unknown suite %q (gemm, conv, quantize, dequantize, histogram, model, all, or none for the quick suite)", suite)
	}
	switch suite {
	case "quantize", "dequantize":
		return stream(suite), nil
	case "histogram":
		return stream("histogram", "minmax"), nil
	case "all":
		cs, _ := parse(gemmSuite(), parseGemmShape)
		cv, _ := parse(resnet50Conv, parseConvShape)
		cs = append(cs, cv...)
		return append(cs, stream("quantize", "dequantize", "histogram", "minmax")...), nil
	}
	cs, _ := parse(quickGemm, parseGemmShape)
	cv, _ := parse(quickConv, parseConvShape)
	cs = append(cs, cv...)
	return append(cs, stream("quantize", "dequantize", "histogram", "minmax")...), nil
}

const maxBenchDim = 1 << 16

func parseGemmShape(s string) (benchCase, error) {
	d, err := parseInts(s, "x")
	if err != nil || len(d) != 3 {
		return benchCase{}, usagef("bench: GEMM shape %q: want MxKxN", s)
	}
	for _, v := range d {
		if v < 1 || v > maxBenchDim {
			return benchCase{}, usagef("bench: GEMM shape %q: dimensions must be in [1, %d]", s, maxBenchDim)
		}
	}
	return benchCase{op: "gemm", shape: fmt.Sprintf("%dx%dx%d", d[0], d[1], d[2]), m: d[0], k: d[1], n: d[2]}, nil
}

func parseConvShape(s string) (benchCase, error) {
	bad := func(why string) (benchCase, error) {
		return benchCase{}, usagef("bench: conv shape %q: %s (want NxCxHxW,OxKHxKW[,padP][,strideS][,groupG])", s, why)
	}
	parts := strings.Split(s, ",")
	if len(parts) < 2 {
		return bad("too few parts")
	}
	x, err := parseInts(parts[0], "x")
	if err != nil || len(x) != 4 {
		return bad("input is not NxCxHxW")
	}
	w, err := parseInts(parts[1], "x")
	if err != nil || len(w) != 3 {
		return bad("weights are not OxKHxKW")
	}
	c := benchCase{op: "conv", cn: x[0], cc: x[1], ch: x[2], cw: x[3], co: w[0], kh: w[1], kw: w[2], stride: 1, group: 1}
	for _, p := range parts[2:] {
		var dst *int
		var num string
		switch {
		case strings.HasPrefix(p, "pad"):
			dst, num = &c.pad, p[3:]
		case strings.HasPrefix(p, "stride"):
			dst, num = &c.stride, p[6:]
		case strings.HasPrefix(p, "group"):
			dst, num = &c.group, p[5:]
		default:
			return bad(fmt.Sprintf("unknown part %q", p))
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return bad(fmt.Sprintf("bad number in %q", p))
		}
		*dst = v
	}
	for _, v := range []int{c.cn, c.cc, c.ch, c.cw, c.co, c.kh, c.kw, c.stride, c.group} {
		if v < 1 || v > maxBenchDim {
			return bad(fmt.Sprintf("sizes must be in [1, %d]", maxBenchDim))
		}
	}
	if c.pad < 0 || c.pad > maxBenchDim {
		return bad("bad padding")
	}
	if c.cc%c.group != 0 || c.co%c.group != 0 {
		return bad("group must divide C and O")
	}
	c.shape = s
	return c, nil
}

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

func benchOutput(o benchOptions, k int) engine.OutputOptions {
	switch o.output {
	case "float32":
		return engine.OutputOptions{Output: engine.OutFloat32}
	case "quantized":
		// A y_scale that keeps typical accumulators inside uint8.
		ys := float32(benchAScale * benchBScale * 64 * math.Sqrt(float64(k)))
		return engine.OutputOptions{Output: engine.OutQuantized, YType: qtensor.Uint8, YScale: ys, YZP: 128}
	}
	return engine.OutputOptions{}
}

func upload(eng *engine.Engine, d qtensor.DType, shape []int, p qtensor.Params, data []byte) (*engine.Tensor, error) {
	return eng.Upload(&qtensor.Tensor{DType: d, Shape: shape, Params: p, Data: data})
}

// runBenchCase uploads the case's operands, records one batch and times it.
func runBenchCase(ctx context.Context, eng *engine.Engine, c benchCase, o benchOptions) (benchResult, error) {
	r := benchResult{Op: c.op, Shape: c.shape}
	var inputs []*engine.Tensor
	defer func() {
		for _, t := range inputs {
			t.Release()
		}
	}()
	b := eng.NewBatch()
	var ops float64   // operations per run (GEMM and conv)
	var bytes float64 // bytes moved per run (quantize, dequantize, histogram, minmax)
	switch c.op {
	case "gemm":
		r.Output = o.output
		a, err := upload(eng, qtensor.Uint8, []int{c.m, c.k}, qtensor.TensorParams(benchAScale, 128), benchData(c.m*c.k, 1, randU8))
		if err != nil {
			return r, err
		}
		inputs = append(inputs, a)
		w, err := upload(eng, qtensor.Int8, []int{c.k, c.n}, qtensor.TensorParams(benchBScale, 0), benchData(c.k*c.n, 2, randS8))
		if err != nil {
			return r, err
		}
		inputs = append(inputs, w)
		y, err := b.Gemm(a, w, engine.GemmOptions{OutputOptions: benchOutput(o, c.k)})
		if err != nil {
			return r, err
		}
		inputs = append(inputs, y)
		ops = 2 * float64(c.m) * float64(c.n) * float64(c.k)
	case "conv":
		r.Output = o.output
		x, err := upload(eng, qtensor.Uint8, []int{c.cn, c.cc, c.ch, c.cw}, qtensor.TensorParams(benchAScale, 128), benchData(c.cn*c.cc*c.ch*c.cw, 3, randU8))
		if err != nil {
			return r, err
		}
		inputs = append(inputs, x)
		cg := c.cc / c.group
		w, err := upload(eng, qtensor.Int8, []int{c.co, cg, c.kh, c.kw}, qtensor.TensorParams(benchBScale, 0), benchData(c.co*cg*c.kh*c.kw, 4, randS8))
		if err != nil {
			return r, err
		}
		inputs = append(inputs, w)
		p := c.pad
		y, err := b.Conv(x, w, engine.ConvOptions{Pads: []int{p, p, p, p}, Strides: []int{c.stride, c.stride}, Group: c.group,
			OutputOptions: benchOutput(o, cg*c.kh*c.kw)})
		if err != nil {
			return r, err
		}
		inputs = append(inputs, y)
		oh, ow := y.Dim(2), y.Dim(3)
		if eh, ew := convOut(c); eh != oh || ew != ow {
			return r, fmt.Errorf("bench: conv %s: output %dx%d, expected %dx%d", c.shape, oh, ow, eh, ew)
		}
		ops = 2 * float64(c.cn) * float64(c.co) * float64(oh*ow) * float64(cg*c.kh*c.kw)
	case "quantize":
		x, err := eng.UploadFloat32([]int{c.size}, randF32(c.size, 5, -2.5, 2.5))
		if err != nil {
			return r, err
		}
		inputs = append(inputs, x)
		y, err := b.Quantize(x, qtensor.Uint8, qtensor.TensorParams(benchAScale, 128), qtensor.RoundONNX)
		if err != nil {
			return r, err
		}
		inputs = append(inputs, y)
		bytes = 5 * float64(c.size)
		r.Output = "uint8"
	case "dequantize":
		x, err := upload(eng, qtensor.Uint8, []int{c.size}, qtensor.TensorParams(benchAScale, 128), benchData(c.size, 6, randU8))
		if err != nil {
			return r, err
		}
		inputs = append(inputs, x)
		y, err := b.Dequantize(x)
		if err != nil {
			return r, err
		}
		inputs = append(inputs, y)
		bytes = 5 * float64(c.size)
		r.Output = "float32"
	case "histogram", "minmax":
		x, err := eng.UploadFloat32([]int{c.size}, randF32(c.size, 9, -2.5, 2.5))
		if err != nil {
			return r, err
		}
		inputs = append(inputs, x)
		var y *engine.Tensor
		if c.op == "histogram" {
			// The calibration histogram: bin width 2^-8, 2048 bins from
			// grid index -1024 (values in [-4, 4)).
			y, err = b.HistogramAligned(x, -8, -1024, 2048)
			r.Output = "2048 bins"
		} else {
			y, err = b.MinMax(x, -1)
			r.Output = "min/max"
		}
		if err != nil {
			return r, err
		}
		inputs = append(inputs, y)
		bytes = 4 * float64(c.size)
	case "model":
		m, err := models.Build(c.shape, eng, func() *engine.Batch { return b })
		if err != nil {
			return r, err
		}
		inputs = append(inputs, m.Tensors...)
		ops = m.Ops
		r.Output = "uint8"
	default:
		return r, fmt.Errorf("bench: unknown op %q", c.op)
	}
	var dev []float64
	st, err := measure(ctx, o, func() error {
		t, err := b.RunTimed(ctx)
		if len(t) > 0 {
			s := 0.0
			for _, v := range t {
				s += v
			}
			dev = append(dev, s)
		}
		return err
	})
	if err != nil {
		return r, err
	}
	r.Runs, r.Seconds, r.MinSeconds, r.MaxSeconds, r.MADSeconds = st.runs, st.median, st.min, st.max, st.mad
	r.times = st.times
	if len(dev) > 0 {
		// The warm-up run's device time comes first when it was not timed.
		r.devTimes = dev[len(dev)-min(len(dev), st.runs):]
		r.DeviceSeconds = median(r.devTimes)
	}
	if ops > 0 {
		r.GOPS = ops / r.Seconds / 1e9
		r.Ops = ops
	}
	if bytes > 0 {
		r.GBps = bytes / r.Seconds / 1e9
		r.Elements = c.size
	}
	return r, nil
}

// convOut returns the output height and width of a conv case.
func convOut(c benchCase) (oh, ow int) {
	return (c.ch+2*c.pad-c.kh)/c.stride + 1, (c.cw+2*c.pad-c.kw)/c.stride + 1
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

type timing struct {
	runs                  int
	median, min, max, mad float64
	times                 []float64 // every timed run, in order
}

// measure runs fn once to warm up, then at least o.minRuns times and for
// at least o.minTime (at most 10000 runs), but stops once o.maxTime is
// spent after one timed run; a warm-up run that took longer than 1 s
// counts as a timed run (its start-up cost is negligible then). It returns
// statistics of the timed runs in seconds.
func measure(ctx context.Context, o benchOptions, fn func() error) (timing, error) {
	var ts []float64
	var total time.Duration
	t0 := time.Now()
	if err := fn(); err != nil {
		return timing{}, err
	}
	if d := time.Since(t0); d > time.Second {
		ts = append(ts, d.Seconds())
		total += d
	}
	for len(ts) < o.minRuns || (total < o.minTime && len(ts) < 10000) {
		if len(ts) > 0 && o.maxTime > 0 && total >= o.maxTime {
			break
		}
		if err := ctx.Err(); err != nil {
			return timing{}, err
		}
		t0 := time.Now()
		if err := fn(); err != nil {
			return timing{}, err
		}
		d := time.Since(t0)
		total += d
		ts = append(ts, d.Seconds())
	}
	med := median(ts)
	dev := make([]float64, len(ts))
	for i, t := range ts {
		dev[i] = math.Abs(t - med)
	}
	return timing{runs: len(ts), median: med, min: slices.Min(ts), max: slices.Max(ts), mad: median(dev), times: ts}, nil
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

// parseModel returns the bench case of a model name (models.Names).
func parseModel(s string) (benchCase, error) {
	if !slices.Contains(models.Names(), s) {
		return benchCase{}, usagef("bench: unknown model %q (want one of %s)", s, strings.Join(models.Names(), ", "))
	}
	return benchCase{op: "model", shape: s}, nil
}
