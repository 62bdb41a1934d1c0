package nbits

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkKernels times the kernels alone on one thread, GEMV (M = 1) and
// M = 4, with weights that fit in L2 (N = 128) and that do not (N =
// 4096), K = 4096, block 32, uniform zero points; ns/chunk is the time per
// 32 values of 16 columns and one row tile.
func BenchmarkKernels(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, N := range []int{128, 4096} {
		for _, M := range []int{1, 4} {
			for _, int8Mode := range []bool{false, true} {
				const K = 4096
				w, _ := randWeights(r, N, K, 32, false, true)
				w.Panels = Pack(w)
				a := randActs(r, M, K, false)
				y := make([]float32, M*N)
				var p *Int8Acts
				if int8Mode {
					p = PrepareInt8(a, M, w)
				}
				b.Run(fmt.Sprintf("N%d/M%d/int8=%v", N, M, int8Mode), func(b *testing.B) {
					for b.Loop() {
						if int8Mode {
							Int8(y, N, p, w, 0, N)
						} else {
							Float(y, N, PrepareFloat(a, M, w), w, 0, N)
						}
					}
					chunks := float64(N/16) * K / 32 * float64((M+3)/4)
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/chunks, "ns/chunk")
				})
			}
		}
	}
}
