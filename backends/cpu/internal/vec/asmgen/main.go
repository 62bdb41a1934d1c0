// Command asmgen generates the AVX-512 kernels of package vec with avo. It
// lives in its own module so that the qgpu module does not depend on avo.
// Run it through go generate in the vec package:
//
//	go generate ./backends/cpu/internal/vec
//
// which runs
//
//	go run -C asmgen . -out ../vec_amd64.s -stubs ../stub_amd64.go -pkg vec
//
// Every kernel takes raw pointers and an element count; the Go wrappers in
// package vec check the slice lengths before calling. Loops process 64
// elements (four zmm vectors) per iteration, then 16, then a masked tail of
// fewer than 16 (AVX-512 masked loads do not fault on masked-off lanes).
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/buildtags"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// VCMPPS predicates.
const (
	cmpLTOQ   = 0x11 // less than, ordered, quiet
	cmpGTOQ   = 0x1e // greater than, ordered, quiet
	cmpUnordQ = 0x03 // unordered (either operand NaN), quiet
)

// VPCMPUD predicates.
const (
	pcmpLT  = 1
	pcmpNLE = 6 // >
)

const unroll = 4 // zmm vectors per main-loop iteration

// bcastF32 loads the float32 parameter name and broadcasts it to a zmm.
func bcastF32(name string) reg.VecVirtual {
	x := Load(Param(name), XMM())
	z := ZMM()
	VBROADCASTSS(x, z)
	return z
}

// bcastI32 loads the int32 parameter name and broadcasts it to a zmm.
func bcastI32(name string) reg.VecVirtual {
	r := Load(Param(name), GP32())
	z := ZMM()
	VPBROADCASTD(r, z)
	return z
}

// bcastConst broadcasts the 32-bit constant c to a zmm.
func bcastConst(c uint32) reg.VecVirtual {
	r := GP32()
	MOVL(U32(c), r)
	z := ZMM()
	VPBROADCASTD(r, z)
	return z
}

// tailMask sets k to the low n&15 bits (n is clobbered).
func tailMask(n reg.GPVirtual, k reg.OpmaskPhysical) {
	m := GP32()
	MOVL(U32(1), m)
	ANDQ(U8(15), n)
	SHLXL(n.As32(), m, m)
	DECL(m)
	KMOVW(m, k)
}

// stream generates the common loop structure: body(i, mask) handles one
// vector at element offset i (in vectors of 16 elements relative to the
// current pointers) with mask nil for full vectors; advance moves the
// pointers by the given number of elements.
func stream(n reg.Register, body func(v int, k reg.OpmaskPhysical), advance func(elems int), name string, finish ...func()) {
	cnt := GP64()
	MOVQ(n, cnt)
	Label(name + "_loop64")
	CMPQ(cnt, U8(16*unroll))
	JB(LabelRef(name + "_loop16"))
	for v := 0; v < unroll; v++ {
		body(v, nil)
	}
	advance(16 * unroll)
	SUBQ(U8(16*unroll), cnt)
	JMP(LabelRef(name + "_loop64"))

	Label(name + "_loop16")
	CMPQ(cnt, U8(16))
	JB(LabelRef(name + "_tail"))
	body(0, nil)
	advance(16)
	SUBQ(U8(16), cnt)
	JMP(LabelRef(name + "_loop16"))

	Label(name + "_tail")
	TESTQ(cnt, cnt)
	JZ(LabelRef(name + "_done"))
	tailMask(cnt, reg.K1)
	body(0, reg.K1)
	Label(name + "_done")
	for _, f := range finish {
		f()
	}
	VZEROUPPER()
	RET()
}

// quantize generates quant{Div,Mul}AVX512:
//
//	dst[i] = byte(NaN(src[i]) ? zp : int32(rint(clamp(src[i] op scale, lo, hi))) + zp)
//
// op is / (VDIVPS) or * (VMULPS, with scale holding the reciprocal).
func quantize(name string, div bool) {
	TEXT(name, NOSPLIT, "func(dst *byte, src *float32, n int, scale, lo, hi float32, zp int32)")
	op := "/"
	if !div {
		op = "*"
	}
	Doc(fmt.Sprintf("%s quantizes n float32 values: dst[i] = byte(zp) for NaN, else", name),
		fmt.Sprintf("byte(int32(rint(min(max(src[i] %s scale, lo), hi))) + zp) with rint", op),
		"rounding half to even. lo and hi must be integers with lo <= hi.")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	s, lo, hi, zp := bcastF32("scale"), bcastF32("lo"), bcastF32("hi"), bcastI32("zp")
	nanK := []reg.OpmaskPhysical{reg.K2, reg.K3, reg.K4, reg.K5}
	stream(n, func(v int, k reg.OpmaskPhysical) {
		x := ZMM()
		m := Mem{Base: src, Disp: 64 * v}
		if k == nil {
			VMOVUPS(m, x)
		} else {
			VMOVUPS_Z(m, k, x)
		}
		VCMPPS(U8(cmpUnordQ), x, x, nanK[v])
		if div {
			VDIVPS(s, x, x)
		} else {
			VMULPS(s, x, x)
		}
		VMAXPS(lo, x, x)
		VMINPS(hi, x, x)
		VCVTPS2DQ_RN_SAE(x, x)
		VPADDD(zp, x, x)
		VMOVDQA32(zp, nanK[v], x)
		d := Mem{Base: dst, Disp: 16 * v}
		if k == nil {
			VPMOVDB(x, d)
		} else {
			VPMOVDB(x, k, d)
		}
	}, func(e int) {
		ADDQ(U32(4*e), src)
		ADDQ(U32(e), dst)
	}, name)
}

// quantizeNT generates quant{Div,Mul}NTAVX512, the quantize kernels for
// large outputs: 64 values per iteration, their four 16-byte results
// gathered into one zmm (VPMOVDB, VINSERTI32X4) and stored with VMOVNTDQ
// (non-temporal: no read for ownership of the destination lines). dst must
// be 64-byte aligned and n a multiple of 64; it ends with SFENCE.
func quantizeNT(name string, div bool) {
	TEXT(name, NOSPLIT, "func(dst *byte, src *float32, n int, scale, lo, hi float32, zp int32)")
	op := "/"
	if !div {
		op = "*"
	}
	Doc(fmt.Sprintf("%s quantizes n float32 values: dst[i] = byte(zp) for NaN, else", name),
		fmt.Sprintf("byte(int32(rint(min(max(src[i] %s scale, lo), hi))) + zp) with rint", op),
		"rounding half to even. lo and hi must be integers with lo <= hi. It stores with",
		"VMOVNTDQ: dst must be 64-byte aligned and n a multiple of 64.")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	s, lo, hi, zp := bcastF32("scale"), bcastF32("lo"), bcastF32("hi"), bcastI32("zp")
	nanK := []reg.OpmaskPhysical{reg.K2, reg.K3, reg.K4, reg.K5}
	Label(name + "_loop")
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	out := ZMM()
	for v := 0; v < 4; v++ {
		x := ZMM()
		VMOVUPS(Mem{Base: src, Disp: 64 * v}, x)
		VCMPPS(U8(cmpUnordQ), x, x, nanK[v])
		if div {
			VDIVPS(s, x, x)
		} else {
			VMULPS(s, x, x)
		}
		VMAXPS(lo, x, x)
		VMINPS(hi, x, x)
		VCVTPS2DQ_RN_SAE(x, x)
		VPADDD(zp, x, x)
		VMOVDQA32(zp, nanK[v], x)
		if v == 0 {
			VPMOVDB(x, out.AsX())
		} else {
			b := XMM()
			VPMOVDB(x, b)
			VINSERTI32X4(U8(v), b, out, out)
		}
	}
	VMOVNTDQ(out, Mem{Base: dst})
	ADDQ(U32(256), src)
	ADDQ(U8(64), dst)
	SUBQ(U8(64), n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	SFENCE()
	VZEROUPPER()
	RET()
}

// AVX2 kernels: 8 values per ymm, four per loop iteration while at least
// 32 remain, then one; the Go wrappers run the last n%8 values through the
// qtensor formulas. They compute exactly what the AVX-512 kernels compute,
// with two differences of form: VCVTPS2DQ rounds by MXCSR (round to
// nearest even, which Go never changes) instead of {rn-sae}, and the 8
// results of a vector are packed to bytes by VPSHUFB (byte 0 of each
// dword) and VPERMD (the two lanes' dwords 0) rather than VPMOVDB; byte(v)
// is the low byte either way.

// lowBytes returns the constants of the byte packing, the VPSHUFB control
// and the VPERMD index, loaded into ymm registers (the data is emitted
// once, by the first call).
func lowBytes() (shuf, perm reg.VecVirtual) {
	if lowBytesShuf == nil {
		sh := GLOBL("avx2_lowbytes_shuf", RODATA|NOPTR)
		for lane := 0; lane < 2; lane++ {
			for i := 0; i < 16; i++ {
				b := byte(0x80)
				if i < 4 {
					b = byte(4 * i)
				}
				DATA(16*lane+i, U8(b))
			}
		}
		pm := GLOBL("avx2_lowbytes_perm", RODATA|NOPTR)
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

var lowBytesShuf, lowBytesPerm *Mem

// packStore8 stores the low byte of each dword of x (8 bytes) at d.
func packStore8(x, shuf, perm reg.VecVirtual, d Mem) {
	VPSHUFB(shuf, x, x)
	VPERMD(x, perm, x)
	VMOVQ(x.AsX(), d)
}

// stream8 is stream for ymm vectors of 8 elements without a tail.
func stream8(n reg.Register, body func(v int), advance func(elems int), name string) {
	cnt := GP64()
	MOVQ(n, cnt)
	Label(name + "_loop32")
	CMPQ(cnt, U8(32))
	JB(LabelRef(name + "_loop8"))
	for v := 0; v < 4; v++ {
		body(v)
	}
	advance(32)
	SUBQ(U8(32), cnt)
	JMP(LabelRef(name + "_loop32"))
	Label(name + "_loop8")
	CMPQ(cnt, U8(8))
	JB(LabelRef(name + "_done"))
	body(0)
	advance(8)
	SUBQ(U8(8), cnt)
	JMP(LabelRef(name + "_loop8"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// bcastF32Y and bcastI32Y broadcast a float32 or int32 parameter to a ymm.
func bcastF32Y(name string) reg.VecVirtual {
	y := YMM()
	VBROADCASTSS(paramMem(name), y)
	return y
}

func bcastI32Y(name string) reg.VecVirtual {
	r := Load(Param(name), GP32())
	x, y := XMM(), YMM()
	VMOVD(r, x)
	VPBROADCASTD(x, y)
	return y
}

// quantizeAVX2 generates quant{Div,Mul}AVX2 (see quantize).
func quantizeAVX2(name string, div bool) {
	TEXT(name, NOSPLIT, "func(dst *byte, src *float32, n int, scale, lo, hi float32, zp int32)")
	op := "/"
	if !div {
		op = "*"
	}
	Doc(fmt.Sprintf("%s quantizes n float32 values (n a multiple of 8): dst[i] = byte(zp) for NaN,", name),
		fmt.Sprintf("else byte(int32(rint(min(max(src[i] %s scale, lo), hi))) + zp) with rint rounding", op),
		"half to even (MXCSR). lo and hi must be integers with lo <= hi.")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	sc, lo, hi, zp := bcastF32Y("scale"), bcastF32Y("lo"), bcastF32Y("hi"), bcastI32Y("zp")
	shuf, perm := lowBytes()
	stream8(n, func(v int) {
		x, nan := YMM(), YMM()
		VMOVUPS(Mem{Base: src, Disp: 32 * v}, x)
		VCMPPS(U8(cmpUnordQ), x, x, nan)
		if div {
			VDIVPS(sc, x, x)
		} else {
			VMULPS(sc, x, x)
		}
		VMAXPS(lo, x, x)
		VMINPS(hi, x, x)
		VCVTPS2DQ(x, x)
		VPADDD(zp, x, x)
		VBLENDVPS(nan, zp, x, x)
		packStore8(x, shuf, perm, Mem{Base: dst, Disp: 8 * v})
	}, func(e int) {
		ADDQ(U32(4*e), src)
		ADDQ(U32(e), dst)
	}, name)
}

// dequantizeAVX2 generates dequant{S8,U8}AVX2 (see dequantize).
func dequantizeAVX2(name string, signed bool) {
	TEXT(name, NOSPLIT, "func(dst *float32, src *byte, n int, scale float32, zp int32)")
	kind := "uint8"
	if signed {
		kind = "int8"
	}
	Doc(fmt.Sprintf("%s dequantizes n %s values (n a multiple of 8): dst[i] = float32(int32(src[i]) - zp) * scale.", name, kind))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	sc, zp := bcastF32Y("scale"), bcastI32Y("zp")
	stream8(n, func(v int) {
		x := YMM()
		m := Mem{Base: src, Disp: 8 * v}
		if signed {
			VPMOVSXBD(m, x)
		} else {
			VPMOVZXBD(m, x)
		}
		VPSUBD(zp, x, x)
		VCVTDQ2PS(x, x)
		VMULPS(sc, x, x)
		VMOVUPS(x, Mem{Base: dst, Disp: 32 * v})
	}, func(e int) {
		ADDQ(U32(e), src)
		ADDQ(U32(4*e), dst)
	}, name)
}

// requantizeAVX2 generates requantAVX2 (see requantize), or with cols
// requantColsAVX2: one multiplier per element (a GEMM row's per-column
// multipliers) instead of one for all.
func requantizeAVX2(cols bool) {
	name, sig := "requantAVX2", "func(dst *byte, src *int32, n int, m, lo, hi float32, zp int32)"
	if cols {
		name, sig = "requantColsAVX2", "func(dst *byte, src *int32, mult *float32, n int, lo, hi float32, zp int32)"
	}
	TEXT(name, NOSPLIT, sig)
	if cols {
		Doc(name+" requantizes n int32 accumulators (n a multiple of 8) with one multiplier each:",
			"dst[i] = byte(int32(rint(min(max(float32(src[i]) * mult[i], lo), hi))) + zp),",
			"rint rounding half to even (MXCSR). No mult[i] may be NaN; lo, hi integers, lo <= hi.")
	} else {
		Doc(name+" requantizes n int32 accumulators (n a multiple of 8):",
			"dst[i] = byte(int32(rint(min(max(float32(src[i]) * m, lo), hi))) + zp),",
			"rint rounding half to even (MXCSR). m must not be NaN; lo, hi integers, lo <= hi.")
	}
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	var mult reg.Register
	if cols {
		mult = Load(Param("mult"), GP64())
	}
	n := Load(Param("n"), GP64())
	var mul reg.VecVirtual
	if !cols {
		mul = bcastF32Y("m")
	}
	lo, hi, zp := bcastF32Y("lo"), bcastF32Y("hi"), bcastI32Y("zp")
	shuf, perm := lowBytes()
	stream8(n, func(v int) {
		x := YMM()
		VCVTDQ2PS(Mem{Base: src, Disp: 32 * v}, x)
		if cols {
			VMULPS(Mem{Base: mult, Disp: 32 * v}, x, x)
		} else {
			VMULPS(mul, x, x)
		}
		VMAXPS(lo, x, x)
		VMINPS(hi, x, x)
		VCVTPS2DQ(x, x)
		VPADDD(zp, x, x)
		packStore8(x, shuf, perm, Mem{Base: dst, Disp: 8 * v})
	}, func(e int) {
		ADDQ(U32(4*e), src)
		if cols {
			ADDQ(U32(4*e), mult)
		}
		ADDQ(U32(e), dst)
	}, name)
}

// floatColsAVX2 generates floatColsAVX2: the float output of a GEMM row.
func floatColsAVX2() {
	name := "floatColsAVX2"
	TEXT(name, NOSPLIT, "func(dst *float32, src *int32, scale, bias *float32, n int)")
	Doc(name+" converts n int32 accumulators (n a multiple of 8) to float32:",
		"dst[i] = float32(float32(src[i]) * scale[i]) + bias[i], the product rounded",
		"before the add (no FMA), as qtensor.FloatOutput.")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	sc := Load(Param("scale"), GP64())
	bias := Load(Param("bias"), GP64())
	n := Load(Param("n"), GP64())
	stream8(n, func(v int) {
		x := YMM()
		VCVTDQ2PS(Mem{Base: src, Disp: 32 * v}, x)
		VMULPS(Mem{Base: sc, Disp: 32 * v}, x, x)
		VADDPS(Mem{Base: bias, Disp: 32 * v}, x, x)
		VMOVUPS(x, Mem{Base: dst, Disp: 32 * v})
	}, func(e int) {
		ADDQ(U32(4*e), src)
		ADDQ(U32(4*e), sc)
		ADDQ(U32(4*e), bias)
		ADDQ(U32(4*e), dst)
	}, name)
}

// dequantize generates dequant{S8,U8}[NT]AVX512:
// dst[i] = float32(int32(src[i]) - zp) * scale. The NT variants store with
// VMOVNTPS (non-temporal, no read for ownership, like runtime.memmove for
// large copies) and need dst 64-byte aligned and n a multiple of 16; they
// end with SFENCE.
func dequantize(name string, signed, nt bool) {
	TEXT(name, NOSPLIT, "func(dst *float32, src *byte, n int, scale float32, zp int32)")
	kind := "uint8"
	if signed {
		kind = "int8"
	}
	doc := []string{fmt.Sprintf("%s dequantizes n %s values: dst[i] = float32(int32(src[i]) - zp) * scale.", name, kind)}
	if nt {
		doc = append(doc, "It stores with VMOVNTPS: dst must be 64-byte aligned and n a multiple of 16.")
	}
	Doc(doc...)
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	s, zp := bcastF32("scale"), bcastI32("zp")
	var finish []func()
	if nt {
		finish = append(finish, func() { SFENCE() })
	}
	stream(n, func(v int, k reg.OpmaskPhysical) {
		x := ZMM()
		m := Mem{Base: src, Disp: 16 * v}
		switch {
		case k == nil && signed:
			VPMOVSXBD(m, x)
		case k == nil:
			VPMOVZXBD(m, x)
		case signed:
			VPMOVSXBD_Z(m, k, x)
		default:
			VPMOVZXBD_Z(m, k, x)
		}
		VPSUBD(zp, x, x)
		VCVTDQ2PS(x, x)
		VMULPS(s, x, x)
		d := Mem{Base: dst, Disp: 64 * v}
		switch {
		case k != nil:
			VMOVUPS(x, k, d)
		case nt:
			VMOVNTPS(x, d)
		default:
			VMOVUPS(x, d)
		}
	}, func(e int) {
		ADDQ(U32(e), src)
		ADDQ(U32(4*e), dst)
	}, name, finish...)
}

// requantize generates requantAVX512:
// dst[i] = byte(int32(rint(clamp(float32(src[i]) * m, lo, hi))) + zp).
func requantize() {
	name := "requantAVX512"
	TEXT(name, NOSPLIT, "func(dst *byte, src *int32, n int, m, lo, hi float32, zp int32)")
	Doc(name+" requantizes n int32 accumulators:",
		"dst[i] = byte(int32(rint(min(max(float32(src[i]) * m, lo), hi))) + zp),",
		"rint rounding half to even. m must not be NaN; lo, hi integers, lo <= hi.")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	mul, lo, hi, zp := bcastF32("m"), bcastF32("lo"), bcastF32("hi"), bcastI32("zp")
	stream(n, func(v int, k reg.OpmaskPhysical) {
		x := ZMM()
		m := Mem{Base: src, Disp: 64 * v}
		if k == nil {
			VCVTDQ2PS(m, x)
		} else {
			VMOVDQU32_Z(m, k, x)
			VCVTDQ2PS(x, x)
		}
		VMULPS(mul, x, x)
		VMAXPS(lo, x, x)
		VMINPS(hi, x, x)
		VCVTPS2DQ_RN_SAE(x, x)
		VPADDD(zp, x, x)
		d := Mem{Base: dst, Disp: 16 * v}
		if k == nil {
			VPMOVDB(x, d)
		} else {
			VPMOVDB(x, k, d)
		}
	}, func(e int) {
		ADDQ(U32(4*e), src)
		ADDQ(U32(e), dst)
	}, name)
}

// minmax generates minmaxAVX512. Per lane j < 16 it writes to out:
//
//	out[j]    = min over finite src[i], i%16 == j, of key(src[i])
//	out[16+j] = max of the same (identities 0xFFFFFFFF and 0)
//	out[32+j], out[48+j], out[64+j] = counts of NaN, +Inf, -Inf
//
// (the lane of an element is its position within its vector of 16, the
// same as i%16 because vectors start at multiples of 16), where
// key(f) = bits ^ (sra(bits, 31) | 0x80000000) is qtensor.MinMaxKey except
// that -0 gets 0x7FFFFFFF (the caller maps that back to +0's key).
//
// A non-finite element has exponent bits all ones, which is
// abs(bits) >= 0x7f800000 as unsigned integers; those lanes are masked out
// of the min and max. The counting of NaN and infinities runs only for
// blocks that hold a non-finite value.
func minmax() {
	name := "minmaxAVX512"
	TEXT(name, NOSPLIT, "func(src *float32, n int, out *[80]uint32)")
	Doc(name+" reduces n float32 values to per-lane minimum and maximum keys",
		"of the finite values and per-lane NaN, +Inf and -Inf counts (see asmgen).")
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	absMask := bcastConst(0x7fffffff)
	expMask := bcastConst(0x7f800000)
	ninf := bcastConst(0xff800000)
	sign := bcastConst(0x80000000)
	ones := bcastConst(0xffffffff)
	var lo, hi [unroll]reg.VecVirtual
	for v := range unroll {
		lo[v], hi[v] = ZMM(), ZMM()
		VMOVDQA32(ones, lo[v])
		VPXORD(hi[v], hi[v], hi[v])
	}
	cNaN, cPInf, cNInf := ZMM(), ZMM(), ZMM()
	VPXORD(cNaN, cNaN, cNaN)
	VPXORD(cPInf, cPInf, cPInf)
	VPXORD(cNInf, cNInf, cNInf)
	finK := []reg.OpmaskPhysical{reg.K2, reg.K3, reg.K4, reg.K5}

	// vec handles vector v at the current pointer; it returns the raw bits.
	vec := func(v int, k reg.OpmaskPhysical) reg.VecVirtual {
		x := ZMM()
		m := Mem{Base: src, Disp: 64 * v}
		if k == nil {
			VMOVDQU32(m, x)
		} else {
			VMOVDQU32_Z(m, k, x)
		}
		a := ZMM()
		VPANDD(absMask, x, a)
		if k == nil {
			VPCMPUD(U8(pcmpLT), expMask, a, finK[v])
		} else {
			VPCMPUD(U8(pcmpLT), expMask, a, k, finK[v])
		}
		t, key := ZMM(), ZMM()
		VPSRAD(U8(31), x, t)
		VMOVDQA32(x, key)
		VPTERNLOGD(U8(0x1e), sign, t, key) // key ^= t | sign
		VPMINUD(key, lo[v], finK[v], lo[v])
		VPMAXUD(key, hi[v], finK[v], hi[v])
		return x
	}
	// count adds x's NaN and infinities to the counters. Masked-off tail
	// lanes were loaded as zero, which is neither.
	count := func(x reg.VecVirtual) {
		a, kk := ZMM(), reg.K6
		VPANDD(absMask, x, a)
		VPCMPUD(U8(pcmpNLE), expMask, a, kk)
		VPSUBD(ones, cNaN, kk, cNaN)
		VPCMPEQD(expMask, x, kk)
		VPSUBD(ones, cPInf, kk, cPInf)
		VPCMPEQD(ninf, x, kk)
		VPSUBD(ones, cNInf, kk, cNInf)
	}
	// allFinite jumps to label when every lane of the first nv masks is set.
	allFinite := func(nv int, label string) {
		k := finK[0]
		if nv > 1 {
			KANDW(finK[0], finK[1], reg.K7)
			for v := 2; v < nv; v++ {
				KANDW(finK[v], reg.K7, reg.K7)
			}
			k = reg.K7
		}
		KORTESTW(k, k)
		JCS(LabelRef(label)) // CF: all ones
	}

	cnt := GP64()
	MOVQ(n, cnt)
	Label("mm_loop64")
	CMPQ(cnt, U8(16*unroll))
	JB(LabelRef("mm_loop16"))
	xs := make([]reg.VecVirtual, unroll)
	for v := range unroll {
		xs[v] = vec(v, nil)
	}
	allFinite(unroll, "mm_next64")
	for v := range unroll {
		count(xs[v])
	}
	Label("mm_next64")
	ADDQ(U32(64*unroll), src)
	SUBQ(U8(16*unroll), cnt)
	JMP(LabelRef("mm_loop64"))

	Label("mm_loop16")
	CMPQ(cnt, U8(16))
	JB(LabelRef("mm_tail"))
	x := vec(0, nil)
	allFinite(1, "mm_next16")
	count(x)
	Label("mm_next16")
	ADDQ(U32(64), src)
	SUBQ(U8(16), cnt)
	JMP(LabelRef("mm_loop16"))

	Label("mm_tail")
	TESTQ(cnt, cnt)
	JZ(LabelRef("mm_done"))
	tailMask(cnt, reg.K1)
	x = vec(0, reg.K1)
	count(x)

	Label("mm_done")
	for v := 1; v < unroll; v++ {
		VPMINUD(lo[v], lo[0], lo[0])
		VPMAXUD(hi[v], hi[0], hi[0])
	}
	out := Load(Param("out"), GP64())
	for i, z := range []reg.VecVirtual{lo[0], hi[0], cNaN, cPInf, cNInf} {
		VMOVDQU32(z, Mem{Base: out, Disp: 64 * i})
	}
	VZEROUPPER()
	RET()
}

// minmaxAVX2 generates minmaxAVX2, minmaxAVX512 for AVX2 (8 lanes, no
// opmasks): out holds 5 x 8 words (min keys, max keys, NaN, +Inf, -Inf
// counts per lane) and n must be a multiple of 8. The finite mask is a
// signed compare (abs(bits) < 0x7f800000; both sides are non-negative as
// int32), and non-finite lanes take the identities (all ones for the
// minimum, zero for the maximum) before VPMINUD/VPMAXUD.
func minmaxAVX2() {
	name := "minmaxAVX2"
	TEXT(name, NOSPLIT, "func(src *float32, n int, out *[40]uint32)")
	Doc(name+" is minmaxAVX512 with 8 lanes (n a multiple of 8): per-lane minimum and maximum",
		"keys of the finite values and per-lane NaN, +Inf and -Inf counts.")
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	c32 := func(v uint32) reg.VecVirtual {
		r := GP32()
		MOVL(U32(v), r)
		x, y := XMM(), YMM()
		VMOVD(r, x)
		VPBROADCASTD(x, y)
		return y
	}
	absMask, expMask, ninf, sign, ones := c32(0x7fffffff), c32(0x7f800000), c32(0xff800000), c32(0x80000000), c32(0xffffffff)
	lo, hi := YMM(), YMM()
	VMOVDQU(ones, lo)
	VPXOR(hi, hi, hi)
	cNaN, cPInf, cNInf := YMM(), YMM(), YMM()
	VPXOR(cNaN, cNaN, cNaN)
	VPXOR(cPInf, cPInf, cPInf)
	VPXOR(cNInf, cNInf, cNInf)
	cnt := GP64()
	MOVQ(n, cnt)
	Label("mm2_loop")
	CMPQ(cnt, U8(8))
	JB(LabelRef("mm2_done"))
	x, a, fin, t, key := YMM(), YMM(), YMM(), YMM(), YMM()
	VMOVDQU(Mem{Base: src}, x)
	VPAND(absMask, x, a)
	VPCMPGTD(a, expMask, fin) // fin = 0x7f800000 > abs(bits)
	VPSRAD(U8(31), x, t)
	VPOR(sign, t, t)
	VPXOR(t, x, key)
	kl := YMM()
	VPANDN(ones, fin, kl) // ~fin
	VPOR(key, kl, kl)     // non-finite: all ones
	VPMINUD(kl, lo, lo)
	VPAND(key, fin, key) // non-finite: zero
	VPMAXUD(key, hi, hi)
	r := GP32()
	VMOVMSKPS(fin, r)
	CMPL(r, U8(0xff))
	JEQ(LabelRef("mm2_next"))
	m := YMM()
	VPCMPGTD(expMask, a, m) // NaN: abs(bits) > 0x7f800000
	VPSUBD(m, cNaN, cNaN)
	VPCMPEQD(expMask, x, m)
	VPSUBD(m, cPInf, cPInf)
	VPCMPEQD(ninf, x, m)
	VPSUBD(m, cNInf, cNInf)
	Label("mm2_next")
	ADDQ(U8(32), src)
	SUBQ(U8(8), cnt)
	JMP(LabelRef("mm2_loop"))
	Label("mm2_done")
	out := Load(Param("out"), GP64())
	for i, y := range []reg.VecVirtual{lo, hi, cNaN, cPInf, cNInf} {
		VMOVDQU(y, Mem{Base: out, Disp: 32 * i})
	}
	VZEROUPPER()
	RET()
}

// countLoop generates the counting loop shared by the histogram kernels:
// for each of the n vectors of 16 float32 at src (n is clobbered; src
// advances), compute(disp) returns the 16 counter indices of the vector at
// src+disp, and each counts[index] (uint32) is incremented.
//
// The indices are counted from memory: those of two vectors are stored to
// a stack buffer and counted while the next two are computed, when the
// stores have long completed. Reading a vector store back at once stalls
// on store forwarding (7x slower); extracting the indices from registers
// instead was 1.4x slower than this pipeline (64M floats, 2048 bins).
func countLoop(name string, n, src, counts reg.Register, compute func(disp int) reg.VecVirtual) {
	countLoopLanes(name, 16, n, src, counts, compute)
}

// countLoopLanes is countLoop for vectors of lanes int32 indices (16: zmm,
// 8: ymm); a vector covers 4*lanes bytes of src.
func countLoopLanes(name string, lanes int, n, src, counts reg.Register, compute func(disp int) reg.VecVirtual) {
	vb := 4 * lanes // bytes per vector, of src and of indices
	// The ymm kernels' index buffer is aligned to 32 bytes in a frame of
	// 96: unaligned, where the caller's frame put SP cost the AVX2 aligned
	// histogram 25% (6.1 against 7.7-8.2 GB/s on normal data). The zmm
	// kernels keep SP's alignment: 64-byte alignment made the 64M-value
	// calibration pass 1.2x slower on one thread (47 against 38-42 ms).
	var buf Mem
	if lanes == 8 {
		frame := AllocLocal(3 * vb)
		bp := GP64()
		LEAQ(frame.Offset(vb-1), bp)
		ANDQ(I32(-vb), bp)
		buf = Mem{Base: bp}
	} else {
		buf = AllocLocal(2 * vb)
	}
	store := func(v reg.VecVirtual, m Mem) {
		if lanes == 16 {
			VMOVDQU32(v, m)
		} else {
			VMOVDQU(v, m)
		}
	}
	count := func(k int) {
		for j := range k {
			r := GP64()
			MOVL(buf.Offset(4*j), r.As32())
			INCL(Mem{Base: counts, Index: r, Scale: 4})
		}
	}
	done := name + "_done"
	JZ(LabelRef(done))
	// An odd vector first, on its own.
	TESTQ(U32(1), n)
	JZ(LabelRef(name + "_pairs"))
	store(compute(0), buf)
	count(lanes)
	ADDQ(U8(vb), src)
	Label(name + "_pairs")
	SHRQ(U8(1), n)
	JZ(LabelRef(done))
	store(compute(0), buf)
	store(compute(vb), buf.Offset(vb))
	ADDQ(U32(2*vb), src)
	DECQ(n)
	JZ(LabelRef(name + "_last"))
	Label(name + "_loop")
	d0, d1 := compute(0), compute(vb)
	count(2 * lanes)
	store(d0, buf)
	store(d1, buf.Offset(vb))
	ADDQ(U32(2*vb), src)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_last")
	count(2 * lanes)
	Label(done)
	VZEROUPPER()
	RET()
}

// histogramAVX2 generates histAVX2, histAVX512 with 8 lanes for n a
// multiple of 8 and a single histogram: the compares become masks in ymm
// registers and the three counters replace the index by VBLENDVPS.
func histogramAVX2() {
	name := "histAVX2"
	TEXT(name, NOSPLIT, "func(counts *uint32, src *float32, n int, lo, hi, s float32, bins int32, off *[8]int32)")
	Doc(name+" adds the histogram bins of n float32 values (n a multiple of 8) to counts",
		"(bins, then below, above and NaN; see histAVX512), lane j's counter index plus",
		"off[j] (the sub-histogram of lane j).")
	counts := Load(Param("counts"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	lo, hi, s := bcastF32Y("lo"), bcastF32Y("hi"), bcastF32Y("s")
	bins := bcastI32Y("bins")
	fb, bm1, cBelow, cAbove, cNaN, one := YMM(), YMM(), YMM(), YMM(), YMM(), YMM()
	VCVTDQ2PS(bins, fb)
	VPCMPEQD(one, one, one)
	VPSUBD(one, bins, cAbove) // bins+1
	VPSUBD(one, cAbove, cNaN) // bins+2
	VMOVDQU(bins, cBelow)     // bins
	VPADDD(one, bins, bm1)    // bins-1
	offv := YMM()
	VMOVDQU(Mem{Base: Load(Param("off"), GP64())}, offv)
	SHRQ(U8(3), n)
	countLoopLanes("h2", 8, n, src, counts, func(disp int) reg.VecVirtual {
		x, d, m := YMM(), YMM(), YMM()
		VMOVUPS(Mem{Base: src, Disp: disp}, x)
		VSUBPS(lo, x, d)
		VMULPS(s, d, d)
		VMINPS(fb, d, d)
		VCVTTPS2DQ(d, d)
		VPMINSD(bm1, d, d)
		VCMPPS(U8(cmpLTOQ), lo, x, m) // x < lo
		VBLENDVPS(m, cBelow, d, d)
		VCMPPS(U8(cmpGTOQ), hi, x, m) // x > hi
		VBLENDVPS(m, cAbove, d, d)
		VCMPPS(U8(cmpUnordQ), x, x, m)
		VBLENDVPS(m, cNaN, d, d)
		VPADDD(offv, d, d)
		return d
	})
}

// histogram generates histAVX512 for n a multiple of 16. tab holds four
// vectors of 16 int32: lane offsets, then those offsets plus bins, bins+1
// and bins+2. Element i (lane j = i%16) increments counts[b + tab[j]] with
//
//	b = bins+2 (tab[48+j]) if src[i] is NaN,
//	    bins   (tab[16+j]) if src[i] < lo,
//	    bins+1 (tab[32+j]) if src[i] > hi,
//	    min(int32(min((src[i] - lo) * s, float32(bins))), bins-1) otherwise,
//
// which is qtensor.HistBin with its -2, -1 and bins results moved to the
// three trailing counters (the compares are the ordered ones of HistBin).
func histogram() {
	name := "histAVX512"
	TEXT(name, NOSPLIT, "func(counts *uint32, src *float32, n int, lo, hi, s float32, bins int32, tab *[64]int32)")
	Doc(name+" adds the histogram bins of n float32 values (n a multiple of 16)",
		"to counts, lane j of each vector going to the sub-histogram at tab[j] (see asmgen).")
	counts := Load(Param("counts"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	lo, hi, s := bcastF32("lo"), bcastF32("hi"), bcastF32("s")
	bm1 := bcastI32("bins")
	fb := ZMM()
	VCVTDQ2PS(bm1, fb)
	one := bcastConst(1)
	VPSUBD(one, bm1, bm1)
	tab := Load(Param("tab"), GP64())
	offs, cBelow, cAbove, cNaN := ZMM(), ZMM(), ZMM(), ZMM()
	for i, z := range []reg.VecVirtual{offs, cBelow, cAbove, cNaN} {
		VMOVDQU32(Mem{Base: tab, Disp: 64 * i}, z)
	}
	SHRQ(U8(4), n)
	countLoop("h", n, src, counts, func(disp int) reg.VecVirtual {
		x, d := ZMM(), ZMM()
		VMOVUPS(Mem{Base: src, Disp: disp}, x)
		VCMPPS(U8(cmpUnordQ), x, x, reg.K2)
		VCMPPS(U8(cmpLTOQ), lo, x, reg.K3) // x < lo
		VCMPPS(U8(cmpGTOQ), hi, x, reg.K4) // x > hi
		VSUBPS(lo, x, d)
		VMULPS(s, d, d)
		VMINPS(fb, d, d)
		VCVTTPS2DQ(d, d)
		VPMINSD(bm1, d, d)
		VPADDD(offs, d, d)
		VMOVDQA32(cBelow, reg.K3, d)
		VMOVDQA32(cAbove, reg.K4, d)
		VMOVDQA32(cNaN, reg.K2, d)
		return d
	})
}

// histogramAligned generates histAlignedAVX512 for n a multiple of 16: the
// zero-aligned grid histogram of qtensor.HistBinAligned with scale s (a
// power of two), window [start, start+bins). tab holds two vectors of 16
// int32: lane offsets plus 1, then lane offsets plus bins+2. Element i
// (lane j = i%16) increments counts[tab[j] + clamp(g - start, -1, bins)]
// where g is its grid index, or counts[tab[16+j]] if it is NaN; so each
// sub-histogram is laid out below, bins..., above, NaN.
//
// The grid index is computed without branches in 64-bit lanes: p = x*s is
// exact, clamped to [-2^62, 2^62] (HistBinAligned's saturation; a NaN p
// becomes -2^62 and is then overridden), converted with truncation
// (VCVTTPS2QQ, exact for these values) and decreased by one where x < 0
// (ordered: not for -0 or NaN), which is floor for x >= 0 and
// -1 - floor(-x*s) for x < 0. start must lie in [-2^61, 2^61] so that
// g - start does not overflow.
func histogramAligned() {
	name := "histAlignedAVX512"
	TEXT(name, NOSPLIT, "func(counts *uint32, src *float32, n int, s float32, start int64, bins int64, tab *[32]int32)")
	Doc(name+" adds the aligned-grid histogram of n float32 values (n a multiple",
		"of 16) to counts, lane j of each vector going to the sub-histogram at tab[j]-1,",
		"each laid out below, bins..., above, NaN (see asmgen).")
	counts := Load(Param("counts"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	s := bcastF32("s")
	sat, nsat := bcastConst(0x5e800000), bcastConst(0xde800000) // ±2^62
	startq, binsq, minus1q := ZMM(), ZMM(), ZMM()
	VPBROADCASTQ(Load(Param("start"), GP64()), startq)
	VPBROADCASTQ(Load(Param("bins"), GP64()), binsq)
	VPTERNLOGQ(U8(0xff), minus1q, minus1q, minus1q) // all ones: -1 per qword
	tab := Load(Param("tab"), GP64())
	offs, cNaN, zero := ZMM(), ZMM(), ZMM()
	VMOVDQU32(Mem{Base: tab}, offs)
	VMOVDQU32(Mem{Base: tab, Disp: 64}, cNaN)
	VPXORD(zero, zero, zero)
	SHRQ(U8(4), n)
	countLoop("ha", n, src, counts, func(disp int) reg.VecVirtual {
		x, p := ZMM(), ZMM()
		VMOVUPS(Mem{Base: src, Disp: disp}, x)
		VCMPPS(U8(cmpUnordQ), x, x, reg.K2)
		VCMPPS(U8(cmpLTOQ), zero, x, reg.K3) // x < 0
		KSHIFTRW(U8(8), reg.K3, reg.K4)
		VMULPS(s, x, p)
		VMAXPS(nsat, p, p) // a NaN p takes the constant
		VMINPS(sat, p, p)
		hi := YMM()
		VEXTRACTF32X8(U8(1), p, hi)
		ql, qh := ZMM(), ZMM()
		VCVTTPS2QQ(p.AsY(), ql)
		VCVTTPS2QQ(hi, qh)
		VPADDQ(minus1q, ql, reg.K3, ql)
		VPADDQ(minus1q, qh, reg.K4, qh)
		for _, q := range []reg.VecVirtual{ql, qh} {
			VPSUBQ(startq, q, q)
			VPMAXSQ(minus1q, q, q)
			VPMINSQ(binsq, q, q)
		}
		d, dh := ZMM(), YMM()
		VPMOVQD(ql, d.AsY())
		VPMOVQD(qh, dh)
		VINSERTI32X8(U8(1), dh, d, d)
		VPADDD(offs, d, d)
		VMOVDQA32(cNaN, reg.K2, d)
		return d
	})
}

// histogramAligned32 generates histAligned32AVX512, histAlignedAVX512 in
// 32-bit lanes for windows near zero: lo = start-1 and hi = start+bins+1
// must have magnitudes of at most 2^24, so that they are exact float32
// values and every integer in between is too. p = x*s is clamped to
// [lo, hi] before the truncating conversion, which keeps the window index
// exact inside the window and leaves values outside on the right side:
// the grid index is monotone in p, and the clamped ends map to indices
// below start (start-1, or start-2 when lo < 0) and above start+bins-1
// (start+bins+1, or start+bins when hi < 0). tab is as for
// histAlignedAVX512; flo and fhi hold lo and hi as float32, and start is
// an int32.
func histogramAligned32() {
	name := "histAligned32AVX512"
	TEXT(name, NOSPLIT, "func(counts *uint32, src *float32, n int, s, flo, fhi float32, start int32, bins int32, tab *[32]int32)")
	Doc(name+" is histAlignedAVX512 for windows within 2^24 of zero: start-1 and",
		"start+bins+1 must be exact float32 values flo and fhi (see asmgen).")
	counts := Load(Param("counts"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	s, flo, fhi := bcastF32("s"), bcastF32("flo"), bcastF32("fhi")
	startd, binsd := bcastI32("start"), bcastI32("bins")
	minus1 := ZMM()
	VPTERNLOGD(U8(0xff), minus1, minus1, minus1)
	tab := Load(Param("tab"), GP64())
	offs, cNaN, zero := ZMM(), ZMM(), ZMM()
	VMOVDQU32(Mem{Base: tab}, offs)
	VMOVDQU32(Mem{Base: tab, Disp: 64}, cNaN)
	VPXORD(zero, zero, zero)
	SHRQ(U8(4), n)
	countLoop("ha32", n, src, counts, func(disp int) reg.VecVirtual {
		x, d := ZMM(), ZMM()
		VMOVUPS(Mem{Base: src, Disp: disp}, x)
		VCMPPS(U8(cmpUnordQ), x, x, reg.K2)
		VCMPPS(U8(cmpLTOQ), zero, x, reg.K3) // x < 0
		VMULPS(s, x, d)
		VMAXPS(flo, d, d) // a NaN product takes flo
		VMINPS(fhi, d, d)
		VCVTTPS2DQ(d, d)
		VPADDD(minus1, d, reg.K3, d)
		VPSUBD(startd, d, d)
		VPMAXSD(minus1, d, d)
		VPMINSD(binsd, d, d)
		VPADDD(offs, d, d)
		VMOVDQA32(cNaN, reg.K2, d)
		return d
	})
}

// histogramAligned32AVX2 generates histAligned32AVX2, histAligned32AVX512
// with 8 lanes for n a multiple of 8 and a single histogram laid out
// below, bins..., above, NaN (the window index d in [-1, bins] at d+1).
// The x < 0 correction adds the compare mask itself (-1 where true).
func histogramAligned32AVX2() {
	name := "histAligned32AVX2"
	TEXT(name, NOSPLIT, "func(counts *uint32, src *float32, n int, s, flo, fhi float32, start int32, bins int32, off *[8]int32)")
	Doc(name+" is histAligned32AVX512 with 8 lanes (n a multiple of 8): lane j counts into",
		"the histogram at counts+off[j], laid out below, bins..., above, NaN (see asmgen).")
	counts := Load(Param("counts"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	s, flo, fhi := bcastF32Y("s"), bcastF32Y("flo"), bcastF32Y("fhi")
	startd, binsd := bcastI32Y("start"), bcastI32Y("bins")
	minus1, zero, cNaN := YMM(), YMM(), YMM()
	VPCMPEQD(minus1, minus1, minus1)
	VPXOR(zero, zero, zero)
	VPSUBD(minus1, binsd, cNaN) // bins+1: above's slot, then NaN's
	VPSUBD(minus1, cNaN, cNaN)  // bins+2
	offv := YMM()
	VMOVDQU(Mem{Base: Load(Param("off"), GP64())}, offv)
	SHRQ(U8(3), n)
	countLoopLanes("ha32y", 8, n, src, counts, func(disp int) reg.VecVirtual {
		x, d, m := YMM(), YMM(), YMM()
		VMOVUPS(Mem{Base: src, Disp: disp}, x)
		VMULPS(s, x, d)
		VMAXPS(flo, d, d) // a NaN product takes flo
		VMINPS(fhi, d, d)
		VCVTTPS2DQ(d, d)
		VCMPPS(U8(cmpLTOQ), zero, x, m) // x < 0: -1 in the lane
		VPADDD(m, d, d)
		VPSUBD(startd, d, d)
		VPMAXSD(minus1, d, d)
		VPMINSD(binsd, d, d)
		VPSUBD(minus1, d, d) // d+1
		VCMPPS(U8(cmpUnordQ), x, x, m)
		VBLENDVPS(m, cNaN, d, d)
		VPADDD(offv, d, d)
		return d
	})
}

// binaryName returns the name of the Add or Mul kernel for 8-bit operands.
func binaryName(mul, signed bool, isa string) string {
	s := "add"
	if mul {
		s = "mul"
	}
	if signed {
		return s + "S8" + isa
	}
	return s + "U8" + isa
}

// binaryDoc documents a binary kernel.
func binaryDoc(name string, mul bool, lanes string) {
	if mul {
		Doc(name+" computes n quantized products of 8-bit operands"+lanes+":",
			"dst[i] = byte(int32(rint(min(max(float32((a[i]-za)*(b[i]-zb)) * ma, lo), hi))) + zy),",
			"rint rounding half to even; mb is unused. lo, hi integers, lo <= hi.")
		return
	}
	Doc(name+" computes n quantized sums of 8-bit operands"+lanes+":",
		"dst[i] = byte(int32(rint(min(max(float32(ma*float32(a[i]-za)) + float32(mb*float32(b[i]-zb)), lo), hi))) + zy),",
		"rint rounding half to even. lo, hi integers, lo <= hi.")
}

const binarySig = "func(dst, a, b *byte, n int, za, zb int32, ma, mb, lo, hi float32, zy int32)"

// binaryCombine emits the arithmetic both forms of the binary kernels
// share, on zmm or ymm registers: from the widened operands xa and xb to
// the clamped float result in xa, ready for the conversion.
func binaryCombine(mul bool, xa, xb, za, zb, ma, mb, lo, hi reg.VecVirtual) {
	VPSUBD(za, xa, xa)
	VPSUBD(zb, xb, xb)
	if mul {
		VPMULLD(xb, xa, xa)
		VCVTDQ2PS(xa, xa)
		VMULPS(ma, xa, xa)
	} else {
		VCVTDQ2PS(xa, xa)
		VMULPS(ma, xa, xa)
		VCVTDQ2PS(xb, xb)
		VMULPS(mb, xb, xb)
		VADDPS(xb, xa, xa)
	}
	VMAXPS(lo, xa, xa)
	VMINPS(hi, xa, xa)
}

// binaryAVX512 generates the AVX-512 kernels of vec.Add and vec.Mul: 16
// operands per zmm widened to int32 lanes, the masked tail included.
// Add multiplies each operand minus its zero point by its multiplier
// (two rounded products, then their rounded sum, as qtensor.Add); Mul
// multiplies the two differences exactly in int32 (|product| < 2^17)
// before the one float product (qtensor.Mul). Both end with the
// requantize sequence: clamp in float, VCVTPS2DQ {rn-sae}, + zy, VPMOVDB.
func binaryAVX512(mul, signed bool) {
	name := binaryName(mul, signed, "AVX512")
	TEXT(name, NOSPLIT, binarySig)
	binaryDoc(name, mul, "")
	dst := Load(Param("dst"), GP64())
	pa := Load(Param("a"), GP64())
	pb := Load(Param("b"), GP64())
	n := Load(Param("n"), GP64())
	za, zb := bcastI32("za"), bcastI32("zb")
	ma, mb := bcastF32("ma"), bcastF32("mb")
	lo, hi, zy := bcastF32("lo"), bcastF32("hi"), bcastI32("zy")
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
	stream(n, func(v int, k reg.OpmaskPhysical) {
		xa, xb := ZMM(), ZMM()
		widen(Mem{Base: pa, Disp: 16 * v}, k, xa)
		widen(Mem{Base: pb, Disp: 16 * v}, k, xb)
		binaryCombine(mul, xa, xb, za, zb, ma, mb, lo, hi)
		VCVTPS2DQ_RN_SAE(xa, xa)
		VPADDD(zy, xa, xa)
		d := Mem{Base: dst, Disp: 16 * v}
		if k == nil {
			VPMOVDB(xa, d)
		} else {
			VPMOVDB(xa, k, d)
		}
	}, func(e int) {
		ADDQ(U32(e), pa)
		ADDQ(U32(e), pb)
		ADDQ(U32(e), dst)
	}, name)
}

// binaryAVX2 generates the AVX2 forms of binaryAVX512's kernels: 8
// operands per ymm, n a multiple of 8, VCVTPS2DQ rounding half to even
// under the Go runtime's MXCSR, the bytes gathered with VPSHUFB + VPERMD.
func binaryAVX2(mul, signed bool) {
	name := binaryName(mul, signed, "AVX2")
	TEXT(name, NOSPLIT, binarySig)
	binaryDoc(name, mul, " (n a multiple of 8)")
	dst := Load(Param("dst"), GP64())
	pa := Load(Param("a"), GP64())
	pb := Load(Param("b"), GP64())
	n := Load(Param("n"), GP64())
	za, zb := bcastI32Y("za"), bcastI32Y("zb")
	ma, mb := bcastF32Y("ma"), bcastF32Y("mb")
	lo, hi, zy := bcastF32Y("lo"), bcastF32Y("hi"), bcastI32Y("zy")
	shuf, perm := lowBytes()
	stream8(n, func(v int) {
		xa, xb := YMM(), YMM()
		for _, o := range []struct {
			m Mem
			x reg.VecVirtual
		}{{Mem{Base: pa, Disp: 8 * v}, xa}, {Mem{Base: pb, Disp: 8 * v}, xb}} {
			if signed {
				VPMOVSXBD(o.m, o.x)
			} else {
				VPMOVZXBD(o.m, o.x)
			}
		}
		binaryCombine(mul, xa, xb, za, zb, ma, mb, lo, hi)
		VCVTPS2DQ(xa, xa)
		VPADDD(zy, xa, xa)
		packStore8(xa, shuf, perm, Mem{Base: dst, Disp: 8 * v})
	}, func(e int) {
		ADDQ(U32(e), pa)
		ADDQ(U32(e), pb)
		ADDQ(U32(e), dst)
	}, name)
}

// maxBytesAVX2 generates maxBytesAVX2, the quantized ReLU: the byte
// maximum with a broadcast zero point, 32 bytes per ymm (VPMAXUB or
// VPMAXSB), four at a time; memory-bound, so the AVX-512 toggle uses it
// too.
func maxBytesAVX2() {
	name := "maxBytesAVX2"
	TEXT(name, NOSPLIT, "func(dst, src *byte, n int, zp byte, signed bool)")
	Doc(name+" sets dst[i] = max(src[i], zp) for i < n (n a multiple of 32), the",
		"bytes compared as int8 when signed, else as uint8.")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	z := GP32()
	MOVBLZX(paramMem("zp"), z)
	x, zv := XMM(), YMM()
	VMOVD(z, x)
	VPBROADCASTB(x, zv)
	sg := GP32()
	MOVBLZX(paramMem("signed"), sg)
	cnt := GP64()
	MOVQ(n, cnt)
	TESTL(sg, sg)
	JNZ(LabelRef("mb_s_loop128"))
	for _, signed := range []bool{false, true} {
		lbl := "u"
		if signed {
			lbl = "s"
		}
		Label("mb_" + lbl + "_loop128")
		CMPQ(cnt, U32(128))
		JB(LabelRef("mb_" + lbl + "_loop32"))
		for v := 0; v < 4; v++ {
			y := YMM()
			if signed {
				VPMAXSB(Mem{Base: src, Disp: 32 * v}, zv, y)
			} else {
				VPMAXUB(Mem{Base: src, Disp: 32 * v}, zv, y)
			}
			VMOVDQU(y, Mem{Base: dst, Disp: 32 * v})
		}
		ADDQ(U32(128), src)
		ADDQ(U32(128), dst)
		SUBQ(U32(128), cnt)
		JMP(LabelRef("mb_" + lbl + "_loop128"))
		Label("mb_" + lbl + "_loop32")
		CMPQ(cnt, U8(32))
		JB(LabelRef("mb_done"))
		y := YMM()
		if signed {
			VPMAXSB(Mem{Base: src}, zv, y)
		} else {
			VPMAXUB(Mem{Base: src}, zv, y)
		}
		VMOVDQU(y, Mem{Base: dst})
		ADDQ(U8(32), src)
		ADDQ(U8(32), dst)
		SUBQ(U8(32), cnt)
		JMP(LabelRef("mb_" + lbl + "_loop32"))
	}
	Label("mb_done")
	VZEROUPPER()
	RET()
}

// maxPairsAVX2 generates maxPairsAVX2: the byte maximum of two arrays (a
// max pool's kernel rows), 32 bytes per ymm.
func maxPairsAVX2() {
	name := "maxPairsAVX2"
	TEXT(name, NOSPLIT, "func(dst, a, b *byte, n int, signed bool)")
	Doc(name+" sets dst[i] = max(a[i], b[i]) for i < n (n a multiple of 32), the",
		"bytes compared as int8 when signed, else as uint8.")
	dst := Load(Param("dst"), GP64())
	pa := Load(Param("a"), GP64())
	pb := Load(Param("b"), GP64())
	n := Load(Param("n"), GP64())
	sg := GP32()
	MOVBLZX(paramMem("signed"), sg)
	TESTL(sg, sg)
	JNZ(LabelRef("mp_s_loop"))
	for _, signed := range []bool{false, true} {
		lbl := "mp_u_loop"
		if signed {
			lbl = "mp_s_loop"
		}
		Label(lbl)
		CMPQ(n, U8(32))
		JB(LabelRef("mp_done"))
		y := YMM()
		VMOVDQU(Mem{Base: pa}, y)
		if signed {
			VPMAXSB(Mem{Base: pb}, y, y)
		} else {
			VPMAXUB(Mem{Base: pb}, y, y)
		}
		VMOVDQU(y, Mem{Base: dst})
		ADDQ(U8(32), pa)
		ADDQ(U8(32), pb)
		ADDQ(U8(32), dst)
		SUBQ(U8(32), n)
		JMP(LabelRef(lbl))
	}
	Label("mp_done")
	VZEROUPPER()
	RET()
}

// transpose generates transposeBytesAVX512, a byte-matrix transpose in
// blocks of 16 rows x 32 columns, each result row stored to copies places
// delta bytes apart. Each block is 16 ymm loads (row r of the block in Yr,
// columns j..j+31), four rounds of VPUNPCKLBW/VPUNPCKHBW, and 32*copies
// 16-byte stores. A round maps rows (i, i+8) to rows 2i (low bytes
// interleaved) and 2i+1 (high bytes): it rotates the 8-bit position
// (row, column) of every byte of a 16x16 lane by one bit, so four rounds
// swap row and column, and the two 128-bit lanes are two independent
// 16x16 blocks (columns j..j+15 and j+16..j+31). Rounds alternate between
// Y0-Y15 and Y16-Y31 (EVEX forms: AVX512VL and AVX512BW), ending in
// Y0-Y15. The last row strip and column block start at rows-16 and cols-32
// and overlap the previous ones, rewriting the same bytes, so any rows >=
// 16 and cols >= 32 need no tail code.
func transpose() {
	dst, ds, src, ss := transposeText("transposeBytesAVX512",
		"It needs rows >= 16, cols >= 32, copies >= 1, AVX512VL and AVX512BW; the destination",
		"must not overlap src.")
	// rows-16 and cols-32 (the starts of the last strip and block) stay in
	// their argument slots.
	ds16 := GP64()
	MOVQ(ds, ds16)
	SHLQ(U8(4), ds16)
	lo := func(i int) reg.Register { return zreg(i).AsY() }
	hi := func(i int) reg.Register { return zreg(16 + i).AsY() }
	xlo := func(i int) reg.Register { return zreg(i).AsX() }

	p, q, c := GP64(), GP64(), GP64()
	blockGrid("tr", 16, 32, func(i, j reg.GPVirtual) {
		loadBlock(p, i, j, src, ss, 16, lo)
		in, out := lo, hi
		for round := 0; round < 4; round++ {
			for k := 0; k < 8; k++ {
				VPUNPCKLBW(in(k+8), in(k), out(2*k))
				VPUNPCKHBW(in(k+8), in(k), out(2*k+1))
			}
			in, out = out, in
		}
		// Row k of the result: columns j+k (low lane) and j+16+k (high lane),
		// at dst + c*delta + (j+k)*ds + i for each copy c.
		MOVQ(j, q)
		IMULQ(ds, q)
		ADDQ(dst, q)
		ADDQ(i, q)
		for k := 0; k < 16; k++ {
			MOVQ(q, p)
			Load(Param("copies"), c)
			Label(fmt.Sprintf("tr_copy%d", k))
			VMOVDQU(xlo(k), Mem{Base: p})
			VEXTRACTI128(U8(1), lo(k), Mem{Base: p, Index: ds16, Scale: 1})
			ADDQ(paramMem("delta"), p)
			DECQ(c)
			JNZ(LabelRef(fmt.Sprintf("tr_copy%d", k)))
			if k < 15 {
				ADDQ(ds, q)
			}
		}
	})
	VZEROUPPER()
	RET()
}

// transposeAVX2 generates transposeBytesAVX2, the AVX2 byte transpose in
// blocks of 8 rows x 32 columns (the classic 8x16 transpose, twice, in the
// two 128-bit lanes): 8 ymm loads, three rounds of unpacks (bytes of row
// pairs, words, then dwords) that leave result rows 2k and 2k+1 of each
// lane in the low and high qword of Y8+k, and 32*copies 8-byte stores.
// Like transposeBytesAVX512 its last strip and block overlap the previous
// ones, so any rows >= 8 and cols >= 32 need no tail code.
func transposeAVX2() {
	dst, ds, src, ss := transposeText("transposeBytesAVX2",
		"It needs rows >= 8, cols >= 32, copies >= 1 and AVX2; the destination must not",
		"overlap src.")
	ds16, ds17 := GP64(), GP64() // 16*ds and 17*ds: the high lane's rows
	MOVQ(ds, ds16)
	SHLQ(U8(4), ds16)
	LEAQ(Mem{Base: ds16, Index: ds, Scale: 1}, ds17)
	y := func(i int) reg.Register { return zreg(i).AsY() }
	x := func(i int) reg.Register { return zreg(i).AsX() }

	p, q, c := GP64(), GP64(), GP64()
	blockGrid("tt", 8, 32, func(i, j reg.GPVirtual) {
		loadBlock(p, i, j, src, ss, 8, y)
		// Bytes of rows (2m, 2m+1): Y8+2m holds columns 0-7 of each lane
		// (two bytes per column), Y8+2m+1 columns 8-15.
		for m := 0; m < 4; m++ {
			VPUNPCKLBW(y(2*m+1), y(2*m), y(8+2*m))
			VPUNPCKHBW(y(2*m+1), y(2*m), y(8+2*m+1))
		}
		// Words: rows 0-3 (Y0-Y3) and 4-7 (Y4-Y7), four columns each,
		// four bytes per column.
		for h := 0; h < 2; h++ {
			a := 8 + 4*h
			VPUNPCKLWD(y(a+2), y(a), y(4*h))
			VPUNPCKHWD(y(a+2), y(a), y(4*h+1))
			VPUNPCKLWD(y(a+3), y(a+1), y(4*h+2))
			VPUNPCKHWD(y(a+3), y(a+1), y(4*h+3))
		}
		// Dwords: Y8+k holds result rows 2k and 2k+1 (eight bytes each).
		for m := 0; m < 4; m++ {
			VPUNPCKLDQ(y(4+m), y(m), y(8+2*m))
			VPUNPCKHDQ(y(4+m), y(m), y(8+2*m+1))
		}
		// Result row j+r (low lane) and j+16+r (high lane) at
		// dst + c*delta + (j+r)*ds + i.
		MOVQ(j, q)
		IMULQ(ds, q)
		ADDQ(dst, q)
		ADDQ(i, q)
		for k := 0; k < 8; k++ {
			VEXTRACTI128(U8(1), y(8+k), x(k))
			MOVQ(q, p)
			Load(Param("copies"), c)
			Label(fmt.Sprintf("tt_copy%d", k))
			VMOVQ(x(8+k), Mem{Base: p})
			VMOVHPS(x(8+k), Mem{Base: p, Index: ds, Scale: 1})
			VMOVQ(x(k), Mem{Base: p, Index: ds16, Scale: 1})
			VMOVHPS(x(k), Mem{Base: p, Index: ds17, Scale: 1})
			ADDQ(paramMem("delta"), p)
			DECQ(c)
			JNZ(LabelRef(fmt.Sprintf("tt_copy%d", k)))
			if k < 7 {
				LEAQ(Mem{Base: q, Index: ds, Scale: 2}, q)
			}
		}
	})
	VZEROUPPER()
	RET()
}

// transposeText starts a byte-transpose kernel: its TEXT and doc (need
// says what it requires) and the loads of its pointers and strides.
func transposeText(name string, need ...string) (dst, ds, src, ss reg.GPVirtual) {
	TEXT(name, NOSPLIT, "func(dst *byte, ds int, src *byte, ss int, rows, cols, copies, delta int)")
	Doc(append([]string{name + " sets dst[c*delta+j*ds+i] = src[i*ss+j] for i < rows, j < cols, c < copies."}, need...)...)
	dst, ds, src, ss = GP64(), GP64(), GP64(), GP64()
	Load(Param("dst"), dst)
	Load(Param("ds"), ds)
	Load(Param("src"), src)
	Load(Param("ss"), ss)
	return dst, ds, src, ss
}

// loadBlock loads the rows rows of a transpose block at src + i*ss + j
// into dst(0), ..., dst(rows-1), 32 bytes each, with p as the row pointer.
func loadBlock(p, i, j, src, ss reg.Register, rows int, dst func(int) reg.Register) {
	MOVQ(i, p)
	IMULQ(ss, p)
	ADDQ(src, p)
	ADDQ(j, p)
	for r := 0; r < rows; r++ {
		VMOVDQU(Mem{Base: p}, dst(r))
		if r < rows-1 {
			ADDQ(ss, p)
		}
	}
}

// blockGrid generates the loops over the blocks of rows x cols values of a
// transpose kernel whose "rows" and "cols" parameters are the matrix's
// (at least one block each): rows strips from i = 0 and column blocks from
// j = 0, block(i, j) for each, the last strip and block starting at
// rows-rowStep and cols-colStep so that they overlap the previous ones
// instead of needing tail code. It subtracts the steps from the rows and
// cols argument slots, where the loops read them.
func blockGrid(prefix string, rowStep, colStep int, block func(i, j reg.GPVirtual)) {
	rowsArg, colsArg := paramMem("rows"), paramMem("cols")
	SUBQ(U8(rowStep), rowsArg)
	SUBQ(U8(colStep), colsArg)
	i, j := GP64(), GP64()
	XORQ(i, i)
	Label(prefix + "_rows")
	XORQ(j, j)
	Label(prefix + "_cols")
	block(i, j)
	// Next column block; the last one starts at cols-colStep.
	CMPQ(j, colsArg)
	JEQ(LabelRef(prefix + "_cols_done"))
	ADDQ(U8(colStep), j)
	CMPQ(j, colsArg)
	JLE(LabelRef(prefix + "_cols"))
	MOVQ(colsArg, j)
	JMP(LabelRef(prefix + "_cols"))
	Label(prefix + "_cols_done")
	// Next row strip; the last one starts at rows-rowStep.
	CMPQ(i, rowsArg)
	JEQ(LabelRef(prefix + "_done"))
	ADDQ(U8(rowStep), i)
	CMPQ(i, rowsArg)
	JLE(LabelRef(prefix + "_rows"))
	MOVQ(rowsArg, i)
	JMP(LabelRef(prefix + "_rows"))
	Label(prefix + "_done")
}

// transpose32 generates transpose32AVX512, the 32-bit version of
// transposeBytesAVX512 in 16x16 blocks (one zmm per row): VPUNPCKLDQ/HDQ
// and VPUNPCKLQDQ/HQDQ transpose the 4x4 blocks inside each 128-bit lane,
// then two rounds of VSHUFI32X4 transpose the 4x4 grid of lanes. Rounds
// alternate between Z0-Z15 and Z16-Z31, ending in Z0-Z15; the last row
// strip and column block overlap the previous ones (rows, cols >= 16).
func transpose32() {
	name := "transpose32AVX512"
	TEXT(name, NOSPLIT, "func(dst *int32, ds int, src *int32, ss int, rows, cols int)")
	Doc(name+" sets dst[j*ds+i] = src[i*ss+j] for i < rows, j < cols (strides in elements).",
		"It needs rows >= 16 and cols >= 16; dst and src must not overlap.")
	dst := Load(Param("dst"), GP64())
	ds := Load(Param("ds"), GP64())
	src := Load(Param("src"), GP64())
	ss := Load(Param("ss"), GP64())
	SHLQ(U8(2), ds)
	SHLQ(U8(2), ss)
	A := func(i int) reg.VecPhysical { return zreg(i) }
	B := func(i int) reg.VecPhysical { return zreg(16 + i) }

	p := GP64()
	blockGrid("t32", 16, 16, func(i, j reg.GPVirtual) {
		// Load the block at src + (i*ss + j)*4.
		MOVQ(i, p)
		IMULQ(ss, p)
		ADDQ(src, p)
		LEAQ(Mem{Base: p, Index: j, Scale: 4}, p)
		for r := 0; r < 16; r++ {
			VMOVDQU32(Mem{Base: p}, A(r))
			if r < 15 {
				ADDQ(ss, p)
			}
		}
		// Inside each lane: rows 2k, 2k+1 -> dword pairs; then quad pairs:
		// b[4m+c] lane L = column 4L+c of rows 4m..4m+3.
		for k := 0; k < 8; k++ {
			VPUNPCKLDQ(A(2*k+1), A(2*k), B(2*k))
			VPUNPCKHDQ(A(2*k+1), A(2*k), B(2*k+1))
		}
		for m := 0; m < 4; m++ {
			VPUNPCKLQDQ(B(4*m+2), B(4*m), A(4*m))
			VPUNPCKHQDQ(B(4*m+2), B(4*m), A(4*m+1))
			VPUNPCKLQDQ(B(4*m+3), B(4*m+1), A(4*m+2))
			VPUNPCKHQDQ(B(4*m+3), B(4*m+1), A(4*m+3))
		}
		// Lanes: for each c, out[4L+c] = [b[c].L, b[4+c].L, b[8+c].L, b[12+c].L].
		for c := 0; c < 4; c++ {
			b0, b1, b2, b3 := A(c), A(4+c), A(8+c), A(12+c)
			t0, t1, t2, t3 := B(4*c), B(4*c+1), B(4*c+2), B(4*c+3)
			VSHUFI32X4(U8(0x44), b1, b0, t0) // [b0.0 b0.1 b1.0 b1.1]
			VSHUFI32X4(U8(0xee), b1, b0, t1) // [b0.2 b0.3 b1.2 b1.3]
			VSHUFI32X4(U8(0x44), b3, b2, t2)
			VSHUFI32X4(U8(0xee), b3, b2, t3)
		}
		for c := 0; c < 4; c++ {
			t0, t1, t2, t3 := B(4*c), B(4*c+1), B(4*c+2), B(4*c+3)
			VSHUFI32X4(U8(0x88), t2, t0, A(c))    // lane 0 of b0..b3: row c
			VSHUFI32X4(U8(0xdd), t2, t0, A(4+c))  // lane 1: row 4+c
			VSHUFI32X4(U8(0x88), t3, t1, A(8+c))  // lane 2: row 8+c
			VSHUFI32X4(U8(0xdd), t3, t1, A(12+c)) // lane 3: row 12+c
		}
		// Row k of the result (column j+k of src) at dst + ((j+k)*ds + i)*4.
		MOVQ(j, p)
		IMULQ(ds, p)
		ADDQ(dst, p)
		LEAQ(Mem{Base: p, Index: i, Scale: 4}, p)
		for k := 0; k < 16; k++ {
			VMOVDQU32(A(k), Mem{Base: p})
			if k < 15 {
				ADDQ(ds, p)
			}
		}
	})
	VZEROUPPER()
	RET()
}

// zreg returns the physical register Z<i>.
func zreg(i int) reg.VecPhysical {
	return []reg.VecPhysical{
		reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7,
		reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15,
		reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23,
		reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31,
	}[i]
}

// paramMem returns the stack slot of a scalar parameter.
func paramMem(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

func main() {
	Constraint(buildtags.Term("amd64"))
	Constraint(buildtags.Not("purego"))
	quantize("quantDivAVX512", true)
	quantize("quantMulAVX512", false)
	quantizeNT("quantDivNTAVX512", true)
	quantizeNT("quantMulNTAVX512", false)
	quantizeAVX2("quantDivAVX2", true)
	quantizeAVX2("quantMulAVX2", false)
	dequantizeAVX2("dequantS8AVX2", true)
	dequantizeAVX2("dequantU8AVX2", false)
	requantizeAVX2(false)
	requantizeAVX2(true)
	floatColsAVX2()
	minmaxAVX2()
	histogramAVX2()
	histogramAligned32AVX2()
	dequantize("dequantS8AVX512", true, false)
	dequantize("dequantU8AVX512", false, false)
	dequantize("dequantS8NTAVX512", true, true)
	dequantize("dequantU8NTAVX512", false, true)
	requantize()
	minmax()
	histogram()
	histogramAligned()
	histogramAligned32()
	for _, mul := range []bool{false, true} {
		for _, signed := range []bool{false, true} {
			binaryAVX512(mul, signed)
			binaryAVX2(mul, signed)
		}
	}
	maxBytesAVX2()
	maxPairsAVX2()
	transpose()
	transposeAVX2()
	transpose32()
	Generate()
}
