package qtensor_test

import (
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/qgpu/qgpu/qtensor"
)

// Quantize a [3,4] float32 matrix to int8 with one symmetric scale per row
// (max |x| / 127), save it atomically, load it back and measure the
// dequantization error.
func Example() {
	shape := []int{3, 4}
	x := []float32{
		0.5, -1.0, 0.25, 0.75,
		10, -3, 7.5, 2,
		0.01, 0.02, -0.03, 0.005,
	}
	scales := make([]float32, shape[0])
	for r := range scales {
		var m float32
		for _, v := range x[r*shape[1] : (r+1)*shape[1]] {
			m = max(m, float32(math.Abs(float64(v))))
		}
		scales[r] = m / 127
	}
	p := qtensor.AxisParams(0, scales, make([]int32, shape[0]))
	q, err := qtensor.QuantizeFloat32(x, shape, qtensor.Int8, p, qtensor.RoundONNX)
	if err != nil {
		log.Fatal(err)
	}
	q.Name = "weights"

	dir, err := os.MkdirTemp("", "qtensor-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "weights.qt")
	if err := qtensor.Save(path, q); err != nil {
		log.Fatal(err)
	}
	loaded, err := qtensor.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	y, err := loaded.DequantizeFloat32()
	if err != nil {
		log.Fatal(err)
	}
	var maxErr float64
	for i := range x {
		maxErr = max(maxErr, math.Abs(float64(y[i]-x[i])))
	}
	fmt.Println(loaded.Name, loaded.DType, loaded.Shape, loaded.Equal(q))
	fmt.Println(loaded.Int32s())
	fmt.Printf("max abs error %.6f\n", maxErr)
	// Output:
	// weights int8 [3 4] true
	// [64 -127 32 95 127 -38 95 25 42 85 -127 21]
	// max abs error 0.031496
}
