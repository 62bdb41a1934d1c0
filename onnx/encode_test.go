package onnx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/onnx/onnxpb"
)

func TestEncodeRoundTrip(t *testing.T) {
	m := nest(t, 3)
	q, err := NewInt4Tensor("q", []int{3}, []int8{-8, 0, 7})
	if err != nil {
		t.Fatal(err)
	}
	m.Graph.Initializer = append(m.Graph.Initializer, q)
	a, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encode(proto.Clone(m).(*onnxpb.ModelProto))
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("Encode is not deterministic (%v)", err)
	}
	got, err := Decode(a, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, m) {
		t.Fatal("Decode(Encode(m)) differs from m")
	}
	// Encode refuses what Decode refuses.
	m.IrVersion = proto.Int64(3)
	if _, err := Encode(m); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Encode of IR 3: %v", err)
	}
	if _, err := Encode(nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Encode(nil): %v", err)
	}
}

func TestSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	m := testModel(t)
	if err := Save(path, m); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path, DecodeOptions{})
	if err != nil || !proto.Equal(got, m) {
		t.Fatalf("Load(Save(m)): %v", err)
	}
	before, _ := os.ReadFile(path)
	// A failing Save leaves the file as it was and no temporary file.
	bad := testModel(t)
	bad.Graph.Initializer[0].Dims = []int64{3}
	if err := Save(path, bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Save of a bad model: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("a failed Save changed the file")
	}
	if err := Save(filepath.Join(dir, "missing", "m.onnx"), m); err == nil {
		t.Fatal("Save into a missing directory succeeded")
	}
	// Replacing works, and leaves only the model.
	m.ProducerName = proto.String("second")
	if err := Save(path, m); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "m.onnx" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %v", names)
	}
	if got, err := Load(path, DecodeOptions{}); err != nil || got.GetProducerName() != "second" {
		t.Fatalf("replaced model: %v", err)
	}
}
