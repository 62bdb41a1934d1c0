package main

import (
	"fmt"
	"io"
	"math"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/qtensor"
)

func init() {
	register(&command{name: "quantize", summary: "quantize a float tensor (.npy, .safetensors) into a .qt or .safetensors file", run: cmdQuantize})
}

const quantizeAbout = `
Quantizes a float tensor into qgpu's .qt format, or a .safetensors file
(the extension of --out picks the format). Scales and zero points come
from the minimum and maximum of the finite values (NaN and ±Inf left out)
per tensor by default, per channel along --axis N, or per block of
--block N elements along --axis (default: the last axis). The values are
then quantized with ONNX QuantizeLinear on the chosen backend: round to
nearest, ties to even, of x / scale (or PyTorch's rule with --rounding
torch). float16 and float64 .npy arrays and F16/BF16 safetensors are
converted to float32 first (float64 rounded, with a note).

Schemes (--scheme), over the integer range [qmin, qmax] of --dtype (or
--qmin/--qmax), with amax the largest finite magnitude:
  affine     PyTorch's rule (calib.QParams): scale = (max - min) /
             (qmax - qmin), zero point from the minimum
  symmetric  PyTorch's rule: scale = amax / ((qmax - qmin) / 2), zero point
             0 (signed) or the mid-point (uint8 128, uint4 8): int4 amax/7.5,
             int8 amax/127.5, so the largest positive values round past
             qmax and saturate
  absmax     scale = amax / q with q = min(-qmin, qmax) of a signed range
             (q = qmax - zp of an unsigned one, zero point the mid-point):
             int4 and uint4 amax/7, int8 and uint8 amax/127; the largest
             magnitude lands on ±q exactly and nothing saturates (llama.cpp's
             Q8_0, ONNX Runtime's int8 activations, GPTQ/AWQ's symmetric int4)
Both symmetric rules floor the scale at 2^-23, as PyTorch does; --qmin -7
--qmax 7 with --scheme symmetric gives int4 amax/7 too.

A .safetensors input holding several tensors takes --tensor PATTERN, a
shell pattern (path.Match: "*.weight", "layers.*.mlp.*"): every matching
float tensor is quantized alike into the .safetensors --out (the others
are left out), with one line per tensor: its SQNR and the share of values
that saturated at qmin or qmax.

Per tensor is the default for every shape: qgpu cannot tell a weight from
an activation, and per channel along axis 0 is right for a weight but
wrong for a batch of activations. When a tensor of rank 2 or more would
gain 1 dB or more from --axis 0, a note on stderr says so with both SQNRs.

Outputs (--out):
  .qt           qgpu's format: the packed integers with their parameters
  .safetensors  NAME (I8/U8; 4-bit values one per byte), NAME_scale (F32)
                and NAME_zero_point, in ONNX's layout (per tensor: 0-d;
                per axis: [C]; per block: the tensor's shape with the axis
                cut to the block count), and a "qgpu:NAME" metadata entry;
                NAME is the input tensor's name (an .npy file's base name)
  A name without an extension gets .qt's format. An .npy file cannot hold
  the scales and zero points (qgpu run QuantizeLinear writes bare integers).
qgpu dequantize and qgpu inspect read both back.

A .safetensors input with several tensors and no --tensor (or --tensor
patterns, comma-separated, with * ? [) quantizes every float tensor of
rank >= 2 (or every matching float tensor) into one .safetensors --out in
the compressed-tensors layout vLLM and llm-compressor read: NAME (int8),
NAME_scale (float32, [1], [out, 1] per channel, [out, in/block] per block),
NAME_zero_point for affine targets; other tensors are copied.`

const quantizeExamples = `
  qgpu quantize --in w.npy --dtype int8 --scheme symmetric --axis 0 --out w.qt
  qgpu quantize --in model.safetensors --tensor '*.weight' --dtype int4 --block 32 --scheme absmax --out model_q4.safetensors
  qgpu quantize --in model.safetensors --tensor layers.0.weight --dtype int4 --block 32 --out l0.safetensors
  qgpu quantize --in act.npy --dtype uint8 --out act.qt
  qgpu quantize --in model.safetensors --dtype int8 --scheme symmetric --axis 0 --out model-w8.safetensors`

// quantizeOut are the formats quantize writes, and why not the others.
var (
	quantizeOut    = []fileFormat{formatQT, formatSafetensors}
	quantizeNotOut = map[fileFormat]string{formatNPY: "an .npy file cannot hold the scales and zero points (qgpu run QuantizeLinear writes bare integers as .npy)"}
)

func cmdQuantize(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("quantize", "qgpu quantize --in W.npy|W.safetensors [--tensor NAME] --dtype T [--scheme S] [--axis N] [--block N] --out W.qt|W.safetensors", quantizeAbout, quantizeExamples, stdout)
	in := fs.String("in", "", "input `FILE` (.npy float32/float16/float64, .safetensors, or a float .qt)")
	tensor := fs.String("tensor", "", "tensor `NAME` in a .safetensors file (patterns with * ? [ or a comma list: several tensors)")
	tf := addTargetFlags(fs, "int8", true)
	if f := fs.Lookup("scheme"); f != nil {
		f.Usage = "affine, symmetric or absmax (see above)"
	}
	axis := fs.Int("axis", -1, "per-channel axis (with --block: the blocked axis; default last)")
	block := fs.Int("block", 0, "per-block quantization with blocks of `N` elements")
	rounding := fs.String("rounding", "onnx", "onnx (x / scale) or torch (x * (1/scale))")
	out := fs.String("out", "", "output `FILE`: .qt or .safetensors (the extension picks the format), written atomically")
	backend := fs.String("backend", "cpu", "backend that quantizes")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if err := noArgs("quantize", pos); err != nil {
		return err
	}
	format, err := checkInOut("quantize", *in, *out, quantizeNotOut, quantizeOut...)
	if err != nil {
		return err
	}
	given := fs.given()
	absmax := *tf.scheme == "absmax"
	if absmax {
		*tf.scheme = "symmetric" // the same zero point and range checks
	}
	tg, err := tf.target("quantize", given)
	if err != nil {
		return err
	}
	if absmax {
		*tf.scheme = "absmax"
	}
	rule, err := parseRounding("quantize", *rounding)
	if err != nil {
		return err
	}
	// A whole .safetensors file (or --tensor patterns): 8-bit types in the
	// compressed-tensors layout (quantize_tensors.go); 4-bit types and the
	// absmax scheme in qgpu's .safetensors layout with a per-tensor SQNR
	// and saturation report (quantize_many.go).
	if multi, err := isTensorExport(*in, *tensor); err != nil || multi {
		if err != nil {
			return err
		}
		if absmax || (tg.DType != qtensor.Int8 && tg.DType != qtensor.Uint8) {
			return quantizeMany(*in, *tensor, *out, format, tg, absmax, *axis, given["axis"], *block, rule, *backend, stdout, stderr)
		}
		return runTensorExport(tensorExport{in: *in, patterns: *tensor, out: *out, target: tg, axis: *axis,
			axisGiven: given["axis"], block: *block, rule: rule}, stdout)
	}
	x, err := loadFloat("quantize", *in, *tensor, stderr)
	if err != nil {
		return err
	}
	gran, err := granularity("quantize", x.Shape, *axis, given["axis"], *block)
	if err != nil {
		return err
	}
	if x.Len() == 0 {
		return usagef("quantize: %s is empty (shape %v)", *in, x.Shape)
	}
	xs := x.Float32s()
	p, err := schemeParams(xs, x.Shape, gran, tg, absmax)
	if err != nil {
		return asUsage(fmt.Errorf("quantize: %w", err))
	}
	q, err := quantizeOn(*backend, x, tg.DType, p, rule)
	if err != nil {
		return err
	}
	q.Name = x.Name
	if err := saveTensor(*out, format, q); err != nil {
		return err
	}
	sq, _ := sqnr(xs, q)
	fmt.Fprintf(stdout, "%s: %v%v %s, %v %s %s: %d pair(s), SQNR %s dB -> %s\n", *in, x.DType, x.Shape, quoteName(x.Name), tg.DType, *tf.scheme, p.Granularity, len(p.Scales), fmtDB(sq), *out)
	if !given["axis"] && *block == 0 {
		perChannelNote(stderr, *in, x, tg, rule, sq)
	}
	return nil
}

// parseRounding parses --rounding.
func parseRounding(cmd, s string) (qtensor.Rounding, error) {
	switch s {
	case "onnx":
		return qtensor.RoundONNX, nil
	case "torch":
		return qtensor.RoundTorch, nil
	}
	return 0, usagef("%s: --rounding %q: want onnx or torch", cmd, s)
}

// granularity returns the (scale-less) params of --axis and --block for
// a tensor of the given shape: per block along axis (default the last)
// when block > 0, per axis when the axis was given, else per tensor.
func granularity(cmd string, shape []int, axis int, axisGiven bool, block int) (qtensor.Params, error) {
	rank := len(shape)
	switch {
	case block < 0:
		return qtensor.Params{}, usagef("%s: --block %d must be positive", cmd, block)
	case block > 0:
		if !axisGiven {
			axis = rank - 1
		}
		a, err := axisIndex(cmd, axis, rank, shape)
		return qtensor.Params{Granularity: qtensor.PerBlock, Axis: a, BlockSize: block}, err
	case axisGiven:
		a, err := axisIndex(cmd, axis, rank, shape)
		return qtensor.Params{Granularity: qtensor.PerAxis, Axis: a}, err
	}
	return qtensor.Params{Granularity: qtensor.PerTensor}, nil
}

// perChannelNote tells on stderr when a tensor quantized per tensor would
// gain at least 1 dB of SQNR per channel along axis 0 (rank 2 and more,
// axis 0 longer than 1): the usual layout of a weight.
func perChannelNote(stderr io.Writer, in string, x *qtensor.Tensor, tg calib.Target, rule qtensor.Rounding, perTensor float64) {
	if len(x.Shape) < 2 || x.Shape[0] < 2 {
		return
	}
	xs := x.Float32s()
	p, err := rangeParams(xs, x.Shape, qtensor.Params{Granularity: qtensor.PerAxis, Axis: 0}, tg)
	if err != nil {
		return
	}
	q, err := qtensor.QuantizeFloat32(xs, x.Shape, tg.DType, p, rule)
	if err != nil {
		return
	}
	pc, err := sqnr(xs, q)
	if err != nil || !(pc >= perTensor+1 || math.IsInf(pc, 1) && !math.IsInf(perTensor, 1)) {
		return
	}
	warnf(stderr, "%s %v was quantized per tensor (one scale for all %d rows of axis 0); if it is a weight, --axis 0 (per output channel) gives SQNR %s dB against %s dB", in, x.Shape, x.Shape[0], fmtDB(pc), fmtDB(perTensor))
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
