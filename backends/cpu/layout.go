package cpu

import (
	"context"
	"sync"

	"github.com/qgpu/qgpu/backends/cpu/internal/vec"
	"github.com/qgpu/qgpu/engine/backend"
)

// Channels-last (NHWC) activations: the fast convolution kernels read and
// write them directly where they have a channels-last form (convNHWC);
// every other kernel runs on NCHW copies (viaNCHW).

// layoutPool holds the NCHW copies of viaNCHW.
var layoutPool sync.Pool

// hostTensor describes data, host memory of the caller, as a tensor of
// t's type and params with the given shape.
func hostTensor(data []byte, t *backend.Tensor, shape []int) *backend.Tensor {
	return backend.NewTensor(&buffer{data: data}, 0, len(data), t.DType(), shape, t.Len(), t.Params())
}

// viaNCHW runs a convolution or pooling whose input or output is NHWC
// with run, a kernel that takes NCHW only: an NHWC input is transposed
// into an NCHW copy, an NHWC output is written by run into an NCHW copy
// and transposed into place. It returns run's handled and error.
// x and y are the op's input and output, n, c, h, w the input's images,
// channels, rows and columns, oc, oh, ow the output's; with reshape the
func (b *Backend) viaNCHW(x, y *backend.Tensor, xl, yl backend.Layout, n, c, h, w, oc, oh, ow int,
	run func(x, y *backend.Tensor) (bool, error)) (bool, error) {
	if xl == backend.NHWC {
		buf := scratch(&layoutPool, x.Bytes())
		defer layoutPool.Put(buf)
		b.transposeImages(*buf, bytesOf(x), n, h*w, c, 1)
		x = hostTensor(*buf, x, []int{n, c, h, w})
	}
	yOut := y
	if yl == backend.NHWC {
		buf := scratch(&layoutPool, y.Bytes())
		defer layoutPool.Put(buf)
		y = hostTensor(*buf, y, []int{n, oc, oh, ow})
	}
	handled, err := run(x, y)
	if !handled || err != nil || yl != backend.NHWC {
		return handled, err
	}
	b.transposeImages(bytesOf(yOut), bytesOf(y), n, oc, oh*ow, y.DType().Bits()/8)
	return true, nil
}

// transposeImages transposes each of n images of src, a rows x cols
// matrix of esz-byte elements (1 or 4), into dst as cols x rows: NHWC to
// NCHW with rows = H*W, cols = C, and back with rows = C, cols = H*W.
func (b *Backend) transposeImages(dst, src []byte, n, rows, cols, esz int) {
	m := rows * cols
	for i := range n {
		d, s := dst[i*m*esz:(i+1)*m*esz], src[i*m*esz:(i+1)*m*esz]
		if esz == 4 {
			b.rows(rows, 4*m, func(r0, r1 int) {
				vec.TransposeInt32(asInt32(d)[r0:], rows, asInt32(s)[r0*cols:], cols, r1-r0, cols)
			})
			continue
		}
		b.rows(rows, m, func(r0, r1 int) {
			vec.TransposeBytes(d[r0:], rows, s[r0*cols:], cols, r1-r0, cols)
		})
	}
}

// convViaNCHW runs op, which has an NHWC input or output, on the NCHW
// kernels of convFast (see viaNCHW).
func (b *Backend) convViaNCHW(ctx context.Context, op *backend.Conv) (bool, error) {
	return b.viaNCHW(op.X, op.Y, op.XLayout, op.YLayout, op.N, op.C, op.H, op.Wd, op.O, op.OH, op.OW,
		func(x, y *backend.Tensor) (bool, error) {
			o := *op
			o.X, o.Y, o.XLayout, o.YLayout = x, y, backend.NCHW, backend.NCHW
			return b.convFast(ctx, &o)
		})
}

// poolViaNCHW is convViaNCHW for poolFast.
func (b *Backend) poolViaNCHW(ctx context.Context, op *backend.Pool) (bool, error) {
	return b.viaNCHW(op.X, op.Y, op.XLayout, op.YLayout, op.N, op.C, op.H, op.W, op.C, op.OH, op.OW,
		func(x, y *backend.Tensor) (bool, error) {
			o := *op
			o.X, o.Y, o.XLayout, o.YLayout = x, y, backend.NCHW, backend.NCHW
			return b.poolFast(ctx, &o)
		})
}
