package quantize

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/onnx/onnxpb"
	"github.com/qgpu/qgpu/qtensor"
)

// Quantizer quantizes one float model with one set of Options: it knows
// which tensors become quantized and how (the plan, made once from the
// model without data), runs calibrations, and writes QDQ models from
// them. It is safe for concurrent use: several goroutines may observe
// batches into calibrations of their own (shards) and Merge them.
type Quantizer struct {
	opts Options
	src  *onnxpb.ModelProto // the float model, never modified
	plan *plan

	observeIndex map[string]int // plan.observe name -> index

	graphs *graphCache // float graphs for the input shapes of the batches
}

// New returns a Quantizer for the float model m (from onnx.Load or
// onnx.Decode; m is cloned, not kept). It builds the model once with
// package graph for its value types (symbolic dimensions other than the
// batch need Options.Dims) and marks the tensors to quantize.
func New(m *onnxpb.ModelProto, opts Options) (*Quantizer, error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	if m == nil || m.GetGraph() == nil {
		return nil, fmt.Errorf("%w: quantize: no model", ErrParams)
	}
	src := proto.Clone(m).(*onnxpb.ModelProto)
	if opset, ok := onnx.OpsetVersion(src, ""); !ok || opset < 13 {
		return nil, fmt.Errorf("%w: quantize: the model imports opset %d of the default domain; per-channel QuantizeLinear needs 13 or later", ErrUnsupported, opset)
	}
	q := &Quantizer{opts: o, src: src, graphs: newGraphCache(src, o.Dims, o.MaxElements)}
	shapes, err := declaredShapes(src, o.Dims)
	if err != nil {
		return nil, err
	}
	built, err := q.graphs.build(shapes)
	if err != nil {
		return nil, err
	}
	q.plan, err = newPlan(proto.Clone(src).(*onnxpb.ModelProto), built, o)
	if err != nil {
		return nil, err
	}
	q.observeIndex = make(map[string]int, len(q.plan.observe))
	for i, name := range q.plan.observe {
		q.observeIndex[name] = i
	}
	return q, nil
}

// Options returns the options in use, defaults filled in.
func (q *Quantizer) Options() Options { return q.opts }

// declaredShapes gives every graph input of m a concrete shape for a
// first build: its static dimensions, dims for named ones, and 1 for a
// symbolic or unknown first dimension (the batch).
func declaredShapes(m *onnxpb.ModelProto, named map[string]int) (map[string][]int, error) {
	shapes := map[string][]int{}
	for _, in := range onnx.FeedInputs(m.GetGraph()) {
		sh := in.GetType().GetTensorType().GetShape()
		if sh == nil {
			return nil, fmt.Errorf("%w: quantize: graph input %q has no declared shape", ErrShape, in.GetName())
		}
		dims := make([]int, len(sh.GetDim()))
		for k, d := range sh.GetDim() {
			switch {
			case d.GetDimParam() == "" && d.GetDimValue() > 0:
				dims[k] = int(d.GetDimValue())
			case d.GetDimParam() != "" && named[d.GetDimParam()] > 0:
				dims[k] = named[d.GetDimParam()]
			case k == 0:
				dims[k] = 1
			default:
				return nil, fmt.Errorf("%w: quantize: graph input %q dimension %d is symbolic (%q): give its size in Options.Dims", ErrShape, in.GetName(), k, d.GetDimParam())
			}
		}
		shapes[in.GetName()] = dims
	}
	return shapes, nil
}

// TensorInfo describes one quantized tensor of a Result.
type TensorInfo struct {
	Name  string        `json:"name"`  // the tensor in the float model
	Kind  Kind          `json:"kind"`  // activation, weight, bias or constant
	DType qtensor.DType `json:"-"`     // uint8, int8 or int32
	Type  string        `json:"dtype"` // DType's name
	// Axis is the channel axis of per-channel parameters, -1 per tensor.
	Axis       int       `json:"axis"`
	Scale      []float32 `json:"scale"`
	ZeroPoint  []int32   `json:"zero_point"`
	SharedWith string    `json:"shared_with,omitempty"` // the tensor whose parameters an activation shares
	// Range is the chosen clipping range [min, max] (per channel for a
	// per-channel weight: the range of each channel in Ranges); the
	// method's for an activation, the exact extremes for a weight or
	// constant. Empty for a bias and a shared activation.
	Range  []float32    `json:"range,omitempty"`
	Ranges [][2]float32 `json:"ranges,omitempty"`
	// Data is the finite range and count of the data seen (calibrated
	// activations only).
	Data *DataRange `json:"data,omitempty"`
	// Value is the name of the dequantized tensor in the QDQ model.
	Value string `json:"value"`
}

// DataRange summarises the data an observer saw.
type DataRange struct {
	Min    float32 `json:"min"`
	Max    float32 `json:"max"`
	Count  int64   `json:"count"`
	NaN    int64   `json:"nan,omitempty"`
	PosInf int64   `json:"pos_inf,omitempty"`
	NegInf int64   `json:"neg_inf,omitempty"`
}

// Result is a quantized model and what was done to make it.
type Result struct {
	// Model is the QDQ model (encode it with onnx.Encode or onnx.Save).
	Model *onnxpb.ModelProto
	// Tensors lists every quantized tensor in the order they were marked.
	Tensors []TensorInfo
	// Removed names the Relu and Clip nodes folded into the Q of their
	// producer's output; Float the nodes left in float (an op type not
	// quantized, or excluded): they read and write float values, between
	// a DQ and a Q where their neighbours are quantized.
	Removed []string
	Float   []string
	// Notes are warnings: weight scales raised so that an int32 bias fits,
	// biases left in float.
	Notes []string
}

// Tensor returns the entry of the named float tensor, or nil.
func (r *Result) Tensor(name string) *TensorInfo {
	for i := range r.Tensors {
		if r.Tensors[i].Name == name {
			return &r.Tensors[i]
		}
	}
	return nil
}

// params is the quantization of one tensor while the model is written.
type params struct {
	dtype  qtensor.DType
	axis   int
	scales []float32
	zps    []int32
	ranges [][2]float32
	data   *calib.RangeStats
	target calib.Target
	values []float32 // weights and constants: the float values
	dims   []int
}

// Quantize writes the QDQ model for calibration c (made by q).
func (q *Quantizer) Quantize(c *Calibration) (*Result, error) {
	if c == nil || c.q == nil {
		return nil, fmt.Errorf("%w: quantize: no calibration", ErrParams)
	}
	if err := c.compatible(q); err != nil {
		return nil, err
	}
	p := q.plan
	o := q.opts
	actT, wT := o.ActivationTarget(), o.WeightTarget()
	ps := map[string]*params{}
	res := &Result{Removed: slices.Clone(p.removed), Float: slices.Clone(p.floats)}

	// Activations with their own parameters.
	for _, name := range p.order {
		mk := p.marks[name]
		if mk.provider != "" {
			continue
		}
		var (
			lo, hi float32
			data   *calib.RangeStats
			vals   []float32
			dims   []int
			err    error
		)
		switch {
		case mk.kind == Weight || mk.kind == Constant || p.isConst(name):
			vals, dims, err = q.constValues(name)
			if err != nil {
				return nil, err
			}
		case hasFixed(p, name):
			r := p.fixed[name]
			lo, hi = r[0], r[1]
		default:
			src := p.rangeOf[name]
			ob := c.obs[q.observeIndex[src]]
			lo, hi, err = ob.rangeFor(o.Method, o.Percentile, actT)
			if err != nil {
				if errors.Is(err, calib.ErrNoData) {
					return nil, fmt.Errorf("quantize: tensor %q: %w (did the calibration run the model?)", src, err)
				}
				return nil, fmt.Errorf("quantize: tensor %q: %w", src, err)
			}
			st := ob.Stats()
			data = &st
		}
		t := actT
		if mk.kind == Weight {
			t = wT
		}
		pr := &params{dtype: t.DType, axis: -1, target: t, data: data, values: vals, dims: dims}
		if vals != nil {
			if err := pr.fromValues(mk.axis); err != nil {
				return nil, fmt.Errorf("quantize: %s %q: %w", mk.kind, name, err)
			}
		} else {
			s, zp, err := calib.QParams(lo, hi, t)
			if err != nil {
				return nil, fmt.Errorf("quantize: tensor %q range [%g, %g]: %w", name, lo, hi, err)
			}
			pr.scales, pr.zps, pr.ranges = []float32{s}, []int32{zp}, [][2]float32{{lo, hi}}
		}
		ps[name] = pr
	}
	// Shared parameters, in dependency order.
	for changed := true; changed; {
		changed = false
		for _, name := range p.order {
			mk := p.marks[name]
			if mk.provider == "" || ps[name] != nil {
				continue
			}
			if src := ps[mk.provider]; src != nil {
				ps[name] = &params{dtype: src.dtype, axis: src.axis, scales: src.scales, zps: src.zps, target: src.target}
				changed = true
			}
		}
	}
	for _, name := range p.order {
		if ps[name] == nil {
			return nil, fmt.Errorf("%w: quantize: tensor %q shares the parameters of %q, which is not quantized", ErrParams, name, p.marks[name].provider)
		}
	}

	// Biases: the weight scale raised where the int32 bias would not fit
	// (ORT's _adjust_weight_scale_for_int32_bias), then the int32 values.
	type qbias struct {
		use    biasUse
		q      []int32
		scales []float32
		dims   []int
	}
	var biases []qbias
	for _, bu := range p.biases {
		in, w := ps[bu.input], ps[bu.weight]
		if in == nil || w == nil || len(in.scales) != 1 {
			res.Notes = append(res.Notes, fmt.Sprintf("bias %q of node %q stays float: its input or weight is not quantized", bu.bias, bu.node))
			continue
		}
		vals, dims, err := q.constValues(bu.bias)
		if err != nil {
			return nil, err
		}
		if bu.beta != 1 {
			scaled := make([]float32, len(vals))
			for i, v := range vals {
				scaled[i] = bu.beta * v
			}
			vals = scaled
		}
		if w.dtype == qtensor.Int8 && !slices.ContainsFunc(w.zps, func(z int32) bool { return z != 0 }) {
			if raised := adjustWeightScales(vals, in.scales[0], w); raised != "" {
				res.Notes = append(res.Notes, fmt.Sprintf("weight %q: %s so that the int32 bias %q fits", bu.weight, raised, bu.bias))
			}
		}
		qv, scales, err := calib.QuantizeBias(vals, in.scales[0], w.scales)
		if err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("bias %q of node %q stays float: %v", bu.bias, bu.node, err))
			continue
		}
		biases = append(biases, qbias{bu, qv, scales, dims})
	}

	w := newWriter(p)
	for _, name := range p.order {
		mk := p.marks[name]
		pr := ps[name]
		info := TensorInfo{Name: name, Kind: mk.kind, DType: pr.dtype, Type: pr.dtype.String(), Axis: pr.axis,
			Scale: pr.scales, ZeroPoint: pr.zps, SharedWith: mk.provider}
		if pr.data != nil {
			d := pr.data
			info.Data = &DataRange{Min: d.Min, Max: d.Max, Count: d.Count, NaN: d.NaN, PosInf: d.PosInf, NegInf: d.NegInf}
		}
		switch {
		case len(pr.ranges) == 1:
			info.Range = []float32{pr.ranges[0][0], pr.ranges[0][1]}
		case len(pr.ranges) > 1:
			info.Ranges = pr.ranges
		}
		var err error
		if _, isInit := p.inits[name]; isInit {
			info.Value, err = w.initializer(name, pr)
		} else {
			var scaleName, zpName string
			if mk.provider != "" {
				scaleName, zpName = w.qparams[mk.provider][0], w.qparams[mk.provider][1]
			}
			info.Value, err = w.pair(name, pr, scaleName, zpName)
		}
		if err != nil {
			return nil, err
		}
		res.Tensors = append(res.Tensors, info)
	}
	for _, b := range biases {
		val, err := w.bias(b.use, b.q, b.scales, b.dims)
		if err != nil {
			return nil, err
		}
		axis := -1
		if len(b.scales) > 1 {
			axis = 0
		}
		res.Tensors = append(res.Tensors, TensorInfo{Name: b.use.bias, Kind: Bias, DType: qtensor.Int32, Type: "int32", Axis: axis,
			Scale: b.scales, ZeroPoint: make([]int32, len(b.scales)), Value: val})
	}
	m, err := w.finish()
	if err != nil {
		return nil, err
	}
	res.Model = m
	return res, nil
}

func hasFixed(p *plan, name string) bool { _, ok := p.fixed[name]; return ok }

// constValues returns the float32 values and dims of a constant: a
// source initializer, or a value folded by graph.Build.
func (q *Quantizer) constValues(name string) ([]float32, []int, error) {
	if t, ok := q.plan.inits[name]; ok {
		ot, err := onnx.TensorFromProto(t)
		if err != nil {
			return nil, nil, fmt.Errorf("quantize: initializer %q: %w", name, err)
		}
		v, ok := ot.Values().([]float32)
		if !ok || ot.Type != onnx.Float {
			return nil, nil, fmt.Errorf("%w: quantize: initializer %q is %v, not float32", ErrUnsupported, name, ot.Type)
		}
		return v, slices.Clone(ot.Dims), nil
	}
	if t, ok := q.plan.consts[name]; ok && t.DType == graph.Float32 {
		return t.F32, slices.Clone(t.Shape), nil
	}
	return nil, nil, fmt.Errorf("%w: quantize: %q is not a float constant", ErrParams, name)
}

// fromValues sets the parameters of a weight or constant from its exact
// finite extremes: per tensor, or per channel along axis.
func (pr *params) fromValues(axis int) error {
	channels, inner := 1, len(pr.values)
	if axis >= 0 {
		if axis >= len(pr.dims) {
			return fmt.Errorf("%w: axis %d of shape %v", ErrShape, axis, pr.dims)
		}
		channels, inner = pr.dims[axis], 1
		for _, d := range pr.dims[axis+1:] {
			inner *= d
		}
		pr.axis = axis
	}
	if len(pr.values) == 0 || channels == 0 {
		return fmt.Errorf("%w: empty tensor", ErrShape)
	}
	st, err := calib.HostReducer{}.MinMax(context.Background(), pr.values, channels, inner)
	if err != nil {
		return err
	}
	for c, s := range st {
		if s.Count == 0 {
			s.Min, s.Max = 0, 0 // no finite value: the range [0, 0]
		}
		scale, zp, err := calib.QParams(s.Min, s.Max, pr.target)
		if err != nil {
			if channels > 1 {
				return fmt.Errorf("channel %d: %w", c, err)
			}
			return err
		}
		pr.scales = append(pr.scales, scale)
		pr.zps = append(pr.zps, zp)
		pr.ranges = append(pr.ranges, [2]float32{s.Min, s.Max})
	}
	return nil
}

// adjustWeightScales raises the symmetric int8 weight scales whose
// product with the input scale is too small for the int32 bias, as ONNX
// Runtime's quantizer does (_adjust_weight_scale_for_int32_bias, in
// float64): the smallest bias scale allowed is 1.0001 * 2 * max|bias| /
// (2^32 - 2). It returns a description of what was raised, "" if nothing.
func adjustWeightScales(bias []float32, inScale float32, w *params) string {
	qrange := float64(math.MaxInt32) - float64(math.MinInt32+1)
	fix := func(absmax float64, s *float32) bool {
		smallest := 1.0001 * 2 * absmax / qrange
		cand := float64(inScale) * float64(*s)
		if cand > 0 && cand < smallest {
			*s = float32(float64(*s) * (smallest / cand))
			return true
		}
		return false
	}
	var raised []string
	if len(w.scales) == 1 {
		absmax := 0.0
		for _, v := range bias {
			absmax = math.Max(absmax, math.Abs(float64(v)))
		}
		if fix(absmax, &w.scales[0]) {
			raised = append(raised, "scale raised")
		}
	} else if len(w.scales) == len(bias) {
		for c := range w.scales {
			if fix(math.Abs(float64(bias[c])), &w.scales[c]) {
				raised = append(raised, fmt.Sprint(c))
			}
		}
		if len(raised) > 0 {
			return "scales of channels " + strings.Join(raised, ",") + " raised"
		}
	}
	return strings.Join(raised, "")
}

// QuantizeModel calibrates m on batches and writes the QDQ model: New,
// Calibrate and Quantize in one call.
func QuantizeModel(ctx context.Context, m *onnxpb.ModelProto, batches iter.Seq2[Batch, error], opts Options) (*Result, error) {
	q, err := New(m, opts)
	if err != nil {
		return nil, err
	}
	c, err := q.Calibrate(ctx, batches)
	if err != nil {
		return nil, err
	}
	return q.Quantize(c)
}
