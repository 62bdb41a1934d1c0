package vulkan

import (
	"context"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/backends/vulkan/internal/vkrt"
	"github.com/qgpu/qgpu/engine/backend"
)

// buffer is an backend.Buffer: a (possibly larger, pooled) vkrt buffer.
type buffer struct {
	b    *Backend
	vb   *vkrt.Buffer
	size int // usable size

	freed atomic.Bool
	// tainted: a cancelled submission may still use the buffer, so Free
	// hands it back to the runtime (which destroys it once that submission
	// ends) instead of the pool.
	tainted atomic.Bool
}

// Alloc returns a zeroed buffer of size bytes (rounded up to 4 for the
// kernels' word access; Size reports size).
func (b *Backend) Alloc(size int) (backend.Buffer, error) {
	if err := gpu.CheckAlloc("vulkan", size); err != nil {
		return nil, err
	}
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	vb, err := b.pool.get(int64(size))
	if err != nil {
		return nil, err
	}
	if err := b.zero(vb, int64(size)); err != nil {
		b.pool.put(vb)
		return nil, err
	}
	return &buffer{b: b, vb: vb, size: size}, nil
}

// zero clears the first n bytes (rounded up to 4) of vb.
func (b *Backend) zero(vb *vkrt.Buffer, n int64) error {
	n = (n + 3) &^ 3
	if n == 0 {
		return nil
	}
	if m := vb.Mapped(); m != nil {
		clear(m[:min(n, int64(len(m)))])
		return nil
	}
	s := b.dev.NewSequence()
	if err := s.Fill(vb, 0, n, 0); err != nil {
		return mapErr("zero buffer", err)
	}
	if _, err := s.Submit(context.Background()); err != nil {
		return mapErr("zero buffer", err)
	}
	return nil
}

func (m *buffer) Size() int { return m.size }

func (m *buffer) check(what string, off, n int) error {
	if m.freed.Load() {
		return fmt.Errorf("vulkan: %s: buffer %w", what, backend.ErrClosed)
	}
	if off < 0 || off > m.size || n > m.size-off {
		return fmt.Errorf("vulkan: %s of %d bytes at %d outside buffer of %d: %w", what, n, off, m.size, backend.ErrShape)
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
	return mapErr("write", m.vb.Write(int64(off), src))
}

// Read copies len(dst) bytes at byte offset off into dst.
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
	return mapErr("read", m.vb.Read(int64(off), dst))
}

// Free returns the memory to the backend's pool (or to the runtime). Safe
// to call twice.
func (m *buffer) Free() {
	if m.freed.Swap(true) {
		return
	}
	if m.tainted.Load() {
		m.vb.Free()
		return
	}
	m.b.pool.put(m.vb)
}

// pool keeps freed vkrt buffers by size class for reuse: drivers limit the
// number of live allocations (SwiftShader: 4096) and allocation is slow, so
// the engine's many short-lived tensors reuse a few buffers.
type pool struct {
	b     *Backend
	mu    sync.Mutex
	free  map[int64][]*vkrt.Buffer
	bytes int64
	gone  bool // backend closed: put frees
}

// poolLimit bounds the bytes kept in the pool; beyond it freed buffers go
// back to the driver.
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

func (p *pool) get(n int64) (*vkrt.Buffer, error) {
	c := sizeClass(n)
	p.mu.Lock()
	if l := p.free[c]; len(l) > 0 {
		vb := l[len(l)-1]
		p.free[c] = l[:len(l)-1]
		p.bytes -= c
		p.mu.Unlock()
		return vb, nil
	}
	p.mu.Unlock()
	vb, err := p.b.dev.NewBuffer(c)
	if err != nil && vkrt.IsOutOfMemory(err) {
		// Give the pooled memory back and try once more.
		p.trim()
		vb, err = p.b.dev.NewBuffer(c)
	}
	if err != nil {
		return nil, mapErr(fmt.Sprintf("alloc %d bytes", n), err)
	}
	return vb, nil
}

func (p *pool) put(vb *vkrt.Buffer) {
	c := vb.Size()
	p.mu.Lock()
	if p.gone || p.bytes+c > poolLimit {
		p.mu.Unlock()
		vb.Free()
		return
	}
	if p.free == nil {
		p.free = map[int64][]*vkrt.Buffer{}
	}
	p.free[c] = append(p.free[c], vb)
	p.bytes += c
	p.mu.Unlock()
}

// trim frees every pooled buffer.
func (p *pool) trim() {
	p.mu.Lock()
	free := p.free
	p.free, p.bytes = nil, 0
	p.mu.Unlock()
	for _, l := range free {
		for _, vb := range l {
			vb.Free()
		}
	}
}

// drop empties the pool for Close (the device frees the buffers).
func (p *pool) drop() {
	p.mu.Lock()
	p.free, p.bytes, p.gone = nil, 0, true
	p.mu.Unlock()
}
