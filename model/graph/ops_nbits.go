package graph

import (
	"github.com/qgpu/qgpu/qtensor"
)

// ONNX Runtime's com.microsoft MatMulNBits (blocked 4- and 8-bit weights)
// with qgpu's formula (docs/semantics.md, MatMulNBits;
// qtensor.MatMulNBitsRow): the engine's result bit for bit, in the float
// activation mode for accuracy_level 0 to 3 and the int8 one for 4. ONNX
// Runtime sums in other orders (its results differ by float rounding).

func init() {
	register(prepMatMulNBits, msDomain+"MatMulNBits")
}

// prepMatMulNBits: A (float32 [..., K]), B (uint8 [N, blocks, blob] or
// [N, blocks*blob]), scales (float32, N*blocks values), zero_points
// (optional, uint8 packed [N][ceil(blocks*bits/8)]; float ones are not
// supported), g_idx (not supported), bias (optional, float32 [N]);
// attributes K, N, bits (4 or 8), block_size, accuracy_level.
func prepMatMulNBits(c *prepCtx) ([]ValueInfo, kernel) {
	c.nin(3, 6)
	c.dtype(0, Float32)
	c.dtype(1, Uint8)
	c.dtype(2, Float32)
	c.dtype(3, Uint8)
	c.dtype(5, Float32)
	K, N := int(c.attrInt("K", 0)), int(c.attrInt("N", 0))
	bits, bs := int(c.attrInt("bits", 4)), int(c.attrInt("block_size", 0))
	level := c.attrInt("accuracy_level", 0)
	if c.err != nil {
		return nil, nil
	}
	if c.present(4) {
		c.fail(ErrUnsupported, "g_idx (deprecated by ONNX Runtime)")
	}
	if bits != 4 && bits != 8 {
		c.fail(ErrUnsupported, "%d-bit weights (4 and 8 are supported)", bits)
	}
	if K < 1 || N < 1 || bs < 16 || bs&(bs-1) != 0 || level < 0 || level > 4 {
		c.fail(ErrParams, "K %d, N %d, block_size %d (a power of two >= 16), accuracy_level %d (0 to 4)", K, N, bs, level)
	}
	if c.err != nil {
		return nil, nil
	}
	a := c.in[0].Shape
	if len(a) == 0 || a[len(a)-1] != K {
		c.fail(ErrShape, "A %v does not end in K = %d", a, K)
		return nil, nil
	}
	blocks := (K + bs - 1) / bs
	blob, zrow := bs*bits/8, (blocks*bits+7)/8
	if n := numel(c.in[1].Shape); n != N*blocks*blob {
		c.fail(ErrShape, "B %v, want [%d, %d, %d] (N, blocks, blob)", c.in[1].Shape, N, blocks, blob)
	}
	if n := numel(c.in[2].Shape); n != N*blocks {
		c.fail(ErrShape, "scales %v, want %d values (N x blocks)", c.in[2].Shape, N*blocks)
	}
	if c.present(3) && numel(c.in[3].Shape) != N*zrow {
		c.fail(ErrShape, "zero_points %v, want %d bytes (N x ceil(blocks x bits / 8))", c.in[3].Shape, N*zrow)
	}
	if c.present(5) && (len(c.in[5].Shape) != 1 || c.in[5].Shape[0] != N) {
		c.fail(ErrShape, "bias %v, want [%d]", c.in[5].Shape, N)
	}
	out := append(append([]int{}, a[:len(a)-1]...), N)
	c.checkShape("output", out)
	if c.err != nil {
		return nil, nil
	}
	return []ValueInfo{info(Float32, out)}, one(func(ec *execCtx, in []*Tensor) (*Tensor, error) {
		var zp []byte
		if z := opt(in, 3); z != nil {
			zp = z.U8
		}
		w, err := qtensor.MatMulNBitsWeights(N, K, bits, bs, in[1].U8, in[2].F32, zp)
		if err != nil {
			return nil, err
		}
		var bias []float32
		if b := opt(in, 5); b != nil {
			bias = b.F32
		}
		y := alloc(Float32, out)
		rows := numel(out) / N
		A := in[0].F32
		ec.parallelFor(rows, func(lo, hi int) {
			for m := lo; m < hi; m++ {
				qtensor.MatMulNBitsRow(y.F32[m*N:(m+1)*N], A[m*K:(m+1)*K], w, level == 4, bias)
			}
		})
		return y, nil
	})
}
