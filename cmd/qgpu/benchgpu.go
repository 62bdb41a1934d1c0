package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/qgpu/qgpu/qtensor"
)

// The transfer section of qgpu bench on GPU backends: host-to-device and
// device-to-host copy rates of a 16 MiB tensor through the engine API
// (Engine.Upload, Engine.Download), and the fixed cost of one submission.
// The engine has no empty submission, so that cost is measured on the
// smallest op there is, ReLU of 4 uint8 elements (a one-word kernel): its
// wall time is the record/submit/wait overhead of Batch.RunTimed, its
// device time the GPU time of a trivial dispatch.

// transferBytes is the size of the timed upload and download.
const transferBytes = 16 << 20

// transferMaxTime bounds each transfer measurement (the quick suite stays
// short).
const transferMaxTime = time.Second

// benchTransfer measures the transfer records of one GPU engine: ops
// "upload", "download" (GBps set, Elements the bytes) and
// "empty_submission" (Output says what ran).
func benchTransfer(ctx context.Context, e benchEngine, o benchOptions, mach machine) ([]benchResult, error) {
	o.minTime = 0
	if o.maxTime == 0 || o.maxTime > transferMaxTime {
		o.maxTime = transferMaxTime
	}
	rec := func(op, shape, output string, t timing, dev []float64) benchResult {
		r := benchResult{Op: op, Backend: e.name, Device: e.dev.Name, CPU: mach.CPU, Shape: shape, Output: output,
			Threads: e.threads, GOMAXPROCS: runtime.GOMAXPROCS(0), gpu: true}
		r.setTiming(t)
		r.Warnings = t.warnings("")
		if len(dev) > 0 {
			r.devTimes = dev[len(dev)-min(len(dev), t.runs):]
			r.DeviceSeconds = median(r.devTimes)
		}
		return r
	}
	up, down, err := timeTransfers(ctx, e, o)
	if err != nil {
		return nil, err
	}
	ru, rd := rec("upload", "16MiB", "uint8", up, nil), rec("download", "16MiB", "uint8", down, nil)
	ru.GBps, ru.Elements = transferBytes/up.median/1e9, transferBytes
	rd.GBps, rd.Elements = transferBytes/down.median/1e9, transferBytes
	sub, dev, err := timeSubmission(ctx, e, o)
	if err != nil {
		return nil, err
	}
	return []benchResult{ru, rd, rec("empty_submission", "4", "relu of 4 uint8 (smallest op; no empty submission in the engine)", sub, dev)}, nil
}

// timeTransfers times the upload of a new 16 MiB tensor (allocation and
// copy, released after each run) and the download of a resident one.
func timeTransfers(ctx context.Context, e benchEngine, o benchOptions) (up, down timing, err error) {
	data := benchData(transferBytes, 11, randU8)
	host := &qtensor.Tensor{DType: qtensor.Uint8, Shape: []int{transferBytes}, Params: qtensor.TensorParams(1, 0), Data: data}
	up, err = measure(ctx, o, func() error {
		t, err := e.eng.Upload(host)
		if err != nil {
			return err
		}
		t.Release()
		return nil
	})
	if err != nil {
		return up, down, fmt.Errorf("bench: upload on %s: %w", e.name, err)
	}
	dt, err := e.eng.Upload(host)
	if err != nil {
		return up, down, fmt.Errorf("bench: upload on %s: %w", e.name, err)
	}
	defer dt.Release()
	down, err = measure(ctx, o, func() error {
		h, err := e.eng.Download(dt)
		if err == nil && len(h.Data) != transferBytes {
			err = fmt.Errorf("downloaded %d bytes, want %d", len(h.Data), transferBytes)
		}
		return err
	})
	if err != nil {
		return up, down, fmt.Errorf("bench: download on %s: %w", e.name, err)
	}
	return up, down, nil
}

// timeSubmission times the smallest submission: ReLU of 4 elements, with
// its device time per run.
func timeSubmission(ctx context.Context, e benchEngine, o benchOptions) (timing, []float64, error) {
	x, err := e.eng.Upload(&qtensor.Tensor{DType: qtensor.Uint8, Shape: []int{4}, Params: qtensor.TensorParams(1, 128), Data: []byte{1, 200, 128, 255}})
	if err != nil {
		return timing{}, nil, fmt.Errorf("bench: upload on %s: %w", e.name, err)
	}
	defer x.Release()
	b := e.eng.NewBatch()
	y, err := b.ReLU(x)
	if err != nil {
		return timing{}, nil, err
	}
	defer y.Release()
	var dev []float64
	sub, err := measure(ctx, o, func() error {
		ts, err := b.RunTimed(ctx)
		if len(ts) == 1 {
			dev = append(dev, ts[0])
		}
		return err
	})
	if err != nil {
		return timing{}, nil, fmt.Errorf("bench: submission on %s: %w", e.name, err)
	}
	return sub, dev, nil
}

// writeTransfer prints the transfer records: JSON lines, or a small table.
func writeTransfer(w io.Writer, rs []benchResult, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, r := range rs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintln(w, "transfer (16 MiB through Engine.Upload/Download; submission: Batch.RunTimed of ReLU on 4 elements, the smallest op):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "backend\top\truns\tmedian\t±mad\tmin\tmax\tgpu\trate\t\n")
	for _, r := range rs {
		gpu, rate := "-", "-"
		if r.DeviceSeconds > 0 {
			gpu = fmtSeconds(r.DeviceSeconds)
		}
		if r.GBps > 0 {
			rate = fmt.Sprintf("%.2f GB/s", r.GBps)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.1f%%\t%s\t%s\t%s\t%s\t\n", r.Backend, r.Op, r.Runs, fmtSeconds(r.Seconds),
			100*r.MADSeconds/r.Seconds, fmtSeconds(r.MinSeconds), fmtSeconds(r.MaxSeconds), gpu, rate)
	}
	return tw.Flush()
}

// benchTransfers runs benchTransfer on every GPU engine and prints the
// records (nothing for CPU engines or the benchmark format).
func benchTransfers(ctx context.Context, w io.Writer, engines []benchEngine, o benchOptions, mach machine, asJSON, benchfmt bool) error {
	if benchfmt {
		return nil
	}
	var all []benchResult
	for _, e := range engines {
		if e.dev.Kind == "cpu" {
			continue
		}
		rs, err := benchTransfer(ctx, e, o, mach)
		if err != nil {
			return err
		}
		all = append(all, rs...)
	}
	if len(all) == 0 {
		return nil
	}
	return writeTransfer(w, all, asJSON)
}
