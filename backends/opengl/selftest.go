package opengl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/qgpu/qgpu/backends/opengl/internal/glrt"
	"github.com/qgpu/qgpu/qtensor"
	"github.com/qgpu/qgpu/shaders"
)

// selfTestResult is what the start-up self-tests measured (for Caps).
type selfTestResult struct {
	division  string // "pass (n pairs)", "exactdiv after n of m plain mismatches", "skipped"
	denormals string // "preserve" or "flush" (tests.CapDenormals)
}

// divisionPairs returns the self-test's (x, scale) pairs: for random
// scales, values within two ulps of the quantization ties (k + 1/2) * scale,
// where a quotient off by one ulp rounds to the wrong integer, plus random
// values. Fixed seed.
func divisionPairs() (xs, ss []float32) {
	r := rand.New(rand.NewPCG(0x51f7e57, 0xd1715107))
	scale := func(lo, hi int) float32 {
		e := lo + r.IntN(hi-lo+1)
		return float32(math.Ldexp(1+r.Float64(), e))
	}
	for len(xs) < 3072 {
		s := scale(-100, 100)
		if len(xs) < 64 { // the ends of the valid scale range
			s = float32(math.Ldexp(1+r.Float64()/2, []int{-125, 124}[len(xs)%2]))
		}
		k := float64(r.IntN(255) - 128)
		if len(xs) < 64 {
			k = float64(r.IntN(3) - 1)
		}
		t := float32((k + 0.5) * float64(s))
		if math.IsInf(float64(t), 0) || t == 0 {
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
	for len(xs) < 4096 {
		s := scale(-40, 40)
		xs, ss = append(xs, float32(r.NormFloat64()*100*float64(s))), append(ss, s)
	}
	return xs, ss
}

// selfTest checks the quantize kernel's division and probes denormals.
func (b *Backend) selfTest() (selfTestResult, error) {
	var st selfTestResult
	xs, ss := divisionPairs()
	bad, err := b.divisionMismatches(xs, ss)
	if err != nil {
		return st, err
	}
	switch {
	case bad == 0 && b.exactDiv:
		st.division = fmt.Sprintf("pass with exactdiv (forced), %d pairs", len(xs))
	case bad == 0:
		st.division = fmt.Sprintf("pass, %d pairs", len(xs))
	case b.exactDiv:
		return st, fmt.Errorf("kernel %s gives %d wrong of %d near-tie quantizations", exactDivKernel, bad, len(xs))
	default:
		if err := b.compile(exactDivKernel); err != nil {
			return st, fmt.Errorf("float division is not correctly rounded (%d wrong of %d near-tie quantizations) and the exact-division kernel is unavailable: %w",
				bad, len(xs), err)
		}
		b.exactDiv = true
		bad2, err := b.divisionMismatches(xs, ss)
		if err != nil {
			return st, err
		}
		if bad2 != 0 {
			return st, fmt.Errorf("float division is not correctly rounded (%d wrong of %d) and kernel %s is wrong too (%d)", bad, len(xs), exactDivKernel, bad2)
		}
		st.division = fmt.Sprintf("plain division wrong for %d of %d pairs; using exactdiv", bad, len(xs))
	}
	st.denormals, err = b.denormalProbe()
	return st, err
}

// divisionMismatches quantizes xs[i] with scale ss[i] to int8 (zero point
// 0) on the GPU and counts the results that differ from qtensor.Quantize,
// plus the quotients x / s that are not correctly rounded.
func (b *Backend) divisionMismatches(xs, ss []float32) (int, error) {
	q, err := b.quantizeInt8(xs, ss, shaders.QuantizeDivide)
	if err != nil {
		return 0, err
	}
	bad := 0
	for i := range xs {
		if q[i] != qtensor.Quantize(xs[i], ss[i], 0, -128, 127) {
			bad++
		}
	}
	// Mode 3 writes the quotient bits: every one must be the correctly
	// rounded float32 x / s (all of these quotients are normal), also where
	// an error would not change the integer.
	quot, err := b.quantizeInt8(xs, ss, shaders.QuantizeQuotient)
	if err != nil {
		return 0, err
	}
	for i := range xs {
		if uint32(quot[i]) != math.Float32bits(xs[i]/ss[i]) {
			bad++
		}
	}
	return bad, nil
}

// quantizeInt8 runs the quantize kernel (with the device's variant) over
// xs with one scale word ss[i] per element (per axis, zero points 0, int8)
// in the given mode: 0 quantize (x / s), 1 torch (x * s: pass reciprocals),
// 3 the raw quotient bits. It returns the int8 results, or the quotient
// words for mode 3.
func (b *Backend) quantizeInt8(xs, ss []float32, mode shaders.QuantizeMode) ([]int32, error) {
	n := len(xs)
	x := make([]byte, 4*n)
	aux := make([]uint32, 2*n) // scales, then zero points (0)
	for i := range xs {
		binary.LittleEndian.PutUint32(x[4*i:], math.Float32bits(xs[i]))
		aux[i] = math.Float32bits(ss[i])
	}
	p := &shaders.QuantizeParams{N: uint32(n), Type: uint32(qtensor.Int8), QMin: -128, QMax: 127,
		Granularity: uint32(qtensor.PerAxis), Inner: 1, AxisLen: uint32(n), // pair i for element i
		Mode: mode, Scales: 0, ZeroPoints: uint32(n)}
	yBytes, items := n, (n+3)/4
	if mode == shaders.QuantizeQuotient {
		yBytes, items = 4*n, n
	}
	y, err := b.rawDispatch(x, yBytes, aux, p, (items+shaders.LocalSize-1)/shaders.LocalSize)
	if err != nil {
		return nil, err
	}
	out := make([]int32, n)
	for i := range out {
		if mode == shaders.QuantizeQuotient {
			out[i] = int32(binary.LittleEndian.Uint32(y[4*i:]))
		} else {
			out[i] = int32(int8(y[i]))
		}
	}
	return out, nil
}

// denormalProbe dequantizes q = 3 with the denormal scale 2^-130 (the
// kernel's float(q - zp) * scale) and reports "flush" when the denormal
// product comes back as zero, "preserve" when exact.
func (b *Backend) denormalProbe() (string, error) {
	s := float32(math.Ldexp(1, -130))
	want := 3 * s
	p := &shaders.QuantizeParams{N: 1, Type: uint32(qtensor.Int8), QMin: -128, QMax: 127, Mode: shaders.Dequantize, Scales: 0, ZeroPoints: 1}
	y, err := b.rawDispatch([]byte{3, 0, 0, 0}, 4, []uint32{math.Float32bits(s), 0}, p, 1)
	if err != nil {
		return "", err
	}
	got := math.Float32frombits(binary.LittleEndian.Uint32(y))
	switch {
	case got == want:
		return "preserve", nil
	case got == 0:
		return "flush", nil
	}
	return "", fmt.Errorf("dequantize probe: 3 * 2^-130 gave %g (bits %08x), want %g or 0", got, math.Float32bits(got), want)
}

// rawDispatch runs one launch of a kernel (with the device's variant) on
// fresh buffers: x at binding 0, a zeroed output of yBytes at binding 2,
// aux at binding 3. It returns the output bytes.
func (b *Backend) rawDispatch(x []byte, yBytes int, aux []uint32, p shaders.Params, groups int) (out []byte, err error) {
	prog, err := b.kernel(p)
	if err != nil {
		return nil, err
	}
	var bufs []*glrt.Buffer
	defer func() {
		for _, gb := range bufs {
			err = errors.Join(err, gb.Free())
		}
	}()
	mk := func(n int) (*glrt.Buffer, error) {
		gb, err := b.ctx.NewBuffer(max(4, (n+3)&^3))
		if err == nil {
			bufs = append(bufs, gb)
		}
		return gb, err
	}
	xb, err := mk(len(x))
	if err != nil {
		return nil, err
	}
	yb, err := mk(yBytes)
	if err != nil {
		return nil, err
	}
	ab, err := mk(4 * len(aux))
	if err != nil {
		return nil, err
	}
	ab8 := make([]byte, 4*len(aux))
	for i, w := range aux {
		binary.LittleEndian.PutUint32(ab8[4*i:], w)
	}
	pb := p.AppendTo(make([]byte, 0, shaders.ParamBytes))
	out = make([]byte, yBytes)
	var batch glrt.Batch
	batch.Upload(xb, 0, x)
	batch.Upload(ab, 0, ab8)
	batch.Dispatch(glrt.Dispatch{
		Program: prog,
		Groups:  [3]uint32{uint32(max(1, groups)), 1, 1},
		Bindings: []glrt.Binding{
			{Index: 0, Buffer: xb, ReadOnly: true},
			{Index: 1, Buffer: b.dummy, ReadOnly: true},
			{Index: 2, Buffer: yb},
			{Index: 3, Buffer: ab, ReadOnly: true},
		},
		Params: pb,
	})
	batch.Download(yb, 0, out)
	if _, err := b.ctx.Run(&batch); err != nil {
		return nil, mapErr("self-test dispatch", err)
	}
	return out, nil
}
