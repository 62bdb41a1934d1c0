package glrt

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qgpu/qgpu/backends/internal/gpu/gputest"
)

func randU32(seed uint64, n int) []uint32 {
	r := rand.New(rand.NewPCG(seed, 1))
	v := make([]uint32, n)
	for i := range v {
		v[i] = r.Uint32()
	}
	return v
}

func TestCapsPlausible(t *testing.T) {
	c := newCtx(t, Options{})
	cp := c.Caps()
	t.Logf("platform %s | %s | %s | %s | GLSL %s", cp.Platform, cp.Version, cp.Renderer, cp.Vendor, cp.GLSLVersion)
	t.Logf("shared %d B, invocations %d, size %v, count %v, SSBO block %d B, UBO block %d B, SSBO align %d, UBO align %d, timer bits %d, %d extensions",
		cp.MaxComputeSharedMemorySize, cp.MaxComputeWorkGroupInvocations, cp.MaxComputeWorkGroupSize, cp.MaxComputeWorkGroupCount,
		cp.MaxShaderStorageBlockSize, cp.MaxUniformBlockSize, cp.SSBOOffsetAlignment, cp.UBOOffsetAlignment, cp.TimerBits, len(cp.Extensions))
	// Minimums from the OpenGL 4.3 core specification, table 23.
	if cp.Major < 4 || (cp.Major == 4 && cp.Minor < 3) {
		t.Errorf("version %d.%d < 4.3", cp.Major, cp.Minor)
	}
	if !strings.HasPrefix(cp.Version, fmt.Sprintf("%d.%d", cp.Major, cp.Minor)) {
		t.Errorf("GL_VERSION %q disagrees with %d.%d", cp.Version, cp.Major, cp.Minor)
	}
	if cp.MaxComputeSharedMemorySize < 32768 || cp.MaxComputeWorkGroupInvocations < 1024 {
		t.Errorf("below GL 4.3 minimums: shared %d, invocations %d", cp.MaxComputeSharedMemorySize, cp.MaxComputeWorkGroupInvocations)
	}
	for i, m := range [3]int{1024, 1024, 64} {
		if cp.MaxComputeWorkGroupSize[i] < m || cp.MaxComputeWorkGroupCount[i] < 65535 {
			t.Errorf("axis %d: size %d count %d below minimums", i, cp.MaxComputeWorkGroupSize[i], cp.MaxComputeWorkGroupCount[i])
		}
	}
	if cp.MaxShaderStorageBlockSize < 1<<24 || cp.MaxUniformBlockSize < 16384 {
		t.Errorf("block sizes %d / %d below minimums", cp.MaxShaderStorageBlockSize, cp.MaxUniformBlockSize)
	}
	for _, a := range []int{cp.SSBOOffsetAlignment, cp.UBOOffsetAlignment} {
		if a < 1 || a > 256 || a&(a-1) != 0 {
			t.Errorf("offset alignment %d not a power of two in 1..256", a)
		}
	}
	if !cp.HasExtension("GL_ARB_compute_shader") || cp.HasExtension("GL_NOT_AN_EXTENSION") {
		t.Errorf("HasExtension wrong (%d extensions)", len(cp.Extensions))
	}
	if cp.DebugContext {
		t.Errorf("debug context without Options.Debug")
	}
}

// runAdd records y = a + b + param over n elements.
func addDispatch(p *Program, a, b, y *Buffer, n int, param uint32) Dispatch {
	return Dispatch{
		Program: p,
		Groups:  groups(n, 64),
		Bindings: []Binding{
			{Index: 0, Buffer: a, ReadOnly: true},
			{Index: 1, Buffer: b, ReadOnly: true},
			{Index: 2, Buffer: y},
		},
		Params: params(uint32(n), param),
	}
}

func TestAddDispatch(t *testing.T) {
	c := newCtx(t, Options{})
	p := mustProgram(t, c, addSrc)
	if got := p.LocalSize(); got != [3]int{64, 1, 1} {
		t.Errorf("LocalSize = %v, want [64 1 1]", got)
	}
	if got := fmt.Sprint(p.StorageBindings(), p.UniformBindings()); got != "[0 1 2] [0]" {
		t.Errorf("block bindings = %s, want [0 1 2] [0]", got)
	}
	for _, n := range []int{1, 63, 64, 65, 1000} {
		av, bv := randU32(uint64(n), n), randU32(uint64(n)+100, n)
		av[0], bv[0] = 0xFFFFFFFF, 2 // wraps around
		a, b := mustBuffer(t, c, 4*n), mustBuffer(t, c, 4*n)
		y := mustBuffer(t, c, 4*n+4) // one guard word past n
		if err := a.Upload(0, gputest.Bytes(av)); err != nil {
			t.Fatal(err)
		}
		if err := b.Upload(0, gputest.Bytes(bv)); err != nil {
			t.Fatal(err)
		}
		if err := y.Upload(4*n, gputest.Bytes([]uint32{0xDEADBEEF})); err != nil {
			t.Fatal(err)
		}
		const param = 7
		var batch Batch
		batch.Dispatch(addDispatch(p, a, b, y, n, param))
		st, err := c.Run(&batch)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if st.Dispatches != 1 {
			t.Errorf("Dispatches = %d", st.Dispatches)
		}
		out := make([]byte, 4*n+4)
		if err := y.Download(0, out); err != nil {
			t.Fatal(err)
		}
		got := gputest.Words(out)
		for i := 0; i < n; i++ {
			if want := av[i] + bv[i] + param; got[i] != want {
				t.Fatalf("n=%d: y[%d] = %d, want %d", n, i, got[i], want)
			}
		}
		if got[n] != 0xDEADBEEF {
			t.Errorf("n=%d: guard word overwritten: %#x", n, got[n])
		}
		for _, buf := range []*Buffer{a, b, y} {
			if err := buf.Free(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestShortParams binds Params shorter than the block: the runtime pads
// them with zeros to the block size, so param reads 0.
func TestShortParams(t *testing.T) {
	c := newCtx(t, Options{})
	p := mustProgram(t, c, addSrc)
	const n = 40
	av, bv := randU32(3, n), randU32(4, n)
	a, b, y := mustBuffer(t, c, 4*n), mustBuffer(t, c, 4*n), mustBuffer(t, c, 4*n)
	var batch Batch
	batch.Upload(a, 0, gputest.Bytes(av))
	batch.Upload(b, 0, gputest.Bytes(bv))
	d := addDispatch(p, a, b, y, n, 0)
	d.Params = params(n) // only the first member
	batch.Dispatch(d)
	out := make([]byte, 4*n)
	batch.Download(y, 0, out)
	if _, err := c.Run(&batch); err != nil {
		t.Fatal(err)
	}
	for i, g := range gputest.Words(out) {
		if want := av[i] + bv[i]; g != want {
			t.Fatalf("y[%d] = %d, want %d", i, g, want)
		}
	}
}

func TestNilPlatform(t *testing.T) {
	if !cgoEnabled {
		t.Skip("no cgo")
	}
	_, err := NewWithPlatform(Options{}, func(Options) (Platform, error) { return nil, nil })
	if err == nil || !strings.Contains(err.Error(), "no platform") {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewWithPlatform(Options{}, nil); err == nil {
		t.Fatal("nil open: no error")
	}
}

func TestNewBufferZeroFilled(t *testing.T) {
	c := newCtx(t, Options{})
	b := mustBuffer(t, c, 4099)
	out := make([]byte, 4099)
	for i := range out {
		out[i] = 0xFF
	}
	if err := b.Download(0, out); err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		if v != 0 {
			t.Fatalf("byte %d = %#x, want 0", i, v)
		}
	}
}

// TestClear zeroes a range of a buffer and nothing else, and refuses
// ranges outside the buffer or not in whole words.
func TestClear(t *testing.T) {
	c := newCtx(t, Options{})
	b := mustBuffer(t, c, 64)
	src := make([]byte, 64)
	for i := range src {
		src[i] = 0xAB
	}
	if err := b.Upload(0, src); err != nil {
		t.Fatal(err)
	}
	if err := b.Clear(8, 16); err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 64)
	if err := b.Download(0, out); err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		if want := byte(0xAB); (i >= 8 && i < 24 && v != 0) || ((i < 8 || i >= 24) && v != want) {
			t.Fatalf("byte %d = %#x after Clear(8, 16)", i, v)
		}
	}
	for _, r := range [][2]int{{60, 8}, {-4, 4}, {2, 4}, {0, 6}} {
		if err := b.Clear(r[0], r[1]); err == nil {
			t.Errorf("Clear(%d, %d): no error", r[0], r[1])
		}
	}
}

func TestInt8Unpack(t *testing.T) {
	c := newCtx(t, Options{})
	p := mustProgram(t, c, unpackSrc)
	const n = 256 + 37
	q := make([]byte, (n+3)/4*4)
	for i := 0; i < 256; i++ {
		q[i] = byte(i) // every int8 value
	}
	r := rand.New(rand.NewPCG(8, 8))
	for i := 256; i < len(q); i++ {
		q[i] = byte(r.Uint32())
	}
	const zp = -3
	zpVar := int32(zp)
	qb, ob := mustBuffer(t, c, len(q)), mustBuffer(t, c, 4*n)
	var batch Batch
	batch.Upload(qb, 0, q)
	batch.Dispatch(Dispatch{
		Program:       p,
		Groups:        groups(n, 32),
		Bindings:      []Binding{{Index: 0, Buffer: qb, ReadOnly: true}, {Index: 1, Buffer: ob}},
		Params:        params(n, uint32(zpVar)),
		ParamsBinding: 2,
		ParamsStorage: true, // std430 storage block
	})
	out := make([]byte, 4*n)
	batch.Download(ob, 0, out)
	if _, err := c.Run(&batch); err != nil {
		t.Fatal(err)
	}
	got := gputest.Words(out)
	for i := 0; i < n; i++ {
		want := int32(int8(q[i])) - zp
		if int32(got[i]) != want {
			t.Fatalf("o[%d] = %d, want %d (q byte %#x)", i, int32(got[i]), want, q[i])
		}
	}
}

func TestBufferOffsets(t *testing.T) {
	c := newCtx(t, Options{})
	p := mustProgram(t, c, addSrc)
	al := c.Caps().SSBOOffsetAlignment
	const n = 100
	aOff := al
	bOff := alignUp(aOff+4*n+1, al)
	yOff := alignUp(bOff+4*n+1, al) + al
	size := yOff + 4*n + al
	init := make([]byte, size)
	for i := range init {
		init[i] = byte(0xA5 ^ i)
	}
	av, bv := randU32(1, n), randU32(2, n)
	copy(init[aOff:], gputest.Bytes(av))
	copy(init[bOff:], gputest.Bytes(bv))
	buf := mustBuffer(t, c, size)
	if err := buf.Upload(0, init); err != nil {
		t.Fatal(err)
	}
	var batch Batch
	batch.Dispatch(Dispatch{
		Program: p,
		Groups:  groups(n, 64),
		Bindings: []Binding{
			{Index: 0, Buffer: buf, Offset: aOff, Size: 4 * n, ReadOnly: true},
			{Index: 1, Buffer: buf, Offset: bOff, Size: 4 * n, ReadOnly: true},
			{Index: 2, Buffer: buf, Offset: yOff, Size: 4 * n},
		},
		Params: params(n, 3),
	})
	if _, err := c.Run(&batch); err != nil {
		t.Fatal(err)
	}
	out := make([]byte, size)
	if err := buf.Download(0, out); err != nil {
		t.Fatal(err)
	}
	want := append([]byte(nil), init...)
	for i := 0; i < n; i++ {
		copy(want[yOff+4*i:], gputest.Bytes([]uint32{av[i] + bv[i] + 3}))
	}
	for i := range want {
		if out[i] != want[i] {
			t.Fatalf("byte %d = %#x, want %#x (y at %d..%d)", i, out[i], want[i], yOff, yOff+4*n)
		}
	}

	// Partial download at an odd offset.
	part := make([]byte, 5)
	if err := buf.Download(yOff+3, part); err != nil {
		t.Fatal(err)
	}
	if string(part) != string(want[yOff+3:yOff+8]) {
		t.Errorf("partial download %x, want %x", part, want[yOff+3:yOff+8])
	}

	if al > 1 {
		// A misaligned binding is rejected before anything is issued: the
		// upload recorded ahead of it must not happen.
		var bad Batch
		bad.Upload(buf, 0, make([]byte, 16))
		bad.Dispatch(Dispatch{
			Program: p,
			Groups:  groups(n, 64),
			Bindings: []Binding{
				{Index: 0, Buffer: buf, Offset: aOff + al/2, Size: 4 * n, ReadOnly: true},
				{Index: 1, Buffer: buf, Offset: bOff, Size: 4 * n, ReadOnly: true},
				{Index: 2, Buffer: buf, Offset: yOff, Size: 4 * n},
			},
			Params: params(n, 3),
		})
		_, err := c.Run(&bad)
		if err == nil || !strings.Contains(err.Error(), "alignment") {
			t.Fatalf("misaligned offset: err = %v, want an alignment error", err)
		}
		if err := buf.Download(0, out[:16]); err != nil {
			t.Fatal(err)
		}
		if string(out[:16]) != string(want[:16]) {
			t.Errorf("rejected batch changed the buffer: %x", out[:16])
		}
	}
}

// TestChainedDispatches runs dependent dispatches in one batch, each with its
// own Params, and checks the result and the barriers the GL memory model asks
// for: RAW on y before dispatch 2, RAW on z plus WAR on y before dispatch 3,
// and GL_BUFFER_UPDATE before the download of y.
func TestChainedDispatches(t *testing.T) {
	c := newCtx(t, Options{})
	p := mustProgram(t, c, addSrc)
	const n = 777
	av, bv := randU32(11, n), randU32(12, n)
	a, b, y, z := mustBuffer(t, c, 4*n), mustBuffer(t, c, 4*n), mustBuffer(t, c, 4*n), mustBuffer(t, c, 4*n)
	var batch Batch
	batch.Upload(a, 0, gputest.Bytes(av))
	batch.Upload(b, 0, gputest.Bytes(bv))
	batch.Dispatch(addDispatch(p, a, b, y, n, 1)) // y = a + b + 1
	batch.Dispatch(addDispatch(p, y, a, z, n, 2)) // z = y + a + 2
	batch.Dispatch(addDispatch(p, z, b, y, n, 3)) // y = z + b + 3
	out := make([]byte, 4*n)
	batch.Download(y, 0, out)
	st, err := c.Run(&batch)
	if err != nil {
		t.Fatal(err)
	}
	if st.Dispatches != 3 || st.Barriers != 3 {
		t.Errorf("Dispatches %d Barriers %d, want 3 and 3", st.Dispatches, st.Barriers)
	}
	got := gputest.Words(out)
	for i := 0; i < n; i++ {
		if want := 2*av[i] + 2*bv[i] + 6; got[i] != want {
			t.Fatalf("y[%d] = %d, want %d", i, got[i], want)
		}
	}

	// Independent dispatches (same read-only inputs, different fresh
	// outputs) need no barrier between them.
	y2, z2 := mustBuffer(t, c, 4*n), mustBuffer(t, c, 4*n)
	batch.Reset()
	batch.Dispatch(addDispatch(p, a, b, y2, n, 10))
	batch.Dispatch(addDispatch(p, a, b, z2, n, 20))
	if st, err = c.Run(&batch); err != nil {
		t.Fatal(err)
	}
	if st.Barriers != 0 {
		t.Errorf("independent dispatches: %d barriers, want 0", st.Barriers)
	}
	// The same into y and z: the first overwrites y, which the last dispatch
	// of the first batch wrote and the download only made visible to buffer
	// reads (WAW needs a storage barrier); the second then needs none.
	batch.Reset()
	batch.Dispatch(addDispatch(p, a, b, y, n, 10))
	batch.Dispatch(addDispatch(p, a, b, z, n, 20))
	if st, err = c.Run(&batch); err != nil {
		t.Fatal(err)
	}
	if st.Barriers != 1 {
		t.Errorf("dispatches after a batch: %d barriers, want 1", st.Barriers)
	}
	if err := z.Download(0, out); err != nil {
		t.Fatal(err)
	}
	got = gputest.Words(out)
	for i := 0; i < n; i++ {
		if want := av[i] + bv[i] + 20; got[i] != want {
			t.Fatalf("z[%d] = %d, want %d", i, got[i], want)
		}
	}

	// Copy: GPU-side copy of y (written by a shader) into a, then a dispatch.
	batch.Reset()
	batch.Copy(a, 0, y, 0, 4*n)                   // a = y = a0 + b + 10
	batch.Dispatch(addDispatch(p, a, b, z, n, 5)) // z = a0 + 2b + 15
	batch.Download(z, 0, out)
	if _, err := c.Run(&batch); err != nil {
		t.Fatal(err)
	}
	got = gputest.Words(out)
	for i := 0; i < n; i++ {
		if want := av[i] + 2*bv[i] + 15; got[i] != want {
			t.Fatalf("after copy z[%d] = %d, want %d", i, got[i], want)
		}
	}
}

func TestPlainUniforms(t *testing.T) {
	c := newCtx(t, Options{})
	p := mustProgram(t, c, uniformSrc)
	locN, err1 := p.UniformLocation("n")
	locMul, err2 := p.UniformLocation("mul")
	locAdd, err3 := p.UniformLocation("add")
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if _, err := p.UniformLocation("missing"); err == nil {
		t.Error("UniformLocation(missing): no error")
	}
	const n = 50
	xv := randU32(5, n)
	x := mustBuffer(t, c, 4*n)
	var batch Batch
	batch.Upload(x, 0, gputest.Bytes(xv))
	batch.Dispatch(Dispatch{
		Program:  p,
		Groups:   groups(n, 16),
		Bindings: []Binding{{Index: 0, Buffer: x}},
		Uniforms: []UniformValue{
			{Location: locN, Uints: []uint32{n}},
			{Location: locMul, Uints: []uint32{3}},
			{Location: locAdd, Ints: []int32{5, -7}},
		},
	})
	out := make([]byte, 4*n)
	batch.Download(x, 0, out)
	if _, err := c.Run(&batch); err != nil {
		t.Fatal(err)
	}
	for i, g := range gputest.Words(out) {
		if want := xv[i]*3 - 7; g != want {
			t.Fatalf("x[%d] = %d, want %d", i, g, want)
		}
	}
}

func TestTiming(t *testing.T) {
	c := newCtx(t, Options{})
	p := mustProgram(t, c, addSrc)
	const n = 1 << 16
	a, b, y := mustBuffer(t, c, 4*n), mustBuffer(t, c, 4*n), mustBuffer(t, c, 4*n)
	batch := Batch{Timing: true}
	batch.Dispatch(addDispatch(p, a, b, y, n, 1))
	batch.Dispatch(addDispatch(p, y, b, a, n, 1))
	st, err := c.Run(&batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.GPUTime) != 2 {
		t.Fatalf("GPUTime = %v, want 2 values", st.GPUTime)
	}
	for i, d := range st.GPUTime {
		if d <= 0 || d > 10*time.Second {
			t.Errorf("GPUTime[%d] = %v, want in (0, 10s]", i, d)
		}
	}
	// Both dispatches start after Run began and end before it read the
	// queries, so their GPU times fit in the host time of Run.
	if st.TotalGPU() > st.Host {
		t.Errorf("GPU time %v exceeds the host time %v of Run", st.TotalGPU(), st.Host)
	}
	t.Logf("GPU %v (total %v), host %v, %d barriers", st.GPUTime, st.TotalGPU(), st.Host, st.Barriers)
}

func TestCompileError(t *testing.T) {
	c := newCtx(t, Options{})
	for i := 0; i < 2; i++ { // failures are not cached
		_, err := c.Program(badSrc)
		var ce *CompileError
		if !errors.As(err, &ce) {
			t.Fatalf("err = %v, want *CompileError", err)
		}
		if ce.Stage != "compile" || !strings.Contains(ce.Log, "undeclared_identifier_qgpu") || !strings.Contains(err.Error(), ce.Log) {
			t.Fatalf("stage %q log %q err %q", ce.Stage, ce.Log, err)
		}
	}
	if _, err := c.Program("  "); err == nil {
		t.Error("empty source: no error")
	}
	p1, p2 := mustProgram(t, c, addSrc), mustProgram(t, c, addSrc)
	if p1 != p2 {
		t.Error("same source compiled twice: cache miss")
	}
}

func TestValidation(t *testing.T) {
	c := newCtx(t, Options{})
	other := newCtx(t, Options{})
	p := mustProgram(t, c, addSrc)
	a, y := mustBuffer(t, c, 256), mustBuffer(t, c, 256)
	foreign := mustBuffer(t, other, 256)
	freed := mustBuffer(t, c, 256)
	if err := freed.Free(); err != nil {
		t.Fatal(err)
	}
	if err := freed.Free(); err != nil {
		t.Fatalf("second Free: %v", err)
	}
	good := func() Dispatch { return addDispatch(p, a, a, y, 64, 0) }
	al := c.Caps().UBOOffsetAlignment
	tests := []struct {
		name string
		mod  func(d *Dispatch)
		want string
	}{
		{"zero groups", func(d *Dispatch) { d.Groups[1] = 0 }, "Groups[1]"},
		{"too many groups", func(d *Dispatch) { d.Groups[0] = 1 << 31 }, "Groups[0]"},
		{"no program", func(d *Dispatch) { d.Program = nil }, "program"},
		{"missing block", func(d *Dispatch) { d.Bindings = d.Bindings[:2] }, "binding 2 is not bound"},
		{"missing params", func(d *Dispatch) { d.Params = nil }, "uniform block at binding 0"},
		{"double binding", func(d *Dispatch) { d.Bindings[1].Index = 0 }, "bound twice"},
		{"range", func(d *Dispatch) { d.Bindings[2].Size = 512 }, "outside"},
		{"offset past end", func(d *Dispatch) { d.Bindings[2].Offset = 256 }, "outside"},
		{"freed", func(d *Dispatch) { d.Bindings[0].Buffer = freed }, "freed"},
		{"foreign", func(d *Dispatch) { d.Bindings[0].Buffer = foreign }, "another context"},
		{"nil buffer", func(d *Dispatch) { d.Bindings[0].Buffer = nil }, "nil buffer"},
		{"bad kind", func(d *Dispatch) { d.Bindings[0].Kind = 9 }, "kind"},
		{"ubo misaligned", func(d *Dispatch) {
			d.Bindings = append(d.Bindings, Binding{Index: 1, Buffer: a, Kind: Uniform, Offset: al + 1})
		}, "alignment"},
		{"uniform two slices", func(d *Dispatch) {
			d.Uniforms = []UniformValue{{Location: 0, Uints: []uint32{1}, Ints: []int32{1}}}
		}, "exactly one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := good()
			tt.mod(&d)
			var b Batch
			b.Dispatch(d)
			_, err := c.Run(&b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	// The good dispatch passes.
	var b Batch
	b.Dispatch(good())
	if _, err := c.Run(&b); err != nil {
		t.Fatalf("good dispatch: %v", err)
	}
	if err := a.Upload(250, make([]byte, 7)); err == nil {
		t.Error("Upload past the end: no error")
	}
	if err := a.Download(-1, make([]byte, 1)); err == nil {
		t.Error("Download at -1: no error")
	}
	if _, err := c.NewBuffer(0); err == nil {
		t.Error("NewBuffer(0): no error")
	}
	var cp Batch
	cp.Copy(a, 0, a, 8, 16)
	if _, err := c.Run(&cp); err == nil || !strings.Contains(err.Error(), "overlapping") {
		t.Errorf("overlapping copy: %v", err)
	}
	if _, err := c.Run(nil); err == nil {
		t.Error("Run(nil): no error")
	}
	if err := c.Do(nil); err == nil {
		t.Error("Do(nil): no error")
	}
	if runtime.GOOS == "linux" {
		err := c.Do(func() error { _, err := c.NewBuffer(4); return err })
		if err == nil || !strings.Contains(err.Error(), "deadlock") {
			t.Errorf("NewBuffer inside Do: %v, want the re-entrance error", err)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	c := newCtx(t, Options{})
	const workers, n = 16, 300
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				p, err := c.Program(addSrc)
				if err != nil {
					return err
				}
				av, bv := randU32(uint64(w), n), randU32(uint64(w)+50, n)
				var bufs [3]*Buffer
				for i := range bufs {
					if bufs[i], err = c.NewBuffer(4 * n); err != nil {
						return err
					}
					defer bufs[i].Free()
				}
				if err := bufs[0].Upload(0, gputest.Bytes(av)); err != nil {
					return err
				}
				if err := c.Do(func() error { return nil }); err != nil {
					return err
				}
				var batch Batch
				batch.Upload(bufs[1], 0, gputest.Bytes(bv))
				batch.Dispatch(addDispatch(p, bufs[0], bufs[1], bufs[2], n, uint32(w)))
				out := make([]byte, 4*n)
				batch.Download(bufs[2], 0, out)
				if _, err := c.Run(&batch); err != nil {
					return err
				}
				for i, g := range gputest.Words(out) {
					if want := av[i] + bv[i] + uint32(w); g != want {
						return fmt.Errorf("worker %d: y[%d] = %d, want %d", w, i, g, want)
					}
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestCloseAndUseAfterClose(t *testing.T) {
	c := newCtx(t, Options{})
	p := mustProgram(t, c, addSrc)
	b := mustBuffer(t, c, 64)
	var batch Batch
	batch.Dispatch(addDispatch(p, b, b, b, 1, 0))
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ { // concurrent Close calls all return the same result
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
	}
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Errorf("third Close: %v", err)
	}
	checks := map[string]error{
		"Do":         c.Do(func() error { return nil }),
		"Upload":     b.Upload(0, []byte{1}),
		"Download":   b.Download(0, []byte{1}),
		"Finish":     c.Finish(),
		"NewBuffer":  func() error { _, err := c.NewBuffer(4); return err }(),
		"Program":    func() error { _, err := c.Program(emptySrc); return err }(),
		"Run":        func() error { _, err := c.Run(&batch); return err }(),
		"UniformLoc": func() error { _, err := p.UniformLocation("n"); return err }(),
	}
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if err := b.Free(); err != nil {
		t.Errorf("Free after Close: %v", err)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	newCtx(t, Options{}) // skip early when there is no driver; also loads EGL once
	before := runtime.NumGoroutine()
	for i := 0; i < 3; i++ {
		c, err := NewEGL(Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Program(emptySrc); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := NewEGL(Options{EGLPlatform: "bogus"}); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("bogus platform: %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines: %d before, %d after", before, after)
	}
}

func TestEGLPlatformChoice(t *testing.T) {
	newCtx(t, Options{})
	for _, name := range []string{"surfaceless", "device", "default"} {
		c, err := NewEGL(Options{EGLPlatform: name})
		if err != nil {
			// Not every platform works everywhere (default needs DISPLAY or
			// EGL_PLATFORM); the error must say why and wrap ErrUnavailable.
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("%s: %v does not wrap ErrUnavailable", name, err)
			}
			t.Logf("%s: %v", name, err)
			continue
		}
		t.Logf("%s: %s on %s", name, c.Caps().Platform, c.Caps().Renderer)
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestDebugMode(t *testing.T) {
	c := newCtx(t, Options{Debug: true})
	if !c.Caps().DebugContext {
		t.Error("Options.Debug gave no debug context")
	}
	// A raw GL call with a bad enum: glGetError reports it and KHR_debug logs it.
	err := c.Do(func() error {
		c.gl.bindBuffer(0xDEAD, 0)
		return c.check("bad bind")
	})
	var ge *GLError
	if !errors.As(err, &ge) || ge.Code != 0x0500 {
		t.Fatalf("err = %v, want GL_INVALID_ENUM", err)
	}
	msgs := c.DebugMessages()
	found := false
	for _, m := range msgs {
		t.Logf("debug: %v", m)
		found = found || m.Type == glDEBUG_TYPE_ERROR
	}
	if !found {
		t.Error("no GL_DEBUG_TYPE_ERROR message logged")
	}
	// Normal work passes the per-dispatch checks.
	p := mustProgram(t, c, addSrc)
	a := mustBuffer(t, c, 256)
	var b Batch
	b.Dispatch(addDispatch(p, a, a, a, 64, 1))
	b.Dispatch(addDispatch(p, a, a, a, 64, 1))
	if _, err := c.Run(&b); err != nil {
		t.Fatal(err)
	}
}

// TestMissingEGL opens a library that does not exist (in a child process,
// since libEGL is loaded once per process): NewEGL must return an error
// wrapping ErrUnavailable that names the library, not fail to link or panic.
func TestMissingEGL(t *testing.T) {
	if !cgoEnabled {
		t.Skip("no cgo")
	}
	if os.Getenv("QGPU_GLRT_CHILD") == "missing-egl" {
		eglLibrary = "libEGL_qgpu_missing.so.1"
		c, err := NewEGL(Options{})
		if c != nil || !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "libEGL_qgpu_missing.so.1") {
			t.Fatalf("NewEGL = %v, %v", c, err)
		}
		t.Log(err)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMissingEGL$", "-test.v")
	cmd.Env = append(os.Environ(), "QGPU_GLRT_CHILD=missing-egl")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "dlopen libEGL_qgpu_missing.so.1") || !strings.Contains(string(out), "install libegl1 and an EGL driver (libegl-mesa0 and libgl1-mesa-dri") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

// TestNoEGLDriver hides every EGL vendor library from libglvnd's libEGL
// (in a child process): NewEGL must fail with ErrUnavailable and name the
// packages that provide a driver.
func TestNoEGLDriver(t *testing.T) {
	if !cgoEnabled {
		t.Skip("no cgo")
	}
	if os.Getenv("QGPU_GLRT_CHILD") == "no-driver" {
		c, err := NewEGL(Options{})
		if err == nil {
			c.Close()
			t.Skip("NewEGL succeeded: this libEGL is not libglvnd's, whose vendor list the test empties")
		}
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), eglDriverHint) && !strings.Contains(err.Error(), eglLoaderHint) {
			t.Fatalf("NewEGL = %v, want ErrUnavailable with the driver hint", err)
		}
		t.Log(err)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoEGLDriver$", "-test.v")
	cmd.Env = append(os.Environ(), "QGPU_GLRT_CHILD=no-driver", "__EGL_VENDOR_LIBRARY_FILENAMES=/nonexistent/qgpu_egl_vendor.json")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}
