package cpu_test

import (
	"testing"

	"github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/model/modeltest"
)

// TestModelIdentityISAs: every test model of package model gives the
// reference kernels' bytes on the fast kernels under each instruction set
// (three workers: the parallel splits too).
func TestModelIdentityISAs(t *testing.T) {
	forEachCPUISA(t, allCPUISAs, func(t *testing.T, isa cpu.ISA) {
		modeltest.Identity(t, engine.Config{Backend: "cpu", Threads: 3})
	})
}
