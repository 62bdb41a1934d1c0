package glrt

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"unsafe"
)

// ErrOutOfMemory reports GL_OUT_OF_MEMORY while allocating a buffer.
var ErrOutOfMemory = errors.New("glrt: out of GPU memory")

// Context owns one OpenGL 4.3 context and the goroutine (locked to its OS
// thread) that makes every GL call on it. All methods are safe for concurrent
// use. Close it to release the context and stop the goroutine.
type Context struct {
	o    *owner
	opts Options
	caps Caps // set during setup, read-only afterwards

	// Owner-thread state: touched only by functions running on the owner.
	plat      Platform
	gl        *glapi
	programs  map[string]*Program
	buffers   map[uint32]*Buffer
	hz        hazards
	paramsBuf uint32 // streaming buffer for Dispatch.Params
	staging   []byte
	queries   []uint32 // free GL_TIMESTAMP query objects
	allQuery  []uint32
	barriers  int // glMemoryBarrier calls issued, for Stats

	dbgMu  sync.Mutex
	dbgLog []DebugMessage // last maxDebugLog messages
}

const maxDebugLog = 256

// NewWithPlatform starts an owner thread, calls open on it to make a GL
// context current there, loads the GL entry points through the returned
// Platform and checks for OpenGL 4.3. If anything fails the platform is
// destroyed, the thread ends and the error is returned.
func NewWithPlatform(opts Options, open func(Options) (Platform, error)) (*Context, error) {
	if open == nil {
		return nil, errors.New("glrt: NewWithPlatform: nil open function")
	}
	if !cgoEnabled {
		return nil, fmt.Errorf("%w: built without cgo", ErrUnavailable)
	}
	c := &Context{
		opts:     opts,
		programs: map[string]*Program{},
		buffers:  map[uint32]*Buffer{},
		hz:       newHazards(),
	}
	o, err := startOwner(func() error { return c.setup(open) }, c.teardown)
	if err != nil {
		return nil, err
	}
	c.o = o
	return c, nil
}

func (c *Context) setup(open func(Options) (Platform, error)) error {
	p, err := open(c.opts)
	if err != nil {
		return err
	}
	if p == nil {
		return errors.New("glrt: platform open function returned no platform and no error")
	}
	fail := func(err error) error {
		return errors.Join(err, p.Destroy())
	}
	g, err := loadGL(p.ProcAddr)
	if err != nil {
		return fail(fmt.Errorf("%w: %s: %v", ErrUnavailable, p.Name(), err))
	}
	c.plat, c.gl = p, g
	major, minor := g.getInteger(glMAJOR_VERSION), g.getInteger(glMINOR_VERSION)
	if major < 4 || (major == 4 && minor < 3) {
		return fail(fmt.Errorf("%w: %s gives OpenGL %d.%d (%s), need 4.3", ErrUnavailable, p.Name(), major, minor, g.getString(glRENDERER)))
	}
	c.probe()
	if c.opts.Debug {
		g.enable(glDEBUG_OUTPUT)
		// Synchronous: messages are logged by the call that caused them, so
		// polling after a dispatch attributes them to it.
		g.enable(glDEBUG_OUTPUT_SYNCHRONOUS)
		g.debugMessageControlAll(true)
	}
	if err := c.check("context setup"); err != nil {
		return fail(err)
	}
	return nil
}

func (c *Context) probe() {
	g := c.gl
	cp := &c.caps
	cp.Platform = c.plat.Name()
	cp.Version = g.getString(glVERSION)
	cp.Renderer = g.getString(glRENDERER)
	cp.Vendor = g.getString(glVENDOR)
	cp.GLSLVersion = g.getString(glSHADING_LANGUAGE_VERSION)
	cp.Major = g.getInteger(glMAJOR_VERSION)
	cp.Minor = g.getInteger(glMINOR_VERSION)
	cp.DebugContext = g.getInteger(glCONTEXT_FLAGS)&glCONTEXT_FLAG_DEBUG_BIT != 0
	cp.MaxComputeSharedMemorySize = g.getInteger(glMAX_COMPUTE_SHARED_MEMORY_SIZE)
	cp.MaxComputeWorkGroupInvocations = g.getInteger(glMAX_COMPUTE_WORK_GROUP_INVOCATIONS)
	for i := uint32(0); i < 3; i++ {
		cp.MaxComputeWorkGroupSize[i] = g.getIntegeri(glMAX_COMPUTE_WORK_GROUP_SIZE, i)
		cp.MaxComputeWorkGroupCount[i] = g.getIntegeri(glMAX_COMPUTE_WORK_GROUP_COUNT, i)
	}
	cp.MaxShaderStorageBlockSize = g.getInteger64(glMAX_SHADER_STORAGE_BLOCK_SIZE)
	cp.MaxUniformBlockSize = g.getInteger(glMAX_UNIFORM_BLOCK_SIZE)
	cp.MaxShaderStorageBufferBindings = g.getInteger(glMAX_SHADER_STORAGE_BUFFER_BINDINGS)
	cp.MaxUniformBufferBindings = g.getInteger(glMAX_UNIFORM_BUFFER_BINDINGS)
	cp.MaxComputeShaderStorageBlocks = g.getInteger(glMAX_COMPUTE_SHADER_STORAGE_BLOCKS)
	cp.MaxComputeUniformBlocks = g.getInteger(glMAX_COMPUTE_UNIFORM_BLOCKS)
	cp.SSBOOffsetAlignment = max(1, g.getInteger(glSHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT))
	cp.UBOOffsetAlignment = max(1, g.getInteger(glUNIFORM_BUFFER_OFFSET_ALIGNMENT))
	cp.TimerBits = g.getQueryiv(glTIMESTAMP, glQUERY_COUNTER_BITS)
	n := g.getInteger(glNUM_EXTENSIONS)
	cp.Extensions = make([]string, 0, n)
	for i := 0; i < n; i++ {
		cp.Extensions = append(cp.Extensions, g.getStringi(glEXTENSIONS, uint32(i)))
	}
	sort.Strings(cp.Extensions)
}

// teardown deletes every GL object and destroys the context (owner thread).
func (c *Context) teardown() error {
	g := c.gl
	for _, p := range c.programs {
		g.deleteProgram(p.id)
		p.id = 0
	}
	clear(c.programs)
	for id, b := range c.buffers {
		g.deleteBuffer(id)
		b.id = 0
	}
	clear(c.buffers)
	if c.paramsBuf != 0 {
		g.deleteBuffer(c.paramsBuf)
		c.paramsBuf = 0
	}
	for _, q := range c.allQuery {
		g.deleteQuery(q)
	}
	c.allQuery, c.queries = nil, nil
	g.finish()
	err := c.check("teardown")
	return errors.Join(err, c.plat.Destroy())
}

// Close deletes every buffer and program, destroys the GL context and stops
// the owner goroutine. It is safe to call more than once (later calls return
// the first call's result) and from several goroutines. It must not be called
// from a function run by Do (that returns an error on Linux).
func (c *Context) Close() error {
	return c.o.stop()
}

// Do runs fn on the owner thread, where the GL context is current, and
// returns its error; a panic in fn becomes an error. After Close it returns
// ErrClosed. fn must not call methods of c: on Linux they return an error
// saying so, elsewhere they deadlock. fn may make raw GL calls through entry
// points obtained with ProcAddr.
func (c *Context) Do(fn func() error) error {
	if fn == nil {
		return errors.New("glrt: Do: nil function")
	}
	return c.o.do(fn)
}

// ProcAddr returns the address of a GL entry point for this context (for
// example to pass to go-gl/gl's InitWithProcAddrFunc). Call it inside Do.
func (c *Context) ProcAddr(name string) unsafe.Pointer {
	return c.plat.ProcAddr(name)
}

// Caps returns the capabilities probed when the context was made.
func (c *Context) Caps() Caps {
	cp := c.caps
	cp.Extensions = slices.Clone(cp.Extensions)
	return cp
}

// Finish blocks until the GL has completed all submitted work (glFinish).
func (c *Context) Finish() error {
	return c.o.do(func() error {
		c.gl.finish()
		return c.check("glFinish")
	})
}

// DebugMessages returns and clears the KHR_debug messages collected so far
// (Options.Debug; nil otherwise).
func (c *Context) DebugMessages() []DebugMessage {
	c.dbgMu.Lock()
	defer c.dbgMu.Unlock()
	m := c.dbgLog
	c.dbgLog = nil
	return m
}

// check drains glGetError (and, in debug mode, the debug log) and turns the
// first error into a Go error. Owner thread only.
func (c *Context) check(where string) error {
	var first error
	for i := 0; i < 16; i++ { // each distinct error flag is reported once
		code := c.gl.getError()
		if code == glNO_ERROR {
			break
		}
		if first == nil {
			first = &GLError{Code: code, Where: where}
			if code == glOUT_OF_MEMORY {
				first = fmt.Errorf("%w: %w", ErrOutOfMemory, first)
			}
		}
	}
	if c.opts.Debug {
		if err := c.pollDebug(where); first == nil {
			first = err
		}
	}
	return first
}

// pollDebug moves messages from the GL debug log to c.dbgLog and returns the
// first GL_DEBUG_TYPE_ERROR message as an error.
func (c *Context) pollDebug(where string) error {
	msgs := c.gl.debugMessages(maxDebugLog)
	if len(msgs) == 0 {
		return nil
	}
	var err error
	for _, m := range msgs {
		if m.Type == glDEBUG_TYPE_ERROR && err == nil {
			err = fmt.Errorf("glrt: GL debug error after %s: %s", where, m.Message)
		}
	}
	c.dbgMu.Lock()
	c.dbgLog = append(c.dbgLog, msgs...)
	if n := len(c.dbgLog); n > maxDebugLog {
		c.dbgLog = slices.Clone(c.dbgLog[n-maxDebugLog:])
	}
	c.dbgMu.Unlock()
	return err
}
