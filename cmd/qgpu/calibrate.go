package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/qgpu/qgpu/calib"
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
--in may be given several times: the files are batches, fed in the order
given (the same shape apart from dimension 0; the SQNR is that of all of
them, concatenated along dimension 0).

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
MovingAveragePerChannelMinMaxObserver); with several --in files the axis
cannot be 0 (dimension 0 is the batch). Per channel, the output lists
every channel up to 16 and summarises more (the channels of lowest SQNR);
--verbose or --json list all.

--batches N feeds each file in N contiguous, nearly equal batches like
numpy.array_split: the first len%N batches one element longer, and when N
exceeds the length the batches past it are empty and skipped, as PyTorch's
observers skip empty batches. Only moving-average and torch-histogram
depend on the split. Per channel, the batches split the dimensions before
the channel axis (flattened) when there are any of size > 1, otherwise
those after it. The min/max and histogram passes run on --backend through
the engine (results are the same on every backend). On a terminal, long
runs show their progress on stderr.

--plot FILE (.png or .svg) draws the histogram of the data (log counts)
with each method's range, and below it one row per method: its range as
a bar, its SQNR on the left. Per channel (--axis) it draws the 4 channels
of lowest SQNR, each with its range.

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
  qgpu calibrate --in batch0.npy --in batch1.npy --in batch2.npy --method torch-histogram --dtype int8 --scheme symmetric
  qgpu calibrate --in act.npy --method moving-average --batches 32 --averaging-constant 0.01 --json
  qgpu calibrate --in w.npy --method minmax --dtype int8 --scheme symmetric --axis 0
  qgpu calibrate --in w.npy --method kl --axis 0 --plot worst.png
  qgpu calibrate --in act.npy --method percentile --percentile 99.9 --dtype int8 --qmin -100 --qmax 100
  qgpu calibrate --in act.npy --method all --plot report.png`

// calibOpts are the parsed flags of one calibrate run.
type calibOpts struct {
	ins        []string
	tensor     string
	target     calib.Target
	perChannel bool
	axis       int
	batches    int
	avgConst   float32
	percentile float64 // fraction kept
	bins       int
	backend    string
	all        bool   // --method all
	plot       string // --plot path
	verbose    bool
}

// calibFlags are the flags of calibrate.
type calibFlags struct {
	ins                 stringList
	tensor, method      *string
	tf                  *targetFlags
	axis, batches, bins *int
	avg, pct            *float64
	backend, plot       *string
	asJSON, verbose     *bool
}

func newCalibFlags(stdout io.Writer) (*flagSet, *calibFlags) {
	fs := newFlagSet("calibrate", "qgpu calibrate --in X.npy [--in X2.npy]... [--method M] [--dtype T] [--scheme S] [flags]", calibrateAbout(), calibrateExamples, stdout)
	f := &calibFlags{}
	fs.Var(&f.ins, "in", "input `FILE` (.npy float32/float16/float64, .safetensors, float .qt); repeat for more batches, fed in order")
	f.tensor = fs.String("tensor", "", "tensor `NAME` in a .safetensors file")
	f.method = fs.String("method", "minmax", "calibration `METHOD`: "+strings.Join(calib.MethodNames(), ", ")+" or all (aliases above)")
	f.tf = addTargetFlags(fs, "uint8", true)
	f.axis = fs.Int("axis", 0, "calibrate per channel along axis `N` (negative counts from the end)")
	f.batches = fs.Int("batches", 1, "feed each file in `N` contiguous batches (numpy.array_split; empty ones skipped)")
	f.avg = fs.Float64("averaging-constant", 0.01, "moving-average constant `C` in (0, 1]")
	f.pct = fs.Float64("percentile", calib.DefaultPercentile*100, "percentile: percent `P` of the mass kept, in [50, 100]")
	f.bins = fs.Int("bins", calib.DefaultBins, "histogram bins for the histogram methods")
	f.backend = fs.String("backend", "cpu", "backend that runs the min/max and histogram passes")
	f.asJSON = fs.Bool("json", false, "print one JSON object (per channel: every channel)")
	f.verbose = fs.Bool("verbose", false, "per channel: list every channel, not a summary")
	f.plot = fs.String("plot", "", "write a histogram with the chosen ranges to `FILE` (.png or .svg)")
	return fs, f
}

func cmdCalibrate(args []string, stdout, stderr io.Writer) error {
	fs, f := newCalibFlags(stdout)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if err := noArgs("calibrate", pos); err != nil {
		return err
	}
	o, methods, err := f.options(fs.given())
	if err != nil {
		return err
	}
	data, err := loadCalibData(o, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	eng, err := openEngine(o.backend, 0)
	if err != nil {
		return err
	}
	defer eng.Close()
	prog := newProgress(stderr)
	defer prog.done()
	results, hist, err := runCalibration(ctx, o, methods, data, eng.Reducer(), prog)
	prog.done()
	if err != nil {
		return err
	}
	if o.plot != "" {
		if err := plotCalibrate(o, data, results, hist); err != nil {
			return fmt.Errorf("calibrate: --plot: %w", err)
		}
	}
	if *f.asJSON {
		return writeCalibJSON(stdout, o, results)
	}
	printCalibration(stdout, o, data, methods, results)
	return nil
}

// options validates the flags.
func (f *calibFlags) options(given map[string]bool) (calibOpts, []calib.MethodInfo, error) {
	o := calibOpts{ins: f.ins, tensor: *f.tensor, perChannel: given["axis"], axis: *f.axis, batches: *f.batches,
		avgConst: float32(*f.avg), percentile: *f.pct / 100, bins: *f.bins, backend: *f.backend, plot: *f.plot, verbose: *f.verbose}
	if len(o.ins) == 0 {
		return o, nil, usagef("calibrate: --in is required (qgpu calibrate -h)")
	}
	methods, err := f.methods(given, o.perChannel)
	if err != nil {
		return o, nil, err
	}
	o.all = len(methods) > 1
	if o.target, err = f.tf.target("calibrate", given); err != nil {
		return o, nil, err
	}
	switch {
	case o.batches < 1:
		return o, nil, usagef("calibrate: --batches %d must be at least 1", o.batches)
	case !(*f.avg > 0 && *f.avg <= 1):
		return o, nil, usagef("calibrate: --averaging-constant %g outside (0, 1]", *f.avg)
	case !(*f.pct >= 50 && *f.pct <= 100):
		return o, nil, usagef("calibrate: --percentile %g: want a percentage in [50, 100], e.g. 99.99", *f.pct)
	case o.bins < calib.MinBins || o.bins > calib.MaxBins:
		return o, nil, usagef("calibrate: --bins %d outside [%d, %d]", o.bins, calib.MinBins, calib.MaxBins)
	case o.all && o.perChannel:
		return o, nil, usagef("calibrate: --method all is per tensor; drop --axis or choose one method")
	}
	if o.plot != "" {
		if _, err := plotFormat("--plot", o.plot); err != nil {
			return o, nil, err
		}
		if err := sameFileErr("calibrate", o.plot, o.ins...); err != nil {
			return o, nil, err
		}
	}
	return o, methods, nil
}

// methods returns the methods --method names and checks the flags that
// apply to some methods only.
func (f *calibFlags) methods(given map[string]bool, perChannel bool) ([]calib.MethodInfo, error) {
	if strings.EqualFold(*f.method, "all") {
		return calib.Methods(), nil
	}
	mm, err := calib.ParseMethod(*f.method)
	if err != nil {
		hint := ""
		if s := calib.SuggestMethod(*f.method); s != "" {
			hint = " (did you mean " + s + "?)"
		}
		return nil, usagef("calibrate: unknown --method %q%s: want %s or all", *f.method, hint, strings.Join(calib.MethodNames(), ", "))
	}
	m := mm.Info()
	switch {
	case given["averaging-constant"] && m.Method != calib.MethodMovingAverage:
		return nil, usagef("calibrate: --averaging-constant applies to --method moving-average only")
	case given["percentile"] && m.Method != calib.MethodPercentile:
		return nil, usagef("calibrate: --percentile applies to --method percentile only")
	case given["bins"] && !usesBins(m):
		return nil, usagef("calibrate: --bins applies to the histogram methods only (%s)", binsMethods())
	case perChannel && m.PerTensorOnly:
		return nil, usagef("calibrate: --method %s is per tensor (torch's HistogramObserver has no per-channel form); drop --axis", m.Name)
	}
	return []calib.MethodInfo{m}, nil
}

// writeCalibJSON prints the results as one JSON object.
func writeCalibJSON(w io.Writer, o calibOpts, results []*calibResult) error {
	enc := json.NewEncoder(w)
	if o.all {
		return enc.Encode(struct {
			In      string         `json:"in"`
			Inputs  []string       `json:"inputs,omitempty"`
			Results []*calibResult `json:"results"`
		}{o.ins[0], results[0].Inputs, results})
	}
	return enc.Encode(results[0])
}
