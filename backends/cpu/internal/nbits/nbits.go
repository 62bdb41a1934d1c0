package nbits

import (
	"fmt"
	"math"
	"sync"

	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
	"github.com/qgpu/qgpu/qtensor"
)

// Weights are the 4-bit weights of one MatMulNBits op as the kernels read
// them: N rows of RowLen values (RowLen/2 bytes, two values per byte, the
// lower index in the low nibble), in blocks of BlockSize along the row
// with Scales[n*blocks+b] and ZeroPoints[n*blocks+b]; K of each row are
// used.
type Weights struct {
	Data       []byte
	N, K       int
	RowLen     int
	BlockSize  int
	Scales     []float32
	ZeroPoints []int32
	// Signed: int4 values (else uint4).
	Signed bool
	// UniformZP: every zero point is ZeroPoints[0] (the kernels then read
	// none).
	UniformZP bool
	// Panels are Data packed for the kernels (Pack); nil: packed on every
	// call.
	Panels *Panels
}

// Panels are the weight data of one op in the kernels' layout: per group
// of width columns (the last group padded with copies of column N-1) and
// per chunk of 32 values of K, 4 vectors whose lane j holds dword d (8
// values) of column j of the group. The bytes are Data's, reordered, with
// int4 nibbles flipped by 8 (the unsigned u = q + 8 of every kernel).
type Panels struct {
	width      int
	groupBytes int
	data       []byte
	// scales and zps (nil with uniform zero points): per group and block
	// the width columns' values (padded like data).
	scales []float32
	zps    []int32
}

// Bytes returns the size of the packed data.
func (p *Panels) Bytes() int { return len(p.data) }

// Pack packs w's data for the current implementation (nil for Generic).
func Pack(w *Weights) *Panels {
	g := GroupWidth()
	if g == 0 {
		return nil
	}
	chunks := w.RowLen / 32
	rb := w.RowLen / 2
	groups := (w.N + g - 1) / g
	p := &Panels{width: g, groupBytes: chunks * 16 * g}
	p.data = make([]byte, groups*p.groupBytes)
	var flip byte
	if w.Signed {
		flip = 0x88
	}
	nb := w.blocks()
	p.scales = make([]float32, groups*nb*g)
	if !w.UniformZP {
		p.zps = make([]int32, groups*nb*g)
	}
	for gi := range groups {
		for b := range nb {
			for l := range g {
				n := min(gi*g+l, w.N-1)
				p.scales[(gi*nb+b)*g+l] = w.Scales[n*nb+b]
				if p.zps != nil {
					p.zps[(gi*nb+b)*g+l] = w.ZeroPoints[n*nb+b]
				}
			}
		}
	}
	for gi := range groups {
		dst := p.data[gi*p.groupBytes:]
		for l := range g {
			n := min(gi*g+l, w.N-1)
			row := w.Data[n*rb : (n+1)*rb]
			for j := range chunks {
				for d := range 4 {
					o := ((j*4+d)*g + l) * 4
					for b := range 4 {
						dst[o+b] = row[16*j+4*d+b] ^ flip
					}
				}
			}
		}
	}
	return p
}

// panels returns w.Panels when it fits the current implementation, else
// w's data packed now.
func (w *Weights) panels() *Panels {
	if p := w.Panels; p != nil && p.width == GroupWidth() {
		return p
	}
	return Pack(w)
}

func (w *Weights) blocks() int { return (w.K + w.BlockSize - 1) / w.BlockSize }

// off is what the kernels add to a weight to make it unsigned: 8 for
// int4 (q + 8 = (q's nibble) ^ 8), 0 for uint4.
func (w *Weights) off() int32 {
	if w.Signed {
		return 8
	}
	return 0
}

// floatConsts returns the float kernels' zpc (bits of 2^23 + zp + off for
// uniform zero points), zpbias (0x4B000000 + off, added to gathered zero
// points) and c ((u & 15) ^ c is the float 2^23 + u, u = q + off the
// panels' unsigned nibble).
func (w *Weights) floatConsts() (zpc, zpbias, c uint32) {
	off := uint32(w.off())
	zp0 := uint32(w.ZeroPoints[0] + w.off())
	return 0x4B000000 + zp0, 0x4B000000 + off, 0x4B000000
}

// GroupWidth is the number of columns one kernel call computes under the
// current implementation (16 for AVX-512, 8 for AVX2, 0 for Generic).
func GroupWidth() int {
	switch Current() {
	case isa.AVX512:
		return 16
	case isa.AVX2:
		return 8
	}
	return 0
}

// Fits reports whether the kernels of the current implementation run an
// op with weights w in the given mode: 4-bit weights in rows of whole
// blocks (RowLen = blocks * BlockSize) of at least 32 values.
func Fits(w *Weights, int8Mode bool) bool {
	g := GroupWidth()
	if g == 0 {
		return false
	}
	if w.N < 1 || w.K < 1 || w.BlockSize < 32 || w.BlockSize%32 != 0 {
		return false
	}
	nb := w.blocks()
	return w.RowLen == nb*w.BlockSize && len(w.Data) >= w.N*w.RowLen/2 &&
		len(w.Scales) == w.N*nb && len(w.ZeroPoints) == w.N*nb
}

// FloatActs are the activations of the float mode laid out for the
// kernels: in tiles of up to 8 rows (AVX-512; 2 with AVX2), each tile's
// values interleaved (value k of row r at k*rows + r).
type FloatActs struct {
	k     int
	tiles []floatTile
	buf   *[]float32 // the tiles' storage, from actsPool
}

// actsPool holds the storage of released FloatActs: a large activation
// block allocated per op would be fresh pages (page faults) every call.
var actsPool sync.Pool

type floatTile struct {
	m0, rows int
	at       []float32
}

// NewFloatActs lays out the tiles of M rows for weights w; Fill fills
// them.
func NewFloatActs(M int, w *Weights) *FloatActs {
	maxRows := 8 // AVX-512: tiles of 8 rows, then 4 or fewer
	if GroupWidth() == 8 {
		maxRows = 2
	}
	p := &FloatActs{k: w.K}
	buf, _ := actsPool.Get().(*[]float32)
	if buf == nil || cap(*buf) < w.K*M {
		b := make([]float32, w.K*M)
		buf = &b
	}
	p.buf = buf
	at := (*buf)[:w.K*M]
	for m0 := 0; m0 < M; {
		rows := min(maxRows, M-m0)
		if rows > 4 && rows < 8 {
			rows = 4
		}
		p.tiles = append(p.tiles, floatTile{m0, rows, at[w.K*m0 : w.K*(m0+rows)]})
		m0 += rows
	}
	return p
}

// Tiles is the number of tiles.
func (p *FloatActs) Tiles() int { return len(p.tiles) }

// Release hands the storage back for later FloatActs; p must not be used
// after it. Safe twice.
func (p *FloatActs) Release() {
	if p.buf != nil {
		actsPool.Put(p.buf)
		p.buf, p.tiles = nil, nil
	}
}

// Fill interleaves the rows of tiles [t0, t1) from a (M x K); tiles may
// be filled by different goroutines.
func (p *FloatActs) Fill(a []float32, t0, t1 int) {
	K := p.k
	for _, t := range p.tiles[t0:t1] {
		for k := range K {
			for r := range t.rows {
				t.at[k*t.rows+r] = a[(t.m0+r)*K+k]
			}
		}
	}
}

// PrepareFloat is NewFloatActs and Fill of every tile.
func PrepareFloat(a []float32, M int, w *Weights) *FloatActs {
	p := NewFloatActs(M, w)
	p.Fill(a, 0, p.Tiles())
	return p
}

// Float computes the float-mode sums of docs/semantics.md (MatMulNBits),
// without bias and NaN canonicalisation: y[m*ldy + n-n0] for the rows of
// the prepared activations p and the columns [n0, n1). n0 must be a
// multiple of GroupWidth; n1 one too, or N. w must Fit.
func Float(y []float32, ldy int, p *FloatActs, w *Weights, n0, n1 int) {
	g := GroupWidth()
	pn := w.panels()
	tab := w.table()
	out := make([]float32, 8*g)
	// Columns in blocks of 4 groups, every tile for each block, so that a
	// block's weights stay in cache for all the rows.
	for b0 := n0; b0 < n1; b0 += 4 * g {
		b1 := min(b0+4*g, n1)
		for _, t := range p.tiles {
			for c := b0; c < b1; {
				groups := span(t.rows, g, b1-c, true)
				cols := groups * g
				floatGroups(out, t.at, t.rows, groups, w, pn, c/g, tab)
				for r := range t.rows {
					copy(y[(t.m0+r)*ldy+c-n0:(t.m0+r)*ldy+min(c+cols, n1)-n0], out[r*cols:(r+1)*cols])
				}
				c += cols
			}
		}
	}
}

// span is the number of column groups one AVX-512 call takes for rows
// rows with cols columns left: 4/rows (so that 4 sums run side by side),
// halved while more than what is left. float: the float mode, whose
// sequential additions are latency-bound with 4 chains, runs 4 rows on 2
// groups (8 sums; 8 rows take 1 group).
func span(rows, g, cols int, float bool) int {
	if g != 16 {
		return 1
	}
	s := 4 / rows
	switch {
	case float && rows == 4:
		s = 2
	case s == 0:
		s = 1
	}
	for s > 1 && (s-1)*g >= cols {
		s /= 2
	}
	return s
}

// table returns, for uniform zero points, the floats u - off - zp of the
// 16 unsigned nibbles u of the panels (u - off = q); nil otherwise.
func (w *Weights) table() *[16]float32 {
	if !w.UniformZP {
		return nil
	}
	var t [16]float32
	for u := range t {
		t[u] = float32(int32(u) - w.off() - w.ZeroPoints[0])
	}
	return &t
}

// Int8Acts are the activations of the int8 mode, quantized per row and
// block (docs/semantics.md, MatMulNBits) and laid out for the kernels, in
// tiles of up to 4 rows.
type Int8Acts struct {
	m    int
	tile int       // rows per tile: 4 (AVX-512) or 2 (AVX2)
	aq   [][]int32 // per tile: per 8 values and row, the even and the odd values' dwords
	sc   [][]int32 // per tile: per block and row, the scale's bits and the correction
}

func (p *Int8Acts) rows(t int) int { return min(p.tile, p.m-p.tile*t) }

// NewInt8Acts lays out the tiles of M rows for weights w (which must Fit
// in the int8 mode); Prepare fills them.
func NewInt8Acts(M int, w *Weights) *Int8Acts {
	nb := w.blocks()
	kp := nb * w.BlockSize // the padded row: whole blocks, zeros past K
	p := &Int8Acts{m: M, tile: 4}
	if GroupWidth() == 8 {
		p.tile = 2
	}
	for m0 := 0; m0 < M; m0 += p.tile {
		rows := min(p.tile, M-m0)
		p.aq = append(p.aq, make([]int32, kp/8*rows*2))
		p.sc = append(p.sc, make([]int32, nb*rows*2))
	}
	return p
}

// Tiles is the number of tiles.
func (p *Int8Acts) Tiles() int { return len(p.aq) }

// Prepare quantizes the rows of tiles [t0, t1) of a (M x K): sa =
// qtensor.NBitsActScale of each block's amax, qa = qtensor.Quantize(a,
// sa, 0, -127, 127). Tiles may be prepared by different goroutines.
func (p *Int8Acts) Prepare(a []float32, w *Weights, t0, t1 int) {
	K, bs, nb := w.K, w.BlockSize, w.blocks()
	kp := nb * bs
	qa := make([]int8, kp)
	zp := w.ZeroPoints[0] + w.off()
	for t := t0; t < t1; t++ {
		m0, rows := p.tile*t, p.rows(t)
		aq, sc := p.aq[t], p.sc[t]
		for r := range rows {
			row := a[(m0+r)*K : (m0+r+1)*K]
			clear(qa)
			for b := range nb {
				k0, k1 := b*bs, min(b*bs+bs, K)
				sa := qtensor.NBitsActScale(qtensor.NBitsAbsMax(row[k0:k1]))
				var sum int32
				for k := k0; k < k1; k++ {
					q := qtensor.Quantize(row[k], sa, 0, -127, 127)
					qa[k] = int8(q)
					sum += q
				}
				c := sum
				if w.UniformZP {
					c = zp * sum
				}
				sc[(b*rows+r)*2] = int32(math.Float32bits(sa))
				sc[(b*rows+r)*2+1] = c
			}
			for g := range kp / 8 {
				v := qa[8*g : 8*g+8]
				even := uint32(uint8(v[0])) | uint32(uint8(v[2]))<<8 | uint32(uint8(v[4]))<<16 | uint32(uint8(v[6]))<<24
				odd := uint32(uint8(v[1])) | uint32(uint8(v[3]))<<8 | uint32(uint8(v[5]))<<16 | uint32(uint8(v[7]))<<24
				aq[(g*rows+r)*2], aq[(g*rows+r)*2+1] = int32(even), int32(odd)
			}
		}
	}
}

// PrepareInt8 is NewInt8Acts and Prepare of every tile.
func PrepareInt8(a []float32, M int, w *Weights) *Int8Acts {
	p := NewInt8Acts(M, w)
	p.Prepare(a, w, 0, p.Tiles())
	return p
}

// Int8 computes the int8-mode sums (without bias and NaN canonicalisation)
// like Float, from the prepared activations p.
func Int8(y []float32, ldy int, p *Int8Acts, w *Weights, n0, n1 int) {
	g := GroupWidth()
	pn := w.panels()
	out := make([]float32, 4*g)
	// Columns in blocks of 4 groups, every tile for each block (as Float).
	for b0 := n0; b0 < n1; b0 += 4 * g {
		b1 := min(b0+4*g, n1)
		for t := range p.aq {
			rows := p.rows(t)
			for c := b0; c < b1; {
				groups := span(rows, g, b1-c, false)
				cols := groups * g
				int8Groups(out, p, t, groups, w, pn, c/g)
				for r := range rows {
					copy(y[(p.tile*t+r)*ldy+c-n0:(p.tile*t+r)*ldy+min(c+cols, n1)-n0], out[r*cols:(r+1)*cols])
				}
				c += cols
			}
		}
	}
}

// String describes the implementation (for benchmarks).
func String() string { return fmt.Sprintf("nbits %v", Current()) }
