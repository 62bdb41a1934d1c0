//go:build !glfw || !cgo

package glfwctx

import (
	"fmt"

	"github.com/qgpu/qgpu/backends/opengl/internal/glrt"
)

// New reports that the GLFW context is not compiled in: build with
// -tags glfw (and cgo) to get it.
func New(opts glrt.Options) (*glrt.Context, error) {
	return nil, fmt.Errorf("%w: glfwctx: built without the glfw build tag or without cgo", glrt.ErrUnavailable)
}
