package vulkan

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
)

// BenchmarkGemmVariants times a 512^3 u8 x s8 GEMM (int32 and u8 outputs)
// through each GEMM variant the device can run, forced, in one process so
// the ratios compare like with like:
//
//	go test -run '^$' -bench GemmVariants ./backends/vulkan/
func BenchmarkGemmVariants(b *testing.B) {
	const n = 512
	for _, v := range []string{"gemm", "gemm_tiled", "gemm_int8", "gemm_dot"} {
		be, err := open(engine.Options{}, config{forceGemm: v, skipSelfTest: true})
		if err != nil {
			continue // the device lacks the variant's features
		}
		be.Close()
		name := "vulkan-bench-" + v
		backend.Register(name, 0, func(o engine.Options) (backend.Backend, error) {
			return open(o, config{forceGemm: v})
		})
		for _, out := range []string{"i32", "u8"} {
			b.Run(fmt.Sprintf("%s/%s/%d", v, out, n), func(b *testing.B) {
				e, err := engine.New(engine.Config{Backend: name})
				skipUnavailable(b, err)
				defer e.Close()
				r := rand.New(rand.NewPCG(1, 2))
				a, err := e.Upload(randQ(r, qtensor.Uint8, []int{n, n}, 128))
				if err != nil {
					b.Fatal(err)
				}
				defer a.Release()
				w, err := e.Upload(randQ(r, qtensor.Int8, []int{n, n}, 0))
				if err != nil {
					b.Fatal(err)
				}
				defer w.Release()
				o := engine.GemmOptions{}
				if out == "u8" {
					o.OutputOptions = engine.OutputOptions{Output: engine.OutQuantized, YType: qtensor.Uint8, YScale: 40, YZP: 128}
				}
				bt := e.NewBatch()
				y, err := bt.Gemm(a, w, o)
				if err != nil {
					b.Fatal(err)
				}
				defer y.Release()
				runTimedBench(b, bt)
			})
		}
	}
}
