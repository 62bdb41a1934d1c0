package tests

import (
	"testing"

	"github.com/qgpu/qgpu/engine"
)

// TestStressCPU releases tensors while the CPU backend's fast kernels run
// ops that read them (see Stress); the GPU backends' packages run the same.
func TestStressCPU(t *testing.T) {
	RunStress(t, engine.Config{Backend: "cpu"}, StressOptions{Workers: 16, Iterations: 8, Seed: 1})
}
