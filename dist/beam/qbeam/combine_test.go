package qbeam

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/model/quantize"
)

// TestMergeCalibrationProtocol drives the CombineFn as a runner with
// several workers does, which Prism on one machine does not (it runs the
// shards in one bundle, so its lifted combine makes one accumulator):
// partial accumulators built by AddInput in different bundles, carried
// through the accumulator coder, merged in different trees, an empty
// accumulator among them. Every tree gives the model and table of one
// calibration over the whole set in one process.
func TestMergeCalibrationProtocol(t *testing.T) {
	ctx := context.Background()
	x := fashionImages(t)
	dir := t.TempDir()
	all := filepath.Join(dir, "all.npy")
	saveF32(t, all, []int{64, 1, 28, 28}, x)
	paths := writeShards(t, t.TempDir(), x, 11, 16, 5, 30, 13)
	cfg := ModelConfig{Model: fashionModel, Method: "l2", Bins: 512}
	shards, err := PrepareModel(ctx, &cfg, paths)
	if err != nil {
		t.Fatal(err)
	}

	// The reference: quantize's own single-process calibration.
	q, err := newQuantizer(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := q.Calibrate(ctx, quantize.NPYBatches([]quantize.NPYInput{{Name: "input", Files: []string{all}}}, 8))
	if err != nil {
		t.Fatal(err)
	}
	wantModel, wantTable, err := QuantizeCalibration(q, c)
	if err != nil {
		t.Fatal(err)
	}

	obs := &observeShardFn{Cfg: cfg}
	if err := obs.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	enc := make([][]byte, len(shards))
	for i, s := range shards {
		if enc[i], err = obs.ProcessElement(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	fn := &mergeCalibrationFn{Cfg: cfg}
	if err := fn.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	must := func(a calAccum, err error) calAccum {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	// coded sends an accumulator through the coder, as the shuffle does.
	coded := func(a calAccum) calAccum {
		t.Helper()
		b, err := encodeCalAccum(a)
		if err != nil {
			t.Fatal(err)
		}
		return must(decodeCalAccum(b))
	}
	bundle := func(idx ...int) calAccum {
		a := fn.CreateAccumulator()
		for _, i := range idx {
			a = must(fn.AddInput(ctx, a, enc[i]))
		}
		return coded(a)
	}
	merge := func(a, b calAccum) calAccum { return coded(must(fn.MergeAccumulators(ctx, a, b))) }
	trees := map[string]func() calAccum{
		"balanced": func() calAccum {
			return merge(merge(bundle(0, 1), bundle(2)), merge(bundle(3), bundle()))
		},
		"right-deep, reversed": func() calAccum {
			return merge(bundle(), merge(bundle(3), merge(bundle(2), bundle(1, 0))))
		},
		"one bundle": func() calAccum { return bundle(3, 1, 2, 0) },
	}
	for name, tree := range trees {
		out, err := fn.ExtractOutput(tree())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		mc, err := q.UnmarshalCalibration(out)
		if err != nil {
			t.Fatal(err)
		}
		if _, samples := mc.Runs(); samples != 64 {
			t.Errorf("%s: %d samples", name, samples)
		}
		model, table, err := QuantizeCalibration(q, mc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(model, wantModel) || !bytes.Equal(table, wantTable) {
			t.Errorf("%s: the merged calibration quantizes differently from the single-process one", name)
		}
	}

	// Nothing to extract from an empty accumulator; a corrupt one is
	// refused with ErrFormat.
	if _, err := fn.ExtractOutput(fn.CreateAccumulator()); err == nil {
		t.Error("ExtractOutput of the empty accumulator: no error")
	}
	b, _ := encodeCalAccum(bundle(0))
	b[len(b)/2] ^= 1
	_, err = fn.MergeAccumulators(ctx, bundle(1), must(decodeCalAccum(b)))
	if !errors.Is(err, quantize.ErrFormat) || !strings.Contains(err.Error(), "decoding a partial calibration") {
		t.Errorf("corrupt accumulator: %v", err)
	}
}

// TestCause: the DoFn's message is cut out of a job error; other errors
// are kept whole.
func TestCause(t *testing.T) {
	job := errors.New("job job-001 failed:\nbundle inst001 stage-001 failed: plan ...\n\tcaused by:\nDoFn[UID:8] failed:\nqbeam: shard 2 (a.npy): qbeam: copying a.npy: timeout")
	if got, want := Cause(job), "qbeam: shard 2 (a.npy): qbeam: copying a.npy: timeout"; got != want {
		t.Errorf("Cause = %q, want %q", got, want)
	}
	for _, e := range []string{"qbeam: no shard", "rpc error: connection refused"} {
		if got := Cause(errors.New(e)); got != e {
			t.Errorf("Cause(%q) = %q", e, got)
		}
	}
}
