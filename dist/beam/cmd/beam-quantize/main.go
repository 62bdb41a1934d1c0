// Command beam-quantize is `qgpu model quantize` as an Apache Beam
// pipeline: it calibrates a float ONNX model on shards of .npy batches
// spread over a runner's workers, merges the per-tensor observer state
// exactly (min/max, or qgpu's mergeable histograms) and writes the same
// QDQ model and calibration table as `qgpu model quantize` on the whole
// set in one process, byte for byte, whatever the number of shards.
//
//	beam-quantize --model F.onnx --calib 'shards/*.npy' --out Q.onnx --table T.json [flags] [Beam flags]
//
// Each file matched by --calib is a shard (for a model with several
// inputs, NAME=PATTERN per input; file k of every input makes shard k).
// Prism, the Go SDK's embedded runner, runs the pipeline in this process
// by default; --runner=flink, spark, universal or dataflow with their
// flags run the same binary elsewhere (the README lists the commands).
// Moving-average and torch-histogram are refused: their state depends on
// the order of the batches and cannot be merged.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/dist/beam/internal/cli"
	"github.com/qgpu/qgpu/dist/beam/qbeam"
)

// options are the command's flags.
type options struct {
	model, out, table string
	calib             cli.StringList
	cfg               qbeam.ModelConfig
	percent           float64
	exclude, opTypes  string
	verbose           bool
}

func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.model, "model", "", "float ONNX model `FILE` (a path or gs:// URL the workers can read; required)")
	fs.Var(&o.calib, "calib", "calibration shards `[NAME=]PATTERN` of float32 .npy files, samples on axis 0 (repeatable; each file is a shard)")
	fs.StringVar(&o.out, "out", "", "write the QDQ model to `FILE`")
	fs.StringVar(&o.table, "table", "", "write the calibration table (JSON, one entry per quantized tensor) to `FILE`")
	fs.StringVar(&o.cfg.Method, "method", "minmax", "calibration `METHOD` of the activations: "+strings.Join(qbeam.MergeableMethods(), ", "))
	fs.Float64Var(&o.percent, "percentile", calib.DefaultPercentile*100, "percentile: percent `P` of the mass kept, in [50, 100]")
	fs.IntVar(&o.cfg.Bins, "bins", calib.DefaultBins, "histogram bins of the histogram methods")
	fs.BoolVar(&o.cfg.PerChannel, "per-channel", false, "quantize Conv, ConvTranspose, Gemm and MatMul weights per output channel")
	fs.StringVar(&o.cfg.ActivationType, "activation-type", "uint8", "activation type: uint8 or int8")
	fs.StringVar(&o.cfg.WeightType, "weight-type", "int8", "weight type: int8 (symmetric) or uint8 (asymmetric)")
	fs.BoolVar(&o.cfg.SymmetricActivations, "symmetric-activations", false, "quantize activations symmetrically")
	fs.BoolVar(&o.cfg.ReduceRange, "reduce-range", false, "quantize weights with 7 bits (ONNX Runtime's reduce_range)")
	fs.StringVar(&o.exclude, "exclude", "", "comma-separated `NODES` to leave in float")
	fs.StringVar(&o.opTypes, "op-types", "", "comma-separated op `TYPES` to quantize (default: ONNX Runtime's list)")
	fs.IntVar(&o.cfg.Batch, "batch", 0, "samples per run of the model (default: the model's static batch, else 8)")
	fs.BoolVar(&o.verbose, "v", false, "show the embedded Prism runner's log and the whole error of a failed job")
	fs.IntVar(&o.cfg.Workers, "threads", 0, "goroutines of the interpreter's kernels on a worker (0: all its CPUs)")
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

// usageError is an error in the flags (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func (o *options) run(ctx context.Context, stdout io.Writer) error {
	switch {
	case o.model == "":
		return usageError{"--model is required"}
	case len(o.calib) == 0:
		return usageError{"at least one --calib pattern is required"}
	case o.out == "" && o.table == "":
		return usageError{"--out or --table (or both) is required"}
	case !(o.percent >= 50 && o.percent <= 100):
		return usageError{fmt.Sprintf("--percentile %g: want a percentage in [50, 100]", o.percent)}
	case o.cfg.Batch < 0:
		return usageError{fmt.Sprintf("--batch %d", o.cfg.Batch)}
	}
	o.cfg.Model = o.model
	o.cfg.Percentile = o.percent / 100
	o.cfg.Exclude, o.cfg.OpTypes = splitList(o.exclude), splitList(o.opTypes)
	shards, err := qbeam.PrepareModel(ctx, &o.cfg, o.calib)
	if err != nil {
		return err
	}
	p, s := beam.NewPipelineWithRoot()
	if err := qbeam.QuantizeModel(s, o.cfg, shards, o.out, o.table); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d shards, %s, batch %d\n", o.model, len(shards), o.cfg.Method, o.cfg.Batch)
	if err := cli.Run(ctx, p, stdout); err != nil {
		return err
	}
	for _, f := range []string{o.out, o.table} {
		if f != "" {
			fmt.Fprintf(stdout, "wrote %s\n", f)
		}
	}
	return nil
}

func main() {
	var o options
	o.register(flag.CommandLine)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: beam-quantize --model F.onnx --calib 'shards/*.npy' --out Q.onnx --table T.json [flags] [Beam flags: --runner ...]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	// On a worker, beam.Init runs the SDK harness and never returns.
	beam.Init()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "beam-quantize: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	cli.QuietPrism(o.verbose)
	if err := o.run(context.Background(), os.Stdout); err != nil {
		msg := qbeam.Cause(err)
		if o.verbose {
			msg = err.Error()
		}
		fmt.Fprintf(os.Stderr, "beam-quantize: %s\n", msg)
		if _, ok := err.(usageError); ok {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
