package main

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestParseQgpu(t *testing.T) {
	line := `{"op":"gemm","backend":"cpu","shape":"1024x1024x1024","output":"int32","threads":2,"runs":40,` +
		`"seconds":0.002,"gops":1073.741824,"f32_seconds":0.125,"f32_gflops":17.179869184}` + "\n"
	m, f32, err := parseQgpu([]byte("machine header\n" + line))
	if err != nil {
		t.Fatal(err)
	}
	if m.Tool != "qgpu" || !near(m.Seconds, 0.002) || !near(m.GOPS, 1073.741824) || m.Runs != 40 || m.What != "gemm → int32" {
		t.Errorf("qgpu measurement %+v", m)
	}
	if f32 == nil || f32.Tool != "gonum" || !near(f32.Seconds, 0.125) || !near(f32.GOPS, 17.179869184) {
		t.Errorf("gonum baseline %+v", f32)
	}
	_, f32, err = parseQgpu([]byte(`{"op":"quantize","seconds":0.01,"gbps":8.4}`))
	if err != nil || f32 != nil {
		t.Errorf("quantize line: baseline %v, err %v; want none, nil", f32, err)
	}
	for _, bad := range []string{"", line + line, `{"op":"gemm","seconds":0}`, `{"op":`} {
		if _, _, err := parseQgpu([]byte(bad)); err == nil {
			t.Errorf("parseQgpu(%q): no error", bad)
		}
	}
}

func TestParseORT(t *testing.T) {
	out := `{"op":"matmulinteger","shape":"1024x1024x1024 u8*s8->i32","threads":1,"runs":400,"wall_median_ms":2.5,` +
		`"kernel_median_ms":2.25,"kernel_rate":{"gops":954.4},"graph_ops":["MatMulInteger"],"bg_cores":0}
{"op":"matmulinteger","shape":"1024x1024x1024 u8*s8->i32","threads":2,"runs":700,"wall_median_ms":1.5,` +
		`"kernel_median_ms":1.25,"kernel_rate":{"gops":1717.9},"graph_ops":["MatMulInteger"],"bg_cores":null}
`
	res, err := parseORT([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("%d results, want 2", len(res))
	}
	if m := res[1]; !near(m.Seconds, 0.00225) || !near(m.WallSeconds, 0.0025) || m.GOPS != 954.4 || m.Tool != "ort" {
		t.Errorf("1 thread: %+v", m)
	}
	if m := res[2]; !near(m.Seconds, 0.00125) || m.Runs != 700 {
		t.Errorf("2 threads: %+v", m)
	}
	for _, bad := range []string{"", `{"op":"x","threads":1,"wall_median_ms":1,"kernel_median_ms":null}`} {
		if _, err := parseORT([]byte(bad)); err == nil {
			t.Errorf("parseORT(%q): no error", bad)
		}
	}
}

func TestFinish(t *testing.T) {
	tests := []struct {
		name      string
		r         row
		best      string
		ratio     float64
		wantRatio bool
	}{
		{"ort fastest", row{Qgpu: &measurement{Seconds: 1e-3}, ORT: &measurement{Tool: "ort", Seconds: 2e-3},
			Torch: &measurement{Tool: "torch", Seconds: 4e-3}}, "ort", 2, true},
		{"torch fastest, qgpu slower", row{Qgpu: &measurement{Seconds: 4e-3}, ORT: &measurement{Tool: "ort", Seconds: 3e-3},
			Torch: &measurement{Tool: "torch", Seconds: 1e-3}}, "torch", 0.25, true},
		{"gonum only", row{Qgpu: &measurement{Seconds: 1e-3}, Other: &measurement{Tool: "gonum", Seconds: 0.125}}, "gonum", 125, true},
		{"no peer", row{Qgpu: &measurement{Seconds: 1e-3}}, "", 0, false},
		{"peer without time ignored", row{Qgpu: &measurement{Seconds: 1e-3}, ORT: &measurement{Tool: "ort"},
			Torch: &measurement{Tool: "torch", Seconds: 5e-3}}, "torch", 5, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			r.finish()
			if r.Best != tc.best || !near(r.Ratio, tc.ratio) {
				t.Errorf("best %q ratio %g, want %q %g", r.Best, r.Ratio, tc.best, tc.ratio)
			}
		})
	}
}

func TestMergeBest(t *testing.T) {
	mk := func(q, o float64, bg float64) []row {
		return []row{{Op: "gemm", Shape: "8x8x8", Threads: 1, Qgpu: &measurement{Tool: "qgpu", Seconds: q},
			ORT: &measurement{Tool: "ort", Seconds: o}, BgCores: bg}}
	}
	best := mergeBest(nil, mk(2e-3, 1e-3, 0.1))
	best = mergeBest(best, mk(1e-3, 3e-3, 0.5))
	if len(best) != 1 {
		t.Fatalf("%d rows, want 1", len(best))
	}
	r := best[0]
	// qgpu's best median 1 ms, ORT's 1 ms: ratio 1; bg keeps the worst.
	if r.Qgpu.Seconds != 1e-3 || r.ORT.Seconds != 1e-3 || !near(r.Ratio, 1) || r.BgCores != 0.5 {
		t.Errorf("merged %+v qgpu %v ort %v", r, r.Qgpu.Seconds, r.ORT.Seconds)
	}
}

func TestMarkdown(t *testing.T) {
	q := &measurement{Tool: "qgpu", Seconds: 0.004, GOPS: 536.870912}
	g := &measurement{Tool: "gonum", Seconds: 0.128, GOPS: 16.777216}
	rows := []row{{Op: "gemm i8 vs gonum f32", Shape: "1024x1024x1024", Threads: 1, Qgpu: q, Other: g, Target: 50}}
	rows[0].finish()
	rep := report{Date: "2026-01-02 03:04 UTC", Command: "go run ./bench/peers", Machine: "cpu", LoadStart: "1.00 2.00 3.00",
		LoadEnd: "0.50 1.00 2.00", Rows: rows}
	md := rep.markdown()
	// 0.128 / 0.004 = 32, below the target of 50.
	for _, want := range []string{
		"command: `go run ./bench/peers`",
		"1.00 2.00 3.00 at the start, 0.50 1.00 2.00 at the end",
		"| gemm i8 vs gonum f32 | 1024x1024x1024 | 1 | 4 ms, 537 GOPS | - | - | gonum Sgemm f32: 128 ms, 16.8 GFLOPS | 32x |",
		"target ≥ 50x: NOT met |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{{16 << 20, "16Mi"}, {1 << 20, "1Mi"}, {65536, "64Ki"}, {1000, "1000"}, {(1 << 20) + 1, "1048577"}} {
		if got := sizeName(tc.n); got != tc.want {
			t.Errorf("sizeName(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	for _, tc := range []struct {
		s    float64
		want string
	}{{2.5, "2.5 s"}, {0.00226, "2.26 ms"}, {8.36e-5, "83.6 µs"}} {
		if got := fmtSeconds(tc.s); got != tc.want {
			t.Errorf("fmtSeconds(%g) = %q, want %q", tc.s, got, tc.want)
		}
	}
	if got := cell(nil); got != "-" {
		t.Errorf("cell(nil) = %q", got)
	}
	if got := cell(&measurement{Tool: "ort", Seconds: 0.002, GBps: 41.94}); got != "2 ms, 41.9 GB/s" {
		t.Errorf("cell = %q", got)
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-threads", "2, 1,2", "-quick"}, &strings.Builder{})
	if err != nil || !slices.Equal(c.threads, []int{2, 1}) || !c.quick || c.repeat != 1 {
		t.Errorf("parseFlags: %+v, %v", c, err)
	}
	for _, bad := range [][]string{{"-threads", "1,x"}, {"-threads", "0"}, {"-repeat", "0"}, {"extra"}} {
		if _, err := parseFlags(bad, &strings.Builder{}); err == nil {
			t.Errorf("parseFlags(%q): no error", bad)
		}
	}
}

func TestParseModels(t *testing.T) {
	m, err := parseModelBench([]byte(`{"model":"m.onnx","runs":420,"median_ms":2.5,"batch":1}` + "\n"))
	if err != nil || m.Tool != "qgpu" || !near(m.Seconds, 0.0025) || m.Runs != 420 {
		t.Errorf("parseModelBench: %+v, %v", m, err)
	}
	for _, bad := range []string{"", `{"median_ms":0}`, "not json"} {
		if _, err := parseModelBench([]byte(bad)); err == nil {
			t.Errorf("parseModelBench(%q): no error", bad)
		}
	}
	out := `{"model":"m.onnx","threads":1,"runs":426,"wall_median_ms":2.0,"kernel_median_ms":1.5,"kinds":{}}
{"model":"m.onnx","threads":2,"runs":500,"wall_median_ms":1.25,"kernel_median_ms":null}
`
	o, err := parseORTModel([]byte(out), 2)
	if err != nil || o.Tool != "ort" || !near(o.Seconds, 0.00125) || o.Runs != 500 || o.Note != "" {
		t.Errorf("parseORTModel 2 threads: %+v, %v", o, err)
	}
	o, err = parseORTModel([]byte(out), 1)
	if err != nil || !near(o.Seconds, 0.002) || o.Note != "kernels 1.5 ms" {
		t.Errorf("parseORTModel 1 thread: %+v, %v", o, err)
	}
	if _, err := parseORTModel([]byte(out), 4); err == nil {
		t.Error("parseORTModel: no error for a thread count it did not run")
	}
}

func TestModelNotes(t *testing.T) {
	rs := []row{
		{Op: "model (QDQ .onnx)", Shape: "m N=1", Threads: 1, Qgpu: &measurement{Seconds: 0.003}, ORT: &measurement{Seconds: 0.004, Note: "kernels 3.5 ms"}},
		{Op: "model (QDQ .onnx)", Shape: "m N=1", Threads: 2, Qgpu: &measurement{Seconds: 0.002}},
		{Op: "conv u8·s8→u8", Shape: "x", Threads: 2, Qgpu: &measurement{Seconds: 1}, Note: "kept"},
	}
	modelNotes(rs)
	if rs[0].Note != "ORT kernels 3.5 ms" || rs[1].Note != "qgpu 2 threads: 1.50x its 1-thread speed" || rs[2].Note != "kept" {
		t.Errorf("notes %q, %q, %q", rs[0].Note, rs[1].Note, rs[2].Note)
	}
}
