package cpu_test

import (
	"context"
	"fmt"

	"github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// ExamplePackWeights packs a 2x3 int8 weight matrix once and multiplies
// it by a 2x2 uint8 activation twice: to int32 accumulators with a bias,
// and to float32.
//
// By hand: A - zp(A) = [[1 2] [3 4]] and W = [[1 2 3] [4 5 6]], so
//
//	A x W = [[1+8 2+10 3+12] [3+16 6+20 9+24]] = [[9 12 15] [19 26 33]]
//
// plus the bias [100 0 -100] gives [[109 12 -85] [119 26 -67]]; the float
// output scales A x W by 0.25 * 0.5 = 0.125: [[1.125 1.5 1.875] [2.375 3.25
// 4.125]].
func ExamplePackWeights() {
	w := &qtensor.Tensor{DType: qtensor.Int8, Shape: []int{2, 3}, Params: qtensor.TensorParams(0.5, 0),
		Data: []byte{1, 2, 3, 4, 5, 6}} // [K=2][N=3]
	p, err := cpu.PackWeights(w, false)
	if err != nil {
		panic(err)
	}
	a := &qtensor.Tensor{DType: qtensor.Uint8, Shape: []int{2, 2}, Params: qtensor.TensorParams(0.25, 10),
		Data: []byte{11, 12, 13, 14}} // [M=2][K=2]
	ctx := context.Background()
	acc, err := p.MatMul(ctx, a, engine.GemmOptions{Bias: []int32{100, 0, -100}}, 1)
	if err != nil {
		panic(err)
	}
	fmt.Println(acc.Shape, acc.Int32s())
	y, err := p.MatMul(ctx, a, engine.GemmOptions{Output: engine.OutFloat32}, 0)
	if err != nil {
		panic(err)
	}
	fmt.Println(y.Shape, y.Float32s())
	// Output:
	// [2 3] [109 12 -85 119 26 -67]
	// [2 3] [1.125 1.5 1.875 2.375 3.25 4.125]
}
