package cpu

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/qgpu/qgpu/backends/cpu/internal/workers"
	"github.com/qgpu/qgpu/engine/backend"
)

func init() {
	backend.Register("cpu", 10, func(o backend.Options) (backend.Backend, error) { return New(o) })
}

// Backend is the CPU backend. It is safe for concurrent use.
type Backend struct {
	threads int
	generic bool          // reference kernels only (Options.Kernels == "generic")
	pool    *workers.Pool // threads-1 workers for the parallel loops of one op
	closed  atomic.Bool
}

var _ backend.Backend = (*Backend)(nil)

// New opens a CPU backend. Options.Threads bounds the worker goroutines of
// one op (0: GOMAXPROCS); above backend.MaxThreads, or negative, it is an
// error wrapping ErrParams.
func New(o backend.Options) (*Backend, error) {
	if err := o.Check(); err != nil {
		return nil, fmt.Errorf("cpu: %w", err)
	}
	t := o.Threads
	if t <= 0 {
		t = runtime.GOMAXPROCS(0)
	}
	switch o.Kernels {
	case "", "fast", "generic":
	default:
		return nil, fmt.Errorf("cpu: unknown kernel set %q (want fast or generic): %w", o.Kernels, backend.ErrUnavailable)
	}
	b := &Backend{threads: t, generic: o.Kernels == "generic"}
	if t > 1 && !b.generic {
		b.pool = workers.New(t - 1)
	}
	return b, nil
}

// Name returns "cpu".
func (b *Backend) Name() string { return "cpu" }

// Device describes the CPU and the kernels in use.
func (b *Backend) Device() backend.DeviceInfo {
	return backend.DeviceInfo{Backend: "cpu", Name: cpuName(), Driver: "go " + runtime.Version(), Kind: "cpu", Caps: b.caps()}
}

// Threads is the worker count of one op.
func (b *Backend) Threads() int { return b.threads }

// Close marks the backend closed and stops its worker goroutines. Safe to
// call twice.
func (b *Backend) Close() error {
	if !b.closed.Swap(true) {
		b.pool.Close()
	}
	return nil
}

// buffer is host memory.
type buffer struct {
	data  []byte
	freed atomic.Bool
	cache packCache // packed GEMM weights made from data
}

// Alloc returns a zeroed host buffer.
func (b *Backend) Alloc(size int) (backend.Buffer, error) {
	if b.closed.Load() {
		return nil, fmt.Errorf("cpu: backend %w", backend.ErrClosed)
	}
	if size < 0 {
		return nil, fmt.Errorf("cpu: alloc %d bytes: %w", size, backend.ErrShape)
	}
	if size > maxAlloc {
		// Beyond the limit the shape is the problem, not the machine.
		return nil, fmt.Errorf("cpu: alloc %d bytes: %w (%w: over the %d-byte limit of one buffer)", size, backend.ErrOutOfMemory, backend.ErrShape, maxAlloc)
	}
	return &buffer{data: make([]byte, size)}, nil
}

// maxAlloc bounds one allocation (64 GiB) so absurd sizes fail cleanly
// instead of crashing the process: the error wraps ErrOutOfMemory and
// ErrShape.
const maxAlloc = 64 << 30

func (m *buffer) Size() int { return len(m.data) }

func (m *buffer) Write(off int, src []byte) error {
	if m.freed.Load() {
		return fmt.Errorf("cpu: buffer %w", backend.ErrClosed)
	}
	if off < 0 || off > len(m.data) || len(src) > len(m.data)-off {
		return fmt.Errorf("cpu: write of %d bytes at %d outside buffer of %d: %w", len(src), off, len(m.data), backend.ErrShape)
	}
	m.cache.invalidate()
	copy(m.data[off:], src)
	return nil
}

func (m *buffer) Read(off int, dst []byte) error {
	if m.freed.Load() {
		return fmt.Errorf("cpu: buffer %w", backend.ErrClosed)
	}
	if off < 0 || off > len(m.data) || len(dst) > len(m.data)-off {
		return fmt.Errorf("cpu: read of %d bytes at %d outside buffer of %d: %w", len(dst), off, len(m.data), backend.ErrShape)
	}
	copy(dst, m.data[off:])
	return nil
}

// Free drops the memory (the garbage collector reclaims it).
func (m *buffer) Free() {
	if m.freed.Swap(true) {
		return
	}
	m.cache.invalidate()
	m.data = nil
}

// bytesOf returns the data bytes of a tensor of this backend.
func bytesOf(t *backend.Tensor) []byte {
	m := t.Buffer().(*buffer)
	return m.data[t.Offset() : t.Offset()+t.Bytes()]
}

// Supports reports nil for every op kind its dispatch table has kernels
// for: every kind the engine defines, as the CPU backend is the reference
// and runs them all.
func (b *Backend) Supports(op backend.Op) error {
	if b.closed.Load() {
		return fmt.Errorf("cpu: backend %w", backend.ErrClosed)
	}
	if _, ok := kernelsFor(op.Kind()); !ok {
		return fmt.Errorf("cpu: op %v: no kernel: %w", op.Kind(), backend.ErrUnsupported)
	}
	return nil
}

// Run executes ops in order, checking ctx between ops and inside long ones.
func (b *Backend) Run(ctx context.Context, ops []backend.Op) error {
	if b.closed.Load() {
		return fmt.Errorf("cpu: backend %w", backend.ErrClosed)
	}
	for _, op := range ops {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := b.run(ctx, op)
		for _, t := range op.Outputs() { // their packed forms are stale now
			t.Buffer().(*buffer).cache.invalidate()
		}
		if err != nil {
			return fmt.Errorf("cpu: %v: %w", op.Kind(), err)
		}
	}
	return nil
}
