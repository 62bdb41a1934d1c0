package main

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/qgpu/qgpu/calib"
)

// The plots of calibrate --plot: per tensor, the histogram of the data
// with each method's range, above one row per method (its range as a bar,
// its name and SQNR as the row's label); per channel, the channels of
// lowest SQNR, each with its range.

// methodColors are the Okabe-Ito colours (distinguishable with the common
// colour-vision deficiencies; yellow darkened to olive for contrast on
// white), one per method in calib.Methods' order, so that a method keeps
// its colour in every plot.
var methodColors = []color.RGBA{
	{0, 0, 0, 255},       // black: minmax
	{230, 159, 0, 255},   // orange: moving-average
	{86, 180, 233, 255},  // sky blue: torch-histogram
	{0, 158, 115, 255},   // bluish green: percentile
	{153, 153, 51, 255},  // olive: l2-greedy
	{0, 114, 178, 255},   // blue: l2
	{213, 94, 0, 255},    // vermillion: l1
	{204, 121, 167, 255}, // reddish purple: kl
}

// methodColor is the colour of the named method.
func methodColor(name string) color.Color {
	for i, m := range calib.Methods() {
		if m.Name == name {
			return methodColors[i%len(methodColors)]
		}
	}
	return color.Gray{Y: 100}
}

// plotCalibrate draws the --plot file of a calibrate run.
func plotCalibrate(o calibOpts, d *calibData, results []*calibResult, hist *calib.Histogram) error {
	title := fmt.Sprintf("%s: float32%v, %d batch(es) -> %s %s [%d, %d]", plotInputName(o), d.shape, len(o.ins)*o.batches,
		results[0].DType, results[0].Scheme, results[0].QMin, results[0].QMax)
	if o.perChannel {
		return plotChannels(o, d, results[0], title)
	}
	return plotTensor(o.plot, hist, results, title)
}

func plotInputName(o calibOpts) string {
	if len(o.ins) > 1 {
		return fmt.Sprintf("%s + %d files", o.ins[0], len(o.ins)-1)
	}
	return o.ins[0]
}

// histBars turns a histogram into at most 256 bars (neighbouring bins
// summed) over its occupied bins, with the largest bar.
func histBars(h *calib.Histogram) (bins []plotter.HistogramBin, width, top float64, err error) {
	counts := h.Counts()
	g := h.Grid()
	first, last := -1, -1
	for i, c := range counts {
		if c > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return nil, 0, 0, errors.New("no finite data to plot")
	}
	group := (last - first + 256) / 256
	for i := first; i <= last; i += group {
		var s uint64
		for j := i; j < min(i+group, last+1); j++ {
			s += counts[j]
		}
		if s > 0 {
			bins = append(bins, plotter.HistogramBin{Min: float64(g.Edge(i)), Max: float64(g.Edge(min(i+group, last+1))), Weight: float64(s)})
			top = max(top, float64(s))
		}
	}
	return bins, float64(g.Edge(first+group) - g.Edge(first)), top, nil
}

// histPlot is a plot of h's bars on log counts, x from lo to hi.
func histPlot(h *calib.Histogram, title string) (*plot.Plot, float64, error) {
	bins, width, top, err := histBars(h)
	if err != nil {
		return nil, 0, err
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "count"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = countTicks{}
	p.X.Tick.Marker = niceTicks{}
	hp := &plotter.Histogram{Bins: bins, Width: width, FillColor: color.Gray{Y: 200}, LogY: true}
	hp.LineStyle.Width = vg.Points(0.3)
	hp.LineStyle.Color = color.Gray{Y: 140}
	p.Add(hp)
	p.Y.Min, p.Y.Max = 0.5, top*3
	return p, top, nil
}

// xSpan returns an x range covering the data bars, every range and what
// its parameters represent, with 3% padding.
func xSpan(h *calib.Histogram, results []*calibResult, ch int) (float64, float64) {
	bins, _, _, _ := histBars(h)
	lo, hi := bins[0].Min, bins[len(bins)-1].Max
	for _, r := range results {
		s, zp := float64(r.Scale[ch]), float64(r.ZeroPoint[ch])
		lo = min(lo, float64(r.Range.Min[ch]), (float64(r.QMin)-zp)*s)
		hi = max(hi, float64(r.Range.Max[ch]), (float64(r.QMax)-zp)*s)
	}
	pad := (hi - lo) * 0.03
	if pad == 0 {
		pad = max(math.Abs(lo)*0.03, 1e-6)
	}
	return lo - pad, hi + pad
}

// rangeLines adds a pair of vertical lines at r's range of channel ch to
// p, from ylo to yhi, in colour c, dashed with pattern k.
func rangeLines(p *plot.Plot, r *calibResult, ch int, ylo, yhi float64, c color.Color, k int) error {
	dashes := [][]vg.Length{nil, {vg.Points(5), vg.Points(2)}, {vg.Points(2), vg.Points(2)}, {vg.Points(7), vg.Points(2), vg.Points(2), vg.Points(2)}}
	for _, v := range []float32{r.Range.Min[ch], r.Range.Max[ch]} {
		l, err := plotter.NewLine(plotter.XYs{{X: float64(v), Y: ylo}, {X: float64(v), Y: yhi}})
		if err != nil {
			return err
		}
		l.Color, l.Width, l.Dashes = c, vg.Points(1.3), dashes[k%len(dashes)]
		p.Add(l)
	}
	return nil
}

// plotTensor draws the per-tensor plot: the histogram with every method's
// range above the ranges panel.
func plotTensor(path string, h *calib.Histogram, results []*calibResult, title string) error {
	top, ymax, err := histPlot(h, title)
	if err != nil {
		return err
	}
	xlo, xhi := xSpan(h, results, 0)
	for i, r := range results {
		if err := rangeLines(top, r, 0, 0.5, ymax*3, methodColor(r.Method), i); err != nil {
			return err
		}
	}
	bottom, err := rangesPlot(results)
	if err != nil {
		return err
	}
	for _, p := range []*plot.Plot{top, bottom} {
		p.X.Min, p.X.Max = xlo, xhi
		p.X.Tick.Marker = niceTicks{}
	}
	top.X.Tick.Label.Font.Size = 0.1 // the bottom panel labels the shared x axis
	bottom.X.Label.Text = "value (each row: thick, the range a method chose; thin, what its scale and zero point represent; left, its SQNR)"
	rowsH := vg.Inch * vg.Length(0.32*float64(len(results))+0.75)
	return saveStacked(path, 9*vg.Inch, 4*vg.Inch, rowsH, top, bottom)
}

// rangesPlot has one row per method: its range as a thick bar in its
// colour, labelled with its name and SQNR.
func rangesPlot(results []*calibResult) (*plot.Plot, error) {
	p := plot.New()
	n := len(results)
	var ticks plot.ConstantTicks
	for i, r := range results {
		y := float64(n - 1 - i)
		// Thin: the values the scale and zero point represent; thick: the
		// range the method chose (narrower for a symmetric target).
		s, zp := float64(r.Scale[0]), float64(r.ZeroPoint[0])
		rep, err := plotter.NewLine(plotter.XYs{{X: (float64(r.QMin) - zp) * s, Y: y}, {X: (float64(r.QMax) - zp) * s, Y: y}})
		if err != nil {
			return nil, err
		}
		rep.Color, rep.Width = methodColor(r.Method), vg.Points(1.5)
		l, err := plotter.NewLine(plotter.XYs{{X: float64(r.Range.Min[0]), Y: y}, {X: float64(r.Range.Max[0]), Y: y}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = methodColor(r.Method), vg.Points(6)
		p.Add(rep, l)
		label := r.Method + "  " + fmtDB(r.sqnr) + " dB"
		ticks = append(ticks, plot.Tick{Value: y, Label: label})
	}
	p.Add(plotter.NewGrid())
	p.Y.Tick.Marker = ticks
	p.Y.Min, p.Y.Max = -0.7, float64(n)-0.3
	return p, nil
}

// saveStacked draws top above bottom (heights ht and hb, width w) with
// their data areas aligned, and writes the image to path.
func saveStacked(path string, w, ht, hb vg.Length, top, bottom *plot.Plot) error {
	format, err := plotFormat("--plot", path)
	if err != nil {
		return err
	}
	c, err := draw.NewFormattedCanvas(w, ht+hb, format)
	if err != nil {
		return err
	}
	dc := draw.New(c)
	pad := vg.Millimeter * 2
	ct, cb := dc, dc
	ct.Rectangle = vg.Rectangle{Min: vg.Point{X: dc.Min.X + pad, Y: dc.Min.Y + hb}, Max: vg.Point{X: dc.Max.X - pad, Y: dc.Max.Y - pad}}
	cb.Rectangle = vg.Rectangle{Min: vg.Point{X: dc.Min.X + pad, Y: dc.Min.Y + pad}, Max: vg.Point{X: dc.Max.X - pad, Y: dc.Min.Y + hb}}
	// Align the data areas: give each canvas the wider of the two margins.
	dt, db := top.DataCanvas(ct), bottom.DataCanvas(cb)
	left := max(dt.Min.X-ct.Min.X, db.Min.X-cb.Min.X)
	right := max(ct.Max.X-dt.Max.X, cb.Max.X-db.Max.X)
	ct.Min.X += left - (dt.Min.X - ct.Min.X)
	cb.Min.X += left - (db.Min.X - cb.Min.X)
	ct.Max.X -= right - (ct.Max.X - dt.Max.X)
	cb.Max.X -= right - (cb.Max.X - db.Max.X)
	top.Draw(ct)
	bottom.Draw(cb)
	return writePlotFile(path, c)
}

// channelsPlotted is how many channels of lowest SQNR --plot --axis draws.
const channelsPlotted = 4

// plotChannels draws the channels of lowest SQNR of a per-channel run,
// each as a histogram of its values with the method's range.
func plotChannels(o calibOpts, d *calibData, r *calibResult, title string) error {
	var plots []*plot.Plot
	for k, c := range worstChannels(r.chanSQNR, channelsPlotted) {
		vals := channelValues(d.x, d.shape, o.axis, c)
		h, err := calib.NewHistogram(o.bins, calib.HostReducer{})
		if err != nil {
			return err
		}
		if err := h.Observe(context.Background(), vals); err != nil {
			return err
		}
		sub := fmt.Sprintf("channel %d (#%d lowest): SQNR %s dB, %s range [%.4g, %.4g]", c, k+1, fmtChanDB(r.chanSQNR, c), r.Method, r.Range.Min[c], r.Range.Max[c])
		if k == 0 {
			sub = title + "\n" + sub
		}
		p, ymax, err := histPlot(h, sub)
		if err != nil {
			continue // a channel without finite values
		}
		p.Title.TextStyle.Font.Size = vg.Points(10)
		p.X.Min, p.X.Max = xSpan(h, []*calibResult{r}, c)
		if err := rangeLines(p, r, c, 0.5, ymax*3, methodColor(r.Method), 0); err != nil {
			return err
		}
		p.X.Label.Text = "value"
		plots = append(plots, p)
	}
	if len(plots) == 0 {
		return errors.New("no channel with finite data to plot")
	}
	return saveGrid(o.plot, 6*vg.Inch, 3.6*vg.Inch, plots)
}

// saveGrid draws the plots in two columns, each w x h.
func saveGrid(path string, w, h vg.Length, plots []*plot.Plot) error {
	format, err := plotFormat("--plot", path)
	if err != nil {
		return err
	}
	cols := min(2, len(plots))
	rows := (len(plots) + cols - 1) / cols
	c, err := draw.NewFormattedCanvas(w*vg.Length(cols), h*vg.Length(rows), format)
	if err != nil {
		return err
	}
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
		for j := range cols {
			if k := i*cols + j; k < len(plots) {
				grid[i][j] = plots[k]
			}
		}
	}
	t := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 6, PadY: vg.Millimeter * 4, PadTop: vg.Millimeter * 2,
		PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	cs := plot.Align(grid, t, draw.New(c))
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				p.Draw(cs[i][j])
			}
		}
	}
	return writePlotFile(path, c)
}

// countTicks marks a log count axis at powers of ten, labelled 1, 10,
// 100, 1k, 10k, 100k, 1M, ... (one format for every label), with unlabelled
// minor ticks at 2..9 times each.
type countTicks struct{}

func (countTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(max(lo, 1e-300))); e <= math.Ceil(math.Log10(hi)); e++ {
		v := math.Pow(10, e)
		if v >= lo && v <= hi {
			ts = append(ts, plot.Tick{Value: v, Label: siCount(v)})
		}
		for m := 2.0; m < 10; m++ {
			if u := m * v; u >= lo && u <= hi {
				ts = append(ts, plot.Tick{Value: u})
			}
		}
	}
	return ts
}

// siCount labels a power of ten: 1, 10, 100, 1k, ..., 1M, ..., 1G, 1T.
func siCount(v float64) string { return siNumber(v) }

// siNumber prints v with an SI prefix from 1000 up (2.5k, 1M, 40G), with
// at most 3 significant digits.
func siNumber(v float64) string {
	if v < 1000 {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	prefix := []string{"k", "M", "G", "T", "P", "E"}
	i := min(int(math.Floor(math.Log10(v)+1e-9))/3-1, len(prefix)-1)
	return strconv.FormatFloat(v/math.Pow(10, float64(3*(i+1))), 'g', 3, 64) + prefix[i]
}

// rateTicks marks a log axis at 1, 2 and 5 times each power of ten when
// the range spans under three decades (else at the powers of ten only),
// labelled with SI prefixes.
type rateTicks struct{}

func (rateTicks) Ticks(lo, hi float64) []plot.Tick {
	steps := []float64{1, 2, 5}
	if hi/lo >= 1000 {
		steps = []float64{1}
	}
	var ts []plot.Tick
	for e := math.Floor(math.Log10(max(lo, 1e-300))); e <= math.Ceil(math.Log10(hi)); e++ {
		p := math.Pow(10, e)
		for m := 1.0; m < 10; m++ {
			v := m * p
			if v < lo || v > hi {
				continue
			}
			label := ""
			for _, s := range steps {
				if m == s {
					label = siNumber(v)
				}
			}
			ts = append(ts, plot.Tick{Value: v, Label: label})
		}
	}
	return ts
}

// niceTicks marks a linear axis every 1, 2, 2.5 or 5 times a power of ten,
// 6 to 15 labelled ticks over the range (0 included when in range, so
// signed data gets ticks on both sides), every label with as many decimals
// as the step needs, and an unlabelled minor tick between labelled ones.
type niceTicks struct{}

func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	step := niceStep((hi - lo) / 12)
	dec := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	if m := step / math.Pow(10, math.Floor(math.Log10(step)+1e-9)); math.Abs(m-2.5) < 1e-9 {
		dec++
	}
	var ts []plot.Tick
	first := math.Ceil(lo/step-1e-9) * step
	for i := 0; ; i++ {
		v := first + float64(i)*step
		if v > hi+step*1e-9 {
			break
		}
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		label := strconv.FormatFloat(v, 'f', dec, 64)
		if math.Abs(v) >= 1e5 || v != 0 && math.Abs(v) < 1e-4 {
			label = strconv.FormatFloat(v, 'e', 1, 64)
		}
		ts = append(ts, plot.Tick{Value: v, Label: label})
		if m := v + step/2; m <= hi {
			ts = append(ts, plot.Tick{Value: m})
		}
	}
	if f := first - step/2; f >= lo {
		ts = append(ts, plot.Tick{Value: f})
	}
	return ts
}

// niceStep rounds s up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(s float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(s)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= s*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}
