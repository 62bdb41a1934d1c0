package qtensor

import "fmt"

// DType is the element type of a tensor.
//
// The quantized types are Int8, Uint8, Int4 and Uint4. Float32 and Int32
// are carried for the unquantized inputs and outputs of quantized ops
// (float activations, int32 accumulators and biases).
type DType uint8

// Element types. The numeric values are part of the on-disk format: never
// renumber them, only append.
const (
	Invalid DType = 0
	Uint8   DType = 1
	Int8    DType = 2
	Uint4   DType = 3 // two per byte, low nibble first (ONNX packing)
	Int4    DType = 4 // two per byte, low nibble first (ONNX packing)
	Float32 DType = 5
	Int32   DType = 6
)

var dtypeNames = [...]string{Invalid: "invalid", Uint8: "uint8", Int8: "int8", Uint4: "uint4", Int4: "int4", Float32: "float32", Int32: "int32"}

func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// ParseDType returns the DType named s ("int8", "uint8", "int4", "uint4",
// "float32", "int32").
func ParseDType(s string) (DType, error) {
	for i, n := range dtypeNames {
		if i != 0 && n == s {
			return DType(i), nil
		}
	}
	return Invalid, fmt.Errorf("qtensor: unknown dtype %q (want int8, uint8, int4, uint4, float32 or int32)", s)
}

// Valid reports whether d is one of the defined element types.
func (d DType) Valid() bool { return d >= Uint8 && d <= Int32 }

// Quantized reports whether d is an integer type that carries quantization
// parameters (int8, uint8, int4, uint4).
func (d DType) Quantized() bool { return d >= Uint8 && d <= Int4 }

// Signed reports whether the type's values can be negative.
func (d DType) Signed() bool { return d == Int8 || d == Int4 || d == Float32 || d == Int32 }

// Bits is the storage width of one element in bits.
func (d DType) Bits() int {
	switch d {
	case Uint8, Int8:
		return 8
	case Uint4, Int4:
		return 4
	case Float32, Int32:
		return 32
	}
	return 0
}

// QMin is the smallest value of a quantized type (0 for others).
func (d DType) QMin() int32 {
	switch d {
	case Int8:
		return -128
	case Int4:
		return -8
	}
	return 0
}

// QMax is the largest value of a quantized type (0 for others).
func (d DType) QMax() int32 {
	switch d {
	case Uint8:
		return 255
	case Int8:
		return 127
	case Uint4:
		return 15
	case Int4:
		return 7
	}
	return 0
}

// StorageBytes returns the number of bytes n elements of d occupy, and false
// when n is negative or the size overflows an int.
func (d DType) StorageBytes(n int) (int, bool) {
	if n < 0 {
		return 0, false
	}
	switch d.Bits() {
	case 4:
		return n/2 + n%2, true
	case 8:
		return n, true
	case 32:
		if n > maxInt/4 {
			return 0, false
		}
		return n * 4, true
	}
	return 0, false
}

const maxInt = int(^uint(0) >> 1)
