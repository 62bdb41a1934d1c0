package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

func TestBenchSuites(t *testing.T) {
	count := func(suite string) map[string]int {
		cs, err := benchCases(suite, nil, nil)
		if err != nil {
			t.Fatalf("%q: %v", suite, err)
		}
		n := map[string]int{}
		seen := map[string]bool{}
		for _, c := range cs {
			k := c.op + " " + c.shape
			if seen[k] {
				t.Errorf("suite %q repeats %s", suite, k)
			}
			seen[k] = true
			n[c.op]++
		}
		return n
	}
	// gemm: 5 square sizes plus 6 layers at 3 row counts.
	if n := count("gemm"); n["gemm"] != 5+6*3 || len(n) != 1 {
		t.Errorf("gemm suite: %v", n)
	}
	if n := count("conv"); n["conv"] != 23 || len(n) != 1 {
		t.Errorf("conv suite: %v", n)
	}
	if n := count("histogram"); n["histogram"] != 3 || n["minmax"] != 3 {
		t.Errorf("histogram suite: %v", n)
	}
	if n := count("all"); n["gemm"] != 23 || n["conv"] != 23 || n["quantize"] != 3 || n["dequantize"] != 3 || n["histogram"] != 3 || n["minmax"] != 3 {
		t.Errorf("all: %v", n)
	}
	// The quick suite stays modest: at most ~1e8 operations per GEMM or
	// conv case, and the streaming ops take --size.
	cs, err := benchCases("", nil, []int{1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		fn, ops := sgemmBaselineFor(c)
		if (fn != nil) != (c.op == "gemm" || c.op == "conv") || ops > 1.1e8 {
			t.Errorf("quick case %+v: %g ops", c, ops)
		}
		if c.size != 0 && c.size != 1000 {
			t.Errorf("quick case %+v ignores --size", c)
		}
	}
	// Layer shapes: BERT-base and LLaMA-7B at M = 1, 16, 128.
	g, _ := benchCases("gemm", nil, nil)
	want := map[string]bool{"1x768x768": true, "128x3072x768": true, "16x4096x11008": true, "128x11008x4096": true, "2048x2048x2048": true}
	for _, c := range g {
		delete(want, c.shape)
	}
	if len(want) > 0 {
		t.Errorf("gemm suite lacks %v", want)
	}
}

func TestResNet50Shapes(t *testing.T) {
	// Output sizes of ResNet-50: conv1 224 -> 112; stage inputs 56, 28,
	// 14, 7; the strided 3x3 and 1x1 downsample layers halve.
	wantOut := map[string]int{
		"1x3x224x224,64x7x7,pad3,stride2":  112,
		"1x64x56x56,64x3x3,pad1":           56,
		"1x128x56x56,128x3x3,pad1,stride2": 28,
		"1x256x56x56,512x1x1,stride2":      28,
		"1x256x28x28,256x3x3,pad1,stride2": 14,
		"1x512x28x28,1024x1x1,stride2":     14,
		"1x512x14x14,512x3x3,pad1,stride2": 7,
		"1x1024x14x14,2048x1x1,stride2":    7,
		"1x512x7x7,512x3x3,pad1":           7,
	}
	cs, _ := benchCases("conv", nil, nil)
	// Every layer's output feeds a layer of the next size or is the
	// stage output; the channel counts are those of the bottlenecks.
	for _, c := range cs {
		oh, ow := convOut(c)
		if w, ok := wantOut[c.shape]; ok {
			if oh != w || ow != w {
				t.Errorf("%s: output %dx%d, want %d", c.shape, oh, ow, w)
			}
			delete(wantOut, c.shape)
		}
		if c.cn != 1 || c.group != 1 || (c.kh != 1 && c.kh != 3 && c.kh != 7) {
			t.Errorf("%s: not a ResNet-50 layer at N=1", c.shape)
		}
		if c.kh == 3 && c.pad != 1 || c.kh == 1 && c.pad != 0 {
			t.Errorf("%s: padding", c.shape)
		}
	}
	if len(wantOut) > 0 {
		t.Errorf("missing layers %v", wantOut)
	}
}

func TestBenchHistogramJSON(t *testing.T) {
	code, out, stderr := qgpu(t, "bench", "histogram", "--size", "5000", "--runs", "2", "--time", "0", "--json")
	if code != 0 {
		t.Fatal(stderr)
	}
	ops := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r benchResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		ops[r.Op] = true
		// 4 bytes read per element.
		if want := 4 * 5000 / r.Seconds / 1e9; r.GBps/want-1 > 1e-9 || r.GBps/want-1 < -1e-9 || r.Elements != 5000 || r.CPU == "" {
			t.Errorf("%+v: rate want %g", r, want)
		}
	}
	if !ops["histogram"] || !ops["minmax"] || len(ops) != 2 {
		t.Errorf("ops %v", ops)
	}
}

func TestBenchBackendsRepeatable(t *testing.T) {
	// "auto" opens the best backend compiled in (cpu here): every case
	// runs once per --backend.
	code, out, stderr := qgpu(t, "bench", "gemm", "--shape", "4x4x4", "--backend", "cpu", "--backend", "auto", "--runs", "1", "--time", "0", "--json", "--no-f32")
	if code != 0 {
		t.Fatal(stderr)
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("%d lines for 1 case on 2 backends:\n%s", n, out)
	}
	wantError(t, 2, "--backend cpu given twice", "bench", "--backend", "cpu", "--backend", "cpu")
	wantError(t, 2, "exclude each other", "bench", "--json", "--benchfmt")
	wantError(t, 2, "must end in .png or .svg", "bench", "--plot", "x.pdf")
	wantError(t, 2, "takes --size, not --shape", "bench", "histogram", "--shape", "4x4x4")
	wantError(t, 2, "--shape needs a suite", "bench", "all", "--shape", "4x4x4")
	wantError(t, 2, "--max-time", "bench", "--max-time", "-1s")
}

// benchfmtLine checks one line against the Go benchmark format and returns
// the name, iterations and value/unit pairs of a result line.
var configKey = regexp.MustCompile(`^([^\s:]+):(\s|$)`)

func parseBenchfmt(t *testing.T, text string) (config map[string]string, units map[string]string, results []benchLine) {
	t.Helper()
	config, units = map[string]string{}, map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case strings.HasPrefix(line, "Benchmark"):
			// Name: "Benchmark" then end or a non-lower-case rune.
			if r := []rune(f[0]); len(r) > 9 && unicode.IsLower(r[9]) {
				t.Errorf("name %q: lower case after Benchmark", f[0])
			}
			if len(f) < 4 || len(f)%2 != 0 {
				t.Errorf("line %q: want name, iterations and value/unit pairs", line)
				continue
			}
			n, err := strconv.Atoi(f[1])
			if err != nil || n < 1 {
				t.Errorf("line %q: iterations %q", line, f[1])
			}
			l := benchLine{name: f[0], iters: n, values: map[string]float64{}}
			for i := 2; i < len(f); i += 2 {
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					t.Errorf("line %q: value %q", line, f[i])
				}
				l.values[f[i+1]] = v
			}
			results = append(results, l)
		case f[0] == "Unit":
			for _, kv := range f[2:] {
				k, v, _ := strings.Cut(kv, "=")
				if k == "better" {
					units[f[1]] = v
				}
			}
		default:
			m := configKey.FindStringSubmatch(line)
			if m == nil || !unicode.IsLower([]rune(m[1])[0]) || strings.ToLower(m[1]) != m[1] {
				t.Errorf("line %q is neither a result, a unit nor a key: value line", line)
				continue
			}
			config[m[1]] = strings.TrimSpace(line[len(m[1])+1:])
		}
	}
	return config, units, results
}

type benchLine struct {
	name   string
	iters  int
	values map[string]float64
}

func TestBenchfmt(t *testing.T) {
	code, out, stderr := qgpu(t, "bench", "gemm", "--shape", "8x16x4", "--shape", "2x3x5", "--runs", "3", "--time", "0", "--benchfmt")
	if code != 0 {
		t.Fatal(stderr)
	}
	config, units, results := parseBenchfmt(t, out)
	for _, k := range []string{"goos", "goarch", "cpu", "pkg"} {
		if config[k] == "" {
			t.Errorf("no %q configuration line in\n%s", k, out)
		}
	}
	if units["GOPS"] != "higher" {
		t.Errorf("units %v", units)
	}
	iters := map[string]int{}
	for _, r := range results {
		iters[r.name] += r.iters
		ns := r.values["ns/op"]
		if ns <= 0 {
			t.Errorf("%s: ns/op %v", r.name, r.values)
		}
		// The rate follows from ns/op: 2*M*N*K / ns.
		var ops float64
		switch {
		case strings.Contains(r.name, "shape=8x16x4"):
			ops = 2 * 8 * 16 * 4
		case strings.Contains(r.name, "shape=2x3x5"):
			ops = 2 * 2 * 3 * 5
		}
		rate := r.values["GOPS"] + r.values["GFLOPS"]
		if want := ops / ns; rate/want-1 > 1e-3 || rate/want-1 < -1e-3 {
			t.Errorf("%s: rate %g, want %g from %g ns/op", r.name, rate, want, ns)
		}
		if !regexp.MustCompile(`^Benchmark(Gemm/backend=cpu/shape=\d+x\d+x\d+/out=int32|GemmF32/impl=gonum/shape=\d+x\d+x\d+)/threads=\d+-\d+$`).MatchString(r.name) {
			t.Errorf("name %q", r.name)
		}
	}
	// Two cases and their baselines, 3 timed runs each.
	if len(iters) != 4 {
		t.Errorf("benchmarks %v", iters)
	}
	for name, n := range iters {
		if n != 3 {
			t.Errorf("%s: %d runs in all, want 3", name, n)
		}
	}
}

func TestBenchPlot(t *testing.T) {
	dir := t.TempDir()
	// Both panels, two backends, baselines, from synthetic results.
	var rs []benchResult
	for _, b := range []string{"cpu", "vulkan"} {
		for i, n := range []float64{128, 256, 512} {
			rs = append(rs, benchResult{Op: "gemm", Backend: b, Shape: fmt.Sprintf("%[1]dx%[1]dx%[1]d", int(n)), Ops: 2 * n * n * n, GOPS: n / 10, F32GFLOPS: 5},
				benchResult{Op: "gemm", Backend: b, Shape: fmt.Sprintf("16x%dx%d", int(n), i+100), Ops: 2 * 16 * n * float64(i+100), GOPS: n / 20, F32GFLOPS: 4})
		}
		rs = append(rs, benchResult{Op: "quantize", Backend: b, Elements: 1 << 20, GBps: 3},
			benchResult{Op: "quantize", Backend: b, Elements: 1 << 24, GBps: 4})
	}
	for _, name := range []string{"b.png", "b.svg"} {
		p := filepath.Join(dir, name)
		if err := plotBench(p, rs, machine{CPU: "test CPU"}); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if name == "b.png" {
			img, err := png.Decode(f)
			if err != nil || img.Bounds().Dx() < 2*img.Bounds().Dy() {
				t.Errorf("PNG: %v (two panels side by side: %v)", err, img.Bounds())
			}
		} else {
			b, _ := io.ReadAll(f)
			for _, want := range []string{"<svg", "gemm vulkan square", "gemm cpu M=16", "gemm f32 (gonum)", "quantize cpu"} {
				if !strings.Contains(string(b), want) {
					t.Errorf("SVG lacks %q", want)
				}
			}
		}
		f.Close()
	}
	if err := plotBench(filepath.Join(dir, "e.png"), nil, machine{}); err == nil {
		t.Error("empty plot: no error")
	}
	// From the command line.
	p := filepath.Join(dir, "c.png")
	if code, out, stderr := qgpu(t, "bench", "gemm", "--shape", "4x4x4", "--shape", "8x8x8", "--runs", "1", "--time", "0", "--plot", p); code != 0 || !strings.Contains(out, "plot: "+p) {
		t.Fatalf("exit %d: %s %s", code, out, stderr)
	}
	if _, err := os.Stat(p); err != nil {
		t.Error(err)
	}
}
