package cpu_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// resnet50 records a ResNet-50 (v1.5: the stride on the 3x3 convolution)
// inference at N = 1, 224x224, one op per batch (run in order), with
// random int8 per-channel weights:
// 53 convolutions with quantized uint8 outputs (ReLU fused where the model
// has it), the stem's max pool, 16 residual Adds each followed by a ReLU, the
// global average pool and the classifier as a 1x1 convolution. Activation
// scales are arbitrary: the timing does not depend on them.
func resnet50(tb testing.TB, e *engine.Engine) []*engine.Batch {
	var batches []*engine.Batch
	nb := func() *engine.Batch {
		b := e.NewBatch()
		batches = append(batches, b)
		return b
	}
	rng := rand.New(rand.NewPCG(50, 50))
	const act = modelAct
	x, err := e.Upload(&qtensor.Tensor{DType: qtensor.Uint8, Shape: []int{1, 3, 224, 224}, Params: qtensor.TensorParams(act, 128), Data: randBytes(rng, 3*224*224)})
	if err != nil {
		tb.Fatal(err)
	}
	conv := func(x *engine.Tensor, o, k, stride int, relu bool) *engine.Tensor {
		return modelConv(tb, e, nb(), rng, x, o, k, stride, 1, relu)
	}
	must := func(y *engine.Tensor, err error) *engine.Tensor {
		if err != nil {
			tb.Fatal(err)
		}
		return y
	}
	h := conv(x, 64, 7, 2, true)
	h = must(nb().MaxPool(h, engine.PoolOptions{Kernel: []int{3, 3}, Strides: []int{2, 2}, Pads: []int{1, 1, 1, 1}}))
	for stage, blocks := range []int{3, 4, 6, 3} {
		width := 64 << stage
		for i := range blocks {
			stride := 1
			if stage > 0 && i == 0 {
				stride = 2
			}
			short := h
			if i == 0 {
				short = conv(h, 4*width, 1, stride, false)
			}
			y := conv(h, width, 1, 1, true)
			y = conv(y, width, 3, stride, true)
			y = conv(y, 4*width, 1, 1, false)
			y = must(nb().Add(y, short, act, 0))
			h = must(nb().ReLU(y))
		}
	}
	h = must(nb().AvgPool(h, engine.PoolOptions{Kernel: []int{7, 7}}))
	conv(h, 1000, 1, 1, false)
	return batches
}

// modelConv records on b a k x k convolution of x to o channels (stride,
// groups, "same" padding) with random int8 per-channel weights and a
// quantized uint8 output (scale modelAct, ReLU fused when relu).
func modelConv(tb testing.TB, e *engine.Engine, b *engine.Batch, rng *rand.Rand, x *engine.Tensor, o, k, stride, group int, relu bool) *engine.Tensor {
	c := x.Shape()[1] / group
	scales, zps := make([]float32, o), make([]int32, o)
	for i := range scales {
		scales[i] = 0.002 + 0.002*rng.Float32()
	}
	w, err := e.Upload(&qtensor.Tensor{DType: qtensor.Int8, Shape: []int{o, c, k, k}, Params: qtensor.AxisParams(0, scales, zps), Data: randBytes(rng, o*c*k*k)})
	if err != nil {
		tb.Fatal(err)
	}
	p := k / 2
	y, err := b.Conv(x, w, engine.ConvOptions{Pads: []int{p, p, p, p}, Strides: []int{stride, stride}, Group: group,
		OutputOptions: engine.OutputOptions{Output: engine.OutQuantized, YType: qtensor.Uint8, YScale: modelAct, YZP: 0, ReLU: relu}})
	if err != nil {
		tb.Fatal(err)
	}
	return y
}

// modelAct is the activation scale of the model benchmarks.
const modelAct = 0.05

// mobilenetV2 records a MobileNetV2 inference at N = 1, 224x224 like
// resnet50: the 3x3/2 stem, 17 inverted residual blocks (1x1 expansion
// with ReLU, 3x3 depthwise with ReLU, 1x1 projection, and the residual Add
// where the shapes allow), the 1x1 to 1280 channels, the global average
// pool and the classifier (ReLU stands in for ReLU6).
func mobilenetV2(tb testing.TB, e *engine.Engine) []*engine.Batch {
	var batches []*engine.Batch
	nb := func() *engine.Batch {
		b := e.NewBatch()
		batches = append(batches, b)
		return b
	}
	rng := rand.New(rand.NewPCG(2, 2))
	x, err := e.Upload(&qtensor.Tensor{DType: qtensor.Uint8, Shape: []int{1, 3, 224, 224}, Params: qtensor.TensorParams(modelAct, 128), Data: randBytes(rng, 3*224*224)})
	if err != nil {
		tb.Fatal(err)
	}
	conv := func(x *engine.Tensor, o, k, stride, group int, relu bool) *engine.Tensor {
		return modelConv(tb, e, nb(), rng, x, o, k, stride, group, relu)
	}
	h := conv(x, 32, 3, 2, 1, true)
	for _, s := range [][4]int{{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}} {
		t, c, n, stride := s[0], s[1], s[2], s[3]
		for i := range n {
			if i > 0 {
				stride = 1
			}
			in := h.Shape()[1]
			y := h
			if t != 1 {
				y = conv(y, t*in, 1, 1, 1, true)
			}
			y = conv(y, t*in, 3, stride, t*in, true)
			y = conv(y, c, 1, 1, 1, false)
			if stride == 1 && in == c {
				y, err = nb().Add(y, h, modelAct, 0)
				if err != nil {
					tb.Fatal(err)
				}
			}
			h = y
		}
	}
	h = conv(h, 1280, 1, 1, 1, true)
	h, err = nb().AvgPool(h, engine.PoolOptions{Kernel: []int{7, 7}})
	if err != nil {
		tb.Fatal(err)
	}
	conv(h, 1000, 1, 1, 1, false)
	return batches
}

// BenchmarkResNet50 times one ResNet-50 inference (resnet50) on one and
// on two threads, and logs where the time goes per op kind (each op's
// batch timed on its own over 5 inferences after one that packs the
// weights; run with -v to see it).
func BenchmarkResNet50(b *testing.B) { benchModel(b, resnet50) }

// BenchmarkMobileNetV2 is BenchmarkResNet50 for mobilenetV2; the
// depthwise convolutions are logged apart ("Conv/depthwise").
func BenchmarkMobileNetV2(b *testing.B) { benchModel(b, mobilenetV2) }

func benchModel(b *testing.B, model func(testing.TB, *engine.Engine) []*engine.Batch) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("t%d", threads), func(b *testing.B) {
			e, err := engine.New(engine.Config{Backend: "cpu", Options: engine.Options{Threads: threads}})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			batches := model(b, e)
			infer := func(each func(bt *engine.Batch, d time.Duration)) {
				for _, bt := range batches {
					t0 := time.Now()
					if err := bt.Run(context.Background()); err != nil {
						b.Fatal(err)
					}
					each(bt, time.Since(t0))
				}
			}
			infer(func(*engine.Batch, time.Duration) {}) // packs the weights
			kinds := map[string]time.Duration{}
			var total time.Duration
			for range 5 {
				infer(func(bt *engine.Batch, d time.Duration) {
					op := bt.Ops()[0]
					k := op.Kind().String()
					if c, ok := op.(*engine.Conv); ok && c.Group > 1 && c.Group == c.C {
						k += "/depthwise"
					}
					kinds[k] += d
					total += d
				})
			}
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(kinds)) {
				parts = append(parts, fmt.Sprintf("%s %.1f%%", k, 100*kinds[k].Seconds()/total.Seconds()))
			}
			b.Logf("%d ops, %.2f ms per inference; time per op kind: %s", len(batches), total.Seconds()*1e3/5, strings.Join(parts, ", "))
			b.ResetTimer()
			for b.Loop() {
				infer(func(*engine.Batch, time.Duration) {})
			}
			b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/inference")
		})
	}
}
