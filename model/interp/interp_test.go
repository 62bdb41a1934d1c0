package interp_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"testing"
	"weak"

	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/model/interp"
)

func chain(t *testing.T, n int) *graph.Graph {
	t.Helper()
	// x -> Neg -> v1 -> Neg -> v2 ... -> vn, with vn and v1 outputs.
	def := &graph.Graph{Opset: 13,
		Inputs:  []graph.Value{{Name: "x", DType: graph.Float32, Dims: []graph.Dim{{Value: 1 << 16}}}},
		Outputs: []graph.Value{{Name: "v1"}, {Name: vname(n)}},
	}
	prev := "x"
	for i := 1; i <= n; i++ {
		def.Nodes = append(def.Nodes, &graph.Node{OpType: "Neg", Inputs: []string{prev}, Outputs: []string{vname(i)}})
		prev = vname(i)
	}
	g, err := graph.Build(def, graph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func vname(i int) string { return "v" + string(rune('0'+i)) }

func input(n int) *graph.Tensor {
	x, _ := graph.NewTensor(graph.Float32, []int{n})
	for i := range x.F32 {
		x.F32[i] = float32(i)
	}
	return x
}

// TestReleaseAfterLastUse: when v4 is observed, v2 and v3 (consumed: v3
// by the node that made v4) must be unreachable from the interpreter, v1
// (a graph output) must not.
func TestReleaseAfterLastUse(t *testing.T) {
	g := chain(t, 5)
	refs := map[string]weak.Pointer[graph.Tensor]{}
	var alive map[string]bool
	obs := func(name string, x *graph.Tensor) error {
		refs[name] = weak.Make(x)
		if name == "v4" {
			runtime.GC()
			runtime.GC()
			alive = map[string]bool{}
			for k, p := range refs {
				alive[k] = p.Value() != nil
			}
		}
		return nil
	}
	x := input(1 << 16)
	out, err := interp.Run(context.Background(), g, map[string]*graph.Tensor{"x": x}, &interp.Options{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	if alive["v2"] || alive["v3"] {
		t.Errorf("consumed intermediates still reachable at v4: %v", alive)
	}
	if !alive["v1"] || !alive["v4"] {
		t.Errorf("needed values not reachable at v4: %v", alive)
	}
	if out["v1"].F32[3] != -3 || out["v5"].F32[3] != -3 {
		t.Errorf("outputs %v %v", out["v1"].F32[3], out["v5"].F32[3])
	}
}

func TestObserverSeesEveryValue(t *testing.T) {
	g := chain(t, 4)
	var names []string
	obs := func(name string, x *graph.Tensor) error {
		names = append(names, name)
		return nil
	}
	if _, err := interp.Run(context.Background(), g, map[string]*graph.Tensor{"x": input(1 << 16)}, &interp.Options{Observer: obs}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"x", "v1", "v2", "v3", "v4"}; !slices.Equal(names, want) {
		t.Fatalf("observed %v, want %v", names, want)
	}
	stop := errors.New("stop")
	_, err := interp.Run(context.Background(), g, map[string]*graph.Tensor{"x": input(1 << 16)}, &interp.Options{
		Observer: func(name string, _ *graph.Tensor) error {
			if name == "v2" {
				return stop
			}
			return nil
		}})
	if !errors.Is(err, stop) {
		t.Fatalf("observer error: got %v", err)
	}
}

func TestRunErrors(t *testing.T) {
	g := chain(t, 2)
	ctx := context.Background()
	if _, err := interp.Run(ctx, g, nil, nil); !errors.Is(err, graph.ErrParams) {
		t.Errorf("missing input: %v", err)
	}
	if _, err := interp.Run(ctx, g, map[string]*graph.Tensor{"x": input(3)}, nil); !errors.Is(err, graph.ErrShape) {
		t.Errorf("wrong shape: %v", err)
	}
	bad := input(1 << 16)
	bad.F32 = bad.F32[:5]
	if _, err := interp.Run(ctx, g, map[string]*graph.Tensor{"x": bad}, nil); !errors.Is(err, graph.ErrShape) {
		t.Errorf("short data: %v", err)
	}
	if _, err := interp.Run(ctx, g, map[string]*graph.Tensor{"x": input(1 << 16), "y": input(1)}, nil); !errors.Is(err, graph.ErrParams) {
		t.Errorf("unknown input: %v", err)
	}
	if _, err := interp.Run(ctx, &graph.Graph{}, nil, nil); !errors.Is(err, graph.ErrParams) {
		t.Errorf("unbuilt graph: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := interp.Run(cctx, g, map[string]*graph.Tensor{"x": input(1 << 16)}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// Cancellation between nodes: the observer of v1 cancels.
	cctx, cancel = context.WithCancel(ctx)
	n := 0
	_, err := interp.Run(cctx, g, map[string]*graph.Tensor{"x": input(1 << 16)}, &interp.Options{
		Observer: func(name string, _ *graph.Tensor) error {
			n++
			if name == "v1" {
				cancel()
			}
			return nil
		}})
	if !errors.Is(err, context.Canceled) || n != 2 {
		t.Errorf("cancel after v1: err %v after %d observations", err, n)
	}
}

// TestRuntimeIndexError: a Gather index out of range at run time is an
// error, not a panic.
func TestRuntimeIndexError(t *testing.T) {
	def := &graph.Graph{Opset: 13,
		Inputs: []graph.Value{{Name: "x", DType: graph.Float32, Dims: []graph.Dim{{Value: 3}}},
			{Name: "i", DType: graph.Int64, Dims: []graph.Dim{{Value: 1}}}},
		Outputs: []graph.Value{{Name: "y"}},
		Nodes:   []*graph.Node{{OpType: "Gather", Inputs: []string{"x", "i"}, Outputs: []string{"y"}}},
	}
	g, err := graph.Build(def, graph.Options{})
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := graph.FromInt64([]int{1}, []int64{-1})
	out, err := interp.Run(context.Background(), g, map[string]*graph.Tensor{"x": input(3), "i": idx}, nil)
	if err != nil || out["y"].F32[0] != 2 {
		t.Fatalf("index -1: %v %v", out, err)
	}
	idx.I64[0] = 3
	if _, err := interp.Run(context.Background(), g, map[string]*graph.Tensor{"x": input(3), "i": idx}, nil); !errors.Is(err, graph.ErrParams) {
		t.Fatalf("index 3: %v", err)
	}
}
