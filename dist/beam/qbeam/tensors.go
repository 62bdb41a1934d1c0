package qbeam

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/model/quantize"
	"github.com/qgpu/qgpu/qtensor"
)

// TensorConfig describes a calibration of plain tensors (activation
// dumps, weight sets) stored as float32 .npy files: the method and the
// target, with the names and defaults of `qgpu calibrate`.
type TensorConfig struct {
	// Method names the calibration method (empty: minmax); only minmax
	// and the histogram searches merge, the others are refused.
	Method string
	// Percentile is the fraction of the mass the percentile method keeps,
	// in (0, 1] (0: calib.DefaultPercentile).
	Percentile float64
	// Bins is the histogram size of the histogram methods (0:
	// calib.DefaultBins).
	Bins int
	// DType is the target type: uint8 (empty), int8, uint4 or int4;
	// Scheme "affine" (empty) or "symmetric"; ReduceRange halves the
	// integer range as PyTorch does; QRange, when it has two values, is a
	// custom integer range [qmin, qmax].
	DType       string
	Scheme      string
	ReduceRange bool
	QRange      []int32
	// PerChannel calibrates one range per channel along Axis (negative
	// counts from the end) of each file's shape. Axis 0, the sample axis,
	// takes one file per tensor (a weight with its output channels first).
	PerChannel bool
	Axis       int
	// Rows is the number of samples (along axis 0) read at a time (0:
	// 1024); memory on a worker is about Rows samples, whatever the size
	// of the file. The result does not depend on it.
	Rows int
}

// defaultRows is TensorConfig.Rows's default.
const defaultRows = 1024

func (c TensorConfig) method() (calib.Method, error) { return parseMergeable(c.Method) }

// Target returns the calibration target the configuration names.
func (c TensorConfig) Target() (calib.Target, error) {
	d := c.DType
	if d == "" {
		d = "uint8"
	}
	dt, err := qtensor.ParseDType(d)
	if err != nil || !dt.Quantized() {
		return calib.Target{}, fmt.Errorf("%w: qbeam: type %q: want uint8, int8, uint4 or int4", qtensor.ErrParams, d)
	}
	t := calib.Target{DType: dt, ReduceRange: c.ReduceRange}
	switch c.Scheme {
	case "", "affine":
		t.Scheme = calib.Affine
	case "symmetric":
		t.Scheme = calib.Symmetric
	default:
		return t, fmt.Errorf("%w: qbeam: scheme %q: want affine or symmetric", qtensor.ErrParams, c.Scheme)
	}
	switch len(c.QRange) {
	case 0:
	case 2:
		t.Custom, t.QMin, t.QMax = true, c.QRange[0], c.QRange[1]
	default:
		return t, fmt.Errorf("%w: qbeam: a custom integer range has two values, not %d", qtensor.ErrParams, len(c.QRange))
	}
	if _, _, err := t.Range(); err != nil {
		return t, fmt.Errorf("qbeam: %w", err)
	}
	if t.Scheme == calib.Symmetric {
		if _, err := t.ZeroPointSymmetric(); err != nil {
			return t, fmt.Errorf("qbeam: %w", err)
		}
	}
	return t, nil
}

func (c TensorConfig) check() error {
	if _, err := c.method(); err != nil {
		return err
	}
	if _, err := c.Target(); err != nil {
		return err
	}
	switch {
	case c.Bins != 0 && (c.Bins < calib.MinBins || c.Bins > calib.MaxBins):
		return fmt.Errorf("%w: qbeam: %d bins outside [%d, %d]", qtensor.ErrParams, c.Bins, calib.MinBins, calib.MaxBins)
	case !(c.Percentile >= 0 && c.Percentile <= 1):
		return fmt.Errorf("%w: qbeam: percentile %g outside (0, 1]", qtensor.ErrParams, c.Percentile)
	case c.Rows < 0:
		return fmt.Errorf("%w: qbeam: rows %d", qtensor.ErrParams, c.Rows)
	}
	return nil
}

// TensorShard is one file of one tensor.
type TensorShard struct {
	Tensor string
	File   string
}

// PrepareTensors runs on the machine that builds the pipeline: it checks
// the configuration and expands the patterns into one shard per file. A
// pattern NAME=PATTERN gives the files of tensor NAME (its batches, to be
// calibrated together as if concatenated along axis 0, as `qgpu
// calibrate` takes several --in files); a plain PATTERN makes each file a
// tensor of its own, named by the file's name without .npy.
func PrepareTensors(ctx context.Context, cfg TensorConfig, patterns []string) ([]TensorShard, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if len(patterns) == 0 {
		return nil, fmt.Errorf("%w: qbeam: no tensor pattern", qtensor.ErrParams)
	}
	var shards []TensorShard
	files := map[string][]string{}
	plain := map[string]string{} // tensor named by a file -> the file
	for _, p := range patterns {
		name, pat := "", p
		if k, v, ok := strings.Cut(p, "="); ok && k != "" && !strings.ContainsAny(k, `/\*?[`) {
			name, pat = k, v
		}
		matched, err := expand(ctx, pat)
		if err != nil {
			return nil, err
		}
		for _, f := range matched {
			t := name
			if t == "" {
				t = strings.TrimSuffix(path.Base(f), ".npy")
				if prev, ok := plain[t]; ok {
					return nil, fmt.Errorf("%w: qbeam: %s and %s would both be tensor %q: name them NAME=PATTERN", qtensor.ErrParams, prev, f, t)
				}
				plain[t] = f
			}
			files[t] = append(files[t], f)
			shards = append(shards, TensorShard{Tensor: t, File: f})
		}
	}
	for t, fs := range files {
		if _, ok := plain[t]; ok && len(fs) > 1 {
			return nil, fmt.Errorf("%w: qbeam: tensor %q comes from a file and from NAME=PATTERN", qtensor.ErrParams, t)
		}
		if cfg.PerChannel && cfg.Axis == 0 && len(fs) > 1 {
			return nil, fmt.Errorf("%w: qbeam: tensor %q: per channel along axis 0 (the sample axis) takes one file, not %d", qtensor.ErrParams, t, len(fs))
		}
	}
	return shards, nil
}

// observeTensorFn reads one file of a tensor, Rows samples at a time, and
// emits the tensor's name and the file's observer state.
type observeTensorFn struct {
	Cfg TensorConfig
}

func (f *observeTensorFn) ProcessElement(ctx context.Context, s TensorShard) (string, []byte, error) {
	enc, err := f.observe(ctx, s)
	if err != nil {
		return "", nil, fmt.Errorf("qbeam: tensor %q: %s: %w", s.Tensor, s.File, err)
	}
	return s.Tensor, enc, nil
}

func (f *observeTensorFn) observe(ctx context.Context, s TensorShard) ([]byte, error) {
	m, err := f.Cfg.method()
	if err != nil {
		return nil, err
	}
	bins := f.Cfg.Bins
	if bins == 0 {
		bins = calib.DefaultBins
	}
	rows := f.Cfg.Rows
	if rows == 0 {
		rows = defaultRows
	}
	local, cleanup, err := localFiles(ctx, []string{s.File})
	defer cleanup()
	if err != nil {
		return nil, err
	}
	var st *tensorState
	for b, err := range quantize.NPYBatches([]quantize.NPYInput{{Name: "x", Files: local}}, rows) {
		if err != nil {
			return nil, err
		}
		t := b["x"]
		if st == nil {
			axis := -1
			if f.Cfg.PerChannel {
				rank := len(t.Shape)
				if axis = f.Cfg.Axis; axis < 0 {
					axis += rank
				}
				if axis < 0 || axis >= rank {
					return nil, fmt.Errorf("%w: axis %d out of range for rank %d", qtensor.ErrShape, f.Cfg.Axis, rank)
				}
			}
			st = newTensorState(m, bins, axis, t.Shape[1:])
			st.files = 1
		}
		if err := st.observe(ctx, t.F32, t.Shape[0]); err != nil {
			return nil, err
		}
	}
	if st == nil {
		return nil, fmt.Errorf("%w: no sample", calib.ErrNoData)
	}
	shardCounter.Inc(ctx, 1)
	sampleCounter.Inc(ctx, st.rows)
	return st.MarshalBinary()
}

// tensorAccum is the accumulator of mergeTensorFn: a tensor state (nil:
// the empty accumulator). Its Beam coder is the state's binary encoding.
type tensorAccum struct {
	st *tensorState
}

func encodeTensorAccum(a tensorAccum) ([]byte, error) {
	if a.st == nil {
		return nil, nil
	}
	return a.st.MarshalBinary()
}

func decodeTensorAccum(b []byte) (tensorAccum, error) {
	if len(b) == 0 {
		return tensorAccum{}, nil
	}
	st, err := unmarshalTensorState(b)
	return tensorAccum{st}, err
}

// mergeTensorFn merges the file states of one tensor (CombinePerKey):
// exact, in any grouping and order.
type mergeTensorFn struct{}

func (*mergeTensorFn) CreateAccumulator() tensorAccum { return tensorAccum{} }

func (*mergeTensorFn) AddInput(a tensorAccum, enc []byte) (tensorAccum, error) {
	st, err := unmarshalTensorState(enc)
	if err != nil {
		return a, err
	}
	return (&mergeTensorFn{}).MergeAccumulators(a, tensorAccum{st})
}

func (*mergeTensorFn) MergeAccumulators(a, b tensorAccum) (tensorAccum, error) {
	switch {
	case a.st == nil:
		return b, nil
	case b.st == nil:
		return a, nil
	}
	if err := a.st.merge(b.st); err != nil {
		return a, err
	}
	return a, nil
}

func (*mergeTensorFn) ExtractOutput(a tensorAccum) ([]byte, error) { return encodeTensorAccum(a) }

// TensorParams is one entry of the tensors pipeline's table: the
// parameters of one tensor, with the fields of `qgpu calibrate --json`
// (without the SQNR, which would take a second pass over the data).
type TensorParams struct {
	Name        string    `json:"name"`
	Shape       []int     `json:"shape"` // of the files concatenated along axis 0
	Method      string    `json:"method"`
	DType       string    `json:"dtype"`
	Scheme      string    `json:"scheme"`
	QMin        int32     `json:"qmin"`
	QMax        int32     `json:"qmax"`
	ReduceRange bool      `json:"reduce_range"`
	Axis        *int      `json:"axis"` // null per tensor
	Bins        int       `json:"bins,omitempty"`
	Percentile  float64   `json:"percentile,omitempty"` // percent kept
	Scale       []float32 `json:"scale"`
	ZeroPoint   []int32   `json:"zero_point"`
	Range       struct {
		Min []float32 `json:"min"`
		Max []float32 `json:"max"`
	} `json:"range"`
	Count     int64 `json:"count"`
	NaN       int64 `json:"nan"`
	PosInf    int64 `json:"pos_inf"`
	NegInf    int64 `json:"neg_inf"`
	DataRange struct {
		Min float32 `json:"min"`
		Max float32 `json:"max"`
	} `json:"data_range"`
}

// tensorParamsFn turns a tensor's merged state into its parameters: the
// method's range per channel (min/max, or the histogram search) and
// calib.QParams for the target - what `qgpu calibrate` computes from the
// same data.
type tensorParamsFn struct {
	Cfg TensorConfig
}

func (f *tensorParamsFn) ProcessElement(name string, enc []byte) ([]byte, error) {
	p, err := f.params(name, enc)
	if err != nil {
		return nil, fmt.Errorf("qbeam: tensor %q: %w", name, err)
	}
	return json.Marshal(p)
}

func (f *tensorParamsFn) params(name string, enc []byte) (*TensorParams, error) {
	st, err := unmarshalTensorState(enc)
	if err != nil {
		return nil, err
	}
	t, err := f.Cfg.Target()
	if err != nil {
		return nil, err
	}
	mi := st.method.Info()
	qmin, qmax, _ := t.Range()
	p := &TensorParams{Name: name, Shape: append([]int{int(st.rows)}, st.shape...), Method: mi.Name,
		DType: t.DType.String(), Scheme: t.Scheme.String(), QMin: qmin, QMax: qmax, ReduceRange: t.ReduceRange}
	if st.axis >= 0 {
		a := st.axis
		p.Axis = &a
	}
	pct := f.Cfg.Percentile
	if pct == 0 {
		pct = calib.DefaultPercentile
	}
	if mi.Search {
		p.Bins = st.bins
	}
	if st.method == calib.MethodPercentile {
		p.Percentile = pct * 100
	}
	var all calib.RangeStats
	for c, ch := range st.chans {
		s := ch.rangeStats()
		all = all.Merge(s)
		var lo, hi float32
		if ch.hist != nil {
			lo, hi, err = ch.hist.SearchRange(st.method, pct, t)
		} else if s.Count == 0 {
			err = calib.ErrNoData
		} else {
			lo, hi = s.Min, s.Max
		}
		if err == nil {
			var scale float32
			var zp int32
			if scale, zp, err = calib.QParams(lo, hi, t); err == nil {
				p.Scale, p.ZeroPoint = append(p.Scale, scale), append(p.ZeroPoint, zp)
				p.Range.Min, p.Range.Max = append(p.Range.Min, lo), append(p.Range.Max, hi)
				continue
			}
		}
		if st.axis >= 0 {
			return nil, fmt.Errorf("channel %d: %w", c, err)
		}
		return nil, err
	}
	if len(st.chans) == 0 {
		return nil, calib.ErrNoData
	}
	p.Count, p.NaN, p.PosInf, p.NegInf = all.Count, all.NaN, all.PosInf, all.NegInf
	p.DataRange.Min, p.DataRange.Max = all.Min, all.Max
	return p, nil
}

// writeTableFn writes the table: every tensor's entry, sorted by name.
type writeTableFn struct {
	Table string
}

func (f *writeTableFn) ProcessElement(ctx context.Context, _ int, entries func(*[]byte) bool) error {
	var table []TensorParams
	var e []byte
	for entries(&e) {
		var p TensorParams
		if err := json.Unmarshal(e, &p); err != nil {
			return err
		}
		table = append(table, p)
	}
	slices.SortFunc(table, func(a, b TensorParams) int { return strings.Compare(a.Name, b.Name) })
	b, err := json.MarshalIndent(table, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(ctx, f.Table, append(b, '\n'))
}

// CalibrateTensors adds the tensors calibration to the pipeline: every
// file of shards (a PCollection of TensorShard) is read by a worker into
// per-channel observer state, the states of each tensor are merged by a
// CombineFn (CombinePerKey; the accumulator's coder is the state's binary
// encoding, built on calib.Histogram's), and each tensor's parameters are
// computed. It returns a PCollection of the entries (TensorParams, JSON).
func CalibrateTensors(s beam.Scope, cfg TensorConfig, shards beam.PCollection) beam.PCollection {
	s = s.Scope("qbeam.CalibrateTensors")
	states := beam.ParDo(s, &observeTensorFn{Cfg: cfg}, shards)
	merged := beam.CombinePerKey(s, &mergeTensorFn{}, states)
	return beam.ParDo(s, &tensorParamsFn{Cfg: cfg}, merged)
}

// WriteTensorTable writes the entries (from CalibrateTensors) as one JSON
// list sorted by tensor name.
func WriteTensorTable(s beam.Scope, entries beam.PCollection, table string) {
	s = s.Scope("qbeam.WriteTensorTable")
	beam.ParDo0(s, &writeTableFn{Table: table}, beam.GroupByKey(s, beam.AddFixedKey(s, entries)))
}

// CalibrateTensorFiles builds the whole tensors pipeline: the shards (from
// PrepareTensors) are reshuffled, calibrated, and the table written.
func CalibrateTensorFiles(s beam.Scope, cfg TensorConfig, shards []TensorShard, table string) error {
	if len(shards) == 0 {
		return fmt.Errorf("%w: qbeam: no shard", qtensor.ErrParams)
	}
	if table == "" {
		return fmt.Errorf("%w: qbeam: no table path", qtensor.ErrParams)
	}
	col := beam.Reshuffle(s, beam.CreateList(s, shards))
	WriteTensorTable(s, CalibrateTensors(s, cfg, col), table)
	return nil
}

func init() {
	register.DoFn2x3[context.Context, TensorShard, string, []byte, error](&observeTensorFn{})
	register.Combiner3[tensorAccum, []byte, []byte](&mergeTensorFn{})
	register.DoFn2x2[string, []byte, []byte, error](&tensorParamsFn{})
	register.DoFn3x1[context.Context, int, func(*[]byte) bool, error](&writeTableFn{})
	register.Iter1[[]byte]()
	beam.RegisterType(reflect.TypeOf(TensorShard{}))
	beam.RegisterCoder(reflect.TypeOf(tensorAccum{}), encodeTensorAccum, decodeTensorAccum)
}
