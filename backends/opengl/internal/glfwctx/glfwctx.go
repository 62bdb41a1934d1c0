//go:build glfw && cgo

package glfwctx

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"github.com/go-gl/glfw/v3.3/glfw"
	"github.com/qgpu/qgpu/backends/opengl/internal/glrt"
)

var (
	mu    sync.Mutex // serializes GLFW global state: Init, window creation, Terminate
	users int        // live contexts; GLFW is terminated when it drops to 0
)

// New makes a hidden 1x1 GLFW window with an OpenGL 4.3 core
// (forward-compatible) context and returns the glrt.Context that owns it.
// Errors wrap glrt.ErrUnavailable when no context can be made (no DISPLAY,
// no X server, GL below 4.3).
func New(opts glrt.Options) (*glrt.Context, error) {
	return glrt.NewWithPlatform(opts, open)
}

type platform struct {
	w *glfw.Window
}

func (p *platform) Name() string { return "glfw" }

func (p *platform) ProcAddr(name string) unsafe.Pointer { return glfw.GetProcAddress(name) }

func (p *platform) Destroy() (err error) {
	mu.Lock()
	defer mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("glfwctx: GLFW panic while destroying the window: %v", r)
		}
	}()
	glfw.DetachCurrentContext()
	p.w.Destroy()
	users--
	if users == 0 {
		glfw.Terminate()
	}
	return nil
}

// open runs on the owner thread.
func open(opts glrt.Options) (pl glrt.Platform, err error) {
	if os.Getenv("DISPLAY") == "" {
		return nil, fmt.Errorf("%w: glfwctx: DISPLAY is not set (GLFW needs an X server; try xvfb-run -a)", glrt.ErrUnavailable)
	}
	mu.Lock()
	defer mu.Unlock()
	initialized := false
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: glfwctx: GLFW panicked: %v", glrt.ErrUnavailable, r)
		}
		if err != nil && initialized && users == 0 {
			func() {
				defer func() { _ = recover() }()
				glfw.Terminate()
			}()
		}
	}()
	if users == 0 {
		if err := glfw.Init(); err != nil {
			return nil, fmt.Errorf("%w: glfwctx: glfw.Init: %v", glrt.ErrUnavailable, err)
		}
		initialized = true
	}
	glfw.DefaultWindowHints()
	glfw.WindowHint(glfw.Visible, glfw.False)
	glfw.WindowHint(glfw.ClientAPI, glfw.OpenGLAPI)
	glfw.WindowHint(glfw.ContextVersionMajor, 4)
	glfw.WindowHint(glfw.ContextVersionMinor, 3)
	glfw.WindowHint(glfw.OpenGLProfile, glfw.OpenGLCoreProfile)
	glfw.WindowHint(glfw.OpenGLForwardCompatible, glfw.True)
	debug := glfw.False
	if opts.Debug {
		debug = glfw.True
	}
	glfw.WindowHint(glfw.OpenGLDebugContext, debug)
	w, err := glfw.CreateWindow(1, 1, "qgpu", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: glfwctx: CreateWindow(OpenGL 4.3 core): %v", glrt.ErrUnavailable, err)
	}
	if w == nil {
		return nil, errors.Join(glrt.ErrUnavailable, errors.New("glfwctx: CreateWindow returned no window"))
	}
	w.MakeContextCurrent()
	users++
	return &platform{w: w}, nil
}
