package opengl

import (
	"testing"

	"github.com/qgpu/qgpu/model/modeltest"
)

// TestModelIdentity: every test model of package model gives the CPU
// reference kernels' bytes on OpenGL (skipped without it unless
// QGPU_REQUIRE=opengl).
func TestModelIdentity(t *testing.T) {
	modeltest.Identity(t, target.Config)
}
