// Package workers runs the parallel loops of the CPU backend on persistent
// goroutines that spin for a short while between jobs.
//
// Why: a goroutine started (or woken) for a parallel loop runs only once the
// Go scheduler has woken an idle OS thread, and on the virtual machines this
// backend is measured on that takes tens of microseconds; a 50 µs loop split
// in two with go statements ran in 110 µs, the new goroutine starting when
// the caller's half was already done. A worker that is still spinning on
// the previous job's completion sees the next job within a few hundred
// nanoseconds. ONNX Runtime's thread pool and OpenMP runtimes (oneDNN) spin
// the same way. Workers spin for Spin after each job, yielding the
// processor to other goroutines while they do, then block on a channel;
// an idle pool costs no CPU.
//
// A Pool runs one job at a time. A call that finds it busy (another
// goroutine's job, or a nested call from inside a job) runs its parts on
// fresh goroutines instead, so calls never wait on each other and never
// deadlock. Every part is one call f(i); which goroutine runs it does not
// change what it computes.
package workers

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Spin is how long an idle worker keeps polling for the next job before it
// blocks.
const Spin = 200 * time.Microsecond

// Pool is a set of worker goroutines. The zero value and nil are not
// usable pools: Run on a nil *Pool spawns goroutines per call.
type Pool struct {
	workers  int
	busy     sync.Mutex // held by the caller whose job the workers run
	cur      atomic.Pointer[job]
	sleepers atomic.Int32
	wake     chan struct{}
	quit     chan struct{}
	closed   atomic.Bool
	wg       sync.WaitGroup
}

// job is one Run call.
type job struct {
	f     func(i int)
	parts int64
	next  atomic.Int64 // next part to claim
	fin   atomic.Int64 // parts finished
	done  chan struct{}
}

// New starts a pool of n worker goroutines (n <= 0: none; Run then uses
// the caller only).
func New(n int) *Pool {
	n = max(n, 0)
	p := &Pool{workers: n, wake: make(chan struct{}, n), quit: make(chan struct{})}
	idle := &job{done: make(chan struct{})}
	p.cur.Store(idle)
	p.wg.Add(n)
	for range n {
		go p.worker(idle)
	}
	return p
}

// Close stops the workers and waits for them to exit. Safe to call twice;
// Run still works after Close (on spawned goroutines).
func (p *Pool) Close() {
	if p == nil || p.closed.Swap(true) {
		return
	}
	close(p.quit)
	p.wg.Wait()
}

// Run calls f(0), ..., f(parts-1), spread over the calling goroutine and
// the workers, and returns when all have returned. f must not panic.
func (p *Pool) Run(parts int, f func(i int)) {
	if parts <= 0 {
		return
	}
	if parts == 1 {
		f(0)
		return
	}
	if p == nil || p.workers == 0 || p.closed.Load() || !p.busy.TryLock() {
		spawn(parts, f)
		return
	}
	defer p.busy.Unlock()
	j := &job{f: f, parts: int64(parts), done: make(chan struct{})}
	p.cur.Store(j)
	for range min(int(p.sleepers.Load()), parts-1) {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	j.work()
	// Wait for the parts the workers claimed: spin briefly (they are
	// usually about to finish), then block.
	for i := 0; j.fin.Load() < j.parts; i++ {
		if i >= 1<<12 {
			<-j.done
			break
		}
		if i&63 == 63 {
			runtime.Gosched()
		}
	}
	j.f = nil // all parts are done: drop the caller's closure
}

// work claims and runs parts of j until none is left.
func (j *job) work() {
	for {
		i := j.next.Add(1) - 1
		if i >= j.parts {
			return
		}
		j.f(int(i))
		if j.fin.Add(1) == j.parts {
			close(j.done)
		}
	}
}

// worker runs jobs until the pool is closed; seen is the job it last ran.
func (p *Pool) worker(seen *job) {
	defer p.wg.Done()
	for {
		// Spin for the next job.
		deadline := time.Now().Add(Spin)
		for i := 1; ; i++ {
			if j := p.cur.Load(); j != seen {
				seen = j
				j.work()
				deadline = time.Now().Add(Spin)
				continue
			}
			if i&63 == 0 {
				if p.closed.Load() {
					return
				}
				if time.Now().After(deadline) {
					break
				}
				runtime.Gosched()
			}
		}
		// Block. Registering as a sleeper before the last look at cur
		// pairs with Run storing cur before it reads sleepers, so a job
		// is never missed (at worst a token wakes a worker for nothing).
		p.sleepers.Add(1)
		if p.cur.Load() != seen {
			p.sleepers.Add(-1)
			continue
		}
		select {
		case <-p.wake:
		case <-p.quit:
			p.sleepers.Add(-1)
			return
		}
		p.sleepers.Add(-1)
	}
}

// spawn runs the parts on parts-1 new goroutines and the caller.
func spawn(parts int, f func(i int)) {
	var wg sync.WaitGroup
	wg.Add(parts - 1)
	for i := range parts - 1 {
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	f(parts - 1)
	wg.Wait()
}
