package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// Config selects and configures an engine's backend.
type Config struct {
	// Backend is "cpu", "vulkan", "opengl" or "auto" ("" means "auto").
	// auto takes the first registered backend, by priority, that opens on
	// a hardware device; software GPU drivers (lavapipe, SwiftShader,
	// llvmpipe) are slower than the CPU backend and are used only when
	// named. The reasons the others were passed over are in
	// Engine.Fallbacks.
	Backend string
	// Device selects a device by index ("0") or name substring; "" is the
	// backend's default.
	Device string
	// Threads limits CPU worker goroutines (0: GOMAXPROCS); at most 64
	// per CPU.
	Threads int
	// Debug turns on a backend's extra checking (GL errors after each op,
	// Vulkan validation).
	Debug bool
	// Kernels selects a backend's kernel set; "" is its best. The CPU
	// backend accepts "generic" (its reference kernels, the conformance
	// suite's reference) and "fast" (the default).
	Kernels string
	// GuardBytes surrounds every tensor with this many bytes of a known
	// pattern (rounded up to a multiple of 256); CheckGuards reports any
	// that were overwritten. For conformance testing.
	GuardBytes int
}

// options are the backend options of cfg.
func (cfg *Config) options() backend.Options {
	return backend.Options{Device: cfg.Device, Threads: cfg.Threads, Debug: cfg.Debug, Kernels: cfg.Kernels}
}

// Engine is the one API over every backend. It validates ops, owns the
// backend and every tensor made through it. An Engine is safe for
// concurrent use by many goroutines.
type Engine struct {
	b         backend.Backend
	fallbacks []string
	guard     int

	mu     sync.RWMutex // held for reading by every call that uses b; for writing by Close
	closed bool

	gmu     sync.Mutex
	guarded map[*Tensor]struct{}

	// resident maps the first element of each slice that Observe is
	// handing an observer to the device tensor it was read from, so that
	// the engine's reducer runs on that tensor instead of uploading the
	// slice (see residentFor).
	rmu      sync.Mutex
	resident map[*float32]*Tensor
}

// New opens an engine on the configured backend.
func New(cfg Config) (*Engine, error) {
	name := cfg.Backend
	if name == "" {
		name = "auto"
	}
	opts := cfg.options()
	if err := opts.Check(); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e := &Engine{}
	if cfg.GuardBytes > 0 {
		e.guard = (cfg.GuardBytes + 255) &^ 255
		e.guarded = map[*Tensor]struct{}{}
	}
	if name != "auto" {
		b, err := backend.Open(name, opts)
		if err != nil {
			return nil, err
		}
		e.b = b
		return e, nil
	}
	names := backend.Names()
	if len(names) == 0 {
		return nil, fmt.Errorf("engine: auto: %w: no backend is linked into this program; import one for its side effect, e.g. import _ %q (or backends/vulkan, backends/opengl)",
			ErrUnavailable, backend.ImportPath("cpu"))
	}
	for _, n := range names {
		b, err := backend.Open(n, opts)
		if err != nil {
			e.fallbacks = append(e.fallbacks, err.Error())
			continue
		}
		if k := b.Device().Kind; n != "cpu" && (k == "software" || k == "cpu") {
			e.fallbacks = append(e.fallbacks, fmt.Sprintf("engine: backend %s: only a software device (%s); the CPU backend is faster", n, b.Device().Name))
			b.Close()
			continue
		}
		e.b = b
		return e, nil
	}
	return nil, fmt.Errorf("engine: auto: no backend opened: %w: %s", ErrUnavailable, strings.Join(e.fallbacks, "; "))
}

// Backend returns the backend in use.
func (e *Engine) Backend() backend.Backend { return e.b }

// Device describes the backend's device and its capabilities.
func (e *Engine) Device() DeviceInfo { return e.b.Device() }

// Fallbacks returns why auto selection passed over other backends.
func (e *Engine) Fallbacks() []string { return append([]string(nil), e.fallbacks...) }

// Close releases the backend and everything made through it. Safe to call
// twice; any later call returns an error wrapping ErrClosed.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	return e.b.Close()
}

// enter takes the read lock and fails if the engine is closed.
func (e *Engine) enter() error {
	e.mu.RLock()
	if e.closed {
		e.mu.RUnlock()
		return fmt.Errorf("engine %w", ErrClosed)
	}
	return nil
}

func (e *Engine) leave() { e.mu.RUnlock() }

const guardByte = 0xA5

// alloc makes a tensor of the given type, shape and params (validated by
// the caller) with zeroed data.
func (e *Engine) alloc(d qtensor.DType, shape []int, p qtensor.Params) (*Tensor, error) {
	n, err := qtensor.NumElements(shape)
	if err != nil {
		return nil, err
	}
	nb, ok := d.StorageBytes(n)
	if !ok || nb > maxInt-2*e.guard-4 {
		return nil, fmt.Errorf("%w: %v tensor of shape %v is too large", ErrShape, d, shape)
	}
	size := (nb+3)&^3 + 2*e.guard
	buf, err := e.b.Alloc(size)
	if err != nil {
		return nil, err
	}
	t := &Tensor{eng: e, d: backend.NewTensor(buf, e.guard, nb, d, shape, n, p)}
	t.st = &storage{base: t, handles: 1}
	if e.guard > 0 {
		pat := make([]byte, size-nb-e.guard)
		for i := range pat {
			pat[i] = guardByte
		}
		if err := buf.Write(0, pat[:e.guard]); err != nil {
			buf.Free()
			return nil, err
		}
		if err := buf.Write(e.guard+nb, pat); err != nil {
			buf.Free()
			return nil, err
		}
		e.gmu.Lock()
		e.guarded[t] = struct{}{}
		e.gmu.Unlock()
	}
	return t, nil
}

const maxInt = int(^uint(0) >> 1)

// CheckGuards verifies the guard bytes of every live tensor (Config.GuardBytes)
// and returns an error naming the tensors whose guards were overwritten.
// It reads only the guard zones, never a tensor's data, so it may run while
// batches write their outputs. After Close it returns an error wrapping
// ErrClosed (with or without guards).
func (e *Engine) CheckGuards() error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	if e.guard == 0 {
		return nil
	}
	// Hold gmu for the whole scan: Tensor.Release takes it before freeing
	// a guarded tensor's buffer, so no buffer is freed while it is read.
	e.gmu.Lock()
	defer e.gmu.Unlock()
	var bad []string
	for t := range e.guarded {
		buf, off, nb := t.d.Buffer(), t.d.Offset(), t.d.Bytes()
		zones := [2]struct{ at, n int }{{0, off}, {off + nb, buf.Size() - off - nb}}
		for _, z := range zones {
			b := make([]byte, z.n)
			if err := buf.Read(z.at, b); err != nil {
				return err
			}
			if i := slices.IndexFunc(b, func(v byte) bool { return v != guardByte }); i >= 0 {
				where := "before"
				if z.at > 0 {
					where = "after"
				}
				bad = append(bad, fmt.Sprintf("%v: guard byte %d %s the data overwritten (0x%02x)", t, z.at+i-off, where, b[i]))
				break
			}
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return errors.New("engine: out-of-bounds writes: " + strings.Join(bad, "; "))
	}
	return nil
}

// Upload copies a host tensor to the device.
func (e *Engine) Upload(h *qtensor.Tensor) (*Tensor, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: nil tensor", ErrParams)
	}
	if err := h.Validate(); err != nil {
		return nil, fmt.Errorf("engine: upload: %w", err)
	}
	if err := e.enter(); err != nil {
		return nil, err
	}
	defer e.leave()
	t, err := e.alloc(h.DType, h.Shape, h.Params)
	if err != nil {
		return nil, err
	}
	if err := t.d.Buffer().Write(t.d.Offset(), h.Data); err != nil {
		t.Release()
		return nil, err
	}
	return t, nil
}

// Write copies host tensor h into the memory of t, an existing tensor of
// the same type, shape and (for quantized types) parameters: new data for
// a tensor that recorded batches read, so that a batch recorded once can
// be run again on new inputs (see Batch.Run) without recording or
// allocating anything. Writes through a view (Reshape) are seen by every
// Tensor sharing the memory.
//
// As with ops (see Tensor), a Write must not overlap a running batch that
// reads or writes t; that ordering is the caller's responsibility. Write
// returns an error wrapping ErrClosed for a released t, ErrParams for a
// nil or invalid h or another type or params, ErrShape for another shape.
func (e *Engine) Write(t *Tensor, h *qtensor.Tensor) error {
	if h == nil {
		return fmt.Errorf("engine: Write: %w: nil host tensor", ErrParams)
	}
	if err := h.Validate(); err != nil {
		return fmt.Errorf("engine: Write: %w", err)
	}
	if err := e.writable(t, h.DType, h.Shape, h.Params); err != nil {
		return err
	}
	return e.write(t, h.Data)
}

// WriteFloat32 is Write of float32 values x, in row-major order of t's
// shape, into float32 tensor t, without an intermediate host tensor.
func (e *Engine) WriteFloat32(t *Tensor, x []float32) error {
	if err := e.check("Write: tensor", t); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	if len(x) != t.Len() {
		return fmt.Errorf("engine: Write: %w: %d values into %v", ErrShape, len(x), t)
	}
	if err := e.writable(t, qtensor.Float32, t.d.Shape(), qtensor.Params{}); err != nil {
		return err
	}
	if littleEndian {
		return e.write(t, float32Bytes(x))
	}
	h, err := qtensor.FromFloat32(t.d.Shape(), x)
	if err != nil {
		return fmt.Errorf("engine: Write: %w", err)
	}
	return e.write(t, h.Data)
}

// writable checks that data of type d, shape and params p may be written
// into t.
func (e *Engine) writable(t *Tensor, d qtensor.DType, shape []int, p qtensor.Params) error {
	if err := e.check("Write: tensor", t); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	if d != t.DType() {
		return fmt.Errorf("engine: Write: %w: %v data into a %v tensor", ErrParams, d, t)
	}
	if !slices.Equal(shape, t.d.Shape()) {
		return fmt.Errorf("engine: Write: %w: data of shape %v into %v", ErrShape, shape, t)
	}
	if d.Quantized() && !sameParams(p, t.d.Params()) {
		return fmt.Errorf("engine: Write: %w: data quantized with other parameters than %v's", ErrParams, t)
	}
	return nil
}

// write copies data (t.Bytes() bytes, validated) into t's memory, t
// pinned meanwhile.
func (e *Engine) write(t *Tensor, data []byte) error {
	ts := []*Tensor{t}
	if err := e.pinAll(ts, func(int) string { return "Write: tensor" }); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	defer unpinAll(ts)
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	return t.d.Buffer().Write(t.d.Offset(), data)
}

// sameParams reports whether a and b are the same quantization
// parameters (scales compared bit for bit).
func sameParams(a, b qtensor.Params) bool {
	if a.Granularity != b.Granularity || a.Axis != b.Axis || a.BlockSize != b.BlockSize ||
		len(a.Scales) != len(b.Scales) || !slices.Equal(a.ZeroPoints, b.ZeroPoints) {
		return false
	}
	for i, s := range a.Scales {
		if math.Float32bits(s) != math.Float32bits(b.Scales[i]) {
			return false
		}
	}
	return true
}

// UploadFloat32 copies float32 values of the given shape to the device.
func (e *Engine) UploadFloat32(shape []int, x []float32) (*Tensor, error) {
	h, err := qtensor.FromFloat32(shape, x)
	if err != nil {
		return nil, err
	}
	return e.Upload(h)
}

// Empty makes a zeroed tensor. p is required for quantized types and
// ignored for others.
func (e *Engine) Empty(d qtensor.DType, shape []int, p qtensor.Params) (*Tensor, error) {
	if !d.Valid() {
		return nil, fmt.Errorf("%w: invalid dtype %d", ErrParams, uint8(d))
	}
	if d.Quantized() {
		if err := p.Validate(d, shape); err != nil {
			return nil, err
		}
	} else {
		p = qtensor.Params{}
	}
	if err := e.enter(); err != nil {
		return nil, err
	}
	defer e.leave()
	return e.alloc(d, shape, p)
}

// Reshape returns a tensor of the given shape that shares t's memory (no
// copy): a view, as numpy's reshape gives for contiguous data. The element
// count must equal t's. A quantized t must be quantized per tensor (per-axis
// and per-block parameters name dimensions a reshape would change). The
// view and t are released independently; the memory is freed when both
// are (see Tensor.Release). Writes through one are seen through the other.
func (e *Engine) Reshape(t *Tensor, shape []int) (*Tensor, error) {
	if err := e.check("Reshape: tensor", t); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	n, err := qtensor.NumElements(shape)
	if err != nil {
		return nil, fmt.Errorf("engine: Reshape: %w", err)
	}
	if n != t.Len() {
		return nil, fmt.Errorf("engine: Reshape: %w: shape %v has %d elements, %v has %d", ErrShape, shape, n, t, t.Len())
	}
	p := t.Params()
	if t.DType().Quantized() && p.Granularity != qtensor.PerTensor {
		return nil, fmt.Errorf("engine: Reshape: %w: %v is quantized %v; only per-tensor tensors can be reshaped", ErrParams, t, p.Granularity)
	}
	st := t.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if t.released {
		return nil, fmt.Errorf("engine: Reshape: tensor %w (released)", ErrClosed)
	}
	st.handles++
	d := t.d
	return &Tensor{eng: e, d: backend.NewTensor(d.Buffer(), d.Offset(), d.Bytes(), d.DType(), shape, n, p), st: st}, nil
}

// Download copies a tensor back to the host.
func (e *Engine) Download(t *Tensor) (*qtensor.Tensor, error) {
	ts := []*Tensor{t}
	if err := e.pinAll(ts, func(int) string { return "tensor" }); err != nil {
		return nil, err
	}
	defer unpinAll(ts)
	if err := e.enter(); err != nil {
		return nil, err
	}
	defer e.leave()
	d := t.d
	h := &qtensor.Tensor{DType: d.DType(), Shape: d.Shape(), Params: d.Params(), Data: make([]byte, d.Bytes())}
	if err := d.Buffer().Read(d.Offset(), h.Data); err != nil {
		return nil, err
	}
	return h, nil
}

// DownloadFloat32 copies a float32 tensor back as a slice.
func (e *Engine) DownloadFloat32(t *Tensor) ([]float32, error) {
	if t != nil && t.DType() != qtensor.Float32 {
		return nil, fmt.Errorf("%w: DownloadFloat32 of a %v tensor", ErrParams, t.DType())
	}
	h, err := e.Download(t)
	if err != nil {
		return nil, err
	}
	return h.Float32s(), nil
}

// Supports reports whether the backend can run every op of the batch
// (nil) or why not (an error wrapping ErrUnsupported).
func (e *Engine) Supports(b *Batch) error {
	for _, op := range b.ops {
		if err := e.b.Supports(op); err != nil {
			return err
		}
	}
	return nil
}

// run executes the ops of a batch as one submission. It pins every tensor
// the ops use, so that a Release during the run defers the free until the
// run has returned (the backend has finished with the buffers).
func (e *Engine) run(ctx context.Context, b *Batch, timed bool) ([]float64, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := e.enter(); err != nil {
		return nil, err
	}
	defer e.leave()
	// Operands recorded earlier may have been released since: a backend
	// must never see a freed buffer.
	if err := e.pinAll(b.uses, func(i int) string { return b.ops[b.useOp[i]].Kind().String() + " operand" }); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	defer unpinAll(b.uses)
	// The backend checks every op as Supports does before it runs any
	// (backend.Backend.Run), planning each once.
	if timed {
		if tb, ok := e.b.(backend.Timer); ok {
			return tb.RunTimed(ctx, b.ops)
		}
	}
	return nil, e.b.Run(ctx, b.ops)
}
