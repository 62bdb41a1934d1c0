package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/qgpu/qgpu/qtensor"
)

// plotFormat returns the image format of a --plot path (png or svg) or a
// usage error naming flag.
func plotFormat(flag, path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png", ".svg":
		return ext[1:], nil
	}
	return "", usagef("%s %q: the file name must end in .png or .svg", flag, path)
}

// savePlots draws the plots side by side (one row) on a canvas of w x h
// per plot and writes it to path atomically; the format follows the
// extension (png or svg).
func savePlots(path string, w, h vg.Length, plots ...*plot.Plot) error {
	format, err := plotFormat("--plot", path)
	if err != nil {
		return err
	}
	c, err := draw.NewFormattedCanvas(w*vg.Length(len(plots)), h, format)
	if err != nil {
		return err
	}
	dc := draw.New(c)
	if len(plots) == 1 {
		plots[0].Draw(dc)
	} else {
		t := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2,
			PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
		cs := plot.Align([][]*plot.Plot{plots}, t, dc)
		for i, p := range plots {
			p.Draw(cs[0][i])
		}
	}
	return writePlotFile(path, c)
}

// writePlotFile writes the drawn canvas c to path atomically.
func writePlotFile(path string, c vg.CanvasWriterTo) error {
	return qtensor.WriteFileAtomic(path, func(out io.Writer) error {
		_, err := c.WriteTo(out)
		return err
	})
}

// benchSeries is one line (or set of points) of the bench plot.
type benchSeries struct {
	name   string
	xy     plotter.XYs
	points bool // points only: shapes that are not a sweep
}

// plotBench draws the bench results: GOPS against operations per run for
// GEMM (a line for the square sweep and one per row count M of the layer
// shapes) and conv layers and float32 baselines (points), and GB/s against
// elements for the streaming ops; one series per op and backend, log x.
func plotBench(path string, results []benchResult, m machine) error {
	compute, memory := benchSeriesOf(results)
	var plots []*plot.Plot
	if len(compute) > 0 {
		p, err := benchPanel(compute, "GEMM / conv: "+m.CPU, "operations per run (2·M·N·K)", "GOPS (f32: GFLOPS)")
		if err != nil {
			return err
		}
		plots = append(plots, p)
	}
	if len(memory) > 0 {
		p, err := benchPanel(memory, "quantize / dequantize / histogram", "elements", "GB/s")
		if err != nil {
			return err
		}
		plots = append(plots, p)
	}
	if len(plots) == 0 {
		return errors.New("nothing to plot")
	}
	return savePlots(path, 7*vg.Inch, 5*vg.Inch, plots...)
}

// benchSeriesOf sorts the results into the series of the two panels.
func benchSeriesOf(results []benchResult) (compute, memory []*benchSeries) {
	find := func(list *[]*benchSeries, name string, points bool) *benchSeries {
		for _, s := range *list {
			if s.name == name {
				return s
			}
		}
		s := &benchSeries{name: name, points: points}
		*list = append(*list, s)
		return s
	}
	seenBase := map[string]bool{}
	for _, r := range results {
		switch {
		case r.Ops > 0:
			// GEMM: the square sweep and each row count M of the layer
			// shapes are separate lines; conv layers are points.
			name, points := r.Op+" "+r.Backend, r.Op != "gemm"
			if d, err := parseInts(r.Shape, "x"); r.Op == "gemm" && err == nil && len(d) == 3 {
				if d[0] == d[1] && d[1] == d[2] {
					name += " square"
				} else {
					name += fmt.Sprintf(" M=%d", d[0])
				}
			}
			s := find(&compute, name, points)
			s.xy = append(s.xy, plotter.XY{X: r.Ops, Y: r.GOPS})
			if k := r.Op + "/" + r.Shape; r.F32GFLOPS > 0 && !seenBase[k] {
				seenBase[k] = true
				b := find(&compute, r.Op+" f32 (gonum)", true)
				b.xy = append(b.xy, plotter.XY{X: r.Ops, Y: r.F32GFLOPS})
			}
		case r.Elements > 0:
			s := find(&memory, r.Op+" "+r.Backend, false)
			s.xy = append(s.xy, plotter.XY{X: float64(r.Elements), Y: r.GBps})
		}
	}
	return compute, memory
}

// benchPanel draws one panel of the bench plot: log x, log y when the
// rates span more than a factor 10.
func benchPanel(list []*benchSeries, title, xl, yl string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xl
	p.Y.Label.Text = yl
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = rateTicks{}
	// The legend sits in the top right, above the data: the y range leaves
	// it room (the int8 rates are the highest).
	p.Legend.Top = true
	p.Legend.XOffs, p.Legend.YOffs = -vg.Millimeter*2, -vg.Millimeter*2
	p.Add(plotter.NewGrid())
	xlo, xhi, ylo, yhi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range list {
		for _, v := range s.xy {
			xlo, xhi, ylo, yhi = min(xlo, v.X), max(xhi, v.X), min(ylo, v.Y), max(yhi, v.Y)
		}
	}
	// Pad the log x axis by a factor 2 each side; a log y axis when the
	// rates span more than a factor 10 (int8 kernels against float32).
	p.X.Min, p.X.Max = xlo/2, xhi*2
	if ylo > 0 && yhi > 10*ylo {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = rateTicks{}
		p.Y.Min, p.Y.Max = ylo/2, yhi*math.Pow(2, float64(len(list)+1))
	} else {
		p.Y.Min, p.Y.Max = 0, yhi*(1.15+0.12*float64(len(list)))
	}
	for i, s := range list {
		sort.Slice(s.xy, func(a, b int) bool { return s.xy[a].X < s.xy[b].X })
		l, pts, err := plotter.NewLinePoints(s.xy)
		if err != nil {
			return nil, err
		}
		l.Color, pts.Color = plotutil.Color(i), plotutil.Color(i)
		pts.Shape = plotutil.Shape(i)
		if s.points {
			pts.Radius = vg.Points(3.5)
			p.Add(pts)
			p.Legend.Add(s.name, pts)
			continue
		}
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	return p, nil
}
