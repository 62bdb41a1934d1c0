package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// TestHistogramAlignedMatchesFormula checks the branchless aligned
// histogram against qtensor.HistBinAligned on adversarial values: zeros of
// both signs, denormals, values on and next to bin edges, huge values,
// infinities and NaNs, for grid exponents from -126 to 126.
func TestHistogramAlignedMatchesFormula(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var x []float32
	for _, v := range []float32{0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 1e-40, -1e-40,
		1, -1, 2, -2, 0.5, -0.5, 3.75, -3.75, math.MaxFloat32, -math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), math.Float32frombits(0xffc00001)} {
		x = append(x, v, math.Nextafter32(v, 0), math.Nextafter32(v, float32(math.Inf(1))))
	}
	for range 5000 {
		x = append(x, math.Float32frombits(r.Uint32()), float32(r.NormFloat64()*100), float32(r.IntN(64)-32)/4)
	}
	for _, exp := range []int{-126, -60, -3, -2, 0, 1, 5, 60, 126} {
		s := qtensor.HistScalePow2(exp)
		for _, start := range []int64{-1 << 61, -40, -3, 0, 7, 1<<61 - 8} { // the engine accepts |start| <= 2^61
			const bins = 16
			got := make([]uint32, bins+3)
			histogramAligned(got, x, s, start)
			want := make([]uint32, bins+3)
			for _, v := range x {
				j, ok := qtensor.HistBinAligned(v, s)
				switch {
				case !ok:
					want[bins+2]++
				case j < start:
					want[bins]++
				case j-start >= bins:
					want[bins+1]++
				default:
					want[j-start]++
				}
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("exp %d start %d: slot %d = %d, want %d", exp, start, i, got[i], want[i])
				}
			}
		}
	}
}
