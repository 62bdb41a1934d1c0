package qtensor

import (
	"bytes"
	"strings"
	"testing"
)

// TestNPYFloat32ByteOrder: a multi-byte dtype without an explicit byte
// order ('|f4', '=f4': what the reading host would decide) is refused, as
// ReadNPY refuses it (found by FuzzReadNPYFloat32).
func TestNPYFloat32ByteOrder(t *testing.T) {
	var buf bytes.Buffer
	h, _ := FromFloat32([]int{2}, []float32{1, 2})
	if err := WriteNPY(&buf, h); err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"|", "="} {
		b := bytes.Replace(buf.Bytes(), []byte("'<f4'"), []byte("'"+o+"f4'"), 1)
		if _, _, err := ReadNPYFloat32(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), "byte order") {
			t.Errorf("%sf4: %v", o, err)
		}
		if _, err := ReadNPY(bytes.NewReader(b)); err == nil {
			t.Errorf("ReadNPY took %sf4", o)
		}
	}
}
