package vkrt

import (
	"context"
	"errors"
	"math/rand"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/qgpu/qgpu/backends/internal/gpu/gputest"
)

// TestGCStress creates pipelines and runs 2400 dispatches while another
// goroutine calls runtime.GC in a loop: the pattern that crashed the
// vulkan-go binding (use-after-free of finalizer-freed C arrays).
func TestGCStress(t *testing.T) {
	d := openOwn(t, Options{})
	defer gputest.CollectGarbage()()

	var pipes []*Pipeline
	for k := 1; k <= 16; k++ { // each a new vkCreateComputePipelines
		pipes = append(pipes, addPipeline(t, d, uint32(8*k)))
	}
	rng := rand.New(rand.NewSource(5))
	const n, perSubmit, submits = 999, 20, 120
	var ba, bc *Buffer
	var a []uint32
	for it := 0; it < submits; it++ {
		if it%10 == 0 { // new buffers now and then
			if ba != nil {
				ba.Free()
				bc.Free()
			}
			a = randU32(rng, n)
			ba = newU32(t, d, a)
			bc, _ = d.NewBuffer(4 * n)
		}
		s := d.NewSequence()
		s.Timestamps(it%2 == 0)
		if err := s.Fill(bc, 0, 4*n, 0); err != nil {
			t.Fatal(err)
		}
		for k := 0; k < perSubmit; k++ {
			p := pipes[(it+k)%len(pipes)]
			wgSize := 8 * ((it+k)%len(pipes) + 1)
			if err := s.Dispatch(p, []Binding{{Buf: ba}, {Buf: ba}, {Buf: bc}}, push3(n, 0, modeAccum), groups(n, wgSize), 1, 1); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Submit(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := readU32(t, bc)
		for _, i := range []int{0, n / 2, n - 1} {
			if got[i] != perSubmit*a[i] {
				t.Fatalf("submission %d: c[%d] = %d, want %d", it, i, got[i], perSubmit*a[i])
			}
		}
	}
	ba.Free()
	bc.Free()
}

// TestConcurrentSubmit submits from several goroutines on one device.
func TestConcurrentSubmit(t *testing.T) {
	d := device(t)
	p := addPipeline(t, d)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(100 + g)))
			n := 500 + 37*g
			a, b := randU32(rng, n), randU32(rng, n)
			ba, bb, bc := newU32(t, d, a), newU32(t, d, b), newU32(t, d, make([]uint32, n))
			defer ba.Free()
			defer bb.Free()
			defer bc.Free()
			for it := 0; it < 30; it++ {
				s := d.NewSequence()
				addend := uint32(it * g)
				if err := s.Dispatch(p, []Binding{{Buf: ba}, {Buf: bb}, {Buf: bc}}, push3(uint32(n), addend, modeAdd), groups(n, 64), 1, 1); err != nil {
					errs <- err
					return
				}
				if _, err := s.Submit(context.Background()); err != nil {
					errs <- err
					return
				}
				out := make([]byte, 4*n)
				if err := bc.Read(0, out); err != nil {
					errs <- err
					return
				}
				got := gputest.Words(out)
				for i := range got {
					if got[i] != a[i]+b[i]+addend {
						t.Errorf("goroutine %d it %d: c[%d] = %d, want %d", g, it, i, got[i], a[i]+b[i]+addend)
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// TestMemoryFlat creates and destroys buffers and runs 10,000 dispatches;
// the resident set must stay roughly flat after a warm-up. Allowed growth:
// 10 MB, for the Go heap's own fluctuation, driver caches filling up and
// allocator fragmentation; a leak of even 1 KB per dispatch would be 10 MB.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	d := openOwn(t, Options{})
	p := addPipeline(t, d)
	const n = 4096
	run := func(submits int) {
		for it := 0; it < submits; it++ {
			ba, err := d.NewBuffer(4 * n)
			if err != nil {
				t.Fatal(err)
			}
			bc, err := d.NewBuffer(4 * n)
			if err != nil {
				t.Fatal(err)
			}
			s := d.NewSequence()
			s.Timestamps(it%2 == 0)
			for k := 0; k < 10; k++ {
				if err := s.Dispatch(p, []Binding{{Buf: ba}, {Buf: ba}, {Buf: bc}}, push3(n, uint32(k), modeAdd), groups(n, 64), 1, 1); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Submit(context.Background()); err != nil {
				t.Fatal(err)
			}
			ba.Free()
			bc.Free()
		}
	}
	settle := func() int64 {
		runtime.GC()
		debug.FreeOSMemory()
		return rssBytes(t)
	}
	run(200) // warm-up: contexts, pools, driver caches
	r0 := settle()
	run(1000) // 10,000 dispatches, 2,000 buffers created and destroyed
	r1 := settle()
	t.Logf("RSS after warm-up %.1f MB, after 10,000 more dispatches %.1f MB (%+.2f MB)",
		float64(r0)/1e6, float64(r1)/1e6, float64(r1-r0)/1e6)
	if r1-r0 > 10<<20 {
		t.Errorf("RSS grew by %.1f MB over 10,000 dispatches", float64(r1-r0)/1e6)
	}
}

func benchDevice(b *testing.B) *Device {
	return device(b)
}

// BenchmarkSubmitEmpty measures the overhead of one submission with no
// commands (record an empty command buffer, vkQueueSubmit, fence wait,
// recycle).
func BenchmarkSubmitEmpty(b *testing.B) {
	d := benchDevice(b)
	s := d.NewSequence()
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Submit(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDispatch measures one submission holding one small dispatch
// (64 invocations).
func BenchmarkDispatch(b *testing.B) {
	d := benchDevice(b)
	p := addPipeline(b, d)
	buf, _ := d.NewBuffer(4 * 64)
	defer buf.Free()
	s := d.NewSequence()
	if err := s.Dispatch(p, []Binding{{Buf: buf}, {Buf: buf}, {Buf: buf}}, push3(64, 1, modeAdd), 1, 1, 1); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Submit(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDispatchBatch100 measures 100 small dependent dispatches in one
// submission (ns/dispatch reported).
func BenchmarkDispatchBatch100(b *testing.B) {
	for _, stamps := range []bool{false, true} {
		name := "plain"
		if stamps {
			name = "timestamps"
		}
		b.Run(name, func(b *testing.B) {
			d := benchDevice(b)
			p := addPipeline(b, d)
			buf, _ := d.NewBuffer(4 * 64)
			defer buf.Free()
			s := d.NewSequence()
			s.Timestamps(stamps)
			for k := 0; k < 100; k++ {
				if err := s.Dispatch(p, []Binding{{Buf: buf}, {Buf: buf}, {Buf: buf}}, push3(64, 1, modeAccum), 1, 1, 1); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			for b.Loop() {
				if _, err := s.Submit(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/dispatch")
		})
	}
}

// BenchmarkRecord100 measures only the host side of recording 100
// dispatches (descriptor set allocation and update, bind, push, dispatch,
// barrier: two cgo calls per dispatch) and recycling the pools, without
// submitting: vkrt's own per-dispatch overhead.
func BenchmarkRecord100(b *testing.B) {
	d := benchDevice(b)
	p := addPipeline(b, d)
	buf, _ := d.NewBuffer(4 * 64)
	defer buf.Free()
	s := d.NewSequence()
	for k := 0; k < 100; k++ {
		if err := s.Dispatch(p, []Binding{{Buf: buf}, {Buf: buf}, {Buf: buf}}, push3(64, 1, modeAccum), 1, 1, 1); err != nil {
			b.Fatal(err)
		}
	}
	c, err := d.acquire()
	if err != nil {
		b.Fatal(err)
	}
	defer d.release(c)
	for b.Loop() {
		if err := s.record(c); err != nil {
			b.Fatal(err)
		}
		if err := c.recycle(d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/dispatch")
}

// TestFreeDuringStagedRead frees a device-local buffer while other
// goroutines read it through the staging path: every Read returns data or
// ErrFreed, nothing deadlocks or faults.
func TestFreeDuringStagedRead(t *testing.T) {
	d := openOwn(t, Options{ForceStaging: true})
	b, err := d.NewBuffer(4 << 20)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := make([]byte, 4<<20)
			for i := 0; i < 50; i++ {
				if err := b.Read(0, p); err != nil {
					if !errors.Is(err, ErrFreed) {
						t.Errorf("Read: %v", err)
					}
					return
				}
			}
		}()
	}
	b.Free()
	wg.Wait()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}
