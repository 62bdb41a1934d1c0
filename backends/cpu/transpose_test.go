package cpu

import (
	"math/rand/v2"
	"testing"
)

// TestTransposeBytes checks the blocked transpose against the definition
// at sizes on both sides of the 8x8 block, with strides wider than the
// matrix and guard bytes after dst.
func TestTransposeBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, rows := range []int{1, 7, 8, 9, 16, 23, 64} {
		for _, cols := range []int{1, 5, 8, 13, 56, 64} {
			ss, ds := cols+3, rows+5
			src := make([]byte, rows*ss)
			for i := range src {
				src[i] = byte(r.IntN(256))
			}
			dst := make([]byte, cols*ds+16)
			for i := range dst {
				dst[i] = 0xA5
			}
			transposeBytes(dst, ds, src, ss, rows, cols)
			for i := range rows {
				for j := range cols {
					if dst[j*ds+i] != src[i*ss+j] {
						t.Fatalf("%dx%d: dst[%d][%d] = %d, want %d", rows, cols, j, i, dst[j*ds+i], src[i*ss+j])
					}
				}
			}
			for j := range cols { // bytes between rows and after the end untouched
				for k := rows; k < ds && j*ds+k < len(dst); k++ {
					if dst[j*ds+k] != 0xA5 {
						t.Fatalf("%dx%d: wrote outside the matrix at row %d col %d", rows, cols, j, k)
					}
				}
			}
		}
	}
}
