package tests

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// Property tests of the reference kernels against independent oracles that
// compute in float64 or with math/big (no qtensor formula involved).

// oracleQuantize is the QuantizeLinear of docs/semantics.md computed in float64: the float32
// quotient is float32(float64(x)/float64(s)) (a float64 quotient of two
// float32s rounded to float32 is the correctly rounded float32 quotient,
// as 53 >= 2*24+2), then rounded half to even and clamped.
func oracleQuantize(x, s float32, zp, qmin, qmax int32, torch bool) int32 {
	if x != x {
		return zp
	}
	var q float32
	if torch {
		inv := float32(1 / float64(s))
		q = float32(float64(x) * float64(inv)) // exact product, one rounding
	} else {
		q = float32(float64(x) / float64(s))
	}
	r := math.RoundToEven(float64(q)) + float64(zp)
	return int32(math.Max(float64(qmin), math.Min(float64(qmax), r)))
}

func TestReferenceQuantizeOracle(t *testing.T) {
	e := refEngine(t)
	r := rand.New(rand.NewPCG(7, 8))
	scales := append(append([]float32{}, edgeScales...), scalePool...)
	for i := 0; i < 40; i++ {
		scales = append(scales, randScale(r), float32(math.Ldexp(1+r.Float64(), r.IntN(250)-125)))
	}
	for _, d := range quantTypes {
		for _, s := range scales {
			if qtensor.CheckScale(s) != nil {
				continue
			}
			zp := randZP(r, d)
			const n = 512
			x := make([]float32, n)
			for i := range x {
				x[i] = quantFloat(r, s, zp, d.QMin(), d.QMax())
			}
			for _, rnd := range []qtensor.Rounding{qtensor.RoundONNX, qtensor.RoundTorch} {
				y := run1(t, e, func(b *engine.Batch) (*engine.Tensor, error) {
					return b.Quantize(upload(t, e, ft(t, []int{n}, x...)), d, qtensor.TensorParams(s, zp), rnd)
				})
				for i, v := range x {
					if want := oracleQuantize(v, s, zp, d.QMin(), d.QMax(), rnd == qtensor.RoundTorch); y.At(i) != want {
						t.Fatalf("%v %v scale %g zp %d x %g (0x%08x): got %d, oracle %d", d, rnd, s, zp, v, math.Float32bits(v), y.At(i), want)
					}
				}
			}
		}
	}
}

// oracleFixed is fixed-point requantization with math/big:
// floor((acc*mult + 2^(shift-1)) / 2^shift) + zp, clamped.
func oracleFixed(acc int32, fp qtensor.FixedPoint, zp, qmin, qmax int32) int32 {
	num := new(big.Int).Mul(big.NewInt(int64(acc)), big.NewInt(int64(fp.Multiplier)))
	num.Add(num, new(big.Int).Lsh(big.NewInt(1), uint(fp.Shift-1)))
	den := new(big.Int).Lsh(big.NewInt(1), uint(fp.Shift))
	q := new(big.Int).Div(num, den) // Euclidean: floor for a positive divisor
	v := q.Int64() + int64(zp)
	return int32(max(int64(qmin), min(int64(qmax), v)))
}

func TestReferenceRequantizeOracle(t *testing.T) {
	e := refEngine(t)
	r := rand.New(rand.NewPCG(9, 10))
	for it := 0; it < 60; it++ {
		m := float32(math.Ldexp(1+r.Float64(), r.IntN(60)-32))
		if it < 4 {
			m = []float32{0.5, 0x1p-32, 0x1.fffffep29, 1}[it]
		}
		fp, err := qtensor.NewFixedPoint(m)
		if err != nil {
			continue
		}
		// The fixed-point form approximates m within half a unit of the multiplier:
		// |Multiplier - m*2^Shift| <= 1/2 (m*2^Shift is exact in float64).
		if fp.Multiplier < 1<<30 || math.Abs(float64(fp.Multiplier)-math.Ldexp(float64(m), int(fp.Shift))) > 0.5 {
			t.Fatalf("NewFixedPoint(%g) = %+v", m, fp)
		}
		for _, d := range byteTypes {
			zp := randZP(r, d)
			const n = 256
			acc := make([]int32, n)
			for i := range acc {
				acc[i] = accValue(r)
			}
			x, _ := qtensor.FromInt32([]int{n}, acc)
			for _, fixed := range []bool{false, true} {
				y := run1(t, e, func(b *engine.Batch) (*engine.Tensor, error) {
					return b.Requantize(upload(t, e, x), []float32{m}, -1, d, 1, zp, fixed)
				})
				for i, a := range acc {
					var want int32
					if fixed {
						want = oracleFixed(a, fp, zp, d.QMin(), d.QMax())
					} else {
						p := float32(float64(float32(a)) * float64(m)) // exact product, one rounding
						v := math.RoundToEven(float64(p)) + float64(zp)
						want = int32(math.Max(float64(d.QMin()), math.Min(float64(d.QMax()), v)))
					}
					if y.At(i) != want {
						t.Fatalf("%v m %g fixed %v acc %d: got %d, oracle %d", d, m, fixed, a, y.At(i), want)
					}
				}
			}
		}
	}
}

// TestReferenceGemmOracle checks random GEMMs against a plain int64 triple
// loop, and AvgPool against exact rational rounding.
func TestReferenceGemmOracle(t *testing.T) {
	e := refEngine(t)
	r := rand.New(rand.NewPCG(11, 12))
	for it := 0; it < 30; it++ {
		M, K, N := 1+r.IntN(9), 1+r.IntN(40), 1+r.IntN(9)
		dp := dtypePairs[it%len(dtypePairs)]
		ap := qtensor.TensorParams(1, randZP(r, dp[0]))
		bp := qtensor.TensorParams(1, randZP(r, dp[1]))
		a, b := randQ(r, dp[0], []int{M, K}, ap), randQ(r, dp[1], []int{K, N}, bp)
		y := run1(t, e, func(bt *engine.Batch) (*engine.Tensor, error) {
			return bt.Gemm(upload(t, e, a), upload(t, e, b), engine.GemmOptions{})
		})
		for m := range M {
			for n := range N {
				var s int64
				for k := range K {
					s += int64(a.At(m*K+k)-ap.ZeroPoints[0]) * int64(b.At(k*N+n)-bp.ZeroPoints[0])
				}
				if int64(y.At(m*N+n)) != s {
					t.Fatalf("%v: [%d %d] got %d, want %d", dp, m, n, y.At(m*N+n), s)
				}
			}
		}
	}
	// B stored [N][K] (GemmOptions.TransposeB), per output channel: B[k][n] = bt[n*K+k].
	for it := 0; it < 30; it++ {
		M, K, N := 1+r.IntN(9), 1+r.IntN(40), 1+r.IntN(9)
		dp := dtypePairs[it%len(dtypePairs)]
		ap := qtensor.TensorParams(1, randZP(r, dp[0]))
		bp := params(r, dp[1], []int{N, K}, qtensor.PerAxis, 0, 0)
		a, bt := randQ(r, dp[0], []int{M, K}, ap), randQ(r, dp[1], []int{N, K}, bp)
		y := run1(t, e, func(b *engine.Batch) (*engine.Tensor, error) {
			return b.Gemm(upload(t, e, a), upload(t, e, bt), engine.GemmOptions{TransposeB: true})
		})
		for m := range M {
			for n := range N {
				var s int64
				for k := range K {
					s += int64(a.At(m*K+k)-ap.ZeroPoints[0]) * int64(bt.At(n*K+k)-bp.ZeroPoints[n])
				}
				if int64(y.At(m*N+n)) != s {
					t.Fatalf("%v transposed B: [%d %d] got %d, want %d", dp, m, n, y.At(m*N+n), s)
				}
			}
		}
	}
	// AvgPool, one window over the whole input: rint(sum/count) half to even with big.Rat.
	for it := 0; it < 200; it++ {
		d := byteTypes[it%2]
		h, w := 1+r.IntN(4), 1+r.IntN(4)
		p := qtensor.TensorParams(1, randZP(r, d))
		x := quantT(d, []int{1, 1, h, w}, p, func(int) int32 { return p.ZeroPoints[0] + r.Int32N(9) - 4 })
		y := run1(t, e, func(b *engine.Batch) (*engine.Tensor, error) {
			return b.AvgPool(upload(t, e, x), engine.PoolOptions{Kernel: []int{h, w}})
		})
		var sum int64
		for i := range h * w {
			sum += int64(x.At(i) - p.ZeroPoints[0])
		}
		q := new(big.Rat).SetFrac64(sum, int64(h*w))
		fl := new(big.Int).Div(q.Num(), q.Denom()) // floor
		frac := new(big.Rat).Sub(q, new(big.Rat).SetInt(fl))
		switch c := frac.Cmp(big.NewRat(1, 2)); {
		case c > 0, c == 0 && fl.Bit(0) == 1:
			fl.Add(fl, big.NewInt(1))
		}
		want := max(int64(d.QMin()), min(int64(d.QMax()), fl.Int64()+int64(p.ZeroPoints[0])))
		if int64(y.At(0)) != want {
			t.Fatalf("avg of %v (zp %d): got %d, want %d", x.Int32s(), p.ZeroPoints[0], y.At(0), want)
		}
	}
}
