package vulkan

import (
	"testing"

	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
	"github.com/qgpu/qgpu/shaders"
	"github.com/qgpu/qgpu/tests"
)

// Test-only registrations forcing the tiled and the 8-bit-storage GEMM
// variants on every GEMM shape.
const (
	gemmTiledName = "vulkan-gemmtiled-test"
	gemmInt8Name  = "vulkan-gemmint8-test"
)

func init() {
	backend.Register(gemmTiledName, 0, func(o engine.Options) (backend.Backend, error) {
		return open(o, config{forceGemm: "gemm_tiled"})
	})
	backend.Register(gemmInt8Name, 0, func(o engine.Options) (backend.Backend, error) {
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

// TestGemmVariantChoice checks the kernel and grid chosen per GEMM shape:
// the tiled variant (chosen on every device without accelerated dot
// products) for M and N of 32 or more, one group per 64x64 tile of each
// batch entry; the baseline, on the planner's grid, below that; a forced
// variant on every shape.
func TestGemmVariantChoice(t *testing.T) {
	b := openTest(t, config{skipSelfTest: true})
	if b.gemm == "gemm_dot" {
		t.Skip("device with accelerated dot products: gemm_dot chosen")
	}
	if b.gemm != "gemm_tiled" {
		t.Fatalf("kernel_gemm %q, want gemm_tiled", b.gemm)
	}
	launch := func(batch, m, k, n int, yt qtensor.DType) *gpu.Launch {
		p := &shaders.GemmParams{Total: uint32(batch * m * n), M: uint32(m), K: uint32(k), N: uint32(n)}
		p.YType = uint32(yt)
		return &gpu.Launch{Params: p, Groups: [3]uint32{7, 1, 1}}
	}
	for _, c := range []struct {
		batch, m, k, n int
		kernel         string
		grid           [3]uint32
	}{
		{1, 512, 512, 512, "gemm_tiled", [3]uint32{64, 1, 1}},      // 8 x 8 tiles
		{3, 130, 9, 65, "gemm_tiled", [3]uint32{18, 1, 1}},         // 3 batches x 3 x 2
		{1, 32, 5, 32, "gemm_tiled", [3]uint32{1, 1, 1}},           // one partial tile
		{1, 31, 512, 512, "gemm", [3]uint32{7, 1, 1}},              // M < 32: baseline, planner's grid
		{1, 512, 512, 16, "gemm", [3]uint32{7, 1, 1}},              // N < 32
		{1, 16384, 4, 16448, "gemm_tiled", [3]uint32{65535, 2, 1}}, // 256 x 257 = 65792 tiles
	} {
		k, g := b.variant(launch(c.batch, c.m, c.k, c.n, qtensor.Int32))
		if k != c.kernel || g != c.grid {
			t.Errorf("%dx(%dx%dx%d): %s %v, want %s %v", c.batch, c.m, c.k, c.n, k, g, c.kernel, c.grid)
		}
	}
	forced := openTest(t, config{skipSelfTest: true, forceGemm: "gemm_tiled"})
	if k, g := forced.variant(launch(2, 1, 3, 1, qtensor.Uint8)); k != "gemm_tiled" || g != [3]uint32{2, 1, 1} {
		t.Errorf("forced, 2x(1x3x1): %s %v, want gemm_tiled [2 1 1]", k, g)
	}
}
