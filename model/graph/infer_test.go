package graph

import (
	"fmt"
	"slices"
	"testing"
)

// arg is a node input of a one-node test graph: a graph input of the given
// shape, a constant, or absent.
type arg struct {
	shape  []int
	dt     DType
	value  *Tensor
	absent bool
}

func sh(s ...int) arg            { return arg{shape: s, dt: Float32} }
func shT(dt DType, s ...int) arg { return arg{shape: s, dt: dt} }
func cst(t *Tensor) arg          { return arg{value: t} }

var none = arg{absent: true}

// infer builds a graph with one node and returns its outputs' shapes.
func infer(opset int, op string, args []arg, nout int, attrs ...any) ([][]int, error) {
	g := &Graph{Opset: opset, Initializers: map[string]*Tensor{}}
	var names []string
	for i, a := range args {
		name := fmt.Sprintf("in%d", i)
		switch {
		case a.absent:
			name = ""
		case a.value != nil:
			g.Initializers[name] = a.value
		default:
			g.Inputs = append(g.Inputs, in(name, a.dt, dims(a.shape...)))
		}
		names = append(names, name)
	}
	var outs []string
	for i := 0; i < nout; i++ {
		outs = append(outs, fmt.Sprintf("out%d", i))
		g.Outputs = append(g.Outputs, out(outs[i]))
	}
	g.Nodes = []*Node{node(op, names, outs, attrs...)}
	b, err := Build(g, Options{})
	if err != nil {
		return nil, err
	}
	var res [][]int
	for _, o := range outs {
		res = append(res, b.Values[o].Shape)
	}
	return res, nil
}

// TestShapeInference checks inferred shapes against the ONNX formulas,
// worked out by hand for each case.
func TestShapeInference(t *testing.T) {
	cases := []struct {
		name  string
		opset int
		op    string
		args  []arg
		attrs []any
		want  [][]int
	}{
		// Conv: out = floor((in + pb + pe - ((k-1)*d + 1)) / s) + 1
		{"conv pads strides", 13, "Conv", []arg{sh(1, 3, 7, 5), sh(8, 3, 3, 3)},
			[]any{"pads", []int64{1, 0, 1, 0}, "strides", []int64{2, 2}}, [][]int{{1, 8, 4, 2}}},
		{"conv dilations", 13, "Conv", []arg{sh(2, 4, 10, 10), sh(6, 2, 3, 3), sh(6)},
			[]any{"dilations", []int64{2, 3}, "group", 2}, [][]int{{2, 6, 6, 4}}},
		// SAME_UPPER: out = ceil(in / s)
		{"conv same_upper", 13, "Conv", []arg{sh(1, 1, 7, 8), sh(1, 1, 3, 3)},
			[]any{"auto_pad", "SAME_UPPER", "strides", []int64{2, 3}}, [][]int{{1, 1, 4, 3}}},
		{"conv valid 1d", 13, "Conv", []arg{sh(1, 2, 9), sh(4, 2, 4)},
			[]any{"auto_pad", "VALID", "strides", []int64{2}}, [][]int{{1, 4, 3}}},
		{"conv 3d", 13, "Conv", []arg{sh(1, 1, 4, 5, 6), sh(2, 1, 2, 2, 2)}, nil, [][]int{{1, 2, 3, 4, 5}}},
		// ConvTranspose: s*(in-1) + op + (k-1)*d + 1 - pb - pe
		{"convtranspose", 13, "ConvTranspose", []arg{sh(1, 2, 3, 3), sh(2, 3, 3, 3)},
			[]any{"strides", []int64{3, 2}, "output_padding", []int64{1, 1}, "pads", []int64{1, 0, 1, 0}}, [][]int{{1, 3, 8, 8}}},
		{"convtranspose output_shape", 13, "ConvTranspose", []arg{sh(1, 1, 3, 3), sh(1, 2, 3, 3)},
			[]any{"strides", []int64{3, 2}, "output_shape", []int64{10, 8}}, [][]int{{1, 2, 10, 8}}},
		{"convtranspose group", 13, "ConvTranspose", []arg{sh(1, 4, 5), sh(4, 3, 2)},
			[]any{"group", 2}, [][]int{{1, 6, 6}}},
		// Pools: ceil_mode rounds up, the last window must start inside.
		{"maxpool ceil", 13, "MaxPool", []arg{sh(1, 1, 4, 4)},
			[]any{"kernel_shape", []int64{3, 3}, "strides", []int64{2, 2}, "ceil_mode", 1}, [][]int{{1, 1, 2, 2}}},
		// windows would start at -1, 1, 3, 5: the one at 5 lies in the
		// trailing padding only, so ceil's fourth output is dropped.
		{"maxpool ceil last window", 13, "MaxPool", []arg{sh(1, 1, 5)},
			[]any{"kernel_shape", []int64{2}, "strides", []int64{2}, "pads", []int64{1, 1}, "ceil_mode", 1}, [][]int{{1, 1, 3}}},
		{"avgpool floor", 13, "AveragePool", []arg{sh(1, 1, 5, 5)},
			[]any{"kernel_shape", []int64{2, 2}, "strides", []int64{2, 2}}, [][]int{{1, 1, 2, 2}}},
		{"globalavgpool", 13, "GlobalAveragePool", []arg{sh(2, 3, 4, 5)}, nil, [][]int{{2, 3, 1, 1}}},
		{"gemm trans", 13, "Gemm", []arg{sh(4, 3), sh(5, 4), sh(5)}, []any{"transA", 1, "transB", 1}, [][]int{{3, 5}}},
		{"matmul broadcast", 13, "MatMul", []arg{sh(2, 1, 3, 4), sh(5, 4, 6)}, nil, [][]int{{2, 5, 3, 6}}},
		{"matmul vectors", 13, "MatMul", []arg{sh(4), sh(3, 4, 2)}, nil, [][]int{{3, 2}}},
		{"matmul vec right", 13, "MatMul", []arg{sh(3, 4), sh(4)}, nil, [][]int{{3}}},
		{"add broadcast", 13, "Add", []arg{sh(2, 1, 4), sh(3, 1)}, nil, [][]int{{2, 3, 4}}},
		{"where", 13, "Where", []arg{shT(Bool, 3, 1), sh(1, 4), sh(1)}, nil, [][]int{{3, 4}}},
		{"equal", 13, "Equal", []arg{shT(Int64, 3), shT(Int64, 1)}, nil, [][]int{{3}}},
		{"reshape 0 -1", 13, "Reshape", []arg{sh(2, 3, 4), cst(ints(0, -1))}, nil, [][]int{{2, 12}}},
		{"reshape allowzero", 14, "Reshape", []arg{sh(0, 3), cst(ints(3, 0))}, []any{"allowzero", 1}, [][]int{{3, 0}}},
		{"flatten", 13, "Flatten", []arg{sh(2, 3, 4, 5)}, []any{"axis", -2}, [][]int{{6, 20}}},
		{"flatten 0", 13, "Flatten", []arg{sh(2, 3)}, []any{"axis", 0}, [][]int{{1, 6}}},
		{"transpose", 13, "Transpose", []arg{sh(2, 3, 4)}, []any{"perm", []int64{1, 2, 0}}, [][]int{{3, 4, 2}}},
		{"transpose default", 13, "Transpose", []arg{sh(2, 3, 4)}, nil, [][]int{{4, 3, 2}}},
		{"concat", 13, "Concat", []arg{sh(2, 3), sh(2, 0), sh(2, 1)}, []any{"axis", -1}, [][]int{{2, 4}}},
		{"split input", 13, "Split", []arg{sh(2, 7), cst(ints(3, 4))}, []any{"axis", 1}, [][]int{{2, 3}, {2, 4}}},
		{"split even", 13, "Split", []arg{sh(6, 2)}, nil, [][]int{{2, 2}, {2, 2}, {2, 2}}},
		{"split attr", 11, "Split", []arg{sh(5)}, []any{"split", []int64{2, 3}}, [][]int{{2}, {3}}},
		{"split num_outputs", 18, "Split", []arg{sh(7)}, []any{"num_outputs", 3}, [][]int{{3}, {3}, {1}}},
		// Slice: clamped starts/ends, negative steps
		{"slice clamp", 13, "Slice", []arg{sh(10, 5), cst(ints(-3, 1)), cst(ints(1000, -1))}, nil, [][]int{{3, 3}}},
		{"slice step", 13, "Slice", []arg{sh(10), cst(ints(1)), cst(ints(10)), cst(ints(0)), cst(ints(3))}, nil, [][]int{{3}}},
		{"slice neg step", 13, "Slice", []arg{sh(10), cst(ints(-1)), cst(ints(-1000)), none, cst(ints(-2))}, nil, [][]int{{5}}},
		{"slice empty", 13, "Slice", []arg{sh(4, 4), cst(ints(3)), cst(ints(1)), cst(ints(1))}, nil, [][]int{{4, 0}}},
		{"slice attrs", 9, "Slice", []arg{sh(4, 4)}, []any{"starts", []int64{1}, "ends", []int64{3}, "axes", []int64{1}}, [][]int{{4, 2}}},
		{"squeeze axes", 13, "Squeeze", []arg{sh(1, 3, 1), cst(ints(-1))}, nil, [][]int{{1, 3}}},
		{"squeeze all", 13, "Squeeze", []arg{sh(1, 3, 1)}, nil, [][]int{{3}}},
		{"squeeze attr", 11, "Squeeze", []arg{sh(1, 3, 1)}, []any{"axes", []int64{0}}, [][]int{{3, 1}}},
		{"unsqueeze", 13, "Unsqueeze", []arg{sh(3, 4), cst(ints(0, -1))}, nil, [][]int{{1, 3, 4, 1}}},
		{"unsqueeze attr", 11, "Unsqueeze", []arg{sh(3)}, []any{"axes", []int64{1}}, [][]int{{3, 1}}},
		{"pad", 13, "Pad", []arg{sh(1, 2, 3), cst(ints(0, 1, 2, 0, 3, -1))}, []any{"mode", "reflect"}, [][]int{{1, 6, 4}}},
		{"pad attr", 10, "Pad", []arg{sh(2, 2)}, []any{"pads", []int64{1, 1, 1, 1}}, [][]int{{4, 4}}},
		{"expand", 13, "Expand", []arg{sh(3, 1), cst(ints(2, 1, 4))}, nil, [][]int{{2, 3, 4}}},
		{"tile", 13, "Tile", []arg{sh(2, 3), cst(ints(3, 2))}, nil, [][]int{{6, 6}}},
		{"gather", 13, "Gather", []arg{sh(5, 4, 3), shT(Int64, 2, 2)}, []any{"axis", 1}, [][]int{{5, 2, 2, 3}}},
		{"gather scalar index", 13, "Gather", []arg{sh(5, 4), cst(&Tensor{DType: Int64, Shape: []int{}, I64: []int64{-1}})}, nil, [][]int{{4}}},
		{"reduce keepdims", 13, "ReduceMean", []arg{sh(2, 3, 4)}, []any{"axes", []int64{1, -1}}, [][]int{{2, 1, 1}}},
		{"reduce no keep", 18, "ReduceMax", []arg{sh(2, 3, 4), cst(ints(0))}, []any{"keepdims", 0}, [][]int{{3, 4}}},
		{"reduce all", 13, "ReduceSum", []arg{sh(2, 3)}, []any{"keepdims", 0}, [][]int{{}}},
		{"argmax", 13, "ArgMax", []arg{sh(2, 3, 4)}, []any{"axis", -1, "keepdims", 0}, [][]int{{2, 3}}},
		{"resize scales", 13, "Resize", []arg{sh(1, 2, 3, 5), none, cst(f32s([]int{4}, 1, 1, 2, 0.5))}, nil, [][]int{{1, 2, 6, 2}}},
		{"resize sizes", 13, "Resize", []arg{sh(1, 1, 3, 5), none, none, cst(ints(1, 1, 7, 4))}, []any{"mode", "linear"}, [][]int{{1, 1, 7, 4}}},
		{"resize not_larger", 18, "Resize", []arg{sh(1, 1, 4, 6), none, none, cst(ints(8, 8))}, []any{"axes", []int64{2, 3}, "keep_aspect_ratio_policy", "not_larger"}, [][]int{{1, 1, 5, 8}}},
		{"shape slice", 15, "Shape", []arg{sh(2, 3, 4, 5)}, []any{"start", 1, "end", -1}, [][]int{{2}}},
		{"constantofshape", 13, "ConstantOfShape", []arg{cst(ints(2, 3))}, nil, [][]int{{2, 3}}},
		{"range", 13, "Range", []arg{cst(&Tensor{DType: Int64, Shape: []int{}, I64: []int64{10}}),
			cst(&Tensor{DType: Int64, Shape: []int{}, I64: []int64{1}}), cst(&Tensor{DType: Int64, Shape: []int{}, I64: []int64{-3}})}, nil, [][]int{{3}}},
		{"depthtospace", 13, "DepthToSpace", []arg{sh(1, 8, 2, 3)}, []any{"blocksize", 2}, [][]int{{1, 2, 4, 6}}},
		{"layernorm", 17, "LayerNormalization", []arg{sh(2, 3, 4), sh(4)}, nil, [][]int{{2, 3, 4}}},
		{"softmax", 13, "Softmax", []arg{sh(2, 3)}, nil, [][]int{{2, 3}}},
		{"quantize per axis", 13, "QuantizeLinear", []arg{sh(2, 3, 4), sh(3), shT(Int8, 3)}, nil, [][]int{{2, 3, 4}}},
		{"cast", 13, "Cast", []arg{sh(2, 2)}, []any{"to", 7}, [][]int{{2, 2}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := infer(c.opset, c.op, c.args, len(c.want), c.attrs...)
			if err != nil {
				t.Fatal(err)
			}
			for i := range c.want {
				if !slices.Equal(got[i], c.want[i]) {
					t.Errorf("output %d: %v, want %v", i, got[i], c.want[i])
				}
			}
		})
	}
}

// TestBadNodes: invalid attributes and inputs are errors of the right
// kind, before anything runs.
func TestBadNodes(t *testing.T) {
	cases := []struct {
		name  string
		opset int
		op    string
		args  []arg
		attrs []any
		kind  error
		msg   string
	}{
		{"unknown op", 13, "FooBar", []arg{sh(2)}, nil, ErrUnsupported, "op FooBar (supported: Abs"},
		{"unknown attribute", 13, "Relu", []arg{sh(2)}, []any{"alpha", float32(1)}, ErrUnsupported, "alpha"},
		{"attribute type", 13, "Conv", []arg{sh(1, 1, 3, 3), sh(1, 1, 1, 1)}, []any{"strides", 2}, ErrParams, "strides"},
		{"conv stride 0", 13, "Conv", []arg{sh(1, 1, 3, 3), sh(1, 1, 1, 1)}, []any{"strides", []int64{0, 1}}, ErrParams, "positive"},
		{"conv negative pad", 13, "Conv", []arg{sh(1, 1, 3, 3), sh(1, 1, 1, 1)}, []any{"pads", []int64{-1, 0, 0, 0}}, ErrParams, "pads"},
		{"conv pads rank", 13, "Conv", []arg{sh(1, 1, 3, 3), sh(1, 1, 1, 1)}, []any{"pads", []int64{1, 1}}, ErrParams, "pads"},
		{"conv group", 13, "Conv", []arg{sh(1, 4, 3, 3), sh(6, 2, 1, 1)}, []any{"group", 3}, ErrShape, "group"},
		{"conv channels", 13, "Conv", []arg{sh(1, 3, 3, 3), sh(4, 2, 1, 1)}, nil, ErrShape, "weight"},
		{"conv kernel too big", 13, "Conv", []arg{sh(1, 1, 3, 3), sh(1, 1, 5, 5)}, nil, ErrShape, "larger"},
		{"conv kernel_shape", 13, "Conv", []arg{sh(1, 1, 3, 3), sh(1, 1, 2, 2)}, []any{"kernel_shape", []int64{3, 3}}, ErrShape, "kernel_shape"},
		{"auto_pad value", 13, "Conv", []arg{sh(1, 1, 3, 3), sh(1, 1, 1, 1)}, []any{"auto_pad", "FULL"}, ErrUnsupported, "auto_pad"},
		{"conv 4d", 13, "Conv", []arg{sh(1, 1, 2, 2, 2, 2), sh(1, 1, 1, 1, 1, 1)}, nil, ErrUnsupported, "spatial"},
		{"pool no kernel", 13, "MaxPool", []arg{sh(1, 1, 3, 3)}, nil, ErrParams, "kernel_shape"},
		{"maxpool indices", 13, "MaxPool", []arg{sh(1, 1, 4, 4)}, []any{"kernel_shape", []int64{2, 2}}, ErrUnsupported, "output 1"},
		{"reshape two -1", 13, "Reshape", []arg{sh(2, 6), cst(ints(-1, -1))}, nil, ErrParams, "-1"},
		{"reshape count", 13, "Reshape", []arg{sh(2, 6), cst(ints(5, -1))}, nil, ErrShape, "reshape"},
		{"reshape zero beyond rank", 13, "Reshape", []arg{sh(12), cst(ints(3, 0))}, nil, ErrParams, "rank"},
		{"reshape shape input", 13, "Reshape", []arg{sh(2, 6), shT(Int64, 2)}, nil, ErrUnsupported, "must be a constant"},
		{"transpose perm", 13, "Transpose", []arg{sh(2, 3)}, []any{"perm", []int64{0, 0}}, ErrParams, "repeat"},
		{"concat rank", 13, "Concat", []arg{sh(2, 3), sh(2)}, []any{"axis", 0}, ErrShape, "shape"},
		{"concat no axis", 13, "Concat", []arg{sh(2, 3), sh(2, 3)}, nil, ErrParams, "axis"},
		{"concat types", 13, "Concat", []arg{sh(2), shT(Int64, 2)}, []any{"axis", 0}, ErrParams, "element type"},
		{"split sum", 13, "Split", []arg{sh(5), cst(ints(2, 2))}, nil, ErrShape, "sum"},
		{"split uneven", 13, "Split", []arg{sh(5)}, nil, ErrShape, "evenly"},
		{"slice step 0", 13, "Slice", []arg{sh(5), cst(ints(0)), cst(ints(5)), cst(ints(0)), cst(ints(0))}, nil, ErrParams, "step 0"},
		{"squeeze non-1", 13, "Squeeze", []arg{sh(2, 3), cst(ints(0))}, nil, ErrShape, "squeeze"},
		{"axis range", 13, "Softmax", []arg{sh(2, 3)}, []any{"axis", 2}, ErrParams, "axis"},
		{"gather axis", 13, "Gather", []arg{sh(2, 3), shT(Int64, 1)}, []any{"axis", -3}, ErrParams, "axis"},
		{"add broadcast", 13, "Add", []arg{sh(2, 3), sh(2)}, nil, ErrShape, "broadcast"},
		{"add types", 13, "Add", []arg{sh(2), shT(Int64, 2)}, nil, ErrParams, "element type"},
		{"gemm shapes", 13, "Gemm", []arg{sh(2, 3), sh(4, 5)}, nil, ErrShape, "match"},
		{"matmul shapes", 13, "MatMul", []arg{sh(2, 3), sh(4, 5)}, nil, ErrShape, "match"},
		{"bool relu", 13, "Relu", []arg{shT(Bool, 2)}, nil, ErrUnsupported, "bool"},
		{"cast double", 13, "Cast", []arg{sh(2)}, []any{"to", 11}, ErrUnsupported, "double"},
		{"resize both", 13, "Resize", []arg{sh(1, 1, 2, 2), none, cst(f32s([]int{4}, 1, 1, 2, 2)), cst(ints(1, 1, 4, 4))}, nil, ErrParams, "exactly one"},
		{"resize antialias", 18, "Resize", []arg{sh(1, 1, 2, 2), none, cst(f32s([]int{4}, 1, 1, 2, 2))}, []any{"antialias", 1}, ErrUnsupported, "antialias"},
		{"resize mode", 13, "Resize", []arg{sh(1, 1, 2, 2), none, cst(f32s([]int{4}, 1, 1, 2, 2))}, []any{"mode", "area"}, ErrUnsupported, "mode"},
		{"bn training", 14, "BatchNormalization", []arg{sh(1, 2, 2), sh(2), sh(2), sh(2), sh(2)}, []any{"training_mode", 1}, ErrUnsupported, "training"},
		{"bn shapes", 13, "BatchNormalization", []arg{sh(1, 2, 2), sh(3), sh(2), sh(2), sh(2)}, nil, ErrShape, "input 1"},
		{"quantize blocked axis", 21, "QuantizeLinear", []arg{sh(4), sh(2)}, []any{"block_size", 2}, ErrParams, "axis"},
		{"quantize blocked scale", 21, "QuantizeLinear", []arg{sh(4, 6), sh(4, 2)}, []any{"block_size", 2}, ErrShape, "blocks of 2"},
		{"dequantize blocked size", 21, "DequantizeLinear", []arg{shT(Int8, 4, 6), sh(4, 3)}, []any{"block_size", -1}, ErrParams, "block_size"},
		{"quantize scale shape", 13, "QuantizeLinear", []arg{sh(2, 3), sh(2, 3)}, nil, ErrShape, "scale"},
		{"quantize axis size", 13, "QuantizeLinear", []arg{sh(2, 3), sh(2)}, nil, ErrShape, "axis"},
		{"not a bool", 13, "Not", []arg{sh(2)}, nil, ErrUnsupported, "float32"},
		{"mod float", 13, "Mod", []arg{sh(2), sh(2)}, nil, ErrParams, "fmod"},
		{"missing input", 13, "Conv", []arg{sh(1, 1, 3, 3)}, nil, ErrParams, "inputs"},
		// Huge outputs are refused at build time.
		{"huge expand", 13, "Expand", []arg{sh(1), cst(ints(1<<20, 1<<20))}, nil, ErrShape, "limit"},
		{"huge constantofshape", 13, "ConstantOfShape", []arg{cst(ints(1<<30, 1<<30, 1<<30))}, nil, ErrShape, "overflows"},
		{"huge tile", 13, "Tile", []arg{sh(1 << 10), cst(ints(1 << 30))}, nil, ErrShape, "limit"},
		{"huge pad", 13, "Pad", []arg{sh(2), cst(ints(1<<31-1, 1<<31-1))}, nil, ErrShape, "limit"},
		{"huge resize", 13, "Resize", []arg{sh(1, 1, 2, 2), none, cst(f32s([]int{4}, 1, 1, 1e9, 1e9))}, nil, ErrShape, ""},
		{"huge convtranspose", 13, "ConvTranspose", []arg{sh(1, 1, 2, 2), sh(1, 1, 1, 1)}, []any{"strides", []int64{1 << 20, 1 << 20}}, ErrShape, "limit"},
		{"huge range", 13, "Range", []arg{cst(Scalar(0)), cst(Scalar(1e30)), cst(Scalar(1))}, nil, ErrShape, "elements"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nout := 1
			switch c.name {
			case "maxpool indices", "split sum", "split uneven":
				nout = 2
			}
			_, err := infer(c.opset, c.op, c.args, nout, c.attrs...)
			mustErr(t, err, c.kind, c.msg)
		})
	}
}
