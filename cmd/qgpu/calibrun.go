package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/qtensor"
)

// calibResult is one method's outcome; also its JSON form.
type calibResult struct {
	In         string    `json:"in"`
	Inputs     []string  `json:"inputs,omitempty"` // every --in file, when more than one
	Tensor     string    `json:"tensor,omitempty"`
	Shape      []int     `json:"shape"`
	Method     string    `json:"method"`
	Search     string    `json:"search,omitempty"` // the histogram search behind the method
	DType      string    `json:"dtype"`
	Scheme     string    `json:"scheme"`
	QMin       int32     `json:"qmin"`
	QMax       int32     `json:"qmax"`
	Reduce     bool      `json:"reduce_range"`
	Axis       *int      `json:"axis"`
	Batches    int       `json:"batches"`
	Backend    string    `json:"backend"`
	Bins       int       `json:"bins,omitempty"`
	Percentile float64   `json:"percentile,omitempty"`         // percent kept
	AvgConst   float32   `json:"averaging_constant,omitempty"` // moving-average
	Scale      []float32 `json:"scale"`
	ZeroPoint  []int32   `json:"zero_point"`
	Range      struct {
		Min []float32 `json:"min"`
		Max []float32 `json:"max"`
	} `json:"range"`
	SQNR        *float64   `json:"sqnr_db"`
	ChannelSQNR []*float64 `json:"channel_sqnr_db,omitempty"` // per channel (null: exact)
	Count       int64      `json:"count"`
	NaN         int64      `json:"nan"`
	PosInf      int64      `json:"pos_inf"`
	NegInf      int64      `json:"neg_inf"`
	DataRange   struct {
		Min float32 `json:"min"`
		Max float32 `json:"max"`
	} `json:"data_range"`

	sqnr     float64
	chanSQNR []float64
	stats    calib.RangeStats
}

// calibFile is one --in file inside calibData.x.
type calibFile struct {
	path       string
	shape      []int
	start, end int // its elements in calibData.x
}

// calibData is the calibration input: every --in file, concatenated along
// dimension 0.
type calibData struct {
	x     []float32
	shape []int
	name  string // the first file's tensor name
	files []calibFile
}

// loadCalibData reads the --in files: float tensors of the same shape
// apart from dimension 0 (with --axis 0, of one file only).
func loadCalibData(o calibOpts, stderr io.Writer) (*calibData, error) {
	d := &calibData{}
	for i, in := range o.ins {
		x, err := loadFloat("calibrate", in, o.tensor, stderr)
		if err != nil {
			return nil, err
		}
		if x.Len() == 0 {
			return nil, usagef("calibrate: %s is empty (shape %v)", in, x.Shape)
		}
		if i == 0 {
			d.shape, d.name = slices.Clone(x.Shape), x.Name
		} else if err := d.appendable(o, in, x.Shape); err != nil {
			return nil, err
		}
		d.files = append(d.files, calibFile{path: in, shape: x.Shape, start: len(d.x), end: len(d.x) + x.Len()})
		d.x = append(d.x, x.Float32s()...)
	}
	if o.perChannel {
		if _, err := axisIndex("calibrate", o.axis, len(d.shape), d.shape); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// appendable checks that a file of shape s can follow the first along
// dimension 0, and adds its dimension 0 to d.shape.
func (d *calibData) appendable(o calibOpts, in string, s []int) error {
	first := d.files[0]
	if len(s) == 0 || len(first.shape) == 0 || len(s) != len(first.shape) || !slices.Equal(s[1:], first.shape[1:]) {
		return usagef("calibrate: %s has shape %v, %s %v: several --in files are batches along dimension 0 and need the same shape apart from it", in, s, first.path, first.shape)
	}
	if o.perChannel && (o.axis == 0 || o.axis == -len(s)) {
		return usagef("calibrate: --axis 0 with several --in files: dimension 0 is the batch dimension the files are concatenated along; calibrate per channel along another axis, or one file")
	}
	d.shape[0] += s[0]
	return nil
}

// splitParts returns the non-empty parts numpy.array_split(range(length),
// n) makes: min(n, length) contiguous parts, the first length%n one
// element longer; the parts past length are empty and left out (PyTorch's
// observers skip empty batches).
func splitParts(length, n int) [][2]int {
	parts := min(n, length)
	out := make([][2]int, 0, parts)
	q, r := length/n, length%n
	lo := 0
	for i := range parts {
		sz := q
		if i < r {
			sz++
		}
		out = append(out, [2]int{lo, lo + sz})
		lo += sz
	}
	return out
}

// arraySplit returns the bounds of n contiguous parts of length elements
// as numpy.array_split makes them: the first length%n parts have one
// element more than the others (empty parts included).
func arraySplit(length, n int) [][2]int {
	out := make([][2]int, n)
	q, r := length/n, length%n
	lo := 0
	for i := range out {
		sz := q
		if i < r {
			sz++
		}
		out[i] = [2]int{lo, lo + sz}
		lo += sz
	}
	return out
}

// runCalibration runs the methods on the data: per tensor, or one method
// per channel. It returns one result per method and, per tensor, the
// histogram of the data (for --plot; nil when no method or plot needs one).
func runCalibration(ctx context.Context, o calibOpts, methods []calib.MethodInfo, d *calibData, red calib.Reducer, prog *progress) ([]*calibResult, *calib.Histogram, error) {
	var results []*calibResult
	var hist *calib.Histogram
	var err error
	if o.perChannel {
		o.axis, _ = axisIndex("calibrate", o.axis, len(d.shape), d.shape)
		var r *calibResult
		r, err = calibratePerChannel(ctx, o, methods[0], d, red, prog)
		results = []*calibResult{r}
	} else {
		results, hist, err = calibrateTensor(ctx, o, methods, d, red, prog)
	}
	if err != nil {
		return nil, nil, err
	}
	for _, r := range results {
		r.In, r.Tensor, r.Shape, r.Backend = o.ins[0], d.name, d.shape, o.backend
		if len(o.ins) > 1 {
			r.Inputs = o.ins
		}
	}
	return results, hist, nil
}

// newResult fills the fields common to every method.
func newResult(o calibOpts, m calib.MethodInfo) *calibResult {
	qmin, qmax, _ := o.target.Range()
	r := &calibResult{Method: m.Name, DType: o.target.DType.String(), Scheme: o.target.Scheme.String(),
		QMin: qmin, QMax: qmax, Reduce: o.target.ReduceRange, Batches: o.batches}
	if m.Search {
		r.Search = m.Name
	}
	if usesBins(m) {
		r.Bins = o.bins
	}
	if m.Method == calib.MethodPercentile {
		r.Percentile = o.percentile * 100
	}
	if m.Method == calib.MethodMovingAverage {
		r.AvgConst = o.avgConst
	}
	if o.perChannel {
		a := o.axis
		r.Axis = &a
	}
	return r
}

// finish computes the parameters of the ranges and the SQNR of x.
func (r *calibResult) finish(o calibOpts, x []float32, shape []int, lo, hi []float32, stats calib.RangeStats) error {
	r.Range.Min, r.Range.Max = lo, hi
	r.Scale = make([]float32, len(lo))
	r.ZeroPoint = make([]int32, len(lo))
	for c := range lo {
		s, zp, err := calib.QParams(lo[c], hi[c], o.target)
		if err != nil {
			if len(lo) > 1 {
				err = fmt.Errorf("channel %d: %w", c, err)
			}
			return fmt.Errorf("calibrate: %s: %w", r.Method, err)
		}
		r.Scale[c], r.ZeroPoint[c] = s, zp
	}
	p := qtensor.TensorParams(r.Scale[0], r.ZeroPoint[0])
	if r.Axis != nil {
		p = qtensor.Params{Granularity: qtensor.PerAxis, Axis: *r.Axis, Scales: r.Scale, ZeroPoints: r.ZeroPoint}
	}
	var err error
	r.sqnr, err = calib.SQNR(x, shape, p, o.target)
	if err != nil {
		return fmt.Errorf("calibrate: %s: SQNR: %w", r.Method, err)
	}
	r.SQNR = finiteDB(r.sqnr)
	r.stats = stats
	r.Count, r.NaN, r.PosInf, r.NegInf = stats.Count, stats.NaN, stats.PosInf, stats.NegInf
	r.DataRange.Min, r.DataRange.Max = stats.Min, stats.Max
	return nil
}

// finiteDB is v, or nil when v is infinite (JSON has no infinity).
func finiteDB(v float64) *float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return nil
	}
	return &v
}

// noFinite turns calib's ErrNoData into a usage error (the input file has
// no finite value).
func noFinite(in string, err error) error {
	if errors.Is(err, calib.ErrNoData) {
		return usagef("calibrate: %s: %v", in, err)
	}
	return err
}

// tensorParts are the batches of a per-tensor run: each file's elements
// split by --batches.
func tensorParts(o calibOpts, d *calibData) [][2]int {
	var parts [][2]int
	for _, f := range d.files {
		for _, p := range splitParts(f.end-f.start, o.batches) {
			parts = append(parts, [2]int{f.start + p[0], f.start + p[1]})
		}
	}
	return parts
}

// calibrateTensor runs the per-tensor methods. The histogram methods share
// one histogram (its state does not depend on the batch split); it is
// also built for the plot.
func calibrateTensor(ctx context.Context, o calibOpts, methods []calib.MethodInfo, d *calibData, red calib.Reducer, prog *progress) ([]*calibResult, *calib.Histogram, error) {
	parts := tensorParts(o, d)
	feed := func(name string, obs calib.Observer) error {
		for i, b := range parts {
			prog.update(false, "calibrate: %s: batch %d/%d", name, i+1, len(parts))
			if err := obs.Observe(ctx, d.x[b[0]:b[1]], nil); err != nil {
				return err
			}
		}
		return nil
	}
	var ho *calib.HistogramObserver
	needHist := o.plot != ""
	for _, m := range methods {
		needHist = needHist || m.Search
	}
	if needHist {
		var err error
		if ho, err = calib.NewHistogramObserver(calib.MethodMinMax, o.bins, red); err != nil {
			return nil, nil, asUsage(err)
		}
		if err := feed("histogram", ho); err != nil {
			return nil, nil, err
		}
	}
	var out []*calibResult
	for _, m := range methods {
		prog.update(true, "calibrate: %s", m.Name)
		lo, hi, stats, err := tensorRange(o, m, ho, func(obs calib.Observer) error { return feed(m.Name, obs) }, red)
		if err != nil {
			return nil, nil, noFinite(o.ins[0], err)
		}
		r := newResult(o, m)
		if err := r.finish(o, d.x, []int{len(d.x)}, []float32{lo}, []float32{hi}, stats); err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	var h *calib.Histogram
	if ho != nil {
		h = ho.Histogram
	}
	return out, h, nil
}

// tensorRange is method m's range: a search on the shared histogram ho,
// or the range of the method's own observer fed by feed.
func tensorRange(o calibOpts, m calib.MethodInfo, ho *calib.HistogramObserver, feed func(calib.Observer) error, red calib.Reducer) (lo, hi float32, stats calib.RangeStats, err error) {
	if m.Search {
		lo, hi, err = ho.SearchRange(m.Method, o.percentile, o.target)
		return lo, hi, ho.Stats(), err
	}
	obs, err := calib.NewObserver(m.Method, calib.ObserverOptions{Reducer: red, Bins: o.bins, AveragingConstant: o.avgConst})
	if err != nil {
		return 0, 0, stats, asUsage(fmt.Errorf("calibrate: %s: %w", m.Name, err))
	}
	if err = feed(obs); err != nil {
		return 0, 0, stats, err
	}
	lo, hi, err = obs.Range(o.target)
	return lo, hi, obs.Stats(), err
}

// chanBatch is one batch of a per-channel run in the [outer, C, inner]
// view of the input.
type chanBatch struct {
	x     []float32
	shape []int // [outer', C, inner']
}

// channelBatches splits x, viewed as [outer, ch, inner], into n batches
// along outer when outer > 1 (sub-slices), otherwise along inner (copies).
// Empty parts are left out.
func channelBatches(x []float32, outer, ch, inner, n int) []chanBatch {
	var out []chanBatch
	if outer > 1 {
		for _, b := range splitParts(outer, n) {
			out = append(out, chanBatch{x[b[0]*ch*inner : b[1]*ch*inner], []int{b[1] - b[0], ch, inner}})
		}
		return out
	}
	for _, b := range splitParts(inner, n) {
		w := b[1] - b[0]
		part := make([]float32, 0, ch*w)
		for c := range ch {
			part = append(part, x[c*inner+b[0]:c*inner+b[1]]...)
		}
		out = append(out, chanBatch{part, []int{1, ch, w}})
	}
	return out
}

// channelView returns the outer size of shape before axis, the channel
// count and the inner size after it.
func channelView(shape []int, axis int) (outer, ch, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	return outer, shape[axis], inner
}

// perChannelParts are the batches of a per-channel run: each file split
// by --batches (channelBatches).
func perChannelParts(o calibOpts, d *calibData) []chanBatch {
	var parts []chanBatch
	for _, f := range d.files {
		outer, ch, inner := channelView(f.shape, o.axis)
		parts = append(parts, channelBatches(d.x[f.start:f.end], outer, ch, inner, o.batches)...)
	}
	return parts
}

// calibratePerChannel runs one method per channel along o.axis.
func calibratePerChannel(ctx context.Context, o calibOpts, m calib.MethodInfo, d *calibData, red calib.Reducer, prog *progress) (*calibResult, error) {
	parts := perChannelParts(o, d)
	r := newResult(o, m)
	var lo, hi []float32
	var stats calib.RangeStats
	var err error
	if m.Search {
		lo, hi, stats, err = channelSearch(ctx, o, m, parts, red, prog)
	} else {
		lo, hi, stats, err = channelMinMax(ctx, o, m, parts, red, prog)
	}
	if err != nil {
		return nil, err
	}
	if err := r.finish(o, d.x, d.shape, lo, hi, stats); err != nil {
		return nil, err
	}
	prog.update(true, "calibrate: %s: SQNR per channel", m.Name)
	r.chanSQNR, err = channelSQNR(d, o, r)
	if err != nil {
		return nil, err
	}
	for _, v := range r.chanSQNR {
		r.ChannelSQNR = append(r.ChannelSQNR, finiteDB(v))
	}
	return r, nil
}

// channelMinMax runs torch's per-channel min/max (or moving-average)
// observer.
func channelMinMax(ctx context.Context, o calibOpts, m calib.MethodInfo, parts []chanBatch, red calib.Reducer, prog *progress) (lo, hi []float32, stats calib.RangeStats, err error) {
	obs := &calib.PerChannelMinMaxObserver{Reducer: red, Axis: 1, Averaging: m.Method == calib.MethodMovingAverage, Constant: o.avgConst}
	for i, b := range parts {
		prog.update(false, "calibrate: %s: batch %d/%d", m.Name, i+1, len(parts))
		if err := obs.Observe(ctx, b.x, b.shape); err != nil {
			return nil, nil, stats, err
		}
	}
	if lo, hi, err = obs.Ranges(); err != nil {
		return nil, nil, stats, noFinite(o.ins[0], err)
	}
	return lo, hi, obs.Stats(), nil
}

// channelSearch builds one histogram per channel and runs m's search on
// each.
func channelSearch(ctx context.Context, o calibOpts, m calib.MethodInfo, parts []chanBatch, red calib.Reducer, prog *progress) (lo, hi []float32, stats calib.RangeStats, err error) {
	ch := parts[0].shape[1]
	hs := make([]*calib.HistogramObserver, ch)
	for c := range hs {
		if hs[c], err = calib.NewHistogramObserver(m.Method, o.bins, red); err != nil {
			return nil, nil, stats, asUsage(err)
		}
		hs[c].Percentile = o.percentile
	}
	var buf []float32
	for i, b := range parts {
		bo, bi := b.shape[0], b.shape[2]
		for c := range ch {
			prog.update(false, "calibrate: %s: histograms, batch %d/%d, channel %d/%d", m.Name, i+1, len(parts), c+1, ch)
			buf = buf[:0]
			for k := range bo {
				off := (k*ch + c) * bi
				buf = append(buf, b.x[off:off+bi]...)
			}
			if err := hs[c].Observe(ctx, buf, nil); err != nil {
				return nil, nil, stats, err
			}
		}
	}
	lo, hi = make([]float32, ch), make([]float32, ch)
	for c, h := range hs {
		prog.update(false, "calibrate: %s: range search, channel %d/%d", m.Name, c+1, ch)
		if err := ctx.Err(); err != nil {
			return nil, nil, stats, err
		}
		if lo[c], hi[c], err = h.Range(o.target); err != nil {
			return nil, nil, stats, noFinite(o.ins[0], fmt.Errorf("channel %d: %w", c, err))
		}
		stats = stats.Merge(h.Stats())
	}
	return lo, hi, stats, nil
}

// channelValues returns the values of channel c of x (shape, channel axis
// axis), in order.
func channelValues(x []float32, shape []int, axis, c int) []float32 {
	outer, ch, inner := channelView(shape, axis)
	out := make([]float32, 0, outer*inner)
	for k := range outer {
		off := (k*ch + c) * inner
		out = append(out, x[off:off+inner]...)
	}
	return out
}

// channelSQNR returns the SQNR of each channel with its own parameters.
// A channel without finite values gets NaN.
func channelSQNR(d *calibData, o calibOpts, r *calibResult) ([]float64, error) {
	out := make([]float64, len(r.Scale))
	for c := range out {
		v, err := calib.SQNRTensor(channelValues(d.x, d.shape, o.axis, c), r.Scale[c], r.ZeroPoint[c], o.target)
		if errors.Is(err, calib.ErrNoData) {
			v, err = math.NaN(), nil
		}
		if err != nil {
			return nil, fmt.Errorf("calibrate: channel %d: SQNR: %w", c, err)
		}
		out[c] = v
	}
	return out, nil
}
