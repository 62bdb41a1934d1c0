package dwconv

import (
	"fmt"

	"github.com/qgpu/qgpu/qtensor"
)

// MaxCells is the largest KH*KW the vector kernels take; larger kernels
// run in Go.
const MaxCells = 64

// Plane is one channel plane of a depthwise convolution. Src is the input
// plane already padded (rows of Wp bytes, padding cells holding the input
// zero point); the output has OH rows of OW pixels.
type Plane struct {
	Src    []byte  // padded input plane, rows of Wp bytes
	Wp     int     // input row length in bytes
	KH, KW int     // kernel size
	SH, SW int     // strides
	DH, DW int     // dilations
	OH, OW int     // output size
	Signed bool    // Src holds int8 (else uint8)
	W      []int32 // KH*KW weights minus their zero point, in int16 range
	Init   int32   // accumulator start value (InitValue)
}

// InitValue returns the accumulator start value bias - xzp * sum(w) (int32,
// wrapping) that makes a Plane with weights w over an input padded with the
// zero point xzp compute bias + sum (x - xzp) * w.
func InitValue(bias, xzp int32, w []int32) int32 {
	var s int32
	for _, v := range w {
		s += v
	}
	return bias - xzp*s
}

// check panics if the plane's slices are too short or its sizes invalid:
// a programming error of the caller (an internal package).
func (p *Plane) check(dstLen int) {
	if p.OH < 0 || p.OW < 0 || p.KH < 1 || p.KW < 1 || p.SH < 1 || p.SW < 1 || p.DH < 1 || p.DW < 1 {
		panic(fmt.Sprintf("dwconv: invalid geometry %+v", *p))
	}
	if len(p.W) < p.KH*p.KW {
		panic(fmt.Sprintf("dwconv: %d weights for a %dx%d kernel", len(p.W), p.KH, p.KW))
	}
	if dstLen < p.OH*p.OW {
		panic(fmt.Sprintf("dwconv: output of %d for %dx%d pixels", dstLen, p.OH, p.OW))
	}
	if p.OH > 0 && p.OW > 0 {
		if (p.OW-1)*p.SW+(p.KW-1)*p.DW >= p.Wp {
			panic(fmt.Sprintf("dwconv: window columns leave the row of %d bytes", p.Wp))
		}
		if len(p.Src) < p.lastIn()+1 {
			panic(fmt.Sprintf("dwconv: input plane of %d bytes, need %d", len(p.Src), p.lastIn()+1))
		}
	}
}

// lastIn is the index of the last input byte the window reads.
func (p *Plane) lastIn() int {
	return ((p.OH-1)*p.SH+(p.KH-1)*p.DH)*p.Wp + (p.OW-1)*p.SW + (p.KW-1)*p.DW
}

// Int32 writes the accumulators of the plane to dst as [OH][OW]. It
// panics if the plane is inconsistent or dst shorter than OH*OW (see the
// package documentation).
func (p *Plane) Int32(dst []int32) {
	p.check(len(dst))
	p.int32(dst)
}

// Requantize writes the plane's accumulators requantized to dst as
// [OH][OW]: dst[i] = byte(qtensor.Requantize(acc, m, zp, qmin, qmax)). It
// panics like Int32.
func (p *Plane) Requantize(dst []byte, m float32, zp, qmin, qmax int32) {
	p.check(len(dst))
	p.requantize(dst, m, zp, qmin, qmax)
}

// int32Generic is Int32 in Go.
func (p *Plane) int32Generic(dst []int32) {
	p.generic(func(i int, acc int32) { dst[i] = acc })
}

// requantizeGeneric is Requantize in Go.
func (p *Plane) requantizeGeneric(dst []byte, m float32, zp, qmin, qmax int32) {
	p.generic(func(i int, acc int32) { dst[i] = byte(qtensor.Requantize(acc, m, zp, qmin, qmax)) })
}

// generic computes the plane in Go, passing each accumulator to put with
// its output index.
func (p *Plane) generic(put func(i int, acc int32)) {
	w := p.W[:p.KH*p.KW]
	for oh := range p.OH {
		for ow := range p.OW {
			acc := p.Init
			for kh := range p.KH {
				row := p.Src[(oh*p.SH+kh*p.DH)*p.Wp+ow*p.SW:]
				wk := w[kh*p.KW : (kh+1)*p.KW]
				for kw, wv := range wk {
					x := int32(row[kw*p.DW])
					if p.Signed {
						x = int32(int8(row[kw*p.DW]))
					}
					acc += x * wv
				}
			}
			put(oh*p.OW+ow, acc)
		}
	}
}
