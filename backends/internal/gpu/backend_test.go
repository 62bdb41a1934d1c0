package gpu

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
	"github.com/qgpu/qgpu/shaders"
)

// fakeRuntime records submissions instead of running them.
type fakeRuntime struct {
	submits []*Submission
	allocs  int
	closed  bool
}

type fakeMem struct {
	data  []byte
	freed bool
}

func (r *fakeRuntime) Compile(name string) (Kernel, error) { return name, nil }

func (r *fakeRuntime) NewMemory(size int64) (Memory, error) {
	r.allocs++
	m := &fakeMem{data: make([]byte, size)}
	for i := range m.data {
		m.data[i] = 0xee // contents undefined: Alloc must zero
	}
	return m, nil
}

func (r *fakeRuntime) Submit(ctx context.Context, s *Submission, timed bool) ([]time.Duration, error) {
	r.submits = append(r.submits, s)
	for _, u := range s.Uploads {
		copy(u.Mem.(*fakeMem).data[u.Off:], u.Data)
	}
	return nil, nil
}

func (r *fakeRuntime) Sentinel(error) error { return nil }
func (r *fakeRuntime) Close() error         { r.closed = true; return nil }

func (m *fakeMem) Size() int64                       { return int64(len(m.data)) }
func (m *fakeMem) Write(off int64, src []byte) error { copy(m.data[off:], src); return nil }
func (m *fakeMem) Read(off int64, dst []byte) error  { copy(dst, m.data[off:]); return nil }
func (m *fakeMem) Zero(n int64) error                { clear(m.data[:n]); return nil }
func (m *fakeMem) Free()                             { m.freed = true }

// fakeDevice has room for 256 KiB bindings and runs shaders through
// llvmpipe's loop limiter.
func fakeDevice() Device {
	return Device{
		Info: backend.DeviceInfo{Backend: "fake", Name: "fake llvmpipe", Kind: "software"},
		Limits: Limits{
			OffsetAlign:    Limit{"align", 16},
			Binding:        Limit{"maxBinding", 256 << 10},
			ParamBlock:     Limit{"maxParams", 128},
			StorageBuffers: Limit{"maxBuffers", 8},
			Invocations:    1024,
			GroupSize:      [3]int64{1024, 1024, 64},
			GroupCount:     [3]int64{65535, 65535, 65535},
		},
		SkipSelfTest: true,
	}
}

func newFake(t *testing.T) (*Backend, *fakeRuntime) {
	t.Helper()
	rt := &fakeRuntime{}
	b, err := New(rt, fakeDevice())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, rt
}

// tensor allocates an n-element tensor of type d on b.
func tensor(t *testing.T, b *Backend, d qtensor.DType, shape ...int) *backend.Tensor {
	t.Helper()
	n := 1
	for _, s := range shape {
		n *= s
	}
	nbytes := (n*d.Bits() + 7) / 8
	buf, err := b.Alloc(nbytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(buf.Free)
	return backend.NewTensor(buf, 0, nbytes, d, shape, n, qtensor.TensorParams(1, 0))
}

func relu(t *testing.T, b *Backend, n int) *backend.ReLU {
	return &backend.ReLU{X: tensor(t, b, qtensor.Int8, n), Y: tensor(t, b, qtensor.Int8, n)}
}

// TestRunChecksFirst: Run plans and checks every op before submitting
// anything, and refuses with the same error as Supports, naming the
// backend, the op and the device.
func TestRunChecksFirst(t *testing.T) {
	b, rt := newFake(t)
	ok, big := relu(t, b, 100), relu(t, b, 300<<10) // 300 KiB: over the 256 KiB binding limit
	pool := &backend.Pool{Max: true, X: tensor(t, b, qtensor.Int8, 1, 1, 4, 40003), Y: tensor(t, b, qtensor.Int8, 1, 1, 1, 4),
		N: 1, C: 1, H: 4, W: 40003, OH: 1, OW: 4, KH: 4, KW: 40000, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1}
	for _, c := range []struct {
		op   backend.Op
		want string
	}{
		{big, "fake: ReLU on fake llvmpipe: unsupported: binding 0 of eltwise"},
		{pool, "fake: MaxPool on fake llvmpipe: unsupported: needs up to"},
	} {
		sup := b.Supports(c.op)
		err := b.Run(context.Background(), []backend.Op{ok, c.op})
		if !errors.Is(err, backend.ErrUnsupported) || err.Error() != sup.Error() || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Run = %v,\nSupports = %v,\nwant ErrUnsupported starting %q", err, sup, c.want)
		}
	}
	if len(rt.submits) != 0 {
		t.Errorf("%d submissions of batches holding an unsupported op", len(rt.submits))
	}
	if err := b.Run(context.Background(), []backend.Op{ok, ok}); err != nil || len(rt.submits) != 1 {
		t.Fatalf("Run of supported ops: %v, %d submissions", err, len(rt.submits))
	}
	s := rt.submits[0]
	if len(s.Dispatches) != 2 || s.Dispatches[0].Kernel != "eltwise" || s.Dispatches[0].Name != "eltwise" || len(s.Dispatches[0].Params) != shaders.ParamBytes {
		t.Errorf("submission %+v", s.Dispatches)
	}
	// Each plan's auxiliary words at an aligned offset of one buffer.
	if a, c := s.Dispatches[0].Bind[SlotAux], s.Dispatches[1].Bind[SlotAux]; a.Mem != c.Mem || a.Off != 0 || c.Off != 16 {
		t.Errorf("aux bindings %+v, %+v", a, c)
	}
}

// TestForeignTensor: a tensor of another backend is a parameter error.
func TestForeignTensor(t *testing.T) {
	b, _ := newFake(t)
	other, _ := newFake(t)
	op := &backend.ReLU{X: tensor(t, other, qtensor.Int8, 8), Y: tensor(t, b, qtensor.Int8, 8)}
	if err := b.Run(context.Background(), []backend.Op{op}); !errors.Is(err, backend.ErrParams) {
		t.Errorf("Run with another backend's tensor: %v, want ErrParams", err)
	}
}

// TestPool: freed memory is reused (zeroed again) by size class; Close
// drops the pool and closes the runtime.
func TestPool(t *testing.T) {
	b, rt := newFake(t)
	buf, err := b.Alloc(1000)
	if err != nil {
		t.Fatal(err)
	}
	if err := buf.Write(0, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	m := buf.(*buffer).mem.(*fakeMem)
	if z := strings.IndexByte(string(m.data), 0xee); len(m.data) != 1024 || m.data[0] != 1 || z != 1000 {
		t.Errorf("1000-byte buffer: %d bytes, first byte %d, zeroed up to %d", len(m.data), m.data[0], z)
	}
	buf.Free()
	allocs := rt.allocs
	buf2, err := b.Alloc(900)
	if err != nil {
		t.Fatal(err)
	}
	if buf2.(*buffer).mem != Memory(m) || rt.allocs != allocs || m.data[0] != 0 {
		t.Errorf("reuse: same memory %v, %d new allocations, first byte %d", buf2.(*buffer).mem == Memory(m), rt.allocs-allocs, m.data[0])
	}
	if err := b.Close(); err != nil || !rt.closed {
		t.Errorf("Close: %v, runtime closed %v", err, rt.closed)
	}
	buf2.Free()
	if !m.freed {
		t.Error("memory freed after Close not handed back to the runtime")
	}
}

// TestLimitsRefused: a device below the kernels' needs is unavailable,
// and New closes its runtime.
func TestLimitsRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(*Limits)
	}{
		{"align", func(l *Limits) { l.OffsetAlign.Value = 512 }},
		{"maxParams", func(l *Limits) { l.ParamBlock.Value = 64 }},
		{"maxBuffers", func(l *Limits) { l.StorageBuffers.Value = 3 }},
		{"work-group", func(l *Limits) { l.GroupCount[1] = 1 }},
	} {
		d := fakeDevice()
		c.mod(&d.Limits)
		rt := &fakeRuntime{}
		_, err := New(rt, d)
		if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), c.name) || !rt.closed {
			t.Errorf("%s: New = %v (runtime closed %v), want ErrUnavailable naming it", c.name, err, rt.closed)
		}
	}
}

// TestVariantChoice checks the kernel and grid chosen per launch: the
// tiled GEMM for M and N of 32 or more, one group per 64x64 tile of each
// batch entry; the baseline, on the planner's grid, below that; a forced
// variant on every shape; the exact division for dividing quantizations.
func TestVariantChoice(t *testing.T) {
	launch := func(batch, m, k, n int, yt qtensor.DType) *Launch {
		p := &shaders.GemmParams{Total: uint32(batch * m * n), M: uint32(m), K: uint32(k), N: uint32(n)}
		p.YType = uint32(yt)
		return &Launch{Params: p, Groups: [3]uint32{7, 1, 1}}
	}
	v := variants{gemm: GemmTiled}
	for _, c := range []struct {
		batch, m, k, n int
		kernel         string
		grid           [3]uint32
	}{
		{1, 512, 512, 512, GemmTiled, [3]uint32{64, 1, 1}},      // 8 x 8 tiles
		{3, 130, 9, 65, GemmTiled, [3]uint32{18, 1, 1}},         // 3 batches x 3 x 2
		{1, 32, 5, 32, GemmTiled, [3]uint32{1, 1, 1}},           // one partial tile
		{1, 31, 512, 512, "gemm", [3]uint32{7, 1, 1}},           // M < 32: baseline, planner's grid
		{1, 512, 512, 16, "gemm", [3]uint32{7, 1, 1}},           // N < 32
		{1, 16384, 4, 16448, GemmTiled, [3]uint32{65535, 2, 1}}, // 256 x 257 = 65792 tiles
	} {
		k, g := v.choose(launch(c.batch, c.m, c.k, c.n, qtensor.Int32))
		if k != c.kernel || g != c.grid {
			t.Errorf("%dx(%dx%dx%d): %s %v, want %s %v", c.batch, c.m, c.k, c.n, k, g, c.kernel, c.grid)
		}
	}
	// On a loop-limited device a K whose tiled loops exceed the budget
	// runs the baseline.
	limited := variants{gemm: GemmTiled, loopLimited: true}
	if k, _ := limited.choose(launch(1, 64, 1<<20, 64, qtensor.Int32)); k != "gemm" {
		t.Errorf("loop-limited, K = 2^20: %s, want gemm", k)
	}
	forced := variants{gemm: GemmTiled, gemmForced: true}
	if k, g := forced.choose(launch(2, 1, 3, 1, qtensor.Uint8)); k != GemmTiled || g != [3]uint32{2, 1, 1} {
		t.Errorf("forced, 2x(1x3x1): %s %v, want gemm_tiled [2 1 1]", k, g)
	}
	ex := variants{gemm: "gemm", exactDiv: true}
	for mode, want := range map[shaders.QuantizeMode]string{shaders.QuantizeDivide: ExactDivKernel, shaders.QuantizeMultiply: "quantize", shaders.Dequantize: "quantize"} {
		if k, _ := ex.choose(&Launch{Params: &shaders.QuantizeParams{Mode: mode}}); k != want {
			t.Errorf("exactdiv device, quantize mode %d: %s, want %s", mode, k, want)
		}
	}
	f32, u8 := uint32(qtensor.Float32), uint32(qtensor.Uint8)
	for _, c := range []struct {
		mode  shaders.NBitsMode
		yt    uint32
		plain string // on a device whose division is exact
		exact string // on one that needs the integer-only division
	}{
		{shaders.NBitsPrep, f32, "nbits", NBitsExactDiv}, // the activations' scales and quantization divide
		{shaders.NBitsInt8, f32, "nbits", "nbits"},       // reads the prepared activations: no division
		{shaders.NBitsInt8, u8, "nbits", NBitsExactDiv},  // a quantized output divides
		{shaders.NBitsFloat, f32, "nbits", "nbits"},
		{shaders.NBitsFloat, u8, "nbits", NBitsExactDiv},
	} {
		l := &Launch{Params: &shaders.NbitsParams{Mode: c.mode, YType: c.yt}}
		if k, _ := v.choose(l); k != c.plain {
			t.Errorf("nbits mode %d, output type %d: %s, want %s", c.mode, c.yt, k, c.plain)
		}
		if k, _ := ex.choose(l); k != c.exact {
			t.Errorf("exactdiv device, nbits mode %d, output type %d: %s, want %s", c.mode, c.yt, k, c.exact)
		}
	}
	// With the dot variant: the int8 products on 4-bit weights, unless a
	// quantized output needs the integer-only division.
	for _, c := range []struct {
		mode     shaders.NBitsMode
		bt, yt   qtensor.DType
		exactDiv bool
		want     string
	}{
		{shaders.NBitsInt8, qtensor.Uint4, qtensor.Float32, false, NBitsDotKernel},
		{shaders.NBitsInt8, qtensor.Int4, qtensor.Uint8, false, NBitsDotKernel},
		{shaders.NBitsInt8, qtensor.Int4, qtensor.Uint8, true, NBitsExactDiv},
		{shaders.NBitsInt8, qtensor.Int4, qtensor.Float32, true, NBitsDotKernel},
		{shaders.NBitsInt8, qtensor.Int8, qtensor.Float32, false, "nbits"},
		{shaders.NBitsPrep, qtensor.Uint4, qtensor.Float32, false, "nbits"},
		{shaders.NBitsFloat, qtensor.Uint4, qtensor.Float32, false, "nbits"},
	} {
		dv := variants{gemm: "gemm", nbitsDot: true, exactDiv: c.exactDiv}
		l := &Launch{Params: &shaders.NbitsParams{Mode: c.mode, BType: uint32(c.bt), YType: uint32(c.yt)}}
		if k, _ := dv.choose(l); k != c.want {
			t.Errorf("dot device (exactdiv %v), nbits mode %d, %v weights, %v output: %s, want %s", c.exactDiv, c.mode, c.bt, c.yt, k, c.want)
		}
	}
}

// TestDivisionPairs checks that the self-test vectors are valid (normal
// scales in the engine's range, every x and quotient normal) and sit near
// quantize's ties, where a reciprocal product gives other integers.
func TestDivisionPairs(t *testing.T) {
	xs, ss := DivisionPairs()
	if len(xs) != SelfTestPairs || len(ss) != SelfTestPairs {
		t.Fatalf("%d, %d pairs", len(xs), len(ss))
	}
	ties, recip := 0, 0
	for i := range xs {
		normal := func(v float32) bool { return v != 0 && abs(v) >= 0x1p-126 && abs(v) <= 0x1.fffffep127 }
		if ss[i] < 0x1p-125 || ss[i] > 0x1p125 || !normal(xs[i]) || !normal(xs[i]/ss[i]) {
			t.Fatalf("pair %d: scale %g, x %g, quotient %g", i, ss[i], xs[i], xs[i]/ss[i])
		}
		v := float64(xs[i]) / float64(ss[i])
		if d := v - float64(int64(v)); abs(float32(abs(float32(d))-0.5)) < 1e-4 {
			ties++
		}
		if qtensor.QuantizeTorch(xs[i], ss[i], 0, -128, 127) != qtensor.Quantize(xs[i], ss[i], 0, -128, 127) {
			recip++
		}
	}
	if ties < len(xs)/2 || recip == 0 {
		t.Errorf("%d near-tie pairs, %d where x*(1/s) differs from x/s: the self-test vectors are too weak", ties, recip)
	}
	t.Logf("%d near ties, %d pairs where the reciprocal product differs", ties, recip)
}

func abs(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
