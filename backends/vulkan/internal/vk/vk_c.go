//go:build cgo

package vk

/*
#cgo LDFLAGS: -ldl
#include "vulkan_decl.h"
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Rule for every function below: Go may pass pointers to Go memory that holds
// no Go pointers (numbers only) as call arguments; C copies what it needs into
// structs on the C stack or into memory it mallocs and frees before returning.
// No struct handed to Vulkan ever points into Go memory, and nothing is kept
// after a call returns.

#define H(T, x) ((T)(uintptr_t)(x))
#define U64(h) ((uint64_t)(uintptr_t)(h))

static void *qvk_lib;
static PFN_vkGetInstanceProcAddr qvk_gipa;

static void qvk_copyerr(char *dst, int n, const char *src) {
	if (n <= 0) return;
	if (!src) src = "unknown error";
	strncpy(dst, src, (size_t)n - 1);
	dst[n - 1] = 0;
}

// qvk_open dlopens name and resolves vkGetInstanceProcAddr. On success the
// library becomes the process loader unless one is installed already (then
// the new handle is closed again). Returns 0 on success, 1 if dlopen failed,
// 2 if dlsym failed; err receives dlerror() text.
static int qvk_open(const char *name, char *err, int errlen) {
	void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		qvk_copyerr(err, errlen, dlerror());
		return 1;
	}
	PFN_vkGetInstanceProcAddr gipa = (PFN_vkGetInstanceProcAddr)dlsym(lib, "vkGetInstanceProcAddr");
	if (!gipa) {
		qvk_copyerr(err, errlen, dlerror());
		dlclose(lib);
		return 2;
	}
	if (qvk_gipa) {
		dlclose(lib);
		return 0;
	}
	qvk_lib = lib;
	qvk_gipa = gipa;
	return 0;
}

static uint32_t qvk_instance_version(void) {
	PFN_vkEnumerateInstanceVersion f = (PFN_vkEnumerateInstanceVersion)qvk_gipa(NULL, "vkEnumerateInstanceVersion");
	if (!f) return VK_API_VERSION_1_0;
	uint32_t v = 0;
	if (f(&v) != VK_SUCCESS) return VK_API_VERSION_1_0;
	return v;
}

// ---- instance ----

#define QVK_INSTANCE_FUNCS(X) \
	X(DestroyInstance) \
	X(EnumeratePhysicalDevices) \
	X(GetPhysicalDeviceProperties) \
	X(GetPhysicalDeviceFeatures) \
	X(GetPhysicalDeviceQueueFamilyProperties) \
	X(GetPhysicalDeviceMemoryProperties) \
	X(EnumerateDeviceExtensionProperties) \
	X(CreateDevice) \
	X(GetDeviceProcAddr)

typedef struct {
#define QVK_F(n) PFN_vk##n n;
	QVK_INSTANCE_FUNCS(QVK_F)
	PFN_vkGetPhysicalDeviceProperties2 GetPhysicalDeviceProperties2;
	PFN_vkGetPhysicalDeviceFeatures2 GetPhysicalDeviceFeatures2;
} qvk_itab;

static int qvk_enum_instance_extensions(char *names, int maxNames) {
	PFN_vkEnumerateInstanceExtensionProperties f =
		(PFN_vkEnumerateInstanceExtensionProperties)qvk_gipa(NULL, "vkEnumerateInstanceExtensionProperties");
	if (!f) return VK_ERROR_INITIALIZATION_FAILED;
	uint32_t n = 0;
	VkResult r = f(NULL, &n, NULL);
	if (r != VK_SUCCESS) return r;
	VkExtensionProperties *p = calloc(n ? n : 1, sizeof *p);
	if (!p) return VK_ERROR_OUT_OF_HOST_MEMORY;
	r = f(NULL, &n, p);
	if (r >= 0) {
		for (uint32_t i = 0; i < n && (int)i < maxNames; i++)
			memcpy(names + (size_t)i * VK_MAX_EXTENSION_NAME_SIZE, p[i].extensionName, VK_MAX_EXTENSION_NAME_SIZE);
		r = (VkResult)n;
	}
	free(p);
	return r;
}

static VkResult qvk_create_instance(const char *app, uint32_t apiVersion,
		uint32_t nexts, const char *const *exts, uint32_t nlayers, const char *const *layers,
		uintptr_t *outInst, uintptr_t *outTab, char *missing, int mlen) {
	PFN_vkCreateInstance create = (PFN_vkCreateInstance)qvk_gipa(NULL, "vkCreateInstance");
	if (!create) {
		qvk_copyerr(missing, mlen, "vkCreateInstance");
		return VK_ERROR_INITIALIZATION_FAILED;
	}
	VkApplicationInfo ai = {VK_STRUCTURE_TYPE_APPLICATION_INFO};
	ai.pApplicationName = app;
	ai.pEngineName = "qgpu";
	ai.apiVersion = apiVersion;
	VkInstanceCreateInfo ci = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
	ci.pApplicationInfo = &ai;
	ci.enabledExtensionCount = nexts;
	ci.ppEnabledExtensionNames = exts;
	ci.enabledLayerCount = nlayers;
	ci.ppEnabledLayerNames = layers;
	VkInstance inst = VK_NULL_HANDLE;
	VkResult r = create(&ci, NULL, &inst);
	if (r != VK_SUCCESS) return r;
	qvk_itab *t = calloc(1, sizeof *t);
	if (!t) {
		PFN_vkDestroyInstance d = (PFN_vkDestroyInstance)qvk_gipa(inst, "vkDestroyInstance");
		if (d) d(inst, NULL);
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	}
	const char *miss = NULL;
#define QVK_LOAD_I(n) t->n = (PFN_vk##n)qvk_gipa(inst, "vk" #n); if (!t->n && !miss) miss = "vk" #n;
	QVK_INSTANCE_FUNCS(QVK_LOAD_I)
	t->GetPhysicalDeviceProperties2 = (PFN_vkGetPhysicalDeviceProperties2)qvk_gipa(inst, "vkGetPhysicalDeviceProperties2");
	if (!t->GetPhysicalDeviceProperties2)
		t->GetPhysicalDeviceProperties2 = (PFN_vkGetPhysicalDeviceProperties2)qvk_gipa(inst, "vkGetPhysicalDeviceProperties2KHR");
	t->GetPhysicalDeviceFeatures2 = (PFN_vkGetPhysicalDeviceFeatures2)qvk_gipa(inst, "vkGetPhysicalDeviceFeatures2");
	if (!t->GetPhysicalDeviceFeatures2)
		t->GetPhysicalDeviceFeatures2 = (PFN_vkGetPhysicalDeviceFeatures2)qvk_gipa(inst, "vkGetPhysicalDeviceFeatures2KHR");
	if (miss) {
		qvk_copyerr(missing, mlen, miss);
		if (t->DestroyInstance) t->DestroyInstance(inst, NULL);
		free(t);
		return VK_ERROR_INITIALIZATION_FAILED;
	}
	*outInst = (uintptr_t)inst;
	*outTab = (uintptr_t)t;
	return VK_SUCCESS;
}

static void qvk_destroy_instance(uintptr_t tab, uintptr_t inst) {
	qvk_itab *t = (qvk_itab *)tab;
	t->DestroyInstance(H(VkInstance, inst), NULL);
	free(t);
}

// qvk_enum_physical_devices writes up to max handles into out and the total
// count into *count.
static VkResult qvk_enum_physical_devices(uintptr_t tab, uintptr_t inst, uint32_t *count, uintptr_t *out, uint32_t max) {
	qvk_itab *t = (qvk_itab *)tab;
	uint32_t n = 0;
	VkResult r = t->EnumeratePhysicalDevices(H(VkInstance, inst), &n, NULL);
	if (r != VK_SUCCESS) return r;
	*count = n;
	if (n == 0 || max == 0) return VK_SUCCESS;
	VkPhysicalDevice *p = calloc(n, sizeof *p);
	if (!p) return VK_ERROR_OUT_OF_HOST_MEMORY;
	r = t->EnumeratePhysicalDevices(H(VkInstance, inst), &n, p);
	if (r >= 0) {
		*count = n;
		for (uint32_t i = 0; i < n && i < max; i++) out[i] = (uintptr_t)p[i];
		r = VK_SUCCESS;
	}
	free(p);
	return r;
}

typedef struct {
	uint32_t apiVersion, driverVersion, vendorID, deviceID, type;
	char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
	uint32_t maxComputeSharedMemorySize, maxComputeWorkGroupInvocations;
	uint32_t maxComputeWorkGroupSize[3], maxComputeWorkGroupCount[3];
	uint32_t maxStorageBufferRange;
	uint64_t minStorageBufferOffsetAlignment;
	uint32_t maxPushConstantsSize, maxBoundDescriptorSets, maxPerStageDescriptorStorageBuffers;
	uint32_t maxDescriptorSetStorageBuffers, maxMemoryAllocationCount;
	uint64_t maxMemoryAllocationSize, nonCoherentAtomSize;
	uint32_t timestampComputeAndGraphics;
	float timestampPeriod;
	uint32_t driverID;
	char driverName[VK_MAX_DRIVER_NAME_SIZE];
	char driverInfo[VK_MAX_DRIVER_INFO_SIZE];
	uint32_t subgroupSize, subgroupStages, subgroupOps, minSubgroupSize, maxSubgroupSize;
	uint32_t floatControls, rteF32, rtzF32, denormPreserveF32, denormFtzF32, szInfNanF32;
	uint32_t dot8s, dot8u, dot8m, dot4x8s, dot4x8u, dot4x8m;
} qvk_props;

enum {
	QVK_CHAIN_F16I8 = 1 << 0,
	QVK_CHAIN_8BIT = 1 << 1,
	QVK_CHAIN_16BIT = 1 << 2,
	QVK_CHAIN_DOT = 1 << 3,
	QVK_CHAIN_SGSIZE = 1 << 4,
	QVK_CHAIN_SUBGROUP = 1 << 5,
	QVK_CHAIN_DRIVER = 1 << 6,
	QVK_CHAIN_FLOATCTL = 1 << 7,
	QVK_CHAIN_MAINT3 = 1 << 8,
};

static void qvk_get_properties(uintptr_t tab, uintptr_t pd, uint32_t chain, qvk_props *o) {
	qvk_itab *t = (qvk_itab *)tab;
	VkPhysicalDevice p = H(VkPhysicalDevice, pd);
	memset(o, 0, sizeof *o);

	VkPhysicalDeviceSubgroupProperties sg = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
	VkPhysicalDeviceDriverProperties drv = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
	VkPhysicalDeviceFloatControlsProperties fc = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FLOAT_CONTROLS_PROPERTIES};
	VkPhysicalDeviceSubgroupSizeControlProperties sgc = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES};
	VkPhysicalDeviceShaderIntegerDotProductProperties dot = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES};
	VkPhysicalDeviceMaintenance3Properties m3 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
	VkPhysicalDeviceProperties2 p2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
	void **next = &p2.pNext;
#define QVK_CHAIN(bit, s) if (chain & (bit)) { *next = &(s); next = &(s).pNext; }
	QVK_CHAIN(QVK_CHAIN_SUBGROUP, sg)
	QVK_CHAIN(QVK_CHAIN_DRIVER, drv)
	QVK_CHAIN(QVK_CHAIN_FLOATCTL, fc)
	QVK_CHAIN(QVK_CHAIN_SGSIZE, sgc)
	QVK_CHAIN(QVK_CHAIN_DOT, dot)
	QVK_CHAIN(QVK_CHAIN_MAINT3, m3)
	if (t->GetPhysicalDeviceProperties2) {
		t->GetPhysicalDeviceProperties2(p, &p2);
	} else {
		t->GetPhysicalDeviceProperties(p, &p2.properties);
		chain = 0;
	}
	VkPhysicalDeviceProperties *b = &p2.properties;
	VkPhysicalDeviceLimits *l = &b->limits;
	o->apiVersion = b->apiVersion;
	o->driverVersion = b->driverVersion;
	o->vendorID = b->vendorID;
	o->deviceID = b->deviceID;
	o->type = b->deviceType;
	memcpy(o->name, b->deviceName, sizeof o->name);
	o->name[sizeof o->name - 1] = 0;
	o->maxComputeSharedMemorySize = l->maxComputeSharedMemorySize;
	o->maxComputeWorkGroupInvocations = l->maxComputeWorkGroupInvocations;
	for (int i = 0; i < 3; i++) {
		o->maxComputeWorkGroupSize[i] = l->maxComputeWorkGroupSize[i];
		o->maxComputeWorkGroupCount[i] = l->maxComputeWorkGroupCount[i];
	}
	o->maxStorageBufferRange = l->maxStorageBufferRange;
	o->minStorageBufferOffsetAlignment = l->minStorageBufferOffsetAlignment;
	o->maxPushConstantsSize = l->maxPushConstantsSize;
	o->maxBoundDescriptorSets = l->maxBoundDescriptorSets;
	o->maxPerStageDescriptorStorageBuffers = l->maxPerStageDescriptorStorageBuffers;
	o->maxDescriptorSetStorageBuffers = l->maxDescriptorSetStorageBuffers;
	o->maxMemoryAllocationCount = l->maxMemoryAllocationCount;
	o->nonCoherentAtomSize = l->nonCoherentAtomSize;
	o->timestampComputeAndGraphics = l->timestampComputeAndGraphics;
	o->timestampPeriod = l->timestampPeriod;
	if (chain & QVK_CHAIN_MAINT3) o->maxMemoryAllocationSize = m3.maxMemoryAllocationSize;
	if (chain & QVK_CHAIN_DRIVER) {
		o->driverID = drv.driverID;
		memcpy(o->driverName, drv.driverName, sizeof o->driverName);
		memcpy(o->driverInfo, drv.driverInfo, sizeof o->driverInfo);
		o->driverName[sizeof o->driverName - 1] = 0;
		o->driverInfo[sizeof o->driverInfo - 1] = 0;
	}
	if (chain & QVK_CHAIN_SUBGROUP) {
		o->subgroupSize = sg.subgroupSize;
		o->subgroupStages = sg.supportedStages;
		o->subgroupOps = sg.supportedOperations;
	}
	if (chain & QVK_CHAIN_SGSIZE) {
		o->minSubgroupSize = sgc.minSubgroupSize;
		o->maxSubgroupSize = sgc.maxSubgroupSize;
	}
	if (chain & QVK_CHAIN_FLOATCTL) {
		o->floatControls = 1;
		o->rteF32 = fc.shaderRoundingModeRTEFloat32;
		o->rtzF32 = fc.shaderRoundingModeRTZFloat32;
		o->denormPreserveF32 = fc.shaderDenormPreserveFloat32;
		o->denormFtzF32 = fc.shaderDenormFlushToZeroFloat32;
		o->szInfNanF32 = fc.shaderSignedZeroInfNanPreserveFloat32;
	}
	if (chain & QVK_CHAIN_DOT) {
		o->dot8s = dot.integerDotProduct8BitSignedAccelerated;
		o->dot8u = dot.integerDotProduct8BitUnsignedAccelerated;
		o->dot8m = dot.integerDotProduct8BitMixedSignednessAccelerated;
		o->dot4x8s = dot.integerDotProduct4x8BitPackedSignedAccelerated;
		o->dot4x8u = dot.integerDotProduct4x8BitPackedUnsignedAccelerated;
		o->dot4x8m = dot.integerDotProduct4x8BitPackedMixedSignednessAccelerated;
	}
}

typedef struct {
	uint32_t int64, int16, int8, float16, sb8, usb8, sb16, dot, sgsc, fullsg;
} qvk_feats;

static void qvk_get_features(uintptr_t tab, uintptr_t pd, uint32_t chain, qvk_feats *o) {
	qvk_itab *t = (qvk_itab *)tab;
	VkPhysicalDevice p = H(VkPhysicalDevice, pd);
	memset(o, 0, sizeof *o);
	VkPhysicalDeviceShaderFloat16Int8Features f16 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
	VkPhysicalDevice8BitStorageFeatures s8 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
	VkPhysicalDevice16BitStorageFeatures s16 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
	VkPhysicalDeviceShaderIntegerDotProductFeatures dot = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
	VkPhysicalDeviceSubgroupSizeControlFeatures sgc = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
	VkPhysicalDeviceFeatures2 f2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
	void **next = &f2.pNext;
	QVK_CHAIN(QVK_CHAIN_F16I8, f16)
	QVK_CHAIN(QVK_CHAIN_8BIT, s8)
	QVK_CHAIN(QVK_CHAIN_16BIT, s16)
	QVK_CHAIN(QVK_CHAIN_DOT, dot)
	QVK_CHAIN(QVK_CHAIN_SGSIZE, sgc)
	if (t->GetPhysicalDeviceFeatures2) {
		t->GetPhysicalDeviceFeatures2(p, &f2);
	} else {
		t->GetPhysicalDeviceFeatures(p, &f2.features);
		chain = 0;
	}
	o->int64 = f2.features.shaderInt64;
	o->int16 = f2.features.shaderInt16;
	if (chain & QVK_CHAIN_F16I8) { o->int8 = f16.shaderInt8; o->float16 = f16.shaderFloat16; }
	if (chain & QVK_CHAIN_8BIT) { o->sb8 = s8.storageBuffer8BitAccess; o->usb8 = s8.uniformAndStorageBuffer8BitAccess; }
	if (chain & QVK_CHAIN_16BIT) o->sb16 = s16.storageBuffer16BitAccess;
	if (chain & QVK_CHAIN_DOT) o->dot = dot.shaderIntegerDotProduct;
	if (chain & QVK_CHAIN_SGSIZE) { o->sgsc = sgc.subgroupSizeControl; o->fullsg = sgc.computeFullSubgroups; }
}

// qvk_queue_families writes 3 words per family (flags, count, timestampValidBits).
static uint32_t qvk_queue_families(uintptr_t tab, uintptr_t pd, uint32_t *out, uint32_t max) {
	qvk_itab *t = (qvk_itab *)tab;
	uint32_t n = 0;
	t->GetPhysicalDeviceQueueFamilyProperties(H(VkPhysicalDevice, pd), &n, NULL);
	if (n == 0 || max == 0) return n;
	VkQueueFamilyProperties *p = calloc(n, sizeof *p);
	if (!p) return 0;
	t->GetPhysicalDeviceQueueFamilyProperties(H(VkPhysicalDevice, pd), &n, p);
	for (uint32_t i = 0; i < n && i < max; i++) {
		out[3 * i] = p[i].queueFlags;
		out[3 * i + 1] = p[i].queueCount;
		out[3 * i + 2] = p[i].timestampValidBits;
	}
	free(p);
	return n;
}

typedef struct {
	uint32_t ntypes, nheaps;
	uint32_t typeFlags[VK_MAX_MEMORY_TYPES], typeHeap[VK_MAX_MEMORY_TYPES];
	uint64_t heapSize[VK_MAX_MEMORY_HEAPS];
	uint32_t heapFlags[VK_MAX_MEMORY_HEAPS];
} qvk_memprops;

static void qvk_memory_properties(uintptr_t tab, uintptr_t pd, qvk_memprops *o) {
	qvk_itab *t = (qvk_itab *)tab;
	VkPhysicalDeviceMemoryProperties m;
	memset(&m, 0, sizeof m);
	t->GetPhysicalDeviceMemoryProperties(H(VkPhysicalDevice, pd), &m);
	o->ntypes = m.memoryTypeCount;
	o->nheaps = m.memoryHeapCount;
	for (uint32_t i = 0; i < m.memoryTypeCount && i < VK_MAX_MEMORY_TYPES; i++) {
		o->typeFlags[i] = m.memoryTypes[i].propertyFlags;
		o->typeHeap[i] = m.memoryTypes[i].heapIndex;
	}
	for (uint32_t i = 0; i < m.memoryHeapCount && i < VK_MAX_MEMORY_HEAPS; i++) {
		o->heapSize[i] = m.memoryHeaps[i].size;
		o->heapFlags[i] = m.memoryHeaps[i].flags;
	}
}

// qvk_enum_device_extensions returns the count (>= 0) or a VkResult (< 0);
// names receives up to maxNames names of VK_MAX_EXTENSION_NAME_SIZE bytes.
static int qvk_enum_device_extensions(uintptr_t tab, uintptr_t pd, char *names, int maxNames) {
	qvk_itab *t = (qvk_itab *)tab;
	uint32_t n = 0;
	VkResult r = t->EnumerateDeviceExtensionProperties(H(VkPhysicalDevice, pd), NULL, &n, NULL);
	if (r != VK_SUCCESS) return r;
	if (maxNames == 0) return (int)n;
	VkExtensionProperties *p = calloc(n ? n : 1, sizeof *p);
	if (!p) return VK_ERROR_OUT_OF_HOST_MEMORY;
	r = t->EnumerateDeviceExtensionProperties(H(VkPhysicalDevice, pd), NULL, &n, p);
	if (r >= 0) {
		for (uint32_t i = 0; i < n && (int)i < maxNames; i++)
			memcpy(names + (size_t)i * VK_MAX_EXTENSION_NAME_SIZE, p[i].extensionName, VK_MAX_EXTENSION_NAME_SIZE);
		r = (VkResult)n;
	}
	free(p);
	return r;
}

// ---- device ----

#define QVK_DEVICE_FUNCS(X) \
	X(DestroyDevice) X(GetDeviceQueue) X(DeviceWaitIdle) \
	X(CreateBuffer) X(DestroyBuffer) X(GetBufferMemoryRequirements) \
	X(AllocateMemory) X(FreeMemory) X(MapMemory) X(UnmapMemory) X(BindBufferMemory) \
	X(FlushMappedMemoryRanges) X(InvalidateMappedMemoryRanges) \
	X(CreateShaderModule) X(DestroyShaderModule) \
	X(CreateDescriptorSetLayout) X(DestroyDescriptorSetLayout) \
	X(CreatePipelineLayout) X(DestroyPipelineLayout) \
	X(CreateComputePipelines) X(DestroyPipeline) \
	X(CreateDescriptorPool) X(DestroyDescriptorPool) X(ResetDescriptorPool) \
	X(AllocateDescriptorSets) X(UpdateDescriptorSets) \
	X(CreateCommandPool) X(DestroyCommandPool) X(ResetCommandPool) \
	X(AllocateCommandBuffers) X(FreeCommandBuffers) \
	X(BeginCommandBuffer) X(EndCommandBuffer) \
	X(CmdBindPipeline) X(CmdBindDescriptorSets) X(CmdPushConstants) X(CmdDispatch) \
	X(CmdPipelineBarrier) X(CmdCopyBuffer) X(CmdFillBuffer) \
	X(CreateQueryPool) X(DestroyQueryPool) X(CmdResetQueryPool) X(CmdWriteTimestamp) X(GetQueryPoolResults) \
	X(CreateFence) X(DestroyFence) X(WaitForFences) X(ResetFences) X(GetFenceStatus) \
	X(QueueSubmit) X(QueueWaitIdle)

typedef struct {
	QVK_DEVICE_FUNCS(QVK_F)
} qvk_dtab;

static VkResult qvk_create_device(uintptr_t itab, uintptr_t pd, uint32_t qfam,
		uint32_t nexts, const char *const *exts, const qvk_feats *f, uint32_t chain,
		uintptr_t *outDev, uintptr_t *outTab, char *missing, int mlen) {
	qvk_itab *it = (qvk_itab *)itab;
	float prio = 1.0f;
	VkDeviceQueueCreateInfo qci = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
	qci.queueFamilyIndex = qfam;
	qci.queueCount = 1;
	qci.pQueuePriorities = &prio;

	VkPhysicalDeviceFeatures base;
	memset(&base, 0, sizeof base);
	base.shaderInt64 = f->int64 ? VK_TRUE : VK_FALSE;
	base.shaderInt16 = f->int16 ? VK_TRUE : VK_FALSE;

	VkPhysicalDeviceShaderFloat16Int8Features f16 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
	f16.shaderInt8 = f->int8 ? VK_TRUE : VK_FALSE;
	f16.shaderFloat16 = f->float16 ? VK_TRUE : VK_FALSE;
	VkPhysicalDevice8BitStorageFeatures s8 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
	s8.storageBuffer8BitAccess = f->sb8 ? VK_TRUE : VK_FALSE;
	s8.uniformAndStorageBuffer8BitAccess = f->usb8 ? VK_TRUE : VK_FALSE;
	VkPhysicalDevice16BitStorageFeatures s16 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
	s16.storageBuffer16BitAccess = f->sb16 ? VK_TRUE : VK_FALSE;
	VkPhysicalDeviceShaderIntegerDotProductFeatures dot = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
	dot.shaderIntegerDotProduct = f->dot ? VK_TRUE : VK_FALSE;
	VkPhysicalDeviceSubgroupSizeControlFeatures sgc = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
	sgc.subgroupSizeControl = f->sgsc ? VK_TRUE : VK_FALSE;
	sgc.computeFullSubgroups = f->fullsg ? VK_TRUE : VK_FALSE;

	VkDeviceCreateInfo ci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
	ci.queueCreateInfoCount = 1;
	ci.pQueueCreateInfos = &qci;
	ci.enabledExtensionCount = nexts;
	ci.ppEnabledExtensionNames = exts;
	ci.pEnabledFeatures = &base;
	const void **next = &ci.pNext;
	// Only chain a structure that enables something.
#define QVK_DCHAIN(cond, s) if (cond) { *next = &(s); next = (const void **)&(s).pNext; }
	QVK_DCHAIN((chain & QVK_CHAIN_F16I8) && (f->int8 || f->float16), f16)
	QVK_DCHAIN((chain & QVK_CHAIN_8BIT) && (f->sb8 || f->usb8), s8)
	QVK_DCHAIN((chain & QVK_CHAIN_16BIT) && f->sb16, s16)
	QVK_DCHAIN((chain & QVK_CHAIN_DOT) && f->dot, dot)
	QVK_DCHAIN((chain & QVK_CHAIN_SGSIZE) && (f->sgsc || f->fullsg), sgc)

	VkDevice dev = VK_NULL_HANDLE;
	VkResult r = it->CreateDevice(H(VkPhysicalDevice, pd), &ci, NULL, &dev);
	if (r != VK_SUCCESS) return r;
	qvk_dtab *t = calloc(1, sizeof *t);
	PFN_vkDestroyDevice destroy = (PFN_vkDestroyDevice)it->GetDeviceProcAddr(dev, "vkDestroyDevice");
	if (!t) {
		if (destroy) destroy(dev, NULL);
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	}
	const char *miss = NULL;
#define QVK_LOAD_D(n) t->n = (PFN_vk##n)it->GetDeviceProcAddr(dev, "vk" #n); if (!t->n && !miss) miss = "vk" #n;
	QVK_DEVICE_FUNCS(QVK_LOAD_D)
	if (miss) {
		qvk_copyerr(missing, mlen, miss);
		if (destroy) destroy(dev, NULL);
		free(t);
		return VK_ERROR_INITIALIZATION_FAILED;
	}
	*outDev = (uintptr_t)dev;
	*outTab = (uintptr_t)t;
	return VK_SUCCESS;
}

#define DT ((qvk_dtab *)tab)
#define DEV H(VkDevice, dev)
#define CB H(VkCommandBuffer, cb)

static void qvk_destroy_device(uintptr_t tab, uintptr_t dev) {
	DT->DestroyDevice(DEV, NULL);
	free(DT);
}

static uintptr_t qvk_get_queue(uintptr_t tab, uintptr_t dev, uint32_t fam, uint32_t idx) {
	VkQueue q = VK_NULL_HANDLE;
	DT->GetDeviceQueue(DEV, fam, idx, &q);
	return (uintptr_t)q;
}

static VkResult qvk_device_wait_idle(uintptr_t tab, uintptr_t dev) { return DT->DeviceWaitIdle(DEV); }

static VkResult qvk_create_buffer(uintptr_t tab, uintptr_t dev, uint64_t size, uint32_t usage, uint64_t *out) {
	VkBufferCreateInfo ci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
	ci.size = size;
	ci.usage = usage;
	ci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
	VkBuffer b = VK_NULL_HANDLE;
	VkResult r = DT->CreateBuffer(DEV, &ci, NULL, &b);
	*out = U64(b);
	return r;
}

static void qvk_destroy_buffer(uintptr_t tab, uintptr_t dev, uint64_t b) { DT->DestroyBuffer(DEV, H(VkBuffer, b), NULL); }

static void qvk_buffer_requirements(uintptr_t tab, uintptr_t dev, uint64_t b, uint64_t *size, uint64_t *align, uint32_t *bits) {
	VkMemoryRequirements m;
	memset(&m, 0, sizeof m);
	DT->GetBufferMemoryRequirements(DEV, H(VkBuffer, b), &m);
	*size = m.size;
	*align = m.alignment;
	*bits = m.memoryTypeBits;
}

static VkResult qvk_allocate_memory(uintptr_t tab, uintptr_t dev, uint64_t size, uint32_t type, uint64_t *out) {
	VkMemoryAllocateInfo ai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
	ai.allocationSize = size;
	ai.memoryTypeIndex = type;
	VkDeviceMemory m = VK_NULL_HANDLE;
	VkResult r = DT->AllocateMemory(DEV, &ai, NULL, &m);
	*out = U64(m);
	return r;
}

static void qvk_free_memory(uintptr_t tab, uintptr_t dev, uint64_t m) { DT->FreeMemory(DEV, H(VkDeviceMemory, m), NULL); }

static void *qvk_map_memory(uintptr_t tab, uintptr_t dev, uint64_t m, uint64_t off, uint64_t size, VkResult *res) {
	void *p = NULL;
	*res = DT->MapMemory(DEV, H(VkDeviceMemory, m), off, size, 0, &p);
	return p;
}

static void qvk_unmap_memory(uintptr_t tab, uintptr_t dev, uint64_t m) { DT->UnmapMemory(DEV, H(VkDeviceMemory, m)); }

static VkResult qvk_bind_buffer_memory(uintptr_t tab, uintptr_t dev, uint64_t b, uint64_t m, uint64_t off) {
	return DT->BindBufferMemory(DEV, H(VkBuffer, b), H(VkDeviceMemory, m), off);
}

static VkResult qvk_flush_invalidate(uintptr_t tab, uintptr_t dev, uint64_t m, uint64_t off, uint64_t size, int invalidate) {
	VkMappedMemoryRange r = {VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE};
	r.memory = H(VkDeviceMemory, m);
	r.offset = off;
	r.size = size;
	return invalidate ? DT->InvalidateMappedMemoryRanges(DEV, 1, &r) : DT->FlushMappedMemoryRanges(DEV, 1, &r);
}

static VkResult qvk_create_shader_module(uintptr_t tab, uintptr_t dev, const uint32_t *code, uint64_t nwords, uint64_t *out) {
	uint32_t *c = malloc(nwords * 4);
	if (!c) return VK_ERROR_OUT_OF_HOST_MEMORY;
	memcpy(c, code, nwords * 4);
	VkShaderModuleCreateInfo ci = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
	ci.codeSize = nwords * 4;
	ci.pCode = c;
	VkShaderModule m = VK_NULL_HANDLE;
	VkResult r = DT->CreateShaderModule(DEV, &ci, NULL, &m);
	free(c);
	*out = U64(m);
	return r;
}

static void qvk_destroy_shader_module(uintptr_t tab, uintptr_t dev, uint64_t m) { DT->DestroyShaderModule(DEV, H(VkShaderModule, m), NULL); }

// qvk_create_storage_set_layout makes a layout with n storage buffers at
// bindings 0..n-1, visible to the compute stage.
static VkResult qvk_create_storage_set_layout(uintptr_t tab, uintptr_t dev, uint32_t n, uint64_t *out) {
	VkDescriptorSetLayoutBinding *b = calloc(n ? n : 1, sizeof *b);
	if (!b) return VK_ERROR_OUT_OF_HOST_MEMORY;
	for (uint32_t i = 0; i < n; i++) {
		b[i].binding = i;
		b[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
		b[i].descriptorCount = 1;
		b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
	}
	VkDescriptorSetLayoutCreateInfo ci = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
	ci.bindingCount = n;
	ci.pBindings = b;
	VkDescriptorSetLayout l = VK_NULL_HANDLE;
	VkResult r = DT->CreateDescriptorSetLayout(DEV, &ci, NULL, &l);
	free(b);
	*out = U64(l);
	return r;
}

static void qvk_destroy_set_layout(uintptr_t tab, uintptr_t dev, uint64_t l) { DT->DestroyDescriptorSetLayout(DEV, H(VkDescriptorSetLayout, l), NULL); }

static VkResult qvk_create_pipeline_layout(uintptr_t tab, uintptr_t dev, uint64_t setLayout, uint32_t pushBytes, uint64_t *out) {
	VkDescriptorSetLayout sl = H(VkDescriptorSetLayout, setLayout);
	VkPushConstantRange pc = {VK_SHADER_STAGE_COMPUTE_BIT, 0, pushBytes};
	VkPipelineLayoutCreateInfo ci = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
	if (setLayout) {
		ci.setLayoutCount = 1;
		ci.pSetLayouts = &sl;
	}
	if (pushBytes) {
		ci.pushConstantRangeCount = 1;
		ci.pPushConstantRanges = &pc;
	}
	VkPipelineLayout l = VK_NULL_HANDLE;
	VkResult r = DT->CreatePipelineLayout(DEV, &ci, NULL, &l);
	*out = U64(l);
	return r;
}

static void qvk_destroy_pipeline_layout(uintptr_t tab, uintptr_t dev, uint64_t l) { DT->DestroyPipelineLayout(DEV, H(VkPipelineLayout, l), NULL); }

// qvk_create_compute_pipeline: specialization constant i (constant_id i)
// gets spec[i], 4 bytes each.
static VkResult qvk_create_compute_pipeline(uintptr_t tab, uintptr_t dev, uint64_t module, uint64_t layout,
		const char *entry, uint32_t nspec, const uint32_t *spec, uint64_t *out) {
	VkSpecializationMapEntry *me = NULL;
	uint32_t *data = NULL;
	VkSpecializationInfo si;
	memset(&si, 0, sizeof si);
	if (nspec) {
		me = calloc(nspec, sizeof *me);
		data = malloc((size_t)nspec * 4);
		if (!me || !data) {
			free(me);
			free(data);
			return VK_ERROR_OUT_OF_HOST_MEMORY;
		}
		memcpy(data, spec, (size_t)nspec * 4);
		for (uint32_t i = 0; i < nspec; i++) {
			me[i].constantID = i;
			me[i].offset = 4 * i;
			me[i].size = 4;
		}
		si.mapEntryCount = nspec;
		si.pMapEntries = me;
		si.dataSize = (size_t)nspec * 4;
		si.pData = data;
	}
	VkComputePipelineCreateInfo ci = {VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
	ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
	ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
	ci.stage.module = H(VkShaderModule, module);
	ci.stage.pName = entry;
	ci.stage.pSpecializationInfo = nspec ? &si : NULL;
	ci.layout = H(VkPipelineLayout, layout);
	VkPipeline p = VK_NULL_HANDLE;
	VkResult r = DT->CreateComputePipelines(DEV, VK_NULL_HANDLE, 1, &ci, NULL, &p);
	free(me);
	free(data);
	*out = U64(p);
	return r;
}

static void qvk_destroy_pipeline(uintptr_t tab, uintptr_t dev, uint64_t p) { DT->DestroyPipeline(DEV, H(VkPipeline, p), NULL); }

static VkResult qvk_create_descriptor_pool(uintptr_t tab, uintptr_t dev, uint32_t maxSets, uint32_t nStorage, uint32_t flags, uint64_t *out) {
	VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, nStorage ? nStorage : 1};
	VkDescriptorPoolCreateInfo ci = {VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
	ci.flags = flags;
	ci.maxSets = maxSets;
	ci.poolSizeCount = 1;
	ci.pPoolSizes = &ps;
	VkDescriptorPool p = VK_NULL_HANDLE;
	VkResult r = DT->CreateDescriptorPool(DEV, &ci, NULL, &p);
	*out = U64(p);
	return r;
}

static void qvk_destroy_descriptor_pool(uintptr_t tab, uintptr_t dev, uint64_t p) { DT->DestroyDescriptorPool(DEV, H(VkDescriptorPool, p), NULL); }
static VkResult qvk_reset_descriptor_pool(uintptr_t tab, uintptr_t dev, uint64_t p) { return DT->ResetDescriptorPool(DEV, H(VkDescriptorPool, p), 0); }

static VkResult qvk_allocate_descriptor_set(uintptr_t tab, uintptr_t dev, uint64_t pool, uint64_t layout, uint64_t *out) {
	VkDescriptorSetLayout l = H(VkDescriptorSetLayout, layout);
	VkDescriptorSetAllocateInfo ai = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
	ai.descriptorPool = H(VkDescriptorPool, pool);
	ai.descriptorSetCount = 1;
	ai.pSetLayouts = &l;
	VkDescriptorSet s = VK_NULL_HANDLE;
	VkResult r = DT->AllocateDescriptorSets(DEV, &ai, &s);
	*out = U64(s);
	return r;
}

// qvk_update_storage writes n storage-buffer descriptors at bindings 0..n-1;
// infos holds 3 words per binding: buffer, offset, range.
static VkResult qvk_update_storage(uintptr_t tab, uintptr_t dev, uint64_t set, uint32_t n, const uint64_t *infos) {
	if (n == 0) return VK_SUCCESS;
	VkDescriptorBufferInfo *bi = calloc(n, sizeof *bi);
	VkWriteDescriptorSet *w = calloc(n, sizeof *w);
	if (!bi || !w) {
		free(bi);
		free(w);
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	}
	for (uint32_t i = 0; i < n; i++) {
		bi[i].buffer = H(VkBuffer, infos[3 * i]);
		bi[i].offset = infos[3 * i + 1];
		bi[i].range = infos[3 * i + 2];
		w[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
		w[i].dstSet = H(VkDescriptorSet, set);
		w[i].dstBinding = i;
		w[i].descriptorCount = 1;
		w[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
		w[i].pBufferInfo = &bi[i];
	}
	DT->UpdateDescriptorSets(DEV, n, w, 0, NULL);
	free(bi);
	free(w);
	return VK_SUCCESS;
}

static VkResult qvk_create_command_pool(uintptr_t tab, uintptr_t dev, uint32_t fam, uint32_t flags, uint64_t *out) {
	VkCommandPoolCreateInfo ci = {VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
	ci.flags = flags;
	ci.queueFamilyIndex = fam;
	VkCommandPool p = VK_NULL_HANDLE;
	VkResult r = DT->CreateCommandPool(DEV, &ci, NULL, &p);
	*out = U64(p);
	return r;
}

static void qvk_destroy_command_pool(uintptr_t tab, uintptr_t dev, uint64_t p) { DT->DestroyCommandPool(DEV, H(VkCommandPool, p), NULL); }
static VkResult qvk_reset_command_pool(uintptr_t tab, uintptr_t dev, uint64_t p) { return DT->ResetCommandPool(DEV, H(VkCommandPool, p), 0); }

static VkResult qvk_allocate_command_buffer(uintptr_t tab, uintptr_t dev, uint64_t pool, uintptr_t *out) {
	VkCommandBufferAllocateInfo ai = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
	ai.commandPool = H(VkCommandPool, pool);
	ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
	ai.commandBufferCount = 1;
	VkCommandBuffer c = VK_NULL_HANDLE;
	VkResult r = DT->AllocateCommandBuffers(DEV, &ai, &c);
	*out = (uintptr_t)c;
	return r;
}

static void qvk_free_command_buffer(uintptr_t tab, uintptr_t dev, uint64_t pool, uintptr_t cb) {
	VkCommandBuffer c = CB;
	DT->FreeCommandBuffers(DEV, H(VkCommandPool, pool), 1, &c);
}

static VkResult qvk_begin(uintptr_t tab, uintptr_t cb) {
	VkCommandBufferBeginInfo bi = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
	bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
	return DT->BeginCommandBuffer(CB, &bi);
}

static VkResult qvk_end(uintptr_t tab, uintptr_t cb) { return DT->EndCommandBuffer(CB); }

static void qvk_cmd_bind_pipeline(uintptr_t tab, uintptr_t cb, uint64_t p) {
	DT->CmdBindPipeline(CB, VK_PIPELINE_BIND_POINT_COMPUTE, H(VkPipeline, p));
}

static void qvk_cmd_bind_set(uintptr_t tab, uintptr_t cb, uint64_t layout, uint64_t set) {
	VkDescriptorSet s = H(VkDescriptorSet, set);
	DT->CmdBindDescriptorSets(CB, VK_PIPELINE_BIND_POINT_COMPUTE, H(VkPipelineLayout, layout), 0, 1, &s, 0, NULL);
}

static void qvk_cmd_push_constants(uintptr_t tab, uintptr_t cb, uint64_t layout, uint32_t off, uint32_t size, const void *data) {
	DT->CmdPushConstants(CB, H(VkPipelineLayout, layout), VK_SHADER_STAGE_COMPUTE_BIT, off, size, data);
}

static void qvk_cmd_dispatch(uintptr_t tab, uintptr_t cb, uint32_t x, uint32_t y, uint32_t z) { DT->CmdDispatch(CB, x, y, z); }

static void qvk_cmd_memory_barrier(uintptr_t tab, uintptr_t cb, uint32_t srcStage, uint32_t dstStage, uint32_t srcAccess, uint32_t dstAccess) {
	VkMemoryBarrier b = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
	b.srcAccessMask = srcAccess;
	b.dstAccessMask = dstAccess;
	DT->CmdPipelineBarrier(CB, srcStage, dstStage, 0, 1, &b, 0, NULL, 0, NULL);
}

static void qvk_cmd_buffer_barrier(uintptr_t tab, uintptr_t cb, uint32_t srcStage, uint32_t dstStage, uint32_t srcAccess, uint32_t dstAccess,
		uint64_t buf, uint64_t off, uint64_t size) {
	VkBufferMemoryBarrier b = {VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER};
	b.srcAccessMask = srcAccess;
	b.dstAccessMask = dstAccess;
	b.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
	b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
	b.buffer = H(VkBuffer, buf);
	b.offset = off;
	b.size = size;
	DT->CmdPipelineBarrier(CB, srcStage, dstStage, 0, 0, NULL, 1, &b, 0, NULL);
}

static void qvk_cmd_copy_buffer(uintptr_t tab, uintptr_t cb, uint64_t src, uint64_t dst, uint64_t srcOff, uint64_t dstOff, uint64_t size) {
	VkBufferCopy c = {srcOff, dstOff, size};
	DT->CmdCopyBuffer(CB, H(VkBuffer, src), H(VkBuffer, dst), 1, &c);
}

static void qvk_cmd_fill_buffer(uintptr_t tab, uintptr_t cb, uint64_t buf, uint64_t off, uint64_t size, uint32_t data) {
	DT->CmdFillBuffer(CB, H(VkBuffer, buf), off, size, data);
}

static VkResult qvk_create_timestamp_pool(uintptr_t tab, uintptr_t dev, uint32_t count, uint64_t *out) {
	VkQueryPoolCreateInfo ci = {VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
	ci.queryType = VK_QUERY_TYPE_TIMESTAMP;
	ci.queryCount = count;
	VkQueryPool p = VK_NULL_HANDLE;
	VkResult r = DT->CreateQueryPool(DEV, &ci, NULL, &p);
	*out = U64(p);
	return r;
}

static void qvk_destroy_query_pool(uintptr_t tab, uintptr_t dev, uint64_t p) { DT->DestroyQueryPool(DEV, H(VkQueryPool, p), NULL); }

static void qvk_cmd_reset_query_pool(uintptr_t tab, uintptr_t cb, uint64_t p, uint32_t first, uint32_t count) {
	DT->CmdResetQueryPool(CB, H(VkQueryPool, p), first, count);
}

static void qvk_cmd_write_timestamp(uintptr_t tab, uintptr_t cb, uint32_t stage, uint64_t p, uint32_t q) {
	DT->CmdWriteTimestamp(CB, (VkPipelineStageFlagBits)stage, H(VkQueryPool, p), q);
}

static VkResult qvk_get_timestamps(uintptr_t tab, uintptr_t dev, uint64_t p, uint32_t first, uint32_t count, uint64_t *out) {
	return DT->GetQueryPoolResults(DEV, H(VkQueryPool, p), first, count, (size_t)count * 8, out, 8,
		VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
}

static VkResult qvk_create_fence(uintptr_t tab, uintptr_t dev, int signaled, uint64_t *out) {
	VkFenceCreateInfo ci = {VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
	if (signaled) ci.flags = VK_FENCE_CREATE_SIGNALED_BIT;
	VkFence f = VK_NULL_HANDLE;
	VkResult r = DT->CreateFence(DEV, &ci, NULL, &f);
	*out = U64(f);
	return r;
}

static void qvk_destroy_fence(uintptr_t tab, uintptr_t dev, uint64_t f) { DT->DestroyFence(DEV, H(VkFence, f), NULL); }

static VkResult qvk_wait_fence(uintptr_t tab, uintptr_t dev, uint64_t f, uint64_t timeout) {
	VkFence fe = H(VkFence, f);
	return DT->WaitForFences(DEV, 1, &fe, VK_TRUE, timeout);
}

static VkResult qvk_reset_fence(uintptr_t tab, uintptr_t dev, uint64_t f) {
	VkFence fe = H(VkFence, f);
	return DT->ResetFences(DEV, 1, &fe);
}

static VkResult qvk_fence_status(uintptr_t tab, uintptr_t dev, uint64_t f) { return DT->GetFenceStatus(DEV, H(VkFence, f)); }

static VkResult qvk_queue_submit(uintptr_t tab, uintptr_t q, uintptr_t cb, uint64_t fence) {
	VkCommandBuffer c = CB;
	VkSubmitInfo si = {VK_STRUCTURE_TYPE_SUBMIT_INFO};
	if (cb) {
		si.commandBufferCount = 1;
		si.pCommandBuffers = &c;
	}
	return DT->QueueSubmit(H(VkQueue, q), 1, &si, H(VkFence, fence));
}

static VkResult qvk_queue_wait_idle(uintptr_t tab, uintptr_t q) { return DT->QueueWaitIdle(H(VkQueue, q)); }

// qvk_record_dispatch records, in one call: an optional compute->compute
// memory barrier, an optional "begin" timestamp, bind pipeline, bind set 0
// (if set != 0), push constants (if pushLen > 0), dispatch, an optional "end"
// timestamp. Timestamps are written at queries q and q+1 when qpool != 0.
static void qvk_record_dispatch(uintptr_t tab, uintptr_t cb, int barrier, uint64_t pipe, uint64_t layout, uint64_t set,
		const void *push, uint32_t pushLen, uint32_t x, uint32_t y, uint32_t z, uint64_t qpool, uint32_t q) {
	qvk_dtab *t = DT;
	VkCommandBuffer c = CB;
	if (barrier) {
		VkMemoryBarrier b = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
		b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
		b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
		t->CmdPipelineBarrier(c, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
			VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &b, 0, NULL, 0, NULL);
	}
	if (qpool) t->CmdWriteTimestamp(c, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, H(VkQueryPool, qpool), q);
	t->CmdBindPipeline(c, VK_PIPELINE_BIND_POINT_COMPUTE, H(VkPipeline, pipe));
	if (set) {
		VkDescriptorSet s = H(VkDescriptorSet, set);
		t->CmdBindDescriptorSets(c, VK_PIPELINE_BIND_POINT_COMPUTE, H(VkPipelineLayout, layout), 0, 1, &s, 0, NULL);
	}
	if (pushLen) t->CmdPushConstants(c, H(VkPipelineLayout, layout), VK_SHADER_STAGE_COMPUTE_BIT, 0, pushLen, push);
	t->CmdDispatch(c, x, y, z);
	if (qpool) t->CmdWriteTimestamp(c, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, H(VkQueryPool, qpool), q + 1);
}

// qvk_allocate_storage_set allocates a set from pool with layout and writes
// n storage-buffer descriptors (3 words each in infos) in one call.
static VkResult qvk_allocate_storage_set(uintptr_t tab, uintptr_t dev, uint64_t pool, uint64_t layout,
		uint32_t n, const uint64_t *infos, uint64_t *out) {
	VkResult r = qvk_allocate_descriptor_set(tab, dev, pool, layout, out);
	if (r != VK_SUCCESS) return r;
	return qvk_update_storage(tab, dev, *out, n, infos);
}
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// LoaderName is the library [Init] opens.
const LoaderName = "libvulkan.so.1"

var (
	initOnce sync.Once
	initErr  error
)

// Init opens the Vulkan loader (libvulkan.so.1) once per process. It returns
// a *LoaderError when the library is missing or lacks vkGetInstanceProcAddr.
// The result of the first call is remembered.
func Init() error {
	initOnce.Do(func() { initErr = load(LoaderName) })
	return initErr
}

// load opens the named library as the loader. It is the test hook for the
// missing-loader path: a failure leaves the process state unchanged.
func load(name string) error {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var buf [512]byte
	rc := C.qvk_open(cname, (*C.char)(unsafe.Pointer(&buf[0])), C.int(len(buf)))
	if rc != 0 {
		return &LoaderError{Library: name, Reason: cstr(buf[:])}
	}
	return nil
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func cbool(v C.uint32_t) bool { return v != 0 }

func b2u(v bool) C.uint32_t {
	if v {
		return 1
	}
	return 0
}

// cStrings copies ss into a malloc'd array of malloc'd C strings and returns
// it with the function that frees all of it.
func cStrings(ss []string) (**C.char, func()) {
	if len(ss) == 0 {
		return nil, func() {}
	}
	p := C.calloc(C.size_t(len(ss)), C.size_t(unsafe.Sizeof(uintptr(0))))
	arr := unsafe.Slice((**C.char)(p), len(ss))
	for i, s := range ss {
		arr[i] = C.CString(s)
	}
	return (**C.char)(p), func() {
		for i := range arr {
			C.free(unsafe.Pointer(arr[i]))
		}
		C.free(p)
	}
}

// InstanceVersion is the highest instance API version the loader supports
// (vkEnumerateInstanceVersion; 1.0 if absent). Init must have succeeded.
func InstanceVersion() uint32 {
	if Init() != nil {
		return 0
	}
	return uint32(C.qvk_instance_version())
}

// InstanceExtensions lists the instance extensions the loader offers.
func InstanceExtensions() ([]string, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	n := C.qvk_enum_instance_extensions(nil, 0)
	if n < 0 {
		return nil, check("vkEnumerateInstanceExtensionProperties", Result(n))
	}
	return extNames(func(buf *C.char, max C.int) C.int { return C.qvk_enum_instance_extensions(buf, max) }, int(n), "vkEnumerateInstanceExtensionProperties")
}

func extNames(f func(*C.char, C.int) C.int, n int, fn string) ([]string, error) {
	const sz = C.VK_MAX_EXTENSION_NAME_SIZE
	for {
		if n == 0 {
			return nil, nil
		}
		buf := make([]byte, (n+4)*sz)
		got := f((*C.char)(unsafe.Pointer(&buf[0])), C.int(n+4))
		if got < 0 {
			return nil, check(fn, Result(got))
		}
		if int(got) > n+4 { // grew between calls
			n = int(got)
			continue
		}
		names := make([]string, int(got))
		for i := range names {
			names[i] = cstr(buf[i*sz : (i+1)*sz])
		}
		return names, nil
	}
}

// CreateInstance creates a VkInstance asking for apiVersion (use
// [InstanceVersion] capped at what you need) with the given extensions and
// layers.
func CreateInstance(app string, apiVersion uint32, extensions, layers []string) (*Instance, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	capp := C.CString(app)
	defer C.free(unsafe.Pointer(capp))
	exts, freeExts := cStrings(extensions)
	defer freeExts()
	lays, freeLays := cStrings(layers)
	defer freeLays()
	var h, tab C.uintptr_t
	var miss [128]byte
	r := Result(C.qvk_create_instance(capp, C.uint32_t(apiVersion), C.uint32_t(len(extensions)), exts,
		C.uint32_t(len(layers)), lays, &h, &tab, (*C.char)(unsafe.Pointer(&miss[0])), C.int(len(miss))))
	if r != Success {
		err := check("vkCreateInstance", r)
		if m := cstr(miss[:]); m != "" {
			err = fmt.Errorf("vulkan: instance function %s not found: %w", m, err)
		}
		return nil, withICD(err)
	}
	return &Instance{h: uintptr(h), tab: uintptr(tab), APIVersion: apiVersion}, nil
}

// Destroy destroys the instance. Safe to call on a nil or destroyed
// instance.
func (in *Instance) Destroy() {
	if in == nil || in.h == 0 {
		return
	}
	C.qvk_destroy_instance(C.uintptr_t(in.tab), C.uintptr_t(in.h))
	in.h, in.tab = 0, 0
}

// PhysicalDevices enumerates the physical devices of the instance.
func (in *Instance) PhysicalDevices() ([]PhysicalDevice, error) {
	var n C.uint32_t
	if r := Result(C.qvk_enum_physical_devices(C.uintptr_t(in.tab), C.uintptr_t(in.h), &n, nil, 0)); r != Success {
		return nil, check("vkEnumeratePhysicalDevices", r)
	}
	for {
		if n == 0 {
			return nil, nil
		}
		max := n + 2
		hs := make([]C.uintptr_t, max)
		if r := Result(C.qvk_enum_physical_devices(C.uintptr_t(in.tab), C.uintptr_t(in.h), &n, &hs[0], max)); r != Success {
			return nil, check("vkEnumeratePhysicalDevices", r)
		}
		if n > max {
			continue
		}
		out := make([]PhysicalDevice, n)
		for i := range out {
			out[i] = PhysicalDevice{h: uintptr(hs[i]), inst: in}
		}
		return out, nil
	}
}

// Properties returns the device properties; chain selects the extension
// structures to query (see [Chain]; only those the device supports).
func (pd PhysicalDevice) Properties(chain Chain) Properties {
	var p C.qvk_props
	C.qvk_get_properties(C.uintptr_t(pd.inst.tab), C.uintptr_t(pd.h), C.uint32_t(chain), &p)
	o := Properties{
		APIVersion:    uint32(p.apiVersion),
		DriverVersion: uint32(p.driverVersion),
		VendorID:      uint32(p.vendorID),
		DeviceID:      uint32(p.deviceID),
		Type:          PhysicalDeviceType(p._type),
		Name:          C.GoString(&p.name[0]),
		Limits: Limits{
			MaxComputeSharedMemorySize:          uint32(p.maxComputeSharedMemorySize),
			MaxComputeWorkGroupInvocations:      uint32(p.maxComputeWorkGroupInvocations),
			MaxStorageBufferRange:               uint32(p.maxStorageBufferRange),
			MinStorageBufferOffsetAlignment:     uint64(p.minStorageBufferOffsetAlignment),
			MaxPushConstantsSize:                uint32(p.maxPushConstantsSize),
			MaxBoundDescriptorSets:              uint32(p.maxBoundDescriptorSets),
			MaxPerStageDescriptorStorageBuffers: uint32(p.maxPerStageDescriptorStorageBuffers),
			MaxDescriptorSetStorageBuffers:      uint32(p.maxDescriptorSetStorageBuffers),
			MaxMemoryAllocationCount:            uint32(p.maxMemoryAllocationCount),
			MaxMemoryAllocationSize:             uint64(p.maxMemoryAllocationSize),
			NonCoherentAtomSize:                 uint64(p.nonCoherentAtomSize),
			TimestampComputeAndGraphics:         cbool(p.timestampComputeAndGraphics),
			TimestampPeriod:                     float32(p.timestampPeriod),
		},
		DriverID:                                 uint32(p.driverID),
		DriverName:                               C.GoString(&p.driverName[0]),
		DriverInfo:                               C.GoString(&p.driverInfo[0]),
		SubgroupSize:                             uint32(p.subgroupSize),
		SubgroupSupportedStages:                  uint32(p.subgroupStages),
		SubgroupSupportedOps:                     uint32(p.subgroupOps),
		MinSubgroupSize:                          uint32(p.minSubgroupSize),
		MaxSubgroupSize:                          uint32(p.maxSubgroupSize),
		FloatControls:                            cbool(p.floatControls),
		RoundingModeRTEFloat32:                   cbool(p.rteF32),
		RoundingModeRTZFloat32:                   cbool(p.rtzF32),
		DenormPreserveFloat32:                    cbool(p.denormPreserveF32),
		DenormFlushToZeroFloat32:                 cbool(p.denormFtzF32),
		SignedZeroInfNanPreserveFloat32:          cbool(p.szInfNanF32),
		IntegerDotProduct8BitSignedAccelerated:   cbool(p.dot8s),
		IntegerDotProduct8BitUnsignedAccelerated: cbool(p.dot8u),
		IntegerDotProduct8BitMixedSignednessAccelerated:         cbool(p.dot8m),
		IntegerDotProduct4x8BitPackedSignedAccelerated:          cbool(p.dot4x8s),
		IntegerDotProduct4x8BitPackedUnsignedAccelerated:        cbool(p.dot4x8u),
		IntegerDotProduct4x8BitPackedMixedSignednessAccelerated: cbool(p.dot4x8m),
	}
	for i := 0; i < 3; i++ {
		o.Limits.MaxComputeWorkGroupSize[i] = uint32(p.maxComputeWorkGroupSize[i])
		o.Limits.MaxComputeWorkGroupCount[i] = uint32(p.maxComputeWorkGroupCount[i])
	}
	return o
}

// Features returns the optional features the device reports; chain selects
// the extension structures to query.
func (pd PhysicalDevice) Features(chain Chain) Features {
	var f C.qvk_feats
	C.qvk_get_features(C.uintptr_t(pd.inst.tab), C.uintptr_t(pd.h), C.uint32_t(chain), &f)
	return featsFromC(&f)
}

func featsFromC(f *C.qvk_feats) Features {
	return Features{
		ShaderInt64:                       cbool(f.int64),
		ShaderInt16:                       cbool(f.int16),
		ShaderInt8:                        cbool(f.int8),
		ShaderFloat16:                     cbool(f.float16),
		StorageBuffer8BitAccess:           cbool(f.sb8),
		UniformAndStorageBuffer8BitAccess: cbool(f.usb8),
		StorageBuffer16BitAccess:          cbool(f.sb16),
		ShaderIntegerDotProduct:           cbool(f.dot),
		SubgroupSizeControl:               cbool(f.sgsc),
		ComputeFullSubgroups:              cbool(f.fullsg),
	}
}

func featsToC(f Features) C.qvk_feats {
	return C.qvk_feats{
		int64: b2u(f.ShaderInt64), int16: b2u(f.ShaderInt16), int8: b2u(f.ShaderInt8), float16: b2u(f.ShaderFloat16),
		sb8: b2u(f.StorageBuffer8BitAccess), usb8: b2u(f.UniformAndStorageBuffer8BitAccess),
		sb16: b2u(f.StorageBuffer16BitAccess), dot: b2u(f.ShaderIntegerDotProduct),
		sgsc: b2u(f.SubgroupSizeControl), fullsg: b2u(f.ComputeFullSubgroups),
	}
}

// QueueFamilies returns the queue family properties.
func (pd PhysicalDevice) QueueFamilies() []QueueFamily {
	n := C.qvk_queue_families(C.uintptr_t(pd.inst.tab), C.uintptr_t(pd.h), nil, 0)
	if n == 0 {
		return nil
	}
	w := make([]C.uint32_t, 3*n)
	n = C.qvk_queue_families(C.uintptr_t(pd.inst.tab), C.uintptr_t(pd.h), &w[0], n)
	out := make([]QueueFamily, n)
	for i := range out {
		out[i] = QueueFamily{Flags: uint32(w[3*i]), Count: uint32(w[3*i+1]), TimestampValidBits: uint32(w[3*i+2])}
	}
	return out
}

// MemoryProperties returns the memory types and heaps.
func (pd PhysicalDevice) MemoryProperties() MemoryProperties {
	var m C.qvk_memprops
	C.qvk_memory_properties(C.uintptr_t(pd.inst.tab), C.uintptr_t(pd.h), &m)
	var o MemoryProperties
	for i := 0; i < int(m.ntypes); i++ {
		o.Types = append(o.Types, MemoryType{Flags: uint32(m.typeFlags[i]), HeapIndex: uint32(m.typeHeap[i])})
	}
	for i := 0; i < int(m.nheaps); i++ {
		o.Heaps = append(o.Heaps, MemoryHeap{Size: uint64(m.heapSize[i]), Flags: uint32(m.heapFlags[i])})
	}
	return o
}

// Extensions lists the device extensions.
func (pd PhysicalDevice) Extensions() ([]string, error) {
	tab, h := C.uintptr_t(pd.inst.tab), C.uintptr_t(pd.h)
	n := C.qvk_enum_device_extensions(tab, h, nil, 0)
	if n < 0 {
		return nil, check("vkEnumerateDeviceExtensionProperties", Result(n))
	}
	return extNames(func(buf *C.char, max C.int) C.int { return C.qvk_enum_device_extensions(tab, h, buf, max) }, int(n), "vkEnumerateDeviceExtensionProperties")
}

// CreateDevice creates a logical device with one queue from queueFamily,
// the given extensions, and the features in f (only structures selected by
// chain are passed; the caller must only enable what the device reports).
func (pd PhysicalDevice) CreateDevice(queueFamily uint32, extensions []string, f Features, chain Chain) (*Device, error) {
	exts, freeExts := cStrings(extensions)
	defer freeExts()
	cf := featsToC(f)
	var h, tab C.uintptr_t
	var miss [128]byte
	r := Result(C.qvk_create_device(C.uintptr_t(pd.inst.tab), C.uintptr_t(pd.h), C.uint32_t(queueFamily),
		C.uint32_t(len(extensions)), exts, &cf, C.uint32_t(chain), &h, &tab,
		(*C.char)(unsafe.Pointer(&miss[0])), C.int(len(miss))))
	if r != Success {
		err := check("vkCreateDevice", r)
		if m := cstr(miss[:]); m != "" {
			err = fmt.Errorf("vulkan: device function %s not found: %w", m, err)
		}
		return nil, err
	}
	return &Device{h: uintptr(h), tab: uintptr(tab)}, nil
}

func (d *Device) t() C.uintptr_t { return C.uintptr_t(d.tab) }
func (d *Device) d() C.uintptr_t { return C.uintptr_t(d.h) }

// Destroy destroys the device (vkDestroyDevice). Safe on nil or twice.
func (d *Device) Destroy() {
	if d == nil || d.h == 0 {
		return
	}
	C.qvk_destroy_device(d.t(), d.d())
	d.h, d.tab = 0, 0
}

// Queue returns queue index of family (vkGetDeviceQueue).
func (d *Device) Queue(family, index uint32) Queue {
	return Queue(C.qvk_get_queue(d.t(), d.d(), C.uint32_t(family), C.uint32_t(index)))
}

// WaitIdle is vkDeviceWaitIdle.
func (d *Device) WaitIdle() error {
	return check("vkDeviceWaitIdle", Result(C.qvk_device_wait_idle(d.t(), d.d())))
}

// CreateBuffer is vkCreateBuffer (exclusive sharing).
func (d *Device) CreateBuffer(size uint64, usage uint32) (Buffer, error) {
	var b C.uint64_t
	r := Result(C.qvk_create_buffer(d.t(), d.d(), C.uint64_t(size), C.uint32_t(usage), &b))
	return Buffer(b), check("vkCreateBuffer", r)
}

// DestroyBuffer is vkDestroyBuffer.
func (d *Device) DestroyBuffer(b Buffer) { C.qvk_destroy_buffer(d.t(), d.d(), C.uint64_t(b)) }

// BufferMemoryRequirements is vkGetBufferMemoryRequirements.
func (d *Device) BufferMemoryRequirements(b Buffer) MemoryRequirements {
	var size, align C.uint64_t
	var bits C.uint32_t
	C.qvk_buffer_requirements(d.t(), d.d(), C.uint64_t(b), &size, &align, &bits)
	return MemoryRequirements{Size: uint64(size), Alignment: uint64(align), TypeBits: uint32(bits)}
}

// AllocateMemory is vkAllocateMemory.
func (d *Device) AllocateMemory(size uint64, typeIndex uint32) (DeviceMemory, error) {
	var m C.uint64_t
	r := Result(C.qvk_allocate_memory(d.t(), d.d(), C.uint64_t(size), C.uint32_t(typeIndex), &m))
	return DeviceMemory(m), check("vkAllocateMemory", r)
}

// FreeMemory is vkFreeMemory.
func (d *Device) FreeMemory(m DeviceMemory) { C.qvk_free_memory(d.t(), d.d(), C.uint64_t(m)) }

// MapMemory maps size bytes at off (vkMapMemory) and returns them as a byte
// slice over driver memory. The slice is valid until UnmapMemory or
// FreeMemory; size must not be WholeSize.
func (d *Device) MapMemory(m DeviceMemory, off, size uint64) ([]byte, error) {
	var r C.VkResult
	p := C.qvk_map_memory(d.t(), d.d(), C.uint64_t(m), C.uint64_t(off), C.uint64_t(size), &r)
	if err := check("vkMapMemory", Result(r)); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, check("vkMapMemory", ErrorMemoryMapFailed)
	}
	return unsafe.Slice((*byte)(p), size), nil
}

// UnmapMemory is vkUnmapMemory.
func (d *Device) UnmapMemory(m DeviceMemory) { C.qvk_unmap_memory(d.t(), d.d(), C.uint64_t(m)) }

// BindBufferMemory is vkBindBufferMemory.
func (d *Device) BindBufferMemory(b Buffer, m DeviceMemory, off uint64) error {
	return check("vkBindBufferMemory", Result(C.qvk_bind_buffer_memory(d.t(), d.d(), C.uint64_t(b), C.uint64_t(m), C.uint64_t(off))))
}

// FlushMappedMemory is vkFlushMappedMemoryRanges for one range.
func (d *Device) FlushMappedMemory(m DeviceMemory, off, size uint64) error {
	return check("vkFlushMappedMemoryRanges", Result(C.qvk_flush_invalidate(d.t(), d.d(), C.uint64_t(m), C.uint64_t(off), C.uint64_t(size), 0)))
}

// InvalidateMappedMemory is vkInvalidateMappedMemoryRanges for one range.
func (d *Device) InvalidateMappedMemory(m DeviceMemory, off, size uint64) error {
	return check("vkInvalidateMappedMemoryRanges", Result(C.qvk_flush_invalidate(d.t(), d.d(), C.uint64_t(m), C.uint64_t(off), C.uint64_t(size), 1)))
}

// CreateShaderModule is vkCreateShaderModule; code is SPIR-V words (copied
// to C memory inside the call).
func (d *Device) CreateShaderModule(code []uint32) (ShaderModule, error) {
	if len(code) == 0 {
		return 0, check("vkCreateShaderModule", ErrorInitializationFailed)
	}
	var m C.uint64_t
	r := Result(C.qvk_create_shader_module(d.t(), d.d(), (*C.uint32_t)(unsafe.Pointer(&code[0])), C.uint64_t(len(code)), &m))
	return ShaderModule(m), check("vkCreateShaderModule", r)
}

// DestroyShaderModule is vkDestroyShaderModule.
func (d *Device) DestroyShaderModule(m ShaderModule) {
	C.qvk_destroy_shader_module(d.t(), d.d(), C.uint64_t(m))
}

// CreateStorageSetLayout creates a descriptor set layout with n storage
// buffers at bindings 0..n-1 for the compute stage.
func (d *Device) CreateStorageSetLayout(n int) (DescriptorSetLayout, error) {
	var l C.uint64_t
	r := Result(C.qvk_create_storage_set_layout(d.t(), d.d(), C.uint32_t(n), &l))
	return DescriptorSetLayout(l), check("vkCreateDescriptorSetLayout", r)
}

// DestroyDescriptorSetLayout is vkDestroyDescriptorSetLayout.
func (d *Device) DestroyDescriptorSetLayout(l DescriptorSetLayout) {
	C.qvk_destroy_set_layout(d.t(), d.d(), C.uint64_t(l))
}

// CreatePipelineLayout makes a layout with set 0 = setLayout (none if 0) and
// a compute push-constant range [0, pushBytes) (none if 0).
func (d *Device) CreatePipelineLayout(setLayout DescriptorSetLayout, pushBytes uint32) (PipelineLayout, error) {
	var l C.uint64_t
	r := Result(C.qvk_create_pipeline_layout(d.t(), d.d(), C.uint64_t(setLayout), C.uint32_t(pushBytes), &l))
	return PipelineLayout(l), check("vkCreatePipelineLayout", r)
}

// DestroyPipelineLayout is vkDestroyPipelineLayout.
func (d *Device) DestroyPipelineLayout(l PipelineLayout) {
	C.qvk_destroy_pipeline_layout(d.t(), d.d(), C.uint64_t(l))
}

// CreateComputePipeline creates one compute pipeline. spec[i] is the value
// of specialization constant constant_id = i (4 bytes each).
func (d *Device) CreateComputePipeline(m ShaderModule, layout PipelineLayout, entry string, spec []uint32) (Pipeline, error) {
	centry := C.CString(entry)
	defer C.free(unsafe.Pointer(centry))
	var sp *C.uint32_t
	if len(spec) > 0 {
		sp = (*C.uint32_t)(unsafe.Pointer(&spec[0]))
	}
	var p C.uint64_t
	r := Result(C.qvk_create_compute_pipeline(d.t(), d.d(), C.uint64_t(m), C.uint64_t(layout), centry, C.uint32_t(len(spec)), sp, &p))
	return Pipeline(p), check("vkCreateComputePipelines", r)
}

// DestroyPipeline is vkDestroyPipeline.
func (d *Device) DestroyPipeline(p Pipeline) { C.qvk_destroy_pipeline(d.t(), d.d(), C.uint64_t(p)) }

// CreateDescriptorPool makes a pool of maxSets sets holding up to nStorage
// storage-buffer descriptors in total.
func (d *Device) CreateDescriptorPool(maxSets, nStorage uint32, flags uint32) (DescriptorPool, error) {
	var p C.uint64_t
	r := Result(C.qvk_create_descriptor_pool(d.t(), d.d(), C.uint32_t(maxSets), C.uint32_t(nStorage), C.uint32_t(flags), &p))
	return DescriptorPool(p), check("vkCreateDescriptorPool", r)
}

// DestroyDescriptorPool is vkDestroyDescriptorPool.
func (d *Device) DestroyDescriptorPool(p DescriptorPool) {
	C.qvk_destroy_descriptor_pool(d.t(), d.d(), C.uint64_t(p))
}

// ResetDescriptorPool is vkResetDescriptorPool (frees all its sets).
func (d *Device) ResetDescriptorPool(p DescriptorPool) error {
	return check("vkResetDescriptorPool", Result(C.qvk_reset_descriptor_pool(d.t(), d.d(), C.uint64_t(p))))
}

// AllocateDescriptorSet is vkAllocateDescriptorSets for one set.
func (d *Device) AllocateDescriptorSet(p DescriptorPool, l DescriptorSetLayout) (DescriptorSet, error) {
	var s C.uint64_t
	r := Result(C.qvk_allocate_descriptor_set(d.t(), d.d(), C.uint64_t(p), C.uint64_t(l), &s))
	return DescriptorSet(s), check("vkAllocateDescriptorSets", r)
}

// infosPtr views a []BufferInfo as the 3-words-per-binding array C expects.
func infosPtr(infos []BufferInfo) *C.uint64_t {
	if len(infos) == 0 {
		return nil
	}
	return (*C.uint64_t)(unsafe.Pointer(&infos[0]))
}

// UpdateStorageBuffers writes infos[i] to binding i of set
// (vkUpdateDescriptorSets).
func (d *Device) UpdateStorageBuffers(s DescriptorSet, infos []BufferInfo) {
	C.qvk_update_storage(d.t(), d.d(), C.uint64_t(s), C.uint32_t(len(infos)), infosPtr(infos))
}

// AllocateStorageSet allocates a set and writes infos[i] to binding i, in
// one C call.
func (d *Device) AllocateStorageSet(p DescriptorPool, l DescriptorSetLayout, infos []BufferInfo) (DescriptorSet, error) {
	var s C.uint64_t
	r := Result(C.qvk_allocate_storage_set(d.t(), d.d(), C.uint64_t(p), C.uint64_t(l), C.uint32_t(len(infos)), infosPtr(infos), &s))
	return DescriptorSet(s), check("vkAllocateDescriptorSets", r)
}

// CreateCommandPool is vkCreateCommandPool.
func (d *Device) CreateCommandPool(family, flags uint32) (CommandPool, error) {
	var p C.uint64_t
	r := Result(C.qvk_create_command_pool(d.t(), d.d(), C.uint32_t(family), C.uint32_t(flags), &p))
	return CommandPool(p), check("vkCreateCommandPool", r)
}

// DestroyCommandPool is vkDestroyCommandPool.
func (d *Device) DestroyCommandPool(p CommandPool) {
	C.qvk_destroy_command_pool(d.t(), d.d(), C.uint64_t(p))
}

// ResetCommandPool is vkResetCommandPool.
func (d *Device) ResetCommandPool(p CommandPool) error {
	return check("vkResetCommandPool", Result(C.qvk_reset_command_pool(d.t(), d.d(), C.uint64_t(p))))
}

// AllocateCommandBuffer allocates one primary command buffer.
func (d *Device) AllocateCommandBuffer(p CommandPool) (CommandBuffer, error) {
	var cb C.uintptr_t
	r := Result(C.qvk_allocate_command_buffer(d.t(), d.d(), C.uint64_t(p), &cb))
	return CommandBuffer(cb), check("vkAllocateCommandBuffers", r)
}

// FreeCommandBuffer is vkFreeCommandBuffers for one buffer.
func (d *Device) FreeCommandBuffer(p CommandPool, cb CommandBuffer) {
	C.qvk_free_command_buffer(d.t(), d.d(), C.uint64_t(p), C.uintptr_t(cb))
}

// BeginCommandBuffer begins recording with ONE_TIME_SUBMIT.
func (d *Device) BeginCommandBuffer(cb CommandBuffer) error {
	return check("vkBeginCommandBuffer", Result(C.qvk_begin(d.t(), C.uintptr_t(cb))))
}

// EndCommandBuffer is vkEndCommandBuffer.
func (d *Device) EndCommandBuffer(cb CommandBuffer) error {
	return check("vkEndCommandBuffer", Result(C.qvk_end(d.t(), C.uintptr_t(cb))))
}

// CmdBindPipeline binds a compute pipeline.
func (d *Device) CmdBindPipeline(cb CommandBuffer, p Pipeline) {
	C.qvk_cmd_bind_pipeline(d.t(), C.uintptr_t(cb), C.uint64_t(p))
}

// CmdBindDescriptorSet binds s as compute set 0.
func (d *Device) CmdBindDescriptorSet(cb CommandBuffer, l PipelineLayout, s DescriptorSet) {
	C.qvk_cmd_bind_set(d.t(), C.uintptr_t(cb), C.uint64_t(l), C.uint64_t(s))
}

// CmdPushConstants pushes data at offset off for the compute stage.
func (d *Device) CmdPushConstants(cb CommandBuffer, l PipelineLayout, off uint32, data []byte) {
	if len(data) == 0 {
		return
	}
	C.qvk_cmd_push_constants(d.t(), C.uintptr_t(cb), C.uint64_t(l), C.uint32_t(off), C.uint32_t(len(data)), unsafe.Pointer(&data[0]))
}

// CmdDispatch is vkCmdDispatch.
func (d *Device) CmdDispatch(cb CommandBuffer, x, y, z uint32) {
	C.qvk_cmd_dispatch(d.t(), C.uintptr_t(cb), C.uint32_t(x), C.uint32_t(y), C.uint32_t(z))
}

// CmdMemoryBarrier records a pipeline barrier with one global memory barrier.
func (d *Device) CmdMemoryBarrier(cb CommandBuffer, srcStage, dstStage, srcAccess, dstAccess uint32) {
	C.qvk_cmd_memory_barrier(d.t(), C.uintptr_t(cb), C.uint32_t(srcStage), C.uint32_t(dstStage), C.uint32_t(srcAccess), C.uint32_t(dstAccess))
}

// CmdBufferBarrier records a pipeline barrier with one buffer memory barrier.
func (d *Device) CmdBufferBarrier(cb CommandBuffer, srcStage, dstStage, srcAccess, dstAccess uint32, b Buffer, off, size uint64) {
	C.qvk_cmd_buffer_barrier(d.t(), C.uintptr_t(cb), C.uint32_t(srcStage), C.uint32_t(dstStage), C.uint32_t(srcAccess), C.uint32_t(dstAccess),
		C.uint64_t(b), C.uint64_t(off), C.uint64_t(size))
}

// CmdCopyBuffer copies size bytes (one region).
func (d *Device) CmdCopyBuffer(cb CommandBuffer, src, dst Buffer, srcOff, dstOff, size uint64) {
	C.qvk_cmd_copy_buffer(d.t(), C.uintptr_t(cb), C.uint64_t(src), C.uint64_t(dst), C.uint64_t(srcOff), C.uint64_t(dstOff), C.uint64_t(size))
}

// CmdFillBuffer is vkCmdFillBuffer (off and size multiples of 4, or size
// WholeSize).
func (d *Device) CmdFillBuffer(cb CommandBuffer, b Buffer, off, size uint64, data uint32) {
	C.qvk_cmd_fill_buffer(d.t(), C.uintptr_t(cb), C.uint64_t(b), C.uint64_t(off), C.uint64_t(size), C.uint32_t(data))
}

// CmdRecordDispatch records, in one C call: an optional compute->compute
// (and transfer->compute) memory barrier, an optional begin timestamp at
// query q, bind pipeline, bind set 0 (if s != 0), push constants (if any),
// the dispatch, and an optional end timestamp at q+1 (timestamps when qp !=
// 0).
func (d *Device) CmdRecordDispatch(cb CommandBuffer, barrier bool, p Pipeline, l PipelineLayout, s DescriptorSet,
	push []byte, x, y, z uint32, qp QueryPool, q uint32) {
	var pp unsafe.Pointer
	if len(push) > 0 {
		pp = unsafe.Pointer(&push[0])
	}
	bar := C.int(0)
	if barrier {
		bar = 1
	}
	C.qvk_record_dispatch(d.t(), C.uintptr_t(cb), bar, C.uint64_t(p), C.uint64_t(l), C.uint64_t(s), pp, C.uint32_t(len(push)),
		C.uint32_t(x), C.uint32_t(y), C.uint32_t(z), C.uint64_t(qp), C.uint32_t(q))
}

// CreateTimestampPool creates a timestamp query pool of count queries.
func (d *Device) CreateTimestampPool(count uint32) (QueryPool, error) {
	var p C.uint64_t
	r := Result(C.qvk_create_timestamp_pool(d.t(), d.d(), C.uint32_t(count), &p))
	return QueryPool(p), check("vkCreateQueryPool", r)
}

// DestroyQueryPool is vkDestroyQueryPool.
func (d *Device) DestroyQueryPool(p QueryPool) { C.qvk_destroy_query_pool(d.t(), d.d(), C.uint64_t(p)) }

// CmdResetQueryPool is vkCmdResetQueryPool.
func (d *Device) CmdResetQueryPool(cb CommandBuffer, p QueryPool, first, count uint32) {
	C.qvk_cmd_reset_query_pool(d.t(), C.uintptr_t(cb), C.uint64_t(p), C.uint32_t(first), C.uint32_t(count))
}

// CmdWriteTimestamp is vkCmdWriteTimestamp.
func (d *Device) CmdWriteTimestamp(cb CommandBuffer, stage uint32, p QueryPool, q uint32) {
	C.qvk_cmd_write_timestamp(d.t(), C.uintptr_t(cb), C.uint32_t(stage), C.uint64_t(p), C.uint32_t(q))
}

// Timestamps reads len(out) 64-bit timestamps starting at query first,
// waiting for them (vkGetQueryPoolResults with WAIT).
func (d *Device) Timestamps(p QueryPool, first uint32, out []uint64) error {
	if len(out) == 0 {
		return nil
	}
	r := Result(C.qvk_get_timestamps(d.t(), d.d(), C.uint64_t(p), C.uint32_t(first), C.uint32_t(len(out)), (*C.uint64_t)(unsafe.Pointer(&out[0]))))
	return check("vkGetQueryPoolResults", r)
}

// CreateFence is vkCreateFence.
func (d *Device) CreateFence(signaled bool) (Fence, error) {
	var f C.uint64_t
	s := C.int(0)
	if signaled {
		s = 1
	}
	r := Result(C.qvk_create_fence(d.t(), d.d(), s, &f))
	return Fence(f), check("vkCreateFence", r)
}

// DestroyFence is vkDestroyFence.
func (d *Device) DestroyFence(f Fence) { C.qvk_destroy_fence(d.t(), d.d(), C.uint64_t(f)) }

// WaitFence waits up to timeoutNs for f. It returns (true, nil) when
// signaled, (false, nil) on timeout, or an error (e.g. device lost).
func (d *Device) WaitFence(f Fence, timeoutNs uint64) (bool, error) {
	r := Result(C.qvk_wait_fence(d.t(), d.d(), C.uint64_t(f), C.uint64_t(timeoutNs)))
	switch r {
	case Success:
		return true, nil
	case Timeout:
		return false, nil
	}
	return false, check("vkWaitForFences", r)
}

// FenceSignaled is vkGetFenceStatus: (true, nil) signaled, (false, nil) not
// ready, or an error.
func (d *Device) FenceSignaled(f Fence) (bool, error) {
	r := Result(C.qvk_fence_status(d.t(), d.d(), C.uint64_t(f)))
	switch r {
	case Success:
		return true, nil
	case NotReady:
		return false, nil
	}
	return false, check("vkGetFenceStatus", r)
}

// ResetFence is vkResetFences for one fence.
func (d *Device) ResetFence(f Fence) error {
	return check("vkResetFences", Result(C.qvk_reset_fence(d.t(), d.d(), C.uint64_t(f))))
}

// QueueSubmit submits one command buffer (none if cb is 0) signalling fence
// (none if 0). The caller serializes access to q.
func (d *Device) QueueSubmit(q Queue, cb CommandBuffer, f Fence) error {
	return check("vkQueueSubmit", Result(C.qvk_queue_submit(d.t(), C.uintptr_t(q), C.uintptr_t(cb), C.uint64_t(f))))
}

// QueueWaitIdle is vkQueueWaitIdle.
func (d *Device) QueueWaitIdle(q Queue) error {
	return check("vkQueueWaitIdle", Result(C.qvk_queue_wait_idle(d.t(), C.uintptr_t(q))))
}
