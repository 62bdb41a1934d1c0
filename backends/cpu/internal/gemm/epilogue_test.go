package gemm

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// TestEpilogue checks the fused Requant and Float epilogues against
// qtensor's scalar formulas applied to the oracle's accumulators, including
// exact ties (multipliers 2^-k), saturation (huge multipliers) and a fused
// ReLU, with guard bytes around every output row.
func TestEpilogue(t *testing.T) {
	shapes := [][3]int{{1, 5, 1}, {7, 64, 17}, {13, 300, 129}, {6, 2100, 65}, {3, 4, 16}, {2, 8, 200}, {17, 33, 48}, {25, 40, 24}, {9, 2100, 32}, {1, 20, 12}, {14, 96, 96}}
	for _, impl := range isas() {
		withISA(t, impl)
		rng := rand.New(rand.NewSource(6))
		for _, s := range shapes {
			M, K, N := s[0], s[1], s[2]
			for v := 0; v < 4; v++ {
				for _, one := range []bool{false, true} {
					t.Run(fmt.Sprintf("%v/%dx%dx%d/v%d/one=%v", impl, M, K, N, v, one), func(t *testing.T) {
						epilogueCase(t, rng, M, K, N, v, one)
					})
				}
			}
		}
	}
}

// epilogueCase checks one fused epilogue against the qtensor formulas.
// With one set, the multipliers, scales and biases are one value passed
// as a slice of length 1 (the per-tensor form).
func epilogueCase(t *testing.T, rng *rand.Rand, M, K, N, variant int, one bool) {
	signed := variant%2 == 1
	a := make([]uint8, M*K)
	for i := range a {
		a[i] = uint8(rng.Intn(256))
	}
	b := make([]int8, K*N)
	for i := range b {
		b[i] = int8(rng.Intn(256))
	}
	aval := func(m, k int) int64 {
		if signed {
			return int64(int8(a[m*K+k]))
		}
		return int64(a[m*K+k])
	}
	want := naive(aval, b, M, K, N)
	pb, err := PackB(b, N, K, N)
	if err != nil {
		t.Fatal(err)
	}
	mult := make([]float32, N)
	scale := make([]float32, N)
	bias := make([]float32, N)
	for n := range mult {
		switch n % 5 {
		case 0:
			mult[n] = float32(math.Ldexp(1, -rng.Intn(12))) // exact ties
		case 1:
			mult[n] = 1e30 // saturates
		case 2:
			mult[n] = 1e-30
		default:
			mult[n] = float32(rng.Float64() * 1e-3)
		}
		scale[n] = float32(rng.NormFloat64() * 1e-4)
		bias[n] = float32(rng.NormFloat64())
	}
	// The slices the options get: all of them, or the first value only
	// with the reference's vectors made that value repeated.
	multArg, scaleArg, biasArg := mult, scale, bias
	if one {
		mult[0] = float32(rng.Float64() * 1e-3)
		for n := range N {
			mult[n], scale[n], bias[n] = mult[0], scale[0], bias[0]
		}
		multArg, scaleArg, biasArg = mult[:1], scale[:1], bias[:1]
	}
	ld := N + 3
	const guard = 7
	c := make([]int32, M*N)
	opt := &Options{Threads: 1 + variant%2}
	var zp, qmin, qmax int32
	var outU8 []uint8
	var outS8 []int8
	var outF []float32
	switch variant {
	case 0, 1: // u8 output, then s8 output with fused ReLU
		if variant == 0 {
			zp, qmin, qmax = 3, 0, 255
			outU8 = make([]uint8, guard+(M-1)*ld+N+guard)
			for i := range outU8 {
				outU8[i] = 0xa5
			}
			opt.Requant = &Requant{Mult: multArg, ZP: zp, QMin: qmin, QMax: qmax, OutU8: outU8[guard : len(outU8)-guard], LdOut: ld}
		} else {
			zp, qmin, qmax = -5, -5, 127
			outS8 = make([]int8, guard+(M-1)*ld+N+guard)
			for i := range outS8 {
				outS8[i] = -0x5b
			}
			opt.Requant = &Requant{Mult: multArg, ZP: zp, QMin: qmin, QMax: qmax, OutS8: outS8[guard : len(outS8)-guard], LdOut: ld}
		}
	default: // float, with and without bias
		outF = make([]float32, guard+(M-1)*ld+N+guard)
		for i := range outF {
			outF[i] = -7.25
		}
		fo := &FloatOut{Scale: scaleArg, Out: outF[guard : len(outF)-guard], LdOut: ld}
		if variant == 2 {
			fo.Bias = biasArg
		} else {
			bias = make([]float32, N)
		}
		opt.Float = fo
	}
	if signed {
		ai := make([]int8, len(a))
		for i, v := range a {
			ai[i] = int8(v)
		}
		err = GemmS8S8(c, N, ai, K, M, pb, opt)
	} else {
		err = GemmU8S8(c, N, a, K, M, pb, opt)
	}
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	size := guard + (M-1)*ld + N + guard
	for i := 0; i < size; i++ {
		r := i - guard
		inside := r >= 0 && i < size-guard && r%ld < N
		var acc int32
		if inside {
			acc = int32(want[(r/ld)*N+r%ld])
			// With an epilogue, C's contents are unspecified (the VNNI
			// kernels write the output from the registers and skip C).
			if opt.Requant == nil && opt.Float == nil && c[(r/ld)*N+r%ld] != acc {
				t.Fatalf("C[%d][%d] = %d, want %d", r/ld, r%ld, c[(r/ld)*N+r%ld], acc)
			}
		}
		var got, exp string
		switch {
		case outU8 != nil:
			w := uint8(0xa5)
			if inside {
				w = uint8(qtensor.Requantize(acc, mult[r%ld], zp, qmin, qmax))
			}
			got, exp = fmt.Sprint(outU8[i]), fmt.Sprint(w)
		case outS8 != nil:
			w := int8(-0x5b)
			if inside {
				w = int8(qtensor.Requantize(acc, mult[r%ld], zp, qmin, qmax))
			}
			got, exp = fmt.Sprint(outS8[i]), fmt.Sprint(w)
		default:
			w := float32(-7.25)
			if inside {
				w = qtensor.FloatOutput(acc, scale[r%ld], bias[r%ld])
			}
			got, exp = fmt.Sprint(math.Float32bits(outF[i])), fmt.Sprint(math.Float32bits(w))
		}
		if got != exp {
			if bad++; bad <= 5 {
				t.Errorf("out[%d] = %s, want %s", i, got, exp)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d wrong outputs", bad)
	}
}

func TestEpilogueErrors(t *testing.T) {
	pb, err := PackB(make([]int8, 12), 4, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	a := make([]uint8, 6)
	c := make([]int32, 8)
	m1 := []float32{1, 1, 1, 1}
	cases := map[string]*Options{
		"both":       {Requant: &Requant{Mult: m1, QMax: 255, OutU8: make([]uint8, 8), LdOut: 4}, Float: &FloatOut{Scale: m1, Out: make([]float32, 8), LdOut: 4}},
		"no out":     {Requant: &Requant{Mult: m1, QMax: 255, LdOut: 4}},
		"two outs":   {Requant: &Requant{Mult: m1, QMax: 127, OutU8: make([]uint8, 8), OutS8: make([]int8, 8), LdOut: 4}},
		"short out":  {Requant: &Requant{Mult: m1, QMax: 255, OutU8: make([]uint8, 7), LdOut: 4}},
		"ld<N":       {Requant: &Requant{Mult: m1, QMax: 255, OutU8: make([]uint8, 8), LdOut: 3}},
		"s8 range":   {Requant: &Requant{Mult: m1, QMax: 255, OutS8: make([]int8, 8), LdOut: 4}},
		"qmin>qmax":  {Requant: &Requant{Mult: m1, QMin: 9, QMax: 8, OutU8: make([]uint8, 8), LdOut: 4}},
		"short mult": {Requant: &Requant{Mult: m1[:3], QMax: 255, OutU8: make([]uint8, 8), LdOut: 4}},
		"short fout": {Float: &FloatOut{Scale: m1, Out: make([]float32, 7), LdOut: 4}},
		"short bias": {Float: &FloatOut{Scale: m1, Bias: m1[:2], Out: make([]float32, 8), LdOut: 4}},
		"no mult":    {Requant: &Requant{Mult: m1[:0], QMax: 255, OutU8: make([]uint8, 8), LdOut: 4}},
		"no scale":   {Float: &FloatOut{Scale: m1[:0], Out: make([]float32, 8), LdOut: 4}},
		"two scales": {Float: &FloatOut{Scale: m1[:2], Out: make([]float32, 8), LdOut: 4}},
	}
	for name, opt := range cases {
		if err := GemmU8S8(c, 4, a, 3, 2, pb, opt); !errors.Is(err, ErrSize) {
			t.Errorf("%s: err = %v, want ErrSize", name, err)
		}
	}
	for _, m := range []float32{0, -1, float32(math.NaN()), float32(math.Inf(1)), 1e-40} {
		for _, mult := range [][]float32{{1, m, 1, 1}, {m}} {
			opt := &Options{Requant: &Requant{Mult: mult, QMax: 255, OutU8: make([]uint8, 8), LdOut: 4}}
			if err := GemmU8S8(c, 4, a, 3, 2, pb, opt); !errors.Is(err, qtensor.ErrParams) {
				t.Errorf("mult %v: err = %v, want qtensor.ErrParams", mult, err)
			}
		}
	}
}
