package tests

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// GEMM, convolution and pooling cases.

// outKind names an output form of a GEMM or convolution.
type outKind string

const (
	outI32        outKind = "i32"
	outI32Bias    outKind = "i32bias"
	outI32Bias1   outKind = "i32bias1"
	outF32        outKind = "f32"
	outF32Bias    outKind = "f32bias"
	outU8         outKind = "u8"
	outS8         outKind = "s8"
	outU8Relu     outKind = "u8relu"
	outS8Bias     outKind = "s8bias"
	outU8Fixed    outKind = "u8fixed"
	outS8Fixed    outKind = "s8fixed"
	outS8FixedRel outKind = "s8fixedrelu"
)

var outKinds = []outKind{outI32, outI32Bias, outF32, outU8, outS8Fixed, outU8Relu, outF32Bias, outS8, outU8Fixed, outS8FixedRel, outI32Bias1, outS8Bias}

// accStats describe the accumulators of a GEMM or convolution with random
// operands: their mean (overall) and a spread (standard deviation plus the
// spread of the per-channel means).
type accStats struct{ mean, spread float64 }

// qMean and qVar are the mean and variance of q - zp for q uniform over
// d's range.
func qMean(d qtensor.DType, zp int32) float64 { return float64(d.QMin()+d.QMax())/2 - float64(zp) }
func qVar(d qtensor.DType) float64 {
	n := float64(d.QMax() - d.QMin() + 1)
	return (n*n - 1) / 12
}

func mean(d qtensor.DType, zps []int32) []float64 {
	m := make([]float64, len(zps))
	for i, z := range zps {
		m[i] = qMean(d, z)
	}
	return m
}

// stats returns the accumulator statistics of terms products of operands
// of types ad, bd with zero points azps, bzps (one or per channel).
func stats(terms int, ad qtensor.DType, azps []int32, bd qtensor.DType, bzps []int32) accStats {
	am, bm := mean(ad, azps), mean(bd, bzps)
	avg := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	ma, mb := avg(am), avg(bm)
	k := float64(terms)
	st := accStats{mean: k * ma * mb}
	dev := 0.0
	for _, a := range am {
		for _, b := range bm {
			dev = math.Max(dev, math.Abs(k*a*b-st.mean))
		}
	}
	va, vb := qVar(ad), qVar(bd)
	st.spread = dev + 2.5*math.Sqrt(k*(va*vb+va*mb*mb+vb*ma*ma))
	return st
}

// outOpts are the output fields GemmOptions and ConvOptions share.
type outOpts struct {
	Output      engine.OutputKind
	Bias        []int32
	FloatBias   []float32
	YType       qtensor.DType
	YScale      float32
	YZP         int32
	Fixed, ReLU bool
}

func (o *outOpts) gemm(g *engine.GemmOptions) {
	g.Output, g.Bias, g.FloatBias, g.YType, g.YScale, g.YZP, g.Fixed, g.ReLU = o.Output, o.Bias, o.FloatBias, o.YType, o.YScale, o.YZP, o.Fixed, o.ReLU
}

func (o *outOpts) conv(c *engine.ConvOptions) {
	c.Output, c.Bias, c.FloatBias, c.YType, c.YScale, c.YZP, c.Fixed, c.ReLU = o.Output, o.Bias, o.FloatBias, o.YType, o.YScale, o.YZP, o.Fixed, o.ReLU
}

// outputOptions builds the output of kind k for channels output
// channels, activation scale as and weight scales ws (one or per channel,
// within a factor of two of ws[0]). For quantized outputs it picks the
// output scale and zero point from the accumulator statistics st so that
// outputs spread over the range and some saturate.
func outputOptions(def *rand.Rand, k outKind, channels int, as float32, ws []float32, st accStats) outOpts {
	var o outOpts
	maxBias := 0.0
	bias := func() []int32 {
		b := make([]int32, channels)
		for i := range b {
			b[i] = def.Int32N(200001) - 100000
			maxBias = max(maxBias, math.Abs(float64(b[i])))
		}
		return b
	}
	switch k {
	case outI32:
	case outI32Bias:
		o.Bias = bias()
	case outI32Bias1:
		o.Bias = []int32{def.Int32N(2001) - 1000}
	case outF32, outF32Bias:
		o.Output = engine.OutFloat32
		if k == outF32Bias {
			o.FloatBias = make([]float32, channels)
			for i := range o.FloatBias {
				o.FloatBias[i] = float32(def.NormFloat64()) * as * ws[0] * 1000
			}
		}
	default:
		o.Output = engine.OutQuantized
		o.YType = qtensor.Uint8
		if k == outS8 || k == outS8Bias || k == outS8Fixed || k == outS8FixedRel {
			o.YType = qtensor.Int8
		}
		o.ReLU = k == outU8Relu || k == outS8FixedRel
		o.Fixed = k == outU8Fixed || k == outS8Fixed || k == outS8FixedRel
		if k == outS8Bias {
			o.Bias = bias()
		}
		if o.ReLU && math.Abs(st.mean) < 1e9 {
			// centre the accumulators with the bias, or a mean far below
			// zero would make every output the zero point
			o.Bias = []int32{int32(-math.Round(st.mean))}
			st.mean = 0
		}
		// M maps the spread to about 90 output steps (less when the
		// mean is far from zero), and the zero point centres the mean.
		m := 90 / math.Max(st.spread+maxBias, math.Abs(st.mean)*0.45) * (0.7 + 0.6*def.Float64())
		mid := float64(o.YType.QMin()+o.YType.QMax()) / 2
		if o.ReLU {
			// keep the zero point inside the range and the mean above it
			m = min(m, 50/math.Abs(st.mean))
			mid += 40
		}
		o.YScale = float32(float64(as*ws[0]) / m)
		o.YZP = int32(math.Round(min(max(mid-st.mean*m, float64(o.YType.QMin())), float64(o.YType.QMax()))))
	}
	return o
}

// narrowScales keeps per-channel scales within a factor of two of the
// first, so every channel's outputs land in the output range.
func narrowScales(def *rand.Rand, p *qtensor.Params) {
	for i := 1; i < len(p.Scales); i++ {
		p.Scales[i] = p.Scales[0] * float32(0.5+1.5*def.Float64())
	}
}

// dtypePairs are the (activation, weight) type combinations.
var dtypePairs = [][2]qtensor.DType{{qtensor.Uint8, qtensor.Int8}, {qtensor.Int8, qtensor.Int8}, {qtensor.Uint8, qtensor.Uint8}, {qtensor.Int8, qtensor.Uint8}}

type gemmSpec struct {
	name           string
	ad, bd         qtensor.DType
	ashape, bshape []int
	aRowZP         bool // A quantized per row (per axis rank-2) from its params
	aRowExplicit   bool // per-row zero points passed in GemmOptions.AZP
	bCol           bool // B quantized per column (per axis rank-1) from its params
	bColExplicit   bool // per-column zero points passed in GemmOptions.BZP
	out            outKind
	// transB stores B transposed, [..., N, K] (bshape is still the
	// logical [..., K, N]), per column along axis rank-2, and runs it with
	// GemmOptions.TransposeB; the case also runs the [K][N] transpose of
	// that B without the option, and both outputs must be equal.
	transB bool
}

// swapLast2 returns shape with its last two dimensions swapped (a copy;
// rank < 2 unchanged).
func swapLast2(shape []int) []int {
	s := append([]int(nil), shape...)
	if r := len(s); r >= 2 {
		s[r-2], s[r-1] = s[r-1], s[r-2]
	}
	return s
}

// transposeLast2 returns the quantized tensor t ([..., R, C]) with its last
// two dimensions swapped ([..., C, R]) and params p (for the new shape).
func transposeLast2(t *qtensor.Tensor, p qtensor.Params) *qtensor.Tensor {
	r := len(t.Shape)
	if r < 2 {
		out := must(qtensor.New(t.DType, t.Shape, p))
		copy(out.Data, t.Data)
		return out
	}
	R, C := t.Shape[r-2], t.Shape[r-1]
	out := must(qtensor.New(t.DType, swapLast2(t.Shape), p))
	for m := range t.Len() / (R * C) {
		for i := range R {
			for j := range C {
				out.Set(m*R*C+j*R+i, t.At(m*R*C+i*C+j))
			}
		}
	}
	return out
}

func gemmDims(ashape, bshape []int) (M, K, N int) {
	if len(ashape) == 1 {
		M, K = 1, ashape[0]
	} else {
		M, K = ashape[len(ashape)-2], ashape[len(ashape)-1]
	}
	if len(bshape) == 1 {
		N = 1
	} else {
		N = bshape[len(bshape)-1]
	}
	return
}

func addGemm(l *caseList, def *rand.Rand, s gemmSpec) {
	M, K, N := gemmDims(s.ashape, s.bshape)
	ap := params(def, s.ad, s.ashape, qtensor.PerTensor, 0, 0)
	if s.aRowZP {
		ap = params(def, s.ad, s.ashape, qtensor.PerAxis, len(s.ashape)-2, 0)
	}
	stored, nAxis := s.bshape, len(s.bshape)-1 // B as given to Gemm, its N axis
	if s.transB && len(s.bshape) >= 2 {
		stored, nAxis = swapLast2(s.bshape), len(s.bshape)-2
	}
	bp := params(def, s.bd, stored, qtensor.PerTensor, 0, 0)
	if s.bCol {
		bp = params(def, s.bd, stored, qtensor.PerAxis, nAxis, 0)
		narrowScales(def, &bp)
	}
	var o engine.GemmOptions
	if s.aRowExplicit {
		o.AZP = make([]int32, M)
		for i := range o.AZP {
			o.AZP[i] = randZP(def, s.ad)
		}
	}
	if s.bColExplicit {
		o.BZP = make([]int32, N)
		for i := range o.BZP {
			o.BZP[i] = randZP(def, s.bd)
		}
	}
	as := ap.Scales[0]
	azp, bzp := ap.ZeroPoints, bp.ZeroPoints
	if o.AZP != nil {
		azp = o.AZP
	}
	if o.BZP != nil {
		bzp = o.BZP
	}
	out := outputOptions(def, s.out, N, as, bp.Scales, stats(K, s.ad, azp, s.bd, bzp))
	out.gemm(&o)
	if s.aRowZP && o.Output != engine.OutInt32 {
		o.AScale = as // per-row A has no per-tensor scale
	}
	name := s.name
	if name == "" {
		name = fmt.Sprintf("%s%s_%s_%s", short(s.ad), short(s.bd), shapeName(s.ashape), shapeName(stored))
	}
	name += "_" + string(s.out)
	if s.aRowZP || s.aRowExplicit {
		name += "_azprow"
	}
	if s.bCol || s.bColExplicit {
		name += "_bcol"
	}
	if s.transB {
		name += "_bt"
		// B as stored (input 1), run with TransposeB, and its [K][N]
		// transpose (input 2), run without: equal outputs.
		kn := bp.Clone()
		if kn.Granularity == qtensor.PerAxis {
			kn.Axis = len(s.bshape) - 1
		}
		ot := o
		ot.TransposeB = true
		l.add(Case{Op: "Gemm", Name: name, OutputsEqual: true,
			Inputs: func(r *rand.Rand) []*qtensor.Tensor {
				a, bt := randQ(r, s.ad, s.ashape, ap), randQ(r, s.bd, stored, bp)
				return []*qtensor.Tensor{a, bt, transposeLast2(bt, kn)}
			},
			Build: func(b *engine.Batch, in []*engine.Tensor) ([]*engine.Tensor, error) {
				yt, err := b.Gemm(in[0], in[1], ot)
				if err != nil {
					return nil, err
				}
				y, err := b.Gemm(in[0], in[2], o)
				if err != nil {
					return nil, err
				}
				return []*engine.Tensor{yt, y}, nil
			}})
		return
	}
	_ = M
	l.add(Case{Op: "Gemm", Name: name,
		Inputs: inputs(
			func(r *rand.Rand) *qtensor.Tensor { return randQ(r, s.ad, s.ashape, ap) },
			func(r *rand.Rand) *qtensor.Tensor { return randQ(r, s.bd, s.bshape, bp) }),
		Build: one(func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
			return b.Gemm(in[0], in[1], o)
		})})
}

// gemmShapes are non-square, larger, batched and broadcast GEMM shapes
// and 1-D operands: A's shape, then B's as [..., K, N].
var gemmShapes = [][2][]int{
	{{17, 65}, {65, 33}},
	{{64, 64}, {64, 64}},
	{{1, 257}, {257, 1}},
	{{2, 3, 5, 7}, {7, 4}},           // batched A, shared B
	{{6, 5}, {4, 5, 3}},              // shared A, batched B
	{{2, 1, 4, 9}, {1, 3, 9, 5}},     // broadcast both ways
	{{3, 4, 6}, {3, 6, 2}},           // same batch
	{{5, 1, 3, 4}, {4, 4, 2}},        // broadcast with rank difference
	{{9}, {2, 9, 4}},                 // 1-D A
	{{2, 3, 9}, {9}},                 // 1-D B
	{{13}, {13}},                     // both 1-D: a scalar
	{{1, 1, 2, 3}, {2, 1, 3, 1}},     // unit dimensions everywhere
	{{2, 2, 17, 33}, {2, 2, 33, 15}}, // batched odd sizes
}

func gemmCases(l *caseList, def *rand.Rand) {
	k := 0
	next := func() outKind { k++; return outKinds[k%len(outKinds)] }
	// Every size in each of M, K and N, every type pair.
	for _, n := range Sizes {
		for _, mkn := range [][3]int{{n, 7, 5}, {5, n, 7}, {7, 5, n}} {
			for _, dp := range dtypePairs {
				addGemm(l, def, gemmSpec{ad: dp[0], bd: dp[1], ashape: []int{mkn[0], mkn[1]}, bshape: []int{mkn[1], mkn[2]}, out: next()})
			}
		}
	}
	// Every output form, per-tensor and per-channel weights, per-row A.
	for _, dp := range dtypePairs {
		for _, ok := range outKinds {
			addGemm(l, def, gemmSpec{ad: dp[0], bd: dp[1], ashape: []int{9, 33}, bshape: []int{33, 17}, out: ok})
			addGemm(l, def, gemmSpec{ad: dp[0], bd: dp[1], ashape: []int{9, 33}, bshape: []int{33, 17}, bCol: true, out: ok})
		}
		addGemm(l, def, gemmSpec{ad: dp[0], bd: dp[1], ashape: []int{6, 19}, bshape: []int{19, 10}, aRowZP: true, bColExplicit: true, out: outI32})
		addGemm(l, def, gemmSpec{ad: dp[0], bd: dp[1], ashape: []int{6, 19}, bshape: []int{19, 10}, aRowExplicit: true, bCol: true, out: outU8Fixed})
		addGemm(l, def, gemmSpec{ad: dp[0], bd: dp[1], ashape: []int{6, 19}, bshape: []int{19, 10}, aRowZP: true, bCol: true, out: outF32Bias})
	}
	// Non-square, larger, batched and broadcast shapes, 1-D operands.
	for i, sh := range gemmShapes {
		for j, dp := range dtypePairs {
			ok := outKinds[(i+3*j)%len(outKinds)]
			bcol := j%2 == 1 && len(sh[1]) > 1
			addGemm(l, def, gemmSpec{ad: dp[0], bd: dp[1], ashape: sh[0], bshape: sh[1], bCol: bcol, out: ok})
		}
	}
	// The largest K the engine accepts for the type pair, with operands at
	// the extremes so the accumulator reaches -2^31 + small: u8 255 (zp 0)
	// times s8 -128 (zp 0): K = floor((2^31-1) / (255*128)) = 65793;
	// s8 127 (zp -128) times u8 0 (zp 255): K = floor((2^31-1)/255^2) = 33025.
	limits := []struct {
		name     string
		ad, bd   qtensor.DType
		av, bv   int32
		azp, bzp int32
		K        int
	}{
		{"klimit_u8s8", qtensor.Uint8, qtensor.Int8, 255, -128, 0, 0, 65793},
		{"klimit_s8u8", qtensor.Int8, qtensor.Uint8, 127, 0, -128, 255, 33025},
	}
	for _, lm := range limits {
		ap, bp := qtensor.TensorParams(0.5, lm.azp), qtensor.TensorParams(0.25, lm.bzp)
		for _, ok := range []outKind{outI32, outF32, outU8Fixed, outS8} {
			var o engine.GemmOptions
			out := outputOptions(def, ok, 2, 0.5, []float32{0.25}, stats(lm.K, lm.ad, []int32{lm.azp}, lm.bd, []int32{lm.bzp}))
			out.gemm(&o)
			kk := lm.K
			l.add(Case{Op: "Gemm", Name: lm.name + "_" + string(ok),
				Inputs: inputs(
					func(r *rand.Rand) *qtensor.Tensor {
						return quantT(lm.ad, []int{1, kk}, ap, func(int) int32 { return lm.av })
					},
					func(r *rand.Rand) *qtensor.Tensor {
						// column 0 at the extreme, column 1 random
						return quantT(lm.bd, []int{kk, 2}, bp, func(i int) int32 {
							if i%2 == 0 {
								return lm.bv
							}
							return randElem(r, lm.bd)
						})
					}),
				Build: one(func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
					return b.Gemm(in[0], in[1], o)
				})})
		}
	}
	// Tolerance: float output y = float32(acc)*2^-126 + 2.5*2^-126 with
	// small accumulators: every operand and product is normal but results
	// such as (-2 + 2.5)*2^-126 are denormal, so a flushing device
	// returns ±0 for them.
	{
		ap, bp := qtensor.TensorParams(0x1p-63, 128), qtensor.TensorParams(0x1p-63, 0)
		o := engine.GemmOptions{Output: engine.OutFloat32, FloatBias: []float32{2.5 * 0x1p-126}}
		l.add(Case{Op: "Gemm", Name: "f32_denormal_results", FlushDenormTolerance: true,
			Inputs: inputs(
				func(r *rand.Rand) *qtensor.Tensor {
					return quantT(qtensor.Uint8, []int{8, 3}, ap, func(int) int32 { return 126 + r.Int32N(5) })
				},
				func(r *rand.Rand) *qtensor.Tensor {
					return quantT(qtensor.Int8, []int{3, 8}, bp, func(int) int32 { return r.Int32N(3) - 1 })
				}),
			Build: one(func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
				return b.Gemm(in[0], in[1], o)
			})})
	}
	transposedGemmCases(l)
}

// transposedGemmCases are the cases of a B stored [..., N, K]
// (GemmOptions.TransposeB), each also run on the [K][N] transpose of its B
// without the option (the two outputs must be equal): the size sweep,
// every output form with per-tensor and per-channel B for every type
// pair, per-row and explicit zero points, the batched and broadcast
// shapes, and the largest K. Their parameters come from a generator of
// their own, so the cases above keep theirs.
func transposedGemmCases(l *caseList) {
	def := rand.New(rand.NewPCG(0x71676075, 2))
	for _, n := range Sizes {
		for _, mkn := range [][3]int{{n, 7, 5}, {5, n, 7}, {7, 5, n}} {
			dp := dtypePairs[def.IntN(len(dtypePairs))]
			addGemm(l, def, gemmSpec{ad: dp[0], bd: dp[1], ashape: []int{mkn[0], mkn[1]}, bshape: []int{mkn[1], mkn[2]},
				bCol: def.IntN(2) == 1, out: outKinds[def.IntN(len(outKinds))], transB: true})
		}
	}
	for _, dp := range dtypePairs {
		for _, ok := range outKinds {
			for _, bcol := range []bool{false, true} {
				addGemm(l, def, gemmSpec{ad: dp[0], bd: dp[1], ashape: []int{9, 33}, bshape: []int{33, 17}, bCol: bcol, out: ok, transB: true})
			}
		}
		addGemm(l, def, gemmSpec{ad: dp[0], bd: dp[1], ashape: []int{6, 19}, bshape: []int{19, 10}, aRowZP: true, bColExplicit: true, out: outI32, transB: true})
		addGemm(l, def, gemmSpec{ad: dp[0], bd: dp[1], ashape: []int{6, 19}, bshape: []int{19, 10}, aRowExplicit: true, bCol: true, out: outU8Fixed, transB: true})
		addGemm(l, def, gemmSpec{ad: dp[0], bd: dp[1], ashape: []int{6, 19}, bshape: []int{19, 10}, aRowZP: true, bCol: true, out: outF32Bias, transB: true})
	}
	for i, sh := range gemmShapes {
		for j, dp := range dtypePairs {
			addGemm(l, def, gemmSpec{ad: dp[0], bd: dp[1], ashape: sh[0], bshape: sh[1], bCol: j%2 == 1 && len(sh[1]) > 1,
				out: outKinds[(i+3*j)%len(outKinds)], transB: true})
		}
	}
	// The largest K of u8 x s8 (see gemmCases), B stored [2][K]: row 0 at
	// the extreme, row 1 random.
	const K = 65793
	ap, bp := qtensor.TensorParams(0.5, 0), qtensor.TensorParams(0.25, 0)
	l.add(Case{Op: "Gemm", Name: "klimit_u8s8_i32_bt", OutputsEqual: true,
		Inputs: func(r *rand.Rand) []*qtensor.Tensor {
			a := quantT(qtensor.Uint8, []int{1, K}, ap, func(int) int32 { return 255 })
			bt := quantT(qtensor.Int8, []int{2, K}, bp, func(i int) int32 {
				if i < K {
					return -128
				}
				return randElem(r, qtensor.Int8)
			})
			return []*qtensor.Tensor{a, bt, transposeLast2(bt, bp)}
		},
		Build: func(b *engine.Batch, in []*engine.Tensor) ([]*engine.Tensor, error) {
			yt, err := b.Gemm(in[0], in[1], engine.GemmOptions{TransposeB: true})
			if err != nil {
				return nil, err
			}
			y, err := b.Gemm(in[0], in[2], engine.GemmOptions{})
			if err != nil {
				return nil, err
			}
			return []*engine.Tensor{yt, y}, nil
		}})
}

// convSpec is a convolution geometry.
type convSpec struct {
	name                  string
	n, c, h, w, o, kh, kw int
	oneD                  bool
	strides, dilations    []int
	pads                  []int
	group                 int
}

var convGeometries = []convSpec{
	{name: "basic_k3p1", n: 1, c: 3, h: 7, w: 7, o: 4, kh: 3, kw: 3, pads: []int{1, 1, 1, 1}},
	{name: "n2_nopad", n: 2, c: 2, h: 5, w: 6, o: 3, kh: 3, kw: 3},
	{name: "asympads_0120", n: 1, c: 2, h: 6, w: 7, o: 3, kh: 3, kw: 3, pads: []int{0, 1, 2, 0}},
	{name: "asympads_2001_k2x3", n: 1, c: 3, h: 5, w: 5, o: 2, kh: 2, kw: 3, pads: []int{2, 0, 0, 1}},
	{name: "stride2", n: 1, c: 3, h: 9, w: 9, o: 4, kh: 3, kw: 3, strides: []int{2, 2}, pads: []int{1, 1, 1, 1}},
	{name: "stride21", n: 1, c: 2, h: 8, w: 7, o: 3, kh: 3, kw: 3, strides: []int{2, 1}, pads: []int{1, 0, 1, 0}},
	{name: "dilation2", n: 1, c: 2, h: 9, w: 9, o: 3, kh: 3, kw: 3, dilations: []int{2, 2}, pads: []int{2, 2, 2, 2}},
	{name: "dilation12_k2x3", n: 1, c: 2, h: 6, w: 9, o: 2, kh: 2, kw: 3, dilations: []int{1, 2}},
	{name: "s2d2_asym", n: 2, c: 3, h: 11, w: 10, o: 4, kh: 3, kw: 3, strides: []int{2, 2}, dilations: []int{2, 2}, pads: []int{1, 2, 0, 1}},
	{name: "group2", n: 1, c: 4, h: 6, w: 6, o: 6, kh: 3, kw: 3, pads: []int{1, 1, 1, 1}, group: 2},
	{name: "depthwise", n: 2, c: 5, h: 7, w: 6, o: 5, kh: 3, kw: 3, pads: []int{1, 1, 1, 1}, group: 5},
	{name: "depthwise_mult2_s2", n: 1, c: 3, h: 8, w: 8, o: 6, kh: 3, kw: 3, strides: []int{2, 2}, pads: []int{1, 1, 1, 1}, group: 3},
	{name: "k1x1", n: 1, c: 8, h: 6, w: 6, o: 5, kh: 1, kw: 1},
	{name: "k1x1_s2", n: 2, c: 4, h: 7, w: 7, o: 3, kh: 1, kw: 1, strides: []int{2, 2}},
	{name: "kernel_is_input", n: 1, c: 3, h: 4, w: 4, o: 2, kh: 4, kw: 4},
	{name: "k1x3", n: 1, c: 2, h: 5, w: 7, o: 3, kh: 1, kw: 3, pads: []int{0, 1, 0, 1}},
	{name: "k3x1", n: 1, c: 2, h: 7, w: 5, o: 3, kh: 3, kw: 1, pads: []int{1, 0, 1, 0}},
	{name: "k5x2", n: 1, c: 2, h: 9, w: 6, o: 2, kh: 5, kw: 2, pads: []int{2, 0, 2, 1}},
	{name: "pads_exceed_kernel", n: 1, c: 2, h: 3, w: 3, o: 2, kh: 2, kw: 2, pads: []int{3, 3, 3, 3}},
	{name: "h1_w17", n: 1, c: 3, h: 1, w: 17, o: 2, kh: 1, kw: 3, pads: []int{0, 1, 0, 1}},
	{name: "h17_w1", n: 1, c: 3, h: 17, w: 1, o: 2, kh: 3, kw: 1},
	{name: "h17_w33", n: 1, c: 2, h: 17, w: 33, o: 2, kh: 3, kw: 3, pads: []int{1, 1, 1, 1}},
	{name: "w65", n: 1, c: 1, h: 3, w: 65, o: 2, kh: 3, kw: 3},
	{name: "c17_k1", n: 1, c: 17, h: 4, w: 5, o: 3, kh: 1, kw: 1},
	{name: "c33_k3", n: 1, c: 33, h: 5, w: 5, o: 4, kh: 3, kw: 3, pads: []int{1, 1, 1, 1}},
	{name: "c16_o16_g4", n: 1, c: 16, h: 5, w: 5, o: 16, kh: 3, kw: 3, pads: []int{0, 1, 1, 0}, group: 4},
	{name: "conv1d", n: 2, c: 3, h: 1, w: 17, o: 4, kh: 1, kw: 3, oneD: true, strides: []int{2}, pads: []int{1, 2}},
	{name: "conv1d_depthwise_d2", n: 1, c: 3, h: 1, w: 20, o: 3, kh: 1, kw: 3, oneD: true, dilations: []int{2}, pads: []int{2, 0}, group: 3},
	{name: "conv1d_k1", n: 1, c: 5, h: 1, w: 9, o: 2, kh: 1, kw: 1, oneD: true},
}

func addConv(l *caseList, def *rand.Rand, g convSpec, xd, wd qtensor.DType, wPerChannel, wzpExplicit bool, ok outKind) {
	addConvLayout(l, def, g, xd, wd, wPerChannel, wzpExplicit, ok, engine.NCHW, engine.NCHW)
}

// addConvLayout is addConv with the input in layout xl and the output in
// yl (the name says which when either is NHWC).
func addConvLayout(l *caseList, def *rand.Rand, g convSpec, xd, wd qtensor.DType, wPerChannel, wzpExplicit bool, ok outKind, xl, yl engine.Layout) {
	group := max(g.group, 1)
	xs := xl.Shape(g.n, g.c, g.h, g.w)
	ws := []int{g.o, g.c / group, g.kh, g.kw}
	if g.oneD {
		xs = []int{g.n, g.c, g.w}
		if xl == engine.NHWC {
			xs = []int{g.n, g.w, g.c}
		}
		ws = []int{g.o, g.c / group, g.kw}
	}
	xp := params(def, xd, xs, qtensor.PerTensor, 0, 0)
	wp := params(def, wd, ws, qtensor.PerTensor, 0, 0)
	if wPerChannel {
		wp = params(def, wd, ws, qtensor.PerAxis, 0, 0)
		narrowScales(def, &wp)
	}
	o := engine.ConvOptions{Strides: g.strides, Dilations: g.dilations, Pads: g.pads, Group: g.group, XLayout: xl, YLayout: yl}
	if wzpExplicit {
		o.WZP = make([]int32, g.o)
		for i := range o.WZP {
			o.WZP[i] = randZP(def, wd)
		}
	}
	wzp := wp.ZeroPoints
	if o.WZP != nil {
		wzp = o.WZP
	}
	out := outputOptions(def, ok, g.o, xp.Scales[0], wp.Scales, stats(g.c/group*g.kh*g.kw, xd, xp.ZeroPoints, wd, wzp))
	out.conv(&o)
	name := fmt.Sprintf("%s_%s%s_%s", g.name, short(xd), short(wd), ok)
	if wPerChannel {
		name += "_wch"
	}
	if wzpExplicit {
		name += "_wzp"
	}
	if xl != engine.NCHW || yl != engine.NCHW {
		name += "_" + layoutName(xl, yl)
	}
	l.add(Case{Op: "Conv", Name: name,
		Inputs: inputs(
			func(r *rand.Rand) *qtensor.Tensor { return randQ(r, xd, xs, xp) },
			func(r *rand.Rand) *qtensor.Tensor { return randQ(r, wd, ws, wp) }),
		Build: one(func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
			return b.Conv(in[0], in[1], o)
		})})
}

func convCases(l *caseList, def *rand.Rand) {
	k := 0
	for _, g := range convGeometries {
		for j, dp := range dtypePairs {
			k++
			addConv(l, def, g, dp[0], dp[1], j%2 == 1, j == 2, outKinds[k%len(outKinds)])
		}
	}
	// Every output form on two geometries, per-tensor and per-channel weights.
	for _, g := range []convSpec{convGeometries[0], convGeometries[10]} {
		for i, ok := range outKinds {
			dp := dtypePairs[i%len(dtypePairs)]
			addConv(l, def, g, dp[0], dp[1], false, false, ok)
			addConv(l, def, g, dp[0], dp[1], true, false, ok)
		}
	}
	// Every geometry with a channels-last input, output or both, the type
	// pairs and output kinds in turn; their parameters from a generator of
	// their own, so that the cases before them keep theirs.
	lay := rand.New(rand.NewPCG(0x6e687763, 1))
	for i, g := range convGeometries {
		for j, ls := range nhwcLayouts {
			dp := dtypePairs[(i+j)%len(dtypePairs)]
			addConvLayout(l, lay, g, dp[0], dp[1], (i+j)%2 == 1, (i+j)%5 == 2, outKinds[(i+2*j)%len(outKinds)], ls[0], ls[1])
		}
	}
}

// nhwcLayouts are the (input, output) layout pairs other than NCHW, NCHW.
var nhwcLayouts = [][2]engine.Layout{{engine.NHWC, engine.NHWC}, {engine.NCHW, engine.NHWC}, {engine.NHWC, engine.NCHW}}

// layoutName names an (input, output) layout pair in a case name.
func layoutName(xl, yl engine.Layout) string {
	short := func(l engine.Layout) string {
		if l == engine.NHWC {
			return "nhwc"
		}
		return "nchw"
	}
	if xl == yl {
		return short(xl)
	}
	return short(xl) + "2" + short(yl)
}

type poolSpec struct {
	name                     string
	n, c, h, w, kh, kw       int
	strides, dilations, pads []int
}

var poolGeometries = []poolSpec{
	{name: "k2s2", n: 1, c: 2, h: 4, w: 4, kh: 2, kw: 2, strides: []int{2, 2}},
	{name: "k3p1", n: 1, c: 3, h: 5, w: 5, kh: 3, kw: 3, pads: []int{1, 1, 1, 1}},
	{name: "k3s2_asym", n: 2, c: 2, h: 6, w: 7, kh: 3, kw: 3, strides: []int{2, 2}, pads: []int{0, 1, 1, 0}},
	{name: "k3d2p2", n: 1, c: 2, h: 7, w: 7, kh: 3, kw: 3, dilations: []int{2, 2}, pads: []int{2, 2, 2, 2}},
	{name: "k2x3_s12", n: 1, c: 2, h: 5, w: 9, kh: 2, kw: 3, strides: []int{1, 2}, pads: []int{0, 1, 1, 1}},
	{name: "k1", n: 1, c: 3, h: 3, w: 4, kh: 1, kw: 1},
	{name: "pads_exceed_kernel", n: 1, c: 2, h: 3, w: 3, kh: 2, kw: 2, pads: []int{3, 2, 3, 2}},
	{name: "k3s3_floor", n: 1, c: 2, h: 10, w: 8, kh: 3, kw: 3, strides: []int{3, 3}},
	{name: "global", n: 2, c: 3, h: 7, w: 5, kh: 7, kw: 5},
	{name: "odd_17x16", n: 2, c: 3, h: 17, w: 16, kh: 3, kw: 2, strides: []int{2, 1}, pads: []int{1, 0, 0, 1}},
	{name: "w65", n: 1, c: 1, h: 2, w: 65, kh: 2, kw: 2, pads: []int{0, 0, 0, 1}},
	{name: "k2x2_ties", n: 1, c: 4, h: 8, w: 8, kh: 2, kw: 2},
	{name: "k1x2_ties", n: 1, c: 4, h: 4, w: 9, kh: 1, kw: 2, strides: []int{1, 1}},
}

func poolCases(l *caseList, def *rand.Rand) {
	for _, g := range poolGeometries {
		for _, d := range byteTypes {
			for _, mode := range []string{"max", "avg", "avg_countpad"} {
				if mode == "avg_countpad" && g.pads == nil {
					continue
				}
				addPool(l, def, g, d, mode, engine.NCHW, engine.NCHW)
			}
		}
	}
	// Channels-last inputs and outputs: every geometry, both modes, the
	// layout pairs and types in turn (parameters from a generator of their
	// own, as for Conv).
	lay := rand.New(rand.NewPCG(0x6e687763, 2))
	for i, g := range poolGeometries {
		for j, ls := range nhwcLayouts {
			for k, mode := range []string{"max", "avg"} {
				addPool(l, lay, g, byteTypes[(i+j+k)%2], mode, ls[0], ls[1])
			}
		}
	}
}

// addPool adds a pooling case of geometry g, type d and mode ("max",
// "avg", "avg_countpad"), the input in layout xl and the output in yl.
func addPool(l *caseList, def *rand.Rand, g poolSpec, d qtensor.DType, mode string, xl, yl engine.Layout) {
	shape := xl.Shape(g.n, g.c, g.h, g.w)
	p := params(def, d, shape, qtensor.PerTensor, 0, 0)
	if mode == "avg" && g.name == "k2s2" {
		p.ZeroPoints[0] = d.QMax() // the mean of (q - zp) is <= 0
	}
	ties := len(g.name) > 5 && g.name[len(g.name)-5:] == "_ties"
	o := engine.PoolOptions{Kernel: []int{g.kh, g.kw}, Strides: g.strides, Dilations: g.dilations, Pads: g.pads, CountIncludePad: mode == "avg_countpad",
		XLayout: xl, YLayout: yl}
	name := fmt.Sprintf("%s_%s_%s", g.name, short(d), mode)
	if xl != engine.NCHW || yl != engine.NCHW {
		name += "_" + layoutName(xl, yl)
	}
	l.add(Case{Op: map[bool]string{true: "MaxPool", false: "AvgPool"}[mode == "max"],
		Name: name,
		Inputs: inputs(func(r *rand.Rand) *qtensor.Tensor {
			if ties {
				// values zp-3..zp+3: window means of exactly .5, 1.5, 2.5 and
				// their negatives are frequent.
				zp := p.ZeroPoints[0]
				return quantT(d, shape, p, func(int) int32 { return zp + r.Int32N(7) - 3 })
			}
			return randQ(r, d, shape, p)
		}),
		Build: one(func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error) {
			if mode == "max" {
				return b.MaxPool(in[0], o)
			}
			return b.AvgPool(in[0], o)
		})})
}

func chainCases(l *caseList, def *rand.Rand) {
	// The same batch run twice: reductions must start from zero on every
	// run (a GPU backend that does not clear its atomic counters doubles
	// them), and every output is rewritten.
	{
		ap := qtensor.TensorParams(0.1, 7)
		wp := params(def, qtensor.Int8, []int{16, 5}, qtensor.PerAxis, 1, 0)
		l.add(Case{Op: "Chain", Name: "run_twice_histogram_minmax_quantize_gemm",
			Inputs: inputs(
				func(r *rand.Rand) *qtensor.Tensor {
					return floatsT([]int{3, 40}, func(int) float32 { return anyFloat(r, 4) })
				},
				func(r *rand.Rand) *qtensor.Tensor { return randQ(r, qtensor.Uint8, []int{4, 16}, ap) },
				func(r *rand.Rand) *qtensor.Tensor { return randQ(r, qtensor.Int8, []int{16, 5}, wp) }),
			Exec: func(ctx context.Context, e *engine.Engine, in []*engine.Tensor) ([]*engine.Tensor, error) {
				b := e.NewBatch()
				var outs []*engine.Tensor
				rec := func(t *engine.Tensor, err error) error {
					if err == nil {
						outs = append(outs, t)
					}
					return err
				}
				err := rec(b.Histogram(in[0], 10, -3, 3))
				if err == nil {
					err = rec(b.MinMax(in[0], 0))
				}
				if err == nil {
					err = rec(b.Quantize(in[0], qtensor.Uint8, qtensor.TensorParams(0.03, 100), qtensor.RoundONNX))
				}
				if err == nil {
					err = rec(b.Gemm(in[1], in[2], engine.GemmOptions{Bias: []int32{5}}))
				}
				for i := 0; err == nil && i < 2; i++ {
					err = b.Run(ctx)
				}
				if err != nil {
					for _, t := range outs {
						t.Release()
					}
					return nil, err
				}
				return outs, nil
			}})
	}
	// Quantize then Dequantize then Quantize again in one batch: later ops
	// read earlier outputs.
	{
		s := []int{5, 33}
		p := params(def, qtensor.Int8, s, qtensor.PerAxis, 1, 0)
		p2 := params(def, qtensor.Uint4, s, qtensor.PerBlock, 1, 8)
		l.add(Case{Op: "Chain", Name: "quantize_dequantize_quantize",
			Inputs: inputs(func(r *rand.Rand) *qtensor.Tensor { return quantInput(r, qtensor.Int8, s, p) }),
			Build: func(b *engine.Batch, in []*engine.Tensor) ([]*engine.Tensor, error) {
				q, err := b.Quantize(in[0], qtensor.Int8, p, qtensor.RoundONNX)
				if err != nil {
					return nil, err
				}
				x, err := b.Dequantize(q)
				if err != nil {
					return nil, err
				}
				q2, err := b.Quantize(x, qtensor.Uint4, p2, qtensor.RoundTorch)
				if err != nil {
					return nil, err
				}
				return []*engine.Tensor{q, x, q2}, nil
			}})
	}
	// Quantize activations, GEMM into int32, requantize per column, ReLU,
	// and a MinMax of the float input: a small layer in one submission.
	{
		ap := qtensor.TensorParams(0.05, 3)
		wp := params(def, qtensor.Int8, []int{24, 16}, qtensor.PerAxis, 1, 0)
		l.add(Case{Op: "Chain", Name: "quantize_gemm_requantize_relu_minmax",
			Inputs: inputs(
				func(r *rand.Rand) *qtensor.Tensor { return quantInput(r, qtensor.Uint8, []int{2, 8, 24}, ap) },
				func(r *rand.Rand) *qtensor.Tensor { return randQ(r, qtensor.Int8, []int{24, 16}, wp) }),
			Build: func(b *engine.Batch, in []*engine.Tensor) ([]*engine.Tensor, error) {
				a, err := b.Quantize(in[0], qtensor.Uint8, ap, qtensor.RoundONNX)
				if err != nil {
					return nil, err
				}
				acc, err := b.Gemm(a, in[1], engine.GemmOptions{})
				if err != nil {
					return nil, err
				}
				scales := make([]float32, 16)
				for i := range scales {
					scales[i] = ap.Scales[0] * wp.Scales[i]
				}
				y, err := b.Requantize(acc, scales, 2, qtensor.Int8, 0.02, -5, false)
				if err != nil {
					return nil, err
				}
				rl, err := b.ReLU(y)
				if err != nil {
					return nil, err
				}
				mx, err := b.MinMax(in[0], 1)
				if err != nil {
					return nil, err
				}
				return []*engine.Tensor{a, acc, y, rl, mx}, nil
			}})
	}
	// Conv into quantized output then AvgPool then Add with itself.
	{
		xp := qtensor.TensorParams(0.1, 128)
		wp := params(def, qtensor.Int8, []int{4, 3, 3, 3}, qtensor.PerAxis, 0, 0)
		l.add(Case{Op: "Chain", Name: "conv_avgpool_add",
			Inputs: inputs(
				func(r *rand.Rand) *qtensor.Tensor { return randQ(r, qtensor.Uint8, []int{1, 3, 9, 9}, xp) },
				func(r *rand.Rand) *qtensor.Tensor { return randQ(r, qtensor.Int8, []int{4, 3, 3, 3}, wp) }),
			Build: func(b *engine.Batch, in []*engine.Tensor) ([]*engine.Tensor, error) {
				y, err := b.Conv(in[0], in[1], engine.ConvOptions{Pads: []int{1, 1, 1, 1},
					Output: engine.OutQuantized, YType: qtensor.Uint8, YScale: 2, YZP: 100, Fixed: true})
				if err != nil {
					return nil, err
				}
				p, err := b.AvgPool(y, engine.PoolOptions{Kernel: []int{2, 2}, Strides: []int{2, 2}})
				if err != nil {
					return nil, err
				}
				s, err := b.Add(p, p, 3, 7)
				if err != nil {
					return nil, err
				}
				return []*engine.Tensor{y, p, s}, nil
			}})
	}
}
