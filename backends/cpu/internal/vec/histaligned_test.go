package vec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// wantAligned is HistogramAligned computed from qtensor.HistBinAligned, one
// value at a time, added to counts.
func wantAligned(counts []uint32, x []float32, s float32, start int64) {
	bins := int64(len(counts) - 3)
	for _, v := range x {
		j, ok := qtensor.HistBinAligned(v, s)
		switch {
		case !ok:
			counts[bins+2]++
		case j < start:
			counts[bins]++
		case j-start >= bins:
			counts[bins+1]++
		default:
			counts[j-start]++
		}
	}
}

// TestHistogramAligned checks the aligned histogram against
// qtensor.HistBinAligned on adversarial values: zeros of both signs,
// denormals, values on and next to bin edges, huge values, infinities and
// NaNs, for grid exponents from -126 to 126, windows at both ends of the
// accepted start range, every tail length, and data that takes the
// sub-histogram path (runs of one value).
func TestHistogramAligned(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var pool []float32
	for _, v := range []float32{0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 1e-40, -1e-40,
		1, -1, 2, -2, 0.5, -0.5, 3.75, -3.75, math.MaxFloat32, -math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), math.Float32frombits(0xffc00001), 1 << 62, -1 << 62, 1 << 63, -1 << 63, 1 << 61, -1 << 61, 1 << 24, -1 << 24, 1<<24 - 17, -1<<24 + 3} {
		pool = append(pool, v, math.Nextafter32(v, 0), math.Nextafter32(v, float32(math.Inf(1))))
	}
	for range 2000 {
		pool = append(pool, math.Float32frombits(r.Uint32()), float32(r.NormFloat64()*100), float32(r.IntN(64)-32)/4)
	}
	forEachISA(t, func(t *testing.T) {
		for _, exp := range []int{-126, -60, -3, -2, 0, 1, 5, 60, 126} {
			s := qtensor.HistScalePow2(exp)
			// the engine accepts |start| <= 2^61; the 32-bit kernel takes windows
			// with start-1 >= -2^24 and start+bins+1 <= 2^24
			for _, start := range []int64{-1 << 61, -1<<24 + 1, -1 << 24, -40, -3, 0, 7, 1<<24 - 18, 1<<24 - 17, 1<<61 - 8, 1 << 61} {
				for _, bins := range []int{1, 16, 2048} {
					for _, n := range append(lengths, len(pool)) {
						x := pool[len(pool)-n:]
						if n > 0 && n < len(pool) && r.IntN(2) == 0 {
							x = make([]float32, n)
							for i := range x {
								x[i] = pool[r.IntN(len(pool))]
							}
						}
						got, check := guarded[uint32](bins+3, 77)
						want := make([]uint32, bins+3)
						for i := range got {
							got[i], want[i] = uint32(3*i), uint32(3*i) // it adds
						}
						HistogramAligned(got, x, s, start)
						check(t)
						wantAligned(want, x, s, start)
						for i := range got {
							if got[i] != want[i] {
								t.Fatalf("exp %d start %d bins %d n %d: slot %d = %d, want %d", exp, start, bins, n, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	})
}

// TestHistogramAlignedByHand checks counts worked out by hand on the grid
// of bin width 1/2 (exp -1), window of 4 bins from grid index -2: bins
// [-1, -0.5), [-0.5, 0), [0, 0.5), [0.5, 1) for values >= 0 and the
// right-closed (j/2, (j+1)/2] for negative values.
func TestHistogramAlignedByHand(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		negz := float32(math.Copysign(0, -1))
		src := []float32{-1, -0.75, -0.5, -0.25, negz, 0, 0.25, 0.5, 0.99, 1, -1.01, float32(math.NaN()), float32(math.Inf(-1)), float32(math.Inf(1)),
			0, 0, 0, 0} // 18 values: the vector path plus a tail of 2
		counts := make([]uint32, 4+3)
		HistogramAligned(counts, src, qtensor.HistScalePow2(-1), -2)
		// -1: index -3 (interval (-1.5, -1]) -> below; -0.75 -> -2; -0.5 -> -2
		// (right-closed); -0.25 -> -1; -0, 0 and four 0s -> 0; 0.25 -> 0;
		// 0.5, 0.99 -> 1; 1 -> 2 -> above; -1.01, -Inf -> below; +Inf above.
		want := []uint32{2, 1, 7, 2, 3, 2, 1}
		for i := range want {
			if counts[i] != want[i] {
				t.Fatalf("counts %v, want %v", counts, want)
			}
		}
	})
}

// TestHistogramAlignedSubHistograms drives the interleaved sub-histogram
// paths (four sub-histograms for 4 bins, two for 2048) with runs of a few
// values that every lane hits.
func TestHistogramAlignedSubHistograms(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		for _, bins := range []int{4, 2048} {
			for _, n := range []int{4096, 4099, 100000} {
				src := make([]float32, n)
				for i := range src {
					src[i] = float32(i%7) - 3
				}
				counts := make([]uint32, bins+3)
				HistogramAligned(counts, src, qtensor.HistScalePow2(0), -1)
				want := make([]uint32, bins+3)
				wantAligned(want, src, 1, -1)
				for i := range want {
					if counts[i] != want[i] {
						t.Fatalf("bins %d n %d: counts %v, want %v", bins, n, counts[:8], want[:8])
					}
				}
			}
		}
	})
}
