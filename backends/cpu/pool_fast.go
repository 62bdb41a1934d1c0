package cpu

import (
	"context"
	"encoding/binary"
	"sync"

	"github.com/qgpu/qgpu/backends/cpu/internal/vec"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// validRange returns the k in [lo, hi) for which 0 <= base + k*step < limit
// with k < count (step >= 1): the kernel cells of one output row or column
// that fall inside the input. It is contiguous because base + k*step grows
// with k.
func validRange(base, step, count, limit int) (lo, hi int) {
	if base < 0 {
		lo = (-base + step - 1) / step
	}
	if base >= limit {
		return lo, lo
	}
	hi = min(count, (limit-1-base)/step+1)
	return lo, max(lo, hi)
}

// poolFast runs MaxPool and AvgPool on the bytes, the channel planes split
// over the workers. The valid kernel cells of each output column are found
// once per op and those of each output row once per row. MaxPool takes the
// maximum of an output row's kernel rows first (vec.MaxPairs), then of
// each window's columns in unsigned order (int8 with the sign bit
// flipped); a window with no cell inside the input yields the zero point.
// AvgPool sums the window's bytes (sumBytes) and subtracts the zero point
// once per window, then rounds with qtensor.AveragePool as the reference
// does.
func (b *Backend) poolFast(ctx context.Context, op *backend.Pool) (handled bool, err error) {
	if op.Max && op.XLayout == backend.NHWC && op.YLayout == backend.NHWC {
		return true, b.maxPoolNHWC(ctx, op)
	}
	if !op.NCHW() {
		return b.poolViaNCHW(ctx, op)
	}
	if err := ctx.Err(); err != nil {
		return true, err
	}
	x, y := bytesOf(op.X), bytesOf(op.Y)
	signed := op.X.DType() == qtensor.Int8
	qmin, qmax := op.X.DType().QMin(), op.X.DType().QMax()
	var flip byte
	if signed {
		flip = 0x80
	}
	type span struct{ iw0, n int }
	cols := make([]span, op.OW)
	for ow := range cols {
		base := ow*op.StrideW - op.PadLeft
		lo, hi := validRange(base, op.DilationW, op.KW, op.W)
		cols[ow] = span{base + lo*op.DilationW, hi - lo}
	}
	hw, ohw := op.H*op.W, op.OH*op.OW
	var (
		mu   sync.Mutex
		fail error
	)
	// The work hint counts window cells, capped so the product of a huge
	// kernel and a large output cannot overflow.
	winCells := min(op.KH*op.KW, 1<<20)
	b.rows(op.N*op.C, min(op.N*op.C*op.OH*op.OW, 1<<40)*winCells, func(p0, p1 int) {
		// MaxPool: colMax is the maximum of an output row's kernel rows,
		// winMax[i] that of colMax's KW columns from i (full windows only).
		var colMax, winMax []byte
		full := op.W - (op.KW-1)*op.DilationW // full windows at column stride 1
		if op.Max {
			colMax = make([]byte, op.W)
			winMax = make([]byte, max(full, 0))
		}
		for p := p0; p < p1; p++ {
			if err := ctx.Err(); err != nil {
				mu.Lock()
				fail = err
				mu.Unlock()
				return
			}
			plane, out := x[p*hw:(p+1)*hw], y[p*ohw:(p+1)*ohw]
			for oh := range op.OH {
				base := oh*op.StrideH - op.PadTop
				khLo, khHi := validRange(base, op.DilationH, op.KH, op.H)
				row := out[oh*op.OW : (oh+1)*op.OW]
				if khLo == khHi {
					fill(row, byte(op.ZP))
					continue
				}
				inRow := func(kh int) []byte { return plane[(base+kh*op.DilationH)*op.W:][:op.W] }
				if op.Max {
					copy(colMax, inRow(khLo))
					for kh := khLo + 1; kh < khHi; kh++ {
						vec.MaxPairs(colMax, colMax, inRow(kh), signed)
					}
					if full > 0 {
						copy(winMax, colMax)
						for kw := 1; kw < op.KW; kw++ {
							vec.MaxPairs(winMax, winMax, colMax[kw*op.DilationW:], signed)
						}
					}
					for ow, c := range cols {
						if c.n == op.KW { // the whole window inside the row
							row[ow] = winMax[c.iw0]
							continue
						}
						if c.n == 0 {
							row[ow] = byte(op.ZP)
							continue
						}
						best := colMax[c.iw0] ^ flip
						for k, iw := 1, c.iw0+op.DilationW; k < c.n; k, iw = k+1, iw+op.DilationW {
							best = max(best, colMax[iw]^flip)
						}
						row[ow] = best ^ flip
					}
					continue
				}
				for ow, c := range cols {
					cells := int64(khHi-khLo) * int64(c.n)
					if cells == 0 {
						row[ow] = byte(op.ZP)
						continue
					}
					last := c.iw0 + (c.n-1)*op.DilationW + 1 // past the last column read
					var sum int64
					for kh := khLo; kh < khHi; kh++ {
						seg := inRow(kh)[c.iw0:last]
						switch {
						case signed && op.DilationW == 1:
							for _, v := range seg {
								sum += int64(int8(v))
							}
						case signed:
							for i := 0; i < len(seg); i += op.DilationW {
								sum += int64(int8(seg[i]))
							}
						case op.DilationW == 1:
							sum += sumBytes(seg)
						default:
							for i := 0; i < len(seg); i += op.DilationW {
								sum += int64(seg[i])
							}
						}
					}
					count := cells
					if op.CountIncludePad {
						count = int64(op.KH) * int64(op.KW)
					}
					row[ow] = byte(qtensor.AveragePool(sum-cells*int64(op.ZP), count, op.ZP, qmin, qmax))
				}
			}
		}
	})
	return true, fail
}

// maxPoolNHWC is poolFast's MaxPool for NHWC input and output, on whole
// pixels of C bytes: per output row, the maximum of its kernel rows
// (colMax, vec.MaxPairs over whole input rows), then of each full
// window's KW columns for all windows at once (winMax), and the windows
// the padding cuts pixel by pixel. Output rows are split over the workers.
func (b *Backend) maxPoolNHWC(ctx context.Context, op *backend.Pool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	C, W := op.C, op.W
	x, y := bytesOf(op.X), bytesOf(op.Y)
	signed := op.X.DType() == qtensor.Int8
	zp := byte(op.ZP)
	type span struct{ iw0, n int }
	cols := make([]span, op.OW)
	for ow := range cols {
		base := ow*op.StrideW - op.PadLeft
		lo, hi := validRange(base, op.DilationW, op.KW, W)
		cols[ow] = span{base + lo*op.DilationW, hi - lo}
	}
	full := W - (op.KW-1)*op.DilationW // windows inside the row, by first column
	b.rows(op.N*op.OH, op.N*op.OH*op.OW*C*min(op.KH*op.KW, 1<<10), func(r0, r1 int) {
		buf := scratch(&colPool, (W+max(full, 0))*C)
		defer colPool.Put(buf)
		colMax, winMax := (*buf)[:W*C], (*buf)[W*C:]
		for r := r0; r < r1; r++ {
			n, oh := r/op.OH, r%op.OH
			img := x[n*op.H*W*C : (n+1)*op.H*W*C]
			out := y[r*op.OW*C : (r+1)*op.OW*C]
			base := oh*op.StrideH - op.PadTop
			khLo, khHi := validRange(base, op.DilationH, op.KH, op.H)
			if khLo == khHi {
				fill(out, zp)
				continue
			}
			inRow := func(kh int) []byte { return img[(base+kh*op.DilationH)*W*C:][:W*C] }
			copy(colMax, inRow(khLo))
			for kh := khLo + 1; kh < khHi; kh++ {
				vec.MaxPairs(colMax, colMax, inRow(kh), signed)
			}
			if full > 0 {
				copy(winMax, colMax)
				for kw := 1; kw < op.KW; kw++ {
					vec.MaxPairs(winMax, winMax, colMax[kw*op.DilationW*C:], signed)
				}
			}
			for ow, c := range cols {
				dst := out[ow*C : (ow+1)*C]
				switch {
				case c.n == op.KW:
					copy(dst, winMax[c.iw0*C:])
				case c.n == 0:
					fill(dst, zp)
				default:
					copy(dst, colMax[c.iw0*C:])
					for k := 1; k < c.n; k++ {
						vec.MaxPairs(dst, dst, colMax[(c.iw0+k*op.DilationW)*C:], signed)
					}
				}
			}
		}
	})
	return nil
}

// sumBytes returns the sum of the bytes of s, eight at a time: the bytes
// of a uint64 are added as two sets of four 16-bit lanes, each lane
// gaining at most 2*255 per word, so 128 words cannot overflow it.
func sumBytes(s []byte) int64 {
	var total int64
	for len(s) >= 8 {
		n := min(len(s)/8, 128)
		var acc uint64
		for i := range n {
			w := binary.LittleEndian.Uint64(s[8*i:])
			acc += w & 0x00ff00ff00ff00ff
			acc += (w >> 8) & 0x00ff00ff00ff00ff
		}
		for ; acc != 0; acc >>= 16 {
			total += int64(acc & 0xffff)
		}
		s = s[8*n:]
	}
	for _, v := range s {
		total += int64(v)
	}
	return total
}
