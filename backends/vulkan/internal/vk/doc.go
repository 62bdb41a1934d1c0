// Package vk is qgpu's own thin Vulkan binding, limited to the entry points
// that compute work needs (about 50 of them).
//
// Why not github.com/vulkan-go/vulkan or its forks: their generated code frees
// the C copies of struct slices from finalizers that can run while the Vulkan
// call is still reading them (vkCreateComputePipelines segfaulted under GC
// pressure) and stores Go pointers in C memory, which the cgo rules forbid
// (the program stops under GOEXPERIMENT=cgocheck2). See RATIONALE.md.
//
// Design:
//
//   - The package declares the Vulkan types, constants and function pointer
//     types it uses itself (vulkan_decl.h: Vulkan 1.3 layouts, checked
//     against the system's <vulkan/vulkan.h> by a test where that is
//     installed), so building needs only a C compiler, no Vulkan headers;
//     the loader libvulkan.so.1 is opened at run time with dlopen (never
//     linked), so a machine without it gets an error value from [Init], not
//     a link failure or a crash.
//   - vkGetInstanceProcAddr is found with dlsym; instance-level functions are
//     resolved with it into a C table per instance, device-level functions
//     with vkGetDeviceProcAddr into a C table per device. Go calls small C
//     trampolines that call through those tables.
//   - Every create-info struct and array is built in C (on the C stack or in
//     C memory allocated and freed inside the same C call) from scalar Go
//     arguments or from Go slices of plain numbers passed as call arguments.
//     No Go pointer is ever stored in C memory and no finalizers are used, so
//     the package runs clean under GOEXPERIMENT=cgocheck2.
//   - Dispatchable handles (VkInstance, VkDevice, VkQueue, VkCommandBuffer)
//     are driver pointers kept in Go as uintptr; non-dispatchable handles
//     (VkBuffer, VkDeviceMemory, ...) are uint64.
//   - Every VkResult other than VK_SUCCESS is returned as an error wrapping a
//     [Result], so errors.Is(err, vk.ErrorOutOfDeviceMemory) works.
//
// Without cgo (CGO_ENABLED=0) the package still compiles; every function
// returns [ErrNoCgo].
//
// The package is internal: its API follows Vulkan closely and is meant for
// package vkrt only. Callers are responsible for Vulkan's external
// synchronization rules (vkrt serializes queue access).
package vk
