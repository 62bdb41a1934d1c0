package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"io/fs"
	"iter"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/internal/safefile"
	"github.com/qgpu/qgpu/model/quantize"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/onnx/onnxpb"
	"github.com/qgpu/qgpu/qtensor"
)

// modelSubcommands are the `qgpu model` subcommands of this file, which
// the model command dispatches to.
var modelSubcommands = map[string]func(args []string, stdout, stderr io.Writer) error{
	"quantize": cmdModelQuantize,
	"compare":  cmdModelCompare,
}

const modelQuantizeAbout = `
Post-training quantization of a float ONNX model: runs the model with
qgpu's float reference interpreter over the calibration batches, streams
every activation that a quantized op reads or writes into the observer of
the chosen method (memory: the observers and one batch, whatever the size
of the calibration set), and writes a standard QDQ model (QuantizeLinear ->
DequantizeLinear pairs on activations, DequantizeLinear on int8 weights,
int32 biases) that ONNX Runtime and 'qgpu model run' execute. The defaults
are ONNX Runtime's quantize_static for x86: min-max, uint8 asymmetric
activations, int8 symmetric weights per tensor; scale and zero point follow
PyTorch's rules, identical to 'qgpu calibrate' on the same tensor.

--calib files are float32 .npy arrays of the first graph input with the
samples on axis 0 (NAME=FILE for other inputs), read in the order given,
--batch samples per run of the model (a batch never spans two files).
Every method except moving-average and torch-histogram gives the same
model whatever the batches.

Methods (--method): ` + "%s" + `

--report R.json writes the quantized tensors (parameters, ranges, data
seen) and the error report: every quantized tensor's SQNR in the QDQ model
and alone, its clipped fraction and range, worst first, and the outputs'
SQNR and top-1 agreement, measured on the first --report-samples
calibration samples. --plot R.png draws it. --auto-exclude DB keeps the
node of the worst activation in float and quantizes again until the
outputs' SQNR reaches DB (at most --auto-exclude-steps times).`

const modelQuantizeExamples = `
  qgpu model quantize --model cnn.onnx --calib calib.npy --out cnn_qdq.onnx
  qgpu model quantize --model cnn.onnx --calib a.npy --calib b.npy --method percentile --percentile 99.99 --per-channel --out q.onnx --report r.json --plot r.png
  qgpu model quantize --model bert.onnx --calib ids=ids.npy --calib mask=mask.npy --op-types MatMul,Add --exclude /pooler/Gemm --out q.onnx`

// modelQuantizeReport is the JSON of --report.
type modelQuantizeReport struct {
	Model       string                  `json:"model"`
	Out         string                  `json:"out"`
	Options     quantizeOptionsJSON     `json:"options"`
	Calibration calibrationJSON         `json:"calibration"`
	Removed     []string                `json:"removed"`
	FloatNodes  []string                `json:"float_nodes"`
	Excluded    []string                `json:"auto_excluded,omitempty"`
	Notes       []string                `json:"notes"`
	Quantized   []quantize.TensorInfo   `json:"quantized"`
	Error       *quantize.Report        `json:"error,omitempty"`
	Steps       []autoExcludeStepReport `json:"auto_exclude_steps,omitempty"`
}

type quantizeOptionsJSON struct {
	Method               string   `json:"method"`
	Percentile           float64  `json:"percentile,omitempty"`
	Bins                 int      `json:"bins,omitempty"`
	PerChannel           bool     `json:"per_channel"`
	ActivationType       string   `json:"activation_type"`
	WeightType           string   `json:"weight_type"`
	SymmetricActivations bool     `json:"symmetric_activations"`
	ReduceRange          bool     `json:"reduce_range"`
	Exclude              []string `json:"exclude"`
	OpTypes              []string `json:"op_types"`
	Batch                int      `json:"batch"`
	Backend              string   `json:"backend"`
}

type calibrationJSON struct {
	Files   []string `json:"files"`
	Runs    int      `json:"runs"`
	Samples int64    `json:"samples"`
	Tensors int      `json:"tensors"`
	Seconds float64  `json:"seconds"`
}

type autoExcludeStepReport struct {
	Exclude []string    `json:"exclude"`
	Output  quantize.DB `json:"output_sqnr_db"`
}

// inputFiles groups FILE and NAME=FILE arguments by graph input.
func inputFiles(cmd, flag string, m *onnxpb.ModelProto, args []string) ([]quantize.NPYInput, []string, error) {
	var names []string
	for _, in := range onnx.FeedInputs(m.GetGraph()) {
		names = append(names, in.GetName())
	}
	if len(names) == 0 {
		return nil, nil, usagef("%s: the model has no input", cmd)
	}
	byName := map[string][]string{}
	var files []string
	for _, a := range args {
		name, file := names[0], a
		if k, v, ok := strings.Cut(a, "="); ok && slices.Contains(names, k) {
			name, file = k, v
		}
		byName[name] = append(byName[name], file)
		files = append(files, file)
	}
	var out []quantize.NPYInput
	for _, n := range names {
		if len(byName[n]) == 0 {
			return nil, nil, usagef("%s: no %s file for graph input %q (give %s %s=FILE)", cmd, flag, n, flag, n)
		}
		out = append(out, quantize.NPYInput{Name: n, Files: byName[n]})
	}
	return out, files, nil
}

// loadModelFile decodes an ONNX model; a file that cannot be read or
// decoded is a usage error.
func loadModelFile(path string) (*onnxpb.ModelProto, error) {
	m, err := onnx.Load(path, onnx.DecodeOptions{})
	if err != nil {
		if errors.Is(err, onnx.ErrInvalid) || errors.Is(err, onnx.ErrLimit) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, asUsage(err)
		}
		return nil, err
	}
	return m, nil
}

// staticBatch returns the static first dimension of the model's first
// input (0 when symbolic).
func staticBatch(m *onnxpb.ModelProto) int {
	in := onnx.FeedInputs(m.GetGraph())
	if len(in) == 0 {
		return 0
	}
	d := in[0].GetType().GetTensorType().GetShape().GetDim()
	if len(d) > 0 && d[0].GetDimParam() == "" && d[0].GetDimValue() > 0 {
		return int(d[0].GetDimValue())
	}
	return 0
}

// runProgress returns a progress line (shown on a terminal only) and the
// callback that updates it with runs and samples.
func runProgress(stderr io.Writer, what string) (*progress, func(int, int64)) {
	p, start := newProgress(stderr), time.Now()
	return p, func(runs int, samples int64) {
		p.update(false, "%s: %d runs, %d samples, %.1f s", what, runs, samples, time.Since(start).Seconds())
	}
}

// limitSamples stops an iterator after n samples (the last batch cut).
func limitSamples(b iter.Seq2[quantize.Batch, error], n int) iter.Seq2[quantize.Batch, error] {
	return func(yield func(quantize.Batch, error) bool) {
		left := n
		for batch, err := range b {
			if err != nil {
				yield(nil, err)
				return
			}
			if left <= 0 {
				return
			}
			for name, t := range batch {
				if len(t.Shape) > 0 && t.Shape[0] > left {
					c := *t
					c.Shape = append([]int{left}, t.Shape[1:]...)
					k := t.Len() / t.Shape[0] * left
					switch {
					case c.F32 != nil:
						c.F32 = c.F32[:k]
					case c.I64 != nil:
						c.I64 = c.I64[:k]
					case c.I32 != nil:
						c.I32 = c.I32[:k]
					case c.I8 != nil:
						c.I8 = c.I8[:k]
					case c.U8 != nil:
						c.U8 = c.U8[:k]
					case c.Bool != nil:
						c.Bool = c.Bool[:k]
					}
					batch[name] = &c
				}
			}
			for _, t := range batch {
				if len(t.Shape) > 0 {
					left -= t.Shape[0]
				}
				break
			}
			if !yield(batch, nil) {
				return
			}
		}
	}
}

func cmdModelQuantize(args []string, stdout, stderr io.Writer) error {
	var names []string
	for _, m := range calib.Methods() {
		names = append(names, m.Name)
	}
	fs := newFlagSet("model quantize", "qgpu model quantize --model F.onnx --calib X.npy [--calib ...] [flags] --out Q.onnx",
		fmt.Sprintf(modelQuantizeAbout, strings.Join(names, ", ")), modelQuantizeExamples, stdout)
	modelPath := fs.String("model", "", "float ONNX model `FILE` (required)")
	var calibFiles stringList
	fs.Var(&calibFiles, "calib", "calibration `[NAME=]X.npy` (repeatable; float32, samples on axis 0)")
	out := fs.String("out", "", "write the QDQ model to `FILE` (required)")
	method := fs.String("method", "minmax", "calibration `METHOD` of the activations: "+strings.Join(names, ", "))
	pct := fs.Float64("percentile", calib.DefaultPercentile*100, "percentile: percent `P` of the mass kept, in [50, 100]")
	bins := fs.Int("bins", calib.DefaultBins, "histogram bins of the histogram methods")
	avg := fs.Float64("averaging-constant", float64(calib.DefaultAveragingConstant), "moving-average constant `C` in (0, 1]")
	perChannel := fs.Bool("per-channel", false, "quantize Conv, ConvTranspose, Gemm and MatMul weights per output channel")
	actType := fs.String("activation-type", "uint8", "activation type: uint8 or int8")
	wType := fs.String("weight-type", "int8", "weight type: int8 (symmetric) or uint8 (asymmetric)")
	symAct := fs.Bool("symmetric-activations", false, "quantize activations symmetrically (Relu and Clip stay as nodes)")
	reduce := fs.Bool("reduce-range", false, "quantize weights with 7 bits (ONNX Runtime's reduce_range)")
	exclude := fs.String("exclude", "", "comma-separated `NODES` to leave in float")
	opTypes := fs.String("op-types", "", "comma-separated op `TYPES` to quantize (default: ONNX Runtime's list)")
	batch := fs.Int("batch", 0, "samples per run of the model (default: the model's static batch, else 8)")
	backend := fs.String("backend", "cpu", "backend that runs the min/max and histogram passes")
	threads := fs.Int("threads", 0, "goroutines of the interpreter's kernels (0: all CPUs)")
	reportPath := fs.String("report", "", "write the quantization report to `FILE` (.json)")
	plotPath := fs.String("plot", "", "draw the error report to `FILE` (.png or .svg)")
	reportSamples := fs.Int("report-samples", 512, "calibration samples the error report runs on")
	autoDB := fs.Float64("auto-exclude", 0, "keep the worst nodes in float until the outputs' SQNR reaches `DB`")
	autoSteps := fs.Int("auto-exclude-steps", 8, "at most `N` nodes excluded by --auto-exclude")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	switch {
	case len(pos) > 0:
		return usagef("model quantize: unexpected argument %q", pos[0])
	case *modelPath == "":
		return usagef("model quantize: --model is required (qgpu model quantize -h)")
	case len(calibFiles) == 0:
		return usagef("model quantize: at least one --calib file is required")
	case *out == "":
		return usagef("model quantize: --out is required")
	case !(*pct >= 50 && *pct <= 100):
		return usagef("model quantize: --percentile %g: want a percentage in [50, 100]", *pct)
	case *batch < 0:
		return usagef("model quantize: --batch %d", *batch)
	case *reportSamples < 1:
		return usagef("model quantize: --report-samples %d", *reportSamples)
	case given["auto-exclude"] && (*autoSteps < 1 || *autoDB <= 0):
		return usagef("model quantize: --auto-exclude wants a positive target in dB and --auto-exclude-steps >= 1")
	}
	if err := checkThreads("model quantize", *threads); err != nil {
		return err
	}
	m, err := calib.ParseMethod(*method)
	if err != nil {
		return asUsage(fmt.Errorf("model quantize: --method: %w", err))
	}
	mi := m.Info()
	switch {
	case given["percentile"] && m != calib.MethodPercentile:
		return usagef("model quantize: --percentile applies to --method percentile only")
	case given["averaging-constant"] && m != calib.MethodMovingAverage:
		return usagef("model quantize: --averaging-constant applies to --method moving-average only")
	case given["bins"] && !(mi.Search || m == calib.MethodTorchHistogram):
		return usagef("model quantize: --bins applies to the histogram methods only")
	}
	opts := quantize.Options{Method: m, Percentile: *pct / 100, Bins: *bins, AveragingConstant: float32(*avg),
		PerChannel: *perChannel, SymmetricActivations: *symAct, ReduceRange: *reduce, Workers: *threads}
	if opts.ActivationType, err = parseQType("--activation-type", *actType, "uint8", "int8"); err != nil {
		return err
	}
	if opts.WeightType, err = parseQType("--weight-type", *wType, "int8", "uint8"); err != nil {
		return err
	}
	if *exclude != "" {
		opts.Exclude = splitList(*exclude)
	}
	if *opTypes != "" {
		opts.OpTypes = splitList(*opTypes)
	}
	for _, p := range []string{*reportPath, *plotPath} {
		if p == "" {
			continue
		}
		if err := sameFileErr("model quantize", p, append([]string{*modelPath, *out}, calibFiles...)...); err != nil {
			return err
		}
	}
	if *plotPath != "" {
		if _, err := plotFormat("--plot", *plotPath); err != nil {
			return err
		}
	}
	if err := sameFileErr("model quantize", *out, append([]string{*modelPath}, calibFiles...)...); err != nil {
		return err
	}
	fm, err := loadModelFile(*modelPath)
	if err != nil {
		return err
	}
	inputs, files, err := inputFiles("model quantize", "--calib", fm, calibFiles)
	if err != nil {
		return err
	}
	if sb := staticBatch(fm); sb > 0 {
		if *batch != 0 && *batch != sb {
			return usagef("model quantize: the model's batch size is %d; --batch %d", sb, *batch)
		}
		*batch = sb
	} else if *batch == 0 {
		*batch = 8
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	eng, err := openEngine(*backend, 0)
	if err != nil {
		return err
	}
	defer eng.Close()
	opts.Reducer = eng.Reducer()

	rep := &modelQuantizeReport{Model: *modelPath, Out: *out, Options: quantizeOptionsJSON{
		Method: mi.Name, PerChannel: *perChannel, ActivationType: opts.ActivationType.String(), WeightType: opts.WeightType.String(),
		SymmetricActivations: *symAct, ReduceRange: *reduce, Exclude: opts.Exclude, OpTypes: opts.OpTypes, Batch: *batch, Backend: *backend}}
	if m == calib.MethodPercentile {
		rep.Options.Percentile = *pct
	}
	if mi.Search || m == calib.MethodTorchHistogram {
		rep.Options.Bins = *bins
	}
	batches := quantize.NPYBatches(inputs, *batch)
	wantErr := *reportPath != "" || *plotPath != "" || given["auto-exclude"]

	var res *quantize.Result
	var errRep *quantize.Report
	for step := 0; ; step++ {
		pr, update := runProgress(stderr, "calibrating")
		opts.Progress = update
		q, err := quantize.New(fm, opts)
		if err != nil {
			return quantizeErr(err)
		}
		start := time.Now()
		c, err := q.Calibrate(ctx, batches)
		pr.done()
		if err != nil {
			return quantizeErr(err)
		}
		runs, samples := c.Runs()
		rep.Calibration = calibrationJSON{Files: files, Runs: runs, Samples: samples, Tensors: len(c.Tensors()), Seconds: time.Since(start).Seconds()}
		if res, err = q.Quantize(c); err != nil {
			return quantizeErr(err)
		}
		if !wantErr {
			break
		}
		pc, update := runProgress(stderr, "comparing")
		errRep, err = quantize.Compare(ctx, fm, res.Model, limitSamples(batches, *reportSamples),
			quantize.CompareOptions{Workers: *threads, Progress: update, Engine: eng})
		pc.done()
		if err != nil {
			return quantizeErr(err)
		}
		if !given["auto-exclude"] {
			break
		}
		worst := outputSQNR(errRep)
		rep.Steps = append(rep.Steps, autoExcludeStepReport{Exclude: slices.Clone(opts.Exclude), Output: worst})
		if float64(worst) >= *autoDB || step >= *autoSteps {
			break
		}
		node := worstNode(res.Model, errRep, opts.Exclude)
		if node == "" {
			break
		}
		opts.Exclude = append(opts.Exclude, node)
		rep.Excluded = append(rep.Excluded, node)
	}
	rep.Options.Exclude = opts.Exclude
	if err := onnx.Save(*out, res.Model); err != nil {
		return err
	}
	rep.Removed, rep.FloatNodes, rep.Notes, rep.Quantized, rep.Error = res.Removed, res.Float, res.Notes, res.Tensors, errRep
	if *reportPath != "" {
		if err := writeJSONFile(*reportPath, rep); err != nil {
			return err
		}
	}
	if *plotPath != "" {
		if err := plotQuantReport(*plotPath, errRep, fmt.Sprintf("%s: %s, %s", filepath.Base(*modelPath), mi.Name, weightGranularity(*perChannel))); err != nil {
			return fmt.Errorf("model quantize: --plot: %w", err)
		}
	}
	counts := map[quantize.Kind]int{}
	for _, t := range res.Tensors {
		counts[t.Kind]++
	}
	fmt.Fprintf(stdout, "%s -> %s: %s, %s weights %s, %s activations\n", *modelPath, *out, mi.Name, opts.WeightType, weightGranularity(*perChannel), opts.ActivationType)
	fmt.Fprintf(stdout, "calibration: %d runs, %d samples, %d tensors observed, %.1f s\n", rep.Calibration.Runs, rep.Calibration.Samples, rep.Calibration.Tensors, rep.Calibration.Seconds)
	fmt.Fprintf(stdout, "quantized: %d activations, %d weights, %d biases, %d constants; %d Relu/Clip folded; %d nodes in float\n",
		counts[quantize.Activation], counts[quantize.Weight], counts[quantize.Bias], counts[quantize.Constant], len(res.Removed), len(res.Float))
	if len(res.Float) > 0 {
		fmt.Fprintf(stdout, "float nodes: %s\n", clip(strings.Join(res.Float, ", "), 300))
	}
	if len(rep.Excluded) > 0 {
		fmt.Fprintf(stdout, "auto-excluded: %s\n", strings.Join(rep.Excluded, ", "))
	}
	for _, n := range res.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	if errRep != nil {
		writeErrSummary(stdout, errRep, 5)
	}
	return nil
}

func weightGranularity(perChannel bool) string {
	if perChannel {
		return "per-channel"
	}
	return "per-tensor"
}

func parseQType(flag, s string, allowed ...string) (qtensor.DType, error) {
	if !slices.Contains(allowed, s) {
		return 0, usagef("model quantize: %s %q: want %s", flag, s, strings.Join(allowed, " or "))
	}
	d, err := qtensor.ParseDType(s)
	if err != nil {
		return 0, asUsage(err)
	}
	return d, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// quantizeErr classifies errors of package quantize by the CLI's rule:
// ErrShape, ErrParams and malformed files are bad input (2, by exitCode);
// an iterator's file that cannot be opened too.
func quantizeErr(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, calib.ErrNoData) {
		return asUsage(err)
	}
	return err
}

// outputSQNR is the lowest SQNR of the model outputs.
func outputSQNR(r *quantize.Report) quantize.DB {
	worst := quantize.DB(math.Inf(1))
	for _, o := range r.Outputs {
		worst = min(worst, o.SQNR)
	}
	return worst
}

// worstNode picks the node to keep in float next: the producer of the
// activation with the lowest own SQNR (the error it adds by itself) among
// the nodes not excluded yet; for a graph input, its first reader.
func worstNode(q *onnxpb.ModelProto, r *quantize.Report, excluded []string) string {
	producer := map[string]string{}
	reader := map[string]string{}
	for i, n := range q.GetGraph().GetNode() {
		name := n.GetName()
		if name == "" {
			name = fmt.Sprintf("%s#%d", n.GetOpType(), i)
		}
		if op := n.GetOpType(); op == "QuantizeLinear" || op == "DequantizeLinear" {
			continue
		}
		for _, o := range n.Output {
			producer[strings.TrimSuffix(o, "_QuantizeLinear_Input")] = name
		}
		for _, in := range n.Input {
			base := strings.TrimSuffix(in, "_DequantizeLinear_Output")
			if _, ok := reader[base]; !ok {
				reader[base] = name
			}
		}
	}
	ts := slices.Clone(r.Tensors)
	slices.SortStableFunc(ts, func(a, b quantize.TensorError) int {
		switch {
		case a.OwnSQNR < b.OwnSQNR:
			return -1
		case a.OwnSQNR > b.OwnSQNR:
			return 1
		}
		return 0
	})
	for _, t := range ts {
		if t.Kind != quantize.Activation {
			continue
		}
		node := producer[t.Name]
		if node == "" {
			node = reader[t.Name]
		}
		if node != "" && !slices.Contains(excluded, node) {
			return node
		}
	}
	return ""
}

func writeJSONFile(path string, v any) error {
	return safefile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

// writeErrSummary prints the outputs and the worst tensors of a report.
func writeErrSummary(w io.Writer, r *quantize.Report, worst int) {
	for _, o := range r.Outputs {
		top1 := "-"
		if o.Top1 != nil {
			top1 = fmt.Sprintf("%.2f%%", 100**o.Top1)
		}
		fmt.Fprintf(w, "output %s: SQNR %s dB, top-1 agreement %s (%d samples)\n", quoteName(o.Name), o.SQNR, top1, r.Samples)
		if rt := o.Runtime; rt != nil {
			top1, same := "-", "-"
			if rt.Top1 != nil {
				top1, same = fmt.Sprintf("%.2f%%", 100**rt.Top1), fmt.Sprintf("%.2f%%", 100**rt.InterpTop1)
			}
			fmt.Fprintf(w, "  on qgpu's runtime (%s): SQNR %s dB, top-1 agreement %s with float, %s with the interpreter\n", rt.Backend, rt.SQNR, top1, same)
		}
	}
	writeErrTable(w, r, worst)
}

// writeErrTable prints the first n tensors (worst first; n <= 0: all).
func writeErrTable(w io.Writer, r *quantize.Report, n int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "rank\ttensor\tkind\tSQNR dB\town dB\tclipped\trange\n")
	for i, t := range r.Tensors {
		if n > 0 && i >= n {
			break
		}
		rng := "per channel"
		if len(t.Range) == 2 {
			rng = fmt.Sprintf("[%.4g, %.4g]", t.Range[0], t.Range[1])
		}
		if t.Kind == quantize.Bias {
			rng = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%.4f%%\t%s\n", i+1, clip(quoteName(t.Name), 60), t.Kind, t.SQNR, t.OwnSQNR, 100*t.Clipped, rng)
	}
	tw.Flush()
}

const modelCompareAbout = `
Runs a float model and its QDQ form (from 'qgpu model quantize', ONNX
Runtime's quantizer, or any tool writing QuantizeLinear/DequantizeLinear
pairs) on the same inputs with qgpu's reference interpreter, and reports
for every quantized tensor the SQNR of the QDQ model's value against the
float model's, the SQNR of the tensor quantized alone, the fraction of
values clipped and the range its parameters represent, worst first; and
for every output the SQNR and the top-1 agreement (rank-2 outputs), also
with the QDQ model run by qgpu's quantized runtime on --backend (its
integer kernels; --backend none skips it).

--in files are float32 .npy arrays of the first graph input (NAME=FILE for
others), samples on axis 0, run --batch samples at a time.`

const modelCompareExamples = `
  qgpu model compare --float cnn.onnx --quant cnn_qdq.onnx --in test.npy
  qgpu model compare --float cnn.onnx --quant cnn_qdq.onnx --in test.npy --all --json > report.json`

func cmdModelCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("model compare", "qgpu model compare --float F.onnx --quant Q.onnx --in X.npy [--in ...] [flags]", modelCompareAbout, modelCompareExamples, stdout)
	floatPath := fs.String("float", "", "float ONNX model `FILE` (required)")
	quantPath := fs.String("quant", "", "QDQ ONNX model `FILE` (required)")
	var inFiles stringList
	fs.Var(&inFiles, "in", "input `[NAME=]X.npy` (repeatable; float32, samples on axis 0)")
	batch := fs.Int("batch", 0, "samples per run (default: the model's static batch, else 8)")
	samples := fs.Int("samples", 0, "compare on the first `N` samples only (0: all)")
	threads := fs.Int("threads", 0, "goroutines of the interpreter's kernels (0: all CPUs)")
	backend := fs.String("backend", "cpu", "also run the QDQ model on qgpu's runtime on this backend (none: do not)")
	all := fs.Bool("all", false, "list every tensor (default: the 20 worst)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	reportPath := fs.String("report", "", "also write the JSON report to `FILE`")
	plotPath := fs.String("plot", "", "draw the report to `FILE` (.png or .svg)")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("model compare: unexpected argument %q", pos[0])
	case *floatPath == "" || *quantPath == "":
		return usagef("model compare: --float and --quant are required (qgpu model compare -h)")
	case len(inFiles) == 0:
		return usagef("model compare: at least one --in file is required")
	case *batch < 0 || *samples < 0:
		return usagef("model compare: --batch and --samples must not be negative")
	}
	if err := checkThreads("model compare", *threads); err != nil {
		return err
	}
	for _, p := range []string{*reportPath, *plotPath} {
		if p != "" {
			if err := sameFileErr("model compare", p, append([]string{*floatPath, *quantPath}, inFiles...)...); err != nil {
				return err
			}
		}
	}
	if *plotPath != "" {
		if _, err := plotFormat("--plot", *plotPath); err != nil {
			return err
		}
	}
	fm, err := loadModelFile(*floatPath)
	if err != nil {
		return err
	}
	qm, err := loadModelFile(*quantPath)
	if err != nil {
		return err
	}
	inputs, _, err := inputFiles("model compare", "--in", fm, inFiles)
	if err != nil {
		return err
	}
	if sb := staticBatch(fm); sb > 0 {
		*batch = sb
	} else if *batch == 0 {
		*batch = 8
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	b := quantize.NPYBatches(inputs, *batch)
	if *samples > 0 {
		b = limitSamples(b, *samples)
	}
	co := quantize.CompareOptions{Workers: *threads}
	if *backend != "none" {
		eng, err := openEngine(*backend, *threads)
		if err != nil {
			return err
		}
		defer eng.Close()
		co.Engine = eng
	}
	pc, update := runProgress(stderr, "comparing")
	co.Progress = update
	r, err := quantize.Compare(ctx, fm, qm, b, co)
	pc.done()
	if err != nil {
		return quantizeErr(err)
	}
	if *reportPath != "" {
		if err := writeJSONFile(*reportPath, r); err != nil {
			return err
		}
	}
	if *plotPath != "" {
		if err := plotQuantReport(*plotPath, r, filepath.Base(*quantPath)); err != nil {
			return fmt.Errorf("model compare: --plot: %w", err)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(r)
	}
	fmt.Fprintf(stdout, "%s vs %s: %d runs, %d samples, %d quantized tensors\n", *quantPath, *floatPath, r.Runs, r.Samples, len(r.Tensors))
	n := 20
	if *all {
		n = 0
	}
	writeErrSummary(stdout, r, n)
	if n > 0 && len(r.Tensors) > n {
		fmt.Fprintf(stdout, "... %d more (--all lists every tensor)\n", len(r.Tensors)-n)
	}
	return nil
}

// plotQuantReport draws an error report: the SQNR of every quantized
// activation along the network (in the QDQ model, and alone) with the
// outputs' SQNR, and the worst 15 tensors as bars.
func plotQuantReport(path string, r *quantize.Report, title string) error {
	var acts []quantize.TensorError
	for _, t := range r.Tensors {
		if t.Kind == quantize.Activation {
			acts = append(acts, t)
		}
	}
	slices.SortStableFunc(acts, func(a, b quantize.TensorError) int { return a.Order - b.Order })
	finite := func(d quantize.DB) float64 {
		v := float64(d)
		switch {
		case math.IsInf(v, 1):
			return 100
		case math.IsInf(v, -1):
			return -20
		}
		return v
	}
	p1 := plot.New()
	p1.Title.Text = clip(title, 90)
	p1.X.Label.Text = "quantized activation, in network order"
	p1.Y.Label.Text = "SQNR (dB)"
	p1.Legend.Top = true
	model, own := make(plotter.XYs, len(acts)), make(plotter.XYs, len(acts))
	for i, t := range acts {
		model[i] = plotter.XY{X: float64(i), Y: finite(t.SQNR)}
		own[i] = plotter.XY{X: float64(i), Y: finite(t.OwnSQNR)}
	}
	if len(acts) > 0 {
		l1, s1, err := plotter.NewLinePoints(model)
		if err != nil {
			return err
		}
		l1.Color, s1.Color = color.RGBA{R: 200, A: 255}, color.RGBA{R: 200, A: 255}
		l2, s2, err := plotter.NewLinePoints(own)
		if err != nil {
			return err
		}
		l2.Color, s2.Color = color.RGBA{B: 200, A: 255}, color.RGBA{B: 200, A: 255}
		l2.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		s2.Shape = draw.BoxGlyph{}
		p1.Add(l1, s1, l2, s2)
		p1.Legend.Add("in the QDQ model", l1, s1)
		p1.Legend.Add("tensor alone", l2, s2)
		for _, o := range r.Outputs {
			ol, err := plotter.NewLine(plotter.XYs{{X: 0, Y: finite(o.SQNR)}, {X: float64(len(acts) - 1), Y: finite(o.SQNR)}})
			if err != nil {
				return err
			}
			ol.Color = color.Gray{Y: 90}
			ol.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
			p1.Add(ol)
			label := "output " + o.Name
			if o.Top1 != nil {
				label += fmt.Sprintf(" (top-1 %.2f%%)", 100**o.Top1)
			}
			p1.Legend.Add(clip(label, 50), ol)
		}
	}
	p1.Add(plotter.NewGrid())
	// Room above the curves for the legend.
	p1.Y.Max += 0.3 * (p1.Y.Max - p1.Y.Min)

	// The worst tensors, worst at the top: a dot at the SQNR in the QDQ
	// model on a line from the axis, and a square at the tensor alone.
	p2 := plot.New()
	p2.Title.Text = "worst tensors (SQNR in the QDQ model; square: alone)"
	p2.X.Label.Text = "SQNR (dB)"
	n := min(15, len(r.Tensors))
	labels := make([]string, n)
	lo := math.Inf(1)
	for i := range n {
		lo = min(lo, finite(r.Tensors[i].SQNR), finite(r.Tensors[i].OwnSQNR))
	}
	lo = math.Floor(lo/5)*5 - 5
	for i := range n {
		t := r.Tensors[n-1-i]
		labels[i] = fmt.Sprintf("%s (%s)", shortTensorName(t.Name, 32), t.Kind)
		y := float64(i)
		stem, err := plotter.NewLine(plotter.XYs{{X: lo, Y: y}, {X: finite(t.SQNR), Y: y}})
		if err != nil {
			return err
		}
		stem.Color = color.RGBA{R: 220, G: 120, B: 40, A: 255}
		stem.Width = vg.Points(3)
		dot, err := plotter.NewScatter(plotter.XYs{{X: finite(t.SQNR), Y: y}})
		if err != nil {
			return err
		}
		dot.Color, dot.Radius = color.RGBA{R: 200, A: 255}, vg.Points(3)
		dot.Shape = draw.CircleGlyph{}
		own, err := plotter.NewScatter(plotter.XYs{{X: finite(t.OwnSQNR), Y: y}})
		if err != nil {
			return err
		}
		own.Color, own.Shape = color.RGBA{B: 200, A: 255}, draw.BoxGlyph{}
		p2.Add(stem, dot, own)
	}
	if n > 0 {
		p2.NominalY(labels...)
		p2.X.Min = lo
		p2.X.Max += 2
	}
	p2.Add(plotter.NewGrid())
	return savePlots(path, 7*vg.Inch, 5*vg.Inch, p1, p2)
}

// shortTensorName keeps the end of a long tensor name.
func shortTensorName(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "…" + string(r[len(r)-n+1:])
}
