package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/qgpu/qgpu/calib"
)

// printCalibration prints the results as text.
func printCalibration(w io.Writer, o calibOpts, d *calibData, methods []calib.MethodInfo, results []*calibResult) {
	r0 := results[0]
	in := o.ins[0]
	if len(o.ins) > 1 {
		in = fmt.Sprintf("%s (%d files)", strings.Join(o.ins, ", "), len(o.ins))
	}
	fmt.Fprintf(w, "%s: float32%v, %s, passes on %s\n", in, d.shape, batchesText(o, d), o.backend)
	fmt.Fprintf(w, "target %s %s [%d, %d]%s\n", r0.DType, r0.Scheme, r0.QMin, r0.QMax, map[bool]string{true: " (reduced range)"}[r0.Reduce])
	st := r0.stats
	fmt.Fprintf(w, "data: %d finite in [%.6g, %.6g], NaN %d, +Inf %d, -Inf %d\n", st.Count, st.Min, st.Max, st.NaN, st.PosInf, st.NegInf)
	switch {
	case o.all:
		printMethodTable(w, o, d, results)
	case o.perChannel:
		fmt.Fprintf(w, "method %s: %s, per channel along axis %d\n", r0.Method, methodAbout(methods[0], r0), o.axis)
		writeChannels(w, r0, o.verbose)
		fmt.Fprintf(w, "SQNR %s dB (all channels)\n", fmtDB(r0.sqnr))
	default:
		fmt.Fprintf(w, "method %s: %s\n", r0.Method, methodAbout(methods[0], r0))
		fmt.Fprintf(w, "range [%.6g, %.6g]  scale %.6g  zero point %d\n", r0.Range.Min[0], r0.Range.Max[0], r0.Scale[0], r0.ZeroPoint[0])
		fmt.Fprintf(w, "SQNR %s dB\n", fmtDB(r0.sqnr))
	}
	if o.plot != "" {
		fmt.Fprintf(w, "plot: %s\n", o.plot)
	}
}

// methodAbout describes a method for the output.
func methodAbout(m calib.MethodInfo, r *calibResult) string {
	desc := m.About
	if m.Torch != "" {
		desc += " (= torch " + m.Torch + ")"
	}
	if r.Bins > 0 {
		desc += fmt.Sprintf(", %d bins", r.Bins)
	}
	return desc
}

// printMethodTable prints the table of --method all and the best method.
func printMethodTable(w io.Writer, o calibOpts, d *calibData, results []*calibResult) {
	tableName := d.name // escaped: it comes from the input file
	if tableName != "" {
		tableName = quoteName(tableName)
	}
	reports := make([]calib.Report, len(results))
	best := 0
	for i, r := range results {
		reports[i] = calib.Report{Name: tableName, Method: r.Method, Target: o.target, Min: r.Range.Min[0], Max: r.Range.Max[0],
			Scale: r.Scale[0], ZeroPoint: r.ZeroPoint[0], SQNR: r.sqnr, Stats: r.stats}
		if r.sqnr > results[best].sqnr {
			best = i
		}
	}
	calib.WriteTable(w, reports)
	fmt.Fprintf(w, "best SQNR: %s (%s dB)\n", results[best].Method, fmtDB(results[best].sqnr))
}

// channelsListed is the most channels printed as a table without
// --verbose; more are summarised.
const channelsListed = 16

// worstShown is how many of the lowest-SQNR channels a summary lists.
const worstShown = 8

// writeChannels prints the per-channel ranges, parameters and SQNR: every
// channel when there are at most channelsListed or verbose, else a
// summary and the channels of lowest SQNR.
func writeChannels(w io.Writer, r *calibResult, verbose bool) {
	n := len(r.Scale)
	if n <= channelsListed || verbose {
		all := make([]int, n)
		for c := range all {
			all[c] = c
		}
		writeChannelRows(w, r, all)
		return
	}
	fmt.Fprintf(w, "%d channels:\n", n)
	tw := newTable(w)
	fmt.Fprintf(tw, "\tmin\tmedian\tmax\t\n")
	fmt.Fprintf(tw, "scale\t%.6g\t%.6g\t%.6g\t\n", spread32(r.Scale)...)
	zs := make([]float64, n)
	for c, z := range r.ZeroPoint {
		zs[c] = float64(z)
	}
	fmt.Fprintf(tw, "zero point\t%g\t%g\t%g\t\n", spread(zs)...)
	widths := make([]float32, n)
	for c := range widths {
		widths[c] = r.Range.Max[c] - r.Range.Min[c]
	}
	fmt.Fprintf(tw, "range width\t%.6g\t%.6g\t%.6g\t\n", spread32(widths)...)
	fmt.Fprintf(tw, "SQNR dB\t%s\t%s\t%s\t\n", dbSpread(r.chanSQNR)...)
	tw.Flush()
	fmt.Fprintf(w, "the %d channels of lowest SQNR:\n", worstShown)
	writeChannelRows(w, r, worstChannels(r.chanSQNR, worstShown))
	fmt.Fprintf(w, "... %d channels in all: --verbose or --json lists every one\n", n)
}

// writeChannelRows prints the rows of the given channels.
func writeChannelRows(w io.Writer, r *calibResult, chans []int) {
	tw := newTable(w)
	fmt.Fprintf(tw, "channel\tmin\tmax\tscale\tzp\tSQNR dB\t\n")
	for _, c := range chans {
		fmt.Fprintf(tw, "%d\t%.6g\t%.6g\t%.6g\t%d\t%s\t\n", c, r.Range.Min[c], r.Range.Max[c], r.Scale[c], r.ZeroPoint[c], fmtChanDB(r.chanSQNR, c))
	}
	tw.Flush()
}

func fmtChanDB(v []float64, c int) string {
	if c >= len(v) || math.IsNaN(v[c]) {
		return "-"
	}
	return fmtDB(v[c])
}

// worstChannels returns the k channels of lowest SQNR (ties: lower
// channel first), lowest first; channels without data come last.
func worstChannels(sq []float64, k int) []int {
	idx := make([]int, len(sq))
	for i := range idx {
		idx[i] = i
	}
	key := func(i int) float64 {
		if math.IsNaN(sq[i]) {
			return math.Inf(1)
		}
		return sq[i]
	}
	sort.SliceStable(idx, func(a, b int) bool { return key(idx[a]) < key(idx[b]) })
	return idx[:min(k, len(idx))]
}

// spread returns min, median and max of v (NaN left out) as []any.
func spread(v []float64) []any {
	s := slices.DeleteFunc(slices.Clone(v), func(x float64) bool { return math.IsNaN(x) })
	if len(s) == 0 {
		return []any{math.NaN(), math.NaN(), math.NaN()}
	}
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return []any{s[0], med, s[len(s)-1]}
}

func spread32(v []float32) []any {
	f := make([]float64, len(v))
	for i, x := range v {
		f[i] = float64(x)
	}
	return spread(f)
}

// dbSpread is spread formatted as decibels.
func dbSpread(v []float64) []any {
	s := spread(v)
	for i := range s {
		s[i] = fmtDB(s[i].(float64))
	}
	return s
}

// batchesText says how many batches were fed: --batches per file, and how
// many of them were empty (numpy.array_split past the length) and skipped.
func batchesText(o calibOpts, d *calibData) string {
	total, fed := 0, 0
	for _, f := range d.files {
		n := f.end - f.start
		if o.perChannel {
			outer, _, inner := channelView(f.shape, o.axis)
			n = inner
			if outer > 1 {
				n = outer
			}
		}
		total += o.batches
		fed += min(o.batches, n)
	}
	s := fmt.Sprintf("%d batch(es)", total)
	if len(d.files) > 1 {
		s = fmt.Sprintf("%d files x %d batch(es)", len(d.files), o.batches)
	}
	if fed < total {
		s += fmt.Sprintf(" (%d empty ones skipped)", total-fed)
	}
	return s
}
