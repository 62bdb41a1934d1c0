package glrt

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// owner is one goroutine locked to one OS thread that runs queued functions.
// It knows nothing about GL, so it is tested on its own.
type owner struct {
	reqs     chan request
	quit     chan struct{} // closed by stop
	exited   chan struct{} // closed when the goroutine has returned
	stopOnce sync.Once
	stopErr  error // result of the cleanup function, valid after exited
	tid      int   // OS thread id of the owner (0 where unknown)
}

type request struct {
	fn   func() error
	done chan error
}

// startOwner starts the goroutine, locks it to its thread and runs setup there.
// If setup fails the goroutine returns (its thread exits with it, taking any
// thread-local state along) and startOwner returns the error. Otherwise it serves
// functions until stop, then runs cleanup on the same thread.
func startOwner(setup func() error, cleanup func() error) (*owner, error) {
	o := &owner{
		reqs:   make(chan request),
		quit:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	ready := make(chan error, 1)
	go func() {
		// Never unlocked: when this goroutine returns, the runtime ends the
		// thread, so a half-torn-down context cannot leak to other goroutines.
		runtime.LockOSThread()
		o.tid = threadID()
		defer close(o.exited)
		if err := safeCall(setup); err != nil {
			ready <- err
			return
		}
		ready <- nil
		for {
			select {
			case r := <-o.reqs:
				r.done <- safeCall(r.fn)
			case <-o.quit:
				o.stopErr = safeCall(cleanup)
				return
			}
		}
	}()
	if err := <-ready; err != nil {
		<-o.exited
		return nil, err
	}
	return o, nil
}

// safeCall runs fn, turning a panic into an error so the owner thread survives.
func safeCall(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("glrt: panic on the GL thread: %v", r)
		}
	}()
	if fn == nil {
		return nil
	}
	return fn()
}

// do runs fn on the owner thread and waits for it. After stop it returns ErrClosed.
func (o *owner) do(fn func() error) error {
	if o.tid != 0 && threadID() == o.tid {
		// Only the owner goroutine runs on its locked thread: waiting for
		// ourselves would hang forever.
		return errReentrant
	}
	r := request{fn: fn, done: make(chan error, 1)}
	select {
	case o.reqs <- r:
		// The owner received r (the channel is unbuffered), so it will answer.
		return <-r.done
	case <-o.quit:
		return ErrClosed
	}
}

var errReentrant = errors.New("glrt: called from a function running on the context's own GL thread (inside Do); that would deadlock")

// stop makes the owner run cleanup and return; safe to call many times and
// from many goroutines; every call waits for the end and returns cleanup's error.
func (o *owner) stop() error {
	if o.tid != 0 && threadID() == o.tid {
		return errReentrant
	}
	o.stopOnce.Do(func() { close(o.quit) })
	<-o.exited
	return o.stopErr
}
