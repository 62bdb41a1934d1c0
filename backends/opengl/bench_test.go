package opengl

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/qgpu/qgpu/backends/internal/gpu"
	"github.com/qgpu/qgpu/backends/opengl/internal/glrt"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
	"github.com/qgpu/qgpu/shaders"
)

// Benchmarks (software drivers measure overheads, not GPU speed):
//
//	env -u DISPLAY go test -run '^$' -bench . ./backends/opengl/
//
// Op benchmarks report wall time per Batch.Run (ns/op) and the GPU time
// of the op from GL_TIMESTAMP queries (gpu-ns/op, from a separate timed
// run per iteration). BenchmarkOverhead compares an engine Batch.Run with
// a bare glrt batch of the same dispatch, built once.

func gemmBatch(b *testing.B, e *engine.Engine, n int) *engine.Batch {
	r := rand.New(rand.NewPCG(1, 2))
	mk := func(d qtensor.DType, shape []int) *engine.Tensor {
		h, err := qtensor.New(d, shape, qtensor.TensorParams(0.5, 0))
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
		return t
	}
	x, w := mk(qtensor.Uint8, []int{n, n}), mk(qtensor.Int8, []int{n, n})
	bt := e.NewBatch()
	if _, err := bt.Gemm(x, w, engine.GemmOptions{}); err != nil {
		b.Fatal(err)
	}
	return bt
}

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
	bt := e.NewBatch()
	if _, err := bt.Quantize(x, qtensor.Int8, qtensor.TensorParams(0.02, 0), qtensor.RoundONNX); err != nil {
		b.Fatal(err)
	}
	return bt
}

func reluBatch(b *testing.B, e *engine.Engine, n int) *engine.Batch {
	h, err := qtensor.New(qtensor.Int8, []int{n}, qtensor.TensorParams(1, 0))
	if err != nil {
		b.Fatal(err)
	}
	x, err := e.Upload(h)
	if err != nil {
		b.Fatal(err)
	}
	bt := e.NewBatch()
	if _, err := bt.ReLU(x); err != nil {
		b.Fatal(err)
	}
	return bt
}

// benchBatch times bt.Run and reports the op's GPU time.
func benchBatch(b *testing.B, bt *engine.Batch) {
	ctx := context.Background()
	if err := bt.Run(ctx); err != nil { // warm-up (shader compile on first dispatch)
		b.Fatal(err)
	}
	var gpu float64
	for range 5 {
		ts, err := bt.RunTimed(ctx)
		if err != nil {
			b.Fatal(err)
		}
		gpu += ts[0] / 5
	}
	b.ResetTimer()
	for b.Loop() {
		if err := bt.Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(gpu*1e9, "gpu-ns/op")
}

func BenchmarkGemm256(b *testing.B) {
	e := newEngine(b, nil)
	bt := gemmBatch(b, e, 256)
	b.SetBytes(2 * 256 * 256 * 256) // ops (multiply + add) as "bytes": MB/s reads as MOPS
	benchBatch(b, bt)
}

func BenchmarkQuantize1M(b *testing.B) {
	e := newEngine(b, nil)
	bt := quantizeBatch(b, e, 1<<20)
	b.SetBytes(5 << 20) // 4 bytes read + 1 written per element
	benchBatch(b, bt)
}

// BenchmarkTinyOp is a ReLU of 256 int8 values: the fixed cost of one Run
// (planning, aux upload, one dispatch, glFinish, GL thread round trips).
func BenchmarkTinyOp(b *testing.B) {
	e := newEngine(b, nil)
	benchBatch(b, reluBatch(b, e, 256))
}

const transferBytes = 16 << 20

func BenchmarkUpload16M(b *testing.B) {
	e := newEngine(b, nil)
	buf, err := e.Backend().Alloc(transferBytes)
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Free()
	src := make([]byte, transferBytes)
	b.SetBytes(transferBytes)
	for b.Loop() {
		if err := buf.Write(0, src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDownload16M(b *testing.B) {
	e := newEngine(b, nil)
	buf, err := e.Backend().Alloc(transferBytes)
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Free()
	dst := make([]byte, transferBytes)
	b.SetBytes(transferBytes)
	for b.Loop() {
		if err := buf.Read(0, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmptySubmission is one glrt Run of an empty batch plus glFinish
// on the backend's context: the floor under every Backend.Run.
func BenchmarkEmptySubmission(b *testing.B) {
	e := newEngine(b, nil)
	be := e.Backend().(*Backend)
	var bt glrt.Batch
	for b.Loop() {
		if _, err := be.ctx.Run(&bt); err != nil {
			b.Fatal(err)
		}
		if err := be.ctx.Finish(); err != nil {
			b.Fatal(err)
		}
	}
}

// bareBatch builds, once, the glrt batch that Backend.Run would submit for
// the single op of bt (aux words in a buffer of their own), so that only
// glrt's Run and glFinish are timed.
func bareBatch(b *testing.B, be *Backend, bt *engine.Batch) *glrt.Batch {
	ops := bt.Ops()
	if len(ops) != 1 {
		b.Fatalf("%d ops", len(ops))
	}
	p, err := gpu.PlanOp(ops[0])
	if err != nil {
		b.Fatal(err)
	}
	aux, err := be.ctx.NewBuffer(4 * len(p.Aux))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { aux.Free() })
	words := make([]byte, 4*len(p.Aux))
	for i, w := range p.Aux {
		binary.LittleEndian.PutUint32(words[4*i:], w)
	}
	if err := aux.Upload(0, words); err != nil {
		b.Fatal(err)
	}
	g := &glrt.Batch{}
	for _, l := range p.Launches {
		prog, err := be.kernel(l.Params)
		if err != nil {
			b.Fatal(err)
		}
		var binds []glrt.Binding
		for s, t := range l.Bind[:gpu.SlotAux] {
			if t == nil {
				binds = append(binds, glrt.Binding{Index: uint32(s), Buffer: be.dummy, ReadOnly: s != gpu.SlotY})
				continue
			}
			binds = append(binds, glrt.Binding{Index: uint32(s), Buffer: t.Buffer().(*buffer).gb, Offset: t.Offset(), Size: bindSize(t), ReadOnly: s != gpu.SlotY})
		}
		binds = append(binds, glrt.Binding{Index: gpu.SlotAux, Buffer: aux, ReadOnly: true})
		params := l.Params.AppendTo(make([]byte, 0, shaders.ParamBytes))
		g.Dispatch(glrt.Dispatch{Program: prog, Groups: l.Groups, Bindings: binds, Params: params})
	}
	return g
}

// BenchmarkOverhead compares Batch.Run through the engine and backend with
// the bare glrt batch of the same dispatch (built once, plus glFinish), for
// a tiny op (fixed costs dominate), quantize 64K and GEMM 256. The two run
// alternately in one loop, so that load from other processes hits both
// alike; it reports the medians (engine-ns, bare-ns) and the engine's
// overhead in percent of the bare time.
func BenchmarkOverhead(b *testing.B) {
	for _, c := range []struct {
		name string
		mk   func(*testing.B, *engine.Engine) *engine.Batch
	}{
		{"relu256", func(b *testing.B, e *engine.Engine) *engine.Batch { return reluBatch(b, e, 256) }},
		{"quantize64K", func(b *testing.B, e *engine.Engine) *engine.Batch { return quantizeBatch(b, e, 1<<16) }},
		{"gemm256", func(b *testing.B, e *engine.Engine) *engine.Batch { return gemmBatch(b, e, 256) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := newEngine(b, nil)
			be := e.Backend().(*Backend)
			bt := c.mk(b, e)
			g := bareBatch(b, be, bt)
			ctx := context.Background()
			var eng, bare []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := bt.Run(ctx); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if _, err := be.ctx.Run(g); err != nil {
					b.Fatal(err)
				}
				if err := be.ctx.Finish(); err != nil {
					b.Fatal(err)
				}
				eng, bare = append(eng, t1.Sub(t0)), append(bare, time.Since(t1))
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
