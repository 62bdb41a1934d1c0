package tests

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// Elementwise and reduction cases: Quantize, Dequantize, ByteWeightDequant,
// Requantize, Add, Mul, ReLU, MinMax, Histogram, DynamicQuantizeLinear.

type granSpec struct {
	shape       []int
	g           qtensor.Granularity
	axis, block int
}

func (s granSpec) name() string {
	switch s.g {
	case qtensor.PerAxis:
		return fmt.Sprintf("%s_axis%d", shapeName(s.shape), s.axis)
	case qtensor.PerBlock:
		return fmt.Sprintf("%s_axis%d_block%d", shapeName(s.shape), s.axis, s.block)
	}
	return shapeName(s.shape)
}

// granularities are the per-axis and per-block layouts every quantized op
// is checked with (blocks that divide the axis, that do not, and one
// larger than the axis).
var granularities = []granSpec{
	{[]int{3, 5}, qtensor.PerAxis, 0, 0},
	{[]int{3, 5}, qtensor.PerAxis, 1, 0},
	{[]int{2, 3, 17}, qtensor.PerAxis, 1, 0},
	{[]int{2, 3, 17}, qtensor.PerAxis, 2, 0},
	{[]int{65, 2}, qtensor.PerAxis, 0, 0},
	{[]int{16}, qtensor.PerBlock, 0, 5},
	{[]int{2, 8, 3}, qtensor.PerBlock, 1, 4},
	{[]int{2, 8, 3}, qtensor.PerBlock, 1, 3},
	{[]int{5, 33}, qtensor.PerBlock, 1, 32},
	{[]int{5, 33}, qtensor.PerBlock, 1, 16},
	{[]int{7, 4}, qtensor.PerBlock, 0, 7},
	{[]int{7, 4}, qtensor.PerBlock, 0, 8},
	{[]int{3, 64}, qtensor.PerBlock, 1, 32},
}

// edgeScales are scales at and near the edges of the accepted domain.
var edgeScales = []float32{0x1p-125, 0x1.8p-125, 0x1p125, 0x1.fffffep124, 1}

func quantizeCases(l *caseList, def *rand.Rand) {
	add := func(d qtensor.DType, name string, shape []int, p qtensor.Params, rnd qtensor.Rounding, in func(r *rand.Rand) *qtensor.Tensor) {
		if in == nil {
			in = func(r *rand.Rand) *qtensor.Tensor { return quantInput(r, d, shape, p) }
		}
		l.add(Case{Op: "Quantize", Name: short(d) + "_" + name + "_" + rnd.String(),
			Inputs: inputs(in),
			Build: one(func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
				return b.Quantize(in[0], d, p, rnd)
			})})
	}
	for _, d := range quantTypes {
		for _, n := range Sizes {
			s := []int{n}
			add(d, shapeName(s), s, params(def, d, s, qtensor.PerTensor, 0, 0), qtensor.RoundONNX, nil)
		}
		for _, s := range [][]int{{3, 5}, {2, 3, 4}, {4, 65}} {
			add(d, shapeName(s), s, params(def, d, s, qtensor.PerTensor, 0, 0), qtensor.RoundONNX, nil)
		}
		for _, g := range granularities {
			add(d, g.name(), g.shape, params(def, d, g.shape, g.g, g.axis, g.block), qtensor.RoundONNX, nil)
		}
		// PyTorch rounding (reciprocal product) on a few layouts.
		for _, n := range []int{17, 64, 257} {
			s := []int{n}
			add(d, shapeName(s), s, params(def, d, s, qtensor.PerTensor, 0, 0), qtensor.RoundTorch, nil)
		}
		add(d, granularities[1].name(), granularities[1].shape, params(def, d, granularities[1].shape, qtensor.PerAxis, 1, 0), qtensor.RoundTorch, nil)
		add(d, granularities[7].name(), granularities[7].shape, params(def, d, granularities[7].shape, qtensor.PerBlock, 1, 3), qtensor.RoundTorch, nil)
		// Scales at the domain edges, with every special value.
		for i, sc := range edgeScales {
			s := []int{96}
			p := qtensor.TensorParams(sc, randZP(def, d))
			for _, rnd := range []qtensor.Rounding{qtensor.RoundONNX, qtensor.RoundTorch} {
				add(d, fmt.Sprintf("edgescale%d_%s", i, shapeName(s)), s, p, rnd, func(r *rand.Rand) *qtensor.Tensor {
					return floatsT(s, func(i int) float32 {
						if i < len(specials) {
							return specials[i]
						}
						return quantFloat(r, sc, p.ZeroPoints[0], d.QMin(), d.QMax())
					})
				})
			}
		}
		// Every input an exact tie (k + 0.5) * scale, across and beyond the
		// range; scales with short mantissas keep the ties exact.
		for _, sc := range []float32{1, 0.375, 0x1p-20, 3 * 0x1p10} {
			s := []int{64}
			zp := randZP(def, d)
			p := qtensor.TensorParams(sc, zp)
			for _, rnd := range []qtensor.Rounding{qtensor.RoundONNX, qtensor.RoundTorch} {
				add(d, fmt.Sprintf("ties_scale%g", sc), s, p, rnd, func(r *rand.Rand) *qtensor.Tensor {
					return floatsT(s, func(i int) float32 {
						k := float32(d.QMin()-zp-3) + float32(r.IntN(int(d.QMax()-d.QMin())+6))
						return (k + 0.5) * sc
					})
				})
			}
		}
	}
}

func dequantizeCases(l *caseList, def *rand.Rand) {
	add := func(d qtensor.DType, name string, shape []int, p qtensor.Params) {
		l.add(Case{Op: "Dequantize", Name: short(d) + "_" + name,
			Inputs: inputs(func(r *rand.Rand) *qtensor.Tensor { return randQ(r, d, shape, p) }),
			Build: one(func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
				return b.Dequantize(in[0])
			})})
	}
	for _, d := range quantTypes {
		for _, n := range Sizes {
			s := []int{n}
			add(d, shapeName(s), s, params(def, d, s, qtensor.PerTensor, 0, 0))
		}
		add(d, "2x3x4", []int{2, 3, 4}, params(def, d, []int{2, 3, 4}, qtensor.PerTensor, 0, 0))
		for _, g := range granularities {
			add(d, g.name(), g.shape, params(def, d, g.shape, g.g, g.axis, g.block))
		}
		for i, sc := range edgeScales {
			for _, zp := range []int32{d.QMin(), d.QMax()} {
				s := []int{33}
				add(d, fmt.Sprintf("edgescale%d_zp%d", i, zp), s, qtensor.TensorParams(sc, zp))
			}
		}
	}
}

func byteWeightCases(l *caseList, def *rand.Rand) {
	type mm struct {
		name     string
		min, max float32
		tol      bool
	}
	ranges := []mm{
		{"default", -3, 3, false},
		{"unit", 0, 1, false},
		{"reversed", 3, -3, false},
		{"empty", 5, 5, false},
		{"wide", -1e20, 3e20, false},
		{"odd", -0.1234567, 7.654321, false},
		// Tolerance: with min 0 and max 1e-36, q*(max-min)/255 is below
		// 2^-126 for small q (every intermediate is normal, only the
		// result is denormal), so a flushing device returns 0 there.
		{"denormal_results", 0, 1e-36, true},
	}
	for _, n := range []int{1, 7, 16, 17, 64, 257} {
		for _, m := range ranges {
			s := []int{n}
			l.add(Case{Op: "ByteWeightDequant", Name: fmt.Sprintf("%s_%d", m.name, n), FlushDenormTolerance: m.tol,
				Inputs: inputs(func(r *rand.Rand) *qtensor.Tensor {
					// every byte value appears for n >= 256
					return quantT(qtensor.Uint8, s, qtensor.TensorParams(1, 0), func(i int) int32 {
						if n >= 256 {
							return int32(i)
						}
						return r.Int32N(256)
					})
				}),
				Build: one(func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
					return b.ByteWeightDequant(in[0], m.min, m.max, nil)
				})})
		}
	}
	l.add(Case{Op: "ByteWeightDequant", Name: "reshape_12_to_3x4",
		Inputs: inputs(func(r *rand.Rand) *qtensor.Tensor {
			return randQ(r, qtensor.Uint8, []int{12}, qtensor.TensorParams(1, 0))
		}),
		Build: one(func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
			return b.ByteWeightDequant(in[0], -3, 3, []int{3, 4})
		})})
}

// accValue returns an int32 accumulator: small, medium, of any magnitude,
// or an extreme.
func accValue(r *rand.Rand) int32 {
	switch p := r.IntN(100); {
	case p < 10:
		return []int32{math.MinInt32, math.MaxInt32, 0, 1, -1, math.MinInt32 + 1, math.MaxInt32 - 1}[r.IntN(7)]
	case p < 40:
		return r.Int32N(2001) - 1000
	default:
		b := r.IntN(31)
		return r.Int32N(1<<b) - r.Int32N(1<<b)
	}
}

func requantizeCases(l *caseList, def *rand.Rand) {
	// mult is the requantization multiplier M = inScale / yScale.
	type mspec struct {
		name string
		mult float32
	}
	mults := []mspec{
		{"half", 0.5}, {"quarter", 0.25}, {"one", 1}, {"m2e-10", 0x1p-10}, {"m0.0123", 0.0123},
		{"m2e-31", 0x1p-31}, {"m2e-32", 0x1p-32}, {"m100", 100}, {"m3e-6", 3.0517e-6},
	}
	add := func(name string, in func(r *rand.Rand) *qtensor.Tensor, inScales []float32, axis int, yd qtensor.DType, ys float32, yzp int32, fixed bool) {
		l.add(Case{Op: "Requantize", Name: name, Inputs: inputs(in),
			Build: one(func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
				return b.Requantize(in[0], inScales, axis, yd, ys, yzp, fixed)
			})})
	}
	for _, yd := range byteTypes {
		for _, fixed := range []bool{false, true} {
			rule := "float"
			if fixed {
				rule = "fixed"
			}
			// From int32, per tensor: the multiplier sweep.
			for i, m := range mults {
				s := []int{Sizes[(i*5)%len(Sizes)] + 40}
				ys := float32(0.75)
				add(fmt.Sprintf("i32_%s_%s_%s_%d", m.name, short(yd), rule, s[0]),
					func(r *rand.Rand) *qtensor.Tensor { return int32T(s, func(int) int32 { return accValue(r) }) },
					[]float32{m.mult * ys}, -1, yd, ys, randZP(def, yd), fixed)
			}
			// From int32 with ties: M = 0.5 and odd accumulators.
			add(fmt.Sprintf("i32_ties_%s_%s", short(yd), rule),
				func(r *rand.Rand) *qtensor.Tensor {
					return int32T([]int{64}, func(i int) int32 { return int32(i) - 32 })
				}, []float32{1}, -1, yd, 2, randZP(def, yd), fixed)
			// From int32 per axis.
			for _, g := range []granSpec{{[]int{3, 5}, qtensor.PerAxis, 0, 0}, {[]int{3, 5}, qtensor.PerAxis, 1, 0}, {[]int{2, 4, 17}, qtensor.PerAxis, 1, 0}, {[]int{2, 4, 17}, qtensor.PerAxis, 2, 0}} {
				scales := make([]float32, g.shape[g.axis])
				for i := range scales {
					scales[i] = float32(math.Ldexp(1+def.Float64(), -6-def.IntN(14))) * 0.5
				}
				add(fmt.Sprintf("i32_%s_%s_%s", g.name(), short(yd), rule),
					func(r *rand.Rand) *qtensor.Tensor {
						return int32T(g.shape, func(int) int32 { return accValue(r) })
					}, scales, g.axis, yd, 0.5, randZP(def, yd), fixed)
			}
			// From int8/uint8, per tensor and per axis (one zero point).
			for _, xd := range byteTypes {
				for _, n := range []int{1, 17, 64, 257} {
					s := []int{n}
					p := params(def, xd, s, qtensor.PerTensor, 0, 0)
					m := 0.3 + def.Float64()
					add(fmt.Sprintf("%s_%d_%s_%s", short(xd), n, short(yd), rule),
						func(r *rand.Rand) *qtensor.Tensor { return randQ(r, xd, s, p) },
						nil, -1, yd, p.Scales[0]*float32(m), centre(yd, qMean(xd, p.ZeroPoints[0])/m), fixed)
				}
				for _, g := range []granSpec{{[]int{3, 5}, qtensor.PerAxis, 0, 0}, {[]int{2, 4, 17}, qtensor.PerAxis, 2, 0}} {
					p := params(def, xd, g.shape, qtensor.PerAxis, g.axis, 0)
					for i := range p.ZeroPoints {
						p.ZeroPoints[i] = p.ZeroPoints[0]
					}
					narrowScales(def, &p)
					add(fmt.Sprintf("%s_%s_%s_%s", short(xd), g.name(), short(yd), rule),
						func(r *rand.Rand) *qtensor.Tensor { return randQ(r, xd, g.shape, p) },
						nil, -1, yd, p.Scales[0], centre(yd, qMean(xd, p.ZeroPoints[0])), fixed)
				}
			}
		}
	}
}

// binaryScales are (sa, sb, sy) sets for Add and Mul: random, exact ties,
// saturation, identity, and the domain edges.
type binScales struct {
	name       string
	sa, sb, sy float32
}

func addMulCases(l *caseList, def *rand.Rand) {
	sets := func(mul bool) []binScales {
		s := []binScales{
			{"ties", 1, 0.5, 2},
			{"identity", 1, 1, 1},
			{"saturate", 0.5, 0.7, 0.001},
			{"shrink", 0.01, 0.02, 0.05},
			{"odd", 0.0123, 0.0456, 0.0789},
		}
		if mul {
			s = append(s, binScales{"edge", 0x1p-60, 0x1p-60, 0x1p-125}, binScales{"edge_big", 0x1p62, 0x1p62, 0x1p125}, binScales{"ties_mul", 0.5, 0.5, 0.125})
		} else {
			s = append(s, binScales{"edge", 0x1p-125, 0x1p-125, 0x1p-125}, binScales{"edge_big", 0x1p125, 0x1p124, 0x1p125})
		}
		return s
	}
	for _, mul := range []bool{false, true} {
		op := "Add"
		if mul {
			op = "Mul"
		}
		for _, d := range byteTypes {
			add := func(name string, shape []int, sc binScales) {
				za, zb := randZP(def, d), randZP(def, d)
				if sc.name == "saturate" {
					za, zb = centre(d, 0), centre(d, 0)
				}
				// centre the outputs: zy = mid - E[y - zy] (clamped)
				ma, mb := qtensor.AddMultipliers(sc.sa, sc.sb, sc.sy)
				c := float64(ma)*qMean(d, za) + float64(mb)*qMean(d, zb)
				if mul {
					c = float64(qtensor.MulMultiplier(sc.sa, sc.sb, sc.sy)) * qMean(d, za) * qMean(d, zb)
				}
				zy := centre(d, c)
				pa, pb := qtensor.TensorParams(sc.sa, za), qtensor.TensorParams(sc.sb, zb)
				l.add(Case{Op: op, Name: short(d) + "_" + name,
					Inputs: inputs(
						func(r *rand.Rand) *qtensor.Tensor { return randQ(r, d, shape, pa) },
						func(r *rand.Rand) *qtensor.Tensor { return randQ(r, d, shape, pb) }),
					Build: one(func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
						if mul {
							return b.Mul(in[0], in[1], sc.sy, zy)
						}
						return b.Add(in[0], in[1], sc.sy, zy)
					})})
			}
			for _, n := range Sizes {
				sa, sb := randScale(def), randScale(def)
				sy := (sa + sb) * float32(0.5+def.Float64())
				if mul {
					sy = sa * sb * float32(10+100*def.Float64())
				}
				add(fmt.Sprint(n), []int{n}, binScales{"", sa, sb, sy})
			}
			for _, sc := range sets(mul) {
				add(sc.name+"_2x3x43", []int{2, 3, 43}, sc)
			}
		}
	}
}

func reluCases(l *caseList, def *rand.Rand) {
	for _, d := range byteTypes {
		add := func(name string, shape []int, zp int32) {
			p := qtensor.TensorParams(randScale(def), zp)
			l.add(Case{Op: "ReLU", Name: fmt.Sprintf("%s_%s_zp%d", short(d), name, zp),
				Inputs: inputs(func(r *rand.Rand) *qtensor.Tensor { return randQ(r, d, shape, p) }),
				Build: one(func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
					return b.ReLU(in[0])
				})})
		}
		for _, n := range Sizes {
			add(fmt.Sprint(n), []int{n}, randZP(def, d))
		}
		for _, zp := range []int32{d.QMin(), d.QMax(), (d.QMin() + d.QMax() + 1) / 2, d.QMin() + 1} {
			add("3x5x7", []int{3, 5, 7}, zp)
		}
	}
}

func minMaxCases(l *caseList, def *rand.Rand) {
	add := func(name string, shape []int, axis int, f func(r *rand.Rand, i int) float32) {
		l.add(Case{Op: "MinMax", Name: fmt.Sprintf("%s_axis%d_%s", shapeName(shape), axis, name),
			Inputs: inputs(func(r *rand.Rand) *qtensor.Tensor {
				return floatsT(shape, func(i int) float32 { return f(r, i) })
			}),
			Build: one(func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
				return b.MinMax(in[0], axis)
			})})
	}
	mixed := func(r *rand.Rand, i int) float32 { return anyFloat(r, 100) }
	for _, n := range Sizes {
		add("mixed", []int{n}, -1, mixed)
	}
	for _, c := range []struct {
		shape []int
		axis  int
	}{{[]int{3, 5}, 0}, {[]int{3, 5}, 1}, {[]int{2, 3, 4}, 0}, {[]int{2, 3, 4}, 1}, {[]int{2, 3, 4}, 2}, {[]int{4, 65}, 0}, {[]int{65, 3}, 1}, {[]int{2, 3, 4}, -1}} {
		add("mixed", c.shape, c.axis, mixed)
	}
	// Channel 1 only NaN, channel 2 only infinities, channel 0 only -0
	// and +0, channel 3 denormals and zeros.
	add("specials", []int{4, 9}, 0, func(r *rand.Rand, i int) float32 {
		switch i / 9 {
		case 0:
			return []float32{0, negZero}[r.IntN(2)]
		case 1:
			return nan
		case 2:
			return []float32{inf, -inf}[r.IntN(2)]
		}
		return []float32{0x1p-149, -0x1p-149, 0x1p-130, -0x1.8p-127, negZero, 0}[r.IntN(6)]
	})
	add("all_negzero", []int{17}, -1, func(*rand.Rand, int) float32 { return negZero })
	add("all_nan", []int{17}, -1, func(*rand.Rand, int) float32 { return nan })
	add("extremes", []int{33}, -1, func(r *rand.Rand, i int) float32 {
		return []float32{math.MaxFloat32, -math.MaxFloat32, 0x1p-126, -0x1p-126, 1}[r.IntN(5)]
	})
}

func histogramCases(l *caseList, def *rand.Rand) {
	type hs struct {
		name   string
		bins   int
		lo, hi float32
	}
	sets := []hs{
		{"sym", 16, -1, 1},
		{"onebin", 1, 0, 1},
		{"odd", 7, -3.5, 1e-3},
		{"byte", 256, 0, 255},
		{"calib2048", 2048, -10, 10},
		{"huge", 100, -1e38, 1e38},
		{"tiny", 64, 1, 1 + 0x1p-17},
		{"pow2", 8, -0x1p-3, 0x1p-3},
		{"thirds", 3, 0, 1},
	}
	for _, h := range sets {
		for _, n := range []int{1, 17, 257, 1000} {
			shape := []int{n}
			l.add(Case{Op: "Histogram", Name: fmt.Sprintf("%s_%d", h.name, n),
				Inputs: inputs(func(r *rand.Rand) *qtensor.Tensor {
					w := h.hi - h.lo
					edges := []float32{h.lo, h.hi, math.Nextafter32(h.lo, -inf), math.Nextafter32(h.hi, inf),
						math.Nextafter32(h.lo, inf), math.Nextafter32(h.hi, -inf), nan, inf, -inf, negZero, 0}
					return floatsT(shape, func(i int) float32 {
						switch p := r.IntN(100); {
						case p < 15:
							return edges[r.IntN(len(edges))]
						case p < 30: // bin edges lo + k*(hi-lo)/bins
							return h.lo + float32(r.IntN(h.bins+1))*(w/float32(h.bins))
						case p < 85:
							return h.lo + float32(1.2*r.Float64()-0.1)*w
						default:
							return anyFloat(r, 2*max(abs32(h.lo), abs32(h.hi)))
						}
					})
				}),
				Build: one(func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
					return b.Histogram(in[0], h.bins, h.lo, h.hi)
				})})
		}
	}
	alignedCases(l)
	// Denormal inputs on the narrowest range the engine accepts (edges 0
	// or at least 2^-100 in magnitude, see engine.Batch.Histogram): an
	// integer output, so no tolerance - the range rule is what makes a
	// device that flushes denormals count exactly like the reference.
	l.add(Case{Op: "Histogram", Name: "denormal_inputs_narrowest_range",
		Inputs: inputs(func(r *rand.Rand) *qtensor.Tensor {
			return floatsT([]int{64}, func(i int) float32 {
				return []float32{0x1p-127, 0x1.8p-127, -0x1p-127, 0x1p-149, 0, negZero}[r.IntN(6)]
			})
		}),
		Build: one(func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
			return b.Histogram(in[0], 256, -0x1p-100, 0x1p-100)
		})})
}

// centre returns the zero point of d that maps an output mean of c (in
// output steps, relative to the zero point) to the middle of the range,
// clamped into the range.
func centre(d qtensor.DType, c float64) int32 {
	mid := float64(d.QMin()+d.QMax()) / 2
	return int32(math.Round(min(max(mid-c, float64(d.QMin())), float64(d.QMax()))))
}

// alignedCases cover Batch.HistogramAligned: the zero-aligned grid of bin
// width 2^exp, bins bins from grid index start.
func alignedCases(l *caseList) {
	type as struct {
		name  string
		exp   int
		start int64
		bins  int
	}
	sets := []as{
		{"unit", 0, -8, 16},
		{"eighths", -3, -64, 128},
		{"tiny", -126, -4, 8},
		{"huge", 126, -2, 4},
		{"positive", 5, 0, 10},
		{"calib2048", -10, -1024, 2048},
		{"onebin", 2, -1, 1},
		{"far_below", 0, -(1 << 61), 4},
		{"far_above", 0, 1<<61 - 4, 4},
	}
	for _, h := range sets {
		for _, n := range []int{1, 17, 257, 1000} {
			shape := []int{n}
			w := math.Ldexp(1, h.exp)
			l.add(Case{Op: "Histogram", Name: fmt.Sprintf("aligned_%s_%d", h.name, n),
				Inputs: inputs(func(r *rand.Rand) *qtensor.Tensor {
					return floatsT(shape, func(i int) float32 {
						k := float64(h.start) + float64(r.IntN(h.bins+2)) - 1
						switch p := r.IntN(100); {
						case p < 20: // grid edges and their neighbours
							e := float32(k * w)
							switch r.IntN(3) {
							case 0:
								return math.Nextafter32(e, inf)
							case 1:
								return math.Nextafter32(e, -inf)
							}
							return e
						case p < 35:
							return specials[r.IntN(len(specials))]
						case p < 85:
							return float32((float64(h.start) + (1.2*r.Float64()-0.1)*float64(h.bins)) * w)
						default:
							return logUniform(r)
						}
					})
				}),
				Build: one(func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
					return b.HistogramAligned(in[0], h.exp, h.start, h.bins)
				})})
		}
	}
}

func abs32(v float32) float32 { return float32(math.Abs(float64(v))) }

func dynamicQuantizeCases(l *caseList, def *rand.Rand) {
	exec := func(ctx context.Context, e *engine.Engine, in []*engine.Tensor) ([]*engine.Tensor, error) {
		y, scale, zp, err := e.DynamicQuantizeLinear(ctx, in[0])
		if err != nil {
			return nil, err
		}
		out := []*engine.Tensor{y}
		for _, h := range []*qtensor.Tensor{must(qtensor.FromFloat32([]int{1}, []float32{scale})), must(qtensor.FromInt32([]int{1}, []int32{zp}))} {
			t, err := e.Upload(h)
			if err != nil {
				for _, t := range out {
					t.Release()
				}
				return nil, err
			}
			out = append(out, t)
		}
		return out, nil
	}
	add := func(name string, shape []int, f func(r *rand.Rand, i int) float32) {
		l.add(Case{Op: "DynamicQuantizeLinear", Name: name,
			Inputs: inputs(func(r *rand.Rand) *qtensor.Tensor {
				return floatsT(shape, func(i int) float32 { return f(r, i) })
			}),
			Exec: exec})
	}
	for _, n := range []int{1, 7, 17, 64, 257, 1000} {
		add(fmt.Sprintf("mixed_%d", n), []int{n}, func(r *rand.Rand, i int) float32 { return float32(6*r.Float64() - 2) })
	}
	add("all_zero", []int{33}, func(*rand.Rand, int) float32 { return 0 })
	add("all_negzero", []int{5}, func(*rand.Rand, int) float32 { return negZero })
	add("negative", []int{33}, func(r *rand.Rand, i int) float32 { return -float32(r.Float64()) * 5 })
	add("positive", []int{33}, func(r *rand.Rand, i int) float32 { return float32(r.Float64()) * 5 })
	add("constant", []int{9}, func(*rand.Rand, int) float32 { return 2.5 })
	add("single_negative", []int{1}, func(*rand.Rand, int) float32 { return -1.5 })
	add("specials", []int{64}, func(r *rand.Rand, i int) float32 {
		if i < len(specials) {
			return specials[i]
		}
		return float32(4*r.Float64() - 1)
	})
	add("only_nan_inf", []int{6}, func(r *rand.Rand, i int) float32 { return []float32{nan, inf, -inf}[i%3] })
	add("full_range", []int{16}, func(r *rand.Rand, i int) float32 {
		return []float32{math.MaxFloat32, -math.MaxFloat32, 1, -1}[i%4]
	})
	add("denormals", []int{16}, func(r *rand.Rand, i int) float32 {
		return []float32{0x1p-149, -0x1p-140, 0x1p-130, 0}[i%4]
	})
	add("nchw_2x3x4x5", []int{2, 3, 4, 5}, func(r *rand.Rand, i int) float32 { return anyFloat(r, 3) })
}
