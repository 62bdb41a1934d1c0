//go:build unix

package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// TestExternalFIFO: a FIFO as external data is refused without opening it
// (opening would block until a writer comes).
func TestExternalFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Skip(err)
	}
	m := testModel(t)
	m.Graph.Initializer = []*onnxpb.TensorProto{extTensor([]int64{1}, "location", "fifo")}
	path := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(path, marshal(t, m), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, DecodeOptions{}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("got %v", err)
	}
}
