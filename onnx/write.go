package onnx

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// NewTensor returns a TensorProto named name with the given dims holding
// data, whose element type follows from T: float32 is FLOAT, float64
// DOUBLE, int8 INT8, uint8 UINT8, ..., bool BOOL, string STRING, complex64
// COMPLEX64. The data is written to raw_data (string_data for strings)
// and copied, so data stays the caller's. len(data) must be the product
// of dims (no dims: a scalar, one element); an error wraps ErrShape.
//
// For FLOAT16, INT4 and UINT4 use NewFloat16Tensor, NewInt4Tensor and
// NewUint4Tensor.
func NewTensor[T Element](name string, dims []int, data []T) (*onnxpb.TensorProto, error) {
	var dt DataType
	switch any(data).(type) {
	case []float32:
		dt = Float
	case []float64:
		dt = Double
	case []int8:
		dt = Int8
	case []uint8:
		dt = Uint8
	case []int16:
		dt = Int16
	case []uint16:
		dt = Uint16
	case []int32:
		dt = Int32
	case []uint32:
		dt = Uint32
	case []int64:
		dt = Int64
	case []uint64:
		dt = Uint64
	case []bool:
		dt = Bool
	case []string:
		dt = String
	case []complex64:
		dt = Complex64
	case []complex128:
		dt = Complex128
	}
	tp, err := newProto(name, dt, dims, len(data))
	if err != nil {
		return nil, err
	}
	if dt == String {
		tp.StringData = make([][]byte, len(data))
		for i, s := range any(data).([]string) {
			tp.StringData[i] = []byte(s)
		}
		return tp, nil
	}
	raw := make([]byte, 0, dt.rawBytes(len(data)))
	switch v := any(data).(type) {
	case []float32:
		raw = appendVals(raw, v, func(b []byte, x float32) []byte { return le.AppendUint32(b, math.Float32bits(x)) })
	case []float64:
		raw = appendVals(raw, v, func(b []byte, x float64) []byte { return le.AppendUint64(b, math.Float64bits(x)) })
	case []int8:
		raw = appendVals(raw, v, func(b []byte, x int8) []byte { return append(b, byte(x)) })
	case []uint8:
		raw = append(raw, v...)
	case []int16:
		raw = appendVals(raw, v, func(b []byte, x int16) []byte { return le.AppendUint16(b, uint16(x)) })
	case []uint16:
		raw = appendVals(raw, v, func(b []byte, x uint16) []byte { return le.AppendUint16(b, x) })
	case []int32:
		raw = appendVals(raw, v, func(b []byte, x int32) []byte { return le.AppendUint32(b, uint32(x)) })
	case []uint32:
		raw = appendVals(raw, v, func(b []byte, x uint32) []byte { return le.AppendUint32(b, x) })
	case []int64:
		raw = appendVals(raw, v, func(b []byte, x int64) []byte { return le.AppendUint64(b, uint64(x)) })
	case []uint64:
		raw = appendVals(raw, v, func(b []byte, x uint64) []byte { return le.AppendUint64(b, x) })
	case []bool:
		raw = appendVals(raw, v, func(b []byte, x bool) []byte {
			if x {
				return append(b, 1)
			}
			return append(b, 0)
		})
	case []complex64:
		raw = appendVals(raw, v, func(b []byte, x complex64) []byte {
			b = le.AppendUint32(b, math.Float32bits(real(x)))
			return le.AppendUint32(b, math.Float32bits(imag(x)))
		})
	case []complex128:
		raw = appendVals(raw, v, func(b []byte, x complex128) []byte {
			b = le.AppendUint64(b, math.Float64bits(real(x)))
			return le.AppendUint64(b, math.Float64bits(imag(x)))
		})
	}
	tp.RawData = raw
	return tp, nil
}

func appendVals[T any](b []byte, v []T, f func([]byte, T) []byte) []byte {
	for _, x := range v {
		b = f(b, x)
	}
	return b
}

// NewFloat16Tensor returns a FLOAT16 TensorProto of data rounded to
// binary16 (Float32ToFloat16: nearest, ties to even), in raw_data.
func NewFloat16Tensor(name string, dims []int, data []float32) (*onnxpb.TensorProto, error) {
	tp, err := newProto(name, Float16, dims, len(data))
	if err != nil {
		return nil, err
	}
	raw := make([]byte, 0, 2*len(data))
	for _, x := range data {
		raw = le.AppendUint16(raw, Float32ToFloat16(x))
	}
	tp.RawData = raw
	return tp, nil
}

// NewInt4Tensor returns an INT4 TensorProto of data (each in -8..7, else
// an ErrInvalid error), packed two per byte in raw_data, the first element
// in the low nibble; an odd count leaves the last high nibble zero.
func NewInt4Tensor(name string, dims []int, data []int8) (*onnxpb.TensorProto, error) {
	for i, x := range data {
		if x < -8 || x > 7 {
			return nil, errorf(ErrInvalid, "tensor %q: INT4 element %d is %d, outside -8..7", name, i, x)
		}
	}
	return newInt4(name, Int4, dims, len(data), func(i int) byte { return byte(data[i]) & 0xf })
}

// NewUint4Tensor returns a UINT4 TensorProto of data (each in 0..15, else
// an ErrInvalid error), packed like NewInt4Tensor's.
func NewUint4Tensor(name string, dims []int, data []uint8) (*onnxpb.TensorProto, error) {
	for i, x := range data {
		if x > 15 {
			return nil, errorf(ErrInvalid, "tensor %q: UINT4 element %d is %d, outside 0..15", name, i, x)
		}
	}
	return newInt4(name, Uint4, dims, len(data), func(i int) byte { return data[i] })
}

func newInt4(name string, dt DataType, dims []int, n int, at func(int) byte) (*onnxpb.TensorProto, error) {
	tp, err := newProto(name, dt, dims, n)
	if err != nil {
		return nil, err
	}
	raw := make([]byte, dt.rawBytes(n))
	for i := 0; i < n; i++ {
		raw[i/2] |= at(i) << (4 * (i % 2))
	}
	tp.RawData = raw
	return tp, nil
}

// newProto checks dims against n elements and returns a TensorProto with
// name, type and dims set.
func newProto(name string, dt DataType, dims []int, n int) (*onnxpb.TensorProto, error) {
	if len(dims) > MaxRank {
		return nil, fmt.Errorf("onnx: %w: tensor %q: %d dims, more than %d", ErrShape, name, len(dims), MaxRank)
	}
	d64 := make([]int64, len(dims))
	for i, d := range dims {
		d64[i] = int64(d)
	}
	want, err := numElements(d64)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w: tensor %q: %v", ErrShape, name, err)
	}
	if want != n {
		return nil, fmt.Errorf("onnx: %w: tensor %q: dims %v need %d elements, got %d", ErrShape, name, dims, want, n)
	}
	tp := &onnxpb.TensorProto{Dims: d64, DataType: proto.Int32(int32(dt))}
	if name != "" {
		tp.Name = proto.String(name)
	}
	return tp, nil
}
