package main

import (
	"fmt"
	"strings"
)

// report is one run: its header facts and its rows.
type report struct {
	Date      string  `json:"date"`
	Command   string  `json:"command"`
	Machine   string  `json:"machine"`
	Tools     string  `json:"tools"`
	LoadStart string  `json:"loadavg_start"`
	LoadEnd   string  `json:"loadavg_end"`
	Seconds   float64 `json:"seconds"`
	Rows      []row   `json:"rows"`
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

// rate prints a measurement's throughput: GOPS (GFLOPS for gonum) or GB/s.
func rate(m *measurement) string {
	switch {
	case m.GOPS > 0 && m.Tool == "gonum":
		return fmt.Sprintf("%.1f GFLOPS", m.GOPS)
	case m.GOPS > 0:
		return fmt.Sprintf("%.0f GOPS", m.GOPS)
	case m.GBps > 0:
		return fmt.Sprintf("%.1f GB/s", m.GBps)
	}
	return ""
}

// cell prints a measurement as "time, rate", or "-" when there is none.
func cell(m *measurement) string {
	if m == nil || m.Seconds <= 0 {
		return "-"
	}
	if r := rate(m); r != "" {
		return fmtSeconds(m.Seconds) + ", " + r
	}
	return fmtSeconds(m.Seconds)
}

// markdown renders the report: a header and one table.
func (rep report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### qgpu CPU backend vs peers, %s\n\n", rep.Date)
	fmt.Fprintf(&b, "- command: `%s`\n", rep.Command)
	fmt.Fprintf(&b, "- machine: %s\n", rep.Machine)
	fmt.Fprintf(&b, "- tools: %s\n", rep.Tools)
	fmt.Fprintf(&b, "- the machine is shared: load average (1, 5, 15 min) %s at the start, %s at the end; "+
		"bg = cores other processes used on average while the row's group ran (0.1 or more: contended)\n", rep.LoadStart, rep.LoadEnd)
	fmt.Fprintf(&b, "- run time %.0f s\n\n", rep.Seconds)
	b.WriteString("| op | shape | thr | qgpu | ORT kern | torch | best peer | qgpu/best | bg | note |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|---|--:|--:|---|\n")
	for _, r := range rep.Rows {
		best, ratio := "-", "-"
		if r.Best != "" {
			for _, m := range r.peers() {
				if m.Tool == r.Best {
					best = r.Best
					if m.Tool == "gonum" {
						best = "gonum Sgemm f32: " + cell(m)
					}
				}
			}
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
			if r.Ratio >= 10 {
				ratio = fmt.Sprintf("%.0fx", r.Ratio)
			}
		}
		note := r.Note
		if r.Target > 0 {
			verdict := "met"
			if r.Ratio < r.Target {
				verdict = "NOT met"
			}
			note = strings.TrimSuffix(fmt.Sprintf("target ≥ %gx: %s; %s", r.Target, verdict, note), "; ")
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s | %s | %.1f | %s |\n",
			r.Op, r.Shape, r.Threads, cell(r.Qgpu), cell(r.ORT), cell(r.Torch), best, ratio, r.BgCores, note)
	}
	b.WriteString("\nqgpu: median wall time of one `Batch.Run` (`qgpu bench --json`, inputs uploaded once, B packed once). " +
		"ORT kern: median kernel time from ORT's profiler (`bench.js`, weights are initializers, pre-packed; session overhead of 20-40 µs not included). " +
		"torch: median wall time of one call from Python (output allocation included; oneDNN engine, linear output quint8). " +
		"qgpu/best = best peer time / qgpu time: above 1 qgpu is faster. GOPS = 2·M·N·K/t (conv 2·N·O·OH·OW·C·KH·KW/t); " +
		"GB/s counts 5 bytes per element (4 float32 + 1 uint8) for quantize and dequantize, read plus write bytes for copy(), bytes written for the fill. " +
		"model rows: the same QDQ .onnx file (scripts/models.sh) on both, each the median wall time of one inference, float input to float output " +
		"(`qgpu model bench --runs 0`; ORT `run_model.js --bench 0`, session.run from JS, its profiler's kernel sum in the note), qgpu and ORT back to back per thread count.\n")
	return b.String()
}

// cpuInfo names the machine in the header.
type cpuInfo struct {
	Model, Family, ModelNum string
	CPUs                    int
	Flags                   []string
}

func (c cpuInfo) String() string {
	s := c.Model
	if c.Family != "" {
		s += fmt.Sprintf(" (family %s model %s)", c.Family, c.ModelNum)
	}
	s += fmt.Sprintf(", %d CPUs", c.CPUs)
	if len(c.Flags) > 0 {
		s += ", " + strings.Join(c.Flags, " ")
	}
	return s
}
