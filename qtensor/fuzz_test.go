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
