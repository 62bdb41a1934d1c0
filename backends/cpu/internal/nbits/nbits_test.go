package nbits

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
	"github.com/qgpu/qgpu/qtensor"
)

// randWeights returns random 4-bit weights [N, nb*bs] and their qtensor
// form (the reference's input).
func randWeights(r *rand.Rand, N, K, bs int, signed, uniform bool) (*Weights, *qtensor.Tensor) {
	nb := (K + bs - 1) / bs
	d := qtensor.Uint4
	if signed {
		d = qtensor.Int4
	}
	p := qtensor.Params{Granularity: qtensor.PerBlock, Axis: 1, BlockSize: bs, Scales: make([]float32, N*nb), ZeroPoints: make([]int32, N*nb)}
	zp0 := d.QMin() + r.Int32N(16)
	for i := range p.Scales {
		p.Scales[i] = float32(math.Ldexp(1+r.Float64(), r.IntN(20)-14))
		p.ZeroPoints[i] = zp0
		if !uniform {
			p.ZeroPoints[i] = d.QMin() + r.Int32N(16)
		}
	}
	t, err := qtensor.New(d, []int{N, nb * bs}, p)
	if err != nil {
		panic(err)
	}
	for i := range t.Data {
		t.Data[i] = byte(r.IntN(256))
	}
	return &Weights{Data: t.Data, N: N, K: K, RowLen: nb * bs, BlockSize: bs, Scales: p.Scales, ZeroPoints: p.ZeroPoints,
		Signed: signed, UniformZP: uniform}, t
}

// randActs returns M x K activations: mostly ordinary values, and with
// specials some zeros of both signs, denormals, NaN and infinities.
func randActs(r *rand.Rand, M, K int, specials bool) []float32 {
	a := make([]float32, M*K)
	for i := range a {
		a[i] = float32(r.NormFloat64() * math.Ldexp(1, r.IntN(6)-3))
		if specials {
			switch r.IntN(40) {
			case 0:
				a[i] = 0
			case 1:
				a[i] = float32(math.Copysign(0, -1))
			case 2:
				a[i] = math.Float32frombits(uint32(r.IntN(1 << 23)))
			case 3:
				a[i] = float32(math.Inf(1 - 2*r.IntN(2)))
			case 4:
				a[i] = float32(math.NaN())
			}
		}
	}
	return a
}

func same(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// TestKernelsMatchReference checks every kernel (each ISA, both modes,
// int4 and uint4, uniform or per-block zero points, every row count,
// partial groups and blocks) bit for bit against qtensor.MatMulNBitsRow.
func TestKernelsMatchReference(t *testing.T) {
	for _, v := range []isa.ISA{isa.AVX512, isa.AVX2} {
		if !Supported(v) {
			t.Logf("%v: not supported here", v)
			continue
		}
		restore, _ := SetISA(v)
		r := rand.New(rand.NewPCG(uint64(v), 5))
		for it := range 240 {
			int8Mode := it%2 == 1
			bs := []int{32, 64, 128, 256}[it%4]
			K := 1 + r.IntN(3*bs)
			if it%5 == 0 {
				K = bs * (1 + r.IntN(3))
			}
			N := 1 + r.IntN(40)
			M := 1 + r.IntN(17) // tiles of 8, 4 and fewer rows
			if it%40 == 0 {
				M = 65 + r.IntN(9) // many tiles
			}
			w, wt := randWeights(r, N, K, bs, it%3 == 0, it%4 < 2)
			a := randActs(r, M, K, it%6 < 3)
			if !Fits(w, int8Mode) {
				t.Fatalf("%v: weights do not fit", v)
			}
			y := make([]float32, M*N)
			// Two column ranges, as two workers would split them.
			g := GroupWidth()
			split := min(N, g*(1+r.IntN(2)))
			if int8Mode {
				p := NewInt8Acts(M, w)
				half := p.Tiles() / 2
				p.Prepare(a, w, half, p.Tiles())
				p.Prepare(a, w, 0, half)
				Int8(y, N, p, w, 0, split)
				Int8(y[split:], N, p, w, split, N)
			} else {
				p := NewFloatActs(M, w)
				// Filled in two parts, as two workers would.
				half := p.Tiles() / 2
				p.Fill(a, 0, half)
				p.Fill(a, half, p.Tiles())
				Float(y, N, p, w, 0, split)
				Float(y[split:], N, p, w, split, N)
			}
			want := make([]float32, N)
			for m := range M {
				qtensor.MatMulNBitsRow(want, a[m*K:(m+1)*K], wt, int8Mode, nil)
				for n := range N {
					if !same(y[m*N+n], want[n]) {
						t.Fatalf("%v int8 %v signed %v uniform %v bs %d M %d K %d N %d: y[%d][%d] = %g (%#x), reference %g (%#x)",
							v, int8Mode, w.Signed, w.UniformZP, bs, M, K, N, m, n, y[m*N+n], math.Float32bits(y[m*N+n]), want[n], math.Float32bits(want[n]))
					}
				}
			}
		}
		restore()
	}
}
