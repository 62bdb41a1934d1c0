package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/qgpu/qgpu/qtensor"
)

func init() {
	register(&command{name: "inspect", summary: "print a tensor file's header, parameters and statistics", run: cmdInspect})
}

const inspectAbout = `
Prints a tensor file's header and statistics; the file's content says
what it is, whatever its name. For a quantized tensor (.qt, or a
.safetensors tensor written by qgpu quantize): name, element type, shape,
storage size, granularity, scales and zero points (range and the first
few), the integer range used and how many values sit at the type's limits
(saturation), and the dequantized values' statistics; with --ref, the SQNR
and maximum absolute error of the dequantized values against the float
reference. For a float or integer tensor (.npy, .safetensors, .qt): type,
shape and statistics. For a .safetensors file without --tensor: the tensor
list and metadata.

--tensor NAME picks the tensor of every .safetensors file given (FILE, and
the --ref): a tensor quantized from model.safetensors keeps its name.`

const inspectExamples = `
  qgpu inspect w.qt
  qgpu inspect w.qt --ref w.npy
  qgpu inspect model.safetensors
  qgpu inspect model.safetensors --tensor layers.0.weight
  qgpu inspect l0.qt --ref model.safetensors --tensor layers.0.weight`

func cmdInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("inspect", "qgpu inspect FILE [--tensor NAME] [--ref F.npy|F.safetensors]", inspectAbout, inspectExamples, stdout)
	ref := fs.String("ref", "", "float reference `FILE` (.npy, .safetensors, float .qt) for the SQNR of a quantized FILE")
	tensor := fs.String("tensor", "", "tensor `NAME` in the .safetensors files (FILE and --ref)")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("inspect: want one FILE, have %d arguments", len(pos))
	}
	path := pos[0]
	format, err := sniffFormat(path)
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	var refFormat fileFormat
	if *ref != "" {
		if refFormat, err = sniffFormat(*ref); err != nil {
			return fmt.Errorf("inspect: --ref: %w", err)
		}
	}
	if *tensor != "" && format != formatSafetensors && refFormat != formatSafetensors {
		return usagef("inspect: --tensor applies to .safetensors files; %s is a %s file holding one tensor", path, format.ext())
	}
	if format == formatSafetensors && *tensor == "" {
		if *ref != "" {
			return usagef("inspect: --ref needs one quantized tensor: choose it with --tensor (qgpu inspect %s lists them)", path)
		}
		return listSafetensors(stdout, path)
	}
	x, err := loadTensor(path, nameIn(format, *tensor))
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	if !x.params || !x.DType.Quantized() {
		if *ref != "" {
			return usagef("inspect: --ref needs a quantized FILE (.qt, or .safetensors from qgpu quantize); %s holds %v values", path, x.DType)
		}
		printValues(stdout, x)
		return nil
	}
	// Read the reference before printing anything, so that a bad one is an
	// error without half a report.
	var r *qtensor.Tensor
	if *ref != "" {
		if r, err = loadFloat("inspect: --ref", *ref, nameIn(refFormat, *tensor), stderr); err != nil {
			return err
		}
		if r.Len() != x.Len() {
			return usagef("inspect: reference %s has shape %v, the tensor %v", *ref, r.Shape, x.Shape)
		}
	}
	return printQuantized(stdout, x, r, *ref)
}

// nameIn is the --tensor name for a file of format f: name for a
// .safetensors file, "" for the others.
func nameIn(f fileFormat, name string) string {
	if f == formatSafetensors {
		return name
	}
	return ""
}

// listSafetensors prints the tensors and metadata of a .safetensors file;
// a tensor quantized by qgpu is one entry with its parameters.
func listSafetensors(w io.Writer, path string) error {
	st, err := qtensor.OpenSafetensors(path)
	if err != nil {
		return asUsage(fmt.Errorf("inspect: %w", err))
	}
	defer st.Close()
	names := primaryNames(st)
	meta := st.Metadata()
	fmt.Fprintf(w, "%s: safetensors, %d tensors\n", path, len(names))
	for _, n := range names {
		info, _ := st.Info(n)
		if m, ok := meta[quantMetaPrefix+n]; ok {
			fmt.Fprintf(w, "  %s: %s %v quantized by qgpu %s, with %s and %s\n", quoteName(n), info.DType, info.Shape, quoteName(m), quoteName(n+"_scale"), quoteName(n+"_zero_point"))
			continue
		}
		fmt.Fprintf(w, "  %s: %s %v (%d bytes)\n", quoteName(n), info.DType, info.Shape, info.End-info.Begin)
	}
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		if !strings.HasPrefix(k, quantMetaPrefix) {
			fmt.Fprintf(w, "  metadata %s = %s\n", quoteName(k), quoteName(meta[k]))
		}
	}
	return nil
}

// printValues prints the type, shape and statistics of an unquantized
// tensor (integers read without parameters included).
func printValues(w io.Writer, x *loaded) {
	from := ""
	if x.from != "" && x.from != "float32" {
		from = " (read from " + x.from + ")"
	}
	name := ""
	switch {
	case x.format == formatSafetensors:
		name = " " + quoteName(x.Name)
	case x.format == formatQT && x.Name != "":
		name = " qgpu tensor " + quoteName(x.Name)
	case x.format == formatQT:
		name = " qgpu tensor"
	}
	fmt.Fprintf(w, "%s:%s %v%s %v, %d elements\n", x.path, name, x.DType, from, x.Shape, x.Len())
	if x.DType == qtensor.Float32 {
		fmt.Fprintf(w, "  values: %v\n", statsOf(x.Float32s()))
		return
	}
	lo, hi := intRange(x.Int32s())
	fmt.Fprintf(w, "  values: min %d, max %d\n", lo, hi)
}

// printQuantized prints the report of a quantized tensor, with the SQNR
// against r when r is not nil.
func printQuantized(w io.Writer, q *loaded, r *qtensor.Tensor, refPath string) error {
	kind := "qgpu tensor"
	if q.format == formatSafetensors {
		kind = "quantized tensor (safetensors, qgpu's layout)"
	}
	fmt.Fprintf(w, "%s: %s", q.path, kind)
	if c := q.caffe2; c != nil {
		fmt.Fprintf(w, " (Caffe2 bit-plane layout: precision %d, signed %v, scale %g, bias %g, alignment %d)", c.Precision(), c.IsSigned(), c.Scale(), c.Bias(), c.Alignment())
	}
	fmt.Fprintln(w)
	if q.Name != "" {
		fmt.Fprintf(w, "  name:        %s\n", quoteName(q.Name))
	}
	fmt.Fprintf(w, "  dtype:       %v\n  shape:       %v (%d elements, %d data bytes)\n", q.DType, q.Shape, q.Len(), len(q.Data))
	printParams(w, q.Params)
	vals := q.Int32s()
	lo, hi := intRange(vals)
	atMin, atMax := 0, 0
	for _, v := range vals {
		if v == q.DType.QMin() {
			atMin++
		} else if v == q.DType.QMax() {
			atMax++
		}
	}
	fmt.Fprintf(w, "  integers:    min %d, max %d of [%d, %d]; %d at %d, %d at %d (%.3f%% at the limits)\n",
		lo, hi, q.DType.QMin(), q.DType.QMax(), atMin, q.DType.QMin(), atMax, q.DType.QMax(), 100*float64(atMin+atMax)/float64(max(1, len(vals))))
	y, err := q.DequantizeFloat32()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  dequantized: %v\n", statsOf(y))
	if r == nil {
		return nil
	}
	xs := r.Float32s()
	sq, err := sqnrOf(xs, y)
	if err != nil {
		return err
	}
	var maxErr float64
	for i, v := range xs {
		if !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
			maxErr = max(maxErr, math.Abs(float64(v)-float64(y[i])))
		}
	}
	fmt.Fprintf(w, "  reference:   %s: %v\n  SQNR:        %s dB, max abs error %.6g\n", refPath, statsOf(xs), fmtDB(sq), maxErr)
	return nil
}

// printParams prints the granularity, scales and zero points.
func printParams(w io.Writer, p qtensor.Params) {
	fmt.Fprintf(w, "  granularity: %v", p.Granularity)
	switch p.Granularity {
	case qtensor.PerAxis:
		fmt.Fprintf(w, " (axis %d)", p.Axis)
	case qtensor.PerBlock:
		fmt.Fprintf(w, " (axis %d, block size %d)", p.Axis, p.BlockSize)
	}
	fmt.Fprintf(w, ", %d pair(s)\n", len(p.Scales))
	if len(p.Scales) == 0 { // an empty per-axis or per-block tensor has none
		return
	}
	smin, smax := p.Scales[0], p.Scales[0]
	for _, s := range p.Scales {
		smin, smax = min(smin, s), max(smax, s)
	}
	zmin, zmax := intRange(p.ZeroPoints)
	fmt.Fprintf(w, "  scales:      min %g, max %g%s\n", smin, smax, firstFew(p.Scales))
	fmt.Fprintf(w, "  zero points: min %d, max %d%s\n", zmin, zmax, firstFew(p.ZeroPoints))
}
