package qtensor

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestWriteSafetensorsBytes checks a small file byte for byte against the
// layout of the format written out by hand: the header length, the JSON
// header with sorted keys padded with spaces to 8 bytes, the data.
func TestWriteSafetensorsBytes(t *testing.T) {
	var buf bytes.Buffer
	err := WriteSafetensors(&buf, []SafetensorsTensor{
		{Name: "w", DType: "I8", Shape: []int{2}, Data: []byte{0xff, 0x02}},
		{Name: "s", DType: "F32", Shape: nil, Data: []byte{0, 0, 0x80, 0x3f}},
	}, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	hdr := `{"__metadata__":{"k":"v"},"s":{"dtype":"F32","shape":[],"data_offsets":[2,6]},"w":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}}`
	for len(hdr)%8 != 0 {
		hdr += " "
	}
	want := append([]byte{byte(len(hdr)), 0, 0, 0, 0, 0, 0, 0}, hdr...)
	want = append(want, 0xff, 0x02, 0, 0, 0x80, 0x3f) // the data in the order given
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got\n%q\nwant\n%q", buf.Bytes(), want)
	}
}

// TestWriteSafetensorsRoundTrip writes every dtype Tensor reads and reads
// it back.
func TestWriteSafetensorsRoundTrip(t *testing.T) {
	f := mustOK(FromFloat32([]int{2, 2}, []float32{1, -2, 0.5, 3}))
	i := mustOK(FromInt32([]int{3}, []int32{-7, 0, 1 << 30}))
	q := mustOK(New(Int8, []int{0, 4}, TensorParams(1, 0)))
	u := mustOK(New(Uint8, []int{}, TensorParams(1, 0)))
	u.Set(0, 200)
	var ts []SafetensorsTensor
	for name, x := range map[string]*Tensor{"f": f, "i": i} {
		st, err := SafetensorsOf(name, x)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, st)
	}
	ts = append(ts, SafetensorsTensor{"q", "I8", q.Shape, q.Data}, SafetensorsTensor{"u", "U8", u.Shape, u.Data})
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, ts, nil); err != nil {
		t.Fatal(err)
	}
	s, err := ParseSafetensors(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if s.Metadata() != nil || !slices.Equal(s.Names(), []string{"f", "i", "q", "u"}) {
		t.Errorf("names %v metadata %v", s.Names(), s.Metadata())
	}
	for name, want := range map[string]*Tensor{"f": f, "i": i, "q": q, "u": u} {
		got, err := s.Tensor(name)
		want.Name = name
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: got %+v (%v), want %+v", name, got, err, want)
		}
	}
	if _, err := s.Tensor("nope"); err == nil {
		t.Error("Tensor of a missing name")
	}
	if _, err := SafetensorsOf("q", q); !errors.Is(err, ErrParams) {
		t.Errorf("SafetensorsOf a quantized tensor: %v", err)
	}
}

func TestWriteSafetensorsRejects(t *testing.T) {
	ok := SafetensorsTensor{Name: "a", DType: "F32", Shape: []int{1}, Data: make([]byte, 4)}
	for _, c := range []struct {
		ts   []SafetensorsTensor
		meta map[string]string
		want string
	}{
		{[]SafetensorsTensor{ok, ok}, nil, "given twice"},
		{[]SafetensorsTensor{{Name: "a", DType: "F33", Shape: []int{1}, Data: make([]byte, 4)}}, nil, "unknown dtype"},
		{[]SafetensorsTensor{{Name: "a", DType: "F32", Shape: []int{2}, Data: make([]byte, 4)}}, nil, "4 bytes of data"},
		{[]SafetensorsTensor{{Name: "a", DType: "F32", Shape: []int{-1}, Data: nil}}, nil, "bytes of data"},
		{[]SafetensorsTensor{{Name: "__metadata__", DType: "F32", Shape: []int{1}, Data: make([]byte, 4)}}, nil, "tensor name"},
		{[]SafetensorsTensor{ok}, map[string]string{"k": "\xff"}, "not valid UTF-8"},
	} {
		err := WriteSafetensors(&bytes.Buffer{}, c.ts, c.meta)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.ts, err, c.want)
		}
	}
}
