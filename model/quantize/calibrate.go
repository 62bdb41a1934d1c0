package quantize

import (
	"context"
	"fmt"
	"iter"
	"slices"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/interp"
)

// Batch is the input of one calibration or comparison run: one tensor per
// graph input, by name, with the samples along axis 0. Batches may differ
// in size; every tensor of one batch has the same size on axis 0.
type Batch map[string]*graph.Tensor

// Calibration holds the observers of one calibration: for every
// activation the quantizer calibrates, the state of the chosen method -
// its running minimum and maximum (minmax), its moving averages
// (moving-average), torch's histogram (torch-histogram) or an exactly
// mergeable histogram (the histogram searches). Memory is bounded by the
// number of tensors times the observer size (bins), whatever the amount of
// data observed.
//
// Calibrations of the same Quantizer made on shards of a data set Merge
// into exactly the calibration of the whole set, in any order and any
// split, and MarshalBinary carries one between processes (not for
// moving-average and torch-histogram, whose state depends on the order of
// the batches).
//
// A Calibration is not safe for concurrent use.
type Calibration struct {
	q       *Quantizer
	obs     []*tensorObs // one per q.plan.observe entry
	runs    int
	samples int64
}

// tensorObs is the observer state of one tensor.
type tensorObs struct {
	stats calib.RangeStats // minmax (the others keep their own)
	hist  *calib.Histogram
	ma    *calib.MovingAverageMinMaxObserver
	th    *calib.TorchHistogramObserver
}

// NewCalibration returns an empty calibration for q.
func (q *Quantizer) NewCalibration() (*Calibration, error) {
	c := &Calibration{q: q, obs: make([]*tensorObs, len(q.plan.observe))}
	for i := range c.obs {
		o, err := q.newTensorObs()
		if err != nil {
			return nil, err
		}
		c.obs[i] = o
	}
	return c, nil
}

func (q *Quantizer) newTensorObs() (*tensorObs, error) {
	o := &tensorObs{}
	m := q.opts.Method
	switch {
	case m == calib.MethodMinMax:
	case m == calib.MethodMovingAverage:
		o.ma = &calib.MovingAverageMinMaxObserver{Reducer: q.opts.Reducer, Constant: q.opts.AveragingConstant}
	case m == calib.MethodTorchHistogram:
		o.th = &calib.TorchHistogramObserver{Bins: q.opts.Bins}
	case m.Info().Search:
		h, err := calib.NewHistogram(q.opts.Bins, q.opts.Reducer)
		if err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		o.hist = h
	default:
		return nil, fmt.Errorf("%w: quantize: method %v", ErrUnsupported, m)
	}
	return o, nil
}

func (o *tensorObs) observe(ctx context.Context, red calib.Reducer, x []float32, shape []int) error {
	switch {
	case o.hist != nil:
		return o.hist.Observe(ctx, x)
	case o.ma != nil:
		return o.ma.Observe(ctx, x, shape)
	case o.th != nil:
		return o.th.Observe(ctx, x, shape)
	}
	if len(x) == 0 {
		return nil
	}
	s, err := red.MinMax(ctx, x, 1, len(x))
	if err != nil {
		return err
	}
	o.stats = o.stats.Merge(s[0])
	return nil
}

// Stats returns the finite range and NaN/Inf counts of the data seen.
func (o *tensorObs) Stats() calib.RangeStats {
	switch {
	case o.hist != nil:
		return o.hist.Stats()
	case o.ma != nil:
		return o.ma.Stats()
	case o.th != nil:
		return o.th.Stats()
	}
	return o.stats
}

// rangeFor returns the range the method chooses for target t.
func (o *tensorObs) rangeFor(m calib.Method, percentile float64, t calib.Target) (lo, hi float32, err error) {
	switch {
	case o.hist != nil:
		return o.hist.SearchRange(m, percentile, t)
	case o.ma != nil:
		return o.ma.Range(t)
	case o.th != nil:
		return o.th.Range(t)
	}
	if o.stats.Count == 0 {
		return 0, 0, calib.ErrNoData
	}
	return o.stats.Min, o.stats.Max, nil
}

// Tensors returns the names of the activations the calibration observes,
// sorted.
func (c *Calibration) Tensors() []string { return slices.Clone(c.q.plan.observe) }

// Runs returns the number of runs of the float model observed, and the
// number of samples they held.
func (c *Calibration) Runs() (runs int, samples int64) { return c.runs, c.samples }

// Observe runs the float model on one batch with the reference
// interpreter and feeds every calibrated activation into its observer.
// The run holds only the live activations of this batch.
func (c *Calibration) Observe(ctx context.Context, b Batch) error {
	q := c.q
	g, n, err := q.graphs.get(b)
	if err != nil {
		return err
	}
	index := q.observeIndex
	_, err = interp.Run(ctx, g, b, &interp.Options{Workers: q.opts.Workers, Observer: func(name string, t *graph.Tensor) error {
		i, ok := index[name]
		if !ok {
			return nil
		}
		if t.DType != graph.Float32 {
			return fmt.Errorf("%w: quantize: tensor %q is %v, not float32", ErrUnsupported, name, t.DType)
		}
		if err := c.obs[i].observe(ctx, q.opts.Reducer, t.F32, t.Shape); err != nil {
			return fmt.Errorf("quantize: observing %q: %w", name, err)
		}
		return nil
	}})
	if err != nil {
		return err
	}
	c.runs++
	c.samples += int64(n)
	if q.opts.Progress != nil {
		q.opts.Progress(c.runs, c.samples)
	}
	return nil
}

// Calibrate observes every batch of batches in order (see Observe) and
// returns the calibration. It stops at the first error, the iterator's
// included.
func (q *Quantizer) Calibrate(ctx context.Context, batches iter.Seq2[Batch, error]) (*Calibration, error) {
	c, err := q.NewCalibration()
	if err != nil {
		return nil, err
	}
	for b, err := range batches {
		if err != nil {
			return nil, err
		}
		if err := c.Observe(ctx, b); err != nil {
			return nil, err
		}
	}
	if c.runs == 0 {
		return nil, fmt.Errorf("%w: quantize: no calibration batch", calib.ErrNoData)
	}
	return c, nil
}

// mergeable reports whether the method's state merges exactly.
func mergeable(m calib.Method) bool { return m == calib.MethodMinMax || m.Info().Search }

// Merge adds the data of o, a calibration of the same Quantizer (or of
// one made from the same model and options), into c. The result is
// exactly the calibration of both data sets together, whatever the order
// of merging. Moving-average and torch-histogram calibrations cannot be
// merged (ErrUnsupported).
func (c *Calibration) Merge(o *Calibration) error {
	if !mergeable(c.q.opts.Method) {
		return fmt.Errorf("%w: quantize: %v calibrations depend on the order of the batches and cannot be merged", ErrUnsupported, c.q.opts.Method)
	}
	if err := c.compatible(o.q); err != nil {
		return err
	}
	for i, ob := range c.obs {
		if ob.hist != nil {
			if err := ob.hist.Merge(o.obs[i].hist); err != nil {
				return fmt.Errorf("quantize: merging %q: %w", c.q.plan.observe[i], err)
			}
		} else {
			ob.stats = ob.stats.Merge(o.obs[i].stats)
		}
	}
	c.runs += o.runs
	c.samples += o.samples
	return nil
}

// compatible checks that a calibration made by q2 has the layout of c's.
func (c *Calibration) compatible(q2 *Quantizer) error {
	a, b := c.q, q2
	if a.opts.Method != b.opts.Method || a.opts.Bins != b.opts.Bins || !slices.Equal(a.plan.observe, b.plan.observe) {
		return fmt.Errorf("%w: quantize: calibrations of different tensors or methods", ErrParams)
	}
	return nil
}
