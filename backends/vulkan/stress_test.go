package vulkan

import (
	"testing"

	"github.com/qgpu/qgpu/tests"
)

// TestStress releases tensors while batches that read them run, from 16
// goroutines, on the device VK_ICD_FILENAMES selects (see tests.Stress):
// a buffer must not go back to the pool while the GPU may still use it.
func TestStress(t *testing.T) {
	tests.RunStress(t, target.Config, tests.StressOptions{Workers: 16, Iterations: 3, Seed: 1})
}
