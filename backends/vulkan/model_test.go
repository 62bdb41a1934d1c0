package vulkan

import (
	"testing"

	"github.com/qgpu/qgpu/model/modeltest"
)

// TestModelIdentity: every test model of package model gives the CPU
// reference kernels' bytes on the device VK_ICD_FILENAMES selects
// (skipped without Vulkan unless QGPU_REQUIRE=vulkan).
func TestModelIdentity(t *testing.T) {
	modeltest.Identity(t, target.Config)
}
