package dwconv

import (
	"fmt"
	"math"

	"github.com/qgpu/qgpu/qtensor"
)

// NHWC is a depthwise convolution of all channels of one image at once,
// for planes too small for Plane's per-plane kernels (whose fixed work per
// plane outweighs a 7x7 plane's products): the input is staged as padded
// NHWC and the kernel computes 16 channels of one output pixel per vector.
type NHWC struct {
	Src    []byte  // padded input [Hp][Wp][C], padding holding the input zero point
	Wp, C  int     // padded row length in pixels, channels
	KH, KW int     // kernel size
	SH, SW int     // strides
	DH, DW int     // dilations
	OH, OW int     // output size
	Signed bool    // Src holds int8 (else uint8)
	W      []int32 // PackNHWC's weights
	Init   []int32 // PackNHWC's start values
	// DRow is the number of output elements between output rows (0:
	// OW*C, rows back to back): an output block inside a wider image.
	DRow int
}

// dRow returns the output elements between output rows.
func (p *NHWC) dRow() int {
	if p.DRow == 0 {
		return p.OW * p.C
	}
	return p.DRow
}

// PackNHWC lays out the weights and start values of a depthwise
// convolution for NHWC: w holds C channels of cells weights (Plane's W per
// channel, [C][cells]), init C start values (InitValue per channel). The
// result has the weights cell-major, each cell's C weights padded with
// zeros to a multiple of 16 and stored as 16-bit values in int32 lanes
// (high half zero), and the start values padded the same way. It reports
// false when a weight does not fit int16 (then NHWC cannot run).
func PackNHWC(w, init []int32, C, cells int) (pw, pinit []int32, ok bool) {
	cp := (C + 15) &^ 15
	buf := make([]int32, (cells+1)*cp)
	pw, pinit = buf[:cells*cp], buf[cells*cp:]
	for c := range C {
		for k, v := range w[c*cells : (c+1)*cells] {
			if v < math.MinInt16 || v > math.MaxInt16 {
				return nil, nil, false
			}
			pw[k*cp+c] = int32(uint16(v))
		}
	}
	copy(pinit, init[:C])
	return pw, pinit, true
}

// check panics if the slices are too short or the sizes invalid: a
// programming error of the caller (an internal package).
func (p *NHWC) check(dstLen int) {
	if p.OH < 1 || p.OW < 1 || p.C < 1 || p.KH < 1 || p.KW < 1 || p.SH < 1 || p.SW < 1 || p.DH < 1 || p.DW < 1 {
		panic(fmt.Sprintf("dwconv: invalid NHWC geometry %+v", *p))
	}
	cp := (p.C + 15) &^ 15
	if p.DRow != 0 && p.DRow < p.OW*p.C {
		panic(fmt.Sprintf("dwconv: NHWC output rows %d apart, shorter than %d", p.DRow, p.OW*p.C))
	}
	if len(p.W) < p.KH*p.KW*cp || len(p.Init) < cp || dstLen < (p.OH-1)*p.dRow()+p.OW*p.C {
		panic(fmt.Sprintf("dwconv: NHWC with %d weights, %d start values, output of %d", len(p.W), len(p.Init), dstLen))
	}
	if (p.OW-1)*p.SW+(p.KW-1)*p.DW >= p.Wp {
		panic(fmt.Sprintf("dwconv: window columns leave the row of %d pixels", p.Wp))
	}
	last := (((p.OH-1)*p.SH+(p.KH-1)*p.DH)*p.Wp+(p.OW-1)*p.SW+(p.KW-1)*p.DW)*p.C + p.C
	if len(p.Src) < last {
		panic(fmt.Sprintf("dwconv: NHWC input of %d bytes, need %d", len(p.Src), last))
	}
}

// Int32 writes the accumulators to dst as [OH][OW][C], rows DRow apart.
// It panics if the slices are too short or the sizes invalid (see the
// package documentation).
func (p *NHWC) Int32(dst []int32) {
	p.check(len(dst))
	p.int32(dst)
}

// Requantize writes the accumulators requantized to dst as [OH][OW][C]
// bytes, rows DRow apart: dst[i] = byte(qtensor.Requantize(acc, mult[c], zp, qmin, qmax))
// with c the channel of output i. mult holds at least C multipliers, all
// finite (a precondition, as the engine's multipliers are: the AVX-512
// kernel's sequence equals qtensor.Requantize for finite multipliers);
// (C+15)&^15 of them spare the kernel a padded copy. It panics like
// Int32.
func (p *NHWC) Requantize(dst []byte, mult []float32, zp, qmin, qmax int32) {
	p.check(len(dst))
	if len(mult) < p.C {
		panic(fmt.Sprintf("dwconv: NHWC with %d multipliers for %d channels", len(mult), p.C))
	}
	p.requantize(dst, mult, zp, qmin, qmax)
}

// requantizeGeneric is Requantize in Go.
func (p *NHWC) requantizeGeneric(dst []byte, mult []float32, zp, qmin, qmax int32) {
	q := *p
	q.DRow = 0
	acc := make([]int32, p.OH*p.OW*p.C)
	q.generic(acc)
	row := p.OW * p.C
	for r := range p.OH {
		for i, a := range acc[r*row : (r+1)*row] {
			dst[r*p.dRow()+i] = byte(qtensor.Requantize(a, mult[i%p.C], zp, qmin, qmax))
		}
	}
}

// generic is Int32 in Go.
func (p *NHWC) generic(dst []int32) {
	cp := (p.C + 15) &^ 15
	for oh := range p.OH {
		for ow := range p.OW {
			out := dst[oh*p.dRow()+ow*p.C:][:p.C]
			for c := range out {
				acc := p.Init[c]
				for kh := range p.KH {
					for kw := range p.KW {
						i := ((oh*p.SH+kh*p.DH)*p.Wp+ow*p.SW+kw*p.DW)*p.C + c
						x := int32(p.Src[i])
						if p.Signed {
							x = int32(int8(p.Src[i]))
						}
						acc += x * int32(int16(p.W[(kh*p.KW+kw)*cp+c]))
					}
				}
				out[c] = acc
			}
		}
	}
}
