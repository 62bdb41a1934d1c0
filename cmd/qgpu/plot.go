package main

import (
	"io"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
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
	return qtensor.WriteFileAtomic(path, func(out io.Writer) error {
		_, err := c.WriteTo(out)
		return err
	})
}
