//go:build amd64 && !purego

package dwconv

import (
	"math"
	"sync"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
)

//go:generate go run -C asmgen . -out ../dw_amd64.s -stubs ../stub_amd64.go -pkg dwconv

// hasAVX512 reports what the generated kernels need: AVX-512 F, BW
// (VPMOVZXWD on zmm) and VNNI (VPDPWSSD), and BMI2 (SHLX); x/sys/cpu also
// checks that the OS saves the zmm and opmask state.
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI && cpu.X86.HasBMI2

// hasAVX2 reports AVX2 support (x/sys/cpu checks the OS saves the ymm
// state).
var hasAVX2 = cpu.X86.HasAVX2

// int32 is Int32 after the checks: planes narrower than the AVX2 kernels'
// 8 columns run widened, others through the vector kernels where they
// apply (vector), else in Go.
func (p *Plane) int32(dst []int32) {
	if q, sc := p.widened(); q != nil {
		defer narrowPool.Put(sc)
		sc.i32 = grow(sc.i32, q.OH*q.OW)
		q.int32Plane(sc.i32)
		for r := range p.OH {
			copy(dst[r*p.OW:(r+1)*p.OW], sc.i32[r*q.OW:])
		}
		return
	}
	p.int32Plane(dst)
}

// int32Plane runs the plane's vector kernel, or the Go loop where none
// applies.
func (p *Plane) int32Plane(dst []int32) {
	var a args
	if !p.vector(&a) {
		p.int32Generic(dst)
		return
	}
	a.dst = (*byte)(unsafe.Pointer(&dst[0]))
	a.ds = 4 * p.OW
	pa := (*byte)(unsafe.Pointer(&a))
	planeKernel(&int32Kernels, p)(pa)
}

// requantize is Requantize after the checks, as int32 is Int32.
func (p *Plane) requantize(dst []byte, m float32, zp, qmin, qmax int32) {
	if q, sc := p.widened(); q != nil {
		defer narrowPool.Put(sc)
		sc.u8 = grow(sc.u8, q.OH*q.OW)
		q.requantizePlane(sc.u8, m, zp, qmin, qmax)
		for r := range p.OH {
			copy(dst[r*p.OW:(r+1)*p.OW], sc.u8[r*q.OW:])
		}
		return
	}
	p.requantizePlane(dst, m, zp, qmin, qmax)
}

// requantizePlane runs the plane's requantizing vector kernel where it
// applies (a finite m, qmin <= qmax, vector), else the Go loop.
func (p *Plane) requantizePlane(dst []byte, m float32, zp, qmin, qmax int32) {
	var a args
	finite := m == m && m <= math.MaxFloat32 && m >= -math.MaxFloat32
	if !finite || qmin > qmax || !p.vector(&a) {
		p.requantizeGeneric(dst, m, zp, qmin, qmax)
		return
	}
	a.dst = &dst[0]
	a.ds = p.OW
	a.m, a.lo, a.hi, a.zp = m, float32(qmin-zp), float32(qmax-zp), zp
	pa := (*byte)(unsafe.Pointer(&a))
	planeKernel(&quantKernels, p)(pa)
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

// int32 is NHWC.Int32 after the checks: the AVX-512 kernels, else Go.
func (p *NHWC) int32(dst []int32) {
	if Current() != isa.AVX512 {
		p.generic(dst)
		return
	}
	a := p.args(unsafe.Pointer(&dst[0]))
	a.drow *= 4 // int32 accumulators
	k := nhwcInt32[b2i(p.Signed)]
	if p.KH == 3 && p.KW == 3 {
		k = nhwc3x3Int32[b2i(p.Signed)]
	}
	k((*byte)(unsafe.Pointer(&a)))
}

// requantize is NHWC.Requantize after the checks: the AVX-512 kernels
// for qmin <= qmax, else Go (the multipliers are finite: a precondition).
func (p *NHWC) requantize(dst []byte, mult []float32, zp, qmin, qmax int32) {
	if Current() != isa.AVX512 || qmin > qmax {
		p.requantizeGeneric(dst, mult, zp, qmin, qmax)
		return
	}
	if cp := (p.C + 15) &^ 15; len(mult) < cp {
		// The kernel reads whole vectors of multipliers.
		m := make([]float32, cp)
		copy(m, mult)
		mult = m
	}
	a := p.args(unsafe.Pointer(&dst[0]))
	a.mult, a.lo, a.hi, a.zp = &mult[0], float32(qmin-zp), float32(qmax-zp), zp
	k := nhwcQuant[b2i(p.Signed)]
	if p.KH == 3 && p.KW == 3 {
		k = nhwc3x3Quant[b2i(p.Signed)]
	}
	k((*byte)(unsafe.Pointer(&a)))
}

// The NHWC kernels by [signed input]: any kernel size, and 3x3 with the
// weights in registers.
var (
	nhwcInt32    = [2]func(*byte){dwNHWCU8AVX512, dwNHWCS8AVX512}
	nhwcQuant    = [2]func(*byte){dwNHWCU8QAVX512, dwNHWCS8QAVX512}
	nhwc3x3Int32 = [2]func(*byte){dwNHWC3x3U8AVX512, dwNHWC3x3S8AVX512}
	nhwc3x3Quant = [2]func(*byte){dwNHWC3x3U8QAVX512, dwNHWC3x3S8QAVX512}
)

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}

// args fills the kernels' arguments but the requantization's, with the
// output at dst.
func (p *NHWC) args(dst unsafe.Pointer) nhwcArgs {
	cp := (p.C + 15) &^ 15
	return nhwcArgs{src: &p.Src[0], dst: dst, w: &p.W[0], init: &p.Init[0],
		oh: p.OH, ow: p.OW, kh: p.KH, kw: p.KW, c: p.C,
		row: p.SH * p.Wp * p.C, col: p.SW * p.C, dh: p.DH * p.Wp * p.C, dw: p.DW * p.C, wcell: 4 * cp, drow: p.dRow()}
}

// nhwcArgs is what the NHWC kernels read (offsets fixed in asmgen).
type nhwcArgs struct {
	src              *byte
	dst              unsafe.Pointer // int32 accumulators, or requantized bytes
	w, init          *int32
	oh, ow, kh, kw   int
	c                int
	row, col, dh, dw int
	wcell            int
	khLeft           int // the kernel's scratch
	mult             *float32
	lo, hi           float32
	zp               int32
	drow             int // output bytes between output rows
}
