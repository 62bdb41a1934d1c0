package glrt

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// BindKind says how a buffer range is bound.
type BindKind uint8

const (
	// Storage binds a range as a shader storage block (GL_SHADER_STORAGE_BUFFER).
	Storage BindKind = iota
	// Uniform binds a range as a uniform block (GL_UNIFORM_BUFFER); read only.
	Uniform
)

func (k BindKind) String() string {
	switch k {
	case Storage:
		return "storage"
	case Uniform:
		return "uniform"
	}
	return fmt.Sprintf("BindKind(%d)", uint8(k))
}

// Binding binds a range of a buffer to a block binding point
// (layout(binding = Index) in GLSL).
//
//   - Offset must be a multiple of Caps.SSBOOffsetAlignment (Storage) or
//     Caps.UBOOffsetAlignment (Uniform).
//   - Size 0 means up to the end of the buffer.
//   - ReadOnly promises the shader does not write the range; it lets the
//     runtime skip barriers between dispatches that only read a buffer. A
//     wrong promise can give wrong results on real GPUs.
type Binding struct {
	Index    uint32
	Buffer   *Buffer
	Offset   int
	Size     int
	Kind     BindKind
	ReadOnly bool
}

// UniformValue sets a plain (non-block) uniform of the program; exactly one
// of the slices is non-empty (several values set an array uniform).
type UniformValue struct {
	Location int32
	Uints    []uint32
	Ints     []int32
	Floats   []float32
}

// Dispatch is one glDispatchCompute with its bindings.
type Dispatch struct {
	Program *Program
	// Groups is the number of work groups per axis; each must be at least 1
	// and at most Caps.MaxComputeWorkGroupCount.
	Groups   [3]uint32
	Bindings []Binding
	// Params, if not empty, is copied into a runtime-owned buffer and bound
	// at ParamsBinding: as a uniform block (std140 layout is the shader's) or,
	// with ParamsStorage, as a storage block (std430). It is zero-padded to
	// the block's GL_BUFFER_DATA_SIZE. This is the equivalent of Vulkan push
	// constants; all the Params of one Run go up in one upload.
	Params        []byte
	ParamsBinding uint32
	ParamsStorage bool
	// Uniforms sets plain uniforms (glProgramUniform*) before the dispatch.
	Uniforms []UniformValue
}

type opKind uint8

const (
	opDispatch opKind = iota
	opUpload
	opDownload
	opCopy
	opBarrier
)

type batchOp struct {
	kind   opKind
	d      Dispatch
	buf    *Buffer // upload/download target, copy destination
	src    *Buffer // copy source
	off    int     // buf offset
	srcOff int
	n      int
	data   []byte // upload source / download destination
}

// Batch records dispatches and transfers to run in order with one Context.Run
// (one round trip to the owner thread). A Batch is not safe for concurrent
// recording; it may be run many times.
type Batch struct {
	// Timing measures each dispatch with a pair of GL_TIMESTAMP queries
	// (glQueryCounter) around it; Run then waits for the GPU to finish the
	// batch. (GL_TIME_ELAPSED reads 1 ns for compute on llvmpipe, timestamps
	// work there and on GPUs.)
	Timing bool

	ops   []batchOp
	ndisp int
}

// Dispatch appends a dispatch and returns its index among the batch's
// dispatches (the index of its time in Stats.GPUTime). The Bindings,
// Params and Uniforms are copied.
func (b *Batch) Dispatch(d Dispatch) int {
	d.Bindings = slices.Clone(d.Bindings)
	d.Params = slices.Clone(d.Params)
	d.Uniforms = slices.Clone(d.Uniforms)
	b.ops = append(b.ops, batchOp{kind: opDispatch, d: d})
	b.ndisp++
	return b.ndisp - 1
}

// Upload appends a copy of src into dst at byte offset off. src is read when
// the batch runs, not copied now.
func (b *Batch) Upload(dst *Buffer, off int, src []byte) {
	b.ops = append(b.ops, batchOp{kind: opUpload, buf: dst, off: off, data: src, n: len(src)})
}

// Download appends a copy of len(dst) bytes from src at byte offset off into
// dst; dst is filled when Run returns.
func (b *Batch) Download(src *Buffer, off int, dst []byte) {
	b.ops = append(b.ops, batchOp{kind: opDownload, buf: src, off: off, data: dst, n: len(dst)})
}

// Copy appends a GPU-side copy of n bytes (glCopyBufferSubData).
func (b *Batch) Copy(dst *Buffer, dstOff int, src *Buffer, srcOff, n int) {
	b.ops = append(b.ops, batchOp{kind: opCopy, buf: dst, off: dstOff, src: src, srcOff: srcOff, n: n})
}

// Barrier appends glMemoryBarrier(GL_ALL_BARRIER_BITS). The runtime inserts
// the barriers its bindings need by itself; this is for writes it cannot see
// (raw GL in Do, images).
func (b *Batch) Barrier() {
	b.ops = append(b.ops, batchOp{kind: opBarrier})
}

// Len returns the number of recorded operations.
func (b *Batch) Len() int { return len(b.ops) }

// Reset empties the batch, keeping its memory and Timing.
func (b *Batch) Reset() {
	clear(b.ops)
	b.ops = b.ops[:0]
	b.ndisp = 0
}

// Stats describe one Run.
type Stats struct {
	Dispatches int
	Barriers   int             // glMemoryBarrier calls issued
	GPUTime    []time.Duration // per dispatch, with Batch.Timing
	Host       time.Duration   // time spent on the owner thread
}

// TotalGPU returns the sum of GPUTime.
func (s Stats) TotalGPU() time.Duration {
	var t time.Duration
	for _, d := range s.GPUTime {
		t += d
	}
	return t
}

// Run validates every operation of the batch, then issues them in order on
// the owner thread, with the memory barriers their bindings need; it checks
// glGetError at the end (after every dispatch with Options.Debug). Nothing is
// issued when validation fails. Downloads are complete when Run returns;
// other work may still be running on the GPU (see Finish).
func (c *Context) Run(b *Batch) (Stats, error) {
	var st Stats
	if b == nil {
		return st, errors.New("glrt: Run: nil batch")
	}
	err := c.o.do(func() error {
		t0 := time.Now()
		defer func() { st.Host = time.Since(t0) }()
		return c.run(b, &st)
	})
	return st, err
}

// validate checks an op against the caps and the live objects (owner thread).
func (c *Context) validate(i int, op *batchOp, timing bool) error {
	wrap := func(err error) error { return fmt.Errorf("glrt: batch op %d: %w", i, err) }
	switch op.kind {
	case opUpload, opDownload:
		if err := op.buf.live(c); err != nil {
			return wrap(err)
		}
		return wrap2(i, op.buf.checkRange([...]string{opUpload: "Upload", opDownload: "Download"}[op.kind], op.off, op.n))
	case opCopy:
		if err := op.buf.live(c); err != nil {
			return wrap(err)
		}
		if err := op.src.live(c); err != nil {
			return wrap(err)
		}
		if err := op.buf.checkRange("Copy dst", op.off, op.n); err != nil {
			return wrap(err)
		}
		if err := op.src.checkRange("Copy src", op.srcOff, op.n); err != nil {
			return wrap(err)
		}
		if op.buf == op.src && op.off < op.srcOff+op.n && op.srcOff < op.off+op.n {
			return wrap(errors.New("Copy: overlapping ranges in one buffer"))
		}
		return nil
	case opBarrier:
		return nil
	}
	d := &op.d
	if d.Program == nil || d.Program.c != c {
		return wrap(errors.New("dispatch without a program of this context"))
	}
	for a, n := range d.Groups {
		if n == 0 || int64(n) > int64(c.caps.MaxComputeWorkGroupCount[a]) {
			return wrap(fmt.Errorf("Groups[%d] = %d, want 1..%d", a, n, c.caps.MaxComputeWorkGroupCount[a]))
		}
	}
	if timing && c.caps.TimerBits == 0 {
		return wrap(errors.New("timing requested but GL_TIMESTAMP has 0 counter bits"))
	}
	var ssbo, ubo []uint32
	for j := range d.Bindings {
		bd := &d.Bindings[j]
		if err := bd.Buffer.live(c); err != nil {
			return wrap(fmt.Errorf("binding %d: %w", bd.Index, err))
		}
		size := bd.Size
		if size == 0 {
			size = bd.Buffer.size - bd.Offset
		}
		if err := bd.Buffer.checkRange("bind", bd.Offset, size); err != nil || size <= 0 {
			return wrap(fmt.Errorf("binding %d: offset %d size %d outside buffer of %d bytes", bd.Index, bd.Offset, bd.Size, bd.Buffer.size))
		}
		var align, maxSize, maxIndex int
		switch bd.Kind {
		case Storage:
			align, maxIndex = c.caps.SSBOOffsetAlignment, c.caps.MaxShaderStorageBufferBindings
			maxSize = int(min(c.caps.MaxShaderStorageBlockSize, math.MaxInt))
			ssbo = append(ssbo, bd.Index)
		case Uniform:
			align, maxIndex, maxSize = c.caps.UBOOffsetAlignment, c.caps.MaxUniformBufferBindings, c.caps.MaxUniformBlockSize
			ubo = append(ubo, bd.Index)
		default:
			return wrap(fmt.Errorf("binding %d: bad kind %v", bd.Index, bd.Kind))
		}
		if bd.Offset%align != 0 {
			return wrap(fmt.Errorf("binding %d: offset %d not a multiple of the %v offset alignment %d", bd.Index, bd.Offset, bd.Kind, align))
		}
		if size > maxSize {
			return wrap(fmt.Errorf("binding %d: %d bytes exceed the %v block limit %d", bd.Index, size, bd.Kind, maxSize))
		}
		if int(bd.Index) >= maxIndex {
			return wrap(fmt.Errorf("binding %d: index beyond the %d %v bindings", bd.Index, maxIndex, bd.Kind))
		}
	}
	if len(d.Params) > 0 {
		if d.ParamsStorage {
			ssbo = append(ssbo, d.ParamsBinding)
		} else {
			if n := d.paramsSize(); n > c.caps.MaxUniformBlockSize {
				return wrap(fmt.Errorf("Params: %d bytes exceed the uniform block limit %d", n, c.caps.MaxUniformBlockSize))
			}
			ubo = append(ubo, d.ParamsBinding)
		}
	}
	if j := dupIndex(ssbo); j >= 0 {
		return wrap(fmt.Errorf("storage binding %d bound twice", j))
	}
	if j := dupIndex(ubo); j >= 0 {
		return wrap(fmt.Errorf("uniform binding %d bound twice", j))
	}
	for _, want := range d.Program.storage {
		if !slices.Contains(ssbo, want) {
			return wrap(fmt.Errorf("program's storage block at binding %d is not bound", want))
		}
	}
	for _, want := range d.Program.uniforms {
		if !slices.Contains(ubo, want) {
			return wrap(fmt.Errorf("program's uniform block at binding %d is not bound", want))
		}
	}
	for _, u := range d.Uniforms {
		n := 0
		for _, l := range []int{len(u.Uints), len(u.Ints), len(u.Floats)} {
			if l > 0 {
				n++
			}
		}
		if n != 1 || u.Location < 0 {
			return wrap(fmt.Errorf("uniform at location %d: want a location >= 0 and exactly one non-empty value slice", u.Location))
		}
	}
	return nil
}

// paramsSize is the size of the bound Params range: len(Params), raised to
// the GL_BUFFER_DATA_SIZE of the program's block at ParamsBinding (drivers
// round block sizes up, e.g. to 16 bytes; a shorter range is undefined
// behaviour), the difference zero-filled.
func (d *Dispatch) paramsSize() int {
	sizes := d.Program.uniformSize
	if d.ParamsStorage {
		sizes = d.Program.storageSize
	}
	return max(len(d.Params), sizes[d.ParamsBinding])
}

func wrap2(i int, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("glrt: batch op %d: %w", i, err)
}

func dupIndex(xs []uint32) int {
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			if xs[i] == xs[j] {
				return int(xs[i])
			}
		}
	}
	return -1
}

func alignUp(n, a int) int { return (n + a - 1) / a * a }

func (c *Context) run(b *Batch, st *Stats) error {
	for i := range b.ops {
		if err := c.validate(i, &b.ops[i], b.Timing); err != nil {
			return err
		}
	}
	g := c.gl
	startBarriers := c.barriers
	defer func() { st.Barriers = c.barriers - startBarriers }()

	// Pack every dispatch's Params into one staging block at offsets aligned
	// for both binding kinds, and upload it with one glBufferData (which
	// orphans the previous contents, so earlier in-flight dispatches keep
	// theirs). Written by a GL command, it needs no barrier before use.
	align := max(c.caps.UBOOffsetAlignment, c.caps.SSBOOffsetAlignment)
	c.staging = c.staging[:0]
	paramOff := make([]int, 0, b.ndisp)
	for i := range b.ops {
		if op := &b.ops[i]; op.kind == opDispatch {
			off := -1
			if len(op.d.Params) > 0 {
				off = alignUp(len(c.staging), align)
				c.staging = append(c.staging, make([]byte, off-len(c.staging))...)
				c.staging = append(c.staging, op.d.Params...)
				c.staging = append(c.staging, make([]byte, op.d.paramsSize()-len(op.d.Params))...)
			}
			paramOff = append(paramOff, off)
		}
	}
	if len(c.staging) > 0 {
		if c.paramsBuf == 0 {
			c.paramsBuf = g.genBuffer()
		}
		g.bindBuffer(glCOPY_WRITE_BUFFER, c.paramsBuf)
		g.bufferData(glCOPY_WRITE_BUFFER, len(c.staging), c.staging, glDYNAMIC_DRAW)
		g.bindBuffer(glCOPY_WRITE_BUFFER, 0)
	}

	var queries []uint32
	if b.Timing {
		queries = c.takeQueries(2 * b.ndisp)
		defer func() { c.queries = append(c.queries, queries...) }()
	}
	var uses []use
	di := 0
	for i := range b.ops {
		op := &b.ops[i]
		switch op.kind {
		case opUpload:
			c.upload(op.buf, op.off, op.data)
		case opDownload:
			c.download(op.buf, op.off, op.data)
		case opCopy:
			c.copyBuf(op.buf, op.off, op.src, op.srcOff, op.n)
		case opBarrier:
			c.barrier(glALL_BARRIER_BITS)
			c.hz.barrier(glALL_BARRIER_BITS)
		case opDispatch:
			d := &op.d
			uses = uses[:0]
			for _, bd := range d.Bindings {
				uses = append(uses, use{id: bd.Buffer.id, uniform: bd.Kind == Uniform, write: bd.Kind == Storage && !bd.ReadOnly})
			}
			// Make earlier shader writes visible to this dispatch and keep it
			// from overlapping dispatches whose memory it overwrites.
			c.barrier(c.hz.dispatch(uses))
			g.useProgram(d.Program.id)
			for _, bd := range d.Bindings {
				size := bd.Size
				if size == 0 {
					size = bd.Buffer.size - bd.Offset
				}
				target := uint32(glSHADER_STORAGE_BUFFER)
				if bd.Kind == Uniform {
					target = glUNIFORM_BUFFER
				}
				g.bindBufferRange(target, bd.Index, bd.Buffer.id, bd.Offset, size)
			}
			if off := paramOff[di]; off >= 0 {
				target := uint32(glUNIFORM_BUFFER)
				if d.ParamsStorage {
					target = glSHADER_STORAGE_BUFFER
				}
				g.bindBufferRange(target, d.ParamsBinding, c.paramsBuf, off, d.paramsSize())
			}
			for _, u := range d.Uniforms {
				switch {
				case len(u.Uints) > 0:
					g.programUniform(d.Program.id, u.Location, 0, u.Uints)
				case len(u.Ints) > 0:
					g.programUniform(d.Program.id, u.Location, 1, int32Words(u.Ints))
				default:
					g.programUniform(d.Program.id, u.Location, 2, float32Words(u.Floats))
				}
			}
			if b.Timing {
				g.queryCounter(queries[2*di])
			}
			g.dispatchCompute(d.Groups[0], d.Groups[1], d.Groups[2])
			if b.Timing {
				g.queryCounter(queries[2*di+1])
			}
			st.Dispatches++
			if c.opts.Debug {
				if err := c.check(fmt.Sprintf("dispatch %d (batch op %d)", di, i)); err != nil {
					return err
				}
			}
			di++
		}
	}
	g.useProgram(0)
	if err := c.check("batch submission"); err != nil {
		return err
	}
	if b.Timing {
		st.GPUTime = make([]time.Duration, b.ndisp)
		for i := range st.GPUTime {
			t0, t1 := g.queryResult(queries[2*i]), g.queryResult(queries[2*i+1])
			st.GPUTime[i] = time.Duration(t1 - t0)
		}
		if err := c.check("timer query results"); err != nil {
			return err
		}
	} else {
		g.flush() // start the GPU on the batch without waiting for it
	}
	return nil
}

func (c *Context) takeQueries(n int) []uint32 {
	for len(c.queries) < n {
		q := c.gl.genQuery()
		c.allQuery = append(c.allQuery, q)
		c.queries = append(c.queries, q)
	}
	out := slices.Clone(c.queries[len(c.queries)-n:])
	c.queries = c.queries[:len(c.queries)-n]
	return out
}

func int32Words(v []int32) []uint32 {
	w := make([]uint32, len(v))
	for i, x := range v {
		w[i] = uint32(x)
	}
	return w
}

func float32Words(v []float32) []uint32 {
	w := make([]uint32, len(v))
	for i, x := range v {
		w[i] = math.Float32bits(x)
	}
	return w
}
