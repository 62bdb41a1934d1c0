package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/bench/models"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/tests"
)

// qgpu runs the command in-process and returns the exit status and output.
func qgpu(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// wantUsageError checks exit status 2 and a single "qgpu: " line on stderr
// containing want.
func wantError(t *testing.T, wantCode int, want string, args ...string) {
	t.Helper()
	code, _, stderr := qgpu(t, args...)
	if code != wantCode {
		t.Errorf("qgpu %q: exit %d, want %d (stderr %q)", args, code, wantCode, stderr)
	}
	if !strings.HasPrefix(stderr, "qgpu: ") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("qgpu %q: stderr %q is not one line starting with \"qgpu: \"", args, stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("qgpu %q: stderr %q does not mention %q", args, stderr, want)
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"devices", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"devices", "extra"}, `unexpected argument "extra"`},
		{[]string{"bench", "fft"}, `unknown suite "fft"`},
		{[]string{"bench", "gemm", "--shape", "12x12"}, `GEMM shape "12x12"`},
		{[]string{"bench", "gemm", "--shape", "0x1x1"}, "dimensions must be in"},
		{[]string{"bench", "conv", "--shape", "1x4x8x8,6x3x3,group4"}, "group must divide"},
		{[]string{"bench", "conv", "--shape", "1x4x8x8,6x3x3,padx"}, "bad number"},
		{[]string{"bench", "--shape", "8x8x8"}, "--shape needs a suite"},
		{[]string{"bench", "quantize", "--size", "0"}, "--size must be positive"},
		{[]string{"bench", "gemm", "--backend", "nosuch"}, `unknown backend "nosuch"`},
		{[]string{"bench", "gemm", "--threads", "x"}, "invalid value"},
		{[]string{"bench", "gemm", "--output", "int4"}, "--output"},
		{[]string{"bench", "gemm", "--threads", "-1"}, "--threads -1 outside [0, "},
		{[]string{"bench", "gemm", "--threads", "1000000"}, "--threads 1000000 outside [0, "},
		{[]string{"run", "MatMulInteger", "--threads", "-2", "--in", "a.npy", "--in", "b.npy", "--out", "y.npy"}, "--threads -2 outside [0, "},
		{[]string{"run", "MatMulInteger", "--threads", "1000000", "--in", "a.npy", "--in", "b.npy", "--out", "y.npy"}, "--threads 1000000 outside [0, "},
	}
	for _, c := range cases {
		wantError(t, 2, c.want, c.args...)
	}
	if code, _, stderr := qgpu(t); code != 2 || !strings.Contains(stderr, "Usage: qgpu <command>") {
		t.Errorf("qgpu with no arguments: exit %d, stderr %q", code, stderr)
	}
}

func TestHelp(t *testing.T) {
	code, out, _ := qgpu(t, "help")
	if code != 0 || !strings.Contains(out, "devices") || !strings.Contains(out, "bench") {
		t.Fatalf("help: exit %d, output %q", code, out)
	}
	for name := range commands {
		for _, args := range [][]string{{name, "-h"}, {"help", name}} {
			code, out, stderr := qgpu(t, args...)
			if code != 0 || stderr != "" {
				t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
			}
			if !strings.Contains(out, "Usage: qgpu "+name) || !strings.Contains(out, "Examples:") {
				t.Errorf("%q: usage lacks synopsis or examples:\n%s", args, out)
			}
		}
	}
	if code, out, _ := qgpu(t, "version"); code != 0 || !strings.HasPrefix(out, "qgpu ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

func TestDevices(t *testing.T) {
	code, out, stderr := qgpu(t, "devices", "--json")
	if code != 0 {
		t.Fatalf("devices: exit %d, %s", code, stderr)
	}
	found := false
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r deviceReport
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if !r.Available && r.Reason == "" {
			t.Errorf("%s unavailable without a reason", r.Backend)
		}
		if r.Backend == "cpu" {
			found = true
			if !r.Available || r.Kind != "cpu" || r.Name == "" {
				t.Errorf("cpu backend: %+v", r)
			}
		}
	}
	if !found {
		t.Errorf("cpu backend not listed: %s", out)
	}
}

func TestParseInterleaved(t *testing.T) {
	fs := newFlagSet("x", "qgpu x", "", "", nil)
	var l stringList
	fs.Var(&l, "in", "")
	b := fs.Bool("json", false, "")
	pos, err := fs.parse([]string{"A", "--in", "a.npy", "B", "--json", "--in", "b.npy", "--", "-C"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(pos, " ") != "A B -C" || strings.Join(l, " ") != "a.npy b.npy" || !*b {
		t.Errorf("positional %q, in %q, json %v", pos, l, *b)
	}
}

func TestBenchJSON(t *testing.T) {
	// One tiny case of each kind; checks the fields and that the rates
	// follow from the timings (2*M*N*K / seconds and 5 bytes per element).
	for _, args := range [][]string{
		{"bench", "gemm", "--shape", "8x16x4", "--runs", "2", "--time", "0", "--json"},
		{"bench", "conv", "--shape", "1x2x5x5,4x3x3,pad1", "--runs", "2", "--time", "0", "--json", "--output", "quantized"},
		{"bench", "quantize", "--size", "1000", "--runs", "2", "--time", "0", "--json"},
		{"bench", "dequantize", "--size", "1000", "--runs", "2", "--time", "0", "--json", "--no-f32"},
	} {
		code, out, stderr := qgpu(t, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, stderr)
		}
		var r benchResult
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%q: %v in %q", args, err, out)
		}
		if r.Backend != "cpu" || r.Threads < 1 || r.Runs < 2 || r.Seconds <= 0 || r.MinSeconds > r.Seconds || r.MaxSeconds < r.Seconds {
			t.Errorf("%q: %+v", args, r)
		}
		var want float64
		switch r.Op {
		case "gemm":
			want = 2 * 8 * 16 * 4 / r.Seconds / 1e9
		case "conv":
			want = 2 * 4 * 25 * 2 * 9 / r.Seconds / 1e9
		default:
			want = 5 * 1000 / r.Seconds / 1e9
		}
		got := r.GOPS + r.GBps
		if d := got/want - 1; d > 1e-9 || d < -1e-9 {
			t.Errorf("%q: rate %g, want %g", args, got, want)
		}
		if (r.Op == "gemm" || r.Op == "conv") && (r.F32GFLOPS <= 0 || r.Ratio <= 0) {
			t.Errorf("%q: no f32 baseline: %+v", args, r)
		}
	}
}

func TestConformance(t *testing.T) {
	wantError(t, 2, `unknown backend "tpu"`, "conformance", "--backend", "tpu")
	wantError(t, 2, "--run", "conformance", "--run", "(")
	code, out, stderr := qgpu(t, "conformance", "--backend", "cpu", "--run", "^(Gemm|Quantize)/", "--json")
	if code != 0 {
		t.Fatalf("conformance: exit %d: %s", code, stderr)
	}
	ops := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var l conformanceLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if l.Backend != "cpu" || l.Status != "pass" {
			t.Errorf("cpu against itself: %+v", l)
		}
		ops[l.Op]++
	}
	if len(ops) != 2 || ops["Gemm"] == 0 || ops["Quantize"] == 0 {
		t.Errorf("--run selected ops %v, want Gemm and Quantize", ops)
	}
	code, out, _ = qgpu(t, "conformance", "--backend", "cpu", "--run", "^ReLU/")
	if code != 0 || !strings.Contains(out, "ReLU") || !strings.Contains(out, "pass") || strings.Contains(out, "Gemm") {
		t.Errorf("matrix: exit %d:\n%s", code, out)
	}
}

func TestConformanceCell(t *testing.T) {
	cases := []struct {
		unavailable bool
		s           tests.OpSummary
		want        string
	}{
		{true, tests.OpSummary{}, "unavailable"},
		{false, tests.OpSummary{}, "-"},
		{false, tests.OpSummary{Pass: 3, Fail: 1}, "FAIL 1/4"},
		{false, tests.OpSummary{Unsupported: 2}, "unsupported"},
		{false, tests.OpSummary{Pass: 2, Unsupported: 1}, "pass 2, unsupported 1"},
		{false, tests.OpSummary{Pass: 5}, "pass 5"},
	}
	for _, c := range cases {
		if got := cell(c.unavailable, c.s); got != c.want {
			t.Errorf("cell(%v, %+v) = %q, want %q", c.unavailable, c.s, got, c.want)
		}
	}
}

// TestISAFlag checks --isa: each supported instruction set shows in the
// CPU's caps line of bench and passes conformance, the choice is undone
// when the command returns, and bad or unsupported names are errors.
func TestISAFlag(t *testing.T) {
	wantError(t, 2, `--isa "sse2"`, "bench", "gemm", "--isa", "sse2")
	wantError(t, 2, `--isa "sse2"`, "conformance", "--isa", "sse2")
	before := cpu.CurrentISA()
	for _, isa := range cpuISAs {
		if !cpu.SupportedISA(isa) {
			wantError(t, 1, "lacks it", "bench", "gemm", "--isa", isa.String())
			continue
		}
		code, out, stderr := qgpu(t, "bench", "gemm", "--shape", "8x16x4", "--runs", "1", "--time", "0", "--no-f32", "--isa", isa.String())
		if code != 0 || !strings.Contains(out, "kernels=fast (gemm "+isa.String()+",") {
			t.Errorf("bench --isa %v: exit %d, output:\n%s%s", isa, code, out, stderr)
		}
		code, out, stderr = qgpu(t, "conformance", "--backend", "cpu", "--run", "^(Gemm|Conv)/", "--isa", isa.String())
		if code != 0 || !strings.Contains(out, "pass") {
			t.Errorf("conformance --isa %v: exit %d, output:\n%s%s", isa, code, out, stderr)
		}
		if got := cpu.CurrentISA(); got != before {
			t.Fatalf("after --isa %v the kernels stay at %v, want %v", isa, got, before)
		}
	}
}

// TestBenchModel runs the model suite on one network: one JSON line whose
// operation count is the network's (package models) and whose rate follows
// from it; an unknown name is a usage error.
func TestBenchModel(t *testing.T) {
	wantError(t, 2, `unknown model "vgg"`, "bench", "model", "--shape", "vgg")
	code, out, stderr := qgpu(t, "bench", "model", "--shape", "mobilenetv2", "--runs", "1", "--time", "0", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	e, err := engine.New(engine.Config{Backend: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	m, err := models.Build("mobilenetv2", e, e.NewBatch)
	if err != nil {
		t.Fatal(err)
	}
	m.Release()
	if r.Op != "model" || r.Shape != "mobilenetv2" || r.Ops != m.Ops || r.Seconds <= 0 {
		t.Errorf("%+v, want op model, shape mobilenetv2, %g ops", r, m.Ops)
	}
	if d := r.GOPS/(m.Ops/r.Seconds/1e9) - 1; d > 1e-9 || d < -1e-9 {
		t.Errorf("rate %g GOPS for %g ops in %g s", r.GOPS, r.Ops, r.Seconds)
	}
}
