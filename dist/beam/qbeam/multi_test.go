package qbeam

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// saveTwoInputModel writes y = (a + b) x W + C, a and b [N, 4], opset 13.
func saveTwoInputModel(t *testing.T, path string) {
	t.Helper()
	vi := func(name string, d int64) *onnxpb.ValueInfoProto {
		sh := &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
			{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}},
			{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}}}}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: sh}}}}
	}
	node := func(op string, in []string, out string) *onnxpb.NodeProto {
		return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String("/" + out), Input: in, Output: []string{out}}
	}
	w, err := onnx.NewTensor("W", []int{4, 3}, []float32{0.5, -1, 0.25, 2, 0.125, -0.75, -0.5, 1.5, 1, 0.3, -0.2, 0.9})
	if err != nil {
		t.Fatal(err)
	}
	c, err := onnx.NewTensor("C", []int{3}, []float32{0.1, -0.2, 0.05})
	if err != nil {
		t.Fatal(err)
	}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{Name: proto.String("two_inputs"),
			Node: []*onnxpb.NodeProto{
				node("Add", []string{"a", "b"}, "s"),
				node("MatMul", []string{"s", "W"}, "m"),
				node("Add", []string{"m", "C"}, "y"),
			},
			Initializer: []*onnxpb.TensorProto{w, c},
			Input:       []*onnxpb.ValueInfoProto{vi("a", 4), vi("b", 4)},
			Output:      []*onnxpb.ValueInfoProto{vi("y", 3)},
		}}
	if err := onnx.Save(path, m); err != nil {
		t.Fatal(err)
	}
}

// TestTwoInputs: for a model with two graph inputs, NAME=PATTERN gives
// each input its files, file k of every input makes shard k, and the
// result is `qgpu model quantize --calib a=... --calib b=...`'s; inputs
// with different file counts, or files read together with different
// sample counts, are errors.
func TestTwoInputs(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "two.onnx")
	saveTwoInputModel(t, model)
	r := rand.New(rand.NewPCG(5, 6))
	data := map[string][]float32{}
	for _, name := range []string{"a", "b"} {
		x := make([]float32, 40*4)
		for i := range x {
			x[i] = float32(r.NormFloat64()) * float32(1+i%4)
		}
		data[name] = x
		saveF32(t, filepath.Join(dir, name+".npy"), []int{40, 4}, x)
		off := 0
		for k, n := range []int{15, 7, 18} {
			saveF32(t, filepath.Join(dir, fmt.Sprintf("%s_%d.npy", name, k)), []int{n, 4}, x[off*4:(off+n)*4])
			off += n
		}
	}
	wantModel, wantTable := cliReferenceFor(t, t.TempDir(), model, []string{"a=" + filepath.Join(dir, "a.npy"), "b=" + filepath.Join(dir, "b.npy")}, "--method", "l2")
	if !bytes.Contains(wantTable, []byte(`"name": "a"`)) || !bytes.Contains(wantTable, []byte(`"name": "W"`)) {
		t.Fatalf("the reference quantized neither input a nor weight W:\n%s", wantTable)
	}
	cfg := ModelConfig{Model: model, Method: "l2"}
	out, table := filepath.Join(dir, "q.onnx"), filepath.Join(dir, "t.json")
	patterns := []string{"b=" + filepath.Join(dir, "b_*.npy"), "a=" + filepath.Join(dir, "a_*.npy")}
	counters, err := quantizeRun(t, cfg, patterns, out, table, nil)
	if err != nil {
		t.Fatal(Cause(err))
	}
	if counters["shards"] != 3 || counters["samples"] != 40 {
		t.Errorf("counters %v", counters)
	}
	if !bytes.Equal(readFile(t, out), wantModel) {
		t.Error("the QDQ model differs from qgpu model quantize's")
	}
	if got := readFile(t, table); !bytes.Equal(got, wantTable) {
		t.Errorf("the table differs from qgpu model quantize's:\n%s", firstDiff(got, wantTable))
	}

	_, err = PrepareModel(context.Background(), &ModelConfig{Model: model}, []string{"a=" + filepath.Join(dir, "a_*.npy"), "b=" + filepath.Join(dir, "b.npy")})
	if err == nil || !strings.Contains(err.Error(), "has 1 files") {
		t.Errorf("3 files for a, 1 for b: %v", err)
	}
	_, err = PrepareModel(context.Background(), &ModelConfig{Model: model}, []string{"a=" + filepath.Join(dir, "a.npy")})
	if err == nil || !strings.Contains(err.Error(), `graph input "b"`) {
		t.Errorf("no file for b: %v", err)
	}
	// a_0 (15 samples) read with b_1 (7 samples).
	_, err = quantizeRun(t, cfg, []string{"a=" + filepath.Join(dir, "a_0.npy"), "b=" + filepath.Join(dir, "b_1.npy")}, out, table, nil)
	if err == nil || !strings.Contains(Cause(err), "b_1.npy has 7 samples") {
		t.Errorf("15 samples of a with 7 of b: %v", err)
	}
}
