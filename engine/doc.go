// Package engine is qgpu's one Go API over every backend.
//
// An Engine owns one Backend (CPU, Vulkan or OpenGL, chosen by name or
// "auto"), uploads qtensor.Tensors to the device once, records ops into
// Batches that run as one submission, and downloads results. It validates
// every op before a backend sees it, so every backend gets the same clean
// errors and the same defaults; errors wrap the sentinels ErrShape,
// ErrParams, ErrUnsupported, ErrUnavailable, ErrOutOfMemory, ErrDeviceLost
// and ErrClosed.
//
// Backends register themselves in init (import
// _ "github.com/qgpu/qgpu/backends/cpu"), the way database/sql drivers do;
// the engine imports none of them. What a backend implements - Backend,
// Buffer, and the validated op descriptions it receives - is package
// engine/backend, the way database/sql/driver is for database/sql.
//
// Calibration runs on the engine too: Engine.Reducer gives calib's
// observers the backend's min/max and histogram passes, and Engine.Observe
// feeds an op's output (float32, quantized, or int32 accumulators with
// ObserveAccumulators) to an observer (see ExampleEngine_Observe).
//
// The exact semantics of every op are documented on the Batch methods, on
// the op types of package engine/backend, which reference the scalar
// formulas of package qtensor, and in docs/semantics.md.
package engine
