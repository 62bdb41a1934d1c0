package opengl

import (
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/backends/opengl/internal/glrt"
	"github.com/qgpu/qgpu/engine/backend"
)

// buffer is an backend.Buffer: one GL buffer object of the backend.
type buffer struct {
	b     *Backend
	gb    *glrt.Buffer
	size  int // usable size (the GL buffer is rounded up to whole words)
	freed atomic.Bool
}

// Alloc returns a zeroed buffer of size bytes (the GL buffer is rounded up
// to a multiple of 4 bytes, at least 4, for the kernels' word access; Size
// reports size).
func (b *Backend) Alloc(size int) (backend.Buffer, error) {
	if err := gpu.CheckAlloc("opengl", size); err != nil {
		return nil, err
	}
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	gb, err := b.ctx.NewBuffer(max(4, (size+3)&^3))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("alloc %d bytes", size), err)
	}
	return &buffer{b: b, gb: gb, size: size}, nil
}

func (m *buffer) Size() int { return m.size }

func (m *buffer) check(what string, off, n int) error {
	if m.freed.Load() {
		return fmt.Errorf("opengl: %s: buffer %w", what, backend.ErrClosed)
	}
	if off < 0 || off > m.size || n > m.size-off {
		return fmt.Errorf("opengl: %s of %d bytes at %d outside buffer of %d: %w", what, n, off, m.size, backend.ErrShape)
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
	return mapErr("write", m.gb.Upload(off, src))
}

// Read copies len(dst) bytes at byte offset off into dst, after every
// submitted op that writes the buffer (glrt issues the barrier).
func (m *buffer) Read(off int, dst []byte) error {
	if err := m.check("read", off, len(dst)); err != nil {
		return err
	}
	if len(dst) == 0 {
		return nil
	}
	return mapErr("read", m.gb.Download(off, dst))
}

// Free deletes the GL buffer. Safe to call twice and after Close.
func (m *buffer) Free() {
	if m.freed.Swap(true) {
		return
	}
	m.gb.Free() // its only error is a GL error, nothing a caller can act on
}

// auxPool keeps GL buffers for the auxiliary words of Run calls, so a Run
// does not create and delete a buffer object (one GL round trip each). A
// buffer goes back to the pool when its Run has finished on the GPU.
type auxPool struct {
	b    *Backend
	mu   sync.Mutex
	free []*glrt.Buffer
}

// maxPooled bounds the buffers kept (one per concurrent Run is enough).
const maxPooled = 16

// get returns a buffer of at least n bytes (capacity a power of two, at
// least 4 KiB).
func (p *auxPool) get(n int) (*glrt.Buffer, error) {
	size := max(4096, 1<<bits.Len(uint(n-1)))
	p.mu.Lock()
	for i := len(p.free) - 1; i >= 0; i-- {
		if gb := p.free[i]; gb.Size() >= n && gb.Size() <= 4*size {
			p.free = append(p.free[:i], p.free[i+1:]...)
			p.mu.Unlock()
			return gb, nil
		}
	}
	p.mu.Unlock()
	gb, err := p.b.ctx.NewBuffer(size)
	if err != nil {
		return nil, mapErr("aux buffer", err)
	}
	return gb, nil
}

func (p *auxPool) put(gb *glrt.Buffer) {
	p.mu.Lock()
	if len(p.free) < maxPooled {
		p.free = append(p.free, gb)
		gb = nil
	}
	p.mu.Unlock()
	if gb != nil {
		gb.Free()
	}
}

// drop frees the pooled buffers (Close; glrt frees them with the context
// anyway).
func (p *auxPool) drop() {
	p.mu.Lock()
	fr := p.free
	p.free = nil
	p.mu.Unlock()
	for _, gb := range fr {
		gb.Free()
	}
}
