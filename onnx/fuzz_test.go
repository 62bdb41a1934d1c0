package onnx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// sampleTensors are TensorProtos of every convertible element type, in
// raw_data and in the typed fields, for the fuzz seeds.
func sampleTensors(t testing.TB) []*onnxpb.TensorProto {
	var out []*onnxpb.TensorProto
	add := func(tp *onnxpb.TensorProto, err error) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tp)
	}
	add(NewTensor("f", []int{2, 2}, []float32{1.5, float32(math.NaN()), float32(math.Inf(-1)), -0}))
	add(NewTensor("d", []int{}, []float64{math.Pi}))
	add(NewTensor("i8", []int{3}, []int8{-128, 0, 127}))
	add(NewTensor("u8", []int{0, 2}, []uint8{}))
	add(NewTensor("i16", []int{1}, []int16{-300}))
	add(NewTensor("u16", []int{1}, []uint16{65535}))
	add(NewTensor("i32", []int{2}, []int32{math.MinInt32, 7}))
	add(NewTensor("u32", []int{1}, []uint32{math.MaxUint32}))
	add(NewTensor("i64", []int{2}, []int64{math.MinInt64, 2}))
	add(NewTensor("u64", []int{1}, []uint64{math.MaxUint64}))
	add(NewTensor("b", []int{2}, []bool{true, false}))
	add(NewTensor("s", []int{2}, []string{"a", ""}))
	add(NewTensor("c64", []int{1}, []complex64{1 - 2i}))
	add(NewTensor("c128", []int{1}, []complex128{3 + 4i}))
	add(NewFloat16Tensor("h", []int{3}, []float32{1, 6e-8, 65504}))
	add(NewInt4Tensor("q4", []int{3}, []int8{-8, 1, 7}))
	add(NewUint4Tensor("u4", []int{2, 1}, []uint8{15, 0}))
	typed := []*onnxpb.TensorProto{
		{Name: proto.String("tf"), DataType: dt(Float), Dims: []int64{2}, FloatData: []float32{1, 2}},
		{Name: proto.String("ti8"), DataType: dt(Int8), Dims: []int64{2}, Int32Data: []int32{-1, 5}},
		{Name: proto.String("th"), DataType: dt(Float16), Dims: []int64{1}, Int32Data: []int32{0x3c00}},
		{Name: proto.String("tq4"), DataType: dt(Int4), Dims: []int64{3}, Int32Data: []int32{0x21, 0x0f}},
		{Name: proto.String("ti64"), DataType: dt(Int64), Dims: []int64{1}, Int64Data: []int64{-9}},
		{Name: proto.String("tu32"), DataType: dt(Uint32), Dims: []int64{1}, Uint64Data: []uint64{9}},
		{Name: proto.String("td"), DataType: dt(Complex128), Dims: []int64{1}, DoubleData: []float64{1, 2}},
		{Name: proto.String("tbf"), DataType: dt(BFloat16), Dims: []int64{1}, Int32Data: []int32{0x3f80}},
	}
	return append(out, typed...)
}

// fuzzModels are the seeds of FuzzDecode: models built here and the
// models of testdata/gen.py.
func fuzzModels(t testing.TB) [][]byte {
	m := nest(t, 3)
	m.Graph.Initializer = append(m.Graph.Initializer, sampleTensors(t)...)
	m.Graph.Node[0].Attribute = []*onnxpb.AttributeProto{
		{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: sampleTensors(t)[0]},
		{Name: proto.String("ints"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{1, 2}},
	}
	seeds := [][]byte{marshal(t, testModel(t)), marshal(t, m)}
	ext := testModel(t)
	ext.Graph.Initializer = []*onnxpb.TensorProto{extTensor([]int64{2}, "location", "w.bin", "offset", "0", "length", "8")}
	seeds = append(seeds, marshal(t, ext))
	files, _ := filepath.Glob("testdata/models/*.onnx")
	files = append(files, "testdata/models/external/model.onnx")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// FuzzDecode: Decode never panics; what it accepts converts tensor by
// tensor without panicking, encodes, and decodes back to the same model.
func FuzzDecode(f *testing.F) {
	for _, b := range fuzzModels(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b, DecodeOptions{MaxBytes: 1 << 20})
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		for _, g := range allGraphs(m.GetGraph()) {
			for _, tp := range g.GetInitializer() {
				TensorFromProto(tp)
			}
			for _, n := range g.GetNode() {
				for _, a := range n.GetAttribute() {
					if a.GetType() == onnxpb.AttributeProto_TENSOR {
						AttrTensor(n, a.GetName())
					}
				}
			}
		}
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("Decode accepts, Encode refuses: %v", err)
		}
		m2, err := Decode(enc, DecodeOptions{})
		if err != nil || !proto.Equal(m, m2) {
			t.Fatalf("Encode/Decode round trip: %v", err)
		}
		if enc2, _ := Encode(m2); !bytes.Equal(enc, enc2) {
			t.Fatal("re-encoding differs")
		}
	})
}

// FuzzTensor: DecodeTensor never panics; a tensor it accepts, written back
// with the constructors and read again, has bit for bit the same values.
func FuzzTensor(f *testing.F) {
	for _, tp := range sampleTensors(f) {
		f.Add(marshal(f, tp))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := DecodeTensor(b, DecodeOptions{MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		if n := reflect.ValueOf(x.Values()).Len(); x.Len() != n {
			t.Fatalf("Len %d, %d values", x.Len(), n)
		}
		tp, err := rewrite(x)
		if tp == nil {
			return // BFLOAT16 has no constructor
		}
		if err != nil {
			t.Fatalf("rewrite %v %v: %v", x.Type, x.Dims, err)
		}
		y, err := TensorFromProto(tp)
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		if y.Type != x.Type || !equal(y.Dims, x.Dims) || !bytes.Equal(valueBytes(t, x), valueBytes(t, y)) {
			t.Fatalf("%v %v became %v %v", x.Type, x.Dims, y.Type, y.Dims)
		}
	})
}

// rewrite writes x back as a TensorProto with the constructor for its
// type; nil for BFLOAT16, which has none.
func rewrite(x *Tensor) (*onnxpb.TensorProto, error) {
	dims := x.Dims
	switch x.Type {
	case Float16:
		return NewFloat16Tensor(x.Name, dims, must1(Data[float32](x)))
	case BFloat16:
		return nil, nil
	case Int4:
		return NewInt4Tensor(x.Name, dims, must1(Data[int8](x)))
	case Uint4:
		return NewUint4Tensor(x.Name, dims, must1(Data[uint8](x)))
	}
	switch v := x.Values().(type) {
	case []float32:
		return NewTensor(x.Name, dims, v)
	case []float64:
		return NewTensor(x.Name, dims, v)
	case []int8:
		return NewTensor(x.Name, dims, v)
	case []uint8:
		return NewTensor(x.Name, dims, v)
	case []int16:
		return NewTensor(x.Name, dims, v)
	case []uint16:
		return NewTensor(x.Name, dims, v)
	case []int32:
		return NewTensor(x.Name, dims, v)
	case []uint32:
		return NewTensor(x.Name, dims, v)
	case []int64:
		return NewTensor(x.Name, dims, v)
	case []uint64:
		return NewTensor(x.Name, dims, v)
	case []bool:
		return NewTensor(x.Name, dims, v)
	case []string:
		return NewTensor(x.Name, dims, v)
	case []complex64:
		return NewTensor(x.Name, dims, v)
	case []complex128:
		return NewTensor(x.Name, dims, v)
	}
	return nil, errors.New("unknown Go type")
}

// valueBytes is x's values as bytes (encoding/binary; strings
// NUL-terminated), so NaNs compare by their bits.
func valueBytes(t *testing.T, x *Tensor) []byte {
	var b bytes.Buffer
	if s, ok := x.Values().([]string); ok {
		for _, v := range s {
			b.WriteString(v)
			b.WriteByte(0)
		}
		return b.Bytes()
	}
	if err := binary.Write(&b, binary.LittleEndian, x.Values()); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
