//go:build !glfw || !cgo

package glfwctx

import (
	"errors"
	"testing"

	"github.com/qgpu/qgpu/backends/opengl/internal/glrt"
)

func TestStubUnavailable(t *testing.T) {
	c, err := New(glrt.Options{})
	if c != nil || !errors.Is(err, glrt.ErrUnavailable) {
		t.Fatalf("New = %v, %v; want ErrUnavailable", c, err)
	}
}
