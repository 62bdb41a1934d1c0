package qtensor

import (
	"fmt"
	"math"
	"slices"
)

// Caffe2Tensor is Caffe2's bit-plane QTensor (caffe2/core/qtensor.h): an
// element has Precision magnitude bits plus, when Signed, a sign bit, and
// represents the real value Scale * (x + Bias), where x is the signed
// integer (sign-magnitude) and Bias is a real number added before scaling.
//
// Storage is bit planes: plane b holds bit b of every element (least
// significant plane first; the sign plane last, at b = Precision); inside a
// plane element i is in byte i/8 at bit 7 - i%8, and plane b starts at byte
// AlignedSize * b / 8.
type Caffe2Tensor struct {
	Name      string
	dims      []int
	precision int
	signed    bool
	alignment int
	size      int
	scale     float64
	bias      float64
	data      []byte
}

// Caffe2DefaultAlignment is Caffe2's default alignment (CHAR_BIT).
const Caffe2DefaultAlignment = 8

// maxCaffe2Bytes bounds the bit-plane buffer a decoder may allocate.
const maxCaffe2Bytes = 1 << 40

// NewCaffe2FromRaw builds a Caffe2Tensor from its parts, validating them:
// precision in 1..8, alignment positive and a multiple of 8, non-negative
// dims, finite scale and bias, and len(raw) == NBytes. raw is copied.
func NewCaffe2FromRaw(name string, dims []int, precision int, signed bool, alignment int, scale, bias float64, raw []byte) (*Caffe2Tensor, error) {
	if precision < 1 || precision > 8 {
		return nil, fmt.Errorf("%w: caffe2 precision %d outside 1..8", ErrParams, precision)
	}
	if alignment <= 0 || alignment%8 != 0 || alignment > 1<<20 {
		return nil, fmt.Errorf("%w: caffe2 alignment %d must be a positive multiple of 8 (at most 2^20)", ErrParams, alignment)
	}
	if math.IsNaN(scale) || math.IsInf(scale, 0) || math.IsNaN(bias) || math.IsInf(bias, 0) {
		return nil, fmt.Errorf("%w: caffe2 scale %g and bias %g must be finite", ErrParams, scale, bias)
	}
	n, err := NumElements(dims)
	if err != nil {
		return nil, err
	}
	if n > maxCaffe2Bytes {
		return nil, fmt.Errorf("%w: caffe2 tensor of %d elements is too large", ErrShape, n)
	}
	t := &Caffe2Tensor{Name: name, dims: slices.Clone(dims), precision: precision, signed: signed, alignment: alignment, size: n, scale: scale, bias: bias}
	if len(raw) != t.NBytes() {
		return nil, fmt.Errorf("%w: caffe2 tensor %v with %d+%d bit planes needs %d bytes, have %d", ErrShape, dims, precision, t.signBit(), t.NBytes(), len(raw))
	}
	t.data = slices.Clone(raw)
	return t, nil
}

func (t *Caffe2Tensor) signBit() int {
	if t.signed {
		return 1
	}
	return 0
}

// Dims returns a copy of the dimensions.
func (t *Caffe2Tensor) Dims() []int { return slices.Clone(t.dims) }

// Size is the number of elements.
func (t *Caffe2Tensor) Size() int { return t.size }

// Precision is the number of magnitude bits (1..8).
func (t *Caffe2Tensor) Precision() int { return t.precision }

// IsSigned reports whether the tensor has a sign plane.
func (t *Caffe2Tensor) IsSigned() bool { return t.signed }

// Alignment is the element-count granularity of a plane (default 8).
func (t *Caffe2Tensor) Alignment() int { return t.alignment }

// AlignedSize is Alignment * ceil(Size / Alignment).
func (t *Caffe2Tensor) AlignedSize() int {
	return t.alignment * ((t.size + t.alignment - 1) / t.alignment)
}

// NBytes is AlignedSize * (Precision + signed) / 8.
func (t *Caffe2Tensor) NBytes() int { return t.AlignedSize() * (t.precision + t.signBit()) / 8 }

// Scale returns the scale.
func (t *Caffe2Tensor) Scale() float64 { return t.scale }

// Bias returns the bias (a real number added before scaling).
func (t *Caffe2Tensor) Bias() float64 { return t.bias }

// Raw returns the bit-plane buffer itself (not a copy); its length is NBytes.
func (t *Caffe2Tensor) Raw() []byte { return t.data }
