//go:build !cgo

package vk

// Stubs for builds without cgo: every function reports ErrNoCgo (or does
// nothing); no Instance or Device can exist in such a build.

// LoaderName is the library [Init] opens.
const LoaderName = "libvulkan.so.1"

// Init reports [ErrNoCgo].
func Init() error { return ErrNoCgo }

func load(name string) error { return ErrNoCgo }

// InstanceVersion is the highest instance API version the loader supports
// (vkEnumerateInstanceVersion; 1.0 if absent). Init must have succeeded.
func InstanceVersion() uint32 { return 0 }

// InstanceExtensions lists the instance extensions the loader offers.
func InstanceExtensions() ([]string, error) { return nil, ErrNoCgo }

// CreateInstance creates a VkInstance asking for apiVersion (use
// [InstanceVersion] capped at what you need) with the given extensions and
// layers.
func CreateInstance(app string, apiVersion uint32, extensions, layers []string) (*Instance, error) {
	return nil, ErrNoCgo
}

// Destroy destroys the instance. Safe to call on a nil or destroyed
// instance.
func (in *Instance) Destroy() {}

// PhysicalDevices enumerates the physical devices of the instance.
func (in *Instance) PhysicalDevices() ([]PhysicalDevice, error) { return nil, ErrNoCgo }

// Properties returns the device properties; chain selects the extension
// structures to query (see [Chain]; only those the device supports).
func (pd PhysicalDevice) Properties(chain Chain) Properties { return Properties{} }

// Features returns the optional features the device reports; chain selects
// the extension structures to query.
func (pd PhysicalDevice) Features(chain Chain) Features { return Features{} }

// QueueFamilies returns the queue family properties.
func (pd PhysicalDevice) QueueFamilies() []QueueFamily { return nil }

// MemoryProperties returns the memory types and heaps.
func (pd PhysicalDevice) MemoryProperties() MemoryProperties { return MemoryProperties{} }

// Extensions lists the device extensions.
func (pd PhysicalDevice) Extensions() ([]string, error) { return nil, ErrNoCgo }

// CreateDevice creates a logical device with one queue from queueFamily,
// the given extensions, and the features in f (only structures selected by
// chain are passed; the caller must only enable what the device reports).
func (pd PhysicalDevice) CreateDevice(queueFamily uint32, extensions []string, f Features, chain Chain) (*Device, error) {
	return nil, ErrNoCgo
}

// Destroy destroys the device (vkDestroyDevice). Safe on nil or twice.
func (d *Device) Destroy() {}

// Queue returns queue index of family (vkGetDeviceQueue).
func (d *Device) Queue(family, index uint32) Queue { return 0 }

// WaitIdle is vkDeviceWaitIdle.
func (d *Device) WaitIdle() error { return ErrNoCgo }

// CreateBuffer is vkCreateBuffer (exclusive sharing).
func (d *Device) CreateBuffer(size uint64, usage uint32) (Buffer, error) { return 0, ErrNoCgo }

// DestroyBuffer is vkDestroyBuffer.
func (d *Device) DestroyBuffer(b Buffer) {}

// BufferMemoryRequirements is vkGetBufferMemoryRequirements.
func (d *Device) BufferMemoryRequirements(b Buffer) MemoryRequirements { return MemoryRequirements{} }

// AllocateMemory is vkAllocateMemory.
func (d *Device) AllocateMemory(size uint64, typeIndex uint32) (DeviceMemory, error) {
	return 0, ErrNoCgo
}

// FreeMemory is vkFreeMemory.
func (d *Device) FreeMemory(m DeviceMemory) {}

// MapMemory maps size bytes at off (vkMapMemory) and returns them as a byte
// slice over driver memory. The slice is valid until UnmapMemory or
// FreeMemory; size must not be WholeSize.
func (d *Device) MapMemory(m DeviceMemory, off, size uint64) ([]byte, error) { return nil, ErrNoCgo }

// UnmapMemory is vkUnmapMemory.
func (d *Device) UnmapMemory(m DeviceMemory) {}

// BindBufferMemory is vkBindBufferMemory.
func (d *Device) BindBufferMemory(b Buffer, m DeviceMemory, off uint64) error { return ErrNoCgo }

// FlushMappedMemory is vkFlushMappedMemoryRanges for one range.
func (d *Device) FlushMappedMemory(m DeviceMemory, off, size uint64) error { return ErrNoCgo }

// InvalidateMappedMemory is vkInvalidateMappedMemoryRanges for one range.
func (d *Device) InvalidateMappedMemory(m DeviceMemory, off, size uint64) error { return ErrNoCgo }

// CreateShaderModule is vkCreateShaderModule; code is SPIR-V words (copied
// to C memory inside the call).
func (d *Device) CreateShaderModule(code []uint32) (ShaderModule, error) { return 0, ErrNoCgo }

// DestroyShaderModule is vkDestroyShaderModule.
func (d *Device) DestroyShaderModule(m ShaderModule) {}

// CreateStorageSetLayout creates a descriptor set layout with n storage
// buffers at bindings 0..n-1 for the compute stage.
func (d *Device) CreateStorageSetLayout(n int) (DescriptorSetLayout, error) { return 0, ErrNoCgo }

// DestroyDescriptorSetLayout is vkDestroyDescriptorSetLayout.
func (d *Device) DestroyDescriptorSetLayout(l DescriptorSetLayout) {}

// CreatePipelineLayout makes a layout with set 0 = setLayout (none if 0) and
// a compute push-constant range [0, pushBytes) (none if 0).
func (d *Device) CreatePipelineLayout(setLayout DescriptorSetLayout, pushBytes uint32) (PipelineLayout, error) {
	return 0, ErrNoCgo
}

// DestroyPipelineLayout is vkDestroyPipelineLayout.
func (d *Device) DestroyPipelineLayout(l PipelineLayout) {}

// CreateComputePipeline creates one compute pipeline. spec[i] is the value
// of specialization constant constant_id = i (4 bytes each).
func (d *Device) CreateComputePipeline(m ShaderModule, layout PipelineLayout, entry string, spec []uint32) (Pipeline, error) {
	return 0, ErrNoCgo
}

// DestroyPipeline is vkDestroyPipeline.
func (d *Device) DestroyPipeline(p Pipeline) {}

// CreateDescriptorPool makes a pool of maxSets sets holding up to nStorage
// storage-buffer descriptors in total.
func (d *Device) CreateDescriptorPool(maxSets, nStorage uint32, flags uint32) (DescriptorPool, error) {
	return 0, ErrNoCgo
}

// DestroyDescriptorPool is vkDestroyDescriptorPool.
func (d *Device) DestroyDescriptorPool(p DescriptorPool) {}

// ResetDescriptorPool is vkResetDescriptorPool (frees all its sets).
func (d *Device) ResetDescriptorPool(p DescriptorPool) error { return ErrNoCgo }

// AllocateDescriptorSet is vkAllocateDescriptorSets for one set.
func (d *Device) AllocateDescriptorSet(p DescriptorPool, l DescriptorSetLayout) (DescriptorSet, error) {
	return 0, ErrNoCgo
}

// UpdateStorageBuffers writes infos[i] to binding i of set
// (vkUpdateDescriptorSets).
func (d *Device) UpdateStorageBuffers(s DescriptorSet, infos []BufferInfo) {}

// AllocateStorageSet allocates a set and writes infos[i] to binding i, in
// one C call.
func (d *Device) AllocateStorageSet(p DescriptorPool, l DescriptorSetLayout, infos []BufferInfo) (DescriptorSet, error) {
	return 0, ErrNoCgo
}

// CreateCommandPool is vkCreateCommandPool.
func (d *Device) CreateCommandPool(family, flags uint32) (CommandPool, error) { return 0, ErrNoCgo }

// DestroyCommandPool is vkDestroyCommandPool.
func (d *Device) DestroyCommandPool(p CommandPool) {}

// ResetCommandPool is vkResetCommandPool.
func (d *Device) ResetCommandPool(p CommandPool) error { return ErrNoCgo }

// AllocateCommandBuffer allocates one primary command buffer.
func (d *Device) AllocateCommandBuffer(p CommandPool) (CommandBuffer, error) { return 0, ErrNoCgo }

// FreeCommandBuffer is vkFreeCommandBuffers for one buffer.
func (d *Device) FreeCommandBuffer(p CommandPool, cb CommandBuffer) {}

// BeginCommandBuffer begins recording with ONE_TIME_SUBMIT.
func (d *Device) BeginCommandBuffer(cb CommandBuffer) error { return ErrNoCgo }

// EndCommandBuffer is vkEndCommandBuffer.
func (d *Device) EndCommandBuffer(cb CommandBuffer) error { return ErrNoCgo }

// CmdBindPipeline binds a compute pipeline.
func (d *Device) CmdBindPipeline(cb CommandBuffer, p Pipeline) {}

// CmdBindDescriptorSet binds s as compute set 0.
func (d *Device) CmdBindDescriptorSet(cb CommandBuffer, l PipelineLayout, s DescriptorSet) {}

// CmdPushConstants pushes data at offset off for the compute stage.
func (d *Device) CmdPushConstants(cb CommandBuffer, l PipelineLayout, off uint32, data []byte) {}

// CmdDispatch is vkCmdDispatch.
func (d *Device) CmdDispatch(cb CommandBuffer, x, y, z uint32) {}

// CmdMemoryBarrier records a pipeline barrier with one global memory barrier.
func (d *Device) CmdMemoryBarrier(cb CommandBuffer, srcStage, dstStage, srcAccess, dstAccess uint32) {
}

// CmdBufferBarrier records a pipeline barrier with one buffer memory barrier.
func (d *Device) CmdBufferBarrier(cb CommandBuffer, srcStage, dstStage, srcAccess, dstAccess uint32, b Buffer, off, size uint64) {
}

// CmdCopyBuffer copies size bytes (one region).
func (d *Device) CmdCopyBuffer(cb CommandBuffer, src, dst Buffer, srcOff, dstOff, size uint64) {}

// CmdFillBuffer is vkCmdFillBuffer (off and size multiples of 4, or size
// WholeSize).
func (d *Device) CmdFillBuffer(cb CommandBuffer, b Buffer, off, size uint64, data uint32) {}

// CmdRecordDispatch records, in one C call: an optional compute->compute
// (and transfer->compute) memory barrier, an optional begin timestamp at
// query q, bind pipeline, bind set 0 (if s != 0), push constants (if any),
// the dispatch, and an optional end timestamp at q+1 (timestamps when qp !=
// 0).
func (d *Device) CmdRecordDispatch(cb CommandBuffer, barrier bool, p Pipeline, l PipelineLayout, s DescriptorSet, push []byte, x, y, z uint32, qp QueryPool, q uint32) {
}

// CreateTimestampPool creates a timestamp query pool of count queries.
func (d *Device) CreateTimestampPool(count uint32) (QueryPool, error) { return 0, ErrNoCgo }

// DestroyQueryPool is vkDestroyQueryPool.
func (d *Device) DestroyQueryPool(p QueryPool) {}

// CmdResetQueryPool is vkCmdResetQueryPool.
func (d *Device) CmdResetQueryPool(cb CommandBuffer, p QueryPool, first, count uint32) {}

// CmdWriteTimestamp is vkCmdWriteTimestamp.
func (d *Device) CmdWriteTimestamp(cb CommandBuffer, stage uint32, p QueryPool, q uint32) {}

// Timestamps reads len(out) 64-bit timestamps starting at query first,
// waiting for them (vkGetQueryPoolResults with WAIT).
func (d *Device) Timestamps(p QueryPool, first uint32, out []uint64) error { return ErrNoCgo }

// CreateFence is vkCreateFence.
func (d *Device) CreateFence(signaled bool) (Fence, error) { return 0, ErrNoCgo }

// DestroyFence is vkDestroyFence.
func (d *Device) DestroyFence(f Fence) {}

// WaitFence waits up to timeoutNs for f. It returns (true, nil) when
// signaled, (false, nil) on timeout, or an error (e.g. device lost).
func (d *Device) WaitFence(f Fence, timeoutNs uint64) (bool, error) { return false, ErrNoCgo }

// FenceSignaled is vkGetFenceStatus: (true, nil) signaled, (false, nil) not
// ready, or an error.
func (d *Device) FenceSignaled(f Fence) (bool, error) { return false, ErrNoCgo }

// ResetFence is vkResetFences for one fence.
func (d *Device) ResetFence(f Fence) error { return ErrNoCgo }

// QueueSubmit submits one command buffer (none if cb is 0) signalling fence
// (none if 0). The caller serializes access to q.
func (d *Device) QueueSubmit(q Queue, cb CommandBuffer, f Fence) error { return ErrNoCgo }

// QueueWaitIdle is vkQueueWaitIdle.
func (d *Device) QueueWaitIdle(q Queue) error { return ErrNoCgo }
