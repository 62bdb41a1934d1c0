package vulkan

import (
	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/backends/vulkan/internal/vkrt"
)

// variant returns the SPIR-V name to run for a planned launch: the
// kernel, or the variant of it chosen for this device.
func (b *Backend) variant(l *gpu.Launch) string {
	switch l.Kernel {
	case "quantize":
		if b.exactDiv && l.Params[9] == 0 { // ONNX quantize divides
			return "quantize_exactdiv"
		}
	case "gemm":
		return b.gemm
	}
	return l.Kernel
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
	{"gemm", func(*vkrt.Caps) bool { return true }},
}

// gemmCanRun reports whether the device has the features variant name
// needs (for forcing it in tests).
var gemmCanRun = map[string]func(c *vkrt.Caps) bool{
	"gemm_dot": func(c *vkrt.Caps) bool { return c.ShaderIntegerDotProduct },
	"gemm":     func(*vkrt.Caps) bool { return true },
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
