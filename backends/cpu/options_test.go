package cpu

import (
	"errors"
	"runtime"
	"testing"

	"github.com/qgpu/qgpu/engine/backend"
)

// TestThreadsBound: New refuses a negative thread count and one above 64
// per CPU (a million threads once took gigabytes for a tiny matmul) and
// accepts the bound itself.
func TestThreadsBound(t *testing.T) {
	for _, n := range []int{-1, 64*runtime.NumCPU() + 1} {
		b, err := New(backend.Options{Threads: n})
		if err == nil {
			b.Close()
			t.Errorf("New(Threads: %d) succeeded, want an error wrapping ErrParams", n)
		} else if !errors.Is(err, backend.ErrParams) {
			t.Errorf("New(Threads: %d): %v, want an error wrapping ErrParams", n, err)
		}
	}
	for _, n := range []int{0, 1, 64 * runtime.NumCPU()} {
		b, err := New(backend.Options{Threads: n})
		if err != nil {
			t.Fatalf("New(Threads: %d): %v", n, err)
		}
		b.Close()
	}
}
