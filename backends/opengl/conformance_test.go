package opengl

import (
	"os"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/tests"
)

// contextEnv selects the GL context path of the tests (engine.Options.Device:
// "", "egl", "egl:surfaceless", "egl:device", "egl:default" or "glfw").
const contextEnv = "QGPU_GL_CONTEXT"

// testConfig is the engine configuration of this package's tests.
func testConfig() engine.Config {
	return engine.Config{Backend: "opengl", Options: engine.Options{Device: os.Getenv(contextEnv)}}
}

// TestConformance runs the full cross-backend suite against the backend,
// on the context path QGPU_GL_CONTEXT names. It skips when OpenGL is
// unavailable, unless QGPU_REQUIRE contains opengl.
func TestConformance(t *testing.T) {
	tests.Run(t, testConfig())
}
