package gemm

import (
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
)

// peakGOPS measures isa's in-register multiply-add throughput on one core
// once per process (best of a few short runs), in GOPS (2 ops per MAC) per
// CPU-second (see cpuTime), or per wall-second where CPU time is
// unavailable; 0 where isa has no peak loop here.
var peakGOPS = map[isa.ISA]func() float64{
	isa.AVX512:  sync.OnceValue(func() float64 { return measurePeak(isa.AVX512) }),
	isa.AVX2:    sync.OnceValue(func() float64 { return measurePeak(isa.AVX2) }),
	isa.Generic: func() float64 { return 0 },
}

func measurePeak(impl isa.ISA) float64 {
	const iters = 1 << 20
	if peak(impl, 1) == 0 {
		return 0
	}
	best := 0.0
	for r := 0; r < 7; r++ {
		c0, t0 := cpuTime(), time.Now()
		ops := peak(impl, iters)
		d := cpuTime() - c0
		if d <= 0 {
			d = time.Since(t0)
		}
		best = max(best, float64(iters)*float64(ops)/d.Seconds()/1e9)
	}
	return best
}

// BenchmarkPeak reports the in-register throughput of this core per ISA
// (VPDPBUSD zmm; VPMADDWD + VPADDD ymm): the ceilings for BenchmarkGemm's
// %peak.
func BenchmarkPeak(b *testing.B) {
	for _, impl := range []isa.ISA{isa.AVX512, isa.AVX2} {
		b.Run(impl.String(), func(b *testing.B) {
			if peak(impl, 1) == 0 {
				b.Skip("no such assembly in this build/CPU")
			}
			const iters = 1 << 16
			var ops float64
			c0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ops += float64(iters * peak(impl, iters))
			}
			b.ReportMetric(ops/b.Elapsed().Seconds()/1e9, "GOPS")
			if d := cpuTime() - c0; d > 0 {
				b.ReportMetric(ops/d.Seconds()/1e9, "cpuGOPS")
			}
		})
	}
}

// BenchmarkGemm times GemmU8S8 with B packed ahead of time. It reports GOPS
// (wall clock), cpuGOPS (ops per CPU-second of the process, all threads) and
// %peak = cpuGOPS / the single-core peak of the ISA's kernels measured in
// this process the same way (peakGOPS; none for Generic): the per-core
// efficiency, which other load on a shared machine disturbs much less than
// the wall-clock rate.
func BenchmarkGemm(b *testing.B) {
	shapes := [][3]int{{2048, 2048, 2048}, {1024, 1024, 1024}, {128, 1024, 1024}, {1, 1024, 1024}}
	for _, impl := range isas() {
		for _, s := range shapes {
			for _, th := range []int{1, 2} {
				M, K, N := s[0], s[1], s[2]
				if impl == isa.Generic && M*K*N > 1<<28 {
					continue
				}
				name := fmt.Sprintf("%v/M%d_K%d_N%d/t%d", impl, M, K, N, th)
				b.Run(name, func(b *testing.B) {
					benchGemm(b, impl, M, K, N, th)
				})
			}
		}
	}
}

// BenchmarkGemmS8S8 times the signed-A kernels (XOR 0x80 after each
// broadcast) on one thread.
func BenchmarkGemmS8S8(b *testing.B) {
	if !Supported(isa.AVX512) {
		b.Skip("no AVX-512 VNNI")
	}
	for _, s := range [][3]int{{2048, 2048, 2048}, {128, 1024, 1024}} {
		b.Run(fmt.Sprintf("M%d_K%d_N%d/t1", s[0], s[1], s[2]), func(b *testing.B) {
			benchGemmSigned(b, isa.AVX512, s[0], s[1], s[2], 1, true)
		})
	}
}

func benchGemm(b *testing.B, impl isa.ISA, M, K, N, threads int) {
	benchGemmSigned(b, impl, M, K, N, threads, false)
}

func benchGemmSigned(b *testing.B, impl isa.ISA, M, K, N, threads int, signed bool) {
	withISA(b, impl)
	rng := rand.New(rand.NewSource(1))
	a := make([]uint8, M*K)
	for i := range a {
		a[i] = uint8(rng.Intn(256))
	}
	bm := make([]int8, K*N)
	for i := range bm {
		bm[i] = int8(rng.Intn(256))
	}
	pb, err := PackB(bm, N, K, N)
	if err != nil {
		b.Fatal(err)
	}
	as := make([]int8, len(a))
	for i, v := range a {
		as[i] = int8(v)
	}
	c := make([]int32, M*N)
	opt := &Options{Threads: threads}
	pk := peakGOPS[impl]()
	c0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if signed {
			err = GemmS8S8(c, N, as, K, M, pb, opt)
		} else {
			err = GemmU8S8(c, N, a, K, M, pb, opt)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	ops := 2 * float64(M) * float64(K) * float64(N) * float64(b.N)
	b.ReportMetric(ops/b.Elapsed().Seconds()/1e9, "GOPS")
	if d := cpuTime() - c0; d > 0 {
		cg := ops / d.Seconds() / 1e9
		b.ReportMetric(cg, "cpuGOPS")
		if pk > 0 {
			b.ReportMetric(100*cg/pk, "%peak")
		}
	}
}
