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
	forEachCPUISA(t, allCPUISAs, func(t *testing.T, isa cpu.ISA) {
		tests.Run(t, engine.Config{Backend: "cpu"})
	})
}
