package nobackend_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/engine"
)

// TestNewWithoutBackend opens engines in a binary that links no backend:
// the error must wrap ErrUnavailable and name the fix, the blank import of
// a backend package, instead of ending with an empty reason.
func TestNewWithoutBackend(t *testing.T) {
	if bs := engine.Backends(); len(bs) != 0 {
		t.Fatalf("this test binary must link no backend, has %v", bs)
	}
	for _, c := range []struct{ backend, want string }{
		{"", `no backend is linked into this program; import one for its side effect, e.g. import _ "github.com/qgpu/qgpu/backends/cpu"`},
		{"auto", `import _ "github.com/qgpu/qgpu/backends/cpu"`},
		{"cpu", `link it with import _ "github.com/qgpu/qgpu/backends/cpu"`},
		{"vulkan", `link it with import _ "github.com/qgpu/qgpu/backends/vulkan"`},
		{"opengl", `link it with import _ "github.com/qgpu/qgpu/backends/opengl"`},
		{"tpu", `backend "tpu": backend unavailable (not compiled in; registered: [])`},
	} {
		e, err := engine.New(engine.Config{Backend: c.backend})
		if err == nil {
			e.Close()
			t.Fatalf("backend %q opened with no backend linked", c.backend)
		}
		if !errors.Is(err, engine.ErrUnavailable) {
			t.Errorf("backend %q: error %v does not wrap ErrUnavailable", c.backend, err)
		}
		if msg := err.Error(); !strings.Contains(msg, c.want) || strings.HasSuffix(msg, ": ") {
			t.Errorf("backend %q: error %q, want it to contain %q", c.backend, msg, c.want)
		}
	}
}
