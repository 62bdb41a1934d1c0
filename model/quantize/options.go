package quantize

import (
	"fmt"
	"slices"
	"strings"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/qtensor"
)

// Sentinel errors, shared with the rest of qgpu: test with errors.Is.
var (
	ErrShape       = qtensor.ErrShape
	ErrParams      = qtensor.ErrParams
	ErrUnsupported = qtensor.ErrUnsupported
)

// DefaultOpTypes are the op types quantized by default: the union of the
// op types ONNX Runtime's quantize_static quantizes in QDQ form (the keys
// of its QLinearOpsRegistry and QDQRegistry).
var DefaultOpTypes = []string{
	"Add", "ArgMax", "AveragePool", "BatchNormalization", "Clip", "Concat", "Conv", "ConvTranspose",
	"EmbedLayerNormalization", "Gather", "GatherElements", "Gemm", "GlobalAveragePool",
	"InstanceNormalization", "LayerNormalization", "LeakyRelu", "MatMul", "MaxPool", "Mul", "Pad",
	"Relu", "Reshape", "Resize", "Sigmoid", "Slice", "Softmax", "Split", "Squeeze", "Transpose",
	"Unsqueeze", "Where",
}

// Options choose how a model is calibrated and quantized. The zero value
// is ONNX Runtime's quantize_static in QDQ form as x86 users call it:
// min-max calibration, uint8 asymmetric activations, int8 symmetric
// weights per tensor, int32 biases, the default op types.
type Options struct {
	// Method is the calibration method of the activations (zero:
	// calib.MethodMinMax). Weights are always calibrated by their exact
	// minimum and maximum.
	Method calib.Method
	// Percentile is the fraction of the mass MethodPercentile keeps, in
	// (0, 1] (zero: calib.DefaultPercentile).
	Percentile float64
	// Bins is the number of histogram bins of the histogram methods and
	// MethodTorchHistogram (zero: calib.DefaultBins).
	Bins int
	// AveragingConstant is MethodMovingAverage's constant, in (0, 1]
	// (zero: calib.DefaultAveragingConstant).
	AveragingConstant float32

	// ActivationType is qtensor.Uint8 (zero value) or qtensor.Int8.
	ActivationType qtensor.DType
	// WeightType is qtensor.Int8 (zero value; symmetric) or qtensor.Uint8
	// (asymmetric).
	WeightType qtensor.DType
	// SymmetricActivations quantizes activations symmetrically (int8:
	// [-127, 127], zero point 0; uint8: [0, 254], zero point 127). A Relu
	// or Clip is then kept as a node instead of being folded into the Q
	// of its producer's output.
	SymmetricActivations bool
	// PerChannel quantizes the weights of Conv, ConvTranspose, Gemm and
	// MatMul per output channel.
	PerChannel bool
	// ReduceRange quantizes the weights with 7 bits (int8 [-64, 64],
	// uint8 [0, 127]), as ONNX Runtime's reduce_range does.
	ReduceRange bool

	// OpTypes are the op types to quantize (nil: DefaultOpTypes).
	OpTypes []string
	// Exclude names nodes to leave in float.
	Exclude []string

	// Reducer runs the min/max and histogram passes of calibration (nil:
	// calib.HostReducer{}); engine.Engine.Reducer runs them on a backend.
	// Results do not depend on it.
	Reducer calib.Reducer
	// Workers bounds the goroutines of the float interpreter's kernels
	// (0: GOMAXPROCS). Results do not depend on it.
	Workers int
	// MaxElements bounds the element count of every tensor of a run (0:
	// graph.DefaultMaxElements).
	MaxElements int
	// Dims gives sizes to symbolic input dimensions other than the batch
	// (a sequence length, say) by name. The batch dimension is taken from
	// each calibration batch.
	Dims map[string]int
	// Progress, if set, is called after every calibration run with the
	// number of runs and samples seen so far.
	Progress func(runs int, samples int64)
}

// normalize fills in defaults and checks the options.
func (o Options) normalize() (Options, error) {
	if o.ActivationType == qtensor.Invalid {
		o.ActivationType = qtensor.Uint8
	}
	if o.WeightType == qtensor.Invalid {
		o.WeightType = qtensor.Int8
	}
	if o.ActivationType != qtensor.Uint8 && o.ActivationType != qtensor.Int8 {
		return o, fmt.Errorf("%w: quantize: activation type %v: want uint8 or int8", ErrParams, o.ActivationType)
	}
	if o.WeightType != qtensor.Uint8 && o.WeightType != qtensor.Int8 {
		return o, fmt.Errorf("%w: quantize: weight type %v: want int8 or uint8", ErrParams, o.WeightType)
	}
	if !slices.ContainsFunc(calib.Methods(), func(m calib.MethodInfo) bool { return m.Method == o.Method }) {
		return o, fmt.Errorf("%w: quantize: unknown method %v", ErrParams, o.Method)
	}
	if o.Percentile == 0 {
		o.Percentile = calib.DefaultPercentile
	}
	if !(o.Percentile > 0 && o.Percentile <= 1) {
		return o, fmt.Errorf("%w: quantize: percentile %g outside (0, 1]", ErrParams, o.Percentile)
	}
	if o.Bins == 0 {
		o.Bins = calib.DefaultBins
	}
	if o.Bins < calib.MinBins || o.Bins > calib.MaxBins {
		return o, fmt.Errorf("%w: quantize: %d bins outside [%d, %d]", ErrParams, o.Bins, calib.MinBins, calib.MaxBins)
	}
	if o.AveragingConstant == 0 {
		o.AveragingConstant = calib.DefaultAveragingConstant
	}
	if !(o.AveragingConstant > 0 && o.AveragingConstant <= 1) {
		return o, fmt.Errorf("%w: quantize: averaging constant %g outside (0, 1]", ErrParams, o.AveragingConstant)
	}
	if o.OpTypes == nil {
		o.OpTypes = DefaultOpTypes
	}
	for _, t := range o.OpTypes {
		if t == "" || strings.TrimSpace(t) != t {
			return o, fmt.Errorf("%w: quantize: op type %q", ErrParams, t)
		}
	}
	if o.Reducer == nil {
		o.Reducer = calib.HostReducer{}
	}
	return o, nil
}

// ActivationTarget is the calibration target of the activations: the
// activation type, affine over the type's full range, or symmetric over
// ONNX Runtime's symmetric range (int8 [-127, 127], uint8 [0, 254]). Its
// parameters are calib.QParams's (PyTorch's rules), so `qgpu calibrate`
// with the same --dtype, --scheme and, when symmetric, --qmin/--qmax gives
// the same scale and zero point for the same data.
func (o Options) ActivationTarget() calib.Target {
	d := o.ActivationType
	if d == qtensor.Invalid {
		d = qtensor.Uint8
	}
	return target(d, o.SymmetricActivations, false)
}

// WeightTarget is the target of the weights: int8 symmetric over [-127,
// 127] (ONNX Runtime's symmetric int8 range), or uint8 affine over [0,
// 255]; with ReduceRange int8 [-64, 64] and uint8 [0, 127] (ONNX Runtime's
// reduced ranges).
func (o Options) WeightTarget() calib.Target {
	d := o.WeightType
	if d == qtensor.Invalid {
		d = qtensor.Int8
	}
	return target(d, d == qtensor.Int8, o.ReduceRange)
}

// target builds a calib.Target with ONNX Runtime's integer ranges:
// full (uint8 [0, 255], int8 [-128, 127]), symmetric (uint8 [0, 254],
// int8 [-127, 127]) or reduced (uint8 [0, 127], int8 [-64, 64]).
func target(d qtensor.DType, symmetric, reduce bool) calib.Target {
	t := calib.Target{DType: d, Scheme: calib.Affine}
	if symmetric {
		t.Scheme = calib.Symmetric
	}
	switch {
	case reduce && d == qtensor.Uint8:
		t.Custom, t.QMin, t.QMax = true, 0, 127
	case reduce:
		t.Custom, t.QMin, t.QMax = true, -64, 64
	case symmetric && d == qtensor.Uint8:
		t.Custom, t.QMin, t.QMax = true, 0, 254
	case symmetric:
		t.Custom, t.QMin, t.QMax = true, -127, 127
	}
	return t
}
