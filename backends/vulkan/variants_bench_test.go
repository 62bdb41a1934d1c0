package vulkan

import (
	"fmt"
	"testing"

	"github.com/qgpu/qgpu/backends/internal/gpu/gputest"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// BenchmarkGemmVariants times a 512^3 u8 x s8 GEMM (int32 and u8 outputs)
// through each GEMM variant the device can run, forced, in one process so
// the ratios compare like with like:
//
//	go test -run '^$' -bench GemmVariants ./backends/vulkan/
func BenchmarkGemmVariants(b *testing.B) {
	const n = 512
	for _, name := range []string{"vulkan-gemmbase-test", "vulkan-gemmtiled-test", "vulkan-gemmint8-test", "vulkan-gemmdot-test"} {
		for _, out := range []string{"i32", "u8"} {
			b.Run(fmt.Sprintf("%s/%s/%d", forced[name].forceGemm, out, n), func(b *testing.B) {
				e, err := engine.New(engine.Config{Backend: name})
				if err != nil {
					b.Skip(err) // the device lacks the variant's features
				}
				defer e.Close()
				o := engine.GemmOptions{}
				if out == "u8" {
					o = engine.GemmOptions{Output: engine.OutQuantized, YType: qtensor.Uint8, YScale: 40, YZP: 128}
				}
				gputest.RunTimed(b, gputest.GemmBatch(b, e, n, o))
			})
		}
	}
}
