package vec

import (
	"encoding/binary"
	"fmt"
)

// TransposeBytes sets dst[j*ds+i] = src[i*ss+j] for i < rows, j < cols and
// writes nothing else. dst and src must not overlap. It panics if a slice
// is too short for its stride and the counts.
//
// With AVX-512 (BW and VL), matrices of at least 16 rows and 32 columns
// are transposed in 16x32 blocks in registers (transposeBytesAVX512); with
// AVX2, those of at least 8 rows and 32 columns in 8x32 blocks
// (transposeBytesAVX2); everything else in 8x8 blocks held in uint64s.
func TransposeBytes(dst []byte, ds int, src []byte, ss int, rows, cols int) {
	TransposeBytesCopies(dst, ds, src, ss, rows, cols, 1, 0)
}

// TransposeBytesCopies is TransposeBytes storing the transposed matrix
// copies times, delta bytes apart: dst[c*delta+j*ds+i] = src[i*ss+j] for
// c < copies (copies >= 1, delta >= 0; the copies may interleave but the
// destination must not overlap src). The assembly transposes each block
// once and stores it copies times.
func TransposeBytesCopies(dst []byte, ds int, src []byte, ss int, rows, cols, copies, delta int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	if ss < cols || ds < rows || copies < 1 || delta < 0 || len(src) < (rows-1)*ss+cols || len(dst) < (copies-1)*delta+(cols-1)*ds+rows {
		panic(fmt.Sprintf("vec: TransposeBytes %dx%d x%d: strides %d, %d, delta %d, lengths %d, %d", rows, cols, copies, ss, ds, delta, len(src), len(dst)))
	}
	transposeBytesCopies(dst, ds, src, ss, rows, cols, copies, delta)
}

// transposeBytesCopiesGeneric is TransposeBytesCopies in Go.
func transposeBytesCopiesGeneric(dst []byte, ds int, src []byte, ss int, rows, cols, copies, delta int) {
	for c := range copies {
		transposeBytesGeneric(dst[c*delta:], ds, src, ss, rows, cols)
	}
}

// transposeBytesGeneric is TransposeBytes in 8x8 blocks, scalar edges.
func transposeBytesGeneric(dst []byte, ds int, src []byte, ss int, rows, cols int) {
	i := 0
	for ; i+8 <= rows; i += 8 {
		j := 0
		for ; j+8 <= cols; j += 8 {
			transpose8x8(dst[j*ds+i:], ds, src[i*ss+j:], ss)
		}
		for ; j < cols; j++ {
			for r := i; r < i+8; r++ {
				dst[j*ds+r] = src[r*ss+j]
			}
		}
	}
	for ; i < rows; i++ {
		for j := range cols {
			dst[j*ds+i] = src[i*ss+j]
		}
	}
}

// transpose8x8 transposes the 8x8 byte block at src (row stride ss) into
// dst (row stride ds): three rounds of swapping 4-, 2- and 1-byte blocks
// between rows held in uint64s (byte j of row i is bits 8j..8j+7).
func transpose8x8(dst []byte, ds int, src []byte, ss int) {
	_ = src[7*ss+7] // one bounds check for the block (and dst below)
	_ = dst[7*ds+7]
	var r [8]uint64
	for i := range r {
		r[i] = binary.LittleEndian.Uint64(src[i*ss : i*ss+8])
	}
	for i := range 4 {
		t := ((r[i] >> 32) ^ r[i+4]) & 0x00000000FFFFFFFF
		r[i] ^= t << 32
		r[i+4] ^= t
	}
	for _, i := range [4]int{0, 1, 4, 5} {
		t := ((r[i] >> 16) ^ r[i+2]) & 0x0000FFFF0000FFFF
		r[i] ^= t << 16
		r[i+2] ^= t
	}
	for _, i := range [4]int{0, 2, 4, 6} {
		t := ((r[i] >> 8) ^ r[i+1]) & 0x00FF00FF00FF00FF
		r[i] ^= t << 8
		r[i+1] ^= t
	}
	for i := range r {
		binary.LittleEndian.PutUint64(dst[i*ds:i*ds+8], r[i])
	}
}

// TransposeInt32 sets dst[j*ds+i] = src[i*ss+j] for i < rows, j < cols
// (strides in elements) and writes nothing else; dst and src must not
// overlap. It panics if a slice is too short for its stride and the
// counts. With AVX-512, matrices of at least 16x16 go through 16x16 blocks
// in zmm registers (transpose32AVX512); others through a blocked Go loop.
func TransposeInt32(dst []int32, ds int, src []int32, ss int, rows, cols int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	if ss < cols || ds < rows || len(src) < (rows-1)*ss+cols || len(dst) < (cols-1)*ds+rows {
		panic(fmt.Sprintf("vec: TransposeInt32 %dx%d: strides %d, %d, lengths %d, %d", rows, cols, ss, ds, len(src), len(dst)))
	}
	transposeInt32(dst, ds, src, ss, rows, cols)
}

// transposeInt32Generic is TransposeInt32 in Go.
func transposeInt32Generic(dst []int32, ds int, src []int32, ss int, rows, cols int) {
	// Blocks of 8 source rows, so that each destination row gets 8
	// consecutive values per visit.
	for i0 := 0; i0 < rows; i0 += 8 {
		n := min(8, rows-i0)
		for j := range cols {
			row := dst[j*ds+i0 : j*ds+i0+n]
			for k := range row {
				row[k] = src[(i0+k)*ss+j]
			}
		}
	}
}
