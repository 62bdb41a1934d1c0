package vkrt

import (
	"encoding/binary"
	"fmt"

	"github.com/qgpu/qgpu/backends/vulkan/internal/vk"
)

const spirvMagic = 0x07230203

// SPIRV converts a SPIR-V binary (as produced by glslc and embedded with
// go:embed) to words, checking its length and magic number.
func SPIRV(b []byte) ([]uint32, error) {
	if len(b) < 20 || len(b)%4 != 0 {
		return nil, fmt.Errorf("vulkan: SPIR-V of %d bytes: want a multiple of 4, at least 20", len(b))
	}
	w := make([]uint32, len(b)/4)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	if w[0] != spirvMagic {
		return nil, fmt.Errorf("vulkan: not SPIR-V (magic %#08x)", w[0])
	}
	return w, nil
}

// Pipeline is a compute pipeline: a shader with N storage buffers at set 0,
// bindings 0..N-1, and a push-constant block of a fixed size. Pipelines are
// freed by Device.Close.
type Pipeline struct {
	d         *Device
	module    vk.ShaderModule
	layout    vk.PipelineLayout
	setLayout vk.DescriptorSetLayout // 0 when bindings == 0
	pipe      vk.Pipeline
	bindings  int
	pushBytes int
}

// Bindings returns the number of storage buffers the pipeline binds.
func (p *Pipeline) Bindings() int { return p.bindings }

// PushConstBytes returns the size of the pipeline's push-constant block.
func (p *Pipeline) PushConstBytes() int { return p.pushBytes }

type plKey struct{ bindings, push int }

// NewPipeline returns the compute pipeline for a SPIR-V module (entry point
// "main") with `bindings` storage buffers at set 0, bindings 0..bindings-1,
// and a push-constant block of pushConstBytes bytes (a multiple of 4, at
// most Caps.MaxPushConstantsSize). spec[i] sets specialization constant
// constant_id = i (e.g. layout(local_size_x_id = 0) for the workgroup size).
//
// Each call makes a new pipeline (callers keep the ones they reuse); the
// descriptor-set and pipeline layouts are shared. The module's
// OpCapability list is checked first: a capability needing a feature that
// is not enabled on the device (Caps.Features) is an error, because some
// drivers crash instead of reporting it.
func (d *Device) NewPipeline(spirv []uint32, bindings, pushConstBytes int, spec ...uint32) (*Pipeline, error) {
	if len(spirv) < 5 || spirv[0] != spirvMagic {
		return nil, fmt.Errorf("vulkan: not a SPIR-V module (%d words)", len(spirv))
	}
	if bindings < 0 || bindings > int(d.caps.MaxStorageBuffersPerStage) || bindings > 64 {
		return nil, fmt.Errorf("vulkan: %d storage buffers: want 0..%d", bindings, min(int(d.caps.MaxStorageBuffersPerStage), 64))
	}
	if pushConstBytes < 0 || pushConstBytes%4 != 0 || pushConstBytes > int(d.caps.MaxPushConstantsSize) {
		return nil, fmt.Errorf("vulkan: push constants of %d bytes: want a multiple of 4 in 0..%d", pushConstBytes, d.caps.MaxPushConstantsSize)
	}
	if err := checkCapabilities(spirv, &d.caps); err != nil {
		return nil, err
	}
	d.pmu.Lock()
	defer d.pmu.Unlock()
	d.mu.Lock()
	err := d.checkOpenLocked()
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	setLayout, ok := d.layouts[bindings]
	if !ok && bindings > 0 {
		setLayout, err = d.vd.CreateStorageSetLayout(bindings)
		if err != nil {
			return nil, err
		}
		d.layouts[bindings] = setLayout
	}
	pk := plKey{bindings, pushConstBytes}
	layout, ok := d.plCache[pk]
	if !ok {
		layout, err = d.vd.CreatePipelineLayout(setLayout, uint32(pushConstBytes))
		if err != nil {
			return nil, err
		}
		d.plCache[pk] = layout
	}
	module, err := d.vd.CreateShaderModule(spirv)
	if err != nil {
		return nil, err
	}
	pipe, err := d.vd.CreateComputePipeline(module, layout, "main", spec)
	if err != nil {
		d.vd.DestroyShaderModule(module)
		return nil, err
	}
	p := &Pipeline{d: d, module: module, layout: layout, setLayout: setLayout, pipe: pipe,
		bindings: bindings, pushBytes: pushConstBytes}
	d.pipelines = append(d.pipelines, p)
	return p, nil
}

// SPIR-V capabilities (spirv.h) and what they need.
const (
	capMatrix                            = 0
	capShader                            = 1
	capFloat16                           = 9
	capInt64                             = 11
	capInt16                             = 22
	capInt8                              = 39
	capGroupNonUniform                   = 61 // ... 68: Vote, Arithmetic, Ballot, Shuffle, ShuffleRelative, Clustered, Quad
	capGroupNonUniformQuad               = 68
	capStorageBuffer16BitAccess          = 4433
	capStorageBuffer8BitAccess           = 4448
	capUniformAndStorageBuffer8BitAccess = 4449
	capDenormPreserve                    = 4464
	capDenormFlushToZero                 = 4465
	capSignedZeroInfNanPreserve          = 4466
	capRoundingModeRTE                   = 4467
	capRoundingModeRTZ                   = 4468
	capDotProductInputAll                = 6016
	capDotProductInput4x8Bit             = 6017
	capDotProductInput4x8BitPacked       = 6018
	capDotProduct                        = 6019
)

// checkCapabilities refuses a module declaring a capability that the
// device does not have enabled, or one this package does not know.
func checkCapabilities(code []uint32, c *Caps) error {
	for i := 5; i < len(code); {
		n := int(code[i] >> 16)
		op := code[i] & 0xffff
		if n == 0 || i+n > len(code) {
			return fmt.Errorf("vulkan: malformed SPIR-V at word %d", i)
		}
		if op == 17 && n >= 2 { // OpCapability
			if err := capabilityOK(code[i+1], c); err != nil {
				return err
			}
		}
		if op == 54 { // OpFunction: capabilities are all declared before
			break
		}
		i += n
	}
	return nil
}

func capabilityOK(cp uint32, c *Caps) error {
	var ok bool
	var need string
	switch {
	case cp == capMatrix || cp == capShader:
		return nil
	case cp == capInt64:
		ok, need = c.ShaderInt64, "shaderInt64"
	case cp == capInt16:
		ok, need = c.ShaderInt16, "shaderInt16"
	case cp == capInt8:
		ok, need = c.ShaderInt8, "shaderInt8"
	case cp == capFloat16:
		ok, need = c.ShaderFloat16, "shaderFloat16"
	case cp == capStorageBuffer8BitAccess:
		ok, need = c.StorageBuffer8BitAccess, "storageBuffer8BitAccess"
	case cp == capUniformAndStorageBuffer8BitAccess:
		ok, need = c.UniformAndStorageBuffer8BitAccess, "uniformAndStorageBuffer8BitAccess"
	case cp == capStorageBuffer16BitAccess:
		ok, need = c.StorageBuffer16BitAccess, "storageBuffer16BitAccess"
	case cp >= capDotProductInputAll && cp <= capDotProduct:
		ok, need = c.ShaderIntegerDotProduct, "shaderIntegerDotProduct"
	case cp >= capGroupNonUniform && cp <= capGroupNonUniformQuad:
		bit := uint32(1) << (cp - capGroupNonUniform) // VkSubgroupFeatureFlagBits in the same order
		ok, need = c.SubgroupOperations&bit != 0, fmt.Sprintf("subgroup operation bit %#x in compute", bit)
	case cp == capRoundingModeRTE:
		ok, need = c.RoundingModeRTEFloat32, "shaderRoundingModeRTEFloat32"
	case cp == capRoundingModeRTZ:
		ok, need = c.RoundingModeRTZFloat32, "shaderRoundingModeRTZFloat32"
	case cp == capDenormPreserve:
		ok, need = c.DenormPreserveFloat32, "shaderDenormPreserveFloat32"
	case cp == capDenormFlushToZero:
		ok, need = c.DenormFlushToZeroFloat32, "shaderDenormFlushToZeroFloat32"
	case cp == capSignedZeroInfNanPreserve:
		ok, need = c.SignedZeroInfNanPreserveFloat32, "shaderSignedZeroInfNanPreserveFloat32"
	default:
		return fmt.Errorf("vulkan: SPIR-V capability %d is not known to vkrt: refusing it (drivers may crash on unsupported capabilities)", cp)
	}
	if !ok {
		return fmt.Errorf("vulkan: SPIR-V capability %d needs %s, which is not enabled on %s", cp, need, c.Name)
	}
	return nil
}
