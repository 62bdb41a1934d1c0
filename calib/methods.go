package calib

import (
	"fmt"
	"strings"

	"github.com/qgpu/qgpu/internal/suggest"
	"github.com/qgpu/qgpu/qtensor"
)

// Method is a calibration method: how an observer turns the data it saw
// into a clipping range. Methods lists every method with its name, its
// aliases and whether it reproduces a PyTorch observer bit for bit.
type Method uint8

// Methods. The histogram searches (MethodPercentile to MethodKL, and
// MethodMinMax) run on a HistogramObserver, with the density taken as
// uniform inside each bin, in float64.
const (
	// MethodMinMax keeps the full finite range (MinMaxObserver).
	MethodMinMax Method = iota
	// MethodPercentile keeps the given fraction p of the mass: affine keeps
	// [Q((1-p)/2), Q((1+p)/2)], symmetric keeps [-T, T] with T = Q|x|(p),
	// where Q is the quantile of the histogram's piecewise-linear CDF.
	MethodPercentile
	// MethodL2Greedy is the greedy walk of PyTorch's
	// HistogramObserver._non_linear_param_search (Caffe2's
	// NonlinearQuantizationParamsSearch: CDF-quantile steps of 1e-5 that
	// stop when the L2 error grows) run on this package's histogram, and
	// kept only if it beats the full range. For torch's own result use
	// MethodTorchHistogram.
	MethodL2Greedy
	// MethodL2 minimises the L2 error exhaustively (see HistogramObserver).
	MethodL2
	// MethodL1 is MethodL2 with the absolute error.
	MethodL1
	// MethodKL is the entropy calibration of TensorRT / ONNX Runtime:
	// smallest KL divergence between the clipped reference distribution and
	// its quantized form.
	MethodKL
	// MethodMovingAverage is the moving average of the batch minima and
	// maxima (MovingAverageMinMaxObserver).
	MethodMovingAverage
	// MethodTorchHistogram is PyTorch's HistogramObserver, reproduced bit
	// for bit (TorchHistogramObserver): order-dependent, not mergeable.
	MethodTorchHistogram

	numMethods
)

// MethodInfo describes a calibration method.
type MethodInfo struct {
	Method  Method
	Name    string   // canonical name, e.g. "l2"
	Aliases []string // other names ParseMethod accepts (ONNX Runtime's, earlier qgpu names)
	About   string   // one line
	// Torch names the PyTorch observer whose scale and zero point the
	// method reproduces bit for bit when fed the same batches ("" when
	// none); the tests compare with fixtures recorded from torch.
	Torch string
	// Search: a range search on this package's Histogram (run by a
	// HistogramObserver): exactly mergeable, independent of the batch
	// split and order.
	Search bool
	// PerTensorOnly: no per-channel form.
	PerTensorOnly bool
}

// methodTable lists the methods in the order help texts show them.
var methodTable = []MethodInfo{
	{Method: MethodMinMax, Name: "minmax", Aliases: []string{"min-max"},
		About: "running min and max of all batches", Torch: "MinMaxObserver"},
	{Method: MethodMovingAverage, Name: "moving-average", Aliases: []string{"movingaverage"},
		About: "moving average of each batch's min and max", Torch: "MovingAverageMinMaxObserver"},
	{Method: MethodTorchHistogram, Name: "torch-histogram", Aliases: []string{"histogramobserver"},
		About: "torch's own histogram and greedy L2 search; order-dependent", Torch: "HistogramObserver", PerTensorOnly: true},
	{Method: MethodPercentile, Name: "percentile",
		About: "keep a fraction of the histogram's mass", Search: true},
	{Method: MethodL2Greedy, Name: "l2-greedy",
		About: "torch's greedy L2 walk on qgpu's mergeable histogram", Search: true},
	{Method: MethodL2, Name: "l2", Aliases: []string{"histogram"},
		About: "exhaustive L2 (MSE) search on the histogram", Search: true},
	{Method: MethodL1, Name: "l1",
		About: "exhaustive L1 search on the histogram", Search: true},
	{Method: MethodKL, Name: "kl", Aliases: []string{"entropy"},
		About: "KL divergence (entropy) search of TensorRT and ONNX Runtime", Search: true},
}

var methodIndex = func() map[Method]int {
	m := map[Method]int{}
	for i, mi := range methodTable {
		m[mi.Method] = i
	}
	return m
}()

// Methods returns every calibration method, in the order help texts show
// them.
func Methods() []MethodInfo {
	out := make([]MethodInfo, len(methodTable))
	for i, mi := range methodTable {
		mi.Aliases = append([]string(nil), mi.Aliases...)
		out[i] = mi
	}
	return out
}

// MethodNames returns the canonical method names in help order.
func MethodNames() []string {
	out := make([]string, len(methodTable))
	for i, mi := range methodTable {
		out[i] = mi.Name
	}
	return out
}

// Info returns the description of m (a zero MethodInfo with Name
// "Method(N)" for an unknown m).
func (m Method) Info() MethodInfo {
	if i, ok := methodIndex[m]; ok {
		mi := methodTable[i]
		mi.Aliases = append([]string(nil), mi.Aliases...)
		return mi
	}
	return MethodInfo{Method: m, Name: fmt.Sprintf("Method(%d)", uint8(m))}
}

func (m Method) String() string { return m.Info().Name }

// ErrUnknownMethod is wrapped by the error for a method name or value that
// is not a calibration method; errors.Is also matches it with
// qtensor.ErrParams.
var ErrUnknownMethod error = unknownMethod{}

type unknownMethod struct{}

func (unknownMethod) Error() string        { return "unknown calibration method" }
func (unknownMethod) Is(target error) bool { return target == qtensor.ErrParams }

// ParseMethod returns the method named s: a canonical name or an alias
// (ONNX Runtime's entropy for kl, qgpu's earlier histogram for l2, ...),
// ignoring case. The error for an unknown name wraps ErrUnknownMethod and
// suggests the nearest name ("did you mean ...?").
func ParseMethod(s string) (Method, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	for _, mi := range methodTable {
		if k == mi.Name {
			return mi.Method, nil
		}
		for _, a := range mi.Aliases {
			if k == a {
				return mi.Method, nil
			}
		}
	}
	hint := ""
	if sug := SuggestMethod(s); sug != "" {
		hint = fmt.Sprintf(" (did you mean %s?)", sug)
	}
	return 0, fmt.Errorf("%w %q%s; want one of %s", ErrUnknownMethod, s, hint, strings.Join(MethodNames(), ", "))
}

// SuggestMethod returns the method name or alias nearest to an unknown s
// (by edit distance, or as the one name s begins), "" when nothing is
// close. An alias comes with its method: "histogram (= l2)".
func SuggestMethod(s string) string {
	k := strings.ToLower(strings.TrimSpace(s))
	if k == "" {
		return ""
	}
	best, bestD, prefix := "", 1<<30, ""
	prefixOf := map[Method]bool{}
	say := func(name string, mi MethodInfo) string {
		if name == mi.Name {
			return name
		}
		return name + " (= " + mi.Name + ")"
	}
	for _, mi := range methodTable {
		for _, name := range append([]string{mi.Name}, mi.Aliases...) {
			if d := suggest.Distance(k, name); d < bestD {
				best, bestD = say(name, mi), d
			}
			if len(k) >= 3 && strings.HasPrefix(name, k) && !prefixOf[mi.Method] {
				prefix, prefixOf[mi.Method] = say(name, mi), true
			}
		}
	}
	switch {
	case bestD <= suggest.Limit(len(k)):
		return best
	case len(prefixOf) == 1:
		return prefix
	}
	return ""
}

// ObserverOptions are the settings NewObserver passes to the observer of a
// method; zero values mean each observer's default.
type ObserverOptions struct {
	Reducer           Reducer      // min/max and histogram passes (nil: HostReducer{})
	Bins              int          // histogram searches and MethodTorchHistogram
	Percentile        float64      // MethodPercentile: fraction kept, in (0, 1]
	AveragingConstant float32      // MethodMovingAverage, in (0, 1]
	Torch             TorchVersion // MethodTorchHistogram
}

// NewObserver returns a per-tensor observer for method m.
func NewObserver(m Method, o ObserverOptions) (RangeObserver, error) {
	switch {
	case m == MethodMinMax:
		return &MinMaxObserver{Reducer: o.Reducer}, nil
	case m == MethodMovingAverage:
		if !(o.AveragingConstant >= 0 && o.AveragingConstant <= 1) {
			return nil, fmt.Errorf("%w: averaging constant %g outside (0, 1]", qtensor.ErrParams, o.AveragingConstant)
		}
		return &MovingAverageMinMaxObserver{Reducer: o.Reducer, Constant: o.AveragingConstant}, nil
	case m == MethodTorchHistogram:
		t := &TorchHistogramObserver{Version: o.Torch, Bins: o.Bins}
		if _, _, _, err := t.config(); err != nil {
			return nil, err
		}
		return t, nil
	case m.Info().Search:
		h, err := NewHistogramObserver(m, o.Bins, o.Reducer)
		if err != nil {
			return nil, err
		}
		if o.Percentile != 0 && !(o.Percentile > 0 && o.Percentile <= 1) {
			return nil, fmt.Errorf("%w: percentile %g outside (0, 1]", qtensor.ErrParams, o.Percentile)
		}
		h.Percentile = o.Percentile
		return h, nil
	}
	return nil, fmt.Errorf("%w %v", ErrUnknownMethod, m)
}
