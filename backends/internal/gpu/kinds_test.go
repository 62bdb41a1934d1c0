package gpu

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	_ "github.com/qgpu/qgpu/backends/cpu"
	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/tests"
)

// TestPlanEveryKind fails when the planner has no kernel for an op kind:
// for every kind of backend.OpKinds, the ops of the kind's first
// conformance case (recorded on a CPU engine) must plan, as the GPU
// backends' half of the suite's TestOpKindsComplete.
func TestPlanEveryKind(t *testing.T) {
	e, err := engine.New(engine.Config{Backend: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	first := map[string]tests.Case{}
	for _, c := range tests.Cases() {
		if _, ok := first[c.Op]; !ok && c.Build != nil {
			first[c.Op] = c
		}
	}
	for _, k := range backend.OpKinds() {
		c, ok := first[k.String()]
		if !ok {
			t.Errorf("%v: no conformance case (TestOpKindsComplete says more)", k)
			continue
		}
		var ins []*engine.Tensor
		for _, h := range c.Inputs(rand.New(rand.NewPCG(1, 2))) {
			x, err := e.Upload(h)
			if err != nil {
				t.Fatal(err)
			}
			ins = append(ins, x)
		}
		b := e.NewBatch()
		if _, err := c.Build(b, ins); err != nil {
			t.Fatalf("%v: %v", k, err)
		}
		planned := false
		for _, op := range b.Ops() {
			if op.Kind() != k {
				continue
			}
			if _, err := PlanOp(op); err != nil {
				t.Errorf("%v (case %s): %v", k, c.Name, err)
			}
			planned = true
		}
		if !planned {
			t.Errorf("%v: case %s records no op of the kind", k, c.Name)
		}
		if err := b.Run(context.Background()); err != nil && !errors.Is(err, engine.ErrUnsupported) {
			t.Fatal(err)
		}
		b.Release()
		for _, x := range ins {
			x.Release()
		}
	}
}
