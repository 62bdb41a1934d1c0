// Command beam-calibrate is `qgpu calibrate` for tensors too large or too
// many for one machine, as an Apache Beam pipeline: activation dumps or
// weight sets stored as float32 .npy shards are read by the workers a
// block of rows at a time, each tensor's per-channel observer state
// (min/max, or qgpu's exactly mergeable histograms) is merged across its
// files, and one JSON table gets every tensor's range, scale and zero
// point - the values `qgpu calibrate` gives the same files in one
// process.
//
//	beam-calibrate --in 'dump/act_*.npy' --in 'acts=dump/act_*.npy' --table T.json [flags] [Beam flags]
//
// --in NAME=PATTERN makes the matched files the batches of tensor NAME
// (concatenated along axis 0); a plain PATTERN makes each matched file a
// tensor of its own, named after the file. Prism, the Go SDK's embedded
// runner, runs the pipeline in this process by default; --runner and its
// flags run the same binary on Flink, Spark or Dataflow.
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

type options struct {
	ins        cli.StringList
	table      string
	cfg        qbeam.TensorConfig
	percent    float64
	qmin, qmax int
	verbose    bool
	given      map[string]bool
}

func (o *options) register(fs *flag.FlagSet) {
	fs.Var(&o.ins, "in", "tensor files `[NAME=]PATTERN` (float32 .npy; repeatable; NAME=: the files are batches of tensor NAME, else each file is a tensor)")
	fs.StringVar(&o.table, "table", "", "write the table (JSON, one entry per tensor) to `FILE` (required)")
	fs.StringVar(&o.cfg.Method, "method", "minmax", "calibration `METHOD`: "+strings.Join(qbeam.MergeableMethods(), ", "))
	fs.Float64Var(&o.percent, "percentile", calib.DefaultPercentile*100, "percentile: percent `P` of the mass kept, in [50, 100]")
	fs.IntVar(&o.cfg.Bins, "bins", calib.DefaultBins, "histogram bins of the histogram methods")
	fs.StringVar(&o.cfg.DType, "dtype", "uint8", "target type: uint8, int8, uint4 or int4")
	fs.StringVar(&o.cfg.Scheme, "scheme", "affine", "affine or symmetric")
	fs.BoolVar(&o.cfg.ReduceRange, "reduce-range", false, "halve the integer range (PyTorch reduce_range)")
	fs.IntVar(&o.qmin, "qmin", 0, "custom integer range: lowest value `A` (with --qmax)")
	fs.IntVar(&o.qmax, "qmax", 0, "custom integer range: highest value `B` (with --qmin)")
	fs.IntVar(&o.cfg.Axis, "axis", 0, "calibrate per channel along axis `N` of each file (negative counts from the end; 0: one file per tensor)")
	fs.IntVar(&o.cfg.Rows, "rows", 1024, "samples (rows along axis 0) a worker reads at a time")
	fs.BoolVar(&o.verbose, "v", false, "show the embedded Prism runner's log and the whole error of a failed job")
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func (o *options) run(ctx context.Context, stdout io.Writer) error {
	switch {
	case len(o.ins) == 0:
		return usageError{"at least one --in pattern is required"}
	case o.table == "":
		return usageError{"--table is required"}
	case !(o.percent >= 50 && o.percent <= 100):
		return usageError{fmt.Sprintf("--percentile %g: want a percentage in [50, 100]", o.percent)}
	case o.given["qmin"] != o.given["qmax"]:
		return usageError{"--qmin and --qmax go together"}
	case o.cfg.Rows < 1:
		return usageError{fmt.Sprintf("--rows %d", o.cfg.Rows)}
	case o.given["percentile"] && o.cfg.Method != "percentile":
		return usageError{"--percentile applies to --method percentile only"}
	}
	o.cfg.Percentile = o.percent / 100
	o.cfg.PerChannel = o.given["axis"]
	if o.given["qmin"] {
		if int64(int32(o.qmin)) != int64(o.qmin) || int64(int32(o.qmax)) != int64(o.qmax) {
			return usageError{"--qmin/--qmax out of range"}
		}
		o.cfg.QRange = []int32{int32(o.qmin), int32(o.qmax)}
	}
	shards, err := qbeam.PrepareTensors(ctx, o.cfg, o.ins)
	if err != nil {
		return err
	}
	p, s := beam.NewPipelineWithRoot()
	if err := qbeam.CalibrateTensorFiles(s, o.cfg, shards, o.table); err != nil {
		return err
	}
	tensors := map[string]bool{}
	for _, sh := range shards {
		tensors[sh.Tensor] = true
	}
	fmt.Fprintf(stdout, "%d files, %d tensors, %s\n", len(shards), len(tensors), o.cfg.Method)
	if err := cli.Run(ctx, p, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", o.table)
	return nil
}

func main() {
	var o options
	o.register(flag.CommandLine)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: beam-calibrate --in [NAME=]PATTERN [--in ...] --table T.json [flags] [Beam flags: --runner ...]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	// On a worker, beam.Init runs the SDK harness and never returns.
	beam.Init()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "beam-calibrate: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	o.given = map[string]bool{}
	flag.Visit(func(f *flag.Flag) { o.given[f.Name] = true })
	cli.QuietPrism(o.verbose)
	if err := o.run(context.Background(), os.Stdout); err != nil {
		msg := qbeam.Cause(err)
		if o.verbose {
			msg = err.Error()
		}
		fmt.Fprintf(os.Stderr, "beam-calibrate: %s\n", msg)
		if _, ok := err.(usageError); ok {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
