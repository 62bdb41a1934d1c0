package vulkan

import (
	"errors"
	"testing"

	"github.com/qgpu/qgpu/backends/internal/gpu/gputest"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/tests"
)

// target is the backend under the shared GPU tests, on the device that
// VK_ICD_FILENAMES selects (skipped without Vulkan unless
// QGPU_REQUIRE=vulkan).
var target = gputest.Target{
	Config: engine.Config{Backend: "vulkan"},
	Open: func(o engine.Options, exactDiv, skipSelfTest bool) (gputest.Backend, error) {
		return open(o, config{forceExactDiv: exactDiv, skipSelfTest: skipSelfTest})
	},
}

// TestGPU runs the tests every GPU backend passes (gputest).
func TestGPU(t *testing.T) { gputest.Run(t, target) }

// BenchmarkGPU runs the shared GPU benchmarks:
//
//	VK_ICD_FILENAMES=... go test -run '^$' -bench GPU ./backends/vulkan/
func BenchmarkGPU(b *testing.B) { gputest.Bench(b, target) }

// TestConformance runs the cross-backend suite against the device.
func TestConformance(t *testing.T) {
	tests.Run(t, engine.Config{Backend: "vulkan"})
}

// Test-only registrations of the backend with a kernel variant forced on
// (every device can run the integer-only division and the tiled GEMM; the
// others need features), so the conformance cases run through them.
var forced = map[string]config{
	"vulkan-exactdiv-test":  {forceExactDiv: true},
	"vulkan-gemmdot-test":   {forceGemm: "gemm_dot"},
	"vulkan-gemmtiled-test": {forceGemm: "gemm_tiled"},
	"vulkan-gemmint8-test":  {forceGemm: "gemm_int8"},
	"vulkan-gemmbase-test":  {forceGemm: "gemm"},
	"vulkan-nbitsdot-test":  {forceNBitsDot: true},
}

func init() {
	for name, cfg := range forced {
		backend.Register(name, 0, func(o engine.Options) (backend.Backend, error) { return open(o, cfg) })
	}
}

// conformanceForced runs the cases of the ops match selects through a
// forced variant; a device lacking the variant's features skips.
func conformanceForced(t *testing.T, name string, match func(op, name string) bool) {
	b, err := open(engine.Options{}, config{forceGemm: forced[name].forceGemm, skipSelfTest: true})
	if err != nil {
		if forced[name].forceGemm != "" && errors.Is(err, engine.ErrUnsupported) {
			t.Skipf("%s: %v", name, err)
		}
		target.Skip(t, err)
	}
	b.Close()
	tests.RunOptions(t, engine.Config{Backend: name}, tests.Options{Require: tests.Required("vulkan"), Match: match})
}

func gemmCases(op, name string) bool { return op == "Gemm" || op == "Chain" }

func TestConformanceExactDiv(t *testing.T) {
	conformanceForced(t, "vulkan-exactdiv-test", func(op, name string) bool {
		return op == "Quantize" || op == "DynamicQuantizeLinear" || op == "Chain" || op == "MatMulNBits"
	})
}

func TestConformanceGemmDot(t *testing.T) { conformanceForced(t, "vulkan-gemmdot-test", gemmCases) }

// TestConformanceNBitsDot runs the MatMulNBits cases with the int8 mode's
// packed dot product variant forced on (devices without
// shaderIntegerDotProduct skip).
func TestConformanceNBitsDot(t *testing.T) {
	b, err := open(engine.Options{}, config{skipSelfTest: true})
	target.Skip(t, err)
	dot := b.rt.caps.ShaderIntegerDotProduct
	b.Close()
	if !dot {
		t.Skip("the device lacks shaderIntegerDotProduct")
	}
	tests.RunOptions(t, engine.Config{Backend: "vulkan-nbitsdot-test"}, tests.Options{Require: tests.Required("vulkan"),
		Match: func(op, name string) bool { return op == "MatMulNBits" }})
}
func TestConformanceGemmTiled(t *testing.T) { conformanceForced(t, "vulkan-gemmtiled-test", gemmCases) }
func TestConformanceGemmInt8(t *testing.T)  { conformanceForced(t, "vulkan-gemmint8-test", gemmCases) }

// TestConformanceGemmBase runs every GEMM case through the baseline kernel
// (unforced, devices with the tiled variant run it on small shapes only).
func TestConformanceGemmBase(t *testing.T) { conformanceForced(t, "vulkan-gemmbase-test", gemmCases) }

// TestDeviceCaps checks the Vulkan capabilities and the GEMM kernel chosen
// from them: the tiled variant on every device without accelerated
// integer dot products.
func TestDeviceCaps(t *testing.T) {
	b, err := open(engine.Options{}, config{skipSelfTest: true})
	target.Skip(t, err)
	defer b.Close()
	d := b.Device()
	for _, k := range []string{"api", "subgroup_size", "integer_dot_product", "integer_dot_accelerated", "8bit_storage", "timestamps", "host_visible"} {
		if d.Caps[k] == "" {
			t.Errorf("Caps[%q] missing", k)
		}
	}
	want := "gemm_tiled"
	if d.Caps["integer_dot_accelerated"] == "yes" && b.rt.caps.IntegerDotProduct4x8BitPackedSignedAccelerated {
		want = "gemm_dot"
	}
	if d.Caps["kernel_gemm"] != want {
		t.Errorf("kernel_gemm %q, want %q", d.Caps["kernel_gemm"], want)
	}
	wantNBits := "nbits"
	if d.Caps["integer_dot_product"] == "yes" {
		wantNBits = "nbits_dot"
	}
	if d.Caps["kernel_nbits_int8"] != wantNBits {
		t.Errorf("kernel_nbits_int8 = %q with integer_dot_product = %q, want %q", d.Caps["kernel_nbits_int8"], d.Caps["integer_dot_product"], wantNBits)
	}
}
