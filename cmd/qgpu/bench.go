package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/qgpu/qgpu/engine"
)

func init() {
	register(&command{name: "bench", summary: "time GEMM, conv, quantize, dequantize and calibration passes on backends", run: cmdBench})
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
	// WarmupSeconds is the untimed first run (pipeline creation on GPU
	// backends, first-touch page faults).
	WarmupSeconds float64 `json:"warmup_seconds"`
	// DeviceSeconds is the median device time (GPU timestamps) when the
	// backend measures it.
	DeviceSeconds float64 `json:"device_seconds,omitempty"`
	GOPS          float64 `json:"gops,omitempty"`
	GBps          float64 `json:"gbps,omitempty"`
	Ops           float64 `json:"ops,omitempty"`      // operations per run (GEMM, conv)
	Elements      int     `json:"elements,omitempty"` // elements per run (quantize, dequantize, histogram, minmax)
	// The float32 baseline: gonum's Sgemm on the same GEMM (for conv, the
	// im2col GEMM of the same layer, im2col itself not timed), with
	// GOMAXPROCS set to Threads. F32GFLOPS is the rate of its fastest run,
	// Ratio the rate of the fastest int8 run over it (setBaseline).
	F32Seconds    float64 `json:"f32_seconds,omitempty"` // median
	F32MinSeconds float64 `json:"f32_min_seconds,omitempty"`
	F32GFLOPS     float64 `json:"f32_gflops,omitempty"`
	Ratio         float64 `json:"int8_f32_ratio,omitempty"`
	// Warnings say why the numbers of this case mean little: too few
	// runs, a wide spread (of the case or of its baseline).
	Warnings []string `json:"warnings,omitempty"`

	times    []float64 // wall seconds of each timed run, in order
	devTimes []float64 // device seconds of each timed run (GPU backends)
	gpu      bool      // the backend's device is not the CPU
	f32      *timing   // the baseline's runs
}

type benchOptions struct {
	threads  int
	output   string
	minRuns  int
	minTime  time.Duration
	maxTime  time.Duration
	baseline bool
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
  matmulnbits MatMulNBits, float32 activations times uint4 weights (zero point
              8) in blocks along K, --shape MxKxN[,bBLOCK][,int8] (block 32 by
              default; int8: the int8-activation mode). Default: LLaMA-7B's
              layers (4096x4096, 4096x11008, 11008x4096 as KxN) at M = 1, 16,
              128, both modes; GB/s counts the packed weight and scale bytes.
              Not part of all
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

// benchFlags are the flags of bench.
type benchFlags struct {
	o                       benchOptions
	shapes, backends        stringList
	size                    *int
	noF32, asJSON, benchfmt *bool
	plot, isa               *string
}

func newBenchFlags(stdout io.Writer) (*flagSet, *benchFlags) {
	fs := newFlagSet("bench", "qgpu bench [gemm|conv|quantize|dequantize|histogram|model|all] [flags]", benchAbout, benchExamples, stdout)
	f := &benchFlags{}
	fs.Var(&f.backends, "backend", "backend to time (see qgpu devices); repeatable: every case runs on each (default cpu)")
	fs.IntVar(&f.o.threads, "threads", 0, "CPU worker threads (0: GOMAXPROCS)")
	fs.Var(&f.shapes, "shape", "GEMM `MxKxN` or conv NxCxHxW,OxKHxKW[,padP][,strideS][,groupG]; repeatable: one case each")
	f.size = fs.Int("size", 16<<20, "elements for quantize, dequantize and histogram (default: a sweep in their suites)")
	fs.StringVar(&f.o.output, "output", "int32", "GEMM and conv output: int32, float32 or quantized (uint8)")
	fs.IntVar(&f.o.minRuns, "runs", 5, "minimum timed runs per case (after an untimed warm-up run)")
	fs.DurationVar(&f.o.minTime, "time", 300*time.Millisecond, "minimum timed duration per case")
	fs.DurationVar(&f.o.maxTime, "max-time", 5*time.Second, "stop timing a case after this long (at least one run; 0: no limit; quick suite: 2s)")
	f.noF32 = fs.Bool("no-f32", false, "skip the float32 gonum baseline")
	f.asJSON = fs.Bool("json", false, "print one JSON object per case per line")
	f.benchfmt = fs.Bool("benchfmt", false, "print Go benchmark format lines (for benchstat)")
	f.plot = fs.String("plot", "", "draw throughput against size to `FILE` (.png or .svg)")
	f.isa = isaFlag(fs.FlagSet)
	return fs, f
}

func cmdBench(args []string, stdout, stderr io.Writer) error {
	fs, f := newBenchFlags(stdout)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	cases, err := f.check(pos, fs.given())
	if err != nil {
		return err
	}
	restoreISA, err := applyISA("bench", *f.isa)
	if err != nil {
		return err
	}
	defer restoreISA()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	engines, err := openBenchEngines(f.backends, f.o.threads)
	defer func() {
		for _, e := range engines {
			e.eng.Close()
		}
	}()
	if err != nil {
		return err
	}
	out := newBenchOutput(stdout, f, engines)
	results, err := runBenchCases(ctx, cases, engines, f.o, out, newProgress(stderr))
	if err != nil {
		return err
	}
	if err := out.flush(); err != nil {
		return err
	}
	if err := benchTransfers(ctx, stdout, engines, f.o, out.mach, *f.asJSON, *f.benchfmt); err != nil {
		return err
	}
	out.legend()
	if *f.plot != "" {
		if err := plotBench(*f.plot, results, out.mach); err != nil {
			return fmt.Errorf("bench: --plot: %w", err)
		}
		if out.table != nil {
			fmt.Fprintf(stdout, "plot: %s\n", *f.plot)
		}
	}
	return nil
}

// check validates the flags and returns the cases to run.
func (f *benchFlags) check(pos []string, given map[string]bool) ([]benchCase, error) {
	f.o.baseline = !*f.noF32
	switch {
	case len(pos) > 1:
		return nil, usagef("bench: one suite at most, have %q", pos)
	case f.o.minRuns < 1 || f.o.minTime < 0 || f.o.maxTime < 0:
		return nil, usagef("bench: --runs must be >= 1, --time and --max-time >= 0")
	case *f.asJSON && *f.benchfmt:
		return nil, usagef("bench: --json and --benchfmt exclude each other")
	}
	if err := checkThreads("bench", f.o.threads); err != nil {
		return nil, err
	}
	switch f.o.output {
	case "int32", "float32", "quantized":
	default:
		return nil, usagef("bench: --output %q: want int32, float32 or quantized", f.o.output)
	}
	if *f.plot != "" {
		if _, err := plotFormat("--plot", *f.plot); err != nil {
			return nil, err
		}
	}
	if len(f.backends) == 0 {
		f.backends = stringList{"cpu"}
	}
	for i, b := range f.backends {
		if slices.Contains(f.backends[:i], b) {
			return nil, usagef("bench: --backend %s given twice", b)
		}
	}
	suite := ""
	if len(pos) == 1 {
		suite = pos[0]
	}
	var sizes []int
	if given["size"] || suite == "" {
		sizes = []int{*f.size}
	}
	if suite == "" && !given["max-time"] {
		f.o.maxTime = 2 * time.Second
	}
	return benchCases(suite, f.shapes, sizes)
}

// openBenchEngines opens every backend (the engines opened so far are
// returned with an error, to be closed).
func openBenchEngines(backends []string, threads int) ([]benchEngine, error) {
	var engines []benchEngine
	for _, name := range backends {
		eng, err := openEngine(name, threads)
		if err != nil {
			return engines, err
		}
		e := benchEngine{name: eng.Backend().Name(), eng: eng, dev: eng.Backend().Device(), threads: threads}
		if e.threads == 0 {
			if t, err := strconv.Atoi(e.dev.Caps["threads"]); err == nil {
				e.threads = t
			} else {
				e.threads = runtime.GOMAXPROCS(0)
			}
		}
		engines = append(engines, e)
	}
	return engines, nil
}

// runBenchCases times every case on every engine (and its float32
// baseline once per case), handing each result to out.
func runBenchCases(ctx context.Context, cases []benchCase, engines []benchEngine, o benchOptions, out *benchOutput, prog *progress) ([]benchResult, error) {
	var all []benchResult
	step, steps := 0, len(cases)*len(engines)
	threads := o.threads
	if threads == 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	for _, c := range cases {
		var base *baseline
		for i, e := range engines {
			step++
			prog.update(true, "[%d/%d] %s %s on %s ...", step, steps, c.op, c.shape, e.name)
			r, err := runBenchCase(ctx, e.eng, c, o)
			if err == nil && o.baseline && i == 0 {
				prog.update(true, "[%d/%d] %s %s: float32 baseline (gonum) ...", step, steps, c.op, c.shape)
				if base, err = measureBaseline(ctx, c, o, threads); err == nil && base != nil {
					out.baseline(c, threads, base)
				}
			}
			prog.done()
			if err != nil {
				return nil, err
			}
			r.Backend, r.Device, r.CPU, r.Threads, r.GOMAXPROCS = e.name, e.dev.Name, out.mach.CPU, e.threads, runtime.GOMAXPROCS(0)
			r.gpu = e.dev.Kind != "cpu"
			r.Warnings = timing{runs: r.Runs, median: r.Seconds, mad: r.MADSeconds}.warnings("")
			if base != nil {
				r.setBaseline(base)
				r.Warnings = append(r.Warnings, base.t.warnings("f32 ")...)
			}
			all = append(all, r)
			if err := out.result(r); err != nil {
				return nil, err
			}
		}
	}
	return all, nil
}

// benchOutput prints results as they come: JSON lines, benchfmt lines or
// the table (flushed, with its legend, by finish).
type benchOutput struct {
	w        io.Writer
	mach     machine
	json     *json.Encoder // --json
	benchfmt bool
	table    *tabwriter.Writer // the text table
	gpuCol   bool
	warned   bool // some row has a warning
}

func newBenchOutput(w io.Writer, f *benchFlags, engines []benchEngine) *benchOutput {
	out := &benchOutput{w: w, mach: machineInfo(), benchfmt: *f.benchfmt}
	for _, e := range engines {
		out.gpuCol = out.gpuCol || e.dev.Kind != "cpu"
	}
	switch {
	case *f.asJSON:
		out.json = json.NewEncoder(w)
	case *f.benchfmt:
		writeBenchfmtHeader(w, out.mach, engines)
	default:
		out.header(engines)
		out.table = newTable(w)
		gpuCol := ""
		if out.gpuCol {
			gpuCol = "gpu\t"
		}
		fmt.Fprintf(out.table, "backend\top\tshape\tout\tthr\truns\tmedian\t±mad\tmin\tmax\t%srate\tf32 (gonum)\tint8/f32\t\n", gpuCol)
	}
	return out
}

// header prints the machine and each backend's device, capabilities
// wrapped.
func (out *benchOutput) header(engines []benchEngine) {
	m := out.mach
	fmt.Fprintf(out.w, "machine: %s, %d CPUs, GOMAXPROCS %d, %s/%s; features: %s\n", m.CPU, m.CPUs, runtime.GOMAXPROCS(0),
		runtime.GOOS, runtime.GOARCH, strings.Join(m.Features, " "))
	for _, e := range engines {
		fmt.Fprintf(out.w, "backend %s: %s (%s, %s); threads %d\n", e.name, e.dev.Name, e.dev.Kind, e.dev.Driver, e.threads)
		if len(e.dev.Caps) > 0 {
			writeCaps(out.w, "  caps: ", e.dev.Caps)
		}
	}
}

// baseline prints the float32 baseline's benchfmt lines.
func (out *benchOutput) baseline(c benchCase, threads int, b *baseline) {
	if out.benchfmt {
		writeBenchfmtBaseline(out.w, c, threads, b.t, b.ops)
	}
}

// result prints one result.
func (out *benchOutput) result(r benchResult) error {
	switch {
	case out.json != nil:
		return out.json.Encode(r)
	case out.benchfmt:
		writeBenchfmtResult(out.w, r)
		return nil
	}
	rate, f32, ratio, gpu := "", "-", "-", ""
	if r.GOPS > 0 {
		rate = fmtRate(r.GOPS, "GOPS")
	} else {
		rate = fmtRate(r.GBps, "GB/s")
	}
	if r.F32GFLOPS > 0 {
		f32 = fmtRate(r.F32GFLOPS, "GFLOPS")
		ratio = fmt.Sprintf("%.1fx", r.Ratio)
	}
	if out.gpuCol {
		gpu = "-\t"
		if r.DeviceSeconds > 0 {
			gpu = fmtSeconds(r.DeviceSeconds) + "\t"
		}
	}
	note := ""
	if len(r.Warnings) > 0 {
		note = "  ! " + strings.Join(r.Warnings, ", ")
		out.warned = true
	}
	fmt.Fprintf(out.table, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%.1f%%\t%s\t%s\t%s%s\t%s\t%s\t%s\n", r.Backend, r.Op, r.Shape, r.Output, r.Threads, r.Runs,
		fmtSeconds(r.Seconds), 100*r.MADSeconds/r.Seconds, fmtSeconds(r.MinSeconds), fmtSeconds(r.MaxSeconds), gpu, rate, f32, ratio, note)
	return nil
}

// fmtRate prints a rate with one decimal from 10 up, else 3 significant
// digits (a slow case reads 0.0123 GOPS, not 0.0).
func fmtRate(v float64, unit string) string {
	if v >= 10 {
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%.3g %s", v, unit)
}

// benchLegend explains the table's columns.
const benchLegend = `legend: median/min/max: wall time of one run (after an untimed warm-up run);
±mad: median absolute deviation, % of the median; thr: worker threads; out: what the op
makes ("2048 bins": a histogram); gpu: device time; rate: GOPS = 2·M·N·K/median, or GB/s
read and written; f32 (gonum): gonum's Sgemm on the same GEMM, fastest run; int8/f32:
fastest int8 run over fastest f32 run (other load only adds time).`

// flush writes the table out.
func (out *benchOutput) flush() error {
	if out.table == nil {
		return nil
	}
	return out.table.Flush()
}

// legend prints what the columns and the warnings mean.
func (out *benchOutput) legend() {
	if out.table == nil {
		return
	}
	w := lineWidth(out.w)
	fmt.Fprint(out.w, "\n"+wrapText("", benchLegend, w))
	if out.warned {
		fmt.Fprint(out.w, wrapText("", fmt.Sprintf("!: the row's numbers say little: fewer than %d timed runs (the case reached --max-time), or a spread over ±%.0f%% (other load on the machine: rerun, or raise --time).", minSoundRuns, 100*maxSoundSpread), w))
	}
}
