package vec

import (
	"fmt"

	"github.com/qgpu/qgpu/qtensor"
)

// binaryKernel is the signature of the generated Add and Mul kernels.
type binaryKernel func(dst, a, b *byte, n int, za, zb int32, ma, mb, lo, hi float32, zy int32)

// Add sets y[i] = byte(qtensor.Add(a[i], za, b[i], zb, ma, mb, zy, qmin,
// qmax)) for i < len(y), the bytes of a and b read as int8 when signed,
// else as uint8. ma and mb must be finite (the engine checks its
// multipliers) and qmin <= qmax within the type's range. It panics if a
// or b is shorter than y.
func Add(y, a, b []byte, signed bool, za, zb int32, ma, mb float32, zy, qmin, qmax int32) {
	binaryOp(y, a, b, signed, false, za, zb, ma, mb, zy, qmin, qmax)
}

// Mul sets y[i] = byte(qtensor.Mul(a[i], za, b[i], zb, m, zy, qmin, qmax))
// for i < len(y), with Add's reading of the bytes and its conditions on m.
func Mul(y, a, b []byte, signed bool, za, zb int32, m float32, zy, qmin, qmax int32) {
	binaryOp(y, a, b, signed, true, za, zb, m, 0, zy, qmin, qmax)
}

func binaryOp(y, a, b []byte, signed, mul bool, za, zb int32, ma, mb float32, zy, qmin, qmax int32) {
	n := len(y)
	if len(a) < n || len(b) < n {
		panic(fmt.Sprintf("vec: binary op of %d elements with operands of %d and %d", n, len(a), len(b)))
	}
	if n == 0 {
		return
	}
	lo, hi := float32(qmin-zy), float32(qmax-zy)
	var k binaryKernel
	step := 1
	switch {
	case useAVX512():
		k = pickBinary(mul, signed, addU8AVX512, addS8AVX512, mulU8AVX512, mulS8AVX512)
	case useAVX2():
		k, step = pickBinary(mul, signed, addU8AVX2, addS8AVX2, mulU8AVX2, mulS8AVX2), 8
	}
	if k != nil {
		if v := n &^ (step - 1); v > 0 {
			k(&y[0], &a[0], &b[0], v, za, zb, ma, mb, lo, hi, zy)
			y, a, b = y[v:], a[v:], b[v:]
		}
	}
	binaryGeneric(y, a, b, signed, mul, za, zb, ma, mb, zy, qmin, qmax)
}

func pickBinary(mul, signed bool, addU8, addS8, mulU8, mulS8 binaryKernel) binaryKernel {
	switch {
	case mul && signed:
		return mulS8
	case mul:
		return mulU8
	case signed:
		return addS8
	}
	return addU8
}

// binaryGeneric is Add and Mul in Go: Add with each operand's rounded
// product tabulated over the 256 byte values (the same float32 values
// qtensor.Add computes), Mul through qtensor.Mul.
func binaryGeneric(y, a, b []byte, signed, mul bool, za, zb int32, ma, mb float32, zy, qmin, qmax int32) {
	dec := func(v byte) int32 {
		if signed {
			return int32(int8(v))
		}
		return int32(v)
	}
	if mul {
		for i := range y {
			y[i] = byte(qtensor.Mul(dec(a[i]), za, dec(b[i]), zb, ma, zy, qmin, qmax))
		}
		return
	}
	if len(y) < 64 { // the tables cost 512 products
		for i := range y {
			y[i] = byte(qtensor.Add(dec(a[i]), za, dec(b[i]), zb, ma, mb, zy, qmin, qmax))
		}
		return
	}
	var ta, tb [256]float32
	for v := range 256 {
		ta[v] = ma * float32(dec(byte(v))-za)
		tb[v] = mb * float32(dec(byte(v))-zb)
	}
	lo, hi := float32(qmin-zy), float32(qmax-zy)
	for i := range y {
		r := qtensor.RoundHalfEven(ta[a[i]] + tb[b[i]])
		if r < lo {
			r = lo
		} else if r > hi {
			r = hi
		}
		y[i] = byte(int32(r) + zy)
	}
}

// Relu sets y[i] = max(x[i], zp) for i < len(y), the bytes compared as
// int8 when signed, else as uint8 (quantized ReLU: zp is the zero point,
// in the type's range). y may be x, but must not overlap it otherwise. It
// panics if x is shorter than y.
func Relu(y, x []byte, signed bool, zp int32) {
	if len(x) < len(y) {
		panic(fmt.Sprintf("vec: Relu of %d elements from %d", len(y), len(x)))
	}
	if n := len(y); n >= 32 && (useAVX512() || useAVX2()) && hasAVX2 {
		maxBytesAVX2(&y[0], &x[0], n&^31, byte(zp), signed)
		if n&31 != 0 { // the last 32 bytes again, overlapping: the same values
			maxBytesAVX2(&y[n-32], &x[n-32], 32, byte(zp), signed)
		}
		return
	}
	for i := range y {
		if signed {
			y[i] = byte(max(int8(x[i]), int8(zp)))
		} else {
			y[i] = max(x[i], byte(zp))
		}
	}
}

// MaxPairs sets y[i] = max(a[i], b[i]) for i < len(y), the bytes compared
// as int8 when signed, else as uint8 (the rows of a max pool). y may be a
// or b, but must not overlap either otherwise. It panics if a or b is
// shorter than y.
func MaxPairs(y, a, b []byte, signed bool) {
	if len(a) < len(y) || len(b) < len(y) {
		panic(fmt.Sprintf("vec: MaxPairs of %d elements from %d and %d", len(y), len(a), len(b)))
	}
	if n := len(y); n >= 32 && (useAVX512() || useAVX2()) && hasAVX2 {
		maxPairsAVX2(&y[0], &a[0], &b[0], n&^31, signed)
		if n&31 != 0 {
			// The last 32 bytes again, overlapping: where y is a or b the
			// overlap already holds the maximum, which max leaves as is.
			maxPairsAVX2(&y[n-32], &a[n-32], &b[n-32], 32, signed)
		}
		return
	}
	for i := range y {
		if signed {
			y[i] = byte(max(int8(a[i]), int8(b[i])))
		} else {
			y[i] = max(a[i], b[i])
		}
	}
}
