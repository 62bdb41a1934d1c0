// Package vulkan is qgpu's Vulkan compute backend, registered as "vulkan".
//
// It is the Vulkan runtime (gpu.Runtime) under the backend that package
// backends/internal/gpu implements for every GPU API: the same plans,
// checks, kernel variants, buffer pool and self-tests as the OpenGL
// backend. It runs the committed SPIR-V of package shaders on the runtime
// of package backends/vulkan/internal/vkrt (qgpu's own cgo binding; no
// vulkan-go). All launches of one Backend.Run are recorded into one
// command buffer and submitted once; each launch's parameter block
// (shaders.Params) is its push constants.
//
// At open the backend runs the self-tests of package backends/internal/gpu
// on the device: a quantize dispatch on a few thousand near-tie and random
// (x, scale) pairs compared with qtensor.Quantize (when the device's float
// division is not correctly rounded, quantize switches to the variant
// "quantize_exactdiv", an integer-only emulation of IEEE float32
// division), and a probe of whether float denormals are flushed (reported
// as Caps["denormals"]). The GEMM variant is chosen from the device's
// features (variants.go); Caps lists the kernels in use.
//
// The package is imported for its side effect:
//
//	import _ "github.com/qgpu/qgpu/backends/vulkan"
//
// Built without cgo it registers a backend that reports ErrUnavailable.
// Select a driver with VK_ICD_FILENAMES (lavapipe, SwiftShader in CI).
package vulkan
