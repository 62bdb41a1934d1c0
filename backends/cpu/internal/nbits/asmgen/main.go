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
// Every kernel computes whole groups of output columns (16 with AVX-512,
// 8 with AVX2), one SIMD lane per column, for R rows of activations: each
// lane runs the order docs/semantics.md fixes for its output. The weights
// come packed in panels (package nbits, Pack): per group and chunk of 32
// values, 4 vectors whose lane j holds dword d (8 values) of column j, so
// value t of the dword is (x >> 4t) & 15: the unsigned u = q (uint4) or
// q + 8 (int4, whose nibbles Pack flips by 8).
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

// General-purpose registers (R14 and R15 are left alone).
var (
	rA   = reg.RAX // activations
	rP   = reg.RBX // the panels at the current chunk (group 0)
	rT   = reg.RCX // scratch
	rU   = reg.RDX // scratch; int8: sc
	rGS  = reg.RDI // bytes per group of panels (AVX2: per column of scales)
	rGS3 = reg.R8  // 3 * rGS
	rS   = reg.R9  // scales of the current block (column 0)
	rZ   = reg.R10 // zero points of the current block (column 0), 0: uniform
	rK   = reg.R11 // values of K left (int8: blocks left)
	rKB  = reg.R13 // values left in the current block (int8: chunks left)
	rSG  = reg.RSI // bytes per group of packed scales (and zero points)
	rSG3 = reg.R12 // 3 * rSG
)

// sgroup returns the memory operand of group c's 16 values at p (packed
// scales or zero points of the current block, rSG bytes per group).
func sgroup(p reg.Register, c int) Mem {
	switch c {
	case 1:
		return Mem{Base: p, Index: rSG, Scale: 1}
	case 2:
		return Mem{Base: p, Index: rSG, Scale: 2}
	case 3:
		return Mem{Base: p, Index: rSG3, Scale: 1}
	}
	return Mem{Base: p}
}

// panel returns the memory operand of vector d of group c at the current
// chunk (AVX-512: 64 bytes per vector).
func panel(c, d int) Mem {
	switch c {
	case 1:
		return Mem{Base: rP, Index: rGS, Scale: 1, Disp: 64 * d}
	case 2:
		return Mem{Base: rP, Index: rGS, Scale: 2, Disp: 64 * d}
	case 3:
		return Mem{Base: rP, Index: rGS3, Scale: 1, Disp: 64 * d}
	}
	return Mem{Base: rP, Disp: 64 * d}
}

// loadPanels loads the current chunk of C groups: zmm(4c+d) gets vector d
// of group c; rP moves to the next chunk.
func loadPanels(C int) {
	for c := 0; c < C; c++ {
		for d := 0; d < 4; d++ {
			VMOVDQU32(panel(c, d), zmm(4*c+d))
		}
		for d := 0; d < 4; d++ {
			m := panel(c, d)
			m.Disp += prefetchAhead
			PREFETCHT0(m)
		}
	}
	ADDQ(U32(256), rP)
}

// prefetchAhead is how far ahead of the current chunk the kernels
// prefetch each group's panel (8 chunks): the hardware prefetchers alone
// left the float GEMV of weights larger than the cache at 59-81% of a
// copy()'s rate on one thread, 107-129% with it (BenchmarkMatMulNBitsGEMV,
// interleaved), and the int8 GEMV of LLaMA's MLP shapes on two threads at
// 504-621 us against 348-454 (qgpu bench matmulnbits, binaries back to
// back).
const prefetchAhead = 2048

// bcast32 broadcasts a 32-bit constant into v (tmp: a GP scratch).
func bcast32(c uint32, v reg.VecPhysical, tmp reg.GPPhysical) {
	MOVL(U32(c), tmp.As32())
	VPBROADCASTD(tmp.As32(), v)
}

func bcastParam32(name string, v reg.VecPhysical, tmp reg.GPPhysical) {
	Load(Param(name), tmp.As32())
	VPBROADCASTD(tmp.As32(), v)
}

// commonSetup loads the pointers and strides the kernels share.
func commonSetup() {
	Load(Param("w"), rP)
	Load(Param("gs"), rGS)
	LEAQ(Mem{Base: rGS, Index: rGS, Scale: 2}, rGS3)
	Load(Param("scales"), rS)
	Load(Param("zp"), rZ)
	Load(Param("sgs"), rSG)
	LEAQ(Mem{Base: rSG, Index: rSG, Scale: 2}, rSG3)
}

// --- float activations, AVX-512 ---

// The AVX-512 kernels compute C groups of 16 columns for R rows at once
// (C*R <= 4, or 8 for the float kernels of floatVariants): the C*R sums
// are independent dependency chains, which hides the latency of the
// sequential additions the semantics fix.

// Registers of the AVX-512 float kernels: the panels in Z0-Z15 (4 per
// group), then:
const (
	xS    = 16 // s(c, r): Z16 + c*R + r (sreg)
	xZP   = 20 // per-block zero points of group c (floats 2^23 + zp + off), or the table in Z20
	xM    = 24 // 15
	xC    = 25 // 0x4B000000
	xNZ   = 26 // -0.0
	xBias = 27 // 0x4B000000 + off, added to gathered zero points
	xV    = 28
	xP    = 29 // Z29-Z31: products
)

// sreg is the register of sum i = c*R + r of a kernel of C groups and R
// rows: Z16 + i, or for more than 4 sums (8 independent chains, for
// latency) Z(4C) + i, in the panel registers that C < 4 groups leave free.
func sreg(C, R, i int) reg.VecPhysical {
	if C*R <= 4 {
		return zmm(xS + i)
	}
	if 4*C+C*R > 16 {
		panic(fmt.Sprintf("asmgen: %d groups of %d rows do not fit the registers", C, R))
	}
	return zmm(4*C + i)
}

// floatStep handles value t of panel vector src of group c for R rows:
// with the table (uniform zero points) v = table[(src >> 4t) & 15], else
// v = float(((src >> 4t) & 15) ^ C) - zp(c); then s(c, r) = s(c, r) +
// float32(a_r * v) with a_r at disp(rA) + 4r.
func floatStep(C, c, R int, src reg.VecPhysical, t, disp int, table bool) {
	v := zmm(xV)
	switch {
	case table && t == 0:
		VPERMPS(zmm(xZP), src, v)
	case table:
		VPSRLD(U8(4*t), src, v)
		VPERMPS(zmm(xZP), v, v)
	default:
		if t == 0 {
			VMOVDQA32(src, v)
		} else {
			VPSRLD(U8(4*t), src, v)
		}
		VPTERNLOGD(U8(andXor), zmm(xC), zmm(xM), v)
		VSUBPS(zmm(xZP+c), v, v)
	}
	for r := 0; r < R; r++ {
		p := zmm(xP + (c*R+r)%3)
		VMULPS_BCST(Mem{Base: rA, Disp: disp + 4*r}, v, p)
		VADDPS(p, sreg(C, R, c*R+r), sreg(C, R, c*R+r))
	}
}

// floatRound handles value t of panel vector d of the C groups. With one
// row and the table (uniform zero points) the row's products
// float32(a_k * table[u]) of the 16 nibbles are computed once (in Z27) and
// each group's values permute them; else floatStep per group. shift: the
// tail, which shifts the panel vectors by 4 after the value.
func floatRound(C, R, d, t, disp int, table, shift bool) {
	if R == 1 && table {
		prod := zmm(xBias) // unused by the table path
		VMULPS_BCST(Mem{Base: rA, Disp: disp}, zmm(xZP), prod)
		for c := 0; c < C; c++ {
			src, idx := zmm(4*c+d), zmm(xV)
			if t > 0 {
				VPSRLD(U8(4*t), src, idx)
			} else {
				idx = src
			}
			p := zmm(xP + c%3)
			VPERMPS(prod, idx, p)
			VADDPS(p, sreg(C, R, c), sreg(C, R, c))
			if shift {
				VPSRLD(U8(4), src, src)
			}
		}
		return
	}
	for c := 0; c < C; c++ {
		floatStep(C, c, R, zmm(4*c+d), t, disp, table)
		if shift {
			VPSRLD(U8(4), zmm(4*c+d), zmm(4*c+d))
		}
	}
}

// floatBody emits the block loop of the float kernel for the table or
// the zero-point path, labels prefixed by name.
func floatBody(name string, C, R int, table bool) {
	stride := 4 * R // bytes of activations per value of K
	Label(name + "_block")
	if !table {
		for c := 0; c < C; c++ {
			VPADDD(sgroup(rZ, c), zmm(xBias), zmm(xZP+c))
		}
		ADDQ(U8(64), rZ)
	}
	for i := 0; i < C*R; i++ {
		VMOVDQA32(zmm(xNZ), sreg(C, R, i))
	}
	// rKB = min(bs, k left); k left -= rKB.
	Load(Param("bs"), rKB)
	CMPQ(rK, rKB)
	CMOVQLT(rK, rKB)
	SUBQ(rKB, rK)

	Label(name + "_chunk")
	loadPanels(C)
	CMPQ(rKB, U8(32))
	JLT(LabelRef(name + "_partial"))
	for d := 0; d < 4; d++ {
		for t := 0; t < 8; t++ {
			floatRound(C, R, d, t, stride*(8*d+t), table, false)
		}
	}
	ADDQ(U32(32*stride), rA)
	SUBQ(U8(32), rKB)
	JNZ(LabelRef(name + "_chunk"))
	JMP(LabelRef(name + "_blockend"))

	// A last block ending inside this chunk: whole dwords, then the
	// values of the last one, one at a time (shifting the dwords).
	Label(name + "_partial")
	for d := 0; d < 4; d++ {
		CMPQ(rKB, U8(8))
		JLT(LabelRef(fmt.Sprintf("%s_tail%d", name, d)))
		for t := 0; t < 8; t++ {
			floatRound(C, R, d, t, stride*t, table, false)
		}
		ADDQ(U32(8*stride), rA)
		SUBQ(U8(8), rKB)
		JZ(LabelRef(name + "_blockend"))
	}
	JMP(LabelRef(name + "_blockend")) // not reached: fewer than 32 values
	for d := 0; d < 4; d++ {
		tail := fmt.Sprintf("%s_tail%d", name, d)
		Label(tail)
		floatRound(C, R, d, 0, 0, table, true)
		ADDQ(U8(stride), rA)
		DECQ(rKB)
		JNZ(LabelRef(tail))
		JMP(LabelRef(name + "_blockend"))
	}

	// y(r, c) += float32(scale(c) * s(c, r)), y in memory.
	Label(name + "_blockend")
	Load(Param("y"), rT)
	for c := 0; c < C; c++ {
		VMOVUPS(sgroup(rS, c), zmm(xP))
		for r := 0; r < R; r++ {
			m := Mem{Base: rT, Disp: 64 * (r*C + c)}
			VMULPS(zmm(xP), sreg(C, R, c*R+r), zmm(xP+1))
			VADDPS(m, zmm(xP+1), zmm(xP+1))
			VMOVUPS(zmm(xP+1), m)
		}
	}
	ADDQ(U8(64), rS)
	TESTQ(rK, rK)
	JG(LabelRef(name + "_block"))
}

func floatAVX512(C, R int) {
	name := fmt.Sprintf("floatC%dR%dAVX512", C, R)
	TEXT(name, NOSPLIT, "func(y *float32, a *float32, w *byte, gs int, scales *float32, zp *int32, sgs int, tab *float32, zpbias uint32, c uint32, k int, bs int)")
	Doc(fmt.Sprintf("%s computes %d output columns (%d groups of 16) of MatMulNBits' float mode for %d rows (see the package documentation):", name, 16*C, C, R),
		fmt.Sprintf("y[r*%d+j] = sum over blocks, from -0, of float32(scale * s), s the block's sum from -0 of float32(a[k*%d+r] * float32(q - zp)) for k ascending.", 16*C, R),
		"w points at the panels of group 0 (gs bytes per group), scales and zp at the packed values (16 per block, sgs bytes per group) of group 0;",
		"tab non-nil: uniform zero points, tab[u] = float32(value(u) - zp) for the 16 nibbles u; else zp[...] + zpbias are the floats 2^23 + zp + off.",
		"c is 0x4B000000; bs is a multiple of 32.")
	Load(Param("a"), rA)
	commonSetup()
	Load(Param("k"), rK)
	bcast32(15, zmm(xM), rT)
	bcastParam32("c", zmm(xC), rT)
	bcastParam32("zpbias", zmm(xBias), rT)
	bcast32(0x80000000, zmm(xNZ), rT)
	Load(Param("y"), rT)
	for i := 0; i < C*R; i++ {
		VMOVUPS(zmm(xNZ), Mem{Base: rT, Disp: 64 * i})
	}
	Load(Param("tab"), rT)
	TESTQ(rT, rT)
	JZ(LabelRef(name + "_zp_block"))
	VMOVUPS(Mem{Base: rT}, zmm(xZP))
	floatBody(name+"_tab", C, R, true)
	VZEROUPPER()
	RET()
	floatBody(name+"_zp", C, R, false)
	VZEROUPPER()
	RET()
}

// --- float activations, AVX2 ---

// Registers of the AVX2 float kernel (16 ymm): the panel in Y0-Y3, then
// v Y4, a_r Y5, products Y6, Y7.
const (
	gM     = 8
	gC     = 9
	gZP    = 10
	gScale = 11
	gS     = 12 // s_r: Y12 + r
	gY     = 14 // y_r: Y14 + r
)

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
		VMULPS(ymm(5), v, ymm(6+r))
		VADDPS(ymm(6+r), ymm(gS+r), ymm(gS+r))
	}
}

func floatAVX2(rows int) {
	name := fmt.Sprintf("floatR%dAVX2", rows)
	TEXT(name, NOSPLIT, "func(y *float32, a *float32, w *byte, gs int, scales *float32, zp *int32, sgs int, zpc uint32, zpbias uint32, c uint32, k int, bs int)")
	Doc(fmt.Sprintf("%s is floatC1R%dAVX512 for 8 columns (panels of 32-byte vectors, 8 packed scales and zero points per block);", name, rows),
		"zp nil: every zero point is the float with bits zpc.")
	Load(Param("a"), rA)
	commonSetup()
	Load(Param("k"), rK)
	bcast32(15, ymm(gM), rT)
	bcastParam32("c", ymm(gC), rT)
	bcastParam32("zpc", ymm(gZP), rT)
	for r := 0; r < rows; r++ {
		bcast32(0x80000000, ymm(gY+r), rT)
	}
	stride := 4 * rows

	Label(name + "_block")
	VMOVUPS(Mem{Base: rS}, ymm(gScale))
	ADDQ(U8(32), rS)
	TESTQ(rZ, rZ)
	JZ(LabelRef(name + "_zpdone"))
	bcastParam32("zpbias", ymm(5), rT)
	VPADDD(Mem{Base: rZ}, ymm(5), ymm(gZP))
	ADDQ(U8(32), rZ)
	Label(name + "_zpdone")
	for r := 0; r < rows; r++ {
		bcast32(0x80000000, ymm(gS+r), rT)
	}
	Load(Param("bs"), rKB)
	CMPQ(rK, rKB)
	CMOVQLT(rK, rKB)
	SUBQ(rKB, rK)

	Label(name + "_chunk")
	for d := 0; d < 4; d++ {
		VMOVDQU(Mem{Base: rP, Disp: 32 * d}, ymm(d))
	}
	ADDQ(U32(128), rP)
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
		floatStep2(ymm(d), 0, rows, 0)
		VPSRLD(U8(4), ymm(d), ymm(d))
		ADDQ(U8(stride), rA)
		DECQ(rKB)
		JNZ(LabelRef(tail))
		JMP(LabelRef(name + "_blockend"))
	}

	Label(name + "_blockend")
	for r := 0; r < rows; r++ {
		VMULPS(ymm(gScale), ymm(gS+r), ymm(6))
		VADDPS(ymm(6), ymm(gY+r), ymm(gY+r))
	}
	TESTQ(rK, rK)
	JG(LabelRef(name + "_block"))
	Load(Param("y"), rT)
	for r := 0; r < rows; r++ {
		VMOVUPS(ymm(gY+r), Mem{Base: rT, Disp: 32 * r})
	}
	VZEROUPPER()
	RET()
}

// --- int8 activations, AVX-512 VNNI ---

// Registers of the AVX-512 int8 kernels: the panels in Z0-Z15, then:
const (
	iLoAcc = 16 // low nibbles' sums of (c, r): Z16 + c*R + r
	iHiAcc = 20 // high nibbles' sums (16 times the values): Z20 + c*R + r
	iM     = 24 // 0x0F0F0F0F
	iMHi   = 25 // 0xF0F0F0F0
	iOff   = 26 // zpoff
	iLo    = 27
	iHi    = 28
	iZP    = 29 // zero points + zpoff of a group (non-uniform)
	iT     = 30 // Z30-Z31: temporaries
)

func int8AVX512(C, R int) {
	name := fmt.Sprintf("int8C%dR%dAVX512", C, R)
	TEXT(name, NOSPLIT, "func(y *float32, aq *int32, w *byte, gs int, scales *float32, zp *int32, sgs int, zpoff int32, blocks int, chunks int, sc *int32)")
	Doc(fmt.Sprintf("%s computes %d output columns (%d groups of 16) of MatMulNBits' int8-activation mode for %d rows with VPDPBUSD: per block,", name, 16*C, C, R),
		"isum = sum of u * qa over the block's 32*chunks values (u, the unsigned nibbles of the panels: q, or q + 8 for int4) minus a correction;",
		"the low nibbles (even values) multiply in place, the high ones as 16 * u (exact, shifted back by 4 at the block's end);",
		"sc holds per block and row the pair (sa as float32 bits, c): the correction is c = (zp + off) * sum qa (zp nil: uniform zero points)",
		"or, with zp, the columns' (zp + zpoff) * c (c then holds sum qa); y = sum over blocks, from -0, of float32(float32(sa * scale) * float32(isum)).",
		"aq holds per 8 values and row the dwords of the even and the odd values' int8 activations (zero past K).")
	Load(Param("aq"), rA)
	commonSetup()
	Load(Param("blocks"), rK)
	Load(Param("sc"), rU)
	bcast32(0x0F0F0F0F, zmm(iM), rT)
	bcast32(0xF0F0F0F0, zmm(iMHi), rT)
	bcastParam32("zpoff", zmm(iOff), rT)
	bcast32(0x80000000, zmm(iT), rT)
	Load(Param("y"), rT)
	for i := 0; i < C*R; i++ {
		VMOVUPS(zmm(iT), Mem{Base: rT, Disp: 64 * i})
	}
	Label(name + "_block")
	for i := 0; i < C*R; i++ {
		VPXORD(zmm(iLoAcc+i), zmm(iLoAcc+i), zmm(iLoAcc+i))
		VPXORD(zmm(iHiAcc+i), zmm(iHiAcc+i), zmm(iHiAcc+i))
	}
	Load(Param("chunks"), rKB)
	Label(name + "_chunk")
	loadPanels(C)
	for d := 0; d < 4; d++ {
		for c := 0; c < C; c++ {
			VPANDD(zmm(iM), zmm(4*c+d), zmm(iLo))
			VPANDD(zmm(iMHi), zmm(4*c+d), zmm(iHi))
			for r := 0; r < R; r++ {
				VPDPBUSD_BCST(Mem{Base: rA, Disp: 8*R*d + 8*r}, zmm(iLo), zmm(iLoAcc+c*R+r))
				VPDPBUSD_BCST(Mem{Base: rA, Disp: 8*R*d + 8*r + 4}, zmm(iHi), zmm(iHiAcc+c*R+r))
			}
		}
	}
	ADDQ(U32(32*R), rA)
	DECQ(rKB)
	JNZ(LabelRef(name + "_chunk"))

	// isum = lo + (hi >> 4); the block's correction and float combination
	// (rU: sc).
	for i := 0; i < C*R; i++ {
		VPSRAD(U8(4), zmm(iHiAcc+i), zmm(iHiAcc+i))
		VPADDD(zmm(iHiAcc+i), zmm(iLoAcc+i), zmm(iLoAcc+i))
	}
	Load(Param("y"), rT)
	for c := 0; c < C; c++ {
		VMOVUPS(sgroup(rS, c), zmm(iHi))
		zps := fmt.Sprintf("%s_zps%d", name, c)
		done := fmt.Sprintf("%s_corr%d", name, c)
		TESTQ(rZ, rZ)
		JNZ(LabelRef(zps))
		for r := 0; r < R; r++ {
			VPSUBD_BCST(Mem{Base: rU, Disp: 8*r + 4}, zmm(iLoAcc+c*R+r), zmm(iLoAcc+c*R+r))
		}
		JMP(LabelRef(done))
		Label(zps)
		VPADDD(sgroup(rZ, c), zmm(iOff), zmm(iZP))
		for r := 0; r < R; r++ {
			VPMULLD_BCST(Mem{Base: rU, Disp: 8*r + 4}, zmm(iZP), zmm(iT))
			VPSUBD(zmm(iT), zmm(iLoAcc+c*R+r), zmm(iLoAcc+c*R+r))
		}
		Label(done)
		for r := 0; r < R; r++ {
			m := Mem{Base: rT, Disp: 64 * (r*C + c)}
			VMULPS_BCST(Mem{Base: rU, Disp: 8 * r}, zmm(iHi), zmm(iT))
			VCVTDQ2PS(zmm(iLoAcc+c*R+r), zmm(iT+1))
			VMULPS(zmm(iT+1), zmm(iT), zmm(iT))
			VADDPS(m, zmm(iT), zmm(iT))
			VMOVUPS(zmm(iT), m)
		}
	}
	ADDQ(U8(64), rS)
	TESTQ(rZ, rZ)
	JZ(LabelRef(name + "_nozp"))
	ADDQ(U8(64), rZ)
	Label(name + "_nozp")
	ADDQ(U8(8*R), rU)
	DECQ(rK)
	JNZ(LabelRef(name + "_block"))
	VZEROUPPER()
	RET()
}

// --- int8 activations, AVX2 ---

// int8AVX2 is int8C1R<rows>AVX512 for 8 columns without VNNI: per dword,
// VPMADDUBSW of the low nibbles with the even activations and of the high
// ones with the odd (pairs of u8 * s8 products in int16: at most
// 2 * 15 * 127), their sum (at most 4 * 15 * 127, no saturation), then
// VPMADDWD with ones into int32.
func int8AVX2(rows int) {
	name := fmt.Sprintf("int8R%dAVX2", rows)
	TEXT(name, NOSPLIT, "func(y *float32, aq *int32, w *byte, gs int, scales *float32, zp *int32, sgs int, zpoff int32, blocks int, chunks int, sc *int32)")
	Doc(fmt.Sprintf("%s is int8C1R%dAVX512 for 8 columns with AVX2 (VPMADDUBSW, VPMADDWD).", name, rows))
	const (
		m4, ones, lo, hi, ae, ao, acc, yv, scale, tmp = 4, 5, 6, 7, 8, 9, 10, 12, 14, 15
	)
	Load(Param("aq"), rA)
	commonSetup()
	Load(Param("blocks"), rK)
	Load(Param("sc"), rU)
	bcast32(0x0F0F0F0F, ymm(m4), rT)
	bcast32(0x00010001, ymm(ones), rT)
	for r := 0; r < rows; r++ {
		bcast32(0x80000000, ymm(yv+r), rT)
	}
	Label(name + "_block")
	for r := 0; r < rows; r++ {
		VPXOR(ymm(acc+r), ymm(acc+r), ymm(acc+r))
	}
	Load(Param("chunks"), rKB)
	Label(name + "_chunk")
	for d := 0; d < 4; d++ {
		VMOVDQU(Mem{Base: rP, Disp: 32 * d}, ymm(d))
	}
	ADDQ(U32(128), rP)
	for d := 0; d < 4; d++ {
		VPAND(ymm(m4), ymm(d), ymm(lo))
		VPSRLD(U8(4), ymm(d), ymm(hi))
		VPAND(ymm(m4), ymm(hi), ymm(hi))
		for r := 0; r < rows; r++ {
			VPBROADCASTD(Mem{Base: rA, Disp: 8*rows*d + 8*r}, ymm(ae))
			VPBROADCASTD(Mem{Base: rA, Disp: 8*rows*d + 8*r + 4}, ymm(ao))
			VPMADDUBSW(ymm(ae), ymm(lo), ymm(ae))
			VPMADDUBSW(ymm(ao), ymm(hi), ymm(ao))
			VPADDW(ymm(ao), ymm(ae), ymm(ae))
			VPMADDWD(ymm(ones), ymm(ae), ymm(ae))
			VPADDD(ymm(ae), ymm(acc+r), ymm(acc+r))
		}
	}
	ADDQ(U32(32*rows), rA)
	DECQ(rKB)
	JNZ(LabelRef(name + "_chunk"))

	VMOVUPS(Mem{Base: rS}, ymm(scale))
	TESTQ(rZ, rZ)
	JNZ(LabelRef(name + "_zps"))
	for r := 0; r < rows; r++ {
		VPBROADCASTD(Mem{Base: rU, Disp: 8*r + 4}, ymm(tmp))
		VPSUBD(ymm(tmp), ymm(acc+r), ymm(acc+r))
	}
	JMP(LabelRef(name + "_combine"))
	Label(name + "_zps")
	bcastParam32("zpoff", ymm(lo), rT)
	VPADDD(Mem{Base: rZ}, ymm(lo), ymm(lo))
	for r := 0; r < rows; r++ {
		VPBROADCASTD(Mem{Base: rU, Disp: 8*r + 4}, ymm(tmp))
		VPMULLD(ymm(tmp), ymm(lo), ymm(tmp))
		VPSUBD(ymm(tmp), ymm(acc+r), ymm(acc+r))
	}
	ADDQ(U8(32), rZ)
	Label(name + "_combine")
	for r := 0; r < rows; r++ {
		VBROADCASTSS(Mem{Base: rU, Disp: 8 * r}, ymm(hi))
		VMULPS(ymm(scale), ymm(hi), ymm(hi))
		VCVTDQ2PS(ymm(acc+r), ymm(tmp))
		VMULPS(ymm(tmp), ymm(hi), ymm(hi))
		VADDPS(ymm(hi), ymm(yv+r), ymm(yv+r))
	}
	ADDQ(U8(32), rS)
	ADDQ(U8(8*rows), rU)
	DECQ(rK)
	JNZ(LabelRef(name + "_block"))
	Load(Param("y"), rT)
	for r := 0; r < rows; r++ {
		VMOVUPS(ymm(yv+r), Mem{Base: rT, Disp: 32 * r})
	}
	VZEROUPPER()
	RET()
}

// variants are the (groups, rows) shapes of the AVX-512 kernels.
var variants = [][2]int{{1, 1}, {1, 2}, {1, 3}, {1, 4}, {2, 1}, {2, 2}, {4, 1}}

// floatVariants adds float kernels of 8 sums: the float mode's sequential
// additions are latency-bound with 4 chains.
var floatVariants = append(variants, [2]int{2, 4}, [2]int{1, 8})

func main() {
	flag.Parse()
	Constraint(buildtags.Term("amd64"))
	Constraint(buildtags.Not("purego"))
	for _, v := range floatVariants {
		floatAVX512(v[0], v[1])
	}
	for r := 1; r <= 2; r++ {
		floatAVX2(r)
	}
	for _, v := range variants {
		int8AVX512(v[0], v[1])
	}
	for r := 1; r <= 2; r++ {
		int8AVX2(r)
	}
	Generate()
}
