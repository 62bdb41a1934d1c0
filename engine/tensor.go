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
// Tensors are created by Engine.Upload, Engine.Empty, Engine.Reshape and by
// op methods (which return their outputs). Release frees the device memory
// once no other Tensor shares it (Engine.Reshape); a released tensor can no
// longer be used. Releasing a tensor that a running batch reads or writes
// is safe: the memory is freed when the last such run returns, and never
// reused before. Two ops may not write the same tensor at the same time
// (as with Go slices, that is the caller's responsibility).
type Tensor struct {
	eng *Engine
	d   *backend.Tensor
	st  *storage
	// released is set by Release (under st.mu).
	released bool
}

// storage is the device memory of one or more Tensors (a tensor and its
// reshaped views). It is freed when every Tensor sharing it has been
// released and no batch or transfer that uses it is running.
type storage struct {
	base *Tensor // the tensor that allocated it (the key of Engine.guarded)

	mu      sync.Mutex
	handles int  // Tensors sharing the memory that are not released
	pins    int  // running batches and transfers that use the memory
	freed   bool // the buffer was freed
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
	t.st.mu.Lock()
	defer t.st.mu.Unlock()
	return t.released
}

// Release frees the tensor's device memory - at once, or when the last
// batch or transfer that uses it returns, or when the last other Tensor
// sharing it (Engine.Reshape) is released. Safe to call twice, and from
// any goroutine.
func (t *Tensor) Release() {
	st := t.st
	st.mu.Lock()
	if t.released {
		st.mu.Unlock()
		return
	}
	t.released = true
	st.handles--
	free := st.lastUse()
	st.mu.Unlock()
	if free {
		st.free(t.eng)
	}
}

// pin keeps the memory alive until unpin; it fails once t was released.
func (t *Tensor) pin() bool {
	t.st.mu.Lock()
	defer t.st.mu.Unlock()
	if t.released {
		return false
	}
	t.st.pins++
	return true
}

// unpin ends a pin and frees the memory if it was the last use.
func (t *Tensor) unpin() {
	st := t.st
	st.mu.Lock()
	st.pins--
	free := st.lastUse()
	st.mu.Unlock()
	if free {
		st.free(t.eng)
	}
}

// lastUse reports (under mu) whether the memory has no user left and was
// not freed yet, and marks it freed if so.
func (st *storage) lastUse() bool {
	if st.handles > 0 || st.pins > 0 || st.freed {
		return false
	}
	st.freed = true
	return true
}

func (st *storage) free(e *Engine) {
	if e != nil && e.guard > 0 {
		e.gmu.Lock()
		delete(e.guarded, st.base)
		e.gmu.Unlock()
	}
	st.base.d.Buffer().Free()
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
