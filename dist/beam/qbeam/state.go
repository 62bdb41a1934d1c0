package qbeam

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/qtensor"
)

// ErrFormat is wrapped by every error about a malformed serialized tensor
// state.
var ErrFormat = errors.New("qbeam: malformed serialized tensor state")

// tensorState is the observer state of one tensor of the tensors
// pipeline: per channel (one for a per-tensor calibration) the exact
// min/max statistics (minmax) or an exactly mergeable calib.Histogram
// (the histogram searches), with the files and rows seen and the shape
// of one row. States of the same tensor merge exactly, in any order.
type tensorState struct {
	method calib.Method
	bins   int   // histogram bins (0 for minmax)
	axis   int   // channel axis in the file's shape; -1 per tensor
	files  int   // files observed
	rows   int64 // samples along axis 0, over all files
	shape  []int // the shape of one row (the files' shape without axis 0)
	chans  []chanState
}

// chanState is one channel's state: stats for minmax, hist otherwise.
type chanState struct {
	stats calib.RangeStats
	hist  *calib.Histogram
}

// newTensorState returns an empty state for a file whose rows have the
// given shape.
func newTensorState(m calib.Method, bins, axis int, shape []int) *tensorState {
	if !m.Info().Search {
		bins = 0
	}
	return &tensorState{method: m, bins: bins, axis: axis, shape: slices.Clone(shape)}
}

// channels returns the channel count the state's shape and axis give
// (axis 0: the rows seen).
func (s *tensorState) channels() int64 {
	switch {
	case s.axis < 0:
		return 1
	case s.axis == 0:
		return s.rows
	}
	return int64(s.shape[s.axis-1])
}

// grow appends empty channels up to n.
func (s *tensorState) grow(n int) error {
	for len(s.chans) < n {
		var c chanState
		if s.bins > 0 {
			h, err := calib.NewHistogram(s.bins, nil)
			if err != nil {
				return err
			}
			c.hist = h
		}
		s.chans = append(s.chans, c)
	}
	return nil
}

// observeChannel adds the values x to channel c.
func (s *tensorState) observeChannel(ctx context.Context, c int, x []float32) error {
	ch := &s.chans[c]
	if ch.hist != nil {
		return ch.hist.Observe(ctx, x)
	}
	st, err := calib.HostReducer{}.MinMax(ctx, x, 1, len(x))
	if err != nil {
		return err
	}
	ch.stats = ch.stats.Merge(st[0])
	return nil
}

// observe adds a block of n rows (x: [n, shape...], row-major).
func (s *tensorState) observe(ctx context.Context, x []float32, n int) error {
	if n == 0 {
		return nil
	}
	per := len(x) / n
	switch {
	case s.axis < 0:
		if err := s.grow(1); err != nil {
			return err
		}
		if err := s.observeChannel(ctx, 0, x); err != nil {
			return err
		}
	case s.axis == 0:
		// Each row is a channel.
		first := len(s.chans)
		if err := s.grow(first + n); err != nil {
			return err
		}
		for i := range n {
			if err := s.observeChannel(ctx, first+i, x[i*per:(i+1)*per]); err != nil {
				return err
			}
		}
	default:
		outer, ch, inner := n, s.shape[s.axis-1], 1
		for _, d := range s.shape[:s.axis-1] {
			outer *= d
		}
		for _, d := range s.shape[s.axis:] {
			inner *= d
		}
		if err := s.grow(ch); err != nil {
			return err
		}
		if s.bins == 0 {
			st, err := calib.HostReducer{}.MinMax(ctx, x, ch, inner)
			if err != nil {
				return err
			}
			for c := range ch {
				s.chans[c].stats = s.chans[c].stats.Merge(st[c])
			}
			break
		}
		buf := make([]float32, 0, outer*inner)
		for c := range ch {
			buf = buf[:0]
			for k := range outer {
				off := (k*ch + c) * inner
				buf = append(buf, x[off:off+inner]...)
			}
			if err := s.observeChannel(ctx, c, buf); err != nil {
				return err
			}
		}
	}
	s.rows += int64(n)
	return nil
}

// merge adds o (a state of the same tensor, another file) into s.
func (s *tensorState) merge(o *tensorState) error {
	if !slices.Equal(s.shape, o.shape) {
		return fmt.Errorf("%w: qbeam: files of one tensor with rows of shape %v and %v (the shape apart from axis 0 must agree)", qtensor.ErrShape, s.shape, o.shape)
	}
	if s.method != o.method || s.bins != o.bins || s.axis != o.axis {
		return fmt.Errorf("%w: qbeam: tensor states of different methods or axes", qtensor.ErrParams)
	}
	if s.axis == 0 {
		return fmt.Errorf("%w: qbeam: per channel along axis 0 (the sample axis) takes one file per tensor", qtensor.ErrParams)
	}
	if len(o.chans) > len(s.chans) {
		if err := s.grow(len(o.chans)); err != nil {
			return err
		}
	}
	for i, c := range o.chans {
		if c.hist != nil {
			if err := s.chans[i].hist.Merge(c.hist); err != nil {
				return err
			}
		} else {
			s.chans[i].stats = s.chans[i].stats.Merge(c.stats)
		}
	}
	s.files += o.files
	s.rows += o.rows
	return nil
}

// rangeStats returns the channel's statistics.
func (c chanState) rangeStats() calib.RangeStats {
	if c.hist != nil {
		return c.hist.Stats()
	}
	return c.stats
}

const (
	stateMagic   = "qgputns\x00"
	stateVersion = 1
	maxRank      = 32
	// maxChannels bounds the channel count a serialized state may claim.
	maxChannels = 1 << 28
	statsSize   = 40
)

// MarshalBinary encodes the state: a header (method, bins, axis, files,
// rows, row shape, channel count), per channel the min/max statistics
// (minmax) or the calib.Histogram encoding, and a CRC-32.
func (s *tensorState) MarshalBinary() ([]byte, error) {
	le := binary.LittleEndian
	b := []byte(stateMagic)
	b = append(b, stateVersion, byte(s.method))
	b = le.AppendUint32(b, uint32(s.bins))
	b = le.AppendUint32(b, uint32(int32(s.axis)))
	b = le.AppendUint32(b, uint32(s.files))
	b = le.AppendUint64(b, uint64(s.rows))
	b = le.AppendUint32(b, uint32(len(s.shape)))
	for _, d := range s.shape {
		b = le.AppendUint64(b, uint64(d))
	}
	b = le.AppendUint32(b, uint32(len(s.chans)))
	for _, c := range s.chans {
		if c.hist != nil {
			h, err := c.hist.MarshalBinary()
			if err != nil {
				return nil, err
			}
			b = le.AppendUint32(b, uint32(len(h)))
			b = append(b, h...)
			continue
		}
		st := c.stats
		b = le.AppendUint32(b, statsSize)
		b = le.AppendUint32(b, math.Float32bits(st.Min))
		b = le.AppendUint32(b, math.Float32bits(st.Max))
		for _, v := range []int64{st.Count, st.NaN, st.PosInf, st.NegInf} {
			b = le.AppendUint64(b, uint64(v))
		}
	}
	return le.AppendUint32(b, crc32.ChecksumIEEE(b)), nil
}

// unmarshalTensorState decodes a state written by MarshalBinary. It
// checks sizes before allocating, the checksum and every field (the
// channel count against the shape and axis, each histogram's canonical
// form); it never panics.
func unmarshalTensorState(data []byte) (*tensorState, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, a...)...)
	}
	le := binary.LittleEndian
	const head = len(stateMagic) + 2 + 4 + 4 + 4 + 8 + 4
	if len(data) < head+4+4 {
		return nil, bad("%d bytes", len(data))
	}
	if string(data[:len(stateMagic)]) != stateMagic {
		return nil, bad("not a qgpu tensor state")
	}
	body := data[:len(data)-4]
	if crc32.ChecksumIEEE(body) != le.Uint32(data[len(data)-4:]) {
		return nil, bad("checksum mismatch")
	}
	p := len(stateMagic)
	if body[p] != stateVersion {
		return nil, bad("version %d", body[p])
	}
	s := &tensorState{method: calib.Method(body[p+1])}
	mi := s.method.Info()
	if s.method != calib.MethodMinMax && !mi.Search {
		return nil, bad("method %d", body[p+1])
	}
	bins := le.Uint32(body[p+2:])
	axis := int32(le.Uint32(body[p+6:]))
	files := le.Uint32(body[p+10:])
	rows := le.Uint64(body[p+14:])
	rank := le.Uint32(body[p+22:])
	p = head
	switch {
	case mi.Search && (bins < calib.MinBins || bins > calib.MaxBins):
		return nil, bad("%d bins", bins)
	case !mi.Search && bins != 0:
		return nil, bad("%d bins for minmax", bins)
	case rank > maxRank:
		return nil, bad("rank %d", rank)
	case axis < -1 || axis > int32(rank):
		return nil, bad("axis %d for rows of rank %d", axis, rank)
	case files > math.MaxInt32 || rows > math.MaxInt64/2:
		return nil, bad("%d files, %d rows", files, rows)
	}
	s.bins, s.axis, s.files, s.rows = int(bins), int(axis), int(files), int64(rows)
	if len(body)-p < 8*int(rank)+4 {
		return nil, bad("truncated shape")
	}
	s.shape = make([]int, rank)
	for i := range s.shape {
		d := le.Uint64(body[p:])
		if d > math.MaxInt32 {
			return nil, bad("dimension %d", d)
		}
		s.shape[i] = int(d)
		p += 8
	}
	n := le.Uint32(body[p:])
	p += 4
	if n > maxChannels || int64(n) > int64(len(body)-p)/(4+statsSize) {
		return nil, bad("%d channels in %d bytes", n, len(body)-p)
	}
	if want := s.channels(); s.rows > 0 && int64(n) != want {
		return nil, bad("%d channels, want %d", n, want)
	}
	if s.rows == 0 && n != 0 {
		return nil, bad("%d channels without data", n)
	}
	s.chans = make([]chanState, n)
	for i := range s.chans {
		if len(body)-p < 4 {
			return nil, bad("channel %d: truncated", i)
		}
		l := le.Uint32(body[p:])
		p += 4
		if int64(l) > int64(len(body)-p) {
			return nil, bad("channel %d: truncated", i)
		}
		rec := body[p : p+int(l)]
		p += int(l)
		if s.bins > 0 {
			h, err := calib.NewHistogram(s.bins, nil)
			if err != nil {
				return nil, err
			}
			if err := h.UnmarshalBinary(rec); err != nil {
				return nil, fmt.Errorf("%w: channel %d: %v", ErrFormat, i, err)
			}
			if h.Bins() != s.bins {
				return nil, bad("channel %d: %d bins", i, h.Bins())
			}
			s.chans[i].hist = h
			continue
		}
		if l != statsSize {
			return nil, bad("channel %d: %d-byte record", i, l)
		}
		var st calib.RangeStats
		st.Min = math.Float32frombits(le.Uint32(rec))
		st.Max = math.Float32frombits(le.Uint32(rec[4:]))
		st.Count = int64(le.Uint64(rec[8:]))
		st.NaN = int64(le.Uint64(rec[16:]))
		st.PosInf = int64(le.Uint64(rec[24:]))
		st.NegInf = int64(le.Uint64(rec[32:]))
		if st.Count < 0 || st.NaN < 0 || st.PosInf < 0 || st.NegInf < 0 {
			return nil, bad("channel %d: negative counts", i)
		}
		if st.Count > 0 && !(isFinite(st.Min) && isFinite(st.Max) && st.Min <= st.Max) {
			return nil, bad("channel %d: range [%g, %g]", i, st.Min, st.Max)
		}
		if st.Count == 0 && (le.Uint32(rec) != 0 || le.Uint32(rec[4:]) != 0) {
			return nil, bad("channel %d: a range without data", i)
		}
		if math.Float32bits(st.Min) == 0x80000000 || math.Float32bits(st.Max) == 0x80000000 {
			return nil, bad("channel %d: -0 in the range", i)
		}
		s.chans[i].stats = st
	}
	if p != len(body) {
		return nil, bad("%d trailing bytes", len(body)-p)
	}
	return s, nil
}

func isFinite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
