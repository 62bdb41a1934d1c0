package onnx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/onnx/onnxpb"
)

func TestDecodeValid(t *testing.T) {
	m := testModel(t)
	got, err := Decode(marshal(t, m), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, m) {
		t.Fatal("decoded model differs")
	}
	if v, ok := OpsetVersion(got, "ai.onnx"); !ok || v != 17 {
		t.Fatalf("OpsetVersion = %d, %v", v, ok)
	}
}

// setInit replaces the model's initializer.
func setInit(tp *onnxpb.TensorProto) func(*onnxpb.ModelProto) {
	return func(m *onnxpb.ModelProto) {
		if tp.Name == nil {
			tp.Name = proto.String("w")
		}
		m.Graph.Initializer = []*onnxpb.TensorProto{tp}
	}
}

func dt(d DataType) *int32 { return proto.Int32(int32(d)) }

// TestDecodeHostile: malformed or hostile models are errors wrapping the
// right sentinel, with a message that says what is wrong.
func TestDecodeHostile(t *testing.T) {
	attr := func(a *onnxpb.AttributeProto) func(*onnxpb.ModelProto) {
		return func(m *onnxpb.ModelProto) { m.Graph.Node[0].Attribute = append(m.Graph.Node[0].Attribute, a) }
	}
	for _, c := range []struct {
		name string
		mod  func(*onnxpb.ModelProto)
		opts DecodeOptions
		err  error
		msg  string
	}{
		{"1e12 elements, 10 raw bytes", setInit(&onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{1e6, 1e6}, RawData: make([]byte, 10)}),
			DecodeOptions{}, ErrInvalid, "has 10 entries in raw_data, want 4000000000000"},
		{"1e12 elements, 10 floats", setInit(&onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{1e12}, FloatData: make([]float32, 10)}),
			DecodeOptions{}, ErrInvalid, "has 10 entries in float_data, want 1000000000000"},
		{"negative dim", setInit(&onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{2, -1}, RawData: make([]byte, 8)}),
			DecodeOptions{}, ErrInvalid, "dim 1 is negative (-1)"},
		{"element count overflow", setInit(&onnxpb.TensorProto{DataType: dt(Uint8), Dims: []int64{1 << 31, 1 << 31, 1 << 31}, RawData: make([]byte, 8)}),
			DecodeOptions{}, ErrInvalid, "overflows"},
		{"byte size overflow", setInit(&onnxpb.TensorProto{DataType: dt(Double), Dims: []int64{1 << 61}, RawData: make([]byte, 8)}),
			DecodeOptions{}, ErrInvalid, "2305843009213693952 elements of type DOUBLE overflow"},
		{"zero dim hides an overflow", setInit(&onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{0, 1 << 40, 1 << 40}}),
			DecodeOptions{}, ErrInvalid, "overflows"},
		{"raw_data short", setInit(&onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{2, 3}, RawData: make([]byte, 23)}),
			DecodeOptions{}, ErrInvalid, "has 23 entries in raw_data, want 24"},
		{"raw_data long", setInit(&onnxpb.TensorProto{DataType: dt(Int64), Dims: []int64{1}, RawData: make([]byte, 9)}),
			DecodeOptions{}, ErrInvalid, "has 9 entries in raw_data, want 8"},
		{"int4 raw_data for 5 elements", setInit(&onnxpb.TensorProto{DataType: dt(Int4), Dims: []int64{5}, RawData: make([]byte, 2)}),
			DecodeOptions{}, ErrInvalid, "has 2 entries in raw_data, want 3"},
		{"int4 int32_data for 5 elements", setInit(&onnxpb.TensorProto{DataType: dt(Int4), Dims: []int64{5}, Int32Data: make([]int32, 5)}),
			DecodeOptions{}, ErrInvalid, "has 5 entries in int32_data, want 3"},
		{"complex64 float_data", setInit(&onnxpb.TensorProto{DataType: dt(Complex64), Dims: []int64{2}, FloatData: make([]float32, 2)}),
			DecodeOptions{}, ErrInvalid, "has 2 entries in float_data, want 4"},
		{"two data fields", setInit(&onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{1}, RawData: make([]byte, 4), FloatData: []float32{1}}),
			DecodeOptions{}, ErrInvalid, "has both raw_data and float_data"},
		{"field of another type", setInit(&onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{1}, Int64Data: []int64{1}}),
			DecodeOptions{}, ErrInvalid, "of type FLOAT has int64_data"},
		{"string raw_data", setInit(&onnxpb.TensorProto{DataType: dt(String), Dims: []int64{1}, RawData: []byte{1}}),
			DecodeOptions{}, ErrInvalid, "of type STRING has raw_data"},
		{"no data", setInit(&onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{3}}),
			DecodeOptions{}, ErrInvalid, "has no data"},
		{"scalar without data", setInit(&onnxpb.TensorProto{DataType: dt(Float), RawData: []byte{}}),
			DecodeOptions{}, ErrInvalid, "has no data"},
		{"rank 33", setInit(&onnxpb.TensorProto{DataType: dt(Float), Dims: make([]int64, 33)}),
			DecodeOptions{}, ErrInvalid, "has 33 dims, more than 32"},
		{"element type 23", setInit(&onnxpb.TensorProto{DataType: proto.Int32(23), Dims: []int64{1}, RawData: []byte{1}}),
			DecodeOptions{}, ErrInvalid, "has element type 23"},
		{"element type missing", setInit(&onnxpb.TensorProto{Dims: []int64{1}, RawData: []byte{1}}),
			DecodeOptions{}, ErrInvalid, "has element type 0"},
		{"segment", setInit(&onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{1}, RawData: make([]byte, 4), Segment: &onnxpb.TensorProto_Segment{Begin: proto.Int64(0), End: proto.Int64(1)}}),
			DecodeOptions{}, ErrUnsupported, "segment"},
		{"bad data_location", setInit(&onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{1}, RawData: make([]byte, 4), DataLocation: onnxpb.TensorProto_DataLocation(2).Enum()}),
			DecodeOptions{}, ErrInvalid, "data_location 2"},
		{"external_data with DEFAULT location", setInit(&onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{1}, RawData: make([]byte, 4),
			ExternalData: []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w.bin")}}}),
			DecodeOptions{}, ErrInvalid, "external_data entries but data_location DEFAULT"},
		{"external data without a directory", setInit(&onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{1}, DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
			ExternalData: []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w.bin")}}}),
			DecodeOptions{}, ErrInvalid, "needs the model's directory: load the model from a file or set DecodeOptions.Dir"},
		{"unnamed initializer", setInit(&onnxpb.TensorProto{Name: proto.String(""), DataType: dt(Float), Dims: []int64{1}, RawData: make([]byte, 4)}),
			DecodeOptions{}, ErrInvalid, "has no name"},
		{"initializer name twice", func(m *onnxpb.ModelProto) { m.Graph.Initializer = append(m.Graph.Initializer, m.Graph.Initializer[0]) },
			DecodeOptions{}, ErrInvalid, "name used twice"},
		{"IR version 3", func(m *onnxpb.ModelProto) { m.IrVersion = proto.Int64(3) },
			DecodeOptions{}, ErrUnsupported, "IR version 3 (accepted: 7 to 10)"},
		{"IR version 11", func(m *onnxpb.ModelProto) { m.IrVersion = proto.Int64(11) },
			DecodeOptions{}, ErrUnsupported, "IR version 11 (accepted: 7 to 10)"},
		{"IR version missing", func(m *onnxpb.ModelProto) { m.IrVersion = nil },
			DecodeOptions{}, ErrInvalid, "ir_version missing"},
		{"opset 7", func(m *onnxpb.ModelProto) { m.OpsetImport[0].Version = proto.Int64(7) },
			DecodeOptions{}, ErrUnsupported, "opset 7 of the default domain ai.onnx (accepted: 13 to 21)"},
		{"opset 22 as ai.onnx", func(m *onnxpb.ModelProto) {
			m.OpsetImport[0] = &onnxpb.OperatorSetIdProto{Domain: proto.String("ai.onnx"), Version: proto.Int64(22)}
		},
			DecodeOptions{}, ErrUnsupported, "opset 22 of the default domain ai.onnx (accepted: 13 to 21)"},
		{"default domain not imported", func(m *onnxpb.ModelProto) { m.OpsetImport[0].Domain = proto.String("com.example") },
			DecodeOptions{}, ErrInvalid, `node "add" (Add) uses domain ai.onnx, which is not imported`},
		{"domain imported twice", func(m *onnxpb.ModelProto) {
			m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String("ai.onnx"), Version: proto.Int64(17)})
		}, DecodeOptions{}, ErrInvalid, `imports domain "ai.onnx" twice`},
		{"no graph", func(m *onnxpb.ModelProto) { m.Graph = nil }, DecodeOptions{}, ErrInvalid, "no graph"},
		{"node without op_type", func(m *onnxpb.ModelProto) { m.Graph.Node[0].OpType = nil }, DecodeOptions{}, ErrInvalid, "has no op_type"},
		{"attribute twice", func(m *onnxpb.ModelProto) {
			a := &onnxpb.AttributeProto{Name: proto.String("k"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(1)}
			m.Graph.Node[0].Attribute = []*onnxpb.AttributeProto{a, a}
		}, DecodeOptions{}, ErrInvalid, `attribute "k" given twice`},
		{"attribute without type", attr(&onnxpb.AttributeProto{Name: proto.String("k"), I: proto.Int64(1)}),
			DecodeOptions{}, ErrInvalid, `attribute "k" has type 0`},
		{"TENSOR attribute without tensor", attr(&onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum()}),
			DecodeOptions{}, ErrInvalid, "of type TENSOR has no tensor"},
		{"GRAPH attribute without graph", attr(&onnxpb.AttributeProto{Name: proto.String("body"), Type: onnxpb.AttributeProto_GRAPH.Enum()}),
			DecodeOptions{}, ErrInvalid, "of type GRAPH has no graph"},
		{"bad tensor in an attribute", attr(&onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(),
			T: &onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{4}, RawData: make([]byte, 4)}}),
			DecodeOptions{}, ErrInvalid, `node "add" (Add): attribute "value" of type FLOAT and dims [4] has 4 entries in raw_data, want 16`},
		{"bad tensor in a subgraph", func(m *onnxpb.ModelProto) {
			m2 := nest(t, 3)
			m2.Graph.Node[1].Attribute[0].G.Node[0].Attribute[0].G.Initializer = []*onnxpb.TensorProto{{Name: proto.String("z"), DataType: dt(Int8), Dims: []int64{-3}}}
			m.Graph = m2.Graph
		}, DecodeOptions{}, ErrInvalid, "dim 0 is negative (-3)"},
		{"function attribute reference outside a function", attr(&onnxpb.AttributeProto{Name: proto.String("k"), RefAttrName: proto.String("alpha"), Type: onnxpb.AttributeProto_FLOAT.Enum()}),
			DecodeOptions{}, ErrInvalid, "refers to a function attribute outside a function"},
		{"negative dim in a value type", func(m *onnxpb.ModelProto) { m.Graph.Input[0] = tensorValue("x", Float, 2, -2) },
			DecodeOptions{}, ErrInvalid, `value "x": dim 1 is negative (-2)`},
		{"value type of rank 33", func(m *onnxpb.ModelProto) { m.Graph.Input[0] = tensorValue("x", Float, make([]int64, 33)...) },
			DecodeOptions{}, ErrInvalid, `value "x" has 33 dims, more than 32`},
		{"value element type 99", func(m *onnxpb.ModelProto) { m.Graph.Output[0] = tensorValue("y", DataType(99)) },
			DecodeOptions{}, ErrInvalid, `value "y" has element type 99`},
		{"subgraphs 17 deep", func(m *onnxpb.ModelProto) { *m = *nest(t, 17) },
			DecodeOptions{}, ErrLimit, "graphs nested more than 16 deep (MaxGraphDepth)"},
		{"subgraphs 3 deep, MaxGraphDepth 2", func(m *onnxpb.ModelProto) { *m = *nest(t, 3) },
			DecodeOptions{MaxGraphDepth: 2}, ErrLimit, "graphs nested more than 2 deep"},
		{"types nested 200 deep", func(m *onnxpb.ModelProto) {
			ty := m.Graph.Input[0].Type
			for i := 0; i < 200; i++ {
				ty = &onnxpb.TypeProto{Value: &onnxpb.TypeProto_SequenceType{SequenceType: &onnxpb.TypeProto_Sequence{ElemType: ty}}}
			}
			m.Graph.Input[0].Type = ty
		}, DecodeOptions{}, ErrLimit, "messages nested more than 96 deep"},
		{"MaxNodes", func(m *onnxpb.ModelProto) { m.Graph.Node = append(m.Graph.Node, m.Graph.Node[0], m.Graph.Node[0]) },
			DecodeOptions{MaxNodes: 2}, ErrLimit, "more than 2 nodes (MaxNodes)"},
		{"MaxTensors", func(m *onnxpb.ModelProto) {}, DecodeOptions{MaxTensors: 0 + 1<<0 - 1 + 1}, nil, ""},
		{"MaxAttributes", attr(&onnxpb.AttributeProto{Name: proto.String("k"), Type: onnxpb.AttributeProto_INT.Enum()}),
			DecodeOptions{MaxAttributes: 1}, nil, ""},
		{"MaxAttributes exceeded", func(m *onnxpb.ModelProto) {
			for _, k := range []string{"a", "b"} {
				m.Graph.Node[0].Attribute = append(m.Graph.Node[0].Attribute, &onnxpb.AttributeProto{Name: proto.String(k), Type: onnxpb.AttributeProto_INT.Enum()})
			}
		}, DecodeOptions{MaxAttributes: 1}, ErrLimit, "more than 1 attributes (MaxAttributes)"},
		{"MaxTensors exceeded", func(m *onnxpb.ModelProto) {
			w2 := proto.Clone(m.Graph.Initializer[0]).(*onnxpb.TensorProto)
			w2.Name = proto.String("w2")
			m.Graph.Initializer = append(m.Graph.Initializer, w2)
		}, DecodeOptions{MaxTensors: 1}, ErrLimit, "more than 1 tensors (MaxTensors)"},
		{"MaxMessages exceeded", func(m *onnxpb.ModelProto) {}, DecodeOptions{MaxMessages: 10}, ErrLimit, "more than 10 protobuf messages (MaxMessages)"},
		{"MaxBytes exceeded", func(m *onnxpb.ModelProto) {}, DecodeOptions{MaxBytes: 20}, ErrLimit, "over the limit of 20"},
		{"negative limit", func(m *onnxpb.ModelProto) {}, DecodeOptions{MaxNodes: -1}, ErrLimit, "DecodeOptions.MaxNodes is negative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := testModel(t)
			c.mod(m)
			_, err := Decode(marshal(t, m), c.opts)
			if c.err == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want %v containing %q", err, c.err, c.msg)
			}
		})
	}
}

func TestDecodeDepthLimitInclusive(t *testing.T) {
	if _, err := Decode(marshal(t, nest(t, 16)), DecodeOptions{}); err != nil {
		t.Fatalf("16 deep: %v", err)
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestDecodeAllocation: hostile inputs are refused before anything large
// is allocated for what they claim.
func TestDecodeAllocation(t *testing.T) {
	// A tensor claiming 10^12 floats with 10 bytes of data.
	m := testModel(t)
	setInit(&onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{1e12}, RawData: make([]byte, 10)})(m)
	data := marshal(t, m)
	if n := allocated(func() { Decode(data, DecodeOptions{}) }); n > 1<<20 {
		t.Errorf("refusing a 10^12-element tensor allocated %d bytes", n)
	}
	// 2^21 empty nodes: 4 MiB of input that would take ~500 MiB decoded.
	var g []byte
	for i := 0; i < 1<<21; i++ {
		g = protowire.AppendTag(g, 1, protowire.BytesType) // GraphProto.node
		g = protowire.AppendVarint(g, 0)
	}
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType) // ir_version
	b = protowire.AppendVarint(b, 8)
	b = protowire.AppendTag(b, 7, protowire.BytesType) // graph
	b = protowire.AppendBytes(b, g)
	var err error
	if n := allocated(func() { _, err = Decode(b, DecodeOptions{}) }); n > 1<<20 {
		t.Errorf("refusing %d nodes allocated %d bytes", 1<<21, n)
	}
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "MaxNodes") {
		t.Errorf("got %v, want the MaxNodes limit", err)
	}
}

// TestDecodeTruncated: every strict prefix of a valid model is refused.
func TestDecodeTruncated(t *testing.T) {
	data := marshal(t, nest(t, 2))
	for n := 0; n < len(data); n++ {
		if _, err := Decode(data[:n], DecodeOptions{}); err == nil {
			t.Fatalf("prefix of %d of %d bytes decodes", n, len(data))
		}
	}
	if _, err := Decode(data, DecodeOptions{}); err != nil {
		t.Fatal(err)
	}
	// Garbage.
	_, err := Decode([]byte{0xff, 0xff, 0xff}, DecodeOptions{})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("garbage: %v", err)
	}
}

func TestLoadAndReadLimits(t *testing.T) {
	data := marshal(t, testModel(t))
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	small := DecodeOptions{MaxBytes: int64(len(data)) - 1}
	if _, err := Load(path, small); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("Load over the limit: %v", err)
	}
	if _, err := Read(bytes.NewReader(data), small); !errors.Is(err, ErrLimit) {
		t.Errorf("Read over the limit: %v", err)
	}
	exact := DecodeOptions{MaxBytes: int64(len(data))}
	if _, err := Load(path, exact); err != nil {
		t.Errorf("Load at the limit: %v", err)
	}
	if _, err := Read(bytes.NewReader(data), exact); err != nil {
		t.Errorf("Read at the limit: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.onnx"), DecodeOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(t.TempDir(), DecodeOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("directory: %v", err)
	}
}

// TestUnknownFieldsKept: fields of IR versions after this schema (here
// NodeProto.overload, field 8 of IR 10) survive Decode and Encode.
func TestUnknownFieldsKept(t *testing.T) {
	m := testModel(t)
	m.IrVersion = proto.Int64(10)
	m.OpsetImport[0].Version = proto.Int64(21)
	node := marshal(t, m.Graph.Node[0])
	node = protowire.AppendTag(node, 8, protowire.BytesType)
	node = protowire.AppendString(node, "fast")
	n := &onnxpb.NodeProto{}
	if err := proto.Unmarshal(node, n); err != nil {
		t.Fatal(err)
	}
	m.Graph.Node[0] = n
	got, err := Decode(marshal(t, m), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := Encode(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(enc, []byte("fast")) {
		t.Fatal("the unknown field was lost")
	}
}

// TestFixtureModels decodes the models of testdata/gen.py and checks the
// values its comments state.
func TestFixtureModels(t *testing.T) {
	m, err := Load("testdata/models/qdq_conv.onnx", DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inits := map[string]*Tensor{}
	for _, tp := range m.GetGraph().GetInitializer() {
		x, err := TensorFromProto(tp)
		if err != nil {
			t.Fatal(err)
		}
		inits[x.Name] = x
	}
	w, err := Data[int8](inits["w"])
	if err != nil || !equal(w, []int8{1, -2, 3, -4, -128, 127, 0, 5}) || !equal(inits["w"].Dims, []int{2, 1, 2, 2}) {
		t.Errorf("w = %v %v, %v", inits["w"].Dims, w, err)
	}
	b, err := Data[float32](inits["b"]) // float_data
	if err != nil || !equal(b, []float32{0.5, -0.25}) {
		t.Errorf("b = %v, %v", b, err)
	}
	xz, err := Data[uint8](inits["xz"])
	if err != nil || !equal(xz, []uint8{3}) || len(inits["xz"].Dims) != 0 {
		t.Errorf("xz = %v %v, %v", inits["xz"].Dims, xz, err)
	}
	conv := m.GetGraph().GetNode()[3]
	if k, err := AttrInts(conv, "kernel_shape", nil); err != nil || !equal(k, []int64{2, 2}) {
		t.Errorf("kernel_shape = %v, %v", k, err)
	}

	m, err = Load("testdata/models/if_loop.onnx", DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	then, err := AttrGraph(m.GetGraph().GetNode()[0], "then_branch")
	if err != nil {
		t.Fatal(err)
	}
	c, err := AttrTensor(then.GetNode()[0], "value") // FLOAT16 in int32_data
	if err != nil {
		t.Fatal(err)
	}
	if v, err := Data[float32](c); err != nil || !equal(v, []float32{1.5, -0.0009765625}) || c.Type != Float16 {
		t.Errorf("Constant = %v %v, %v", c.Type, v, err)
	}

	m, err = Load("testdata/models/int4_ir10.onnx", DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range m.GetGraph().GetInitializer() {
		x, err := TensorFromProto(tp)
		if err != nil {
			t.Fatal(err)
		}
		switch x.Name {
		case "i4":
			if v, err := Data[int8](x); err != nil || !equal(v, []int8{-8, 7, 0, -1, 3}) || x.Type != Int4 {
				t.Errorf("i4 = %v %v, %v", x.Type, v, err)
			}
		case "u4":
			if v, err := Data[uint8](x); err != nil || !equal(v, []uint8{0, 15, 9, 4, 1}) || x.Type != Uint4 {
				t.Errorf("u4 = %v %v, %v", x.Type, v, err)
			}
		}
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
