package qtensor

import (
	"errors"
	"fmt"
	"math"
)

// Granularity says how many (scale, zero point) pairs a tensor has and which
// elements each pair covers.
type Granularity uint8

// Granularities. The numeric values are part of the on-disk format.
const (
	PerTensor Granularity = 0 // one pair for the whole tensor
	PerAxis   Granularity = 1 // one pair per index of Axis
	PerBlock  Granularity = 2 // one pair per BlockSize consecutive elements along Axis
)

func (g Granularity) String() string {
	switch g {
	case PerTensor:
		return "per-tensor"
	case PerAxis:
		return "per-axis"
	case PerBlock:
		return "per-block"
	}
	return fmt.Sprintf("Granularity(%d)", uint8(g))
}

// ErrParams is wrapped by every error about invalid quantization parameters.
var ErrParams = errors.New("invalid quantization parameters")

// ErrShape is wrapped by every error about an invalid shape.
var ErrShape = errors.New("invalid shape")

// ErrUnsupported is wrapped by errors about valid input that qgpu does not
// handle (an op, a variant, a file feature). The engine and its backends
// use the same value (engine.ErrUnsupported), so packages below the engine
// (onnx, model/graph) report it without importing the engine.
var ErrUnsupported = errors.New("unsupported")

// Params are the quantization parameters of a tensor (docs/semantics.md section 1).
//
// The real value of element q covered by pair i is (q - ZeroPoints[i]) * Scales[i].
//
//   - PerTensor: len(Scales) == len(ZeroPoints) == 1.
//   - PerAxis: one pair per index of Axis: len == shape[Axis].
//   - PerBlock: one pair per BlockSize consecutive elements along Axis, the
//     last block possibly short: the pairs form a tensor of the input's shape
//     with shape[Axis] replaced by ceil(shape[Axis]/BlockSize), in row-major
//     order (the ONNX blocked layout).
type Params struct {
	Granularity Granularity
	Axis        int // PerAxis, PerBlock: the axis (non-negative, already normalised)
	BlockSize   int // PerBlock only
	Scales      []float32
	ZeroPoints  []int32
}

// TensorParams returns per-tensor parameters.
func TensorParams(scale float32, zeroPoint int32) Params {
	return Params{Granularity: PerTensor, Scales: []float32{scale}, ZeroPoints: []int32{zeroPoint}}
}

// AxisParams returns per-axis parameters (copies of the slices).
func AxisParams(axis int, scales []float32, zeroPoints []int32) Params {
	return Params{Granularity: PerAxis, Axis: axis, Scales: append([]float32(nil), scales...), ZeroPoints: append([]int32(nil), zeroPoints...)}
}

// BlockParams returns per-block parameters (copies of the slices).
func BlockParams(axis, blockSize int, scales []float32, zeroPoints []int32) Params {
	return Params{Granularity: PerBlock, Axis: axis, BlockSize: blockSize, Scales: append([]float32(nil), scales...), ZeroPoints: append([]int32(nil), zeroPoints...)}
}

// Clone returns a deep copy.
func (p Params) Clone() Params {
	p.Scales = append([]float32(nil), p.Scales...)
	p.ZeroPoints = append([]int32(nil), p.ZeroPoints...)
	return p
}

// MinScale and MaxScale bound the accepted scales (docs/semantics.md section 1): 2^-125 and 2^125.
const (
	MinScale = 0x1p-125
	MaxScale = 0x1p125
)

// CheckScale returns an error unless s is positive, finite and within
// [MinScale, MaxScale].
func CheckScale(s float32) error {
	if math.IsNaN(float64(s)) || s < MinScale || s > MaxScale {
		return fmt.Errorf("%w: scale %g outside [2^-125, 2^125] (scales must be positive, finite and normal)", ErrParams, s)
	}
	return nil
}

// CheckZeroPoint returns an error unless zp is representable in d.
func CheckZeroPoint(d DType, zp int32) error {
	if !d.Quantized() {
		return fmt.Errorf("%w: %v has no zero point", ErrParams, d)
	}
	if zp < d.QMin() || zp > d.QMax() {
		return fmt.Errorf("%w: zero point %d outside [%d, %d] of %v", ErrParams, zp, d.QMin(), d.QMax(), d)
	}
	return nil
}

// NumPairs returns how many (scale, zero point) pairs params of granularity
// g need for a tensor of the given shape, or an error.
func (p Params) NumPairs(shape []int) (int, error) {
	switch p.Granularity {
	case PerTensor:
		return 1, nil
	case PerAxis, PerBlock:
		if p.Axis < 0 || p.Axis >= len(shape) {
			return 0, fmt.Errorf("%w: axis %d out of range for rank %d", ErrParams, p.Axis, len(shape))
		}
		if p.Granularity == PerAxis {
			return shape[p.Axis], nil
		}
		if p.BlockSize <= 0 {
			return 0, fmt.Errorf("%w: block size %d must be positive", ErrParams, p.BlockSize)
		}
		n, _ := NumElements(shape)
		if shape[p.Axis] == 0 {
			return 0, nil
		}
		nb := ceilDiv(shape[p.Axis], p.BlockSize)
		return n / shape[p.Axis] * nb, nil
	}
	return 0, fmt.Errorf("%w: unknown granularity %d", ErrParams, p.Granularity)
}

// Validate checks the parameters against a tensor of type d and the given
// shape: granularity, axis, block size, pair count, every scale and zero
// point.
func (p Params) Validate(d DType, shape []int) error {
	if !d.Quantized() {
		return fmt.Errorf("%w: %v is not a quantized type", ErrParams, d)
	}
	if _, err := NumElements(shape); err != nil {
		return err
	}
	want, err := p.NumPairs(shape)
	if err != nil {
		return err
	}
	if len(p.Scales) != want || len(p.ZeroPoints) != want {
		return fmt.Errorf("%w: %v params for shape %v need %d scales and zero points, have %d and %d",
			ErrParams, p.Granularity, shape, want, len(p.Scales), len(p.ZeroPoints))
	}
	for i, s := range p.Scales {
		if err := CheckScale(s); err != nil {
			return fmt.Errorf("scale[%d]: %w", i, err)
		}
	}
	for i, z := range p.ZeroPoints {
		if err := CheckZeroPoint(d, z); err != nil {
			return fmt.Errorf("zero_point[%d]: %w", i, err)
		}
	}
	return nil
}

// Indexer maps a flat element index of a row-major tensor to the index of
// its (scale, zero point) pair. Build one with Params.Indexer after
// Validate succeeded.
type Indexer struct {
	g         Granularity
	inner     int // product of dims after axis
	axisLen   int
	blockSize int
	nBlocks   int
}

// Indexer returns the pair indexer for a tensor of the given shape. The
// params must have passed Validate for that shape.
func (p Params) Indexer(shape []int) Indexer {
	ix := Indexer{g: p.Granularity}
	if p.Granularity == PerTensor {
		return ix
	}
	ix.inner = 1
	for _, d := range shape[p.Axis+1:] {
		ix.inner *= d
	}
	ix.axisLen = shape[p.Axis]
	if p.Granularity == PerBlock {
		ix.blockSize = p.BlockSize
		ix.nBlocks = ceilDiv(ix.axisLen, p.BlockSize)
	}
	return ix
}

// Pair returns the pair index of flat element i.
func (ix Indexer) Pair(i int) int {
	switch ix.g {
	case PerAxis:
		return (i / ix.inner) % ix.axisLen
	case PerBlock:
		inner := i % ix.inner
		rest := i / ix.inner
		a := rest % ix.axisLen
		outer := rest / ix.axisLen
		return (outer*ix.nBlocks+a/ix.blockSize)*ix.inner + inner
	}
	return 0
}

// NumElements returns the product of the dimensions, or an error wrapping
// ErrShape for a negative dimension or a product that overflows.
func NumElements(shape []int) (int, error) {
	n := 1
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("%w: dimension %d is negative (%d)", ErrShape, i, d)
		}
		if d != 0 && n > maxInt/d {
			return 0, fmt.Errorf("%w: element count of %v overflows", ErrShape, shape)
		}
		n *= d
	}
	return n, nil
}

// ceilDiv is ceil(a/b) for a >= 0, b > 0, without overflow.
func ceilDiv(a, b int) int {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}
