package qtensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// Tensor is a dense row-major tensor in packed storage: int8/uint8 one
// element per byte, int4/uint4 two per byte (low nibble first, as ONNX
// packs them), float32/int32 four little-endian bytes per element.
//
// Quantized tensors carry Params; float32 and int32 tensors leave Params
// zero. A Tensor owns its slices: functions that return one never alias
// their arguments.
type Tensor struct {
	Name   string
	DType  DType
	Shape  []int
	Params Params // quantized types only
	Data   []byte
}

// New returns a zeroed tensor of the given type and shape (and, for a
// quantized type, params), validating both.
func New(d DType, shape []int, p Params) (*Tensor, error) {
	if !d.Valid() {
		return nil, fmt.Errorf("%w: invalid dtype %d", ErrParams, uint8(d))
	}
	n, err := NumElements(shape)
	if err != nil {
		return nil, err
	}
	nb, ok := d.StorageBytes(n)
	if !ok {
		return nil, fmt.Errorf("%w: %v tensor of shape %v is too large", ErrShape, d, shape)
	}
	if d.Quantized() {
		if err := p.Validate(d, shape); err != nil {
			return nil, err
		}
		p = p.Clone()
	} else {
		p = Params{}
	}
	return &Tensor{DType: d, Shape: slices.Clone(shape), Params: p, Data: make([]byte, nb)}, nil
}

// Len returns the number of elements.
func (t *Tensor) Len() int {
	n, _ := NumElements(t.Shape)
	return n
}

// Validate checks the tensor's type, shape, params and data length.
func (t *Tensor) Validate() error {
	if !t.DType.Valid() {
		return fmt.Errorf("%w: invalid dtype %d", ErrParams, uint8(t.DType))
	}
	n, err := NumElements(t.Shape)
	if err != nil {
		return err
	}
	nb, ok := t.DType.StorageBytes(n)
	if !ok {
		return fmt.Errorf("%w: %v tensor of shape %v is too large", ErrShape, t.DType, t.Shape)
	}
	if len(t.Data) != nb {
		return fmt.Errorf("%w: %v tensor of shape %v needs %d data bytes, has %d", ErrShape, t.DType, t.Shape, nb, len(t.Data))
	}
	if t.DType.Quantized() {
		return t.Params.Validate(t.DType, t.Shape)
	}
	return nil
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	c := *t
	c.Shape = slices.Clone(t.Shape)
	c.Params = t.Params.Clone()
	c.Data = slices.Clone(t.Data)
	return &c
}

// Equal reports whether two tensors have the same name, type, shape, params
// (bitwise for scales) and data.
func (t *Tensor) Equal(u *Tensor) bool {
	if t.Name != u.Name || t.DType != u.DType || !slices.Equal(t.Shape, u.Shape) {
		return false
	}
	p, q := t.Params, u.Params
	if p.Granularity != q.Granularity || p.Axis != q.Axis || p.BlockSize != q.BlockSize ||
		len(p.Scales) != len(q.Scales) || !slices.Equal(p.ZeroPoints, q.ZeroPoints) {
		return false
	}
	for i := range p.Scales {
		if math.Float32bits(p.Scales[i]) != math.Float32bits(q.Scales[i]) {
			return false
		}
	}
	return slices.Equal(t.Data, u.Data)
}

// At returns element i of a quantized or int32 tensor as an int32
// (sign-extended for signed types).
func (t *Tensor) At(i int) int32 {
	switch t.DType {
	case Uint8:
		return int32(t.Data[i])
	case Int8:
		return int32(int8(t.Data[i]))
	case Uint4:
		return int32(t.Data[i/2]>>(4*(i&1))) & 0xF
	case Int4:
		v := int32(t.Data[i/2]>>(4*(i&1))) & 0xF
		return v << 28 >> 28
	case Int32:
		return int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	panic("qtensor: At on " + t.DType.String())
}

// Set stores v (already in range) as element i of a quantized or int32
// tensor.
func (t *Tensor) Set(i int, v int32) {
	switch t.DType {
	case Uint8, Int8:
		t.Data[i] = byte(v)
	case Uint4, Int4:
		sh := 4 * uint(i&1)
		t.Data[i/2] = t.Data[i/2]&^(0xF<<sh) | byte(v&0xF)<<sh
	case Int32:
		binary.LittleEndian.PutUint32(t.Data[4*i:], uint32(v))
	default:
		panic("qtensor: Set on " + t.DType.String())
	}
}

// Float32s returns the elements of a float32 tensor as a new slice.
func (t *Tensor) Float32s() []float32 {
	out := make([]float32, t.Len())
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out
}

// Int32s returns the elements of a quantized or int32 tensor as int32s.
func (t *Tensor) Int32s() []int32 {
	out := make([]int32, t.Len())
	for i := range out {
		out[i] = t.At(i)
	}
	return out
}

// FromFloat32 returns a float32 tensor holding a copy of x with the given
// shape.
func FromFloat32(shape []int, x []float32) (*Tensor, error) {
	t, err := New(Float32, shape, Params{})
	if err != nil {
		return nil, err
	}
	if len(x) != t.Len() {
		return nil, fmt.Errorf("%w: %d values for shape %v (%d elements)", ErrShape, len(x), shape, t.Len())
	}
	for i, v := range x {
		binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(v))
	}
	return t, nil
}

// FromInt32 returns an int32 tensor holding a copy of x with the given
// shape.
func FromInt32(shape []int, x []int32) (*Tensor, error) {
	t, err := New(Int32, shape, Params{})
	if err != nil {
		return nil, err
	}
	if len(x) != t.Len() {
		return nil, fmt.Errorf("%w: %d values for shape %v (%d elements)", ErrShape, len(x), shape, t.Len())
	}
	for i, v := range x {
		t.Set(i, v)
	}
	return t, nil
}

// Rounding selects the quantization rule.
type Rounding uint8

const (
	// RoundONNX is ONNX QuantizeLinear: rint(x / scale), a float32 division.
	RoundONNX Rounding = iota
	// RoundTorch is PyTorch: rint(x * float32(1/scale)).
	RoundTorch
)

func (r Rounding) String() string {
	switch r {
	case RoundONNX:
		return "onnx"
	case RoundTorch:
		return "torch"
	}
	return fmt.Sprintf("Rounding(%d)", uint8(r))
}

// QuantizeFunc returns the per-element quantize function of rule r.
func (r Rounding) QuantizeFunc() func(x, scale float32, zp, qmin, qmax int32) int32 {
	if r == RoundTorch {
		return QuantizeTorch
	}
	return Quantize
}

// QuantizeFloat32 quantizes x (row-major, of the given shape) to type d with
// params p and returns the new tensor. Every element goes through Quantize
// (or QuantizeTorch with RoundTorch).
func QuantizeFloat32(x []float32, shape []int, d DType, p Params, r Rounding) (*Tensor, error) {
	t, err := New(d, shape, p)
	if err != nil {
		return nil, err
	}
	if len(x) != t.Len() {
		return nil, fmt.Errorf("%w: %d values for shape %v (%d elements)", ErrShape, len(x), shape, t.Len())
	}
	q := r.QuantizeFunc()
	ix := t.Params.Indexer(shape)
	qmin, qmax := d.QMin(), d.QMax()
	for i, v := range x {
		k := ix.Pair(i)
		t.Set(i, q(v, t.Params.Scales[k], t.Params.ZeroPoints[k], qmin, qmax))
	}
	return t, nil
}

// DequantizeFloat32 returns the real values of a quantized tensor
// (Dequantize per element).
func (t *Tensor) DequantizeFloat32() ([]float32, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if !t.DType.Quantized() {
		return nil, fmt.Errorf("%w: dequantize of %v tensor", ErrParams, t.DType)
	}
	out := make([]float32, t.Len())
	ix := t.Params.Indexer(t.Shape)
	for i := range out {
		k := ix.Pair(i)
		out[i] = Dequantize(t.At(i), t.Params.ZeroPoints[k], t.Params.Scales[k])
	}
	return out, nil
}
