package model_test

import (
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/model/modeltest"
)

// TestIdentityCPUFast: the CPU backend's fast kernels (the best ISA here)
// give the reference kernels' bytes on every test model. The per-ISA and
// GPU runs are in the backends' test packages (modeltest.Identity).
func TestIdentityCPUFast(t *testing.T) {
	modeltest.Identity(t, engine.Config{Backend: "cpu", Threads: 3})
}
