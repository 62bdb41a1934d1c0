package vec

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
)

// TestTransposeBytes checks TransposeBytes under each ISA against the
// definition: sizes on both sides of the 8x8 and 16x32 blocks (so that the
// assembly's overlapping last strips and blocks are exercised), strides
// wider than the matrix, and guard bytes between and after dst's rows that
// must stay untouched.
func TestTransposeBytes(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, rows := range []int{1, 7, 8, 9, 15, 16, 17, 23, 31, 32, 33, 56, 64, 70} {
			for _, cols := range []int{1, 5, 8, 13, 31, 32, 33, 47, 56, 64, 65, 100} {
				for _, pad := range []int{0, 3} {
					checkTranspose(t, r, rows, cols, cols+pad, rows+2*pad)
				}
			}
		}
	})
}

func checkTranspose(t *testing.T, r *rand.Rand, rows, cols, ss, ds int) {
	t.Helper()
	name := fmt.Sprintf("%dx%d ss=%d ds=%d", rows, cols, ss, ds)
	src := make([]byte, (rows-1)*ss+cols)
	for i := range src {
		src[i] = byte(r.IntN(256))
	}
	dst := make([]byte, (cols-1)*ds+rows+16)
	for i := range dst {
		dst[i] = 0xA5
	}
	TransposeBytes(dst, ds, src, ss, rows, cols)
	for i := range rows {
		for j := range cols {
			if dst[j*ds+i] != src[i*ss+j] {
				t.Fatalf("%s: dst[%d][%d] = %d, want %d", name, j, i, dst[j*ds+i], src[i*ss+j])
			}
		}
	}
	for j := range cols { // bytes between rows and after the end untouched
		for k := rows; k < ds && j*ds+k < len(dst); k++ {
			if dst[j*ds+k] != 0xA5 {
				t.Fatalf("%s: wrote outside the matrix at row %d col %d", name, j, k)
			}
		}
	}
	for k := (cols-1)*ds + rows; k < len(dst); k++ {
		if dst[k] != 0xA5 {
			t.Fatalf("%s: wrote past the end at %d", name, k)
		}
	}
}

func TestTransposeBytesPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("short src: no panic")
		}
	}()
	TransposeBytes(make([]byte, 64), 2, make([]byte, 10), 32, 2, 32)
}

// BenchmarkTransposeBytes times the two transposes of a 64-channel 56x56
// 3x3 convolution: staging (64 channel rows of 56 bytes, per image row)
// and the output (56 pixels of 64 channels, per output row).
func BenchmarkTransposeBytes(b *testing.B) {
	for _, impl := range []isa.ISA{isa.Generic, isa.AVX2, isa.AVX512} {
		if !Supported(impl) {
			continue
		}
		for _, c := range []struct {
			name                     string
			rows, cols, ss, ds, step int // step 0: staging offsets, 1: output offsets
		}{
			// Staging: channel rows of 56 bytes (stride H*W) to [w][c].
			{"stage64x56", 64, 56, 56 * 56, 64, 0},
			// Output: 56 pixels of 64 channels to channel rows (stride OH*OW).
			{"out56x64", 56, 64, 64, 56 * 56, 1},
		} {
			b.Run(fmt.Sprintf("%v/%s", impl, c.name), func(b *testing.B) {
				restore, _ := SetISA(impl)
				defer restore()
				src := make([]byte, c.rows*c.cols*56)
				dst := make([]byte, len(src))
				b.SetBytes(int64(len(src)))
				for b.Loop() {
					for h := range 56 {
						so, do := h*c.cols, h*c.cols*c.rows // staging
						if c.step == 1 {
							so, do = h*c.rows*c.cols, h*c.rows // output
						}
						TransposeBytes(dst[do:], c.ds, src[so:], c.ss, c.rows, c.cols)
					}
				}
			})
		}
	}
}

// TestTransposeBytesCopies checks the multi-copy transpose under each ISA:
// three copies interleaved (delta smaller than the row stride, as in the
// convolution's window staging) and three copies one after the other,
// against the definition, with every byte outside the copies untouched.
func TestTransposeBytesCopies(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, rows := range []int{7, 16, 17, 64} {
			for _, cols := range []int{5, 32, 56, 70} {
				for _, interleaved := range []bool{true, false} {
					const copies = 3
					ds, delta := copies*(rows+1), rows+1
					if !interleaved {
						ds, delta = rows+2, cols*(rows+2)
					}
					ss := cols + 1
					src := make([]byte, (rows-1)*ss+cols)
					for i := range src {
						src[i] = byte(r.IntN(256))
					}
					dst := make([]byte, (copies-1)*delta+(cols-1)*ds+rows+16)
					for i := range dst {
						dst[i] = 0xA5
					}
					TransposeBytesCopies(dst, ds, src, ss, rows, cols, copies, delta)
					want := make([]byte, len(dst))
					for i := range want {
						want[i] = 0xA5
					}
					for c := range copies {
						for i := range rows {
							for j := range cols {
								want[c*delta+j*ds+i] = src[i*ss+j]
							}
						}
					}
					for k := range dst {
						if dst[k] != want[k] {
							t.Fatalf("%dx%d interleaved=%v: byte %d = %#x, want %#x", rows, cols, interleaved, k, dst[k], want[k])
						}
					}
				}
			}
		}
	})
}

// TestTransposeInt32 checks TransposeInt32 under each ISA against the
// definition at sizes on both sides of the 16x16 block, with strides wider
// than the matrix and guard values around dst's rows.
func TestTransposeInt32(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, rows := range []int{1, 9, 15, 16, 17, 31, 49, 64} {
			for _, cols := range []int{1, 7, 16, 17, 33, 64, 100} {
				ss, ds := cols+2, rows+3
				src := make([]int32, (rows-1)*ss+cols)
				for i := range src {
					src[i] = int32(r.Uint32())
				}
				const guard = -0x5a5a5a5b
				dst := make([]int32, (cols-1)*ds+rows+8)
				for i := range dst {
					dst[i] = guard
				}
				TransposeInt32(dst, ds, src, ss, rows, cols)
				for k := range dst {
					want := int32(guard)
					if j, i := k/ds, k%ds; j < cols && i < rows {
						want = src[i*ss+j]
					}
					if dst[k] != want {
						t.Fatalf("%dx%d: dst[%d] = %d, want %d", rows, cols, k, dst[k], want)
					}
				}
			}
		}
	})
}

// BenchmarkTransposeInt32 times the int32 output transpose of a 64-channel
// 56x56 convolution ([3136][64] -> [64][3136]).
func BenchmarkTransposeInt32(b *testing.B) {
	for _, impl := range []isa.ISA{isa.Generic, isa.AVX2, isa.AVX512} {
		if !Supported(impl) {
			continue
		}
		b.Run(impl.String(), func(b *testing.B) {
			restore, _ := SetISA(impl)
			defer restore()
			src := make([]int32, 3136*64)
			dst := make([]int32, len(src))
			b.SetBytes(int64(4 * len(src)))
			for b.Loop() {
				TransposeInt32(dst, 3136, src, 64, 3136, 64)
			}
		})
	}
}
