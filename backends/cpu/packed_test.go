package cpu_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// gemmRef runs Batch.Gemm(a, w, o) on the reference kernels of e and
// returns the output tensor, or the error of recording the op.
func gemmRef(t *testing.T, e *engine.Engine, a, w *qtensor.Tensor, o engine.GemmOptions) (*qtensor.Tensor, error) {
	t.Helper()
	da, err := e.Upload(a)
	if err != nil {
		t.Fatal(err)
	}
	defer da.Release()
	dw, err := e.Upload(w)
	if err != nil {
		t.Fatal(err)
	}
	defer dw.Release()
	b := e.NewBatch()
	y, err := b.Gemm(da, dw, o)
	if err != nil {
		return nil, err
	}
	defer y.Release()
	if err := b.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, err := e.Download(y)
	if err != nil {
		t.Fatal(err)
	}
	return h, nil
}

func refEngine(t *testing.T) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Config{Backend: "cpu", Kernels: "generic"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// randQ returns a tensor of type d and shape with random data and params p.
func randQ(t *testing.T, r *rand.Rand, d qtensor.DType, shape []int, p qtensor.Params) *qtensor.Tensor {
	t.Helper()
	x, err := qtensor.New(d, shape, p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x.Data {
		x.Data[i] = byte(r.IntN(256))
	}
	return x
}

func randZP(r *rand.Rand, d qtensor.DType) int32 {
	switch r.IntN(4) {
	case 0: // zero after the kernels' uint8 shift (the fused path)
		if d == qtensor.Uint8 {
			return 128
		}
		return 0
	case 1:
		return d.QMin() + int32(r.IntN(3)) // extremes
	}
	return d.QMin() + int32(r.IntN(int(d.QMax()-d.QMin())+1))
}

// transpose2 returns the [C][R] form of the 2-D tensor w ([R][C]) with
// params p.
func transpose2(t *testing.T, w *qtensor.Tensor, p qtensor.Params) *qtensor.Tensor {
	t.Helper()
	R, C := w.Shape[0], w.Shape[1]
	wt, err := qtensor.New(w.DType, []int{C, R}, p)
	if err != nil {
		t.Fatal(err)
	}
	for r := range R {
		for c := range C {
			wt.Data[c*R+r] = w.Data[r*C+c]
		}
	}
	return wt
}

// packedCase is one random GEMM: operands and output options.
type packedCase struct {
	a, w  *qtensor.Tensor
	wt    *qtensor.Tensor // w as [N][K], per-channel params along axis 0
	o     engine.GemmOptions
	label string
}

func randCase(t *testing.T, r *rand.Rand, i int) packedCase {
	t.Helper()
	M := 1 + r.IntN(70)
	K := 1 + r.IntN(300)
	N := 1 + r.IntN(150)
	switch i % 5 { // make sure of the edges: K%4 != 0, N%64 != 0, tiny sizes
	case 0:
		K = 4*r.IntN(75) + 1 + r.IntN(3)
	case 1:
		N = 64*r.IntN(2) + 1 + r.IntN(63)
	case 2:
		M, K, N = 1+r.IntN(3), 1+r.IntN(5), 1+r.IntN(3)
	}
	types := []qtensor.DType{qtensor.Uint8, qtensor.Int8}
	at, wtype := types[r.IntN(2)], types[r.IntN(2)]
	as := 0.01 + r.Float32()*0.05
	ap := qtensor.TensorParams(as, randZP(r, at))
	perChannel := r.IntN(2) == 0
	var wp, wpt qtensor.Params
	var bs []float32
	if perChannel {
		bs = make([]float32, N)
		zps := make([]int32, N)
		for n := range N {
			bs[n] = 0.005 + r.Float32()*0.02
			zps[n] = randZP(r, wtype)
		}
		if r.IntN(3) == 0 { // all zero after the shift: the fused path
			z := randZP(r, wtype)
			if wtype == qtensor.Uint8 {
				z = 128
			} else {
				z = 0
			}
			for n := range zps {
				zps[n] = z
			}
		}
		wp = qtensor.AxisParams(1, bs, zps)
		wpt = qtensor.AxisParams(0, bs, zps)
	} else {
		bs = []float32{0.005 + r.Float32()*0.02}
		wp = qtensor.TensorParams(bs[0], randZP(r, wtype))
		wpt = wp
	}
	a := randQ(t, r, at, []int{M, K}, ap)
	w := randQ(t, r, wtype, []int{K, N}, wp)
	c := packedCase{a: a, w: w, wt: transpose2(t, w, wpt)}
	var o engine.GemmOptions
	kind := i % 7
	switch kind {
	case 0:
		o.Output = engine.OutInt32
		if r.IntN(2) == 0 { // per-row A zero points (int32 output only)
			zps := make([]int32, M)
			scales := make([]float32, M)
			for m := range M {
				zps[m], scales[m] = randZP(r, at), as
			}
			c.a.Params = qtensor.AxisParams(0, scales, zps)
		}
	case 1, 2:
		o.Output = engine.OutFloat32
		if kind == 2 {
			o.FloatBias = make([]float32, 1+(N-1)*r.IntN(2))
			for j := range o.FloatBias {
				o.FloatBias[j] = float32(r.IntN(200)-100) / 8
			}
		}
	default:
		o.Output = engine.OutQuantized
		o.YType = types[r.IntN(2)]
		// About 3 sigma of the accumulator over the output range.
		o.YScale = as * bs[0] * 128 * 40 * float32(1+K/16) / 256
		o.YZP = randZP(r, o.YType)
		o.ReLU = kind == 4 || kind == 6
		o.Fixed = kind >= 5
	}
	switch r.IntN(3) {
	case 1:
		o.Bias = []int32{int32(r.IntN(20001) - 10000)}
	case 2:
		o.Bias = make([]int32, N)
		for j := range o.Bias {
			o.Bias[j] = int32(r.IntN(20001) - 10000)
		}
	}
	c.o = o
	c.label = fmt.Sprintf("case %d: M=%d K=%d N=%d A %v %v, W %v %v, out %v %v relu=%v fixed=%v bias=%d",
		i, M, K, N, at, c.a.Params.Granularity, wtype, wp.Granularity, o.Output, o.YType, o.ReLU, o.Fixed, len(o.Bias))
	return c
}

func sameTensor(t *testing.T, label string, got, want *qtensor.Tensor) {
	t.Helper()
	if !got.Equal(want) {
		diff := -1
		for i := range min(len(got.Data), len(want.Data)) {
			if got.Data[i] != want.Data[i] {
				diff = i
				break
			}
		}
		t.Fatalf("%s: got %v %v %v (%d bytes), want %v %v %v (%d bytes); first differing byte %d",
			label, got.DType, got.Shape, got.Params, len(got.Data), want.DType, want.Shape, want.Params, len(want.Data), diff)
	}
}

// TestPackedMatchesEngine compares PackedWeights.MatMul (both packing
// layouts) and the unpacked MatMul, byte for byte, with Batch.Gemm on the
// reference kernels, on every instruction set this CPU has.
func TestPackedMatchesEngine(t *testing.T) {
	e := refEngine(t)
	ctx := context.Background()
	forEachCPUISA(t, allCPUISAs, func(t *testing.T, isa cpu.ISA) {
		r := rand.New(rand.NewPCG(11, uint64(isa)))
		fused := 0
		// A backend kept across the cases, as Backend.MatMul is meant
		// to be used (its workers stay warm).
		be, err := cpu.New(engine.Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer be.Close()
		for i := range 120 {
			c := randCase(t, r, i)
			want, err := gemmRef(t, e, c.a, c.w, c.o)
			if err != nil {
				t.Fatalf("%s: reference: %v", c.label, err)
			}
			threads := 1 + i%3
			pw, err := cpu.PackWeights(c.w, false)
			if err != nil {
				t.Fatalf("%s: %v", c.label, err)
			}
			pt, err := cpu.PackWeights(c.wt, true)
			if err != nil {
				t.Fatalf("%s: transposed: %v", c.label, err)
			}
			for j, p := range []*cpu.PackedWeights{pw, pt} {
				if p.K() != c.w.Shape[0] || p.N() != c.w.Shape[1] || p.DType() != c.w.DType {
					t.Fatalf("%s: packed %d: K=%d N=%d %v", c.label, j, p.K(), p.N(), p.DType())
				}
				got, err := p.MatMul(ctx, c.a, c.o, threads)
				if err != nil {
					t.Fatalf("%s: packed %d: %v", c.label, j, err)
				}
				sameTensor(t, fmt.Sprintf("%s (packed %d)", c.label, j), got, want)
			}
			got, err := be.MatMul(ctx, pw, c.a, c.o)
			if err != nil {
				t.Fatalf("%s: Backend.MatMul: %v", c.label, err)
			}
			sameTensor(t, c.label+" (Backend.MatMul)", got, want)
			got, err = cpu.MatMul(ctx, c.a, c.w, c.o, threads)
			if err != nil {
				t.Fatalf("%s: unpacked: %v", c.label, err)
			}
			sameTensor(t, c.label+" (unpacked)", got, want)
			if z := c.w.Params.ZeroPoints; c.a.Params.Granularity == qtensor.PerTensor && !c.o.Fixed &&
				((c.w.DType == qtensor.Int8 && allZP(z, 0)) || (c.w.DType == qtensor.Uint8 && allZP(z, 128))) {
				fused++
			}
		}
		if fused < 10 {
			t.Errorf("only %d of the cases took the fused path", fused)
		}
	})
}

func allZP(z []int32, v int32) bool {
	for _, x := range z {
		if x != v {
			return false
		}
	}
	return true
}

// TestPackedBatchedA checks the A shapes beyond [M][K]: [K] and
// [..., M, K], against Batch.Gemm's broadcasting.
func TestPackedBatchedA(t *testing.T) {
	e := refEngine(t)
	r := rand.New(rand.NewPCG(3, 4))
	w := randQ(t, r, qtensor.Int8, []int{37, 70}, qtensor.TensorParams(0.01, 3))
	p, err := cpu.PackWeights(w, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		shape []int
		ap    qtensor.Params
		o     engine.GemmOptions
	}{
		{[]int{37}, qtensor.TensorParams(0.02, 7), engine.GemmOptions{Output: engine.OutFloat32}},
		{[]int{3, 5, 37}, qtensor.TensorParams(0.02, 7), engine.GemmOptions{Output: engine.OutQuantized, YType: qtensor.Uint8, YScale: 0.05, YZP: 100}},
		{[]int{2, 1, 4, 37}, qtensor.TensorParams(0.02, 250), engine.GemmOptions{}},
		{[]int{3, 4, 37}, qtensor.AxisParams(1, []float32{1, 1, 1, 1}, []int32{0, 9, 255, 128}), engine.GemmOptions{}},
	} {
		a := randQ(t, r, qtensor.Uint8, tc.shape, tc.ap)
		want, err := gemmRef(t, e, a, w, tc.o)
		if err != nil {
			t.Fatalf("A %v: reference: %v", tc.shape, err)
		}
		got, err := p.MatMul(context.Background(), a, tc.o, 2)
		if err != nil {
			t.Fatalf("A %v: %v", tc.shape, err)
		}
		sameTensor(t, fmt.Sprintf("A %v", tc.shape), got, want)
	}
}

// TestPackedConcurrent runs MatMul on one PackedWeights from several
// goroutines at once (run it with -race) and compares every result with
// the same product computed alone.
func TestPackedConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const K, N = 200, 130
	w := randQ(t, r, qtensor.Uint8, []int{K, N}, qtensor.TensorParams(0.01, 128))
	p, err := cpu.PackWeights(w, false)
	if err != nil {
		t.Fatal(err)
	}
	o := engine.GemmOptions{Output: engine.OutQuantized, YType: qtensor.Int8, YScale: 0.5, YZP: -3, ReLU: true}
	const G = 8
	as := make([]*qtensor.Tensor, G)
	want := make([]*qtensor.Tensor, G)
	for g := range G {
		as[g] = randQ(t, r, qtensor.Uint8, []int{1 + 9*g, K}, qtensor.TensorParams(0.02, int32(10*g)))
		if want[g], err = p.MatMul(context.Background(), as[g], o, 1); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]*qtensor.Tensor, G)
	errs := make([]error, G)
	var wg sync.WaitGroup
	for g := range G {
		wg.Go(func() {
			for range 5 {
				got[g], errs[g] = p.MatMul(context.Background(), as[g], o, 1+g%3)
				if errs[g] != nil || !got[g].Equal(want[g]) {
					return
				}
			}
		})
	}
	wg.Wait()
	for g := range G {
		if errs[g] != nil {
			t.Fatalf("goroutine %d: %v", g, errs[g])
		}
		sameTensor(t, fmt.Sprintf("goroutine %d", g), got[g], want[g])
	}
}

// TestPackedNoGoroutineLeft checks that MatMul stops the workers it
// starts: after the calls return, no goroutine is left over.
func TestPackedNoGoroutineLeft(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	w := randQ(t, r, qtensor.Int8, []int{64, 256}, qtensor.TensorParams(0.01, 0))
	p, err := cpu.PackWeights(w, false)
	if err != nil {
		t.Fatal(err)
	}
	a := randQ(t, r, qtensor.Uint8, []int{96, 64}, qtensor.TensorParams(0.02, 1))
	before := runtime.NumGoroutine()
	for range 10 {
		if _, err := p.MatMul(context.Background(), a, engine.GemmOptions{Output: engine.OutFloat32}, 4); err != nil {
			t.Fatal(err)
		}
	}
	// A worker may still be returning from its last part.
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 200 {
			t.Fatalf("%d goroutines before the calls, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPackedAccessors checks K, N, DType, Params and Bytes.
func TestPackedAccessors(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	wp := qtensor.AxisParams(0, []float32{0.5, 0.25, 0.125}, []int32{1, 2, 3})
	w := randQ(t, r, qtensor.Uint8, []int{3, 5}, wp) // [N=3][K=5]
	p, err := cpu.PackWeights(w, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.K() != 5 || p.N() != 3 || p.DType() != qtensor.Uint8 {
		t.Errorf("K, N, DType = %d, %d, %v; want 5, 3, uint8", p.K(), p.N(), p.DType())
	}
	got := p.Params()
	if got.Granularity != qtensor.PerAxis || got.Axis != 0 || len(got.Scales) != 3 || got.Scales[1] != 0.25 || got.ZeroPoints[2] != 3 {
		t.Errorf("Params = %+v, want the given %+v", got, wp)
	}
	got.ZeroPoints[0] = 99 // a copy
	w.Params.ZeroPoints[1] = 77
	if p.Params().ZeroPoints[0] != 1 || p.Params().ZeroPoints[1] != 2 {
		t.Error("Params shares memory with the caller")
	}
	// One panel of 64 columns times K rounded up to 8 bytes, at least.
	if b := p.Bytes(); b < 8*64 || b > 8*64+1024 {
		t.Errorf("Bytes = %d, want about %d", b, 8*64)
	}
}

func TestPackedErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	ctx := context.Background()
	w := randQ(t, r, qtensor.Int8, []int{8, 4}, qtensor.TensorParams(0.1, 0))
	p, err := cpu.PackWeights(w, false)
	if err != nil {
		t.Fatal(err)
	}
	a := randQ(t, r, qtensor.Uint8, []int{2, 8}, qtensor.TensorParams(0.1, 5))
	f32, err := qtensor.FromFloat32([]int{2, 8}, make([]float32, 16))
	if err != nil {
		t.Fatal(err)
	}
	i32w, err := qtensor.FromInt32([]int{8, 4}, make([]int32, 32))
	if err != nil {
		t.Fatal(err)
	}
	short := a.Clone()
	short.Data = short.Data[:5]
	bigK := randQ(t, r, qtensor.Uint8, []int{cpu.MaxPackedK + 1, 1}, qtensor.TensorParams(1, 0))
	// K*255*255 exceeds int32: Batch.Gemm rejects it, and so must MatMul.
	overK := randQ(t, r, qtensor.Int8, []int{40000, 1}, qtensor.TensorParams(1, -128))
	pOver, err := cpu.PackWeights(overK, false)
	if err != nil {
		t.Fatal(err)
	}
	aOver := randQ(t, r, qtensor.Uint8, []int{1, 40000}, qtensor.TensorParams(1, 0))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	pack := func(w *qtensor.Tensor, tr bool) error { _, err := cpu.PackWeights(w, tr); return err }
	mm := func(p *cpu.PackedWeights, a *qtensor.Tensor, o engine.GemmOptions) error {
		_, err := p.MatMul(ctx, a, o, 1)
		return err
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"nil weights", pack(nil, false), engine.ErrParams},
		{"int32 weights", pack(i32w, false), engine.ErrParams},
		{"3-D weights", pack(randQ(t, r, qtensor.Int8, []int{2, 2, 2}, qtensor.TensorParams(1, 0)), false), engine.ErrShape},
		{"empty weights", pack(randQ(t, r, qtensor.Int8, []int{0, 3}, qtensor.TensorParams(1, 0)), false), engine.ErrShape},
		{"K too large", pack(bigK, false), engine.ErrShape},
		{"per-K params", pack(randQ(t, r, qtensor.Int8, []int{2, 3}, qtensor.AxisParams(0, []float32{1, 1}, []int32{0, 0})), false), engine.ErrParams},
		{"per-K params transposed", pack(randQ(t, r, qtensor.Int8, []int{2, 3}, qtensor.AxisParams(1, []float32{1, 1, 1}, []int32{0, 0, 0})), true), engine.ErrParams},
		{"block params", pack(randQ(t, r, qtensor.Int8, []int{2, 4}, qtensor.BlockParams(1, 2, []float32{1, 1, 1, 1}, []int32{0, 0, 0, 0})), false), engine.ErrParams},
		{"short data", pack(short, false), engine.ErrShape},
		{"nil packed", mm(nil, a, engine.GemmOptions{}), engine.ErrParams},
		{"nil A", mm(p, nil, engine.GemmOptions{}), engine.ErrParams},
		{"float A", mm(p, f32, engine.GemmOptions{}), engine.ErrParams},
		{"wrong K", mm(p, randQ(t, r, qtensor.Uint8, []int{2, 7}, qtensor.TensorParams(1, 0)), engine.GemmOptions{}), engine.ErrShape},
		{"empty A", mm(p, randQ(t, r, qtensor.Uint8, []int{0, 8}, qtensor.TensorParams(1, 0)), engine.GemmOptions{}), engine.ErrShape},
		{"short A", mm(p, short, engine.GemmOptions{}), engine.ErrShape},
		{"per-row A, float out", mm(p, randQ(t, r, qtensor.Uint8, []int{2, 8}, qtensor.AxisParams(0, []float32{1, 1}, []int32{0, 0})), engine.GemmOptions{Output: engine.OutFloat32}), engine.ErrParams},
		{"bad output type", mm(p, a, engine.GemmOptions{Output: engine.OutQuantized, YType: qtensor.Int32, YScale: 1}), engine.ErrParams},
		{"bad bias length", mm(p, a, engine.GemmOptions{Bias: []int32{1, 2}}), engine.ErrParams},
		{"ReLU on int32", mm(p, a, engine.GemmOptions{ReLU: true}), engine.ErrParams},
		{"AZP given", mm(p, a, engine.GemmOptions{AZP: []int32{0}}), engine.ErrParams},
		{"BZP given", mm(p, a, engine.GemmOptions{BZP: []int32{0}}), engine.ErrParams},
		{"TransposeB", mm(p, a, engine.GemmOptions{TransposeB: true}), engine.ErrParams},
		{"accumulator overflow", mm(pOver, aOver, engine.GemmOptions{}), engine.ErrShape},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: error %v, want one wrapping %v", tc.name, tc.err, tc.want)
		}
	}
	if _, err := p.MatMul(cancelled, a, engine.GemmOptions{}, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: error %v", err)
	}
	if _, err := cpu.MatMul(ctx, a, i32w, engine.GemmOptions{}, 1); !errors.Is(err, engine.ErrParams) {
		t.Errorf("unpacked int32 weights: error %v", err)
	}
	closed, err := cpu.New(engine.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if _, err := closed.MatMul(ctx, p, a, engine.GemmOptions{}); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Backend.MatMul after Close: error %v", err)
	}
	// The engine agrees that the last three are errors (and that the
	// options the tests above accept are fine).
	e := refEngine(t)
	if _, err := gemmRef(t, e, aOver, overK, engine.GemmOptions{}); !errors.Is(err, engine.ErrShape) {
		t.Errorf("Batch.Gemm accumulator overflow: error %v", err)
	}
	if _, err := gemmRef(t, e, a, w, engine.GemmOptions{Bias: []int32{1, 2}}); !errors.Is(err, engine.ErrParams) {
		t.Errorf("Batch.Gemm bad bias: error %v", err)
	}
}

// BenchmarkPackedMatMul multiplies a 128x1024 uint8 activation by
// 1024x1024 int8 weights with a fused uint8 output: on weights packed
// once (PackedWeights.MatMul, opening a backend per call, and
// Backend.MatMul on a backend kept warm), and on the unpacked path that
// packs them every call.
func BenchmarkPackedMatMul(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const M, K, N = 128, 1024, 1024
	mk := func(d qtensor.DType, shape []int, p qtensor.Params) *qtensor.Tensor {
		x, err := qtensor.New(d, shape, p)
		if err != nil {
			b.Fatal(err)
		}
		for i := range x.Data {
			x.Data[i] = byte(r.IntN(256))
		}
		return x
	}
	a := mk(qtensor.Uint8, []int{M, K}, qtensor.TensorParams(0.02, 128))
	w := mk(qtensor.Int8, []int{K, N}, qtensor.TensorParams(0.01, 0))
	o := engine.GemmOptions{Output: engine.OutQuantized, YType: qtensor.Uint8, YScale: 0.3, YZP: 128}
	ctx := context.Background()
	for _, threads := range []int{1, 0} {
		b.Run(fmt.Sprintf("packed/threads=%d", threads), func(b *testing.B) {
			p, err := cpu.PackWeights(w, false)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := p.MatMul(ctx, a, o, threads); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("backend/threads=%d", threads), func(b *testing.B) {
			p, err := cpu.PackWeights(w, false)
			if err != nil {
				b.Fatal(err)
			}
			be, err := cpu.New(engine.Options{Threads: threads})
			if err != nil {
				b.Fatal(err)
			}
			defer be.Close()
			for b.Loop() {
				if _, err := be.MatMul(ctx, p, a, o); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("unpacked/threads=%d", threads), func(b *testing.B) {
			for b.Loop() {
				if _, err := cpu.MatMul(ctx, a, w, o, threads); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
