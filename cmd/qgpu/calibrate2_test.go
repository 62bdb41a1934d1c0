package main

import (
	"encoding/json"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/calib"
)

// TestCalibrateSeveralFiles: --in given several times feeds the files as
// batches in order (the values against torch are in
// TestCalibrateAgainstTorch); the files must agree apart from dimension 0,
// and per channel the axis cannot be 0.
func TestCalibrateSeveralFiles(t *testing.T) {
	dir := t.TempDir()
	a := writeF32(t, dir, "a.npy", []int{2, 2}, []float32{1, -2, 3, 0.5})
	b := writeF32(t, dir, "b.npy", []int{1, 2}, []float32{10, -0.25})
	c := writeF32(t, dir, "c.npy", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	// minmax of both: [-2, 10]; moving average c=0.5 of the batches a, b:
	// min -2 -> 0.5*-2 + 0.5*-0.25 = -1.125, max 3 -> 6.5.
	r := calibJSON(t, "--in", a, "--in", b, "--method", "minmax")
	if r.Range.Min[0] != -2 || r.Range.Max[0] != 10 || r.In != a || len(r.Inputs) != 2 || r.Inputs[1] != b || r.Shape[0] != 3 || r.Count != 6 {
		t.Errorf("minmax of a and b: %+v", r)
	}
	r = calibJSON(t, "--in", a, "--in", b, "--method", "moving-average", "--averaging-constant", "0.5")
	if r.Range.Min[0] != -1.125 || r.Range.Max[0] != 6.5 {
		t.Errorf("moving average of a then b: [%v, %v], want [-1.125, 6.5]", r.Range.Min, r.Range.Max)
	}
	wantError(t, 2, "need the same shape apart from it", "calibrate", "--in", a, "--in", c)
	wantError(t, 2, "--axis 0 with several --in files", "calibrate", "--in", a, "--in", b, "--axis", "0")
	// Per channel along axis 1: channel 0 holds 1, 3, 10; channel 1 -2, 0.5, -0.25.
	r = calibJSON(t, "--in", a, "--in", b, "--method", "minmax", "--axis", "1")
	if r.Range.Min[0] != 1 || r.Range.Max[0] != 10 || r.Range.Min[1] != -2 || r.Range.Max[1] != 0.5 {
		t.Errorf("per channel: %v %v", r.Range.Min, r.Range.Max)
	}
	out := mustRun(t, "calibrate", "--in", a, "--in", b)
	if !strings.Contains(out, "(2 files): float32[3 2], 2 files x 1 batch(es)") {
		t.Errorf("text: %s", out)
	}
}

// TestCalibrateBatchesPastLength: --batches larger than the data follows
// numpy.array_split: the empty trailing batches are skipped (and said).
func TestCalibrateBatchesPastLength(t *testing.T) {
	dir := t.TempDir()
	in := writeF32(t, dir, "t.npy", []int{3}, []float32{-1, 4, 2.5})
	// Batches [-1], [4], [2.5], [], [] with c = 0.5: min -1 -> 1.5 -> 2,
	// max the same.
	r := calibJSON(t, "--in", in, "--method", "moving-average", "--batches", "5", "--averaging-constant", "0.5")
	if r.Range.Min[0] != 2 || r.Range.Max[0] != 2 || r.Batches != 5 {
		t.Errorf("%+v", r)
	}
	out := mustRun(t, "calibrate", "--in", in, "--batches", "5")
	if !strings.Contains(out, "5 batch(es) (2 empty ones skipped)") {
		t.Errorf("text: %s", out)
	}
	// A huge count costs nothing (no batch list of that size).
	calibJSON(t, "--in", in, "--batches", "1000000000000")
}

// TestCalibrateChannelSummary: more than 16 channels are summarised with
// the channels of lowest SQNR; --verbose and --json list every channel,
// whose SQNR is the hand formula's on the channel's values.
func TestCalibrateChannelSummary(t *testing.T) {
	dir := t.TempDir()
	const ch, n = 40, 30
	x := make([]float32, ch*n)
	for c := range ch {
		for i := range n {
			// Channel 7 has an outlier: the lowest SQNR per channel.
			x[c*n+i] = float32(math.Sin(float64(c*n+i))) * float32(c+1)
		}
	}
	x[7*n+3] = 300
	in := writeF32(t, dir, "w.npy", []int{ch, n}, x)
	out := mustRun(t, "calibrate", "--in", in, "--axis", "0", "--dtype", "int8", "--scheme", "symmetric")
	rows := regexp.MustCompile(`(?m)^\s+\d+\s+-?[0-9.e+-]+\s`).FindAllString(out, -1)
	if !strings.Contains(out, "40 channels:") || !strings.Contains(out, "the 8 channels of lowest SQNR") || len(rows) != 8 ||
		!regexp.MustCompile(`(?m)^\s+7\s`).MatchString(rows[0]) || !strings.Contains(out, "--verbose or --json lists every one") {
		t.Errorf("summary (%d rows, first %q):\n%s", len(rows), rows, out)
	}
	out = mustRun(t, "calibrate", "--in", in, "--axis", "0", "--dtype", "int8", "--scheme", "symmetric", "--verbose")
	if rows := regexp.MustCompile(`(?m)^\s+\d+\s+-?[0-9.e+-]+\s`).FindAllString(out, -1); len(rows) != ch {
		t.Errorf("--verbose lists %d rows, want %d:\n%s", len(rows), ch, out)
	}
	r := calibJSON(t, "--in", in, "--axis", "0", "--dtype", "int8", "--scheme", "symmetric")
	if len(r.ChannelSQNR) != ch {
		t.Fatalf("%d channel SQNRs", len(r.ChannelSQNR))
	}
	for _, c := range []int{0, 7, 39} {
		want := handSQNR(x[c*n:(c+1)*n], r.Scale[c], r.ZeroPoint[c], -128, 127)
		if r.ChannelSQNR[c] == nil || math.Abs(*r.ChannelSQNR[c]-want) > 1e-9 {
			t.Errorf("channel %d SQNR %v, hand formula %v", c, r.ChannelSQNR[c], want)
		}
	}
}

// TestCalibratePlotChannels: --plot with --axis draws the channels of
// lowest SQNR, lowest first.
func TestCalibratePlotChannels(t *testing.T) {
	dir := t.TempDir()
	x := make([]float32, 6*50)
	for i := range x {
		x[i] = float32(math.Cos(float64(i) * 0.7))
	}
	x[4*50+9] = 40 // channel 4: an outlier, the lowest SQNR
	in := writeF32(t, dir, "w.npy", []int{6, 50}, x)
	svg := filepath.Join(dir, "w.svg")
	mustRun(t, "calibrate", "--in", in, "--axis", "0", "--method", "kl", "--plot", svg)
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	first := strings.Index(s, "(#1 lowest)")
	if first < 0 || !strings.Contains(s[max(0, first-40):first], "channel 4 ") || !strings.Contains(s, "(#4 lowest)") || strings.Contains(s, "(#5 lowest)") {
		t.Errorf("the SVG does not show channels 4 first and four channels in all")
	}
	if !strings.Contains(s, "int8") && !strings.Contains(s, "uint8 affine") {
		t.Errorf("the title lacks the target")
	}
	mustRun(t, "calibrate", "--in", in, "--axis", "0", "--plot", filepath.Join(dir, "w.png"))
}

// TestPlotStyle: every method has its own colour; count ticks are 1, 10,
// ..., 1k, ... (one format); value ticks have labels on both sides of 0
// for signed data, with the same decimals.
func TestPlotStyle(t *testing.T) {
	seen := map[color.Color]string{}
	for _, m := range calib.Methods() {
		c := methodColor(m.Name)
		if other, dup := seen[c]; dup {
			t.Errorf("%s and %s share colour %v", m.Name, other, c)
		}
		seen[c] = m.Name
	}
	var labels []string
	for _, tk := range (countTicks{}).Ticks(0.5, 3e7) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "1 10 100 1k 10k 100k 1M 10M" {
		t.Errorf("count ticks %q", got)
	}
	labels = labels[:0]
	for _, tk := range (niceTicks{}).Ticks(-3.2, 3.1) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "-3 -2 -1 0 1 2 3" {
		t.Errorf("value ticks on [-3.2, 3.1]: %q", got)
	}
	labels = labels[:0]
	for _, tk := range (niceTicks{}).Ticks(-0.1, 14.5) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "0 2 4 6 8 10 12 14" {
		t.Errorf("value ticks on [-0.1, 14.5]: %q", got)
	}
	labels = labels[:0]
	for _, tk := range (niceTicks{}).Ticks(-0.02, 0.37) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "0.00 0.05 0.10 0.15 0.20 0.25 0.30 0.35" {
		t.Errorf("value ticks on [-0.02, 0.37]: %q", got)
	}
}

// TestRateTicks: the bench plot's log axes are labelled 1-2-5 with SI
// prefixes over short spans, powers of ten over long ones.
func TestRateTicks(t *testing.T) {
	label := func(lo, hi float64) string {
		var l []string
		for _, tk := range (rateTicks{}).Ticks(lo, hi) {
			if tk.Label != "" {
				l = append(l, tk.Label)
			}
		}
		return strings.Join(l, " ")
	}
	if got := label(2.5e5, 8e6); got != "500k 1M 2M 5M" {
		t.Errorf("ticks on [2.5e5, 8e6]: %q", got)
	}
	if got := label(7, 1.2e4); got != "10 100 1k 10k" {
		t.Errorf("ticks on [7, 1.2e4]: %q", got)
	}
}

// TestCalibrateJSONChannels: per-channel JSON has one SQNR per channel
// (null for an exact channel).
func TestCalibrateJSONChannels(t *testing.T) {
	dir := t.TempDir()
	in := writeF32(t, dir, "w.npy", []int{2, 2}, []float32{0, 0, 1, -3})
	code, out, _ := qgpu(t, "calibrate", "--in", in, "--axis", "0", "--json")
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); code != 0 || err != nil {
		t.Fatal(err)
	}
	l, ok := m["channel_sqnr_db"].([]any)
	if !ok || len(l) != 2 || l[0] != nil {
		t.Errorf("channel_sqnr_db %v: want [null, a number]", m["channel_sqnr_db"])
	}
}
