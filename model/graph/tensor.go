package graph

import (
	"fmt"
	"math"
	"slices"

	"github.com/qgpu/qgpu/qtensor"
)

// DType is the element type of a Tensor or of a value in a Graph.
type DType uint8

// Element types. The values are this package's own; ONNX codes are mapped
// by DTypeFromONNX.
const (
	Invalid DType = iota
	Float32
	Int64
	Int32
	Int8
	Uint8
	Bool
)

var dtypeNames = [...]string{Invalid: "invalid", Float32: "float32", Int64: "int64", Int32: "int32", Int8: "int8", Uint8: "uint8", Bool: "bool"}

func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Valid reports whether d is one of the element types above.
func (d DType) Valid() bool { return d >= Float32 && d <= Bool }

// Size is the size of one element in bytes (Bool counts as one).
func (d DType) Size() int {
	switch d {
	case Float32, Int32:
		return 4
	case Int64:
		return 8
	case Int8, Uint8, Bool:
		return 1
	}
	return 0
}

// ONNX TensorProto.DataType codes of the supported element types.
const (
	onnxFloat  = 1
	onnxUint8  = 2
	onnxInt8   = 3
	onnxUint16 = 4
	onnxInt16  = 5
	onnxInt32  = 6
	onnxInt64  = 7
	onnxString = 8
	onnxBool   = 9
)

// DTypeFromONNX maps an ONNX TensorProto.DataType code to a DType. Types
// the interpreter does not compute with (double, float16, strings, ...)
// give an error wrapping ErrUnsupported.
func DTypeFromONNX(code int32) (DType, error) {
	switch code {
	case onnxFloat:
		return Float32, nil
	case onnxUint8:
		return Uint8, nil
	case onnxInt8:
		return Int8, nil
	case onnxInt32:
		return Int32, nil
	case onnxInt64:
		return Int64, nil
	case onnxBool:
		return Bool, nil
	}
	return Invalid, errorf(ErrUnsupported, "ONNX element type %s (%d)", onnxTypeName(code), code)
}

// ONNX returns the ONNX TensorProto.DataType code of d (0 for Invalid).
func (d DType) ONNX() int32 {
	switch d {
	case Float32:
		return onnxFloat
	case Uint8:
		return onnxUint8
	case Int8:
		return onnxInt8
	case Int32:
		return onnxInt32
	case Int64:
		return onnxInt64
	case Bool:
		return onnxBool
	}
	return 0
}

func onnxTypeName(code int32) string {
	names := map[int32]string{0: "undefined", 1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16",
		6: "int32", 7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "double", 12: "uint32",
		13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8e4m3fn",
		18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz", 21: "uint4", 22: "int4"}
	if s, ok := names[code]; ok {
		return s
	}
	return "unknown"
}

// Tensor is a dense row-major tensor. Exactly one of the data slices, the
// one of DType, is set, with as many elements as the shape holds (a scalar
// has an empty Shape and one element).
//
// Kernels never modify their input tensors; a tensor handed to an observer
// or returned by the interpreter may share its data with a graph
// initializer or with another value (Reshape and its kin return views), so
// callers that want to modify one should Clone it first.
type Tensor struct {
	DType DType
	Shape []int
	F32   []float32
	I64   []int64
	I32   []int32
	I8    []int8
	U8    []uint8
	Bool  []bool
}

// NumElements returns the number of elements of shape, with an error
// wrapping ErrShape for a negative dimension or a count above limit
// (limit <= 0 means no limit other than overflow).
func NumElements(shape []int, limit int) (int, error) {
	n := 1
	for i, d := range shape {
		if d < 0 {
			return 0, errorf(ErrShape, "dimension %d of %v is negative", i, shape)
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, errorf(ErrShape, "element count of %v overflows", shape)
		}
		n *= d
	}
	if limit > 0 && n > limit {
		return 0, errorf(ErrShape, "shape %v has %d elements, more than the limit of %d", shape, n, limit)
	}
	return n, nil
}

// NewTensor returns a zeroed tensor. The shape is validated against
// DefaultMaxElements before anything is allocated.
func NewTensor(d DType, shape []int) (*Tensor, error) {
	if !d.Valid() {
		return nil, errorf(ErrParams, "invalid dtype %v", d)
	}
	n, err := NumElements(shape, DefaultMaxElements)
	if err != nil {
		return nil, err
	}
	return newTensor(d, shape, n), nil
}

// newTensor allocates without validation: shape and n must be checked.
func newTensor(d DType, shape []int, n int) *Tensor {
	t := &Tensor{DType: d, Shape: slices.Clone(shape)}
	if t.Shape == nil {
		t.Shape = []int{}
	}
	switch d {
	case Float32:
		t.F32 = make([]float32, n)
	case Int64:
		t.I64 = make([]int64, n)
	case Int32:
		t.I32 = make([]int32, n)
	case Int8:
		t.I8 = make([]int8, n)
	case Uint8:
		t.U8 = make([]uint8, n)
	case Bool:
		t.Bool = make([]bool, n)
	}
	return t
}

// alloc allocates a tensor whose shape was validated by shape inference.
func alloc(d DType, shape []int) *Tensor {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return newTensor(d, shape, n)
}

// FromFloat32 returns a float32 tensor of the given shape over x (not
// copied).
func FromFloat32(shape []int, x []float32) (*Tensor, error) {
	t := &Tensor{DType: Float32, Shape: slices.Clone(shape), F32: x}
	return t, t.Validate()
}

// FromInt64 returns an int64 tensor of the given shape over x (not copied).
func FromInt64(shape []int, x []int64) (*Tensor, error) {
	t := &Tensor{DType: Int64, Shape: slices.Clone(shape), I64: x}
	return t, t.Validate()
}

// Scalar returns a float32 scalar.
func Scalar(v float32) *Tensor { return &Tensor{DType: Float32, Shape: []int{}, F32: []float32{v}} }

// Len returns the number of elements of the tensor's data slice.
func (t *Tensor) Len() int {
	switch t.DType {
	case Float32:
		return len(t.F32)
	case Int64:
		return len(t.I64)
	case Int32:
		return len(t.I32)
	case Int8:
		return len(t.I8)
	case Uint8:
		return len(t.U8)
	case Bool:
		return len(t.Bool)
	}
	return 0
}

// Validate checks that the dtype is valid, that only its data slice is set
// and that its length matches the shape.
func (t *Tensor) Validate() error {
	if t == nil {
		return errorf(ErrShape, "nil tensor")
	}
	if !t.DType.Valid() {
		return errorf(ErrParams, "invalid dtype %v", t.DType)
	}
	n, err := NumElements(t.Shape, 0)
	if err != nil {
		return err
	}
	set := 0
	for _, l := range []bool{t.F32 != nil, t.I64 != nil, t.I32 != nil, t.I8 != nil, t.U8 != nil, t.Bool != nil} {
		if l {
			set++
		}
	}
	if set > 1 {
		return errorf(ErrParams, "%v tensor has more than one data slice set", t.DType)
	}
	if l := t.Len(); l != n {
		return errorf(ErrShape, "%v tensor of shape %v has %d elements, needs %d", t.DType, t.Shape, l, n)
	}
	return nil
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{DType: t.DType, Shape: slices.Clone(t.Shape), F32: slices.Clone(t.F32), I64: slices.Clone(t.I64),
		I32: slices.Clone(t.I32), I8: slices.Clone(t.I8), U8: slices.Clone(t.U8), Bool: slices.Clone(t.Bool)}
}

// view returns a tensor sharing t's data with another shape of the same
// element count.
func (t *Tensor) view(shape []int) *Tensor {
	v := *t
	v.Shape = slices.Clone(shape)
	return &v
}

// Info returns the tensor's dtype and shape.
func (t *Tensor) Info() ValueInfo { return ValueInfo{DType: t.DType, Shape: slices.Clone(t.Shape)} }

// Ints returns the elements of an integer tensor (int64, int32, int8,
// uint8) as int64s.
func (t *Tensor) Ints() ([]int64, error) {
	switch t.DType {
	case Int64:
		return slices.Clone(t.I64), nil
	case Int32:
		out := make([]int64, len(t.I32))
		for i, v := range t.I32 {
			out[i] = int64(v)
		}
		return out, nil
	case Int8:
		out := make([]int64, len(t.I8))
		for i, v := range t.I8 {
			out[i] = int64(v)
		}
		return out, nil
	case Uint8:
		out := make([]int64, len(t.U8))
		for i, v := range t.U8 {
			out[i] = int64(v)
		}
		return out, nil
	}
	return nil, errorf(ErrParams, "expected an integer tensor, got %v", t.DType)
}

// Float64s returns the elements of a numeric tensor converted to float64
// (bool as 0/1).
func (t *Tensor) Float64s() []float64 {
	out := make([]float64, t.Len())
	for i := range out {
		out[i] = t.float64At(i)
	}
	return out
}

func (t *Tensor) float64At(i int) float64 {
	switch t.DType {
	case Float32:
		return float64(t.F32[i])
	case Int64:
		return float64(t.I64[i])
	case Int32:
		return float64(t.I32[i])
	case Int8:
		return float64(t.I8[i])
	case Uint8:
		return float64(t.U8[i])
	case Bool:
		if t.Bool[i] {
			return 1
		}
	}
	return 0
}

// String summarises the tensor (dtype and shape).
func (t *Tensor) String() string { return fmt.Sprintf("%v%v", t.DType, t.Shape) }

// FromQTensor converts a float32, int32, int8 or uint8 qtensor.Tensor (for
// example one read with qtensor.ReadNPY) to a Tensor. Quantization
// parameters are dropped: the result holds the stored integers.
func FromQTensor(q *qtensor.Tensor) (*Tensor, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	n := q.Len()
	switch q.DType {
	case qtensor.Float32:
		return &Tensor{DType: Float32, Shape: slices.Clone(q.Shape), F32: q.Float32s()}, nil
	case qtensor.Int32:
		return &Tensor{DType: Int32, Shape: slices.Clone(q.Shape), I32: q.Int32s()}, nil
	case qtensor.Int8:
		t := newTensor(Int8, q.Shape, n)
		for i := range t.I8 {
			t.I8[i] = int8(q.Data[i])
		}
		return t, nil
	case qtensor.Uint8:
		t := newTensor(Uint8, q.Shape, n)
		copy(t.U8, q.Data)
		return t, nil
	}
	return nil, errorf(ErrUnsupported, "qtensor element type %v", q.DType)
}
