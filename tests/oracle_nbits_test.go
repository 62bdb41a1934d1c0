package tests

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// oracleNBitsWeight reads element k of row n of a [N][KB] B straight from
// its bytes (two's-complement nibbles and bytes, the low nibble first),
// without qtensor's element accessors.
func oracleNBitsWeight(b *qtensor.Tensor, KB, n, k int) int64 {
	i := n*KB + k
	switch b.DType {
	case qtensor.Uint8:
		return int64(b.Data[i])
	case qtensor.Int8:
		return int64(int8(b.Data[i]))
	}
	v := int64(b.Data[i/2])
	if i%2 == 1 {
		v >>= 4
	}
	v &= 15
	if b.DType == qtensor.Int4 && v >= 8 {
		v -= 16
	}
	return v
}

// f32 rounds a float64 holding an exact sum or product of two float32s to
// float32: the correctly rounded float32 operation (53 >= 2*24 + 2, so the
// double rounding is innocuous).
func f32(v float64) float64 { return float64(float32(v)) }

// oracleMatMulNBits is docs/semantics.md's MatMulNBits in float64 with
// every operation rounded to float32 by f32.
func oracleMatMulNBits(a []float32, b *qtensor.Tensor, M, K, N int, int8Mode bool, bias []float32) []float32 {
	KB := b.Shape[1]
	p := b.Params
	bs := p.BlockSize
	nb := (K + bs - 1) / bs
	out := make([]float32, M*N)
	for m := range M {
		row := a[m*K : (m+1)*K]
		for n := range N {
			acc := math.Copysign(0, -1)
			for blk := range nb {
				k0, k1 := blk*bs, min(blk*bs+bs, K)
				scale, zp := float64(p.Scales[n*nb+blk]), int64(p.ZeroPoints[n*nb+blk])
				if int8Mode {
					amax := 0.0
					for _, v := range row[k0:k1] {
						if !math.IsInf(float64(v), 0) && !math.IsNaN(float64(v)) {
							amax = math.Max(amax, math.Abs(float64(v)))
						}
					}
					sa := f32(amax / 127)
					if sa < 0x1p-125 {
						sa = 0x1p-125
					}
					var isum int64
					for k := k0; k < k1; k++ {
						isum += int64(oracleQuantize(row[k], float32(sa), 0, -127, 127, false)) * (oracleNBitsWeight(b, KB, n, k) - zp)
					}
					acc = f32(acc + f32(f32(sa*scale)*float64(isum)))
					continue
				}
				s := math.Copysign(0, -1)
				for k := k0; k < k1; k++ {
					s = f32(s + f32(float64(row[k])*float64(oracleNBitsWeight(b, KB, n, k)-zp)))
				}
				acc = f32(acc + f32(scale*s))
			}
			if bias != nil {
				acc = f32(acc + float64(bias[n]))
			}
			out[m*N+n] = float32(acc)
			if math.IsNaN(acc) {
				out[m*N+n] = math.Float32frombits(qtensor.CanonicalNaN)
			}
		}
	}
	return out
}

// TestReferenceMatMulNBitsOracle checks the reference kernel of
// MatMulNBits against oracleMatMulNBits on random shapes, every weight
// type, block size and mode, padded rows, specials and ties.
func TestReferenceMatMulNBitsOracle(t *testing.T) {
	e := refEngine(t)
	r := rand.New(rand.NewPCG(21, 22))
	for it := range 160 {
		d := nbitsTypes[it%4]
		bs := nbitsBlocks[(it/4)%5]
		int8Mode := it%2 == 1
		M, K, N := 1+r.IntN(4), 1+r.IntN(3*bs), 1+r.IntN(9)
		nb := (K + bs - 1) / bs
		KB := K
		if r.IntN(2) == 0 {
			KB = nb * bs
		}
		p := params(r, d, []int{N, KB}, qtensor.PerBlock, 1, bs)
		b := randQ(r, d, []int{N, KB}, p)
		a := make([]float32, M*K)
		for i := range a {
			a[i] = nbitsAct(r, r.IntN(8)-4, i < K && it%3 == 0, int8Mode)
		}
		if int8Mode && it%4 == 1 {
			// Activations at and beside quantization ties of the block's
			// scale: the first element of each block is its maximum.
			for i := range a {
				k := i % K
				if k%bs == 0 {
					a[i] = float32(math.Ldexp(1+r.Float64(), r.IntN(10)-5))
					continue
				}
				sa := float32(float64(a[i-k%bs]) / 127)
				v := quantFloat(r, sa, 0, -127, 127)
				if math.Abs(float64(v)) <= float64(a[i-k%bs]) {
					a[i] = v
				}
			}
		}
		var bias []float32
		if r.IntN(2) == 0 {
			bias = make([]float32, N)
			for i := range bias {
				bias[i] = float32(r.NormFloat64())
			}
		}
		y := run1(t, e, func(bt *engine.Batch) (*engine.Tensor, error) {
			return bt.MatMulNBits(upload(t, e, ft(t, []int{M, K}, a...)), upload(t, e, b), engine.NBitsOptions{Int8Activations: int8Mode, Bias: bias})
		})
		want := oracleMatMulNBits(a, b, M, K, N, int8Mode, bias)
		for i, w := range want {
			if g := y.Float32s()[i]; math.Float32bits(g) != math.Float32bits(w) {
				t.Fatalf("%v bs %d int8 %v M %d K %d KB %d N %d: y[%d] = %g (0x%08x), oracle %g (0x%08x)",
					d, bs, int8Mode, M, K, KB, N, i, g, math.Float32bits(g), w, math.Float32bits(w))
			}
		}
	}
}

// TestMatMulNBitsHand checks small cases computed by hand.
func TestMatMulNBitsHand(t *testing.T) {
	e := refEngine(t)
	// uint4, zero point 8, block 16, K = 3 of a padded row: w = q - 8.
	// Row 0 of B: q = 9, 6, 15 (w = 1, -2, 7), padding 13 x 15 (ignored);
	// scale 0.5. A = [1, 2, 0.25]: s = 1 - 4 + 1.75 = -1.25, y = -0.625.
	p := qtensor.BlockParams(1, 16, []float32{0.5}, []int32{8})
	q := make([]int32, 16)
	for i := range q {
		q[i] = 15
	}
	q[0], q[1], q[2] = 9, 6, 15
	b := qt(t, qtensor.Uint4, []int{1, 16}, p, q...)
	if b.Data[0] != 0x69 || b.Data[1] != 0xFF {
		t.Fatalf("packing: % x", b.Data[:2]) // low nibble first, as ONNX Runtime packs B
	}
	a := ft(t, []int{1, 3}, 1, 2, 0.25)
	y := run1(t, e, func(bt *engine.Batch) (*engine.Tensor, error) {
		return bt.MatMulNBits(upload(t, e, a), upload(t, e, b), engine.NBitsOptions{Bias: []float32{10}})
	})
	if got := y.Float32s(); got[0] != 9.375 {
		t.Fatalf("float mode: got %v, want 9.375", got)
	}
	// Int8 activations: amax 2, sa = 2/127; qa = rint(127/2) = 64 (63.5
	// ties to even), 127, rint(15.875) = 16; isum = 64 - 254 + 112 = -78;
	// y = float32(float32(2/127 * 0.5) * -78).
	y = run1(t, e, func(bt *engine.Batch) (*engine.Tensor, error) {
		return bt.MatMulNBits(upload(t, e, a), upload(t, e, b), engine.NBitsOptions{Int8Activations: true})
	})
	sa := float32(2) / 127
	if want := float32(sa*0.5) * -78; y.Float32s()[0] != want {
		t.Fatalf("int8 mode: got %v, want %v", y.Float32s(), want)
	}
}
