package vulkan

import (
	"fmt"

	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/backends/vulkan/internal/vkrt"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/shaders"
)

// variant returns the SPIR-V name to run for a planned launch (the kernel,
// or the variant of it chosen for this device) and its grid of work
// groups (the planner's, or the variant's own).
func (b *Backend) variant(l *gpu.Launch) (string, [3]uint32) {
	switch p := l.Params.(type) {
	case *shaders.QuantizeParams:
		if b.exactDiv && p.Mode == shaders.QuantizeDivide {
			return "quantize_exactdiv", l.Groups
		}
	case *shaders.GemmParams:
		if b.gemm == "gemm_tiled" {
			if g, ok := gpu.TiledGemmGroups(l); ok && (b.gemmForced || b.worthTiling(p)) {
				return "gemm_tiled", g
			}
			return "gemm", l.Groups
		}
		return b.gemm, l.Groups
	}
	return l.Kernel(), l.Groups
}

// worthTiling reports whether a GEMM is large enough for 64x64 tiles: with
// M or N below 32 most of every tile would be padding (GEMV-like shapes
// run faster on the baseline's one invocation per output).
// On a loop-limited driver (lavapipe) the baseline also runs the GEMMs
// whose tiled form would exceed the loop budget.
func (b *Backend) worthTiling(p *shaders.GemmParams) bool {
	if p.M < 32 || p.N < 32 {
		return false
	}
	return !gpu.LoopLimited(b.caps.Name) || gpu.TiledGemmLoops(p) <= gpu.LoopBudget
}

// variantLoopBudget refuses, on a loop-limited driver, a GEMM whose tiled
// variant, forced (tests), needs more loop iterations per invocation than
// the driver allows (gpu.CheckLoopBudget checks the baseline kernels;
// unforced, such GEMMs run the baseline).
func (b *Backend) variantLoopBudget(op backend.Op) error {
	g, ok := op.(*backend.Gemm)
	if !ok || b.gemm != "gemm_tiled" || !b.gemmForced || !gpu.LoopLimited(b.caps.Name) {
		return nil
	}
	if n := gpu.LoopIterationsTiledGemm(g); n > gpu.LoopBudget {
		return fmt.Errorf("%w: Gemm (tiled variant) needs up to %d loop iterations per invocation; %s stops every loop after %d (Mesa gallivm's loop limiter)",
			backend.ErrUnsupported, n, b.caps.Name, gpu.LoopBudget)
	}
	return nil
}

// gemmVariants lists the GEMM kernels in order of preference, with the
// device features each needs (a variant is never run on a device lacking
// them: vkrt would refuse the pipeline anyway).
var gemmVariants = []struct {
	name string
	ok   func(c *vkrt.Caps) bool
}{
	// Packed int8 dot products, where the device says they are
	// accelerated. Where they are only emulated (lavapipe, SwiftShader)
	// the variant measured 10-70% slower than the baseline (gathering B's
	// column into a word and the zero-point sums cost more than they save).
	{"gemm_dot", func(c *vkrt.Caps) bool {
		return c.ShaderIntegerDotProduct && c.IntegerDotProduct4x8BitPackedSignedAccelerated && c.IntegerDotProduct4x8BitPackedMixedAccelerated
	}},
	// Shared-memory tiling (for GEMMs with M and N of 32 or more: the
	// others run the baseline, see variant). Meant for hardware GPUs, but
	// it was also the fastest on both software drivers: 512^3 u8 x s8 in
	// 0.35-0.5x the baseline's GPU time on lavapipe, 0.18-0.26x on
	// SwiftShader (BenchmarkGemmVariants, same process).
	{"gemm_tiled", func(*vkrt.Caps) bool { return true }},
	// gemm_int8 (8-bit storage loads; lavapipe only here) is never chosen
	// by default: 0.6-0.9x the baseline's time on lavapipe but 1.8x the
	// tiled variant's. Force it with forceGemm.
	{"gemm", func(*vkrt.Caps) bool { return true }},
}

// gemmCanRun reports whether the device has the features variant name
// needs (for forcing it in tests).
var gemmCanRun = map[string]func(c *vkrt.Caps) bool{
	"gemm_dot":   func(c *vkrt.Caps) bool { return c.ShaderIntegerDotProduct },
	"gemm_tiled": func(*vkrt.Caps) bool { return true },
	"gemm_int8":  func(c *vkrt.Caps) bool { return c.ShaderInt8 && c.StorageBuffer8BitAccess },
	"gemm":       func(*vkrt.Caps) bool { return true },
}

// chooseGemm returns the GEMM kernel for the device: force if the device
// can run it (else "", and open fails), otherwise the first of gemmVariants
// the device's features select.
func chooseGemm(c *vkrt.Caps, force string) string {
	if force != "" {
		if ok := gemmCanRun[force]; ok != nil && ok(c) {
			return force
		}
		return ""
	}
	for _, v := range gemmVariants {
		if v.ok(c) {
			return v.name
		}
	}
	return "gemm"
}
