package opengl

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"

	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/backends/opengl/internal/glfwctx"
	"github.com/qgpu/qgpu/backends/opengl/internal/glrt"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/shaders"
)

func init() {
	backend.Register("opengl", 20, func(o backend.Options) (backend.Backend, error) { return Open(o) })
}

// exactDivKernel is the quantize variant with integer-only IEEE division.
const exactDivKernel = "quantize_exactdiv"

// Backend is the OpenGL 4.3 compute backend: one GL context owned by one
// OS thread (glrt serializes every call on it). It is safe for concurrent
// use; Run calls from many goroutines are submitted one after another.
type Backend struct {
	ctx   *glrt.Context
	caps  glrt.Caps
	info  backend.DeviceInfo
	debug bool
	align int // SSBO offset alignment in bytes (>= 4, divides 256)
	dummy *glrt.Buffer

	progs map[string]*glrt.Program // kernel name -> program, read-only after open
	// loopLimited: the driver silently ends the loops of an invocation
	// after gpu.LoopBudget iterations (llvmpipe); ops that may need more
	// are unsupported.
	loopLimited bool
	exactDiv    bool // quantize uses exactDivKernel

	// mu is held for reading by every operation that uses the context and
	// for writing by Close.
	mu     sync.RWMutex
	closed bool

	aux auxPool
}

var (
	_ backend.Backend = (*Backend)(nil)
	_ backend.Timer   = (*Backend)(nil)
)

// config holds test-only settings.
type config struct {
	forceExactDiv bool // use exactDivKernel whatever the self-test says
	skipSelfTest  bool
}

// Open opens a GL context as o.Device says ("", "egl", "egl:surfaceless",
// "egl:device", "egl:default" or "glfw") and compiles every kernel. Errors
// meaning "no usable OpenGL here" wrap backend.ErrUnavailable.
func Open(o backend.Options) (*Backend, error) { return open(o, config{}) }

func newContext(o backend.Options) (*glrt.Context, error) {
	opts := glrt.Options{Debug: o.Debug}
	dev := strings.ToLower(strings.TrimSpace(o.Device))
	switch {
	case dev == "" || dev == "egl":
		return glrt.NewEGL(opts)
	case strings.HasPrefix(dev, "egl:"):
		opts.EGLPlatform = strings.TrimPrefix(dev, "egl:")
		switch opts.EGLPlatform {
		case "surfaceless", "device", "default":
		default:
			return nil, fmt.Errorf("%w: opengl: unknown EGL platform %q (want egl:surfaceless, egl:device or egl:default)", backend.ErrParams, opts.EGLPlatform)
		}
		return glrt.NewEGL(opts)
	case dev == "glfw":
		return glfwctx.New(opts)
	}
	return nil, fmt.Errorf("%w: opengl: unknown context %q (want \"\", egl, egl:surfaceless, egl:device, egl:default or glfw)", backend.ErrParams, o.Device)
}

func open(o backend.Options, cfg config) (*Backend, error) {
	ctx, err := newContext(o)
	if err != nil {
		if errors.Is(err, glrt.ErrUnavailable) {
			return nil, fmt.Errorf("%w: opengl: %v", backend.ErrUnavailable, err)
		}
		return nil, mapErr("open", err)
	}
	b := &Backend{ctx: ctx, caps: ctx.Caps(), debug: o.Debug, progs: map[string]*glrt.Program{}}
	b.aux.b = b
	fail := func(err error) (*Backend, error) {
		ctx.Close()
		return nil, err
	}
	b.loopLimited = gpu.LoopLimited(b.caps.Renderer)
	if err := b.checkLimits(); err != nil {
		return fail(err)
	}
	if b.dummy, err = ctx.NewBuffer(256); err != nil {
		return fail(mapErr("open", err))
	}
	for _, k := range shaders.Kernels {
		if err := b.compile(k); err != nil {
			return fail(err)
		}
	}
	b.exactDiv = cfg.forceExactDiv
	if b.exactDiv {
		if err := b.compile(exactDivKernel); err != nil {
			return fail(err)
		}
	}
	st := selfTestResult{division: "skipped", denormals: "preserve"}
	if !cfg.skipSelfTest {
		if st, err = b.selfTest(); err != nil {
			return fail(fmt.Errorf("opengl: %s: start-up self-test: %w", b.caps.Renderer, err))
		}
	}
	b.info = b.deviceInfo(st)
	return b, nil
}

// checkLimits refuses a context whose limits are below what the kernels and
// the planner assume.
func (b *Backend) checkLimits() error {
	c := &b.caps
	b.align = max(4, c.SSBOOffsetAlignment)
	if b.align > 256 || 256%b.align != 0 {
		return fmt.Errorf("%w: opengl: %s: GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT %d does not divide 256 (the engine's tensor offset alignment)",
			backend.ErrUnavailable, c.Renderer, c.SSBOOffsetAlignment)
	}
	if c.MaxComputeWorkGroupInvocations < shaders.LocalSize || c.MaxComputeWorkGroupSize[0] < shaders.LocalSize ||
		c.MaxComputeWorkGroupCount[0] < gpu.MaxGroupsX || c.MaxComputeWorkGroupCount[1] < gpu.MaxGroupsX {
		return fmt.Errorf("%w: opengl: %s: work-group limits too small (%d invocations, size %v, count %v)",
			backend.ErrUnavailable, c.Renderer, c.MaxComputeWorkGroupInvocations, c.MaxComputeWorkGroupSize, c.MaxComputeWorkGroupCount)
	}
	if c.MaxComputeShaderStorageBlocks < 4 || c.MaxShaderStorageBufferBindings < 4 {
		return fmt.Errorf("%w: opengl: %s: %d storage blocks per compute shader, %d bindings; the kernels use 4",
			backend.ErrUnavailable, c.Renderer, c.MaxComputeShaderStorageBlocks, c.MaxShaderStorageBufferBindings)
	}
	if c.MaxUniformBlockSize < shaders.ParamBytes {
		return fmt.Errorf("%w: opengl: %s: uniform blocks of %d bytes, the parameter block needs %d",
			backend.ErrUnavailable, c.Renderer, c.MaxUniformBlockSize, shaders.ParamBytes)
	}
	return nil
}

// compile builds the GL program of a kernel or variant.
func (b *Backend) compile(name string) error {
	src, err := shaders.Source(name, shaders.OpenGL)
	if err != nil {
		return fmt.Errorf("%w: opengl: %v", backend.ErrUnavailable, err)
	}
	p, err := b.ctx.Program(src)
	if err != nil {
		var ce *glrt.CompileError
		if errors.As(err, &ce) {
			return fmt.Errorf("%w: opengl: %s: kernel %s: GLSL %s failed:\n%s", backend.ErrUnavailable, b.caps.Renderer, name, ce.Stage, ce.Log)
		}
		return mapErr("compile "+name, err)
	}
	if ls := p.LocalSize(); ls != [3]int{shaders.LocalSize, 1, 1} {
		return fmt.Errorf("opengl: kernel %s: local size %v, want %d x 1 x 1", name, ls, shaders.LocalSize)
	}
	b.progs[name] = p
	return nil
}

// Name returns "opengl".
func (b *Backend) Name() string { return "opengl" }

// Device describes the GL implementation, its limits and the kernel
// variants in use.
func (b *Backend) Device() backend.DeviceInfo {
	info := b.info
	info.Caps = maps.Clone(b.info.Caps)
	return info
}

// softwareRenderer reports whether a GL_RENDERER string names a CPU
// rasterizer.
func softwareRenderer(r string) bool {
	r = strings.ToLower(r)
	for _, s := range []string{"llvmpipe", "softpipe", "swrast", "software rasterizer"} {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}

func (b *Backend) deviceInfo(st selfTestResult) backend.DeviceInfo {
	c := &b.caps
	kind := "discrete"
	if softwareRenderer(c.Renderer) {
		kind = "software"
	}
	div := "plain"
	if b.exactDiv {
		div = "exactdiv"
	}
	caps := map[string]string{
		"context":                  c.Platform,
		"gl_version":               c.Version,
		"gl_major_minor":           fmt.Sprintf("%d.%d", c.Major, c.Minor),
		"renderer":                 c.Renderer,
		"vendor":                   c.Vendor,
		"glsl_version":             c.GLSLVersion,
		"debug_context":            yesNo(c.DebugContext),
		"shared_memory":            strconv.Itoa(c.MaxComputeSharedMemorySize),
		"workgroup_invocations":    strconv.Itoa(c.MaxComputeWorkGroupInvocations),
		"workgroup_size":           fmt.Sprintf("%dx%dx%d", c.MaxComputeWorkGroupSize[0], c.MaxComputeWorkGroupSize[1], c.MaxComputeWorkGroupSize[2]),
		"workgroup_count":          fmt.Sprintf("%dx%dx%d", c.MaxComputeWorkGroupCount[0], c.MaxComputeWorkGroupCount[1], c.MaxComputeWorkGroupCount[2]),
		"ssbo_offset_align":        strconv.Itoa(c.SSBOOffsetAlignment),
		"ubo_offset_align":         strconv.Itoa(c.UBOOffsetAlignment),
		"max_ssbo_block":           strconv.FormatInt(c.MaxShaderStorageBlockSize, 10),
		"max_ssbo_bindings":        strconv.Itoa(c.MaxShaderStorageBufferBindings),
		"timer_bits":               strconv.Itoa(c.TimerBits),
		"extensions":               strconv.Itoa(len(c.Extensions)),
		"kind_source":              "GL_RENDERER: software for llvmpipe/softpipe/swrast, else discrete (GL cannot tell integrated GPUs apart)",
		"kernel_quantize_division": div,
		"division_selftest":        st.division,
		"denormals":                st.denormals, // tests.CapDenormals: measured at open
		"loop_budget":              loopBudget(b.loopLimited),
	}
	return backend.DeviceInfo{Backend: "opengl", Name: c.Renderer, Driver: c.Vendor + " " + c.Version, Kind: kind, Caps: caps}
}

func loopBudget(limited bool) string {
	if limited {
		return strconv.Itoa(gpu.LoopBudget) + " iterations per invocation (gallivm loop limiter)"
	}
	return "none known"
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

// Close waits for running work and frees everything the backend made.
// Safe to call twice.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	b.aux.drop()
	return mapErr("close", b.ctx.Close())
}

// enter takes the read lock, failing when the backend is closed.
func (b *Backend) enter() error {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return fmt.Errorf("opengl: backend %w", backend.ErrClosed)
	}
	return nil
}

func (b *Backend) leave() { b.mu.RUnlock() }

// mapErr wraps runtime errors with the engine's sentinels.
func mapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	var ge *glrt.GLError
	switch {
	case errors.Is(err, glrt.ErrOutOfMemory):
		return fmt.Errorf("opengl: %s: %w: %v", what, backend.ErrOutOfMemory, err)
	case errors.As(err, &ge) && ge.Code == glContextLost:
		return fmt.Errorf("opengl: %s: %w: %v", what, backend.ErrDeviceLost, err)
	case errors.Is(err, glrt.ErrClosed):
		return fmt.Errorf("opengl: %s: %w: %v", what, backend.ErrClosed, err)
	case errors.Is(err, glrt.ErrUnavailable):
		return fmt.Errorf("opengl: %s: %w: %v", what, backend.ErrUnavailable, err)
	}
	return fmt.Errorf("opengl: %s: %w", what, err)
}

// glContextLost is GL_CONTEXT_LOST (GL 4.5 / KHR_robustness).
const glContextLost = 0x0507
