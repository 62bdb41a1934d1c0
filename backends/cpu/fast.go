package cpu

import (
	"context"
	"encoding/binary"
	"sync"
	"unsafe"

	"github.com/qgpu/qgpu/backends/cpu/internal/gemm"
	"github.com/qgpu/qgpu/backends/cpu/internal/nbits"
	"github.com/qgpu/qgpu/backends/cpu/internal/vec"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// The fast GEMM and convolution paths run on the packed-panel kernels of
// internal/gemm (AVX-512 VNNI, AVX2, or their pure-Go form) and are exact:
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
	layout    layout
}

// layout is how a B matrix is stored in its tensor and how K is ordered
// in the packed matrix.
type layout struct {
	convKH, convKW int  // 0: a K x N row-major GEMM operand; else conv weights [N][C][KH][KW], K = C*KH*KW
	khInner        bool // conv weights: K ordered (kw, kh, c) instead of (kh, kw, c)
	transposed     bool // a GEMM operand stored N x K row-major (backend.Gemm.TransposeB)
	// padC, for conv weights of fewer channels, pads each (kh, kw) cell's
	// channels with zero weights to padC: K = padC*KH*KW.
	padC int
}

// packCache holds the packed B matrices made from a buffer's contents. It
// is emptied whenever the buffer is written (by the host or as an op's
// output), so a packed matrix always matches the data.
type packCache struct {
	mu    sync.Mutex
	packs map[packKey]*gemm.PackedB
	nbits map[nbitsKey]*nbits.Panels // MatMulNBits weights (nbits_fast.go)
	dw    map[dwKey][]*dwWeights     // depthwise weights (depthwiseWeights)
}

func (c *packCache) invalidate() {
	c.mu.Lock()
	c.packs, c.dw, c.nbits = nil, nil, nil
	c.mu.Unlock()
}

// packed returns the K x N matrix at element offset off of tensor t packed
// for the kernels, from the cache or newly packed. A GEMM operand is stored
// K x N row-major, or N x K when l.transposed; convolution weights are [N][C][KH][KW] and are packed
// with K ordered (kh, kw, c) to match im2colNHWC. uint8 data is packed as
// b - 128.
func packed(t *backend.Tensor, off, K, N int, l layout) (*gemm.PackedB, error) {
	m := t.Buffer().(*buffer)
	unsigned := t.DType() == qtensor.Uint8
	key := packKey{off: t.Offset() + off, k: K, n: N, unsigned: unsigned, layout: l}
	m.cache.mu.Lock()
	defer m.cache.mu.Unlock()
	if p := m.cache.packs[key]; p != nil {
		return p, nil
	}
	stored := K // values per output channel as stored
	if l.padC > 0 {
		stored = t.Dim(1) * l.convKH * l.convKW
	}
	b := signedBytes(bytesOf(t)[off:off+stored*N], unsigned)
	var p *gemm.PackedB
	var err error
	if l.convKH > 0 {
		// [o][c][kh][kw] -> [o][kh][kw][c] (or [o][kw][kh][c]), then
		// pack as N x K; channels c >= the stored ones (padC) stay 0.
		KH, KW := l.convKH, l.convKW
		cg := K / (KH * KW)
		cs := stored / (KH * KW)
		r := make([]int8, K*N)
		for o := range N {
			for c := range cs {
				for kh := range KH {
					for kw := range KW {
						k := kh*KW + kw
						if l.khInner {
							k = kw*KH + kh
						}
						r[o*K+k*cg+c] = b[o*stored+(c*KH+kh)*KW+kw]
					}
				}
			}
		}
		p, err = gemm.PackBT(r, K, K, N)
	} else if l.transposed {
		p, err = gemm.PackBT(b, K, K, N)
	} else {
		p, err = gemm.PackB(b, N, K, N)
	}
	if err != nil {
		return nil, err
	}
	if m.cache.packs == nil {
		m.cache.packs = map[packKey]*gemm.PackedB{}
	}
	m.cache.packs[key] = p
	return p, nil
}

// signedBytes returns a copy of src as the signed bytes the kernels take:
// int8 data as is, uint8 data (unsigned) as v - 128.
func signedBytes(src []byte, unsigned bool) []int8 {
	b := make([]int8, len(src))
	for i, v := range src {
		if unsigned {
			b[i] = int8(v - 128)
		} else {
			b[i] = int8(v)
		}
	}
	return b
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

// product is one exact integer matrix product on the packed kernels:
//
//	acc[m][n] = sum_k (a[m][k] - azp[m]) * (b'[k][n] - bzp[n])
//
// a is M x K row-major (uint8, or int8 when signed), b' the packed signed
// B, azp has 1 or M entries, bzp (the zero points of b') 1 or N. The
// accumulators go through the epilogue ep with channel ch0+n for column n.
type product struct {
	a      []byte
	signed bool
	M, K   int
	pb     *gemm.PackedB
	azp    []int32
	bzp    []int32
	ep     *backend.Epilogue
	ch0    int
	yType  qtensor.DType
	qmin   int32 // output range, ReLU applied (quantized outputs)
	qmax   int32
}

// fusable reports whether run can finish the epilogue inside the kernel:
// a per-tensor A zero point, all B zero points zero, the float rule.
func (p *product) fusable() bool {
	if len(p.azp) != 1 || p.ep.Fixed != nil {
		return false
	}
	for _, z := range p.bzp {
		if z != 0 {
			return false
		}
	}
	return true
}

// run computes the product into c (M x N int32, row stride N). When fused
// (p.fusable()), the kernel also writes the finished outputs to dst (M x N
// elements of p.yType, row stride N; for int32 outputs c itself is the
// result, bias included). Otherwise store(m, n, acc) receives every
// corrected accumulator, bias not yet added.
func (b *Backend) runProduct(p *product, c []int32, dst []byte, store func(m, n int, acc int32)) error {
	M, K, N := p.M, p.K, p.pb.N()
	ep := p.ep
	fuse := p.fusable()
	cs := p.pb.ColSums()
	opt := &gemm.Options{Threads: b.threads, Pool: b.pool}
	if len(p.azp) == 1 {
		buf := scratch(&colOffPool, 4*N)
		defer colOffPool.Put(buf)
		var bias []int32
		if fuse && ep.Bias != nil {
			bias = ep.Bias
		}
		opt.ColOffset = colOffsets(asInt32(*buf), p.azp[0], K, cs, p.bzp, bias, p.ch0)
	}
	if fuse {
		switch ep.Output {
		case backend.OutQuantized:
			rq := &gemm.Requant{Mult: channels(ep.Mult, p.ch0, N), ZP: ep.YZP, QMin: p.qmin, QMax: p.qmax, LdOut: N}
			if p.yType == qtensor.Uint8 {
				rq.OutU8 = dst
			} else {
				rq.OutS8 = asInt8(dst)
			}
			opt.Requant = rq
		case backend.OutFloat32:
			fo := &gemm.FloatOut{Scale: channels(ep.Scale, p.ch0, N), Out: asFloat32(dst), LdOut: N}
			if ep.FloatBias != nil {
				fo.Bias = channels(ep.FloatBias, p.ch0, N)
			}
			opt.Float = fo
		}
	}
	var err error
	if p.signed {
		err = gemm.GemmS8S8(c, N, asInt8(p.a), K, M, p.pb, opt)
	} else {
		err = gemm.GemmU8S8(c, N, p.a, K, M, p.pb, opt)
	}
	if err != nil || fuse {
		return err
	}
	// Unfused: the corrections that depend on the row, then the epilogue.
	var rowSums []int32
	for _, z := range p.bzp {
		if z != 0 {
			rowSums = make([]int32, M)
			if p.signed {
				err = gemm.RowSumsS8(rowSums, asInt8(p.a), K, M, K)
			} else {
				err = gemm.RowSumsU8(rowSums, p.a, K, M, K)
			}
			if err != nil {
				return err
			}
			break
		}
	}
	for m := range M {
		row := c[m*N : (m+1)*N]
		for n := range N {
			acc := row[n]
			if len(p.azp) != 1 {
				azp := p.azp[m]
				acc += -azp*cs[n] + int32(K)*azp*backend.At(p.bzp, n)
			}
			if rowSums != nil {
				acc -= backend.At(p.bzp, n) * rowSums[m]
			}
			store(m, n, acc)
		}
	}
	return nil
}

// channels returns the n per-channel values of s starting at channel ch0,
// or s itself when it holds one value for all channels (the gemm
// epilogues take either).
func channels[T any](s []T, ch0, n int) []T {
	if len(s) == 1 {
		return s
	}
	return s[ch0 : ch0+n]
}

// colOffPool holds the column-offset vectors (colOffsets) of runProduct
// and convImplicit.
var colOffPool sync.Pool

// noZP is a per-tensor zero point of 0.
var noZP = []int32{0}

// colOffsets stores into off (len N = len(off)) the column part of the
// zero-point correction of a per-tensor A zero point azp, plus the bias
// when it is not nil (channels from ch0):
//
//	off[n] = -azp*cs[n] + K*azp*bzp[n] + bias[ch0+n]
//
// in wrapping int32 arithmetic like the reference. bzp and bias hold one
// value or one per channel (backend.At). It returns off.
func colOffsets(off []int32, azp int32, K int, cs, bzp, bias []int32, ch0 int) []int32 {
	if len(bzp) == 1 && len(bias) <= 1 {
		// The common case: every term but cs[n] is one constant.
		c0 := int32(K) * azp * bzp[0]
		if len(bias) == 1 {
			c0 += bias[0]
		}
		for n := range off {
			off[n] = c0 - azp*cs[n]
		}
		return off
	}
	for n := range off {
		v := -azp*cs[n] + int32(K)*azp*backend.At(bzp, n)
		if bias != nil {
			v += backend.At(bias, ch0+n)
		}
		off[n] = v
	}
	return off
}

// signedZP returns the zero points of the signed B the kernels see: bzp,
// minus 128 for uint8 B (b' = b - 128), for the n channels from ch0; one
// value when zps is per tensor (read with backend.At).
func signedZP(zps []int32, ch0, n int, unsigned bool) []int32 {
	if len(zps) == 1 {
		n, ch0 = 1, 0
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = backend.At(zps, ch0+i)
		if unsigned {
			out[i] -= 128
		}
	}
	return out
}

// gemmFast runs op on the kernels; it returns handled == false when the op
// needs the reference kernel (K beyond the kernels' exact range).
func (b *Backend) gemmFast(ctx context.Context, op *backend.Gemm) (handled bool, err error) {
	if op.K > gemm.MaxK || op.K == 0 {
		return false, nil
	}
	M, K, N := op.M, op.K, op.N
	out := newOutput(&op.Epilogue, op.Y)
	p := &product{signed: op.A.DType() == qtensor.Int8, M: M, K: K, azp: op.AZP,
		bzp: signedZP(op.BZP, 0, N, op.B.DType() == qtensor.Uint8), ep: &op.Epilogue, yType: op.Y.DType(), qmin: out.qmin, qmax: out.qmax}
	a, y := bytesOf(op.A), bytesOf(op.Y)
	esz := op.Y.DType().Bits() / 8
	var work []int32 // accumulators of float and quantized outputs, from the pool
	if op.Output != backend.OutInt32 {
		buf := scratch(&accPool, 4*M*N)
		defer accPool.Put(buf)
		work = asInt32(*buf)
	}
	for bt := range op.Batch {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		pb, err := packed(op.B, op.BIndex[bt]*K*N, K, N, layout{transposed: op.TransposeB})
		if err != nil {
			return true, err
		}
		p.pb = pb
		p.a = a[op.AIndex[bt]*M*K : (op.AIndex[bt]+1)*M*K]
		yo := bt * M * N
		c := work
		if op.Output == backend.OutInt32 {
			c = asInt32(y)[yo : yo+M*N]
		}
		err = b.runProduct(p, c, y[yo*esz:(yo+M*N)*esz], func(m, n int, acc int32) { out.store(yo+m*N+n, acc, n) })
		if err != nil {
			return true, err
		}
	}
	return true, nil
}

// convFast runs op as one GEMM per image and group on the kernels:
// im2col rows (one per output pixel, padding cells set to the input zero
// point so they contribute 0) times the group's weights, packed once. It
// returns handled == false when the op needs the reference kernel.
func (b *Backend) convFast(ctx context.Context, op *backend.Conv) (handled bool, err error) {
	if op.Group == op.C && op.O == op.C && op.C > 1 {
		if op.NCHW() {
			return true, b.convDepthwise(ctx, op)
		}
		if done, err := b.convDepthwiseNHWC(ctx, op); done {
			return true, err
		}
		return b.convViaNCHW(ctx, op)
	}
	if done, err := b.convImplicit(ctx, op); done {
		return true, err
	}
	if !op.NCHW() {
		return b.convViaNCHW(ctx, op)
	}
	cg, og := op.C/op.Group, op.O/op.Group
	K := cg * op.KH * op.KW
	if K > gemm.MaxK || K == 0 {
		return false, nil
	}
	P := op.OH * op.OW
	out := newOutput(&op.Epilogue, op.Y)
	x, y := bytesOf(op.X), bytesOf(op.Y)
	esz := op.Y.DType().Bits() / 8
	unsignedW := op.W.DType() == qtensor.Uint8
	col := scratch(&colPool, P*K)
	defer colPool.Put(col)
	hwc, c, tmp, release := convScratch(op.H*op.Wd*cg, P*og, P*og*esz)
	defer release()
	for n := range op.N {
		for g := range op.Group {
			if err := ctx.Err(); err != nil {
				return true, err
			}
			im2colNHWC(*col, hwc, x, op, n, g)
			pb, err := packed(op.W, g*og*K, K, og, layout{convKH: op.KH, convKW: op.KW})
			if err != nil {
				return true, err
			}
			ch0 := g * og
			p := &product{a: *col, signed: op.X.DType() == qtensor.Int8, M: P, K: K, pb: pb, azp: []int32{op.XZP},
				bzp: signedZP(op.WZP, ch0, og, unsignedW), ep: &op.Epilogue, ch0: ch0, yType: op.Y.DType(), qmin: out.qmin, qmax: out.qmax}
			base := (n*op.O + ch0) * P // Y index of (n, ch0, pixel 0)
			err = b.runProduct(p, c, tmp, func(m, o int, acc int32) { out.store(base+o*P+m, acc, ch0+o) })
			if err != nil {
				return true, err
			}
			if !p.fusable() {
				continue
			}
			// The kernel wrote pixel-major [P][og]; Y is channel-major.
			switch {
			case op.Output == backend.OutInt32:
				b.transpose32(asInt32(y)[base:base+og*P], c, P, og)
			case esz == 4:
				b.transpose32(asInt32(y)[base:base+og*P], asInt32(tmp), P, og)
			default:
				vec.TransposeBytes(y[base:], P, tmp, og, P, og)
			}
		}
	}
	return true, nil
}

// im2colNHWC fills col with P rows of K = KH*KW*Cg bytes, ordered (kh,
// kw, c), for image n and group g: the group's channels are first copied
// to hwc as [H][W][Cg], so every (kh, kw) of a row is one contiguous copy
// of Cg bytes (or Cg zero points where the window leaves the input).
func im2colNHWC(col, hwc, x []byte, op *backend.Conv, n, g int) {
	cg := op.C / op.Group
	H, W := op.H, op.Wd
	vec.TransposeBytes(hwc, cg, x[(n*op.C+g*cg)*H*W:], H*W, cg, H*W)
	K := cg * op.KH * op.KW
	zp := byte(op.XZP)
	for oh := range op.OH {
		for ow := range op.OW {
			row := col[(oh*op.OW+ow)*K : (oh*op.OW+ow+1)*K]
			j := 0
			iw0 := ow*op.StrideW - op.PadLeft
			inside := iw0 >= 0 && iw0+(op.KW-1)*op.DilationW < W
			for kh := range op.KH {
				ih := oh*op.StrideH - op.PadTop + kh*op.DilationH
				if inside && op.DilationW == 1 && ih >= 0 && ih < H {
					// The whole kw run is inside and contiguous in hwc.
					copy(row[j:j+op.KW*cg], hwc[(ih*W+iw0)*cg:])
					j += op.KW * cg
					continue
				}
				for kw := range op.KW {
					iw := ow*op.StrideW - op.PadLeft + kw*op.DilationW
					dst := row[j : j+cg]
					if ih < 0 || ih >= H || iw < 0 || iw >= W {
						for i := range dst {
							dst[i] = zp
						}
					} else {
						copy(dst, hwc[(ih*W+iw)*cg:])
					}
					j += cg
				}
			}
		}
	}
}

// Scratch buffers of the convolution path, reused across calls.
var colPool, accPool, outPool, hwcPool sync.Pool

// convScratch takes a convolution path's staging (bytes), accumulator
// (int32s) and output (bytes) buffers from their pools; release returns
// them.
func convScratch(stage, accs, outBytes int) (hwc []byte, acc []int32, tmp []byte, release func()) {
	h, a, t := scratch(&hwcPool, stage), scratch(&accPool, 4*accs), scratch(&outPool, outBytes)
	return *h, asInt32(*a), *t, func() { hwcPool.Put(h); accPool.Put(a); outPool.Put(t) }
}

// scratch returns a buffer of n bytes from pool (contents undefined).
func scratch(pool *sync.Pool, n int) *[]byte {
	if p, ok := pool.Get().(*[]byte); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n)
	return &b
}

// convImplicit runs a convolution without im2col, as one GEMM per image
// and group over all output pixels. Output pixel (oh, ow) reads its window
// as KH kernel rows of KW*Cg contiguous bytes:
//
//   - segmented (the common case): the input is staged once as zero-point
//     padded NHWC, [Hp][Wp][Cg] (stageNHWC), and kernel row kh of the pixel
//     starts (kh*DilationH*Wp) * Cg bytes after its first (gemm.Options
//     Segments; the VNNI kernels walk the segments with the accumulators
//     in registers), the row at ((oh*StrideH)*Wp + ow*StrideW) * Cg
//     (gemm.Options.RowOffsets), weights packed (kh, kw, c);
//   - window cells, when KW*Cg is not a multiple of 4 (so a kernel row is
//     not whole groups of the packed weights, as for a 3-channel stem): the
//     input is staged as OH*Wp cells of KH*Cg bytes (windowRows), cell
//     (oh, w) holding input column w - PadLeft of the KH input rows
//     oh*StrideH + kh*DilationH - PadTop, so the whole window, ordered
//     (kw, kh, c), is KW*KH*Cg contiguous bytes from cell (oh, ow*StrideW);
//     the weights are packed in that order.
//
// Either way each tile keeps its accumulators in registers for all of K
// and only valid pixels are computed; one GEMM per kernel row cost 6-9%
// more at 64 channels (C reloaded and stored per kernel row), and window
// cells staged 3 copies of the input where NHWC stages one (5% of a
// 64-channel 3x3 convolution on one thread). The output comes out
// pixel-major, [OH*OW][Og], and is transposed to NCHW. A column dilation
// would split a kernel row, so DilationW > 1 takes the im2col path
// (convFast).
//
// It covers zero weight zero points (of the signed weights) and the float
// rule; it returns false for everything else.
func (b *Backend) convImplicit(ctx context.Context, op *backend.Conv) (bool, error) {
	ep := &op.Epilogue
	if op.DilationW != 1 || ep.Fixed != nil {
		return false, nil
	}
	cg, og := op.C/op.Group, op.O/op.Group
	unsignedW := op.W.DType() == qtensor.Uint8
	for _, z := range signedZP(op.WZP, 0, op.O, unsignedW) {
		if z != 0 {
			return false, nil
		}
	}
	xNHWC, yNHWC := op.XLayout == backend.NHWC, op.YLayout == backend.NHWC
	// cs is the channels of a staged input pixel: cg, or 4 for a
	// 3-channel NCHW input (an image, the stem) whose kernel rows of KW*3
	// values are not whole groups of 4: staged as padded NHWC with a
	// fourth channel against zero weights, its kernel rows are (32% more
	// products than the window cells below, but no 3-row transposes).
	cs := cg
	if !xNHWC && cg == 3 && op.Group == 1 && op.KH > 1 && (op.KW*cg)%gemm.KGroup != 0 {
		cs = 4
	}
	K := cs * op.KH * op.KW
	if K > gemm.MaxK {
		return false, nil
	}
	// Kernel rows as row segments over plain padded NHWC staging, or (when
	// a kernel row's KW*Cg values are not whole groups of 4) window cells
	// of KH*Cg bytes.
	segmented := op.KH > 1 && (op.KW*cs)%gemm.KGroup == 0
	if xNHWC && (op.Group != 1 || op.KH > 1 && !segmented) {
		return false, nil // staged from an NCHW copy (convViaNCHW)
	}
	Wp := op.Wd + op.PadLeft + op.PadRight
	Hp := op.H + op.PadTop + op.PadBottom
	P := op.OH * op.OW
	out := newOutput(ep, op.Y)
	x, y := bytesOf(op.X), bytesOf(op.Y)
	esz := op.Y.DType().Bits() / 8
	signedX := op.X.DType() == qtensor.Int8
	// An NHWC input is read in place when unpadded, else from a copy with
	// the padding: [Hp][Wp][C], kernel rows (KW*C contiguous bytes) as
	// segments when KH > 1, as for the segmented staging of NCHW inputs.
	padded := op.PadTop+op.PadLeft+op.PadBottom+op.PadRight > 0
	// imgs images make one GEMM (their output rows one after the other):
	// all of them when input and output are NHWC and there is one group.
	imgs := 1
	if xNHWC && yNHWC && op.Group == 1 {
		imgs = op.N
	}
	cell, stageLen := op.KH*cg, op.OH*Wp*op.KH*cg
	if segmented || xNHWC {
		cell, stageLen = cs, Hp*Wp*cs
	}
	imgLen := stageLen // an image's staged bytes
	stageLen *= imgs
	if xNHWC && !padded {
		stageLen, imgLen = 0, op.H*op.Wd*op.C
	}
	M := imgs * P          // GEMM rows
	tmpLen := P * og * esz // the pixel-major output before its transpose to NCHW
	if yNHWC {
		tmpLen = 0
	}
	stage, c, tmp, release := convScratch(stageLen, M*og, tmpLen)
	defer release()
	var nhwc []byte // windowRows' whole-image transpose, for narrow images
	if op.Wd < 32 && !xNHWC {
		buf := scratch(&colPool, op.H*op.Wd*cg)
		defer colPool.Put(buf)
		nhwc = *buf
	}
	rowStride := Wp // staged rows between output rows
	if segmented || xNHWC {
		rowStride = op.StrideH * Wp
	}
	// Row offsets of the output pixels in the staged input; none when the
	// rows are evenly spaced, one output row after the other (a 1x1
	// convolution of stride 1 on NHWC data: row m at m*C).
	var rowOff []int
	lda := 1
	if op.StrideW*op.OW == rowStride && P*op.StrideW*cell == imgLen {
		lda = op.StrideW * cell
	} else {
		rowOff = rowOffsets(imgs, op.OH, op.OW, rowStride, op.StrideW, cell, imgLen)
	}
	var seg *gemm.Segments
	if segmented {
		seg = &gemm.Segments{Count: op.KH, Stride: op.DilationH * Wp * cs}
	}
	for n := 0; n < op.N; n += imgs {
		for g := range op.Group {
			if err := ctx.Err(); err != nil {
				return true, err
			}
			src := stage
			switch {
			case xNHWC && !padded:
				src = x[n*op.H*op.Wd*op.C : (n+imgs)*op.H*op.Wd*op.C]
			case xNHWC:
				for i := range imgs {
					b.padNHWC(stage[i*imgLen:], x[(n+i)*op.H*op.Wd*op.C:], op, Hp, Wp)
				}
			case cs != cg:
				b.stageRGB4(stage, x[n*op.H*op.Wd*3:], op, Hp, Wp)
			case segmented:
				b.stageNHWC(stage, nhwc, x, op, n, g*cg, cg, Hp, Wp)
			default:
				b.windowRows(stage, nhwc, x, op, n, g*cg, cg, Wp)
			}
			ch0 := g * og
			l := layout{convKH: op.KH, convKW: op.KW, khInner: !segmented && !xNHWC}
			if cs != cg {
				l.padC = cs
			}
			pb, err := packed(op.W, g*og*cg*op.KH*op.KW, K, og, l)
			if err != nil {
				return true, err
			}
			// The weights' zero points are 0 on this path.
			obuf := scratch(&colOffPool, 4*og)
			off := colOffsets(asInt32(*obuf), op.XZP, K, pb.ColSums(), noZP, ep.Bias, ch0)
			// One GEMM over all output pixels: it blocks the rows for the
			// cache and splits them over the workers itself. Its output is
			// pixel-major: an NHWC Y itself (rows of O, the group's
			// channels from ch0), or tmp, og wide, for NCHW.
			opt := &gemm.Options{Threads: b.threads, Pool: b.pool, ColOffset: off, RowOffsets: rowOff, Segments: seg}
			dst, ld, acc, ldc := tmp, og, c, og
			if yNHWC {
				base := n*P*op.O + ch0
				dst, ld = y[base*esz:], op.O
				if ep.Output == backend.OutInt32 {
					acc, ldc = asInt32(y)[base:], op.O
				}
			}
			switch ep.Output {
			case backend.OutQuantized:
				rq := &gemm.Requant{Mult: channels(ep.Mult, ch0, og), ZP: ep.YZP, QMin: out.qmin, QMax: out.qmax, LdOut: ld}
				if op.Y.DType() == qtensor.Uint8 {
					rq.OutU8 = dst
				} else {
					rq.OutS8 = asInt8(dst)
				}
				opt.Requant = rq
			case backend.OutFloat32:
				fo := &gemm.FloatOut{Scale: channels(ep.Scale, ch0, og), Out: asFloat32(dst), LdOut: ld}
				if ep.FloatBias != nil {
					fo.Bias = channels(ep.FloatBias, ch0, og)
				}
				opt.Float = fo
			}
			if signedX {
				err = gemm.GemmS8S8(acc, ldc, asInt8(src), lda, M, pb, opt)
			} else {
				err = gemm.GemmU8S8(acc, ldc, src, lda, M, pb, opt)
			}
			colOffPool.Put(obuf)
			if err != nil {
				return true, err
			}
			if yNHWC {
				continue
			}
			// [P][og] -> channel-major [og][P].
			base := (n*op.O + ch0) * P
			switch {
			case ep.Output == backend.OutInt32:
				b.transpose32(asInt32(y)[base:base+og*P], c, P, og)
			case esz == 4:
				b.transpose32(asInt32(y)[base:base+og*P], asInt32(tmp), P, og)
			default:
				b.rows(P, P*og, func(p0, p1 int) {
					vec.TransposeBytes(y[base+p0:], P, tmp[p0*og:], og, p1-p0, og)
				})
			}
		}
	}
	return true, nil
}

// stageRGB4 stages the 3-channel NCHW image img for convImplicit as
// padded NHWC of 4 channels, [Hp][Wp][4]: the three channels and a
// fourth (the zero point; its weights are 0), the padding set to the
// input zero point. Rows are split over the workers.
func (b *Backend) stageRGB4(stage, img []byte, op *backend.Conv, Hp, Wp int) {
	H, W := op.H, op.Wd
	zp := uint32(byte(op.XZP))
	zp4 := zp * 0x01010101
	b.rows(Hp, Hp*Wp*4, func(h0, h1 int) {
		for hp := h0; hp < h1; hp++ {
			row := stage[hp*Wp*4 : (hp+1)*Wp*4]
			ih := hp - op.PadTop
			if ih < 0 || ih >= H {
				fill(row, byte(zp))
				continue
			}
			fill(row[:op.PadLeft*4], byte(zp))
			fill(row[(op.PadLeft+W)*4:], byte(zp))
			p0, p1, p2 := img[ih*W:(ih+1)*W], img[(H+ih)*W:(H+ih+1)*W], img[(2*H+ih)*W:(2*H+ih+1)*W]
			dst := row[op.PadLeft*4 : (op.PadLeft+W)*4]
			for w := range W {
				v := uint32(p0[w]) | uint32(p1[w])<<8 | uint32(p2[w])<<16 | zp4&0xff000000
				binary.LittleEndian.PutUint32(dst[4*w:], v)
			}
		}
	})
}

// rowOffsets returns the offsets n*img + (oh*rowStride + ow*stride) * cell
// of the oh x ow output pixels of imgs images of an implicit convolution,
// from a small cache: they depend on the geometry only, and a network's
// layers share few. The slice is shared: read only.
func rowOffsets(imgs, oh, ow, rowStride, stride, cell, img int) []int {
	key := [7]int{imgs, oh, ow, rowStride, stride, cell, img}
	rowOffMu.Lock()
	defer rowOffMu.Unlock()
	if r, ok := rowOffCache[key]; ok {
		return r
	}
	r := make([]int, imgs*oh*ow)
	for n := range imgs {
		for h := range oh {
			for w := range ow {
				r[(n*oh+h)*ow+w] = n*img + (h*rowStride+w*stride)*cell
			}
		}
	}
	if len(rowOffCache) >= 256 {
		clear(rowOffCache) // geometries beyond a few networks' worth
	}
	rowOffCache[key] = r
	return r
}

var (
	rowOffMu    sync.Mutex
	rowOffCache = map[[7]int][]int{}
)

// padNHWC copies image img ([H][W][C], NHWC) into stage as [Hp][Wp][C]
// with the padding set to the input zero point, the rows split over the
// workers.
func (b *Backend) padNHWC(stage, img []byte, op *backend.Conv, Hp, Wp int) {
	C, W := op.C, op.Wd
	zp := byte(op.XZP)
	b.rows(Hp, Hp*Wp*C, func(h0, h1 int) {
		for hp := h0; hp < h1; hp++ {
			row := stage[hp*Wp*C : (hp+1)*Wp*C]
			ih := hp - op.PadTop
			if ih < 0 || ih >= op.H {
				fill(row, zp)
				continue
			}
			fill(row[:op.PadLeft*C], zp)
			copy(row[op.PadLeft*C:(op.PadLeft+W)*C], img[ih*W*C:])
			fill(row[(op.PadLeft+W)*C:], zp)
		}
	})
}

// stageNHWC stages channels [c0, c0+cg) of image n of the NCHW input x for
// the segmented convImplicit as [Hp][Wp][cg], the padding set to the input
// zero point. Input rows of at least 32 pixels are transposed straight
// into place; narrower images go through nhwc (one wide transpose), whose
// rows are then contiguous copies. Rows are split over the workers.
func (b *Backend) stageNHWC(stage, nhwc, x []byte, op *backend.Conv, n, c0, cg, Hp, Wp int) {
	H, W := op.H, op.Wd
	zp := byte(op.XZP)
	planes := x[(n*op.C+c0)*H*W:]
	direct := W >= 32
	if !direct {
		b.toNHWC(nhwc, planes, cg, H*W)
	}
	b.rows(Hp, Hp*Wp*cg, func(h0, h1 int) {
		for hp := h0; hp < h1; hp++ {
			row := stage[hp*Wp*cg : (hp+1)*Wp*cg]
			ih := hp - op.PadTop
			if ih < 0 || ih >= H {
				fill(row, zp)
				continue
			}
			fill(row[:op.PadLeft*cg], zp)
			fill(row[(op.PadLeft+W)*cg:], zp)
			if direct { // [c][w] of input row ih -> [w][c]
				vec.TransposeBytes(row[op.PadLeft*cg:], cg, planes[ih*W:], H*W, cg, W)
			} else {
				copy(row[op.PadLeft*cg:(op.PadLeft+W)*cg], nhwc[ih*W*cg:])
			}
		}
	})
}

// windowRows stages channels [c0, c0+cg) of image n of the NCHW input x
// for convImplicit: stage holds OH*Wp cells of KH*cg bytes, and cell
// (oh, w) at (oh*Wp + w)*KH*cg holds, for kh < KH, the cg channels of
// input pixel (oh*StrideH + kh*DilationH - PadTop, w - PadLeft) at offset
// kh*cg, or the input zero point where that pixel is padding. The work is
// split over the workers by output rows and, for stride 1, input rows.
//
// An input row of at least 32 pixels is transposed ([c][w] -> [w][c])
// straight into its cells. With stride 1 that is done once per input
// row, each block stored to the up to KH places that hold the row
// (vec.TransposeBytesCopies: for kh -> kh-1 the cells move by
// DilationH*Wp*cell - cg bytes); larger strides transpose once per cell
// row (an input row serves fewer of them). Narrower images would
// take the transpose's slow uint64 path, so the whole image is first
// transposed to nhwc ([H*W][cg], one wide transpose) and its pixels
// copied into the cells.
func (b *Backend) windowRows(stage, nhwc, x []byte, op *backend.Conv, n, c0, cg, Wp int) {
	H, W, dh := op.H, op.Wd, op.DilationH
	cell := op.KH * cg
	zp := make([]byte, cg)
	fill(zp, byte(op.XZP))
	pad := func(dst []byte, cells int) { // the kh chunk of cells cells
		for i := range cells {
			copy(dst[i*cell:i*cell+cg], zp)
		}
	}
	planes := x[(n*op.C+c0)*H*W:]
	direct := W >= 32
	if !direct {
		b.toNHWC(nhwc, planes, cg, H*W)
	}
	b.rows(op.OH, op.OH*Wp*cell, func(h0, h1 int) {
		for oh := h0; oh < h1; oh++ {
			for kh := range op.KH {
				row := stage[oh*Wp*cell+kh*cg:]
				ih := oh*op.StrideH + kh*dh - op.PadTop
				if ih < 0 || ih >= H {
					pad(row, Wp)
					continue
				}
				pad(row, op.PadLeft)
				if op.PadRight > 0 {
					pad(row[(op.PadLeft+W)*cell:], op.PadRight)
				}
				dst := row[op.PadLeft*cell:]
				if direct {
					if op.StrideH > 1 { // below for stride 1
						vec.TransposeBytes(dst, cell, planes[ih*W:], H*W, cg, W)
					}
					continue
				}
				src := nhwc[ih*W*cg:]
				for w := range W {
					copy(dst[w*cell:w*cell+cg], src[w*cg:(w+1)*cg])
				}
			}
		}
	})
	if !direct || op.StrideH > 1 {
		return
	}
	b.rows(H, H*W*cell, func(i0, i1 int) {
		for ih := i0; ih < i1; ih++ {
			// Kernel rows kh with output row oh = ih + PadTop - kh*dh in
			// [0, OH): from khHi (the smallest oh) down to khLo.
			t := ih + op.PadTop
			khHi := min(op.KH-1, t/dh)
			khLo := 0
			if e := t - (op.OH - 1); e > 0 {
				khLo = (e + dh - 1) / dh
			}
			if khLo > khHi {
				continue // a row no output reads
			}
			oh := t - khHi*dh
			dst := stage[(oh*Wp+op.PadLeft)*cell+khHi*cg:]
			vec.TransposeBytesCopies(dst, cell, planes[ih*W:], H*W, cg, W, khHi-khLo+1, dh*Wp*cell-cg)
		}
	})
}

// toNHWC transposes the cg planes of hw bytes at planes (NCHW, one image
// and group) to nhwc as [hw][cg], the channels split over the workers:
// the staging of narrow images, whose rows are too short for the vector
// transpose.
func (b *Backend) toNHWC(nhwc, planes []byte, cg, hw int) {
	b.rows(cg, cg*hw, func(ca, cb int) {
		vec.TransposeBytes(nhwc[ca:], cg, planes[ca*hw:], hw, cb-ca, hw)
	})
}

// fill sets every byte of s to v: one byte, then copies of doubling
// length (copy is memmove, many bytes per instruction).
func fill(s []byte, v byte) {
	if len(s) == 0 {
		return
	}
	s[0] = v
	for n := 1; n < len(s); n *= 2 {
		copy(s[n:], s[:n])
	}
}

// rows splits n rows of a job of total bytes (or elements) over up to
// b.threads parts, each getting at least minChunk of the total, runs them
// on the worker pool and returns when all are done.
func (b *Backend) rows(n, total int, f func(lo, hi int)) {
	t := min(b.threads, n, total/minChunk)
	if t <= 1 {
		f(0, n)
		return
	}
	// More parts than threads: a worker that starts late (its core busy
	// with other work) leaves its later parts to the others.
	t = min(n, partsPerThread*t, total/minChunk)
	b.pool.Run(t, func(i int) { f(n*i/t, n*(i+1)/t) })
}

// partsPerThread is how many parts rows and the GEMMs cut a job into per
// thread.
const partsPerThread = 4

// transpose32 writes src ([P][og], pixel-major 32-bit values) to dst
// channel-major ([og][P]), the pixels split over the workers
// (vec.TransposeInt32).
func (b *Backend) transpose32(dst, src []int32, P, og int) {
	b.rows(P, 4*P*og, func(p0, p1 int) {
		vec.TransposeInt32(dst[p0:], P, src[p0*og:], og, p1-p0, og)
	})
}
