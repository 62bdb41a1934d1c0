package tests

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/qgpu/qgpu/qtensor"
)

// Input generators. They panic on a suite bug (invalid params); runner
// turns that into a failed case.

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func numel(shape []int) int { return must(qtensor.NumElements(shape)) }

// specials are float32 values every float input mixes in.
var specials = []float32{
	0, negZero, inf, -inf, nan,
	0x1p-149, -0x1p-149, 0x1p-127, -0x1.8p-130, // denormals
	0x1p-126, -0x1p-126, // smallest normals
	math.MaxFloat32, -math.MaxFloat32, 0x1p100, -0x1p100, 1, -1, 0.5, -0.5,
}

var (
	negZero = float32(math.Copysign(0, -1))
	inf     = float32(math.Inf(1))
	nan     = float32(math.NaN())
)

// logUniform returns a random float32 of any magnitude 2^[-149, 128) and
// random sign.
func logUniform(r *rand.Rand) float32 {
	e := r.IntN(277) - 149
	m := 1 + r.Float64()
	v := float32(math.Ldexp(m, e))
	if r.IntN(2) == 0 {
		v = -v
	}
	return v
}

// quantFloat returns a float32 input for quantization with (scale, zp) into
// [qmin, qmax]: mostly values in and around the range, exact ties
// (k+0.5)*scale, their float neighbours, integer multiples, specials and
// values of any magnitude.
func quantFloat(r *rand.Rand, s float32, zp, qmin, qmax int32) float32 {
	k := float32(qmin-zp-2) + float32(r.IntN(int(qmax-qmin)+4))
	switch p := r.IntN(100); {
	case p < 45:
		lo := float64(qmin-zp) - 3
		hi := float64(qmax-zp) + 3
		return float32(lo+(hi-lo)*r.Float64()) * s
	case p < 62:
		return (k + 0.5) * s // an exact tie when representable
	case p < 72:
		t := (k + 0.5) * s
		if r.IntN(2) == 0 {
			return math.Nextafter32(t, inf)
		}
		return math.Nextafter32(t, -inf)
	case p < 78:
		return k * s
	case p < 88:
		return specials[r.IntN(len(specials))]
	default:
		return logUniform(r)
	}
}

// anyFloat returns a float32 of a mixture: uniform in [-a, a], specials and
// any magnitude.
func anyFloat(r *rand.Rand, a float32) float32 {
	switch p := r.IntN(100); {
	case p < 75:
		return float32(2*r.Float64()-1) * a
	case p < 87:
		return specials[r.IntN(len(specials))]
	default:
		return logUniform(r)
	}
}

// floatsT returns a float32 tensor with values from f.
func floatsT(shape []int, f func(i int) float32) *qtensor.Tensor {
	x := make([]float32, numel(shape))
	for i := range x {
		x[i] = f(i)
	}
	return must(qtensor.FromFloat32(shape, x))
}

// int32T returns an int32 tensor with values from f.
func int32T(shape []int, f func(i int) int32) *qtensor.Tensor {
	x := make([]int32, numel(shape))
	for i := range x {
		x[i] = f(i)
	}
	return must(qtensor.FromInt32(shape, x))
}

// quantT returns a quantized tensor with values from f (clamped into the
// type's range).
func quantT(d qtensor.DType, shape []int, p qtensor.Params, f func(i int) int32) *qtensor.Tensor {
	t := must(qtensor.New(d, shape, p))
	for i := range t.Len() {
		t.Set(i, min(max(f(i), d.QMin()), d.QMax()))
	}
	return t
}

// randQ returns a quantized tensor with uniform random values, a tenth of
// them at the type's extremes.
func randQ(r *rand.Rand, d qtensor.DType, shape []int, p qtensor.Params) *qtensor.Tensor {
	return quantT(d, shape, p, func(int) int32 { return randElem(r, d) })
}

func randElem(r *rand.Rand, d qtensor.DType) int32 {
	switch r.IntN(20) {
	case 0:
		return d.QMin()
	case 1:
		return d.QMax()
	}
	return d.QMin() + r.Int32N(d.QMax()-d.QMin()+1)
}

// randZP returns a random zero point of d, now and then an extreme.
func randZP(r *rand.Rand, d qtensor.DType) int32 {
	switch r.IntN(8) {
	case 0:
		return d.QMin()
	case 1:
		return d.QMax()
	case 2:
		if d.Signed() {
			return 0
		}
		return (d.QMax() + 1) / 2
	}
	return d.QMin() + r.Int32N(d.QMax()-d.QMin()+1)
}

// scalePool are representative scales: short mantissas (exact ties), long
// ones, powers of two and the domain edges.
var scalePool = []float32{1, 0.5, 0.375, 0.1, 0.0078125, 0x1p-15, 0.017, 1e-3, 3, 255.0 / 3, 0.0123456789, 7.25}

func randScale(r *rand.Rand) float32 {
	if r.IntN(3) == 0 {
		return scalePool[r.IntN(len(scalePool))]
	}
	return float32(math.Ldexp(1+r.Float64(), r.IntN(16)-12))
}

// params makes quantization parameters of granularity g (axis, block size
// where needed) with random scales and zero points for shape.
func params(r *rand.Rand, d qtensor.DType, shape []int, g qtensor.Granularity, axis, block int) qtensor.Params {
	p := qtensor.Params{Granularity: g, Axis: axis, BlockSize: block}
	n := must(p.NumPairs(shape))
	p.Scales = make([]float32, n)
	p.ZeroPoints = make([]int32, n)
	for i := range n {
		p.Scales[i] = randScale(r)
		p.ZeroPoints[i] = randZP(r, d)
	}
	if err := p.Validate(d, shape); err != nil {
		panic(fmt.Sprintf("suite params: %v", err))
	}
	return p
}

// quantInput returns float32 inputs for quantizing into d with params p.
func quantInput(r *rand.Rand, d qtensor.DType, shape []int, p qtensor.Params) *qtensor.Tensor {
	ix := p.Indexer(shape)
	return floatsT(shape, func(i int) float32 {
		k := ix.Pair(i)
		return quantFloat(r, p.Scales[k], p.ZeroPoints[k], d.QMin(), d.QMax())
	})
}
