package cpu_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qgpu/qgpu/bench/models"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
)

// BenchmarkResNet50 times one ResNet-50 inference (package models) on one
// and on two threads, and logs where the time goes per op kind (each op
// recorded in its own batch and timed apart, over 5 inferences after one
// that packs the weights; run with -v to see it).
func BenchmarkResNet50(b *testing.B) { benchModel(b, "resnet50") }

// BenchmarkMobileNetV2 is BenchmarkResNet50 for MobileNetV2; the
// depthwise convolutions are logged apart ("Conv/depthwise").
func BenchmarkMobileNetV2(b *testing.B) { benchModel(b, "mobilenetv2") }

func benchModel(b *testing.B, name string) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("t%d", threads), func(b *testing.B) {
			e, err := engine.New(engine.Config{Backend: "cpu", Threads: threads})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			var batches []*engine.Batch
			m, err := models.Build(name, e, func() *engine.Batch {
				bt := e.NewBatch()
				batches = append(batches, bt)
				return bt
			})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Release()
			infer := func(each func(bt *engine.Batch, d time.Duration)) {
				for _, bt := range batches {
					t0 := time.Now()
					if err := bt.Run(context.Background()); err != nil {
						b.Fatal(err)
					}
					each(bt, time.Since(t0))
				}
			}
			infer(func(*engine.Batch, time.Duration) {}) // packs the weights
			kinds := map[string]time.Duration{}
			var total time.Duration
			for range 5 {
				infer(func(bt *engine.Batch, d time.Duration) {
					op := bt.Ops()[0]
					k := op.Kind().String()
					if c, ok := op.(*backend.Conv); ok && c.Group > 1 && c.Group == c.C {
						k += "/depthwise"
					}
					kinds[k] += d
					total += d
				})
			}
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(kinds)) {
				parts = append(parts, fmt.Sprintf("%s %.1f%%", k, 100*kinds[k].Seconds()/total.Seconds()))
			}
			b.Logf("%d ops, %.2f ms per inference; time per op kind: %s", len(batches), total.Seconds()*1e3/5, strings.Join(parts, ", "))
			b.ResetTimer()
			for b.Loop() {
				infer(func(*engine.Batch, time.Duration) {})
			}
			b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/inference")
			b.ReportMetric(m.Ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOPS")
		})
	}
}
