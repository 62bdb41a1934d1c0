package gpu

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/qgpu/qgpu/qtensor"
	"github.com/qgpu/qgpu/shaders"
)

// selfTest is what the start-up self-tests measured (for Caps).
type selfTest struct {
	division  string // the division test's outcome
	denormals string // "preserve" or "flush" (tests.CapDenormals)
}

// SelfTestPairs is the number of (x, scale) pairs of DivisionPairs.
const SelfTestPairs = 4096

// DivisionPairs returns the (x, scale) pairs of the start-up division
// self-test, fixed: valid scales (normal, 2^-125 to 2^125: power-of-two
// ones, ones of few significant bits, random ones and the ends of the
// range) with values within two ulps of quantize's rounding ties
// (k + 1/2) * scale, where a quotient one ulp off rounds to another
// integer, then random values. Every x, scale and quotient is normal, so
// devices that flush denormals still divide them exactly when their
// division is correctly rounded.
func DivisionPairs() (xs, ss []float32) {
	r := rand.New(rand.NewPCG(0x71676075, 0x51f7e57))
	scale := func(lo, hi int) float32 {
		e := lo + r.IntN(hi-lo+1)
		switch r.IntN(4) {
		case 0:
			return float32(math.Ldexp(1, e))
		case 1:
			return float32(math.Ldexp(float64(8+r.IntN(8))/8, e))
		}
		return float32(math.Ldexp(1+r.Float64(), e))
	}
	for len(xs) < 3*SelfTestPairs/4 {
		s := scale(-125, 124)
		k := float64(r.IntN(255) - 128)
		if len(xs) < 64 { // the ends of the valid scale range
			s = float32(math.Ldexp(1+r.Float64()/2, []int{-125, 124}[len(xs)/5%2]))
			k = float64(r.IntN(3) - 1)
		}
		t := float32((k + 0.5) * float64(s))
		if math.IsInf(float64(t), 0) {
			continue
		}
		for d := -2; d <= 2; d++ {
			x := t
			for range max(d, -d) {
				x = math.Nextafter32(x, float32(math.Copysign(math.Inf(1), float64(d))))
			}
			xs, ss = append(xs, x), append(ss, s)
		}
	}
	for len(xs) < SelfTestPairs {
		s := scale(-40, 40)
		x := float32(r.NormFloat64() * 100 * float64(s))
		if math.Abs(float64(x)) >= 0x1p-126 && math.Abs(float64(x/s)) >= 0x1p-126 {
			xs, ss = append(xs, x), append(ss, s)
		}
	}
	return xs[:SelfTestPairs], ss[:SelfTestPairs]
}

// selfTest measures the device's denormal behaviour and picks the quantize
// division: the plain float division when it agrees with the reference on
// every self-test pair, else the integer emulation (which must agree).
func (b *Backend) selfTest() error {
	den, err := b.probeDenormals()
	if err != nil {
		return err
	}
	b.self.denormals = den
	n := SelfTestPairs
	plain := ""
	if !b.kern.exactDiv {
		bad, _, err := b.DivisionMismatches("quantize")
		if err != nil {
			return err
		}
		if bad == 0 {
			b.self.division = fmt.Sprintf("plain: 0 of %d pairs differ", n)
			return nil
		}
		b.kern.exactDiv = true
		plain = fmt.Sprintf("plain: %d of %d pairs differ; ", bad, n)
	} else {
		plain = "(forced) "
	}
	bad, first, err := b.DivisionMismatches(ExactDivKernel)
	if err != nil {
		return err
	}
	if bad > 0 {
		return fmt.Errorf("%s%d of %d results differ from the reference even with the exact division (first: %s)", plain, bad, n, first)
	}
	b.self.division = fmt.Sprintf("%sexactdiv: 0 of %d pairs differ", plain, n)
	return nil
}

// DivisionMismatches runs the division self-test with kernel (quantize or
// a variant of it) on DivisionPairs: it quantizes every x with its scale to
// int8 (zero point 0) and counts the results that differ from
// qtensor.Quantize, plus the quotients x / scale (QuantizeQuotient) that
// are not the correctly rounded float32, also where an error would not
// change the integer. first describes the first mismatch.
func (b *Backend) DivisionMismatches(kernel string) (bad int, first string, err error) {
	xs, ss := DivisionPairs()
	q, err := b.QuantizeInt8(kernel, shaders.QuantizeDivide, xs, ss)
	if err != nil {
		return 0, "", err
	}
	quot, err := b.Quotients(kernel, xs, ss)
	if err != nil {
		return 0, "", err
	}
	for i := range xs {
		want := qtensor.Quantize(xs[i], ss[i], 0, -128, 127)
		wantQ := math.Float32bits(xs[i] / ss[i])
		if q[i] != want || quot[i] != wantQ {
			if bad == 0 {
				first = fmt.Sprintf("%s: %g / %g = %g (bits %#08x), quantized %d; want %g, %d",
					kernel, xs[i], ss[i], math.Float32frombits(quot[i]), quot[i], q[i], xs[i]/ss[i], want)
			}
			bad++
		}
	}
	return bad, first, nil
}

// quantizeBlock is the quantize kernel's block for int8 per-axis
// quantization of n elements with one (scale, zero point) pair each: the
// scales at aux word 0, the zero points (0) at aux word n.
func quantizeBlock(n int, mode shaders.QuantizeMode) *shaders.QuantizeParams {
	return &shaders.QuantizeParams{N: uint32(n), Type: uint32(qtensor.Int8), QMin: -128, QMax: 127,
		Granularity: uint32(qtensor.PerAxis), Inner: 1, AxisLen: uint32(n), Mode: mode, Scales: 0, ZeroPoints: uint32(n)}
}

// rawPairs is the kernel input of (x, scale) pairs: x words, and aux
// words holding the scales, then zero points 0.
func rawPairs(xs, ss []float32) (x, aux []uint32) {
	x, aux = make([]uint32, len(xs)), make([]uint32, 2*len(xs))
	for i := range xs {
		x[i], aux[i] = math.Float32bits(xs[i]), math.Float32bits(ss[i])
	}
	return x, aux
}

// QuantizeInt8 runs kernel (quantize or a variant of it) in mode
// QuantizeDivide (xs[i] / ss[i]) or QuantizeMultiply (xs[i] * ss[i]: pass
// reciprocals) to int8 with zero point 0, and returns the results.
func (b *Backend) QuantizeInt8(kernel string, mode shaders.QuantizeMode, xs, ss []float32) ([]int32, error) {
	n := len(xs)
	x, aux := rawPairs(xs, ss)
	w, err := b.dispatchRaw(kernel, quantizeBlock(n, mode), x, aux, (n+3)/4)
	if err != nil {
		return nil, err
	}
	q := make([]int32, n)
	for i := range q {
		q[i] = int32(int8(w[i/4] >> (8 * (i % 4))))
	}
	return q, nil
}

// Quotients returns the bits of the float32 quotients xs[i] / ss[i] as
// kernel (quantize or a variant of it) computes them for QuantizeDivide
// (mode QuantizeQuotient).
func (b *Backend) Quotients(kernel string, xs, ss []float32) ([]uint32, error) {
	x, aux := rawPairs(xs, ss)
	return b.dispatchRaw(kernel, quantizeBlock(len(xs), shaders.QuantizeQuotient), x, aux, len(xs))
}

// probeDenormals dequantizes q = 3 with the denormal scale 2^-130 (the
// kernel's float(q - zp) * scale) and reports "flush" when the denormal
// product comes back as zero, "preserve" when exact.
func (b *Backend) probeDenormals() (string, error) {
	s := float32(math.Ldexp(1, -130))
	want := 3 * s
	p := &shaders.QuantizeParams{N: 1, Type: uint32(qtensor.Int8), QMin: -128, QMax: 127, Mode: shaders.Dequantize, Scales: 0, ZeroPoints: 1}
	y, err := b.dispatchRaw("quantize", p, []uint32{3}, []uint32{math.Float32bits(s), 0}, 1)
	if err != nil {
		return "", err
	}
	switch got := math.Float32frombits(y[0]); got {
	case want:
		return "preserve", nil
	case 0:
		return "flush", nil
	default:
		return "", fmt.Errorf("dequantize probe: 3 * 2^-130 gave %g (bits %08x), want %g or 0", got, y[0], want)
	}
}

// dispatchRaw runs one launch of kernel (a kernel or variant) with block p
// on scratch memory: x words at binding 0, aux words at binding 3, and
// returns outWords words of binding 2 (initially zero). For self-tests and
// tests, which need launches no engine op plans.
func (b *Backend) dispatchRaw(kernel string, p shaders.Params, x, aux []uint32, outWords int) ([]uint32, error) {
	g := (outWords + shaders.LocalSize - 1) / shaders.LocalSize
	if g > MaxGroupsX {
		return nil, fmt.Errorf("%s: raw dispatch of %d words is too large", b.api, outWords)
	}
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	var mems []Memory
	defer func() {
		for _, m := range mems {
			b.pool.put(m)
		}
	}()
	k, err := b.kernel(kernel)
	if err != nil {
		return nil, b.wrap("kernel "+kernel, err)
	}
	d := Dispatch{Kernel: k, Name: kernel, Params: p.AppendTo(make([]byte, 0, shaders.ParamBytes))[:shaders.ParamBytes], Groups: [3]uint32{uint32(max(g, 1)), 1, 1}}
	var s Submission
	for _, in := range []struct {
		slot  int
		words []uint32
		n     int
	}{{SlotX, x, len(x)}, {SlotY, nil, outWords}, {SlotAux, aux, len(aux)}} {
		size := int64(4 * max(in.n, 1))
		m, err := b.pool.get(size)
		if err != nil {
			return nil, err
		}
		mems = append(mems, m)
		d.Bind[in.slot] = Binding{Mem: m, Size: size}
		if in.words == nil {
			if err := m.Zero(size); err != nil {
				return nil, b.wrap("self-test zero", err)
			}
			continue
		}
		bs := make([]byte, 4*len(in.words))
		for i, v := range in.words {
			binary.LittleEndian.PutUint32(bs[4*i:], v)
		}
		s.Uploads = append(s.Uploads, Upload{Mem: m, Data: bs})
	}
	d.Bind[SlotW] = Binding{Mem: b.dummy, Size: b.dummy.Size()}
	s.Dispatches = []Dispatch{d}
	if _, err := b.rt.Submit(context.Background(), &s, false); err != nil {
		return nil, b.wrap("self-test dispatch "+kernel, err)
	}
	out := make([]byte, 4*outWords)
	if err := d.Bind[SlotY].Mem.Read(0, out); err != nil {
		return nil, b.wrap("self-test read", err)
	}
	w := make([]uint32, outWords)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(out[4*i:])
	}
	return w, nil
}
