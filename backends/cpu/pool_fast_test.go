package cpu

import (
	"math/rand/v2"
	"testing"
)

// TestSumBytes checks the eight-at-a-time byte sum against a plain loop on
// lengths around the word size and past the 128-word blocks, with all
// bytes 0xff (the lane overflow case) and random bytes.
func TestSumBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 1023, 1024, 1025, 2047, 2048, 5000} {
		for _, full := range []bool{true, false} {
			s := make([]byte, n)
			var want int64
			for i := range s {
				s[i] = 0xff
				if !full {
					s[i] = byte(r.Uint32())
				}
				want += int64(s[i])
			}
			if got := sumBytes(s); got != want {
				t.Errorf("n=%d full=%v: sumBytes = %d, want %d", n, full, got, want)
			}
		}
	}
}

// TestValidRange checks validRange against the definition for small
// geometries, padding on both sides included.
func TestValidRange(t *testing.T) {
	for base := -9; base <= 12; base++ {
		for step := 1; step <= 4; step++ {
			for count := 1; count <= 5; count++ {
				for limit := 1; limit <= 8; limit++ {
					lo, hi := validRange(base, step, count, limit)
					for k := range count {
						in := base+k*step >= 0 && base+k*step < limit
						if in != (k >= lo && k < hi) {
							t.Fatalf("base %d step %d count %d limit %d: [%d, %d) vs k=%d inside=%v", base, step, count, limit, lo, hi, k, in)
						}
					}
				}
			}
		}
	}
}
