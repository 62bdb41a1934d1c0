package qtensor

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode: UnmarshalAny never panics; what it accepts the stream
// decoder accepts too, and re-encoding gives back exactly the input (the
// format has one encoding per tensor), which decodes to an equal tensor.
func FuzzDecode(f *testing.F) {
	for _, x := range formatSamples(f) {
		f.Add(mustOK(Marshal(x)))
	}
	f.Add(mustOK(MarshalCaffe2(formatCaffe2Sample(f))))
	f.Add(mustOK(MarshalCaffe2(formatCaffe2Multi(f))))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, c, err := UnmarshalAny(b)
		if err != nil {
			return
		}
		x2, c2, err := DecodeAny(noLenReader{bytes.NewReader(b)})
		if err != nil {
			t.Fatalf("UnmarshalAny accepts, DecodeAny rejects: %v", err)
		}
		var re []byte
		if x != nil {
			if err := x.Validate(); err != nil {
				t.Fatalf("decoded an invalid tensor: %v", err)
			}
			if x2 == nil || !x.Equal(x2) {
				t.Fatal("stream and slice decoders disagree")
			}
			if re, err = Marshal(x); err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			y, err := Unmarshal(re)
			if err != nil || !x.Equal(y) {
				t.Fatalf("round trip: %v", err)
			}
		} else {
			if c2 == nil || !c.Equal(c2) {
				t.Fatal("stream and slice decoders disagree")
			}
			if re, err = MarshalCaffe2(c); err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			y, err := UnmarshalCaffe2(re)
			if err != nil || !c.Equal(y) {
				t.Fatalf("round trip: %v", err)
			}
		}
		if !bytes.Equal(re, b) {
			t.Fatalf("re-encoding differs from the accepted input")
		}
	})
}

// FuzzReadNPY: UnmarshalNPY never panics; what it accepts ReadNPY accepts
// too, and WriteNPY of it reads back to an equal tensor.
func FuzzReadNPY(f *testing.F) {
	ents, _ := os.ReadDir("testdata")
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ".npy" {
			f.Add(npyFixture(f, e.Name()))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := UnmarshalNPY(b)
		if err != nil {
			return
		}
		if err := x.Validate(); err != nil {
			t.Fatalf("decoded an invalid tensor: %v", err)
		}
		x2, err := ReadNPY(noLenReader{bytes.NewReader(b)})
		if err != nil || !x.Equal(x2) {
			t.Fatalf("stream and slice readers disagree: %v", err)
		}
		var buf bytes.Buffer
		if err := WriteNPY(&buf, x); err != nil {
			t.Fatalf("WriteNPY: %v", err)
		}
		y, err := UnmarshalNPY(buf.Bytes())
		if err != nil || !x.Equal(y) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzReadSafetensors: ParseSafetensors and Float32 never panic; every
// tensor read writes back (as F32) and reads to an equal tensor.
// FuzzReadNPYFloat32: the float reader never fails on what it accepted
// from a stream of known length when the length is unknown, and its
// float32 arrays read the same as ReadNPY's.
func FuzzReadNPYFloat32(f *testing.F) {
	ents, _ := os.ReadDir("testdata")
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ".npy" {
			f.Add(npyFixture(f, e.Name()))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, from, err := ReadNPYFloat32(bytes.NewReader(b))
		if err != nil {
			return
		}
		if err := x.Validate(); err != nil || x.DType != Float32 {
			t.Fatalf("decoded an invalid tensor: %v %v", x.DType, err)
		}
		x2, from2, err := ReadNPYFloat32(noLenReader{bytes.NewReader(b)})
		if err != nil || from2 != from || !x.Equal(x2) {
			t.Fatalf("stream readers disagree: %v", err)
		}
		if from == "float32" {
			if y, err := ReadNPY(bytes.NewReader(b)); err != nil || !x.Equal(y) {
				t.Fatalf("ReadNPY disagrees: %v", err)
			}
		}
	})
}

func FuzzReadSafetensors(f *testing.F) {
	f.Add(npyFixture(f, "sample.safetensors"))
	x := mustOK(FromFloat32([]int{2, 2}, []float32{1, -2, 0.5, 3}))
	x.Name = "w"
	f.Add(writeSafetensorsF32([]*Tensor{x}, map[string]string{"k": "v"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSafetensors(b)
		if err != nil {
			return
		}
		var got []*Tensor
		for _, name := range s.Names() {
			info, ok := s.Info(name)
			if !ok || info.Name != name || info.Begin < 0 || info.Begin > info.End || info.End > int64(len(b)) {
				t.Fatalf("bad info %+v", info)
			}
			x, err := s.Float32(name)
			if err != nil {
				continue
			}
			if err := x.Validate(); err != nil {
				t.Fatalf("%q: invalid tensor: %v", name, err)
			}
			got = append(got, x)
		}
		s2, err := ParseSafetensors(writeSafetensorsF32(got, s.Metadata()))
		if err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		for _, x := range got {
			y, err := s2.Float32(x.Name)
			if err != nil || !x.Equal(y) {
				t.Fatalf("round trip of %q: %v", x.Name, err)
			}
		}
	})
}

// FuzzSafetensorsRewrite: every tensor Tensor reads of an accepted file
// is written back by WriteSafetensors (with the metadata) and read back
// equal.
func FuzzSafetensorsRewrite(f *testing.F) {
	f.Add(npyFixture(f, "sample.safetensors"))
	var buf bytes.Buffer
	WriteSafetensors(&buf, []SafetensorsTensor{{Name: "w", DType: "I8", Shape: []int{2}, Data: []byte{1, 255}},
		{Name: "b", DType: "I32", Shape: []int{}, Data: []byte{1, 2, 3, 4}}}, map[string]string{"qgpu:w": "{}"})
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSafetensors(b)
		if err != nil {
			return
		}
		var ts []SafetensorsTensor
		var got []*Tensor
		for _, name := range s.Names() {
			info, _ := s.Info(name)
			x, err := s.Tensor(name)
			if err != nil {
				continue
			}
			if err := x.Validate(); err != nil {
				t.Fatalf("%q: invalid tensor: %v", name, err)
			}
			if info.DType == "F16" || info.DType == "BF16" {
				info.DType = "F32"
			}
			ts = append(ts, SafetensorsTensor{Name: name, DType: info.DType, Shape: x.Shape, Data: x.Data})
			got = append(got, x)
		}
		var out bytes.Buffer
		if err := WriteSafetensors(&out, ts, s.Metadata()); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		s2, err := ParseSafetensors(out.Bytes())
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		for _, x := range got {
			y, err := s2.Tensor(x.Name)
			if err != nil || !x.Equal(y) {
				t.Fatalf("round trip of %q: %v", x.Name, err)
			}
		}
	})
}
