// Package opengl is qgpu's OpenGL 4.3 compute backend, registered as
// "opengl".
//
// It is the OpenGL runtime (gpu.Runtime) under the backend that package
// backends/internal/gpu implements for every GPU API: the same plans,
// checks, kernel variants, buffer pool and self-tests as the Vulkan
// backend. It compiles the GLSL of package shaders
// (shaders.Source(name, shaders.OpenGL)) with the driver at start-up, on
// the runtime of package backends/opengl/internal/glrt (qgpu's own thin GL
// binding; no go-gl/gl). All launches of one Backend.Run, with the upload
// of their auxiliary words, go to the GL thread as one glrt.Batch (one
// submission); each launch's parameter block (shaders.Params) is the
// std140 uniform block at uniform binding 0, and glrt inserts the memory
// barriers the bindings need.
//
// # Contexts
//
// backend.Options.Device picks how the GL context is made:
//
//   - "" or "egl": headless EGL (surfaceless Mesa platform, then
//     EGL_EXT_platform_device, then the default display); no X server.
//     "egl:surfaceless", "egl:device" and "egl:default" try only that one.
//   - "glfw": a hidden GLFW window (needs an X server, e.g. xvfb-run -a);
//     only in builds with -tags glfw, otherwise ErrUnavailable.
//
// Every reason the backend cannot run (no cgo, no libEGL, no display, GL
// below 4.3, a device limit below what the kernels need, inexact float
// division without the exact-division kernel) is an error wrapping
// backend.ErrUnavailable.
//
// # Device kind
//
// Device().Kind is "software" for llvmpipe, softpipe and swrast (auto
// selection skips those), and "discrete" for anything else: OpenGL has no
// query that tells an integrated GPU from a discrete one, so an integrated
// GPU is reported as "discrete" too (Caps["kind_source"] says so).
//
// # Self-tests at open
//
// Those of package backends/internal/gpu: a quantize dispatch on near-tie
// and random (x, scale) pairs is compared with qtensor.Quantize (and its
// quotients with Go's float32 division). When the driver's float division
// is not correctly rounded the backend switches quantize to the
// "quantize_exactdiv" kernel variant (integer-only IEEE division) and
// checks that one, and fails to open otherwise: a wrong quantize is worse
// than no backend. A dequantize probe with a denormal product measures
// whether the driver flushes float denormals. Caps["selftest_division"],
// Caps["kernel_quantize_division"] and Caps["denormals"] report the
// outcomes.
//
// # Limits
//
// Tensors bound to a kernel must fit GL_MAX_SHADER_STORAGE_BLOCK_SIZE (128 MiB
// on llvmpipe); larger ops are ErrUnsupported. On llvmpipe every loop of a
// shader invocation stops silently after 65535 iterations in total (Mesa
// gallivm's loop limiter), so ops whose kernels may need more
// (gpu.LoopIterations: huge pooling or convolution windows) are ErrUnsupported
// there (Caps["loop_budget"]). A context passed to Run is checked before the
// submission; a submitted batch runs to completion.
//
// The package is imported for its side effect:
//
//	import _ "github.com/qgpu/qgpu/backends/opengl"
package opengl
