package vec

import (
	"fmt"

	"github.com/qgpu/qgpu/qtensor"
)

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
	addMul(y, a, b, signed, mul, za, zb, ma, mb, zy, qmin, qmax)
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
	relu(y, x, signed, zp)
}

// MaxPairs sets y[i] = max(a[i], b[i]) for i < len(y), the bytes compared
// as int8 when signed, else as uint8 (the rows of a max pool). y may be a
// or b, but must not overlap either otherwise. It panics if a or b is
// shorter than y.
func MaxPairs(y, a, b []byte, signed bool) {
	if len(a) < len(y) || len(b) < len(y) {
		panic(fmt.Sprintf("vec: MaxPairs of %d elements from %d and %d", len(y), len(a), len(b)))
	}
	maxPairs(y, a, b, signed)
}

// reluGeneric is Relu in Go.
func reluGeneric(y, x []byte, signed bool, zp int32) {
	for i := range y {
		if signed {
			y[i] = byte(max(int8(x[i]), int8(zp)))
		} else {
			y[i] = max(x[i], byte(zp))
		}
	}
}

// maxPairsGeneric is MaxPairs in Go.
func maxPairsGeneric(y, a, b []byte, signed bool) {
	for i := range y {
		if signed {
			y[i] = byte(max(int8(a[i]), int8(b[i])))
		} else {
			y[i] = max(a[i], b[i])
		}
	}
}
