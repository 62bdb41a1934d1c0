// Command asmgen generates the AVX-512 and AVX2 kernels of package nbits
// (MatMulNBits with 4-bit weights) with avo. It lives in its own module so
// that the qgpu module does not depend on avo. Run it through go generate
// in the nbits package:
//
//	go generate ./backends/cpu/internal/nbits
//
// which runs
//
//	go run -C asmgen . -out ../nbits_amd64.s -stubs ../stub_amd64.go -pkg nbits
//
// Every kernel computes one group of output columns (16 with AVX-512, 8
// with AVX2), one SIMD lane per column, for R rows of activations: the
// lanes run the order docs/semantics.md fixes for each output on its own.
// The weights of the group's rows are read 16 bytes (32 values) per row at
// a time and transposed in registers so that vector d holds dword d (8
// values) of every row; value t of a dword is then (x >> 4t) & 15.
package main

import (
	"flag"
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/buildtags"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func zmm(i int) reg.VecPhysical {
	return []reg.VecPhysical{
		reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7,
		reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15,
		reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23,
		reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31,
	}[i]
}

func ymm(i int) reg.VecPhysical {
	return []reg.VecPhysical{
		reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7,
		reg.Y8, reg.Y9, reg.Y10, reg.Y11, reg.Y12, reg.Y13, reg.Y14, reg.Y15,
	}[i]
}

func xmm(i int) reg.VecPhysical {
	return []reg.VecPhysical{
		reg.X0, reg.X1, reg.X2, reg.X3, reg.X4, reg.X5, reg.X6, reg.X7,
		reg.X8, reg.X9, reg.X10, reg.X11, reg.X12, reg.X13, reg.X14, reg.X15,
	}[i]
}

// Ternary logic (VPTERNLOGD) with operands (dst, b, c): dst = (dst & b) ^ c.
const andXor = 0x6A

// General-purpose registers (AX..R13; R14 and R15 are left alone).
var (
	rA   = reg.RAX // activations
	rQ0  = reg.RBX // weight rows 0-3 (and 4-7, 8-11, 12-15 from rQ1..rQ3)
	rQ1  = reg.RCX
	rQ2  = reg.RDX
	rQ3  = reg.RSI
	rLd  = reg.RDI // bytes per weight row
	rLd3 = reg.R8  // 3 * rLd
	rS   = reg.R9  // scales of the current block (column 0)
	rZ   = reg.R10 // zero points of the current block (column 0), 0: uniform
	rK   = reg.R11 // values of K left
	rBS  = reg.R12 // block size
	rKB  = reg.R13 // values left in the current block
)

// loadRows16 loads 16 bytes of each of 16 weight rows and transposes them:
// zmm(d), d < 4, gets dword d of rows 0..15 in lane order. Uses Z4-Z7 and
// Z28-Z31.
func loadRows16() {
	qs := []reg.Register{rQ0, rQ1, rQ2, rQ3}
	for g := 0; g < 4; g++ { // rows g, g+4, g+8, g+12
		var m func(q reg.Register) Mem
		switch g {
		case 0:
			m = func(q reg.Register) Mem { return Mem{Base: q} }
		case 1:
			m = func(q reg.Register) Mem { return Mem{Base: q, Index: rLd, Scale: 1} }
		case 2:
			m = func(q reg.Register) Mem { return Mem{Base: q, Index: rLd, Scale: 2} }
		case 3:
			m = func(q reg.Register) Mem { return Mem{Base: q, Index: rLd3, Scale: 1} }
		}
		z := zmm(4 + g)
		VMOVDQU(m(qs[0]), xmm(4+g))
		for l := 1; l < 4; l++ {
			VINSERTI32X4(U8(l), m(qs[l]), z, z)
		}
	}
	VPUNPCKLDQ(zmm(5), zmm(4), zmm(28))
	VPUNPCKHDQ(zmm(5), zmm(4), zmm(29))
	VPUNPCKLDQ(zmm(7), zmm(6), zmm(30))
	VPUNPCKHDQ(zmm(7), zmm(6), zmm(31))
	VPUNPCKLQDQ(zmm(30), zmm(28), zmm(0))
	VPUNPCKHQDQ(zmm(30), zmm(28), zmm(1))
	VPUNPCKLQDQ(zmm(31), zmm(29), zmm(2))
	VPUNPCKHQDQ(zmm(31), zmm(29), zmm(3))
	for _, q := range qs {
		ADDQ(U8(16), q)
	}
}

// loadRows8 is loadRows16 for 8 rows (AVX2): ymm(d) gets dword d of rows
// 0..7. Uses Y4-Y7 as scratch.
func loadRows8() {
	for g := 0; g < 4; g++ {
		var m func(q reg.Register) Mem
		switch g {
		case 0:
			m = func(q reg.Register) Mem { return Mem{Base: q} }
		case 1:
			m = func(q reg.Register) Mem { return Mem{Base: q, Index: rLd, Scale: 1} }
		case 2:
			m = func(q reg.Register) Mem { return Mem{Base: q, Index: rLd, Scale: 2} }
		case 3:
			m = func(q reg.Register) Mem { return Mem{Base: q, Index: rLd3, Scale: 1} }
		}
		VMOVDQU(m(rQ0), xmm(g))
		VINSERTI128(U8(1), m(rQ1), ymm(g), ymm(g))
	}
	VPUNPCKLDQ(ymm(1), ymm(0), ymm(4))
	VPUNPCKHDQ(ymm(1), ymm(0), ymm(5))
	VPUNPCKLDQ(ymm(3), ymm(2), ymm(6))
	VPUNPCKHDQ(ymm(3), ymm(2), ymm(7))
	VPUNPCKLQDQ(ymm(6), ymm(4), ymm(0))
	VPUNPCKHQDQ(ymm(6), ymm(4), ymm(1))
	VPUNPCKLQDQ(ymm(7), ymm(5), ymm(2))
	VPUNPCKHQDQ(ymm(7), ymm(5), ymm(3))
	ADDQ(U8(16), rQ0)
	ADDQ(U8(16), rQ1)
}

// weightPointers sets up rQ0..rQn, rLd and rLd3 from the parameters w and
// ldw: rQi = w + 4*i*ldw.
func weightPointers(groups int) {
	Load(Param("w"), rQ0)
	Load(Param("ldw"), rLd)
	LEAQ(Mem{Base: rLd, Index: rLd, Scale: 2}, rLd3)
	var prev reg.Register = rQ0
	for _, q := range []reg.Register{rQ1, rQ2, rQ3}[:groups-1] {
		LEAQ(Mem{Base: prev, Index: rLd, Scale: 4}, q)
		prev = q
	}
}

// bcast32 broadcasts a 32-bit constant into v.
func bcast32(c uint32, v reg.VecPhysical, tmp reg.Register) {
	MOVL(U32(c), tmp.(reg.GPPhysical).As32())
	VPBROADCASTD(tmp.(reg.GPPhysical).As32(), v)
}

func bcastParam32(name string, v reg.VecPhysical, tmp reg.Register) {
	Load(Param(name), tmp.(reg.GPPhysical).As32())
	VPBROADCASTD(tmp.(reg.GPPhysical).As32(), v)
}

// --- float activations ---

// Registers of the AVX-512 float kernel.
const (
	fM     = 8  // 15 in every lane
	fC     = 9  // 0x4B000000 (| 8 for int4): (x & 15) ^ C is the float 2^23 + q (+ 8)
	fZP    = 10 // the float 2^23 + zp (+ 8) per lane
	fScale = 11
	fNZ    = 12 // -0.0
	fIdx   = 13 // gather indices j * blocks
	fV     = 14 // the weights of one k, as floats q - zp
	fS     = 16 // s_r: Z16 + r
	fY     = 20 // y_r: Z20 + r
	fP     = 24 // products: Z24 + r
	fBias  = 15 // 0x4B000000 (+ 8) to add to gathered zero points
)

// floatStep512 handles value t of dword vector src for every row: the
// weights' floats q - zp, then s_r = s_r + float32(a_r * w) with a_r at
// disp(rA) + 4r.
func floatStep512(src reg.VecPhysical, t, rows int, disp int) {
	v := zmm(fV)
	if t == 0 {
		VMOVDQA32(src, v)
	} else {
		VPSRLD(U8(4*t), src, v)
	}
	VPTERNLOGD(U8(andXor), zmm(fC), zmm(fM), v)
	VSUBPS(zmm(fZP), v, v)
	for r := 0; r < rows; r++ {
		VMULPS_BCST(Mem{Base: rA, Disp: disp + 4*r}, v, zmm(fP+r))
		VADDPS(zmm(fP+r), zmm(fS+r), zmm(fS+r))
	}
}

func floatAVX512(rows int) {
	name := fmt.Sprintf("floatR%dAVX512", rows)
	TEXT(name, NOSPLIT, "func(y *float32, a *float32, w *byte, ldw int, scales *float32, sidx *int32, zp *int32, zpc uint32, zpbias uint32, c uint32, k int, bs int)")
	Doc(fmt.Sprintf("%s computes 16 output columns of MatMulNBits' float mode for %d rows (see the package documentation): y[r*16+j] = sum over blocks, from -0, of float32(scale * s), s the block's sum from -0 of float32(a[k*%d+r] * float32(q - zp)) for k ascending.", name, rows, rows),
		"w points at row 0 of the group (ldw bytes per row, whole 16-byte chunks per block), scales and zp at block 0 of column 0 (sidx[j] = j * blocks);",
		"zp nil: every zero point is the float with bits zpc, else zp[...] + zpbias; c is 0x4B000000 (uint4) or 0x4B000008 (int4); bs is a multiple of 32.")
	Load(Param("a"), rA)
	weightPointers(4)
	Load(Param("scales"), rS)
	Load(Param("zp"), rZ)
	Load(Param("k"), rK)
	Load(Param("bs"), rBS)
	bcast32(15, zmm(fM), rKB)
	bcastParam32("c", zmm(fC), rKB)
	bcastParam32("zpc", zmm(fZP), rKB)
	bcastParam32("zpbias", zmm(fBias), rKB)
	bcast32(0x80000000, zmm(fNZ), rKB)
	Load(Param("sidx"), rKB)
	VMOVDQU32(Mem{Base: rKB}, zmm(fIdx))
	for r := 0; r < rows; r++ {
		VMOVDQA32(zmm(fNZ), zmm(fY+r))
	}
	stride := 4 * rows // bytes of activations per k

	Label(name + "_block")
	KXNORW(reg.K1, reg.K1, reg.K1)
	VGATHERDPS(Mem{Base: rS, Index: zmm(fIdx), Scale: 4}, reg.K1, zmm(fScale))
	ADDQ(U8(4), rS)
	TESTQ(rZ, rZ)
	JZ(LabelRef(name + "_zpdone"))
	KXNORW(reg.K2, reg.K2, reg.K2)
	VPGATHERDD(Mem{Base: rZ, Index: zmm(fIdx), Scale: 4}, reg.K2, zmm(fZP))
	VPADDD(zmm(fBias), zmm(fZP), zmm(fZP))
	ADDQ(U8(4), rZ)
	Label(name + "_zpdone")
	for r := 0; r < rows; r++ {
		VMOVDQA32(zmm(fNZ), zmm(fS+r))
	}
	// rKB = min(bs, k left); k left -= rKB.
	MOVQ(rBS, rKB)
	CMPQ(rK, rKB)
	CMOVQLT(rK, rKB)
	SUBQ(rKB, rK)

	Label(name + "_chunk")
	loadRows16()
	CMPQ(rKB, U8(32))
	JLT(LabelRef(name + "_partial"))
	for d := 0; d < 4; d++ {
		for t := 0; t < 8; t++ {
			floatStep512(zmm(d), t, rows, stride*(8*d+t))
		}
	}
	ADDQ(U32(32*stride), rA)
	SUBQ(U8(32), rKB)
	JNZ(LabelRef(name + "_chunk"))
	JMP(LabelRef(name + "_blockend"))

	// A last block ending inside this chunk: whole dwords, then the
	// values of the last one, one at a time.
	Label(name + "_partial")
	for d := 0; d < 4; d++ {
		tail := fmt.Sprintf("%s_tail%d", name, d)
		CMPQ(rKB, U8(8))
		JLT(LabelRef(tail))
		for t := 0; t < 8; t++ {
			floatStep512(zmm(d), t, rows, stride*t)
		}
		ADDQ(U32(8*stride), rA)
		SUBQ(U8(8), rKB)
		JZ(LabelRef(name + "_blockend"))
		continue
	}
	JMP(LabelRef(name + "_blockend")) // not reached: fewer than 32 values
	for d := 0; d < 4; d++ {
		tail := fmt.Sprintf("%s_tail%d", name, d)
		Label(tail)
		VMOVDQA32(zmm(d), zmm(4)) // the dword, shifted by 4 per value
		Label(tail + "_loop")
		floatStep512(zmm(4), 0, rows, 0)
		VPSRLD(U8(4), zmm(4), zmm(4))
		ADDQ(U8(stride), rA)
		DECQ(rKB)
		JNZ(LabelRef(tail + "_loop"))
		JMP(LabelRef(name + "_blockend"))
	}

	Label(name + "_blockend")
	for r := 0; r < rows; r++ {
		VMULPS(zmm(fScale), zmm(fS+r), zmm(fP+r))
		VADDPS(zmm(fP+r), zmm(fY+r), zmm(fY+r))
	}
	TESTQ(rK, rK)
	JG(LabelRef(name + "_block"))
	Load(Param("y"), rA)
	for r := 0; r < rows; r++ {
		VMOVUPS(zmm(fY+r), Mem{Base: rA, Disp: 64 * r})
	}
	VZEROUPPER()
	RET()
}

// Registers of the AVX2 float kernel (16 ymm): W in Y0-Y3 (Y4-Y7 scratch
// while loading), then v Y4, a_r Y5, product Y6.
const (
	gM     = 8
	gC     = 9
	gZP    = 10
	gScale = 11
	gS     = 12 // s_r: Y12 + r
	gY     = 14 // y_r: Y14 + r
)

// gatherCols8 loads the 32-bit values at p + j*st (j < 8) into ymm(v)
// (the scales or zero points of a block of the group's 8 columns; st3 =
// 3*st). xmm(tmp) and tmpQ are scratch.
func gatherCols8(p, st, st3 reg.Register, v, tmp int, tmpQ reg.Register) {
	lo, hi := xmm(v), xmm(tmp)
	VMOVD(Mem{Base: p}, lo)
	VPINSRD(U8(1), Mem{Base: p, Index: st, Scale: 1}, lo, lo)
	VPINSRD(U8(2), Mem{Base: p, Index: st, Scale: 2}, lo, lo)
	VPINSRD(U8(3), Mem{Base: p, Index: st3, Scale: 1}, lo, lo)
	LEAQ(Mem{Base: p, Index: st, Scale: 4}, tmpQ)
	VMOVD(Mem{Base: tmpQ}, hi)
	VPINSRD(U8(1), Mem{Base: tmpQ, Index: st, Scale: 1}, hi, hi)
	VPINSRD(U8(2), Mem{Base: tmpQ, Index: st, Scale: 2}, hi, hi)
	VPINSRD(U8(3), Mem{Base: tmpQ, Index: st3, Scale: 1}, hi, hi)
	VINSERTI128(U8(1), hi, ymm(v), ymm(v))
}

func floatStep2(src reg.VecPhysical, t, rows int, disp int) {
	v := ymm(4)
	if t == 0 {
		VPAND(ymm(gM), src, v)
	} else {
		VPSRLD(U8(4*t), src, v)
		VPAND(ymm(gM), v, v)
	}
	VPXOR(ymm(gC), v, v)
	VSUBPS(ymm(gZP), v, v)
	for r := 0; r < rows; r++ {
		VBROADCASTSS(Mem{Base: rA, Disp: disp + 4*r}, ymm(5))
		VMULPS(ymm(5), v, ymm(6))
		VADDPS(ymm(6), ymm(gS+r), ymm(gS+r))
	}
}

func floatAVX2(rows int) {
	name := fmt.Sprintf("floatR%dAVX2", rows)
	TEXT(name, NOSPLIT, "func(y *float32, a *float32, w *byte, ldw int, scales *float32, st int, zp *int32, zpc uint32, zpbias uint32, c uint32, k int, bs int)")
	Doc(fmt.Sprintf("%s is floatR%dAVX512 for 8 columns; scales and zero points are st bytes apart per column.", name, rows))
	Load(Param("a"), rA)
	weightPointers(2)
	// rQ2, rQ3: the column stride of scales and zero points and 3 times it.
	Load(Param("st"), rQ2)
	LEAQ(Mem{Base: rQ2, Index: rQ2, Scale: 2}, rQ3)
	Load(Param("scales"), rS)
	Load(Param("zp"), rZ)
	Load(Param("k"), rK)
	Load(Param("bs"), rBS)
	bcast32(15, ymm(gM), rKB)
	bcastParam32("c", ymm(gC), rKB)
	bcastParam32("zpc", ymm(gZP), rKB)
	for r := 0; r < rows; r++ {
		bcast32(0x80000000, ymm(gY+r), rKB)
	}
	stride := 4 * rows

	Label(name + "_block")
	gatherCols8(rS, rQ2, rQ3, gScale, 4, rKB)
	ADDQ(U8(4), rS)
	TESTQ(rZ, rZ)
	JZ(LabelRef(name + "_zpdone"))
	gatherCols8(rZ, rQ2, rQ3, gZP, 4, rKB)
	bcastParam32("zpbias", ymm(5), rKB)
	VPADDD(ymm(5), ymm(gZP), ymm(gZP))
	ADDQ(U8(4), rZ)
	Label(name + "_zpdone")
	for r := 0; r < rows; r++ {
		bcast32(0x80000000, ymm(gS+r), rKB)
	}
	MOVQ(rBS, rKB)
	CMPQ(rK, rKB)
	CMOVQLT(rK, rKB)
	SUBQ(rKB, rK)

	Label(name + "_chunk")
	loadRows8()
	CMPQ(rKB, U8(32))
	JLT(LabelRef(name + "_partial"))
	for d := 0; d < 4; d++ {
		for t := 0; t < 8; t++ {
			floatStep2(ymm(d), t, rows, stride*(8*d+t))
		}
	}
	ADDQ(U32(32*stride), rA)
	SUBQ(U8(32), rKB)
	JNZ(LabelRef(name + "_chunk"))
	JMP(LabelRef(name + "_blockend"))

	Label(name + "_partial")
	for d := 0; d < 4; d++ {
		CMPQ(rKB, U8(8))
		JLT(LabelRef(fmt.Sprintf("%s_tail%d", name, d)))
		for t := 0; t < 8; t++ {
			floatStep2(ymm(d), t, rows, stride*t)
		}
		ADDQ(U32(8*stride), rA)
		SUBQ(U8(8), rKB)
		JZ(LabelRef(name + "_blockend"))
	}
	JMP(LabelRef(name + "_blockend"))
	for d := 0; d < 4; d++ {
		tail := fmt.Sprintf("%s_tail%d", name, d)
		Label(tail)
		VMOVDQA(ymm(d), ymm(7))
		Label(tail + "_loop")
		floatStep2(ymm(7), 0, rows, 0)
		VPSRLD(U8(4), ymm(7), ymm(7))
		ADDQ(U8(stride), rA)
		DECQ(rKB)
		JNZ(LabelRef(tail + "_loop"))
		JMP(LabelRef(name + "_blockend"))
	}

	Label(name + "_blockend")
	for r := 0; r < rows; r++ {
		VMULPS(ymm(gScale), ymm(gS+r), ymm(6))
		VADDPS(ymm(6), ymm(gY+r), ymm(gY+r))
	}
	TESTQ(rK, rK)
	JG(LabelRef(name + "_block"))
	Load(Param("y"), rA)
	for r := 0; r < rows; r++ {
		VMOVUPS(ymm(gY+r), Mem{Base: rA, Disp: 32 * r})
	}
	VZEROUPPER()
	RET()
}

// --- int8 activations ---

// Registers of the AVX-512 int8 kernel.
const (
	iM     = 8  // 0x0F0F0F0F
	iC     = 9  // 0 (uint4) or 0x08080808 (int4: q + 8, unsigned)
	iZP    = 10 // zero points + offset (non-uniform)
	iScale = 11
	iNZ    = 12
	iIdx   = 13
	iLo    = 14
	iHi    = 15
	iAcc   = 16 // Z16 + r
	iY     = 20 // Z20 + r
	iF     = 24 // Z24 + r
)

func int8AVX512(rows int) {
	name := fmt.Sprintf("int8R%dAVX512", rows)
	TEXT(name, NOSPLIT, "func(y *float32, aq *int32, w *byte, ldw int, scales *float32, sidx *int32, zp *int32, zpoff int32, c uint32, blocks int, chunks int, sc *int32)")
	Doc(fmt.Sprintf("%s computes 16 output columns of MatMulNBits' int8-activation mode for %d rows with VPDPBUSD: per block,", name, rows),
		"isum = sum of u * qa over the block's 32*chunks values (u = q, or q + 8 for int4, so that it is unsigned) minus a correction;",
		"sc holds per block and row the pair (sa as float32 bits, c): the correction is c = (zp + off) * sum qa (zp nil: uniform zero points)",
		"or, with zp, the columns' (zp + zpoff) * c (c then holds sum qa); y = sum over blocks, from -0, of float32(float32(sa * scale) * float32(isum)).",
		"aq holds per 8 values and row the dwords of the even and the odd values' int8 activations (zero past K).")
	Load(Param("aq"), rA)
	weightPointers(4)
	Load(Param("scales"), rS)
	Load(Param("zp"), rZ)
	Load(Param("blocks"), rK)
	Load(Param("sc"), rBS)
	bcast32(0x0F0F0F0F, zmm(iM), rKB)
	bcastParam32("c", zmm(iC), rKB)
	bcast32(0x80000000, zmm(iNZ), rKB)
	Load(Param("sidx"), rKB)
	VMOVDQU32(Mem{Base: rKB}, zmm(iIdx))
	for r := 0; r < rows; r++ {
		VMOVDQA32(zmm(iNZ), zmm(iY+r))
	}
	bcastParam32("zpoff", zmm(iNZ), rKB) // Z12 from here on: zpoff
	Label(name + "_block")
	KXNORW(reg.K1, reg.K1, reg.K1)
	VGATHERDPS(Mem{Base: rS, Index: zmm(iIdx), Scale: 4}, reg.K1, zmm(iScale))
	ADDQ(U8(4), rS)
	for r := 0; r < rows; r++ {
		VPXORD(zmm(iAcc+r), zmm(iAcc+r), zmm(iAcc+r))
	}
	Load(Param("chunks"), rKB)
	Label(name + "_chunk")
	loadRows16()
	for d := 0; d < 4; d++ {
		VMOVDQA32(zmm(d), zmm(iLo))
		VPTERNLOGD(U8(andXor), zmm(iC), zmm(iM), zmm(iLo))
		VPSRLD(U8(4), zmm(d), zmm(iHi))
		VPTERNLOGD(U8(andXor), zmm(iC), zmm(iM), zmm(iHi))
		for r := 0; r < rows; r++ {
			VPDPBUSD_BCST(Mem{Base: rA, Disp: 8*rows*d + 8*r}, zmm(iLo), zmm(iAcc+r))
			VPDPBUSD_BCST(Mem{Base: rA, Disp: 8*rows*d + 8*r + 4}, zmm(iHi), zmm(iAcc+r))
		}
	}
	ADDQ(U32(32*rows), rA)
	DECQ(rKB)
	JNZ(LabelRef(name + "_chunk"))

	// The block's correction and float combination (rBS: sc).
	TESTQ(rZ, rZ)
	JNZ(LabelRef(name + "_zps"))
	for r := 0; r < rows; r++ {
		VPSUBD_BCST(Mem{Base: rBS, Disp: 8*r + 4}, zmm(iAcc+r), zmm(iAcc+r))
	}
	JMP(LabelRef(name + "_combine"))
	Label(name + "_zps")
	KXNORW(reg.K2, reg.K2, reg.K2)
	VPGATHERDD(Mem{Base: rZ, Index: zmm(iIdx), Scale: 4}, reg.K2, zmm(iZP))
	ADDQ(U8(4), rZ)
	VPADDD(zmm(iNZ), zmm(iZP), zmm(iZP))
	for r := 0; r < rows; r++ {
		VPMULLD_BCST(Mem{Base: rBS, Disp: 8*r + 4}, zmm(iZP), zmm(iF+r))
		VPSUBD(zmm(iF+r), zmm(iAcc+r), zmm(iAcc+r))
	}
	Label(name + "_combine")
	for r := 0; r < rows; r++ {
		VMULPS_BCST(Mem{Base: rBS, Disp: 8 * r}, zmm(iScale), zmm(iF+r))
		VCVTDQ2PS(zmm(iAcc+r), zmm(iAcc+r))
		VMULPS(zmm(iAcc+r), zmm(iF+r), zmm(iF+r))
		VADDPS(zmm(iF+r), zmm(iY+r), zmm(iY+r))
	}
	ADDQ(U8(8*rows), rBS)
	DECQ(rK)
	JNZ(LabelRef(name + "_block"))
	Load(Param("y"), rA)
	for r := 0; r < rows; r++ {
		VMOVUPS(zmm(iY+r), Mem{Base: rA, Disp: 64 * r})
	}
	VZEROUPPER()
	RET()
}

func main() {
	flag.Parse()
	Constraint(buildtags.Term("amd64"))
	Constraint(buildtags.Not("purego"))
	for r := 1; r <= 4; r++ {
		floatAVX512(r)
	}
	for r := 1; r <= 2; r++ {
		floatAVX2(r)
	}
	for r := 1; r <= 4; r++ {
		int8AVX512(r)
	}
	Generate()
}
