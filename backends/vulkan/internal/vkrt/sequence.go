package vkrt

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qgpu/qgpu/backends/vulkan/internal/vk"
)

// Binding binds a range of a Buffer to one storage-buffer binding.
type Binding struct {
	Buf *Buffer
	// Off is the byte offset; a multiple of
	// Caps.MinStorageBufferOffsetAlignment.
	Off int64
	// Size is the byte length of the range; 0 means the rest of the buffer.
	// At most Caps.MaxStorageBufferRange.
	Size int64
}

type cmdKind uint8

const (
	cmdDispatch cmdKind = iota
	cmdCopy
	cmdFill
)

type command struct {
	kind      cmdKind
	pipe      *Pipeline
	infoStart int // into Sequence.infos
	pushStart int // into Sequence.push
	x, y, z   uint32
	// copy/fill
	dst, src       *Buffer
	dstOff, srcOff uint64
	size           uint64
	value          uint32
}

// Sequence records commands (dispatches, copies, fills) to run in one queue
// submission, in order, with a full memory barrier between every two of
// them. A Sequence is not safe for concurrent use; it may be submitted
// many times (it is not consumed by Submit) and cleared with Reset.
type Sequence struct {
	d          *Device
	cmds       []command
	infos      []vk.BufferInfo
	bufs       []*Buffer // per info, for in-flight tracking
	push       []byte
	timestamps bool
	nsets      int // dispatches with bindings
	ndesc      int
}

// Timing is the GPU time of a submission, from timestamps.
type Timing struct {
	// Commands[i] is the GPU time of command i (in recording order).
	Commands []time.Duration
	// Total is the time from the first command's start to the last
	// command's end.
	Total time.Duration
}

// NewSequence returns an empty sequence for the device.
func (d *Device) NewSequence() *Sequence { return &Sequence{d: d} }

// Len returns the number of recorded commands.
func (s *Sequence) Len() int { return len(s.cmds) }

// Reset clears the recorded commands (keeping the timestamp setting).
func (s *Sequence) Reset() {
	s.cmds = s.cmds[:0]
	s.infos = s.infos[:0]
	s.bufs = s.bufs[:0]
	s.push = s.push[:0]
	s.nsets, s.ndesc = 0, 0
}

// Timestamps turns per-command GPU timestamps on or off. When the device
// has no timestamp support on its compute queue (Caps.Timestamps false),
// Submit returns an empty Timing.
func (s *Sequence) Timestamps(on bool) { s.timestamps = on }

func (s *Sequence) checkBuffer(b *Buffer) error {
	if b == nil {
		return errors.New("vulkan: nil buffer")
	}
	if b.d != s.d {
		return errors.New("vulkan: buffer belongs to another device")
	}
	s.d.mu.Lock()
	freed := b.freed
	s.d.mu.Unlock()
	if freed {
		return ErrFreed
	}
	return nil
}

// Dispatch records a dispatch of p with x*y*z workgroups, binding bind[i]
// to binding i and pushing push (exactly p.PushConstBytes() bytes). The
// bindings and push bytes are copied. Errors leave the sequence unchanged.
func (s *Sequence) Dispatch(p *Pipeline, bind []Binding, push []byte, x, y, z uint32) error {
	if p == nil || p.d != s.d {
		return errors.New("vulkan: pipeline is nil or belongs to another device")
	}
	if len(bind) != p.bindings {
		return fmt.Errorf("vulkan: %d bindings for a pipeline with %d", len(bind), p.bindings)
	}
	if len(push) != p.pushBytes {
		return fmt.Errorf("vulkan: %d push-constant bytes for a pipeline with %d", len(push), p.pushBytes)
	}
	c := &s.d.caps
	if x > c.MaxComputeWorkGroupCount[0] || y > c.MaxComputeWorkGroupCount[1] || z > c.MaxComputeWorkGroupCount[2] {
		return fmt.Errorf("vulkan: dispatch (%d, %d, %d) exceeds maxComputeWorkGroupCount %v", x, y, z, c.MaxComputeWorkGroupCount)
	}
	align := int64(c.MinStorageBufferOffsetAlignment)
	if align <= 0 {
		align = 1
	}
	start := len(s.infos)
	for i, bd := range bind {
		if err := s.checkBuffer(bd.Buf); err != nil {
			s.infos, s.bufs = s.infos[:start], s.bufs[:start]
			return fmt.Errorf("binding %d: %w", i, err)
		}
		size := bd.Size
		if size == 0 {
			size = bd.Buf.size - bd.Off
		}
		var err error
		switch {
		case bd.Off < 0 || bd.Off%align != 0:
			err = fmt.Errorf("vulkan: binding %d: offset %d is not a non-negative multiple of minStorageBufferOffsetAlignment %d", i, bd.Off, align)
		case size <= 0 || bd.Off > bd.Buf.size || size > bd.Buf.size-bd.Off:
			err = fmt.Errorf("vulkan: binding %d: range [%d, %d+%d) outside buffer of %d bytes", i, bd.Off, bd.Off, size, bd.Buf.size)
		case size > int64(c.MaxStorageBufferRange):
			err = fmt.Errorf("vulkan: binding %d: range of %d bytes exceeds maxStorageBufferRange %d", i, size, c.MaxStorageBufferRange)
		}
		if err != nil {
			s.infos, s.bufs = s.infos[:start], s.bufs[:start]
			return err
		}
		s.infos = append(s.infos, vk.BufferInfo{Buffer: bd.Buf.buf, Offset: uint64(bd.Off), Range: uint64(size)})
		s.bufs = append(s.bufs, bd.Buf)
	}
	ps := len(s.push)
	s.push = append(s.push, push...)
	s.cmds = append(s.cmds, command{kind: cmdDispatch, pipe: p, infoStart: start, pushStart: ps, x: x, y: y, z: z})
	if len(bind) > 0 {
		s.nsets++
		s.ndesc += len(bind)
	}
	return nil
}

// Copy records a copy of n bytes from src at srcOff to dst at dstOff.
// The ranges must be inside the buffers and must not overlap if src == dst.
func (s *Sequence) Copy(dst *Buffer, dstOff int64, src *Buffer, srcOff int64, n int64) error {
	if err := s.checkBuffer(dst); err != nil {
		return err
	}
	if err := s.checkBuffer(src); err != nil {
		return err
	}
	if n <= 0 {
		return fmt.Errorf("vulkan: copy of %d bytes", n)
	}
	if err := dst.checkRange(dstOff, int(n)); err != nil {
		return err
	}
	if err := src.checkRange(srcOff, int(n)); err != nil {
		return err
	}
	if src == dst && srcOff < dstOff+n && dstOff < srcOff+n {
		return errors.New("vulkan: overlapping copy within one buffer")
	}
	s.bufs = append(s.bufs, dst, src)
	s.infos = append(s.infos, vk.BufferInfo{}, vk.BufferInfo{}) // keep bufs and infos aligned
	s.cmds = append(s.cmds, command{kind: cmdCopy, dst: dst, src: src, dstOff: uint64(dstOff), srcOff: uint64(srcOff), size: uint64(n)})
	return nil
}

// Fill records filling n bytes of b at off with the 32-bit word value; off
// and n must be multiples of 4.
func (s *Sequence) Fill(b *Buffer, off, n int64, value uint32) error {
	if err := s.checkBuffer(b); err != nil {
		return err
	}
	if off%4 != 0 || n%4 != 0 || n <= 0 {
		return fmt.Errorf("vulkan: fill offset %d and size %d must be multiples of 4, size positive", off, n)
	}
	if err := b.checkRange(off, int(n)); err != nil {
		return err
	}
	s.bufs = append(s.bufs, b)
	s.infos = append(s.infos, vk.BufferInfo{})
	s.cmds = append(s.cmds, command{kind: cmdFill, dst: b, dstOff: uint64(off), size: uint64(n), value: value})
	return nil
}

// submitCtx is what one submission needs; recycled after its fence.
type submitCtx struct {
	pool        vk.CommandPool
	cb          vk.CommandBuffer
	fence       vk.Fence
	dpool       vk.DescriptorPool
	dsets, ddes int // descriptor pool capacity
	qpool       vk.QueryPool
	qcap        int
	stamps      []uint64
}

func (d *Device) newSubmitCtx() (*submitCtx, error) {
	c := &submitCtx{}
	var err error
	if c.pool, err = d.vd.CreateCommandPool(d.family, vk.CommandPoolTransient); err != nil {
		return nil, err
	}
	if c.cb, err = d.vd.AllocateCommandBuffer(c.pool); err != nil {
		c.destroy(d)
		return nil, err
	}
	if c.fence, err = d.vd.CreateFence(false); err != nil {
		c.destroy(d)
		return nil, err
	}
	return c, nil
}

func (c *submitCtx) destroy(d *Device) {
	if c.pool != 0 {
		d.vd.DestroyCommandPool(c.pool) // frees c.cb
	}
	if c.fence != 0 {
		d.vd.DestroyFence(c.fence)
	}
	if c.dpool != 0 {
		d.vd.DestroyDescriptorPool(c.dpool)
	}
	if c.qpool != 0 {
		d.vd.DestroyQueryPool(c.qpool)
	}
	*c = submitCtx{}
}

// reserve makes sure the context has room for sets/descs descriptors and
// nq timestamp queries.
func (c *submitCtx) reserve(d *Device, sets, descs, nq int) error {
	if sets > c.dsets || descs > c.ddes {
		if c.dpool != 0 {
			d.vd.DestroyDescriptorPool(c.dpool)
			c.dpool, c.dsets, c.ddes = 0, 0, 0
		}
		ns, nd := max(sets, 2*c.dsets, 16), max(descs, 2*c.ddes, 64)
		p, err := d.vd.CreateDescriptorPool(uint32(ns), uint32(nd), 0)
		if err != nil {
			return err
		}
		c.dpool, c.dsets, c.ddes = p, ns, nd
	}
	if nq > c.qcap {
		if c.qpool != 0 {
			d.vd.DestroyQueryPool(c.qpool)
			c.qpool, c.qcap = 0, 0
		}
		n := max(nq, 2*c.qcap, 64)
		p, err := d.vd.CreateTimestampPool(uint32(n))
		if err != nil {
			return err
		}
		c.qpool, c.qcap = p, n
	}
	return nil
}

// recycle resets the context's pools for the next submission (its fence
// has signaled or it was never submitted).
func (c *submitCtx) recycle(d *Device) error {
	if err := d.vd.ResetCommandPool(c.pool); err != nil {
		return err
	}
	if c.dpool != 0 {
		if err := d.vd.ResetDescriptorPool(c.dpool); err != nil {
			return err
		}
	}
	return d.vd.ResetFence(c.fence)
}

func (d *Device) acquire() (*submitCtx, error) {
	d.mu.Lock()
	if n := len(d.idle); n > 0 {
		c := d.idle[n-1]
		d.idle = d.idle[:n-1]
		d.mu.Unlock()
		return c, nil
	}
	d.mu.Unlock()
	c, err := d.newSubmitCtx()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.all = append(d.all, c)
	d.mu.Unlock()
	return c, nil
}

// release recycles c and returns it to the idle list (or drops it on
// error: Close destroys it).
func (d *Device) release(c *submitCtx) {
	if err := c.recycle(d); err != nil {
		return
	}
	d.mu.Lock()
	d.idle = append(d.idle, c)
	d.mu.Unlock()
}

// pollSlice is how long one fence wait lasts before ctx is checked again.
const pollSlice = 5 * time.Millisecond

// Submit records the sequence into a command buffer, submits it once and
// waits for its fence. It returns per-command GPU times when timestamps are
// on and supported.
//
// If ctx ends first, Submit returns ctx.Err() without waiting; the GPU work
// still runs to completion, and the resources it uses (command buffer,
// descriptor sets, query pool, and any Buffer freed meanwhile) are recycled
// or destroyed only after its fence signals. Device.Close waits for it.
func (s *Sequence) Submit(ctx context.Context) (Timing, error) {
	d := s.d
	if err := ctx.Err(); err != nil {
		return Timing{}, err
	}
	// Mark buffers in flight (and refuse freed ones).
	d.mu.Lock()
	if err := d.checkOpenLocked(); err != nil {
		d.mu.Unlock()
		return Timing{}, err
	}
	for i, b := range s.bufs {
		if b.freed {
			for _, u := range s.bufs[:i] {
				u.inflight--
			}
			d.mu.Unlock()
			return Timing{}, ErrFreed
		}
		b.inflight++
	}
	d.inflight.Add(1)
	d.mu.Unlock()

	c, err := d.acquire()
	if err == nil {
		err = s.record(c)
		if err != nil {
			d.release(c)
		}
	}
	if err != nil {
		d.finish(s.bufs)
		return Timing{}, err
	}
	d.qmu.Lock()
	err = d.vd.QueueSubmit(d.queue, c.cb, c.fence)
	d.qmu.Unlock()
	if err != nil {
		d.release(c)
		d.finish(s.bufs)
		return Timing{}, d.noteLost(err)
	}
	stamps := s.timestamps && d.caps.Timestamps && len(s.cmds) > 0
	done := ctx.Done()
	for {
		timeout := uint64(pollSlice)
		if done == nil {
			timeout = uint64(time.Second)
		}
		ok, err := d.vd.WaitFence(c.fence, timeout)
		if err != nil {
			// Device lost (or similar): the context may still be in use by
			// a dead device; leave it to Close.
			d.finish(s.bufs)
			return Timing{}, d.noteLost(err)
		}
		if ok {
			break
		}
		if err := ctx.Err(); err != nil {
			bufs := append([]*Buffer(nil), s.bufs...)
			go func() {
				for {
					ok, err := d.vd.WaitFence(c.fence, uint64(time.Second))
					if err != nil {
						d.noteLost(err)
						break
					}
					if ok {
						d.release(c)
						break
					}
				}
				d.finish(bufs)
			}()
			return Timing{}, err
		}
	}
	var t Timing
	if stamps {
		t, err = s.timing(c)
	}
	d.release(c)
	d.finish(s.bufs)
	return t, err
}

// finish ends a submission's use of bufs, destroying those freed meanwhile.
func (d *Device) finish(bufs []*Buffer) {
	var dead []*Buffer
	d.mu.Lock()
	for _, b := range bufs {
		b.inflight--
		if b.inflight == 0 && b.pendingFree {
			b.pendingFree = false
			dead = append(dead, b)
		}
	}
	d.mu.Unlock()
	if len(dead) > 0 {
		// Destroy on another goroutine: the caller may be a Read/Write of
		// one of these buffers (staging transfer) holding its read lock.
		// Close waits for this too (the count is still > 0 here).
		d.inflight.Add(1)
		go func() {
			defer d.inflight.Done()
			for _, b := range dead {
				b.destroy()
			}
		}()
	}
	d.inflight.Done()
}

func (d *Device) noteLost(err error) error {
	if IsDeviceLost(err) {
		d.mu.Lock()
		if d.lost == nil {
			d.lost = fmt.Errorf("vulkan: device lost earlier: %w", err)
		}
		d.mu.Unlock()
	}
	return err
}

// Barrier masks between two commands: everything a previous dispatch or
// transfer wrote is made visible to the next one (and write-after-read is
// ordered by the execution dependency).
const (
	barSrcStage  = vk.StageComputeShader | vk.StageTransfer
	barSrcAccess = vk.AccessShaderWrite | vk.AccessTransferWrite
	barDstAccess = vk.AccessShaderRead | vk.AccessShaderWrite | vk.AccessTransferRead | vk.AccessTransferWrite
)

func (s *Sequence) record(c *submitCtx) error {
	d := s.d
	vd := d.vd
	stamps := s.timestamps && d.caps.Timestamps && len(s.cmds) > 0
	nq := 0
	if stamps {
		nq = 2 * len(s.cmds)
	}
	if err := c.reserve(d, s.nsets, s.ndesc, nq); err != nil {
		return err
	}
	if err := vd.BeginCommandBuffer(c.cb); err != nil {
		return err
	}
	var qp vk.QueryPool
	if stamps {
		qp = c.qpool
		vd.CmdResetQueryPool(c.cb, qp, 0, uint32(nq))
	}
	for i := range s.cmds {
		cmd := &s.cmds[i]
		q := uint32(2 * i)
		switch cmd.kind {
		case cmdDispatch:
			p := cmd.pipe
			var set vk.DescriptorSet
			if p.bindings > 0 {
				var err error
				set, err = vd.AllocateStorageSet(c.dpool, p.setLayout, s.infos[cmd.infoStart:cmd.infoStart+p.bindings])
				if err != nil {
					vd.EndCommandBuffer(c.cb)
					return err
				}
			}
			vd.CmdRecordDispatch(c.cb, i > 0, p.pipe, p.layout, set, s.push[cmd.pushStart:cmd.pushStart+p.pushBytes],
				cmd.x, cmd.y, cmd.z, qp, q)
		case cmdCopy, cmdFill:
			if i > 0 {
				vd.CmdMemoryBarrier(c.cb, barSrcStage, vk.StageTransfer, barSrcAccess, barDstAccess)
			}
			if stamps {
				vd.CmdWriteTimestamp(c.cb, vk.StageTransfer, qp, q)
			}
			if cmd.kind == cmdCopy {
				vd.CmdCopyBuffer(c.cb, cmd.src.buf, cmd.dst.buf, cmd.srcOff, cmd.dstOff, cmd.size)
			} else {
				vd.CmdFillBuffer(c.cb, cmd.dst.buf, cmd.dstOff, cmd.size, cmd.value)
			}
			if stamps {
				vd.CmdWriteTimestamp(c.cb, vk.StageTransfer, qp, q+1)
			}
		}
	}
	if len(s.cmds) > 0 {
		// Make all writes available and visible to host reads after the fence.
		vd.CmdMemoryBarrier(c.cb, barSrcStage, vk.StageHost, barSrcAccess, vk.AccessHostRead)
	}
	return vd.EndCommandBuffer(c.cb)
}

func (s *Sequence) timing(c *submitCtx) (Timing, error) {
	d := s.d
	n := 2 * len(s.cmds)
	if cap(c.stamps) < n {
		c.stamps = make([]uint64, n)
	}
	st := c.stamps[:n]
	if err := d.vd.Timestamps(c.qpool, 0, st); err != nil {
		return Timing{}, err
	}
	mask := ^uint64(0)
	if b := d.caps.TimestampValidBits; b < 64 {
		mask = 1<<b - 1
	}
	period := float64(d.caps.TimestampPeriod)
	dur := func(a, b uint64) time.Duration {
		return time.Duration(float64((b-a)&mask) * period)
	}
	t := Timing{Commands: make([]time.Duration, len(s.cmds))}
	for i := range t.Commands {
		t.Commands[i] = dur(st[2*i], st[2*i+1])
	}
	t.Total = dur(st[0], st[n-1])
	return t, nil
}
