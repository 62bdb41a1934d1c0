package qtensor

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadQTensorProto checks that UnmarshalQTensorProto never panics and
// that whatever it accepts re-encodes, decodes to an equal tensor and
// re-encodes to the same bytes. Seeds: every fixture of testdata/caffe2 and
// the committed corpus in testdata/fuzz/FuzzReadQTensorProto.
func FuzzReadQTensorProto(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "caffe2", "*.pb"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkProtoProperty(t, b)
	})
}
