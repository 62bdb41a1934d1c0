package qtensor

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func npyFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNPYNumPyFixtures reads files written by NumPy (testdata/gen_npy.py);
// the expected values are the script's, written out by hand.
func TestNPYNumPyFixtures(t *testing.T) {
	f4 := []uint32{0xbfc00000, 0x80000000, 0x00000001, 0x7f800000, 0x40500000, 0x7fc00000} // -1.5 -0 1e-45 +Inf 3.25 NaN
	fortran := []int32{-2500, -1500, -500, 500, 1500, 2500}
	cases := []struct {
		file   string
		dtype  DType
		shape  []int
		bits   []uint32 // float32 bits
		ints   []int32
		exact  bool // WriteNPY reproduces the file byte for byte
		reject string
	}{
		{file: "f4_2x3.npy", dtype: Float32, shape: []int{2, 3}, bits: f4, exact: true},
		{file: "f4be_2x3.npy", dtype: Float32, shape: []int{2, 3}, bits: f4},
		{file: "f4_v2.npy", dtype: Float32, shape: []int{2, 3}, bits: f4},
		{file: "f4_v3.npy", dtype: Float32, shape: []int{2, 3}, bits: f4},
		{file: "f4_0x3.npy", dtype: Float32, shape: []int{0, 3}, bits: []uint32{}, exact: true},
		{file: "i1_5.npy", dtype: Int8, shape: []int{5}, ints: []int32{-128, -1, 0, 1, 127}, exact: true},
		{file: "u1_2x2x2.npy", dtype: Uint8, shape: []int{2, 2, 2}, ints: []int32{10, 41, 72, 103, 134, 165, 196, 227}, exact: true},
		{file: "i4_scalar.npy", dtype: Int32, shape: []int{}, ints: []int32{-123456789}, exact: true},
		{file: "i4_fortran_2x3.npy", dtype: Int32, shape: []int{2, 3}, ints: fortran},
		{file: "i4be_fortran_2x3.npy", dtype: Int32, shape: []int{2, 3}, ints: fortran},
		{file: "f8_2.npy", reject: "unsupported dtype"},
		{file: "i8_2.npy", reject: "unsupported dtype"},
	}
	for _, c := range cases {
		b := npyFixture(t, c.file)
		x, err := UnmarshalNPY(b)
		if c.reject != "" {
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.reject) {
				t.Errorf("%s: error %v, want %q", c.file, err, c.reject)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if err := x.Validate(); err != nil || x.DType != c.dtype || !slices.Equal(x.Shape, c.shape) {
			t.Errorf("%s: got %v %v (%v), want %v %v", c.file, x.DType, x.Shape, err, c.dtype, c.shape)
			continue
		}
		if c.bits != nil {
			got := []uint32{}
			for _, v := range x.Float32s() {
				got = append(got, math.Float32bits(v))
			}
			if !slices.Equal(got, c.bits) {
				t.Errorf("%s: float bits %08x, want %08x", c.file, got, c.bits)
			}
		} else if got := x.Int32s(); !slices.Equal(got, c.ints) {
			t.Errorf("%s: values %v, want %v", c.file, got, c.ints)
		}
		if x.DType.Quantized() && (x.Params.Granularity != PerTensor || x.Params.Scales[0] != 1 || x.Params.ZeroPoints[0] != 0) {
			t.Errorf("%s: params %+v, want per-tensor scale 1 zero point 0", c.file, x.Params)
		}
		// The stream reader, with and without a known length, agrees.
		for _, r := range []any{bytes.NewReader(b), noLenReader{bytes.NewReader(b)}} {
			var y *Tensor
			switch r := r.(type) {
			case *bytes.Reader:
				y, err = ReadNPY(r)
			case noLenReader:
				y, err = ReadNPY(r)
			}
			if err != nil || !x.Equal(y) {
				t.Errorf("%s: ReadNPY(%T): %v", c.file, r, err)
			}
		}
		if c.exact {
			var buf bytes.Buffer
			if err := WriteNPY(&buf, x); err != nil || !bytes.Equal(buf.Bytes(), b) {
				t.Errorf("%s: WriteNPY differs from numpy.save (%v):\n%q\n%q", c.file, err, buf.Bytes(), b)
			}
		}
	}
}

func TestNPYFiles(t *testing.T) {
	dir := t.TempDir()
	for _, x := range formatSamples(t) {
		p := filepath.Join(dir, "a.npy")
		if err := SaveNPY(p, x); err != nil {
			t.Fatalf("%s: %v", x.Name, err)
		}
		y, err := LoadNPY(p)
		if err != nil {
			t.Fatalf("%s: %v", x.Name, err)
		}
		// What .npy keeps: the shape and the values; int4 becomes int8.
		want := map[DType]DType{Int4: Int8, Uint4: Uint8}[x.DType]
		if want == Invalid {
			want = x.DType
		}
		if y.DType != want || !slices.Equal(x.Shape, y.Shape) {
			t.Fatalf("%s: got %v %v", x.Name, y.DType, y.Shape)
		}
		if x.DType == Float32 {
			if !bytes.Equal(x.Data, y.Data) {
				t.Fatalf("%s: data differs", x.Name)
			}
		} else if !slices.Equal(x.Int32s(), y.Int32s()) {
			t.Fatalf("%s: values %v, want %v", x.Name, y.Int32s(), x.Int32s())
		}
	}
	b := npyFixture(t, "i1_5.npy")
	p := filepath.Join(dir, "trailing.npy")
	os.WriteFile(p, append(b, 0), 0o644)
	if _, err := LoadNPY(p); !errors.Is(err, ErrFormat) {
		t.Errorf("trailing byte: %v", err)
	}
	if _, err := UnmarshalNPY(append(b, 0)); !errors.Is(err, ErrFormat) {
		t.Errorf("trailing byte: %v", err)
	}
	if err := WriteNPY(&bytes.Buffer{}, &Tensor{DType: Int8, Shape: []int{2}}); err == nil {
		t.Error("WriteNPY of an invalid tensor succeeded")
	}
}

func TestNPYHeaderParse(t *testing.T) {
	good := []struct {
		h       string
		descr   string
		fortran bool
		shape   []int
	}{
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", "<f4", false, []int{3, 4}},
		{`{"descr":"|u1","fortran_order":True,"shape":(2,)}` + "   \n", "|u1", true, []int{2}},
		{"{'shape': (), 'descr': '<i4', 'fortran_order': False}", "<i4", false, []int{}},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 4L), }\n", "<f4", false, []int{3, 4}},
		{"\t{ 'descr' : '<f4' ,\t'fortran_order' : False , 'shape' : ( 0 , 7 , ) , }", "<f4", false, []int{0, 7}},
	}
	for _, g := range good {
		h, err := parseNPYHeader(g.h)
		if err != nil || h.descr != g.descr || h.fortran != g.fortran || !slices.Equal(h.shape, g.shape) {
			t.Errorf("%q: %+v, %v", g.h, h, err)
		}
	}
	bad := []string{
		"",
		"{}",
		"{'descr': '<f4', 'shape': (3,)}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}",
		"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (3)}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (3,,)}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (,)}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (03,)}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (3 4)}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': [3]}",
		"{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}",
		"{'descr': '<f4, 'fortran_order': False, 'shape': (3,)}",
		"{'descr': '<f\\x34', 'fortran_order': False, 'shape': (3,)}",
		"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,)}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (3,)",
		"{'descr': '<f4' 'fortran_order': False, 'shape': (3,)}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (" + strings.Repeat("1,", MaxRank+1) + ")}",
	}
	for _, h := range bad {
		if _, err := parseNPYHeader(h); !errors.Is(err, ErrFormat) {
			t.Errorf("%q: error %v, want ErrFormat", h, err)
		}
	}
	for _, d := range []string{"<f8", "=f4", "|f4", "<i8", "<f2", "|b1", "<u4", "f4", "<i1x", ""} {
		if _, _, err := npyDType(d); err == nil {
			t.Errorf("descr %q accepted", d)
		}
	}
}

func TestNPYRejects(t *testing.T) {
	hdr := func(version byte, dict string) []byte {
		b := []byte(npyMagic)
		b = append(b, version, 0)
		if version == 1 {
			b = append(b, byte(len(dict)), byte(len(dict)>>8))
		} else {
			b = append(b, byte(len(dict)), byte(len(dict)>>8), 0, 0)
		}
		return append(b, dict...)
	}
	ok := "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }"
	if x, err := UnmarshalNPY(append(hdr(1, ok), 7, 8)); err != nil || x.Len() != 2 {
		t.Fatalf("valid base rejected: %v", err)
	}
	cases := map[string][]byte{
		"magic":       append([]byte("\x93NUMPX\x01\x00"), hdr(1, ok)[8:]...),
		"version 4":   append(hdr(4, ok), 7, 8),
		"version 1.1": append(append([]byte(npyMagic), 1, 1), append(hdr(1, ok)[8:], 7, 8)...),
		"short data":  append(hdr(1, ok), 7),
		"long header": append(append([]byte(npyMagic), 2, 0, 0, 0, 0x10, 0), ok...),
		"huge shape":  hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"),
		"overflow":    hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"),
		"header past": append([]byte(npyMagic), 1, 0, 0xff, 0xff, '{'),
	}
	for name, b := range cases {
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		_, err1 := UnmarshalNPY(b)
		_, err2 := ReadNPY(noLenReader{bytes.NewReader(b)})
		runtime.ReadMemStats(&ms1)
		if !errors.Is(err1, ErrFormat) || !errors.Is(err2, ErrFormat) {
			t.Errorf("%s: errors %v / %v, want ErrFormat", name, err1, err2)
		}
		if d := ms1.TotalAlloc - ms0.TotalAlloc; d > 16<<20 {
			t.Errorf("%s: allocated %d bytes", name, d)
		}
	}
}

// TestNPYTruncation: every proper prefix of an .npy file is rejected.
func TestNPYTruncation(t *testing.T) {
	for _, f := range []string{"f4_2x3.npy", "i4_scalar.npy", "f4_v3.npy"} {
		b := npyFixture(t, f)
		for n := 0; n < len(b); n++ {
			if _, err := UnmarshalNPY(b[:n]); !errors.Is(err, ErrFormat) {
				t.Fatalf("%s: prefix %d: %v", f, n, err)
			}
			if _, err := ReadNPY(noLenReader{bytes.NewReader(b[:n])}); !errors.Is(err, ErrFormat) {
				t.Fatalf("%s: prefix %d (stream): %v", f, n, err)
			}
		}
	}
}

// TestNPYMutation changes every byte of small .npy files to each of its
// 255 other values. .npy has no checksum, so a change can yield another
// valid array; it must never panic, a change in the data must show up as
// exactly that byte changed, and whatever is accepted must be a valid
// tensor that WriteNPY/UnmarshalNPY reproduce.
func TestNPYMutation(t *testing.T) {
	for _, f := range []string{"i1_5.npy", "f4_2x3.npy"} {
		b := npyFixture(t, f)
		x0, err := UnmarshalNPY(b)
		if err != nil {
			t.Fatal(err)
		}
		dataStart := len(b) - len(x0.Data)
		m := slices.Clone(b)
		headerAccepted := 0
		for i := range m {
			for v := 1; v < 256; v++ {
				m[i] = b[i] ^ byte(v)
				x, err := UnmarshalNPY(m)
				if err != nil {
					if !errors.Is(err, ErrFormat) {
						t.Fatalf("%s: byte %d ^ %#x: error %v does not wrap ErrFormat", f, i, v, err)
					}
					continue
				}
				if err := x.Validate(); err != nil {
					t.Fatalf("%s: byte %d ^ %#x: invalid tensor: %v", f, i, v, err)
				}
				if i >= dataStart {
					if x.DType != x0.DType || !slices.Equal(x.Shape, x0.Shape) || !bytes.Equal(x.Data, m[dataStart:]) {
						t.Fatalf("%s: data byte %d ^ %#x decodes wrongly", f, i, v)
					}
				} else {
					headerAccepted++
				}
				var buf bytes.Buffer
				if err := WriteNPY(&buf, x); err != nil {
					t.Fatalf("%s: byte %d ^ %#x: WriteNPY: %v", f, i, v, err)
				}
				if y, err := UnmarshalNPY(buf.Bytes()); err != nil || !x.Equal(y) {
					t.Fatalf("%s: byte %d ^ %#x: round trip: %v", f, i, v, err)
				}
			}
			m[i] = b[i]
		}
		t.Logf("%s: %d header mutations accepted (whitespace, quotes, byte order, shape digits)", f, headerAccepted)
	}
}

// TestNPYFloat32Conversion reads NumPy's float64 and float16 arrays
// (testdata/gen_npy.py) as float32: the bits must equal those of the
// arrays NumPy's astype(float32) made of the same values.
func TestNPYFloat32Conversion(t *testing.T) {
	for _, c := range []struct{ in, want, from string }{
		{"f8_conv_2x4.npy", "f8_conv_2x4_as_f4.npy", "float64"},
		{"f8be_conv_2x4.npy", "f8_conv_2x4_as_f4.npy", "float64"},
		{"f2_conv_8.npy", "f2_conv_8_as_f4.npy", "float16"},
		{"f4_2x3.npy", "f4_2x3.npy", "float32"},
		{"f4be_2x3.npy", "f4_2x3.npy", "float32"},
		{"i4_fortran_2x3.npy", "", ""},
	} {
		x, from, err := LoadNPYFloat32(filepath.Join("testdata", c.in))
		if c.want == "" {
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "holds int32 values") {
				t.Errorf("%s: %v, want an error naming int32", c.in, err)
			}
			continue
		}
		want, err2 := UnmarshalNPY(npyFixture(t, c.want))
		if err != nil || err2 != nil {
			t.Fatalf("%s: %v %v", c.in, err, err2)
		}
		if from != c.from || x.DType != Float32 || !slices.Equal(x.Shape, want.Shape) || !bytes.Equal(x.Data, want.Data) {
			t.Errorf("%s: %s %v %v %x, want %s %v %x", c.in, from, x.DType, x.Shape, x.Data, c.from, want.Shape, want.Data)
		}
		y, from2, err := ReadNPYFloat32(noLenReader{bytes.NewReader(npyFixture(t, c.in))})
		if err != nil || from2 != from || !x.Equal(y) {
			t.Errorf("%s: ReadNPYFloat32 on a stream: %v", c.in, err)
		}
	}
}
