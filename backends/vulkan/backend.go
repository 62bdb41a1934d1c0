package vulkan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/backends/vulkan/internal/vk"
	"github.com/qgpu/qgpu/backends/vulkan/internal/vkrt"
	"github.com/qgpu/qgpu/engine/backend"
)

// Backend is the Vulkan backend: one device, one compute queue. It is safe
// for concurrent use; Run calls from many goroutines are submitted one
// after another by the runtime.
type Backend struct {
	*gpu.Backend
	rt *runtime
}

// config holds options for tests (forcing kernel variants).
type config struct {
	forceExactDiv bool   // use quantize_exactdiv whatever the self-test says
	forceGemm     string // GEMM kernel variant ("" chooses from features)
	forceNBitsDot bool   // nbits_dot for MatMulNBits' int8 mode whatever the features say (tests)
	skipSelfTest  bool
}

// Open opens the Vulkan device selected by o.Device ("" the best: discrete,
// integrated, virtual, then CPU-type devices). Errors meaning "no usable
// Vulkan here" wrap backend.ErrUnavailable with the reason.
func Open(o backend.Options) (*Backend, error) { return open(o, config{}) }

func open(o backend.Options, cfg config) (*Backend, error) {
	dev, err := vkrt.Open(vkrt.Options{Device: o.Device, AppName: "qgpu"})
	if err != nil {
		if errors.Is(err, vkrt.ErrUnavailable) {
			return nil, fmt.Errorf("%w: %v", backend.ErrUnavailable, err)
		}
		return nil, gpu.WrapError("vulkan", "open", err, sentinel)
	}
	rt := newRuntime(dev)
	c := &rt.caps
	gemm := chooseGemm(c, cfg.forceGemm)
	if cfg.forceGemm != "" && gemm != cfg.forceGemm {
		rt.Close()
		return nil, fmt.Errorf("%w: vulkan: GEMM variant %q cannot run on %s", backend.ErrUnsupported, cfg.forceGemm, c.Name)
	}
	gb, err := gpu.New(rt, gpu.Device{
		Info: deviceInfo(c),
		Limits: gpu.Limits{
			OffsetAlign:    gpu.Limit{Name: "minStorageBufferOffsetAlignment", Value: int64(c.MinStorageBufferOffsetAlignment)},
			Binding:        gpu.Limit{Name: "maxStorageBufferRange", Value: int64(c.MaxStorageBufferRange)},
			ParamBlock:     gpu.Limit{Name: "maxPushConstantsSize", Value: int64(c.MaxPushConstantsSize)},
			StorageBuffers: gpu.Limit{Name: "maxPerStageDescriptorStorageBuffers", Value: int64(c.MaxStorageBuffersPerStage)},
			Invocations:    int64(c.MaxComputeWorkGroupInvocations),
			GroupSize:      [3]int64{int64(c.MaxComputeWorkGroupSize[0]), int64(c.MaxComputeWorkGroupSize[1]), int64(c.MaxComputeWorkGroupSize[2])},
			GroupCount:     [3]int64{int64(c.MaxComputeWorkGroupCount[0]), int64(c.MaxComputeWorkGroupCount[1]), int64(c.MaxComputeWorkGroupCount[2])},
			SharedMemory:   int64(c.MaxComputeSharedMemorySize),
		},
		Gemm:         gemm,
		GemmForced:   cfg.forceGemm != "",
		NBitsDot:     cfg.forceNBitsDot || nbitsDot(c),
		ExactDiv:     cfg.forceExactDiv,
		SkipSelfTest: cfg.skipSelfTest,
	})
	if err != nil {
		return nil, err
	}
	return &Backend{Backend: gb, rt: rt}, nil
}

func deviceKind(t vk.PhysicalDeviceType) string {
	switch t {
	case vk.DeviceTypeCPU:
		return "software"
	case vk.DeviceTypeDiscreteGPU:
		return "discrete"
	case vk.DeviceTypeIntegratedGPU:
		return "integrated"
	case vk.DeviceTypeVirtualGPU:
		return "virtual"
	}
	return "other"
}

// deviceInfo describes the device and its Vulkan capabilities (gpu.New
// adds the limits, kernel variants and self-test results).
func deviceInfo(c *vkrt.Caps) backend.DeviceInfo {
	caps := map[string]string{
		"api":                       c.APIVersionString(),
		"8bit_storage":              gpu.YesNo(c.StorageBuffer8BitAccess),
		"int8":                      gpu.YesNo(c.ShaderInt8),
		"int16":                     gpu.YesNo(c.ShaderInt16),
		"int64":                     gpu.YesNo(c.ShaderInt64),
		"integer_dot_product":       gpu.YesNo(c.ShaderIntegerDotProduct),
		"integer_dot_accelerated":   gpu.YesNo(c.IntegerDotProduct4x8BitPackedMixedAccelerated),
		"subgroup_size":             strconv.Itoa(int(c.SubgroupSize)),
		"cooperative_matrix":        gpu.YesNo(c.CooperativeMatrix),
		"timestamps":                gpu.YesNo(c.Timestamps),
		"denorm_preserve_reported":  gpu.YesNo(c.DenormPreserveFloat32),
		"rounding_rte":              gpu.YesNo(c.RoundingModeRTEFloat32),
		"host_visible":              gpu.YesNo(c.HostVisibleBuffers),
		"device_local_bytes":        strconv.FormatUint(c.DeviceLocalBytes, 10),
		"max_memory_allocation_cnt": strconv.Itoa(int(c.MaxMemoryAllocationCount)),
	}
	driver := c.DriverName
	if c.DriverInfo != "" {
		driver = strings.TrimSpace(driver + " " + c.DriverInfo)
	}
	return backend.DeviceInfo{Backend: "vulkan", Name: c.Name, Driver: driver, Kind: deviceKind(c.Type), Caps: caps}
}
