// Command asmgen generates the AVX-512 VNNI micro-kernels of package gemm
// with avo. It lives in its own module so that the qgpu module does not
// depend on avo. Run it through go generate in the gemm package:
//
//	go generate ./backends/cpu/internal/gemm
//
// which runs
//
//	go run -C asmgen . -out ../kernel_amd64.s -stubs ../stub_amd64.go -pkg gemm
package main

import (
	"flag"
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/buildtags"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// zmm returns the physical register Z<i>.
func zmm(i int) reg.VecPhysical {
	zs := []reg.VecPhysical{
		reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7,
		reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15,
		reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23,
		reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31,
	}
	return zs[i]
}

var kmask = []reg.OpmaskPhysical{reg.K1, reg.K2, reg.K3, reg.K4}

// pcalign emits PCALIGN $n (avo has no such instruction; the Go assembler
// treats it as a directive that pads with NOPs to an n-byte boundary).
func pcalign(n int) {
	Instruction(&ir.Instruction{Opcode: "PCALIGN", Operands: []Op{Imm(uint64(n))}})
}

// alignLoops turns on PCALIGN before inner loops (flag -align).
var alignLoops = flag.Bool("align", true, "emit PCALIGN $64 before inner loops")

func pcalignLoop() {
	if *alignLoops {
		pcalign(64)
	}
}

const (
	nr     = 64 // columns per panel
	bStep  = nr * 4
	flagLd = 1 // flags bit 0: load C instead of starting from zero
	flagRq = 2 // flags bit 1: requantize the tile to out instead of storing C
	flagFo = 4 // flags bit 2: convert the tile to float32 at out instead of storing C
)

// kernel generates kernU8S8x<w>_<mr>: an mr x w tile of
// C = (flags&1 ? C : 0) + (bias != nil ? bias : 0) + A * B over kg groups of
// four K values, A given as mr row pointers, B a packed panel of 64
// columns of which the first w = 16*nvec (64, 32 or 16) are computed: the
// narrow kernels serve panels of at most w columns without the products of
// the zero columns beyond them.
//
// With signed set it generates kernS8S8x<w>_<mr>, which reads A as int8 and
// adds 128 to each value (XOR 0x80 after the broadcast), so the caller must
// fold -128*colsum(B) into bias.
func kernel(mr int, signed bool, nvec int) {
	w := 16 * nvec
	name := fmt.Sprintf("kernU8S8x%d_%d", w, mr)
	nb := 4 // broadcast registers Z28..
	if signed {
		name = fmt.Sprintf("kernS8S8x%d_%d", w, mr)
		nb = 3 // Z31 holds the 0x80 bytes
	}
	TEXT(name, NOSPLIT, "func(a **uint8, b *int8, c *int32, ldc int, kg int, mask uint64, bias *int32, flags int, ntiles int, out *uint8, ldout int, mult *float32, lo, hi float32, zp int32, fbias *float32, segs, segstride, segleft int)")
	ax := "A[t*%d+r][4g+i]"
	if signed {
		ax = "(A[t*%d+r][4g+i] XOR 0x80)"
	}
	Doc(
		fmt.Sprintf("%s computes ntiles tiles of %dx%d of C with VPDPBUSD. A is the array of", name, mr, w),
		fmt.Sprintf("ntiles*%d row pointers at a. For t < ntiles, r < %d, n < %d with bit n of mask set,", mr, mr, w),
		fmt.Sprintf("with i = (t*%d+r)*ldc+n:", mr),
		"",
		"\tC[i] = (flags&1 != 0 ? C[i] : 0) + (bias != nil ? bias[n] : 0) +",
		"\t\tsum over g < kg, i < 4 of int32("+fmt.Sprintf(ax, mr)+") * int32(b[g*256+4n+i])",
		"",
		"Columns whose mask bit is clear are neither read nor written. kg, ntiles >= 1.",
		"",
		"With flags&2 != 0 C is not written; the tile goes to out instead, row i = t*"+fmt.Sprint(mr)+"+r at",
		"out[i*ldout+n] = byte(int32(rint(clamp(float32(C[i])*mult[n], lo, hi))) + zp) (round half",
		"to even: qtensor.Requantize). With flags&4 != 0 C is not written either; row i goes to",
		"the float32 values at out + i*ldout bytes: float32(float32(C[i])*mult[n]) + fbias[n]",
		"(multiply and add rounded separately: qtensor.FloatOutput).",
		"",
		"A row is segs segments of 4*kg bytes, segment s at the row pointer + s*segstride, and",
		"B holds segs*kg groups (g above runs over all of them, segment by segment); segs >= 1.",
		"segleft is scratch (the segments left of the current tile).",
	)
	acc := func(r, j int) reg.VecPhysical { return zmm(r*nvec + j) }
	sets := 1
	if mr == 1 {
		sets = 2 // second accumulator set in Z4..Z7 hides VPDPBUSD latency
	}

	// Opmasks for the four vectors of a row.
	mask := Load(Param("mask"), GP64())
	KMOVQ(mask, reg.K1)
	KSHIFTRQ(U8(16), reg.K1, reg.K2)
	KSHIFTRQ(U8(32), reg.K1, reg.K3)
	KSHIFTRQ(U8(48), reg.K1, reg.K4)
	if signed {
		x80 := GP32()
		MOVL(U32(0x80808080), x80)
		VPBROADCASTD(x80, zmm(31))
	}
	ap := Load(Param("a"), GP64())
	c := Load(Param("c"), GP64())
	nt := Load(Param("ntiles"), GP64())

	Label("tile")
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	flags := Load(Param("flags"), GP64())
	Comment("Initialise accumulators: zero, or C under the column mask.")
	for r := 0; r < mr*sets; r++ {
		for j := 0; j < nvec; j++ {
			VPXORD(acc(r, j), acc(r, j), acc(r, j))
		}
	}
	TESTQ(U32(flagLd), flags)
	JZ(LabelRef("bias"))
	cp := GP64()
	MOVQ(c, cp)
	for r := 0; r < mr; r++ {
		for j := 0; j < nvec; j++ {
			VMOVDQU32_Z(Mem{Base: cp, Disp: 64 * j}, kmask[j], acc(r, j))
		}
		if r+1 < mr {
			ADDQ(ldc, cp)
		}
	}
	Label("bias")
	bias := Load(Param("bias"), GP64())
	TESTQ(bias, bias)
	JZ(LabelRef("prep"))
	for j := 0; j < nvec; j++ {
		VMOVDQU32(Mem{Base: bias, Disp: 64 * j}, zmm(24+j))
	}
	for r := 0; r < mr; r++ {
		for j := 0; j < nvec; j++ {
			VPADDD(zmm(24+j), acc(r, j), acc(r, j))
		}
	}

	Label("prep")
	Comment("Row pointers advanced to the end of the K range; k counts up from -4*kg to 0.")
	kg := Load(Param("kg"), GP64())
	k := GP64()
	MOVQ(kg, k)
	SHLQ(U8(2), k)
	rows := make([]reg.GPVirtual, mr)
	for r := 0; r < mr; r++ {
		rows[r] = GP64()
		MOVQ(Mem{Base: ap, Disp: 8 * r}, rows[r])
		ADDQ(k, rows[r])
	}
	NEGQ(k)
	b := Load(Param("b"), GP64())
	sg := Load(Param("segs"), GP64())
	Store(sg, Param("segleft"))
	// nextSeg moves the row pointers to the end of the next segment and k
	// back to its start, or jumps to done after the last segment.
	nextSeg := func(done, again string) {
		DECQ(paramAddr("segleft"))
		JZ(LabelRef(done))
		for r := 0; r < mr; r++ {
			ADDQ(paramAddr("segstride"), rows[r])
		}
		MOVQ(paramAddr("kg"), k)
		SHLQ(U8(2), k)
		NEGQ(k)
		JMP(LabelRef(again))
	}

	step := func(bregBase, set int, disp int) {
		for j := 0; j < nvec; j++ {
			VMOVDQU32(Mem{Base: b, Disp: disp + 64*j}, zmm(bregBase+j))
		}
		for r := 0; r < mr; r++ {
			t := zmm(28 + (r+set)%nb)
			VPBROADCASTD(Mem{Base: rows[r], Index: k, Scale: 1, Disp: 4 * set}, t)
			if signed {
				VPXORD(zmm(31), t, t)
			}
			for j := 0; j < nvec; j++ {
				VPDPBUSD(zmm(bregBase+j), t, acc(r+set*mr, j))
			}
		}
	}

	// Layout note: a forward branch across PCALIGN whose distance can fall on
	// either side of 127 bytes depending on the padding makes the Go
	// assembler's branch sizing loop forever. Here the only branches that
	// cross a pad are JZ segnext (mr == 1), which also crosses the whole loop
	// body (more than 127 bytes), and the backward JNZ tile, which crosses
	// the accumulator set-up (more than 127 bytes): both always long.
	// Segments: the backward JMP seg after each segment crosses the loop's
	// pad, but a backward branch's size cannot move a pad before it.
	if sets == 2 {
		Comment("Odd group count: one group first, then pairs.")
		Label("seg")
		TESTQ(U32(1), kg)
		JZ(LabelRef("even"))
		step(24, 0, 0)
		ADDQ(U32(bStep), b)
		ADDQ(U8(4), k)
		Label("even")
		TESTQ(k, k)
		JZ(LabelRef("segnext"))
		pcalignLoop()
		Label("loop")
		step(24, 0, 0)
		step(8, 1, bStep)
		ADDQ(U32(2*bStep), b)
		ADDQ(U8(8), k)
		JNZ(LabelRef("loop"))
		Label("segnext")
		nextSeg("sum", "seg")
		Label("sum")
		for j := 0; j < nvec; j++ {
			VPADDD(acc(1, j), acc(0, j), acc(0, j))
		}
	} else {
		Label("seg")
		pcalignLoop()
		Label("loop")
		step(24, 0, 0)
		ADDQ(U32(bStep), b)
		ADDQ(U8(4), k)
		JNZ(LabelRef("loop"))
		nextSeg("segdone", "seg")
		Label("segdone")
	}

	Comment("Store the tile: plain stores for a full panel, masked ones otherwise.")
	ldc2 := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc2)
	m2 := Load(Param("mask"), GP64())
	c2 := GP64()
	MOVQ(c, c2)
	fl := Load(Param("flags"), GP64())
	TESTQ(U32(flagRq), fl)
	JNZ(LabelRef("rq"))
	TESTQ(U32(flagFo), fl)
	JNZ(LabelRef("fo"))
	CMPQ(m2, I32(-1))
	JNE(LabelRef("masked"))
	for r := 0; r < mr; r++ {
		for j := 0; j < nvec; j++ {
			VMOVDQU32(acc(r, j), Mem{Base: c2, Disp: 64 * j})
		}
		ADDQ(ldc2, c2)
	}
	JMP(LabelRef("next"))
	Label("masked")
	for r := 0; r < mr; r++ {
		for j := 0; j < nvec; j++ {
			VMOVDQU32(acc(r, j), kmask[j], Mem{Base: c2, Disp: 64 * j})
		}
		ADDQ(ldc2, c2)
	}
	JMP(LabelRef("next"))

	Comment("Requantize the tile from the registers to out (masked: columns past ncols untouched).")
	Label("rq")
	mp := Load(Param("mult"), GP64())
	for j := 0; j < nvec; j++ {
		VMOVUPS_Z(Mem{Base: mp, Disp: 64 * j}, kmask[j], zmm(24+j))
	}
	VBROADCASTSS(paramAddr("lo"), zmm(28))
	VBROADCASTSS(paramAddr("hi"), zmm(29))
	zpr := Load(Param("zp"), GP32())
	VPBROADCASTD(zpr, zmm(30))
	o := Load(Param("out"), GP64())
	ldo := Load(Param("ldout"), GP64())
	for r := 0; r < mr; r++ {
		for j := 0; j < nvec; j++ {
			x := acc(r, j)
			VCVTDQ2PS(x, x)
			VMULPS(zmm(24+j), x, x)
			VMAXPS(zmm(28), x, x)
			VMINPS(zmm(29), x, x)
			VCVTPS2DQ(x, x)
			VPADDD(zmm(30), x, x)
			VPMOVDB(x, kmask[j], Mem{Base: o, Disp: 16 * j})
		}
		ADDQ(ldo, o)
		ADDQ(ldc2, c2)
	}
	Store(o, Param("out"))
	JMP(LabelRef("next"))

	Comment("Float output from the registers: acc*scale, then + bias (masked loads and stores).")
	Label("fo")
	sp := Load(Param("mult"), GP64())
	for j := 0; j < nvec; j++ {
		VMOVUPS_Z(Mem{Base: sp, Disp: 64 * j}, kmask[j], zmm(24+j))
	}
	fb := Load(Param("fbias"), GP64())
	fo := Load(Param("out"), GP64())
	fld := Load(Param("ldout"), GP64())
	for r := 0; r < mr; r++ {
		for j := 0; j < nvec; j++ {
			x := acc(r, j)
			VCVTDQ2PS(x, x)
			VMULPS(zmm(24+j), x, x)
			VADDPS(Mem{Base: fb, Disp: 64 * j}, x, kmask[j], x)
			VMOVUPS(x, kmask[j], Mem{Base: fo, Disp: 64 * j})
		}
		ADDQ(fld, fo)
		ADDQ(ldc2, c2)
	}
	Store(fo, Param("out"))
	Label("next")
	MOVQ(c2, c)
	ADDQ(U8(8*mr), ap)
	DECQ(nt)
	JNZ(LabelRef("tile"))
	VZEROUPPER()
	RET()
}

// peak generates peakVNNI: n iterations of 24 independent register-only
// VPDPBUSD zmm, the in-register throughput ceiling of the micro-kernel.
func peak() {
	TEXT("peakVNNI", NOSPLIT, "func(n int)")
	Doc("peakVNNI runs n iterations of 24 independent VPDPBUSD zmm (3072 int ops each); n > 0.")
	n := Load(Param("n"), GP64())
	for i := 0; i < 32; i++ {
		VPXORD(zmm(i), zmm(i), zmm(i))
	}
	pcalignLoop()
	Label("loop")
	for i := 0; i < 24; i++ {
		VPDPBUSD(zmm(24+i%4), zmm(28+i%4), zmm(i))
	}
	DECQ(n)
	JNZ(LabelRef("loop"))
	VZEROUPPER()
	RET()
}

// paramAddr returns the stack address of a scalar parameter.
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// ymm returns the physical register Y<i>; xmm the register X<i>.
func ymm(i int) reg.VecPhysical {
	return []reg.VecPhysical{reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7,
		reg.Y8, reg.Y9, reg.Y10, reg.Y11, reg.Y12, reg.Y13, reg.Y14, reg.Y15}[i]
}

func xmm(i int) reg.VecPhysical {
	return []reg.VecPhysical{reg.X0, reg.X1, reg.X2, reg.X3, reg.X4, reg.X5, reg.X6, reg.X7,
		reg.X8, reg.X9, reg.X10, reg.X11, reg.X12, reg.X13, reg.X14, reg.X15}[i]
}

// avx2Widen generates avx2Widen, which widens A rows to the int16 the AVX2
// kernels read: exact for full-range data, since VPMADDWD's int32 pair sums
// (at most 2*255*128) cannot overflow, unlike VPMADDUBSW's saturating int16.
func avx2Widen() {
	TEXT("avx2Widen", NOSPLIT, "func(src *uint8, dst *int16, n int, flip int)")
	Doc("avx2Widen sets dst[i] = int16(src[i] ^ x) for i < n, with x = 0x80 if",
		"flip != 0, else 0; n is a positive multiple of 4.")
	src := Load(Param("src"), GP64())
	dst := Load(Param("dst"), GP64())
	n := Load(Param("n"), GP64())
	f := Load(Param("flip"), GP64())
	VPXOR(ymm(15), ymm(15), ymm(15))
	TESTQ(f, f)
	JZ(LabelRef("widen16"))
	c := GP32()
	MOVL(U32(0x00800080), c)
	MOVD(c, xmm(15))
	VPBROADCASTD(xmm(15), ymm(15))
	Label("widen16")
	CMPQ(n, U8(16))
	JL(LabelRef("widen4"))
	VPMOVZXBW(Mem{Base: src}, ymm(0))
	VPXOR(ymm(15), ymm(0), ymm(0))
	VMOVDQU(ymm(0), Mem{Base: dst})
	ADDQ(U8(16), src)
	ADDQ(U8(32), dst)
	SUBQ(U8(16), n)
	JMP(LabelRef("widen16"))
	Label("widen4")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	b4 := GP32()
	MOVL(Mem{Base: src}, b4)
	MOVD(b4, xmm(0))
	VPMOVZXBW(xmm(0), xmm(0))
	VPXOR(xmm(15), xmm(0), xmm(0))
	VMOVQ(xmm(0), Mem{Base: dst})
	ADDQ(U8(4), src)
	ADDQ(U8(8), dst)
	SUBQ(U8(4), n)
	JMP(LabelRef("widen4"))
	Label("done")
	VZEROUPPER()
	RET()
}

// avx2Kernel generates avx2Tile_<mr>: an mr x ncols block of C from mr
// widened A rows and a packed panel, eight columns at a time. Registers:
// Y0..Y(2mr-1) the accumulators (row r's columns 0-3 and 4-7 of the block,
// two int32 pair sums per column), Y12 and Y13 the eight columns' four
// B values of one group widened to int16, Y14 a row's four A values
// broadcast, Y15 the VPMADDWD products. Per group of four K values that is
// two VPMOVSXBW, mr VPBROADCASTQ and 2mr VPMADDWD + VPADDD.
func avx2Kernel(mr int) {
	name := fmt.Sprintf("avx2Tile_%d", mr)
	TEXT(name, NOSPLIT, "func(a *int16, lda int, b *int8, kg int, c *int32, ldc int, off *int32, ncols int, flags int)")
	Doc(fmt.Sprintf("%s sets, for r < %d and n < ncols,", name, mr),
		"",
		"	C[r][n] = (flags&1 ? C[r][n] : 0) + off[n] + sum over g < kg, i < 4 of int32(A[r][4g+i]) * int32(b[256g+4n+i])",
		"",
		"with A[r] the int16 row at byte offset r*lda from a, C[r] at c[r*ldc:];",
		"off has 64 entries; kg >= 1, 1 <= ncols <= 64.")
	kg := Load(Param("kg"), GP64())
	kneg := GP64() // -8*kg, counts up to 0 through the widened rows
	MOVQ(kg, kneg)
	SHLQ(U8(3), kneg)
	lda := Load(Param("lda"), GP64())
	rows := make([]reg.GPVirtual, mr)
	rows[0] = GP64()
	Load(Param("a"), rows[0])
	ADDQ(kneg, rows[0])
	for r := 1; r < mr; r++ {
		rows[r] = GP64()
		LEAQ(Mem{Base: rows[r-1], Index: lda, Scale: 1}, rows[r])
	}
	NEGQ(kneg)
	bcol := Load(Param("b"), GP64()) // the block's first column in group 0
	ccol := Load(Param("c"), GP64())
	ocol := Load(Param("off"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	left := GP64()
	Load(Param("ncols"), left)
	k := GP64()
	bp := GP64()

	Label("block")
	for i := 0; i < 2*mr; i++ {
		VPXOR(ymm(i), ymm(i), ymm(i))
	}
	MOVQ(kneg, k)
	MOVQ(bcol, bp)
	pcalignLoop()
	Label("loop")
	VPMOVSXBW(Mem{Base: bp}, ymm(12))
	VPMOVSXBW(Mem{Base: bp, Disp: 16}, ymm(13))
	for r := 0; r < mr; r++ {
		VPBROADCASTQ(Mem{Base: rows[r], Index: k, Scale: 1}, ymm(14))
		VPMADDWD(ymm(12), ymm(14), ymm(15))
		VPADDD(ymm(15), ymm(2*r), ymm(2*r))
		VPMADDWD(ymm(13), ymm(14), ymm(15))
		VPADDD(ymm(15), ymm(2*r+1), ymm(2*r+1))
	}
	ADDQ(U32(bStep), bp)
	ADDQ(U8(8), k)
	JNZ(LabelRef("loop"))

	Comment("Pair sums to columns (VPHADDD per lane, VPERMQ for the column order), plus the offset.")
	for r := 0; r < mr; r++ {
		VPHADDD(ymm(2*r+1), ymm(2*r), ymm(2*r))
		VPERMQ(U8(0xd8), ymm(2*r), ymm(2*r))
		VPADDD(Mem{Base: ocol}, ymm(2*r), ymm(2*r))
	}
	crow := GP64()
	flags := Load(Param("flags"), GP64())
	CMPQ(left, U8(8))
	JL(LabelRef("partial"))
	Comment("A full block of eight columns.")
	TESTQ(U32(flagLd), flags)
	JZ(LabelRef("store"))
	MOVQ(ccol, crow)
	for r := 0; r < mr; r++ {
		VPADDD(Mem{Base: crow}, ymm(2*r), ymm(2*r))
		if r < mr-1 {
			ADDQ(ldc, crow)
		}
	}
	Label("store")
	MOVQ(ccol, crow)
	for r := 0; r < mr; r++ {
		VMOVDQU(ymm(2*r), Mem{Base: crow})
		if r < mr-1 {
			ADDQ(ldc, crow)
		}
	}
	ADDQ(U8(32), bcol)
	ADDQ(U8(32), ccol)
	ADDQ(U8(32), ocol)
	SUBQ(U8(8), left)
	JNZ(LabelRef("block"))
	VZEROUPPER()
	RET()

	Label("partial")
	Comment("The last 1..7 columns: lanes below left, loaded and stored with VPMASKMOVD.")
	MOVD(left.As32(), xmm(12))
	VPBROADCASTD(xmm(12), ymm(12))
	VMOVDQU(avx2Lanes(), ymm(13))
	VPCMPGTD(ymm(13), ymm(12), ymm(12)) // left > lane
	TESTQ(U32(flagLd), flags)
	JZ(LabelRef("pstore"))
	MOVQ(ccol, crow)
	for r := 0; r < mr; r++ {
		VPMASKMOVD(Mem{Base: crow}, ymm(12), ymm(14))
		VPADDD(ymm(14), ymm(2*r), ymm(2*r))
		if r < mr-1 {
			ADDQ(ldc, crow)
		}
	}
	Label("pstore")
	MOVQ(ccol, crow)
	for r := 0; r < mr; r++ {
		VPMASKMOVD(ymm(2*r), ymm(12), Mem{Base: crow})
		if r < mr-1 {
			ADDQ(ldc, crow)
		}
	}
	VZEROUPPER()
	RET()
}

// avx2Row32 generates avx2Row32, the one-row AVX2 kernel for 32 columns
// (the GEMV case): with a single row the 8-column kernel spends most of
// its uops on B's widening and the loop, so this one keeps 8 accumulators
// (Y0-Y7) over 32 columns, one VPBROADCASTQ of A per group serving eight
// VPMOVSXBW + VPMADDWD + VPADDD of B.
func avx2Row32() {
	TEXT("avx2Row32", NOSPLIT, "func(a *int16, b *int8, kg int, c *int32, off *int32, flags int)")
	Doc("avx2Row32 sets, for n < 32,",
		"",
		"\tc[n] = (flags&1 ? c[n] : 0) + off[n] + sum over g < kg, i < 4 of int32(a[4g+i]) * int32(b[256g+4n+i])",
		"",
		"kg >= 1.")
	kg := Load(Param("kg"), GP64())
	k := GP64()
	MOVQ(kg, k)
	SHLQ(U8(3), k)
	ap := Load(Param("a"), GP64())
	ADDQ(k, ap)
	NEGQ(k)
	bp := Load(Param("b"), GP64())
	for i := 0; i < 8; i++ {
		VPXOR(ymm(i), ymm(i), ymm(i))
	}
	pcalignLoop()
	Label("loop")
	VPBROADCASTQ(Mem{Base: ap, Index: k, Scale: 1}, ymm(8))
	for i := 0; i < 8; i++ {
		t := ymm(9 + i%4)
		VPMOVSXBW(Mem{Base: bp, Disp: 16 * i}, t)
		VPMADDWD(t, ymm(8), t)
		VPADDD(t, ymm(i), ymm(i))
	}
	ADDQ(U32(bStep), bp)
	ADDQ(U8(8), k)
	JNZ(LabelRef("loop"))

	Comment("Pair sums to columns, plus the offset and the old C.")
	c := Load(Param("c"), GP64())
	off := Load(Param("off"), GP64())
	flags := Load(Param("flags"), GP64())
	for h := 0; h < 4; h++ {
		VPHADDD(ymm(2*h+1), ymm(2*h), ymm(2*h))
		VPERMQ(U8(0xd8), ymm(2*h), ymm(2*h))
		VPADDD(Mem{Base: off, Disp: 32 * h}, ymm(2*h), ymm(2*h))
	}
	TESTQ(U32(flagLd), flags)
	JZ(LabelRef("store"))
	for h := 0; h < 4; h++ {
		VPADDD(Mem{Base: c, Disp: 32 * h}, ymm(2*h), ymm(2*h))
	}
	Label("store")
	for h := 0; h < 4; h++ {
		VMOVDQU(ymm(2*h), Mem{Base: c, Disp: 32 * h})
	}
	VZEROUPPER()
	RET()
}

var lanes *Mem

// avx2Lanes returns the symbol of the int32 constants 0..7.
func avx2Lanes() Mem {
	if lanes == nil {
		m := GLOBL("avx2_lanes", RODATA|NOPTR)
		for i := 0; i < 8; i++ {
			DATA(4*i, U32(i))
		}
		lanes = &m
	}
	return *lanes
}

// peakAVX2 generates the in-register AVX2 throughput loop that the
// benchmarks use as the AVX2 kernels' peak: the kernels' VPMADDWD + VPADDD
// pairs over 12 independent accumulators.
func peakAVX2() {
	TEXT("peakAVX2", NOSPLIT, "func(n int)")
	Doc("peakAVX2 runs n iterations of 12 independent VPMADDWD + VPADDD ymm pairs (384 int ops each); n > 0.")
	n := Load(Param("n"), GP64())
	for i := 0; i < 16; i++ {
		VPXOR(ymm(i), ymm(i), ymm(i))
	}
	pcalignLoop()
	Label("loop")
	for i := 0; i < 12; i++ {
		VPMADDWD(ymm(12+i%2), ymm(14), ymm(15))
		VPADDD(ymm(15), ymm(i), ymm(i))
	}
	DECQ(n)
	JNZ(LabelRef("loop"))
	VZEROUPPER()
	RET()
}

func main() {
	flag.Parse()
	Constraint(buildtags.Term("amd64"))
	Constraint(buildtags.Not("purego"))
	for _, nvec := range []int{4, 2, 1} {
		for _, signed := range []bool{false, true} {
			for mr := 1; mr <= 6; mr++ {
				kernel(mr, signed, nvec)
			}
		}
	}
	peak()
	avx2Widen()
	for mr := 1; mr <= 6; mr++ {
		avx2Kernel(mr)
	}
	avx2Row32()
	peakAVX2()
	Generate()
}
