package vulkan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/backends/vulkan/internal/vk"
	"github.com/qgpu/qgpu/backends/vulkan/internal/vkrt"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/shaders"
)

// Backend is the Vulkan backend: one device, one compute queue. It is safe
// for concurrent use; Run calls from many goroutines are submitted one
// after another by the runtime.
type Backend struct {
	dev   *vkrt.Device
	caps  vkrt.Caps
	info  backend.DeviceInfo
	align int64 // storage-buffer offset alignment in bytes (>= 4)
	dummy *vkrt.Buffer

	// Kernel variants in use (see variants.go).
	exactDiv bool   // quantize divides with the integer-only emulation
	gemm     string // SPIR-V name of the GEMM kernel
	// gemmForced: gemm was forced (tests), run it on every GEMM shape.
	gemmForced bool
	flush      bool // the device flushes float denormals
	// plainDivMismatches counts self-test results of the plain division
	// that differed from the reference (-1: not run).
	plainDivMismatches int

	// mu is held for reading by every operation that uses the device and
	// for writing by Close.
	mu     sync.RWMutex
	closed bool

	pmu   sync.Mutex // pipeline cache
	pipes map[string]*vkrt.Pipeline

	pool pool

	seqs sync.Pool // *vkrt.Sequence
}

var (
	_ backend.Backend = (*Backend)(nil)
	_ backend.Timer   = (*Backend)(nil)
)

// config holds options for tests (forcing kernel variants).
type config struct {
	forceExactDiv bool   // use quantize_exactdiv whatever the self-test says
	forceGemm     string // GEMM kernel variant ("" chooses from features)
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
		return nil, mapErr("open", err)
	}
	b := &Backend{dev: dev, caps: dev.Caps(), pipes: map[string]*vkrt.Pipeline{}, plainDivMismatches: -1}
	b.pool.b = b
	b.align = int64(b.caps.MinStorageBufferOffsetAlignment)
	if b.align < 4 {
		b.align = 4
	}
	fail := func(err error) (*Backend, error) {
		dev.Close()
		return nil, err
	}
	if b.align > 256 || 256%b.align != 0 {
		return fail(fmt.Errorf("%w: vulkan: %s: minStorageBufferOffsetAlignment %d does not divide 256 (the engine's tensor offset alignment)",
			backend.ErrUnavailable, b.caps.Name, b.align))
	}
	if b.caps.MaxPushConstantsSize < shaders.ParamBytes {
		return fail(fmt.Errorf("%w: vulkan: %s: maxPushConstantsSize %d < %d", backend.ErrUnavailable, b.caps.Name, b.caps.MaxPushConstantsSize, shaders.ParamBytes))
	}
	if b.caps.MaxComputeWorkGroupInvocations < shaders.LocalSize || b.caps.MaxComputeWorkGroupSize[0] < shaders.LocalSize ||
		b.caps.MaxComputeWorkGroupCount[0] < gpu.MaxGroupsX || b.caps.MaxComputeWorkGroupCount[1] < gpu.MaxGroupsX {
		return fail(fmt.Errorf("%w: vulkan: %s: work-group limits too small (%d invocations, size %v, count %v)",
			backend.ErrUnavailable, b.caps.Name, b.caps.MaxComputeWorkGroupInvocations, b.caps.MaxComputeWorkGroupSize, b.caps.MaxComputeWorkGroupCount))
	}
	if b.dummy, err = dev.NewBuffer(256); err != nil {
		return fail(mapErr("open", err))
	}
	b.gemm, b.gemmForced = chooseGemm(&b.caps, cfg.forceGemm), cfg.forceGemm != ""
	if cfg.forceGemm != "" && b.gemm != cfg.forceGemm {
		return fail(fmt.Errorf("%w: vulkan: GEMM variant %q cannot run on %s", backend.ErrUnsupported, cfg.forceGemm, b.caps.Name))
	}
	b.exactDiv = cfg.forceExactDiv
	if !cfg.skipSelfTest {
		if err := b.selfTest(); err != nil {
			return fail(fmt.Errorf("vulkan: %s: start-up self-test: %w", b.caps.Name, err))
		}
	}
	b.info = b.deviceInfo()
	return b, nil
}

// Name returns "vulkan".
func (b *Backend) Name() string { return "vulkan" }

// Device describes the device, its capabilities and the kernel variants
// in use.
func (b *Backend) Device() backend.DeviceInfo {
	info := b.info
	info.Caps = make(map[string]string, len(b.info.Caps))
	for k, v := range b.info.Caps {
		info.Caps[k] = v
	}
	return info
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

func selfTestResult(bad int) string {
	if bad < 0 {
		return "not run"
	}
	return fmt.Sprintf("%d of %d differ", bad, selfTestPairs)
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

func (b *Backend) deviceInfo() backend.DeviceInfo {
	c := &b.caps
	div := "plain"
	if b.exactDiv {
		div = "exactdiv"
	}
	den := "preserve"
	if b.flush {
		den = "flush"
	}
	caps := map[string]string{
		"api":                       c.APIVersionString(),
		"8bit_storage":              yesNo(c.StorageBuffer8BitAccess),
		"int8":                      yesNo(c.ShaderInt8),
		"int16":                     yesNo(c.ShaderInt16),
		"int64":                     yesNo(c.ShaderInt64),
		"integer_dot_product":       yesNo(c.ShaderIntegerDotProduct),
		"integer_dot_accelerated":   yesNo(c.IntegerDotProduct4x8BitPackedMixedAccelerated),
		"subgroup_size":             strconv.Itoa(int(c.SubgroupSize)),
		"shared_memory":             strconv.Itoa(int(c.MaxComputeSharedMemorySize)),
		"workgroup_invocations":     strconv.Itoa(int(c.MaxComputeWorkGroupInvocations)),
		"workgroup_size":            fmt.Sprintf("%dx%dx%d", c.MaxComputeWorkGroupSize[0], c.MaxComputeWorkGroupSize[1], c.MaxComputeWorkGroupSize[2]),
		"workgroup_count":           fmt.Sprintf("%dx%dx%d", c.MaxComputeWorkGroupCount[0], c.MaxComputeWorkGroupCount[1], c.MaxComputeWorkGroupCount[2]),
		"max_storage_buffer_range":  strconv.FormatUint(uint64(c.MaxStorageBufferRange), 10),
		"cooperative_matrix":        yesNo(c.CooperativeMatrix),
		"timestamps":                yesNo(c.Timestamps),
		"denorm_preserve_reported":  yesNo(c.DenormPreserveFloat32),
		"rounding_rte":              yesNo(c.RoundingModeRTEFloat32),
		"host_visible":              yesNo(c.HostVisibleBuffers),
		"device_local_bytes":        strconv.FormatUint(c.DeviceLocalBytes, 10),
		"kernel_quantize_division":  div,
		"kernel_gemm":               b.gemm,
		"selftest_plain_division":   selfTestResult(b.plainDivMismatches),
		"denormals":                 den, // tests.CapDenormals: measured, not the reported property
		"min_storage_offset_align":  strconv.FormatInt(b.align, 10),
		"max_memory_allocation_cnt": strconv.Itoa(int(c.MaxMemoryAllocationCount)),
	}
	driver := c.DriverName
	if c.DriverInfo != "" {
		driver = strings.TrimSpace(driver + " " + c.DriverInfo)
	}
	return backend.DeviceInfo{Backend: "vulkan", Name: c.Name, Driver: driver, Kind: deviceKind(c.Type), Caps: caps}
}

// Close waits for running work and frees everything the backend made.
// Safe to call twice.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	b.pool.drop()
	return b.dev.Close()
}

// enter takes the read lock, failing when the backend is closed.
func (b *Backend) enter() error {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return fmt.Errorf("vulkan: backend %w", backend.ErrClosed)
	}
	return nil
}

func (b *Backend) leave() { b.mu.RUnlock() }

// mapErr wraps runtime errors with the engine's sentinels.
func mapErr(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case vkrt.IsOutOfMemory(err):
		return fmt.Errorf("vulkan: %s: %w: %v", what, backend.ErrOutOfMemory, err)
	case vkrt.IsDeviceLost(err):
		return fmt.Errorf("vulkan: %s: %w: %v", what, backend.ErrDeviceLost, err)
	case errors.Is(err, vkrt.ErrClosed):
		return fmt.Errorf("vulkan: %s: %w: %v", what, backend.ErrClosed, err)
	case errors.Is(err, vkrt.ErrFreed):
		return fmt.Errorf("vulkan: %s: buffer %w: %v", what, backend.ErrClosed, err)
	}
	return fmt.Errorf("vulkan: %s: %w", what, err)
}

// pipeline returns the cached pipeline of a SPIR-V kernel (or variant).
func (b *Backend) pipeline(name string) (*vkrt.Pipeline, error) {
	b.pmu.Lock()
	defer b.pmu.Unlock()
	if p, ok := b.pipes[name]; ok {
		return p, nil
	}
	code, err := shaders.SPIRV(name)
	if err != nil {
		return nil, err
	}
	p, err := b.dev.NewPipeline(code, 4, shaders.ParamBytes)
	if err != nil {
		return nil, mapErr("pipeline "+name, err)
	}
	b.pipes[name] = p
	return p, nil
}
