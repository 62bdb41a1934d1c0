package gemm

import (
	"errors"
	"fmt"
)

// Layout constants of the packed B matrix.
const (
	// PanelCols is the number of B columns in one packed panel (one zmm
	// row of four vectors of 16 int32 accumulators).
	PanelCols = 64
	// KGroup is the number of consecutive K values stored together per column
	// (VPDPBUSD sums groups of four byte products).
	KGroup = 4
	// MaxK is the largest K for which the int32 accumulator provably cannot
	// overflow for any u8 x s8 data: K*255*128 < 2^31, i.e. K <= 65793. The
	// same bound covers s8 x s8 (|a*b| <= 128*128).
	MaxK = (1<<31 - 1) / (255 * 128)
)

// ErrSize reports a bad dimension, stride or slice length.
var ErrSize = errors.New("gemm: bad size")

// PackedB is an int8 K x N matrix B repacked for the micro-kernels, with
// its per-column sums. It is immutable after packing and safe for
// concurrent use by many GEMM calls.
//
// Layout: ceil(N/64) panels of 64 columns, one after the other. A panel holds
// Kp/4 groups (Kp = K rounded up to a multiple of 4); group g is 256 bytes:
// for column j of the panel, bytes 4j..4j+3 are B[4g..4g+3][64p+j]. Rows
// k >= K and columns n >= N are zero.
type PackedB struct {
	k, n   int
	kp     int    // K rounded up to a multiple of KGroup
	panels int    // ceil(N / PanelCols)
	data   []int8 // panels * kp * PanelCols bytes
	colSum []int32
}

// K returns the number of rows of B (the reduction length).
func (p *PackedB) K() int { return p.k }

// N returns the number of columns of B.
func (p *PackedB) N() int { return p.n }

// ColSums returns sum_k B[k][n] for each column n (len N). The slice is
// shared with p: callers must not modify it.
func (p *PackedB) ColSums() []int32 { return p.colSum }

// panelStride is the byte length of one packed panel.
func (p *PackedB) panelStride() int { return p.kp * PanelCols }

func checkKN(K, N int) error {
	if K < 1 || N < 1 {
		return fmt.Errorf("%w: K=%d N=%d must be >= 1", ErrSize, K, N)
	}
	if K > MaxK {
		return fmt.Errorf("%w: K=%d exceeds MaxK=%d (int32 accumulator bound)", ErrSize, K, MaxK)
	}
	// Packed size kp*panels*64 must fit comfortably in an int.
	if N > (1<<40)/(K+KGroup) {
		return fmt.Errorf("%w: K=%d N=%d too large", ErrSize, K, N)
	}
	return nil
}

func newPacked(K, N int) *PackedB {
	kp := (K + KGroup - 1) / KGroup * KGroup
	panels := (N + PanelCols - 1) / PanelCols
	return &PackedB{
		k: K, n: N, kp: kp, panels: panels,
		data:   make([]int8, panels*kp*PanelCols),
		colSum: make([]int32, N),
	}
}

// PackB packs the K x N row-major int8 matrix b (element [k][n] at
// b[k*ldb+n]) for GemmU8S8 and GemmS8S8.
//
// Preconditions (an error otherwise): 1 <= K <= MaxK, N >= 1, ldb >= N,
// len(b) >= (K-1)*ldb + N.
func PackB(b []int8, ldb, K, N int) (*PackedB, error) {
	if err := checkKN(K, N); err != nil {
		return nil, err
	}
	if ldb < N || len(b) < N || (K-1) > (len(b)-N)/ldb {
		return nil, fmt.Errorf("%w: PackB len(b)=%d ldb=%d for K=%d N=%d", ErrSize, len(b), ldb, K, N)
	}
	p := newPacked(K, N)
	ps := p.panelStride()
	for k := 0; k < K; k++ {
		row := b[k*ldb : k*ldb+N]
		g, i := k/KGroup, k%KGroup
		for n, v := range row {
			pn, j := n/PanelCols, n%PanelCols
			p.data[pn*ps+g*KGroup*PanelCols+KGroup*j+i] = v
			p.colSum[n] += int32(v)
		}
	}
	return p, nil
}

// PackBT packs B given transposed: bt is N x K row-major (element B[k][n] at
// bt[n*ldbt+k]), the usual layout of linear-layer weights ([out][in]).
//
// Preconditions (an error otherwise): 1 <= K <= MaxK, N >= 1, ldbt >= K,
// len(bt) >= (N-1)*ldbt + K.
func PackBT(bt []int8, ldbt, K, N int) (*PackedB, error) {
	if err := checkKN(K, N); err != nil {
		return nil, err
	}
	if ldbt < K || len(bt) < K || (N-1) > (len(bt)-K)/ldbt {
		return nil, fmt.Errorf("%w: PackBT len(bt)=%d ldbt=%d for K=%d N=%d", ErrSize, len(bt), ldbt, K, N)
	}
	p := newPacked(K, N)
	ps := p.panelStride()
	for n := 0; n < N; n++ {
		col := bt[n*ldbt : n*ldbt+K]
		pn, j := n/PanelCols, n%PanelCols
		dst := p.data[pn*ps+KGroup*j:]
		var s int32
		for k, v := range col {
			dst[(k/KGroup)*KGroup*PanelCols+k%KGroup] = v
			s += int32(v)
		}
		p.colSum[n] = s
	}
	return p, nil
}
