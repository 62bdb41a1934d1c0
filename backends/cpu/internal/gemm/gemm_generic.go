package gemm

import (
	"encoding/binary"
	"unsafe"
)

// tileGeneric is the pure Go micro-kernel, the reference for the assembly
// ones (same inputs, same result). It handles two rows at a time so each
// packed B word (one column's four K values) is loaded once per row pair.
func tileGeneric(t *tile) {
	kg := t.kg
	bb := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(t.b))), len(t.b))[:256*kg]
	var x uint8
	if t.signed {
		x = 0x80
	}
	nrows := t.mr * t.nt
	for r := 0; r < nrows; r += 2 {
		var acc0, acc1 [PanelCols]int32
		row0 := t.rows[r][:4*kg]
		if r+1 == nrows {
			// Last odd row alone.
			for g := 0; g < kg; g++ {
				a0, a1, a2, a3 := int32(row0[4*g]^x), int32(row0[4*g+1]^x), int32(row0[4*g+2]^x), int32(row0[4*g+3]^x)
				bg := bb[g*256 : g*256+256]
				for j := range acc0 {
					w := binary.LittleEndian.Uint32(bg[4*j:])
					acc0[j] += a0*int32(int8(w)) + a1*int32(int8(w>>8)) + a2*int32(int8(w>>16)) + a3*int32(int8(w>>24))
				}
			}
		}
		row1 := row0
		if r+1 < nrows {
			row1 = t.rows[r+1][:4*kg]
		}
		for g := 0; g < kg && r+1 < nrows; g++ {
			a0, a1, a2, a3 := int32(row0[4*g]^x), int32(row0[4*g+1]^x), int32(row0[4*g+2]^x), int32(row0[4*g+3]^x)
			c0, c1, c2, c3 := int32(row1[4*g]^x), int32(row1[4*g+1]^x), int32(row1[4*g+2]^x), int32(row1[4*g+3]^x)
			bg := bb[g*256 : g*256+256]
			for j := range acc0 {
				w := binary.LittleEndian.Uint32(bg[4*j:])
				b0, b1 := int32(int8(w)), int32(int8(w>>8))
				b2, b3 := int32(int8(w>>16)), int32(int8(w>>24))
				acc0[j] += a0*b0 + a1*b1 + a2*b2 + a3*b3
				acc1[j] += c0*b0 + c1*b1 + c2*b2 + c3*b3
			}
		}
		for i, acc := range [2]*[PanelCols]int32{&acc0, &acc1} {
			if r+i >= nrows {
				break
			}
			crow := t.c[(r+i)*t.ldc : (r+i)*t.ldc+t.ncols]
			for n := range crow {
				v := acc[n]
				if t.off != nil {
					v += t.off[n]
				}
				if t.load {
					v += crow[n]
				}
				crow[n] = v
			}
		}
	}
}
