//go:build amd64 && !purego

package gemm

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate go run -C asmgen . -out ../kernel_amd64.s -stubs ../stub_amd64.go -pkg gemm

// hasVNNI reports AVX-512 F/BW/VNNI support (BW for the 64-bit opmasks);
// x/sys/cpu also checks that the OS saves the zmm and opmask state.
var hasVNNI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI

// hasAVX2 reports AVX2 support (with OS support for the ymm state).
var hasAVX2 = cpu.X86.HasAVX2

func kernelFor(isa ISA) microKernel {
	switch isa {
	case AVX512VNNI:
		return tileVNNI
	case AVX2:
		return tileAVX2
	}
	return tileGeneric
}

// tileAVX2 computes t with avx2Tile2x16 on pairs of rows and 16-column
// chunks of the panel, then adds the offset and the old C in Go.
func tileAVX2(t *tile) {
	var out [32]int32
	sg := 0
	if t.signed {
		sg = 1
	}
	nrows := t.mr * t.nt
	for r := 0; r < nrows; r += 2 {
		a0 := t.ptrs[r]
		a1 := a0
		nr := min(2, nrows-r)
		if nr == 2 {
			a1 = t.ptrs[r+1]
		}
		for j0 := 0; j0 < t.ncols; j0 += 16 {
			avx2Tile2x16(a0, a1, &t.b[4*j0], t.kg, &out, sg)
			nc := min(16, t.ncols-j0)
			var off []int32
			if t.off != nil {
				off = t.off[j0 : j0+nc]
			}
			for i := 0; i < nr; i++ {
				crow := t.c[(r+i)*t.ldc+j0 : (r+i)*t.ldc+j0+nc]
				o := out[16*i : 16*i+nc]
				// One loop per case, without per-element branches.
				switch {
				case off != nil && t.load:
					for n := range crow {
						crow[n] += o[n] + off[n]
					}
				case off != nil:
					for n := range crow {
						crow[n] = o[n] + off[n]
					}
				case t.load:
					for n := range crow {
						crow[n] += o[n]
					}
				default:
					copy(crow, o)
				}
			}
		}
	}
}

// tileVNNI runs the generated VPDPBUSD kernel for t.
func tileVNNI(t *tile) {
	// Bounds the kernel relies on, checked once per call.
	_ = t.ptrs[t.mr*t.nt-1]
	_ = t.b[256*t.kg*t.segs-1]
	_ = t.c[(t.mr*t.nt-1)*t.ldc+t.ncols-1]
	mask := ^uint64(0)
	if t.ncols < PanelCols {
		mask = 1<<uint(t.ncols) - 1
	}
	var bias *int32
	if t.off != nil {
		_ = t.off[PanelCols-1]
		bias = &t.off[0]
	}
	flags := 0
	if t.load {
		flags = 1
	}
	var out *uint8
	var mult, fbias *float32
	var lo, hi float32
	var zp int32
	ldout := 0
	if o := t.out; o != nil { // the kernel writes the output from the registers, not C
		last := (t.mr*t.nt-1)*o.ld + t.ncols - 1
		_ = o.mult[t.ncols-1]
		mult = &o.mult[0]
		if o.float {
			_, _ = o.outF[last], o.bias[t.ncols-1]
			flags |= 4
			out, ldout, fbias = (*uint8)(unsafe.Pointer(&o.outF[0])), 4*o.ld, &o.bias[0]
		} else {
			_ = o.out8[last]
			flags |= 2
			out, ldout, lo, hi, zp = &o.out8[0], o.ld, o.lo, o.hi, o.zp
		}
	}
	a, b, c, ldc, kg, nt := &t.ptrs[0], &t.b[0], &t.c[0], t.ldc, t.kg, t.nt
	segs, segStride := t.segs, t.segStride
	k := kernU8[t.mr]
	if t.signed {
		k = kernS8[t.mr]
	}
	k(a, b, c, ldc, kg, mask, bias, flags, nt, out, ldout, mult, lo, hi, zp, fbias, segs, segStride, 0)
}

// vnniKernel is the signature of the generated VPDPBUSD kernels.
type vnniKernel func(a **uint8, b *int8, c *int32, ldc int, kg int, mask uint64, bias *int32, flags int, ntiles int,
	out *uint8, ldout int, mult *float32, lo, hi float32, zp int32, fbias *float32, segs, segstride, segleft int)

// kernU8 and kernS8 are the kernels by tile height MR (index 1..6).
var (
	kernU8 = [MR + 1]vnniKernel{nil, kernU8S8x64_1, kernU8S8x64_2, kernU8S8x64_3, kernU8S8x64_4, kernU8S8x64_5, kernU8S8x64_6}
	kernS8 = [MR + 1]vnniKernel{nil, kernS8S8x64_1, kernS8S8x64_2, kernS8S8x64_3, kernS8S8x64_4, kernS8S8x64_5, kernS8S8x64_6}
)

// kernelOutput reports whether the micro-kernels of isa write a finished
// tile's requantized or float output themselves (tile.out).
func kernelOutput(isa ISA) bool { return isa == AVX512VNNI }

// kernelSegments reports whether the micro-kernels of isa walk A rows made
// of several segments (tile.segs > 1) themselves.
func kernelSegments(isa ISA) bool { return isa == AVX512VNNI }

// peak runs the in-register VPDPBUSD loop n times (3072 int ops each) and
// reports whether it could.
func peak(n int) bool {
	if !hasVNNI || n <= 0 {
		return false
	}
	peakVNNI(n)
	return true
}
