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
// device features each needs.
var gemmVariants = []struct {
	name string
	ok   func(c *vkrt.Caps) bool
}{
	{"gemm", func(*vkrt.Caps) bool { return true }},
}

// chooseGemm returns the GEMM kernel for the device: force if the device
// can run it (else "" so open fails), otherwise the first usable of
// gemmVariants.
func chooseGemm(c *vkrt.Caps, force string) string {
	for _, v := range gemmVariants {
		if force != "" && v.name != force {
			continue
		}
		if v.ok(c) {
			return v.name
		}
	}
	if force != "" {
		return ""
	}
	return "gemm"
}
