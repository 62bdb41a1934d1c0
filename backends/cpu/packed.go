package cpu

import (
	"context"
	"fmt"

	"github.com/qgpu/qgpu/backends/cpu/internal/gemm"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// MaxPackedK is the largest reduction length K that PackWeights accepts:
// the kernels' int32 accumulator is exact for any data up to it.
const MaxPackedK = gemm.MaxK

// PackedWeights is an int8 or uint8 weight matrix W (K x N) with its
// quantization parameters, packed once into the layout of the CPU
// backend's GEMM kernels (AVX-512 VNNI, AVX2 or portable Go). Keep it and
// call MatMul for every activation: the packing (a pass over W and its
// column sums) is not repeated. The engine's CPU backend does the same for
// weight tensors internally, caching the packed form per buffer; a
// PackedWeights is that packed form held by the caller, with no engine or
// device tensors involved.
//
// A PackedWeights is immutable and safe for concurrent use: many
// goroutines may call MatMul on one PackedWeights at once.
type PackedWeights struct {
	pb     *gemm.PackedB
	dtype  qtensor.DType
	given  qtensor.Params // as passed to PackWeights (a copy)
	params qtensor.Params // as the params of the K x N matrix: per tensor or per axis 1
	bzp    []int32        // the zero points of the signed matrix the kernels see (1 or N)
}

// PackWeights packs the 2-D int8 or uint8 weight tensor w for MatMul. w is
// [K][N] (transposed false: the layout of ONNX MatMul and of Batch.Gemm's
// B) or [N][K] (transposed true: the [out][in] layout of linear-layer
// weights, Batch.Gemm's B with GemmOptions.TransposeB). Its params are per tensor or per output channel (per axis
// along N: axis 1 of [K][N], axis 0 of [N][K]). K must be in [1,
// MaxPackedK]. uint8 weights are packed as w - 128 with zero points
// zp - 128, as the backend does, which changes no result.
//
// Errors wrap backend.ErrShape (rank, empty or too long K) or
// backend.ErrParams (type, params); nothing of w is kept.
func PackWeights(w *qtensor.Tensor, transposed bool) (*PackedWeights, error) {
	if w == nil {
		return nil, fmt.Errorf("cpu: PackWeights: %w: nil weights", backend.ErrParams)
	}
	if err := w.Validate(); err != nil {
		return nil, fmt.Errorf("cpu: PackWeights: weights: %w", err)
	}
	if w.DType != qtensor.Int8 && w.DType != qtensor.Uint8 {
		return nil, fmt.Errorf("cpu: PackWeights: %w: weights have type %v, want int8 or uint8", backend.ErrParams, w.DType)
	}
	if len(w.Shape) != 2 {
		return nil, fmt.Errorf("cpu: PackWeights: %w: weights must be 2-D, have shape %v", backend.ErrShape, w.Shape)
	}
	K, N, nAxis := w.Shape[0], w.Shape[1], 1
	if transposed {
		K, N, nAxis = w.Shape[1], w.Shape[0], 0
	}
	if K < 1 || N < 1 {
		return nil, fmt.Errorf("cpu: PackWeights: %w: weights of shape %v are empty", backend.ErrShape, w.Shape)
	}
	if K > MaxPackedK {
		return nil, fmt.Errorf("cpu: PackWeights: %w: K=%d exceeds %d (the kernels' exact int32 range)", backend.ErrShape, K, MaxPackedK)
	}
	params := w.Params.Clone()
	switch params.Granularity {
	case qtensor.PerTensor:
	case qtensor.PerAxis:
		if params.Axis != nAxis {
			return nil, fmt.Errorf("cpu: PackWeights: %w: weights of shape %v (transposed %v) are quantized per axis %d; only per tensor or per output channel (axis %d) is supported",
				backend.ErrParams, w.Shape, transposed, params.Axis, nAxis)
		}
		params.Axis = 1
	default:
		return nil, fmt.Errorf("cpu: PackWeights: %w: weights quantized %v; only per tensor or per output channel is supported", backend.ErrParams, params.Granularity)
	}
	unsigned := w.DType == qtensor.Uint8
	b := signedBytes(w.Data, unsigned)
	var pb *gemm.PackedB
	var err error
	if transposed {
		pb, err = gemm.PackBT(b, K, K, N)
	} else {
		pb, err = gemm.PackB(b, N, K, N)
	}
	if err != nil {
		return nil, fmt.Errorf("cpu: PackWeights: %w: %v", backend.ErrShape, err)
	}
	return &PackedWeights{pb: pb, dtype: w.DType, given: w.Params.Clone(), params: params,
		bzp: signedZP(params.ZeroPoints, 0, N, unsigned)}, nil
}

// K returns the reduction length (rows of W as [K][N]).
func (p *PackedWeights) K() int { return p.pb.K() }

// N returns the number of output channels (columns of W as [K][N]).
func (p *PackedWeights) N() int { return p.pb.N() }

// DType returns the weights' type as given to PackWeights (int8 or uint8).
func (p *PackedWeights) DType() qtensor.DType { return p.dtype }

// Params returns a copy of the weights' params as given to PackWeights
// (per axis 0 for transposed per-channel weights, 1 otherwise).
func (p *PackedWeights) Params() qtensor.Params { return p.given.Clone() }

// Bytes returns the memory p holds: the packed matrix (K rounded up to a
// multiple of 4, N to a multiple of 64), its column sums, the zero points
// and the params.
func (p *PackedWeights) Bytes() int {
	K, N := p.K(), p.N()
	kp := (K + gemm.KGroup - 1) / gemm.KGroup * gemm.KGroup
	np := (N + gemm.PanelCols - 1) / gemm.PanelCols * gemm.PanelCols
	return kp*np + 4*N + 4*len(p.bzp) + 8*len(p.params.Scales) + 8*len(p.given.Scales)
}

// MatMul computes Y = A x W exactly as engine.Batch.Gemm(A, W, o) does on
// the CPU backend, with the zero points taken from the tensors' params:
// the same output type, params, shape and bytes. A is uint8 or int8, [M][K]
// (output [M][N]), [K] (output [N]) or [..., M, K] (output [..., M, N],
// every matrix of the batch times W), with params per tensor or, for an
// int32 output, per row (per axis rank-2). o's output fields choose the
// output (int32, float32 or quantized, with bias, ReLU and the Fixed
// rule) as for Batch.Gemm, and are validated the same way; its AZP, BZP
// and TransposeB must be unset (the zero points are the tensors' and the
// layout was fixed by PackWeights). The result is a new host tensor.
//
// The product runs on the backend's packed kernels with the epilogue fused
// when it can (a per-tensor A zero point, zero weight zero points after
// the uint8 shift, the float rule); otherwise the int32 products are
// corrected for the zero points and finished by the reference epilogue.
// It uses up to threads goroutines (threads <= 0: GOMAXPROCS) on a
// backend opened and closed for the call, so nothing outlives it; its
// workers start cold, which costs tens of microseconds per call on
// machines where waking a thread is slow. For repeated products on
// several threads, open a Backend once (New) and call Backend.MatMul: its
// workers stay warm between calls.
//
// Errors wrap backend.ErrShape or backend.ErrParams for bad operands or
// options (what Batch.Gemm rejects), or ctx.Err().
func (p *PackedWeights) MatMul(ctx context.Context, a *qtensor.Tensor, o engine.GemmOptions, threads int) (*qtensor.Tensor, error) {
	b, err := New(backend.Options{Threads: threads})
	if err != nil {
		return nil, fmt.Errorf("cpu: MatMul: %w", err)
	}
	defer b.Close()
	return b.MatMul(ctx, p, a, o)
}

// MatMul is PackedWeights.MatMul on b's threads and worker pool, which
// stay warm between calls. The int32 accumulators of a float or quantized
// output come from a pool of scratch buffers shared with the
// convolutions. ctx is checked before the product starts. After Close it
// returns an error wrapping backend.ErrClosed.
func (b *Backend) MatMul(ctx context.Context, p *PackedWeights, a *qtensor.Tensor, o engine.GemmOptions) (*qtensor.Tensor, error) {
	if b.closed.Load() {
		return nil, fmt.Errorf("cpu: MatMul: backend %w", backend.ErrClosed)
	}
	if p == nil || p.pb == nil {
		return nil, fmt.Errorf("cpu: MatMul: %w: nil packed weights", backend.ErrParams)
	}
	if a == nil {
		return nil, fmt.Errorf("cpu: MatMul: %w: nil activation", backend.ErrParams)
	}
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("cpu: MatMul: activation: %w", err)
	}
	if a.DType != qtensor.Uint8 && a.DType != qtensor.Int8 {
		return nil, fmt.Errorf("cpu: MatMul: %w: activation has type %v, want uint8 or int8", backend.ErrParams, a.DType)
	}
	K, N := p.K(), p.N()
	r := len(a.Shape)
	if r == 0 {
		return nil, fmt.Errorf("cpu: MatMul: %w: activation must have rank >= 1", backend.ErrShape)
	}
	if a.Shape[r-1] != K {
		return nil, fmt.Errorf("cpu: MatMul: %w: activation %v has inner dimension %d, weights K=%d", backend.ErrShape, a.Shape, a.Shape[r-1], K)
	}
	M, rows := 1, a.Len()/K // rows: all rows of all matrices of the batch
	outShape := []int{N}
	if r >= 2 {
		M = a.Shape[r-2]
		outShape = append(append([]int(nil), a.Shape[:r-1]...), N)
	}
	if rows == 0 {
		return nil, fmt.Errorf("cpu: MatMul: %w: activation of shape %v is empty", backend.ErrShape, a.Shape)
	}
	// A's params as those of one M x K matrix: per-axis zero points are
	// one per row (axis rank-2), axis 0 of the matrix.
	ap := a.Params
	if ap.Granularity == qtensor.PerAxis {
		ap = ap.Clone()
		ap.Axis -= r - 2
	}
	if o.AZP != nil || o.BZP != nil || o.TransposeB {
		return nil, fmt.Errorf("cpu: MatMul: %w: AZP, BZP and TransposeB are not options of packed weights (the zero points come from the tensors' params, the layout from PackWeights)", backend.ErrParams)
	}
	spec := backend.OutputSpec{Output: o.Output, Bias: o.Bias, AScale: o.AScale, WScale: o.BScale, FloatBias: o.FloatBias,
		YType: o.YType, YScale: o.YScale, YZP: o.YZP, Fixed: o.Fixed, ReLU: o.ReLU}
	ep, yt, yp, err := backend.GemmEpilogue(&spec, a.DType, ap, p.dtype, p.params, M, K, N)
	if err != nil {
		return nil, fmt.Errorf("cpu: MatMul: %w", err)
	}
	y, err := qtensor.New(yt, outShape, yp)
	if err != nil {
		return nil, fmt.Errorf("cpu: MatMul: output: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	azp := ap.ZeroPoints
	if len(azp) != 1 { // one per row of each matrix
		azp = make([]int32, rows)
		for i := range azp {
			azp[i] = ap.ZeroPoints[i%M]
		}
	}
	out := hostOutput(&ep, y)
	pr := &product{a: a.Data, signed: a.DType == qtensor.Int8, M: rows, K: K, pb: p.pb, azp: azp, bzp: p.bzp,
		ep: &ep, yType: yt, qmin: out.qmin, qmax: out.qmax}
	var c []int32
	if ep.Output == backend.OutInt32 {
		c = asInt32(y.Data)
	} else { // scratch accumulators, reused across calls
		buf := scratch(&accPool, 4*rows*N)
		defer accPool.Put(buf)
		c = asInt32(*buf)
	}
	if err := b.runProduct(pr, c, y.Data, func(m, n int, acc int32) { out.store(m*N+n, acc, n) }); err != nil {
		return nil, fmt.Errorf("cpu: MatMul: %w", err)
	}
	return y, nil
}

// MatMul is the unpacked path: it packs w ([K][N], as for PackWeights with
// transposed false) and computes A x W as PackedWeights.MatMul does. It
// suits one-off products; to multiply by the same weights again, keep
// PackWeights' result instead of packing them every call.
func MatMul(ctx context.Context, a, w *qtensor.Tensor, o engine.GemmOptions, threads int) (*qtensor.Tensor, error) {
	p, err := PackWeights(w, false)
	if err != nil {
		return nil, err
	}
	return p.MatMul(ctx, a, o, threads)
}
