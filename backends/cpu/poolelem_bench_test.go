package cpu_test

import (
	"context"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// BenchmarkPoolElementwise times ResNet-sized elementwise ops and pools
// (1x256x56x56 uint8; the stem's 3x3/2 max pool, a global average pool)
// through Batch.Run on one thread, on the fast kernels and on the
// reference ones (Kernels "generic") in the same run, for the ratio.
// MB/s counts the input tensor's bytes once.
func BenchmarkPoolElementwise(b *testing.B) {
	shape := []int{1, 256, 56, 56}
	n := 256 * 56 * 56
	for _, kernels := range []string{"fast", "generic"} {
		eng, err := engine.New(engine.Config{Backend: "cpu", Threads: 1, Kernels: kernels})
		if err != nil {
			b.Fatal(err)
		}
		data := func(seed byte) []byte {
			d := make([]byte, n)
			for i := range d {
				d[i] = byte(i*7) + seed
			}
			return d
		}
		x, _ := eng.Upload(&qtensor.Tensor{DType: qtensor.Uint8, Shape: shape, Params: qtensor.TensorParams(0.02, 128), Data: data(1)})
		z, _ := eng.Upload(&qtensor.Tensor{DType: qtensor.Uint8, Shape: shape, Params: qtensor.TensorParams(0.03, 120), Data: data(2)})
		for _, c := range []struct {
			name string
			f    func(bt *engine.Batch) error
		}{
			{"add", func(bt *engine.Batch) error { _, err := bt.Add(x, z, 0.05, 128); return err }},
			{"mul", func(bt *engine.Batch) error { _, err := bt.Mul(x, z, 0.05, 128); return err }},
			{"relu", func(bt *engine.Batch) error { _, err := bt.ReLU(x); return err }},
			{"maxpool3x3s2", func(bt *engine.Batch) error {
				_, err := bt.MaxPool(x, engine.PoolOptions{Kernel: []int{3, 3}, Strides: []int{2, 2}, Pads: []int{1, 1, 1, 1}})
				return err
			}},
			{"avgpool-global", func(bt *engine.Batch) error {
				_, err := bt.AvgPool(x, engine.PoolOptions{Kernel: []int{56, 56}})
				return err
			}},
		} {
			bt := eng.NewBatch()
			if err := c.f(bt); err != nil {
				b.Fatal(err)
			}
			b.Run(c.name+"/"+kernels, func(b *testing.B) {
				b.SetBytes(int64(n))
				for b.Loop() {
					if err := bt.Run(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		eng.Close()
	}
}
