package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// Element is the set of Go element types of a Tensor's data.
type Element interface {
	float32 | float64 | int8 | uint8 | int16 | uint16 | int32 | uint32 |
		int64 | uint64 | bool | string | complex64 | complex128
}

// Tensor is a TensorProto's value in Go form: its name, element type,
// dims and elements in row-major order. Each element type has one Go type:
//
//	FLOAT, FLOAT16, BFLOAT16   float32 (the 16-bit types widened exactly)
//	DOUBLE                     float64
//	INT8, INT4                 int8 (INT4 unpacked, one element per value)
//	UINT8, UINT4               uint8 (UINT4 unpacked)
//	INT16, UINT16, INT32, UINT32, INT64, UINT64  the Go type of that name
//	BOOL                       bool
//	STRING                     string
//	COMPLEX64, COMPLEX128      complex64, complex128
//
// The FLOAT8 types are not converted.
type Tensor struct {
	Name string
	Type DataType
	Dims []int // every dim >= 0; no dims is a scalar
	data any   // []E for the Go type E of Type, of product(Dims) elements
}

// Len returns the number of elements, the product of the dims.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Values returns the elements as a slice of the Go type of t.Type (see
// Tensor), for type switches. The slice is t's own storage.
func (t *Tensor) Values() any { return t.data }

// Data returns t's elements as a []T, or an ErrUnsupported error when T is
// not the Go type of t.Type (see Tensor). The slice is t's own storage.
func Data[T Element](t *Tensor) ([]T, error) {
	v, ok := t.data.([]T)
	if !ok {
		var z T
		return nil, errorf(ErrUnsupported, "tensor %q of type %v holds %T, not %T", t.Name, t.Type, t.data, []T{z})
	}
	return v, nil
}

// Ints returns the elements of an integer tensor (INT4 to INT64, UINT4 to
// UINT64) widened to int64: shapes, axes, indices. A UINT64 value above
// MaxInt64 is an error.
func (t *Tensor) Ints() ([]int64, error) {
	switch v := t.data.(type) {
	case []int64:
		return v, nil
	case []int8:
		return widen(v), nil
	case []uint8:
		return widen(v), nil
	case []int16:
		return widen(v), nil
	case []uint16:
		return widen(v), nil
	case []int32:
		return widen(v), nil
	case []uint32:
		return widen(v), nil
	case []uint64:
		for i, x := range v {
			if x > math.MaxInt64 {
				return nil, errorf(ErrUnsupported, "tensor %q: element %d (%d) does not fit in an int64", t.Name, i, x)
			}
		}
		return widen(v), nil
	}
	return nil, errorf(ErrUnsupported, "tensor %q of type %v is not an integer tensor", t.Name, t.Type)
}

func widen[T int8 | uint8 | int16 | uint16 | int32 | uint32 | uint64](v []T) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// TensorFromProto converts a TensorProto to a Tensor, checking it first
// like Decode does (element type, dims, exactly the data the dims need in
// a field that may hold the type) and then every value: typed-field
// entries must fit their type (an INT8 in int32_data within -128..127,
// a FLOAT16 within 0..65535 as bits, a BOOL 0 or 1; raw BOOL bytes too).
// A tensor with external data is an error: Decode and Load resolve it.
func TensorFromProto(tp *onnxpb.TensorProto) (*Tensor, error) {
	where := fmt.Sprintf("tensor %q", tp.GetName())
	dt := DataType(tp.GetDataType())
	if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL || len(tp.GetExternalData()) > 0 {
		return nil, errorf(ErrInvalid, "%s has external data; decode the model with Load or DecodeOptions.Dir to read it", where)
	}
	c := newChecker(limits{})
	if err := c.tensor(tp, where); err != nil {
		return nil, err
	}
	n, _ := numElements(tp.GetDims()) // checked
	dims := make([]int, len(tp.GetDims()))
	for i, d := range tp.GetDims() {
		dims[i] = int(d)
	}
	t := &Tensor{Name: tp.GetName(), Type: dt, Dims: dims}
	var err error
	if len(tp.GetRawData()) > 0 {
		t.data, err = fromRaw(tp.GetRawData(), dt, n)
	} else {
		t.data, err = fromFields(tp, dt, n)
	}
	if err != nil {
		return nil, errorf(ErrInvalid, "%s: %v", where, err)
	}
	if t.data == nil {
		return nil, errorf(ErrUnsupported, "%s: element type %v is not converted", where, dt)
	}
	return t, nil
}

var le = binary.LittleEndian

// fromRaw converts raw_data (checked: exactly the bytes of n elements).
// It returns nil data for types it does not convert.
func fromRaw(b []byte, dt DataType, n int) (any, error) {
	switch dt {
	case Float:
		return rawVals(b, 4, func(p []byte) float32 { return math.Float32frombits(le.Uint32(p)) }), nil
	case Float16:
		return rawVals(b, 2, func(p []byte) float32 { return Float16ToFloat32(le.Uint16(p)) }), nil
	case BFloat16:
		return rawVals(b, 2, func(p []byte) float32 { return math.Float32frombits(uint32(le.Uint16(p)) << 16) }), nil
	case Double:
		return rawVals(b, 8, func(p []byte) float64 { return math.Float64frombits(le.Uint64(p)) }), nil
	case Int8:
		return rawVals(b, 1, func(p []byte) int8 { return int8(p[0]) }), nil
	case Uint8:
		return rawVals(b, 1, func(p []byte) uint8 { return p[0] }), nil
	case Int16:
		return rawVals(b, 2, func(p []byte) int16 { return int16(le.Uint16(p)) }), nil
	case Uint16:
		return rawVals(b, 2, func(p []byte) uint16 { return le.Uint16(p) }), nil
	case Int32:
		return rawVals(b, 4, func(p []byte) int32 { return int32(le.Uint32(p)) }), nil
	case Uint32:
		return rawVals(b, 4, func(p []byte) uint32 { return le.Uint32(p) }), nil
	case Int64:
		return rawVals(b, 8, func(p []byte) int64 { return int64(le.Uint64(p)) }), nil
	case Uint64:
		return rawVals(b, 8, func(p []byte) uint64 { return le.Uint64(p) }), nil
	case Complex64:
		return rawVals(b, 8, func(p []byte) complex64 {
			return complex(math.Float32frombits(le.Uint32(p)), math.Float32frombits(le.Uint32(p[4:])))
		}), nil
	case Complex128:
		return rawVals(b, 16, func(p []byte) complex128 {
			return complex(math.Float64frombits(le.Uint64(p)), math.Float64frombits(le.Uint64(p[8:])))
		}), nil
	case Bool:
		out := make([]bool, n)
		for i, x := range b {
			if x > 1 {
				return nil, fmt.Errorf("BOOL element %d is byte %d, not 0 or 1", i, x)
			}
			out[i] = x == 1
		}
		return out, nil
	case Int4:
		out := make([]int8, n)
		for i := range out {
			out[i] = int8(nibble(b[i/2], i)<<4) >> 4
		}
		return out, nil
	case Uint4:
		out := make([]uint8, n)
		for i := range out {
			out[i] = nibble(b[i/2], i)
		}
		return out, nil
	}
	return nil, nil
}

// nibble returns element i's 4 bits of byte b: the low nibble for even i.
func nibble(b byte, i int) uint8 {
	if i%2 == 0 {
		return b & 0xf
	}
	return b >> 4
}

func rawVals[T any](b []byte, size int, f func([]byte) T) []T {
	out := make([]T, len(b)/size)
	for i := range out {
		out[i] = f(b[i*size:])
	}
	return out
}

// fromFields converts the typed data field of dt (checked: exactly the
// entries of n elements).
func fromFields(tp *onnxpb.TensorProto, dt DataType, n int) (any, error) {
	i32 := tp.GetInt32Data()
	switch dt {
	case Float:
		return orEmpty(tp.GetFloatData(), n), nil
	case Double:
		return orEmpty(tp.GetDoubleData(), n), nil
	case Int64:
		return orEmpty(tp.GetInt64Data(), n), nil
	case Int32:
		return orEmpty(i32, n), nil
	case String:
		out := make([]string, n)
		for i, s := range tp.GetStringData() {
			out[i] = string(s)
		}
		return out, nil
	case Int8:
		return narrow(i32, n, math.MinInt8, math.MaxInt8, func(v int32) int8 { return int8(v) })
	case Uint8:
		return narrow(i32, n, 0, math.MaxUint8, func(v int32) uint8 { return uint8(v) })
	case Int16:
		return narrow(i32, n, math.MinInt16, math.MaxInt16, func(v int32) int16 { return int16(v) })
	case Uint16:
		return narrow(i32, n, 0, math.MaxUint16, func(v int32) uint16 { return uint16(v) })
	case Bool:
		return narrow(i32, n, 0, 1, func(v int32) bool { return v == 1 })
	case Float16:
		return narrow(i32, n, 0, math.MaxUint16, func(v int32) float32 { return Float16ToFloat32(uint16(v)) })
	case BFloat16:
		return narrow(i32, n, 0, math.MaxUint16, func(v int32) float32 { return math.Float32frombits(uint32(v) << 16) })
	case Int4, Uint4:
		packed, err := narrow(i32, n/2+n%2, 0, math.MaxUint8, func(v int32) byte { return byte(v) })
		if err != nil {
			return nil, err
		}
		return fromRaw(packed, dt, n)
	case Uint32:
		out := make([]uint32, n)
		for i, v := range tp.GetUint64Data() {
			if v > math.MaxUint32 {
				return nil, fmt.Errorf("uint64_data entry %d (%d) out of the UINT32 range", i, v)
			}
			out[i] = uint32(v)
		}
		return out, nil
	case Uint64:
		return orEmpty(tp.GetUint64Data(), n), nil
	case Complex64:
		f := tp.GetFloatData()
		out := make([]complex64, n)
		for i := range out {
			out[i] = complex(f[2*i], f[2*i+1])
		}
		return out, nil
	case Complex128:
		f := tp.GetDoubleData()
		out := make([]complex128, n)
		for i := range out {
			out[i] = complex(f[2*i], f[2*i+1])
		}
		return out, nil
	}
	return nil, nil
}

// orEmpty returns v, or an empty slice for a tensor of no elements (whose
// field may be nil), so Data never returns a nil slice.
func orEmpty[T any](v []T, n int) []T {
	if n == 0 {
		return []T{}
	}
	return v
}

// narrow converts int32_data entries (n of them) to T, checking each lies
// in [lo, hi].
func narrow[T any](v []int32, n int, lo, hi int32, f func(int32) T) ([]T, error) {
	out := make([]T, n)
	for i, x := range v[:n:n] {
		if x < lo || x > hi {
			return nil, fmt.Errorf("int32_data entry %d (%d) out of range [%d, %d]", i, x, lo, hi)
		}
		out[i] = f(x)
	}
	return out, nil
}
