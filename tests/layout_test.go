package tests

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// nhwcOf returns the 4-D (or 3-D, one spatial axis) tensor h, NCHW, in
// NHWC order; nchwOf is the inverse. Plain loops over the element bytes:
// the oracle of the layouts.
func nhwcOf(h *qtensor.Tensor) *qtensor.Tensor { return permuteCL(h, true) }
func nchwOf(h *qtensor.Tensor) *qtensor.Tensor { return permuteCL(h, false) }

func permuteCL(h *qtensor.Tensor, toNHWC bool) *qtensor.Tensor {
	s := h.Shape
	var n, c, hw int
	if toNHWC {
		n, c = s[0], s[1]
	} else {
		n, c = s[0], s[len(s)-1]
	}
	hw = h.Len() / (n * c)
	esz := len(h.Data) / h.Len()
	out := &qtensor.Tensor{DType: h.DType, Params: h.Params.Clone(), Data: make([]byte, len(h.Data))}
	if toNHWC {
		out.Shape = append(append([]int{n}, s[2:]...), c)
	} else {
		out.Shape = append([]int{n, c}, s[1:len(s)-1]...)
	}
	for i := range n {
		for ch := range c {
			for p := range hw {
				src, dst := (i*c+ch)*hw+p, (i*hw+p)*c+ch // NCHW, NHWC element
				if !toNHWC {
					src, dst = dst, src
				}
				copy(out.Data[dst*esz:(dst+1)*esz], h.Data[src*esz:(src+1)*esz])
			}
		}
	}
	return out
}

// TestReferenceLayoutsOracle: the reference kernels' Conv and pools with
// channels-last inputs and outputs compute the NCHW results with the
// data permuted - every conformance geometry, every layout pair, int32
// and quantized convolution outputs, max and average pools.
func TestReferenceLayoutsOracle(t *testing.T) {
	e := refEngine(t)
	r := rand.New(rand.NewPCG(11, 12))
	layouts := append([][2]engine.Layout{{engine.NCHW, engine.NCHW}}, nhwcLayouts...)
	in := func(x *qtensor.Tensor, l engine.Layout) *qtensor.Tensor {
		if l == engine.NHWC {
			return nhwcOf(x)
		}
		return x
	}
	check := func(name string, want, got *qtensor.Tensor, l engine.Layout) {
		t.Helper()
		if l == engine.NHWC {
			got = nchwOf(got)
		}
		if !bytes.Equal(want.Data, got.Data) || fmt.Sprint(want.Shape) != fmt.Sprint(got.Shape) {
			t.Errorf("%s: the channels-last result differs from the NCHW one permuted", name)
		}
	}
	for _, g := range convGeometries {
		group := max(g.group, 1)
		xs, ws := []int{g.n, g.c, g.h, g.w}, []int{g.o, g.c / group, g.kh, g.kw}
		if g.oneD {
			xs, ws = []int{g.n, g.c, g.w}, []int{g.o, g.c / group, g.kw}
		}
		x := randQ(r, qtensor.Uint8, xs, qtensor.TensorParams(0.1, 7))
		w := randQ(r, qtensor.Int8, ws, qtensor.TensorParams(0.01, 0))
		for _, out := range []engine.ConvOptions{{}, {Output: engine.OutQuantized, YType: qtensor.Int8, YScale: 3, YZP: -5}} {
			o := out
			o.Strides, o.Dilations, o.Pads, o.Group = g.strides, g.dilations, g.pads, g.group
			conv := func(o engine.ConvOptions, x *qtensor.Tensor) *qtensor.Tensor {
				return run1(t, e, func(b *engine.Batch) (*engine.Tensor, error) { return b.Conv(upload(t, e, x), upload(t, e, w), o) })
			}
			want := conv(o, x)
			for _, ls := range layouts[1:] {
				o.XLayout, o.YLayout = ls[0], ls[1]
				check(fmt.Sprintf("Conv %s %v %s", g.name, out.Output, layoutName(ls[0], ls[1])), want, conv(o, in(x, ls[0])), ls[1])
			}
		}
	}
	for _, g := range poolGeometries {
		x := randQ(r, qtensor.Int8, []int{g.n, g.c, g.h, g.w}, qtensor.TensorParams(0.1, 3))
		for _, isMax := range []bool{true, false} {
			o := engine.PoolOptions{Kernel: []int{g.kh, g.kw}, Strides: g.strides, Dilations: g.dilations, Pads: g.pads}
			pool := func(o engine.PoolOptions, x *qtensor.Tensor) *qtensor.Tensor {
				return run1(t, e, func(b *engine.Batch) (*engine.Tensor, error) {
					if isMax {
						return b.MaxPool(upload(t, e, x), o)
					}
					return b.AvgPool(upload(t, e, x), o)
				})
			}
			want := pool(o, x)
			for _, ls := range layouts[1:] {
				o.XLayout, o.YLayout = ls[0], ls[1]
				check(fmt.Sprintf("pool %s max=%v %s", g.name, isMax, layoutName(ls[0], ls[1])), want, pool(o, in(x, ls[0])), ls[1])
			}
		}
	}
}
