package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// TestBinary checks Add and Mul under each ISA against qtensor.Add and
// qtensor.Mul element by element: both byte types, zero points across the
// range, multipliers from tiny to large enough that most results clamp
// (and a narrowed [qmin, qmax] as a fused ReLU gives), lengths around the
// vector widths and the kernels' unrolled blocks, operands and outputs at
// odd offsets, and guard bytes after the output that must stay untouched.
func TestBinary(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for it := range 400 {
			signed := it%2 == 1
			dt := qtensor.Uint8
			if signed {
				dt = qtensor.Int8
			}
			qmin, qmax := dt.QMin(), dt.QMax()
			zp := func() int32 { return qmin + r.Int32N(qmax-qmin+1) }
			za, zb, zy := zp(), zp(), zp()
			if it%7 == 0 {
				qmin = zy // ReLU fused
			}
			ma := float32(math.Ldexp(r.Float64()+0.5, r.IntN(16)-12))
			mb := float32(math.Ldexp(r.Float64()+0.5, r.IntN(16)-12))
			n := r.IntN(200)
			if it%50 == 0 {
				n = 5000 + r.IntN(100)
			}
			off := r.IntN(4)
			a, b := make([]byte, n+off), make([]byte, n+off)
			for i := range a {
				a[i], b[i] = byte(r.Uint32()), byte(r.Uint32())
			}
			if n > 2 { // the extremes
				a[off], b[off], a[off+1], b[off+1] = 0, 0xff, 0x80, 0x7f
			}
			dec := func(v byte) int32 {
				if signed {
					return int32(int8(v))
				}
				return int32(v)
			}
			for _, mul := range []bool{false, true} {
				y := make([]byte, n+off+9)
				for i := range y {
					y[i] = 0xa5
				}
				name := fmt.Sprintf("case %d mul=%v signed=%v n=%d za=%d zb=%d zy=%d ma=%g mb=%g [%d,%d]", it, mul, signed, n, za, zb, zy, ma, mb, qmin, qmax)
				if mul {
					Mul(y[off:off+n], a[off:], b[off:], signed, za, zb, ma, zy, qmin, qmax)
				} else {
					Add(y[off:off+n], a[off:], b[off:], signed, za, zb, ma, mb, zy, qmin, qmax)
				}
				for i := range n {
					av, bv := dec(a[off+i]), dec(b[off+i])
					want := qtensor.Add(av, za, bv, zb, ma, mb, zy, qmin, qmax)
					if mul {
						want = qtensor.Mul(av, za, bv, zb, ma, zy, qmin, qmax)
					}
					if y[off+i] != byte(want) {
						t.Fatalf("%s: y[%d] = %d, want %d (a %d, b %d)", name, i, y[off+i], byte(want), av, bv)
					}
				}
				for i, v := range y {
					if (i < off || i >= off+n) && v != 0xa5 {
						t.Fatalf("%s: wrote outside the output at %d", name, i-off)
					}
				}
			}
		}
	})
}

// TestRelu checks Relu under each ISA against max(x, zp) on both byte
// types, every zero point's sign, lengths around the 32- and 128-byte
// blocks, and guard bytes.
func TestRelu(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for it := range 300 {
			signed := it%2 == 1
			zp := r.Int32N(256)
			if signed {
				zp -= 128
			}
			n := r.IntN(300)
			x := make([]byte, n)
			for i := range x {
				x[i] = byte(r.Uint32())
			}
			y := make([]byte, n+5)
			for i := range y {
				y[i] = 0xa5
			}
			Relu(y[:n], x, signed, zp)
			for i := range n {
				want := max(x[i], byte(zp))
				if signed {
					want = byte(max(int8(x[i]), int8(zp)))
				}
				if y[i] != want {
					t.Fatalf("case %d signed=%v zp=%d: y[%d] = %d, want %d (x %d)", it, signed, zp, i, y[i], want, x[i])
				}
			}
			for i := n; i < len(y); i++ {
				if y[i] != 0xa5 {
					t.Fatalf("case %d: wrote past the output at %d", it, i)
				}
			}
		}
	})
}

func TestBinaryPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"add short b": func() { Add(make([]byte, 4), make([]byte, 4), make([]byte, 3), false, 0, 0, 1, 1, 0, 0, 255) },
		"mul short a": func() { Mul(make([]byte, 4), make([]byte, 2), make([]byte, 4), false, 0, 0, 1, 0, 0, 255) },
		"relu short":  func() { Relu(make([]byte, 4), make([]byte, 3), false, 0) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestMaxPairs checks MaxPairs under each ISA against the definition,
// in place (y = a) and not, with guard bytes.
func TestMaxPairs(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for it := range 200 {
			signed := it%2 == 1
			n := r.IntN(200)
			a, b := make([]byte, n), make([]byte, n)
			for i := range a {
				a[i], b[i] = byte(r.Uint32()), byte(r.Uint32())
			}
			want := make([]byte, n)
			for i := range want {
				want[i] = max(a[i], b[i])
				if signed {
					want[i] = byte(max(int8(a[i]), int8(b[i])))
				}
			}
			y := make([]byte, n+5)
			for i := range y {
				y[i] = 0xa5
			}
			inPlace := it%3 == 0
			if inPlace {
				y = append(append([]byte(nil), a...), 0xa5, 0xa5, 0xa5, 0xa5, 0xa5)
				MaxPairs(y[:n], y, b, signed)
			} else {
				MaxPairs(y[:n], a, b, signed)
			}
			for i := range n {
				if y[i] != want[i] {
					t.Fatalf("case %d signed=%v in place=%v: y[%d] = %d, want %d", it, signed, inPlace, i, y[i], want[i])
				}
			}
			for i := n; i < len(y); i++ {
				if y[i] != 0xa5 {
					t.Fatalf("case %d: wrote past the output at %d", it, i)
				}
			}
		}
	})
}
