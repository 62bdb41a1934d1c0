package gputest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// Bench runs the shared benchmarks as sub-benchmarks of b. Op benchmarks
// report the wall time of a whole Batch.Run (ns/op: plan, record, submit,
// wait) and the device time of the ops from timestamps (gpu-us/op, from
// RunTimed); Overhead compares an engine Batch.Run with a bare submission
// of the same dispatches prepared once.
func Bench(b *testing.B, tg Target) {
	b.Run("Gemm", func(b *testing.B) {
		for _, n := range []int{256, 512} {
			b.Run(fmt.Sprint(n), func(b *testing.B) {
				e := tg.Engine(b)
				RunTimed(b, GemmBatch(b, e, n, engine.GemmOptions{}))
				b.ReportMetric(2*float64(n*n*n)/(b.Elapsed().Seconds()/float64(b.N))/1e9, "GOPS")
			})
		}
	})
	b.Run("Quantize1M", func(b *testing.B) {
		e := tg.Engine(b)
		bt := quantizeBatch(b, e, 1<<20)
		b.SetBytes(5 << 20) // 4 bytes read + 1 written per element
		RunTimed(b, bt)
	})
	// TinyOp is a ReLU of 256 int8 values: the fixed cost of one Run.
	b.Run("TinyOp", func(b *testing.B) { RunTimed(b, reluBatch(b, tg.Engine(b), 256)) })
	b.Run("Transfer", func(b *testing.B) { transfer(b, tg.Engine(b)) })
	// EmptySubmission is a submission of nothing, and the wait for it:
	// the floor under every Run.
	b.Run("EmptySubmission", func(b *testing.B) {
		p, err := gpuOf(tg.Engine(b)).Prepare(nil)
		if err != nil {
			b.Fatal(err)
		}
		defer p.Release()
		for b.Loop() {
			if err := p.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Overhead", func(b *testing.B) { overhead(b, &tg) })
}

// RunTimed times bt.Run b.N times and reports the mean device time of a
// few timed runs (gpu-us/op).
func RunTimed(b *testing.B, bt *engine.Batch) {
	ctx := context.Background()
	if _, err := bt.RunTimed(ctx); err != nil { // warm: pipelines, driver compile
		b.Fatal(err)
	}
	var dev float64
	for range 5 {
		ts, err := bt.RunTimed(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range ts {
			dev += t / 5
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if err := bt.Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(dev*1e6, "gpu-us/op")
}

// upload uploads a tensor of random bytes, released with b.
func upload(b *testing.B, e *engine.Engine, r *rand.Rand, d qtensor.DType, shape []int, zp int32) *engine.Tensor {
	h, err := qtensor.New(d, shape, qtensor.TensorParams(0.05, zp))
	if err != nil {
		b.Fatal(err)
	}
	for i := range h.Data {
		h.Data[i] = byte(r.Uint32())
	}
	t, err := e.Upload(h)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { t.Release() })
	return t
}

// GemmBatch is an n^3 u8 x s8 GEMM of random operands with options o.
func GemmBatch(b *testing.B, e *engine.Engine, n int, o engine.GemmOptions) *engine.Batch {
	r := rand.New(rand.NewPCG(1, 2))
	x, w := upload(b, e, r, qtensor.Uint8, []int{n, n}, 128), upload(b, e, r, qtensor.Int8, []int{n, n}, 0)
	bt := e.NewBatch()
	if _, err := bt.Gemm(x, w, o); err != nil {
		b.Fatal(err)
	}
	return bt
}

// quantizeBatch quantizes n normal floats to int8.
func quantizeBatch(b *testing.B, e *engine.Engine, n int) *engine.Batch {
	r := rand.New(rand.NewPCG(3, 4))
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(r.NormFloat64())
	}
	x, err := e.UploadFloat32([]int{n}, xs)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { x.Release() })
	bt := e.NewBatch()
	if _, err := bt.Quantize(x, qtensor.Int8, qtensor.TensorParams(0.02, 0), qtensor.RoundONNX); err != nil {
		b.Fatal(err)
	}
	return bt
}

// reluBatch is a ReLU of n int8 values.
func reluBatch(b *testing.B, e *engine.Engine, n int) *engine.Batch {
	x := upload(b, e, rand.New(rand.NewPCG(5, 6)), qtensor.Int8, []int{n}, 0)
	bt := e.NewBatch()
	if _, err := bt.ReLU(x); err != nil {
		b.Fatal(err)
	}
	return bt
}

// transfer times 16 MiB uploads and downloads of one buffer.
func transfer(b *testing.B, e *engine.Engine) {
	const n = 16 << 20
	buf, err := e.Backend().Alloc(n)
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Free()
	data := make([]byte, n)
	b.Run("upload16MiB", func(b *testing.B) {
		b.SetBytes(n)
		for b.Loop() {
			if err := buf.Write(0, data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("download16MiB", func(b *testing.B) {
		b.SetBytes(n)
		for b.Loop() {
			if err := buf.Read(0, data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// overhead alternates an engine Batch.Run with a bare submission of the
// same dispatches prepared once (same kernels, same buffers), so that load
// from other processes hits both alike, and reports the medians
// (engine-ns, bare-ns) and the engine's extra time in percent (goal: under
// 10% for real work).
func overhead(b *testing.B, tg *Target) {
	for _, c := range []struct {
		name string
		mk   func(*testing.B, *engine.Engine) *engine.Batch
	}{
		{"relu256", func(b *testing.B, e *engine.Engine) *engine.Batch { return reluBatch(b, e, 256) }},
		{"quantize64K", func(b *testing.B, e *engine.Engine) *engine.Batch { return quantizeBatch(b, e, 1<<16) }},
		{"gemm256", func(b *testing.B, e *engine.Engine) *engine.Batch { return GemmBatch(b, e, 256, engine.GemmOptions{}) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := tg.Engine(b)
			bt := c.mk(b, e)
			p, err := gpuOf(e).Prepare(bt.Ops())
			if err != nil {
				b.Fatal(err)
			}
			defer p.Release()
			ctx := context.Background()
			var eng, bare []time.Duration
			for i := 0; b.Loop(); i++ {
				for k := range 2 { // alternate which side runs first
					t0 := time.Now()
					if (i+k)%2 == 0 {
						if err := p.Run(ctx); err != nil {
							b.Fatal(err)
						}
						bare = append(bare, time.Since(t0))
					} else {
						if err := bt.Run(ctx); err != nil {
							b.Fatal(err)
						}
						eng = append(eng, time.Since(t0))
					}
				}
			}
			me, mb := median(eng), median(bare)
			b.ReportMetric(float64(me.Nanoseconds()), "engine-ns")
			b.ReportMetric(float64(mb.Nanoseconds()), "bare-ns")
			b.ReportMetric(100*(float64(me)/float64(mb)-1), "overhead-%")
		})
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
