package cpu

import (
	"context"
	"encoding/binary"
	"math"

	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// This file holds the reference kernels: plain Go, one loop per op, every
// element computed by the scalar formula of package qtensor. They define
// the truth that the SIMD kernels and the GPU backends are checked against,
// so they are written for clarity, not speed.

// view wraps a tensor's bytes in a qtensor.Tensor so the one
// implementation of element packing (At/Set) is used.
func view(t *backend.Tensor) *qtensor.Tensor {
	return &qtensor.Tensor{DType: t.DType(), Data: bytesOf(t)}
}

func getF32(b []byte, i int) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
}

func putF32(b []byte, i int, v float32) {
	binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
}

func putU32(b []byte, i int, v uint32) {
	binary.LittleEndian.PutUint32(b[4*i:], v)
}

func quantizeGeneric(_ context.Context, op *backend.Quantize) error {
	x, y := bytesOf(op.X), view(op.Y)
	p := op.Y.Params()
	ix := p.Indexer(op.Y.Shape())
	q := op.Rounding.QuantizeFunc()
	qmin, qmax := op.Y.DType().QMin(), op.Y.DType().QMax()
	for i := range op.X.Len() {
		k := ix.Pair(i)
		y.Set(i, q(getF32(x, i), p.Scales[k], p.ZeroPoints[k], qmin, qmax))
	}
	return nil
}

func dequantizeGeneric(_ context.Context, op *backend.Dequantize) error {
	x, y := view(op.X), bytesOf(op.Y)
	p := op.X.Params()
	ix := p.Indexer(op.X.Shape())
	for i := range op.X.Len() {
		k := ix.Pair(i)
		putF32(y, i, qtensor.Dequantize(x.At(i), p.ZeroPoints[k], p.Scales[k]))
	}
	return nil
}

func byteWeightDequantGeneric(_ context.Context, op *backend.ByteWeightDequant) error {
	x, y := bytesOf(op.X), bytesOf(op.Y)
	for i, q := range x {
		putF32(y, i, qtensor.ByteWeightDequant(q, op.Min, op.Max))
	}
	return nil
}

// output writes element i of an op output from accumulator acc of channel
// c through the epilogue (see backend.Epilogue).
type output struct {
	ep         *backend.Epilogue
	y          *qtensor.Tensor
	qmin, qmax int32
}

func newOutput(ep *backend.Epilogue, y *backend.Tensor) output {
	return hostOutput(ep, view(y))
}

// hostOutput is newOutput for a host tensor y.
func hostOutput(ep *backend.Epilogue, y *qtensor.Tensor) output {
	o := output{ep: ep, y: y}
	if ep.Output == backend.OutQuantized {
		o.qmin, o.qmax = y.DType.QMin(), y.DType.QMax()
		if ep.ReLU {
			o.qmin = max(o.qmin, ep.YZP)
		}
	}
	return o
}

func (o *output) store(i int, acc int32, c int) {
	ep := o.ep
	if ep.Bias != nil {
		acc += backend.At(ep.Bias, c)
	}
	switch ep.Output {
	case backend.OutInt32:
		o.y.Set(i, acc)
	case backend.OutFloat32:
		var fb float32
		if ep.FloatBias != nil {
			fb = backend.At(ep.FloatBias, c)
		}
		putF32(o.y.Data, i, qtensor.FloatOutput(acc, backend.At(ep.Scale, c), fb))
	case backend.OutQuantized:
		if ep.Fixed != nil {
			o.y.Set(i, qtensor.RequantizeFixed(acc, backend.At(ep.Fixed, c), ep.YZP, o.qmin, o.qmax))
		} else {
			o.y.Set(i, qtensor.Requantize(acc, backend.At(ep.Mult, c), ep.YZP, o.qmin, o.qmax))
		}
	}
}

func requantizeGeneric(_ context.Context, op *backend.Requantize) error {
	x := view(op.X)
	out := newOutput(&op.Epilogue, op.Y)
	channels, inner := 1, 1
	if op.Axis >= 0 {
		shape := op.X.Shape()
		channels = shape[op.Axis]
		for _, d := range shape[op.Axis+1:] {
			inner *= d
		}
	}
	zp := op.XZP
	if op.X.DType() == qtensor.Int32 {
		zp = 0
	}
	for i := range op.X.Len() {
		out.store(i, x.At(i)-zp, (i/inner)%channels)
	}
	return nil
}

func gemmGeneric(ctx context.Context, op *backend.Gemm) error {
	a, b := view(op.A), view(op.B)
	out := newOutput(&op.Epilogue, op.Y)
	M, K, N := op.M, op.K, op.N
	sk, sn := op.BStrides()
	for bt := range op.Batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		ao, bo, yo := op.AIndex[bt]*M*K, op.BIndex[bt]*K*N, bt*M*N
		for m := range M {
			azp := backend.At(op.AZP, m)
			for n := range N {
				bzp := backend.At(op.BZP, n)
				var acc int32
				for k := range K {
					acc += (a.At(ao+m*K+k) - azp) * (b.At(bo+k*sk+n*sn) - bzp)
				}
				out.store(yo+m*N+n, acc, n)
			}
		}
	}
	return nil
}

func convGeneric(ctx context.Context, op *backend.Conv) error {
	x, w := view(op.X), view(op.W)
	out := newOutput(&op.Epilogue, op.Y)
	cg := op.C / op.Group
	og := op.O / op.Group
	for n := range op.N {
		for o := range op.O {
			if err := ctx.Err(); err != nil {
				return err
			}
			g := o / og
			wzp := backend.At(op.WZP, o)
			for oh := range op.OH {
				for ow := range op.OW {
					var acc int32
					for c := range cg {
						ci := g*cg + c
						for kh := range op.KH {
							ih := oh*op.StrideH - op.PadTop + kh*op.DilationH
							if ih < 0 || ih >= op.H {
								continue
							}
							for kw := range op.KW {
								iw := ow*op.StrideW - op.PadLeft + kw*op.DilationW
								if iw < 0 || iw >= op.Wd {
									continue
								}
								xv := x.At(op.XLayout.Index(n, ci, ih, iw, op.C, op.H, op.Wd))
								wv := w.At(((o*cg+c)*op.KH+kh)*op.KW + kw)
								acc += (xv - op.XZP) * (wv - wzp)
							}
						}
					}
					out.store(op.YLayout.Index(n, o, oh, ow, op.O, op.OH, op.OW), acc, o)
				}
			}
		}
	}
	return nil
}

func addGeneric(_ context.Context, op *backend.Add) error {
	a, b, y := view(op.A), view(op.B), view(op.Y)
	qmin, qmax := op.Y.DType().QMin(), op.Y.DType().QMax()
	for i := range op.A.Len() {
		y.Set(i, qtensor.Add(a.At(i), op.ZA, b.At(i), op.ZB, op.MA, op.MB, op.ZY, qmin, qmax))
	}
	return nil
}

func mulGeneric(_ context.Context, op *backend.Mul) error {
	a, b, y := view(op.A), view(op.B), view(op.Y)
	qmin, qmax := op.Y.DType().QMin(), op.Y.DType().QMax()
	for i := range op.A.Len() {
		y.Set(i, qtensor.Mul(a.At(i), op.ZA, b.At(i), op.ZB, op.M, op.ZY, qmin, qmax))
	}
	return nil
}

func reluGeneric(_ context.Context, op *backend.ReLU) error {
	x, y := view(op.X), view(op.Y)
	for i := range op.X.Len() {
		y.Set(i, max(x.At(i), op.ZP))
	}
	return nil
}

func poolGeneric(ctx context.Context, op *backend.Pool) error {
	x, y := view(op.X), view(op.Y)
	qmin, qmax := op.X.DType().QMin(), op.X.DType().QMax()
	for nc := range op.N * op.C {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, c := nc/op.C, nc%op.C
		for oh := range op.OH {
			for ow := range op.OW {
				var sum int64
				var cells int64
				best := int32(math.MinInt32)
				for kh := range op.KH {
					ih := oh*op.StrideH - op.PadTop + kh*op.DilationH
					if ih < 0 || ih >= op.H {
						continue
					}
					for kw := range op.KW {
						iw := ow*op.StrideW - op.PadLeft + kw*op.DilationW
						if iw < 0 || iw >= op.W {
							continue
						}
						v := x.At(op.XLayout.Index(n, c, ih, iw, op.C, op.H, op.W))
						best = max(best, v)
						sum += int64(v - op.ZP)
						cells++
					}
				}
				var r int32
				switch {
				case cells == 0:
					r = op.ZP
				case op.Max:
					r = best
				default:
					count := cells
					if op.CountIncludePad {
						count = int64(op.KH * op.KW)
					}
					r = qtensor.AveragePool(sum, count, op.ZP, qmin, qmax)
				}
				y.Set(op.YLayout.Index(n, c, oh, ow, op.C, op.OH, op.OW), r)
			}
		}
	}
	return nil
}

func minMaxGeneric(_ context.Context, op *backend.MinMax) error {
	x, y := bytesOf(op.X), bytesOf(op.Y)
	type acc struct{ lo, hi, finite, nan, pinf, ninf uint32 }
	st := make([]acc, op.Channels)
	for c := range st {
		st[c].lo = math.MaxUint32
	}
	for i := range op.X.Len() {
		s := &st[(i/op.Inner)%op.Channels]
		v := getF32(x, i)
		switch {
		case v != v:
			s.nan++
		case math.IsInf(float64(v), 1):
			s.pinf++
		case math.IsInf(float64(v), -1):
			s.ninf++
		default:
			s.finite++
			k := qtensor.MinMaxKey(v)
			s.lo = min(s.lo, k)
			s.hi = max(s.hi, k)
		}
	}
	for c, s := range st {
		for j, w := range [6]uint32{s.lo, s.hi, s.finite, s.nan, s.pinf, s.ninf} {
			putU32(y, 6*c+j, w)
		}
	}
	return nil
}

func histogramGeneric(_ context.Context, op *backend.Histogram) error {
	x, y := bytesOf(op.X), bytesOf(op.Y)
	counts := make([]uint32, op.Bins+3)
	if op.Aligned {
		s := qtensor.HistScalePow2(op.Exp)
		for i := range op.X.Len() {
			j, ok := qtensor.HistBinAligned(getF32(x, i), s)
			switch {
			case !ok:
				counts[op.Bins+2]++
			case j < op.Start:
				counts[op.Bins]++
			case j-op.Start >= int64(op.Bins):
				counts[op.Bins+1]++
			default:
				counts[j-op.Start]++
			}
		}
		for i, c := range counts {
			putU32(y, i, c)
		}
		return nil
	}
	s := qtensor.HistScale(op.Bins, op.Lo, op.Hi)
	for i := range op.X.Len() {
		switch b := qtensor.HistBin(getF32(x, i), op.Lo, op.Hi, s, op.Bins); b {
		case -2:
			counts[op.Bins+2]++
		case -1:
			counts[op.Bins]++
		default: // 0..Bins-1, or Bins for above
			if b == op.Bins {
				counts[op.Bins+1]++
			} else {
				counts[b]++
			}
		}
	}
	for i, c := range counts {
		putU32(y, i, c)
	}
	return nil
}

func lookupGeneric(_ context.Context, op *backend.Lookup) error {
	x, y := bytesOf(op.X), bytesOf(op.Y)
	for i, v := range x {
		y[i] = op.Table[v]
	}
	return nil
}

func concatGeneric(ctx context.Context, op *backend.Concat) error {
	y := bytesOf(op.Y)
	row := len(y) / op.Outer
	col := 0
	for j, t := range op.Xs {
		if err := ctx.Err(); err != nil {
			return err
		}
		x, inner, tab := bytesOf(t), op.Inner[j], op.Tables[j]
		for o := range op.Outer {
			dst, src := y[o*row+col:o*row+col+inner], x[o*inner:(o+1)*inner]
			if tab == nil {
				copy(dst, src)
				continue
			}
			for i, v := range src {
				dst[i] = tab[v]
			}
		}
		col += inner
	}
	return nil
}
