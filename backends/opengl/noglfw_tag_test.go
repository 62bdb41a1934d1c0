//go:build !glfw || !cgo

package opengl

// glfwBuilt: the GLFW context path is compiled in.
const glfwBuilt = false
