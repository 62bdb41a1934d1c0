package qtensor

import (
	"fmt"
	"math"
)

// MatMulNBitsWeights builds the blocked weight tensor of MatMulNBits
// (docs/semantics.md, MatMulNBits) from ONNX Runtime's com.microsoft
// MatMulNBits inputs: B, the N x K weights of bits 4 or 8 in blocks of
// blockSize along K, as uint8 [N][blocks][blockSize*bits/8] (bits packed
// low first); scales, [N][blocks] float32; zeroPoints, nil or the packed
// uint8 [N][ceil(blocks*bits/8)] (each row of N starting on a byte, low
// nibble first for 4 bits; nil: 2^(bits-1)). The result is uint4 (bits 4)
// or uint8 (bits 8) with shape [N, blocks*blockSize] and per-block params
// along axis 1; its data are B's bytes unchanged. Other bit widths are
// ErrUnsupported; sizes that do not match, or invalid scales, ErrShape or
// ErrParams.
func MatMulNBitsWeights(N, K, bits, blockSize int, b []byte, scales []float32, zeroPoints []byte) (*Tensor, error) {
	if bits != 4 && bits != 8 {
		return nil, fmt.Errorf("%w: MatMulNBits with %d-bit weights (4 and 8 are)", ErrUnsupported, bits)
	}
	if blockSize < 16 || blockSize&(blockSize-1) != 0 || blockSize > 1<<20 {
		return nil, fmt.Errorf("%w: block size %d, want a power of two >= 16", ErrParams, blockSize)
	}
	if N < 1 || K < 1 || N > maxInt/(K+blockSize) {
		return nil, fmt.Errorf("%w: N = %d, K = %d", ErrShape, N, K)
	}
	blocks := ceilDiv(K, blockSize)
	blob := blockSize * bits / 8
	if len(b) != N*blocks*blob {
		return nil, fmt.Errorf("%w: B has %d bytes, want N x blocks x blob = %d x %d x %d", ErrShape, len(b), N, blocks, blob)
	}
	if len(scales) != N*blocks {
		return nil, fmt.Errorf("%w: %d scales, want N x blocks = %d x %d", ErrShape, len(scales), N, blocks)
	}
	zrow := ceilDiv(blocks*bits, 8)
	if zeroPoints != nil && len(zeroPoints) != N*zrow {
		return nil, fmt.Errorf("%w: %d zero-point bytes, want N x ceil(blocks x bits / 8) = %d x %d", ErrShape, len(zeroPoints), N, zrow)
	}
	d := Uint4
	if bits == 8 {
		d = Uint8
	}
	zps := make([]int32, N*blocks)
	for n := range N {
		for j := range blocks {
			z := int32(1) << (bits - 1)
			if zeroPoints != nil {
				if bits == 8 {
					z = int32(zeroPoints[n*zrow+j])
				} else {
					z = int32(zeroPoints[n*zrow+j/2]>>(4*(j%2))) & 15
				}
			}
			zps[n*blocks+j] = z
		}
	}
	p := BlockParams(1, blockSize, scales, zps)
	t, err := New(d, []int{N, blocks * blockSize}, p)
	if err != nil {
		return nil, err
	}
	copy(t.Data, b)
	return t, nil
}

// MatMulNBitsInputs is the inverse of MatMulNBitsWeights for a uint4 or
// uint8 tensor [N, KB] quantized per block along axis 1 whose KB is a whole
// number of blocks: ONNX Runtime's B bytes, scales and packed zero points
// (bits 4 or 8).
func MatMulNBitsInputs(t *Tensor) (bits int, b []byte, scales []float32, zeroPoints []byte, err error) {
	if err := t.Validate(); err != nil {
		return 0, nil, nil, nil, err
	}
	p := t.Params
	if (t.DType != Uint4 && t.DType != Uint8) || len(t.Shape) != 2 || p.Granularity != PerBlock || p.Axis != 1 || t.Shape[1]%p.BlockSize != 0 {
		return 0, nil, nil, nil, fmt.Errorf("%w: MatMulNBits weights are uint4 or uint8 [N, K] in whole blocks along axis 1; have %v%v %v axis %d", ErrParams, t.DType, t.Shape, p.Granularity, p.Axis)
	}
	bits = t.DType.Bits()
	N, blocks := t.Shape[0], t.Shape[1]/p.BlockSize
	zrow := ceilDiv(blocks*bits, 8)
	zeroPoints = make([]byte, N*zrow)
	for n := range N {
		for j := range blocks {
			z := byte(p.ZeroPoints[n*blocks+j])
			if bits == 8 {
				zeroPoints[n*zrow+j] = z
			} else {
				zeroPoints[n*zrow+j/2] |= z << (4 * (j % 2))
			}
		}
	}
	return bits, append([]byte(nil), t.Data...), append([]float32(nil), p.Scales...), zeroPoints, nil
}

// MatMulNBitsRow computes one row of MatMulNBits (docs/semantics.md,
// MatMulNBits), the reference every backend matches: y[n] for the N rows
// of w from the K activations a. w is [N, RowLen] (RowLen >= K) of int4,
// uint4, int8 or uint8, quantized per block along axis 1, and already
// valid for MatMulNBits; int8Act selects the int8-activation mode; bias
// is nil or N values. Every sum is a left fold from -0.0 in float32 in the
// order the semantics fix, and a NaN result is stored as CanonicalNaN.
func MatMulNBitsRow(y, a []float32, w *Tensor, int8Act bool, bias []float32) {
	p := w.Params
	K, N, rowLen, bs := len(a), w.Shape[0], w.Shape[1], p.BlockSize
	nb := ceilDiv(K, bs)
	negZero := float32(math.Copysign(0, -1))
	var sa []float32
	var qa []int32
	if int8Act {
		sa, qa = make([]float32, nb), make([]int32, K)
		for b := range nb {
			k0, k1 := b*bs, min((b+1)*bs, K)
			sa[b] = NBitsActScale(NBitsAbsMax(a[k0:k1]))
			for k := k0; k < k1; k++ {
				qa[k] = Quantize(a[k], sa[b], 0, -127, 127)
			}
		}
	}
	for n := range N {
		acc := negZero
		base := n * rowLen
		for b := range nb {
			k0, k1 := b*bs, min((b+1)*bs, K)
			scale, zp := p.Scales[n*nb+b], p.ZeroPoints[n*nb+b]
			if int8Act {
				var isum int32
				for k := k0; k < k1; k++ {
					isum += qa[k] * (w.At(base+k) - zp)
				}
				acc += float32(float32(sa[b]*scale) * float32(isum))
				continue
			}
			s := negZero
			for k := k0; k < k1; k++ {
				s += float32(a[k] * float32(w.At(base+k)-zp))
			}
			acc += float32(scale * s)
		}
		if bias != nil {
			acc += bias[n]
		}
		y[n] = Canonical(acc)
	}
}
