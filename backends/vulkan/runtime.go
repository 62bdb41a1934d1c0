package vulkan

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/backends/vulkan/internal/vkrt"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/shaders"
)

// runtime is the Vulkan part of the backend (gpu.Runtime): vkrt buffers,
// pipelines of the committed SPIR-V, and one command buffer per
// submission.
type runtime struct {
	dev  *vkrt.Device
	caps vkrt.Caps
	seqs sync.Pool // *vkrt.Sequence
}

func newRuntime(dev *vkrt.Device) *runtime { return &runtime{dev: dev, caps: dev.Caps()} }

// memory is a vkrt buffer as gpu.Memory.
type memory struct {
	*vkrt.Buffer
	dev *vkrt.Device
}

func (r *runtime) NewMemory(size int64) (gpu.Memory, error) {
	vb, err := r.dev.NewBuffer(size)
	if err != nil {
		return nil, err
	}
	return memory{vb, r.dev}, nil
}

// Zero clears the first n bytes: in place when the memory is mapped, else
// with a fill command.
func (m memory) Zero(n int64) error {
	if n == 0 {
		return nil
	}
	if b := m.Mapped(); b != nil {
		clear(b[:min(n, int64(len(b)))])
		return nil
	}
	s := m.dev.NewSequence()
	if err := s.Fill(m.Buffer, 0, n, 0); err != nil {
		return err
	}
	_, err := s.Submit(context.Background())
	return err
}

// Compile makes the pipeline of a kernel or variant from its committed
// SPIR-V (gpu.Backend keeps it).
func (r *runtime) Compile(name string) (gpu.Kernel, error) {
	code, err := shaders.SPIRV(name)
	if err != nil {
		return nil, err
	}
	return r.dev.NewPipeline(code, 4, shaders.ParamBytes)
}

// Submit records the dispatches into one sequence (uploads go straight to
// mapped memory, else through staging) and submits it.
func (r *runtime) Submit(ctx context.Context, sub *gpu.Submission, timed bool) ([]time.Duration, error) {
	for _, u := range sub.Uploads {
		vb := u.Mem.(memory).Buffer
		if m := vb.Mapped(); m != nil {
			copy(m[u.Off:], u.Data)
		} else if err := vb.Write(u.Off, u.Data); err != nil {
			return nil, err
		}
	}
	s, _ := r.seqs.Get().(*vkrt.Sequence)
	if s == nil {
		s = r.dev.NewSequence()
	}
	defer func() {
		s.Reset()
		r.seqs.Put(s)
	}()
	s.Timestamps(timed)
	var bind [4]vkrt.Binding
	for _, d := range sub.Dispatches {
		for i, b := range d.Bind {
			bind[i] = vkrt.Binding{Buf: b.Mem.(memory).Buffer, Off: b.Off, Size: b.Size}
		}
		if err := s.Dispatch(d.Kernel.(*vkrt.Pipeline), bind[:], d.Params, d.Groups[0], d.Groups[1], d.Groups[2]); err != nil {
			return nil, fmt.Errorf("dispatch %s: %w", d.Name, err)
		}
	}
	t, err := s.Submit(ctx)
	if err != nil {
		return nil, err
	}
	return t.Commands, nil
}

// Sentinel maps vkrt errors onto the engine's sentinels.
func (r *runtime) Sentinel(err error) error { return sentinel(err) }

func sentinel(err error) error {
	switch {
	case vkrt.IsOutOfMemory(err):
		return backend.ErrOutOfMemory
	case vkrt.IsDeviceLost(err):
		return backend.ErrDeviceLost
	case errors.Is(err, vkrt.ErrClosed), errors.Is(err, vkrt.ErrFreed):
		return backend.ErrClosed
	case errors.Is(err, vkrt.ErrUnavailable):
		return backend.ErrUnavailable
	}
	return nil
}

func (r *runtime) Close() error { return r.dev.Close() }
