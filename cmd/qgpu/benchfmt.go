package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
)

// The Go benchmark format (golang.org/design/14313-benchmark-format, as
// golang.org/x/perf/benchfmt reads it): "key: value" configuration lines
// (lower-case keys without spaces), "Unit" metadata lines, and result lines
// "BenchmarkName-P  iterations  value unit  value unit ...".

// benchfmtOp is the benchmark name of an op.
var benchfmtOp = map[string]string{
	"gemm": "Gemm", "conv": "Conv", "quantize": "Quantize", "dequantize": "Dequantize",
	"histogram": "Histogram", "minmax": "MinMax", "model": "Model",
}

// benchfmtGroups is the most result lines one case prints: its timed runs
// are split into at most this many consecutive groups, one line each, so
// that benchstat sees several samples.
const benchfmtGroups = 10

// benchfmtValue replaces characters the benchmark name cannot hold.
func benchfmtValue(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '/' || r == ' ' || r == '\t':
			return '_'
		}
		return r
	}, s)
}

func writeBenchfmtHeader(w io.Writer, m machine, engines []benchEngine) {
	fmt.Fprintf(w, "goos: %s\ngoarch: %s\npkg: github.com/qgpu/qgpu/cmd/qgpu\ncpu: %s\n", runtime.GOOS, runtime.GOARCH, m.CPU)
	if len(m.Features) > 0 {
		fmt.Fprintf(w, "cpu-features: %s\n", strings.Join(m.Features, " "))
	}
	fmt.Fprintf(w, "qgpu-version: %s\n", versionString())
	for _, e := range engines {
		fmt.Fprintf(w, "backend-%s: %s (%s, %s)\n", strings.ToLower(benchfmtValue(e.name)), e.dev.Name, e.dev.Kind, e.dev.Driver)
	}
	for _, u := range []string{"GOPS", "GFLOPS", "GB/s"} {
		fmt.Fprintf(w, "Unit %s better=higher\n", u)
	}
}

// writeBenchfmtLines prints the result lines of one set of timed runs:
// name, then per group of runs the run count, the mean ns/op and the rate
// (work per run / mean time, in unit), and the mean device time when dev
// has one entry per run.
func writeBenchfmtLines(w io.Writer, name string, times, dev []float64, work float64, unit string) {
	if len(times) == 0 {
		return
	}
	for _, g := range arraySplit(len(times), min(len(times), benchfmtGroups)) {
		var sum, dsum float64
		for _, t := range times[g[0]:g[1]] {
			sum += t
		}
		n := g[1] - g[0]
		mean := sum / float64(n)
		fmt.Fprintf(w, "%s\t%d\t%.0f ns/op\t%.4g %s", name, n, mean*1e9, work/mean/1e9, unit)
		if len(dev) == len(times) {
			for _, t := range dev[g[0]:g[1]] {
				dsum += t
			}
			fmt.Fprintf(w, "\t%.0f gpu-ns/op", dsum/float64(n)*1e9)
		}
		fmt.Fprintln(w)
	}
}

func writeBenchfmtResult(w io.Writer, r benchResult) {
	name := "Benchmark" + benchfmtOp[r.Op] + "/backend=" + benchfmtValue(r.Backend) + "/shape=" + benchfmtValue(r.Shape)
	if r.Op == "gemm" || r.Op == "conv" {
		name += "/out=" + benchfmtValue(r.Output)
	}
	name += fmt.Sprintf("/threads=%d-%d", r.Threads, r.GOMAXPROCS)
	if r.Ops > 0 {
		writeBenchfmtLines(w, name, r.times, r.devTimes, r.Ops, "GOPS")
	} else {
		bytes := 5.0
		if r.Op == "histogram" || r.Op == "minmax" {
			bytes = 4
		}
		writeBenchfmtLines(w, name, r.times, r.devTimes, bytes*float64(r.Elements), "GB/s")
	}
}

func writeBenchfmtBaseline(w io.Writer, c benchCase, threads int, t timing, ops float64) {
	name := fmt.Sprintf("Benchmark%sF32/impl=gonum/shape=%s/threads=%d-%d", benchfmtOp[c.op], benchfmtValue(c.shape), threads, runtime.GOMAXPROCS(0))
	writeBenchfmtLines(w, name, t.times, nil, ops, "GFLOPS")
}
