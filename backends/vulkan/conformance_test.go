package vulkan

import (
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/tests"
)

// TestConformance runs the cross-backend suite against the device that
// VK_ICD_FILENAMES selects (skipped without Vulkan unless
// QGPU_REQUIRE=vulkan).
func TestConformance(t *testing.T) {
	tests.Run(t, engine.Config{Backend: "vulkan"})
}
