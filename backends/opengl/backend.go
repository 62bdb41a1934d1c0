package opengl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/backends/opengl/internal/glfwctx"
	"github.com/qgpu/qgpu/backends/opengl/internal/glrt"
	"github.com/qgpu/qgpu/engine/backend"
)

func init() {
	backend.Register("opengl", 20, func(o backend.Options) (backend.Backend, error) { return Open(o) })
}

// Backend is the OpenGL 4.3 compute backend: one GL context owned by one
// OS thread (glrt serializes every call on it). It is safe for concurrent
// use; Run calls from many goroutines are submitted one after another.
type Backend struct {
	*gpu.Backend
	rt *runtime
}

// config holds test-only settings.
type config struct {
	forceExactDiv bool // use quantize_exactdiv whatever the self-test says
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
		return nil, gpu.WrapError("opengl", "open", err, sentinel)
	}
	rt := &runtime{ctx: ctx, caps: ctx.Caps()}
	c := &rt.caps
	gb, err := gpu.New(rt, gpu.Device{
		Info: deviceInfo(c),
		Limits: gpu.Limits{
			OffsetAlign:    gpu.Limit{Name: "GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT", Value: int64(c.SSBOOffsetAlignment)},
			Binding:        gpu.Limit{Name: "GL_MAX_SHADER_STORAGE_BLOCK_SIZE", Value: c.MaxShaderStorageBlockSize},
			ParamBlock:     gpu.Limit{Name: "GL_MAX_UNIFORM_BLOCK_SIZE", Value: int64(c.MaxUniformBlockSize)},
			StorageBuffers: gpu.Limit{Name: "GL_MAX_COMPUTE_SHADER_STORAGE_BLOCKS", Value: int64(min(c.MaxComputeShaderStorageBlocks, c.MaxShaderStorageBufferBindings))},
			Invocations:    int64(c.MaxComputeWorkGroupInvocations),
			GroupSize:      [3]int64{int64(c.MaxComputeWorkGroupSize[0]), int64(c.MaxComputeWorkGroupSize[1]), int64(c.MaxComputeWorkGroupSize[2])},
			GroupCount:     [3]int64{int64(c.MaxComputeWorkGroupCount[0]), int64(c.MaxComputeWorkGroupCount[1]), int64(c.MaxComputeWorkGroupCount[2])},
			SharedMemory:   int64(c.MaxComputeSharedMemorySize),
		},
		ExactDiv:     cfg.forceExactDiv,
		SkipSelfTest: cfg.skipSelfTest,
		Eager:        true,
	})
	if err != nil {
		return nil, err
	}
	return &Backend{Backend: gb, rt: rt}, nil
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

// deviceInfo describes the GL implementation and its GL capabilities
// (gpu.New adds the limits, kernel variants and self-test results).
func deviceInfo(c *glrt.Caps) backend.DeviceInfo {
	kind := "discrete"
	if softwareRenderer(c.Renderer) {
		kind = "software"
	}
	caps := map[string]string{
		"context":           c.Platform,
		"gl_version":        c.Version,
		"gl_major_minor":    fmt.Sprintf("%d.%d", c.Major, c.Minor),
		"renderer":          c.Renderer,
		"vendor":            c.Vendor,
		"glsl_version":      c.GLSLVersion,
		"debug_context":     gpu.YesNo(c.DebugContext),
		"ubo_offset_align":  strconv.Itoa(c.UBOOffsetAlignment),
		"max_ssbo_bindings": strconv.Itoa(c.MaxShaderStorageBufferBindings),
		"timer_bits":        strconv.Itoa(c.TimerBits),
		"timestamps":        gpu.YesNo(c.TimerBits > 0),
		"extensions":        strconv.Itoa(len(c.Extensions)),
		"kind_source":       "GL_RENDERER: software for llvmpipe/softpipe/swrast, else discrete (GL cannot tell integrated GPUs apart)",
	}
	return backend.DeviceInfo{Backend: "opengl", Name: c.Renderer, Driver: c.Vendor + " " + c.Version, Kind: kind, Caps: caps}
}
