package onnx

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// TestInt4Unpack: packed 4-bit values, low nibble first, against values
// worked out by hand. Bytes 0x21 0xF8 0x07 hold the nibbles 1, 2, 8, F, 7
// (and a high nibble 0 after the last element): as INT4 1, 2, -8, -1, 7;
// as UINT4 1, 2, 8, 15, 7.
func TestInt4Unpack(t *testing.T) {
	raw := []byte{0x21, 0xF8, 0x07}
	i32 := []int32{0x21, 0xF8, 0x07}
	for _, c := range []struct {
		name string
		tp   *onnxpb.TensorProto
		want any
	}{
		{"int4 raw", &onnxpb.TensorProto{DataType: dt(Int4), Dims: []int64{5}, RawData: raw}, []int8{1, 2, -8, -1, 7}},
		{"uint4 raw", &onnxpb.TensorProto{DataType: dt(Uint4), Dims: []int64{5}, RawData: raw}, []uint8{1, 2, 8, 15, 7}},
		{"int4 int32_data", &onnxpb.TensorProto{DataType: dt(Int4), Dims: []int64{5}, Int32Data: i32}, []int8{1, 2, -8, -1, 7}},
		{"uint4 int32_data", &onnxpb.TensorProto{DataType: dt(Uint4), Dims: []int64{5}, Int32Data: i32}, []uint8{1, 2, 8, 15, 7}},
		{"int4 even count", &onnxpb.TensorProto{DataType: dt(Int4), Dims: []int64{2, 2}, RawData: []byte{0x9F, 0x70}}, []int8{-1, -7, 0, 7}},
		{"uint4 scalar", &onnxpb.TensorProto{DataType: dt(Uint4), RawData: []byte{0xAC}}, []uint8{12}},
	} {
		x, err := TensorFromProto(c.tp)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !reflect.DeepEqual(x.Values(), c.want) {
			t.Errorf("%s: %v, want %v", c.name, x.Values(), c.want)
		}
	}
	// Out of range in int32_data: each entry is one packed byte.
	if _, err := TensorFromProto(&onnxpb.TensorProto{DataType: dt(Int4), Dims: []int64{2}, Int32Data: []int32{256}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("int32_data entry 256: %v", err)
	}
}

func TestInt4Pack(t *testing.T) {
	tp, err := NewInt4Tensor("q", []int{5}, []int8{1, 2, -8, -1, 7})
	if err != nil {
		t.Fatal(err)
	}
	if !equal(tp.GetRawData(), []byte{0x21, 0xF8, 0x07}) || tp.GetDataType() != 22 {
		t.Errorf("INT4 raw_data % x, type %d", tp.GetRawData(), tp.GetDataType())
	}
	tp, err = NewUint4Tensor("q", []int{2, 2}, []uint8{15, 9, 0, 7})
	if err != nil {
		t.Fatal(err)
	}
	if !equal(tp.GetRawData(), []byte{0x9F, 0x70}) || tp.GetDataType() != 21 {
		t.Errorf("UINT4 raw_data % x, type %d", tp.GetRawData(), tp.GetDataType())
	}
	if _, err := NewInt4Tensor("q", []int{1}, []int8{8}); !errors.Is(err, ErrInvalid) {
		t.Errorf("INT4 8: %v", err)
	}
	if _, err := NewUint4Tensor("q", []int{1}, []uint8{16}); !errors.Is(err, ErrInvalid) {
		t.Errorf("UINT4 16: %v", err)
	}
}

// TestTypedFields: every typed data field, against values written out by
// hand, including scalars and empty tensors.
func TestTypedFields(t *testing.T) {
	f16 := []int32{0x3c00, 0xc000, 0x0001, 0x7c00} // 1, -2, 2^-24, +Inf
	for _, c := range []struct {
		name string
		tp   *onnxpb.TensorProto
		want any
	}{
		{"float", &onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{2}, FloatData: []float32{1.5, -2}}, []float32{1.5, -2}},
		{"float scalar", &onnxpb.TensorProto{DataType: dt(Float), FloatData: []float32{7}}, []float32{7}},
		{"float empty", &onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{0, 3}}, []float32{}},
		{"float empty raw", &onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{3, 0}, RawData: []byte{}}, []float32{}},
		{"double", &onnxpb.TensorProto{DataType: dt(Double), Dims: []int64{1}, DoubleData: []float64{1e300}}, []float64{1e300}},
		{"int64", &onnxpb.TensorProto{DataType: dt(Int64), Dims: []int64{2}, Int64Data: []int64{math.MinInt64, 3}}, []int64{math.MinInt64, 3}},
		{"int32", &onnxpb.TensorProto{DataType: dt(Int32), Dims: []int64{1}, Int32Data: []int32{-5}}, []int32{-5}},
		{"int8", &onnxpb.TensorProto{DataType: dt(Int8), Dims: []int64{3}, Int32Data: []int32{-128, 0, 127}}, []int8{-128, 0, 127}},
		{"uint8", &onnxpb.TensorProto{DataType: dt(Uint8), Dims: []int64{2}, Int32Data: []int32{0, 255}}, []uint8{0, 255}},
		{"int16", &onnxpb.TensorProto{DataType: dt(Int16), Dims: []int64{1}, Int32Data: []int32{-32768}}, []int16{-32768}},
		{"uint16", &onnxpb.TensorProto{DataType: dt(Uint16), Dims: []int64{1}, Int32Data: []int32{65535}}, []uint16{65535}},
		{"bool", &onnxpb.TensorProto{DataType: dt(Bool), Dims: []int64{2}, Int32Data: []int32{1, 0}}, []bool{true, false}},
		{"float16", &onnxpb.TensorProto{DataType: dt(Float16), Dims: []int64{4}, Int32Data: f16},
			[]float32{1, -2, 5.9604644775390625e-08, float32(math.Inf(1))}},
		{"bfloat16", &onnxpb.TensorProto{DataType: dt(BFloat16), Dims: []int64{2}, Int32Data: []int32{0x3f80, 0xc040}}, []float32{1, -3}},
		{"uint32", &onnxpb.TensorProto{DataType: dt(Uint32), Dims: []int64{1}, Uint64Data: []uint64{math.MaxUint32}}, []uint32{math.MaxUint32}},
		{"uint64", &onnxpb.TensorProto{DataType: dt(Uint64), Dims: []int64{1}, Uint64Data: []uint64{math.MaxUint64}}, []uint64{math.MaxUint64}},
		{"string", &onnxpb.TensorProto{DataType: dt(String), Dims: []int64{2}, StringData: [][]byte{[]byte("ab"), {}}}, []string{"ab", ""}},
		{"complex64", &onnxpb.TensorProto{DataType: dt(Complex64), Dims: []int64{2}, FloatData: []float32{1, 2, 3, 4}}, []complex64{1 + 2i, 3 + 4i}},
		{"complex128", &onnxpb.TensorProto{DataType: dt(Complex128), Dims: []int64{1}, DoubleData: []float64{-1, 0.5}}, []complex128{-1 + 0.5i}},
		// raw_data: little-endian.
		{"raw float", &onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{1}, RawData: []byte{0, 0, 0xc0, 0x3f}}, []float32{1.5}},
		{"raw int16", &onnxpb.TensorProto{DataType: dt(Int16), Dims: []int64{1}, RawData: []byte{0xfe, 0xff}}, []int16{-2}},
		{"raw int64", &onnxpb.TensorProto{DataType: dt(Int64), Dims: []int64{1}, RawData: []byte{1, 2, 3, 4, 5, 6, 7, 0x80}}, []int64{-0x7ff8f9fafbfcfdff}}, // 0x8007060504030201 - 2^64
		{"raw float16 subnormal", &onnxpb.TensorProto{DataType: dt(Float16), Dims: []int64{1}, RawData: []byte{0xff, 0x03}}, []float32{6.097555160522461e-05}},
		{"raw bool", &onnxpb.TensorProto{DataType: dt(Bool), Dims: []int64{3}, RawData: []byte{1, 0, 1}}, []bool{true, false, true}},
		{"raw complex64", &onnxpb.TensorProto{DataType: dt(Complex64), Dims: []int64{1}, RawData: []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}}, []complex64{1 - 2i}},
	} {
		x, err := TensorFromProto(c.tp)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(x.Values(), c.want) {
			t.Errorf("%s: %v, want %v", c.name, x.Values(), c.want)
		}
		if x.Len() != reflect.ValueOf(c.want).Len() {
			t.Errorf("%s: Len %d", c.name, x.Len())
		}
	}
}

func TestTensorFromProtoErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		tp   *onnxpb.TensorProto
		err  error
		msg  string
	}{
		{"int8 out of range", &onnxpb.TensorProto{DataType: dt(Int8), Dims: []int64{2}, Int32Data: []int32{1, 128}}, ErrInvalid, "entry 1 (128) out of range [-128, 127]"},
		{"uint8 negative", &onnxpb.TensorProto{DataType: dt(Uint8), Dims: []int64{1}, Int32Data: []int32{-1}}, ErrInvalid, "out of range [0, 255]"},
		{"bool 2", &onnxpb.TensorProto{DataType: dt(Bool), Dims: []int64{1}, Int32Data: []int32{2}}, ErrInvalid, "out of range [0, 1]"},
		{"raw bool 2", &onnxpb.TensorProto{DataType: dt(Bool), Dims: []int64{1}, RawData: []byte{2}}, ErrInvalid, "BOOL element 0 is byte 2"},
		{"float16 bits negative", &onnxpb.TensorProto{DataType: dt(Float16), Dims: []int64{1}, Int32Data: []int32{-1}}, ErrInvalid, "out of range [0, 65535]"},
		{"uint32 in uint64_data", &onnxpb.TensorProto{DataType: dt(Uint32), Dims: []int64{1}, Uint64Data: []uint64{1 << 32}}, ErrInvalid, "out of the UINT32 range"},
		{"float8", &onnxpb.TensorProto{DataType: dt(Float8E4M3FN), Dims: []int64{1}, RawData: []byte{1}}, ErrUnsupported, "FLOAT8E4M3FN is not converted"},
		{"external", extTensor([]int64{1}, "location", "w.bin"), ErrInvalid, "has external data"},
		{"short", &onnxpb.TensorProto{DataType: dt(Int32), Dims: []int64{3}, Int32Data: []int32{1, 2}}, ErrInvalid, "has 2 entries in int32_data, want 3"},
	} {
		_, err := TensorFromProto(c.tp)
		if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: got %v, want %v containing %q", c.name, err, c.err, c.msg)
		}
	}
}

func TestDataAndInts(t *testing.T) {
	x, err := TensorFromProto(&onnxpb.TensorProto{Name: proto.String("s"), DataType: dt(Int32), Dims: []int64{2}, Int32Data: []int32{-1, 4}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Data[float32](x); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Data[float32] of INT32: %v", err)
	}
	if v, err := Data[int32](x); err != nil || !equal(v, []int32{-1, 4}) {
		t.Errorf("Data[int32] = %v, %v", v, err)
	}
	if v, err := x.Ints(); err != nil || !equal(v, []int64{-1, 4}) {
		t.Errorf("Ints = %v, %v", v, err)
	}
	u, _ := TensorFromProto(&onnxpb.TensorProto{DataType: dt(Uint64), Dims: []int64{1}, Uint64Data: []uint64{1 << 63}})
	if _, err := u.Ints(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Ints of 2^63: %v", err)
	}
	f, _ := TensorFromProto(&onnxpb.TensorProto{DataType: dt(Float), Dims: []int64{1}, FloatData: []float32{1}})
	if _, err := f.Ints(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Ints of FLOAT: %v", err)
	}
}

// roundTrip writes data with NewTensor, reads it back with TensorFromProto
// and compares.
func roundTrip[T Element](t *testing.T, dims []int, data []T, want DataType) {
	t.Helper()
	tp, err := NewTensor("x", dims, data)
	if err != nil {
		t.Fatal(err)
	}
	if DataType(tp.GetDataType()) != want {
		t.Errorf("%T: type %v, want %v", data, DataType(tp.GetDataType()), want)
	}
	x, err := TensorFromProto(tp)
	if err != nil {
		t.Fatalf("%T: %v", data, err)
	}
	got, err := Data[T](x)
	if err != nil || !reflect.DeepEqual(got, data) || !reflect.DeepEqual(x.Dims, dims) || x.Name != "x" {
		t.Errorf("%T: %v %v, want %v %v (%v)", data, x.Dims, got, dims, data, err)
	}
	data2 := append([]T(nil), data...)
	if len(data) > 0 {
		var z T
		data[0] = z // the tensor holds a copy
		if !reflect.DeepEqual(got, data2) {
			t.Errorf("%T: NewTensor kept a reference to data", data)
		}
		data[0] = data2[0]
	}
}

func TestNewTensorRoundTrip(t *testing.T) {
	roundTrip(t, []int{2, 2}, []float32{1.5, -0, float32(math.Inf(-1)), 3e38}, Float)
	roundTrip(t, []int{}, []float64{math.Pi}, Double)
	roundTrip(t, []int{3}, []int8{-128, 0, 127}, Int8)
	roundTrip(t, []int{2}, []uint8{0, 255}, Uint8)
	roundTrip(t, []int{1}, []int16{-300}, Int16)
	roundTrip(t, []int{1}, []uint16{65535}, Uint16)
	roundTrip(t, []int{2}, []int32{math.MinInt32, 7}, Int32)
	roundTrip(t, []int{1}, []uint32{math.MaxUint32}, Uint32)
	roundTrip(t, []int{2}, []int64{math.MinInt64, math.MaxInt64}, Int64)
	roundTrip(t, []int{1}, []uint64{math.MaxUint64}, Uint64)
	roundTrip(t, []int{3}, []bool{true, false, true}, Bool)
	roundTrip(t, []int{2}, []string{"héllo", ""}, String)
	roundTrip(t, []int{1}, []complex64{1 - 2i}, Complex64)
	roundTrip(t, []int{1}, []complex128{-3 + 4i}, Complex128)
	roundTrip(t, []int{0, 4}, []float32{}, Float)
}

func TestNewFloat16Tensor(t *testing.T) {
	tp, err := NewFloat16Tensor("h", []int{4}, []float32{1, -2, 65520, 1e-8})
	if err != nil {
		t.Fatal(err)
	}
	// 1 = 0x3c00, -2 = 0xc000, 65520 rounds to +Inf = 0x7c00, 1e-8 to 0.
	if !equal(tp.GetRawData(), []byte{0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c, 0x00, 0x00}) || DataType(tp.GetDataType()) != Float16 {
		t.Errorf("raw_data % x, type %v", tp.GetRawData(), DataType(tp.GetDataType()))
	}
}

func TestNewTensorShapeErrors(t *testing.T) {
	if _, err := NewTensor("x", []int{2, 3}, make([]float32, 5)); !errors.Is(err, ErrShape) {
		t.Errorf("5 elements for [2 3]: %v", err)
	}
	if _, err := NewTensor("x", []int{-1}, make([]float32, 0)); !errors.Is(err, ErrShape) {
		t.Errorf("negative dim: %v", err)
	}
	if _, err := NewTensor("x", nil, []float32{}); !errors.Is(err, ErrShape) {
		t.Errorf("scalar without a value: %v", err)
	}
	if _, err := NewTensor("x", make([]int, 33), []float32{0}); !errors.Is(err, ErrShape) {
		t.Errorf("rank 33: %v", err)
	}
	if _, err := NewInt4Tensor("x", []int{3}, []int8{1}); !errors.Is(err, ErrShape) {
		t.Errorf("int4 count: %v", err)
	}
}
