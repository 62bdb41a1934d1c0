package calib

import (
	"context"
	"fmt"

	"github.com/qgpu/qgpu/qtensor"
)

// Observer sees batches of float32 data and chooses quantization parameters
// for a target. Every observer of this package implements it: per tensor
// (MinMaxObserver, MovingAverageMinMaxObserver, HistogramObserver,
// TorchHistogramObserver, which are also RangeObservers) and per channel
// (PerChannelMinMaxObserver). Observers are not safe for concurrent use.
type Observer interface {
	// Observe adds a batch x, a row-major tensor of the given shape (nil
	// means a flat vector of len(x)). NaN and ±Inf are left out of the
	// range and counted; an empty batch changes nothing.
	Observe(ctx context.Context, x []float32, shape []int) error
	// Params returns the parameters for target t: per tensor, or per axis
	// for a per-channel observer (the axis normalised against the rank of
	// the batches). The error wraps ErrNoData when no finite value (for a
	// per-channel observer: in some channel) has been seen.
	Params(t Target) (qtensor.Params, error)
	// Stats returns the finite range and the NaN/Inf counts of all data
	// seen (all channels together).
	Stats() RangeStats
}

// RangeObserver is an Observer that chooses one clipping range per tensor.
type RangeObserver interface {
	Observer
	// Range returns the chosen range [lo, hi] for the target, or an error
	// wrapping ErrNoData when no finite value has been seen.
	Range(t Target) (lo, hi float32, err error)
}

// TensorParams returns per-tensor parameters for the target from the
// observer's range (QParams); the per-tensor observers' Params.
func TensorParams(o RangeObserver, t Target) (qtensor.Params, error) {
	lo, hi, err := o.Range(t)
	if err != nil {
		return qtensor.Params{}, err
	}
	s, zp, err := QParams(lo, hi, t)
	if err != nil {
		return qtensor.Params{}, err
	}
	return qtensor.TensorParams(s, zp), nil
}

// checkShape checks that a batch of len(x) values has the given shape (nil:
// any).
func checkShape(x []float32, shape []int) error {
	if shape == nil {
		return nil
	}
	n, err := qtensor.NumElements(shape)
	if err != nil {
		return err
	}
	if n != len(x) {
		return fmt.Errorf("%w: shape %v has %d elements, data has %d", qtensor.ErrShape, shape, n, len(x))
	}
	return nil
}

func reducerOr(r Reducer) Reducer {
	if r == nil {
		return HostReducer{}
	}
	return r
}

func noData(s RangeStats) error {
	if s.Total() == 0 {
		return fmt.Errorf("%w (no values)", ErrNoData)
	}
	return fmt.Errorf("%w (%d values: %d NaN, %d +Inf, %d -Inf)", ErrNoData, s.Total(), s.NaN, s.PosInf, s.NegInf)
}

// MinMaxObserver keeps the running minimum and maximum of all batches
// (PyTorch's MinMaxObserver, except that NaN and ±Inf are skipped and
// counted instead of propagated).
type MinMaxObserver struct {
	Reducer Reducer // nil: HostReducer{}
	stats   RangeStats
}

// Observe implements Observer.
func (o *MinMaxObserver) Observe(ctx context.Context, x []float32, shape []int) error {
	if err := checkShape(x, shape); err != nil {
		return err
	}
	if len(x) == 0 {
		return nil
	}
	st, err := reducerOr(o.Reducer).MinMax(ctx, x, 1, len(x))
	if err != nil {
		return err
	}
	o.stats = o.stats.Merge(st[0])
	return nil
}

// Range implements RangeObserver; the range does not depend on the target.
func (o *MinMaxObserver) Range(Target) (float32, float32, error) {
	if o.stats.Count == 0 {
		return 0, 0, noData(o.stats)
	}
	return o.stats.Min, o.stats.Max, nil
}

// Params implements Observer.
func (o *MinMaxObserver) Params(t Target) (qtensor.Params, error) { return TensorParams(o, t) }

// Stats implements Observer.
func (o *MinMaxObserver) Stats() RangeStats { return o.stats }

// DefaultAveragingConstant is PyTorch's default moving-average constant.
const DefaultAveragingConstant float32 = 0.01

// MovingAverageMinMaxObserver keeps a moving average of the batch minima
// and maxima (PyTorch's MovingAverageMinMaxObserver): the first batch with
// a finite value sets min and max, each later one updates them in float32
// in PyTorch's order of operations:
//
//	min = min + float32(c * float32(batchMin - min))
//
// and the same for max. Batches without finite values are skipped.
type MovingAverageMinMaxObserver struct {
	Reducer  Reducer // nil: HostReducer{}
	Constant float32 // c; 0 means DefaultAveragingConstant
	min, max float32
	stats    RangeStats
}

func movingAverage(v, cur, c float32) float32 {
	d := cur - v
	return v + float32(c*d)
}

// Observe implements Observer.
func (o *MovingAverageMinMaxObserver) Observe(ctx context.Context, x []float32, shape []int) error {
	if err := checkShape(x, shape); err != nil {
		return err
	}
	if len(x) == 0 {
		return nil
	}
	st, err := reducerOr(o.Reducer).MinMax(ctx, x, 1, len(x))
	if err != nil {
		return err
	}
	b := st[0]
	if b.Count > 0 {
		c := o.Constant
		if c == 0 {
			c = DefaultAveragingConstant
		}
		if o.stats.Count == 0 {
			o.min, o.max = b.Min, b.Max
		} else {
			o.min, o.max = movingAverage(o.min, b.Min, c), movingAverage(o.max, b.Max, c)
		}
	}
	o.stats = o.stats.Merge(b)
	return nil
}

// Range implements RangeObserver.
func (o *MovingAverageMinMaxObserver) Range(Target) (float32, float32, error) {
	if o.stats.Count == 0 {
		return 0, 0, noData(o.stats)
	}
	return o.min, o.max, nil
}

// Params implements Observer.
func (o *MovingAverageMinMaxObserver) Params(t Target) (qtensor.Params, error) {
	return TensorParams(o, t)
}

// Stats implements Observer (Min and Max there are the true running
// extremes, not the averages).
func (o *MovingAverageMinMaxObserver) Stats() RangeStats { return o.stats }

// PerChannelMinMaxObserver keeps per-channel running minima and maxima
// along one axis of row-major batches (PyTorch's PerChannelMinMaxObserver),
// or, with Averaging set, their moving averages (PyTorch's
// MovingAveragePerChannelMinMaxObserver, same float32 rule as
// MovingAverageMinMaxObserver, per channel).
type PerChannelMinMaxObserver struct {
	Reducer   Reducer // nil: HostReducer{}
	Axis      int     // channel axis; negative counts from the end
	Averaging bool
	Constant  float32 // 0 means DefaultAveragingConstant
	min, max  []float32
	stats     []RangeStats
	rank      int // rank of the batches, set by the first non-empty one
}

// Observe implements Observer. Every batch must have the same rank and the
// same number of channels (a nil shape is a flat vector: one channel per
// element). An empty batch changes nothing. A channel without a finite
// value in a batch keeps its previous range (ChannelStats record the
// NaN/Inf counts).
func (o *PerChannelMinMaxObserver) Observe(ctx context.Context, x []float32, shape []int) error {
	if shape == nil {
		shape = []int{len(x)}
	}
	n, err := qtensor.NumElements(shape)
	if err != nil {
		return err
	}
	if n != len(x) {
		return fmt.Errorf("%w: shape %v has %d elements, data has %d", qtensor.ErrShape, shape, n, len(x))
	}
	axis := o.Axis
	if axis < 0 {
		axis += len(shape)
	}
	if axis < 0 || axis >= len(shape) {
		return fmt.Errorf("%w: axis %d out of range for shape %v", qtensor.ErrShape, o.Axis, shape)
	}
	ch := shape[axis]
	if o.stats != nil && ch != len(o.stats) {
		return fmt.Errorf("%w: batch has %d channels along axis %d, earlier batches had %d", qtensor.ErrShape, ch, axis, len(o.stats))
	}
	if o.stats != nil && len(shape) != o.rank {
		return fmt.Errorf("%w: batch of rank %d (shape %v), earlier batches had rank %d", qtensor.ErrShape, len(shape), shape, o.rank)
	}
	if n == 0 {
		return nil
	}
	inner := 1
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	st, err := reducerOr(o.Reducer).MinMax(ctx, x, ch, inner)
	if err != nil {
		return err
	}
	if len(st) != ch {
		return fmt.Errorf("%w: MinMax returned %d channels, want %d", errReducer, len(st), ch)
	}
	if o.stats == nil {
		o.stats = make([]RangeStats, ch)
		o.min = make([]float32, ch)
		o.max = make([]float32, ch)
		o.rank = len(shape)
	}
	c := o.Constant
	if c == 0 {
		c = DefaultAveragingConstant
	}
	for i, b := range st {
		if b.Count > 0 {
			switch {
			case o.stats[i].Count == 0:
				o.min[i], o.max[i] = b.Min, b.Max
			case o.Averaging:
				o.min[i], o.max[i] = movingAverage(o.min[i], b.Min, c), movingAverage(o.max[i], b.Max, c)
			default:
				o.min[i], o.max[i] = min(o.min[i], b.Min), max(o.max[i], b.Max)
			}
		}
		o.stats[i] = o.stats[i].Merge(b)
	}
	return nil
}

// Ranges returns the per-channel ranges; an error wrapping ErrNoData when
// nothing was observed or some channel has no finite value.
func (o *PerChannelMinMaxObserver) Ranges() (lo, hi []float32, err error) {
	if o.stats == nil {
		return nil, nil, noData(RangeStats{})
	}
	for i, s := range o.stats {
		if s.Count == 0 {
			return nil, nil, fmt.Errorf("channel %d: %w", i, noData(s))
		}
	}
	return append([]float32(nil), o.min...), append([]float32(nil), o.max...), nil
}

// Stats implements Observer: the statistics of all channels together.
func (o *PerChannelMinMaxObserver) Stats() RangeStats {
	var s RangeStats
	for _, c := range o.stats {
		s = s.Merge(c)
	}
	return s
}

// ChannelStats returns the per-channel statistics (nil before the first
// non-empty batch).
func (o *PerChannelMinMaxObserver) ChannelStats() []RangeStats {
	return append([]RangeStats(nil), o.stats...)
}

// Params implements Observer: per-axis parameters for the target, on the
// channel axis normalised against the rank of the observed batches.
func (o *PerChannelMinMaxObserver) Params(t Target) (qtensor.Params, error) {
	lo, hi, err := o.Ranges()
	if err != nil {
		return qtensor.Params{}, err
	}
	axis := o.Axis
	if axis < 0 {
		axis += o.rank
	}
	if axis < 0 || axis >= o.rank {
		return qtensor.Params{}, fmt.Errorf("%w: axis %d out of range for rank %d", qtensor.ErrShape, o.Axis, o.rank)
	}
	scales := make([]float32, len(lo))
	zps := make([]int32, len(lo))
	for i := range lo {
		scales[i], zps[i], err = QParams(lo[i], hi[i], t)
		if err != nil {
			return qtensor.Params{}, fmt.Errorf("channel %d: %w", i, err)
		}
	}
	return qtensor.Params{Granularity: qtensor.PerAxis, Axis: axis, Scales: scales, ZeroPoints: zps}, nil
}

// The observers of this package.
var (
	_ RangeObserver = (*MinMaxObserver)(nil)
	_ RangeObserver = (*MovingAverageMinMaxObserver)(nil)
	_ RangeObserver = (*HistogramObserver)(nil)
	_ RangeObserver = (*TorchHistogramObserver)(nil)
	_ Observer      = (*PerChannelMinMaxObserver)(nil)
)
