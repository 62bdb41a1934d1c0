package gemm

// tileGeneric is the pure Go micro-kernel, the reference for the assembly
// ones (same inputs, same result).
func tileGeneric(t *tile) {
	kg := t.kg
	bb := t.b[:256*kg]
	var x uint8
	if t.signed {
		x = 0x80
	}
	for r := 0; r < t.mr*t.nt; r++ {
		var acc [PanelCols]int32
		row := t.rows[r][:4*kg]
		for g := 0; g < kg; g++ {
			a0 := int32(row[4*g] ^ x)
			a1 := int32(row[4*g+1] ^ x)
			a2 := int32(row[4*g+2] ^ x)
			a3 := int32(row[4*g+3] ^ x)
			bg := bb[g*256 : g*256+256]
			for j := range acc {
				q := bg[4*j : 4*j+4 : 4*j+4]
				acc[j] += a0*int32(q[0]) + a1*int32(q[1]) + a2*int32(q[2]) + a3*int32(q[3])
			}
		}
		crow := t.c[r*t.ldc : r*t.ldc+t.ncols]
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
