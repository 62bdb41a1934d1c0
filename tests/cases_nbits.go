package tests

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// MatMulNBits cases: every weight type and block size, K a multiple of the
// block or not (B's rows padded to whole blocks, the padding holding random
// values that must be ignored, or not padded), odd N, zero points at the
// symmetric value or random per block, both activation modes, float32,
// biased and quantized outputs, extreme scales and special activations.

// nbitsTypes are the weight types of MatMulNBits.
var nbitsTypes = []qtensor.DType{qtensor.Uint4, qtensor.Int4, qtensor.Uint8, qtensor.Int8}

// nbitsBlocks are the block sizes MatMulNBits accepts.
var nbitsBlocks = []int{16, 32, 64, 128, 256}

type nbitsSpec struct {
	name    string
	d       qtensor.DType
	ashape  []int // A's shape, [..., K]
	N       int
	bs      int
	padded  bool // B's rows padded to whole blocks
	symZP   bool // zero points at the symmetric value (0, or the mid-point of unsigned types)
	int8    bool // int8 activations
	out     string
	actExp  int // activations in about [-2^actExp, 2^actExp]
	scaleLo int // weight scales 2^[scaleLo, scaleLo+2)
	special bool
	// flush: the case's exact outputs may include values below 2^-126
	flush bool
}

// nbitsAct returns an activation of magnitude about 2^e: mostly uniform,
// some exact zeros, and with special, values any device must treat alike
// (NaN, ±Inf, -0, denormals in the int8 mode whose quantization sends them
// to 0).
func nbitsAct(r *rand.Rand, e int, special, int8Mode bool) float32 {
	p := r.IntN(100)
	switch {
	case p < 4:
		return 0
	case p < 6:
		return negZero
	case special && p < 14:
		s := []float32{inf, -inf, nan}
		if int8Mode {
			s = append(s, 0x1p-149, -0x1p-130, 0x1p-127)
		}
		return s[r.IntN(len(s))]
	}
	v := float32(math.Ldexp(2*r.Float64()-1, e))
	if v != 0 && math.Abs(float64(v)) < math.Ldexp(1, e-40) {
		v = float32(math.Ldexp(1, e-40)) // no denormal products in the float mode
	}
	return v
}

func addNBits(l *caseList, def *rand.Rand, s nbitsSpec) {
	K := s.ashape[len(s.ashape)-1]
	nb := (K + s.bs - 1) / s.bs
	KB := K
	if s.padded {
		KB = nb * s.bs
	}
	bshape := []int{s.N, KB}
	p := qtensor.Params{Granularity: qtensor.PerBlock, Axis: 1, BlockSize: s.bs,
		Scales: make([]float32, s.N*nb), ZeroPoints: make([]int32, s.N*nb)}
	for i := range p.Scales {
		p.Scales[i] = float32(math.Ldexp(1+def.Float64(), s.scaleLo+def.IntN(2)))
		if s.scaleLo <= -125 {
			p.Scales[i] = max(p.Scales[i], qtensor.MinScale)
			if def.IntN(3) == 0 {
				p.Scales[i] = qtensor.MinScale
			}
		}
		if s.scaleLo >= 123 {
			p.Scales[i] = min(p.Scales[i], qtensor.MaxScale)
			if def.IntN(3) == 0 {
				p.Scales[i] = qtensor.MaxScale
			}
		}
		switch {
		case s.symZP && s.d.Signed():
			p.ZeroPoints[i] = 0
		case s.symZP:
			p.ZeroPoints[i] = (s.d.QMax() + 1) / 2
		default:
			p.ZeroPoints[i] = randZP(def, s.d)
		}
	}
	must(0, p.Validate(s.d, bshape))
	o := engine.NBitsOptions{Int8Activations: s.int8}
	// A rough size of y: sqrt(K) terms of activation times weight times
	// scale.
	wspread := float64(s.d.QMax()-s.d.QMin()) / 2
	ymag := math.Sqrt(float64(K)) * math.Ldexp(1, s.actExp) / 2 * wspread * math.Ldexp(1.5, s.scaleLo)
	switch s.out {
	case "f32":
	case "f32bias":
		o.Bias = make([]float32, s.N)
		for i := range o.Bias {
			o.Bias[i] = float32(def.NormFloat64() * ymag)
		}
	case "u8", "s8":
		o.YType = qtensor.Uint8
		if s.out == "s8" {
			o.YType = qtensor.Int8
		}
		o.YScale = float32(ymag * 2.5 / 127)
		o.YZP = (o.YType.QMin() + o.YType.QMax() + 1) / 2
		o.YZP += def.Int32N(41) - 20
	default:
		panic("tests: nbits output " + s.out)
	}
	mode := "f"
	if s.int8 {
		mode = "i8"
	}
	pad := ""
	if s.padded && KB != K {
		pad = "_pad"
	}
	zp := "zp"
	if s.symZP {
		zp = "sym"
	}
	name := fmt.Sprintf("%s_%s_b%d_%s_%s%s_%s", short(s.d), mode, s.bs, shapeName(append(append([]int(nil), s.ashape...), s.N)), zp, pad, s.out)
	if s.name != "" {
		name += "_" + s.name
	}
	ashape := s.ashape
	l.add(Case{Op: "MatMulNBits", Name: name,
		// Only the cases with outputs near 2^-126 (tiny scales) may
		// meet the flush tolerance of docs/semantics.md section 6.
		FlushDenormTolerance: s.flush,
		Inputs: inputs(
			func(r *rand.Rand) *qtensor.Tensor {
				// Specials only in the first row (NaN and Inf spread
				// through a whole row in the float mode).
				return floatsT(ashape, func(i int) float32 { return nbitsAct(r, s.actExp, s.special && i < K, s.int8) })
			},
			func(r *rand.Rand) *qtensor.Tensor { return randQ(r, s.d, bshape, p) }),
		Build: one(func(b *engine.Batch, x []*engine.Tensor) (*engine.Tensor, error) {
			return b.MatMulNBits(x[0], x[1], o)
		})})
}

func nbitsCases(l *caseList, def *rand.Rand) {
	outs := []string{"f32", "f32bias", "u8", "s8"}
	i := 0
	next := func() string { i++; return outs[i%len(outs)] }
	// Every type, block size and mode; K a multiple of the block, a
	// block and a bit, and less than a block; padded rows or not.
	for _, d := range nbitsTypes {
		for _, bs := range nbitsBlocks {
			for _, int8Mode := range []bool{false, true} {
				for j, K := range []int{2 * bs, bs + 3, bs/2 + 1} {
					addNBits(l, def, nbitsSpec{d: d, ashape: []int{1 + j%3, K}, N: []int{5, 1, 17}[j], bs: bs,
						padded: j != 2 || bs == 16, symZP: (i+j)%3 == 0, int8: int8Mode, out: next(), actExp: 2 - j, scaleLo: -6})
				}
			}
		}
	}
	// Larger and batched shapes, odd N, every output.
	for _, d := range nbitsTypes {
		for _, int8Mode := range []bool{false, true} {
			for _, out := range outs {
				addNBits(l, def, nbitsSpec{d: d, ashape: []int{2, 3, 97}, N: 33, bs: 32, padded: true, int8: int8Mode, out: out, actExp: 0, scaleLo: -4})
			}
			addNBits(l, def, nbitsSpec{d: d, ashape: []int{300}, N: 65, bs: 64, padded: false, symZP: true, int8: int8Mode, out: "f32", actExp: 3, scaleLo: -8})
			addNBits(l, def, nbitsSpec{d: d, ashape: []int{7, 257}, N: 31, bs: 16, padded: true, int8: int8Mode, out: "f32bias", actExp: -2, scaleLo: -2})
			addNBits(l, def, nbitsSpec{d: d, ashape: []int{1, 1024}, N: 63, bs: 256, padded: true, symZP: true, int8: int8Mode, out: "f32", actExp: 1, scaleLo: -7})
		}
	}
	// Special activations (NaN, ±Inf, signed zeros; denormals in the int8
	// mode) and extreme scales: weight scales at 2^-125 with activations
	// near 2^100, at 2^125 with activations near 2^-100 and some outputs
	// overflowing to ±Inf.
	for _, d := range nbitsTypes {
		for _, int8Mode := range []bool{false, true} {
			addNBits(l, def, nbitsSpec{name: "special", d: d, ashape: []int{4, 70}, N: 9, bs: 32, padded: true, int8: int8Mode, out: "f32", actExp: 0, scaleLo: -5, special: true})
			addNBits(l, def, nbitsSpec{name: "special", d: d, ashape: []int{3, 40}, N: 7, bs: 16, padded: true, int8: int8Mode, out: "u8", actExp: 1, scaleLo: -5, special: true})
			addNBits(l, def, nbitsSpec{name: "tinyscale", d: d, ashape: []int{2, 80}, N: 11, bs: 32, padded: true, int8: int8Mode, out: "f32", actExp: 100, scaleLo: -125})
			addNBits(l, def, nbitsSpec{name: "hugescale", d: d, ashape: []int{2, 80}, N: 11, bs: 16, padded: true, int8: int8Mode, out: "f32", actExp: -100, scaleLo: 123})
			addNBits(l, def, nbitsSpec{name: "overflow", d: d, ashape: []int{2, 48}, N: 5, bs: 16, padded: true, int8: int8Mode, out: "f32", actExp: map[bool]int{true: 1, false: -3}[d.Bits() == 4], scaleLo: 123})
		}
	}
	nbitsTieCases(l)
}

// nbitsTieCases: int8 activations placed on exact quantization ties. With a
// block maximum of 127*s for a power of two s, the activation scale is
// exactly s, and the values (j + 0.5) * s are ties that round to even.
func nbitsTieCases(l *caseList) {
	for _, d := range nbitsTypes {
		p := qtensor.Params{Granularity: qtensor.PerBlock, Axis: 1, BlockSize: 16,
			Scales: make([]float32, 3*2), ZeroPoints: make([]int32, 3*2)}
		for i := range p.Scales {
			p.Scales[i] = 0.0625 * float32(i+1)
			if !d.Signed() {
				p.ZeroPoints[i] = (d.QMax() + 1) / 2
			}
		}
		l.add(Case{Op: "MatMulNBits", Name: "ties_" + short(d),
			Inputs: inputs(
				func(r *rand.Rand) *qtensor.Tensor {
					return floatsT([]int{2, 32}, func(i int) float32 {
						s := float32(0.125)
						if i%16 == 0 {
							return 127 * s
						}
						return (float32(r.IntN(250)-125) + 0.5) * s
					})
				},
				func(r *rand.Rand) *qtensor.Tensor { return randQ(r, d, []int{3, 32}, p) }),
			Build: one(func(b *engine.Batch, x []*engine.Tensor) (*engine.Tensor, error) {
				return b.MatMulNBits(x[0], x[1], engine.NBitsOptions{Int8Activations: true})
			})})
	}
}
