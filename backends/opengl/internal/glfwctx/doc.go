// Package glfwctx makes a glrt.Context whose OpenGL 4.3 core context belongs
// to a hidden GLFW window (github.com/go-gl/glfw/v3.3), for machines where a
// window system is the way to reach the driver.
//
// The GLFW code is compiled only with the build tag glfw (and cgo): go-gl/glfw
// compiles GLFW's C sources against the X11 headers and links libGL and the X
// libraries. Without the tag, New returns an error wrapping
// glrt.ErrUnavailable and the package needs no headers at all.
//
//	go test -tags glfw ./backends/opengl/...            # needs X11 dev headers
//	xvfb-run -a go test -tags glfw ./backends/opengl/... # headless machines
//
// Threading: GLFW documents that glfwInit, glfwCreateWindow and
// glfwTerminate must run on the process's main thread. This package runs them
// on the context's owner thread (a goroutine locked to its OS thread), which is
// not the main thread; on Linux/X11 that works in practice (and is what this
// package is tested with), on macOS it does not. GLFW is initialized with the
// first live context and terminated with the last; contexts are meant to be
// made one at a time (New and Close are serialized by a mutex).
//
// glfw.Init returns no error when no X server can be reached (it only logs)
// and the next GLFW call panics, so New checks DISPLAY first and turns any
// GLFW panic into an error.
package glfwctx
