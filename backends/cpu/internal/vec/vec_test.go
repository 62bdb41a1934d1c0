package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
	"github.com/qgpu/qgpu/qtensor"
)

var lengths = []int{0, 1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 257, 1000, 4099}

// isas returns the implementations to test: every supported one.
func isas() []isa.ISA {
	var r []isa.ISA
	for _, i := range []isa.ISA{isa.Generic, isa.AVX2, isa.AVX512} {
		if Supported(i) {
			r = append(r, i)
		}
	}
	return r
}

// forEachISA runs f once per supported implementation.
func forEachISA(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, impl := range isas() {
		t.Run(impl.String(), func(t *testing.T) {
			restore, err := SetISA(impl)
			if err != nil {
				t.Fatal(err)
			}
			defer restore()
			f(t)
		})
	}
}

func TestISASelection(t *testing.T) {
	if !Supported(isa.Generic) {
		t.Fatal("Generic must always be supported")
	}
	if Supported(isa.AVX512) && !Supported(isa.AVX2) {
		t.Fatal("AVX-512 without AVX2")
	}
	if _, err := SetISA(isa.ISA(99)); err == nil {
		t.Fatal("SetISA(99) succeeded")
	}
	if Current() != Detected() {
		t.Fatalf("Current %v != Detected %v at start", Current(), Detected())
	}
	restore, err := SetISA(isa.Generic)
	if err != nil {
		t.Fatal(err)
	}
	if Current() != isa.Generic {
		t.Fatalf("Current %v after SetISA(Generic)", Current())
	}
	restore()
	if Current() != Detected() {
		t.Fatalf("restore left %v", Current())
	}
	t.Logf("detected %v", Detected())
}

const guardLen = 80

// guarded returns an n-element slice inside a larger buffer whose other
// elements hold fill, and a check that they still do.
func guarded[T comparable](n int, fill T) ([]T, func(t *testing.T)) {
	buf := make([]T, n+2*guardLen)
	for i := range buf {
		buf[i] = fill
	}
	check := func(t *testing.T) {
		t.Helper()
		for i := range guardLen {
			if buf[i] != fill || buf[guardLen+n+i] != fill {
				t.Fatalf("write outside dst (n=%d)", n)
			}
		}
	}
	return buf[guardLen : guardLen+n], check
}

// specials are values every float kernel must get right.
func specials() []float32 {
	nan := func(b uint32) float32 { return math.Float32frombits(b) }
	return []float32{
		0, float32(math.Copysign(0, -1)), 1, -1, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5,
		float32(math.Inf(1)), float32(math.Inf(-1)),
		nan(0x7fc00000), nan(0xffc00000), nan(0x7f800001), nan(0xff800001), nan(0x7fffffff), nan(0xffffffff), nan(0x7fa5a5a5),
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 0x1p-126, -0x1p-126, 0x1.fffffcp-127, -0x1.fffffcp-127,
		math.MaxFloat32, -math.MaxFloat32, 3e38, -3e38, 1e30, -1e30, 2147483648, -2147483648, 2147483520, 16777217, -16777217,
	}
}

// quantInputs returns adversarial inputs for scale s: exact ties
// (k + 0.5) * s where representable, their float neighbours, and specials,
// followed by random values.
func quantInputs(rng *rand.Rand, s float32, n int) []float32 {
	var v []float32
	for k := -300; k <= 300; k++ {
		x64 := (float64(k) + 0.5) * float64(s)
		x := float32(x64)
		if float64(x) == x64 && !math.IsInf(x64, 0) {
			v = append(v, x, math.Nextafter32(x, float32(math.Inf(1))), math.Nextafter32(x, float32(math.Inf(-1))))
		}
		y := float32(float64(k) * float64(s))
		v = append(v, y)
	}
	v = append(v, specials()...)
	out := make([]float32, n)
	for i := range out {
		switch {
		case i < len(v) && n >= 1000:
			out[i] = v[i]
		case rng.IntN(4) == 0:
			out[i] = v[rng.IntN(len(v))]
		case rng.IntN(3) == 0:
			out[i] = math.Float32frombits(rng.Uint32())
		default:
			out[i] = float32(rng.NormFloat64()*200) * s
		}
	}
	return out
}

type qrange struct{ qmin, qmax int32 }

var qranges = []qrange{{-128, 127}, {0, 255}, {-64, 63}, {0, 127}}

func zeroPoints(r qrange) []int32 {
	return []int32{r.qmin, r.qmax, (r.qmin + r.qmax) / 2, r.qmin + 3}
}

var quantScales = []float32{0x1p-125, 0x1p125, 1, 0.1, 1.0 / 3, 0.0078125, 3.7e-3, 2.5e7, 0x1.fffffep-20, 1e-30}

func TestQuantizePerTensor(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		scales := append([]float32(nil), quantScales...)
		for range 4 {
			scales = append(scales, float32(math.Ldexp(1+rng.Float64(), rng.IntN(60)-40)))
		}
		for _, torch := range []bool{false, true} {
			for _, s := range scales {
				for _, r := range qranges {
					for _, zp := range zeroPoints(r) {
						for _, n := range lengths {
							src := quantInputs(rng, s, n)
							dst, check := guarded[byte](n, 0xA5)
							f, want := QuantizePerTensor, qtensor.Quantize
							if torch {
								f, want = QuantizeTorchPerTensor, qtensor.QuantizeTorch
							}
							// Odd lengths store non-temporally.
							f(dst, src, s, zp, r.qmin, r.qmax, n%2 == 1)
							check(t)
							for i, x := range src {
								if w := byte(want(x, s, zp, r.qmin, r.qmax)); dst[i] != w {
									t.Fatalf("torch=%v scale=%g zp=%d range=%v n=%d: x=%g (%#x) -> %d, want %d",
										torch, s, zp, r, n, x, math.Float32bits(x), int8(dst[i]), int8(w))
								}
							}
						}
					}
				}
			}
		}
	})
}

// TestQuantizeOddParams covers parameters outside the engine's validated
// domain, which must take the exact fallback.
func TestQuantizeOddParams(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		src := quantInputs(rng, 1, 300)
		for _, s := range []float32{0, float32(math.Inf(1)), float32(math.NaN()), -0.5, 1e-40, math.SmallestNonzeroFloat32} {
			for _, p := range []struct{ zp, qmin, qmax int32 }{{0, -128, 127}, {0, 10, -10}, {300, 0, 255}} {
				dst := make([]byte, len(src))
				QuantizePerTensor(dst, src, s, p.zp, p.qmin, p.qmax, false)
				dt := make([]byte, len(src))
				QuantizeTorchPerTensor(dt, src, s, p.zp, p.qmin, p.qmax, true)
				for i, x := range src {
					if w := byte(qtensor.Quantize(x, s, p.zp, p.qmin, p.qmax)); dst[i] != w {
						t.Fatalf("scale=%g %+v x=%g: %d want %d", s, p, x, dst[i], w)
					}
					if w := byte(qtensor.QuantizeTorch(x, s, p.zp, p.qmin, p.qmax)); dt[i] != w {
						t.Fatalf("torch scale=%g %+v x=%g: %d want %d", s, p, x, dt[i], w)
					}
				}
			}
		}
	})
}

// TestQuantizeByHand checks a few results derived by hand, independently
// of qtensor.
func TestQuantizeByHand(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	src := []float32{0.5, 1.5, 2.5, -0.5, -1.5, 0.49999997, nan, inf, -inf, 1000, -1000, 3, 0x1p-149}
	want := []int8{0, 2, 2, 0, -2, 0, 0, 127, -128, 127, -128, 3, 0}
	forEachISA(t, func(t *testing.T) {
		for _, n := range []int{len(src), 16 + len(src)} {
			in := make([]float32, n)
			copy(in[n-len(src):], src)
			dst := make([]byte, n)
			QuantizePerTensor(dst, in, 1, 0, -128, 127, false)
			for i, w := range want {
				if got := int8(dst[n-len(src)+i]); got != w {
					t.Errorf("n=%d Quantize(%g, 1) = %d, want %d", n, src[i], got, w)
				}
			}
		}
		// uint8 with zero point 128, scale 0.5: NaN -> 128, 1.25/0.5 = 2.5 -> 2 -> 130.
		dst := make([]byte, 3)
		QuantizePerTensor(dst, []float32{nan, 1.25, -1000}, 0.5, 128, 0, 255, false)
		if dst[0] != 128 || dst[1] != 130 || dst[2] != 0 {
			t.Errorf("uint8 case: got %v, want [128 130 0]", dst)
		}
	})
}

func TestDequantizePerTensor(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		scales := append([]float32{float32(math.NaN()), float32(math.Inf(1)), 1e-45, -2, 0, math.MaxFloat32}, quantScales...)
		for _, signed := range []bool{true, false} {
			for _, s := range scales {
				for _, zp := range []int32{-128, 0, 127, 255, 3} {
					for _, n := range lengths {
						src := make([]byte, n)
						for i := range src {
							src[i] = byte(rng.Uint32())
							if i < 256 && n >= 1000 {
								src[i] = byte(i)
							}
						}
						dst, check := guarded[uint32](n, 0xDEADBEEF)
						// Odd lengths store non-temporally.
						DequantizePerTensor(f32s(dst), src, signed, s, zp, n%2 == 1)
						check(t)
						for i, b := range src {
							q := int32(b)
							if signed {
								q = int32(int8(b))
							}
							w := math.Float32bits(qtensor.Dequantize(q, zp, s))
							if dst[i] != w {
								t.Fatalf("signed=%v scale=%g zp=%d n=%d q=%d: %#x want %#x", signed, s, zp, n, q, dst[i], w)
							}
						}
					}
				}
			}
		}
	})
}

func TestPerAxis(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		scales := []float32{0.1, 0x1p-125, 0x1p125, 1.0 / 3}
		zps := []int32{-128, 127, 0, 5}
		for _, inner := range []int{1, 5, 16, 33, 100} {
			for _, first := range []int{0, 3, 17, 1000} {
				for _, n := range lengths {
					src := quantInputs(rng, 0.1, n)
					for _, torch := range []bool{false, true} {
						dst, check := guarded[byte](n, 0x5A)
						f, want := QuantizePerAxis, qtensor.Quantize
						if torch {
							f, want = QuantizeTorchPerAxis, qtensor.QuantizeTorch
						}
						f(dst, src, first, scales, zps, inner, -128, 127, n%2 == 1)
						check(t)
						for i, x := range src {
							c := ((first + i) / inner) % len(scales)
							if w := byte(want(x, scales[c], zps[c], -128, 127)); dst[i] != w {
								t.Fatalf("torch=%v inner=%d first=%d n=%d i=%d: %d want %d", torch, inner, first, n, i, dst[i], w)
							}
						}
					}
					q := make([]byte, n)
					for i := range q {
						q[i] = byte(rng.Uint32())
					}
					out, check := guarded[uint32](n, 7)
					DequantizePerAxis(f32s(out), q, true, first, scales, zps, inner, n%2 == 1)
					check(t)
					for i, b := range q {
						c := ((first + i) / inner) % len(scales)
						if w := math.Float32bits(qtensor.Dequantize(int32(int8(b)), zps[c], scales[c])); out[i] != w {
							t.Fatalf("dequant inner=%d first=%d n=%d i=%d: %#x want %#x", inner, first, n, i, out[i], w)
						}
					}
				}
			}
		}
	})
}

func TestPerAxisPanics(t *testing.T) {
	for _, c := range []struct {
		scales []float32
		zps    []int32
		first  int
		inner  int
	}{{nil, nil, 0, 1}, {[]float32{1}, []int32{0, 1}, 0, 1}, {[]float32{1}, []int32{0}, 0, 0}, {[]float32{1}, []int32{0}, -1, 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic for %+v", c)
				}
			}()
			QuantizePerAxis(make([]byte, 4), make([]float32, 4), c.first, c.scales, c.zps, c.inner, -128, 127, false)
		}()
	}
}

func TestRequantizeInt32(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		ms := []float32{0.5, 0.25, 0x1p-10, 0x1p-31, 1.0 / 3, 3.1e-4, 1, 7, 1e30, 0x1p-126, -0.5, 0,
			float32(math.NaN()), float32(math.Inf(1))}
		for range 4 {
			ms = append(ms, float32(math.Ldexp(1+rng.Float64(), -rng.IntN(30))))
		}
		for _, m := range ms {
			for _, r := range qranges {
				for _, zp := range zeroPoints(r) {
					for _, n := range lengths {
						src := accs(rng, n)
						dst, check := guarded[byte](n, 0xA5)
						RequantizeInt32(dst, src, m, zp, r.qmin, r.qmax)
						check(t)
						for i, acc := range src {
							if w := byte(qtensor.Requantize(acc, m, zp, r.qmin, r.qmax)); dst[i] != w {
								t.Fatalf("m=%g zp=%d range=%v n=%d acc=%d: %d want %d", m, zp, r, n, acc, dst[i], w)
							}
						}
					}
				}
			}
		}
	})
}

// accs returns n int32 accumulators: random, extremes and small values.
func accs(rng *rand.Rand, n int) []int32 {
	src := make([]int32, n)
	for i := range src {
		switch rng.IntN(5) {
		case 0:
			src[i] = int32(rng.Uint32())
		case 1:
			src[i] = []int32{math.MinInt32, math.MaxInt32, 0, 1, -1, 16777217, -16777217}[rng.IntN(7)]
		default:
			src[i] = int32(rng.IntN(1<<12)) - 1<<11
		}
	}
	return src
}

// TestRequantizeCols checks the per-column requantization of GEMM rows
// against qtensor.Requantize: multipliers with exact ties, saturating and
// tiny ones mixed in one row.
func TestRequantizeCols(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(41, 42))
		for _, r := range qranges {
			for _, zp := range zeroPoints(r) {
				for _, n := range lengths {
					src := accs(rng, n)
					mult := make([]float32, n)
					for i := range mult {
						mult[i] = []float32{0.5, 0x1p-10, 1.0 / 3, 1e30, 0x1p-126, 7, float32(rng.Float64() * 1e-3)}[rng.IntN(7)]
					}
					dst, check := guarded[byte](n, 0xA5)
					RequantizeCols(dst, src, mult, zp, r.qmin, r.qmax)
					check(t)
					for i, acc := range src {
						if w := byte(qtensor.Requantize(acc, mult[i], zp, r.qmin, r.qmax)); dst[i] != w {
							t.Fatalf("zp=%d range=%v n=%d i=%d acc=%d m=%g: %d want %d", zp, r, n, i, acc, mult[i], dst[i], w)
						}
					}
				}
			}
		}
	})
}

// TestFloatCols checks the per-column float output of GEMM rows against
// qtensor.FloatOutput bit for bit (the product rounded before the add).
func TestFloatCols(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(43, 44))
		for _, n := range lengths {
			src := accs(rng, n)
			scale, bias := make([]float32, n), make([]float32, n)
			for i := range scale {
				scale[i] = float32(rng.NormFloat64() * 1e-3)
				bias[i] = float32(rng.NormFloat64())
				if i%5 == 0 {
					// float32(acc)*scale is inexact and near -bias:
					// an FMA would round differently.
					scale[i], bias[i] = 1.0/3, -float32(src[i])/3
				}
			}
			dst, check := guarded[uint32](n, 0xDEADBEEF)
			FloatCols(f32s(dst), src, scale, bias)
			check(t)
			for i, acc := range src {
				if w := math.Float32bits(qtensor.FloatOutput(acc, scale[i], bias[i])); dst[i] != w {
					t.Fatalf("n=%d i=%d acc=%d: %#x want %#x", n, i, acc, dst[i], w)
				}
			}
		}
	})
}

// minMaxOracle is backend.MinMax's definition for one channel.
func minMaxOracle(src []float32) [6]uint32 {
	lo, hi := uint32(math.MaxUint32), uint32(0)
	var fin, nan, pinf, ninf uint32
	for _, v := range src {
		switch {
		case v != v:
			nan++
		case v > math.MaxFloat32:
			pinf++
		case v < -math.MaxFloat32:
			ninf++
		default:
			fin++
			lo = min(lo, qtensor.MinMaxKey(v))
			hi = max(hi, qtensor.MinMaxKey(v))
		}
	}
	return [6]uint32{lo, hi, fin, nan, pinf, ninf}
}

func TestMinMax(t *testing.T) {
	negz := float32(math.Copysign(0, -1))
	sp := specials()
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, n := range lengths {
			for trial := range 12 {
				src := make([]float32, n)
				for i := range src {
					switch trial {
					case 0: // random normal data
						src[i] = float32(rng.NormFloat64())
					case 1: // all -0
						src[i] = negz
					case 2: // -0 and positives
						src[i] = []float32{negz, 1, 2}[rng.IntN(3)]
					case 3: // -0 and negatives
						src[i] = []float32{negz, -1, -2}[rng.IntN(3)]
					case 4: // only NaN and infinities
						src[i] = sp[10+rng.IntN(9)]
					case 5: // random bits
						src[i] = math.Float32frombits(rng.Uint32())
					case 6: // -0 and +0
						src[i] = []float32{negz, 0}[rng.IntN(2)]
					case 7: // one non-finite value at the end
						src[i] = float32(i)
						if i == n-1 {
							src[i] = float32(math.NaN())
						}
					default:
						src[i] = sp[rng.IntN(len(sp))]
					}
				}
				got := MinMax(src).Words()
				if want := minMaxOracle(src); got != want {
					t.Fatalf("n=%d trial=%d: got %#x want %#x", n, trial, got, want)
				}
				// Merging two halves gives the whole.
				h := n / 3
				if got := MinMax(src[:h]).Merge(MinMax(src[h:])).Words(); got != minMaxOracle(src) {
					t.Fatalf("n=%d trial=%d: merged halves %#x", n, trial, got)
				}
			}
		}
	})
}

// TestMinMaxByHand checks results derived by hand.
func TestMinMaxByHand(t *testing.T) {
	negz := float32(math.Copysign(0, -1))
	forEachISA(t, func(t *testing.T) {
		src := make([]float32, 40)
		src[3] = -2
		src[20] = negz
		src[30] = float32(math.Inf(1))
		src[31] = float32(math.NaN())
		src[39] = 5
		st := MinMax(src)
		// key(-2) = ^0xc0000000 = 0x3fffffff; key(5) = 0x40a00000 | 1<<31.
		if st.Lo != 0x3fffffff || st.Hi != 0xc0a00000 || st.Finite != 38 || st.NaN != 1 || st.PInf != 1 || st.NInf != 0 {
			t.Errorf("got %+v", st)
		}
		st = MinMax([]float32{negz, negz})
		if st.Lo != 0x80000000 || st.Hi != 0x80000000 || st.Finite != 2 {
			t.Errorf("-0 only: got %+v", st)
		}
		if st := MinMax(nil); st != EmptyMinMax || st.Lo != 0xffffffff || st.Hi != 0 {
			t.Errorf("empty: got %+v", st)
		}
	})
}

func TestHistogram(t *testing.T) {
	sp := specials()
	type rng2 struct{ lo, hi float32 }
	ranges := []rng2{{-1, 1}, {0, 1e-38}, {-1.5e38, 1.5e38}, {-1e38, 3e38}, {-3e38, 3e38}, {0.1, 0.30000001}, {-5, -4.5}, {1, math.Nextafter32(1, 2)}}
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		for _, bins := range []int{1, 2, 7, 100, 2048} {
			for _, r := range ranges {
				edge := []float32{r.lo, r.hi, math.Nextafter32(r.lo, -math.MaxFloat32), math.Nextafter32(r.hi, math.MaxFloat32),
					math.Nextafter32(r.lo, r.hi), math.Nextafter32(r.hi, r.lo)}
				s := qtensor.HistScale(bins, r.lo, r.hi)
				if s > math.MaxFloat32 || s == 0 {
					// qtensor.HistBin is undefined when hi-lo or s overflows:
					// (x-lo)*s can be Inf*0 or 0*Inf = NaN, an invalid index.
					continue
				}
				// bin edges lo + k/s and their neighbours
				for k := range min(bins, 50) {
					e := r.lo + float32(k)/s
					edge = append(edge, e, math.Nextafter32(e, r.hi), math.Nextafter32(e, r.lo))
				}
				for _, n := range lengths {
					src := make([]float32, n)
					for i := range src {
						switch rng.IntN(4) {
						case 0:
							src[i] = edge[rng.IntN(len(edge))]
						case 1:
							src[i] = sp[rng.IntN(len(sp))]
						default:
							u := float32(rng.Float64())
							src[i] = r.lo + u*(r.hi-r.lo)
							if r.hi-r.lo > math.MaxFloat32 {
								src[i] = r.lo*(1-u) + r.hi*u
							}
						}
					}
					counts, check := guarded[uint32](bins+3, 99)
					for i := range counts {
						counts[i] = uint32(i) // Histogram adds
					}
					Histogram(counts, src, r.lo, r.hi)
					check(t)
					want := make([]uint32, bins+3)
					for i := range want {
						want[i] = uint32(i)
					}
					for _, x := range src {
						b := qtensor.HistBin(x, r.lo, r.hi, s, bins)
						switch b {
						case -1:
							b = bins
						case -2:
							b = bins + 2
						case bins:
							b = bins + 1
						}
						want[b]++
					}
					for i := range want {
						if counts[i] != want[i] {
							t.Fatalf("bins=%d range=%v n=%d: counts[%d]=%d want %d", bins, r, n, i, counts[i], want[i])
						}
					}
				}
			}
		}
	})
}

// TestHistogramByHand checks counts derived by hand: 4 bins over [0, 4].
func TestHistogramByHand(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		src := []float32{0, 0.999, 1, 3.5, 4, -0.001, 4.001, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 2, 2,
			0, 0, 0, 0, 1, 1, 1, 1}
		counts := make([]uint32, 7)
		Histogram(counts, src, 0, 4)
		// s = 4/4 = 1. bin0: 0, 0.999 and four 0s; bin1: 1 and four 1s;
		// bin2: 2, 2; bin3: 3.5 and 4 (hi goes to the last bin); below:
		// -0.001, -Inf; above: 4.001, +Inf; NaN: 1.
		want := []uint32{6, 5, 2, 2, 2, 2, 1}
		for i := range want {
			if counts[i] != want[i] {
				t.Fatalf("counts %v, want %v", counts, want)
			}
		}
	})
}

// TestHistogramSubHistograms covers the interleaved sub-histogram path
// with runs of one value (which all lanes hit).
func TestHistogramSubHistograms(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		for _, n := range []int{4096, 4099, 100000} {
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(i%7) * 0.1
			}
			counts := make([]uint32, 4+3)
			Histogram(counts, src, 0, 0.7)
			var total uint32
			for _, c := range counts {
				total += c
			}
			if total != uint32(n) {
				t.Fatalf("n=%d total %d", n, total)
			}
			want := make([]uint32, 7)
			s := qtensor.HistScale(4, 0, 0.7)
			for _, x := range src {
				want[qtensor.HistBin(x, 0, 0.7, s, 4)]++
			}
			for i := range want {
				if counts[i] != want[i] {
					t.Fatalf("n=%d counts %v want %v", n, counts, want)
				}
			}
		}
	})
}

// f32s views u as float32s, so float outputs can be guarded and compared
// bit for bit (NaN payloads included).
func f32s(u []uint32) []float32 {
	if len(u) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&u[0])), len(u))
}

func ExampleQuantizePerTensor() {
	dst := make([]byte, 4)
	QuantizePerTensor(dst, []float32{0.25, 0.75, float32(math.NaN()), 100}, 0.5, 10, 0, 255, false)
	fmt.Println(dst)
	// Output: [10 12 10 210]
}

// TestDequantizeLarge covers the non-temporal store path on a large
// output and on outputs shorter than one aligned block, with destinations
// at every float offset from a 64-byte boundary, so that the aligned head,
// the non-temporal middle and the tail all run.
func TestDequantizeLarge(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(15, 16))
		for _, n := range []int{1<<18 + 37, 3, 20, 50} {
			src := make([]byte, n+16)
			for i := range src {
				src[i] = byte(rng.Uint32())
			}
			for _, signed := range []bool{true, false} {
				for off := range 17 {
					buf, check := guarded[uint32](n+16, 0xDEADBEEF)
					dst := f32s(buf)[off : off+n]
					DequantizePerTensor(dst, src[off:off+n], signed, 0.0625, 3, true)
					check(t)
					for i := range buf[:off] {
						if buf[i] != 0xDEADBEEF {
							t.Fatalf("off=%d: write before dst at %d", off, i)
						}
					}
					for i := off + n; i < len(buf); i++ {
						if buf[i] != 0xDEADBEEF {
							t.Fatalf("off=%d: write after dst at %d", off, i)
						}
					}
					for i, b := range src[off : off+n] {
						q := int32(b)
						if signed {
							q = int32(int8(b))
						}
						if w := qtensor.Dequantize(q, 3, 0.0625); dst[i] != w {
							t.Fatalf("signed=%v off=%d i=%d: %g want %g", signed, off, i, dst[i], w)
						}
					}
				}
			}
		}
	})
}

// TestQuantizeLarge covers the quantize kernels' non-temporal path on a
// large output and on short ones, with destinations at every byte offset
// 0..64 from a 64-byte boundary, so that the head, the non-temporal blocks
// of 64 and the tail all run; inputs include the special values. Both
// roundings, against the qtensor formulas.
func TestQuantizeLarge(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(17, 18))
		for _, n := range []int{1<<20 + 101, 3, 70, 200} {
			src := make([]float32, n+64)
			sp := specials()
			for i := range src {
				if i%97 == 0 {
					src[i] = sp[i%len(sp)]
				} else {
					src[i] = float32(rng.NormFloat64() * 60)
				}
			}
			for _, torch := range []bool{false, true} {
				for _, off := range []int{0, 1, 17, 63, 64} {
					buf, check := guarded[byte](n+64, 0xA5)
					dst := buf[off : off+n]
					in := src[off : off+n]
					if torch {
						QuantizeTorchPerTensor(dst, in, 0.37, 7, -128, 127, true)
					} else {
						QuantizePerTensor(dst, in, 0.37, 7, -128, 127, true)
					}
					check(t)
					for i := range buf[:off] {
						if buf[i] != 0xA5 {
							t.Fatalf("off=%d: write before dst at %d", off, i)
						}
					}
					for i := off + n; i < len(buf); i++ {
						if buf[i] != 0xA5 {
							t.Fatalf("off=%d: write after dst at %d", off, i)
						}
					}
					for i, x := range in {
						w := qtensor.Quantize(x, 0.37, 7, -128, 127)
						if torch {
							w = qtensor.QuantizeTorch(x, 0.37, 7, -128, 127)
						}
						if dst[i] != byte(w) {
							t.Fatalf("torch=%v off=%d i=%d x=%g: %d want %d", torch, off, i, x, dst[i], byte(w))
						}
					}
				}
			}
		}
	})
}

func TestParseCacheSize(t *testing.T) {
	for s, want := range map[string]int{
		"32768K": 32 << 20, "1024K": 1 << 20, "48M": 48 << 20, "1G": 1 << 30, "512": 512,
		"": 0, "K": 0, "-4K": 0, "0K": 0, "12X": 0, "99999999999G": 0,
	} {
		if got := parseCacheSize(s); got != want {
			t.Errorf("parseCacheSize(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestLargestCache reads a sysfs-like tree: the largest Data or Unified
// cache counts, instruction caches and broken entries do not.
func TestLargestCache(t *testing.T) {
	dir := t.TempDir()
	for i, c := range [][2]string{{"Data", "48K"}, {"Instruction", "64M"}, {"Unified", "2048K"}, {"Unified", "36M"}, {"Unified", "junk"}} {
		d := filepath.Join(dir, fmt.Sprintf("index%d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, v := range map[string]string{"type": c[0] + "\n", "size": c[1] + "\n"} {
			if err := os.WriteFile(filepath.Join(d, name), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "index9"), 0o755); err != nil { // no files
		t.Fatal(err)
	}
	if got := largestCache(dir); got != 36<<20 {
		t.Errorf("largestCache = %d, want %d", got, 36<<20)
	}
	if got := largestCache(filepath.Join(dir, "missing")); got != 0 {
		t.Errorf("largestCache(missing) = %d, want 0", got)
	}
	llc := lastLevelCache()
	if llc <= 0 {
		t.Fatalf("lastLevelCache() = %d", llc)
	}
	// Dequantize streams once its 5 bytes per element fill the cache,
	// quantize from half the cache.
	d := (llc + 4) / 5
	if StreamDequantize(d-1) || !StreamDequantize(d) {
		t.Errorf("llc %d: StreamDequantize(%d, %d) = %v, %v", llc, d-1, d, StreamDequantize(d-1), StreamDequantize(d))
	}
	q := (llc + 9) / 10
	if StreamQuantize(q-1) || !StreamQuantize(q) {
		t.Errorf("llc %d: StreamQuantize(%d, %d) = %v, %v", llc, q-1, q, StreamQuantize(q-1), StreamQuantize(q))
	}
}
