package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/qtensor"
)

func init() {
	register(&command{name: "calibrate", summary: "choose scale and zero point for a float tensor (minmax, histogram, KL, ...)", run: cmdCalibrate})
}

// calibrateAbout is the help text; the method list comes from calib.
func calibrateAbout() string {
	var b strings.Builder
	b.WriteString(`
Chooses quantization parameters (scale, zero point) for a float32 tensor
from its values, the way a calibration pass over activations would, and
reports the range, the parameters and the SQNR of the round trip
quantize -> dequantize on the whole input (docs/semantics.md section 5).

Methods (--method); "= torch X" marks the ones whose scale and zero point
are bit-identical to PyTorch's observer X fed the same batches:
`)
	var aliases []string
	for _, m := range calib.Methods() {
		fmt.Fprintf(&b, "  %-16s %s\n", m.Name, m.About)
		if m.Torch != "" {
			fmt.Fprintf(&b, "  %-16s = torch %s\n", "", m.Torch)
		}
		for _, a := range m.Aliases {
			aliases = append(aliases, a+" = "+m.Name)
		}
	}
	fmt.Fprintf(&b, "  %-16s %s\n", "all", "every method above (per tensor) in one table; with --plot,")
	fmt.Fprintf(&b, "  %-16s %s\n", "", "a histogram of the data with each method's range")
	line := "Aliases:"
	for i, a := range aliases {
		sep := ","
		if i == len(aliases)-1 {
			sep = " (entropy is ONNX Runtime's name)."
		}
		if len(line)+1+len(a)+len(sep) > 74 {
			b.WriteString(line + "\n")
			line = "        "
		}
		line += " " + a + sep
	}
	b.WriteString(line + "\n")
	b.WriteString(`
moving-average uses --averaging-constant; percentile keeps --percentile
percent of the mass; the histogram searches (percentile, l2-greedy, l2, l1,
kl) run on one --bins histogram that merges exactly and does not depend on
the batch split; torch-histogram keeps torch's own --bins histogram, which
is re-binned as batches widen the range (so --batches changes it), and
is per tensor only.

Scale and zero point follow PyTorch's rules (calib.QParams) for the target
--dtype / --scheme, with --reduce-range or a custom --qmin/--qmax range.
NaN and ±Inf are left out of every range and counted.

--axis N calibrates per channel along axis N (one range per channel; the
histogram methods build one histogram per channel; minmax and
moving-average are then torch's PerChannelMinMaxObserver and
MovingAveragePerChannelMinMaxObserver). --batches N feeds the
data in N contiguous, nearly equal batches like numpy.array_split (the
first len%N batches one element longer); only moving-average and
torch-histogram depend on the split. Per channel, the batches split the
dimensions before the channel axis (flattened) when there are any of size
> 1, otherwise those after it. The min/max and histogram passes run on
--backend through the engine (results are the same on every backend).

--json prints one JSON object: in, shape, method, dtype, scheme, qmin,
qmax, axis (null per tensor), scale and zero_point (lists: 1 value per
tensor, one per channel), range {min, max} (lists), sqnr_db (null when the
round trip is exact), count (finite values), nan, pos_inf, neg_inf,
data_range; with --method all, {"in": ..., "results": [one per method]}.`)
	return b.String()
}

// usesBins reports whether --bins applies to method m.
func usesBins(m calib.MethodInfo) bool {
	return m.Search || m.Method == calib.MethodTorchHistogram
}

// binsMethods lists the methods --bins applies to.
func binsMethods() string {
	var n []string
	for _, m := range calib.Methods() {
		if usesBins(m) {
			n = append(n, m.Name)
		}
	}
	return strings.Join(n, ", ")
}

const calibrateExamples = `
  qgpu calibrate --in act.npy --method l2 --dtype uint8
  qgpu calibrate --in act.npy --method torch-histogram --batches 8 --dtype int8 --scheme symmetric
  qgpu calibrate --in act.npy --method moving-average --batches 32 --averaging-constant 0.01 --json
  qgpu calibrate --in w.npy --method minmax --dtype int8 --scheme symmetric --axis 0
  qgpu calibrate --in act.npy --method percentile --percentile 99.9 --dtype int8 --qmin -100 --qmax 100
  qgpu calibrate --in act.npy --method all --plot report.png`

// calibOpts are the parsed flags of one calibrate run.
type calibOpts struct {
	in, tensor string
	target     calib.Target
	perChannel bool
	axis       int
	batches    int
	avgConst   float32
	percentile float64 // fraction kept
	bins       int
	backend    string
}

// calibResult is one method's outcome; also its JSON form.
type calibResult struct {
	In         string    `json:"in"`
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
	SQNR      *float64 `json:"sqnr_db"`
	Count     int64    `json:"count"`
	NaN       int64    `json:"nan"`
	PosInf    int64    `json:"pos_inf"`
	NegInf    int64    `json:"neg_inf"`
	DataRange struct {
		Min float32 `json:"min"`
		Max float32 `json:"max"`
	} `json:"data_range"`

	sqnr  float64
	stats calib.RangeStats
}

func cmdCalibrate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("calibrate", "qgpu calibrate --in X.npy [--method M] [--dtype T] [--scheme S] [flags]", calibrateAbout(), calibrateExamples, stdout)
	in := fs.String("in", "", "input `FILE` (.npy float32, or .safetensors)")
	tensor := fs.String("tensor", "", "tensor `NAME` in a .safetensors file")
	method := fs.String("method", "minmax", "calibration `METHOD`: "+strings.Join(calib.MethodNames(), ", ")+" or all (aliases above)")
	dtype := fs.String("dtype", "uint8", "target type: uint8, int8, int4 or uint4")
	scheme := fs.String("scheme", "affine", "affine or symmetric")
	axis := fs.Int("axis", 0, "calibrate per channel along axis `N` (negative counts from the end)")
	batches := fs.Int("batches", 1, "feed the data in `N` contiguous batches (numpy.array_split)")
	reduce := fs.Bool("reduce-range", false, "halve the integer range (PyTorch reduce_range)")
	qmin := fs.Int("qmin", 0, "custom integer range: lowest value `A` (with --qmax)")
	qmax := fs.Int("qmax", 0, "custom integer range: highest value `B` (with --qmin)")
	avg := fs.Float64("averaging-constant", 0.01, "moving-average constant `C` in (0, 1]")
	pct := fs.Float64("percentile", calib.DefaultPercentile*100, "percentile: percent `P` of the mass kept, in [50, 100]")
	bins := fs.Int("bins", calib.DefaultBins, "histogram bins for the histogram methods")
	backend := fs.String("backend", "cpu", "backend that runs the min/max and histogram passes")
	asJSON := fs.Bool("json", false, "print one JSON object")
	plotPath := fs.String("plot", "", "write a histogram with the chosen ranges to `FILE` (.png or .svg)")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if len(pos) > 0 {
		return usagef("calibrate: unexpected argument %q", pos[0])
	}
	if *in == "" {
		return usagef("calibrate: --in is required (qgpu calibrate -h)")
	}
	all := strings.EqualFold(*method, "all")
	var methods []calib.MethodInfo
	if all {
		methods = calib.Methods()
	} else {
		mm, err := calib.ParseMethod(*method)
		if err != nil {
			hint := ""
			if s := calib.SuggestMethod(*method); s != "" {
				hint = " (did you mean " + s + "?)"
			}
			return usagef("calibrate: unknown --method %q%s: want %s or all", *method, hint, strings.Join(calib.MethodNames(), ", "))
		}
		m := mm.Info()
		methods = []calib.MethodInfo{m}
		switch {
		case given["averaging-constant"] && m.Method != calib.MethodMovingAverage:
			return usagef("calibrate: --averaging-constant applies to --method moving-average only")
		case given["percentile"] && m.Method != calib.MethodPercentile:
			return usagef("calibrate: --percentile applies to --method percentile only")
		case given["bins"] && !usesBins(m):
			return usagef("calibrate: --bins applies to the histogram methods only (%s)", binsMethods())
		case given["axis"] && m.PerTensorOnly:
			return usagef("calibrate: --method %s is per tensor (torch's HistogramObserver has no per-channel form); drop --axis", m.Name)
		}
	}
	o := calibOpts{in: *in, tensor: *tensor, perChannel: given["axis"], axis: *axis, batches: *batches,
		avgConst: float32(*avg), percentile: *pct / 100, bins: *bins, backend: *backend}
	d, err := qtensor.ParseDType(*dtype)
	if err != nil || !d.Quantized() {
		return usagef("calibrate: --dtype %q: want uint8, int8, int4 or uint4", *dtype)
	}
	o.target = calib.Target{DType: d, ReduceRange: *reduce}
	switch *scheme {
	case "affine":
		o.target.Scheme = calib.Affine
	case "symmetric":
		o.target.Scheme = calib.Symmetric
	default:
		return usagef("calibrate: --scheme %q: want affine or symmetric", *scheme)
	}
	if given["qmin"] != given["qmax"] {
		return usagef("calibrate: --qmin and --qmax go together")
	}
	if given["qmin"] {
		if *qmin < math.MinInt32 || *qmin > math.MaxInt32 || *qmax < math.MinInt32 || *qmax > math.MaxInt32 {
			return usagef("calibrate: --qmin/--qmax out of range")
		}
		o.target.Custom, o.target.QMin, o.target.QMax = true, int32(*qmin), int32(*qmax)
	}
	if _, _, err := o.target.Range(); err != nil {
		return asUsage(fmt.Errorf("calibrate: %w", err))
	}
	if o.target.Scheme == calib.Symmetric {
		if _, err := o.target.ZeroPointSymmetric(); err != nil {
			return asUsage(fmt.Errorf("calibrate: %w", err))
		}
	}
	switch {
	case o.batches < 1:
		return usagef("calibrate: --batches %d must be at least 1", o.batches)
	case !(*avg > 0 && *avg <= 1):
		return usagef("calibrate: --averaging-constant %g outside (0, 1]", *avg)
	case !(*pct >= 50 && *pct <= 100):
		return usagef("calibrate: --percentile %g: want a percentage in [50, 100], e.g. 99.99", *pct)
	case o.bins < calib.MinBins || o.bins > calib.MaxBins:
		return usagef("calibrate: --bins %d outside [%d, %d]", o.bins, calib.MinBins, calib.MaxBins)
	case all && o.perChannel:
		return usagef("calibrate: --method all is per tensor; drop --axis or choose one method")
	case *plotPath != "" && o.perChannel:
		return usagef("calibrate: --plot is per tensor; drop --axis")
	}
	if *plotPath != "" {
		if _, err := plotFormat("--plot", *plotPath); err != nil {
			return err
		}
		if err := sameFileErr("calibrate", *plotPath, o.in); err != nil {
			return err
		}
	}
	x, err := loadFloat(o.in, o.tensor)
	if err != nil {
		return err
	}
	if x.Len() == 0 {
		return usagef("calibrate: %s is empty (shape %v)", o.in, x.Shape)
	}
	if o.batches > x.Len() {
		return usagef("calibrate: --batches %d exceeds the %d elements of %s", o.batches, x.Len(), o.in)
	}
	rank := len(x.Shape)
	if o.perChannel {
		if o.axis < -rank || o.axis >= rank {
			return usagef("calibrate: --axis %d out of range for shape %v", o.axis, x.Shape)
		}
		if o.axis < 0 {
			o.axis += rank
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	eng, err := openEngine(o.backend, 0)
	if err != nil {
		return err
	}
	defer eng.Close()
	red := eng.Reducer()
	xs := x.Float32s()

	var results []*calibResult
	var hist *calib.Histogram // for --plot
	if o.perChannel {
		r, err := calibratePerChannel(ctx, o, methods[0], xs, x.Shape, red)
		if err != nil {
			return err
		}
		results = append(results, r)
	} else {
		results, hist, err = calibrateTensor(ctx, o, methods, xs, red, *plotPath != "")
		if err != nil {
			return err
		}
	}
	for _, r := range results {
		r.In, r.Tensor, r.Shape, r.Backend = o.in, x.Name, x.Shape, o.backend
	}
	if *plotPath != "" {
		if err := plotCalibration(*plotPath, hist, results, fmt.Sprintf("%s: %v%v", o.in, x.DType, x.Shape)); err != nil {
			return fmt.Errorf("calibrate: --plot: %w", err)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		if all {
			return enc.Encode(struct {
				In      string         `json:"in"`
				Results []*calibResult `json:"results"`
			}{o.in, results})
		}
		return enc.Encode(results[0])
	}
	r0 := results[0]
	fmt.Fprintf(stdout, "%s: %v%v, %d batch(es), passes on %s\n", o.in, x.DType, x.Shape, o.batches, o.backend)
	fmt.Fprintf(stdout, "target %s %s [%d, %d]%s\n", r0.DType, r0.Scheme, r0.QMin, r0.QMax, map[bool]string{true: " (reduced range)"}[r0.Reduce])
	st := r0.stats
	fmt.Fprintf(stdout, "data: %d finite in [%.6g, %.6g], NaN %d, +Inf %d, -Inf %d\n", st.Count, st.Min, st.Max, st.NaN, st.PosInf, st.NegInf)
	if all {
		tableName := x.Name // escaped: it comes from the input file
		if tableName != "" {
			tableName = quoteName(tableName)
		}
		reports := make([]calib.Report, len(results))
		best := 0
		for i, r := range results {
			reports[i] = calib.Report{Name: tableName, Method: r.Method, Target: o.target, Min: r.Range.Min[0], Max: r.Range.Max[0],
				Scale: r.Scale[0], ZeroPoint: r.ZeroPoint[0], SQNR: r.sqnr, Stats: r.stats}
			if r.sqnr > results[best].sqnr {
				best = i
			}
		}
		if err := calib.WriteTable(stdout, reports); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "best SQNR: %s (%s dB)\n", results[best].Method, fmtDB(results[best].sqnr))
	} else {
		desc := methods[0].About
		if methods[0].Torch != "" {
			desc += " (= torch " + methods[0].Torch + ")"
		}
		if r0.Bins > 0 {
			desc += fmt.Sprintf(", %d bins", r0.Bins)
		}
		fmt.Fprintf(stdout, "method %s: %s\n", r0.Method, desc)
		if o.perChannel {
			writeChannelTable(stdout, r0)
		} else {
			fmt.Fprintf(stdout, "range [%.6g, %.6g]  scale %.6g  zero point %d\n", r0.Range.Min[0], r0.Range.Max[0], r0.Scale[0], r0.ZeroPoint[0])
		}
		fmt.Fprintf(stdout, "SQNR %s dB\n", fmtDB(r0.sqnr))
	}
	if *plotPath != "" {
		fmt.Fprintf(stdout, "plot: %s\n", *plotPath)
	}
	return nil
}

func fmtDB(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return fmt.Sprintf("%.2f", v)
}

// writeChannelTable prints the per-channel ranges and parameters (the first
// 32 of more than 64 channels; --json lists all).
func writeChannelTable(w io.Writer, r *calibResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "channel\tmin\tmax\tscale\tzp\t\n")
	n := len(r.Scale)
	show := n
	if n > 64 {
		show = 32
	}
	for c := range show {
		fmt.Fprintf(tw, "%d\t%.6g\t%.6g\t%.6g\t%d\t\n", c, r.Range.Min[c], r.Range.Max[c], r.Scale[c], r.ZeroPoint[c])
	}
	tw.Flush()
	if show < n {
		fmt.Fprintf(w, "... %d more channels (--json lists all)\n", n-show)
	}
}

// arraySplit returns the bounds of n contiguous parts of length elements
// as numpy.array_split makes them: the first length%n parts have one
// element more than the others.
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
	if !math.IsInf(r.sqnr, 0) {
		v := r.sqnr
		r.SQNR = &v
	}
	r.stats = stats
	r.Count, r.NaN, r.PosInf, r.NegInf = stats.Count, stats.NaN, stats.PosInf, stats.NegInf
	r.DataRange.Min, r.DataRange.Max = stats.Min, stats.Max
	return nil
}

// noFinite turns calib's ErrNoData into a usage error (the input file has
// no finite value).
func noFinite(in string, err error) error {
	if errors.Is(err, calib.ErrNoData) {
		return usagef("calibrate: %s: %v", in, err)
	}
	return err
}

// calibrateTensor runs the per-tensor methods. The histogram methods share
// one histogram (its state does not depend on the batch split); it is
// also built for the plot.
func calibrateTensor(ctx context.Context, o calibOpts, methods []calib.MethodInfo, x []float32, red calib.Reducer, wantHist bool) ([]*calibResult, *calib.Histogram, error) {
	parts := arraySplit(len(x), o.batches)
	feed := func(obs calib.Observer) error {
		for _, b := range parts {
			if b[0] == b[1] {
				continue
			}
			if err := obs.Observe(ctx, x[b[0]:b[1]], nil); err != nil {
				return err
			}
		}
		return nil
	}
	var ho *calib.HistogramObserver
	needHist := wantHist
	for _, m := range methods {
		needHist = needHist || m.Search
	}
	if needHist {
		var err error
		if ho, err = calib.NewHistogramObserver(calib.MethodMinMax, o.bins, red); err != nil {
			return nil, nil, asUsage(err)
		}
		if err := feed(ho); err != nil {
			return nil, nil, err
		}
	}
	var out []*calibResult
	for _, m := range methods {
		r := newResult(o, m)
		var lo, hi float32
		var stats calib.RangeStats
		var err error
		if m.Search {
			lo, hi, err = ho.SearchRange(m.Method, o.percentile, o.target)
			stats = ho.Stats()
		} else {
			var obs calib.RangeObserver
			obs, err = calib.NewObserver(m.Method, calib.ObserverOptions{Reducer: red, Bins: o.bins, AveragingConstant: o.avgConst})
			if err != nil {
				return nil, nil, asUsage(fmt.Errorf("calibrate: %s: %w", m.Name, err))
			}
			if err = feed(obs); err == nil {
				lo, hi, err = obs.Range(o.target)
				stats = obs.Stats()
			}
		}
		if err != nil {
			return nil, nil, noFinite(o.in, err)
		}
		if err := r.finish(o, x, []int{len(x)}, []float32{lo}, []float32{hi}, stats); err != nil {
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
		for _, b := range arraySplit(outer, n) {
			if b[0] < b[1] {
				out = append(out, chanBatch{x[b[0]*ch*inner : b[1]*ch*inner], []int{b[1] - b[0], ch, inner}})
			}
		}
		return out
	}
	for _, b := range arraySplit(inner, n) {
		w := b[1] - b[0]
		if w == 0 {
			continue
		}
		part := make([]float32, 0, ch*w)
		for c := range ch {
			part = append(part, x[c*inner+b[0]:c*inner+b[1]]...)
		}
		out = append(out, chanBatch{part, []int{1, ch, w}})
	}
	return out
}

// calibratePerChannel runs one method per channel along o.axis.
func calibratePerChannel(ctx context.Context, o calibOpts, m calib.MethodInfo, x []float32, shape []int, red calib.Reducer) (*calibResult, error) {
	outer, inner := 1, 1
	for _, d := range shape[:o.axis] {
		outer *= d
	}
	for _, d := range shape[o.axis+1:] {
		inner *= d
	}
	ch := shape[o.axis]
	parts := channelBatches(x, outer, ch, inner, o.batches)
	r := newResult(o, m)
	var lo, hi []float32
	var stats calib.RangeStats
	if !m.Search {
		obs := &calib.PerChannelMinMaxObserver{Reducer: red, Axis: 1, Averaging: m.Method == calib.MethodMovingAverage, Constant: o.avgConst}
		for _, b := range parts {
			if err := obs.Observe(ctx, b.x, b.shape); err != nil {
				return nil, err
			}
		}
		var err error
		if lo, hi, err = obs.Ranges(); err != nil {
			return nil, noFinite(o.in, err)
		}
		stats = obs.Stats()
	} else {
		hs := make([]*calib.HistogramObserver, ch)
		for c := range hs {
			var err error
			if hs[c], err = calib.NewHistogramObserver(m.Method, o.bins, red); err != nil {
				return nil, asUsage(err)
			}
			hs[c].Percentile = o.percentile
		}
		var buf []float32
		for _, b := range parts {
			bo, bi := b.shape[0], b.shape[2]
			for c := range ch {
				buf = buf[:0]
				for k := range bo {
					off := (k*ch + c) * bi
					buf = append(buf, b.x[off:off+bi]...)
				}
				if err := hs[c].Observe(ctx, buf, nil); err != nil {
					return nil, err
				}
			}
		}
		lo, hi = make([]float32, ch), make([]float32, ch)
		for c, h := range hs {
			var err error
			if lo[c], hi[c], err = h.Range(o.target); err != nil {
				return nil, noFinite(o.in, fmt.Errorf("channel %d: %w", c, err))
			}
			stats = stats.Merge(h.Stats())
		}
	}
	if err := r.finish(o, x, shape, lo, hi, stats); err != nil {
		return nil, err
	}
	return r, nil
}

// plotCalibration draws the histogram h (log-scale counts, at most 256
// bars) with each result's range as a pair of vertical lines.
func plotCalibration(path string, h *calib.Histogram, results []*calibResult, title string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "value"
	p.Y.Label.Text = "count (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	counts := h.Counts()
	g := h.Grid()
	first, last := -1, -1
	for i, c := range counts {
		if c > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return errors.New("no finite data to plot")
	}
	n := last - first + 1
	group := (n + 255) / 256
	var bins []plotter.HistogramBin
	var top float64
	for i := first; i <= last; i += group {
		var s uint64
		for j := i; j < min(i+group, last+1); j++ {
			s += counts[j]
		}
		if s == 0 {
			continue
		}
		bins = append(bins, plotter.HistogramBin{Min: float64(g.Edge(i)), Max: float64(g.Edge(min(i+group, last+1))), Weight: float64(s)})
		top = max(top, float64(s))
	}
	hp := &plotter.Histogram{Bins: bins, Width: float64(g.Edge(first+group) - g.Edge(first)), FillColor: color.Gray{Y: 190}, LogY: true}
	hp.LineStyle.Width = vg.Points(0.3)
	hp.LineStyle.Color = color.Gray{Y: 120}
	p.Add(hp)
	// Room above the bars for the legend; the x axis a little wider than
	// the data so that the min/max lines stay visible.
	ylo, yhi := 0.5, top*60
	xlo, xhi := float64(g.Edge(first)), float64(g.Edge(last+1))
	pad := (xhi - xlo) * 0.03
	p.X.Min, p.X.Max = xlo-pad, xhi+pad
	for i, r := range results {
		c := plotutil.Color(i)
		for k, v := range []float32{r.Range.Min[0], r.Range.Max[0]} {
			l, err := plotter.NewLine(plotter.XYs{{X: float64(v), Y: ylo}, {X: float64(v), Y: top * 4}})
			if err != nil {
				return err
			}
			l.Color = c
			l.Width = vg.Points(1.2)
			l.Dashes = plotutil.Dashes(i)
			p.Add(l)
			if k == 0 {
				label := r.Method
				if r.SQNR != nil {
					label += fmt.Sprintf(" (%.1f dB)", *r.SQNR)
				}
				p.Legend.Add(label, l)
			}
		}
	}
	p.Y.Min, p.Y.Max = ylo, yhi
	return savePlots(path, 8*vg.Inch, 4.5*vg.Inch, p)
}
