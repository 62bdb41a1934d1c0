// Package isa names the implementations of the CPU backend's kernel
// packages (gemm, vec, dwconv) and holds the run-time switch between them:
// one ISA type for all three, so that the backend switches them together
// without mapping one package's values onto another's.
//
// The values are ordered: Generic (pure Go, always available) < AVX2 <
// AVX512. What a level needs of the CPU is each package's business (its
// Supported function says, and its doc.go explains): gemm's AVX512 kernels
// need AVX-512 F, BW and VNNI, vec's AVX-512 F, dwconv's F, BW, VNNI and
// BMI2. A package keeps a Toggle that its kernels read on every call and
// that tests and benchmarks flip.
package isa

import (
	"fmt"
	"sync/atomic"
)

// ISA names an implementation of a kernel package.
type ISA int32

const (
	// Generic is the pure Go implementation. Always available; it defines
	// the expected results.
	Generic ISA = iota
	// AVX2 is the AVX2 implementation (ymm vectors).
	AVX2
	// AVX512 is the AVX-512 implementation (zmm vectors and opmasks);
	// the extensions it needs besides F depend on the package.
	AVX512
)

// All lists the implementations from the best to Generic.
var All = []ISA{AVX512, AVX2, Generic}

// String returns the name of the ISA: "generic", "avx2" or "avx512".
func (i ISA) String() string {
	switch i {
	case Generic:
		return "generic"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	}
	return fmt.Sprintf("ISA(%d)", int32(i))
}

// Toggle holds the implementation a kernel package uses. Its zero value
// is not usable; make one with New.
type Toggle struct {
	pkg       string
	supported func(ISA) bool
	best      ISA
	cur       atomic.Int32
}

// New returns a toggle set to the best implementation that supported
// accepts (Generic when it accepts no other). pkg prefixes error messages.
func New(pkg string, supported func(ISA) bool) *Toggle {
	t := &Toggle{pkg: pkg, supported: supported, best: Generic}
	for _, v := range All {
		if v != Generic && supported(v) {
			t.best = v
			break
		}
	}
	t.cur.Store(int32(t.best))
	return t
}

// Supported reports whether v can run on this CPU and build: Generic
// always, the others as the package's supported function says.
func (t *Toggle) Supported(v ISA) bool { return v == Generic || t.supported(v) }

// Detected returns the implementation New chose: the best supported one.
func (t *Toggle) Detected() ISA { return t.best }

// Current returns the implementation in use.
func (t *Toggle) Current() ISA { return ISA(t.cur.Load()) }

// Set makes later kernel calls use v and returns a function that restores
// the previous choice. It is meant for tests and benchmarks: calls already
// running are not affected. It fails if v is not supported.
func (t *Toggle) Set(v ISA) (restore func(), err error) {
	if !t.Supported(v) {
		return nil, fmt.Errorf("%s: ISA %v not supported on this CPU/build", t.pkg, v)
	}
	prev := t.cur.Swap(int32(v))
	return func() { t.cur.Store(prev) }, nil
}

// AtMost returns the best implementation at or below v that supported
// accepts (Generic at least): what a kernel package runs when the backend
// as a whole is switched to v.
func AtMost(supported func(ISA) bool, v ISA) ISA {
	for _, w := range All {
		if w <= v && (w == Generic || supported(w)) {
			return w
		}
	}
	return Generic
}
