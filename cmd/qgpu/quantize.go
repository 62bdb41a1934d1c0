package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/qtensor"
)

func init() {
	register(&command{name: "quantize", summary: "quantize a float tensor (.npy, .safetensors) into a .qt file", run: cmdQuantize})
	register(&command{name: "dequantize", summary: "turn a .qt file back into a float32 .npy file", run: cmdDequantize})
	register(&command{name: "inspect", summary: "print a tensor file's header, parameters and statistics", run: cmdInspect})
}

// loadFloat reads a float32 tensor from an .npy file or one tensor of a
// .safetensors file (name may be empty when the file holds one tensor).
// Every problem is a usage error.
func loadFloat(path, name string) (*qtensor.Tensor, error) {
	if strings.HasSuffix(strings.ToLower(path), ".safetensors") {
		st, err := qtensor.OpenSafetensors(path)
		if err != nil {
			return nil, asUsage(err)
		}
		defer st.Close()
		if name == "" {
			names := st.Names()
			if len(names) != 1 {
				return nil, usagef("%s holds %d tensors; choose one with --tensor (qgpu inspect %s lists them)", path, len(names), path)
			}
			name = names[0]
		}
		t, err := st.Float32(name)
		if err != nil {
			return nil, asUsage(fmt.Errorf("%s: %w", path, err))
		}
		return t, nil
	}
	if name != "" {
		return nil, usagef("--tensor applies to .safetensors files only")
	}
	t, err := qtensor.LoadNPY(path)
	if err != nil {
		return nil, asUsage(err)
	}
	if t.DType != qtensor.Float32 {
		return nil, usagef("%s holds %v values, want float32", path, t.DType)
	}
	t.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return t, nil
}

// loadQuantized reads a packed tensor from a .qt file (a Caffe2 bit-plane
// record is converted losslessly with ToTensor).
func loadQuantized(path string) (*qtensor.Tensor, *qtensor.Caffe2Tensor, error) {
	t, c, err := qtensor.LoadAny(path)
	if err != nil {
		return nil, nil, asUsage(err)
	}
	if c != nil {
		t, err = c.ToTensor()
		if err != nil {
			return nil, c, asUsage(fmt.Errorf("%s: Caffe2 tensor: %w", path, err))
		}
		t.Name = c.Name
	}
	return t, c, nil
}

// rangeParams computes per-pair [min, max] of the finite values of x under
// the granularity of p (whose scales and zero points are ignored) and
// turns each into (scale, zero point) with calib.QParams for target tg.
// A pair without finite values gets the range [0, 0].
func rangeParams(x []float32, shape []int, p qtensor.Params, tg calib.Target) (qtensor.Params, error) {
	n, err := p.NumPairs(shape)
	if err != nil {
		return p, err
	}
	lo := make([]float32, n)
	hi := make([]float32, n)
	seen := make([]bool, n)
	ix := p.Indexer(shape)
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			continue
		}
		k := ix.Pair(i)
		if !seen[k] {
			lo[k], hi[k], seen[k] = v, v, true
			continue
		}
		lo[k] = min(lo[k], v)
		hi[k] = max(hi[k], v)
	}
	p.Scales = make([]float32, n)
	p.ZeroPoints = make([]int32, n)
	for k := range n {
		s, z, err := calib.QParams(lo[k], hi[k], tg)
		if err != nil {
			return p, fmt.Errorf("pair %d: %w", k, err)
		}
		p.Scales[k], p.ZeroPoints[k] = s, z
	}
	return p, nil
}

func cmdQuantize(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("quantize", "qgpu quantize --in W.npy|W.safetensors [--tensor NAME] --dtype T [--scheme S] [--axis N] [--block N] --out W.qt", `
Quantizes a float tensor into qgpu's .qt format. Scales and zero points
come from the minimum and maximum of the finite values (NaN and ±Inf left
out) with PyTorch's qparams rules (calib.QParams): per tensor by default,
per channel along --axis N, or per block of --block N elements along --axis
(default: the last axis). The values are then quantized with ONNX
QuantizeLinear on the chosen backend (or PyTorch's rule with
--rounding torch). F16 and BF16 safetensors are converted to float32
exactly first.

A .safetensors input with several tensors and no --tensor (or --tensor
patterns, comma-separated, with * ? [) quantizes every float tensor of
rank >= 2 (or every matching float tensor) into one .safetensors --out in
the compressed-tensors layout vLLM and llm-compressor read: NAME (int8),
NAME_scale (float32, [1], [out, 1] per channel, [out, in/block] per block),
NAME_zero_point for affine targets; other tensors are copied.`, `
  qgpu quantize --in w.npy --dtype int8 --scheme symmetric --axis 0 --out w.qt
  qgpu quantize --in model.safetensors --tensor layers.0.weight --dtype int4 --block 32 --out l0.qt
  qgpu quantize --in act.npy --dtype uint8 --out act.qt
  qgpu quantize --in model.safetensors --dtype int8 --scheme symmetric --axis 0 --out model-w8.safetensors`, stdout)
	in := fs.String("in", "", "input `FILE` (.npy float32, or .safetensors)")
	tensor := fs.String("tensor", "", "tensor `NAME` in a .safetensors file (patterns with * ? [ or a comma list: several tensors)")
	dtype := fs.String("dtype", "int8", "element type: int8, uint8, int4 or uint4")
	scheme := fs.String("scheme", "affine", "affine or symmetric")
	axis := fs.Int("axis", -1, "per-channel axis (with --block: the blocked axis; default last)")
	block := fs.Int("block", 0, "per-block quantization with blocks of `N` elements")
	reduce := fs.Bool("reduce-range", false, "halve the integer range (PyTorch reduce_range)")
	rounding := fs.String("rounding", "onnx", "onnx (x / scale) or torch (x * (1/scale))")
	out := fs.String("out", "", "output `FILE` (.qt), written atomically")
	backend := fs.String("backend", "cpu", "backend that quantizes")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("quantize: unexpected argument %q", pos[0])
	}
	if *in == "" || *out == "" {
		return usagef("quantize: --in and --out are required (qgpu quantize -h)")
	}
	if err := sameFileErr("quantize", *out, *in); err != nil {
		return err
	}
	axisGiven := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "axis" {
			axisGiven = true
		}
	})
	d, err := qtensor.ParseDType(*dtype)
	if err != nil || !d.Quantized() {
		return usagef("quantize: --dtype %q: want int8, uint8, int4 or uint4", *dtype)
	}
	tg := calib.Target{DType: d, ReduceRange: *reduce}
	switch *scheme {
	case "affine":
		tg.Scheme = calib.Affine
	case "symmetric":
		tg.Scheme = calib.Symmetric
	default:
		return usagef("quantize: --scheme %q: want affine or symmetric", *scheme)
	}
	var rule qtensor.Rounding
	switch *rounding {
	case "onnx":
		rule = qtensor.RoundONNX
	case "torch":
		rule = qtensor.RoundTorch
	default:
		return usagef("quantize: --rounding %q: want onnx or torch", *rounding)
	}
	// A whole .safetensors file (or --tensor patterns): quantize_tensors.go.
	if multi, err := isTensorExport(*in, *tensor); err != nil || multi {
		if err != nil {
			return err
		}
		return runTensorExport(tensorExport{in: *in, patterns: *tensor, out: *out, target: tg, axis: *axis,
			axisGiven: axisGiven, block: *block, rule: rule}, stdout)
	}
	x, err := loadFloat(*in, *tensor)
	if err != nil {
		return err
	}
	rank := len(x.Shape)
	var p qtensor.Params
	switch {
	case *block < 0:
		return usagef("quantize: --block %d must be positive", *block)
	case *block > 0:
		a := rank - 1
		if axisGiven {
			a = *axis
		}
		if a < -rank || a >= rank {
			return usagef("quantize: --axis %d out of range for shape %v", a, x.Shape)
		}
		if a < 0 {
			a += rank
		}
		p = qtensor.Params{Granularity: qtensor.PerBlock, Axis: a, BlockSize: *block}
	case axisGiven:
		a := *axis
		if a < -rank || a >= rank {
			return usagef("quantize: --axis %d out of range for shape %v", a, x.Shape)
		}
		if a < 0 {
			a += rank
		}
		p = qtensor.Params{Granularity: qtensor.PerAxis, Axis: a}
	default:
		p = qtensor.Params{Granularity: qtensor.PerTensor}
	}
	if x.Len() == 0 {
		return usagef("quantize: %s is empty (shape %v)", *in, x.Shape)
	}
	xs := x.Float32s()
	p, err = rangeParams(xs, x.Shape, p, tg)
	if err != nil {
		return asUsage(fmt.Errorf("quantize: %w", err))
	}
	q, err := quantizeOn(*backend, x, d, p, rule)
	if err != nil {
		return err
	}
	q.Name = x.Name
	if err := qtensor.Save(*out, q); err != nil {
		return err
	}
	sq, _ := sqnr(xs, q)
	fmt.Fprintf(stdout, "%s: %v%v %s, %v %s: %d pair(s), SQNR %.2f dB -> %s\n", *in, x.DType, x.Shape, quoteName(x.Name), d, *scheme, len(p.Scales), sq, *out)
	return nil
}

func cmdDequantize(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dequantize", "qgpu dequantize --in W.qt --out W.npy", `
Dequantizes a .qt tensor (ONNX DequantizeLinear: float32(q - zero_point) *
scale with its own per-tensor, per-axis or per-block parameters) on the
chosen backend and writes the result as a float32 .npy file. A Caffe2
bit-plane record is first converted losslessly to packed storage.`, `
  qgpu dequantize --in w.qt --out w.npy`, stdout)
	in := fs.String("in", "", "input `FILE` (.qt)")
	out := fs.String("out", "", "output `FILE` (.npy), written atomically")
	backend := fs.String("backend", "cpu", "backend that dequantizes")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("dequantize: unexpected argument %q", pos[0])
	}
	if *in == "" || *out == "" {
		return usagef("dequantize: --in and --out are required (qgpu dequantize -h)")
	}
	if err := sameFileErr("dequantize", *out, *in); err != nil {
		return err
	}
	q, _, err := loadQuantized(*in)
	if err != nil {
		return err
	}
	if !q.DType.Quantized() {
		return usagef("dequantize: %s holds %v values, not a quantized tensor", *in, q.DType)
	}
	y, err := dequantizeOn(*backend, q)
	if err != nil {
		return err
	}
	return qtensor.SaveNPY(*out, y)
}

// quantizeOn quantizes float32 x to type d with params p on the named
// backend.
func quantizeOn(backend string, x *qtensor.Tensor, d qtensor.DType, p qtensor.Params, rule qtensor.Rounding) (*qtensor.Tensor, error) {
	eng, err := openEngine(backend, 0)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	dx, err := eng.Upload(x)
	if err != nil {
		return nil, err
	}
	defer dx.Release()
	b := eng.NewBatch()
	y, err := b.Quantize(dx, d, p, rule)
	if err != nil {
		return nil, err
	}
	defer y.Release()
	if err := b.Run(context.Background()); err != nil {
		return nil, err
	}
	return eng.Download(y)
}

// dequantizeOn dequantizes q on the named backend.
func dequantizeOn(backend string, q *qtensor.Tensor) (*qtensor.Tensor, error) {
	eng, err := openEngine(backend, 0)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	dq, err := eng.Upload(q)
	if err != nil {
		return nil, err
	}
	defer dq.Release()
	b := eng.NewBatch()
	y, err := b.Dequantize(dq)
	if err != nil {
		return nil, err
	}
	defer y.Release()
	if err := b.Run(context.Background()); err != nil {
		return nil, err
	}
	return eng.Download(y)
}

// sqnr is 10*log10(sum x^2 / sum (x - dequant(q))^2) over the finite x
// (docs/semantics.md section 5), with the dequantized values from qtensor.Dequantize.
func sqnr(x []float32, q *qtensor.Tensor) (float64, error) {
	y, err := q.DequantizeFloat32()
	if err != nil {
		return 0, err
	}
	return sqnrOf(x, y)
}

func sqnrOf(x, y []float32) (float64, error) {
	if len(x) != len(y) {
		return 0, fmt.Errorf("%d reference values against %d", len(x), len(y))
	}
	var sig, noise float64
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			continue
		}
		sig += float64(v) * float64(v)
		e := float64(v) - float64(y[i])
		noise += e * e
	}
	switch {
	case noise == 0:
		return math.Inf(1), nil
	case sig == 0:
		return math.Inf(-1), nil
	}
	return 10 * math.Log10(sig/noise), nil
}

// floatStats summarises float values.
type floatStats struct {
	n, nan, posInf, negInf int
	min, max, mean, std    float64
}

func statsOf(x []float32) floatStats {
	s := floatStats{min: math.Inf(1), max: math.Inf(-1)}
	var sum, sum2 float64
	for _, v := range x {
		f := float64(v)
		switch {
		case math.IsNaN(f):
			s.nan++
			continue
		case math.IsInf(f, 1):
			s.posInf++
			continue
		case math.IsInf(f, -1):
			s.negInf++
			continue
		}
		s.n++
		s.min, s.max = min(s.min, f), max(s.max, f)
		sum += f
		sum2 += f * f
	}
	if s.n > 0 {
		s.mean = sum / float64(s.n)
		s.std = math.Sqrt(max(0, sum2/float64(s.n)-s.mean*s.mean))
	}
	return s
}

func (s floatStats) String() string {
	if s.n == 0 {
		return fmt.Sprintf("no finite values (%d NaN, %d +Inf, %d -Inf)", s.nan, s.posInf, s.negInf)
	}
	r := fmt.Sprintf("min %.6g, max %.6g, mean %.6g, std %.6g", s.min, s.max, s.mean, s.std)
	if s.nan+s.posInf+s.negInf > 0 {
		r += fmt.Sprintf(" (%d NaN, %d +Inf, %d -Inf left out)", s.nan, s.posInf, s.negInf)
	}
	return r
}

func cmdInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("inspect", "qgpu inspect FILE [--tensor NAME] [--ref F.npy]", `
Prints a tensor file's header and statistics. For a .qt file: name, element
type, shape, storage size, granularity, scales and zero points (range and
the first few), the integer range used and how many values sit at the
type's limits (saturation), and the dequantized values' statistics; with
--ref, the SQNR and maximum absolute error of the dequantized values
against the float reference. For .npy: type, shape and statistics. For
.safetensors: the tensor list, or one tensor's statistics with --tensor.`, `
  qgpu inspect w.qt
  qgpu inspect w.qt --ref w.npy
  qgpu inspect model.safetensors
  qgpu inspect model.safetensors --tensor layers.0.weight`, stdout)
	ref := fs.String("ref", "", "float32 reference `FILE` (.npy, or .safetensors with --tensor) for SQNR")
	tensor := fs.String("tensor", "", "tensor `NAME` in a .safetensors file")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("inspect: want one FILE, have %d arguments", len(pos))
	}
	path := pos[0]
	lower := strings.ToLower(path)
	switch {
	case strings.HasSuffix(lower, ".safetensors") && *tensor == "":
		if *ref != "" {
			return usagef("inspect: --ref needs a .qt file")
		}
		st, err := qtensor.OpenSafetensors(path)
		if err != nil {
			return asUsage(err)
		}
		defer st.Close()
		fmt.Fprintf(stdout, "%s: safetensors, %d tensors\n", path, len(st.Names()))
		for _, n := range st.Names() {
			info, _ := st.Info(n)
			fmt.Fprintf(stdout, "  %s: %s %v (%d bytes)\n", quoteName(n), info.DType, info.Shape, info.End-info.Begin)
		}
		meta := st.Metadata()
		keys := slices.Sorted(maps.Keys(meta))
		for _, k := range keys {
			fmt.Fprintf(stdout, "  metadata %s = %s\n", quoteName(k), quoteName(meta[k]))
		}
		return nil
	case strings.HasSuffix(lower, ".safetensors"), strings.HasSuffix(lower, ".npy"):
		if *ref != "" {
			return usagef("inspect: --ref needs a .qt file")
		}
		var t *qtensor.Tensor
		if strings.HasSuffix(lower, ".npy") && *tensor == "" {
			t, err = qtensor.LoadNPY(path)
			if err != nil {
				return asUsage(err)
			}
		} else if t, err = loadFloat(path, *tensor); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %v %v, %d elements\n", path, t.DType, t.Shape, t.Len())
		if t.DType == qtensor.Float32 {
			fmt.Fprintf(stdout, "  values: %v\n", statsOf(t.Float32s()))
		} else {
			lo, hi := intRange(t.Int32s())
			fmt.Fprintf(stdout, "  values: min %d, max %d\n", lo, hi)
		}
		return nil
	}
	if *tensor != "" {
		return usagef("inspect: --tensor applies to .safetensors files only")
	}
	q, c, err := loadQuantized(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: qgpu tensor", path)
	if c != nil {
		fmt.Fprintf(stdout, " (Caffe2 bit-plane layout: precision %d, signed %v, scale %g, bias %g, alignment %d)", c.Precision(), c.IsSigned(), c.Scale(), c.Bias(), c.Alignment())
	}
	fmt.Fprintln(stdout)
	if q.Name != "" {
		fmt.Fprintf(stdout, "  name:        %s\n", quoteName(q.Name))
	}
	fmt.Fprintf(stdout, "  dtype:       %v\n  shape:       %v (%d elements, %d data bytes)\n", q.DType, q.Shape, q.Len(), len(q.Data))
	if !q.DType.Quantized() {
		return nil
	}
	p := q.Params
	fmt.Fprintf(stdout, "  granularity: %v", p.Granularity)
	switch p.Granularity {
	case qtensor.PerAxis:
		fmt.Fprintf(stdout, " (axis %d)", p.Axis)
	case qtensor.PerBlock:
		fmt.Fprintf(stdout, " (axis %d, block size %d)", p.Axis, p.BlockSize)
	}
	fmt.Fprintf(stdout, ", %d pair(s)\n", len(p.Scales))
	if len(p.Scales) > 0 { // an empty per-axis or per-block tensor has none
		smin, smax := p.Scales[0], p.Scales[0]
		for _, s := range p.Scales {
			smin, smax = min(smin, s), max(smax, s)
		}
		zmin, zmax := intRange(p.ZeroPoints)
		fmt.Fprintf(stdout, "  scales:      min %g, max %g%s\n", smin, smax, firstFew(p.Scales))
		fmt.Fprintf(stdout, "  zero points: min %d, max %d%s\n", zmin, zmax, firstFew(p.ZeroPoints))
	}
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
	fmt.Fprintf(stdout, "  integers:    min %d, max %d of [%d, %d]; %d at %d, %d at %d (%.3f%% at the limits)\n",
		lo, hi, q.DType.QMin(), q.DType.QMax(), atMin, q.DType.QMin(), atMax, q.DType.QMax(), 100*float64(atMin+atMax)/float64(max(1, len(vals))))
	y, err := q.DequantizeFloat32()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "  dequantized: %v\n", statsOf(y))
	if *ref == "" {
		return nil
	}
	r, err := loadFloat(*ref, "")
	if err != nil {
		return err
	}
	if r.Len() != q.Len() {
		return usagef("inspect: reference %s has shape %v, the tensor %v", *ref, r.Shape, q.Shape)
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
	fmt.Fprintf(stdout, "  reference:   %s: %v\n  SQNR:        %.2f dB, max abs error %.6g\n", *ref, statsOf(xs), sq, maxErr)
	return nil
}

func intRange(v []int32) (lo, hi int32) {
	if len(v) == 0 {
		return 0, 0
	}
	lo, hi = v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

// firstFew lists up to 8 values, for a glance at per-channel parameters.
func firstFew[T any](v []T) string {
	if len(v) <= 1 {
		return ""
	}
	n := min(len(v), 8)
	parts := make([]string, n)
	for i := range n {
		parts[i] = fmt.Sprint(v[i])
	}
	s := "; " + strings.Join(parts, " ")
	if len(v) > n {
		s += " ..."
	}
	return s
}
