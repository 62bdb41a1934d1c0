package calib_test

import (
	"context"
	"fmt"
	"os"

	"github.com/qgpu/qgpu/calib"
)

// Observe two batches, derive uint8 affine parameters with PyTorch's rules,
// and measure the round trip. (torch 1.13's MinMaxObserver gives the same
// scale and zero point on these batches, and the same SQNR, 49.258 dB.)
func Example() {
	ctx := context.Background()
	batches := [][]float32{{-1, -0.5, 0, 0.25}, {0.5, 1, 2}}
	var o calib.MinMaxObserver
	var all []float32
	for _, b := range batches {
		if err := o.Observe(ctx, b, nil); err != nil {
			fmt.Println(err)
			return
		}
		all = append(all, b...)
	}
	p, err := calib.TensorParams(&o, calib.Uint8Affine)
	if err != nil {
		fmt.Println(err)
		return
	}
	sqnr, err := calib.SQNRTensor(all, p.Scales[0], p.ZeroPoints[0], calib.Uint8Affine)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("scale %.9g zero point %d SQNR %.2f dB\n", p.Scales[0], p.ZeroPoints[0], sqnr)

	rep, _ := calib.Calibrate("x", "minmax", &o, calib.Uint8Affine, all)
	_ = calib.WriteTable(os.Stdout, []calib.Report{rep})
	// Output:
	// scale 0.0117647061 zero point 85 SQNR 49.26 dB
	//   tensor  method        target  min  max      scale  zp  SQNR dB  NaN  +Inf  -Inf
	//        x  minmax  uint8/affine   -1    2  0.0117647  85    49.26    0     0     0
}
