package onnx

import "fmt"

// DataType is an ONNX element type, the value of TensorProto.data_type
// (and of TypeProto.Tensor.elem_type). The values are ONNX's; the generated
// enum onnxpb.TensorProto_DataType stops at BFLOAT16 (ONNX 1.12), so the
// types of IR versions 9 and 10 are named here.
type DataType int32

// The element types of ONNX up to IR version 10. Every one of them is
// accepted in a decoded model (its byte size is known, so its data is
// checked); TensorFromProto converts all but the FLOAT8 types and
// Undefined.
const (
	Undefined      DataType = 0
	Float          DataType = 1  // float32
	Uint8          DataType = 2  // uint8
	Int8           DataType = 3  // int8
	Uint16         DataType = 4  // uint16
	Int16          DataType = 5  // int16
	Int32          DataType = 6  // int32
	Int64          DataType = 7  // int64
	String         DataType = 8  // UTF-8 bytes, in string_data only
	Bool           DataType = 9  // one byte, 0 or 1
	Float16        DataType = 10 // IEEE 754 binary16
	Double         DataType = 11 // float64
	Uint32         DataType = 12 // uint32
	Uint64         DataType = 13 // uint64
	Complex64      DataType = 14 // two float32, real first
	Complex128     DataType = 15 // two float64, real first
	BFloat16       DataType = 16 // the upper 16 bits of a float32
	Float8E4M3FN   DataType = 17 // IR 9
	Float8E4M3FNUZ DataType = 18 // IR 9
	Float8E5M2     DataType = 19 // IR 9
	Float8E5M2FNUZ DataType = 20 // IR 9
	Uint4          DataType = 21 // IR 10: packed two per byte, low nibble first
	Int4           DataType = 22 // IR 10: packed two per byte, low nibble first
)

var dataTypeNames = [...]string{
	Undefined:      "UNDEFINED",
	Float:          "FLOAT",
	Uint8:          "UINT8",
	Int8:           "INT8",
	Uint16:         "UINT16",
	Int16:          "INT16",
	Int32:          "INT32",
	Int64:          "INT64",
	String:         "STRING",
	Bool:           "BOOL",
	Float16:        "FLOAT16",
	Double:         "DOUBLE",
	Uint32:         "UINT32",
	Uint64:         "UINT64",
	Complex64:      "COMPLEX64",
	Complex128:     "COMPLEX128",
	BFloat16:       "BFLOAT16",
	Float8E4M3FN:   "FLOAT8E4M3FN",
	Float8E4M3FNUZ: "FLOAT8E4M3FNUZ",
	Float8E5M2:     "FLOAT8E5M2",
	Float8E5M2FNUZ: "FLOAT8E5M2FNUZ",
	Uint4:          "UINT4",
	Int4:           "INT4",
}

// dataTypeBits is the storage width of one element in raw_data, in bits
// (0 for STRING, which has no raw form, and UNDEFINED).
var dataTypeBits = [...]int{
	Float: 32, Uint8: 8, Int8: 8, Uint16: 16, Int16: 16, Int32: 32, Int64: 64,
	Bool: 8, Float16: 16, Double: 64, Uint32: 32, Uint64: 64, Complex64: 64,
	Complex128: 128, BFloat16: 16, Float8E4M3FN: 8, Float8E4M3FNUZ: 8,
	Float8E5M2: 8, Float8E5M2FNUZ: 8, Uint4: 4, Int4: 4,
}

// String returns ONNX's name of the type (FLOAT, INT8, ...), or
// DataType(n) for a value ONNX does not define.
func (t DataType) String() string {
	if t.Valid() || t == Undefined {
		return dataTypeNames[t]
	}
	return fmt.Sprintf("DataType(%d)", int32(t))
}

// Valid reports whether t is one of the element types above other than
// Undefined.
func (t DataType) Valid() bool { return t > Undefined && t <= Int4 }

// Bits returns the width of one element in raw_data in bits (4 for Int4
// and Uint4, 64 for Complex64), or 0 for String and invalid types.
func (t DataType) Bits() int {
	if !t.Valid() {
		return 0
	}
	return dataTypeBits[t]
}

// rawBytes returns the number of raw_data bytes n elements of t take, or
// -1 when that overflows int or t has no raw form.
func (t DataType) rawBytes(n int) int {
	b := t.Bits()
	if b == 0 || n < 0 {
		return -1
	}
	if b == 4 {
		return n/2 + n%2
	}
	per := b / 8
	if n > maxInt/per {
		return -1
	}
	return n * per
}
