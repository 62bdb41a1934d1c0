package qbeam

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/model/quantize"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/onnx/onnxpb"
	"github.com/qgpu/qgpu/qtensor"
)

// ModelConfig describes one model quantization: the float model and the
// quantizer's options, with the names and defaults of `qgpu model
// quantize`. It travels inside the pipeline (JSON), so it holds paths and
// plain values only; PrepareModel fills in Inputs and Batch.
type ModelConfig struct {
	// Model is the float ONNX model: a local path, or a URL of a Beam file
	// system the workers can read (gs://...).
	Model string
	// Inputs are the graph inputs fed by the .npy files of a Shard, in
	// the order of Shard.Files (PrepareModel sets them).
	Inputs []string
	// Method names the calibration method (calib.ParseMethod; empty:
	// minmax). Moving-average and torch-histogram depend on the order of
	// the batches and are refused: they cannot be merged.
	Method string
	// Percentile is the fraction of the mass the percentile method keeps,
	// in (0, 1] (0: calib.DefaultPercentile).
	Percentile float64
	// Bins is the histogram size of the histogram methods (0:
	// calib.DefaultBins).
	Bins int
	// PerChannel quantizes Conv, ConvTranspose, Gemm and MatMul weights
	// per output channel.
	PerChannel bool
	// ActivationType is "uint8" (empty) or "int8"; WeightType "int8"
	// (empty) or "uint8".
	ActivationType, WeightType string
	// SymmetricActivations, ReduceRange, OpTypes and Exclude are
	// quantize.Options's fields of the same names.
	SymmetricActivations bool
	ReduceRange          bool
	OpTypes              []string
	Exclude              []string
	// Batch is the number of samples per run of the model (PrepareModel:
	// the model's static batch size, else 8, as `qgpu model quantize`).
	// The result does not depend on it.
	Batch int
	// Workers bounds the interpreter's goroutines on a worker (0: all of
	// its CPUs). The result does not depend on it.
	Workers int
}

// Options returns the quantize.Options of the configuration.
func (c ModelConfig) Options() (quantize.Options, error) {
	o := quantize.Options{Percentile: c.Percentile, Bins: c.Bins, PerChannel: c.PerChannel,
		SymmetricActivations: c.SymmetricActivations, ReduceRange: c.ReduceRange,
		OpTypes: c.OpTypes, Exclude: c.Exclude, Workers: c.Workers}
	m, err := parseMergeable(c.Method)
	if err != nil {
		return o, err
	}
	o.Method = m
	if o.ActivationType, err = parseType("activation", c.ActivationType, "uint8", "int8"); err != nil {
		return o, err
	}
	if o.WeightType, err = parseType("weight", c.WeightType, "int8", "uint8"); err != nil {
		return o, err
	}
	return o, nil
}

// parseMergeable parses a method name (empty: minmax) and refuses the
// methods whose state cannot be merged.
func parseMergeable(name string) (calib.Method, error) {
	if name == "" {
		return calib.MethodMinMax, nil
	}
	m, err := calib.ParseMethod(name)
	if err != nil {
		return 0, fmt.Errorf("qbeam: method %q: %w", name, err)
	}
	if m != calib.MethodMinMax && !m.Info().Search {
		return 0, fmt.Errorf("%w: qbeam: %v depends on the order of the batches, so shards calibrated apart cannot be merged; use minmax or a histogram method (%s)",
			qtensor.ErrUnsupported, m, strings.Join(MergeableMethods(), ", "))
	}
	return m, nil
}

// MergeableMethods lists the methods the pipelines accept: minmax and
// the histogram searches, whose state merges exactly.
func MergeableMethods() []string {
	var n []string
	for _, m := range calib.Methods() {
		if m.Method == calib.MethodMinMax || m.Search {
			n = append(n, m.Name)
		}
	}
	return n
}

func parseType(what, s string, allowed ...string) (qtensor.DType, error) {
	if s == "" {
		s = allowed[0]
	}
	if !slices.Contains(allowed, s) {
		return 0, fmt.Errorf("%w: qbeam: %s type %q: want %s", qtensor.ErrParams, what, s, strings.Join(allowed, " or "))
	}
	return qtensor.ParseDType(s)
}

// Shard is one unit of calibration work: one .npy file per graph input
// (ModelConfig.Inputs), read in lockstep as `qgpu model quantize` reads
// its --calib files. Index numbers the shards for messages.
type Shard struct {
	Index int
	Files []string
}

func (s Shard) String() string {
	return fmt.Sprintf("shard %d (%s)", s.Index, strings.Join(s.Files, ", "))
}

// graphInputs returns the names of the model's inputs that are not
// initializers.
func graphInputs(m *onnxpb.ModelProto) []string {
	var names []string
	for _, in := range onnx.FeedInputs(m.GetGraph()) {
		names = append(names, in.GetName())
	}
	return names
}

// staticBatch returns the static first dimension of the model's first
// input (0 when symbolic).
func staticBatch(m *onnxpb.ModelProto, first string) int {
	for _, in := range m.GetGraph().GetInput() {
		if in.GetName() != first {
			continue
		}
		d := in.GetType().GetTensorType().GetShape().GetDim()
		if len(d) > 0 && d[0].GetDimParam() == "" && d[0].GetDimValue() > 0 {
			return int(d[0].GetDimValue())
		}
	}
	return 0
}

// PrepareModel runs on the machine that builds the pipeline: it loads
// cfg.Model, checks the options against it (quantize.New), sets
// cfg.Inputs and cfg.Batch, and expands the calibration patterns into
// shards. A pattern is [NAME=]PATTERN as `qgpu model quantize --calib`
// takes [NAME=]FILE: NAME picks the graph input (default: the first), and
// each input's patterns are expanded in the order given (each pattern's
// files sorted). Shard k holds file k of every input; every input must
// have the same number of files.
func PrepareModel(ctx context.Context, cfg *ModelConfig, patterns []string) ([]Shard, error) {
	opts, err := cfg.Options()
	if err != nil {
		return nil, err
	}
	m, err := loadModel(ctx, cfg.Model)
	if err != nil {
		return nil, err
	}
	if _, err := quantize.New(m, opts); err != nil {
		return nil, err
	}
	names := graphInputs(m)
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: qbeam: %s has no graph input", qtensor.ErrParams, cfg.Model)
	}
	if len(patterns) == 0 {
		return nil, fmt.Errorf("%w: qbeam: no calibration pattern", qtensor.ErrParams)
	}
	byName := map[string][]string{}
	for _, p := range patterns {
		name, pat := names[0], p
		if k, v, ok := strings.Cut(p, "="); ok && slices.Contains(names, k) {
			name, pat = k, v
		}
		files, err := expand(ctx, pat)
		if err != nil {
			return nil, err
		}
		byName[name] = append(byName[name], files...)
	}
	n := len(byName[names[0]])
	for _, name := range names {
		if len(byName[name]) == 0 {
			return nil, fmt.Errorf("%w: qbeam: no calibration file for graph input %q (give %s=PATTERN)", qtensor.ErrParams, name, name)
		}
		if len(byName[name]) != n {
			return nil, fmt.Errorf("%w: qbeam: input %q has %d files, input %q %d", qtensor.ErrParams, name, len(byName[name]), names[0], n)
		}
	}
	shards := make([]Shard, n)
	for k := range shards {
		shards[k].Index = k
		for _, name := range names {
			shards[k].Files = append(shards[k].Files, byName[name][k])
		}
	}
	cfg.Inputs = names
	if sb := staticBatch(m, names[0]); sb > 0 {
		if cfg.Batch != 0 && cfg.Batch != sb {
			return nil, fmt.Errorf("%w: qbeam: the model's batch size is %d, not %d", qtensor.ErrParams, sb, cfg.Batch)
		}
		cfg.Batch = sb
	} else if cfg.Batch == 0 {
		cfg.Batch = 8
	}
	if cfg.Batch < 1 {
		return nil, fmt.Errorf("%w: qbeam: batch %d", qtensor.ErrParams, cfg.Batch)
	}
	return shards, nil
}

// newQuantizer loads the model and makes the quantizer of cfg (on a
// worker: every DoFn and CombineFn of the pipeline makes its own in
// Setup).
func newQuantizer(ctx context.Context, cfg ModelConfig) (*quantize.Quantizer, error) {
	opts, err := cfg.Options()
	if err != nil {
		return nil, err
	}
	m, err := loadModel(ctx, cfg.Model)
	if err != nil {
		return nil, err
	}
	return quantize.New(m, opts)
}

var (
	shardCounter    = beam.NewCounter("qbeam", "shards")
	runCounter      = beam.NewCounter("qbeam", "runs")
	sampleCounter   = beam.NewCounter("qbeam", "samples")
	mergeCounter    = beam.NewCounter("qbeam", "merges")
	addInputCounter = beam.NewCounter("qbeam", "add_input")
)

// observeShardFn runs the float model over one shard with the reference
// interpreter and emits the shard's calibration (per-tensor observer
// state: min/max or the exactly mergeable histograms), encoded with
// Calibration.MarshalBinary.
type observeShardFn struct {
	Cfg ModelConfig
	q   *quantize.Quantizer
}

func (f *observeShardFn) Setup(ctx context.Context) error {
	var err error
	f.q, err = newQuantizer(ctx, f.Cfg)
	return err
}

func (f *observeShardFn) ProcessElement(ctx context.Context, s Shard) ([]byte, error) {
	enc, err := f.observe(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("qbeam: %v: %w", s, err)
	}
	return enc, nil
}

func (f *observeShardFn) observe(ctx context.Context, s Shard) ([]byte, error) {
	if len(s.Files) != len(f.Cfg.Inputs) {
		return nil, fmt.Errorf("%w: %d files for %d graph inputs", qtensor.ErrParams, len(s.Files), len(f.Cfg.Inputs))
	}
	files, cleanup, err := localFiles(ctx, s.Files)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	inputs := make([]quantize.NPYInput, len(files))
	for i, name := range f.Cfg.Inputs {
		inputs[i] = quantize.NPYInput{Name: name, Files: []string{files[i]}}
	}
	c, err := f.q.NewCalibration()
	if err != nil {
		return nil, err
	}
	// Not Quantizer.Calibrate: a shard without samples is no error here
	// (the whole calibration set must have some: writeModelFn checks).
	for b, err := range quantize.NPYBatches(inputs, f.Cfg.Batch) {
		if err != nil {
			return nil, err
		}
		if err := c.Observe(ctx, b); err != nil {
			return nil, err
		}
	}
	runs, samples := c.Runs()
	shardCounter.Inc(ctx, 1)
	runCounter.Inc(ctx, int64(runs))
	sampleCounter.Inc(ctx, samples)
	return c.MarshalBinary()
}

// calAccum is the accumulator of mergeCalibrationFn: a calibration, or its
// encoding as it came from the coder (decoded on first use, since only
// the CombineFn holds the quantizer that decodes it). The zero value is
// the empty accumulator.
type calAccum struct {
	raw []byte
	c   *quantize.Calibration
}

// encodeCalAccum is the accumulator's Beam coder: the calibration's
// binary encoding (Calibration.MarshalBinary: per tensor its name and
// min/max state or calib.Histogram encoding, with a CRC-32); empty for the
// empty accumulator.
func encodeCalAccum(a calAccum) ([]byte, error) {
	if a.c != nil {
		return a.c.MarshalBinary()
	}
	return a.raw, nil
}

func decodeCalAccum(b []byte) (calAccum, error) { return calAccum{raw: bytes.Clone(b)}, nil }

// mergeCalibrationFn merges shard calibrations: Calibration.Merge is
// exact, associative and commutative (histograms on a canonical
// power-of-two grid; min/max), so Beam may lift the combine, merge
// partial accumulators on the workers in any grouping and order, and the
// result is exactly the calibration of the whole set.
type mergeCalibrationFn struct {
	Cfg ModelConfig
	q   *quantize.Quantizer
}

func (f *mergeCalibrationFn) Setup(ctx context.Context) error {
	var err error
	f.q, err = newQuantizer(ctx, f.Cfg)
	return err
}

// get returns a's calibration (nil for the empty accumulator).
func (f *mergeCalibrationFn) get(a calAccum) (*quantize.Calibration, error) {
	if a.c != nil || len(a.raw) == 0 {
		return a.c, nil
	}
	c, err := f.q.UnmarshalCalibration(a.raw)
	if err != nil {
		return nil, fmt.Errorf("qbeam: decoding a partial calibration: %w", err)
	}
	return c, nil
}

func (f *mergeCalibrationFn) merge(a, b calAccum) (calAccum, error) {
	ca, err := f.get(a)
	if err != nil {
		return calAccum{}, err
	}
	cb, err := f.get(b)
	if err != nil {
		return calAccum{}, err
	}
	switch {
	case ca == nil:
		return calAccum{c: cb}, nil
	case cb == nil:
		return calAccum{c: ca}, nil
	}
	if err := ca.Merge(cb); err != nil {
		return calAccum{}, err
	}
	return calAccum{c: ca}, nil
}

func (f *mergeCalibrationFn) CreateAccumulator() calAccum { return calAccum{} }

func (f *mergeCalibrationFn) AddInput(ctx context.Context, a calAccum, shard []byte) (calAccum, error) {
	addInputCounter.Inc(ctx, 1)
	return f.merge(a, calAccum{raw: shard})
}

func (f *mergeCalibrationFn) MergeAccumulators(ctx context.Context, a, b calAccum) (calAccum, error) {
	mergeCounter.Inc(ctx, 1)
	return f.merge(a, b)
}

func (f *mergeCalibrationFn) ExtractOutput(a calAccum) ([]byte, error) {
	c, err := f.get(a)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("%w: qbeam: no calibration", calib.ErrNoData)
	}
	return c.MarshalBinary()
}

// writeModelFn quantizes the model with the merged calibration and
// writes the QDQ model and the calibration table.
type writeModelFn struct {
	Cfg        ModelConfig
	Out, Table string
	q          *quantize.Quantizer
}

func (f *writeModelFn) Setup(ctx context.Context) error {
	var err error
	f.q, err = newQuantizer(ctx, f.Cfg)
	return err
}

func (f *writeModelFn) ProcessElement(ctx context.Context, enc []byte) error {
	c, err := f.q.UnmarshalCalibration(enc)
	if err != nil {
		return fmt.Errorf("qbeam: decoding the merged calibration: %w", err)
	}
	model, table, err := QuantizeCalibration(f.q, c)
	if err != nil {
		return err
	}
	if f.Out != "" {
		if err := writeFile(ctx, f.Out, model); err != nil {
			return err
		}
	}
	if f.Table != "" {
		if err := writeFile(ctx, f.Table, table); err != nil {
			return err
		}
	}
	runs, samples := c.Runs()
	log.Infof(ctx, "qbeam: %d runs, %d samples, %d tensors observed; wrote %s %s", runs, samples, len(c.Tensors()), f.Out, f.Table)
	return nil
}

// QuantizeCalibration quantizes q's model with the calibration c and
// returns the encoded QDQ model and the calibration table: the JSON list
// of every quantized tensor (quantize.TensorInfo: kind, type, axis,
// scale, zero point, range, data seen), one entry per tensor, indented
// with two spaces - the "quantized" list of `qgpu model quantize
// --report`. A calibration without any sample is an error wrapping
// calib.ErrNoData.
func QuantizeCalibration(q *quantize.Quantizer, c *quantize.Calibration) (model, table []byte, err error) {
	if runs, _ := c.Runs(); runs == 0 {
		return nil, nil, fmt.Errorf("%w: qbeam: the calibration shards hold no sample", calib.ErrNoData)
	}
	res, err := q.Quantize(c)
	if err != nil {
		return nil, nil, err
	}
	if model, err = onnx.Encode(res.Model); err != nil {
		return nil, nil, err
	}
	if table, err = json.MarshalIndent(res.Tensors, "", "  "); err != nil {
		return nil, nil, err
	}
	return model, append(table, '\n'), nil
}

// Calibrate adds the calibration to the pipeline: every shard of shards
// (a PCollection of Shard) is observed by observeShardFn, and the shard
// calibrations are merged by a CombineFn whose accumulator's coder is the
// calibration's binary encoding. It returns a PCollection holding one
// element, the merged calibration (Calibration.MarshalBinary; none when
// shards is empty). Shards made by beam.Create should be reshuffled
// first (QuantizeModel does), so that a runner spreads them over its
// workers instead of running them all where they were created.
func Calibrate(s beam.Scope, cfg ModelConfig, shards beam.PCollection) beam.PCollection {
	s = s.Scope("qbeam.Calibrate")
	states := beam.ParDo(s, &observeShardFn{Cfg: cfg}, shards)
	return beam.Combine(s, &mergeCalibrationFn{Cfg: cfg}, states)
}

// WriteModel adds the last step: the QDQ model of the merged calibration
// cal (from Calibrate) is written to out and the calibration table to
// table (either may be empty), on a worker, through Beam's file systems.
func WriteModel(s beam.Scope, cfg ModelConfig, cal beam.PCollection, out, table string) {
	s = s.Scope("qbeam.WriteModel")
	beam.ParDo0(s, &writeModelFn{Cfg: cfg, Out: out, Table: table}, cal)
}

// QuantizeModel builds the whole pipeline: the shards (from PrepareModel)
// are calibrated, merged, and the QDQ model and the table written.
func QuantizeModel(s beam.Scope, cfg ModelConfig, shards []Shard, out, table string) error {
	if len(shards) == 0 {
		return fmt.Errorf("%w: qbeam: no shard", qtensor.ErrParams)
	}
	if out == "" && table == "" {
		return errors.New("qbeam: nothing to write (no model or table path)")
	}
	if out == table {
		return fmt.Errorf("%w: qbeam: the model and the table would both be written to %s", qtensor.ErrParams, out)
	}
	for _, sh := range shards {
		for _, f := range append([]string{cfg.Model}, sh.Files...) {
			if f == out || f == table {
				return fmt.Errorf("%w: qbeam: %s is an input and an output", qtensor.ErrParams, f)
			}
		}
	}
	col := beam.Reshuffle(s, beam.CreateList(s, shards))
	WriteModel(s, cfg, Calibrate(s, cfg, col), out, table)
	return nil
}

func init() {
	register.DoFn2x2[context.Context, Shard, []byte, error](&observeShardFn{})
	// Not register.Combiner3: its shims have no context parameter, which
	// the merge counters need; the CombineFn runs through reflection.
	beam.RegisterType(reflect.TypeOf((*mergeCalibrationFn)(nil)).Elem())
	register.DoFn2x1[context.Context, []byte, error](&writeModelFn{})
	beam.RegisterType(reflect.TypeOf(Shard{}))
	beam.RegisterCoder(reflect.TypeOf(calAccum{}), encodeCalAccum, decodeCalAccum)
}

// Cause returns the message of the DoFn error behind a failed job's
// error - from the last line that starts with "qbeam: " - without the
// runner's account of the bundle; the whole error text when there is no
// such line.
func Cause(err error) string {
	s := err.Error()
	if strings.HasPrefix(s, "qbeam: ") {
		return s
	}
	if i := strings.LastIndex(s, "\nqbeam: "); i >= 0 {
		return strings.TrimSpace(s[i+1:])
	}
	return s
}
