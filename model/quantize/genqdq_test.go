package quantize

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// TestAgainstGenQDQ compares the QDQ model of the Fashion-MNIST CNN with
// the one model/testdata/qdq/gen_qdq.py wrote from the same 64 images
// (fashion_cnn.gen_qdq.onnx, gen_fixtures.sh): an independent numpy
// reproduction of ONNX Runtime's quantize_static (QDQ, MinMax). The node
// set (op types, names, inputs, outputs, attributes) and the initializers'
// names, types and shapes must be identical, and so must every int8/uint8
// value (weights, zero points). Declared differences:
//
//   - activation scales may differ by a few float32 ulps: gen_qdq runs the
//     model in float64 and computes the scale as ORT does (in float64,
//     rounded once), qgpu runs it in float32 and uses PyTorch's float32
//     rule (as `qgpu calibrate` does); bound 8 ulps;
//   - so the int32 biases (rounded with scale = input scale x weight
//     scale) may differ by one, and their scales by a few ulps;
//   - the node order (both topological, each tool its own).
func TestAgainstGenQDQ(t *testing.T) {
	x := fashionImages(t)
	res, err := QuantizeModel(context.Background(), loadFashion(t), split(t, x, 64), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := onnx.Load(filepath.Join(fashionDir, "fashion_cnn.gen_qdq.onnx"), onnx.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nodes := func(m *onnxpb.ModelProto) []string {
		var out []string
		for _, n := range m.GetGraph().GetNode() {
			s := fmt.Sprintf("%s %q %q -> %q", n.GetOpType(), n.GetName(), n.Input, n.Output)
			for _, a := range n.Attribute {
				s += fmt.Sprintf(" %s=%v/%v/%v", a.GetName(), a.GetI(), a.GetF(), a.GetInts())
			}
			out = append(out, s)
		}
		sort.Strings(out)
		return out
	}
	if g, w := nodes(res.Model), nodes(want); !slices.Equal(g, w) {
		for _, s := range g {
			if !slices.Contains(w, s) {
				t.Errorf("qgpu only: %s", s)
			}
		}
		for _, s := range w {
			if !slices.Contains(g, s) {
				t.Errorf("gen_qdq only: %s", s)
			}
		}
	}
	inits := func(m *onnxpb.ModelProto) map[string]*onnx.Tensor {
		out := map[string]*onnx.Tensor{}
		for _, tp := range m.GetGraph().GetInitializer() {
			ot, err := onnx.TensorFromProto(tp)
			if err != nil {
				t.Fatal(err)
			}
			out[tp.GetName()] = ot
		}
		return out
	}
	gi, wi := inits(res.Model), inits(want)
	if len(gi) != len(wi) {
		t.Errorf("%d initializers, gen_qdq %d", len(gi), len(wi))
	}
	maxULP, maxBias := 0, 0
	for name, w := range wi {
		g := gi[name]
		if g == nil {
			t.Errorf("no initializer %q", name)
			continue
		}
		if g.Type != w.Type || !slices.Equal(g.Dims, w.Dims) {
			t.Errorf("%s: %v%v, gen_qdq %v%v", name, g.Type, g.Dims, w.Type, w.Dims)
			continue
		}
		switch gv := g.Values().(type) {
		case []float32:
			wv := w.Values().([]float32)
			for i := range gv {
				d := ulps(gv[i], wv[i])
				maxULP = max(maxULP, d)
				if d > 8 {
					t.Errorf("%s[%d]: %v, gen_qdq %v (%d ulps)", name, i, gv[i], wv[i], d)
				}
			}
		case []int32:
			wv := w.Values().([]int32)
			for i := range gv {
				d := int(math.Abs(float64(gv[i]) - float64(wv[i])))
				maxBias = max(maxBias, d)
				if d > 1 {
					t.Errorf("%s[%d]: %d, gen_qdq %d", name, i, gv[i], wv[i])
				}
			}
		case []int8:
			if !slices.Equal(gv, w.Values().([]int8)) {
				t.Errorf("%s: int8 values differ", name)
			}
		case []uint8:
			if !slices.Equal(gv, w.Values().([]uint8)) {
				t.Errorf("%s: uint8 values differ", name)
			}
		default:
			t.Errorf("%s: type %T", name, gv)
		}
	}
	t.Logf("vs gen_qdq: scales within %d ulps, int32 biases within %d", maxULP, maxBias)
}

// ulps is the distance of two finite float32 of the same sign in units in
// the last place.
func ulps(a, b float32) int {
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if (a < 0) != (b < 0) {
		return math.MaxInt32
	}
	d := ia - ib
	if d < 0 {
		d = -d
	}
	return int(min(d, math.MaxInt32))
}
