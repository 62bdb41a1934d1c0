package cpu_test

import (
	"testing"

	"github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/tests"
)

// TestConformanceISAs runs the whole conformance suite against the fast
// CPU kernels once per instruction set this CPU has (and the portable Go
// form), comparing with the generic reference kernels.
func TestConformanceISAs(t *testing.T) {
	for _, isa := range []cpu.ISA{cpu.ISAAVX512VNNI, cpu.ISAAVX2, cpu.ISAGeneric} {
		t.Run(isa.String(), func(t *testing.T) {
			if !cpu.SupportedISA(isa) {
				t.Skipf("this CPU (or build) lacks %v", isa)
			}
			restore, err := cpu.SetISA(isa)
			if err != nil {
				t.Fatal(err)
			}
			defer restore()
			tests.Run(t, engine.Config{Backend: "cpu"})
		})
	}
}
