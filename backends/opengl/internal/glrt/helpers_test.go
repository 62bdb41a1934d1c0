package glrt

import (
	_ "embed"
	"os"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/backends/internal/gpu/gputest"
)

var (
	//go:embed testdata/add.comp
	addSrc string
	//go:embed testdata/unpack_i8.comp
	unpackSrc string
	//go:embed testdata/uniform_scale.comp
	uniformSrc string
	//go:embed testdata/empty.comp
	emptySrc string
	//go:embed testdata/bad.comp
	badSrc string
)

// glRequired reports whether QGPU_REQUIRE (a comma-separated list) names
// opengl: then a missing driver fails the tests instead of skipping them.
func glRequired() bool {
	for _, s := range strings.Split(os.Getenv("QGPU_REQUIRE"), ",") {
		if strings.TrimSpace(s) == "opengl" {
			return true
		}
	}
	return false
}

func newCtx(t testing.TB, opts Options) *Context {
	t.Helper()
	c, err := NewEGL(opts)
	if err != nil {
		if glRequired() {
			t.Fatalf("QGPU_REQUIRE=opengl but no context: %v", err)
		}
		t.Skipf("no OpenGL 4.3 via EGL: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

func mustProgram(t testing.TB, c *Context, src string) *Program {
	t.Helper()
	p, err := c.Program(src)
	if err != nil {
		t.Fatalf("Program: %v", err)
	}
	return p
}

func mustBuffer(t testing.TB, c *Context, size int) *Buffer {
	t.Helper()
	b, err := c.NewBuffer(size)
	if err != nil {
		t.Fatalf("NewBuffer(%d): %v", size, err)
	}
	return b
}

// params packs 32-bit words (std140 and std430 agree for scalar members).
func params(words ...uint32) []byte { return gputest.Bytes(words) }

func groups(n, local int) [3]uint32 { return [3]uint32{uint32((n + local - 1) / local), 1, 1} }
