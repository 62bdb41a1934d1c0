// Package vkrt is a small Vulkan compute runtime on qgpu's own binding
// (package vk): one device with one compute queue, storage buffers, compute
// pipelines and sequences of dispatches recorded into one submission.
//
// Usage:
//
//	d, err := vkrt.Open(vkrt.Options{})            // best device, all its optional features
//	defer d.Close()
//	a, _ := d.NewBuffer(4 * n)
//	_ = a.Write(0, data)
//	code, _ := vkrt.SPIRV(embeddedSpv)              // []byte -> []uint32
//	p, _ := d.NewPipeline(code, 3, 8)               // 3 storage buffers, 8 bytes of push constants
//	s := d.NewSequence()
//	s.Timestamps(true)
//	_ = s.Dispatch(p, []vkrt.Binding{{Buf: a}, {Buf: b}, {Buf: c}}, push, groups, 1, 1)
//	_ = s.Dispatch(p2, ...)                         // a full barrier separates dispatches
//	t, err := s.Submit(ctx)                          // one vkQueueSubmit, waits on a fence
//	_ = c.Read(0, out)
//
// Memory: buffers are host-visible and coherent, persistently mapped, when
// the device's preferred device-local memory type is (software drivers,
// integrated GPUs, ReBAR); otherwise they are device-local and Read/Write go
// through a staging buffer and a copy submission.
//
// Synchronization: a full compute/transfer memory barrier is recorded
// between every two commands of a sequence, and a barrier to the host stage
// at its end. Queue submission is serialized with a mutex; a Device, its
// Buffers and Pipelines are safe for concurrent use by many goroutines; a
// Sequence is not (record it from one goroutine, do not modify it while it
// is submitted). Buffer.Read/Write on a buffer that a running submission
// uses race with the GPU: order them yourself (Submit waits for completion).
//
// Cancellation: Submit polls its fence in slices of a few milliseconds and
// returns ctx.Err() early when the context ends. The GPU work cannot be
// recalled: a goroutine keeps waiting on the fence and only then recycles the
// command buffer, descriptor sets and query pool. A Buffer freed while a
// submission that uses it is still running is destroyed when that
// submission completes, not before; Device.Close waits for all submissions.
//
// Shader safety: NewPipeline scans the SPIR-V OpCapability list and refuses
// any capability that needs a device feature that is not enabled (or that
// this package does not know), because some drivers (SwiftShader) crash the
// process with SIGILL instead of returning an error.
//
// Tests run on lavapipe and SwiftShader; select the driver with
// VK_ICD_FILENAMES. Without a loader or device the tests skip, unless
// QGPU_REQUIRE=vulkan:
//
//	VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json go test ./backends/vulkan/...
//	VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json go test ./backends/vulkan/...
package vkrt

//go:generate glslc -O --target-env=vulkan1.1 -o testdata/add.spv testdata/add.comp
//go:generate glslc -O --target-env=vulkan1.1 -o testdata/int8.spv testdata/int8.comp
