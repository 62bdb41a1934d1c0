package cpu_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// TestPoolAndElementwise runs random MaxPool and AvgPool (kernels 1..6 and
// whole-plane ones, strides, dilations, padding up to beyond the kernel so
// that whole windows and whole output rows fall in it, CountIncludePad) and
// random Add, Mul and ReLU on the fast kernels under each ISA and compares
// the bytes with the reference kernels. A third of the pools run on NHWC
// data (channel counts up to 70), input and output, or one of them.
func TestPoolAndElementwise(t *testing.T) {
	ref, fast := refAndFast(t)
	forEachCPUISA(t, allCPUISAs, func(t *testing.T, isa cpu.ISA) {
		rng := rand.New(rand.NewPCG(21, 22))
		for it := range 300 {
			dt := qtensor.Uint8
			if it%2 == 1 {
				dt = qtensor.Int8
			}
			n, c, h, w := 1+rng.IntN(2), 1+rng.IntN(5), 1+rng.IntN(40), 1+rng.IntN(80)
			zp := dt.QMin() + rng.Int32N(256)
			x, _ := qtensor.New(dt, []int{n, c, h, w}, qtensor.TensorParams(0.05, zp))
			x.Data = randBytes(rng, len(x.Data))
			// Pooling.
			kh, kw := 1+rng.IntN(6), 1+rng.IntN(6)
			if it%10 == 0 {
				kh, kw = h, w // global
			}
			o := engine.PoolOptions{Kernel: []int{kh, kw},
				Strides:   []int{1 + rng.IntN(3), 1 + rng.IntN(3)},
				Dilations: []int{1 + rng.IntN(2), 1 + rng.IntN(2)},
				Pads:      []int{rng.IntN(8), rng.IntN(8), rng.IntN(8), rng.IntN(8)},
			}
			if rng.IntN(3) == 0 {
				o.Dilations, o.Pads = nil, nil
			}
			isMax := rng.IntN(2) == 0
			o.CountIncludePad = !isMax && rng.IntN(2) == 0
			if it%3 == 2 {
				o.XLayout, o.YLayout = engine.Layout(rng.IntN(2)), engine.Layout(rng.IntN(2))
				if it%6 == 2 {
					o.XLayout, o.YLayout = engine.NHWC, engine.NHWC
				}
				if o.XLayout == engine.NHWC { // the same bytes as [n, h, w, c]
					c = 1 + rng.IntN(70)
					x, _ = qtensor.New(dt, []int{n, h, w, c}, qtensor.TensorParams(0.05, zp))
					x.Data = randBytes(rng, len(x.Data))
				}
			}
			name := fmt.Sprintf("case %d %v %v max=%v %+v", it, dt, x.Shape, isMax, o)
			pool := func(b *engine.Batch, xs []*engine.Tensor) (*engine.Tensor, error) {
				if isMax {
					return b.MaxPool(xs[0], o)
				}
				return b.AvgPool(xs[0], o)
			}
			probe := fast.NewBatch()
			px, _ := fast.Upload(x)
			if py, err := pool(probe, []*engine.Tensor{px}); err == nil { // skip geometries the engine rejects
				py.Release()
				if !bytes.Equal(runBytes(t, ref, name, []*qtensor.Tensor{x}, pool), runBytes(t, fast, name, []*qtensor.Tensor{x}, pool)) {
					t.Fatalf("%s: fast pool differs from the reference", name)
				}
			}
			px.Release()
			// Elementwise.
			z, _ := qtensor.New(dt, x.Shape, qtensor.TensorParams(0.02+rng.Float32(), dt.QMin()+rng.Int32N(256)))
			z.Data = randBytes(rng, len(z.Data))
			ys, yzp := 0.01+rng.Float32(), dt.QMin()+rng.Int32N(256)
			for _, op := range []string{"add", "mul", "relu"} {
				f := func(b *engine.Batch, xs []*engine.Tensor) (*engine.Tensor, error) {
					switch op {
					case "add":
						return b.Add(xs[0], xs[1], ys, yzp)
					case "mul":
						return b.Mul(xs[0], xs[1], ys, yzp)
					}
					return b.ReLU(xs[0])
				}
				name := fmt.Sprintf("case %d %v %v %s", it, dt, x.Shape, op)
				if !bytes.Equal(runBytes(t, ref, name, []*qtensor.Tensor{x, z}, f), runBytes(t, fast, name, []*qtensor.Tensor{x, z}, f)) {
					t.Fatalf("%s: fast kernel differs from the reference", name)
				}
			}
		}
	})
}
