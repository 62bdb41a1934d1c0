// Package glrt is the OpenGL 4.3 compute runtime the OpenGL backend is built on.
//
// It owns a GL context on one goroutine locked to one OS thread (a GL context is
// current on exactly one thread; a GL call from any other thread is a silent
// no-op), and offers compute on top of it: GLSL compute programs cached by
// source, shader storage buffers, batches of dispatches submitted in one round
// trip to the owner thread, automatic glMemoryBarrier insertion between
// dependent dispatches, GPU timing with GL_TIMESTAMP queries and a capability
// probe.
//
// # Contexts
//
//   - [NewEGL] makes a headless context with EGL (surfaceless Mesa platform, then
//     EGL_EXT_platform_device, then EGL_DEFAULT_DISPLAY). libEGL.so.1 is opened
//     with dlopen at run time, so a machine without EGL gets an error value
//     wrapping [ErrUnavailable], never a link failure.
//   - [NewWithPlatform] runs any other context creator on the owner thread; the
//     glfwctx package (build tag glfw) uses it for a hidden GLFW window.
//
// GL entry points are resolved per context through the platform's
// GetProcAddress into a private function table, and called through small C
// trampolines. The package does not import github.com/go-gl/gl: without its egl
// build tag, go-gl/gl includes <GL/glx.h> (which needs the X11 headers) and links
// libGL (which pulls libGLX and libX11), even when InitWithProcAddrFunc is used.
// This package needs no build tag, no EGL, GL or X11 headers and no link-time
// GL library: only cgo and libc (dlopen).
//
// # Threading
//
// Every method of [Context], [Buffer] and [Program] is safe for concurrent use;
// each one runs as one function on the owner thread. [Context.Do] runs an
// arbitrary function there (for example go-gl/gl calls after
// gl.InitWithProcAddrFunc(ctx.ProcAddr)). A function run by Do must not call
// methods of the same Context: that would wait for itself forever (on Linux
// the call is detected by thread id and returns an error instead).
//
// # Memory ordering
//
// Shader writes to storage buffers are incoherent in the GL memory model: a
// later dispatch, glGetBufferSubData or glCopyBufferSubData is only guaranteed
// to see them after glMemoryBarrier with the matching bit. The runtime tracks,
// per buffer, the shader reads and writes issued since the last barrier and
// inserts the barrier (with the bits of the consumer) exactly where a later
// command touches a buffer written before, or a dispatch writes a buffer that
// an earlier unbarriered dispatch reads. Bindings marked ReadOnly let
// independent dispatches run without barriers. llvmpipe is coherent and cannot
// catch a missing barrier, so the tracker is unit-tested on its own.
//
// # Build
//
// Files that call C carry //go:build cgo; with CGO_ENABLED=0 every constructor
// returns an error wrapping [ErrUnavailable].
package glrt
