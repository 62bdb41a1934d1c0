package vkrt

import (
	"context"
	"fmt"
	"sync"

	"github.com/qgpu/qgpu/backends/vulkan/internal/vk"
)

// Buffer is a storage buffer on a Device. Its methods are safe for
// concurrent use; Read/Write of bytes a running submission uses race with
// the GPU.
type Buffer struct {
	d      *Device
	buf    vk.Buffer
	mem    vk.DeviceMemory
	size   int64
	mapped []byte // persistent mapping; nil for device-local-only memory

	// rw is held shared by Read/Write while they copy and exclusively by
	// release, so a Read racing with Free gets ErrFreed, not a fault.
	rw sync.RWMutex

	// Protected by d.mu.
	destroyed   bool // Vulkan objects released (or being released)
	inflight    int  // submissions using the buffer
	freed       bool // Free was called
	pendingFree bool // destroy when inflight drops to 0
}

const bufferUsage = vk.BufferUsageStorageBuffer | vk.BufferUsageTransferSrc | vk.BufferUsageTransferDst

// NewBuffer allocates a storage buffer of size bytes (usable as storage,
// copy source and copy destination). Host-visible, coherent and persistently
// mapped when the device's memory allows (Caps.HostVisibleBuffers),
// device-local with staging transfers otherwise. Contents are undefined
// until written.
func (d *Device) NewBuffer(size int64) (*Buffer, error) {
	return d.newBuffer(size, false)
}

func (d *Device) newBuffer(size int64, staging bool) (*Buffer, error) {
	if size <= 0 {
		return nil, fmt.Errorf("vulkan: buffer size %d must be positive", size)
	}
	if max := d.caps.MaxMemoryAllocationSize; max > 0 && uint64(size) > max {
		return nil, fmt.Errorf("vulkan: buffer of %d bytes exceeds maxMemoryAllocationSize %d: %w", size, max, vk.ErrorOutOfDeviceMemory)
	}
	d.mu.Lock()
	err := d.checkOpenLocked()
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	alloc := (uint64(size) + 3) &^ 3 // fill and copy work in 4-byte units
	vb, err := d.vd.CreateBuffer(alloc, bufferUsage)
	if err != nil {
		return nil, fmt.Errorf("vulkan: new buffer of %d bytes: %w", size, err)
	}
	req := d.vd.BufferMemoryRequirements(vb)
	hv := vk.MemoryHostVisible | vk.MemoryHostCoherent
	var t int
	switch {
	case staging:
		t = bestType(d.mem, req.TypeBits, hv, vk.MemoryHostCached)
	case d.mapped:
		t = bestType(d.mem, req.TypeBits, hv|vk.MemoryDeviceLocal, 0)
		if t < 0 {
			t = bestType(d.mem, req.TypeBits, hv, 0)
		}
	default:
		t = bestType(d.mem, req.TypeBits, vk.MemoryDeviceLocal, 0)
		if t < 0 {
			t = bestType(d.mem, req.TypeBits, 0, 0)
		}
	}
	if t < 0 {
		d.vd.DestroyBuffer(vb)
		return nil, fmt.Errorf("vulkan: no suitable memory type for a buffer (type bits %#x)", req.TypeBits)
	}
	mem, err := d.vd.AllocateMemory(req.Size, uint32(t))
	if err != nil {
		d.vd.DestroyBuffer(vb)
		return nil, fmt.Errorf("vulkan: allocate %d bytes: %w", req.Size, err)
	}
	b := &Buffer{d: d, buf: vb, mem: mem, size: size}
	if err := d.vd.BindBufferMemory(vb, mem, 0); err != nil {
		b.release()
		return nil, fmt.Errorf("vulkan: bind buffer memory: %w", err)
	}
	if staging || d.mapped {
		m, err := d.vd.MapMemory(mem, 0, alloc)
		if err != nil {
			b.release()
			return nil, fmt.Errorf("vulkan: map buffer: %w", err)
		}
		b.mapped = m[:size:size]
	}
	d.mu.Lock()
	if err := d.checkOpenLocked(); err != nil {
		d.mu.Unlock()
		b.release()
		return nil, err
	}
	d.buffers[b] = struct{}{}
	d.mu.Unlock()
	return b, nil
}

// Size returns the size in bytes given to NewBuffer.
func (b *Buffer) Size() int64 { return b.size }

// HostVisible reports whether the buffer is persistently mapped (Write and
// Read are plain copies).
func (b *Buffer) HostVisible() bool { return b.mapped != nil }

// Mapped returns the buffer's mapped memory (nil when not host-visible).
// The slice aliases driver memory: it must not be used after Free or
// Device.Close, nor while a submission that writes the buffer runs.
func (b *Buffer) Mapped() []byte { return b.mapped }

func (b *Buffer) checkRange(off int64, n int) error {
	if off < 0 || off > b.size || int64(n) > b.size-off {
		return fmt.Errorf("vulkan: buffer range [%d, %d+%d) outside [0, %d)", off, off, n, b.size)
	}
	return nil
}

func (b *Buffer) usable() error {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	if b.freed {
		return ErrFreed
	}
	return b.d.checkOpenLocked()
}

// Write copies p into the buffer at byte offset off.
func (b *Buffer) Write(off int64, p []byte) error {
	if err := b.checkRange(off, len(p)); err != nil {
		return err
	}
	b.rw.RLock()
	defer b.rw.RUnlock()
	if err := b.usable(); err != nil {
		return err
	}
	if len(p) == 0 {
		return nil
	}
	if b.mapped != nil {
		copy(b.mapped[off:], p)
		return nil
	}
	return b.d.transfer(b, off, p, true)
}

// Read copies len(p) bytes at byte offset off into p.
func (b *Buffer) Read(off int64, p []byte) error {
	if err := b.checkRange(off, len(p)); err != nil {
		return err
	}
	b.rw.RLock()
	defer b.rw.RUnlock()
	if err := b.usable(); err != nil {
		return err
	}
	if len(p) == 0 {
		return nil
	}
	if b.mapped != nil {
		copy(p, b.mapped[off:])
		return nil
	}
	return b.d.transfer(b, off, p, false)
}

// stagingChunk bounds the staging buffer.
const stagingChunk = 16 << 20

// transfer moves p to (upload) or from b at off through the device's
// staging buffer, in chunks, each a copy submission waited on.
func (d *Device) transfer(b *Buffer, off int64, p []byte, upload bool) error {
	d.smu.Lock()
	defer d.smu.Unlock()
	want := int64(len(p))
	if want > stagingChunk {
		want = stagingChunk
	}
	if d.staging == nil || d.staging.size < want {
		if d.staging != nil {
			d.staging.Free()
			d.staging = nil
		}
		n := int64(64 << 10)
		for n < want {
			n *= 2
		}
		s, err := d.newBuffer(n, true)
		if err != nil {
			return err
		}
		d.staging = s
	}
	st := d.staging
	seq := d.NewSequence()
	for done := 0; done < len(p); {
		n := len(p) - done
		if int64(n) > st.size {
			n = int(st.size)
		}
		seq.Reset()
		if upload {
			copy(st.mapped, p[done:done+n])
			if err := seq.Copy(b, off+int64(done), st, 0, int64(n)); err != nil {
				return err
			}
		} else {
			if err := seq.Copy(st, 0, b, off+int64(done), int64(n)); err != nil {
				return err
			}
		}
		if _, err := seq.Submit(context.Background()); err != nil {
			return err
		}
		if !upload {
			copy(p[done:done+n], st.mapped)
		}
		done += n
	}
	return nil
}

// Free releases the buffer. If a submission using it is still running
// (after a cancelled Submit), the buffer is destroyed when it completes.
// Safe to call twice.
func (b *Buffer) Free() {
	d := b.d
	d.mu.Lock()
	if b.freed {
		d.mu.Unlock()
		return
	}
	b.freed = true
	if b.inflight > 0 {
		b.pendingFree = true
		d.mu.Unlock()
		return
	}
	d.mu.Unlock()
	b.destroy()
}

// destroy frees the Vulkan objects (once) and forgets the buffer.
func (b *Buffer) destroy() {
	d := b.d
	d.mu.Lock()
	b.freed = true
	if b.destroyed {
		d.mu.Unlock()
		return
	}
	b.destroyed = true
	delete(d.buffers, b)
	d.mu.Unlock()
	b.release()
}

// release destroys the Vulkan objects (callers ensure it happens once).
func (b *Buffer) release() {
	b.rw.Lock()
	defer b.rw.Unlock()
	if b.mapped != nil {
		b.d.vd.UnmapMemory(b.mem)
		b.mapped = nil
	}
	if b.buf != 0 {
		b.d.vd.DestroyBuffer(b.buf)
		b.buf = 0
	}
	if b.mem != 0 {
		b.d.vd.FreeMemory(b.mem)
		b.mem = 0
	}
}
