package tests

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
)

// composites are the case labels (Case.Op) that are not op kinds: ops the
// engine composes from several kinds, and multi-op batches.
var composites = []string{"DynamicQuantizeLinear", "Chain"}

// opKindChecks are the places that must handle every op kind, each given
// the kind and its first conformance case and returning why it does not
// (nil when it does). A new place (the GPU planner, docs/semantics.md) is
// one more entry.
var opKindChecks = []struct {
	name  string
	check func(k backend.OpKind, c Case) error
}{
	{"CPU backend dispatch, fast kernels", cpuRuns("fast")},
	{"CPU backend dispatch, generic kernels", cpuRuns("generic")},
	{"docs/semantics.md", documented},
}

// documented checks that docs/semantics.md has a section naming the kind
// (a heading holding `Op<Name>`).
func documented(k backend.OpKind, _ Case) error {
	b, err := os.ReadFile("../docs/semantics.md")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "#") && strings.Contains(line, "`Op"+k.String()+"`") {
			return nil
		}
	}
	return fmt.Errorf("no heading naming `Op%s`: document the op's exact semantics there", k)
}

// TestOpKindsComplete fails when an op kind of backend.OpKinds has no
// conformance case (a Case whose Op is the kind's name), or when a place
// of opKindChecks misses it; and when a case label is neither a kind nor
// one of the composites. It is the suite's counterpart of a static
// assertion on the number of op kinds: adding a kind without its case and
// its kernels fails here.
func TestOpKindsComplete(t *testing.T) {
	first := map[string]Case{}
	for _, c := range Cases() {
		if _, ok := first[c.Op]; !ok {
			first[c.Op] = c
		}
	}
	kinds := map[string]bool{}
	for _, k := range backend.OpKinds() {
		kinds[k.String()] = true
		t.Run(k.String(), func(t *testing.T) {
			c, ok := first[k.String()]
			if !ok {
				t.Fatalf("no conformance case: add cases with Case.Op %q", k)
			}
			for _, ch := range opKindChecks {
				if err := ch.check(k, c); err != nil {
					t.Errorf("%s: %v", ch.name, err)
				}
			}
		})
	}
	for op := range first {
		if !kinds[op] && !slices.Contains(composites, op) {
			t.Errorf("case label %q is neither an op kind nor one of %v", op, composites)
		}
	}
}

// cpuRuns returns a check that runs the case on the CPU backend with the
// given kernel set, recording the kinds of the ops the backend receives:
// the case must pass (a kind the dispatch has no kernel for is
// unsupported, a failure here) and must have sent the kind.
func cpuRuns(kernels string) func(k backend.OpKind, c Case) error {
	return func(k backend.OpKind, c Case) error {
		r, err := newRunner(engine.Config{Backend: recorderName, Kernels: kernels}, Options{Require: true})
		if err != nil {
			return err
		}
		defer r.close()
		res := r.run(context.Background(), c)
		if res.Status != Pass {
			return fmt.Errorf("case %s/%s: %v: %s", c.Op, c.Name, res.Status, res.Detail)
		}
		if sent := r.tgt.Backend().(*recorder).sent(); !slices.Contains(sent, k) {
			return fmt.Errorf("case %s/%s sent the backend %v, not %v", c.Op, c.Name, sent, k)
		}
		return nil
	}
}

// recorderName is the test-only backend that records op kinds.
const recorderName = "cpu-recorder"

func init() {
	backend.Register(recorderName, 0, func(o backend.Options) (backend.Backend, error) {
		b, err := backend.Open("cpu", o)
		if err != nil {
			return nil, err
		}
		return &recorder{Backend: b}, nil
	})
}

// recorder is a CPU backend that records the kinds of the ops it runs,
// and the (input, output) layouts of its Convs and Pools.
type recorder struct {
	backend.Backend
	mu      sync.Mutex
	kinds   []backend.OpKind
	layouts map[layoutUse]bool
}

// layoutUse is an op kind run with an input and an output layout.
type layoutUse struct {
	kind   backend.OpKind
	xl, yl backend.Layout
}

func (r *recorder) Run(ctx context.Context, ops []backend.Op) error {
	r.mu.Lock()
	for _, op := range ops {
		if !slices.Contains(r.kinds, op.Kind()) {
			r.kinds = append(r.kinds, op.Kind())
		}
		if r.layouts == nil {
			r.layouts = map[layoutUse]bool{}
		}
		switch o := op.(type) {
		case *backend.Conv:
			r.layouts[layoutUse{o.Kind(), o.XLayout, o.YLayout}] = true
		case *backend.Pool:
			r.layouts[layoutUse{o.Kind(), o.XLayout, o.YLayout}] = true
		}
	}
	r.mu.Unlock()
	return r.Backend.Run(ctx, ops)
}

// layoutKinds are the op kinds that take a layout for their input and
// output (ConvOptions, PoolOptions).
var layoutKinds = []backend.OpKind{backend.OpConv, backend.OpMaxPool, backend.OpAvgPool}

// TestLayoutsComplete fails unless the conformance cases run every op kind
// that takes layouts with every (input, output) layout pair, so that every
// backend is compared with the reference on each.
func TestLayoutsComplete(t *testing.T) {
	r, err := newRunner(engine.Config{Backend: recorderName}, Options{Require: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	for _, c := range Cases() {
		if res := r.run(context.Background(), c); res.Status != Pass {
			t.Fatalf("case %s/%s: %v: %s", c.Op, c.Name, res.Status, res.Detail)
		}
	}
	rec := r.tgt.Backend().(*recorder)
	for _, k := range layoutKinds {
		for _, xl := range []backend.Layout{backend.NCHW, backend.NHWC} {
			for _, yl := range []backend.Layout{backend.NCHW, backend.NHWC} {
				if !rec.layouts[layoutUse{k, xl, yl}] {
					t.Errorf("no conformance case runs %v with input %v and output %v", k, xl, yl)
				}
			}
		}
	}
}

// sent returns the kinds of the ops run so far.
func (r *recorder) sent() []backend.OpKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.kinds)
}
