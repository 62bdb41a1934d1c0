package quantize

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/calib"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/onnx/onnxpb"
	"github.com/qgpu/qgpu/qtensor"
)

// tinyModel is x [N,1,2,2] -> Conv 1x1 (2 channels, bias) -> Relu ->
// GlobalAveragePool -> Flatten -> Gemm (transB, bias) -> y, opset 13.
func tinyModel(t testing.TB) *onnxpb.ModelProto {
	t.Helper()
	tensor := func(name string, dims []int, v []float32) *onnxpb.TensorProto {
		tp, err := onnx.NewTensor(name, dims, v)
		if err != nil {
			t.Fatal(err)
		}
		return tp
	}
	vi := func(name string, dims ...any) *onnxpb.ValueInfoProto {
		sh := &onnxpb.TensorShapeProto{}
		for _, d := range dims {
			switch d := d.(type) {
			case int:
				sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
			case string:
				sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}})
			}
		}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: sh}}}}
	}
	node := func(op, name string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
		return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: in, Output: out, Attribute: attrs}
	}
	intType := onnxpb.AttributeProto_INT
	g := &onnxpb.GraphProto{
		Name: proto.String("tiny"),
		Node: []*onnxpb.NodeProto{
			node("Conv", "conv", []string{"x", "W", "B"}, []string{"c"}),
			node("Relu", "relu", []string{"c"}, []string{"r"}),
			node("GlobalAveragePool", "gap", []string{"r"}, []string{"g"}),
			node("Flatten", "flat", []string{"g"}, []string{"f"}),
			node("Gemm", "fc", []string{"f", "W2", "C"}, []string{"y"},
				&onnxpb.AttributeProto{Name: proto.String("transB"), Type: &intType, I: proto.Int64(1)}),
		},
		Initializer: []*onnxpb.TensorProto{
			tensor("W", []int{2, 1, 1, 1}, []float32{0.5, -0.25}),
			tensor("B", []int{2}, []float32{0.1, -0.2}),
			tensor("W2", []int{3, 2}, []float32{1, -2, 0.75, 0.5, -1.5, 3}),
			tensor("C", []int{3}, []float32{0.01, 0, -0.02}),
		},
		Input:  []*onnxpb.ValueInfoProto{vi("x", "N", 1, 2, 2)},
		Output: []*onnxpb.ValueInfoProto{vi("y", "N", 3)},
	}
	return &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}}}
}

// tinyBatches are two batches of one image each.
func tinyBatches(t testing.TB) func(func(Batch, error) bool) {
	return func(yield func(Batch, error) bool) {
		for _, v := range [][]float32{{0, 1, 2, 3}, {-1, 0.5, 4, -2}} {
			x, err := graph.FromFloat32([]int{1, 1, 2, 2}, v)
			if err != nil {
				t.Fatal(err)
			}
			if !yield(Batch{"x": x}, nil) {
				return
			}
		}
	}
}

// torchQParams is PyTorch's _calculate_qparams written out for the test
// (an independent transcription, float32 arithmetic).
func torchQParams(lo, hi float32, qmin, qmax int32, symmetric bool) (float32, int32) {
	minNeg, maxPos := min(lo, 0), max(hi, 0)
	if symmetric {
		s := max(-minNeg, maxPos) / (float32(qmax-qmin) / 2)
		s = max(s, 0x1p-23)
		if qmin < 0 {
			return s, 0
		}
		return s, (qmin + qmax) / 2
	}
	s := max((maxPos-minNeg)/float32(qmax-qmin), 0x1p-23)
	zp := qmin - int32(math.RoundToEven(float64(minNeg/s)))
	return s, min(max(zp, qmin), qmax)
}

func initializer(t *testing.T, m *onnxpb.ModelProto, name string) *onnx.Tensor {
	t.Helper()
	for _, tp := range m.GetGraph().GetInitializer() {
		if tp.GetName() == name {
			ot, err := onnx.TensorFromProto(tp)
			if err != nil {
				t.Fatal(err)
			}
			return ot
		}
	}
	t.Fatalf("no initializer %q", name)
	return nil
}

// TestTinyByHand checks the QDQ model of a hand-built network against
// values computed here with PyTorch's and ONNX Runtime's formulas.
func TestTinyByHand(t *testing.T) {
	m := tinyModel(t)
	res, err := QuantizeModel(context.Background(), m, tinyBatches(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	q := res.Model
	var ops []string
	for _, n := range q.GetGraph().GetNode() {
		ops = append(ops, n.GetOpType()+":"+n.GetName())
	}
	want := []string{
		"DequantizeLinear:W_DequantizeLinear", "DequantizeLinear:W2_DequantizeLinear",
		"DequantizeLinear:B_DequantizeLinear", "DequantizeLinear:C_DequantizeLinear",
		"QuantizeLinear:x_QuantizeLinear", "DequantizeLinear:x_DequantizeLinear",
		"Conv:conv", "QuantizeLinear:r_QuantizeLinear", "DequantizeLinear:r_DequantizeLinear",
		"GlobalAveragePool:gap", "QuantizeLinear:g_QuantizeLinear", "DequantizeLinear:g_DequantizeLinear",
		"Flatten:flat", "QuantizeLinear:f_QuantizeLinear", "DequantizeLinear:f_DequantizeLinear",
		"Gemm:fc", "QuantizeLinear:y_QuantizeLinear", "DequantizeLinear:y_DequantizeLinear",
	}
	if !slices.Equal(ops, want) {
		t.Fatalf("nodes\n got %v\nwant %v", ops, want)
	}
	if !slices.Equal(res.Removed, []string{"relu"}) {
		t.Errorf("removed %v, want [relu]", res.Removed)
	}
	// The Conv writes the Relu's output; the graph output keeps its name on
	// the DQ and the Gemm writes y_QuantizeLinear_Input.
	nodes := q.GetGraph().GetNode()
	if c := nodes[6]; c.Output[0] != "r" || c.Input[0] != "x_DequantizeLinear_Output" || c.Input[1] != "W_DequantizeLinear_Output" || c.Input[2] != "B" {
		t.Errorf("conv: %v -> %v", c.Input, c.Output)
	}
	if fc := nodes[15]; fc.Output[0] != "y_QuantizeLinear_Input" || nodes[17].Output[0] != "y" {
		t.Errorf("fc writes %v, last DQ %v", fc.Output, nodes[17].Output)
	}

	// Input x over both batches: [-2, 4], uint8 affine.
	sx, zx := torchQParams(-2, 4, 0, 255, false)
	if got := initializer(t, q, "x_scale").Values().([]float32); len(got) != 1 || got[0] != sx {
		t.Errorf("x scale %v, want %v", got, sx)
	}
	if got := initializer(t, q, "x_zero_point").Values().([]uint8); len(got) != 1 || int32(got[0]) != zx {
		t.Errorf("x zero point %v, want %d", got, zx)
	}
	// r = relu(0.5 x + 0.1 | -0.25 x - 0.2): max 0.5*4 + 0.1.
	rmax := float32(float32(0.5)*4) + float32(0.1)
	sr, zr := torchQParams(0, rmax, 0, 255, false)
	if got := initializer(t, q, "r_scale").Values().([]float32); got[0] != sr {
		t.Errorf("r scale %v, want %v", got, sr)
	}
	if got := initializer(t, q, "r_zero_point").Values().([]uint8); int32(got[0]) != zr || zr != 0 {
		t.Errorf("r zero point %v, want 0", got)
	}
	// W: int8 symmetric [-127, 127] over max|W| = 0.5.
	sw, _ := torchQParams(-0.25, 0.5, -127, 127, true)
	if got := initializer(t, q, "W_scale").Values().([]float32); got[0] != sw {
		t.Errorf("W scale %v, want %v", got, sw)
	}
	wq := initializer(t, q, "W_quantized").Values().([]int8)
	wantW := []int8{int8(math.RoundToEven(float64(float32(0.5) / sw))), int8(math.RoundToEven(float64(float32(-0.25) / sw)))}
	if !slices.Equal(wq, wantW) || wantW[0] != 127 {
		t.Errorf("W quantized %v, want %v", wq, wantW)
	}
	// B: int32 with scale sx*sw (float32), zero point 0, values rounded in
	// float64 (ORT's quantize_bias_static).
	bs := sx * sw
	if got := initializer(t, q, "B_quantized_scale").Values().([]float32); len(got) != 1 || got[0] != bs {
		t.Errorf("B scale %v, want %v", got, bs)
	}
	bq := initializer(t, q, "B_quantized").Values().([]int32)
	wantB := []int32{int32(math.RoundToEven(float64(float32(0.1)) / float64(bs))), int32(math.RoundToEven(float64(float32(-0.2)) / float64(bs)))}
	if !slices.Equal(bq, wantB) {
		t.Errorf("B quantized %v, want %v", bq, wantB)
	}
	for _, name := range []string{"W", "B", "W2", "C"} {
		if slices.ContainsFunc(q.GetGraph().GetInitializer(), func(tp *onnxpb.TensorProto) bool { return tp.GetName() == name }) {
			t.Errorf("float initializer %q is still in the model", name)
		}
	}
	// The model runs, and the result entries agree with the model.
	x, _ := graph.FromFloat32([]int{1, 1, 2, 2}, []float32{0, 1, 2, 3})
	out := runModel(t, q, Batch{"x": x})
	if y := out["y"]; y == nil || !slices.Equal(y.Shape, []int{1, 3}) {
		t.Fatalf("y = %v", y)
	}
	ti := res.Tensor("x")
	if ti == nil || ti.Kind != Activation || ti.Scale[0] != sx || ti.ZeroPoint[0] != zx || ti.Value != "x_DequantizeLinear_Output" ||
		!slices.Equal(ti.Range, []float32{-2, 4}) || ti.Data == nil || ti.Data.Count != 8 {
		t.Errorf("x entry %+v", ti)
	}
	if b := res.Tensor("C"); b == nil || b.Kind != Bias || b.DType != qtensor.Int32 {
		t.Errorf("C entry %+v", b)
	}
}

// TestTinyOptions checks the options that change the graph: symmetric
// activations keep the Relu; int8 activations; per-channel weights and
// biases; reduce-range weights; excluded nodes and op types.
func TestTinyOptions(t *testing.T) {
	run := func(o Options) *Result {
		t.Helper()
		res, err := QuantizeModel(context.Background(), tinyModel(t), tinyBatches(t), o)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	t.Run("symmetric-int8", func(t *testing.T) {
		res := run(Options{ActivationType: qtensor.Int8, SymmetricActivations: true})
		if len(res.Removed) != 0 {
			t.Errorf("removed %v with symmetric activations", res.Removed)
		}
		// The Relu input c takes the Relu output's range (ORT's
		// adjust_tensor_ranges): max 2.1, symmetric [-127, 127].
		rmax := float32(float32(0.5)*4) + float32(0.1)
		s, _ := torchQParams(0, rmax, -127, 127, true)
		for _, name := range []string{"c", "r"} {
			ti := res.Tensor(name)
			if ti == nil || ti.Scale[0] != s || ti.ZeroPoint[0] != 0 || ti.DType != qtensor.Int8 {
				t.Errorf("%s: %+v, want scale %v zp 0", name, ti, s)
			}
		}
		sx, _ := torchQParams(-2, 4, -127, 127, true)
		if ti := res.Tensor("x"); ti.Scale[0] != sx || ti.ZeroPoint[0] != 0 {
			t.Errorf("x: %+v, want %v", ti, sx)
		}
	})
	t.Run("uint8-symmetric", func(t *testing.T) {
		res := run(Options{SymmetricActivations: true})
		sx, zx := torchQParams(-2, 4, 0, 254, true)
		if ti := res.Tensor("x"); ti.Scale[0] != sx || ti.ZeroPoint[0] != zx || zx != 127 {
			t.Errorf("x: %+v, want %v %d", ti, sx, zx)
		}
	})
	t.Run("per-channel", func(t *testing.T) {
		res := run(Options{PerChannel: true})
		w := res.Tensor("W")
		s0, _ := torchQParams(0, 0.5, -127, 127, true)
		s1, _ := torchQParams(-0.25, 0, -127, 127, true)
		if w.Axis != 0 || !slices.Equal(w.Scale, []float32{s0, s1}) {
			t.Errorf("W: %+v, want scales %v %v on axis 0", w, s0, s1)
		}
		if q := initializer(t, res.Model, "W_quantized").Values().([]int8); !slices.Equal(q, []int8{127, -127}) {
			t.Errorf("W quantized %v", q)
		}
		w2 := res.Tensor("W2") // transB: axis 0, three rows
		if w2.Axis != 0 || len(w2.Scale) != 3 {
			t.Errorf("W2: %+v", w2)
		}
		b := res.Tensor("B")
		sx := res.Tensor("x").Scale[0]
		if b.Axis != 0 || !slices.Equal(b.Scale, []float32{sx * s0, sx * s1}) {
			t.Errorf("B: %+v", b)
		}
		for _, n := range res.Model.GetGraph().GetNode() {
			if n.GetName() == "W_DequantizeLinear" {
				if a, err := onnx.AttrInt(n, "axis", -9); err != nil || a != 0 {
					t.Errorf("W DQ axis %d %v", a, err)
				}
			}
		}
	})
	t.Run("reduce-range", func(t *testing.T) {
		res := run(Options{ReduceRange: true})
		s, _ := torchQParams(-0.25, 0.5, -64, 64, true)
		if w := res.Tensor("W"); w.Scale[0] != s {
			t.Errorf("W scale %v, want %v", w.Scale, s)
		}
		if q := initializer(t, res.Model, "W_quantized").Values().([]int8); q[0] != 64 {
			t.Errorf("W quantized %v", q)
		}
	})
	t.Run("uint8-weights", func(t *testing.T) {
		res := run(Options{WeightType: qtensor.Uint8})
		s, zp := torchQParams(-0.25, 0.5, 0, 255, false)
		if w := res.Tensor("W"); w.Scale[0] != s || w.ZeroPoint[0] != zp || w.DType != qtensor.Uint8 {
			t.Errorf("W %+v, want %v %d", w, s, zp)
		}
	})
	t.Run("exclude", func(t *testing.T) {
		res := run(Options{Exclude: []string{"fc"}})
		if res.Tensor("W2") != nil || res.Tensor("C") != nil || res.Tensor("y") != nil || res.Tensor("f") != nil {
			t.Errorf("fc excluded but quantized: %v", res.Tensors)
		}
		if !slices.Contains(res.Float, "fc") || !slices.Contains(res.Float, "flat") {
			t.Errorf("float nodes %v", res.Float)
		}
		if res.Tensor("g") == nil {
			t.Errorf("gap output not quantized")
		}
	})
	t.Run("op-types", func(t *testing.T) {
		res := run(Options{OpTypes: []string{"Gemm"}})
		if res.Tensor("W") != nil || res.Tensor("r") != nil || res.Tensor("f") == nil || res.Tensor("W2") == nil {
			t.Errorf("tensors %v", res.Tensors)
		}
		if len(res.Removed) != 0 {
			t.Errorf("removed %v", res.Removed)
		}
	})
	t.Run("errors", func(t *testing.T) {
		m := tinyModel(t)
		for _, o := range []Options{
			{Exclude: []string{"nope"}},
			{ActivationType: qtensor.Int4},
			{WeightType: qtensor.Float32},
			{Method: calib.Method(200)},
			{Percentile: 1.5},
			{Bins: 3},
			{OpTypes: []string{" Conv"}},
		} {
			if _, err := New(m, o); !errors.Is(err, ErrParams) {
				t.Errorf("%+v: %v, want ErrParams", o, err)
			}
		}
		if _, err := New(nil, Options{}); !errors.Is(err, ErrParams) {
			t.Errorf("nil model: %v", err)
		}
		q, err := New(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.Calibrate(context.Background(), func(func(Batch, error) bool) {}); !errors.Is(err, calib.ErrNoData) {
			t.Errorf("no batches: %v", err)
		}
		bad := func(yield func(Batch, error) bool) {
			x, _ := graph.FromFloat32([]int{1, 1, 2, 2}, make([]float32, 4))
			yield(Batch{"x": x, "extra": x}, nil)
		}
		if _, err := q.Calibrate(context.Background(), bad); !errors.Is(err, ErrParams) {
			t.Errorf("extra input: %v", err)
		}
		stop := errors.New("reader failed")
		if _, err := q.Calibrate(context.Background(), func(yield func(Batch, error) bool) { yield(nil, stop) }); !errors.Is(err, stop) {
			t.Errorf("iterator error: %v", err)
		}
		shape := func(yield func(Batch, error) bool) {
			x, _ := graph.FromFloat32([]int{1, 2, 2, 2}, make([]float32, 8))
			yield(Batch{"x": x}, nil)
		}
		if _, err := q.Calibrate(context.Background(), shape); err == nil {
			t.Errorf("wrong channel count accepted")
		}
	})
}

// TestGemmBeta checks that a Gemm's beta goes into the int32 bias (and
// beta becomes 1), so the QDQ model computes what the float one does.
func TestGemmBeta(t *testing.T) {
	m := tinyModel(t)
	for _, n := range m.Graph.Node {
		if n.GetOpType() == "Gemm" {
			ft := onnxpb.AttributeProto_FLOAT
			n.Attribute = append(n.Attribute, &onnxpb.AttributeProto{Name: proto.String("beta"), Type: &ft, F: proto.Float32(2)})
		}
	}
	res, err := QuantizeModel(context.Background(), m, tinyBatches(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var beta float32 = -1
	for _, n := range res.Model.Graph.Node {
		if n.GetOpType() == "Gemm" {
			beta, _ = onnx.AttrFloat(n, "beta", 1)
		}
	}
	c := res.Tensor("C")
	q := initializer(t, res.Model, "C_quantized").Values().([]int32)
	want := int32(math.RoundToEven(float64(float32(2)*float32(0.01)) / float64(c.Scale[0])))
	if beta != 1 || q[0] != want {
		t.Errorf("beta %v, C[0] %d, want 1 and %d", beta, q[0], want)
	}
}

// TestFashionStructure checks the Fashion-MNIST CNN's QDQ form: every
// Relu folded, the residual Add and the MaxPool quantized (the pool
// sharing its input's parameters), the Flatten left in float, and a model
// that decodes again.
func TestFashionStructure(t *testing.T) {
	x := fashionImages(t)
	res, err := QuantizeModel(context.Background(), loadFashion(t), split(t, x, 64), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 7 {
		t.Errorf("removed %v, want the 7 Relus", res.Removed)
	}
	if !slices.Equal(res.Float, []string{"/Flatten"}) {
		t.Errorf("float nodes %v, want [/Flatten]", res.Float)
	}
	pool := res.Tensor("/pool/MaxPool_output_0")
	if pool == nil || pool.SharedWith != "/Relu_5_output_0" {
		t.Fatalf("pool: %+v", pool)
	}
	counts := map[Kind]int{}
	for _, ti := range res.Tensors {
		counts[ti.Kind]++
	}
	if counts[Weight] != 8 || counts[Bias] != 8 {
		t.Errorf("kinds %v", counts)
	}
	b := encode(t, res.Model)
	if _, err := onnx.Decode(b, onnx.DecodeOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(b) > 120_000 {
		t.Errorf("QDQ model of %d bytes: weights not stored as int8?", len(b))
	}
}

func ExampleQuantizeModel() {
	m, err := onnx.Load("testdata/fashion/fashion_cnn.onnx", onnx.DecodeOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Calibration batches come from an iterator: a reader of files, a
	// data loader, a network stream. Here: 8 batches of 4 constant images.
	batches := func(yield func(Batch, error) bool) {
		for i := range 8 {
			x := make([]float32, 4*28*28)
			for j := range x {
				x[j] = float32(i)/4 - 1
			}
			t, err := graph.FromFloat32([]int{4, 1, 28, 28}, x)
			if !yield(Batch{"input": t}, err) {
				return
			}
		}
	}
	res, err := QuantizeModel(context.Background(), m, batches, Options{Method: calib.MethodPercentile, PerChannel: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	in := res.Tensor("input")
	fmt.Printf("input: %s scale %.6f zero point %d, range %v\n", in.Type, in.Scale[0], in.ZeroPoint[0], in.Range)
	fmt.Println("folded:", strings.Join(res.Removed[:2], ", "), "...")
	if err := onnx.Save("/dev/null", res.Model); err != nil {
		fmt.Println(err)
	}
	// Output:
	// input: uint8 scale 0.006863 zero point 146, range [-1 0.75]
	// folded: /Relu, /Relu_1 ...
}
