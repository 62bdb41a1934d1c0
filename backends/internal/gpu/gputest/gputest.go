// Package gputest holds the tests and benchmarks every GPU backend must
// pass, whatever its API: each backend's _test files run them (Run, Bench)
// against its own engine configuration, so a new GPU API gets them by
// adding one line.
package gputest

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	_ "github.com/qgpu/qgpu/backends/cpu" // the conformance reference and auto's fallback
	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/tests"
)

// Target is a GPU backend under test.
type Target struct {
	// Config opens the backend through the engine (Config.Backend is its
	// registry name).
	Config engine.Config
	// Open opens the backend itself with the given options, with its
	// self-tests on or off (skipSelfTest); exactDiv forces the quantize
	// variant with the integer-only division.
	Open func(o engine.Options, exactDiv, skipSelfTest bool) (Backend, error)
}

// Backend is a GPU backend as the tests see it: the engine contract and
// the shared implementation underneath.
type Backend interface {
	backend.Backend
	GPU() *gpu.Backend
}

// name is the registry name of the backend.
func (tg *Target) name() string { return tg.Config.Backend }

// Skip skips tb when err says the backend is unavailable here (or fails it
// when QGPU_REQUIRE names the backend), and fails it on any other error.
func (tg *Target) Skip(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, engine.ErrUnavailable) && !tests.Required(tg.name()) {
		tb.Skipf("%s unavailable (set %s=%s to fail): %v", tg.name(), tests.RequireEnv, tg.name(), err)
	}
	tb.Fatal(err)
}

// Engine opens an engine on the backend, closed with tb.
func (tg *Target) Engine(tb testing.TB) *engine.Engine {
	tb.Helper()
	e, err := engine.New(tg.Config)
	tg.Skip(tb, err)
	tb.Cleanup(func() { e.Close() })
	return e
}

// open opens the backend itself, closed with tb.
func (tg *Target) open(tb testing.TB, exactDiv, skipSelfTest bool) Backend {
	tb.Helper()
	c := tg.Config
	b, err := tg.Open(engine.Options{Device: c.Device, Threads: c.Threads, Debug: c.Debug, Kernels: c.Kernels}, exactDiv, skipSelfTest)
	tg.Skip(tb, err)
	tb.Cleanup(func() { b.Close() })
	return b
}

// gpuOf returns the shared implementation of an engine's backend.
func gpuOf(e *engine.Engine) *gpu.Backend { return e.Backend().(Backend).GPU() }

// loopLimited reports whether the engine's device has Mesa's loop budget.
func loopLimited(e *engine.Engine) bool { return gpu.LoopLimited(e.Backend().Device().Name) }

// Run runs every shared test as a subtest of t (select one with
// -run 'TestGPU/Name').
func Run(t *testing.T, tg Target) {
	for _, c := range []struct {
		name string
		f    func(*testing.T, *Target)
	}{
		{"Concurrent", concurrent},
		{"CloseWhileRunning", closeWhileRunning},
		{"AfterClose", afterClose},
		{"GCStress", gcStress},
		{"Cancel", cancel},
		{"MemoryFlat", memoryFlat},
		{"Timed", timed},
		{"LoopBudget", loopBudget},
		{"DeviceInfo", deviceInfo},
		{"AutoSkipsSoftware", autoSkipsSoftware},
		{"ExactDivision", exactDivision},
		{"SelfTestSensitivity", selfTestSensitivity},
		{"Observe", observe},
	} {
		t.Run(c.name, func(t *testing.T) { c.f(t, &tg) })
	}
}

// deviceMatches reports whether the device's name or driver mentions s.
func deviceMatches(d engine.DeviceInfo, s string) bool {
	return strings.Contains(strings.ToLower(d.Name+" "+d.Driver), s)
}

// Bytes returns words as the little-endian bytes of a kernel's buffer
// (also for the runtimes' own tests).
func Bytes(words []uint32) []byte {
	b, _ := binary.Append(nil, binary.LittleEndian, words)
	return b
}

// Words returns the little-endian words of a kernel's buffer.
func Words(b []byte) []uint32 {
	w := make([]uint32, len(b)/4)
	binary.Decode(b, binary.LittleEndian, w)
	return w
}
