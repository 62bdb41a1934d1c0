package models_test

import (
	"context"
	"slices"
	"testing"

	_ "github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/bench/models"
	"github.com/qgpu/qgpu/engine"
)

// TestModels builds each network on the CPU backend, checks its op count,
// its operation count against the published multiply-add counts (ResNet-50
// v1.5 about 4.1 G, MobileNetV2 about 0.30 G at 224x224), and runs it once
// as one batch and once an op per batch, which must give the same output
// bytes.
func TestModels(t *testing.T) {
	e, err := engine.New(engine.Config{Backend: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := models.Names(); !slices.Equal(got, []string{"mobilenetv2", "resnet50"}) {
		t.Errorf("Names() = %v", got)
	}
	for _, c := range []struct {
		name     string
		ops      int
		macsG    float64 // published multiply-adds, in G
		outClass int
	}{{"resnet50", 88, 4.1, 1000}, {"mobilenetv2", 64, 0.30, 1000}} {
		var out [2][]byte
		for i, split := range []bool{false, true} {
			one := e.NewBatch()
			batches := []*engine.Batch{one}
			next := func() *engine.Batch { return one }
			if split {
				batches = nil
				next = func() *engine.Batch {
					b := e.NewBatch()
					batches = append(batches, b)
					return b
				}
			}
			m, err := models.Build(c.name, e, next)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, b := range batches {
				n += len(b.Ops())
				if err := b.Run(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if n != c.ops {
				t.Errorf("%s: %d ops, want %d", c.name, n, c.ops)
			}
			if macs := m.Ops / 2 / 1e9; macs < 0.95*c.macsG || macs > 1.05*c.macsG {
				t.Errorf("%s: %.3f G multiply-adds, want about %.2f G", c.name, macs, c.macsG)
			}
			last := m.Tensors[len(m.Tensors)-1]
			if s := last.Shape(); !slices.Equal(s, []int{1, c.outClass, 1, 1}) {
				t.Errorf("%s: output shape %v", c.name, s)
			}
			h, err := e.Download(last)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = h.Data
			m.Release()
		}
		if !slices.Equal(out[0], out[1]) {
			t.Errorf("%s: one batch and a batch per op differ", c.name)
		}
	}
	if _, err := models.Build("vgg", e, e.NewBatch); err == nil {
		t.Error("Build(vgg) succeeded")
	}
}
