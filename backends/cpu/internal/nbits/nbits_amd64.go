//go:build amd64 && !purego

package nbits

import (
	"golang.org/x/sys/cpu"
)

//go:generate go run -C asmgen . -out ../nbits_amd64.s -stubs ../stub_amd64.go -pkg nbits

// hasAVX512 reports AVX-512 F, BW, VL and VNNI (x/sys/cpu also checks that
// the OS saves the zmm and opmask state).
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI

// hasAVX2 reports AVX2.
var hasAVX2 = cpu.X86.HasAVX2

type floatKernel func(y *float32, a *float32, w *byte, gs int, scales *float32, zp *int32, sgs int, tab *float32, zpbias uint32, c uint32, k int, bs int)

type int8Kernel func(y *float32, aq *int32, w *byte, gs int, scales *float32, zp *int32, sgs int, zpoff int32, blocks int, chunks int, sc *int32)

// The AVX-512 kernels by (groups, rows).
var (
	floatKernels = map[[2]int]floatKernel{
		{1, 1}: floatC1R1AVX512, {1, 2}: floatC1R2AVX512, {1, 3}: floatC1R3AVX512, {1, 4}: floatC1R4AVX512,
		{2, 1}: floatC2R1AVX512, {2, 2}: floatC2R2AVX512, {4, 1}: floatC4R1AVX512,
		{2, 4}: floatC2R4AVX512, {1, 8}: floatC1R8AVX512,
	}
	int8Kernels = map[[2]int]int8Kernel{
		{1, 1}: int8C1R1AVX512, {1, 2}: int8C1R2AVX512, {1, 3}: int8C1R3AVX512, {1, 4}: int8C1R4AVX512,
		{2, 1}: int8C2R1AVX512, {2, 2}: int8C2R2AVX512, {4, 1}: int8C4R1AVX512,
	}
)

// groupParams returns the packed weights, scales and zero points (nil:
// uniform) of group gi and the scales' bytes per group.
func groupParams(w *Weights, pn *Panels, gi int) (panel *byte, sc *float32, zp *int32, sgs int) {
	nb := w.blocks()
	sgs = nb * pn.width
	sc = &pn.scales[gi*sgs]
	if pn.zps != nil {
		zp = &pn.zps[gi*sgs]
	}
	return &pn.data[gi*pn.groupBytes], sc, zp, 4 * sgs
}

// floatGroups runs the float kernel on groups column groups of the panels
// pn from group gi, rows rows of the interleaved activations a; y gets
// rows x (groups*width) values.
func floatGroups(y []float32, a []float32, rows, groups int, w *Weights, pn *Panels, gi int, tab *[16]float32) {
	panel, sc, zp, sgs := groupParams(w, pn, gi)
	zpc, zpbias, c := w.floatConsts()
	k, bs := w.K, w.BlockSize
	if pn.width == 16 {
		var tp *float32
		if tab != nil {
			tp = &tab[0]
		}
		floatKernels[[2]int{groups, rows}](&y[0], &a[0], panel, pn.groupBytes, sc, zp, sgs, tp, zpbias, c, k, bs)
		return
	}
	if rows == 1 {
		floatR1AVX2(&y[0], &a[0], panel, pn.groupBytes, sc, zp, sgs, zpc, zpbias, c, k, bs)
	} else {
		floatR2AVX2(&y[0], &a[0], panel, pn.groupBytes, sc, zp, sgs, zpc, zpbias, c, k, bs)
	}
}

// int8Groups runs the int8 kernel on groups column groups from group gi
// for row tile t of p.
func int8Groups(y []float32, p *Int8Acts, t, groups int, w *Weights, pn *Panels, gi int) {
	panel, sc, zp, sgs := groupParams(w, pn, gi)
	k := int8Kernels[[2]int{groups, p.rows(t)}]
	if pn.width == 8 {
		k = int8R1AVX2
		if p.rows(t) == 2 {
			k = int8R2AVX2
		}
	}
	k(&y[0], &p.aq[t][0], panel, pn.groupBytes, sc, zp, sgs, w.off(), w.blocks(), w.BlockSize/32, &p.sc[t][0])
}
