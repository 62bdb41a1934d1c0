package vk

// Handles. Dispatchable handles are driver pointers held as uintptr;
// non-dispatchable handles are 64-bit values. The zero value is
// VK_NULL_HANDLE.
type (
	// Buffer is a VkBuffer.
	Buffer uint64
	// DeviceMemory is a VkDeviceMemory.
	DeviceMemory uint64
	// ShaderModule is a VkShaderModule.
	ShaderModule uint64
	// DescriptorSetLayout is a VkDescriptorSetLayout.
	DescriptorSetLayout uint64
	// PipelineLayout is a VkPipelineLayout.
	PipelineLayout uint64
	// Pipeline is a VkPipeline.
	Pipeline uint64
	// PipelineCache is a VkPipelineCache.
	PipelineCache uint64
	// DescriptorPool is a VkDescriptorPool.
	DescriptorPool uint64
	// DescriptorSet is a VkDescriptorSet.
	DescriptorSet uint64
	// CommandPool is a VkCommandPool.
	CommandPool uint64
	// QueryPool is a VkQueryPool.
	QueryPool uint64
	// Fence is a VkFence.
	Fence uint64
	// Queue is a VkQueue (dispatchable).
	Queue uintptr
	// CommandBuffer is a VkCommandBuffer (dispatchable).
	CommandBuffer uintptr
)

// Instance is a VkInstance with its table of instance-level functions.
// It is created by [CreateInstance] and must be destroyed with Destroy.
type Instance struct {
	h, tab     uintptr
	APIVersion uint32 // the version the instance was created with
}

// PhysicalDevice is a VkPhysicalDevice of an Instance.
type PhysicalDevice struct {
	h    uintptr
	inst *Instance
}

// Device is a VkDevice with its table of device-level functions.
type Device struct {
	h, tab uintptr
}

// PhysicalDeviceType is VkPhysicalDeviceType.
type PhysicalDeviceType uint32

// Physical device types.
const (
	DeviceTypeOther         PhysicalDeviceType = 0
	DeviceTypeIntegratedGPU PhysicalDeviceType = 1
	DeviceTypeDiscreteGPU   PhysicalDeviceType = 2
	DeviceTypeVirtualGPU    PhysicalDeviceType = 3
	DeviceTypeCPU           PhysicalDeviceType = 4
)

func (t PhysicalDeviceType) String() string {
	switch t {
	case DeviceTypeOther:
		return "other"
	case DeviceTypeIntegratedGPU:
		return "integrated-gpu"
	case DeviceTypeDiscreteGPU:
		return "discrete-gpu"
	case DeviceTypeVirtualGPU:
		return "virtual-gpu"
	case DeviceTypeCPU:
		return "cpu"
	}
	return "unknown"
}

// Queue flags (VkQueueFlagBits).
const (
	QueueGraphics uint32 = 0x1
	QueueCompute  uint32 = 0x2
	QueueTransfer uint32 = 0x4
)

// Memory property flags (VkMemoryPropertyFlagBits).
const (
	MemoryDeviceLocal     uint32 = 0x1
	MemoryHostVisible     uint32 = 0x2
	MemoryHostCoherent    uint32 = 0x4
	MemoryHostCached      uint32 = 0x8
	MemoryLazilyAllocated uint32 = 0x10
)

// Buffer usage flags (VkBufferUsageFlagBits).
const (
	BufferUsageTransferSrc   uint32 = 0x1
	BufferUsageTransferDst   uint32 = 0x2
	BufferUsageUniformBuffer uint32 = 0x10
	BufferUsageStorageBuffer uint32 = 0x20
)

// Pipeline stage flags (VkPipelineStageFlagBits).
const (
	StageTopOfPipe     uint32 = 0x1
	StageComputeShader uint32 = 0x800
	StageTransfer      uint32 = 0x1000
	StageBottomOfPipe  uint32 = 0x2000
	StageHost          uint32 = 0x4000
	StageAllCommands   uint32 = 0x10000
)

// Access flags (VkAccessFlagBits).
const (
	AccessShaderRead    uint32 = 0x20
	AccessShaderWrite   uint32 = 0x40
	AccessTransferRead  uint32 = 0x800
	AccessTransferWrite uint32 = 0x1000
	AccessHostRead      uint32 = 0x2000
	AccessHostWrite     uint32 = 0x4000
	AccessMemoryRead    uint32 = 0x8000
	AccessMemoryWrite   uint32 = 0x10000
)

// Command pool flags.
const (
	CommandPoolTransient          uint32 = 0x1
	CommandPoolResetCommandBuffer uint32 = 0x2
)

// WholeSize is VK_WHOLE_SIZE.
const WholeSize = ^uint64(0)

// MakeVersion is VK_MAKE_API_VERSION(0, major, minor, patch).
func MakeVersion(major, minor, patch uint32) uint32 { return major<<22 | minor<<12 | patch }

// VersionString formats a packed Vulkan version as "major.minor.patch".
func VersionString(v uint32) string {
	return itoa(v>>22&0x7f) + "." + itoa(v>>12&0x3ff) + "." + itoa(v&0xfff)
}

func itoa(v uint32) string {
	if v == 0 {
		return "0"
	}
	var b [10]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

// Limits holds the VkPhysicalDeviceLimits (and a few extension properties)
// that compute work needs.
type Limits struct {
	MaxComputeSharedMemorySize          uint32
	MaxComputeWorkGroupInvocations      uint32
	MaxComputeWorkGroupSize             [3]uint32
	MaxComputeWorkGroupCount            [3]uint32
	MaxStorageBufferRange               uint32
	MinStorageBufferOffsetAlignment     uint64
	MaxPushConstantsSize                uint32
	MaxBoundDescriptorSets              uint32
	MaxPerStageDescriptorStorageBuffers uint32
	MaxDescriptorSetStorageBuffers      uint32
	MaxMemoryAllocationCount            uint32
	MaxMemoryAllocationSize             uint64 // VkPhysicalDeviceMaintenance3Properties; 0 if unknown
	NonCoherentAtomSize                 uint64
	TimestampComputeAndGraphics         bool
	TimestampPeriod                     float32 // nanoseconds per timestamp tick
}

// Properties is what vkGetPhysicalDeviceProperties(2) reports, flattened.
// Fields from structures the device does not support are zero.
type Properties struct {
	APIVersion    uint32
	DriverVersion uint32
	VendorID      uint32
	DeviceID      uint32
	Type          PhysicalDeviceType
	Name          string
	Limits        Limits

	// VkPhysicalDeviceDriverProperties (1.2 or VK_KHR_driver_properties).
	DriverID   uint32
	DriverName string
	DriverInfo string

	// VkPhysicalDeviceSubgroupProperties (1.1).
	SubgroupSize            uint32
	SubgroupSupportedStages uint32
	SubgroupSupportedOps    uint32
	// VkPhysicalDeviceSubgroupSizeControlProperties (1.3 or EXT).
	MinSubgroupSize uint32
	MaxSubgroupSize uint32

	// VkPhysicalDeviceFloatControlsProperties (1.2 or KHR).
	FloatControls bool // the structure was queried
	RoundingModeRTEFloat32,
	RoundingModeRTZFloat32,
	DenormPreserveFloat32,
	DenormFlushToZeroFloat32,
	SignedZeroInfNanPreserveFloat32 bool

	// VkPhysicalDeviceShaderIntegerDotProductProperties (1.3 or KHR).
	IntegerDotProduct8BitSignedAccelerated,
	IntegerDotProduct8BitUnsignedAccelerated,
	IntegerDotProduct8BitMixedSignednessAccelerated,
	IntegerDotProduct4x8BitPackedSignedAccelerated,
	IntegerDotProduct4x8BitPackedUnsignedAccelerated,
	IntegerDotProduct4x8BitPackedMixedSignednessAccelerated bool
}

// Features is the set of optional device features compute cares about. It
// is both what [PhysicalDevice.Features] reports and what [CreateDevice]
// enables.
type Features struct {
	ShaderInt64                       bool // VkPhysicalDeviceFeatures
	ShaderInt16                       bool // VkPhysicalDeviceFeatures
	ShaderInt8                        bool // VkPhysicalDeviceShaderFloat16Int8Features
	ShaderFloat16                     bool // VkPhysicalDeviceShaderFloat16Int8Features
	StorageBuffer8BitAccess           bool // VkPhysicalDevice8BitStorageFeatures
	UniformAndStorageBuffer8BitAccess bool // VkPhysicalDevice8BitStorageFeatures
	StorageBuffer16BitAccess          bool // VkPhysicalDevice16BitStorageFeatures
	ShaderIntegerDotProduct           bool // VkPhysicalDeviceShaderIntegerDotProductFeatures
	SubgroupSizeControl               bool // VkPhysicalDeviceSubgroupSizeControlFeatures
	ComputeFullSubgroups              bool // VkPhysicalDeviceSubgroupSizeControlFeatures
}

// Chain selects which extension structures are chained into
// vkGetPhysicalDeviceFeatures2/Properties2 and VkDeviceCreateInfo. A
// structure may only be chained when the device's API version includes it
// or the named extension is supported (and, for device creation, enabled).
type Chain uint32

// Chain bits.
const (
	ChainFloat16Int8         Chain = 1 << iota // 1.2 or VK_KHR_shader_float16_int8
	Chain8BitStorage                           // 1.2 or VK_KHR_8bit_storage
	Chain16BitStorage                          // 1.1 or VK_KHR_16bit_storage
	ChainIntegerDotProduct                     // 1.3 or VK_KHR_shader_integer_dot_product
	ChainSubgroupSizeControl                   // 1.3 or VK_EXT_subgroup_size_control
	ChainSubgroup                              // 1.1 (properties only)
	ChainDriver                                // 1.2 or VK_KHR_driver_properties (properties only)
	ChainFloatControls                         // 1.2 or VK_KHR_shader_float_controls (properties only)
	ChainMaintenance3                          // 1.1 or VK_KHR_maintenance3 (properties only)
)

// QueueFamily is VkQueueFamilyProperties.
type QueueFamily struct {
	Flags              uint32
	Count              uint32
	TimestampValidBits uint32
}

// MemoryType is VkMemoryType.
type MemoryType struct {
	Flags     uint32
	HeapIndex uint32
}

// MemoryHeap is VkMemoryHeap.
type MemoryHeap struct {
	Size  uint64
	Flags uint32 // bit 0: VK_MEMORY_HEAP_DEVICE_LOCAL_BIT
}

// MemoryProperties is VkPhysicalDeviceMemoryProperties.
type MemoryProperties struct {
	Types []MemoryType
	Heaps []MemoryHeap
}

// MemoryRequirements is VkMemoryRequirements.
type MemoryRequirements struct {
	Size, Alignment uint64
	TypeBits        uint32
}

// BufferInfo is one storage-buffer binding for [Device.UpdateStorageBuffers]:
// buffer, offset and range (WholeSize for the rest of the buffer).
type BufferInfo struct {
	Buffer Buffer
	Offset uint64
	Range  uint64
}
