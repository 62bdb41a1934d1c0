package calib

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/qgpu/qgpu/qtensor"
)

// DefaultBins is the default histogram size.
const DefaultBins = 2048

// MinBins is the smallest histogram size accepted (the whole float32 range
// must fit at the coarsest grid).
const MinBins = 16

// magRes is the finest bin width relative to the largest magnitude seen:
// bins are never narrower than 2^(e-magRes) where 2^e <= max|x| < 2^(e+1).
// It keeps grid indices below 2^21, so every bin edge is an exact float32.
const magRes = 20

// Histogram is an exactly mergeable histogram of float32 data with a
// range that grows as batches arrive.
//
// The bins are a window of the zero-aligned grid of bin width 2^k
// (qtensor.HistBinAligned): a value's bin depends only on the value and k,
// never on the order in which data arrived. The state is canonical: for
// the finite minimum and maximum seen so far, k is the smallest exponent
// with k >= e-20 (e the binary exponent of the largest magnitude, so that
// bin edges stay exact) such that the data spans fewer than Bins grid
// cells, and the window starts at the minimum's cell. When a batch widens
// the range, k grows and old bins merge 2:1 (grid index j -> floor(j/2)),
// which is exact. So the histogram of a data set is the same whatever the
// batch split or order, and Merge of histograms built on shards gives
// exactly the histogram built on all data. (PyTorch's HistogramObserver
// instead re-samples its histogram onto a new range, which spreads counts
// across bins, depends on the order of batches and cannot merge exactly.)
//
// NaN and ±Inf are left out of the bins and counted. The zero value is not
// usable: call NewHistogram.
type Histogram struct {
	red    Reducer
	grid   Grid // valid when stats.Count > 0
	counts []uint64
	stats  RangeStats
}

// NewHistogram returns an empty histogram with the given number of bins (0
// means DefaultBins; otherwise in [MinBins, MaxBins]) whose passes run on r
// (nil means HostReducer{}).
func NewHistogram(bins int, r Reducer) (*Histogram, error) {
	if bins == 0 {
		bins = DefaultBins
	}
	if bins < MinBins || bins > MaxBins {
		return nil, fmt.Errorf("%w: histogram bins %d outside [%d, %d]", qtensor.ErrParams, bins, MinBins, MaxBins)
	}
	if r == nil {
		r = HostReducer{}
	}
	return &Histogram{red: r, grid: Grid{Bins: bins}}, nil
}

// SetReducer changes the reducer used by later Observe calls (nil: host).
func (h *Histogram) SetReducer(r Reducer) {
	if r == nil {
		r = HostReducer{}
	}
	h.red = r
}

// Bins returns the number of bins.
func (h *Histogram) Bins() int { return h.grid.Bins }

// Stats returns the finite range and the counts of the data seen.
func (h *Histogram) Stats() RangeStats { return h.stats }

// Grid returns the current grid window (meaningless while Stats().Count == 0).
func (h *Histogram) Grid() Grid { return h.grid }

// Counts returns a copy of the bin counts (nil while empty).
func (h *Histogram) Counts() []uint64 { return append([]uint64(nil), h.counts...) }

// canonicalGrid returns the grid of the canonical state for data whose
// finite range is [lo, hi].
func canonicalGrid(lo, hi float32, bins int) Grid {
	m := max(math.Abs(float64(lo)), math.Abs(float64(hi)))
	k := MinExp
	if m > 0 {
		_, e := math.Frexp(m) // 2^(e-1) <= m < 2^e
		k = max(k, e-1-magRes)
	}
	for ; k < MaxExp; k++ {
		s := qtensor.HistScalePow2(k)
		jlo, _ := qtensor.HistBinAligned(lo, s)
		jhi, _ := qtensor.HistBinAligned(hi, s)
		if jhi-jlo < int64(bins) {
			return Grid{Exp: k, Start: jlo, Bins: bins}
		}
	}
	jlo, _ := qtensor.HistBinAligned(lo, qtensor.HistScalePow2(MaxExp))
	return Grid{Exp: MaxExp, Start: jlo, Bins: bins}
}

// regrid adds counts laid out on grid from into out laid out on grid to
// (to.Exp >= from.Exp; every non-empty bin must land inside to).
func regrid(out []uint64, to Grid, counts []uint64, from Grid) error {
	d := uint(to.Exp - from.Exp)
	if to.Exp < from.Exp || d > 63 {
		return fmt.Errorf("calib: internal error: regrid from exponent %d to %d", from.Exp, to.Exp)
	}
	for i, c := range counts {
		if c == 0 {
			continue
		}
		j := (from.Start+int64(i))>>d - to.Start
		if j < 0 || j >= int64(len(out)) {
			return fmt.Errorf("calib: internal error: bin %d of grid %+v falls outside grid %+v", i, from, to)
		}
		out[j] += c
	}
	return nil
}

// errReducer reports a Reducer whose results contradict each other.
var errReducer = errors.New("calib: reducer results are inconsistent")

// Observe adds a batch. An empty batch, or one without finite values, only
// adds to the NaN/Inf counts.
func (h *Histogram) Observe(ctx context.Context, x []float32) error {
	if len(x) == 0 {
		return nil
	}
	sts, err := h.red.MinMax(ctx, x, 1, len(x))
	if err != nil {
		return err
	}
	if len(sts) != 1 || sts[0].Total() != int64(len(x)) {
		return fmt.Errorf("%w: MinMax of %d values", errReducer, len(x))
	}
	st := sts[0]
	merged := h.stats.Merge(st)
	if st.Count == 0 {
		h.stats = merged
		return nil
	}
	g := canonicalGrid(merged.Min, merged.Max, h.grid.Bins)
	hc, err := h.red.Histogram(ctx, x, g)
	if err != nil {
		return err
	}
	var sum uint64
	for _, c := range hc.Counts {
		sum += c
	}
	if len(hc.Counts) != g.Bins || hc.NaN != st.NaN || hc.Below != st.NegInf || hc.Above != st.PosInf || sum != uint64(st.Count) {
		return fmt.Errorf("%w: histogram counts disagree with the min/max pass", errReducer)
	}
	if h.stats.Count > 0 {
		if err := regrid(hc.Counts, g, h.counts, h.grid); err != nil {
			return err
		}
	}
	h.counts, h.grid, h.stats = hc.Counts, g, merged
	return nil
}

// Merge adds the data of o into h. Both must have the same number of bins.
// The result is exactly the histogram of the union of the data.
func (h *Histogram) Merge(o *Histogram) error {
	if o.grid.Bins != h.grid.Bins {
		return fmt.Errorf("%w: cannot merge histograms of %d and %d bins", qtensor.ErrParams, h.grid.Bins, o.grid.Bins)
	}
	merged := h.stats.Merge(o.stats)
	switch {
	case o.stats.Count == 0:
	case h.stats.Count == 0:
		h.counts, h.grid = append([]uint64(nil), o.counts...), o.grid
	default:
		g := canonicalGrid(merged.Min, merged.Max, h.grid.Bins)
		out := make([]uint64, g.Bins)
		if err := regrid(out, g, h.counts, h.grid); err != nil {
			return err
		}
		if err := regrid(out, g, o.counts, o.grid); err != nil {
			return err
		}
		h.counts, h.grid = out, g
	}
	h.stats = merged
	return nil
}

// Equal reports whether two histograms hold exactly the same state.
func (h *Histogram) Equal(o *Histogram) bool {
	if h.stats != o.stats || h.grid != o.grid || len(h.counts) != len(o.counts) {
		return false
	}
	for i := range h.counts {
		if h.counts[i] != o.counts[i] {
			return false
		}
	}
	return true
}

// Serialization format (little-endian):
//
//	0  "QGHS" magic
//	4  uint16 version (1), uint16 reserved (0)
//	8  uint32 bins
//	12 int32 grid exponent
//	16 int64 grid start
//	24 float32 min, float32 max (bit patterns)
//	32 uint64 finite count, NaN, +Inf, -Inf counts
//	64 bins x uint64 counts
//	.. uint32 CRC-32C of everything before
//
// An empty histogram stores exponent, start, min and max as 0 and all
// counts 0.
const (
	histMagic   = "QGHS"
	histVersion = 1
	histHeader  = 64
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary encodes the histogram (see UnmarshalBinary).
func (h *Histogram) MarshalBinary() ([]byte, error) {
	b := make([]byte, histHeader+8*h.grid.Bins+4)
	copy(b, histMagic)
	le := binary.LittleEndian
	le.PutUint16(b[4:], histVersion)
	le.PutUint32(b[8:], uint32(h.grid.Bins))
	if h.stats.Count > 0 {
		le.PutUint32(b[12:], uint32(int32(h.grid.Exp)))
		le.PutUint64(b[16:], uint64(h.grid.Start))
		le.PutUint32(b[24:], math.Float32bits(h.stats.Min))
		le.PutUint32(b[28:], math.Float32bits(h.stats.Max))
		for i, c := range h.counts {
			le.PutUint64(b[histHeader+8*i:], c)
		}
	}
	le.PutUint64(b[32:], uint64(h.stats.Count))
	le.PutUint64(b[40:], uint64(h.stats.NaN))
	le.PutUint64(b[48:], uint64(h.stats.PosInf))
	le.PutUint64(b[56:], uint64(h.stats.NegInf))
	n := len(b) - 4
	le.PutUint32(b[n:], crc32.Checksum(b[:n], castagnoli))
	return b, nil
}

// ErrFormat is wrapped by every error about malformed serialized data.
var ErrFormat = errors.New("calib: malformed serialized histogram")

// UnmarshalBinary decodes data written by MarshalBinary into h, replacing
// its state (the reducer is kept; a zero Histogram gets the host reducer).
// It checks the size before allocating, the checksum, the version, and that
// the state is the canonical one for its range (so a decoded histogram
// merges exactly); it never panics.
func (h *Histogram) UnmarshalBinary(b []byte) error {
	if len(b) < histHeader+4 {
		return fmt.Errorf("%w: %d bytes is shorter than the %d-byte header", ErrFormat, len(b), histHeader+4)
	}
	if string(b[:4]) != histMagic {
		return fmt.Errorf("%w: bad magic %q", ErrFormat, b[:4])
	}
	le := binary.LittleEndian
	if v := le.Uint16(b[4:]); v != histVersion {
		return fmt.Errorf("%w: unsupported version %d", ErrFormat, v)
	}
	if le.Uint16(b[6:]) != 0 {
		return fmt.Errorf("%w: reserved field not zero", ErrFormat)
	}
	bins64 := uint64(le.Uint32(b[8:]))
	if bins64 < MinBins || bins64 > MaxBins {
		return fmt.Errorf("%w: bin count %d outside [%d, %d]", ErrFormat, bins64, MinBins, MaxBins)
	}
	bins := int(bins64)
	if want := histHeader + 8*bins + 4; len(b) != want {
		return fmt.Errorf("%w: %d bytes, want %d for %d bins", ErrFormat, len(b), want, bins)
	}
	n := len(b) - 4
	if crc32.Checksum(b[:n], castagnoli) != le.Uint32(b[n:]) {
		return fmt.Errorf("%w: checksum mismatch", ErrFormat)
	}
	var st RangeStats
	cnt := [4]uint64{le.Uint64(b[32:]), le.Uint64(b[40:]), le.Uint64(b[48:]), le.Uint64(b[56:])}
	var total uint64
	for _, c := range cnt {
		if c > 1<<62 || total+c > 1<<62 {
			return fmt.Errorf("%w: counts too large", ErrFormat)
		}
		total += c
	}
	st.Count, st.NaN, st.PosInf, st.NegInf = int64(cnt[0]), int64(cnt[1]), int64(cnt[2]), int64(cnt[3])
	exp := int64(int32(le.Uint32(b[12:])))
	start := int64(le.Uint64(b[16:]))
	lo, hi := math.Float32frombits(le.Uint32(b[24:])), math.Float32frombits(le.Uint32(b[28:]))
	counts := b[histHeader:n]
	if st.Count == 0 {
		if exp != 0 || start != 0 || le.Uint32(b[24:]) != 0 || le.Uint32(b[28:]) != 0 {
			return fmt.Errorf("%w: empty histogram with a non-zero grid or range", ErrFormat)
		}
		for i := 0; i < len(counts); i += 8 {
			if le.Uint64(counts[i:]) != 0 {
				return fmt.Errorf("%w: empty histogram with a non-zero bin", ErrFormat)
			}
		}
		*h = Histogram{red: h.red, grid: Grid{Bins: bins}, stats: st}
		if h.red == nil {
			h.red = HostReducer{}
		}
		return nil
	}
	if isNonFinite(lo) || isNonFinite(hi) || lo > hi || math.Float32bits(lo) == 0x80000000 || math.Float32bits(hi) == 0x80000000 {
		return fmt.Errorf("%w: bad range [%g, %g]", ErrFormat, lo, hi)
	}
	g := canonicalGrid(lo, hi, bins)
	if int64(g.Exp) != exp || g.Start != start {
		return fmt.Errorf("%w: grid (exponent %d, start %d) is not the canonical grid (%d, %d) of range [%g, %g]", ErrFormat, exp, start, g.Exp, g.Start, lo, hi)
	}
	s := qtensor.HistScalePow2(g.Exp)
	jlo, _ := qtensor.HistBinAligned(lo, s)
	jhi, _ := qtensor.HistBinAligned(hi, s)
	first, last := int(jlo-g.Start), int(jhi-g.Start)
	out := make([]uint64, bins)
	var sum uint64
	for i := range out {
		c := le.Uint64(counts[8*i:])
		if c != 0 && (i < first || i > last) {
			return fmt.Errorf("%w: bin %d is outside the range [%g, %g] but holds %d values", ErrFormat, i, lo, hi, c)
		}
		if c > cnt[0] || sum+c > cnt[0] {
			return fmt.Errorf("%w: bin counts exceed the finite count %d", ErrFormat, cnt[0])
		}
		sum += c
		out[i] = c
	}
	if sum != cnt[0] {
		return fmt.Errorf("%w: bin counts sum to %d, finite count is %d", ErrFormat, sum, cnt[0])
	}
	if out[first] == 0 || out[last] == 0 {
		return fmt.Errorf("%w: the bins of the minimum and maximum are empty", ErrFormat)
	}
	st.Min, st.Max = lo, hi
	red := h.red
	if red == nil {
		red = HostReducer{}
	}
	*h = Histogram{red: red, grid: g, counts: out, stats: st}
	return nil
}
