package vkrt

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/qgpu/qgpu/backends/vulkan/internal/vk"
)

// Features is the set of optional device features (see vk.Features).
type Features = vk.Features

// AllFeatures requests every optional feature this package knows; Open
// enables the subset the device reports.
func AllFeatures() Features {
	return Features{
		ShaderInt64: true, ShaderInt16: true, ShaderInt8: true, ShaderFloat16: true,
		StorageBuffer8BitAccess: true, UniformAndStorageBuffer8BitAccess: true,
		StorageBuffer16BitAccess: true, ShaderIntegerDotProduct: true,
		SubgroupSizeControl: true, ComputeFullSubgroups: true,
	}
}

func andFeatures(a, b Features) Features {
	return Features{
		ShaderInt64:                       a.ShaderInt64 && b.ShaderInt64,
		ShaderInt16:                       a.ShaderInt16 && b.ShaderInt16,
		ShaderInt8:                        a.ShaderInt8 && b.ShaderInt8,
		ShaderFloat16:                     a.ShaderFloat16 && b.ShaderFloat16,
		StorageBuffer8BitAccess:           a.StorageBuffer8BitAccess && b.StorageBuffer8BitAccess,
		UniformAndStorageBuffer8BitAccess: a.UniformAndStorageBuffer8BitAccess && b.UniformAndStorageBuffer8BitAccess,
		StorageBuffer16BitAccess:          a.StorageBuffer16BitAccess && b.StorageBuffer16BitAccess,
		ShaderIntegerDotProduct:           a.ShaderIntegerDotProduct && b.ShaderIntegerDotProduct,
		SubgroupSizeControl:               a.SubgroupSizeControl && b.SubgroupSizeControl,
		ComputeFullSubgroups:              a.ComputeFullSubgroups && b.ComputeFullSubgroups,
	}
}

// Options configure Open. The zero value picks the best device and enables
// every optional feature it reports.
type Options struct {
	// Device selects the physical device: "" picks the best (discrete GPU,
	// then integrated, virtual, CPU, other; enumeration order within a
	// type); a decimal number is an index in the loader's enumeration
	// order; anything else is a case-insensitive substring of the device
	// name.
	Device string
	// Features to enable; nil means AllFeatures(). Only features the device
	// reports are enabled (Caps.Features says which).
	Features *Features
	// AppName is passed to vkCreateInstance ("qgpu" if empty).
	AppName string
	// ForceStaging makes buffers device-local-only with staging transfers
	// even where device memory is host-visible (tests the discrete-GPU path
	// on software drivers).
	ForceStaging bool
}

// Caps describes a physical device and, for an opened Device, what is
// enabled on it.
type Caps struct {
	Index         int // in the loader's enumeration order
	Name          string
	Type          vk.PhysicalDeviceType
	DriverName    string
	DriverInfo    string
	DriverVersion uint32
	APIVersion    uint32 // the device's; see APIVersionString
	VendorID      uint32
	DeviceID      uint32

	// Features usable on this device: for an opened Device the enabled
	// ones (requested and reported), for ListDevices the reported ones.
	Features
	// Reported is every optional feature the device reports.
	Reported Features

	// Integer dot product (VK_KHR_shader_integer_dot_product properties).
	IntegerDotProduct4x8BitPackedSignedAccelerated bool
	IntegerDotProduct4x8BitPackedMixedAccelerated  bool

	SubgroupSize       uint32
	MinSubgroupSize    uint32 // 0 when subgroup size control is unknown
	MaxSubgroupSize    uint32
	SubgroupOperations uint32 // VkSubgroupFeatureFlags (0 if compute lacks subgroups)

	MaxComputeSharedMemorySize      uint32
	MaxComputeWorkGroupInvocations  uint32
	MaxComputeWorkGroupSize         [3]uint32
	MaxComputeWorkGroupCount        [3]uint32
	MaxStorageBufferRange           uint32
	MinStorageBufferOffsetAlignment uint64
	MaxPushConstantsSize            uint32
	MaxStorageBuffersPerStage       uint32
	MaxMemoryAllocationSize         uint64 // 0 if unknown
	MaxMemoryAllocationCount        uint32
	DeviceLocalBytes                uint64 // sum of device-local heaps

	// CooperativeMatrix is true when VK_KHR_cooperative_matrix or
	// VK_NV_cooperative_matrix is offered (presence only; not enabled).
	CooperativeMatrix bool

	// Timestamps is true when the compute queue can write timestamps.
	Timestamps         bool
	TimestampPeriod    float32 // nanoseconds per tick
	TimestampValidBits uint32

	// Float controls (VkPhysicalDeviceFloatControlsProperties, fp32).
	FloatControls                   bool // the properties were available
	RoundingModeRTEFloat32          bool
	RoundingModeRTZFloat32          bool
	DenormPreserveFloat32           bool
	DenormFlushToZeroFloat32        bool
	SignedZeroInfNanPreserveFloat32 bool

	// HostVisibleBuffers is true when buffers are persistently mapped
	// (no staging copies).
	HostVisibleBuffers bool

	Extensions []string // device extensions offered
}

// APIVersionString formats APIVersion as "major.minor.patch".
func (c *Caps) APIVersionString() string { return vk.VersionString(c.APIVersion) }

// ErrUnavailable is matched (errors.Is) by errors that mean Vulkan cannot be
// used here: no cgo, no loader, no ICD, no device, no compute queue.
var ErrUnavailable = errors.New("vulkan: unavailable")

// ErrClosed is returned by operations on a closed Device.
var ErrClosed = errors.New("vulkan: device closed")

// ErrFreed is returned when a freed Buffer is used.
var ErrFreed = errors.New("vulkan: buffer freed")

type unavailable struct{ err error }

func (e *unavailable) Error() string        { return e.err.Error() }
func (e *unavailable) Unwrap() error        { return e.err }
func (e *unavailable) Is(target error) bool { return target == ErrUnavailable }

func unavail(err error) error { return &unavailable{err} }

// IsOutOfMemory reports whether err is a Vulkan out-of-host/device-memory
// (or pool exhaustion) error.
func IsOutOfMemory(err error) bool { return vk.IsOutOfMemory(err) }

// IsDeviceLost reports whether err is VK_ERROR_DEVICE_LOST.
func IsDeviceLost(err error) bool { return vk.IsDeviceLost(err) }

// physical is one enumerated device with what Open needs to know.
type physical struct {
	pd       vk.PhysicalDevice
	api      uint32 // min(instance, device) API version
	chain    vk.Chain
	props    vk.Properties
	feats    Features
	exts     map[string]bool
	extList  []string
	family   int // compute queue family, -1 if none
	families []vk.QueueFamily
	mem      vk.MemoryProperties
}

const maxAPI = 1<<22 | 3<<12 // 1.3.0

// Hints appended to the unavailable errors: which Debian/Ubuntu packages
// provide what is missing.
const (
	loaderHint = "no Vulkan loader: install libvulkan1 and a Vulkan driver (mesa-vulkan-drivers: Mesa's drivers, lavapipe runs on the CPU; or your GPU vendor's driver)"
	driverHint = "no Vulkan driver (ICD) found: install one: mesa-vulkan-drivers (Mesa's drivers; lavapipe runs on the CPU) or your GPU vendor's driver, or name one with VK_ICD_FILENAMES"
)

func openInstance(app string) (*vk.Instance, error) {
	if err := vk.Init(); err != nil {
		return nil, unavail(fmt.Errorf("%w; %s", err, loaderHint))
	}
	v := vk.InstanceVersion()
	if v > maxAPI {
		v = maxAPI
	}
	if app == "" {
		app = "qgpu"
	}
	in, err := vk.CreateInstance(app, v, nil, nil)
	if errors.Is(err, vk.ErrorIncompatibleDriver) {
		return nil, unavail(fmt.Errorf("%s: %w", driverHint, err))
	}
	if err != nil {
		return nil, unavail(err)
	}
	return in, nil
}

func probe(in *vk.Instance) ([]*physical, error) {
	pds, err := in.PhysicalDevices()
	if err != nil {
		return nil, unavail(err)
	}
	if len(pds) == 0 {
		return nil, unavail(fmt.Errorf("vulkan: no physical devices (%s): %s", vk.ICDEnv(), driverHint))
	}
	out := make([]*physical, len(pds))
	for i, pd := range pds {
		p := &physical{pd: pd, exts: map[string]bool{}, family: -1}
		p.extList, err = pd.Extensions()
		if err != nil {
			return nil, err
		}
		for _, e := range p.extList {
			p.exts[e] = true
		}
		base := pd.Properties(0)
		p.api = base.APIVersion
		if in.APIVersion < p.api {
			p.api = in.APIVersion
		}
		p.chain = chainFor(p.api, p.exts, in.APIVersion)
		p.props = pd.Properties(p.chain)
		p.feats = pd.Features(p.chain)
		p.families = pd.QueueFamilies()
		p.mem = pd.MemoryProperties()
		// Prefer a compute family that can write timestamps.
		for j, f := range p.families {
			if f.Flags&vk.QueueCompute == 0 || f.Count == 0 {
				continue
			}
			if p.family < 0 || (p.families[p.family].TimestampValidBits == 0 && f.TimestampValidBits > 0) {
				p.family = j
			}
		}
		out[i] = p
	}
	return out, nil
}

func chainFor(api uint32, exts map[string]bool, instAPI uint32) vk.Chain {
	if instAPI < vk.MakeVersion(1, 1, 0) {
		return 0 // no vkGetPhysicalDeviceProperties2 guaranteed
	}
	v11, v12, v13 := api >= vk.MakeVersion(1, 1, 0), api >= vk.MakeVersion(1, 2, 0), api >= vk.MakeVersion(1, 3, 0)
	var c vk.Chain
	add := func(ok bool, bit vk.Chain) {
		if ok {
			c |= bit
		}
	}
	add(v12 || exts["VK_KHR_shader_float16_int8"], vk.ChainFloat16Int8)
	add(v12 || exts["VK_KHR_8bit_storage"], vk.Chain8BitStorage)
	add(v11 || exts["VK_KHR_16bit_storage"], vk.Chain16BitStorage)
	add(v13 || exts["VK_KHR_shader_integer_dot_product"], vk.ChainIntegerDotProduct)
	add(v13 || exts["VK_EXT_subgroup_size_control"], vk.ChainSubgroupSizeControl)
	add(v11, vk.ChainSubgroup)
	add(v12 || exts["VK_KHR_driver_properties"], vk.ChainDriver)
	add(v12 || exts["VK_KHR_shader_float_controls"], vk.ChainFloatControls)
	add(v11 || exts["VK_KHR_maintenance3"], vk.ChainMaintenance3)
	return c
}

// extensionsFor lists the device extensions needed to enable f on a device
// of API version api.
func extensionsFor(api uint32, f Features, exts map[string]bool) []string {
	var out []string
	need := func(core uint32, ext string, used bool) {
		if used && api < core && exts[ext] {
			out = append(out, ext)
		}
	}
	need(vk.MakeVersion(1, 2, 0), "VK_KHR_shader_float16_int8", f.ShaderInt8 || f.ShaderFloat16)
	need(vk.MakeVersion(1, 2, 0), "VK_KHR_8bit_storage", f.StorageBuffer8BitAccess || f.UniformAndStorageBuffer8BitAccess)
	need(vk.MakeVersion(1, 1, 0), "VK_KHR_16bit_storage", f.StorageBuffer16BitAccess)
	need(vk.MakeVersion(1, 1, 0), "VK_KHR_storage_buffer_storage_class",
		f.StorageBuffer8BitAccess || f.UniformAndStorageBuffer8BitAccess || f.StorageBuffer16BitAccess)
	need(vk.MakeVersion(1, 3, 0), "VK_KHR_shader_integer_dot_product", f.ShaderIntegerDotProduct)
	need(vk.MakeVersion(1, 3, 0), "VK_EXT_subgroup_size_control", f.SubgroupSizeControl || f.ComputeFullSubgroups)
	need(vk.MakeVersion(1, 2, 0), "VK_KHR_shader_float_controls", true)
	return out
}

func typeRank(t vk.PhysicalDeviceType) int {
	switch t {
	case vk.DeviceTypeDiscreteGPU:
		return 0
	case vk.DeviceTypeIntegratedGPU:
		return 1
	case vk.DeviceTypeVirtualGPU:
		return 2
	case vk.DeviceTypeCPU:
		return 3
	}
	return 4
}

func pick(ps []*physical, sel string) (int, error) {
	if sel == "" {
		idx := make([]int, 0, len(ps))
		for i, p := range ps {
			if p.family >= 0 {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			return 0, unavail(fmt.Errorf("vulkan: no device with a compute queue (%s)", vk.ICDEnv()))
		}
		sort.SliceStable(idx, func(a, b int) bool { return typeRank(ps[idx[a]].props.Type) < typeRank(ps[idx[b]].props.Type) })
		return idx[0], nil
	}
	if n, err := strconv.Atoi(sel); err == nil {
		if n < 0 || n >= len(ps) {
			return 0, fmt.Errorf("vulkan: device index %d out of range (%d devices)", n, len(ps))
		}
		if ps[n].family < 0 {
			return 0, unavail(fmt.Errorf("vulkan: device %d (%s) has no compute queue", n, ps[n].props.Name))
		}
		return n, nil
	}
	var names []string
	for i, p := range ps {
		if strings.Contains(strings.ToLower(p.props.Name), strings.ToLower(sel)) && p.family >= 0 {
			return i, nil
		}
		names = append(names, strconv.Quote(p.props.Name))
	}
	return 0, fmt.Errorf("vulkan: no device matching %q among %s", sel, strings.Join(names, ", "))
}

func capsOf(i int, p *physical, enabled Features) Caps {
	pr := &p.props
	l := &pr.Limits
	c := Caps{
		Index: i, Name: pr.Name, Type: pr.Type, DriverName: pr.DriverName, DriverInfo: pr.DriverInfo,
		DriverVersion: pr.DriverVersion, APIVersion: pr.APIVersion, VendorID: pr.VendorID, DeviceID: pr.DeviceID,
		Features: enabled, Reported: p.feats,
		IntegerDotProduct4x8BitPackedSignedAccelerated: pr.IntegerDotProduct4x8BitPackedSignedAccelerated,
		IntegerDotProduct4x8BitPackedMixedAccelerated:  pr.IntegerDotProduct4x8BitPackedMixedSignednessAccelerated,
		SubgroupSize:                    pr.SubgroupSize,
		MinSubgroupSize:                 pr.MinSubgroupSize,
		MaxSubgroupSize:                 pr.MaxSubgroupSize,
		MaxComputeSharedMemorySize:      l.MaxComputeSharedMemorySize,
		MaxComputeWorkGroupInvocations:  l.MaxComputeWorkGroupInvocations,
		MaxComputeWorkGroupSize:         l.MaxComputeWorkGroupSize,
		MaxComputeWorkGroupCount:        l.MaxComputeWorkGroupCount,
		MaxStorageBufferRange:           l.MaxStorageBufferRange,
		MinStorageBufferOffsetAlignment: l.MinStorageBufferOffsetAlignment,
		MaxPushConstantsSize:            l.MaxPushConstantsSize,
		MaxStorageBuffersPerStage:       l.MaxPerStageDescriptorStorageBuffers,
		MaxMemoryAllocationSize:         l.MaxMemoryAllocationSize,
		MaxMemoryAllocationCount:        l.MaxMemoryAllocationCount,
		CooperativeMatrix:               p.exts["VK_KHR_cooperative_matrix"] || p.exts["VK_NV_cooperative_matrix"],
		TimestampPeriod:                 l.TimestampPeriod,
		FloatControls:                   pr.FloatControls,
		RoundingModeRTEFloat32:          pr.RoundingModeRTEFloat32,
		RoundingModeRTZFloat32:          pr.RoundingModeRTZFloat32,
		DenormPreserveFloat32:           pr.DenormPreserveFloat32,
		DenormFlushToZeroFloat32:        pr.DenormFlushToZeroFloat32,
		SignedZeroInfNanPreserveFloat32: pr.SignedZeroInfNanPreserveFloat32,
		Extensions:                      p.extList,
	}
	const computeStage = 0x20 // VK_SHADER_STAGE_COMPUTE_BIT
	if pr.SubgroupSupportedStages&computeStage != 0 {
		c.SubgroupOperations = pr.SubgroupSupportedOps
	}
	if p.family >= 0 {
		f := p.families[p.family]
		c.TimestampValidBits = f.TimestampValidBits
		c.Timestamps = f.TimestampValidBits > 0 && l.TimestampPeriod > 0
	}
	for _, h := range p.mem.Heaps {
		if h.Flags&1 != 0 {
			c.DeviceLocalBytes += h.Size
		}
	}
	return c
}

// ListDevices enumerates the physical devices (creating and destroying an
// instance) and reports their capabilities with Features = reported.
func ListDevices() ([]Caps, error) {
	in, err := openInstance("qgpu")
	if err != nil {
		return nil, err
	}
	defer in.Destroy()
	ps, err := probe(in)
	if err != nil {
		return nil, err
	}
	out := make([]Caps, len(ps))
	for i, p := range ps {
		out[i] = capsOf(i, p, p.feats)
		out[i].HostVisibleBuffers = p.hostVisibleDefault()
	}
	return out, nil
}

// Device is an opened Vulkan device with one compute queue. It owns every
// object it creates; Close frees them all.
type Device struct {
	inst   *vk.Instance
	vd     *vk.Device
	queue  vk.Queue
	family uint32
	caps   Caps
	mem    vk.MemoryProperties
	mapped bool // device buffers are host-visible and coherent
	staged bool // ForceStaging

	qmu sync.Mutex // serializes vkQueueSubmit / vkQueueWaitIdle

	mu       sync.Mutex // protects the fields below
	closed   bool
	lost     error
	buffers  map[*Buffer]struct{}
	idle     []*submitCtx
	all      []*submitCtx
	inflight sync.WaitGroup

	pmu       sync.Mutex // pipelines made, and the layouts they share
	pipelines []*Pipeline
	layouts   map[int]vk.DescriptorSetLayout
	plCache   map[plKey]vk.PipelineLayout

	smu     sync.Mutex // staging buffer for device-local buffers
	staging *Buffer
}

// hostVisibleDefault reports whether the preferred device-local memory
// type is also host-visible and coherent.
func (p *physical) hostVisibleDefault() bool {
	t := bestType(p.mem, ^uint32(0), vk.MemoryDeviceLocal, 0)
	if t < 0 {
		return true // no device-local type at all: host memory only
	}
	want := vk.MemoryHostVisible | vk.MemoryHostCoherent
	return p.mem.Types[t].Flags&want == want
}

// bestType returns the first memory type allowed by bits that has all of
// need, preferring one that also has all of prefer; -1 if none.
func bestType(m vk.MemoryProperties, bits, need, prefer uint32) int {
	first := -1
	for i, t := range m.Types {
		if bits&(1<<uint(i)) == 0 || t.Flags&need != need {
			continue
		}
		if t.Flags&prefer == prefer {
			return i
		}
		if first < 0 {
			first = i
		}
	}
	return first
}

// Open creates an instance and a logical device with one compute queue.
// Errors that mean "no usable Vulkan here" match ErrUnavailable.
func Open(opts Options) (*Device, error) {
	in, err := openInstance(opts.AppName)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			in.Destroy()
		}
	}()
	ps, err := probe(in)
	if err != nil {
		return nil, err
	}
	i, err := pick(ps, opts.Device)
	if err != nil {
		return nil, err
	}
	p := ps[i]
	want := AllFeatures()
	if opts.Features != nil {
		want = *opts.Features
	}
	enabled := andFeatures(want, p.feats)
	exts := extensionsFor(p.api, enabled, p.exts)
	vd, err := p.pd.CreateDevice(uint32(p.family), exts, enabled, p.chain)
	if err != nil {
		return nil, fmt.Errorf("vulkan: create device %q: %w", p.props.Name, err)
	}
	d := &Device{
		inst:    in,
		vd:      vd,
		family:  uint32(p.family),
		queue:   vd.Queue(uint32(p.family), 0),
		caps:    capsOf(i, p, enabled),
		mem:     p.mem,
		mapped:  p.hostVisibleDefault() && !opts.ForceStaging,
		staged:  opts.ForceStaging,
		buffers: map[*Buffer]struct{}{},
		layouts: map[int]vk.DescriptorSetLayout{},
		plCache: map[plKey]vk.PipelineLayout{},
	}
	d.caps.HostVisibleBuffers = d.mapped
	ok = true
	return d, nil
}

// Caps returns the device's capabilities and enabled features.
func (d *Device) Caps() Caps { return d.caps }

// Close waits for all submissions to finish and frees every buffer,
// pipeline and internal object the device made, then the device and
// instance. Safe to call twice; later calls return nil.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.inflight.Wait()
	d.qmu.Lock()
	err := d.vd.WaitIdle()
	d.qmu.Unlock()
	if err != nil && !IsDeviceLost(err) {
		err = fmt.Errorf("vulkan: close: %w", err)
	} else {
		err = nil
	}
	d.mu.Lock()
	bufs := make([]*Buffer, 0, len(d.buffers))
	for b := range d.buffers {
		bufs = append(bufs, b)
	}
	ctxs := d.all
	d.all, d.idle = nil, nil
	d.mu.Unlock()
	for _, b := range bufs {
		b.destroy()
	}
	for _, c := range ctxs {
		c.destroy(d)
	}
	d.pmu.Lock()
	for _, p := range d.pipelines {
		d.vd.DestroyPipeline(p.pipe)
		d.vd.DestroyShaderModule(p.module)
	}
	for _, l := range d.plCache {
		d.vd.DestroyPipelineLayout(l)
	}
	for _, l := range d.layouts {
		d.vd.DestroyDescriptorSetLayout(l)
	}
	d.pipelines, d.plCache, d.layouts = nil, nil, nil
	d.pmu.Unlock()
	d.vd.Destroy()
	d.inst.Destroy()
	return err
}

// WaitIdle waits until the queue has no work (vkQueueWaitIdle).
func (d *Device) WaitIdle() error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return ErrClosed
	}
	d.qmu.Lock()
	defer d.qmu.Unlock()
	return d.vd.QueueWaitIdle(d.queue)
}

// checkOpen returns ErrClosed or the device-lost error; d.mu must be held.
func (d *Device) checkOpenLocked() error {
	if d.closed {
		return ErrClosed
	}
	return d.lost
}
