package engine

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"

	"github.com/qgpu/qgpu/qtensor"
)

func f32bits(f float32) uint32     { return math.Float32bits(f) }
func f32frombits(b uint32) float32 { return math.Float32frombits(b) }

// Tensor is a tensor resident on an engine's backend. Its data lives in a
// backend Buffer at a byte offset; its type, shape and (for quantized
// types) parameters are fixed at creation.
//
// Tensors are created by Engine.Upload, Engine.Empty and by op methods
// (which return their outputs). Release frees the device memory; a released
// tensor can no longer be used. Two ops may not write the same tensor at
// the same time (as with Go slices, that is the caller's responsibility).
type Tensor struct {
	eng      *Engine
	buf      Buffer
	off      int
	nbytes   int
	dtype    qtensor.DType
	shape    []int
	n        int
	params   qtensor.Params
	released atomic.Bool
}

// DType returns the element type.
func (t *Tensor) DType() qtensor.DType { return t.dtype }

// Shape returns a copy of the shape.
func (t *Tensor) Shape() []int { return slices.Clone(t.shape) }

// Len returns the number of elements.
func (t *Tensor) Len() int { return t.n }

// Params returns a copy of the quantization parameters (zero value for
// float32 and int32 tensors).
func (t *Tensor) Params() qtensor.Params { return t.params.Clone() }

// Buffer returns the backend buffer holding the data. For backends.
func (t *Tensor) Buffer() Buffer { return t.buf }

// Offset returns the byte offset of the data in Buffer. For backends; it
// is a multiple of 256 (or 0).
func (t *Tensor) Offset() int { return t.off }

// Bytes returns the data size in bytes (packed storage, see qtensor).
func (t *Tensor) Bytes() int { return t.nbytes }

// Dim returns dimension i of the shape (negative i counts from the end).
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.shape)
	}
	return t.shape[i]
}

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// PairParams returns the scale and zero point of pair i. For backends.
func (t *Tensor) PairParams(i int) (float32, int32) {
	return t.params.Scales[i], t.params.ZeroPoints[i]
}

// Released reports whether Release was called.
func (t *Tensor) Released() bool { return t.released.Load() }

// Release frees the tensor's device memory. Safe to call twice.
func (t *Tensor) Release() {
	if t.released.Swap(true) {
		return
	}
	if e := t.eng; e != nil && e.guard > 0 {
		e.gmu.Lock()
		delete(e.guarded, t)
		e.gmu.Unlock()
	}
	t.buf.Free()
}

func (t *Tensor) String() string {
	return fmt.Sprintf("%v%v", t.dtype, t.shape)
}

// check returns an error unless t belongs to e and is live.
func (e *Engine) check(name string, t *Tensor) error {
	if t == nil {
		return fmt.Errorf("%w: %s is nil", ErrParams, name)
	}
	if t.eng != e {
		return fmt.Errorf("%w: %s belongs to another engine", ErrParams, name)
	}
	if t.released.Load() {
		return fmt.Errorf("%s: tensor %w (released)", name, ErrClosed)
	}
	return nil
}
