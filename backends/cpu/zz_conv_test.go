package cpu_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/backends/cpu/internal/gemm"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

func BenchmarkZZConv(b *testing.B) {
	for _, isa := range []cpu.ISA{gemm.AVX512VNNI, gemm.AVX2} {
		restore, err := cpu.SetISA(isa)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range [][4]int{{64, 56, 3, 1}, {256, 14, 1, 1}, {128, 28, 3, 1}, {3, 224, 7, 2}} {
			C, H, KH, st := s[0], s[1], s[2], s[3]
			eng, _ := engine.New(engine.Config{Backend: "cpu", Options: engine.Options{Threads: 1}})
			x, _ := eng.Upload(&qtensor.Tensor{DType: qtensor.Uint8, Shape: []int{1, C, H, H}, Params: qtensor.TensorParams(0.02, 128), Data: make([]byte, C*H*H)})
			O := 64
			w, _ := eng.Upload(&qtensor.Tensor{DType: qtensor.Int8, Shape: []int{O, C, KH, KH}, Params: qtensor.TensorParams(0.01, 0), Data: make([]byte, O*C*KH*KH)})
			bt := eng.NewBatch()
			p := KH / 2
			_, err := bt.Conv(x, w, engine.ConvOptions{Pads: []int{p, p, p, p}, Strides: []int{st, st}, OutputOptions: engine.OutputOptions{Output: engine.OutQuantized, YType: qtensor.Uint8, YScale: 0.5, YZP: 128}})
			if err != nil {
				b.Fatal(err)
			}
			b.Run(isa.String()+"/"+fmt.Sprint(s), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					bt.RunTimed(context.Background())
				}
			})
			eng.Close()
		}
		restore()
	}
}
