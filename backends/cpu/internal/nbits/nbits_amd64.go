//go:build amd64 && !purego

package nbits

import (
	"golang.org/x/sys/cpu"

	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
)

//go:generate go run -C asmgen . -out ../nbits_amd64.s -stubs ../stub_amd64.go -pkg nbits

// hasAVX512 reports AVX-512 F, BW, VL and VNNI (x/sys/cpu also checks that
// the OS saves the zmm and opmask state).
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI

// hasAVX2 reports AVX2.
var hasAVX2 = cpu.X86.HasAVX2

// floatGroup runs the float kernel on one column group (GroupWidth columns
// from n0, whose weight rows, scales and zero points w holds) for rows
// rows of the interleaved activations a; y gets rows x GroupWidth values.
func floatGroup(y []float32, a []float32, rows int, w *Weights, n0 int, sidx []int32) {
	nb := w.blocks()
	row := w.Data[n0*w.RowLen/2:]
	sc := &w.Scales[n0*nb]
	var zp *int32
	if !w.UniformZP {
		zp = &w.ZeroPoints[n0*nb]
	}
	zpc, zpbias, c := w.floatConsts()
	ldw, k, bs := w.RowLen/2, w.K, w.BlockSize
	if Current() == isa.AVX512 {
		switch rows {
		case 1:
			floatR1AVX512(&y[0], &a[0], &row[0], ldw, sc, &sidx[0], zp, zpc, zpbias, c, k, bs)
		case 2:
			floatR2AVX512(&y[0], &a[0], &row[0], ldw, sc, &sidx[0], zp, zpc, zpbias, c, k, bs)
		case 3:
			floatR3AVX512(&y[0], &a[0], &row[0], ldw, sc, &sidx[0], zp, zpc, zpbias, c, k, bs)
		default:
			floatR4AVX512(&y[0], &a[0], &row[0], ldw, sc, &sidx[0], zp, zpc, zpbias, c, k, bs)
		}
		return
	}
	st := 4 * nb
	if rows == 1 {
		floatR1AVX2(&y[0], &a[0], &row[0], ldw, sc, st, zp, zpc, zpbias, c, k, bs)
	} else {
		floatR2AVX2(&y[0], &a[0], &row[0], ldw, sc, st, zp, zpc, zpbias, c, k, bs)
	}
}

// int8Group runs the int8 kernel on one column group for row tile t of p.
func int8Group(y []float32, p *Int8Acts, t int, w *Weights, n0 int, sidx []int32) {
	nb := w.blocks()
	row := w.Data[n0*w.RowLen/2:]
	sc := &w.Scales[n0*nb]
	var zp *int32
	if !w.UniformZP {
		zp = &w.ZeroPoints[n0*nb]
	}
	_, _, c := w.int8Consts()
	aq, scs := &p.aq[t][0], &p.sc[t][0]
	ldw, chunks := w.RowLen/2, w.BlockSize/32
	switch p.rows(t) {
	case 1:
		int8R1AVX512(&y[0], aq, &row[0], ldw, sc, &sidx[0], zp, w.off(), c, nb, chunks, scs)
	case 2:
		int8R2AVX512(&y[0], aq, &row[0], ldw, sc, &sidx[0], zp, w.off(), c, nb, chunks, scs)
	case 3:
		int8R3AVX512(&y[0], aq, &row[0], ldw, sc, &sidx[0], zp, w.off(), c, nb, chunks, scs)
	default:
		int8R4AVX512(&y[0], aq, &row[0], ldw, sc, &sidx[0], zp, w.off(), c, nb, chunks, scs)
	}
}
