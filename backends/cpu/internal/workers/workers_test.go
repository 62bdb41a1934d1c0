package workers

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// runAll checks that Run calls f once for each part.
func runAll(t *testing.T, p *Pool, parts int) {
	t.Helper()
	hits := make([]atomic.Int32, parts)
	p.Run(parts, func(i int) { hits[i].Add(1) })
	for i := range hits {
		if n := hits[i].Load(); n != 1 {
			t.Fatalf("parts=%d: part %d ran %d times", parts, i, n)
		}
	}
}

func TestRunEveryPartOnce(t *testing.T) {
	p := New(3)
	defer p.Close()
	for parts := 0; parts <= 40; parts++ {
		runAll(t, p, parts)
	}
	// After the workers have gone to sleep, the next job wakes them.
	time.Sleep(3 * Spin)
	runAll(t, p, 17)
	var nilPool *Pool
	runAll(t, nilPool, 5)
	runAll(t, New(0), 5)
}

func TestWorkersTakeParts(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two processors")
	}
	p := New(1)
	defer p.Close()
	caller := make(chan struct{})
	// Part 0 blocks until another goroutine has run part 1: the job can
	// only finish if a worker takes part of it.
	deadline := time.After(10 * time.Second)
	p.Run(2, func(i int) {
		if i == 1 {
			close(caller)
			return
		}
		select {
		case <-caller:
		case <-deadline:
			t.Error("no worker ran part 1")
		}
	})
}

func TestConcurrentAndNestedCalls(t *testing.T) {
	p := New(2)
	defer p.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 50 {
				var sum atomic.Int64
				p.Run(4, func(i int) {
					// Nested: runs on spawned goroutines, never waits for the pool.
					p.Run(3, func(k int) { sum.Add(int64(100*i + k)) })
				})
				if got, want := sum.Load(), int64(3*(0+100+200+300)+4*(0+1+2)); got != want {
					t.Errorf("goroutine %d round %d: sum %d, want %d", g, r, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestCloseStopsWorkers(t *testing.T) {
	before := runtime.NumGoroutine()
	p := New(4)
	runAll(t, p, 9)
	p.Close()
	p.Close()       // safe twice
	runAll(t, p, 9) // still works, on spawned goroutines
	// Close waited for the workers; spawned goroutines of Run have exited
	// when Run returned, but the runtime may take a moment to reap them.
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 100 {
			t.Fatalf("%d goroutines after Close, %d before New", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkRun measures a job of two 20 µs parts back to back: about 20 µs
// when a worker takes one part at once, up to 40 µs or more when it must
// first be woken.
func BenchmarkRun(b *testing.B) {
	busy := func(int) {
		for t := time.Now(); time.Since(t) < 20*time.Microsecond; {
		}
	}
	b.Run("pool", func(b *testing.B) {
		p := New(1)
		defer p.Close()
		for b.Loop() {
			p.Run(2, busy)
		}
	})
	b.Run("spawn", func(b *testing.B) {
		for b.Loop() {
			spawn(2, busy)
		}
	})
}
