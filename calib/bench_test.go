package calib

import (
	"context"
	"testing"
)

const bench64M = 64 << 20

var benchData []float32

func data64M() []float32 {
	if benchData == nil {
		benchData = genData(31, bench64M, "normal")
	}
	return benchData
}

// BenchmarkHistogram64M observes 64M floats into a fresh 2048-bin
// histogram on the host reducer (one min/max pass and one counting pass).
// The copy sub-benchmark copies the same bytes for scale.
func BenchmarkHistogram64M(b *testing.B) {
	x := data64M()
	b.Run("observe", func(b *testing.B) {
		b.SetBytes(int64(len(x)) * 4)
		for b.Loop() {
			h, _ := NewHistogram(0, nil)
			if err := h.Observe(context.Background(), x); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("observe-1worker", func(b *testing.B) {
		b.SetBytes(int64(len(x)) * 4)
		for b.Loop() {
			h, _ := NewHistogram(0, HostReducer{Workers: 1})
			if err := h.Observe(context.Background(), x); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("copy", func(b *testing.B) {
		dst := make([]float32, len(x))
		b.SetBytes(int64(len(x)) * 4)
		for b.Loop() {
			copy(dst, x)
		}
	})
}

func benchView(b *testing.B, kind string) *hview {
	b.Helper()
	h, _ := NewHistogram(2048, nil)
	if err := h.Observe(context.Background(), genData(32, 1<<20, kind)); err != nil {
		b.Fatal(err)
	}
	return newHView(h)
}

func BenchmarkKL2048(b *testing.B) {
	v := benchView(b, "t3")
	for _, sym := range []bool{true, false} {
		name := "affine"
		if sym {
			name = "symmetric"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				v.kl(256, sym)
			}
		})
	}
}

func BenchmarkL2Greedy2048(b *testing.B) {
	for _, kind := range []string{"t3", "normal", "wide"} {
		v := benchView(b, kind)
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				v.greedyL2(256)
			}
		})
	}
}

func BenchmarkL2Exhaustive2048(b *testing.B) {
	v := benchView(b, "t3")
	for _, sym := range []bool{true, false} {
		name := "affine"
		if sym {
			name = "symmetric"
		}
		q := qgrid{qmin: -128, qmax: 127, sym: sym}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				v.exhaustive(q, false)
			}
		})
	}
}
