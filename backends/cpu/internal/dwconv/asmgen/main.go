// Command asmgen generates the AVX-512 depthwise convolution kernels of
// package dwconv with avo. It lives in its own module so that the qgpu
// module does not depend on avo. Run it through go generate in the dwconv
// package:
//
//	go generate ./backends/cpu/internal/dwconv
//
// which runs
//
//	go run -C asmgen . -out ../dw_amd64.s -stubs ../stub_amd64.go -pkg dwconv
//
// Each kernel computes one zero-point-padded channel plane (see package
// dwconv): 16 output pixels of one output row per zmm (int32 lanes), a
// block of 8, 4 or 1 output rows at a time (the last block of 8 or 4 moved
// back over rows already done rather than leaving short blocks, so single
// rows, whose cells form one dependency chain, run only when OH < 4), the
// last vector of a row masked with opmask K1 (masked loads do not fault on masked-off lanes and
// masked stores leave the bytes after the row untouched). Per kernel cell
// the input bytes are widened to int32 lanes whose low 16-bit word holds
// the value and VPDPWSSD adds the product with the broadcast weight, whose
// high word is zero, so each lane gains exactly x * w.
package main

import (
	"fmt"
	"strings"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/buildtags"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Offsets of the fields of dwconv.args.
const (
	offSrc  = 0  // *byte: first input row of the plane
	offDst  = 8  // *byte: first output row (int32 or bytes)
	offOH   = 24 // output rows
	offOW   = 32 // output columns
	offKH   = 40
	offKW   = 48
	offRS   = 56 // input bytes between output rows (stride H * row length)
	offDHW  = 64 // input bytes between kernel rows (dilation H * row length)
	offDW   = 72 // input bytes between kernel columns (dilation W)
	offDS   = 80 // output bytes between output rows
	offInit = 88 // int32 accumulator start value
	offZP   = 92 // int32 output zero point
	offM    = 96 // float32 multiplier, then lo and hi
	offLo   = 100
	offHi   = 104
	offW    = 108 // [64]int32: KH*KW weights, high 16 bits zero
)

type variant struct {
	stride2 bool // input columns two bytes apart
	signed  bool // int8 input
	quant   bool // requantized byte output (else int32)
}

func (v variant) name() string {
	s := "dwS1"
	if v.stride2 {
		s = "dwS2"
	}
	if v.signed {
		s += "S8"
	} else {
		s += "U8"
	}
	if v.quant {
		return s + "QAVX512"
	}
	return s + "I32AVX512"
}

func bcast32(m Mem) reg.VecVirtual {
	r := GP32()
	MOVL(m, r)
	z := ZMM()
	VPBROADCASTD(r, z)
	return z
}

// plane holds what both kernel forms keep for a whole plane: the args
// pointer, a scratch register, the output row stride in input bytes (rs,
// 3*rs), and stack slots for the current block's first input and output
// rows, the rows left and the kernel-row counter.
type plane struct {
	a, t, rs, rs3                 reg.GPVirtual
	srcRow, dstRow, rowsLeft, khc Mem
}

// newPlane emits a kernel's prologue: TEXT, the doc comment, and the loads
// of the plane's start.
func newPlane(v variant, name, lanes string) *plane {
	TEXT(name, NOSPLIT, "func(a *byte)")
	Pragma("noescape")
	in, col, out := "uint8", "1", "int32 accumulators"
	if v.signed {
		in = "int8"
	}
	if v.stride2 {
		col = "2"
	}
	if v.quant {
		out = "requantized bytes"
	}
	Doc(fmt.Sprintf("%s computes one depthwise plane of %s input, input columns %s byte(s)", name, in, col),
		fmt.Sprintf("apart per output column, writing %s; a points to a dwconv.args%s.", out, lanes))
	p := &plane{a: GP64(), t: GP64(), rs: GP64(), rs3: GP64()}
	Load(Param("a"), p.a)
	p.srcRow, p.dstRow, p.rowsLeft, p.khc = AllocLocal(8), AllocLocal(8), AllocLocal(8), AllocLocal(8)
	for _, f := range []struct {
		off  int
		slot Mem
	}{{offSrc, p.srcRow}, {offDst, p.dstRow}, {offOH, p.rowsLeft}} {
		MOVQ(Mem{Base: p.a, Disp: f.off}, p.t)
		MOVQ(p.t, f.slot)
	}
	MOVQ(Mem{Base: p.a, Disp: offRS}, p.rs)
	LEAQ(Mem{Base: p.rs, Index: p.rs, Scale: 2}, p.rs3)
	return p
}

// rowBlocks emits the loop over blocks of 8, 4 and 1 output rows: block
// emits one block's columns from srcRow and dstRow, jumping to
// lbl("colsdone") when they are done. The last block of 8 or 4 moves back
// over rows already written (the same values are written again) rather
// than leaving short blocks, so single rows, whose cells form one
// dependency chain, run only when OH < 4. It ends the function.
func (p *plane) rowBlocks(block func(R int, lbl func(string) string)) {
	for _, R := range []int{8, 4, 1} {
		lbl := func(s string) string { return fmt.Sprintf("%s_r%d", s, R) }
		Label(lbl("rows"))
		CMPQ(p.rowsLeft, U8(R))
		JLT(LabelRef(lbl("rowsdone")))
		block(R, lbl)
		Label(lbl("colsdone"))
		// Next block of R rows.
		MOVQ(p.rs, p.t)
		IMUL3Q(U8(R), p.t, p.t)
		ADDQ(p.t, p.srcRow)
		MOVQ(Mem{Base: p.a, Disp: offDS}, p.t)
		IMUL3Q(U8(R), p.t, p.t)
		ADDQ(p.t, p.dstRow)
		SUBQ(U8(R), p.rowsLeft)
		JMP(LabelRef(lbl("rows")))
		Label(lbl("rowsdone"))
		if R > 1 {
			CMPQ(p.rowsLeft, U8(0))
			JEQ(LabelRef("done"))
			CMPQ(Mem{Base: p.a, Disp: offOH}, U8(R))
			JLT(LabelRef(lbl("nooverlap")))
			back, t2 := GP64(), GP64()
			MOVQ(U32(R), back)
			SUBQ(p.rowsLeft, back)
			MOVQ(back, t2)
			IMULQ(p.rs, t2)
			SUBQ(t2, p.srcRow)
			MOVQ(back, t2)
			IMULQ(Mem{Base: p.a, Disp: offDS}, t2)
			SUBQ(t2, p.dstRow)
			MOVQ(U32(R), p.rowsLeft)
			JMP(LabelRef(lbl("rows")))
			Label(lbl("nooverlap"))
		}
	}
	Label("done")
	VZEROUPPER()
	RET()
}

// cells emits the loops over the kernel cells of a block of R output rows
// whose first input is at colSrc: cell(wk, in) once per cell, wk pointing
// to the cell's weight and in(r) addressing row r's input for it.
func (p *plane) cells(R int, lbl func(string) string, colSrc reg.GPVirtual, cell func(wk reg.GPVirtual, in func(r int) Mem)) {
	pk, wk := GP64(), GP64()
	MOVQ(colSrc, pk)
	LEAQ(Mem{Base: p.a, Disp: offW}, wk)
	MOVQ(Mem{Base: p.a, Disp: offKH}, p.t)
	MOVQ(p.t, p.khc)
	Label(lbl("kh"))
	pc, kwc := GP64(), GP64()
	var pc4 reg.GPVirtual
	MOVQ(pk, pc)
	if R > 4 {
		pc4 = GP64()
		LEAQ(Mem{Base: pk, Index: p.rs, Scale: 4}, pc4)
	}
	MOVQ(Mem{Base: p.a, Disp: offKW}, kwc)
	Label(lbl("kw"))
	cell(wk, func(r int) Mem {
		base := pc
		if r >= 4 {
			base = pc4
		}
		switch r % 4 {
		case 1:
			return Mem{Base: base, Index: p.rs, Scale: 1}
		case 2:
			return Mem{Base: base, Index: p.rs, Scale: 2}
		case 3:
			return Mem{Base: base, Index: p.rs3, Scale: 1}
		}
		return Mem{Base: base}
	})
	ADDQ(Mem{Base: p.a, Disp: offDW}, pc)
	if R > 4 {
		ADDQ(Mem{Base: p.a, Disp: offDW}, pc4)
	}
	ADDQ(U8(4), wk)
	DECQ(kwc)
	JNZ(LabelRef(lbl("kw")))
	ADDQ(Mem{Base: p.a, Disp: offDHW}, pk)
	DECQ(p.khc)
	JNZ(LabelRef(lbl("kh")))
}

// kernel generates v's AVX-512 kernel: 16 output pixels of one output row
// per zmm, the last vector of a row masked with opmask K1 (masked loads do
// not fault on masked-off lanes and masked stores leave the bytes after
// the row untouched).
func kernel(v variant) {
	p := newPlane(v, v.name(), "")
	init := bcast32(Mem{Base: p.a, Disp: offInit})
	var mul, lo, hi, zp, low reg.VecVirtual
	if v.quant {
		mul, lo, hi = bcast32(Mem{Base: p.a, Disp: offM}), bcast32(Mem{Base: p.a, Disp: offLo}), bcast32(Mem{Base: p.a, Disp: offHi})
		zp = bcast32(Mem{Base: p.a, Disp: offZP})
	}
	if v.stride2 && !v.signed {
		r := GP32()
		MOVL(U32(0xff), r)
		low = ZMM()
		VPBROADCASTD(r, low)
	}
	elt := 4
	if v.quant {
		elt = 1
	}
	step := 16 // input bytes per vector of output columns
	if v.stride2 {
		step = 32
	}
	p.rowBlocks(func(R int, lbl func(string) string) {
		colSrc, colDst, n := GP64(), GP64(), GP64()
		MOVQ(p.srcRow, colSrc)
		MOVQ(p.dstRow, colDst)
		MOVQ(Mem{Base: p.a, Disp: offOW}, n)

		Label(lbl("cols"))
		TESTQ(n, n)
		JLE(LabelRef(lbl("colsdone")))
		// K1 = the low min(n, 16) bits.
		{
			c, m := GP64(), GP64()
			MOVQ(U32(16), c)
			CMPQ(n, c)
			CMOVQLT(n, c)
			MOVQ(U32(1), m)
			SHLXQ(c, m, m)
			DECQ(m)
			KMOVW(m.As32(), reg.K1)
		}
		accs := make([]reg.VecVirtual, R)
		for r := range accs {
			accs[r] = ZMM()
			VMOVDQA32(init, accs[r])
		}
		p.cells(R, lbl, colSrc, func(wk reg.GPVirtual, in func(r int) Mem) {
			for r := range R {
				x := ZMM()
				switch {
				case !v.stride2 && v.signed:
					VPMOVSXBD_Z(in(r), reg.K1, x)
				case !v.stride2:
					VPMOVZXBD_Z(in(r), reg.K1, x)
				default:
					// Word lanes (b0, b1): keep b0, zero- or sign-extended.
					VPMOVZXWD_Z(in(r), reg.K1, x)
					if v.signed {
						VPSLLD(U8(24), x, x)
						VPSRAD(U8(24), x, x)
					} else {
						VPANDD(low, x, x)
					}
				}
				VPDPWSSD_BCST(Mem{Base: wk}, x, accs[r])
			}
		})

		// Epilogue: row r of the block goes to colDst + r*ds.
		d := GP64()
		MOVQ(colDst, d)
		for r, acc := range accs {
			if v.quant {
				VCVTDQ2PS(acc, acc)
				VMULPS(mul, acc, acc)
				VMAXPS(lo, acc, acc)
				VMINPS(hi, acc, acc)
				VCVTPS2DQ_RN_SAE(acc, acc)
				VPADDD(zp, acc, acc)
				VPMOVDB(acc, reg.K1, Mem{Base: d})
			} else {
				VMOVDQU32(acc, reg.K1, Mem{Base: d})
			}
			if r < R-1 {
				ADDQ(Mem{Base: p.a, Disp: offDS}, d)
			}
		}
		ADDQ(U32(step), colSrc)
		ADDQ(U32(16*elt), colDst)
		SUBQ(U8(16), n)
		JMP(LabelRef(lbl("cols")))
	})
}

// kernelAVX2 generates the AVX2 form of v's kernel (name ending AVX2): 8
// output pixels of one output row per ymm. Without opmasks the last vector
// of a row is moved back to end at the row's last pixel, overlapping the
// previous one (the same values are written again), so rows need OW >= 8.
// Without VPDPWSSD each cell is VPMADDWD of the widened input with the
// broadcast weight (high words zero, so each lane is exactly x * w) and a
// VPADDD.
func kernelAVX2(v variant) {
	p := newPlane(v, strings.TrimSuffix(v.name(), "AVX512")+"AVX2", ", OW >= 8")
	elt := 4
	if v.quant {
		elt = 1
	}
	p.rowBlocks(func(R int, lbl func(string) string) {
		colSrc, colDst, n := GP64(), GP64(), GP64()
		MOVQ(p.srcRow, colSrc)
		MOVQ(p.dstRow, colDst)
		MOVQ(Mem{Base: p.a, Disp: offOW}, n) // columns from colDst to the row's end

		Label(lbl("cols"))
		accs := make([]reg.VecVirtual, R)
		for r := range accs {
			accs[r] = YMM()
			VPBROADCASTD(Mem{Base: p.a, Disp: offInit}, accs[r])
		}
		p.cells(R, lbl, colSrc, func(wk reg.GPVirtual, in func(r int) Mem) {
			w := YMM()
			VPBROADCASTD(Mem{Base: wk}, w)
			for r := range R {
				x := YMM()
				switch {
				case !v.stride2 && v.signed:
					VPMOVSXBD(in(r), x)
				case !v.stride2:
					VPMOVZXBD(in(r), x)
				default:
					// Word lanes (b0, b1): keep b0, zero- or sign-extended.
					VPMOVZXWD(in(r), x)
					VPSLLD(U8(24), x, x)
					if v.signed {
						VPSRAD(U8(24), x, x)
					} else {
						VPSRLD(U8(24), x, x)
					}
				}
				VPMADDWD(w, x, x)
				VPADDD(x, accs[r], accs[r])
			}
		})

		// Epilogue: row r of the block goes to colDst + r*ds.
		var mul, lo, hi, zp, shuf, perm reg.VecVirtual
		if v.quant {
			mul, lo, hi, zp = YMM(), YMM(), YMM(), YMM()
			VBROADCASTSS(Mem{Base: p.a, Disp: offM}, mul)
			VBROADCASTSS(Mem{Base: p.a, Disp: offLo}, lo)
			VBROADCASTSS(Mem{Base: p.a, Disp: offHi}, hi)
			VPBROADCASTD(Mem{Base: p.a, Disp: offZP}, zp)
			shuf, perm = lowBytes()
		}
		d := GP64()
		MOVQ(colDst, d)
		for r, acc := range accs {
			if v.quant {
				// vec's AVX2 requantize sequence; VCVTPS2DQ rounds half to
				// even under the Go runtime's MXCSR.
				VCVTDQ2PS(acc, acc)
				VMULPS(mul, acc, acc)
				VMAXPS(lo, acc, acc)
				VMINPS(hi, acc, acc)
				VCVTPS2DQ(acc, acc)
				VPADDD(zp, acc, acc)
				VPSHUFB(shuf, acc, acc)
				VPERMD(acc, perm, acc)
				VMOVQ(acc.AsX(), Mem{Base: d})
			} else {
				VMOVDQU(acc, Mem{Base: d})
			}
			if r < R-1 {
				ADDQ(Mem{Base: p.a, Disp: offDS}, d)
			}
		}
		// Next vector: 8 columns on, or back to end at the row's last
		// column when fewer than 8 are left.
		SUBQ(U8(8), n)
		JLE(LabelRef(lbl("colsdone")))
		adv := GP64()
		MOVQ(U32(8), adv)
		CMPQ(n, adv)
		CMOVQLT(n, adv)
		ADDQ(U8(8), n)
		SUBQ(adv, n)
		if v.stride2 {
			LEAQ(Mem{Base: colSrc, Index: adv, Scale: 2}, colSrc)
		} else {
			ADDQ(adv, colSrc)
		}
		if elt == 1 {
			ADDQ(adv, colDst)
		} else {
			LEAQ(Mem{Base: colDst, Index: adv, Scale: 4}, colDst)
		}
		JMP(LabelRef(lbl("cols")))
	})
}

// Offsets of the fields of dwconv.nhwcArgs.
const (
	nSrc    = 0   // *byte: the padded NHWC input
	nDst    = 8   // *int32: the NHWC accumulators
	nW      = 16  // *int32: [cell][Cp] weights, high 16 bits zero
	nInit   = 24  // *int32: [Cp] accumulator start values
	nOH     = 32  // output rows
	nOW     = 40  // output columns
	nKH     = 48  // kernel rows
	nKW     = 56  // kernel columns
	nC      = 64  // channels
	nRow    = 72  // input bytes between output rows (SH*Wp*C)
	nCol    = 80  // input bytes between output columns (SW*C)
	nDH     = 88  // input bytes between kernel rows (DH*Wp*C)
	nDW     = 96  // input bytes between kernel columns (DW*C)
	nWCell  = 104 // weight bytes between cells (4*Cp)
	nKHLeft = 112 // scratch: kernel rows left
	nMult   = 120 // *float32: [Cp] multipliers (requantizing kernels)
	nLo     = 128 // float32: qmin - zp
	nHi     = 132 // float32: qmax - zp
	nZP     = 136 // int32: the output zero point
	nDRow   = 144 // output bytes between output rows
)

// nhwcKernel generates dwNHWC{U8,S8}AVX512: a depthwise convolution of all
// channels of an image staged as padded NHWC, for planes too small for the
// plane kernels: for each output pixel, 16 channels per zmm (four zmm at a
// time while 64 channels are left, then one, the last masked), each
// kernel cell VPMOVZXBD (VPMOVSXBD) of 16 input bytes and VPDPWSSD with the
// cell's 16 weights (high words zero, so each lane gains exactly x * w),
// from the channels' start values; the int32 accumulators are stored NHWC,
// or with quant requantized in registers (the plane kernels' sequence, one
// multiplier per channel) and stored as bytes, NHWC, output rows nDRow
// bytes apart.
func nhwcKernel(signed, quant bool) {
	name := "dwNHWCU8"
	if signed {
		name = "dwNHWCS8"
	}
	if quant {
		name += "Q"
	}
	name += "AVX512"
	TEXT(name, NOSPLIT, "func(a *byte)")
	Pragma("noescape")
	in := "uint8"
	if signed {
		in = "int8"
	}
	what := "int32 accumulators"
	if quant {
		what = "requantized bytes"
	}
	Doc(name+" computes a depthwise convolution of all channels of one padded NHWC",
		"image of "+in+", writing "+what+" NHWC; a points to a dwconv.nhwcArgs.")
	a := Load(Param("a"), GP64())
	var lo, hi, zp reg.VecVirtual
	if quant {
		lo, hi, zp = bcast32(Mem{Base: a, Disp: nLo}), bcast32(Mem{Base: a, Disp: nHi}), bcast32(Mem{Base: a, Disp: nZP})
	}
	outp := GP64()
	MOVQ(Mem{Base: a, Disp: nDst}, outp)
	rowp := GP64()
	MOVQ(Mem{Base: a, Disp: nSrc}, rowp)
	ohLeft := GP64()
	MOVQ(Mem{Base: a, Disp: nOH}, ohLeft)
	widen := func(m Mem, k reg.OpmaskPhysical, x reg.VecVirtual) {
		switch {
		case signed && k == nil:
			VPMOVSXBD(m, x)
		case signed:
			VPMOVSXBD_Z(m, k, x)
		case k == nil:
			VPMOVZXBD(m, x)
		default:
			VPMOVZXBD_Z(m, k, x)
		}
	}
	outRow := GP64() // the current output row's start
	MOVQ(outp, outRow)
	Label("rows")
	pix := GP64()
	MOVQ(rowp, pix)
	owLeft := GP64()
	MOVQ(Mem{Base: a, Disp: nOW}, owLeft)
	Label("cols")
	c0 := GP64() // channel offset
	XORQ(c0, c0)
	// cells emits the kernel-cell loops for nv vectors of channels from
	// c0 (mask k for the single-vector tail): body(in, wk) per cell.
	cells := func(lbl string, nv int, k reg.OpmaskPhysical) {
		accs := make([]reg.VecVirtual, nv)
		init := GP64()
		MOVQ(Mem{Base: a, Disp: nInit}, init)
		for v := range accs {
			accs[v] = ZMM()
			VMOVDQU32(Mem{Base: init, Index: c0, Scale: 4, Disp: 64 * v}, accs[v])
		}
		wk, ph := GP64(), GP64()
		MOVQ(Mem{Base: a, Disp: nW}, wk)
		LEAQ(Mem{Base: wk, Index: c0, Scale: 4}, wk)
		LEAQ(Mem{Base: pix, Index: c0, Scale: 1}, ph)
		t := GP64()
		MOVQ(Mem{Base: a, Disp: nKH}, t)
		MOVQ(t, Mem{Base: a, Disp: nKHLeft})
		Label(lbl + "_kh")
		pc, kwc := GP64(), GP64()
		MOVQ(ph, pc)
		MOVQ(Mem{Base: a, Disp: nKW}, kwc)
		Label(lbl + "_kw")
		for v := range accs {
			x := ZMM()
			widen(Mem{Base: pc, Disp: 16 * v}, k, x)
			VPDPWSSD(Mem{Base: wk, Disp: 64 * v}, x, accs[v])
		}
		ADDQ(Mem{Base: a, Disp: nWCell}, wk)
		ADDQ(Mem{Base: a, Disp: nDW}, pc)
		DECQ(kwc)
		JNZ(LabelRef(lbl + "_kw"))
		ADDQ(Mem{Base: a, Disp: nDH}, ph)
		DECQ(Mem{Base: a, Disp: nKHLeft})
		JNZ(LabelRef(lbl + "_kh"))
		var mul reg.GPVirtual
		if quant {
			mul = GP64()
			MOVQ(Mem{Base: a, Disp: nMult}, mul)
		}
		for v, acc := range accs {
			if quant {
				VCVTDQ2PS(acc, acc)
				VMULPS(Mem{Base: mul, Index: c0, Scale: 4, Disp: 64 * v}, acc, acc)
				VMAXPS(lo, acc, acc)
				VMINPS(hi, acc, acc)
				VCVTPS2DQ_RN_SAE(acc, acc)
				VPADDD(zp, acc, acc)
				d := Mem{Base: outp, Index: c0, Scale: 1, Disp: 16 * v}
				if k == nil {
					VPMOVDB(acc, d)
				} else {
					VPMOVDB(acc, k, d)
				}
				continue
			}
			d := Mem{Base: outp, Index: c0, Scale: 4, Disp: 64 * v}
			if k == nil {
				VMOVDQU32(acc, d)
			} else {
				VMOVDQU32(acc, k, d)
			}
		}
	}
	left := GP64() // channels left from c0
	Label("ch64")
	MOVQ(Mem{Base: a, Disp: nC}, left)
	SUBQ(c0, left)
	CMPQ(left, U8(64))
	JLT(LabelRef("ch16"))
	cells("v4", 4, nil)
	ADDQ(U8(64), c0)
	JMP(LabelRef("ch64"))
	Label("ch16")
	MOVQ(Mem{Base: a, Disp: nC}, left)
	SUBQ(c0, left)
	JLE(LabelRef("pixdone"))
	{
		// K1 = the low min(left, 16) bits.
		c, m := GP64(), GP64()
		MOVQ(U32(16), c)
		CMPQ(left, c)
		CMOVQLT(left, c)
		MOVQ(U32(1), m)
		SHLXQ(c, m, m)
		DECQ(m)
		KMOVW(m.As32(), reg.K1)
	}
	cells("v1", 1, reg.K1)
	ADDQ(U8(16), c0)
	JMP(LabelRef("ch16"))
	Label("pixdone")
	// Next output pixel.
	MOVQ(Mem{Base: a, Disp: nC}, left)
	if quant {
		ADDQ(left, outp)
	} else {
		LEAQ(Mem{Base: outp, Index: left, Scale: 4}, outp)
	}
	ADDQ(Mem{Base: a, Disp: nCol}, pix)
	DECQ(owLeft)
	JNZ(LabelRef("cols"))
	ADDQ(Mem{Base: a, Disp: nDRow}, outRow)
	MOVQ(outRow, outp)
	ADDQ(Mem{Base: a, Disp: nRow}, rowp)
	DECQ(ohLeft)
	JNZ(LabelRef("rows"))
	VZEROUPPER()
	RET()
}

// nhwc3x3Kernel generates dwNHWC3x3{U8,S8}{Q,}AVX512: nhwcKernel for a
// 3x3 kernel with the nine cells' weights of a 16-channel vector held in
// registers and four output pixels per step (every cell's weight vector
// serves four VPDPWSSD), the channel vectors outermost within an output
// row, then the row's pixels; the last vector masked, one pixel at a time
// at the row's end. Same arguments and results as nhwcKernel.
func nhwc3x3Kernel(signed, quant bool) {
	name := "dwNHWC3x3U8"
	if signed {
		name = "dwNHWC3x3S8"
	}
	if quant {
		name += "Q"
	}
	name += "AVX512"
	TEXT(name, NOSPLIT, "func(a *byte)")
	Pragma("noescape")
	Doc(name+" is the 3x3 form of the dwNHWC kernels (same arguments, KH = KW = 3): weights in",
		"registers, four output pixels per step; a points to a dwconv.nhwcArgs.")
	a := Load(Param("a"), GP64())
	esz := 4
	if quant {
		esz = 1
	}
	var lo, hi, zp reg.VecVirtual
	if quant {
		lo, hi, zp = bcast32(Mem{Base: a, Disp: nLo}), bcast32(Mem{Base: a, Disp: nHi}), bcast32(Mem{Base: a, Disp: nZP})
	}
	widen := func(m Mem, x reg.VecVirtual) {
		if signed {
			VPMOVSXBD_Z(m, reg.K1, x)
		} else {
			VPMOVZXBD_Z(m, reg.K1, x)
		}
	}
	col, col3 := GP64(), GP64()
	MOVQ(Mem{Base: a, Disp: nCol}, col)
	LEAQ(Mem{Base: col, Index: col, Scale: 2}, col3)
	rowp, outRow := GP64(), GP64()
	MOVQ(Mem{Base: a, Disp: nSrc}, rowp)
	MOVQ(Mem{Base: a, Disp: nDst}, outRow)
	{
		r := GP64()
		MOVQ(Mem{Base: a, Disp: nOH}, r)
		MOVQ(r, Mem{Base: a, Disp: nKHLeft}) // rows left
	}
	Label("rows")
	c0 := GP64()
	XORQ(c0, c0)
	Label("vec")
	{
		// K1 = the low min(C - c0, 16) bits.
		left, c, m := GP64(), GP64(), GP64()
		MOVQ(Mem{Base: a, Disp: nC}, left)
		SUBQ(c0, left)
		JLE(LabelRef("rowdone"))
		MOVQ(U32(16), c)
		CMPQ(left, c)
		CMOVQLT(left, c)
		MOVQ(U32(1), m)
		SHLXQ(c, m, m)
		DECQ(m)
		KMOVW(m.As32(), reg.K1)
	}
	// The vector's weights, start values and multipliers.
	var w [9]reg.VecVirtual
	wk := GP64()
	MOVQ(Mem{Base: a, Disp: nW}, wk)
	LEAQ(Mem{Base: wk, Index: c0, Scale: 4}, wk)
	for i := range w {
		w[i] = ZMM()
		VMOVDQU32(Mem{Base: wk}, w[i])
		if i < 8 {
			ADDQ(Mem{Base: a, Disp: nWCell}, wk)
		}
	}
	init := ZMM()
	ip := GP64()
	MOVQ(Mem{Base: a, Disp: nInit}, ip)
	VMOVDQU32(Mem{Base: ip, Index: c0, Scale: 4}, init)
	var mul reg.VecVirtual
	if quant {
		mul = ZMM()
		mp := GP64()
		MOVQ(Mem{Base: a, Disp: nMult}, mp)
		VMOVUPS(Mem{Base: mp, Index: c0, Scale: 4}, mul)
	}
	pix, out := GP64(), GP64()
	LEAQ(Mem{Base: rowp, Index: c0, Scale: 1}, pix)
	LEAQ(Mem{Base: outRow, Index: c0, Scale: uint8(esz)}, out)
	owLeft := GP64()
	MOVQ(Mem{Base: a, Disp: nOW}, owLeft)
	// pixels emits one step of np output pixels (np = 4 or 1).
	pixels := func(np int) {
		accs := make([]reg.VecVirtual, np)
		for p := range accs {
			accs[p] = ZMM()
			VMOVDQA32(init, accs[p])
		}
		t := GP64()
		MOVQ(pix, t)
		for kh := range 3 {
			u := GP64()
			MOVQ(t, u)
			for kw := range 3 {
				for p := range np {
					m := Mem{Base: u}
					switch p {
					case 1:
						m = Mem{Base: u, Index: col, Scale: 1}
					case 2:
						m = Mem{Base: u, Index: col, Scale: 2}
					case 3:
						m = Mem{Base: u, Index: col3, Scale: 1}
					}
					x := ZMM()
					widen(m, x)
					VPDPWSSD(w[kh*3+kw], x, accs[p])
				}
				if kw < 2 {
					ADDQ(Mem{Base: a, Disp: nDW}, u)
				}
			}
			if kh < 2 {
				ADDQ(Mem{Base: a, Disp: nDH}, t)
			}
		}
		// Store the pixels, C elements apart.
		c := GP64()
		MOVQ(Mem{Base: a, Disp: nC}, c)
		if !quant {
			SHLQ(U8(2), c)
		}
		d := GP64()
		MOVQ(out, d)
		for p, acc := range accs {
			if quant {
				VCVTDQ2PS(acc, acc)
				VMULPS(mul, acc, acc)
				VMAXPS(lo, acc, acc)
				VMINPS(hi, acc, acc)
				VCVTPS2DQ_RN_SAE(acc, acc)
				VPADDD(zp, acc, acc)
				VPMOVDB(acc, reg.K1, Mem{Base: d})
			} else {
				VMOVDQU32(acc, reg.K1, Mem{Base: d})
			}
			if p < np-1 {
				ADDQ(c, d)
			}
		}
		ADDQ(c, d)
		MOVQ(d, out)
		if np == 4 {
			LEAQ(Mem{Base: pix, Index: col, Scale: 4}, pix)
		} else {
			ADDQ(col, pix)
		}
	}
	Label("four")
	CMPQ(owLeft, U8(4))
	JLT(LabelRef("one"))
	pixels(4)
	SUBQ(U8(4), owLeft)
	JMP(LabelRef("four"))
	Label("one")
	TESTQ(owLeft, owLeft)
	JZ(LabelRef("vecdone"))
	pixels(1)
	DECQ(owLeft)
	JMP(LabelRef("one"))
	Label("vecdone")
	ADDQ(U8(16), c0)
	JMP(LabelRef("vec"))
	Label("rowdone")
	ADDQ(Mem{Base: a, Disp: nDRow}, outRow)
	ADDQ(Mem{Base: a, Disp: nRow}, rowp)
	DECQ(Mem{Base: a, Disp: nKHLeft})
	JNZ(LabelRef("rows"))
	VZEROUPPER()
	RET()
}

var lowBytesShuf, lowBytesPerm *Mem

// lowBytes loads the constants that gather the low byte of each of a
// ymm's eight dwords into its low 8 bytes: a VPSHUFB control taking bytes
// 0, 4, 8, 12 of each lane to the lane's first dword, and a VPERMD index
// joining the two lanes' first dwords (the data is emitted once).
func lowBytes() (shuf, perm reg.VecVirtual) {
	if lowBytesShuf == nil {
		sh := GLOBL("dw_lowbytes_shuf", RODATA|NOPTR)
		for lane := 0; lane < 2; lane++ {
			for i := 0; i < 16; i++ {
				b := byte(0x80)
				if i < 4 {
					b = byte(4 * i)
				}
				DATA(16*lane+i, U8(b))
			}
		}
		pm := GLOBL("dw_lowbytes_perm", RODATA|NOPTR)
		for i, v := range []uint32{0, 4, 0, 0, 0, 0, 0, 0} {
			DATA(4*i, U32(v))
		}
		lowBytesShuf, lowBytesPerm = &sh, &pm
	}
	shuf, perm = YMM(), YMM()
	VMOVDQU(*lowBytesShuf, shuf)
	VMOVDQU(*lowBytesPerm, perm)
	return shuf, perm
}

func main() {
	Constraint(buildtags.Term("amd64"))
	Constraint(buildtags.Not("purego"))
	for _, s2 := range []bool{false, true} {
		for _, sg := range []bool{false, true} {
			for _, q := range []bool{false, true} {
				kernel(variant{stride2: s2, signed: sg, quant: q})
				kernelAVX2(variant{stride2: s2, signed: sg, quant: q})
			}
		}
	}
	for _, q := range []bool{false, true} {
		nhwcKernel(false, q)
		nhwcKernel(true, q)
	}
	for _, q := range []bool{false, true} {
		nhwc3x3Kernel(false, q)
		nhwc3x3Kernel(true, q)
	}
	Generate()
}
