package cpu_test

import (
	"context"
	"testing"

	"github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// allCPUISAs are the instruction sets of the CPU backend's fast kernels.
var allCPUISAs = []cpu.ISA{cpu.ISAAVX512, cpu.ISAAVX2, cpu.ISAGeneric}

// forEachCPUISA runs f as a subtest per instruction set of isas, with the
// fast kernels switched to it (cpu.SetISA) and restored after; the sets
// this CPU or build lacks are skipped.
func forEachCPUISA(t *testing.T, isas []cpu.ISA, f func(t *testing.T, isa cpu.ISA)) {
	t.Helper()
	for _, isa := range isas {
		t.Run(isa.String(), func(t *testing.T) {
			if !cpu.SupportedISA(isa) {
				t.Skipf("this CPU (or build) lacks %v", isa)
			}
			restore, err := cpu.SetISA(isa)
			if err != nil {
				t.Fatal(err)
			}
			defer restore()
			f(t, isa)
		})
	}
}

// refAndFast returns the CPU backend with its reference kernels, and with
// its fast kernels on three workers and guard bytes around every buffer;
// when the test ends the fast engine's guards are checked and both are
// closed.
func refAndFast(t *testing.T) (ref, fast *engine.Engine) {
	t.Helper()
	ref, err := engine.New(engine.Config{Backend: "cpu", Kernels: "generic"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ref.Close() })
	fast, err = engine.New(engine.Config{Backend: "cpu", Threads: 3, GuardBytes: 256})
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

// runBytes records one op with build on e, runs it and returns the output
// bytes.
func runBytes(t *testing.T, e *engine.Engine, name string, ins []*qtensor.Tensor, build func(b *engine.Batch, x []*engine.Tensor) (*engine.Tensor, error)) []byte {
	t.Helper()
	var xs []*engine.Tensor
	for _, h := range ins {
		x, err := e.Upload(h)
		if err != nil {
			t.Fatal(err)
		}
		xs = append(xs, x)
	}
	b := e.NewBatch()
	y, err := build(b, xs)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := b.Run(context.Background()); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	hy, err := e.Download(y)
	if err != nil {
		t.Fatal(err)
	}
	return hy.Data
}
