package gputest

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/qtensor"
	"github.com/qgpu/qgpu/shaders"
)

// divPairs returns adversarial and random (x, s) pairs for the division
// emulation: quotients near the midpoints between floats, quotients with
// denormal results and exact ties there, overflow, zeros, infinities, NaN,
// denormal operands, and random bit patterns.
func divPairs(seed uint64, n int) (xs, ss []float32) {
	r := rand.New(rand.NewPCG(seed, 7))
	inf := float32(math.Inf(1))
	randNormal := func(lo, hi int) float32 {
		return float32(math.Ldexp(1+r.Float64(), lo+r.IntN(hi-lo+1)))
	}
	specials := []float32{0, float32(math.Copysign(0, -1)), inf, -inf, float32(math.NaN()), 0x1p-149, -0x1p-149, 0x1.fffffcp-127, 0x1p-126, math.MaxFloat32, -math.MaxFloat32, 1, 3, 0.1}
	for len(xs) < n {
		var x, s float32
		switch r.IntN(8) {
		case 0: // random bit patterns
			x, s = math.Float32frombits(r.Uint32()), math.Float32frombits(r.Uint32())
		case 1: // specials against anything
			x, s = specials[r.IntN(len(specials))], math.Float32frombits(r.Uint32())
			if r.IntN(2) == 0 {
				x, s = s, x
			}
		case 2, 3: // quotient near the midpoint between q and its successor
			q := randNormal(-100, 100)
			s = randNormal(-60, 60)
			mid := (float64(q) + float64(math.Nextafter32(q, inf))) / 2
			x = float32(mid * float64(s))
			if d := r.IntN(5) - 2; d != 0 {
				for range d * d {
					x = math.Nextafter32(x, float32(d)*inf)
				}
			}
		case 4: // denormal results, with exact ties for power-of-two divisors
			x = float32(math.Ldexp(float64(1+r.IntN(1<<12)), -140+r.IntN(20)))
			s = float32(math.Ldexp(1, r.IntN(30)))
			if r.IntN(2) == 0 {
				s = randNormal(0, 30)
			}
		case 5: // overflow edge
			x = randNormal(100, 127)
			s = randNormal(-30, 0)
		case 6: // denormal operands
			x = math.Float32frombits(r.Uint32() & 0x807fffff)
			s = math.Float32frombits(r.Uint32() & 0x807fffff)
			if r.IntN(2) == 0 {
				s = randNormal(-130, -100)
			}
		default: // quantize-like
			s = randNormal(-125, 125)
			x = s * float32(200*r.Float64()-100)
		}
		if r.IntN(2) == 0 {
			x = -x
		}
		xs, ss = append(xs, x), append(ss, s)
	}
	return xs, ss
}

// exactDivision checks the integer-only division of quantize_exactdiv bit
// for bit against Go's float32 division (IEEE round to nearest even) on
// the device, over adversarial and random pairs, and the division
// self-test of both quantize kernels (the plain one may fail it only on a
// device whose self-test chose the emulation).
func exactDivision(t *testing.T, tg *Target) {
	b := tg.open(t, true, false).GPU()
	xs, ss := divPairs(1, 1<<16)
	got, err := b.Quotients(gpu.ExactDivKernel, xs, ss)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i := range xs {
		want := xs[i] / ss[i]
		g := math.Float32frombits(got[i])
		if want != want && g != g {
			continue
		}
		if got[i] != math.Float32bits(want) {
			if bad < 5 {
				t.Errorf("%g / %g (%#08x / %#08x) = %g (%#08x), want %g (%#08x)", xs[i], ss[i],
					math.Float32bits(xs[i]), math.Float32bits(ss[i]), g, got[i], want, math.Float32bits(want))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d quotients differ", bad, len(xs))
	}
	plainOK := tg.open(t, false, false).Device().Caps["kernel_quantize_division"] == "plain"
	for _, k := range []string{gpu.ExactDivKernel, "quantize"} {
		n, first, err := b.DivisionMismatches(k)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 && (k == gpu.ExactDivKernel || plainOK) {
			t.Errorf("%s: %d self-test results differ: %s", k, n, first)
		}
	}
}

// selfTestSensitivity: the division self-test's pairs must catch a
// quotient that is not correctly rounded. The multiplying mode multiplies
// by the float32 reciprocal, which is wrong near ties: on the same pairs
// it must disagree with qtensor.Quantize (and agree with
// qtensor.QuantizeTorch, which checks the harness itself).
func selfTestSensitivity(t *testing.T, tg *Target) {
	b := tg.open(t, false, false).GPU()
	xs, ss := gpu.DivisionPairs()
	inv := make([]float32, len(ss))
	for i, s := range ss {
		inv[i] = 1 / s
	}
	q, err := b.QuantizeInt8("quantize", shaders.QuantizeMultiply, xs, inv)
	if err != nil {
		t.Fatal(err)
	}
	onnx, torch := 0, 0
	for i := range xs {
		if q[i] != qtensor.Quantize(xs[i], ss[i], 0, -128, 127) {
			onnx++
		}
		if q[i] != qtensor.QuantizeTorch(xs[i], ss[i], 0, -128, 127) {
			torch++
		}
	}
	if onnx == 0 || torch != 0 {
		t.Errorf("reciprocal quantization of %d near-tie pairs: %d differ from Quantize (want > 0), %d from QuantizeTorch (want 0)", len(xs), onnx, torch)
	}
	t.Logf("reciprocal products change %d of %d near-tie quantizations", onnx, len(xs))
	kernel := "quantize"
	if b.Device().Caps["kernel_quantize_division"] == "exactdiv" {
		kernel = gpu.ExactDivKernel
	}
	if bad, first, err := b.DivisionMismatches(kernel); err != nil || bad != 0 {
		t.Errorf("division self-test of %s on the open backend: %d mismatches (%s), %v", kernel, bad, first, err)
	}
}
