package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when a timed function says how
// long it took.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time        { return c.t }
func (c *fakeClock) spend(d time.Duration) { c.t = c.t.Add(d) }

// TestMeasureWarmupNotTimed replays the first `qgpu bench gemm --backend
// vulkan` of a session: a first run of 6.2 s (pipeline creation), then
// runs of 35 ms. The first run is the untimed warm-up, whatever it took;
// the timed runs are the 35 ms ones (the warm-up once counted as the only
// run and the case read 0.0 GOPS).
func TestMeasureWarmupNotTimed(t *testing.T) {
	c := &fakeClock{t: time.Unix(0, 0)}
	defer func(f func() time.Time) { now = f }(now)
	now = c.now
	calls := 0
	fn := func() error {
		calls++
		if calls == 1 {
			c.spend(6200 * time.Millisecond)
		} else {
			c.spend(35 * time.Millisecond)
		}
		return nil
	}
	tm, err := measure(context.Background(), benchOptions{minRuns: 5, minTime: 300 * time.Millisecond, maxTime: 5 * time.Second}, fn)
	if err != nil {
		t.Fatal(err)
	}
	// 300 ms of 35 ms runs: 9 timed runs, after the warm-up.
	if tm.runs != 9 || calls != 10 || tm.median != 0.035 || tm.max != 0.035 || tm.warmup != 6.2 || len(tm.times) != 9 {
		t.Errorf("%+v after %d calls; want 9 runs of 35 ms and a 6.2 s warm-up", tm, calls)
	}
	if w := tm.warnings(""); len(w) != 0 {
		t.Errorf("warnings %q for a sound measurement", w)
	}
	// A case slower than --max-time gets one timed run, flagged.
	calls = 0
	tm, _ = measure(context.Background(), benchOptions{minRuns: 5, maxTime: time.Second}, func() error {
		calls++
		c.spend(3 * time.Second)
		return nil
	})
	if tm.runs != 1 || calls != 2 || tm.median != 3 {
		t.Errorf("%+v after %d calls; want one timed run", tm, calls)
	}
	if w := tm.warnings(""); len(w) != 1 || w[0] != "only 1 run(s)" {
		t.Errorf("warnings %q, want only 1 run(s)", w)
	}
}

// TestTimingWarnings: a spread (median absolute deviation) above 10% of
// the median, or fewer than 5 runs, is flagged; the baseline's with "f32 ".
func TestTimingWarnings(t *testing.T) {
	for _, c := range []struct {
		t    timing
		want string
	}{
		{timing{runs: 100, median: 1, mad: 0.1}, ""},
		{timing{runs: 100, median: 1, mad: 0.11}, "f32 spread ±11%"},
		{timing{runs: 4, median: 1, mad: 0}, "f32 only 4 run(s)"},
		{timing{runs: 2, median: 1, mad: 0.5}, "f32 only 2 run(s), f32 spread ±50%"},
	} {
		if got := strings.Join(c.t.warnings("f32 "), ", "); got != c.want {
			t.Errorf("%+v: %q, want %q", c.t, got, c.want)
		}
	}
}

// TestBenchTableLegend: the table ends with the legend of its columns,
// flagged rows are marked, JSON carries the warm-up and warnings.
func TestBenchTableLegend(t *testing.T) {
	code, out, stderr := qgpu(t, "bench", "gemm", "--shape", "8x16x4", "--runs", "1", "--time", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	flat := strings.Join(strings.Fields(out), " ") // the legend is wrapped
	for _, want := range []string{"legend: median/min/max", "±mad: median absolute deviation", "f32 (gonum): gonum's", "int8/f32: fastest int8 run", "! only 1 run(s)", "!: the row's numbers say little"} {
		if !strings.Contains(flat, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = qgpu(t, "bench", "quantize", "--size", "64", "--runs", "1", "--time", "0", "--json")
	var r map[string]any
	if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	if w, ok := r["warmup_seconds"].(float64); !ok || w <= 0 {
		t.Errorf("warmup_seconds %v", r["warmup_seconds"])
	}
	if ws, ok := r["warnings"].([]any); !ok || len(ws) == 0 || ws[0] != "only 1 run(s)" {
		t.Errorf("warnings %v", r["warnings"])
	}
}

// TestBaselineRatio: the int8/f32 ratio compares the fastest runs (50x
// here), not the medians (100x here, inflated by a disturbed baseline).
func TestBaselineRatio(t *testing.T) {
	r := benchResult{Ops: 2e6, Seconds: 2e-3, MinSeconds: 1e-3}
	r.setBaseline(&baseline{t: timing{runs: 20, median: 0.2, min: 0.05}, ops: 2e6})
	// 2e6 ops in 0.05 s: 0.04 GFLOPS; (2e6 / 1e-3) / (2e6 / 0.05) = 50.
	if r.F32GFLOPS != 0.04 || r.Ratio != 50 || r.F32Seconds != 0.2 || r.F32MinSeconds != 0.05 {
		t.Errorf("%+v", r)
	}
}

// TestFmtRate: small rates keep three significant digits.
func TestFmtRate(t *testing.T) {
	for v, want := range map[float64]string{1593.64: "1593.6 GOPS", 12.34: "12.3 GOPS", 3.456: "3.46 GOPS", 0.01234: "0.0123 GOPS"} {
		if got := fmtRate(v, "GOPS"); got != want {
			t.Errorf("fmtRate(%g) = %q, want %q", v, got, want)
		}
	}
}
