package onnx

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// The ONNX backend test data of Debian's libonnx-testdata (ONNX 1.12).
const backendData = "/usr/share/libonnx-testdata/data"

func backendModels(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(backendData + "/*/*/model.onnx")
	if err != nil || len(paths) == 0 {
		t.Skipf("no ONNX backend test data in %s (Debian: apt-get install libonnx-testdata)", backendData)
	}
	return paths
}

// expectedOutcome is what Decode must say about a model, derived from a
// plain proto.Unmarshal of the trusted file by the rules of doc.go rather
// than by the code under test: "ok", "ir" or "opset".
func expectedOutcome(t *testing.T, path string) (string, *onnxpb.ModelProto) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if ir := m.GetIrVersion(); ir < 7 || ir > 10 {
		return "ir", m
	}
	for _, o := range m.GetOpsetImport() {
		if d := o.GetDomain(); (d == "" || d == "ai.onnx") && (o.GetVersion() < 13 || o.GetVersion() > 21) {
			return "opset", m
		}
	}
	return "ok", m
}

// TestBackendModels decodes every model of the ONNX backend tests: each
// one decodes, or is refused for its IR version or opset exactly when a
// plain reading of the file says it should be. Every decoded model's
// initializers and Constant tensors convert, and it survives Encode and
// Decode unchanged.
func TestBackendModels(t *testing.T) {
	counts := map[string]int{}
	tensors := 0
	for _, path := range backendModels(t) {
		rel, _ := filepath.Rel(backendData, path)
		want, raw := expectedOutcome(t, path)
		counts[want]++
		m, err := Load(path, DecodeOptions{})
		switch want {
		case "ir":
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), fmt.Sprintf("IR version %d (accepted: 7 to 10)", raw.GetIrVersion())) {
				t.Errorf("%s (IR %d): got %v, want the IR version refused", rel, raw.GetIrVersion(), err)
			}
			continue
		case "opset":
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "of the default domain ai.onnx (accepted: 13 to 21)") {
				t.Errorf("%s: got %v, want the opset refused", rel, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if !proto.Equal(m, raw) {
			t.Errorf("%s: decoded model differs from proto.Unmarshal's", rel)
		}
		for _, g := range allGraphs(m.GetGraph()) {
			for _, tp := range g.GetInitializer() {
				if _, err := TensorFromProto(tp); err != nil {
					t.Errorf("%s: initializer %q: %v", rel, tp.GetName(), err)
				}
				tensors++
			}
			for i, n := range g.GetNode() {
				for _, a := range n.GetAttribute() {
					if a.GetType() == onnxpb.AttributeProto_TENSOR {
						if _, err := AttrTensor(n, a.GetName()); err != nil {
							t.Errorf("%s: %s: %v", rel, NodeName(n, i), err)
						}
						tensors++
					}
				}
			}
		}
		enc, err := Encode(m)
		if err != nil {
			t.Errorf("%s: Encode: %v", rel, err)
			continue
		}
		m2, err := Decode(enc, DecodeOptions{})
		if err != nil || !proto.Equal(m, m2) {
			t.Errorf("%s: Encode/Decode round trip: %v", rel, err)
		}
	}
	t.Logf("models: %d decode, %d refused for their IR version (< 7), %d for their opset (< 13); %d initializer and Constant tensors converted",
		counts["ok"], counts["ir"], counts["opset"], tensors)
	if counts["ok"] < 500 {
		t.Errorf("only %d models decode", counts["ok"])
	}
}

// allGraphs returns g and its subgraphs, recursively.
func allGraphs(g *onnxpb.GraphProto) []*onnxpb.GraphProto {
	out := []*onnxpb.GraphProto{g}
	for _, n := range g.GetNode() {
		for _, a := range n.GetAttribute() {
			if a.GetG() != nil {
				out = append(out, allGraphs(a.GetG())...)
			}
			for _, sub := range a.GetGraphs() {
				out = append(out, allGraphs(sub)...)
			}
		}
	}
	return out
}

// TestBackendTensors converts every input and output tensor of the ONNX
// backend tests (the .pb files of test_data_set_*; those of sequence and
// optional values are other messages and are left out, as the oracle
// does) and compares the values with what numpy_helper.to_array reads
// (testdata/node_tensors.txt.gz, from testdata/gen.py): element type, dims
// and a hash of the values.
func TestBackendTensors(t *testing.T) {
	backendModels(t)
	f, err := os.Open("testdata/node_tensors.txt.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	byType := map[DataType]int{}
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 4 {
			t.Fatalf("bad oracle line %q", sc.Text())
		}
		rel, wantHash := fields[0], fields[3]
		wantType, _ := strconv.Atoi(fields[1])
		var wantDims []int
		if fields[2] != "-" {
			for _, d := range strings.Split(fields[2], ",") {
				v, _ := strconv.Atoi(d)
				wantDims = append(wantDims, v)
			}
		}
		x, err := LoadTensor(filepath.Join(backendData, rel), DecodeOptions{})
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		byType[x.Type]++
		if int(x.Type) != wantType || !slices.Equal(x.Dims, wantDims) {
			t.Errorf("%s: %v %v, want %v %v", rel, x.Type, x.Dims, DataType(wantType), wantDims)
			continue
		}
		if got := valueHash(t, x); got != wantHash {
			t.Errorf("%s (%v %v): value hash %s, NumPy's %s", rel, x.Type, x.Dims, got, wantHash)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range byType {
		total += n
	}
	t.Logf("%d tensors converted and equal to NumPy's, by type: %v", total, byType)
	if total < 3000 {
		t.Errorf("only %d tensors", total)
	}
}

// valueHash hashes x's values in the canonical bytes of testdata/gen.py
// (little-endian, float16 as float32, bool as one byte, strings
// NUL-terminated), written with encoding/binary rather than this
// package's encoder.
func valueHash(t *testing.T, x *Tensor) string {
	var b bytes.Buffer
	if s, ok := x.Values().([]string); ok {
		for _, v := range s {
			b.WriteString(v)
			b.WriteByte(0)
		}
	} else if err := binary.Write(&b, binary.LittleEndian, x.Values()); err != nil {
		t.Fatalf("%s: %v", x.Name, err)
	}
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:8])
}
