package opengl

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/backends/opengl/internal/glrt"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/shaders"
)

// runtime is the OpenGL part of the backend (gpu.Runtime): GL buffer
// objects, the kernels compiled by the driver, and glrt batches.
type runtime struct {
	ctx  *glrt.Context
	caps glrt.Caps
}

// memory is a GL buffer object as gpu.Memory.
type memory struct{ *glrt.Buffer }

func (r *runtime) NewMemory(size int64) (gpu.Memory, error) {
	gb, err := r.ctx.NewBuffer(int(size))
	if err != nil {
		return nil, err
	}
	return memory{gb}, nil
}

func (m memory) Size() int64                       { return int64(m.Buffer.Size()) }
func (m memory) Write(off int64, src []byte) error { return m.Upload(int(off), src) }
func (m memory) Read(off int64, dst []byte) error  { return m.Download(int(off), dst) }
func (m memory) Zero(n int64) error                { return m.Clear(0, int(n)) }

// Free deletes the buffer object; its only error is a GL error, nothing a
// caller can act on.
func (m memory) Free() { m.Buffer.Free() }

// Compile has the driver compile the GLSL of a kernel or variant
// (gpu.Backend keeps the program).
func (r *runtime) Compile(name string) (gpu.Kernel, error) {
	src, err := shaders.Source(name, shaders.OpenGL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", backend.ErrUnavailable, err)
	}
	p, err := r.ctx.Program(src)
	if err != nil {
		var ce *glrt.CompileError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("%w: %s: GLSL %s failed:\n%s", backend.ErrUnavailable, r.caps.Renderer, ce.Stage, ce.Log)
		}
		return nil, err
	}
	if ls := p.LocalSize(); ls != [3]int{shaders.LocalSize, 1, 1} {
		return nil, fmt.Errorf("local size %v, want %d x 1 x 1", ls, shaders.LocalSize)
	}
	return p, nil
}

// Submit runs the uploads and dispatches as one glrt batch (glrt places
// the barriers) and waits for the GPU.
func (r *runtime) Submit(ctx context.Context, sub *gpu.Submission, timed bool) ([]time.Duration, error) {
	batch := &glrt.Batch{Timing: timed && r.caps.TimerBits > 0}
	// Written by GL commands, the uploads need no barrier before the
	// dispatches read them; GL orders them after earlier dispatches that
	// read the (pooled) memory.
	for _, u := range sub.Uploads {
		batch.Upload(u.Mem.(memory).Buffer, int(u.Off), u.Data)
	}
	var binds [4]glrt.Binding
	for _, d := range sub.Dispatches {
		for i, b := range d.Bind {
			binds[i] = glrt.Binding{Index: uint32(i), Buffer: b.Mem.(memory).Buffer, Offset: int(b.Off), Size: int(b.Size), ReadOnly: i != gpu.SlotY && !(i == gpu.SlotAux && d.WritesAux)}
		}
		batch.Dispatch(glrt.Dispatch{Program: d.Kernel.(*glrt.Program), Groups: d.Groups, Bindings: binds[:], Params: d.Params, ParamsBinding: 0})
	}
	st, err := r.ctx.Run(batch)
	if err == nil && !batch.Timing {
		// Timed batches waited for their query results; others wait
		// here, so Submit returns when the work is done (and GPU faults
		// surface now).
		err = r.ctx.Finish()
	}
	return st.GPUTime, err
}

// Sentinel maps glrt errors onto the engine's sentinels.
func (r *runtime) Sentinel(err error) error { return sentinel(err) }

// glContextLost is GL_CONTEXT_LOST (GL 4.5 / KHR_robustness).
const glContextLost = 0x0507

func sentinel(err error) error {
	var ge *glrt.GLError
	switch {
	case errors.Is(err, glrt.ErrOutOfMemory):
		return backend.ErrOutOfMemory
	case errors.As(err, &ge) && ge.Code == glContextLost:
		return backend.ErrDeviceLost
	case errors.Is(err, glrt.ErrClosed):
		return backend.ErrClosed
	case errors.Is(err, glrt.ErrUnavailable):
		return backend.ErrUnavailable
	}
	return nil
}

func (r *runtime) Close() error { return r.ctx.Close() }
