package vulkan

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/qgpu/qgpu/backends/vulkan/internal/vkrt"
	"github.com/qgpu/qgpu/qtensor"
	"github.com/qgpu/qgpu/shaders"
)

// dispatchRaw runs one launch of kernel on scratch buffers: x words at
// binding 0, aux words at binding 3, and returns outWords words of binding 2.
// For self-tests and tests, which need launches no engine op plans.
func (b *Backend) dispatchRaw(kernel string, params shaders.Params, x, aux []uint32, outWords int) ([]uint32, error) {
	bufs := make([]*vkrt.Buffer, 0, 3)
	defer func() {
		for _, vb := range bufs {
			b.pool.put(vb)
		}
	}()
	upload := func(w []uint32, n int) (*vkrt.Buffer, error) {
		vb, err := b.pool.get(int64(4 * max(n, 1)))
		if err != nil {
			return nil, err
		}
		bufs = append(bufs, vb)
		bs := make([]byte, 4*max(n, 1))
		for i, v := range w {
			binary.LittleEndian.PutUint32(bs[4*i:], v)
		}
		return vb, mapErr("self-test write", vb.Write(0, bs))
	}
	xb, err := upload(x, len(x))
	if err != nil {
		return nil, err
	}
	ab, err := upload(aux, len(aux))
	if err != nil {
		return nil, err
	}
	yb, err := upload(nil, outWords)
	if err != nil {
		return nil, err
	}
	g := (outWords + shaders.LocalSize - 1) / shaders.LocalSize
	if g > 65535 {
		return nil, fmt.Errorf("vulkan: raw dispatch of %d words is too large", outWords)
	}
	l := launch{kernel: kernel, params: params, groups: [3]uint32{uint32(max(g, 1)), 1, 1}}
	l.bind = [4]vkrt.Binding{{Buf: xb, Size: int64(4 * max(len(x), 1))}, {Buf: b.dummy}, {Buf: yb, Size: int64(4 * max(outWords, 1))}, {Buf: ab, Size: int64(4 * max(len(aux), 1))}}
	if _, err := b.submit(context.Background(), []launch{l}, false); err != nil {
		return nil, err
	}
	out := make([]byte, 4*outWords)
	if err := yb.Read(0, out); err != nil {
		return nil, mapErr("self-test read", err)
	}
	w := make([]uint32, outWords)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(out[4*i:])
	}
	return w, nil
}

// quantizeParams are the quantize kernel's parameters for int8 per-axis
// quantization of n elements with one (scale, zero point) pair each, the
// scales at aux word 0 and the zero points at aux word n.
func quantizeParams(n int, mode shaders.QuantizeMode) *shaders.QuantizeParams {
	return &shaders.QuantizeParams{N: uint32(n), Type: uint32(qtensor.Int8), QMin: -128, QMax: 127,
		Granularity: uint32(qtensor.PerAxis), Inner: 1, AxisLen: uint32(n), Mode: mode, Scales: 0, ZeroPoints: uint32(n)}
}

// quantizeRaw quantizes xs[i] with scale ss[i] and zero point 0 to int8 on
// the device with the given quantize kernel (or variant).
func (b *Backend) quantizeRaw(kernel string, xs, ss []float32) ([]int32, error) {
	n := len(xs)
	x := make([]uint32, n)
	aux := make([]uint32, 2*n)
	for i := range xs {
		x[i] = math.Float32bits(xs[i])
		aux[i] = math.Float32bits(ss[i])
	}
	w, err := b.dispatchRaw(kernel, quantizeParams(n, shaders.QuantizeDivide), x, aux, (n+3)/4)
	if err != nil {
		return nil, err
	}
	q := make([]int32, n)
	for i := range q {
		q[i] = int32(int8(w[i/4] >> (8 * (i % 4))))
	}
	return q, nil
}

// quotientRaw returns the bits of the float32 quotients xs[i] / ss[i] as
// the quantize kernel (or variant) computes them (kernel mode 3).
func (b *Backend) quotientRaw(kernel string, xs, ss []float32) ([]uint32, error) {
	n := len(xs)
	x := make([]uint32, n)
	aux := make([]uint32, 2*n)
	for i := range xs {
		x[i] = math.Float32bits(xs[i])
		aux[i] = math.Float32bits(ss[i])
	}
	return b.dispatchRaw(kernel, quantizeParams(n, shaders.QuantizeQuotient), x, aux, n)
}

// nearTiePairs returns n (x, scale) pairs with valid scales (SPEC 2) whose
// quotients are near the rounding ties k + 0.5 of quantize, or random.
func nearTiePairs(seed uint64, n int) (xs, ss []float32) {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	for len(xs) < n {
		e := r.IntN(251) - 125
		s := float32(math.Ldexp(1+r.Float64(), e))
		switch r.IntN(4) {
		case 0:
			s = float32(math.Ldexp(1, e))
		case 1:
			s = float32(math.Ldexp(float64(1+r.IntN(16))/8, e))
		}
		if s < 0x1p-125 || s > 0x1p125 {
			continue
		}
		if r.IntN(4) == 0 {
			x := float32(s) * float32(260*r.Float64()-130)
			if !math.IsInf(float64(x), 0) {
				xs, ss = append(xs, x), append(ss, s)
			}
			continue
		}
		k := float64(r.IntN(255) - 128)
		x := float32((k + 0.5) * float64(s))
		if math.IsInf(float64(x), 0) || x == 0 {
			continue
		}
		for _, v := range []float32{x, math.Nextafter32(x, float32(math.Inf(1))), math.Nextafter32(x, float32(math.Inf(-1)))} {
			xs, ss = append(xs, v), append(ss, s)
		}
	}
	return xs[:n], ss[:n]
}

// selfTestPairs is the number of (x, scale) pairs of the start-up test.
const selfTestPairs = 4096

// checkQuantize runs the quantize self-test with kernel and returns the
// number of results that differ from qtensor.Quantize, and the first.
func (b *Backend) checkQuantize(kernel string) (int, string, error) {
	xs, ss := nearTiePairs(0x71676075, selfTestPairs)
	q, err := b.quantizeRaw(kernel, xs, ss)
	if err != nil {
		return 0, "", err
	}
	bad, first := 0, ""
	for i := range xs {
		if want := qtensor.Quantize(xs[i], ss[i], 0, -128, 127); q[i] != want {
			if bad == 0 {
				first = fmt.Sprintf("%s: quantize(%g / %g) = %d, want %d", kernel, xs[i], ss[i], q[i], want)
			}
			bad++
		}
	}
	return bad, first, nil
}

// probeDenormals reports whether the device flushes float32 denormals: a
// dequantize of q = 1 with a denormal scale must return the scale.
func (b *Backend) probeDenormals() (bool, error) {
	const den = 0x00000803 // a denormal float32
	p := &shaders.QuantizeParams{N: 1, Type: uint32(qtensor.Int8), Mode: shaders.Dequantize, Scales: 0, ZeroPoints: 1}
	w, err := b.dispatchRaw("quantize", p, []uint32{1}, []uint32{den, 0}, 1)
	if err != nil {
		return false, err
	}
	return w[0] != den, nil
}

// selfTest measures the device's denormal behaviour and picks the quantize
// division: the plain float division when it agrees with qtensor.Quantize
// on every self-test pair, else the integer emulation (which must agree).
func (b *Backend) selfTest() error {
	flush, err := b.probeDenormals()
	if err != nil {
		return err
	}
	b.flush = flush
	if !b.exactDiv {
		bad, _, err := b.checkQuantize("quantize")
		if err != nil {
			return err
		}
		b.plainDivMismatches = bad
		b.exactDiv = bad > 0
	}
	if b.exactDiv {
		bad, first, err := b.checkQuantize("quantize_exactdiv")
		if err != nil {
			return err
		}
		if bad > 0 {
			return fmt.Errorf("%d of %d results differ from the reference even with the exact division (first: %s)", bad, selfTestPairs, first)
		}
	}
	return nil
}
