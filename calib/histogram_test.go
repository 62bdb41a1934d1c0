package calib

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func genData(seed uint64, n int, kind string) []float32 {
	r := rand.New(rand.NewPCG(seed, 99))
	x := make([]float32, n)
	for i := range x {
		switch kind {
		case "normal":
			x[i] = float32(r.NormFloat64())
		case "t3":
			x[i] = float32(studentT(r, 3))
		case "wide":
			x[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(9)-4)))
		case "positive":
			x[i] = float32(1000 + r.Float64())
		case "special":
			switch r.IntN(10) {
			case 0:
				x[i] = float32(math.NaN())
			case 1:
				x[i] = float32(math.Inf(1 - 2*r.IntN(2)))
			case 2:
				x[i] = float32(math.Copysign(0, -1))
			default:
				x[i] = float32(r.NormFloat64() * 1e-3)
			}
		}
	}
	return x
}

// studentT draws from Student's t with df degrees of freedom.
func studentT(r *rand.Rand, df int) float64 {
	z := r.NormFloat64()
	var chi float64
	for range df {
		g := r.NormFloat64()
		chi += g * g
	}
	return z / math.Sqrt(chi/float64(df))
}

// oracleBin is the grid index of x at bin width 2^k from exact float64
// arithmetic: floor(x/2^k) for x >= 0, ceil(x/2^k)-1 for x < 0.
func oracleBin(x float32, k int) int64 {
	v := math.Ldexp(float64(x), -k)
	if x >= 0 {
		return int64(math.Floor(v))
	}
	return int64(math.Ceil(v)) - 1
}

func TestHistogramCountsOracle(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{"normal", "wide", "positive", "special"} {
		x := genData(1, 20000, kind)
		h, _ := NewHistogram(256, nil)
		for i := 0; i < len(x); i += 5000 {
			if err := h.Observe(ctx, x[i:i+5000]); err != nil {
				t.Fatal(err)
			}
		}
		g := h.Grid()
		want := make([]uint64, g.Bins)
		var st RangeStats
		for _, v := range x {
			if isNonFinite(v) {
				continue
			}
			if st.Count == 0 || v < st.Min {
				st.Min = v
			}
			if st.Count == 0 || v > st.Max {
				st.Max = v
			}
			st.Count++
			j := oracleBin(v, g.Exp) - g.Start
			if j < 0 || j >= int64(g.Bins) {
				t.Fatalf("%s: %g falls outside the grid %+v", kind, v, g)
			}
			want[j]++
		}
		got := h.Counts()
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: bin %d has %d, oracle %d", kind, i, got[i], want[i])
			}
		}
		if hs := h.Stats(); hs.Count != st.Count || hs.Min != st.Min+0 || hs.Max != st.Max+0 {
			t.Errorf("%s: stats %+v, want %+v", kind, hs, st)
		}
		// the grid is the finest one that fits: one exponent less does not fit
		if g.Exp > MinExp {
			if oracleBin(st.Max, g.Exp-1)-oracleBin(st.Min, g.Exp-1) < int64(g.Bins) &&
				g.Exp-1 >= int(math.Floor(math.Log2(max(math.Abs(float64(st.Min)), math.Abs(float64(st.Max))))))-magRes {
				t.Errorf("%s: grid exponent %d is not minimal", kind, g.Exp)
			}
		}
	}
}

func buildHist(t *testing.T, bins int, batches ...[]float32) *Histogram {
	t.Helper()
	h, err := NewHistogram(bins, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := h.Observe(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func TestHistogramMergeExact(t *testing.T) {
	for _, kind := range []string{"normal", "t3", "wide", "special", "positive"} {
		x := genData(7, 30000, kind)
		all := buildHist(t, 512, x)
		// sorted data makes shards with very different ranges and grids
		xs := append([]float32(nil), x...)
		slices.SortFunc(xs, func(a, b float32) int { return cmp.Compare(a, b) })
		r := rand.New(rand.NewPCG(3, 4))
		for trial := range 8 {
			// random split into 1..6 shards, each observed in random batches
			ns := 1 + r.IntN(6)
			cuts := []int{0, len(x)}
			for range ns - 1 {
				cuts = append(cuts, r.IntN(len(x)))
			}
			sortInts(cuts)
			var shards []*Histogram
			src := x
			if trial%2 == 1 {
				src = xs
			}
			for i := 0; i+1 < len(cuts); i++ {
				part := src[cuts[i]:cuts[i+1]]
				h, _ := NewHistogram(512, nil)
				for len(part) > 0 {
					k := min(len(part), 1+r.IntN(4000))
					if err := h.Observe(context.Background(), part[:k]); err != nil {
						t.Fatal(err)
					}
					part = part[k:]
				}
				shards = append(shards, h)
			}
			r.Shuffle(len(shards), func(i, j int) { shards[i], shards[j] = shards[j], shards[i] })
			m, _ := NewHistogram(512, nil)
			for _, s := range shards {
				// round-trip through the wire format on the way
				b, _ := s.MarshalBinary()
				var d Histogram
				if err := d.UnmarshalBinary(b); err != nil {
					t.Fatal(err)
				}
				if err := m.Merge(&d); err != nil {
					t.Fatal(err)
				}
			}
			if !m.Equal(all) {
				t.Fatalf("%s trial %d: merged %d shards differ from one pass: %+v vs %+v", kind, trial, len(shards), m.Grid(), all.Grid())
			}
		}
		// the data in another order, one element batches for a prefix
		y := append([]float32(nil), x...)
		rand.New(rand.NewPCG(5, 6)).Shuffle(len(y), func(i, j int) { y[i], y[j] = y[j], y[i] })
		h := buildHist(t, 512)
		for _, v := range y[:300] {
			if err := h.Observe(context.Background(), []float32{v}); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.Observe(context.Background(), y[300:]); err != nil {
			t.Fatal(err)
		}
		if !h.Equal(all) {
			t.Fatalf("%s: shuffled order differs", kind)
		}
	}
	a, b := buildHist(t, 64, []float32{1}), buildHist(t, 128, []float32{1})
	if err := a.Merge(b); err == nil {
		t.Error("merging different bin counts: no error")
	}
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func TestHistogramReducerWorkers(t *testing.T) {
	x := genData(9, 3<<18+17, "special")
	x = append(x, genData(10, 1<<18, "wide")...)
	g := canonicalGrid(-5, 5, 2048)
	ref, err := HostReducer{Workers: 1}.Histogram(context.Background(), x, g)
	if err != nil {
		t.Fatal(err)
	}
	par, err := HostReducer{Workers: 5}.Histogram(context.Background(), x, g)
	if err != nil {
		t.Fatal(err)
	}
	if ref.NaN != par.NaN || ref.Below != par.Below || ref.Above != par.Above {
		t.Fatalf("outside counts differ: %+v %+v", ref, par)
	}
	for i := range ref.Counts {
		if ref.Counts[i] != par.Counts[i] {
			t.Fatalf("bin %d: %d vs %d", i, ref.Counts[i], par.Counts[i])
		}
	}
	m1, _ := HostReducer{Workers: 1}.MinMax(context.Background(), x, 1, len(x))
	m5, _ := HostReducer{Workers: 5}.MinMax(context.Background(), x, 1, len(x))
	if m1[0] != m5[0] {
		t.Fatalf("minmax differs: %+v %+v", m1[0], m5[0])
	}
	var nan int64
	for _, v := range x {
		if v != v {
			nan++
		}
	}
	if ref.NaN != nan || m1[0].NaN != nan {
		t.Fatalf("NaN count %d/%d, want %d", ref.NaN, m1[0].NaN, nan)
	}
}

func TestHistogramMarshal(t *testing.T) {
	empty := buildHist(t, 32)
	nanOnly := buildHist(t, 32, []float32{float32(math.NaN())})
	full := buildHist(t, 32, genData(2, 1000, "special"))
	for _, h := range []*Histogram{empty, nanOnly, full} {
		b, err := h.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var d Histogram
		if err := d.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if !d.Equal(h) {
			t.Fatal("round trip differs")
		}
		b2, _ := d.MarshalBinary()
		if !bytes.Equal(b, b2) {
			t.Fatal("re-encoding differs")
		}
		// every truncation and every single-byte change is rejected
		for i := range b {
			if d.UnmarshalBinary(b[:i]) == nil {
				t.Fatalf("truncation to %d accepted", i)
			}
			c := append([]byte(nil), b...)
			c[i] ^= 0x41
			if err := d.UnmarshalBinary(c); err == nil || !errors.Is(err, ErrFormat) {
				t.Fatalf("flipped byte %d: %v", i, err)
			}
		}
	}
}

func FuzzHistogramUnmarshal(f *testing.F) {
	for _, x := range [][]float32{nil, {1}, {-3, 2, float32(math.NaN())}, genData(3, 200, "wide")} {
		h, _ := NewHistogram(16, nil)
		_ = h.Observe(context.Background(), x)
		b, _ := h.MarshalBinary()
		f.Add(b)
	}
	check := func(t *testing.T, b []byte) {
		var h Histogram
		if err := h.UnmarshalBinary(b); err != nil {
			return
		}
		// an accepted histogram re-encodes identically and merges like the canonical state
		b2, err := h.MarshalBinary()
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("accepted input does not re-encode identically")
		}
		o, _ := NewHistogram(h.Bins(), nil)
		if err := o.Merge(&h); err != nil || !o.Equal(&h) {
			t.Fatalf("merge into empty: %v", err)
		}
		if h.Stats().Count > 0 {
			for _, m := range []Method{MethodPercentile, MethodL2Greedy, MethodKL} {
				if _, _, err := h.SearchRange(m, 0, Uint8Affine); err != nil {
					t.Fatalf("%v: %v", m, err)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		check(t, b)
		// and with a valid checksum, so the structural checks are reached
		if len(b) >= histHeader+4 {
			c := append([]byte(nil), b...)
			n := len(c) - 4
			binary.LittleEndian.PutUint32(c[n:], crc32.Checksum(c[:n], castagnoli))
			check(t, c)
		}
	})
}

func TestHistFastMatchesReference(t *testing.T) {
	x := genData(41, 100001, "special")
	x = append(x, genData(42, 50000, "wide")...)
	x = append(x, 0x1p-149, -0x1p-149, 3e38, -3e38, float32(math.Copysign(0, -1)), 0x1p-126, -0x1p-126)
	for _, g := range []Grid{canonicalGrid(-5, 5, 2048), canonicalGrid(-1e-3, 1e-3, 64), {Exp: MinExp, Start: -3, Bins: 7}, {Exp: MaxExp, Start: -4, Bins: 8}, {Exp: -130 + 4, Start: 1 << 40, Bins: 16}} {
		ref := HistCounts{Counts: make([]uint64, g.Bins)}
		fast := HistCounts{Counts: make([]uint64, g.Bins)}
		histSlice(&ref, x, g)
		histSliceFast(&fast, x, g)
		if ref.NaN != fast.NaN || ref.Below != fast.Below || ref.Above != fast.Above || !slices.Equal(ref.Counts, fast.Counts) {
			t.Errorf("grid %+v: fast %+v differs from reference %+v", g, fast, ref)
		}
	}
	for _, n := range []int{0, 1, 2, 3, 1000} {
		if a, b := minMaxSlice(x[:n]), minMaxFast(x[:n]); a != b {
			t.Errorf("minmax of %d: fast %+v reference %+v", n, b, a)
		}
	}
	if a, b := minMaxSlice(x), minMaxFast(x); a != b {
		t.Errorf("minmax: fast %+v reference %+v", b, a)
	}
}
