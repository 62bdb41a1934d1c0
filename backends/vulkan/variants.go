package vulkan

import (
	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/backends/vulkan/internal/vkrt"
)

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
	// others run the baseline, as package gpu chooses per launch). Meant for hardware GPUs, but
	// it was also the fastest on both software drivers: 512^3 u8 x s8 in
	// 0.35-0.5x the baseline's GPU time on lavapipe, 0.18-0.26x on
	// SwiftShader (BenchmarkGemmVariants, same process).
	{gpu.GemmTiled, func(*vkrt.Caps) bool { return true }},
	// gemm_int8 (8-bit storage loads; lavapipe only here) is never chosen
	// by default: 0.6-0.9x the baseline's time on lavapipe but 1.8x the
	// tiled variant's. Force it with forceGemm.
	{"gemm", func(*vkrt.Caps) bool { return true }},
}

// gemmCanRun reports whether the device has the features variant name
// needs (for forcing it in tests).
var gemmCanRun = map[string]func(c *vkrt.Caps) bool{
	"gemm_dot":    func(c *vkrt.Caps) bool { return c.ShaderIntegerDotProduct },
	gpu.GemmTiled: func(*vkrt.Caps) bool { return true },
	"gemm_int8":   func(c *vkrt.Caps) bool { return c.ShaderInt8 && c.StorageBuffer8BitAccess },
	"gemm":        func(*vkrt.Caps) bool { return true },
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

// nbitsDot reports whether MatMulNBits' int8-mode products on 4-bit
// weights run the packed dot product variant (nbits_dot): wherever the
// device has shaderIntegerDotProduct. Unlike the GEMM's, this variant
// needs no gathering (a word of 8 nibbles splits into two words of bytes)
// and was faster even where the dot products are emulated: 1x4096x4096
// block 32, device time, 28.3 -> 18.2 ms on lavapipe and 179 -> 150 ms
// on SwiftShader (2026-12-08, this VM).
func nbitsDot(c *vkrt.Caps) bool { return c.ShaderIntegerDotProduct }
