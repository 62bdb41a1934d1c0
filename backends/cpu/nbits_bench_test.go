package cpu_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// BenchmarkMatMulNBitsGEMV times MatMulNBits at M = 1 with 4-bit weights
// in blocks of 32 (uint4, zero point 8) on LLaMA-7B's layer shapes, float
// and int8 activations, one and two threads, and reports in the same run
// the time of a Go copy() of the packed weight and scale bytes split over
// as many goroutines: copy_share = copy time / MatMulNBits time is the
// share of that bandwidth bound reached (the issue asks for 0.8).
//
//	go test -run '^$' -bench MatMulNBitsGEMV ./backends/cpu/
func BenchmarkMatMulNBitsGEMV(b *testing.B) {
	for _, kn := range [][2]int{{4096, 4096}, {4096, 11008}, {11008, 4096}} {
		for _, int8Act := range []bool{false, true} {
			for _, threads := range []int{1, 2} {
				mode := "f32"
				if int8Act {
					mode = "i8"
				}
				b.Run(fmt.Sprintf("%dx%d/%s/t%d", kn[0], kn[1], mode, threads), func(b *testing.B) {
					benchNBits(b, 1, kn[0], kn[1], 32, int8Act, threads)
				})
			}
		}
	}
}

func benchNBits(b *testing.B, M, K, N, bs int, int8Act bool, threads int) {
	e, err := engine.New(engine.Config{Backend: "cpu", Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	r := rand.New(rand.NewPCG(1, 2))
	nb := K / bs
	p := qtensor.Params{Granularity: qtensor.PerBlock, Axis: 1, BlockSize: bs, Scales: make([]float32, N*nb), ZeroPoints: make([]int32, N*nb)}
	for i := range p.Scales {
		p.Scales[i], p.ZeroPoints[i] = 0.01+0.01*r.Float32(), 8
	}
	w, err := qtensor.New(qtensor.Uint4, []int{N, K}, p)
	if err != nil {
		b.Fatal(err)
	}
	for i := range w.Data {
		w.Data[i] = byte(r.Uint32())
	}
	a := make([]float32, M*K)
	for i := range a {
		a[i] = float32(r.NormFloat64())
	}
	dw, err := e.Upload(w)
	if err != nil {
		b.Fatal(err)
	}
	defer dw.Release()
	da, err := e.UploadFloat32([]int{M, K}, a)
	if err != nil {
		b.Fatal(err)
	}
	defer da.Release()
	bt := e.NewBatch()
	y, err := bt.MatMulNBits(da, dw, engine.NBitsOptions{Int8Activations: int8Act})
	if err != nil {
		b.Fatal(err)
	}
	defer y.Release()
	// The bound: copy() of the packed weight and scale bytes.
	n := len(w.Data) + 4*len(p.Scales)
	src, dst := make([]byte, n), make([]byte, n)
	for i := range src {
		src[i] = byte(i)
	}
	copyOnce := func() time.Duration {
		t0 := time.Now()
		var wg sync.WaitGroup
		for i := range threads {
			lo, hi := n*i/threads, n*(i+1)/threads
			wg.Go(func() { copy(dst[lo:hi], src[lo:hi]) })
		}
		wg.Wait()
		return time.Since(t0)
	}
	ctx := context.Background()
	if err := bt.Run(ctx); err != nil {
		b.Fatal(err)
	}
	copyOnce()
	var kt, ct []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if err := bt.Run(ctx); err != nil {
			b.Fatal(err)
		}
		kt = append(kt, time.Since(t0))
		b.StopTimer()
		ct = append(ct, copyOnce())
		b.StartTimer()
	}
	med := func(d []time.Duration) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2].Seconds()
	}
	km, cm := med(kt), med(ct)
	b.ReportMetric(km*1e6, "median_us")
	b.ReportMetric(float64(n)/km/1e9, "GB/s")
	b.ReportMetric(cm/km, "copy_share")
}
