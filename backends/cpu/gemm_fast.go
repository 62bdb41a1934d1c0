package cpu

import (
	"context"
	"sync"
	"unsafe"

	"github.com/qgpu/qgpu/backends/cpu/internal/gemm"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// The fast GEMM path runs engine.Gemm on the packed-panel kernels of
// internal/gemm (AVX-512 VNNI, AVX2, or their pure-Go form) and is exact:
//
//	sum_k (a - azp[m]) (b - bzp[n]) = sum_k a*b' - azp[m]*colsum(b')[n]
//	                                  - bzp'[n]*rowsum(a)[m] + K*azp[m]*bzp'[n]
//
// where b' = b for int8 B and b' = b - 128, bzp' = bzp - 128 for uint8 B
// (the kernels take signed B). With a per-tensor A zero point and all
// bzp' zero, the corrections and the int32 bias are one per-column offset
// and the requantization or float epilogue is fused into the kernel;
// otherwise the int32 product is corrected and finished by the same
// epilogue code as the reference kernels (output.store).

// packKey identifies a packed B matrix inside a buffer.
type packKey struct {
	off, k, n int
	unsigned  bool
}

// packCache holds the packed B matrices made from a buffer's contents. It
// is emptied whenever the buffer is written (by the host or as an op's
// output), so a packed matrix always matches the data.
type packCache struct {
	mu    sync.Mutex
	packs map[packKey]*gemm.PackedB
}

func (c *packCache) invalidate() {
	c.mu.Lock()
	c.packs = nil
	c.mu.Unlock()
}

// packedB returns matrix idx of Gemm operand B packed, from the cache or
// newly packed.
func packedB(op *engine.Gemm, idx int) (*gemm.PackedB, error) {
	m := op.B.Buffer().(*buffer)
	unsigned := op.B.DType() == qtensor.Uint8
	key := packKey{off: op.B.Offset() + idx*op.K*op.N, k: op.K, n: op.N, unsigned: unsigned}
	m.cache.mu.Lock()
	defer m.cache.mu.Unlock()
	if p := m.cache.packs[key]; p != nil {
		return p, nil
	}
	src := bytesOf(op.B)[idx*op.K*op.N : (idx+1)*op.K*op.N]
	b := make([]int8, len(src))
	for i, v := range src {
		if unsigned {
			b[i] = int8(v - 128)
		} else {
			b[i] = int8(v)
		}
	}
	p, err := gemm.PackB(b, op.N, op.K, op.N)
	if err != nil {
		return nil, err
	}
	if m.cache.packs == nil {
		m.cache.packs = map[packKey]*gemm.PackedB{}
	}
	m.cache.packs[key] = p
	return p, nil
}

func asInt8(b []byte) []int8 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), len(b))
}

func asFloat32(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

func asInt32(b []byte) []int32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// expand returns s as a slice of n entries (s has 1 or n).
func expand[T any](s []T, n int) []T {
	if len(s) == n {
		return s
	}
	out := make([]T, n)
	for i := range out {
		out[i] = s[0]
	}
	return out
}

// gemmFast runs op on the kernels; it returns false when the op needs the
// reference kernel (K beyond the kernels' exact range).
func (b *Backend) gemmFast(ctx context.Context, op *engine.Gemm) (bool, error) {
	if op.K > gemm.MaxK || op.K == 0 {
		return false, nil
	}
	M, K, N := op.M, op.K, op.N
	unsignedB := op.B.DType() == qtensor.Uint8
	bzp := make([]int32, N) // bzp' of the signed B the kernels see
	bzpZero := true
	for n := range N {
		bzp[n] = engine.At(op.BZP, n)
		if unsignedB {
			bzp[n] -= 128
		}
		if bzp[n] != 0 {
			bzpZero = false
		}
	}
	perTensorA := len(op.AZP) == 1
	ep := &op.Epilogue
	fuse := perTensorA && bzpZero && ep.Fixed == nil
	a := bytesOf(op.A)
	y := bytesOf(op.Y)
	var c []int32
	if ep.Output == engine.OutInt32 {
		c = asInt32(y)
	} else {
		c = make([]int32, M*N)
	}
	var rowSums []int32
	if !bzpZero {
		rowSums = make([]int32, M)
	}
	out := newOutput(ep, op.Y)
	for bt := range op.Batch {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		pb, err := packedB(op, op.BIndex[bt])
		if err != nil {
			return true, err
		}
		aa := a[op.AIndex[bt]*M*K : (op.AIndex[bt]+1)*M*K]
		yo := bt * M * N
		cb := c
		if ep.Output == engine.OutInt32 {
			cb = c[yo : yo+M*N]
		}
		opt := &gemm.Options{Threads: b.threads}
		cs := pb.ColSums()
		if perTensorA {
			azp := op.AZP[0]
			off := make([]int32, N)
			for n := range N {
				off[n] = -azp*cs[n] + int32(K)*azp*bzp[n]
				if fuse && ep.Bias != nil {
					off[n] += engine.At(ep.Bias, n)
				}
			}
			opt.ColOffset = off
		}
		if fuse {
			switch ep.Output {
			case engine.OutQuantized:
				rq := &gemm.Requant{Mult: expand(ep.Mult, N), ZP: ep.YZP, QMin: out.qmin, QMax: out.qmax, LdOut: N}
				if op.Y.DType() == qtensor.Uint8 {
					rq.OutU8 = y[yo : yo+M*N]
				} else {
					rq.OutS8 = asInt8(y[yo : yo+M*N])
				}
				opt.Requant = rq
			case engine.OutFloat32:
				fo := &gemm.FloatOut{Scale: expand(ep.Scale, N), Out: asFloat32(y)[yo : yo+M*N], LdOut: N}
				if ep.FloatBias != nil {
					fo.Bias = expand(ep.FloatBias, N)
				}
				opt.Float = fo
			}
		}
		if op.A.DType() == qtensor.Uint8 {
			err = gemm.GemmU8S8(cb, N, aa, K, M, pb, opt)
		} else {
			err = gemm.GemmS8S8(cb, N, asInt8(aa), K, M, pb, opt)
		}
		if err != nil {
			return true, err
		}
		if fuse { // the bias went into the column offset, the epilogue into the kernel
			continue
		}
		// Unfused: finish the corrections that depend on the row, then the
		// epilogue, element by element.
		if rowSums != nil {
			if op.A.DType() == qtensor.Uint8 {
				err = gemm.RowSumsU8(rowSums, aa, K, M, K)
			} else {
				err = gemm.RowSumsS8(rowSums, asInt8(aa), K, M, K)
			}
			if err != nil {
				return true, err
			}
		}
		for m := range M {
			var azp int32
			if !perTensorA {
				azp = op.AZP[m]
			}
			row := cb[m*N : (m+1)*N]
			for n := range N {
				acc := row[n]
				if !perTensorA {
					acc += -azp*cs[n] + int32(K)*azp*bzp[n]
				}
				if rowSums != nil {
					acc -= bzp[n] * rowSums[m]
				}
				out.store(yo+m*N+n, acc, n)
			}
		}
	}
	return true, nil
}
