package dwconv

import (
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
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

// args is what the assembly kernels read (offsets fixed in asmgen).
type args struct {
	src, dst *byte
	_        uintptr
	oh, ow   int
	kh, kw   int
	rs, dhw  int
	dw, ds   int
	init, zp int32
	m, lo    float32
	hi       float32
	w        [MaxCells]int32 // weights with a zero high half
}

// vector reports whether the vector kernels of the current ISA can run p,
// and if so fills a. The AVX2 kernels need rows of at least 8 pixels.
func (p *Plane) vector(a *args) bool {
	khw := p.KH * p.KW
	cur := Current()
	if cur == isa.Generic || p.SW > 2 || khw > MaxCells || p.OH == 0 || p.OW == 0 || cur == isa.AVX2 && p.OW < 8 {
		return false
	}
	// Stride 2 loads a word per column: one byte past the last one read.
	if p.SW == 2 && len(p.Src) < p.lastIn()+2 {
		return false
	}
	for i, v := range p.W[:khw] {
		if v < math.MinInt16 || v > math.MaxInt16 {
			return false
		}
		a.w[i] = int32(uint16(v))
	}
	a.src, a.oh, a.ow, a.kh, a.kw = &p.Src[0], p.OH, p.OW, p.KH, p.KW
	a.rs, a.dhw, a.dw, a.init = p.SH*p.Wp, p.DH*p.Wp, p.DW, p.Init
	return true
}

// Int32 writes the accumulators of the plane to dst as [OH][OW].
func (p *Plane) Int32(dst []int32) {
	p.check(len(dst))
	if q, sc := p.widened(); q != nil {
		defer narrowPool.Put(sc)
		sc.i32 = grow(sc.i32, q.OH*q.OW)
		q.int32(sc.i32)
		for r := range p.OH {
			copy(dst[r*p.OW:(r+1)*p.OW], sc.i32[r*q.OW:])
		}
		return
	}
	p.int32(dst)
}

// widened returns, for a plane narrower than the AVX2 kernels' 8 columns
// when they are in use, the plane 8 columns wide over a copy of the input
// long enough for the extra columns' reads (whose outputs the caller
// drops), and the pooled scratch holding that copy, which the caller puts
// back; else nil.
func (p *Plane) widened() (*Plane, *narrowScratch) {
	if Current() != isa.AVX2 || p.OW >= 8 || p.OH == 0 || p.OW == 0 || p.SW > 2 || p.KH*p.KW > MaxCells {
		return nil, nil
	}
	q := *p
	q.OW = 8
	sc := narrowPool.Get().(*narrowScratch)
	sc.src = grow(sc.src, q.lastIn()+2) // +1: stride 2 reads a word per column
	copy(sc.src, p.Src[:p.lastIn()+1])
	q.Src = sc.src
	return &q, sc
}

// narrowScratch is the input copy and output of a widened plane.
type narrowScratch struct {
	src []byte
	i32 []int32
	u8  []byte
}

var narrowPool = sync.Pool{New: func() any { return new(narrowScratch) }}

// grow returns s resliced to n elements, reallocated if too short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// int32 is Int32 after the checks.
func (p *Plane) int32(dst []int32) {
	var a args
	if !p.vector(&a) {
		p.generic(func(i int, acc int32) { dst[i] = acc })
		return
	}
	a.dst = (*byte)(unsafe.Pointer(&dst[0]))
	a.ds = 4 * p.OW
	pa := (*byte)(unsafe.Pointer(&a))
	planeKernel(&int32Kernels, p)(pa)
}

// Requantize writes the plane's accumulators requantized to dst as
// [OH][OW]: dst[i] = byte(qtensor.Requantize(acc, m, zp, qmin, qmax)).
func (p *Plane) Requantize(dst []byte, m float32, zp, qmin, qmax int32) {
	p.check(len(dst))
	if q, sc := p.widened(); q != nil {
		defer narrowPool.Put(sc)
		sc.u8 = grow(sc.u8, q.OH*q.OW)
		q.requantize(sc.u8, m, zp, qmin, qmax)
		for r := range p.OH {
			copy(dst[r*p.OW:(r+1)*p.OW], sc.u8[r*q.OW:])
		}
		return
	}
	p.requantize(dst, m, zp, qmin, qmax)
}

// requantize is Requantize after the checks.
func (p *Plane) requantize(dst []byte, m float32, zp, qmin, qmax int32) {
	var a args
	finite := m == m && m <= math.MaxFloat32 && m >= -math.MaxFloat32
	if !finite || qmin > qmax || !p.vector(&a) {
		p.generic(func(i int, acc int32) { dst[i] = byte(qtensor.Requantize(acc, m, zp, qmin, qmax)) })
		return
	}
	a.dst = &dst[0]
	a.ds = p.OW
	a.m, a.lo, a.hi, a.zp = m, float32(qmin-zp), float32(qmax-zp), zp
	pa := (*byte)(unsafe.Pointer(&a))
	planeKernel(&quantKernels, p)(pa)
}

// int32Kernels and quantKernels are the plane kernels by [AVX2][column
// stride 2][signed input].
var (
	int32Kernels = [2][2][2]func(*byte){
		{{dwS1U8I32AVX512, dwS1S8I32AVX512}, {dwS2U8I32AVX512, dwS2S8I32AVX512}},
		{{dwS1U8I32AVX2, dwS1S8I32AVX2}, {dwS2U8I32AVX2, dwS2S8I32AVX2}},
	}
	quantKernels = [2][2][2]func(*byte){
		{{dwS1U8QAVX512, dwS1S8QAVX512}, {dwS2U8QAVX512, dwS2S8QAVX512}},
		{{dwS1U8QAVX2, dwS1S8QAVX2}, {dwS2U8QAVX2, dwS2S8QAVX2}},
	}
)

// planeKernel picks p's kernel from k for the current ISA (vector has
// checked that one can run p).
func planeKernel(k *[2][2][2]func(*byte), p *Plane) func(*byte) {
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	return k[b(Current() == isa.AVX2)][b(p.SW == 2)][b(p.Signed)]
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
