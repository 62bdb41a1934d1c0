package calib_test

import (
	"context"
	"fmt"
	"os"

	"github.com/qgpu/qgpu/calib"
)

// Observe two batches with two observers - the running min and max, and
// PyTorch's HistogramObserver reproduced bit for bit - derive uint8 affine
// parameters with PyTorch's rules, and measure the round trip. torch 1.13
// gives the same scales and zero points on these batches (MinMaxObserver
// 0.0117647061 and 85; HistogramObserver, with the 2.x range fix,
// 0.0117607862 and 85), and torch.quantize_per_tensor round trips with them
// the same SQNR (49.2578 and 49.4141 dB).
func Example() {
	ctx := context.Background()
	batches := [][]float32{{-1, -0.5, 0, 0.25}, {0.5, 1, 2}}
	observers := []calib.Observer{&calib.MinMaxObserver{}, &calib.TorchHistogramObserver{}}
	var all []float32
	for _, b := range batches {
		for _, o := range observers {
			if err := o.Observe(ctx, b, nil); err != nil {
				fmt.Println(err)
				return
			}
		}
		all = append(all, b...)
	}
	for i, o := range observers {
		p, err := o.Params(calib.Uint8Affine)
		if err != nil {
			fmt.Println(err)
			return
		}
		sqnr, err := calib.SQNR(all, []int{len(all)}, p, calib.Uint8Affine)
		if err != nil {
			fmt.Println(err)
			return
		}
		name := []string{"minmax", "torch-histogram"}[i]
		fmt.Printf("%s: scale %.9g zero point %d SQNR %.2f dB\n", name, p.Scales[0], p.ZeroPoints[0], sqnr)
	}

	rep, _ := calib.Calibrate("x", "minmax", observers[0].(calib.RangeObserver), calib.Uint8Affine, all)
	_ = calib.WriteTable(os.Stdout, []calib.Report{rep})
	// Output:
	// minmax: scale 0.0117647061 zero point 85 SQNR 49.26 dB
	// torch-histogram: scale 0.0117607862 zero point 85 SQNR 49.41 dB
	//   tensor  method        target  min  max      scale  zp  SQNR dB  NaN  +Inf  -Inf
	//        x  minmax  uint8/affine   -1    2  0.0117647  85    49.26    0     0     0
}

// The int32 bias of a quantized Linear layer whose weights are quantized
// per output channel, with ONNX Runtime's rule (the bias scale is the
// float32 product, here 0.02 * 0.001 = 2.0000001e-05).
func ExampleQuantizeBias() {
	bias := []float32{0.5, -0.25, 0.0013}
	q, scales, err := calib.QuantizeBias(bias, 0.02, []float32{0.01, 0.005, 0.001})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(q, scales)
	// Output: [2500 -2500 65] [0.0002 0.0001 2.0000001e-05]
}

// A misspelt method name gets the nearest one.
func ExampleParseMethod() {
	m, _ := calib.ParseMethod("Entropy") // ONNX Runtime's name for kl
	fmt.Println(m, m.Info().Search)
	_, err := calib.ParseMethod("histgram")
	fmt.Println(err)
	// Output:
	// kl true
	// unknown calibration method "histgram" (did you mean histogram (= l2)?); want one of minmax, moving-average, torch-histogram, percentile, l2-greedy, l2, l1, kl
}
