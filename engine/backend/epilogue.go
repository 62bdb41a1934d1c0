package backend

import (
	"fmt"
	"math"

	"github.com/qgpu/qgpu/qtensor"
)

// The output stage's validation, shared by the engine (Batch.Gemm,
// Batch.Conv, Batch.Requantize) and host paths outside a Batch (the CPU
// backend's packed weights), so both reject and accept the same options.

// errf formats an op's error as the engine does.
func errf(op string, base error, format string, args ...any) error {
	return fmt.Errorf("engine: %s: %w: %s", op, base, fmt.Sprintf(format, args...))
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// OutputSpec is the output stage of a GEMM or convolution as a caller
// asks for it (engine.GemmOptions and engine.ConvOptions carry these
// fields); OutputSpec.Epilogue validates it into the Epilogue a backend
// runs.
type OutputSpec struct {
	// Output is OutInt32 (default), OutFloat32 or OutQuantized.
	Output OutputKind
	// Bias is added to the accumulator: nil, or one or one per channel.
	Bias []int32
	// AScale is the activation's scale; 0 takes the activation's
	// per-tensor scale.
	AScale float32
	// WScale are the weight scales, one or one per channel; nil takes the
	// weights' params.
	WScale []float32
	// FloatBias is added after scaling for OutFloat32.
	FloatBias []float32
	// YType, YScale and YZP describe a quantized output (int8 or uint8).
	YType  qtensor.DType
	YScale float32
	YZP    int32
	// Fixed selects fixed-point requantization; ReLU clamps a quantized
	// output below at YZP.
	Fixed, ReLU bool
}

// ZeroPoints resolves the zero points of an operand of type d with params
// p: given when not nil, else p's (per tensor, or per axis along axis),
// one entry or count. It returns a copy, or an error wrapping ErrParams.
func ZeroPoints(op, name string, d qtensor.DType, p qtensor.Params, axis int, given []int32, count int) ([]int32, error) {
	zps := given
	if zps == nil {
		switch p.Granularity {
		case qtensor.PerTensor:
			zps = p.ZeroPoints
		case qtensor.PerAxis:
			if p.Axis != axis {
				return nil, errf(op, ErrParams, "%s is quantized per axis %d; only axis %d is supported here", name, p.Axis, axis)
			}
			zps = p.ZeroPoints
		default:
			return nil, errf(op, ErrParams, "%s is quantized %v, which this op does not support", name, p.Granularity)
		}
	}
	if len(zps) != 1 && len(zps) != count {
		return nil, errf(op, ErrParams, "%s zero points: have %d, want 1 or %d", name, len(zps), count)
	}
	for i, z := range zps {
		if err := qtensor.CheckZeroPoint(d, z); err != nil {
			return nil, fmt.Errorf("engine: %s: %s zero point %d: %w", op, name, i, err)
		}
	}
	return append([]int32(nil), zps...), nil
}

// MaxAbsDiff is max |q - zp| over the type's range and the zero points.
func MaxAbsDiff(d qtensor.DType, zps []int32) int64 {
	var m int64
	for _, z := range zps {
		m = max(m, int64(z)-int64(d.QMin()), int64(d.QMax())-int64(z))
	}
	return m
}

// Epilogue validates o for an op with channels output channels and
// returns the Epilogue and the output's type and params. ap are the
// activation's params (per tensor when o.AScale is 0) and wp the weights',
// whose per-axis scales must lie along wAxis (when o.WScale is nil). Errors
// wrap ErrParams and name op.
func (o *OutputSpec) Epilogue(op string, ap, wp qtensor.Params, wAxis, channels int) (Epilogue, qtensor.DType, qtensor.Params, error) {
	ep := Epilogue{Output: o.Output, ReLU: o.ReLU}
	if o.Bias != nil {
		if len(o.Bias) != channels && len(o.Bias) != 1 {
			return ep, 0, qtensor.Params{}, errf(op, ErrParams, "bias has %d entries, want 1 or %d", len(o.Bias), channels)
		}
		ep.Bias = append([]int32(nil), o.Bias...)
	}
	if o.Output == OutInt32 {
		if o.ReLU || o.Fixed || o.FloatBias != nil {
			return ep, 0, qtensor.Params{}, errf(op, ErrParams, "ReLU, Fixed and FloatBias need a float32 or quantized output")
		}
		return ep, qtensor.Int32, qtensor.Params{}, nil
	}
	if o.Output != OutFloat32 && o.Output != OutQuantized {
		return ep, 0, qtensor.Params{}, errf(op, ErrParams, "unknown output kind %d", o.Output)
	}
	as := o.AScale
	if as == 0 {
		if ap.Granularity != qtensor.PerTensor || len(ap.Scales) != 1 {
			return ep, 0, qtensor.Params{}, errf(op, ErrParams, "activation needs per-tensor quantization parameters, has %v", ap.Granularity)
		}
		as = ap.Scales[0]
	}
	if err := qtensor.CheckScale(as); err != nil {
		return ep, 0, qtensor.Params{}, fmt.Errorf("engine: %s: activation %w", op, err)
	}
	bs := o.WScale
	if bs == nil {
		switch wp.Granularity {
		case qtensor.PerTensor:
			bs = wp.Scales
		case qtensor.PerAxis:
			if wp.Axis != wAxis {
				return ep, 0, qtensor.Params{}, errf(op, ErrParams, "weights quantized per axis %d; the output-channel axis is %d", wp.Axis, wAxis)
			}
			bs = wp.Scales
		default:
			return ep, 0, qtensor.Params{}, errf(op, ErrParams, "weights quantized %v, which this op does not support", wp.Granularity)
		}
	}
	if len(bs) != 1 && len(bs) != channels {
		return ep, 0, qtensor.Params{}, errf(op, ErrParams, "weight scales: have %d, want 1 or %d", len(bs), channels)
	}
	for i, s := range bs {
		if err := qtensor.CheckScale(s); err != nil {
			return ep, 0, qtensor.Params{}, fmt.Errorf("engine: %s: weight scale %d: %w", op, i, err)
		}
	}
	if o.Output == OutFloat32 {
		if o.ReLU || o.Fixed {
			return ep, 0, qtensor.Params{}, errf(op, ErrParams, "ReLU and Fixed need a quantized output")
		}
		if o.FloatBias != nil && len(o.FloatBias) != 1 && len(o.FloatBias) != channels {
			return ep, 0, qtensor.Params{}, errf(op, ErrParams, "float bias has %d entries, want 1 or %d", len(o.FloatBias), channels)
		}
		for _, v := range o.FloatBias {
			if !finite(v) || (v != 0 && math.Abs(float64(v)) < 0x1p-126) {
				return ep, 0, qtensor.Params{}, errf(op, ErrParams, "float bias %g must be finite and zero or normal (devices that flush denormals would disagree)", v)
			}
		}
		ep.Scale = make([]float32, len(bs))
		for i, s := range bs {
			ep.Scale[i] = float32(as * s)
			if err := qtensor.CheckMultiplier(ep.Scale[i]); err != nil {
				return ep, 0, qtensor.Params{}, fmt.Errorf("engine: %s: output scale of channel %d: %w", op, i, err)
			}
		}
		ep.FloatBias = append([]float32(nil), o.FloatBias...)
		return ep, qtensor.Float32, qtensor.Params{}, nil
	}
	if o.FloatBias != nil {
		return ep, 0, qtensor.Params{}, errf(op, ErrParams, "FloatBias needs a float32 output")
	}
	if o.YType != qtensor.Int8 && o.YType != qtensor.Uint8 {
		return ep, 0, qtensor.Params{}, errf(op, ErrParams, "quantized output type %v, want int8 or uint8", o.YType)
	}
	yp := qtensor.TensorParams(o.YScale, o.YZP)
	if err := yp.Validate(o.YType, []int{1}); err != nil {
		return ep, 0, qtensor.Params{}, fmt.Errorf("engine: %s: output: %w", op, err)
	}
	ep.YZP = o.YZP
	ep.Mult = make([]float32, len(bs))
	for i, s := range bs {
		ep.Mult[i] = qtensor.RequantMultiplier(as, s, o.YScale)
		if err := qtensor.CheckMultiplier(ep.Mult[i]); err != nil {
			return ep, 0, qtensor.Params{}, fmt.Errorf("engine: %s: channel %d: %w", op, i, err)
		}
	}
	if o.Fixed {
		ep.Fixed = make([]qtensor.FixedPoint, len(ep.Mult))
		for i, m := range ep.Mult {
			fp, err := qtensor.NewFixedPoint(m)
			if err != nil {
				return ep, 0, qtensor.Params{}, fmt.Errorf("engine: %s: channel %d: %w", op, i, err)
			}
			ep.Fixed[i] = fp
		}
	}
	return ep, o.YType, yp, nil
}

// GemmEpilogue validates a 2-D GEMM Y = A x W as engine.Batch.Gemm does
// when its zero points come from the operands' params, for code that runs
// such a GEMM on host data outside a Batch (the CPU backend's packed
// weights). A is M x K of type aType with params
// aParams (per tensor, or per axis 0: one per row), W is K x N of type
// wType with params wParams (per tensor, or per axis 1: one per column).
// The params must already be valid for those types and shapes
// (qtensor.Params.Validate). The GEMM's zero points are then the params'
// ZeroPoints. GemmEpilogue returns the epilogue and the output's type and
// params (as Batch.Gemm gives them to its output tensor), or an error
// wrapping ErrParams or ErrShape for what Batch.Gemm would reject: a bad
// output spec, an int32 accumulator that could overflow for this K.
func GemmEpilogue(o *OutputSpec, aType qtensor.DType, aParams qtensor.Params, wType qtensor.DType, wParams qtensor.Params, M, K, N int) (Epilogue, qtensor.DType, qtensor.Params, error) {
	const op = "Gemm"
	if M < 1 || K < 1 || N < 1 {
		return Epilogue{}, 0, qtensor.Params{}, errf(op, ErrShape, "M=%d K=%d N=%d must be >= 1", M, K, N)
	}
	azp, err := ZeroPoints(op, "A", aType, aParams, 0, nil, M)
	if err != nil {
		return Epilogue{}, 0, qtensor.Params{}, err
	}
	bzp, err := ZeroPoints(op, "B", wType, wParams, 1, nil, N)
	if err != nil {
		return Epilogue{}, 0, qtensor.Params{}, err
	}
	ep, yt, yp, err := o.Epilogue(op, aParams, wParams, 1, N)
	if err != nil {
		return Epilogue{}, 0, qtensor.Params{}, err
	}
	if err := CheckAccumulator(op, int64(K), MaxAbsDiff(aType, azp), MaxAbsDiff(wType, bzp), ep.Bias); err != nil {
		return Epilogue{}, 0, qtensor.Params{}, err
	}
	return ep, yt, yp, nil
}

// CheckAccumulator rejects shapes whose exact int32 accumulator could
// overflow: terms products of up to ma x mb plus a bias in bias. The error
// wraps ErrShape.
func CheckAccumulator(op string, terms int64, ma, mb int64, bias []int32) error {
	var mbias int64
	for _, v := range bias {
		mbias = max(mbias, abs64(int64(v)))
	}
	if ma != 0 && mb != 0 && terms > (math.MaxInt32-mbias)/(ma*mb) {
		return errf(op, ErrShape, "%d products of up to %d x %d (plus bias %d) could overflow the int32 accumulator", terms, ma, mb, mbias)
	}
	return nil
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
