package dwconv

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
)

// BenchmarkPlane times one 3x3 plane per operation (MobileNet-like sizes),
// reporting GOPS (2 * OH * OW * 9 per plane) per implementation.
func BenchmarkPlane(b *testing.B) {
	for _, s := range []struct{ h, w, stride int }{{112, 112, 1}, {56, 56, 1}, {14, 14, 1}, {14, 14, 2}, {112, 112, 2}} {
		for _, quant := range []bool{false, true} {
			for _, impl := range []isa.ISA{isa.Generic, isa.AVX2, isa.AVX512} {
				if !Supported(impl) {
					continue
				}
				name := fmt.Sprintf("%dx%d/stride=%d/quant=%v/%v", s.h, s.w, s.stride, quant, impl)
				b.Run(name, func(b *testing.B) {
					restore, _ := SetISA(impl)
					defer restore()
					rng := rand.New(rand.NewPCG(1, 1))
					c := &conv{h: s.h, w: s.w, kh: 3, kw: 3, sh: s.stride, sw: s.stride, dh: 1, dw: 1,
						pt: 1, pl: 1, pb: 1, pr: 1, xzp: 3, wzp: 1}
					c.x = make([]byte, s.h*s.w)
					for i := range c.x {
						c.x[i] = byte(rng.Uint32())
					}
					c.wt = []int32{1, -2, 3, -4, 5, -6, 7, -8, 9}
					p := c.plane(1)
					acc := make([]int32, p.OH*p.OW)
					q := make([]byte, p.OH*p.OW)
					b.ResetTimer()
					for b.Loop() {
						if quant {
							p.Requantize(q, 0.01, 3, 0, 255)
						} else {
							p.Int32(acc)
						}
					}
					b.ReportMetric(float64(2*9*p.OH*p.OW)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOPS")
				})
			}
		}
	}
}
