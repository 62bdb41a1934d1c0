package gemm

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
	"github.com/qgpu/qgpu/backends/cpu/internal/workers"
)

// Blocking parameters of the driver (see doc.go).
const (
	// MR is the number of rows of A (and C) per micro-kernel call.
	MR = 6
	// KC is the K-block length; a C tile is loaded and stored once per block.
	KC = 2048
	// MC is the number of rows of A per block (a multiple of MR).
	MC = 192
	// serialWork is the number of multiply-accumulates below which a call
	// runs on the calling goroutine only: starting goroutines costs about
	// as much as 2^21 multiply-accumulates (5 us) here, and an M=1
	// 1024x1024 GEMV ran faster alone than split (16.7 against 18.3 us).
	serialWork = 1 << 21
	// serialWorkPool replaces serialWork when the call has a worker pool,
	// whose spinning workers take a job in well under a microsecond: two
	// threads gained nothing at 1x512x512 (2^18) and halved 1x1024x1024.
	serialWorkPool = 1 << 19
)

// maxInt is the largest int.
const maxInt = int(^uint(0) >> 1)

// Options tunes a GEMM call. The zero value (or a nil *Options) means:
// overwrite C, no column offset, GOMAXPROCS goroutines.
type Options struct {
	// Accumulate adds the product to the existing contents of C instead of
	// overwriting them.
	Accumulate bool
	// ColOffset, when not nil (len >= N), is added to every row of the
	// result: C[m][n] += ColOffset[n]. The zero-point corrections that do not
	// depend on the row (-a_zp*colsum(B)[n] + K*a_zp*b_zp) fit here at no cost.
	ColOffset []int32
	// Requant, when not nil, also writes C requantized to 8 bits (see
	// Requant). At most one of Requant and Float may be set.
	Requant *Requant
	// Float, when not nil, also writes C as float32 (see FloatOut).
	Float *FloatOut
	// Threads is the number of goroutines to use; <= 0 means
	// runtime.GOMAXPROCS(0). Small problems use fewer. The result does not
	// depend on it.
	Threads int
	// Pool, when not nil, runs the parallel parts (otherwise they run on
	// goroutines started for the call).
	Pool *workers.Pool
	// RowOffsets, when not nil (len >= M), places row m of A at
	// a[RowOffsets[m]:] instead of a[m*lda:] (lda is then unused): an
	// implicit im2col whose rows are not evenly spaced. Every row must
	// lie inside a.
	RowOffsets []int
	// Segments, when not nil, makes each row of A Segments.Count pieces of
	// K/Count values, piece s at the row's start + s*Segments.Stride: the
	// rows of a convolution over NHWC data, one piece per kernel row.
	Segments *Segments
}

// Segments describes A rows made of Count pieces of K/Count consecutive
// values, piece s at the row's start + s*Stride (Options.Segments). K must
// be a multiple of 4*Count, Stride >= 0, and every row's last piece must
// end inside a.
type Segments struct {
	Count, Stride int
}

// tile is one micro-kernel call: nt tiles of mr rows x one panel. For tile
// i < nt, row r < mr, column n < ncols, with R = i*mr+r, C[R*ldc+n] is set to
// (load ? C : 0) + off[n] + sum over g < kg, q < 4 of rows[R][4g+q]*b[256g+4n+q],
// where rows are read as unsigned bytes, or as signed bytes shifted by +128
// (XOR 0x80) when signed is set.
type tile struct {
	mr, nt    int
	rows      [][]uint8 // nt*mr rows, each len >= 4*kg
	ptrs      []*uint8  // &rows[R][0] (for the assembly kernels)
	b         []int8    // len >= 256*kg
	c         []int32   // row R at c[R*ldc:]
	ldc       int
	kg        int
	ncols     int     // 1..64 valid columns
	segs      int     // >= 1: rows are segs segments of 4*kg bytes (kg groups of B each)
	segStride int     // bytes between the starts of a row's segments
	off       []int32 // nil or len 64
	load      bool
	signed    bool
	out       *tileOut // nil: store C; else the kernel writes the finished tile to out, not C
	wide      []int16  // the AVX2 kernels' widened A rows, grown when too short
}

// tileOut is the output of a finished tile written by the micro-kernel
// itself (kernelOutput ISAs, the last K block), row R of the tile call at
// row R of the output, column n from the panel's first column:
//
//	requantized: out8[R*ld+n] = byte(int32(rint(clamp(float32(C)*mult[n], lo, hi))) + zp)
//	float:       outF[R*ld+n] = float32(float32(C)*mult[n]) + bias[n]
//
// exactly qtensor.Requantize and qtensor.FloatOutput.
type tileOut struct {
	float  bool
	out8   []uint8
	outF   []float32
	ld     int
	mult   []float32
	bias   []float32 // float output
	lo, hi float32
	zp     int32
}

// microKernel computes one tile.
type microKernel func(t *tile)

// job is one validated GEMM call.
type job struct {
	c        []int32
	ldc      int
	a        []uint8
	lda      int
	m        int
	pad      []uint8 // rows >= padFrom, each b.kp bytes, zero padded
	padFrom  int
	b        *PackedB
	off      []int32 // nil or len b.panels*64
	load     bool
	signed   bool
	epi      *epilogue
	kernOut  bool    // the kernels write the last K block's output (epi set, kernelOutput)
	needRows bool    // the kernel reads tile.rows (the Go one), not only tile.ptrs
	rowOff   []int   // Options.RowOffsets: row m at a[rowOff[m]:] (lda unused)
	padOf    []int32 // with rowOff: 1 + the pad row of row m, or 0
	segK     int     // K values per row segment (b.kp without Options.Segments)
	segStr   int     // bytes between a row's segments
	segKern  bool    // the kernels walk several segments per call
}

// kOff returns the byte offset, from a row's start, of the row's value k0
// (k0 a multiple of segK when the row has several segments, or inside the
// only one).
func (j *job) kOff(k0 int) int { return k0/j.segK*j.segStr + k0%j.segK }

// row returns the kc bytes of A row m starting at column k0.
func (j *job) row(m, k0, kc int) []uint8 {
	if j.rowOff != nil {
		if j.padOf == nil || j.padOf[m] == 0 {
			s := j.rowOff[m] + j.kOff(k0)
			return j.a[s : s+kc]
		}
		s := int(j.padOf[m]-1)*j.b.kp + k0
		return j.pad[s : s+kc]
	}
	if m < j.padFrom {
		s := m*j.lda + j.kOff(k0)
		return j.a[s : s+kc]
	}
	s := (m-j.padFrom)*j.b.kp + k0
	return j.pad[s : s+kc]
}

// ptr returns &row(m, k0, kc)[0] without building the slice (the bounds
// are checked all the same).
func (j *job) ptr(m, k0, kc int) *uint8 {
	var s int
	src := j.a
	switch {
	case j.rowOff != nil && (j.padOf == nil || j.padOf[m] == 0):
		s = j.rowOff[m] + j.kOff(k0)
	case j.rowOff != nil:
		s, src = int(j.padOf[m]-1)*j.b.kp+k0, j.pad
	case m < j.padFrom:
		s = m*j.lda + j.kOff(k0)
	default:
		s, src = (m-j.padFrom)*j.b.kp+k0, j.pad
	}
	_ = src[s+kc-1]
	return &src[s]
}

// rowScratch holds the A row views of one row block, and the AVX2
// kernels' widened rows (tile.wide); pooled because convolutions call GEMMs
// of few rows many times.
type rowScratch struct {
	rows [MC][]uint8
	ptrs [MC]*uint8
	wide []int16
}

var rowPool = sync.Pool{New: func() any { return new(rowScratch) }}

// run computes rows [m0, m1) of C for panels [p0, p1) in BLIS order:
// K blocks of KC, row blocks of MC, panels, tiles of MR rows (all full
// tiles of a block in one kernel call, then the remainder tile).
func (j *job) run(m0, m1, p0, p1 int, ker microKernel) {
	b := j.b
	ps := b.panelStride()
	sc := rowPool.Get().(*rowScratch)
	t := &tile{ldc: j.ldc, signed: j.signed, wide: sc.wide}
	defer func() {
		clear(sc.rows[:]) // drop the references to A
		clear(sc.ptrs[:])
		sc.wide = t.wide // kept, grown or not
		rowPool.Put(sc)
	}()
	rows := sc.rows[:min(MC, m1-m0)]
	ptrs := sc.ptrs[:len(rows)]
	var to tileOut
	if e := j.epi; j.kernOut {
		if e.rq != nil {
			to = tileOut{ld: e.rq.LdOut, lo: e.lo, hi: e.hi, zp: e.rq.ZP}
		} else {
			to = tileOut{float: true, ld: e.fo.LdOut}
		}
	}
	// K blocks: KC values, or whole segments (several per kernel call
	// when the kernels walk segments, else one).
	blk := KC
	if j.segK < b.kp {
		blk = j.segK
		if j.segKern {
			blk = max(1, KC/j.segK) * j.segK
		}
	}
	for k0 := 0; k0 < b.kp; k0 += blk {
		kc := min(blk, b.kp-k0)
		t.kg, t.segs, t.segStride = kc/KGroup, 1, j.segStr
		if j.segKern && j.segK < b.kp {
			t.kg, t.segs = j.segK/KGroup, kc/j.segK
		}
		t.load = j.load || k0 > 0
		last := k0+kc == b.kp
		for mc0 := m0; mc0 < m1; mc0 += MC {
			mc1 := min(mc0+MC, m1)
			if j.needRows {
				for m := mc0; m < mc1; m++ {
					rows[m-mc0] = j.row(m, k0, kc)
					ptrs[m-mc0] = &rows[m-mc0][0]
				}
			} else if j.rowOff != nil && j.padOf == nil {
				// Every row lies inside a with its whole padded K
				// (checked in gemm): plain offsets from a's start.
				base := unsafe.Add(unsafe.Pointer(unsafe.SliceData(j.a)), j.kOff(k0))
				for m := mc0; m < mc1; m++ {
					ptrs[m-mc0] = (*uint8)(unsafe.Add(base, j.rowOff[m]))
				}
			} else { // the assembly kernels take only the pointers
				for m := mc0; m < mc1; m++ {
					ptrs[m-mc0] = j.ptr(m, k0, kc)
				}
			}
			full := (mc1 - mc0) / MR
			rem := (mc1 - mc0) % MR
			for p := p0; p < p1; p++ {
				bs := p*ps + k0*PanelCols
				t.b = b.data[bs : bs+kc*PanelCols]
				n0 := p * PanelCols
				t.ncols = min(PanelCols, b.n-n0)
				t.off = nil
				if k0 == 0 && j.off != nil {
					t.off = j.off[n0 : n0+PanelCols]
				}
				kernOut := j.kernOut && last
				t.out = nil
				if kernOut {
					t.out = &to
					j.epi.panelOut(&to, n0)
				}
				if full > 0 {
					t.mr, t.nt = MR, full
					t.rows, t.ptrs = rows[:full*MR], ptrs[:full*MR]
					t.c = j.c[mc0*j.ldc+n0:]
					if kernOut {
						j.epi.rowsOut(&to, mc0, n0)
					}
					ker(t)
				}
				if rem > 0 {
					m := mc0 + full*MR
					t.mr, t.nt = rem, 1
					t.rows, t.ptrs = rows[full*MR:mc1-mc0], ptrs[full*MR:mc1-mc0]
					t.c = j.c[m*j.ldc+n0:]
					if kernOut {
						j.epi.rowsOut(&to, m, n0)
					}
					ker(t)
				}
				if j.epi != nil && last && !kernOut {
					j.epi.apply(j, mc0, mc1-mc0, n0, t.ncols)
				}
			}
		}
	}
}

// GemmU8S8 computes C = A * B exactly in int32, where A is M x K uint8
// (element [m][k] at a[m*lda+k]), B is packed int8 K x N and C is M x N int32
// (element [m][n] at c[m*ldc+n]):
//
//	C[m][n] = (opt.Accumulate ? C[m][n] : 0) + opt.ColOffset[n] + sum_k int32(A[m][k]) * int32(B[k][n])
//
// Only C[m][n] for m < M, n < N is written. The sums are exact for any data
// (K <= MaxK); with Accumulate or ColOffset the int32 additions wrap.
//
// Preconditions (an error otherwise): b != nil, M >= 0, lda >= 1 (rows may
// overlap when lda < K: A is only read, as an implicit im2col), ldc >= N,
// len(a) >= (M-1)*lda + K and len(c) >= (M-1)*ldc + N when M > 0,
// opt.ColOffset nil or len >= N.
func GemmU8S8(c []int32, ldc int, a []uint8, lda, M int, b *PackedB, opt *Options) error {
	return gemm(c, ldc, a, lda, M, b, opt, false)
}

// GemmS8S8 is GemmU8S8 for signed int8 A:
//
//	C[m][n] = (opt.Accumulate ? C[m][n] : 0) + opt.ColOffset[n] + sum_k int32(A[m][k]) * int32(B[k][n])
//
// It runs the unsigned kernel on A+128 (a XOR 0x80 inside the kernel) and
// folds -128*ColSums()[n] into the column offset, so it costs the same as
// GemmU8S8. Same preconditions.
func GemmS8S8(c []int32, ldc int, a []int8, lda, M int, b *PackedB, opt *Options) error {
	var au []uint8
	if len(a) > 0 {
		au = unsafe.Slice((*uint8)(unsafe.Pointer(unsafe.SliceData(a))), len(a))
	}
	return gemm(c, ldc, au, lda, M, b, opt, true)
}

func gemm(c []int32, ldc int, a []uint8, lda, M int, b *PackedB, opt *Options, signed bool) error {
	if opt == nil {
		opt = &Options{}
	}
	if b == nil {
		return fmt.Errorf("%w: nil PackedB", ErrSize)
	}
	K, N := b.k, b.n
	if M < 0 {
		return fmt.Errorf("%w: M=%d", ErrSize, M)
	}
	if lda < 1 || ldc < N {
		return fmt.Errorf("%w: lda=%d ldc=%d (N=%d)", ErrSize, lda, ldc, N)
	}
	if opt.ColOffset != nil && len(opt.ColOffset) < N {
		return fmt.Errorf("%w: len(ColOffset)=%d < N=%d", ErrSize, len(opt.ColOffset), N)
	}
	if M == 0 {
		return nil
	}
	// span is the bytes a row covers from its start: K, or with segments
	// the last segment's end.
	segK, segStr, span := b.kp, 0, K
	if sg := opt.Segments; sg != nil && sg.Count != 1 {
		if sg.Count < 1 || sg.Stride < 0 || K%(KGroup*sg.Count) != 0 {
			return fmt.Errorf("%w: Segments %+v for K=%d (K must be a multiple of 4*Count)", ErrSize, *sg, K)
		}
		segK, segStr = K/sg.Count, sg.Stride
		if sg.Stride > (maxInt-segK)/(sg.Count-1) {
			return fmt.Errorf("%w: Segments %+v too long", ErrSize, *sg)
		}
		span = (sg.Count-1)*sg.Stride + segK
	}
	if ro := opt.RowOffsets; ro != nil {
		if len(ro) < M {
			return fmt.Errorf("%w: len(RowOffsets)=%d < M=%d", ErrSize, len(ro), M)
		}
		for m, o := range ro[:M] {
			if o < 0 || o > len(a)-span {
				return fmt.Errorf("%w: RowOffsets[%d]=%d: row of %d bytes outside len(a)=%d", ErrSize, m, o, span, len(a))
			}
		}
	} else if len(a) < span || (M-1) > (len(a)-span)/lda {
		return fmt.Errorf("%w: len(a)=%d too short for M=%d rows of %d bytes, lda=%d", ErrSize, len(a), M, span, lda)
	}
	if len(c) < N || (M-1) > (len(c)-N)/ldc {
		return fmt.Errorf("%w: len(c)=%d too short for M=%d N=%d ldc=%d", ErrSize, len(c), M, N, ldc)
	}

	epi, err := newEpilogue(opt, M, N)
	if err != nil {
		return err
	}
	cur := currentISA()
	j := &job{c: c, ldc: ldc, a: a, lda: lda, m: M, b: b, load: opt.Accumulate, signed: signed,
		epi: epi}
	j.kernOut = epi != nil && kernelOutput(cur)
	j.needRows = cur == isa.Generic
	j.segK, j.segStr, j.segKern = segK, segStr, kernelSegments(cur)

	// Column offset, padded to whole panels; signed A adds -128*colsum.
	if opt.ColOffset != nil && !signed && N%PanelCols == 0 {
		j.off = opt.ColOffset[:N] // already whole panels: no copy
	} else if opt.ColOffset != nil || signed {
		j.off = make([]int32, b.panels*PanelCols)
		if opt.ColOffset != nil {
			copy(j.off, opt.ColOffset[:N])
		}
		if signed {
			for n, s := range b.colSum {
				j.off[n] -= 128 * s
			}
		}
	}

	// The kernels read whole groups of 4 bytes per row: up to kp bytes. Rows
	// whose read would run past the end of a are copied, zero padded.
	j.padFrom = M
	if segK < b.kp {
		// Segmented rows: K is a multiple of 4 (kp == K) and every row
		// was checked to lie inside a: no padding.
		j.rowOff = opt.RowOffsets
		if j.rowOff != nil {
			j.rowOff = j.rowOff[:M]
		}
	} else if ro := opt.RowOffsets; ro != nil {
		j.rowOff = ro[:M]
		npad := 0
		for _, o := range j.rowOff {
			if o > len(a)-b.kp {
				npad++
			}
		}
		if npad > 0 {
			j.padOf = make([]int32, M)
			j.pad = make([]uint8, npad*b.kp)
			i := 0
			for m, o := range j.rowOff {
				if o > len(a)-b.kp {
					copy(j.pad[i*b.kp:], a[o:o+K])
					i++
					j.padOf[m] = int32(i)
				}
			}
		}
	} else if len(a) < b.kp {
		j.padFrom = 0
	} else if safe := (len(a)-b.kp)/lda + 1; safe < M {
		j.padFrom = safe
	}
	if j.padFrom < M {
		j.pad = make([]uint8, (M-j.padFrom)*b.kp)
		for m := j.padFrom; m < M; m++ {
			copy(j.pad[(m-j.padFrom)*b.kp:], a[m*lda:m*lda+K])
		}
	}

	ker := kernelFor(cur)
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	serial := float64(serialWork)
	if opt.Pool != nil {
		serial = serialWorkPool
	}
	if float64(M)*float64(K)*float64(N) < serial {
		threads = 1
	}
	tiles := (M + MR - 1) / MR
	if threads <= 1 {
		j.run(0, M, 0, b.panels, ker)
		return nil
	}
	rp, pp := split(tiles, b.panels, threads)
	opt.Pool.Run(rp*pp, func(i int) {
		r, q := i/pp, i%pp
		m0, m1 := tiles*r/rp*MR, min(M, tiles*(r+1)/rp*MR)
		j.run(m0, m1, b.panels*q/pp, b.panels*(q+1)/pp, ker)
	})
	return nil
}

// split chooses how a GEMM of tiles row tiles and panels column panels is
// cut for threads workers: into rp row ranges times pp panel ranges, each
// part as even as whole tiles and panels allow. The parts are claimed by
// the workers as they come free, so the time is about the rounds of parts
// each worker runs times the largest part; split minimises that, up to 4
// parts per thread (a part costs a little too: its start, the B panels or
// A rows it reads again; rows are cut before panels, as the kernels stream
// a panel over many rows). With rows of only a few tiles (the 7x7 layers
// of a CNN) the panels are cut: two threads splitting 9 tiles by rows ran
// at most 9/5 of one.
func split(tiles, panels, threads int) (rp, pp int) {
	best := -1.0
	maxParts := 4 * threads
	for r := 1; r <= min(tiles, maxParts); r++ {
		for p := 1; p <= min(panels, maxParts/r); p++ {
			n := r * p
			rounds := (n + threads - 1) / threads
			part := float64((tiles+r-1)/r) * float64((panels+p-1)/p)
			// 1% a part, and panel cuts a little dearer than row cuts.
			cost := float64(rounds) * part * (1 + 0.01*float64(n) + 0.02*float64(p-1))
			if best < 0 || cost < best {
				best, rp, pp = cost, r, p
			}
		}
	}
	return rp, pp
}

// RowSumsU8 stores sum_k A[m][k] into dst[m] for m < M, A being M x K uint8
// at a[m*lda+k]. With a per-tensor zero point b_zp of B, the term
// -b_zp * RowSums[m] is the row part of the zero-point correction.
//
// Preconditions (an error otherwise): M >= 0, K >= 1, lda >= K, len(dst) >= M,
// len(a) >= (M-1)*lda + K when M > 0.
func RowSumsU8(dst []int32, a []uint8, lda, M, K int) error {
	if err := checkRows(len(dst), len(a), lda, M, K); err != nil {
		return err
	}
	for m := 0; m < M; m++ {
		dst[m] = int32(sumU8(a[m*lda : m*lda+K]))
	}
	return nil
}

// RowSumsS8 is RowSumsU8 for int8 A.
func RowSumsS8(dst []int32, a []int8, lda, M, K int) error {
	if err := checkRows(len(dst), len(a), lda, M, K); err != nil {
		return err
	}
	for m := 0; m < M; m++ {
		row := a[m*lda : m*lda+K]
		au := unsafe.Slice((*uint8)(unsafe.Pointer(unsafe.SliceData(row))), K)
		// int8 v = (v XOR 0x80) - 128, read as unsigned.
		dst[m] = int32(sumXor80(au) - 128*int64(K))
	}
	return nil
}

func checkRows(ldst, la, lda, M, K int) error {
	if M < 0 || K < 1 || lda < K || ldst < M {
		return fmt.Errorf("%w: RowSums M=%d K=%d lda=%d len(dst)=%d", ErrSize, M, K, lda, ldst)
	}
	if M > 0 && (la < K || (M-1) > (la-K)/lda) {
		return fmt.Errorf("%w: RowSums len(a)=%d too short for M=%d K=%d lda=%d", ErrSize, la, M, K, lda)
	}
	return nil
}

// sumU8 returns the sum of the bytes of s, eight at a time (SWAR).
func sumU8(s []uint8) int64 {
	return sumBytes(s, 0)
}

// sumXor80 returns the sum of (v XOR 0x80) over s.
func sumXor80(s []uint8) int64 {
	return sumBytes(s, 0x8080808080808080)
}

func sumBytes(s []uint8, x uint64) int64 {
	const lo = 0x00ff00ff00ff00ff
	var total int64
	for len(s) >= 8 {
		// Up to 128 words per round: 16-bit lanes hold at most 2*255*128.
		n := min(len(s)/8, 128)
		var acc uint64
		for i := 0; i < n; i++ {
			w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
				uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
			w ^= x
			acc += w&lo + (w>>8)&lo
			s = s[8:]
		}
		total += int64(acc&0xffff + (acc>>16)&0xffff + (acc>>32)&0xffff + acc>>48)
	}
	for _, v := range s {
		total += int64(v ^ uint8(x))
	}
	return total
}
