package engine

import (
	"fmt"
	"sync"

	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// Tensor is a tensor resident on an engine's backend. Its type, shape and
// (for quantized types) parameters are fixed at creation.
//
// Tensors are created by Engine.Upload, Engine.Empty and by op methods
// (which return their outputs). Release frees the device memory; a released
// tensor can no longer be used. Releasing a tensor that a running batch
// reads or writes is safe: the memory is freed when the last such run
// returns, and never reused before. Two ops may not write the same tensor
// at the same time (as with Go slices, that is the caller's
// responsibility).
type Tensor struct {
	eng *Engine
	d   *backend.Tensor

	mu       sync.Mutex
	pins     int  // running batches and transfers that use the buffer
	released bool // Release was called
	freed    bool // the buffer was freed (released and no pins left)
}

// DType returns the element type.
func (t *Tensor) DType() qtensor.DType { return t.d.DType() }

// Shape returns a copy of the shape.
func (t *Tensor) Shape() []int { return t.d.Shape() }

// Len returns the number of elements.
func (t *Tensor) Len() int { return t.d.Len() }

// Params returns a copy of the quantization parameters (zero value for
// float32 and int32 tensors).
func (t *Tensor) Params() qtensor.Params { return t.d.Params() }

// Bytes returns the data size in bytes (packed storage, see qtensor).
func (t *Tensor) Bytes() int { return t.d.Bytes() }

// Dim returns dimension i of the shape (negative i counts from the end).
func (t *Tensor) Dim(i int) int { return t.d.Dim(i) }

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return t.d.Rank() }

// Desc returns the descriptor a backend receives for t (its buffer and
// offset among them). For backends and their tests; programs do not need it.
func (t *Tensor) Desc() *backend.Tensor { return t.d }

// Released reports whether Release was called.
func (t *Tensor) Released() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.released
}

// Release frees the tensor's device memory, at once or, when batches or
// transfers that use the tensor are running, when the last of them
// returns. Safe to call twice, and from any goroutine.
func (t *Tensor) Release() {
	t.mu.Lock()
	if t.released {
		t.mu.Unlock()
		return
	}
	t.released = true
	free := t.pins == 0
	t.freed = free
	t.mu.Unlock()
	if free {
		t.free()
	}
}

// pin keeps the buffer alive until unpin; it fails once Release was called.
func (t *Tensor) pin() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.released {
		return false
	}
	t.pins++
	return true
}

// unpin ends a pin and frees the buffer if it was the last pin of a
// released tensor.
func (t *Tensor) unpin() {
	t.mu.Lock()
	t.pins--
	free := t.pins == 0 && t.released && !t.freed
	if free {
		t.freed = true
	}
	t.mu.Unlock()
	if free {
		t.free()
	}
}

func (t *Tensor) free() {
	if e := t.eng; e != nil && e.guard > 0 {
		e.gmu.Lock()
		delete(e.guarded, t)
		e.gmu.Unlock()
	}
	t.d.Buffer().Free()
}

func (t *Tensor) String() string {
	return fmt.Sprintf("%v%v", t.d.DType(), t.d.Shape())
}

// check returns an error unless t belongs to e and is live.
func (e *Engine) check(name string, t *Tensor) error {
	if t == nil {
		return fmt.Errorf("%w: %s is nil", ErrParams, name)
	}
	if t.eng != e {
		return fmt.Errorf("%w: %s belongs to another engine", ErrParams, name)
	}
	if t.Released() {
		return fmt.Errorf("%s: tensor %w (released)", name, ErrClosed)
	}
	return nil
}

// pinAll pins every tensor of ts or none: it fails, naming the operand
// (what(i) for ts[i]), when one is nil, belongs to another engine or was
// released. The caller unpins them with unpinAll.
func (e *Engine) pinAll(ts []*Tensor, what func(i int) string) error {
	for i, t := range ts {
		if t != nil && t.eng == e && t.pin() {
			continue
		}
		unpinAll(ts[:i])
		name := what(i)
		if t != nil {
			name += " " + t.String()
		}
		if err := e.check(name, t); err != nil {
			return err
		}
		return fmt.Errorf("%s: tensor %w (released)", name, ErrClosed)
	}
	return nil
}

func unpinAll(ts []*Tensor) {
	for _, t := range ts {
		if t != nil {
			t.unpin()
		}
	}
}
