package calib

import (
	"fmt"
	"math"

	"github.com/qgpu/qgpu/qtensor"
)

// SQNR returns the signal-to-quantization-noise ratio in dB of x (a
// row-major tensor of the given shape) quantized with p for target t and
// dequantized again:
//
//	10*log10(sum x^2 / sum (x - Dequantize(Quantize(x)))^2)
//
// using qtensor.Quantize (clamped to t's [qmin, qmax]) and
// qtensor.Dequantize, per tensor, per axis or per block as p says, with the
// sums in float64. Only finite values take part (NaN and ±Inf are left out,
// as they are of the range). A zero error gives +Inf (also when the signal
// is zero: the round trip is exact); a zero signal with a non-zero error
// gives -Inf. Data without a finite value is an error wrapping ErrNoData.
func SQNR(x []float32, shape []int, p qtensor.Params, t Target) (float64, error) {
	sig, noise, err := sqnrSums(x, shape, p, t)
	if err != nil {
		return 0, err
	}
	return sqnrDB(sig, noise), nil
}

// SQNRTensor is SQNR for per-tensor parameters of a flat slice.
func SQNRTensor(x []float32, scale float32, zp int32, t Target) (float64, error) {
	return SQNR(x, []int{len(x)}, qtensor.TensorParams(scale, zp), t)
}

func sqnrDB(sig, noise float64) float64 {
	switch {
	case noise == 0:
		return math.Inf(1)
	case sig == 0:
		return math.Inf(-1)
	}
	return 10 * math.Log10(sig/noise)
}

func sqnrSums(x []float32, shape []int, p qtensor.Params, t Target) (sig, noise float64, err error) {
	qmin, qmax, err := t.Range()
	if err != nil {
		return 0, 0, err
	}
	n, err := qtensor.NumElements(shape)
	if err != nil {
		return 0, 0, err
	}
	if n != len(x) {
		return 0, 0, fmt.Errorf("%w: shape %v has %d elements, data has %d", qtensor.ErrShape, shape, n, len(x))
	}
	if err := p.Validate(t.DType, shape); err != nil {
		return 0, 0, err
	}
	ix := p.Indexer(shape)
	finite := 0
	for i, v := range x {
		if isNonFinite(v) {
			continue
		}
		finite++
		k := ix.Pair(i)
		s, zp := p.Scales[k], p.ZeroPoints[k]
		y := qtensor.Dequantize(qtensor.Quantize(v, s, zp, qmin, qmax), zp, s)
		d := float64(v) - float64(y)
		sig += float64(v) * float64(v)
		noise += d * d
	}
	if finite == 0 {
		return 0, 0, fmt.Errorf("SQNR: %w", ErrNoData)
	}
	return sig, noise, nil
}
