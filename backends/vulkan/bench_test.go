package vulkan

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/backends/vulkan/internal/vkrt"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
	"github.com/qgpu/qgpu/shaders"
)

// Benchmarks (select the driver with VK_ICD_FILENAMES):
//
//	go test -run '^$' -bench . ./backends/vulkan/
//
// gpu-us/op is the device time from timestamps (RunTimed); ns/op is wall
// time of a whole Run (record, submit, wait).

func benchEngine(b *testing.B) *engine.Engine {
	e, err := engine.New(engine.Config{Backend: "vulkan"})
	skipUnavailable(b, err)
	b.Cleanup(func() { e.Close() })
	return e
}

func randQ(r *rand.Rand, d qtensor.DType, shape []int, zp int32) *qtensor.Tensor {
	n := 1
	for _, v := range shape {
		n *= v
	}
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(r.IntN(256))
	}
	return &qtensor.Tensor{DType: d, Shape: shape, Params: qtensor.TensorParams(0.05, zp), Data: data}
}

// runTimedBench runs batch bt b.N times and reports the mean GPU time.
func runTimedBench(b *testing.B, bt *engine.Batch) {
	ctx := context.Background()
	if _, err := bt.RunTimed(ctx); err != nil { // warm: pipelines, driver compile
		b.Fatal(err)
	}
	var gpuSec float64
	b.ResetTimer()
	for range b.N {
		ts, err := bt.RunTimed(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range ts {
			gpuSec += t
		}
	}
	b.ReportMetric(gpuSec/float64(b.N)*1e6, "gpu-us/op")
}

func BenchmarkGemm(b *testing.B) {
	e := benchEngine(b)
	for _, n := range []int{256, 512} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			a, err := e.Upload(randQ(r, qtensor.Uint8, []int{n, n}, 128))
			if err != nil {
				b.Fatal(err)
			}
			defer a.Release()
			w, err := e.Upload(randQ(r, qtensor.Int8, []int{n, n}, 0))
			if err != nil {
				b.Fatal(err)
			}
			defer w.Release()
			bt := e.NewBatch()
			y, err := bt.Gemm(a, w, engine.GemmOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer y.Release()
			runTimedBench(b, bt)
			b.ReportMetric(2*float64(n*n*n)/(b.Elapsed().Seconds()/float64(b.N))/1e9, "GOPS")
		})
	}
}

func quantizeBatch(b *testing.B, e *engine.Engine, n int) (*engine.Batch, func()) {
	r := rand.New(rand.NewPCG(3, 4))
	xf := make([]float32, n)
	for i := range xf {
		xf[i] = float32(r.NormFloat64())
	}
	x, err := e.UploadFloat32([]int{n}, xf)
	if err != nil {
		b.Fatal(err)
	}
	bt := e.NewBatch()
	y, err := bt.Quantize(x, qtensor.Int8, qtensor.TensorParams(0.02, 0), qtensor.RoundONNX)
	if err != nil {
		b.Fatal(err)
	}
	return bt, func() { x.Release(); y.Release() }
}

func BenchmarkQuantize1M(b *testing.B) {
	e := benchEngine(b)
	bt, done := quantizeBatch(b, e, 1<<20)
	defer done()
	b.SetBytes(4 << 20)
	runTimedBench(b, bt)
}

func BenchmarkTransfer(b *testing.B) {
	e := benchEngine(b)
	const n = 16 << 20
	buf, err := e.Backend().Alloc(n)
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Free()
	data := make([]byte, n)
	b.Run("upload16MiB", func(b *testing.B) {
		b.SetBytes(n)
		for range b.N {
			if err := buf.Write(0, data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("download16MiB", func(b *testing.B) {
		b.SetBytes(n)
		for range b.N {
			if err := buf.Read(0, data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSubmit measures fixed costs: an empty vkrt submission, and an
// engine Run of one op on 4 elements.
func BenchmarkSubmit(b *testing.B) {
	e := benchEngine(b)
	be := e.Backend().(*Backend)
	ctx := context.Background()
	b.Run("vkrt-empty", func(b *testing.B) {
		s := be.dev.NewSequence()
		for range b.N {
			if _, err := s.Submit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("engine-tiny-op", func(b *testing.B) {
		bt, done := quantizeBatch(b, e, 4)
		defer done()
		for range b.N {
			if err := bt.Run(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// bareSequence records the launches of the batch's ops directly on vkrt,
// as a program using the runtime by hand would: the baseline of the
// engine's overhead.
func bareSequence(b *testing.B, be *Backend, bt *engine.Batch) *vkrt.Sequence {
	s := be.dev.NewSequence()
	for _, op := range bt.Ops() {
		p, err := gpu.PlanOp(op)
		if err != nil {
			b.Fatal(err)
		}
		aux, err := be.dev.NewBuffer(int64(4 * len(p.Aux)))
		if err != nil {
			b.Fatal(err)
		}
		bs := make([]byte, 4*len(p.Aux))
		for i, w := range p.Aux {
			binary.LittleEndian.PutUint32(bs[4*i:], w)
		}
		if err := aux.Write(0, bs); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(aux.Free)
		for _, l := range p.Launches {
			pipe, err := be.pipeline(l.Kernel())
			if err != nil {
				b.Fatal(err)
			}
			var bind [4]vkrt.Binding
			for i, t := range l.Bind[:gpu.SlotAux] {
				bind[i] = vkrt.Binding{Buf: be.dummy}
				if t != nil {
					bind[i] = vkrt.Binding{Buf: t.Buffer().(*buffer).vb, Off: int64(t.Offset()), Size: bindSize(t)}
				}
			}
			bind[gpu.SlotAux] = vkrt.Binding{Buf: aux}
			var push [shaders.ParamBytes]byte
			l.Params.AppendTo(push[:0])
			if err := s.Dispatch(pipe, bind[:], push[:], l.Groups[0], l.Groups[1], l.Groups[2]); err != nil {
				b.Fatal(err)
			}
		}
	}
	return s
}

// BenchmarkOverhead alternates a bare vkrt submission of a prerecorded
// sequence with an engine Batch.Run of the same ops (same kernels, same
// buffers) and reports the engine's extra wall time in percent (goal:
// under 10% for real work) and in microseconds per Run.
func BenchmarkOverhead(b *testing.B) {
	e := benchEngine(b)
	be := e.Backend().(*Backend)
	ctx := context.Background()
	for _, n := range []int{4, 1 << 16, 1 << 20} {
		b.Run(fmt.Sprintf("quantize-%d", n), func(b *testing.B) {
			bt, done := quantizeBatch(b, e, n)
			defer done()
			s := bareSequence(b, be, bt)
			if err := bt.Run(ctx); err != nil {
				b.Fatal(err)
			}
			var bare, eng time.Duration
			b.ResetTimer()
			for i := range b.N {
				// Alternate the order so neither side always runs on
				// the caches and queue state the other left.
				for k := range 2 {
					t0 := time.Now()
					if (i+k)%2 == 0 {
						if _, err := s.Submit(ctx); err != nil {
							b.Fatal(err)
						}
						bare += time.Since(t0)
					} else {
						if err := bt.Run(ctx); err != nil {
							b.Fatal(err)
						}
						eng += time.Since(t0)
					}
				}
			}
			b.ReportMetric(100*(float64(eng)/float64(bare)-1), "overhead-%")
			b.ReportMetric(float64(eng-bare)/float64(b.N)/1e3, "extra-us/run")
			b.ReportMetric(float64(bare)/float64(b.N)/1e3, "bare-us/run")
		})
	}
}
