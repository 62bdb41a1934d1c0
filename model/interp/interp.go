package interp

import (
	"context"
	"fmt"
	"runtime"
	"slices"

	"github.com/qgpu/qgpu/model/graph"
)

// Observer is called with every value of a run as soon as it exists: the
// graph inputs first (in the graph's order), then each node output right
// after its node ran, in node order. It must not modify t, and must copy
// what it wants to keep beyond the call: the interpreter drops its own
// reference to a value after the value's last consumer. Constants
// (initializers, and everything folded into them when the graph was
// built) are not observed. An error from the observer ends the run with
// that error.
type Observer func(name string, t *graph.Tensor) error

// Options control a run. The zero value is ready to use.
type Options struct {
	// Observer, if set, sees every input and intermediate value.
	Observer Observer
	// Workers bounds the goroutines a kernel uses for its own loops
	// (0: GOMAXPROCS). Results are bit for bit the same for every value.
	// The GEMMs (gonum) parallelise on their own, up to GOMAXPROCS.
	Workers int
}

// Run evaluates a built graph on inputs (one tensor per graph input, of
// the type and shape g.Values gives it) and returns the graph outputs by
// name. ctx is checked before every node; a cancelled run returns
// ctx.Err().
//
// Intermediate values are released after their last consumer (graph
// outputs are kept), so at any time a run holds only the values that some
// later node still needs. Returned tensors may share data with g's
// initializers or with inputs (an output that is a Reshape of one, say);
// Clone one before modifying it.
func Run(ctx context.Context, g *graph.Graph, inputs map[string]*graph.Tensor, opts *Options) (map[string]*graph.Tensor, error) {
	if g == nil || !g.Built() {
		return nil, fmt.Errorf("%w: interp: graph not built (use graph.Build or graph.FromONNX)", graph.ErrParams)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	for name := range inputs {
		if !slices.ContainsFunc(g.Inputs, func(v graph.Value) bool { return v.Name == name }) {
			return nil, fmt.Errorf("%w: interp: graph has no input %q", graph.ErrParams, name)
		}
	}
	vals := make(map[string]*graph.Tensor, len(g.Inputs))
	for _, in := range g.Inputs {
		t, ok := inputs[in.Name]
		if !ok {
			return nil, fmt.Errorf("%w: interp: input %q is missing", graph.ErrParams, in.Name)
		}
		if err := g.CheckInput(in.Name, t); err != nil {
			return nil, fmt.Errorf("interp: %w", err)
		}
		vals[in.Name] = t
	}
	if o.Observer != nil {
		for _, in := range g.Inputs {
			if err := o.Observer(in.Name, vals[in.Name]); err != nil {
				return nil, err
			}
		}
	}

	// last[v] is the index of the last node reading v.
	isOut := map[string]bool{}
	for _, out := range g.Outputs {
		isOut[out.Name] = true
	}
	last := map[string]int{}
	for i, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != "" {
				last[in] = i
			}
		}
	}
	release := func(name string) {
		if !isOut[name] {
			delete(vals, name)
		}
	}

	for i, n := range g.Nodes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		args := make([]*graph.Tensor, len(n.Inputs))
		for j, name := range n.Inputs {
			if name == "" {
				continue
			}
			t := vals[name]
			if t == nil {
				t = g.Initializers[name]
			}
			if t == nil {
				return nil, fmt.Errorf("%w: interp: %v input %q has no value (graph modified after Build?)", graph.ErrParams, n, name)
			}
			args[j] = t
		}
		res, err := g.EvalNode(i, args, workers)
		if err != nil {
			return nil, fmt.Errorf("interp: %w", err)
		}
		for j, name := range n.Outputs {
			if name == "" {
				continue
			}
			t := res[j]
			if want := g.Values[name]; t == nil || t.DType != want.DType || !slices.Equal(t.Shape, want.Shape) {
				return nil, fmt.Errorf("%w: interp: %v output %q is %v, shape inference said %v (a bug in package graph)", graph.ErrShape, n, name, t, want)
			}
			vals[name] = t
		}
		// The inputs this node was the last to read go before the
		// observer sees the outputs.
		for _, name := range n.Inputs {
			if name != "" && last[name] == i {
				release(name)
			}
		}
		for _, name := range n.Outputs {
			if name == "" {
				continue
			}
			if o.Observer != nil {
				if err := o.Observer(name, vals[name]); err != nil {
					return nil, err
				}
			}
			if _, used := last[name]; !used {
				release(name)
			}
		}
	}

	out := make(map[string]*graph.Tensor, len(g.Outputs))
	for _, v := range g.Outputs {
		t := vals[v.Name]
		if t == nil {
			t = g.Initializers[v.Name]
		}
		if t == nil {
			return nil, fmt.Errorf("%w: interp: output %q was not computed", graph.ErrParams, v.Name)
		}
		out[v.Name] = t
	}
	return out, nil
}
