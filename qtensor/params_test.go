package qtensor

import (
	"math"
	"testing"
)

// TestNumPairsHugeBlock: a block size near MaxInt is one block per axis
// run (it once overflowed to a negative pair count).
func TestNumPairsHugeBlock(t *testing.T) {
	p := Params{Granularity: PerBlock, Axis: 1, BlockSize: math.MaxInt}
	n, err := p.NumPairs([]int{3, 5})
	if err != nil || n != 3 {
		t.Fatalf("NumPairs = %d, %v; want 3 blocks (one per row)", n, err)
	}
	p.Scales, p.ZeroPoints = []float32{1, 2, 3}, []int32{0, 0, 0}
	if err := p.Validate(Int8, []int{3, 5}); err != nil {
		t.Fatal(err)
	}
	ix := p.Indexer([]int{3, 5})
	for i, want := range []int{0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2} {
		if got := ix.Pair(i); got != want {
			t.Errorf("Pair(%d) = %d, want %d", i, got, want)
		}
	}
}
