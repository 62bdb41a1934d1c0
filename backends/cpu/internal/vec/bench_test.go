package vec

import (
	"math/rand/v2"
	"testing"
)

// Benchmark sizes: 16M elements for the elementwise kernels (5 bytes read
// plus written per element, 80 MiB), 64M floats for the reductions (4 bytes
// read per element, 256 MiB). BenchmarkCopy moves the same traffic (half
// of it read, half written) so the GB/s columns compare directly.
const (
	benchElems = 16 << 20
	benchRed   = 64 << 20
)

// benchISAs runs f as one sub-benchmark per supported implementation.
func benchISAs(b *testing.B, f func(b *testing.B)) {
	for _, impl := range isas() {
		b.Run(impl.String(), func(b *testing.B) {
			restore, err := SetISA(impl)
			if err != nil {
				b.Fatal(err)
			}
			defer restore()
			f(b)
		})
	}
}

func benchFloats(n int, scale float32) []float32 {
	rng := rand.New(rand.NewPCG(42, 43))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64()) * scale
	}
	return x
}

func BenchmarkCopy(b *testing.B) {
	for _, c := range []struct {
		name    string
		traffic int
	}{{"80MiB", 5 * benchElems}, {"256MiB", 4 * benchRed}} {
		b.Run(c.name, func(b *testing.B) {
			src := make([]byte, c.traffic/2)
			dst := make([]byte, c.traffic/2)
			for i := range src {
				src[i] = byte(i)
			}
			b.SetBytes(int64(c.traffic))
			for b.Loop() {
				copy(dst, src)
			}
		})
	}
}

func BenchmarkQuantize(b *testing.B) {
	src := benchFloats(benchElems, 30)
	dst := make([]byte, benchElems)
	benchISAs(b, func(b *testing.B) {
		b.SetBytes(5 * benchElems)
		for b.Loop() {
			QuantizePerTensor(dst, src, 0.25, 3, -128, 127, StreamQuantize(benchElems))
		}
	})
}

func BenchmarkDequantize(b *testing.B) {
	src := make([]byte, benchElems)
	for i := range src {
		src[i] = byte(i * 7)
	}
	dst := make([]float32, benchElems)
	benchISAs(b, func(b *testing.B) {
		b.SetBytes(5 * benchElems)
		for b.Loop() {
			DequantizePerTensor(dst, src, true, 0.25, 3, StreamDequantize(benchElems))
		}
	})
}

func BenchmarkRequantize(b *testing.B) {
	rng := rand.New(rand.NewPCG(44, 45))
	src := make([]int32, benchElems)
	for i := range src {
		src[i] = int32(rng.IntN(1<<16)) - 1<<15
	}
	dst := make([]byte, benchElems)
	benchISAs(b, func(b *testing.B) {
		b.SetBytes(5 * benchElems)
		for b.Loop() {
			RequantizeInt32(dst, src, 0x1p-8, 0, -128, 127)
		}
	})
}

func BenchmarkMinMax(b *testing.B) {
	src := benchFloats(benchRed, 1)
	benchISAs(b, func(b *testing.B) {
		b.SetBytes(4 * benchRed)
		for b.Loop() {
			MinMax(src)
		}
	})
}

// BenchmarkHistogram counts 2048 bins over [-4, 4] of normal data (spread
// over many bins) and of ReLU'd normal data (half the values in one bin).
func BenchmarkHistogram(b *testing.B) {
	benchHistogram(b, func(counts []uint32, x []float32) { Histogram(counts, x, -4, 4) })
}

// BenchmarkHistogramAligned counts the 2048 bins of width 2^-8 over
// [-4, 4) (the grid calibration picks for this data) of normal and of
// ReLU'd normal data, as BenchmarkHistogram.
func BenchmarkHistogramAligned(b *testing.B) {
	benchHistogram(b, func(counts []uint32, x []float32) { HistogramAligned(counts, x, 256, -1024) })
}

// benchHistogram runs hist into 2048+3 counters on normal and ReLU'd
// normal data under each ISA.
func benchHistogram(b *testing.B, hist func(counts []uint32, x []float32)) {
	norm := benchFloats(benchRed, 1)
	relu := make([]float32, benchRed)
	for i, x := range norm {
		relu[i] = max(x, 0)
	}
	counts := make([]uint32, 2048+3)
	for _, d := range []struct {
		name string
		x    []float32
	}{{"normal", norm}, {"relu", relu}} {
		b.Run(d.name, func(b *testing.B) {
			benchISAs(b, func(b *testing.B) {
				b.SetBytes(4 * benchRed)
				for b.Loop() {
					hist(counts, d.x)
				}
			})
		})
	}
}
