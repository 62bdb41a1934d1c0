//go:build glfw && cgo

package glfwctx

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/qgpu/qgpu/backends/opengl/internal/glrt"
)

const addSrc = `#version 430
layout(local_size_x = 32) in;
layout(std430, binding = 0) readonly buffer A { uint a[]; };
layout(std430, binding = 1) writeonly buffer Y { uint y[]; };
layout(std140, binding = 0) uniform Params { uint n; uint param; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < n) {
        y[i] = a[i] * 3u + param;
    }
}
`

func required(name string) bool {
	for _, s := range strings.Split(os.Getenv("QGPU_REQUIRE"), ",") {
		if strings.TrimSpace(s) == name {
			return true
		}
	}
	return false
}

// newCtx skips without DISPLAY unless QGPU_REQUIRE names glfw; with a
// DISPLAY, a failure fails when QGPU_REQUIRE names opengl or glfw.
func newCtx(t *testing.T, opts glrt.Options) *glrt.Context {
	t.Helper()
	if os.Getenv("DISPLAY") == "" && !required("glfw") {
		t.Skip("DISPLAY not set: run under xvfb-run -a")
	}
	c, err := New(opts)
	if err != nil {
		if required("glfw") || required("opengl") {
			t.Fatalf("QGPU_REQUIRE=%s but no GLFW context: %v", os.Getenv("QGPU_REQUIRE"), err)
		}
		t.Skipf("no GLFW OpenGL 4.3 context: %v", err)
	}
	return c
}

func TestGLFWCompute(t *testing.T) {
	before := runtime.NumGoroutine()
	for round := 0; round < 2; round++ { // GLFW terminated and initialized again
		c := newCtx(t, glrt.Options{Debug: round == 1})
		caps := c.Caps()
		t.Logf("round %d: %s | %s | %s | debug %v", round, caps.Platform, caps.Version, caps.Renderer, caps.DebugContext)
		if caps.Platform != "glfw" || caps.Major < 4 || (caps.Major == 4 && caps.Minor < 3) {
			t.Errorf("caps: platform %q version %d.%d", caps.Platform, caps.Major, caps.Minor)
		}
		p, err := c.Program(addSrc)
		if err != nil {
			t.Fatal(err)
		}
		const n = 100
		a, err1 := c.NewBuffer(4 * n)
		y, err2 := c.NewBuffer(4 * n)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		in := make([]byte, 4*n)
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint32(in[4*i:], uint32(i*1000003))
		}
		prm := make([]byte, 8)
		binary.LittleEndian.PutUint32(prm, n)
		binary.LittleEndian.PutUint32(prm[4:], 9)
		b := glrt.Batch{Timing: true}
		b.Upload(a, 0, in)
		b.Dispatch(glrt.Dispatch{
			Program:  p,
			Groups:   [3]uint32{(n + 31) / 32, 1, 1},
			Bindings: []glrt.Binding{{Index: 0, Buffer: a, ReadOnly: true}, {Index: 1, Buffer: y}},
			Params:   prm,
		})
		out := make([]byte, 4*n)
		b.Download(y, 0, out)
		st, err := c.Run(&b)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if got, want := binary.LittleEndian.Uint32(out[4*i:]), uint32(i*1000003)*3+9; got != want {
				t.Fatalf("y[%d] = %d, want %d", i, got, want)
			}
		}
		t.Logf("GPU %v host %v", st.GPUTime, st.Host)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := c.Do(func() error { return nil }); !errors.Is(err, glrt.ErrClosed) {
			t.Errorf("Do after Close: %v", err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines: %d before, %d after", before, after)
	}
}

// TestNoDisplay checks that a missing X server is an error, not a panic. It
// runs the check in a child process so the environment of this one stays.
func TestNoDisplay(t *testing.T) {
	if os.Getenv("QGPU_GLFWCTX_CHILD") == "1" {
		_, err := New(glrt.Options{})
		if !errors.Is(err, glrt.ErrUnavailable) {
			t.Fatalf("DISPLAY=%q: err = %v, want ErrUnavailable", os.Getenv("DISPLAY"), err)
		}
		t.Logf("DISPLAY=%q: %v", os.Getenv("DISPLAY"), err)
		return
	}
	for _, display := range []string{"", ":4711"} { // unset; set but no server
		cmd := exec.Command(os.Args[0], "-test.run=^TestNoDisplay$", "-test.v")
		cmd.Env = append(os.Environ(), "QGPU_GLFWCTX_CHILD=1", "DISPLAY="+display)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("DISPLAY=%q: child failed: %v\n%s", display, err, out)
		}
		t.Logf("DISPLAY=%q child:\n%s", display, out)
	}
}

// BenchmarkNewGLFW measures making and closing a GLFW context (Init,
// hidden window, GL entry points, capability probe, Terminate).
func BenchmarkNewGLFW(b *testing.B) {
	if os.Getenv("DISPLAY") == "" {
		b.Skip("DISPLAY not set")
	}
	for b.Loop() {
		c, err := New(glrt.Options{})
		if err != nil {
			b.Skip(err)
		}
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
