package qtensor

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// writeSafetensorsF32 is a minimal .safetensors writer for tests: float32
// tensors as F32, in order, header padded to 8 bytes like the reference.
func writeSafetensorsF32(ts []*Tensor, meta map[string]string) []byte {
	hdr := map[string]any{}
	if meta != nil {
		hdr["__metadata__"] = meta
	}
	var data []byte
	for _, t := range ts {
		hdr[t.Name] = map[string]any{"dtype": "F32", "shape": t.Shape, "data_offsets": []int{len(data), len(data) + len(t.Data)}}
		data = append(data, t.Data...)
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		panic(err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), data...)
}

// rawSafetensors builds a file from a literal header and data.
func rawSafetensors(hdr string, data []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	return append(append(out, hdr...), data...)
}

func float32Bits(t *Tensor) []uint32 {
	var out []uint32
	for _, v := range t.Float32s() {
		out = append(out, math.Float32bits(v))
	}
	return out
}

func TestSafetensorsFixture(t *testing.T) {
	b := npyFixture(t, "sample.safetensors")
	s1, err := ParseSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := OpenSafetensors(filepath.Join("testdata", "sample.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, s := range []*Safetensors{s1, s2} {
		if got, want := s.Names(), []string{"bias.bf16", "emb.f16", "ids.i8", "weight.f32"}; !slices.Equal(got, want) {
			t.Fatalf("Names = %v, want %v", got, want)
		}
		if m := s.Metadata(); len(m) != 2 || m["format"] != "pt" || m["source"] != "qgpu gen_safetensors.py" {
			t.Errorf("Metadata = %v", m)
		}
		if info, ok := s.Info("emb.f16"); !ok || info.DType != "F16" || !slices.Equal(info.Shape, []int{4, 8}) || info.Begin != 24 || info.End != 88 {
			t.Errorf("Info(emb.f16) = %+v, %v", info, ok)
		}
		for _, c := range []struct{ name, want string }{
			{"weight.f32", "sample_weight_f32.npy"},
			{"emb.f16", "sample_emb_f16.npy"},
			{"bias.bf16", "sample_bias_bf16.npy"},
		} {
			x, err := s.Float32(c.name)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			want, err := UnmarshalNPY(npyFixture(t, c.want))
			if err != nil {
				t.Fatal(err)
			}
			if x.Name != c.name || x.DType != Float32 || !slices.Equal(x.Shape, want.Shape) || x.Validate() != nil {
				t.Fatalf("%s: got %v %v", c.name, x.DType, x.Shape)
			}
			if got, w := float32Bits(x), float32Bits(want); !slices.Equal(got, w) {
				t.Errorf("%s: bits %08x\nwant %08x", c.name, got, w)
			}
		}
		if _, err := s.Float32("ids.i8"); err == nil || !strings.Contains(err.Error(), "I8") {
			t.Errorf("Float32(ids.i8): %v", err)
		}
		if _, err := s.Float32("missing"); err == nil {
			t.Error("Float32(missing) succeeded")
		}
	}
	if err := s2.Close(); err != nil {
		t.Error(err)
	}
}

// TestF16Exhaustive checks all 65536 half-precision values against a
// float64 computation of sign * mantissa * 2^exponent.
func TestF16Exhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		sign := 1.0
		if h&0x8000 != 0 {
			sign = -1
		}
		exp, man := (h>>10)&0x1f, h&0x3ff
		got := F16Bits(uint16(h))
		if exp == 0x1f && man != 0 {
			// NaN: sign, exponent all ones, payload in the top mantissa bits.
			want := uint32(h&0x8000)<<16 | 0x7f800000 | uint32(man)<<13
			if got != want || !math.IsNaN(float64(F16ToFloat32(uint16(h)))) {
				t.Fatalf("%#04x: %#08x, want NaN %#08x", h, got, want)
			}
			continue
		}
		var v float64
		switch exp {
		case 0x1f:
			v = math.Inf(1)
		case 0:
			v = math.Ldexp(float64(man), -24)
		default:
			v = math.Ldexp(float64(man+1024), exp-25)
		}
		want := math.Float32bits(float32(sign * v))
		if got != want {
			t.Fatalf("%#04x: %#08x, want %#08x", h, got, want)
		}
	}
}

func TestSafetensorsRejects(t *testing.T) {
	d24 := make([]byte, 24)
	ok := `{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}`
	if _, err := ParseSafetensors(rawSafetensors(ok, d24)); err != nil {
		t.Fatalf("valid base rejected: %v", err)
	}
	huge := binary.LittleEndian.AppendUint64(nil, MaxSafetensorsHeader+1)
	past := binary.LittleEndian.AppendUint64(nil, 100)
	cases := []struct {
		name string
		b    []byte
		msg  string
	}{
		{"short", []byte{1, 0, 0}, "shorter"},
		{"huge header", append(huge, '{', '}'), "exceeds"},
		{"header past end", append(past, '{', '}'), "exceeds"},
		{"empty header", rawSafetensors("", nil), "JSON object"},
		{"not json", rawSafetensors("{nope}", nil), "JSON"},
		{"array", rawSafetensors("[1, 2]", nil), "JSON object"},
		{"utf8", rawSafetensors("{\"\xff\":1}", nil), "UTF-8"},
		{"unknown dtype", rawSafetensors(`{"a":{"dtype":"F31","shape":[2,3],"data_offsets":[0,24]}}`, d24), "dtype"},
		{"no dtype", rawSafetensors(`{"a":{"shape":[2,3],"data_offsets":[0,24]}}`, d24), "lacks"},
		{"no shape", rawSafetensors(`{"a":{"dtype":"F32","data_offsets":[0,24]}}`, d24), "lacks"},
		{"no offsets", rawSafetensors(`{"a":{"dtype":"F32","shape":[2,3]}}`, d24), "lacks"},
		{"entry not object", rawSafetensors(`{"a":[1]}`, d24), "tensor"},
		{"negative dim", rawSafetensors(`{"a":{"dtype":"F32","shape":[-2,3],"data_offsets":[0,24]}}`, d24), "dimension"},
		{"fractional dim", rawSafetensors(`{"a":{"dtype":"F32","shape":[2.5,3],"data_offsets":[0,24]}}`, d24), "tensor"},
		{"overflow", rawSafetensors(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,24]}}`, d24), "overflow"},
		{"too large", rawSafetensors(`{"a":{"dtype":"F64","shape":[4294967296,536870912],"data_offsets":[0,24]}}`, d24), "too large"},
		{"rank", rawSafetensors(`{"a":{"dtype":"F32","shape":[`+strings.Repeat("1,", MaxRank)+`1],"data_offsets":[0,4]}}`, d24), "rank"},
		{"offsets reversed", rawSafetensors(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[24,0]}}`, d24), "outside"},
		{"offsets past", rawSafetensors(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[4,28]}}`, d24), "outside"},
		{"offsets negative", rawSafetensors(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[-4,-4]}}`, d24), "outside"},
		{"offsets three", rawSafetensors(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,12,24]}}`, d24), "outside"},
		{"offsets one", rawSafetensors(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0]}}`, d24), "outside"},
		{"span", rawSafetensors(`{"a":{"dtype":"F16","shape":[2,3],"data_offsets":[0,24]}}`, d24), "span"},
		{"metadata", rawSafetensors(`{"__metadata__":{"k":1}}`, nil), "__metadata__"},
		{"metadata twice", rawSafetensors(`{"__metadata__":{"k":"v"},"__metadata__":{}}`, nil), "__metadata__ given twice"},
		{"metadata key twice", rawSafetensors(`{"__metadata__":{"k":"v","k":"w"}}`, nil), `key "k" given twice`},
		{"name twice", rawSafetensors(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`, d24), `tensor "a" given twice`},
		{"field twice", rawSafetensors(`{"a":{"dtype":"F32","shape":[2,3],"shape":[6],"data_offsets":[0,24]}}`, d24), "shape given twice"},
		{"overlap", rawSafetensors(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}`, d24), "overlap"},
		{"same bytes", rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}`, d24), "overlap"},
		{"trailing", rawSafetensors(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}} {}`, d24), "after the object"},
		{"unknown field too large", rawSafetensors(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24],"x":[`+strings.Repeat("1,", 5000)+`1]}}`, d24), "more than"},
		{"unknown field too deep", rawSafetensors(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24],"x":`+strings.Repeat("[", 9)+strings.Repeat("]", 9)+`}}`, d24), "deeper"},
		{"case of a field", rawSafetensors(`{"a":{"DTYPE":"F32","shape":[2,3],"data_offsets":[0,24]}}`, d24), "lacks"},
	}
	for _, c := range cases {
		_, err := ParseSafetensors(c.b)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want ErrFormat and %q", c.name, err, c.msg)
		}
	}
	// Zero-element tensors (anywhere, even inside another's bytes), a
	// scalar, an unknown field and adjacent tensors are fine.
	s, err := ParseSafetensors(rawSafetensors(`{"e":{"dtype":"BF16","shape":[0,5],"data_offsets":[2,2]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4],"note":{"x":[1,"y"]}},"o":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}}`, []byte{0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x3f}))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]uint32{"e": nil, "s": {0x3f800000}, "o": {0, 0x3ff00000}} {
		x, err := s.Float32(name)
		if err != nil || !slices.Equal(float32Bits(x), want) {
			t.Errorf("%s: %v %v, want %08x", name, x, err, want)
		}
	}
}

// TestSafetensorsTruncation: every proper prefix of the sample is
// rejected (its last tensor ends at the end of the file).
func TestSafetensorsTruncation(t *testing.T) {
	b := npyFixture(t, "sample.safetensors")
	for n := 0; n < len(b); n++ {
		if _, err := ParseSafetensors(b[:n]); !errors.Is(err, ErrFormat) {
			t.Fatalf("prefix %d/%d: %v", n, len(b), err)
		}
	}
}

// TestSafetensorsMutation changes every byte of a small file to each of
// its 255 other values. The format has no checksum: a change in the data
// must change exactly the tensor that holds that byte, a change in the
// header is rejected or gives a consistent file, and nothing panics.
func TestSafetensorsMutation(t *testing.T) {
	x0 := mustOK(FromFloat32([]int{2, 2}, []float32{1, -2, 0.5, 3}))
	x0.Name = "w"
	b := writeSafetensorsF32([]*Tensor{x0}, map[string]string{"k": "v"})
	dataStart := len(b) - len(x0.Data)
	m := slices.Clone(b)
	headerAccepted := 0
	for i := range m {
		for v := 1; v < 256; v++ {
			m[i] = b[i] ^ byte(v)
			s, err := ParseSafetensors(m)
			if err != nil {
				if !errors.Is(err, ErrFormat) {
					t.Fatalf("byte %d ^ %#x: error %v does not wrap ErrFormat", i, v, err)
				}
				continue
			}
			if i < dataStart {
				headerAccepted++
			}
			var got []*Tensor
			for _, name := range s.Names() {
				x, err := s.Float32(name)
				if err != nil {
					continue // e.g. the dtype became another known one
				}
				if x.Validate() != nil {
					t.Fatalf("byte %d ^ %#x: invalid tensor %q", i, v, name)
				}
				got = append(got, x)
			}
			if i >= dataStart && (len(got) != 1 || !bytes.Equal(got[0].Data, m[dataStart:]) || !slices.Equal(got[0].Shape, x0.Shape)) {
				t.Fatalf("data byte %d ^ %#x decodes wrongly", i, v)
			}
			// Round trip through the F32 writer.
			s2, err := ParseSafetensors(writeSafetensorsF32(got, nil))
			if err != nil {
				t.Fatalf("byte %d ^ %#x: rewrite: %v", i, v, err)
			}
			for _, x := range got {
				y, err := s2.Float32(x.Name)
				if err != nil || !x.Equal(y) {
					t.Fatalf("byte %d ^ %#x: round trip of %q: %v", i, v, x.Name, err)
				}
			}
		}
		m[i] = b[i]
	}
	t.Logf("%d header mutations accepted (names, metadata, whitespace)", headerAccepted)
}

// TestSafetensorsTooManyTensors: a header may name at most
// MaxSafetensorsTensors tensors.
func TestSafetensorsTooManyTensors(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range MaxSafetensorsTensors + 1 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"%d":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`, i)
	}
	b.WriteString("}")
	if _, err := ParseSafetensors(rawSafetensors(b.String(), nil)); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("%d tensors: %v", MaxSafetensorsTensors+1, err)
	}
}

// TestSafetensorsHeaderMemory: hostile headers of about 20 MB cost about
// their size in memory, not a multiple (a 49M-entry shape in a 100 MB
// header took 1.8 GB, 1M overlapping entries 726 MB): the rank and entry
// limits are checked while decoding. Allocations are counted, not timed.
func TestSafetensorsHeaderMemory(t *testing.T) {
	const size = 20 << 20
	shape := `{"a":{"dtype":"U8","data_offsets":[0,0],"shape":[` + strings.Repeat("1,", size/2) + `1]}}`
	var many strings.Builder
	many.WriteString(`{"__metadata__":{`)
	for i := 0; many.Len() < size; i++ {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `"%d":""`, i)
	}
	many.WriteString(`}}`)
	for name, hdr := range map[string]string{"long shape": shape, "many metadata entries": many.String()} {
		b := rawSafetensors(hdr, nil)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := ParseSafetensors(b)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %d-byte header, %d bytes allocated: %v", name, len(hdr), alloc, err)
		if alloc > 2*uint64(len(hdr))+8<<20 {
			t.Errorf("%s: %d bytes allocated for a %d-byte header", name, alloc, len(hdr))
		}
	}
}
