package opengl

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/backends/internal/gpu/gputest"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/tests"
)

// contextEnv selects the GL context path of the tests (engine.Options.Device:
// "", "egl", "egl:surfaceless", "egl:device", "egl:default" or "glfw").
const contextEnv = "QGPU_GL_CONTEXT"

// target is the backend under the shared GPU tests, on the context path
// QGPU_GL_CONTEXT names (skipped when OpenGL is unavailable, unless
// QGPU_REQUIRE contains opengl).
var target = gputest.Target{
	Config: engine.Config{Backend: "opengl", Device: os.Getenv(contextEnv)},
	Open: func(o engine.Options, exactDiv, skipSelfTest bool) (gputest.Backend, error) {
		return open(o, config{forceExactDiv: exactDiv, skipSelfTest: skipSelfTest})
	},
}

// TestGPU runs the tests every GPU backend passes (gputest).
func TestGPU(t *testing.T) { gputest.Run(t, target) }

// BenchmarkGPU runs the shared GPU benchmarks (software drivers measure
// overheads, not GPU speed):
//
//	env -u DISPLAY go test -run '^$' -bench GPU ./backends/opengl/
func BenchmarkGPU(b *testing.B) { gputest.Bench(b, target) }

// TestConformance runs the full cross-backend suite against the backend.
func TestConformance(t *testing.T) { tests.Run(t, target.Config) }

// exactDivName is a test-only registration of the backend with the
// exact-division quantize kernel forced on.
const exactDivName = "opengl-exactdiv-test"

func init() {
	backend.Register(exactDivName, 0, func(o engine.Options) (backend.Backend, error) {
		return open(o, config{forceExactDiv: true})
	})
}

// TestConformanceExactDiv runs the quantize cases with the integer-only
// division kernel, which the self-test selects on drivers whose float
// division is not correctly rounded (llvmpipe's is).
func TestConformanceExactDiv(t *testing.T) {
	cfg := target.Config
	cfg.Backend = exactDivName
	e, err := engine.New(cfg)
	target.Skip(t, err)
	if k := e.Backend().Device().Caps["kernel_quantize_division"]; k != "exactdiv" {
		t.Fatalf("forced exact division: kernel %q", k)
	}
	e.Close()
	tests.RunOptions(t, cfg, tests.Options{
		Require: tests.Required("opengl"),
		Match: func(op, name string) bool {
			return op == "Quantize" || op == "DynamicQuantizeLinear" || op == "MatMulNBits"
		},
	})
}

// TestDeviceCaps checks the GL description: Kind from the renderer string
// and the GL capabilities.
func TestDeviceCaps(t *testing.T) {
	e := target.Engine(t)
	d := e.Backend().Device()
	if sw := softwareRenderer(d.Name); sw != (d.Kind == "software") {
		t.Errorf("renderer %q: Kind %q", d.Name, d.Kind)
	}
	for _, k := range []string{"gl_version", "renderer", "vendor", "glsl_version", "extensions", "context", "timer_bits"} {
		if d.Caps[k] == "" {
			t.Errorf("Caps[%q] missing", k)
		}
	}
	t.Logf("%s (%s), kind %s, caps %v", d.Name, d.Driver, d.Kind, d.Caps)
}

func TestSoftwareRenderer(t *testing.T) {
	for _, c := range []struct {
		r    string
		want bool
	}{
		{"llvmpipe (LLVM 15.0.6, 256 bits)", true},
		{"softpipe", true},
		{"Software Rasterizer", true},
		{"Mesa DRI swrast", true},
		{"NVIDIA GeForce RTX 3080/PCIe/SSE2", false},
		{"AMD Radeon RX 6800 (navi21, LLVM 15.0.6, DRM 3.49, 6.1.0)", false},
		{"Mesa Intel(R) UHD Graphics 620 (KBL GT2)", false},
	} {
		if got := softwareRenderer(c.r); got != c.want {
			t.Errorf("softwareRenderer(%q) = %v", c.r, got)
		}
	}
}

// TestOpenErrors: bad context names are parameter errors; the GLFW path
// without the glfw build tag is unavailable with the reason.
func TestOpenErrors(t *testing.T) {
	if _, err := Open(engine.Options{Device: "vulkan"}); !errors.Is(err, engine.ErrParams) {
		t.Errorf("Device vulkan: %v, want ErrParams", err)
	}
	if _, err := Open(engine.Options{Device: "egl:nowhere"}); !errors.Is(err, engine.ErrParams) {
		t.Errorf("Device egl:nowhere: %v, want ErrParams", err)
	}
	if !glfwBuilt {
		_, err := Open(engine.Options{Device: "glfw"})
		if !errors.Is(err, engine.ErrUnavailable) || !strings.Contains(err.Error(), "glfw build tag") {
			t.Errorf("Device glfw without the tag: %v", err)
		}
	}
}

// TestDebug runs the timed test with Options.Debug (GL errors checked
// after every dispatch, KHR_debug on).
func TestDebug(t *testing.T) {
	tg := target
	tg.Config.Debug = true
	gputest.Timed(t, tg)
}
