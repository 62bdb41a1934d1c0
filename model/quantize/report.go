package quantize

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/model"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/interp"
	"github.com/qgpu/qgpu/onnx/onnxpb"
	"github.com/qgpu/qgpu/qtensor"
)

// DB is a ratio in decibels. In JSON, +Inf (an exact match) is null and
// -Inf (a zero signal with an error) is the string "-Inf".
type DB float64

// MarshalJSON implements json.Marshaler.
func (d DB) MarshalJSON() ([]byte, error) {
	switch {
	case math.IsInf(float64(d), 1) || math.IsNaN(float64(d)):
		return []byte("null"), nil
	case math.IsInf(float64(d), -1):
		return []byte(`"-Inf"`), nil
	}
	return json.Marshal(math.Round(float64(d)*1000) / 1000)
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *DB) UnmarshalJSON(b []byte) error {
	switch s := string(b); s {
	case "null":
		*d = DB(math.Inf(1))
		return nil
	case `"-Inf"`:
		*d = DB(math.Inf(-1))
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = DB(v)
	return nil
}

func (d DB) String() string {
	switch {
	case math.IsInf(float64(d), 1):
		return "+Inf"
	case math.IsInf(float64(d), -1):
		return "-Inf"
	}
	return fmt.Sprintf("%.2f", float64(d))
}

// db returns 10·log10(signal/noise): +Inf for no noise, -Inf for noise
// without signal.
func db(signal, noise float64) DB {
	switch {
	case noise == 0:
		return DB(math.Inf(1))
	case signal == 0:
		return DB(math.Inf(-1))
	}
	return DB(10 * math.Log10(signal/noise))
}

// TensorError is the quantization error of one tensor of a QDQ model.
type TensorError struct {
	// Name is the tensor in the float model; Value the dequantized
	// tensor standing for it in the QDQ model.
	Name  string `json:"name"`
	Value string `json:"value"`
	Kind  Kind   `json:"kind"`
	DType string `json:"dtype"`
	// Axis is the channel axis of per-channel parameters, -1 per tensor.
	Axis      int       `json:"axis"`
	Scale     []float32 `json:"scale"`
	ZeroPoint []int32   `json:"zero_point"`
	// Range is the range the parameters represent, [(qmin-zp)·scale,
	// (qmax-zp)·scale] over the full range of the type (per tensor
	// only): the clipping range chosen by calibration.
	Range []float32 `json:"range,omitempty"`
	// SQNR compares the QDQ model's value (with the error of every
	// quantized tensor before it) with the float model's; OwnSQNR the
	// float model's value quantized and dequantized with this tensor's
	// parameters alone (the error this tensor adds by itself).
	SQNR    DB `json:"sqnr_db"`
	OwnSQNR DB `json:"own_sqnr_db"`
	// Clipped is the fraction of the float model's values that the
	// parameters saturate (outside Range by more than half a step).
	Clipped float64 `json:"clipped"`
	Count   int64   `json:"count"`
	// Order is the tensor's position in the QDQ model (topological
	// order of the DequantizeLinear nodes).
	Order int `json:"order"`

	signal, noise, ownNoise float64
	clipped                 int64
}

// OutputError is the error of one graph output of a QDQ model.
type OutputError struct {
	Name string `json:"name"`
	SQNR DB     `json:"sqnr_db"`
	// Top1 is the fraction of samples whose largest element (the argmax
	// of each row of a rank-2 output, the predicted class) is the same in
	// both models; nil for outputs of another rank.
	Top1    *float64 `json:"top1_agreement"`
	Count   int64    `json:"count"`
	Samples int64    `json:"samples"`
	// Runtime is the same comparison for the QDQ model run by qgpu's
	// quantized runtime (package model) on CompareOptions.Engine: the
	// integer kernels a deployment runs, where the interpreter computes
	// the QDQ graph in float between its Q and DQ nodes. Nil without an
	// engine.
	Runtime *RuntimeError `json:"runtime,omitempty"`

	signal, noise float64
	agree         int64
}

// RuntimeError is an output's error when qgpu's runtime runs the QDQ
// model.
type RuntimeError struct {
	Backend string   `json:"backend"`
	SQNR    DB       `json:"sqnr_db"`
	Top1    *float64 `json:"top1_agreement"`
	// InterpTop1 is the fraction of samples whose top-1 the runtime and
	// the interpreter running the QDQ model agree on.
	InterpTop1 *float64 `json:"top1_agreement_with_interpreter"`

	signal, noise               float64
	agree, agreeInterp, samples int64
}

// Report is the quantization error report of a QDQ model against its
// float model: every quantized tensor, worst SQNR first, and the outputs.
type Report struct {
	Tensors []TensorError `json:"tensors"`
	Outputs []OutputError `json:"outputs"`
	Runs    int           `json:"runs"`
	Samples int64         `json:"samples"`
}

// CompareOptions control Compare.
type CompareOptions struct {
	// Workers bounds the goroutines of the interpreter's kernels (0:
	// GOMAXPROCS); MaxElements bounds every tensor (0: the default);
	// Dims gives sizes to symbolic input dimensions other than the batch.
	Workers     int
	MaxElements int
	Dims        map[string]int
	// Progress, if set, is called after each batch.
	Progress func(runs int, samples int64)
	// Engine, if set, also runs the QDQ model with qgpu's quantized
	// runtime (package model) on this engine, for the outputs' error
	// (OutputError.Runtime). The caller owns the engine.
	Engine *engine.Engine
}

// pairOf is a quantized tensor found in a QDQ model.
type pairOf struct {
	float, value string // float model tensor, QDQ model value (DQ output)
	kind         Kind
	dtype        graph.DType
	axis         int
	scales       []float32
	zps          []int32
	index        int // into Report.Tensors
	node         int // the DQ node's index in the quantized graph
}

// Compare runs the float model and the QDQ model on the same batches with
// the reference interpreter (which computes QuantizeLinear and
// DequantizeLinear with qgpu's exact formulas) and measures, for every
// tensor the QDQ model quantizes, the SQNR of its dequantized value
// against the float model's, the SQNR of the tensor quantized alone, and
// the fraction of values clipped; and for every graph output the SQNR and
// the top-1 agreement. The quantized tensors are found by the structure
// ONNX Runtime's quantizer and this package write: a DequantizeLinear of a
// QuantizeLinear of value X stands for X (or, for a graph output, for the
// name the DQ writes), a DequantizeLinear of initializer W_quantized for
// initializer W. Weights and biases are compared once, without data.
//
// Memory holds one batch's float values of the quantized tensors at a
// time.
func Compare(ctx context.Context, float, quant *onnxpb.ModelProto, batches iter.Seq2[Batch, error], opts CompareOptions) (*Report, error) {
	if float == nil || quant == nil {
		return nil, fmt.Errorf("%w: quantize: Compare needs two models", ErrParams)
	}
	fc := newGraphCache(float, opts.Dims, opts.MaxElements)
	qc := newGraphCache(quant, opts.Dims, opts.MaxElements)
	shapes, err := declaredShapes(float, opts.Dims)
	if err != nil {
		return nil, err
	}
	fg, err := fc.build(shapes)
	if err != nil {
		return nil, fmt.Errorf("float model: %w", err)
	}
	qg, err := qc.build(shapes)
	if err != nil {
		return nil, fmt.Errorf("quantized model: %w", err)
	}
	rep := &Report{}
	pairs, err := findPairs(fg, qg)
	if err != nil {
		return nil, err
	}
	byFloat := map[string][]*pairOf{}
	byValue := map[string]*pairOf{}
	for _, pr := range pairs {
		te := TensorError{Name: pr.float, Value: pr.value, Kind: pr.kind, DType: pr.dtype.String(), Axis: pr.axis,
			Scale: pr.scales, ZeroPoint: pr.zps, Order: len(rep.Tensors)}
		if pr.axis < 0 {
			qmin, qmax := typeRange(pr.dtype)
			te.Range = []float32{qtensor.Dequantize(qmin, pr.zps[0], pr.scales[0]), qtensor.Dequantize(qmax, pr.zps[0], pr.scales[0])}
		}
		pr.index = len(rep.Tensors)
		rep.Tensors = append(rep.Tensors, te)
		if pr.kind == Activation {
			byFloat[pr.float] = append(byFloat[pr.float], pr)
			byValue[pr.value] = pr
		} else {
			// Constants: compared once, now.
			f := fg.Initializers[pr.float]
			dq := qg.Nodes[pr.node]
			args := make([]*graph.Tensor, len(dq.Inputs))
			for i, name := range dq.Inputs {
				if name != "" {
					args[i] = qg.Initializers[name]
				}
			}
			q, err := qg.EvalNode(pr.node, args, opts.Workers)
			if err != nil {
				return nil, fmt.Errorf("quantize: dequantizing %q: %w", pr.float, err)
			}
			if err := accumulate(&rep.Tensors[pr.index], pr, f, q[0]); err != nil {
				return nil, err
			}
		}
	}
	outs := map[string]int{}
	for _, o := range fg.Outputs {
		if !slices.ContainsFunc(qg.Outputs, func(v graph.Value) bool { return v.Name == o.Name }) {
			return nil, fmt.Errorf("%w: quantize: the quantized model has no output %q", ErrParams, o.Name)
		}
		outs[o.Name] = len(rep.Outputs)
		rep.Outputs = append(rep.Outputs, OutputError{Name: o.Name})
	}

	rt := &runtimes{}
	defer rt.close()
	for b, err := range batches {
		if err != nil {
			return nil, err
		}
		fgb, n, err := fc.get(b)
		if err != nil {
			return nil, fmt.Errorf("float model: %w", err)
		}
		qgb, _, err := qc.get(b)
		if err != nil {
			return nil, fmt.Errorf("quantized model: %w", err)
		}
		kept := map[string]*graph.Tensor{}
		fout, err := interp.Run(ctx, fgb, b, &interp.Options{Workers: opts.Workers, Observer: func(name string, t *graph.Tensor) error {
			if _, ok := byFloat[name]; ok {
				kept[name] = t // the interpreter never writes a value it handed out
			}
			return nil
		}})
		if err != nil {
			return nil, fmt.Errorf("float model: %w", err)
		}
		qout, err := interp.Run(ctx, qgb, b, &interp.Options{Workers: opts.Workers, Observer: func(name string, t *graph.Tensor) error {
			pr := byValue[name]
			if pr == nil {
				return nil
			}
			f := kept[pr.float]
			if f == nil {
				return fmt.Errorf("%w: quantize: the float model computed no %q", ErrParams, pr.float)
			}
			return accumulate(&rep.Tensors[pr.index], pr, f, t)
		}})
		if err != nil {
			return nil, fmt.Errorf("quantized model: %w", err)
		}
		clear(kept)
		for name, i := range outs {
			if err := rep.Outputs[i].add(fout[name], qout[name]); err != nil {
				return nil, fmt.Errorf("quantize: output %q: %w", name, err)
			}
		}
		if opts.Engine != nil {
			rout, err := rt.run(ctx, quant, opts, b, n)
			if err != nil {
				return nil, err
			}
			for name, i := range outs {
				oe := &rep.Outputs[i]
				if oe.Runtime == nil {
					oe.Runtime = &RuntimeError{Backend: opts.Engine.Backend().Name()}
				}
				if err := oe.Runtime.add(fout[name], qout[name], rout[name]); err != nil {
					return nil, fmt.Errorf("quantize: output %q on the runtime: %w", name, err)
				}
			}
		}
		rep.Runs++
		rep.Samples += int64(n)
		if opts.Progress != nil {
			opts.Progress(rep.Runs, rep.Samples)
		}
	}
	if rep.Runs == 0 {
		return nil, fmt.Errorf("%w: quantize: no batch to compare on", ErrParams)
	}
	rep.finish()
	return rep, nil
}

// findPairs lists the quantized tensors of a QDQ model (built as qg)
// with their float counterparts in fg.
func findPairs(fg, qg *graph.Graph) ([]*pairOf, error) {
	producer := map[string]*graph.Node{}
	for _, n := range qg.Nodes {
		for _, o := range n.Outputs {
			producer[o] = n
		}
	}
	floatValue := func(name string) bool {
		v, ok := fg.Values[name]
		return ok && v.DType == graph.Float32
	}
	var pairs []*pairOf
	seen := map[string]bool{}
	for ni, n := range qg.Nodes {
		if n.OpType != "DequantizeLinear" || (n.Domain != "" && n.Domain != "ai.onnx") || len(n.Inputs) < 2 {
			continue
		}
		in, out := n.Inputs[0], n.Outputs[0]
		pr := &pairOf{value: out, dtype: qg.Values[in].DType, axis: -1, node: ni}
		if p := producer[in]; p != nil && p.OpType == "QuantizeLinear" {
			x := p.Inputs[0]
			switch {
			case floatValue(x):
				pr.float = x
			case strings.HasSuffix(x, "_QuantizeLinear_Input") && floatValue(out):
				pr.float = out
			default:
				continue
			}
			pr.kind = Activation
		} else if _, ok := qg.Initializers[in]; ok {
			w, ok := strings.CutSuffix(in, "_quantized")
			if !ok {
				continue
			}
			if _, isFloat := fg.Initializers[w]; !isFloat || !floatValue(w) {
				continue
			}
			pr.float, pr.kind = w, Weight
			if pr.dtype == graph.Int32 {
				pr.kind = Bias
			}
		} else {
			continue
		}
		s := qg.Initializers[n.Inputs[1]]
		if s == nil || s.DType != graph.Float32 || len(s.F32) == 0 {
			continue // parameters computed at run time: not a quantized tensor of a QDQ model
		}
		pr.scales = slices.Clone(s.F32)
		pr.zps = make([]int32, len(s.F32))
		if len(n.Inputs) > 2 && n.Inputs[2] != "" {
			z := qg.Initializers[n.Inputs[2]]
			if z == nil {
				continue
			}
			v, err := z.Ints()
			if err != nil || len(v) != len(pr.zps) {
				continue
			}
			for i := range v {
				pr.zps[i] = int32(v[i])
			}
		}
		if len(pr.scales) > 1 {
			a := int64(1)
			if at, ok := n.Attrs["axis"]; ok {
				a = at.Int
			}
			rank := len(qg.Values[in].Shape)
			if a < 0 {
				a += int64(rank)
			}
			pr.axis = int(a)
		}
		key := pr.float + "\x00" + pr.value
		if seen[key] {
			continue
		}
		seen[key] = true
		pairs = append(pairs, pr)
	}
	return pairs, nil
}

// typeRange is the integer range of a quantized element type.
func typeRange(d graph.DType) (int32, int32) {
	switch d {
	case graph.Int8:
		return -128, 127
	case graph.Int32:
		return math.MinInt32, math.MaxInt32
	}
	return 0, 255
}

// accumulate adds the errors of q (the QDQ model's value) and of f
// quantized alone to te.
func accumulate(te *TensorError, pr *pairOf, f, q *graph.Tensor) error {
	if f.DType != graph.Float32 || q.DType != graph.Float32 || len(f.F32) != len(q.F32) {
		return fmt.Errorf("%w: quantize: %q is %v in the float model and %v in the quantized one", ErrShape, pr.float, f, q)
	}
	channels, inner := 1, len(f.F32)
	if pr.axis >= 0 {
		if pr.axis >= len(f.Shape) || f.Shape[pr.axis] != len(pr.scales) {
			return fmt.Errorf("%w: quantize: %q: %d scales for axis %d of %v", ErrShape, pr.float, len(pr.scales), pr.axis, f.Shape)
		}
		channels, inner = len(pr.scales), 1
		for _, d := range f.Shape[pr.axis+1:] {
			inner *= d
		}
	}
	qmin, qmax := typeRange(pr.dtype)
	for i, x := range f.F32 {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			continue
		}
		c := (i / inner) % channels
		s, zp := pr.scales[c], pr.zps[c]
		te.signal += float64(x) * float64(x)
		d := float64(x) - float64(q.F32[i])
		te.noise += d * d
		if qtensor.CheckScale(s) == nil {
			r := qtensor.RoundHalfEven(x / s)
			if r < float32(int64(qmin)-int64(zp)) || r > float32(int64(qmax)-int64(zp)) {
				te.clipped++
			}
			own := qtensor.Dequantize(qtensor.Quantize(x, s, zp, qmin, qmax), zp, s)
			e := float64(x) - float64(own)
			te.ownNoise += e * e
		}
		te.Count++
	}
	return nil
}

// add accumulates one batch of an output.
func (oe *OutputError) add(f, q *graph.Tensor) error {
	if f == nil || q == nil || f.DType != graph.Float32 || q.DType != graph.Float32 || !slices.Equal(f.Shape, q.Shape) {
		return fmt.Errorf("%w: the outputs differ in type or shape (%v, %v)", ErrShape, f, q)
	}
	for i, x := range f.F32 {
		d := float64(x) - float64(q.F32[i])
		oe.signal += float64(x) * float64(x)
		oe.noise += d * d
	}
	oe.Count += int64(len(f.F32))
	if len(f.Shape) == 2 && f.Shape[1] > 0 {
		rows, cols := f.Shape[0], f.Shape[1]
		for r := range rows {
			if argmax(f.F32[r*cols:(r+1)*cols]) == argmax(q.F32[r*cols:(r+1)*cols]) {
				oe.agree++
			}
		}
		oe.Samples += int64(rows)
	}
	return nil
}

// argmax returns the index of the first largest element (NaN never wins).
func argmax(x []float32) int {
	best := -1
	for i, v := range x {
		if v == v && (best < 0 || v > x[best]) {
			best = i
		}
	}
	return best
}

// finish turns the sums into decibels and ranks the tensors worst first.
func (r *Report) finish() {
	for i := range r.Tensors {
		te := &r.Tensors[i]
		te.SQNR = db(te.signal, te.noise)
		te.OwnSQNR = db(te.signal, te.ownNoise)
		if te.Count > 0 {
			te.Clipped = float64(te.clipped) / float64(te.Count)
		}
	}
	sort.SliceStable(r.Tensors, func(a, b int) bool {
		ta, tb := r.Tensors[a], r.Tensors[b]
		if ta.SQNR != tb.SQNR {
			return ta.SQNR < tb.SQNR
		}
		return ta.Name < tb.Name
	})
	for i := range r.Outputs {
		oe := &r.Outputs[i]
		oe.SQNR = db(oe.signal, oe.noise)
		if oe.Samples > 0 {
			v := float64(oe.agree) / float64(oe.Samples)
			oe.Top1 = &v
		}
		if re := oe.Runtime; re != nil {
			re.SQNR = db(re.signal, re.noise)
			if re.samples > 0 {
				a, b := float64(re.agree)/float64(re.samples), float64(re.agreeInterp)/float64(re.samples)
				re.Top1, re.InterpTop1 = &a, &b
			}
		}
	}
}

// add accumulates one batch of the runtime's output r against the float
// output f and the interpreter's q.
func (re *RuntimeError) add(f, q, r *graph.Tensor) error {
	if r == nil || r.DType != graph.Float32 || !slices.Equal(f.Shape, r.Shape) {
		return fmt.Errorf("%w: the runtime's output is %v, the float model's %v", ErrShape, r, f)
	}
	for i, x := range f.F32 {
		d := float64(x) - float64(r.F32[i])
		re.signal += float64(x) * float64(x)
		re.noise += d * d
	}
	if len(f.Shape) == 2 && f.Shape[1] > 0 {
		rows, cols := f.Shape[0], f.Shape[1]
		for k := range rows {
			ar := argmax(r.F32[k*cols : (k+1)*cols])
			if argmax(f.F32[k*cols:(k+1)*cols]) == ar {
				re.agree++
			}
			if argmax(q.F32[k*cols:(k+1)*cols]) == ar {
				re.agreeInterp++
			}
		}
		re.samples += int64(rows)
	}
	return nil
}

// runtimes keeps the QDQ model loaded by the runtime for the batch sizes
// seen (the runtime fixes the batch at load).
type runtimes struct {
	batch int
	m     *model.Model
}

func (rt *runtimes) close() {
	if rt.m != nil {
		rt.m.Close()
	}
}

// run runs the QDQ model on the runtime and returns its outputs by name.
func (rt *runtimes) run(ctx context.Context, quant *onnxpb.ModelProto, opts CompareOptions, b Batch, n int) (map[string]*graph.Tensor, error) {
	if rt.m == nil || rt.batch != n {
		rt.close()
		rt.m = nil
		m, err := model.FromONNX(quant, model.Options{Engine: opts.Engine, Batch: n, MaxElements: opts.MaxElements, Workers: opts.Workers})
		if err != nil {
			return nil, fmt.Errorf("quantize: the runtime cannot load the QDQ model: %w", err)
		}
		rt.m, rt.batch = m, n
	}
	in := make([]model.NamedTensor, 0, len(b))
	for name, t := range b {
		in = append(in, model.NamedTensor{Name: name, Tensor: t})
	}
	out, err := rt.m.Run(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("quantize: runtime: %w", err)
	}
	res := make(map[string]*graph.Tensor, len(out))
	for _, o := range out {
		res[o.Name] = o.Tensor
	}
	return res, nil
}
