package opengl

import (
	"testing"

	"github.com/qgpu/qgpu/tests"
)

// TestStress releases tensors while batches that read them run, from 16
// goroutines, on the context path QGPU_GL_CONTEXT names (see tests.Stress).
func TestStress(t *testing.T) {
	tests.RunStress(t, target.Config, tests.StressOptions{Workers: 16, Iterations: 3, Seed: 1})
}
