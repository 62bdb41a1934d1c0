package onnx

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// extTensor is a FLOAT tensor of dims whose data is external, with the
// given external_data key/value pairs.
func extTensor(dims []int64, kv ...string) *onnxpb.TensorProto {
	tp := &onnxpb.TensorProto{Name: proto.String("w"), DataType: dt(Float), Dims: dims, DataLocation: onnxpb.TensorProto_EXTERNAL.Enum()}
	for i := 0; i+1 < len(kv); i += 2 {
		tp.ExternalData = append(tp.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String(kv[i]), Value: proto.String(kv[i+1])})
	}
	return tp
}

// extDir makes a model directory holding weights.bin (the float32 values
// 1..6), sub/w.bin (the same), a symbolic link inside.bin to weights.bin,
// links escaping the directory and, beside the directory, outside.bin.
func extDir(t *testing.T) string {
	parent := t.TempDir()
	dir := filepath.Join(parent, "model")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var b []byte
	for i := 1; i <= 6; i++ {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(i)))
	}
	must(os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "weights.bin"), b, 0o644))
	must(os.WriteFile(filepath.Join(dir, "sub", "w.bin"), b, 0o644))
	must(os.WriteFile(filepath.Join(parent, "outside.bin"), b, 0o644))
	must(os.Symlink("weights.bin", filepath.Join(dir, "inside.bin")))
	must(os.Symlink("../outside.bin", filepath.Join(dir, "escape.bin")))
	must(os.Symlink(filepath.Join(parent, "outside.bin"), filepath.Join(dir, "absolute.bin")))
	must(os.Symlink("..", filepath.Join(dir, "up")))
	return dir
}

func TestExternalData(t *testing.T) {
	dir := extDir(t)
	sum := sha1.Sum(must1(os.ReadFile(filepath.Join(dir, "weights.bin"))))
	good := hex.EncodeToString(sum[:])
	for _, c := range []struct {
		name string
		tp   *onnxpb.TensorProto
		opts DecodeOptions
		want []float32 // nil: an error
		err  error
		msg  string
	}{
		{"whole file", extTensor([]int64{2, 3}, "location", "weights.bin"), DecodeOptions{}, []float32{1, 2, 3, 4, 5, 6}, nil, ""},
		{"offset and length", extTensor([]int64{2}, "location", "weights.bin", "offset", "8", "length", "8"), DecodeOptions{}, []float32{3, 4}, nil, ""},
		{"offset to the end", extTensor([]int64{4}, "location", "weights.bin", "offset", "8"), DecodeOptions{}, []float32{3, 4, 5, 6}, nil, ""},
		{"subdirectory", extTensor([]int64{1}, "location", "sub/w.bin", "offset", "20", "length", "4"), DecodeOptions{}, []float32{6}, nil, ""},
		{"dot path", extTensor([]int64{6}, "location", "./sub/../weights.bin"), DecodeOptions{}, []float32{1, 2, 3, 4, 5, 6}, nil, ""},
		{"link inside", extTensor([]int64{6}, "location", "inside.bin"), DecodeOptions{}, []float32{1, 2, 3, 4, 5, 6}, nil, ""},
		{"empty tensor", extTensor([]int64{0, 3}, "location", "weights.bin", "offset", "24"), DecodeOptions{}, []float32{}, nil, ""},
		{"checksum", extTensor([]int64{6}, "location", "weights.bin", "checksum", strings.ToUpper(good)), DecodeOptions{}, []float32{1, 2, 3, 4, 5, 6}, nil, ""},

		{"absolute path", extTensor([]int64{6}, "location", filepath.Join(dir, "weights.bin")), DecodeOptions{}, nil, ErrInvalid, "is not a relative path inside the model's directory"},
		{"dot-dot", extTensor([]int64{6}, "location", "../outside.bin"), DecodeOptions{}, nil, ErrInvalid, "is not a relative path inside"},
		{"dot-dot inside", extTensor([]int64{6}, "location", "sub/../../outside.bin"), DecodeOptions{}, nil, ErrInvalid, "is not a relative path inside"},
		{"backslash", extTensor([]int64{6}, "location", `..\outside.bin`), DecodeOptions{}, nil, ErrInvalid, "is not a relative path inside"},
		{"empty location", extTensor([]int64{6}, "location", ""), DecodeOptions{}, nil, ErrInvalid, "without a location"},
		{"no location", extTensor([]int64{6}, "offset", "0"), DecodeOptions{}, nil, ErrInvalid, "without a location"},
		{"link escaping", extTensor([]int64{6}, "location", "escape.bin"), DecodeOptions{}, nil, ErrInvalid, "path escapes from parent"},
		{"absolute link", extTensor([]int64{6}, "location", "absolute.bin"), DecodeOptions{}, nil, ErrInvalid, "path escapes from parent"},
		{"directory link", extTensor([]int64{6}, "location", "up/outside.bin"), DecodeOptions{}, nil, ErrInvalid, "path escapes from parent"},
		{"directory", extTensor([]int64{6}, "location", "sub"), DecodeOptions{}, nil, ErrInvalid, "not a regular file"},
		{"missing file", extTensor([]int64{6}, "location", "nope.bin"), DecodeOptions{}, nil, ErrInvalid, `external data "nope.bin"`},
		{"offset beyond the file", extTensor([]int64{1}, "location", "weights.bin", "offset", "28", "length", "4"), DecodeOptions{}, nil, ErrInvalid, "offset 28 beyond the end"},
		{"length beyond the file", extTensor([]int64{2}, "location", "weights.bin", "offset", "20", "length", "8"), DecodeOptions{}, nil, ErrInvalid, "cannot hold 8 bytes at offset 20"},
		{"length not the dims'", extTensor([]int64{2}, "location", "weights.bin", "length", "12"), DecodeOptions{}, nil, ErrInvalid, "length 12, but FLOAT dims [2] take 8 bytes"},
		{"rest of the file not the dims'", extTensor([]int64{2}, "location", "weights.bin", "offset", "4"), DecodeOptions{}, nil, ErrInvalid, "external data of 20 bytes"},
		{"huge dims", extTensor([]int64{1e12}, "location", "weights.bin"), DecodeOptions{}, nil, ErrInvalid, "external data of 24 bytes"},
		{"negative offset", extTensor([]int64{1}, "location", "weights.bin", "offset", "-4"), DecodeOptions{}, nil, ErrInvalid, `offset "-4" is not a non-negative integer`},
		{"signed length", extTensor([]int64{1}, "location", "weights.bin", "length", "+4"), DecodeOptions{}, nil, ErrInvalid, `length "+4" is not a non-negative integer`},
		{"hex offset", extTensor([]int64{1}, "location", "weights.bin", "offset", "0x4"), DecodeOptions{}, nil, ErrInvalid, `offset "0x4" is not`},
		{"key twice", extTensor([]int64{1}, "location", "weights.bin", "location", "sub/w.bin"), DecodeOptions{}, nil, ErrInvalid, `key "location" given twice`},
		{"unknown key", extTensor([]int64{1}, "location", "weights.bin", "basepath", "/"), DecodeOptions{}, nil, ErrInvalid, `unknown external_data key "basepath"`},
		{"wrong checksum", extTensor([]int64{6}, "location", "weights.bin", "checksum", strings.Repeat("0", 40)), DecodeOptions{}, nil, ErrInvalid, "has SHA-1 " + good},
		{"malformed checksum", extTensor([]int64{6}, "location", "weights.bin", "checksum", "abc"), DecodeOptions{}, nil, ErrInvalid, "not a SHA-1"},
		{"over MaxExternalBytes", extTensor([]int64{6}, "location", "weights.bin"), DecodeOptions{MaxExternalBytes: 23}, nil, ErrLimit, "MaxExternalBytes"},
		{"inline data too", func() *onnxpb.TensorProto {
			tp := extTensor([]int64{1}, "location", "weights.bin")
			tp.FloatData = []float32{1}
			return tp
		}(), DecodeOptions{}, nil, ErrInvalid, "both external and inline data"},
		{"string", func() *onnxpb.TensorProto {
			tp := extTensor([]int64{1}, "location", "weights.bin")
			tp.DataType = dt(String)
			return tp
		}(), DecodeOptions{}, nil, ErrInvalid, "STRING tensors cannot have external data"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := testModel(t)
			m.Graph.Initializer = []*onnxpb.TensorProto{c.tp}
			path := filepath.Join(dir, "model.onnx")
			if err := os.WriteFile(path, marshal(t, m), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := Load(path, c.opts)
			if c.want == nil {
				if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("got %v, want %v containing %q", err, c.err, c.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tp := got.Graph.Initializer[0]
			if tp.GetDataLocation() != onnxpb.TensorProto_DEFAULT || len(tp.GetExternalData()) != 0 {
				t.Fatal("the decoded tensor still refers to external data")
			}
			x, err := TensorFromProto(tp)
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := Data[float32](x); !equal(v, c.want) {
				t.Fatalf("values %v, want %v", v, c.want)
			}
			// Decode with Dir reads the same.
			opts := c.opts
			opts.Dir = dir
			if _, err := Decode(marshal(t, m), opts); err != nil {
				t.Fatalf("Decode with Dir: %v", err)
			}
		})
	}
}

func must1[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestExternalFixture loads the model that ONNX's own writer saved with
// external data (testdata/gen.py): w = 0.5 * [0..5] as 2x3, shape [2, 3].
func TestExternalFixture(t *testing.T) {
	m, err := Load("testdata/models/external/model.onnx", DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range m.GetGraph().GetInitializer() {
		x, err := TensorFromProto(tp)
		if err != nil {
			t.Fatal(err)
		}
		switch x.Name {
		case "w":
			if v, err := Data[float32](x); err != nil || !equal(v, []float32{0, 0.5, 1, 1.5, 2, 2.5}) || !equal(x.Dims, []int{2, 3}) {
				t.Errorf("w = %v %v, %v", x.Dims, v, err)
			}
		case "shape":
			if v, err := x.Ints(); err != nil || !equal(v, []int64{2, 3}) {
				t.Errorf("shape = %v, %v", v, err)
			}
		default:
			t.Errorf("unexpected initializer %q", x.Name)
		}
	}
	// The same bytes from a reader: no directory, so an error saying so.
	f, err := os.Open("testdata/models/external/model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Read(f, DecodeOptions{}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "DecodeOptions.Dir") {
		t.Fatalf("Read without Dir: %v", err)
	}
}
