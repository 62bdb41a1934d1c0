package backend

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/qtensor"
)

// Sentinel errors. Errors returned by the engine and by backends wrap one
// of these (test with errors.Is).
var (
	// ErrUnavailable: the backend cannot run here (no driver, no device,
	// built without cgo ...). The wrapping error says why.
	ErrUnavailable = errors.New("backend unavailable")
	// ErrUnsupported: the backend does not implement this op or variant.
	ErrUnsupported = qtensor.ErrUnsupported
	// ErrOutOfMemory: an allocation failed on the device or host.
	ErrOutOfMemory = errors.New("out of memory")
	// ErrDeviceLost: the device stopped working; the engine must be closed.
	ErrDeviceLost = errors.New("device lost")
	// ErrShape: a shape is invalid or operands' shapes do not match.
	ErrShape = qtensor.ErrShape
	// ErrParams: an op parameter (scale, zero point, attribute, dtype) is invalid.
	ErrParams = qtensor.ErrParams
	// ErrClosed: the engine, backend or tensor was closed or released.
	ErrClosed = errors.New("closed")
)

// Backend is a compute backend (CPU, Vulkan, OpenGL). Backends are created
// through the registry and owned by one Engine, which validates every op
// before a backend sees it: a backend may assume operands are consistent.
//
// Backends must be safe for concurrent use: Run may be called from many
// goroutines at once with ops on different tensors.
type Backend interface {
	// Name is the registry name ("cpu", "vulkan", "opengl").
	Name() string
	// Device describes the device in use.
	Device() DeviceInfo
	// Alloc returns a zeroed buffer of at least size bytes.
	Alloc(size int) (Buffer, error)
	// Supports returns nil when the backend can run op, or an error
	// wrapping ErrUnsupported that says why not.
	Supports(op Op) error
	// Run executes ops in order as one submission (later ops see earlier
	// ops' results) and returns when all are done or ctx is cancelled.
	// The engine does not call Supports first: Run makes the same checks
	// and, when an op cannot run, returns Supports' error having run none.
	Run(ctx context.Context, ops []Op) error
	// Close frees everything the backend made. Safe to call twice.
	Close() error
}

// Timer is implemented by backends that measure device time per op (GPU
// timestamps). RunTimed is Run that also returns the device time of each
// op in seconds.
type Timer interface {
	RunTimed(ctx context.Context, ops []Op) ([]float64, error)
}

// InPlaceReducer is implemented by backends whose memory is the host's:
// InPlaceReducer returns a calib.Reducer that reads the caller's slices in
// place, saving engine.Engine.Reducer the copy into device buffers. Its
// results must be exactly calib.HostReducer's.
type InPlaceReducer interface {
	InPlaceReducer() calib.Reducer
}

// Buffer is device memory owned by a backend.
type Buffer interface {
	// Size is the usable size in bytes.
	Size() int
	// Write copies src into the buffer at byte offset off.
	Write(off int, src []byte) error
	// Read copies len(dst) bytes at byte offset off into dst.
	Read(off int, dst []byte) error
	// Free releases the buffer. Safe to call twice.
	Free()
}

// DeviceInfo describes a backend's device and its capabilities.
type DeviceInfo struct {
	Backend string
	Name    string
	Driver  string
	Kind    string            // "cpu", "discrete", "integrated", "virtual", "software"
	Caps    map[string]string // capability name -> value, for listing
}

// Options configure a backend when it is opened.
type Options struct {
	// Device selects a device by index ("0") or name substring; "" is the
	// backend's default.
	Device string
	// Threads limits CPU worker goroutines (0: GOMAXPROCS). It must be in
	// [0, MaxThreads()].
	Threads int
	// Debug turns on extra checking (GL errors after each op, validation).
	Debug bool
	// Kernels selects a backend's kernel set; "" is the backend's best.
	// The CPU backend accepts "generic" for its reference kernels (the
	// conformance suite's reference) and "fast" (the default).
	Kernels string
}

// MaxThreads is the largest Options.Threads accepted: 64 per logical CPU.
// More workers only add memory (a goroutine stack each) and scheduling.
func MaxThreads() int { return 64 * runtime.NumCPU() }

// Check validates the options every backend shares: an error wrapping
// ErrParams for a negative Threads or one above MaxThreads.
func (o Options) Check() error {
	if o.Threads < 0 || o.Threads > MaxThreads() {
		return fmt.Errorf("%w: Threads %d outside [0, %d] (0: one per CPU; at most 64 per CPU)", ErrParams, o.Threads, MaxThreads())
	}
	return nil
}

// Factory opens a backend. It returns an error wrapping ErrUnavailable
// (with the reason) when the backend cannot run on this machine.
type Factory func(opts Options) (Backend, error)

type registration struct {
	name     string
	priority int
	open     Factory
}

var (
	regMu    sync.Mutex
	registry = map[string]registration{}
)

// Register makes a backend available under name. Backends call it from
// init; auto selection tries backends in decreasing priority. Registering a
// name twice panics (a programming error, like database/sql).
func Register(name string, priority int, open Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("engine: backend " + name + " registered twice")
	}
	registry[name] = registration{name, priority, open}
}

// Names returns the registered backend names, highest priority first.
func Names() []string {
	regMu.Lock()
	defer regMu.Unlock()
	regs := make([]registration, 0, len(registry))
	for _, r := range registry {
		regs = append(regs, r)
	}
	sort.Slice(regs, func(i, j int) bool {
		if regs[i].priority != regs[j].priority {
			return regs[i].priority > regs[j].priority
		}
		return regs[i].name < regs[j].name
	})
	names := make([]string, len(regs))
	for i, r := range regs {
		names[i] = r.name
	}
	return names
}

func lookup(name string) (registration, bool) {
	regMu.Lock()
	defer regMu.Unlock()
	r, ok := registry[name]
	return r, ok
}

// ImportPath is the package path of the qgpu backend of that name ("cpu",
// "vulkan", "opengl"); a program links a backend by importing it for its
// side effect: import _ "github.com/qgpu/qgpu/backends/cpu".
func ImportPath(name string) string { return "github.com/qgpu/qgpu/backends/" + name }

// LinkHint returns, for one of qgpu's backend names, the sentence that
// says how to link it in ("; link it with import _ ..."); "" for others.
func LinkHint(name string) string {
	switch name {
	case "cpu", "vulkan", "opengl":
		return fmt.Sprintf("; link it with import _ %q", ImportPath(name))
	}
	return ""
}

// Open opens the named backend ("auto" is not accepted here) after
// checking opts (Options.Check).
func Open(name string, opts Options) (Backend, error) {
	if err := opts.Check(); err != nil {
		return nil, fmt.Errorf("engine: backend %s: %w", name, err)
	}
	r, ok := lookup(name)
	if !ok {
		return nil, fmt.Errorf("engine: backend %q: %w (not compiled in; registered: %v)%s", name, ErrUnavailable, Names(), LinkHint(name))
	}
	b, err := r.open(opts)
	if err != nil {
		return nil, fmt.Errorf("engine: backend %s: %w", name, err)
	}
	return b, nil
}
