package tests

import (
	"testing"

	"github.com/qgpu/qgpu/engine"
)

// TestCPU runs the full suite with the CPU backend as the target.
func TestCPU(t *testing.T) {
	Run(t, engine.Config{Backend: "cpu"})
}
