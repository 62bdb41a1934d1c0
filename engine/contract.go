package engine

import "github.com/qgpu/qgpu/engine/backend"

// Sentinel errors. Errors returned by the engine and by backends wrap one
// of these (test with errors.Is). They are the values of package backend,
// so a backend's errors match them too.
var (
	// ErrUnavailable: the backend cannot run here (no driver, no device,
	// built without cgo ...). The wrapping error says why.
	ErrUnavailable = backend.ErrUnavailable
	// ErrUnsupported: the backend does not implement this op or variant.
	ErrUnsupported = backend.ErrUnsupported
	// ErrOutOfMemory: an allocation failed on the device or host.
	ErrOutOfMemory = backend.ErrOutOfMemory
	// ErrDeviceLost: the device stopped working; the engine must be closed.
	ErrDeviceLost = backend.ErrDeviceLost
	// ErrShape: a shape is invalid or operands' shapes do not match.
	ErrShape = backend.ErrShape
	// ErrParams: an op parameter (scale, zero point, attribute, dtype) is invalid.
	ErrParams = backend.ErrParams
	// ErrClosed: the engine, backend or tensor was closed or released.
	ErrClosed = backend.ErrClosed
)

// Options configure a backend when it is opened (device, threads, kernel
// set); see backend.Options.
type Options = backend.Options

// DeviceInfo describes a backend's device and its capabilities.
type DeviceInfo = backend.DeviceInfo

// OutputKind is the output form of a GEMM or convolution.
type OutputKind = backend.OutputKind

// Output kinds of GemmOptions and ConvOptions.
const (
	OutInt32     = backend.OutInt32     // the int32 accumulator (plus Bias)
	OutFloat32   = backend.OutFloat32   // float32: float32(acc) * AScale * BScale[c] + FloatBias[c]
	OutQuantized = backend.OutQuantized // requantized into YType with (YScale, YZP)
)

// Layout is the order of a Conv's or Pool's input or output dimensions
// in memory: NCHW (ONNX's, the default) or NHWC (channels last).
type Layout = backend.Layout

// Layouts of ConvOptions and PoolOptions.
const (
	NCHW = backend.NCHW // [N, C, H, W]
	NHWC = backend.NHWC // [N, H, W, C]
)

// Backends returns the names of the backends linked into the program,
// highest priority first.
func Backends() []string { return backend.Names() }
