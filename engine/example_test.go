package engine_test

import (
	"context"
	"fmt"
	"log"

	_ "github.com/qgpu/qgpu/backends/cpu" // link the CPU backend
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// Example quantizes activations, multiplies them by int8 weights with a
// requantized uint8 output (QLinearMatMul) in one submission, and
// dequantizes the result.
func Example() {
	e, err := engine.New(engine.Config{Backend: "cpu"}) // or "vulkan", "opengl", "auto"
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	// Weights: int8, per-tensor scale 0.5 (quantized once on the host).
	w, err := qtensor.QuantizeFloat32([]float32{1, -1, 0.5, 2, 0, 1}, []int{3, 2}, qtensor.Int8, qtensor.TensorParams(0.5, 0), qtensor.RoundONNX)
	if err != nil {
		log.Fatal(err)
	}
	wd, err := e.Upload(w) // upload once, use many times
	if err != nil {
		log.Fatal(err)
	}
	x, err := e.UploadFloat32([]int{2, 3}, []float32{1, 2, 3, -1, 0.5, 4})
	if err != nil {
		log.Fatal(err)
	}

	var y, yf *engine.Tensor
	err = e.Do(context.Background(), func(b *engine.Batch) error {
		xq, err := b.Quantize(x, qtensor.Uint8, qtensor.TensorParams(0.05, 128), qtensor.RoundONNX)
		if err != nil {
			return err
		}
		y, err = b.Gemm(xq, wd, engine.GemmOptions{Output: engine.OutQuantized, YType: qtensor.Uint8, YScale: 0.1, YZP: 100})
		if err != nil {
			return err
		}
		yf, err = b.Dequantize(y)
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	q, _ := e.Download(y)
	f, _ := e.DownloadFloat32(yf)
	fmt.Println("y (uint8):", q.Int32s())
	fmt.Println("y (real): ", f)

	// x·w = [[2, 6], [-0.75, 6]]; at scale 0.1, zero point 100:
	// 2/0.1 = 20 -> 120, 60 -> 160, -7.5 -> -8 (ties to even) -> 92.

	// Output:
	// y (uint8): [120 160 92 160]
	// y (real):  [2 6 -0.8 6]
}
