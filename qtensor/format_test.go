package qtensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// noLenReader hides the Len method of a reader so the decoder cannot know the
// remaining length and must read in bounded pieces.
type noLenReader struct{ r io.Reader }

func (h noLenReader) Read(p []byte) (int, error) { return h.r.Read(p) }

func mustOK[T any](x T, err error) T {
	if err != nil {
		panic(err)
	}
	return x
}

// formatSamples returns a fixed set of valid tensors covering every dtype,
// granularity and odd shapes.
func formatSamples(t testing.TB) []*Tensor {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(x *Tensor) *Tensor {
		for i := range x.Data {
			x.Data[i] = byte(rng.Uint32())
		}
		if x.DType == Int4 || x.DType == Uint4 {
			if n := x.Len(); n%2 == 1 {
				x.Data[n/2] &= 0x0F // the unused high nibble stays zero
			}
		}
		return x
	}
	var out []*Tensor
	add := func(name string, d DType, shape []int, p Params) {
		x := fill(mustOK(New(d, shape, p)))
		x.Name = name
		out = append(out, x)
	}
	add("w", Int8, []int{2, 3}, TensorParams(0.5, -3))
	add("", Uint8, []int{4}, AxisParams(0, []float32{1, 2, 0.25, 3e-5}, []int32{0, 128, 255, 7}))
	add("blk", Int4, []int{3, 5}, BlockParams(1, 2, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, []int32{-8, 7, 0, 1, 2, 3, -1, -2, -3}))
	add("u4", Uint4, []int{7}, TensorParams(1, 15))
	add("f", Float32, []int{2, 2, 1}, Params{})
	add("acc", Int32, []int{3}, Params{})
	add("scalar", Int8, []int{}, TensorParams(2, 0))
	add("empty", Uint8, []int{0, 4}, AxisParams(0, nil, nil))
	add("empty-f", Float32, []int{3, 0}, Params{})
	add("ünïcødé ✓", Int8, []int{1, 1, 1, 1, 2}, AxisParams(4, []float32{0x1p-125, 0x1p125}, []int32{-128, 127}))
	return out
}

func formatCaffe2Sample(t testing.TB) *Caffe2Tensor {
	raw := []byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0} // 3+1 planes of 16 bits
	c, err := NewCaffe2FromRaw("c2", []int{3, 5}, 3, true, 8, 0.5, -1.25, raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// formatCaffe2Multi is a Caffe2 tensor with every optional QTensorProto
// field set.
func formatCaffe2Multi(t testing.TB) *Caffe2Tensor {
	c, err := NewCaffe2FromRaw("multi", []int{2, 2}, 2, false, 16, 3, 0.75, []byte{0xaa, 0x55, 0x0f, 0xf0})
	if err != nil {
		t.Fatal(err)
	}
	c.SetDataType(7)
	if err := c.SetMultiParam(true, 1, []float64{0.5, -2}, []float64{1, 2, math.Copysign(0, -1)}); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFormatRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for i, x := range formatSamples(t) {
		b, err := Marshal(x)
		if err != nil {
			t.Fatalf("%d %s: Marshal: %v", i, x.Name, err)
		}
		var buf bytes.Buffer
		if err := Encode(&buf, x); err != nil {
			t.Fatalf("%s: Encode: %v", x.Name, err)
		}
		if !bytes.Equal(buf.Bytes(), b) {
			t.Fatalf("%s: Encode and Marshal differ", x.Name)
		}
		y, err := Unmarshal(b)
		if err != nil || !x.Equal(y) {
			t.Fatalf("%s: Unmarshal = %+v, %v; want %+v", x.Name, y, err, x)
		}
		for _, r := range []io.Reader{bytes.NewReader(b), noLenReader{bytes.NewReader(b)}} {
			y, err := Decode(r)
			if err != nil || !x.Equal(y) {
				t.Fatalf("%s: Decode(%T) = %+v, %v", x.Name, r, y, err)
			}
		}
		p := filepath.Join(dir, "t.qt")
		if err := Save(p, x); err != nil {
			t.Fatal(err)
		}
		y, err = Load(p)
		if err != nil || !x.Equal(y) {
			t.Fatalf("%s: Load = %+v, %v", x.Name, y, err)
		}
		if _, err := UnmarshalCaffe2(b); err == nil {
			t.Errorf("%s: UnmarshalCaffe2 of a packed record succeeded", x.Name)
		}
	}
	for _, c := range []*Caffe2Tensor{formatCaffe2Sample(t), formatCaffe2Multi(t)} {
		testCaffe2RoundTrip(t, c, dir)
	}
}

func testCaffe2RoundTrip(t *testing.T, c *Caffe2Tensor, dir string) {
	b, err := MarshalCaffe2(c)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := EncodeCaffe2(&buf, c); err != nil || !bytes.Equal(buf.Bytes(), b) {
		t.Fatalf("EncodeCaffe2: %v (or differs from MarshalCaffe2)", err)
	}
	c2, err := UnmarshalCaffe2(b)
	if err != nil || !c.Equal(c2) {
		t.Fatalf("UnmarshalCaffe2: %v", err)
	}
	x, c3, err := DecodeAny(noLenReader{bytes.NewReader(b)})
	if err != nil || x != nil || !c.Equal(c3) {
		t.Fatalf("DecodeAny: %v %v", x, err)
	}
	if _, err := Unmarshal(b); err == nil {
		t.Error("Unmarshal of a Caffe2 record succeeded")
	}
	p := filepath.Join(dir, "c.qt")
	if err := SaveCaffe2(p, c); err != nil {
		t.Fatal(err)
	}
	if c4, err := LoadCaffe2(p); err != nil || !c.Equal(c4) {
		t.Fatalf("LoadCaffe2: %v", err)
	}
}

// TestFormatConcatenated checks that Decode stops exactly at the end of a
// record.
func TestFormatConcatenated(t *testing.T) {
	ts := formatSamples(t)
	var buf bytes.Buffer
	for _, x := range ts {
		if err := Encode(&buf, x); err != nil {
			t.Fatal(err)
		}
	}
	r := noLenReader{&buf}
	for _, x := range ts {
		y, err := Decode(r)
		if err != nil || !x.Equal(y) {
			t.Fatalf("%s: %v", x.Name, err)
		}
	}
	if _, err := Decode(r); !errors.Is(err, ErrFormat) {
		t.Fatalf("Decode at end: %v, want ErrFormat", err)
	}
}

// leBuf is a little-endian byte builder for hand-made records.
type leBuf []byte

func (b leBuf) u8(v ...byte) leBuf  { return append(b, v...) }
func (b leBuf) u16(v uint16) leBuf  { return binary.LittleEndian.AppendUint16(b, v) }
func (b leBuf) u32(v uint32) leBuf  { return binary.LittleEndian.AppendUint32(b, v) }
func (b leBuf) u64(v uint64) leBuf  { return binary.LittleEndian.AppendUint64(b, v) }
func (b leBuf) i64(v int64) leBuf   { return b.u64(uint64(v)) }
func (b leBuf) str(s string) leBuf  { return append(b, s...) }
func (b leBuf) f32(v float32) leBuf { return b.u32(math.Float32bits(v)) }
func (b leBuf) crc() []byte {
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

// TestFormatLayout checks the exact bytes of a small record, built by hand
// from the format description.
func TestFormatLayout(t *testing.T) {
	x := mustOK(New(Int8, []int{2, 3}, AxisParams(0, []float32{0.5, 2}, []int32{-1, 3})))
	x.Name = "ab"
	copy(x.Data, []byte{1, 2, 3, 0xfd, 0xfe, 0xff})
	want := leBuf{}.str("QGPUTNSR").u16(1).u8(1, 2).u16(2).str("ab").i64(2).i64(3).
		u8(2, 1, 0, 0).i64(0).i64(0).u64(2).f32(0.5).f32(2).u32(0xffffffff).u32(3).
		u64(6).u8(1, 2, 3, 0xfd, 0xfe, 0xff).crc()
	got, err := Marshal(x)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Marshal = % x, %v\nwant      % x", got, err, want)
	}
	c := formatCaffe2Sample(t)
	want = leBuf{}.str("QGPUTNSR").u16(1).u8(2, 2).u16(2).str("c2").i64(3).i64(5).
		u8(3, 1, 0, 0).u32(8).u64(math.Float64bits(0.5)).u64(math.Float64bits(-1.25)).
		u32(0).u32(0).u64(0).u64(0).u64(8).u8(0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0).crc()
	got, err = MarshalCaffe2(c)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("MarshalCaffe2 = % x, %v\nwant            % x", got, err, want)
	}
}

// packedRec builds a packed record by hand; zero values give a valid int8
// [2] per-tensor tensor.
type packedRec struct {
	magic            string
	version          uint16
	layout, rank     byte
	name             string
	dims             []int64
	dtype, gran      byte
	reserved         byte
	axis, block      int64
	pairs            uint64
	scales           []float32
	zps              []int32
	dataLen          uint64
	data             []byte
	badCRC, trailing bool
}

func (r packedRec) bytes() []byte {
	b := leBuf{}.str(r.magic).u16(r.version).u8(r.layout, r.rank).u16(uint16(len(r.name))).str(r.name)
	for _, d := range r.dims {
		b = b.i64(d)
	}
	b = b.u8(r.dtype, r.gran, r.reserved, 0).i64(r.axis).i64(r.block).u64(r.pairs)
	for _, s := range r.scales {
		b = b.f32(s)
	}
	for _, z := range r.zps {
		b = b.u32(uint32(z))
	}
	b = leBuf(b.u64(r.dataLen).u8(r.data...).crc())
	if r.badCRC {
		b[len(b)-1] ^= 1
	}
	if r.trailing {
		b = append(b, 0)
	}
	return b
}

func okPackedRec() packedRec {
	return packedRec{magic: "QGPUTNSR", version: 1, layout: 1, rank: 1, dims: []int64{2}, dtype: 2,
		pairs: 1, scales: []float32{1}, zps: []int32{0}, dataLen: 2, data: []byte{5, 6}}
}

func TestFormatRejects(t *testing.T) {
	if _, err := Unmarshal(okPackedRec().bytes()); err != nil {
		t.Fatalf("the valid base record is rejected: %v", err)
	}
	cases := []struct {
		name string
		mod  func(r *packedRec)
		also error // ErrShape or ErrParams, or nil
		msg  string
	}{
		{"magic", func(r *packedRec) { r.magic = "QGPUTNSX" }, nil, "magic"},
		{"version 0", func(r *packedRec) { r.version = 0 }, nil, "version"},
		{"version 2", func(r *packedRec) { r.version = 2 }, nil, "version 2"},
		{"layout", func(r *packedRec) { r.layout = 3 }, nil, "layout"},
		{"rank 33", func(r *packedRec) { r.rank = 33; r.dims = make([]int64, 33) }, ErrShape, "rank"},
		{"name utf8", func(r *packedRec) { r.name = "\xff" }, nil, "UTF-8"},
		{"negative dim", func(r *packedRec) { r.dims = []int64{-2} }, ErrShape, "negative"},
		{"overflow", func(r *packedRec) { r.rank = 2; r.dims = []int64{1 << 32, 1 << 32} }, ErrShape, "overflow"},
		{"dtype 0", func(r *packedRec) { r.dtype = 0 }, ErrParams, "element type"},
		{"dtype 7", func(r *packedRec) { r.dtype = 7 }, ErrParams, "element type"},
		{"reserved", func(r *packedRec) { r.reserved = 1 }, nil, "reserved"},
		{"granularity 3", func(r *packedRec) { r.gran = 3 }, ErrParams, "granularity"},
		{"pairs 2", func(r *packedRec) { r.pairs = 2; r.scales = []float32{1, 1}; r.zps = []int32{0, 0} }, ErrParams, "pairs"},
		{"pairs huge", func(r *packedRec) { r.pairs = 1 << 62 }, ErrParams, "pairs"},
		{"axis", func(r *packedRec) { r.gran = 1; r.axis = 1 }, ErrParams, "axis"},
		{"axis huge", func(r *packedRec) { r.gran = 1; r.axis = 1 << 40 }, ErrParams, "axis"},
		{"block 0", func(r *packedRec) { r.gran = 2 }, ErrParams, "block"},
		{"block negative", func(r *packedRec) { r.gran = 2; r.block = -1 }, ErrParams, "block"},
		{"scale 0", func(r *packedRec) { r.scales = []float32{0} }, ErrParams, "scale"},
		{"scale NaN", func(r *packedRec) { r.scales = []float32{float32(math.NaN())} }, ErrParams, "scale"},
		{"scale denormal", func(r *packedRec) { r.scales = []float32{0x1p-130} }, ErrParams, "scale"},
		{"scale negative", func(r *packedRec) { r.scales = []float32{-1} }, ErrParams, "scale"},
		{"zero point", func(r *packedRec) { r.zps = []int32{128} }, ErrParams, "zero point"},
		{"float with params", func(r *packedRec) { r.dtype = byte(Float32); r.dataLen = 8; r.data = make([]byte, 8) }, ErrParams, "no quantization"},
		{"data length", func(r *packedRec) { r.dataLen = 3; r.data = []byte{1, 2, 3} }, ErrShape, "data bytes"},
		{"data short", func(r *packedRec) { r.data = r.data[:1] }, nil, ""},
		{"checksum", func(r *packedRec) { r.badCRC = true }, nil, "checksum"},
		{"trailing", func(r *packedRec) { r.trailing = true }, nil, "trailing"},
		{"truncated data", func(r *packedRec) { r.dims = []int64{1 << 40}; r.dataLen = 1 << 40 }, nil, "remain"},
	}
	for _, c := range cases {
		r := okPackedRec()
		c.mod(&r)
		b := r.bytes()
		_, err := Unmarshal(b)
		if !errors.Is(err, ErrFormat) || (c.also != nil && !errors.Is(err, c.also)) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: Unmarshal error %v, want ErrFormat, %v and %q", c.name, err, c.also, c.msg)
		}
		if c.name == "trailing" {
			continue // a stream decoder stops at the end of the record
		}
		_, err = Decode(noLenReader{bytes.NewReader(b)})
		if !errors.Is(err, ErrFormat) || (c.also != nil && !errors.Is(err, c.also)) {
			t.Errorf("%s: Decode error %v, want ErrFormat and %v", c.name, err, c.also)
		}
	}
}

func TestFormatRejectsCaffe2(t *testing.T) {
	// rec builds a Caffe2 record of dims [9]: head is precision, signed,
	// flags, reserved; tail follows the bias (data type, axis, counts,
	// multi-group values, data length, data).
	rec := func(head [4]byte, align uint32, scale, bias float64, tail func(leBuf) leBuf) []byte {
		b := leBuf{}.str("QGPUTNSR").u16(1).u8(2, 1).u16(0).i64(9).u8(head[:]...).u32(align).
			u64(math.Float64bits(scale)).u64(math.Float64bits(bias))
		return tail(b).crc()
	}
	plain := func(b leBuf) leBuf { return b.u32(0).u32(0).u64(0).u64(0).u64(2).u8(1, 2) }
	cases := []struct {
		name string
		b    []byte
		msg  string
	}{
		{"ok", rec([4]byte{1, 0, 0, 0}, 8, 0, 0, plain), ""},
		{"ok multi", rec([4]byte{1, 0, 3, 0}, 8, 0, 0, func(b leBuf) leBuf {
			return b.u32(5).u32(0).u64(1).u64(0).u64(0).u64(2).u8(1, 2)
		}), ""},
		{"precision 0", rec([4]byte{0, 0, 0, 0}, 8, 0, 0, func(b leBuf) leBuf { return b.u32(0).u32(0).u64(0).u64(0).u64(0) }), "precision"},
		{"precision 9", rec([4]byte{9, 0, 0, 0}, 8, 0, 0, func(b leBuf) leBuf {
			return b.u32(0).u32(0).u64(0).u64(0).u64(18).u8(make([]byte, 18)...)
		}), "precision"},
		{"signed 2", rec([4]byte{1, 2, 0, 0}, 8, 0, 0, plain), "signed"},
		{"flags", rec([4]byte{1, 0, 4, 0}, 8, 0, 0, plain), "flags"},
		{"reserved", rec([4]byte{1, 0, 0, 1}, 8, 0, 0, plain), "reserved"},
		{"alignment 12", rec([4]byte{1, 0, 0, 0}, 12, 0, 0, plain), "alignment"},
		{"alignment 0", rec([4]byte{1, 0, 0, 0}, 0, 0, 0, plain), "alignment"},
		{"alignment huge", rec([4]byte{1, 0, 0, 0}, 1<<31, 0, 0, plain), "alignment"},
		{"scale inf", rec([4]byte{1, 0, 0, 0}, 8, math.Inf(1), 0, plain), "finite"},
		{"bias nan", rec([4]byte{1, 0, 0, 0}, 8, 0, math.NaN(), plain), "finite"},
		{"unflagged data type", rec([4]byte{1, 0, 0, 0}, 8, 0, 0, func(b leBuf) leBuf {
			return b.u32(5).u32(0).u64(0).u64(0).u64(2).u8(1, 2)
		}), "data type"},
		{"multi scale inf", rec([4]byte{1, 0, 2, 0}, 8, 0, 0, func(b leBuf) leBuf {
			return b.u32(0).u32(0).u64(1).u64(0).u64(math.Float64bits(math.Inf(-1))).u64(2).u8(1, 2)
		}), "finite"},
		{"multi count huge", rec([4]byte{1, 0, 2, 0}, 8, 0, 0, func(b leBuf) leBuf {
			return b.u32(0).u32(0).u64(1<<61).u64(0).u64(2).u8(1, 2)
		}), "too large"},
		{"multi count short", rec([4]byte{1, 0, 2, 0}, 8, 0, 0, func(b leBuf) leBuf {
			return b.u32(0).u32(0).u64(0).u64(1<<40).u64(2).u8(1, 2)
		}), "remain"},
		{"length", rec([4]byte{1, 0, 0, 0}, 8, 0, 0, func(b leBuf) leBuf {
			return b.u32(0).u32(0).u64(0).u64(0).u64(3).u8(1, 2, 3)
		}), "data bytes"},
	}
	for _, c := range cases {
		_, err := UnmarshalCaffe2(c.b)
		if c.msg == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want ErrFormat and %q", c.name, err, c.msg)
		}
		if _, err := DecodeCaffe2(noLenReader{bytes.NewReader(c.b)}); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: stream error %v, want ErrFormat", c.name, err)
		}
	}
	// A huge declared Caffe2 tensor in a short stream.
	b := leBuf{}.str("QGPUTNSR").u16(1).u8(2, 1).u16(0).i64(1<<40).u8(8, 1, 0, 0).u32(8).u64(0).u64(0).
		u32(0).u32(0).u64(0).u64(0).u64(9 << 37)
	if _, _, err := DecodeAny(noLenReader{bytes.NewReader(b)}); !errors.Is(err, ErrFormat) {
		t.Errorf("huge caffe2: %v", err)
	}
}

// TestFormatNoHugeAllocation checks that a record declaring a terabyte of
// data in a few bytes fails without allocating anything like it, from a
// byte slice and from a stream whose length is unknown.
func TestFormatNoHugeAllocation(t *testing.T) {
	r := okPackedRec()
	r.dims = []int64{1 << 40}
	r.dataLen = 1 << 40
	r.data = make([]byte, 3<<20) // more than one read piece actually present
	b := r.bytes()
	for _, name := range []string{"slice", "stream", "reader-with-len"} {
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		var err error
		switch name {
		case "slice":
			_, err = Unmarshal(b)
		case "stream":
			_, err = Decode(noLenReader{bytes.NewReader(b)})
		default:
			_, err = Decode(bytes.NewReader(b))
		}
		runtime.ReadMemStats(&ms1)
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v, want ErrFormat", name, err)
		}
		if d := ms1.TotalAlloc - ms0.TotalAlloc; d > 16<<20 {
			t.Errorf("%s: allocated %d bytes for a %d-byte input", name, d, len(b))
		}
	}
}

func formatRecords(t testing.TB) map[string][]byte {
	x := formatSamples(t)[2] // int4 per-block with a name
	b, err := Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	c, err := MarshalCaffe2(formatCaffe2Multi(t))
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{"packed": b, "caffe2": c}
}

// TestFormatTruncation checks that every proper prefix of a record is
// rejected, from a slice and from a stream.
func TestFormatTruncation(t *testing.T) {
	for name, b := range formatRecords(t) {
		for n := 0; n < len(b); n++ {
			if _, _, err := UnmarshalAny(b[:n]); !errors.Is(err, ErrFormat) {
				t.Fatalf("%s: prefix %d/%d: Unmarshal error %v, want ErrFormat", name, n, len(b), err)
			}
			if _, _, err := DecodeAny(noLenReader{bytes.NewReader(b[:n])}); !errors.Is(err, ErrFormat) {
				t.Fatalf("%s: prefix %d/%d: Decode error %v, want ErrFormat", name, n, len(b), err)
			}
		}
	}
}

// TestFormatMutation changes every byte of each sample record to each of
// its 255 other values: every result must be rejected or decode to exactly
// the original (with CRC-32C over everything, all are rejected).
func TestFormatMutation(t *testing.T) {
	for name, b := range formatRecords(t) {
		x0, c0, err := UnmarshalAny(b)
		if err != nil {
			t.Fatal(err)
		}
		m := slices.Clone(b)
		accepted := 0
		for i := range m {
			for v := 1; v < 256; v++ {
				m[i] = b[i] ^ byte(v)
				x, c, err := UnmarshalAny(m)
				if err == nil {
					accepted++
					if (x != nil && !x.Equal(x0)) || (c != nil && (c0 == nil || !c.Equal(c0))) {
						t.Fatalf("%s: byte %d ^ %#x decodes to a different tensor", name, i, v)
					}
				} else if !errors.Is(err, ErrFormat) {
					t.Fatalf("%s: byte %d ^ %#x: error %v does not wrap ErrFormat", name, i, v, err)
				}
			}
			m[i] = b[i]
		}
		if accepted != 0 {
			t.Errorf("%s: %d single-byte changes accepted; CRC-32C should catch all", name, accepted)
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	good := formatSamples(t)[0]
	cases := []struct {
		name string
		mod  func(x *Tensor)
	}{
		{"data length", func(x *Tensor) { x.Data = x.Data[:1] }},
		{"scale", func(x *Tensor) { x.Params.Scales[0] = 0 }},
		{"dtype", func(x *Tensor) { x.DType = 9 }},
		{"name utf8", func(x *Tensor) { x.Name = "\xc3" }},
		{"name long", func(x *Tensor) { x.Name = strings.Repeat("a", MaxNameLen+1) }},
		{"unused axis", func(x *Tensor) { x.Params.Axis = 1 << 40 }},
		{"unused block size", func(x *Tensor) { x.Params.BlockSize = -1 }},
		{"rank", func(x *Tensor) { x.Shape = make([]int, MaxRank+1); x.Shape[0] = 0; x.Data = nil }},
	}
	for _, c := range cases {
		x := good.Clone()
		c.mod(x)
		if _, err := Marshal(x); err == nil {
			t.Errorf("%s: Marshal succeeded", c.name)
		}
		if err := Encode(io.Discard, x); err == nil {
			t.Errorf("%s: Encode succeeded", c.name)
		}
	}
	if _, err := Marshal(nil); err == nil {
		t.Error("Marshal(nil) succeeded")
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n <= 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

func TestEncodeWriteError(t *testing.T) {
	x := formatSamples(t)[0]
	for n := 0; n < 3; n++ {
		if err := Encode(&failingWriter{n}, x); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("failing after %d writes: %v", n, err)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.bin")
	if err := WriteFileAtomic(p, func(w io.Writer) error { _, err := w.Write([]byte("old")); return err }); err != nil {
		t.Fatal(err)
	}
	// A failing writer leaves the old file and no temporary.
	err := WriteFileAtomic(p, func(w io.Writer) error {
		w.Write([]byte("partial new content"))
		return errors.New("boom")
	})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("error %v, want boom", err)
	}
	func() {
		defer func() { recover() }()
		WriteFileAtomic(p, func(w io.Writer) error { panic("oops") })
	}()
	if b, err := os.ReadFile(p); err != nil || string(b) != "old" {
		t.Fatalf("after failures the file holds %q, %v", b, err)
	}
	if err := Save(p, formatSamples(t)[1]); err != nil {
		t.Fatal(err)
	}
	if err := Save(p, &Tensor{DType: Int8}); err == nil {
		t.Fatal("Save of an invalid tensor succeeded")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "f.bin" {
		t.Fatalf("directory holds %v, want only f.bin", ents)
	}
	// A new file's mode is os.Create's (0666 less the umask).
	probe := filepath.Join(t.TempDir(), "probe")
	if f, err := os.Create(probe); err == nil {
		f.Close()
	}
	want, _ := os.Stat(probe)
	if fi, err := os.Stat(p); err != nil || want == nil || fi.Mode().Perm() != want.Mode().Perm() {
		t.Fatalf("mode %v, want %v, %v", fi.Mode(), want.Mode(), err)
	}
	if x, err := Load(p); err != nil || !x.Equal(formatSamples(t)[1]) {
		t.Fatalf("Load: %v", err)
	}
	// Trailing bytes in a file are rejected by Load.
	b, _ := os.ReadFile(p)
	os.WriteFile(p, append(b, 0), 0o644)
	if _, err := Load(p); !errors.Is(err, ErrFormat) {
		t.Fatalf("Load with trailing byte: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
	if err := WriteFileAtomic(filepath.Join(dir, "no", "such", "dir"), func(io.Writer) error { return nil }); err == nil {
		t.Fatal("WriteFileAtomic into a missing directory succeeded")
	}
}

// TestFormatLargeStream decodes a tensor several read pieces long from a
// stream of unknown length (the growing-buffer path) and from a file.
func TestFormatLargeStream(t *testing.T) {
	x := mustOK(New(Uint4, []int{3, 700001}, TensorParams(0.25, 8)))
	for i := range x.Data {
		x.Data[i] = byte(i*131 + i>>9)
	}
	x.Data[len(x.Data)-1] &= 0x0F
	b := mustOK(Marshal(x))
	if y, err := Decode(noLenReader{bytes.NewReader(b)}); err != nil || !x.Equal(y) {
		t.Fatalf("stream: %v", err)
	}
	p := filepath.Join(t.TempDir(), "big.qt")
	if err := Save(p, x); err != nil {
		t.Fatal(err)
	}
	if y, err := Load(p); err != nil || !x.Equal(y) {
		t.Fatalf("file: %v", err)
	}
	b[len(b)/2] ^= 0x40
	if _, err := Decode(noLenReader{bytes.NewReader(b)}); !errors.Is(err, ErrFormat) {
		t.Fatalf("corrupted stream: %v", err)
	}
}
