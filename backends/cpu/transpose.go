package cpu

import "encoding/binary"

// transposeBytes sets dst[j*ds+i] = src[i*ss+j] for i < rows, j < cols:
// 8x8 blocks transposed in registers, scalar edges.
func transposeBytes(dst []byte, ds int, src []byte, ss int, rows, cols int) {
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
