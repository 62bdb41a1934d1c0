package calib

import (
	"errors"
	"fmt"
	"math"

	"github.com/qgpu/qgpu/qtensor"
)

// Eps is the smallest scale QParams returns: float32 machine epsilon 2^-23
// (torch.finfo(torch.float32).eps, PyTorch's default observer eps).
const Eps float32 = 0x1p-23

// ErrNoData is wrapped by the error of an observer asked for a range when
// it has seen no finite value (no batch, only empty batches, or only NaN
// and ±Inf).
var ErrNoData = errors.New("calib: no finite data observed")

// Scheme is the quantization scheme of a target.
type Scheme uint8

// Schemes.
const (
	Affine    Scheme = 0 // zero point chosen so that the range [min(lo,0), max(hi,0)] maps onto [qmin, qmax]
	Symmetric Scheme = 1 // zero point fixed (0 for signed types, the mid-point for unsigned ones)
)

func (s Scheme) String() string {
	switch s {
	case Affine:
		return "affine"
	case Symmetric:
		return "symmetric"
	}
	return fmt.Sprintf("Scheme(%d)", uint8(s))
}

// Target says what the calibrated parameters are for: the element type, the
// scheme and the integer range, with PyTorch's conventions
// (torch.ao.quantization.utils.calculate_qmin_qmax):
//
//   - Without Custom, the range is the full range of DType; ReduceRange
//     halves it the way PyTorch does: uint8 0..127, int8 -64..63 (and for
//     the 4-bit types uint4 0..7, int4 -4..3).
//   - With Custom, QMin..QMax is the range; it must include 0, have
//     QMin < QMax and lie inside DType's range. ReduceRange then halves it
//     with floor division: QMin/2, QMax/2 (rounded toward -Inf), as PyTorch does.
type Target struct {
	DType       qtensor.DType // Uint8, Int8, Uint4 or Int4
	Scheme      Scheme
	ReduceRange bool
	Custom      bool
	QMin, QMax  int32 // used only when Custom
}

// Uint8Affine, Int8Symmetric ... are the common targets.
var (
	Uint8Affine    = Target{DType: qtensor.Uint8, Scheme: Affine}
	Int8Affine     = Target{DType: qtensor.Int8, Scheme: Affine}
	Int8Symmetric  = Target{DType: qtensor.Int8, Scheme: Symmetric}
	Uint8Symmetric = Target{DType: qtensor.Uint8, Scheme: Symmetric}
)

func floorDiv2(v int32) int32 { return v >> 1 }

// Range returns the integer range [qmin, qmax] of the target.
func (t Target) Range() (qmin, qmax int32, err error) {
	if !t.DType.Quantized() {
		return 0, 0, fmt.Errorf("%w: calib target type %v is not a quantized type", qtensor.ErrParams, t.DType)
	}
	if t.Scheme != Affine && t.Scheme != Symmetric {
		return 0, 0, fmt.Errorf("%w: unknown scheme %d", qtensor.ErrParams, t.Scheme)
	}
	if t.Custom {
		if !(t.QMin <= 0 && 0 <= t.QMax) || t.QMin >= t.QMax {
			return 0, 0, fmt.Errorf("%w: custom range [%d, %d] must include 0 and have qmin < qmax", qtensor.ErrParams, t.QMin, t.QMax)
		}
		if t.QMin < t.DType.QMin() || t.QMax > t.DType.QMax() {
			return 0, 0, fmt.Errorf("%w: custom range [%d, %d] outside the range [%d, %d] of %v", qtensor.ErrParams, t.QMin, t.QMax, t.DType.QMin(), t.DType.QMax(), t.DType)
		}
		qmin, qmax = t.QMin, t.QMax
	} else {
		qmin, qmax = t.DType.QMin(), t.DType.QMax()
	}
	if t.ReduceRange {
		qmin, qmax = floorDiv2(qmin), floorDiv2(qmax)
		if qmin == qmax {
			return 0, 0, fmt.Errorf("%w: reduced range [%d, %d] is empty", qtensor.ErrParams, qmin, qmax)
		}
	}
	return qmin, qmax, nil
}

// ZeroPointSymmetric returns the fixed zero point of the symmetric scheme:
// 0 for signed types; for unsigned types the mid-point as PyTorch computes
// it: (DType.QMin+DType.QMax+1)/2 without a custom range (128 for uint8, 8
// for uint4) and floor((qmin+qmax)/2) with one. Like PyTorch, an unsigned
// symmetric target with ReduceRange is an error.
func (t Target) ZeroPointSymmetric() (int32, error) {
	qmin, qmax, err := t.Range()
	if err != nil {
		return 0, err
	}
	if t.DType.Signed() {
		return 0, nil
	}
	if t.ReduceRange {
		return 0, fmt.Errorf("%w: cannot reduce the range of a symmetric %v target (PyTorch refuses it too)", qtensor.ErrParams, t.DType)
	}
	if t.Custom {
		return floorDiv2(qmin + qmax), nil
	}
	return (t.DType.QMin() + t.DType.QMax() + 1) / 2, nil
}

// QParams returns the scale and zero point for the range [lo, hi] with
// PyTorch's rules (UniformQuantizationObserverBase._calculate_qparams in
// torch 1.13), computed in float32 in PyTorch's order of operations:
//
//	minNeg = min(lo, 0); maxPos = max(hi, 0)
//	affine:    scale = max(float32(maxPos - minNeg) / float32(qmax - qmin), Eps)
//	           zp    = clamp(qmin - int(rint(minNeg / scale)), qmin, qmax)
//	symmetric: scale = max(max(-minNeg, maxPos) / float32((qmax - qmin) / 2), Eps)
//	           zp    = Target.ZeroPointSymmetric()
//
// rint rounds half to even (torch.round). (A float32 quotient computed in
// float64 and rounded once is the same correctly rounded float32, so the
// Python float divisor of the symmetric rule changes nothing.)
//
// lo and hi must be finite with lo <= hi (errors otherwise). A range whose
// width overflows float32 or gives a scale above qtensor.MaxScale is an
// error (PyTorch would return an infinite scale).
func QParams(lo, hi float32, t Target) (scale float32, zp int32, err error) {
	qmin, qmax, err := t.Range()
	if err != nil {
		return 0, 0, err
	}
	if isNonFinite(lo) || isNonFinite(hi) {
		return 0, 0, fmt.Errorf("%w: range [%g, %g] is not finite", qtensor.ErrParams, lo, hi)
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("%w: range [%g, %g] has min > max", qtensor.ErrParams, lo, hi)
	}
	minNeg := min(lo, 0)
	maxPos := max(hi, 0)
	switch t.Scheme {
	case Symmetric:
		m := max(-minNeg, maxPos)
		scale = m / float32(float64(qmax-qmin)/2)
		if scale < Eps {
			scale = Eps
		}
		zp, err = t.ZeroPointSymmetric()
		if err != nil {
			return 0, 0, err
		}
	default:
		scale = float32(maxPos-minNeg) / float32(qmax-qmin)
		if scale < Eps {
			scale = Eps
		}
		if err := qtensor.CheckScale(scale); err != nil {
			return 0, 0, fmt.Errorf("calib: range [%g, %g]: %w", lo, hi, err)
		}
		r := qtensor.RoundHalfEven(minNeg / scale)
		z := int64(qmin) - int64(r)
		zp = int32(min(max(z, int64(qmin)), int64(qmax)))
	}
	if err := qtensor.CheckScale(scale); err != nil {
		return 0, 0, fmt.Errorf("calib: range [%g, %g]: %w", lo, hi, err)
	}
	return scale, zp, nil
}

func isNonFinite(v float32) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }
