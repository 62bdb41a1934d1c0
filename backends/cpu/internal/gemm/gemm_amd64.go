//go:build amd64 && !purego

package gemm

import (
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
)

//go:generate go run -C asmgen . -out ../kernel_amd64.s -stubs ../stub_amd64.go -pkg gemm

// hasVNNI reports AVX-512 F/BW/VNNI support (BW for the 64-bit opmasks);
// x/sys/cpu also checks that the OS saves the zmm and opmask state.
var hasVNNI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI

// hasAVX2 reports AVX2 support (with OS support for the ymm state).
var hasAVX2 = cpu.X86.HasAVX2

func kernelFor(v isa.ISA) microKernel {
	switch v {
	case isa.AVX512:
		return tileVNNI
	case isa.AVX2:
		return tileAVX2
	}
	return tileGeneric
}

// tileAVX2 computes t with the AVX2 kernels, up to six rows at a time:
// the rows are widened to int16 once (avx2Widen, into t.wide), then
// avx2Tile_<mr> runs the whole panel in blocks of eight columns and adds
// the offset and the old C itself.
func tileAVX2(t *tile) {
	nrows := t.mr * t.nt
	n := 4 * t.kg
	// Bounds the kernels rely on, checked once per call.
	_ = t.ptrs[nrows-1]
	_ = t.b[256*t.kg-1]
	_ = t.c[(nrows-1)*t.ldc+t.ncols-1]
	off := &zeroOffsets[0]
	if t.off != nil {
		_ = t.off[PanelCols-1]
		off = &t.off[0]
	}
	if need := min(avx2Rows, nrows) * n; len(t.wide) < need {
		t.wide = make([]int16, max(need, 2*len(t.wide)))
	}
	flip, flags := 0, 0
	if t.signed {
		flip = 1
	}
	if t.load {
		flags = 1
	}
	for r0 := 0; r0 < nrows; r0 += avx2Rows {
		mr := min(avx2Rows, nrows-r0)
		for i := range mr {
			avx2Widen(t.ptrs[r0+i], &t.wide[i*n], n, flip)
		}
		j0 := 0
		if mr == 1 { // a single row: 32 columns at a time, then the rest
			for ; j0+32 <= t.ncols; j0 += 32 {
				avx2Row32(&t.wide[0], &t.b[4*j0], t.kg, &t.c[r0*t.ldc+j0], (*int32)(unsafe.Add(unsafe.Pointer(off), 4*j0)), flags)
			}
			if j0 == t.ncols {
				continue
			}
		}
		avx2Kern[mr](&t.wide[0], 2*n, &t.b[4*j0], t.kg, &t.c[r0*t.ldc+j0], t.ldc, (*int32)(unsafe.Add(unsafe.Pointer(off), 4*j0)), t.ncols-j0, flags)
	}
}

// avx2Rows is the most rows one AVX2 kernel call computes.
const avx2Rows = 6

// avx2Kern are the AVX2 kernels by row count (index 1..6).
var avx2Kern = [avx2Rows + 1]func(a *int16, lda int, b *int8, kg int, c *int32, ldc int, off *int32, ncols int, flags int){
	nil, avx2Tile_1, avx2Tile_2, avx2Tile_3, avx2Tile_4, avx2Tile_5, avx2Tile_6,
}

// zeroOffsets stands in for a nil tile offset.
var zeroOffsets [PanelCols]int32

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
	// The narrow kernels compute the first 16 or 32 columns of the panel
	// only, for panels of no more columns.
	w := 0
	switch {
	case t.ncols <= 16:
		w = 2
	case t.ncols <= 32:
		w = 1
	}
	k := kernU8[w][t.mr]
	if t.signed {
		k = kernS8[w][t.mr]
	}
	k(a, b, c, ldc, kg, mask, bias, flags, nt, out, ldout, mult, lo, hi, zp, fbias, segs, segStride, 0)
}

// vnniKernel is the signature of the generated VPDPBUSD kernels.
type vnniKernel func(a **uint8, b *int8, c *int32, ldc int, kg int, mask uint64, bias *int32, flags int, ntiles int,
	out *uint8, ldout int, mult *float32, lo, hi float32, zp int32, fbias *float32, segs, segstride, segleft int)

// kernU8 and kernS8 are the kernels by width (64, 32, 16 columns) and
// tile height MR (index 1..6).
var (
	kernU8 = [3][MR + 1]vnniKernel{
		{nil, kernU8S8x64_1, kernU8S8x64_2, kernU8S8x64_3, kernU8S8x64_4, kernU8S8x64_5, kernU8S8x64_6},
		{nil, kernU8S8x32_1, kernU8S8x32_2, kernU8S8x32_3, kernU8S8x32_4, kernU8S8x32_5, kernU8S8x32_6},
		{nil, kernU8S8x16_1, kernU8S8x16_2, kernU8S8x16_3, kernU8S8x16_4, kernU8S8x16_5, kernU8S8x16_6},
	}
	kernS8 = [3][MR + 1]vnniKernel{
		{nil, kernS8S8x64_1, kernS8S8x64_2, kernS8S8x64_3, kernS8S8x64_4, kernS8S8x64_5, kernS8S8x64_6},
		{nil, kernS8S8x32_1, kernS8S8x32_2, kernS8S8x32_3, kernS8S8x32_4, kernS8S8x32_5, kernS8S8x32_6},
		{nil, kernS8S8x16_1, kernS8S8x16_2, kernS8S8x16_3, kernS8S8x16_4, kernS8S8x16_5, kernS8S8x16_6},
	}
)

// kernelOutput reports whether the micro-kernels of v write a finished
// tile's requantized or float output themselves (tile.out).
func kernelOutput(v isa.ISA) bool { return v == isa.AVX512 }

// kernelSegments reports whether the micro-kernels of v walk A rows made
// of several segments (tile.segs > 1) themselves.
func kernelSegments(v isa.ISA) bool { return v == isa.AVX512 }

// peak runs v's in-register throughput loop n times and returns the int
// ops of one iteration (0 where this build or CPU has none): VPDPBUSD zmm
// for isa.AVX512, the AVX2 kernels' VPMADDWD + VPADDD pairs for AVX2.
func peak(v isa.ISA, n int) int {
	switch {
	case n <= 0:
	case v == isa.AVX512 && hasVNNI:
		peakVNNI(n)
		return 3072
	case v == isa.AVX2 && hasAVX2:
		peakAVX2(n)
		return 384
	}
	return 0
}
