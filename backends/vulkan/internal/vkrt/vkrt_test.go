package vkrt

import (
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"math/bits"
	"math/rand"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qgpu/qgpu/backends/internal/gpu/gputest"
	"github.com/qgpu/qgpu/backends/vulkan/internal/vk"
)

//go:embed testdata/add.spv
var addSPV []byte

//go:embed testdata/int8.spv
var int8SPV []byte

// add.comp modes.
const (
	modeAdd   = 0 // c[i] = a[i] + b[i] + addend
	modeIndex = 1 // c[i] = i * addend
	modeAccum = 2 // c[i] += a[i]
)

var (
	sharedOnce sync.Once
	sharedDev  *Device
	sharedErr  error
)

// skipOrFail skips with the reason, or fails when QGPU_REQUIRE=vulkan.
func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("QGPU_REQUIRE") == "vulkan" {
		t.Fatalf("QGPU_REQUIRE=vulkan but no Vulkan device: %v", err)
	}
	t.Skipf("no Vulkan device (set VK_ICD_FILENAMES to a lavapipe or SwiftShader ICD): %v", err)
}

// device returns a device shared by the tests (closed in TestMain).
func device(t testing.TB) *Device {
	t.Helper()
	sharedOnce.Do(func() { sharedDev, sharedErr = Open(Options{Device: os.Getenv("QGPU_VK_DEVICE")}) })
	if sharedErr != nil {
		skipOrFail(t, sharedErr)
	}
	return sharedDev
}

// openOwn opens a separate device with opts, closed at the end of the test.
func openOwn(t testing.TB, opts Options) *Device {
	t.Helper()
	opts.Device = os.Getenv("QGPU_VK_DEVICE")
	d, err := Open(opts)
	if err != nil {
		skipOrFail(t, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedDev != nil {
		sharedDev.Close()
	}
	os.Exit(code)
}

func addPipeline(t testing.TB, d *Device, spec ...uint32) *Pipeline {
	t.Helper()
	code, err := SPIRV(addSPV)
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.NewPipeline(code, 3, 12, spec...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func push3(n, addend, mode uint32) []byte {
	b := make([]byte, 12)
	binary.LittleEndian.PutUint32(b[0:], n)
	binary.LittleEndian.PutUint32(b[4:], addend)
	binary.LittleEndian.PutUint32(b[8:], mode)
	return b
}

func newU32(t testing.TB, d *Device, v []uint32) *Buffer {
	t.Helper()
	b, err := d.NewBuffer(int64(4 * len(v)))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Write(0, gputest.Bytes(v)); err != nil {
		t.Fatal(err)
	}
	return b
}

func readU32(t testing.TB, b *Buffer) []uint32 {
	t.Helper()
	p := make([]byte, b.Size())
	if err := b.Read(0, p); err != nil {
		t.Fatal(err)
	}
	return gputest.Words(p)
}

func randU32(rng *rand.Rand, n int) []uint32 {
	v := make([]uint32, n)
	for i := range v {
		v[i] = rng.Uint32()
	}
	return v
}

func groups(n, wg int) uint32 { return uint32((n + wg - 1) / wg) }

func TestCapsPlausible(t *testing.T) {
	d := device(t)
	c := d.Caps()
	t.Logf("device %d %q type=%s driver=%q %q api=%s vendor=%#x device=%#x",
		c.Index, c.Name, c.Type, c.DriverName, c.DriverInfo, versionString(c.APIVersion), c.VendorID, c.DeviceID)
	t.Logf("enabled %+v", c.Features)
	t.Logf("reported %+v", c.Reported)
	t.Logf("subgroup %d [%d,%d] ops=%#x shared=%d inv=%d size=%v count=%v range=%d align=%d push=%d perStage=%d maxAlloc=%d allocCount=%d devLocal=%d",
		c.SubgroupSize, c.MinSubgroupSize, c.MaxSubgroupSize, c.SubgroupOperations, c.MaxComputeSharedMemorySize,
		c.MaxComputeWorkGroupInvocations, c.MaxComputeWorkGroupSize, c.MaxComputeWorkGroupCount, c.MaxStorageBufferRange,
		c.MinStorageBufferOffsetAlignment, c.MaxPushConstantsSize, c.MaxStorageBuffersPerStage, c.MaxMemoryAllocationSize,
		c.MaxMemoryAllocationCount, c.DeviceLocalBytes)
	t.Logf("coopmat=%v timestamps=%v period=%gns bits=%d floatctl=%v rte32=%v rtz32=%v denormPreserve32=%v ftz32=%v szinfnan32=%v dot4x8packed accel s/m=%v/%v hostVisible=%v exts=%d",
		c.CooperativeMatrix, c.Timestamps, c.TimestampPeriod, c.TimestampValidBits, c.FloatControls, c.RoundingModeRTEFloat32,
		c.RoundingModeRTZFloat32, c.DenormPreserveFloat32, c.DenormFlushToZeroFloat32, c.SignedZeroInfNanPreserveFloat32,
		c.IntegerDotProduct4x8BitPackedSignedAccelerated, c.IntegerDotProduct4x8BitPackedMixedAccelerated, c.HostVisibleBuffers, len(c.Extensions))

	// Vulkan 1.0 required minimums (spec table "Required Limits").
	if c.Name == "" {
		t.Error("empty device name")
	}
	if c.APIVersion < 1<<22 {
		t.Errorf("API version %#x < 1.0", c.APIVersion)
	}
	if c.MaxComputeSharedMemorySize < 16384 || c.MaxComputeWorkGroupInvocations < 128 {
		t.Errorf("shared %d, invocations %d below the required minimums", c.MaxComputeSharedMemorySize, c.MaxComputeWorkGroupInvocations)
	}
	for i, m := range [3]uint32{128, 128, 64} {
		if c.MaxComputeWorkGroupSize[i] < m || c.MaxComputeWorkGroupCount[i] < 65535 {
			t.Errorf("axis %d: size %d count %d below minimums", i, c.MaxComputeWorkGroupSize[i], c.MaxComputeWorkGroupCount[i])
		}
	}
	if c.MaxStorageBufferRange < 1<<27 || c.MaxPushConstantsSize < 128 || c.MaxStorageBuffersPerStage < 4 {
		t.Errorf("range %d push %d perStage %d below minimums", c.MaxStorageBufferRange, c.MaxPushConstantsSize, c.MaxStorageBuffersPerStage)
	}
	if a := c.MinStorageBufferOffsetAlignment; a == 0 || a > 256 || bits.OnesCount64(a) != 1 {
		t.Errorf("minStorageBufferOffsetAlignment %d not a power of two <= 256", a)
	}
	if c.APIVersion >= 1<<22|1<<12 && (c.SubgroupSize == 0 || bits.OnesCount32(c.SubgroupSize) != 1 || c.SubgroupSize > 128) {
		t.Errorf("subgroup size %d not a power of two in [1,128]", c.SubgroupSize)
	}
	if c.Timestamps && !(c.TimestampPeriod > 0) {
		t.Errorf("timestamps with period %g", c.TimestampPeriod)
	}
	if got := andFeatures(c.Features, c.Reported); got != c.Features {
		t.Errorf("enabled features %+v not a subset of reported %+v", c.Features, c.Reported)
	}
	if c.Features != c.Reported {
		t.Errorf("Open with nil Features enabled %+v, device reports %+v", c.Features, c.Reported)
	}

	list, err := ListDevices()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) <= c.Index || list[c.Index].Name != c.Name || list[c.Index].Features != c.Reported {
		t.Errorf("ListDevices does not list the opened device %q at %d: %+v", c.Name, c.Index, list)
	}
}

func versionString(v uint32) string {
	return strings.Join([]string{itoa(v >> 22 & 0x7f), itoa(v >> 12 & 0x3ff), itoa(v & 0xfff)}, ".")
}

func itoa(v uint32) string {
	if v < 10 {
		return string(rune('0' + v))
	}
	return itoa(v/10) + string(rune('0'+v%10))
}

// TestAdd checks one dispatch against a Go loop, with a guard region past n
// that must stay untouched.
func TestAdd(t *testing.T) {
	d := device(t)
	p := addPipeline(t, d)
	rng := rand.New(rand.NewSource(1))
	for _, n := range []int{1, 63, 64, 65, 1000, 4099} {
		const guard = 37
		const sentinel = 0xDEADBEEF
		a, b := randU32(rng, n), randU32(rng, n)
		addend := rng.Uint32()
		c0 := make([]uint32, n+guard)
		for i := range c0 {
			c0[i] = sentinel
		}
		ba, bb, bc := newU32(t, d, a), newU32(t, d, b), newU32(t, d, c0)
		s := d.NewSequence()
		if err := s.Dispatch(p, []Binding{{Buf: ba}, {Buf: bb}, {Buf: bc}}, push3(uint32(n), addend, modeAdd), groups(n, 64), 1, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Submit(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := readU32(t, bc)
		for i := 0; i < n+guard; i++ {
			want := uint32(sentinel)
			if i < n {
				want = a[i] + b[i] + addend // uint32 wraps like GLSL uint
			}
			if got[i] != want {
				t.Fatalf("n=%d: c[%d] = %#x, want %#x", n, i, got[i], want)
			}
		}
		ba.Free()
		bb.Free()
		bc.Free()
	}
}

// TestSpecialization runs the index writer with workgroup sizes set by
// specialization constant 0.
func TestSpecialization(t *testing.T) {
	d := device(t)
	const n = 777
	for _, wg := range []int{1, 32, 64, 128} {
		p := addPipeline(t, d, uint32(wg))
		bc := newU32(t, d, make([]uint32, n))
		dummy := newU32(t, d, []uint32{0})
		s := d.NewSequence()
		// Exactly enough groups: with a wrong workgroup size some c[i] stay 0
		// or the bounds check hides nothing.
		if err := s.Dispatch(p, []Binding{{Buf: dummy}, {Buf: dummy}, {Buf: bc}}, push3(n, 3, modeIndex), groups(n, wg), 1, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Submit(context.Background()); err != nil {
			t.Fatal(err)
		}
		for i, v := range readU32(t, bc) {
			if v != uint32(3*i) {
				t.Fatalf("wg=%d: c[%d] = %d, want %d", wg, i, v, 3*i)
			}
		}
		bc.Free()
		dummy.Free()
	}
	if addPipeline(t, d, 32) == addPipeline(t, d, 64) {
		t.Error("different specialization constants gave the same pipeline")
	}
}

// TestOffsets packs a, b and c into one buffer at aligned offsets.
func TestOffsets(t *testing.T) {
	d := device(t)
	p := addPipeline(t, d)
	align := int64(d.Caps().MinStorageBufferOffsetAlignment)
	const n = 300
	seg := (int64(4*n) + align - 1) / align * align
	rng := rand.New(rand.NewSource(2))
	a, b := randU32(rng, n), randU32(rng, n)
	buf, err := d.NewBuffer(3*seg + 64)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Free()
	if err := buf.Write(0, gputest.Bytes(a)); err != nil {
		t.Fatal(err)
	}
	if err := buf.Write(seg, gputest.Bytes(b)); err != nil {
		t.Fatal(err)
	}
	s := d.NewSequence()
	bind := []Binding{{Buf: buf, Off: 0, Size: 4 * n}, {Buf: buf, Off: seg, Size: 4 * n}, {Buf: buf, Off: 2 * seg, Size: 4 * n}}
	if err := s.Dispatch(p, bind, push3(n, 5, modeAdd), groups(n, 64), 1, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Submit(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 4*n)
	if err := buf.Read(2*seg, out); err != nil {
		t.Fatal(err)
	}
	for i, v := range gputest.Words(out) {
		if v != a[i]+b[i]+5 {
			t.Fatalf("c[%d] = %d, want %d", i, v, a[i]+b[i]+5)
		}
	}
	// a and b unchanged.
	if err := buf.Read(0, out); err != nil {
		t.Fatal(err)
	}
	if gputest.Words(out)[n-1] != a[n-1] {
		t.Error("input a was modified")
	}

	bad := []struct {
		name string
		bind Binding
		want string
	}{
		{"misaligned", Binding{Buf: buf, Off: align + 4}, "minStorageBufferOffsetAlignment"},
		{"negative", Binding{Buf: buf, Off: -align}, "minStorageBufferOffsetAlignment"},
		{"past end", Binding{Buf: buf, Off: 0, Size: 3*seg + 65}, "outside buffer"},
		{"offset past end", Binding{Buf: buf, Off: 4 * seg}, "outside buffer"},
		{"nil", Binding{}, "nil buffer"},
	}
	if align <= 4 {
		bad = bad[1:]
	}
	for _, c := range bad {
		s := d.NewSequence()
		err := s.Dispatch(p, []Binding{{Buf: buf, Size: 4}, {Buf: buf, Size: 4}, c.bind}, push3(1, 0, 0), 1, 1, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
		if s.Len() != 0 {
			t.Errorf("%s: failed Dispatch left %d commands", c.name, s.Len())
		}
	}
}

// TestChain records dependent commands in one submission: fill, K
// accumulating dispatches, a copy; each reads what the previous wrote.
func TestChain(t *testing.T) {
	d := device(t)
	p := addPipeline(t, d)
	const n, K = 5000, 40
	rng := rand.New(rand.NewSource(3))
	a := randU32(rng, n)
	ba := newU32(t, d, a)
	bc, _ := d.NewBuffer(4 * n)
	bd, _ := d.NewBuffer(4 * n)
	defer ba.Free()
	defer bc.Free()
	defer bd.Free()
	s := d.NewSequence()
	s.Timestamps(true)
	if err := s.Fill(bc, 0, 4*n, 7); err != nil {
		t.Fatal(err)
	}
	for k := 0; k < K; k++ {
		if err := s.Dispatch(p, []Binding{{Buf: ba}, {Buf: ba}, {Buf: bc}}, push3(n, 0, modeAccum), groups(n, 64), 1, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Copy(bd, 0, bc, 0, 4*n); err != nil {
		t.Fatal(err)
	}
	for rep := 0; rep < 2; rep++ { // a Sequence can be submitted again
		tm, err := s.Submit(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if d.Caps().Timestamps && len(tm.Commands) != K+2 {
			t.Fatalf("%d command timings, want %d", len(tm.Commands), K+2)
		}
		for i, v := range readU32(t, bd) {
			if want := 7 + K*a[i]; v != want {
				t.Fatalf("rep %d: d[%d] = %d, want %d", rep, i, v, want)
			}
		}
	}
}

func TestTimestamps(t *testing.T) {
	d := device(t)
	if !d.Caps().Timestamps {
		t.Skipf("%s has no timestamps on its compute queue", d.Caps().Name)
	}
	p := addPipeline(t, d)
	const n = 1 << 20
	ba, _ := d.NewBuffer(4 * n)
	bc, _ := d.NewBuffer(4 * n)
	defer ba.Free()
	defer bc.Free()
	s := d.NewSequence()
	s.Timestamps(true)
	for k := 0; k < 3; k++ {
		if err := s.Dispatch(p, []Binding{{Buf: ba}, {Buf: ba}, {Buf: bc}}, push3(n, 1, modeAdd), groups(n, 64), 1, 1); err != nil {
			t.Fatal(err)
		}
	}
	tm, err := s.Submit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("per-dispatch GPU time %v, total %v", tm.Commands, tm.Total)
	var sum time.Duration
	for i, c := range tm.Commands {
		if c <= 0 || c > time.Minute {
			t.Errorf("dispatch %d: GPU time %v", i, c)
		}
		sum += c
	}
	if tm.Total < sum || tm.Total > time.Minute {
		t.Errorf("total %v < sum of dispatches %v", tm.Total, sum)
	}
	s.Timestamps(false)
	if tm, err := s.Submit(context.Background()); err != nil || tm.Commands != nil {
		t.Errorf("without timestamps: %+v, %v", tm, err)
	}
}

// TestStaging runs the device-local + staging path (forced on software
// drivers) with odd offsets and sizes.
func TestStaging(t *testing.T) {
	d := openOwn(t, Options{ForceStaging: true})
	if d.Caps().HostVisibleBuffers {
		t.Fatal("ForceStaging still gave host-visible buffers")
	}
	b, err := d.NewBuffer(100003)
	if err != nil {
		t.Fatal(err)
	}
	if b.HostVisible() || b.Mapped() != nil {
		t.Fatal("forced-staging buffer is mapped")
	}
	rng := rand.New(rand.NewSource(4))
	data := make([]byte, 70001)
	rng.Read(data)
	if err := b.Write(13, data); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data)+2)
	if err := b.Read(12, got); err != nil {
		t.Fatal(err)
	}
	for i := range data {
		if got[i+1] != data[i] {
			t.Fatalf("byte %d: got %d want %d", i, got[i+1], data[i])
		}
	}
	// And a dispatch on staged buffers.
	p := addPipeline(t, d)
	const n = 1000
	a, bb := randU32(rng, n), randU32(rng, n)
	ba, bbuf, bc := newU32(t, d, a), newU32(t, d, bb), newU32(t, d, make([]uint32, n))
	s := d.NewSequence()
	if err := s.Dispatch(p, []Binding{{Buf: ba}, {Buf: bbuf}, {Buf: bc}}, push3(n, 9, modeAdd), groups(n, 64), 1, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Submit(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, v := range readU32(t, bc) {
		if v != a[i]+bb[i]+9 {
			t.Fatalf("c[%d] = %d, want %d", i, v, a[i]+bb[i]+9)
		}
	}
}

// TestInt8Capability: the 8-bit storage shader runs where the feature is
// enabled and is refused (not crashed on) where it is not.
func TestInt8Capability(t *testing.T) {
	code, err := SPIRV(int8SPV)
	if err != nil {
		t.Fatal(err)
	}
	run := func(d *Device) {
		p, err := d.NewPipeline(code, 2, 4)
		if !d.Caps().StorageBuffer8BitAccess {
			if err == nil || !strings.Contains(err.Error(), "storageBuffer8BitAccess") {
				t.Errorf("%s without 8-bit storage: NewPipeline err = %v", d.Caps().Name, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		in := []byte{0, 1, 127, 128, 255, 200, 5, 0x80 | 3}
		bi, _ := d.NewBuffer(8)
		bo, _ := d.NewBuffer(32)
		defer bi.Free()
		defer bo.Free()
		bi.Write(0, in)
		pc := make([]byte, 4)
		binary.LittleEndian.PutUint32(pc, uint32(len(in)))
		s := d.NewSequence()
		if err := s.Dispatch(p, []Binding{{Buf: bi}, {Buf: bo}}, pc, 1, 1, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Submit(context.Background()); err != nil {
			t.Fatal(err)
		}
		for i, v := range readU32(t, bo) {
			if want := int32(int8(in[i])); int32(v) != want {
				t.Errorf("out[%d] = %d, want %d", i, int32(v), want)
			}
		}
	}
	run(device(t))
	run(openOwn(t, Options{Features: &Features{}})) // nothing enabled: must refuse
}

func TestErrors(t *testing.T) {
	d := device(t)
	p := addPipeline(t, d)
	code, _ := SPIRV(addSPV)
	b, _ := d.NewBuffer(64)
	defer b.Free()
	bind := []Binding{{Buf: b}, {Buf: b}, {Buf: b}}
	cases := []struct {
		name string
		err  error
	}{
		{"SPIRV short", func() error { _, err := SPIRV([]byte{3, 2, 35, 7}); return err }()},
		{"SPIRV magic", func() error { _, err := SPIRV(make([]byte, 20)); return err }()},
		{"pipeline nil code", func() error { _, err := d.NewPipeline(nil, 3, 12); return err }()},
		{"pipeline push not /4", func() error { _, err := d.NewPipeline(code, 3, 10); return err }()},
		{"pipeline push too big", func() error { _, err := d.NewPipeline(code, 3, 1<<20); return err }()},
		{"pipeline bindings", func() error { _, err := d.NewPipeline(code, -1, 12); return err }()},
		{"unknown capability", func() error {
			c := append([]uint32(nil), code...)
			for i := 5; i < len(c); i += int(c[i] >> 16) {
				if c[i]&0xffff == 17 {
					c[i+1] = 4427 // DrawParameters: not known to vkrt
					break
				}
			}
			_, err := d.NewPipeline(c, 3, 12)
			return err
		}()},
		{"buffer size 0", func() error { _, err := d.NewBuffer(0); return err }()},
		{"write past end", b.Write(60, make([]byte, 5))},
		{"write negative", b.Write(-1, make([]byte, 1))},
		{"read past end", b.Read(65, nil)},
		{"bindings count", d.NewSequence().Dispatch(p, bind[:2], push3(1, 0, 0), 1, 1, 1)},
		{"push size", d.NewSequence().Dispatch(p, bind, make([]byte, 8), 1, 1, 1)},
		{"groups", d.NewSequence().Dispatch(p, bind, push3(1, 0, 0), 1<<31, 1, 1)},
		{"nil pipeline", d.NewSequence().Dispatch(nil, bind, push3(1, 0, 0), 1, 1, 1)},
		{"fill unaligned", d.NewSequence().Fill(b, 2, 4, 0)},
		{"copy overlap", d.NewSequence().Copy(b, 0, b, 4, 8)},
		{"copy past end", d.NewSequence().Copy(b, 60, b, 0, 8)},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		} else {
			t.Logf("%s: %v", c.name, c.err)
		}
	}
}

func TestFreeAndClose(t *testing.T) {
	d := openOwn(t, Options{})
	p := addPipeline(t, d)
	b, err := d.NewBuffer(16)
	if err != nil {
		t.Fatal(err)
	}
	s := d.NewSequence()
	if err := s.Dispatch(p, []Binding{{Buf: b}, {Buf: b}, {Buf: b}}, push3(0, 0, 0), 1, 1, 1); err != nil {
		t.Fatal(err)
	}
	b.Free()
	b.Free()
	if err := b.Write(0, []byte{1}); !errors.Is(err, ErrFreed) {
		t.Errorf("Write after Free: %v", err)
	}
	if _, err := s.Submit(context.Background()); !errors.Is(err, ErrFreed) {
		t.Errorf("Submit with a freed buffer: %v", err)
	}
	b2, _ := d.NewBuffer(16)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	b2.Free() // after Close: no-op
	if _, err := d.NewBuffer(16); !errors.Is(err, ErrClosed) {
		t.Errorf("NewBuffer after Close: %v", err)
	}
	if _, err := d.NewSequence().Submit(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close: %v", err)
	}
	if err := b2.Read(0, make([]byte, 4)); err == nil {
		t.Error("Read after Close succeeded")
	}
}

// TestCancel: a cancelled Submit returns early; the work completes, buffers
// freed meanwhile are destroyed afterwards, and Close waits for it.
func TestCancel(t *testing.T) {
	d := openOwn(t, Options{})
	p := addPipeline(t, d, 128)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.NewSequence().Submit(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Submit with a cancelled context: %v", err)
	}

	// The cancellation must land while the GPU works, so the submission
	// must outlast many fence-poll slices on every device: an uncancelled
	// run of 40 dispatches over 1M elements is timed first, and the
	// cancelled one repeats the dispatches until it takes at least
	// 20 slices (lavapipe and SwiftShader need no repeats; a discrete GPU
	// runs 40 such dispatches well inside one slice).
	const n = 1 << 20
	build := func(k int) (*Sequence, *Buffer, *Buffer) {
		ba, _ := d.NewBuffer(4 * n)
		bc, _ := d.NewBuffer(4 * n)
		s := d.NewSequence()
		if err := s.Fill(ba, 0, 4*n, 1); err != nil {
			t.Fatal(err)
		}
		if err := s.Fill(bc, 0, 4*n, 0); err != nil {
			t.Fatal(err)
		}
		for range k {
			if err := s.Dispatch(p, []Binding{{Buf: ba}, {Buf: ba}, {Buf: bc}}, push3(n, 0, modeAccum), groups(n, 128), 1, 1); err != nil {
				t.Fatal(err)
			}
		}
		return s, ba, bc
	}
	K := 40
	s, ba, bc := build(K)
	start := time.Now()
	if _, err := s.Submit(context.Background()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	ba.Free()
	bc.Free()
	if want := 20 * pollSlice; took < want {
		K = min(K*int(want/max(took, time.Microsecond)+1), 1<<16)
	}
	s, ba, bc = build(K)
	// A context that is live for Submit's first check and cancelled for
	// every later one.
	ctx = &cancelAfterFirstCheck{Context: context.Background(), done: make(chan struct{})}
	start = time.Now()
	_, err := s.Submit(ctx)
	t.Logf("%d dispatches: uncancelled %d took %v; the cancelled submission returned after %v: %v", K, 40, took, time.Since(start), err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Submit = %v, want DeadlineExceeded", err)
	}
	ba.Free() // in flight: destroyed after the fence
	if err := d.WaitIdle(); err != nil {
		t.Fatal(err)
	}
	// The work ran to completion.
	out := make([]byte, 4)
	if err := bc.Read(4*(n-1), out); err != nil {
		t.Fatal(err)
	}
	if v := binary.LittleEndian.Uint32(out); v != uint32(K) {
		t.Errorf("last element %d after the cancelled submission, want %d", v, K)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

// cancelAfterFirstCheck is a context whose Err is nil on the first call
// and context.DeadlineExceeded afterwards.
type cancelAfterFirstCheck struct {
	context.Context
	mu    sync.Mutex
	calls int
	done  chan struct{}
}

func (c *cancelAfterFirstCheck) Done() <-chan struct{} { return c.done }

func (c *cancelAfterFirstCheck) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.calls == 1 {
		return nil
	}
	return context.DeadlineExceeded
}

func TestNoDevice(t *testing.T) {
	if err := vk.Init(); err != nil {
		if !errors.Is(func() error { _, err := Open(Options{}); return err }(), ErrUnavailable) {
			t.Errorf("Open without a loader does not match ErrUnavailable")
		}
		skipOrFail(t, err)
	}
	t.Setenv("VK_ICD_FILENAMES", "/nonexistent/qgpu_icd.json")
	t.Setenv("VK_DRIVER_FILES", "/nonexistent/qgpu_icd.json")
	d, err := Open(Options{})
	if err == nil {
		d.Close()
		t.Fatal("Open succeeded with no ICD")
	}
	t.Logf("Open: %v", err)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "VK_ICD_FILENAMES=/nonexistent/qgpu_icd.json") ||
		!strings.Contains(err.Error(), "no Vulkan driver (ICD) found: install one: mesa-vulkan-drivers") {
		t.Errorf("err = %v: want ErrUnavailable naming VK_ICD_FILENAMES and the packages that provide a driver", err)
	}
	if _, err := Open(Options{Device: "no such device name"}); err == nil || !strings.Contains(err.Error(), "VK_ICD") && !strings.Contains(err.Error(), "no device") {
		t.Errorf("Open(no such device) = %v", err)
	}
}

func TestDeviceSelection(t *testing.T) {
	d := device(t)
	list, err := ListDevices()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Device: "qgpu-no-such-device"}); err == nil || !strings.Contains(err.Error(), "no device matching") {
		t.Errorf("Open by a missing name: %v", err)
	}
	if _, err := Open(Options{Device: "99"}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("Open by a bad index: %v", err)
	}
	name := d.Caps().Name
	d2 := openOwn(t, Options{Device: strings.ToUpper(name[:4])})
	if !strings.Contains(strings.ToLower(d2.Caps().Name), strings.ToLower(name[:4])) {
		t.Errorf("Open by name %q gave %q", name[:4], d2.Caps().Name)
	}
	d2.Close()
	d3, err := Open(Options{Device: itoa(uint32(d.Caps().Index))})
	if err != nil {
		t.Fatal(err)
	}
	defer d3.Close()
	if d3.Caps().Name != list[d.Caps().Index].Name {
		t.Errorf("Open by index %d gave %q", d.Caps().Index, d3.Caps().Name)
	}
}
