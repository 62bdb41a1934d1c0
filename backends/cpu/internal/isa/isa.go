// Package isa is the run-time switch between the implementations of a
// kernel package of the CPU backend (pure Go, AVX2, AVX-512): each package
// (gemm, vec, dwconv) names its own ISA values and what the CPU supports,
// and keeps a Toggle that its kernels read on every call and tests flip.
package isa

import (
	"fmt"
	"sync/atomic"
)

// Toggle holds the implementation a kernel package uses. Its zero value
// is not usable; make one with New.
type Toggle[T ~int32] struct {
	pkg       string
	supported func(T) bool
	best      T
	cur       atomic.Int32
}

// New returns a toggle set to the first of prefer that supported accepts,
// or to the zero value of T (by convention the pure Go implementation,
// always available). pkg prefixes error messages.
func New[T ~int32](pkg string, supported func(T) bool, prefer ...T) *Toggle[T] {
	t := &Toggle[T]{pkg: pkg, supported: supported}
	for _, v := range prefer {
		if supported(v) {
			t.best = v
			break
		}
	}
	t.cur.Store(int32(t.best))
	return t
}

// Detected returns the implementation New chose: the best supported one.
func (t *Toggle[T]) Detected() T { return t.best }

// Current returns the implementation in use.
func (t *Toggle[T]) Current() T { return T(t.cur.Load()) }

// Set makes later kernel calls use v and returns a function that restores
// the previous choice. It is meant for tests and benchmarks: calls already
// running are not affected. It fails if v is not supported.
func (t *Toggle[T]) Set(v T) (restore func(), err error) {
	if !t.supported(v) {
		return nil, fmt.Errorf("%s: ISA %v not supported on this CPU/build", t.pkg, v)
	}
	prev := t.cur.Swap(int32(v))
	return func() { t.cur.Store(prev) }, nil
}
