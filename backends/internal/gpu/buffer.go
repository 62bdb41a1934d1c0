package gpu

import (
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/qgpu/qgpu/engine/backend"
)

// MaxAlloc bounds one buffer allocation of a GPU backend, so absurd sizes
// fail cleanly instead of reaching the driver.
const MaxAlloc = 1 << 40

// buffer is a backend.Buffer: runtime memory from the pool (possibly
// larger than asked for).
type buffer struct {
	b    *Backend
	mem  Memory
	size int // usable size

	freed atomic.Bool
	// tainted: a cancelled submission may still use the memory, so Free
	// hands it back to the runtime (which frees it once that submission
	// ends) instead of the pool.
	tainted atomic.Bool
}

// Alloc returns a zeroed buffer of size bytes (rounded up to 4 for the
// kernels' word access; Size reports size). A negative size is ErrShape,
// one over MaxAlloc both ErrOutOfMemory and ErrShape (beyond the limit the
// shape is the problem, not the device).
func (b *Backend) Alloc(size int) (backend.Buffer, error) {
	if size < 0 {
		return nil, fmt.Errorf("%s: alloc %d bytes: %w", b.api, size, backend.ErrShape)
	}
	if size > MaxAlloc {
		return nil, fmt.Errorf("%s: alloc %d bytes: %w (%w: over the %d-byte limit of one buffer)", b.api, size, backend.ErrOutOfMemory, backend.ErrShape, int64(MaxAlloc))
	}
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	mem, err := b.pool.get(int64(size))
	if err != nil {
		return nil, err
	}
	if err := mem.Zero((int64(size) + 3) &^ 3); err != nil {
		b.pool.put(mem)
		return nil, b.wrap("zero buffer", err)
	}
	return &buffer{b: b, mem: mem, size: size}, nil
}

// Size returns the usable size in bytes.
func (m *buffer) Size() int { return m.size }

func (m *buffer) check(what string, off, n int) error {
	if m.freed.Load() {
		return fmt.Errorf("%s: %s: buffer %w", m.b.api, what, backend.ErrClosed)
	}
	if off < 0 || off > m.size || n > m.size-off {
		return fmt.Errorf("%s: %s of %d bytes at %d outside buffer of %d: %w", m.b.api, what, n, off, m.size, backend.ErrShape)
	}
	return nil
}

// Write copies src into the buffer at byte offset off.
func (m *buffer) Write(off int, src []byte) error {
	if err := m.check("write", off, len(src)); err != nil {
		return err
	}
	if len(src) == 0 {
		return nil
	}
	if err := m.b.enter(); err != nil {
		return err
	}
	defer m.b.leave()
	return m.b.wrap("write", m.mem.Write(int64(off), src))
}

// Read copies len(dst) bytes at byte offset off into dst, after every
// submitted op that writes the buffer.
func (m *buffer) Read(off int, dst []byte) error {
	if err := m.check("read", off, len(dst)); err != nil {
		return err
	}
	if len(dst) == 0 {
		return nil
	}
	if err := m.b.enter(); err != nil {
		return err
	}
	defer m.b.leave()
	return m.b.wrap("read", m.mem.Read(int64(off), dst))
}

// Free returns the memory to the backend's pool (or to the runtime). Safe
// to call twice and after Close.
func (m *buffer) Free() {
	if m.freed.Swap(true) {
		return
	}
	if m.tainted.Load() {
		m.mem.Free()
		return
	}
	m.b.pool.put(m.mem)
}

// pool keeps freed memory by size class for reuse: drivers limit the
// number of live allocations (SwiftShader: 4096) and allocation is slow
// (a GL buffer object is a round trip to the context's thread), so the
// engine's many short-lived tensors and each Run's auxiliary words reuse a
// few allocations.
type pool struct {
	b     *Backend
	mu    sync.Mutex
	free  map[int64][]Memory
	bytes int64
	gone  bool // backend closed: put frees
}

// poolLimit bounds the bytes kept in the pool; beyond it freed memory goes
// back to the runtime.
const poolLimit = 256 << 20

// sizeClass rounds n up to its allocation class: multiples of 256 bytes up
// to 4 KiB, then four classes per power of two (at most 25% unused).
func sizeClass(n int64) int64 {
	if n <= 4096 {
		return max(256, (n+255)&^255)
	}
	step := int64(1) << (bits.Len64(uint64(n-1)) - 3)
	return (n + step - 1) &^ (step - 1)
}

// get returns memory of at least n bytes (contents undefined).
func (p *pool) get(n int64) (Memory, error) {
	c := sizeClass(n)
	p.mu.Lock()
	if l := p.free[c]; len(l) > 0 {
		m := l[len(l)-1]
		p.free[c] = l[:len(l)-1]
		p.bytes -= c
		p.mu.Unlock()
		return m, nil
	}
	p.mu.Unlock()
	m, err := p.b.rt.NewMemory(c)
	if err != nil && errors.Is(p.b.rt.Sentinel(err), backend.ErrOutOfMemory) {
		// Give the pooled memory back and try once more.
		p.trim()
		m, err = p.b.rt.NewMemory(c)
	}
	if err != nil {
		return nil, p.b.wrap(fmt.Sprintf("alloc %d bytes", n), err)
	}
	return m, nil
}

func (p *pool) put(m Memory) {
	c := m.Size()
	p.mu.Lock()
	if p.gone || p.bytes+c > poolLimit || c != sizeClass(c) {
		p.mu.Unlock()
		m.Free()
		return
	}
	if p.free == nil {
		p.free = map[int64][]Memory{}
	}
	p.free[c] = append(p.free[c], m)
	p.bytes += c
	p.mu.Unlock()
}

// trim frees every pooled allocation.
func (p *pool) trim() {
	p.mu.Lock()
	free := p.free
	p.free, p.bytes = nil, 0
	p.mu.Unlock()
	for _, l := range free {
		for _, m := range l {
			m.Free()
		}
	}
}

// drop empties the pool for Close (the runtime frees the memory).
func (p *pool) drop() {
	p.mu.Lock()
	p.free, p.bytes, p.gone = nil, 0, true
	p.mu.Unlock()
}
