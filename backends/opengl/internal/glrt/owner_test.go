package glrt

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests need no GL: they check the owner goroutine on its own.

func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines: %d before, %d after", before, after)
	}
}

func TestOwnerRunsOnOneThread(t *testing.T) {
	before := runtime.NumGoroutine()
	var setupTid int
	cleaned := false
	o, err := startOwner(func() error { setupTid = threadID(); return nil },
		func() error { cleaned = threadID() == setupTid; return errors.New("cleanup result") })
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	tids := map[int]bool{}
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if err := o.do(func() error {
					mu.Lock()
					tids[threadID()] = true
					mu.Unlock()
					return nil
				}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if len(tids) != 1 || !tids[setupTid] {
		t.Errorf("functions ran on threads %v, setup on %d", tids, setupTid)
	}
	want := errors.New("x")
	if err := o.do(func() error { return want }); err != want {
		t.Errorf("do returned %v, want the function's error", err)
	}
	if err := o.do(func() error { panic("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("panic: %v", err)
	}
	if err := o.do(func() error { return nil }); err != nil {
		t.Errorf("after a panic: %v", err)
	}
	var inner, innerStop error
	if err := o.do(func() error {
		inner = o.do(func() error { return nil })
		innerStop = o.stop()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" && (!errors.Is(inner, errReentrant) || !errors.Is(innerStop, errReentrant)) {
		t.Errorf("do/stop from the owner thread: %v, %v; want errReentrant", inner, innerStop)
	}
	for i := 0; i < 3; i++ {
		if err := o.stop(); err == nil || err.Error() != "cleanup result" {
			t.Errorf("stop %d: %v", i, err)
		}
	}
	if !cleaned {
		t.Error("cleanup did not run on the owner thread")
	}
	if err := o.do(func() error { t.Error("ran after stop"); return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("do after stop: %v", err)
	}
	waitGoroutines(t, before)
}

func TestOwnerSetupFailure(t *testing.T) {
	before := runtime.NumGoroutine()
	want := errors.New("no display")
	o, err := startOwner(func() error { return want }, func() error { t.Error("cleanup ran"); return nil })
	if o != nil || err != want {
		t.Fatalf("startOwner = %v, %v", o, err)
	}
	if _, err := startOwner(func() error { panic("setup panic") }, nil); err == nil {
		t.Error("setup panic: no error")
	}
	waitGoroutines(t, before)
}

func TestHazards(t *testing.T) {
	const (
		ssbo = glSHADER_STORAGE_BARRIER_BIT
		ubo  = glUNIFORM_BARRIER_BIT
		upd  = glBUFFER_UPDATE_BARRIER_BIT
	)
	r := func(id uint32) use { return use{id: id} }
	w := func(id uint32) use { return use{id: id, write: true} }
	u := func(id uint32) use { return use{id: id, uniform: true} }
	type step struct {
		dispatch []use  // nil: a host access to host
		host     uint32 // buffer for a host access
		want     uint32
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"read after write", []step{{dispatch: []use{r(1), w(2)}}, {dispatch: []use{r(2), w(3)}, want: ssbo}}},
		{"ubo read after write", []step{{dispatch: []use{w(2)}}, {dispatch: []use{u(2), w(3)}, want: ubo}}},
		{"write after read", []step{{dispatch: []use{r(1), w(2)}}, {dispatch: []use{w(1)}, want: ssbo}}},
		{"write after write", []step{{dispatch: []use{w(2)}}, {dispatch: []use{w(2)}, want: ssbo}}},
		{"independent", []step{{dispatch: []use{r(1), w(2)}}, {dispatch: []use{r(1), w(3)}}, {dispatch: []use{u(1), w(4)}}}},
		{"download after write", []step{{dispatch: []use{w(2)}}, {host: 2, want: upd}, {host: 2}}},
		{"download of untouched", []step{{dispatch: []use{w(2)}}, {host: 1}}},
		{"storage barrier keeps update pending", []step{
			// The update barrier for 2 also covers the earlier write of 3.
			{dispatch: []use{w(2)}}, {dispatch: []use{r(2), w(3)}, want: ssbo}, {host: 2, want: upd}, {host: 3}}},
		{"update barrier keeps storage pending", []step{
			{dispatch: []use{w(2)}}, {host: 2, want: upd}, {dispatch: []use{r(2)}, want: ssbo}, {dispatch: []use{u(2)}, want: ubo}}},
		{"barrier clears reads", []step{
			{dispatch: []use{w(2)}}, {dispatch: []use{r(2), r(5), w(3)}, want: ssbo}, {dispatch: []use{w(5)}, want: ssbo}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHazards()
			for i, s := range tt.steps {
				var got uint32
				if s.dispatch != nil {
					got = h.dispatch(s.dispatch)
				} else {
					got = h.host(s.host)
				}
				if got != s.want {
					t.Fatalf("step %d: bits %#x, want %#x", i, got, s.want)
				}
			}
		})
	}
	h := newHazards()
	h.dispatch([]use{w(7)})
	h.forget(7)
	if got := h.host(7); got != 0 {
		t.Errorf("forgotten buffer still pending: %#x", got)
	}
}
