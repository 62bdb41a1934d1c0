package gemm

import (
	"errors"
	"fmt"
	"math/rand"
	"runtime"
	"testing"
	"time"

	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
	"github.com/qgpu/qgpu/qtensor"
)

// naive is the independent oracle: a plain triple loop over the unpacked
// matrices, in int64 (so an int32 wrap in the code under test would show).
func naive(a func(m, k int) int64, b []int8, M, K, N int) []int64 {
	c := make([]int64, M*N)
	for m := 0; m < M; m++ {
		for n := 0; n < N; n++ {
			var s int64
			for k := 0; k < K; k++ {
				s += a(m, k) * int64(b[k*N+n])
			}
			c[m*N+n] = s
		}
	}
	return c
}

// isas returns every implementation supported here.
func isas() []isa.ISA {
	var r []isa.ISA
	for _, i := range []isa.ISA{isa.Generic, isa.AVX2, isa.AVX512} {
		if Supported(i) {
			r = append(r, i)
		}
	}
	return r
}

func withISA(t testing.TB, impl isa.ISA) {
	t.Helper()
	restore, err := SetISA(impl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(restore)
}

const canary = int32(-0x5a5a5a5b)

type fill int

const (
	fillRandom fill = iota
	fillMaxPos      // A = 255 (or 127), B = 127
	fillMaxNeg      // A = 255 (or -128), B = -128
)

func (f fill) String() string { return [...]string{"rand", "maxpos", "maxneg"}[f] }

// gemmCase runs one shape with strides lda = K+padA, ldc = N+padC and
// checks C against the oracle and the canaries around and between rows.
func gemmCase(t *testing.T, rng *rand.Rand, M, K, N int, f fill, signed bool, opt Options) {
	t.Helper()
	padA, padC := 3, 5
	lda, ldc := K+padA, N+padC
	// A: the last row is exactly K long, so the kernels' reads of whole
	// groups of 4 must not run past the end of the slice.
	au := make([]uint8, (M-1)*lda+K)
	for i := range au {
		switch {
		case f == fillRandom:
			au[i] = uint8(rng.Intn(256))
		case signed && f == fillMaxPos:
			au[i] = 127
		case signed:
			au[i] = 0x80 // -128
		default:
			au[i] = 255
		}
	}
	b := make([]int8, K*N)
	for i := range b {
		switch f {
		case fillRandom:
			b[i] = int8(rng.Intn(256) - 128)
		case fillMaxPos:
			b[i] = 127
		default:
			b[i] = -128
		}
	}
	aval := func(m, k int) int64 {
		if signed {
			return int64(int8(au[m*lda+k]))
		}
		return int64(au[m*lda+k])
	}
	want := naive(aval, b, M, K, N)

	pb, err := PackB(b, N, K, N)
	if err != nil {
		t.Fatal(err)
	}
	const guard = 17
	buf := make([]int32, guard+(M-1)*ldc+N+guard)
	init := make([]int32, len(buf))
	for i := range buf {
		init[i] = canary
		if i >= guard && i < len(buf)-guard && (i-guard)%ldc < N {
			init[i] = int32(rng.Intn(2001) - 1000)
		}
	}
	copy(buf, init)
	c := buf[guard : len(buf)-guard]
	if signed {
		ai := make([]int8, len(au))
		for i, v := range au {
			ai[i] = int8(v)
		}
		err = GemmS8S8(c, ldc, ai, lda, M, pb, &opt)
	} else {
		err = GemmU8S8(c, ldc, au, lda, M, pb, &opt)
	}
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i := range buf {
		w := init[i]
		if r := i - guard; r >= 0 && i < len(buf)-guard && r%ldc < N {
			m, n := r/ldc, r%ldc
			v := want[m*N+n]
			if opt.ColOffset != nil {
				v += int64(opt.ColOffset[n])
			}
			if opt.Accumulate {
				v += int64(init[i])
			}
			w = int32(v)
			if int64(w) != v {
				t.Fatalf("test bug: expected value %d overflows int32", v)
			}
		}
		if buf[i] != w {
			if bad++; bad <= 5 {
				t.Errorf("buf[%d] (c[%d]) = %d, want %d", i, i-guard, buf[i], w)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d wrong words", bad)
	}
}

func TestGemmShapes(t *testing.T) {
	Ms := []int{1, 2, 3, 5, 6, 7, 12, 13, 16, 17, 31, 64, 65, 100}
	Ks := []int{1, 2, 3, 4, 5, 7, 8, 63, 64, 65, 257, 1000}
	Ns := []int{1, 2, 15, 16, 17, 24, 31, 32, 33, 63, 64, 65, 127, 128, 129, 257}
	for _, impl := range isas() {
		t.Run(impl.String(), func(t *testing.T) {
			withISA(t, impl)
			rng := rand.New(rand.NewSource(1))
			for _, M := range Ms {
				for _, K := range Ks {
					for _, N := range Ns {
						// Keep the full cross product for small sizes and
						// thin it out for large ones (the generic path is slow).
						if M*K*N > 2_000_000 && (M+K+N)%3 != 0 {
							continue
						}
						signed := (M+K+N)%2 == 0
						opt := Options{Threads: 1, Accumulate: (M*K+N)%3 == 0}
						if (M+N)%4 == 1 {
							opt.ColOffset = make([]int32, N)
							for i := range opt.ColOffset {
								opt.ColOffset[i] = int32(rng.Intn(100001) - 50000)
							}
						}
						name := fmt.Sprintf("M%d_K%d_N%d_s%v_acc%v_off%v", M, K, N, signed, opt.Accumulate, opt.ColOffset != nil)
						ok := t.Run(name, func(t *testing.T) {
							gemmCase(t, rng, M, K, N, fillRandom, signed, opt)
						})
						if !ok {
							return
						}
					}
				}
			}
		})
	}
}

func TestGemmExtremes(t *testing.T) {
	shapes := [][3]int{{1, 1, 1}, {7, 1000, 65}, {200, 2049, 70}, {13, 4099, 129}, {6, 8192, 64}, {2, 65, 257}}
	for _, impl := range isas() {
		withISA(t, impl)
		rng := rand.New(rand.NewSource(2))
		for _, s := range shapes {
			for _, f := range []fill{fillMaxPos, fillMaxNeg} {
				for _, signed := range []bool{false, true} {
					name := fmt.Sprintf("%v/%dx%dx%d/%v/s%v", impl, s[0], s[1], s[2], f, signed)
					t.Run(name, func(t *testing.T) {
						gemmCase(t, rng, s[0], s[1], s[2], f, signed, Options{Threads: 1})
					})
				}
			}
		}
	}
}

// TestGemmMaxK checks the documented accumulator bound at K = MaxK with the
// most negative product sum (255 * -128 per term), then one past it.
func TestGemmMaxK(t *testing.T) {
	K := MaxK
	b := make([]int8, K)
	for i := range b {
		b[i] = -128
	}
	pb, err := PackB(b, 1, K, 1)
	if err != nil {
		t.Fatal(err)
	}
	a := make([]uint8, K)
	for i := range a {
		a[i] = 255
	}
	want := int64(K) * 255 * -128
	for _, impl := range isas() {
		withISA(t, impl)
		c := []int32{0}
		if err := GemmU8S8(c, 1, a, K, 1, pb, nil); err != nil {
			t.Fatal(err)
		}
		if int64(c[0]) != want {
			t.Errorf("%v: got %d want %d", impl, c[0], want)
		}
	}
	if want < -1<<31 {
		t.Fatalf("MaxK=%d is not a safe bound", K)
	}
	if int64(K+1)*255*-128 >= -1<<31 {
		t.Fatalf("MaxK=%d is not the largest safe bound", K)
	}
	if _, err := PackB(make([]int8, K+1), 1, K+1, 1); !errors.Is(err, ErrSize) {
		t.Errorf("PackB K=MaxK+1: err %v, want ErrSize", err)
	}
}

// TestGemmThreads checks that any thread count gives the same result as one
// thread, for shapes that split by rows and by panels.
func TestGemmThreads(t *testing.T) {
	shapes := [][3]int{{1, 1024, 1024}, {16, 300, 700}, {100, 257, 129}, {193, 2100, 65}, {37, 64, 1000}}
	for _, impl := range isas() {
		withISA(t, impl)
		rng := rand.New(rand.NewSource(3))
		for _, s := range shapes {
			M, K, N := s[0], s[1], s[2]
			a := make([]uint8, M*K)
			for i := range a {
				a[i] = uint8(rng.Intn(256))
			}
			b := make([]int8, K*N)
			for i := range b {
				b[i] = int8(rng.Intn(256))
			}
			pb, err := PackB(b, N, K, N)
			if err != nil {
				t.Fatal(err)
			}
			ref := make([]int32, M*N)
			if err := GemmU8S8(ref, N, a, K, M, pb, &Options{Threads: 1}); err != nil {
				t.Fatal(err)
			}
			before := runtime.NumGoroutine()
			for _, th := range []int{2, 3, 4, 7} {
				c := make([]int32, M*N)
				if err := GemmU8S8(c, N, a, K, M, pb, &Options{Threads: th}); err != nil {
					t.Fatal(err)
				}
				for i := range c {
					if c[i] != ref[i] {
						t.Fatalf("%v %v threads=%d: c[%d]=%d, 1 thread %d", impl, s, th, i, c[i], ref[i])
					}
				}
			}
			// A worker that has called wg.Done may still be exiting: allow it
			// a moment, then require the count to be back.
			after := runtime.NumGoroutine()
			for i := 0; i < 100 && after > before; i++ {
				time.Sleep(10 * time.Millisecond)
				after = runtime.NumGoroutine()
			}
			if after > before {
				t.Errorf("%v %v: %d goroutines after the calls, %d before", impl, s, after, before)
			}
		}
	}
}

// TestPackBT checks that packing B^T gives the same packed matrix as B.
func TestPackBT(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for _, s := range [][2]int{{1, 1}, {5, 63}, {64, 64}, {67, 130}} {
		K, N := s[0], s[1]
		b := make([]int8, K*N)
		bt := make([]int8, N*(K+2))
		for k := 0; k < K; k++ {
			for n := 0; n < N; n++ {
				v := int8(rng.Intn(256))
				b[k*N+n] = v
				bt[n*(K+2)+k] = v
			}
		}
		p1, err1 := PackB(b, N, K, N)
		p2, err2 := PackBT(bt, K+2, K, N)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if fmt.Sprint(p1.data) != fmt.Sprint(p2.data) || fmt.Sprint(p1.colSum) != fmt.Sprint(p2.colSum) {
			t.Errorf("K=%d N=%d: PackB and PackBT differ", K, N)
		}
		for n := 0; n < N; n++ {
			var s int32
			for k := 0; k < K; k++ {
				s += int32(b[k*N+n])
			}
			if p1.ColSums()[n] != s {
				t.Errorf("colsum[%d]=%d want %d", n, p1.ColSums()[n], s)
			}
		}
	}
}

func TestRowSums(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, K := range []int{1, 7, 8, 9, 1023, 1024, 1031, 5000} {
		M, lda := 3, K+1
		a := make([]uint8, (M-1)*lda+K)
		for i := range a {
			a[i] = uint8(rng.Intn(256))
		}
		if K == 5000 {
			for i := range a {
				a[i] = 255
			}
		}
		ai := make([]int8, len(a))
		for i, v := range a {
			ai[i] = int8(v)
		}
		du, ds := make([]int32, M), make([]int32, M)
		if err := RowSumsU8(du, a, lda, M, K); err != nil {
			t.Fatal(err)
		}
		if err := RowSumsS8(ds, ai, lda, M, K); err != nil {
			t.Fatal(err)
		}
		for m := 0; m < M; m++ {
			var su, ss int32
			for k := 0; k < K; k++ {
				su += int32(a[m*lda+k])
				ss += int32(ai[m*lda+k])
			}
			if du[m] != su || ds[m] != ss {
				t.Errorf("K=%d row %d: got %d,%d want %d,%d", K, m, du[m], ds[m], su, ss)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	pb, err := PackB(make([]int8, 12), 4, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	a := make([]uint8, 6)
	c := make([]int32, 8)
	cases := []struct {
		name string
		err  error
	}{
		{"nil b", GemmU8S8(c, 4, a, 3, 2, nil, nil)},
		{"neg M", GemmU8S8(c, 4, a, 3, -1, pb, nil)},
		{"lda<1", GemmU8S8(c, 4, a, 0, 2, pb, nil)},
		{"ldc<N", GemmU8S8(c, 3, a, 3, 2, pb, nil)},
		{"short a", GemmU8S8(c, 4, a[:5], 3, 2, pb, nil)},
		{"short c", GemmU8S8(c[:7], 4, a, 3, 2, pb, nil)},
		{"short off", GemmU8S8(c, 4, a, 3, 2, pb, &Options{ColOffset: make([]int32, 3)})},
		{"huge lda", GemmU8S8(c, 4, a, 1<<62, 2, pb, nil)},
		{"PackB K=0", errOf(PackB(nil, 1, 0, 1))},
		{"PackB ldb<N", errOf(PackB(make([]int8, 12), 3, 3, 4))},
		{"PackB short", errOf(PackB(make([]int8, 11), 4, 3, 4))},
		{"PackBT short", errOf(PackBT(make([]int8, 11), 3, 3, 4))},
		{"RowSums short dst", RowSumsU8(make([]int32, 1), a, 3, 2, 3)},
		{"RowSums short a", RowSumsU8(make([]int32, 2), a[:5], 3, 2, 3)},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, ErrSize) {
			t.Errorf("%s: err = %v, want ErrSize", tc.name, tc.err)
		}
	}
	if err := GemmU8S8(nil, 4, nil, 3, 0, pb, nil); err != nil {
		t.Errorf("M=0: %v", err)
	}
	if _, err := SetISA(isa.ISA(99)); err == nil {
		t.Error("SetISA(99) accepted")
	}
}

func errOf(_ *PackedB, err error) error { return err }

// randPackedB returns a random K x N int8 matrix and its packed form.
func randPackedB(t *testing.T, r *rand.Rand, K, N int) ([]int8, *PackedB) {
	t.Helper()
	b := make([]int8, K*N)
	for i := range b {
		b[i] = int8(r.Intn(256) - 128)
	}
	pb, err := PackB(b, N, K, N)
	if err != nil {
		t.Fatal(err)
	}
	return b, pb
}

// TestOverlappingRows: rows of A may overlap (lda < K), as the implicit
// im2col of a convolution reads them; the result is the naive product of
// the overlapping rows, for every ISA.
func TestOverlappingRows(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	for _, impl := range isas() {
		withISA(t, impl)
		for _, sh := range [][4]int{{50, 192, 64, 64}, {7, 13, 5, 1}, {100, 9, 65, 3}, {33, 576, 17, 64}} {
			M, K, N, lda := sh[0], sh[1], sh[2], sh[3]
			a := make([]uint8, (M-1)*lda+K)
			for i := range a {
				a[i] = uint8(r.Intn(256))
			}
			b, pb := randPackedB(t, r, K, N)
			c := make([]int32, M*N)
			if err := GemmU8S8(c, N, a, lda, M, pb, &Options{Threads: 2}); err != nil {
				t.Fatal(err)
			}
			want := naive(func(m, k int) int64 { return int64(a[m*lda+k]) }, b, M, K, N)
			for i := range c {
				if int64(c[i]) != want[i] {
					t.Fatalf("%v M=%d K=%d N=%d lda=%d: c[%d] = %d, want %d", impl, M, K, N, lda, i, c[i], want[i])
				}
			}
		}
	}
}

// TestRowOffsets: with Options.RowOffsets the rows of A sit at arbitrary
// (overlapping, unordered) offsets, some ending within 4 bytes of the end
// of a so that their last group of 4 is padded; the result is the naive
// product of the rows so placed, for every ISA, signed and unsigned, with
// a column offset and a fused requantization.
func TestRowOffsets(t *testing.T) {
	r := rand.New(rand.NewSource(12))
	for _, impl := range isas() {
		withISA(t, impl)
		for _, sh := range [][3]int{{50, 192, 64}, {7, 13, 5}, {100, 9, 65}, {33, 577, 130}} {
			M, K, N := sh[0], sh[1], sh[2]
			a := make([]uint8, 3*K+M)
			for i := range a {
				a[i] = uint8(r.Intn(256))
			}
			ro := make([]int, M)
			for m := range ro {
				ro[m] = r.Intn(len(a) - K + 1)
			}
			ro[M-1] = len(a) - K // the last row ends at the end of a
			b, pb := randPackedB(t, r, K, N)
			off := make([]int32, N)
			mult := make([]float32, N)
			for n := range off {
				off[n] = int32(r.Intn(2001) - 1000)
				mult[n] = float32(r.Float64() * 1e-4)
			}
			for _, signed := range []bool{false, true} {
				c := make([]int32, M*N)
				out := make([]uint8, M*N)
				opt := &Options{Threads: 2, ColOffset: off, RowOffsets: ro}
				var err error
				if signed {
					err = GemmS8S8(c, N, asInt8s(a), 1, M, pb, opt)
				} else {
					err = GemmU8S8(c, N, a, 1, M, pb, opt)
				}
				if err != nil {
					t.Fatal(err)
				}
				aval := func(m, k int) int64 {
					if signed {
						return int64(int8(a[ro[m]+k]))
					}
					return int64(a[ro[m]+k])
				}
				want := naive(aval, b, M, K, N)
				for i := range c {
					if w := want[i] + int64(off[i%N]); int64(c[i]) != w {
						t.Fatalf("%v signed=%v M=%d K=%d N=%d: c[%d] = %d, want %d", impl, signed, M, K, N, i, c[i], w)
					}
				}
				opt.Requant = &Requant{Mult: mult, ZP: 7, QMin: 0, QMax: 255, OutU8: out, LdOut: N}
				if signed {
					err = GemmS8S8(c, N, asInt8s(a), 1, M, pb, opt)
				} else {
					err = GemmU8S8(c, N, a, 1, M, pb, opt)
				}
				if err != nil {
					t.Fatal(err)
				}
				for i := range out {
					w := uint8(qtensor.Requantize(int32(want[i]+int64(off[i%N])), mult[i%N], 7, 0, 255))
					if out[i] != w {
						t.Fatalf("%v signed=%v M=%d K=%d N=%d requant: out[%d] = %d, want %d", impl, signed, M, K, N, i, out[i], w)
					}
				}
			}
		}
	}
	// Rows outside a are errors.
	pb, _ := PackB(make([]int8, 8*4), 4, 8, 4)
	c := make([]int32, 8)
	for _, ro := range [][]int{{0}, {0, -1}, {0, 9}} {
		if err := GemmU8S8(c, 4, make([]uint8, 16), 1, 2, pb, &Options{RowOffsets: ro}); err == nil {
			t.Errorf("RowOffsets %v accepted", ro)
		}
	}
}

func asInt8s(a []uint8) []int8 {
	s := make([]int8, len(a))
	for i, v := range a {
		s[i] = int8(v)
	}
	return s
}

// TestSegments: rows of A made of Count pieces at a stride (the rows of a
// convolution over NHWC data), placed by RowOffsets or lda, against the
// naive product of the rows so assembled, for every ISA, signed and
// unsigned, with int32, requantized and float outputs, K blocks of several
// segments (K > KC) included; and the invalid layouts are errors.
func TestSegments(t *testing.T) {
	r := rand.New(rand.NewSource(13))
	for _, impl := range isas() {
		withISA(t, impl)
		for _, sh := range [][4]int{{50, 3, 64, 64}, {7, 2, 12, 5}, {61, 3, 1536, 130}, {13, 4, 8, 1}, {9, 3, 700, 64}} {
			M, count, segK, N := sh[0], sh[1], sh[2], sh[3]
			K := count * segK
			stride := segK + r.Intn(3*segK)
			a := make([]uint8, M*7+(count-1)*stride+segK+r.Intn(5))
			for i := range a {
				a[i] = uint8(r.Intn(256))
			}
			ro := make([]int, M)
			for m := range ro {
				ro[m] = r.Intn(len(a) - (count-1)*stride - segK + 1)
			}
			ro[M-1] = len(a) - (count-1)*stride - segK // ends at the end of a
			b, pb := randPackedB(t, r, K, N)
			mult, scale := make([]float32, N), make([]float32, N)
			for n := range mult {
				mult[n] = float32(r.Float64() * 1e-4)
				scale[n] = float32(r.NormFloat64() * 1e-3)
			}
			for _, signed := range []bool{false, true} {
				aval := func(m, k int) int64 {
					v := a[ro[m]+k/segK*stride+k%segK]
					if signed {
						return int64(int8(v))
					}
					return int64(v)
				}
				want := naive(aval, b, M, K, N)
				name := fmt.Sprintf("%v signed=%v M=%d count=%d segK=%d N=%d stride=%d", impl, signed, M, count, segK, N, stride)
				c := make([]int32, M*N)
				out := make([]uint8, M*N)
				outF := make([]float32, M*N)
				for _, kind := range []string{"int32", "requant", "float"} {
					opt := &Options{Threads: 2, RowOffsets: ro, Segments: &Segments{Count: count, Stride: stride}}
					switch kind {
					case "requant":
						opt.Requant = &Requant{Mult: mult, ZP: 9, QMin: 0, QMax: 255, OutU8: out, LdOut: N}
					case "float":
						opt.Float = &FloatOut{Scale: scale, Out: outF, LdOut: N}
					}
					var err error
					if signed {
						err = GemmS8S8(c, N, asInt8s(a), 1, M, pb, opt)
					} else {
						err = GemmU8S8(c, N, a, 1, M, pb, opt)
					}
					if err != nil {
						t.Fatalf("%s %s: %v", name, kind, err)
					}
					for i := range want {
						acc := int32(want[i])
						switch kind {
						case "int32":
							if c[i] != acc {
								t.Fatalf("%s: c[%d] = %d, want %d", name, i, c[i], acc)
							}
						case "requant":
							if w := uint8(qtensor.Requantize(acc, mult[i%N], 9, 0, 255)); out[i] != w {
								t.Fatalf("%s requant: out[%d] = %d, want %d", name, i, out[i], w)
							}
						case "float":
							if w := qtensor.FloatOutput(acc, scale[i%N], 0); outF[i] != w {
								t.Fatalf("%s float: out[%d] = %g, want %g", name, i, outF[i], w)
							}
						}
					}
				}
			}
		}
	}
	// The same rows by lda instead of offsets.
	a := make([]uint8, 5*16+2*40+8)
	for i := range a {
		a[i] = uint8(r.Intn(256))
	}
	b := make([]int8, 24*3)
	for i := range b {
		b[i] = int8(r.Intn(256) - 128)
	}
	pb, _ := PackB(b, 3, 24, 3)
	c := make([]int32, 6*3)
	if err := GemmU8S8(c, 3, a, 16, 6, pb, &Options{Segments: &Segments{Count: 3, Stride: 40}}); err != nil {
		t.Fatal(err)
	}
	want := naive(func(m, k int) int64 { return int64(a[m*16+k/8*40+k%8]) }, b, 6, 24, 3)
	for i := range want {
		if int64(c[i]) != want[i] {
			t.Fatalf("lda rows: c[%d] = %d, want %d", i, c[i], want[i])
		}
	}
	// Invalid layouts.
	for _, tc := range []struct {
		seg Segments
		lda int
	}{{Segments{Count: 5, Stride: 40}, 16}, {Segments{Count: 3, Stride: -1}, 16}, {Segments{Count: 3, Stride: 41}, 16}, {Segments{Count: 0, Stride: 8}, 16}} {
		if err := GemmU8S8(c, 3, a, tc.lda, 6, pb, &Options{Segments: &tc.seg}); err == nil {
			t.Errorf("Segments %+v accepted", tc.seg)
		}
	}
}
