package vulkan

import (
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/tests"
)

// Test-only registrations forcing the tiled and the 8-bit-storage GEMM
// variants on every GEMM shape.
const (
	gemmTiledName = "vulkan-gemmtiled-test"
	gemmInt8Name  = "vulkan-gemmint8-test"
)

func init() {
	engine.Register(gemmTiledName, 0, func(o engine.Options) (engine.Backend, error) {
		return open(o, config{forceGemm: "gemm_tiled"})
	})
	engine.Register(gemmInt8Name, 0, func(o engine.Options) (engine.Backend, error) {
		return open(o, config{forceGemm: "gemm_int8"})
	})
}

func gemmCases(op, name string) bool { return op == "Gemm" || op == "Chain" }

// TestConformanceGemmTiled runs the GEMM and chain cases through the
// shared-memory tiled variant (every device can run it).
func TestConformanceGemmTiled(t *testing.T) {
	tests.RunOptions(t, engine.Config{Backend: gemmTiledName}, tests.Options{
		Require: tests.Required("vulkan"),
		Match:   gemmCases,
	})
}

// TestConformanceGemmInt8 runs the GEMM and chain cases through the
// 8-bit-storage variant where the device has the features.
func TestConformanceGemmInt8(t *testing.T) {
	b := openTest(t, config{skipSelfTest: true})
	if !gemmCanRun["gemm_int8"](&b.caps) {
		t.Skip("no shaderInt8 and storageBuffer8BitAccess")
	}
	tests.RunOptions(t, engine.Config{Backend: gemmInt8Name}, tests.Options{
		Require: tests.Required("vulkan"),
		Match:   gemmCases,
	})
}
