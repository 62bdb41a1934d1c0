package gpu

import (
	"context"
	"time"
)

// Runtime is one GPU API's part of a backend. Its methods must be safe
// for concurrent use; Backend calls them with its read lock held (Close
// with its write lock).
type Runtime interface {
	// Compile returns the compiled form of a kernel or variant (a name of
	// shaders.Kernels or shaders.Variants): a pipeline, a program. Backend
	// keeps one per name and passes it back in Dispatch.Kernel.
	Compile(name string) (Kernel, error)
	// NewMemory allocates size bytes of device memory usable as a
	// storage buffer (contents undefined).
	NewMemory(size int64) (Memory, error)
	// Submit runs the uploads, then the dispatches in order, each seeing
	// the writes of those before it, and waits until they are done. When
	// ctx is done first it may return ctx's error while the device still
	// runs them (Backend then keeps their memory out of its pool). With
	// timed it returns the device time of each dispatch, or nil where the
	// device cannot measure it. Its errors are described by the runtime
	// and classified by Sentinel.
	Submit(ctx context.Context, s *Submission, timed bool) ([]time.Duration, error)
	// Sentinel returns the engine sentinel a runtime error stands for
	// (backend.ErrOutOfMemory, ErrDeviceLost, ErrClosed, ErrUnavailable),
	// or nil.
	Sentinel(err error) error
	// Close waits for the device and frees everything made on it, memory
	// included.
	Close() error
}

// Memory is device memory of a Runtime.
type Memory interface {
	Size() int64
	// Write copies src into the memory at byte offset off.
	Write(off int64, src []byte) error
	// Read copies len(dst) bytes at byte offset off into dst, after every
	// submitted dispatch that writes the memory.
	Read(off int64, dst []byte) error
	// Zero clears the first n bytes (n a multiple of 4).
	Zero(n int64) error
	// Free releases the memory once no running submission uses it. Safe
	// to call after Close.
	Free()
}

// Submission is the work of one Runtime.Submit.
type Submission struct {
	Uploads    []Upload
	Dispatches []Dispatch
}

// Upload writes Data into Mem at byte offset Off before the dispatches.
type Upload struct {
	Mem  Memory
	Off  int64
	Data []byte
}

// Kernel is a kernel compiled by a Runtime.
type Kernel any

// Dispatch is one kernel dispatch resolved to memory.
type Dispatch struct {
	// Kernel is the compiled kernel or variant to run, Name its name.
	Kernel Kernel
	Name   string
	// Params is the kernel's parameter block, shaders.ParamBytes long
	// (Vulkan push constants; the uniform block at binding 0 in GL).
	Params []byte
	// Bind are the storage buffers at bindings 0..3 (SlotX .. SlotAux);
	// only SlotY is written, and SlotAux when WritesAux.
	Bind      [4]Binding
	Groups    [3]uint32
	WritesAux bool
}

// Binding is a byte range of memory bound as one storage buffer.
type Binding struct {
	Mem       Memory
	Off, Size int64
}
