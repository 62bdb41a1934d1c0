package glrt

import (
	"errors"
	"fmt"
	"slices"
	"unsafe"
)

// ErrUnavailable reports that no OpenGL 4.3 context can be made: no cgo, no
// libEGL, no display, no driver, or a driver below OpenGL 4.3.
var ErrUnavailable = errors.New("glrt: OpenGL 4.3 unavailable")

// eglLibrary is the EGL library NewEGL opens on first use (tests change it).
var eglLibrary = "libEGL.so.1"

// Hints appended to the unavailable errors: which Debian/Ubuntu packages
// provide what is missing.
const (
	eglLoaderHint = "no EGL library: install libegl1 and an EGL driver (libegl-mesa0 and libgl1-mesa-dri: Mesa, whose llvmpipe runs OpenGL 4.5 on the CPU; or your GPU vendor's driver)"
	eglDriverHint = "no EGL driver offers a display: install libegl-mesa0 and libgl1-mesa-dri (Mesa, whose llvmpipe runs OpenGL 4.5 on the CPU) or your GPU vendor's driver"
)

// ErrClosed is returned by every call on a Context after Close.
var ErrClosed = errors.New("glrt: context closed")

// Options configure a Context.
type Options struct {
	// Debug asks for a debug context, enables KHR_debug output (polled with
	// glGetDebugMessageLog, no callback) and checks glGetError after every
	// dispatch instead of only at submission boundaries. Debug messages of type
	// GL_DEBUG_TYPE_ERROR become errors; all messages are kept (the last 256)
	// for Context.DebugMessages.
	Debug bool

	// EGLPlatform selects how NewEGL finds a display: "" or "auto" tries
	// "surfaceless" (EGL_MESA_platform_surfaceless), then "device"
	// (EGL_EXT_platform_device, every device in turn), then "default"
	// (eglGetDisplay(EGL_DEFAULT_DISPLAY)). Naming one tries only that one.
	EGLPlatform string
}

// Platform is a GL context creator for NewWithPlatform. All its methods are
// called on the owner thread, after its open function made the context current.
type Platform interface {
	// Name describes the platform, e.g. "egl/surfaceless" or "glfw".
	Name() string
	// ProcAddr returns the address of a GL entry point, or nil.
	ProcAddr(name string) unsafe.Pointer
	// Destroy releases the context; the runtime has already deleted every GL
	// object it made. Called once.
	Destroy() error
}

// Caps is what the context reports about the implementation.
type Caps struct {
	Platform     string // Platform.Name of the context
	Version      string // GL_VERSION
	Renderer     string // GL_RENDERER
	Vendor       string // GL_VENDOR
	GLSLVersion  string // GL_SHADING_LANGUAGE_VERSION
	Major        int    // GL_MAJOR_VERSION
	Minor        int    // GL_MINOR_VERSION
	DebugContext bool   // GL_CONTEXT_FLAG_DEBUG_BIT set

	MaxComputeSharedMemorySize     int    // bytes
	MaxComputeWorkGroupInvocations int    // product of local sizes
	MaxComputeWorkGroupSize        [3]int // per-axis local size
	MaxComputeWorkGroupCount       [3]int // per-axis number of groups
	MaxShaderStorageBlockSize      int64  // bytes per bound SSBO range
	MaxUniformBlockSize            int    // bytes per bound UBO range
	MaxShaderStorageBufferBindings int
	MaxUniformBufferBindings       int
	MaxComputeShaderStorageBlocks  int
	MaxComputeUniformBlocks        int
	SSBOOffsetAlignment            int // GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT
	UBOOffsetAlignment             int // GL_UNIFORM_BUFFER_OFFSET_ALIGNMENT
	TimerBits                      int // GL_QUERY_COUNTER_BITS of GL_TIMESTAMP; 0: no timing

	Extensions []string // sorted
}

// HasExtension reports whether the context lists the named extension.
func (c *Caps) HasExtension(name string) bool {
	_, ok := slices.BinarySearch(c.Extensions, name)
	return ok
}

// CompileError is a GLSL compile or link failure with the driver's info log.
type CompileError struct {
	Stage string // "compile" or "link"
	Log   string // the info log, trimmed
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("glrt: compute shader %s failed: %s", e.Stage, e.Log)
}

// GLError is a glGetError code seen at a check point.
type GLError struct {
	Code  uint32 // GL_INVALID_ENUM, ...
	Where string // what had just been done
}

func (e *GLError) Error() string {
	return fmt.Sprintf("glrt: GL error %s after %s", glErrorName(e.Code), e.Where)
}

func glErrorName(code uint32) string {
	switch code {
	case 0x0500:
		return "GL_INVALID_ENUM"
	case 0x0501:
		return "GL_INVALID_VALUE"
	case 0x0502:
		return "GL_INVALID_OPERATION"
	case 0x0503:
		return "GL_STACK_OVERFLOW"
	case 0x0504:
		return "GL_STACK_UNDERFLOW"
	case 0x0505:
		return "GL_OUT_OF_MEMORY"
	case 0x0506:
		return "GL_INVALID_FRAMEBUFFER_OPERATION"
	case 0x0507:
		return "GL_CONTEXT_LOST"
	}
	return fmt.Sprintf("0x%04X", code)
}

// DebugMessage is one KHR_debug message (Options.Debug).
type DebugMessage struct {
	Source, Type, Severity uint32 // GL enums
	ID                     uint32
	Message                string
}

func (m DebugMessage) String() string {
	return fmt.Sprintf("[src 0x%X type 0x%X sev 0x%X id %d] %s", m.Source, m.Type, m.Severity, m.ID, m.Message)
}
