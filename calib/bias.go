package calib

import (
	"fmt"
	"math"

	"github.com/qgpu/qgpu/qtensor"
)

// QuantizeBias turns a float32 bias into the int32 bias that a quantized
// Gemm or Conv adds to its accumulator, the way ONNX Runtime's quantizer
// does it (quantize_bias_static_impl of onnxruntime.quantization, used by
// its QDQ and QOperator quantizers): the bias scale of channel c is the
// float32 product
//
//	scales[c] = float32(xScale * wScales[c])
//
// (zero point 0), and
//
//	q[c] = rint(float64(bias[c]) / float64(scales[c]))
//
// with the quotient in float64 and rint rounding half to even (numpy's
// round). wScales holds one scale (per-tensor weights) or one per channel
// (len(bias) entries, per-channel weights); with one weight scale and
// several bias values, scales has one entry.
//
// Errors (wrapping qtensor.ErrParams) replace what ONNX Runtime does
// silently: a quotient outside int32 (ORT clips it to the int32 range and
// logs a warning), a non-finite bias, an input or weight scale that is not
// a valid scale, and a product that is zero or not finite. (ORT releases
// before 1.18 divided in float32 - the quotient rounded to float32 before
// rint - which can differ by one from this on quotients near a half.)
func QuantizeBias(bias []float32, xScale float32, wScales []float32) (q []int32, scales []float32, err error) {
	if len(wScales) != 1 && len(wScales) != len(bias) {
		return nil, nil, fmt.Errorf("%w: %d weight scales for a bias of %d values: want 1 or %d", qtensor.ErrParams, len(wScales), len(bias), len(bias))
	}
	if err := qtensor.CheckScale(xScale); err != nil {
		return nil, nil, fmt.Errorf("bias: input %w", err)
	}
	scales = make([]float32, len(wScales))
	for c, ws := range wScales {
		if err := qtensor.CheckScale(ws); err != nil {
			return nil, nil, fmt.Errorf("bias: weight channel %d: %w", c, err)
		}
		s := float32(xScale * ws)
		if s == 0 || math.IsInf(float64(s), 0) {
			return nil, nil, fmt.Errorf("%w: bias scale %g x %g = %g is not a usable float32 scale", qtensor.ErrParams, xScale, ws, s)
		}
		scales[c] = s
	}
	q = make([]int32, len(bias))
	for i, b := range bias {
		s := scales[0]
		if len(scales) > 1 {
			s = scales[i]
		}
		if isNonFinite(b) {
			return nil, nil, fmt.Errorf("%w: bias[%d] is %g", qtensor.ErrParams, i, b)
		}
		r := math.RoundToEven(float64(b) / float64(s))
		if r < math.MinInt32 || r > math.MaxInt32 {
			return nil, nil, fmt.Errorf("%w: bias[%d] = %g over its scale %g is %g, outside int32 (the bias scale is too small for this bias)", qtensor.ErrParams, i, b, s, r)
		}
		q[i] = int32(r)
	}
	return q, scales, nil
}
