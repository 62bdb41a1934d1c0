package glrt

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Buffer is a GL buffer object used as shader storage (or uniform) memory,
// created zero-filled with glBufferData(GL_DYNAMIC_COPY). Its methods are safe
// for concurrent use; each is one round trip to the owner thread.
type Buffer struct {
	c    *Context
	id   uint32 // GL name; 0 once freed (owner thread only)
	size int
}

// NewBuffer allocates a zero-filled buffer of size bytes (size > 0).
func (c *Context) NewBuffer(size int) (*Buffer, error) {
	if size <= 0 {
		return nil, fmt.Errorf("glrt: NewBuffer: size %d, want > 0", size)
	}
	b := &Buffer{c: c, size: size}
	err := c.o.do(func() error {
		g := c.gl
		id := g.genBuffer()
		g.bindBuffer(glCOPY_WRITE_BUFFER, id)
		g.bufferData(glCOPY_WRITE_BUFFER, size, nil, glDYNAMIC_COPY)
		if err := c.check(fmt.Sprintf("glBufferData(%d bytes)", size)); err != nil {
			g.bindBuffer(glCOPY_WRITE_BUFFER, 0)
			g.deleteBuffer(id)
			return err
		}
		// glBufferData(NULL) leaves the contents undefined; zero them so
		// results never depend on stale memory.
		g.clearBufferZero(glCOPY_WRITE_BUFFER, 0, size)
		g.bindBuffer(glCOPY_WRITE_BUFFER, 0)
		if err := c.check("glClearBufferSubData"); err != nil {
			g.deleteBuffer(id)
			return err
		}
		b.id = id
		c.buffers[id] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Size returns the size in bytes.
func (b *Buffer) Size() int { return b.size }

func (b *Buffer) checkRange(op string, off, n int) error {
	if off < 0 || n < 0 || off > b.size || n > b.size-off {
		return fmt.Errorf("glrt: %s: range [%d, %d+%d) outside buffer of %d bytes", op, off, off, n, b.size)
	}
	return nil
}

// live reports an error if b was freed or belongs to another context (owner thread).
func (b *Buffer) live(c *Context) error {
	if b == nil {
		return errors.New("glrt: nil buffer")
	}
	if b.c != c {
		return errors.New("glrt: buffer belongs to another context")
	}
	if b.id == 0 {
		return errors.New("glrt: buffer already freed")
	}
	return nil
}

// Upload copies src into the buffer at byte offset off.
func (b *Buffer) Upload(off int, src []byte) error {
	if err := b.checkRange("Upload", off, len(src)); err != nil {
		return err
	}
	return b.c.o.do(func() error {
		if err := b.live(b.c); err != nil {
			return err
		}
		b.c.upload(b, off, src)
		return b.c.check("Upload")
	})
}

// Clear zeroes n bytes at byte offset off (both multiples of 4), after
// all previously submitted work that writes the buffer.
func (b *Buffer) Clear(off, n int) error {
	if err := b.checkRange("Clear", off, n); err != nil {
		return err
	}
	if off%4 != 0 || n%4 != 0 {
		return fmt.Errorf("glrt: Clear: offset %d and size %d must be multiples of 4", off, n)
	}
	return b.c.o.do(func() error {
		if err := b.live(b.c); err != nil {
			return err
		}
		// Like an upload: pending shader writes complete first (WAW).
		b.c.barrier(b.c.hz.host(b.id))
		b.c.gl.bindBuffer(glCOPY_WRITE_BUFFER, b.id)
		b.c.gl.clearBufferZero(glCOPY_WRITE_BUFFER, off, n)
		b.c.gl.bindBuffer(glCOPY_WRITE_BUFFER, 0)
		return b.c.check("glClearBufferSubData")
	})
}

// Download copies len(dst) bytes from byte offset off into dst, after all
// previously submitted work that writes the buffer has finished.
func (b *Buffer) Download(off int, dst []byte) error {
	if err := b.checkRange("Download", off, len(dst)); err != nil {
		return err
	}
	return b.c.o.do(func() error {
		if err := b.live(b.c); err != nil {
			return err
		}
		b.c.download(b, off, dst)
		return b.c.check("Download")
	})
}

// Free deletes the buffer. Safe to call more than once, and after Close.
func (b *Buffer) Free() error {
	err := b.c.o.do(func() error {
		if b.id == 0 {
			return nil
		}
		b.c.gl.deleteBuffer(b.id)
		b.c.hz.forget(b.id)
		delete(b.c.buffers, b.id)
		b.id = 0
		return b.c.check("glDeleteBuffers")
	})
	if errors.Is(err, ErrClosed) {
		return nil // Close freed it
	}
	return err
}

// upload, download and copyBuf issue the GL commands, with the barrier the
// hazard tracker asks for (owner thread).
func (c *Context) upload(b *Buffer, off int, src []byte) {
	// A shader write to b still in flight must complete before glBufferSubData
	// overwrites the same memory (GL_BUFFER_UPDATE_BARRIER_BIT, WAW).
	c.barrier(c.hz.host(b.id))
	c.gl.bindBuffer(glCOPY_WRITE_BUFFER, b.id)
	c.gl.bufferSubData(glCOPY_WRITE_BUFFER, off, src)
	c.gl.bindBuffer(glCOPY_WRITE_BUFFER, 0)
}

func (c *Context) download(b *Buffer, off int, dst []byte) {
	// Shader writes are incoherent: glGetBufferSubData sees them only after
	// glMemoryBarrier(GL_BUFFER_UPDATE_BARRIER_BIT).
	c.barrier(c.hz.host(b.id))
	c.gl.bindBuffer(glCOPY_READ_BUFFER, b.id)
	c.gl.getBufferSubData(glCOPY_READ_BUFFER, off, dst)
	c.gl.bindBuffer(glCOPY_READ_BUFFER, 0)
}

func (c *Context) copyBuf(dst *Buffer, dstOff int, src *Buffer, srcOff, n int) {
	// glCopyBufferSubData reads src and writes dst as a GL command: pending
	// shader writes to either need GL_BUFFER_UPDATE_BARRIER_BIT first.
	c.barrier(c.hz.host(src.id) | c.hz.host(dst.id))
	c.gl.bindBuffer(glCOPY_READ_BUFFER, src.id)
	c.gl.bindBuffer(glCOPY_WRITE_BUFFER, dst.id)
	c.gl.copyBufferSubData(glCOPY_READ_BUFFER, glCOPY_WRITE_BUFFER, srcOff, dstOff, n)
	c.gl.bindBuffer(glCOPY_READ_BUFFER, 0)
	c.gl.bindBuffer(glCOPY_WRITE_BUFFER, 0)
}

// barrier issues glMemoryBarrier when bits is not zero and counts it.
func (c *Context) barrier(bits uint32) {
	if bits != 0 {
		c.gl.memoryBarrier(bits)
		c.barriers++
	}
}

// Program is a linked GLSL compute program. Programs live until Close.
type Program struct {
	c        *Context
	id       uint32
	local    [3]int
	storage  []uint32 // binding points of the active shader storage blocks
	uniforms []uint32 // binding points of the active uniform blocks
	// GL_BUFFER_DATA_SIZE of the blocks by binding point: Params shorter
	// than their block are zero-padded to it.
	storageSize, uniformSize map[uint32]int
}

// Program compiles and links GLSL compute shader source (it must start with
// a #version line, 430 or later) or returns the cached program made from
// the same source. Compile and link failures are *CompileError values
// carrying the info log.
func (c *Context) Program(src string) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("glrt: Program: empty source")
	}
	var p *Program
	err := c.o.do(func() error {
		if q, ok := c.programs[src]; ok {
			p = q
			return nil
		}
		q, err := c.compile(src)
		if err != nil {
			return err
		}
		c.programs[src] = q
		p = q
		return nil
	})
	return p, err
}

func (c *Context) compile(src string) (*Program, error) {
	g := c.gl
	sh := g.createShader(glCOMPUTE_SHADER)
	if sh == 0 {
		return nil, errors.Join(errors.New("glrt: glCreateShader failed"), c.check("glCreateShader"))
	}
	defer g.deleteShader(sh)
	g.shaderSource(sh, src)
	g.compileShader(sh)
	if g.getShaderiv(sh, glCOMPILE_STATUS) == 0 {
		log := strings.TrimSpace(g.shaderInfoLog(sh))
		c.check("glCompileShader") // drain debug messages of the failure
		return nil, &CompileError{Stage: "compile", Log: log}
	}
	prog := g.createProgram()
	g.attachShader(prog, sh)
	g.linkProgram(prog)
	g.detachShader(prog, sh)
	var st [1]int32
	g.getProgramiv(prog, glLINK_STATUS, st[:])
	if st[0] == 0 {
		log := strings.TrimSpace(g.programInfoLog(prog))
		g.deleteProgram(prog)
		c.check("glLinkProgram")
		return nil, &CompileError{Stage: "link", Log: log}
	}
	p := &Program{c: c, id: prog}
	var ls [3]int32
	g.getProgramiv(prog, glCOMPUTE_WORK_GROUP_SIZE, ls[:])
	for i := range ls {
		p.local[i] = int(ls[i])
	}
	p.storage, p.storageSize = c.blockBindings(prog, glSHADER_STORAGE_BLOCK)
	p.uniforms, p.uniformSize = c.blockBindings(prog, glUNIFORM_BLOCK)
	if err := c.check("program introspection"); err != nil {
		g.deleteProgram(prog)
		return nil, err
	}
	return p, nil
}

func (c *Context) blockBindings(prog, iface uint32) ([]uint32, map[uint32]int) {
	n := c.gl.programInterface(prog, iface, glACTIVE_RESOURCES)
	out := make([]uint32, 0, n)
	sizes := make(map[uint32]int, n)
	for i := 0; i < n; i++ {
		bind := uint32(c.gl.programResource(prog, iface, uint32(i), glBUFFER_BINDING))
		out = append(out, bind)
		sizes[bind] = max(sizes[bind], c.gl.programResource(prog, iface, uint32(i), glBUFFER_DATA_SIZE))
	}
	slices.Sort(out)
	return slices.Compact(out), sizes
}

// LocalSize returns the program's local_size_x/y/z.
func (p *Program) LocalSize() [3]int { return p.local }

// StorageBindings returns the binding points of the program's active shader
// storage blocks; a dispatch must bind each of them.
func (p *Program) StorageBindings() []uint32 { return slices.Clone(p.storage) }

// UniformBindings returns the binding points of the program's active uniform
// blocks; a dispatch must bind each of them (Bindings or Params).
func (p *Program) UniformBindings() []uint32 { return slices.Clone(p.uniforms) }

// UniformLocation returns the location of a plain (non-block) uniform.
func (p *Program) UniformLocation(name string) (int32, error) {
	var loc int32
	err := p.c.o.do(func() error {
		if p.id == 0 {
			return ErrClosed
		}
		loc = p.c.gl.uniformLocation(p.id, name)
		if loc < 0 {
			return fmt.Errorf("glrt: no active uniform %q", name)
		}
		return nil
	})
	return loc, err
}
