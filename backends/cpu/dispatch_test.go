package cpu

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/qgpu/qgpu/engine/backend"
)

// genericOnly lists the op kinds that have no fast kernel: their ops
// always run the generic kernel. A kind added to package backend without a
// fast kernel fails TestDispatchTable until it is listed here, so the
// fallback is a decision, not an accident.
//
// Lookup and Concat are byte loops (a table load or a copy per byte) that
// the Go compiler already turns into the memory-bound loop a SIMD kernel
// would be.
var genericOnly = []backend.OpKind{backend.OpByteWeightDequant, backend.OpLookup, backend.OpConcat}

// TestDispatchTable checks that every op kind has a generic kernel, and
// that exactly the kinds of genericOnly lack a fast one.
func TestDispatchTable(t *testing.T) {
	for _, k := range backend.OpKinds() {
		ks, ok := kernelsFor(k)
		if !ok {
			t.Errorf("%v: no generic kernel in the dispatch table", k)
			continue
		}
		if got, want := ks.fast == nil, slices.Contains(genericOnly, k); got != want {
			t.Errorf("%v: fast kernel missing = %v, genericOnly lists it = %v", k, got, want)
		}
	}
	if _, ok := kernelsFor(0); ok {
		t.Error("op kind 0 has kernels")
	}
	if _, ok := kernelsFor(backend.OpKind(len(dispatch))); ok {
		t.Error("an op kind past the table has kernels")
	}
}

// wrongOp is an op whose kind names another op type.
type wrongOp struct{ backend.Add }

func (*wrongOp) Kind() backend.OpKind { return backend.OpGemm }

// TestDispatchUnsupported checks that an op the table has no kernel for,
// or whose type is not its kind's, is unsupported (not a panic) on both
// kernel sets.
func TestDispatchUnsupported(t *testing.T) {
	for _, kernels := range []string{"fast", "generic"} {
		b, err := New(backend.Options{Kernels: kernels})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		for _, op := range []backend.Op{kindless{&backend.Add{}}, &wrongOp{}} {
			err := b.run(context.Background(), op)
			if !errors.Is(err, backend.ErrUnsupported) {
				t.Errorf("%s kernels, %T (kind %v): %v, want ErrUnsupported", kernels, op, op.Kind(), err)
			}
		}
	}
}

// kindless is an op of kind 0.
type kindless struct{ backend.Op }

func (kindless) Kind() backend.OpKind { return 0 }
