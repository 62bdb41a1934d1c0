package main

import (
	"context"
	"slices"
	"strings"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// openEngine opens an engine on the named backend: an unknown name is a
// usage error, a backend that cannot open here a failure.
func openEngine(backend string, threads int) (*engine.Engine, error) {
	if backend != "auto" && !slices.Contains(engine.Backends(), backend) {
		return nil, usagef("unknown backend %q%s (compiled in: %s)", backend, didYouMean(backend, engine.Backends()), strings.Join(engine.Backends(), ", "))
	}
	return engine.New(engine.Config{Backend: backend, Threads: threads})
}

// runOne opens the named backend, uploads x, records one op on it with
// record, runs the batch and downloads the op's output.
func runOne(backend string, x *qtensor.Tensor, record func(b *engine.Batch, x *engine.Tensor) (*engine.Tensor, error)) (*qtensor.Tensor, error) {
	eng, err := openEngine(backend, 0)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	dx, err := eng.Upload(x)
	if err != nil {
		return nil, err
	}
	defer dx.Release()
	b := eng.NewBatch()
	y, err := record(b, dx)
	if err != nil {
		return nil, err
	}
	defer y.Release()
	if err := b.Run(context.Background()); err != nil {
		return nil, err
	}
	return eng.Download(y)
}

// quantizeOn quantizes float32 x to type d with params p on the named
// backend.
func quantizeOn(backend string, x *qtensor.Tensor, d qtensor.DType, p qtensor.Params, rule qtensor.Rounding) (*qtensor.Tensor, error) {
	return runOne(backend, x, func(b *engine.Batch, x *engine.Tensor) (*engine.Tensor, error) {
		return b.Quantize(x, d, p, rule)
	})
}

// dequantizeOn dequantizes q on the named backend.
func dequantizeOn(backend string, q *qtensor.Tensor) (*qtensor.Tensor, error) {
	return runOne(backend, q, func(b *engine.Batch, x *engine.Tensor) (*engine.Tensor, error) {
		return b.Dequantize(x)
	})
}
