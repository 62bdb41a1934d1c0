package backend

import (
	"fmt"
	"slices"

	"github.com/qgpu/qgpu/qtensor"
)

// Tensor describes an operand as a backend sees it: the buffer holding the
// data, the byte offset of the data in it, and the element type, shape and
// (for quantized types) parameters. The engine makes one per engine.Tensor
// and keeps the buffer alive until every Run that uses it has returned;
// a backend never frees it.
type Tensor struct {
	buf    Buffer
	off    int
	nbytes int
	dtype  qtensor.DType
	shape  []int
	n      int
	params qtensor.Params
}

// NewTensor describes nbytes of data at byte offset off of buf as a tensor
// of type d, shape shape and params p (already validated by the caller).
// For the engine and for tests of backends.
func NewTensor(buf Buffer, off, nbytes int, d qtensor.DType, shape []int, n int, p qtensor.Params) *Tensor {
	return &Tensor{buf: buf, off: off, nbytes: nbytes, dtype: d, shape: slices.Clone(shape), n: n, params: p.Clone()}
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

// Buffer returns the buffer holding the data.
func (t *Tensor) Buffer() Buffer { return t.buf }

// Offset returns the byte offset of the data in Buffer: a multiple of 256
// (or 0).
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

// PairParams returns the scale and zero point of pair i.
func (t *Tensor) PairParams(i int) (float32, int32) {
	return t.params.Scales[i], t.params.ZeroPoints[i]
}

func (t *Tensor) String() string {
	return fmt.Sprintf("%v%v", t.dtype, t.shape)
}
