package cpu_test

import (
	"testing"

	"github.com/qgpu/qgpu/engine"
)

// refAndFast returns the CPU backend with its reference kernels, and with
// its fast kernels on three workers and guard bytes around every buffer;
// when the test ends the fast engine's guards are checked and both are
// closed.
func refAndFast(t *testing.T) (ref, fast *engine.Engine) {
	t.Helper()
	ref, err := engine.New(engine.Config{Backend: "cpu", Options: engine.Options{Kernels: "generic"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ref.Close() })
	fast, err = engine.New(engine.Config{Backend: "cpu", Options: engine.Options{Threads: 3}, GuardBytes: 256})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fast.CheckGuards(); err != nil {
			t.Error(err)
		}
		fast.Close()
	})
	return ref, fast
}
