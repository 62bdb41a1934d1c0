package engine_test

import (
	"context"
	"fmt"
	"log"

	_ "github.com/qgpu/qgpu/backends/cpu" // link the CPU backend
	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// ExampleEngine_Observe calibrates the output of a quantized linear layer
// that runs on the engine: the weight is PyTorch's [out][in] layout
// (GemmOptions.TransposeB), quantized per output channel; the layer runs
// with a float32 output over calibration batches, which Engine.Observe
// feeds to a min/max observer; the observer's uint8 parameters then
// quantize the output of the same layer.
func ExampleEngine_Observe() {
	ctx := context.Background()
	e, err := engine.New(engine.Config{Backend: "cpu"}) // or "vulkan", "opengl", "auto"
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	// Linear(3, 2): weight [2][3], bias [2]; int8 symmetric per channel.
	weight := []float32{0.5, -1, 0.25, 2, 0.5, -0.5}
	bias := []float32{0.1, -0.2}
	wo := &calib.PerChannelMinMaxObserver{Axis: 0}
	if err := wo.Observe(ctx, weight, []int{2, 3}); err != nil {
		log.Fatal(err)
	}
	wp, err := wo.Params(calib.Int8Symmetric)
	if err != nil {
		log.Fatal(err)
	}
	wq, err := qtensor.QuantizeFloat32(weight, []int{2, 3}, qtensor.Int8, wp, qtensor.RoundONNX)
	if err != nil {
		log.Fatal(err)
	}
	w, err := e.Upload(wq)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Release()
	xp := qtensor.TensorParams(0.02, 128) // the activations' uint8 params

	// linear quantizes a batch of activations and runs the layer with the
	// output options o.
	linear := func(x []float32, o engine.GemmOptions) (*engine.Tensor, error) {
		xd, err := e.UploadFloat32([]int{len(x) / 3, 3}, x)
		if err != nil {
			return nil, err
		}
		defer xd.Release()
		var xq, y *engine.Tensor
		err = e.Do(ctx, func(b *engine.Batch) error {
			if xq, err = b.Quantize(xd, qtensor.Uint8, xp, qtensor.RoundONNX); err != nil {
				return err
			}
			o.TransposeB = true
			y, err = b.Gemm(xq, w, o)
			return err
		})
		if xq != nil {
			xq.Release()
		}
		return y, err
	}

	// Calibration: observe the float32 output of every batch.
	yo := &calib.MinMaxObserver{Reducer: e.Reducer()}
	for _, x := range [][]float32{{1, 0.5, -1, 0.2, 0.4, 0.6}, {-0.5, 1.5, 0.3, 2, -2, 1}} {
		y, err := linear(x, engine.GemmOptions{Output: engine.OutFloat32, FloatBias: bias})
		if err != nil {
			log.Fatal(err)
		}
		if err := e.Observe(ctx, yo, y); err != nil {
			log.Fatal(err)
		}
		f, _ := e.DownloadFloat32(y)
		fmt.Printf("float output %.4f\n", f)
		y.Release()
	}
	yp, err := yo.Params(calib.Uint8Affine)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("output scale %.6f, zero point %d\n", yp.Scales[0], yp.ZeroPoints[0])

	// Inference: the same layer with a uint8 output and the int32 bias.
	qb, _, err := calib.QuantizeBias(bias, xp.Scales[0], wp.Scales)
	if err != nil {
		log.Fatal(err)
	}
	y, err := linear([]float32{1, 0.5, -1, 0.2, 0.4, 0.6}, engine.GemmOptions{Output: engine.OutQuantized, Bias: qb,
		YType: qtensor.Uint8, YScale: yp.Scales[0], YZP: yp.ZeroPoints[0]})
	if err != nil {
		log.Fatal(err)
	}
	defer y.Release()
	q, _ := e.Download(y)
	fmt.Println("uint8 output", q.Int32s())

	// torch 1.13's PerChannelMinMaxObserver (per_channel_symmetric, qint8)
	// and MinMaxObserver (quint8) on the same data, with the products and
	// roundings of docs/semantics.md in numpy float32, give the same
	// outputs, scale, zero point and uint8 values.

	// Output:
	// float output [-0.1471 2.5451 -0.0475 0.0980]
	// float output [-1.5698 -0.5937 3.3471 2.2784]
	// output scale 0.019282, zero point 81
	// uint8 output [73 213 79 86]
}
