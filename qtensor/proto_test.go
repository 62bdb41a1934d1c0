package qtensor

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixtureEntry is one line of testdata/caffe2/manifest.json, written by the
// independent Python encoder testdata/caffe2/gen.py.
type fixtureEntry struct {
	File       string    `json:"file"`
	OK         bool      `json:"ok"`
	Why        string    `json:"why"`
	Match      string    `json:"match"`
	Canonical  string    `json:"canonical"`
	Dims       []int     `json:"dims"`
	Precision  int       `json:"precision"`
	Signed     bool      `json:"signed"`
	Scale      float64   `json:"scale"`
	Bias       float64   `json:"bias"`
	Values     []int32   `json:"values"`
	Data       []int     `json:"data"`
	Name       string    `json:"name"`
	DataType   *int32    `json:"data_type"`
	Scales     []float64 `json:"scales"`
	Biases     []float64 `json:"biases"`
	Axis       int32     `json:"axis"`
	MultiParam bool      `json:"multiparam"`
}

func loadFixtures(t testing.TB) []fixtureEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "caffe2", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m []fixtureEntry
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) < 20 {
		t.Fatalf("manifest has only %d entries", len(m))
	}
	return m
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "caffe2", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestQTensorProtoFixtures(t *testing.T) {
	for _, f := range loadFixtures(t) {
		t.Run(f.File, func(t *testing.T) {
			b := readFixture(t, f.File)
			x, err := UnmarshalQTensorProto(b)
			if !f.OK {
				if err == nil {
					t.Fatalf("accepted (%s)", f.Why)
				}
				if !errors.Is(err, ErrQTensorProto) {
					t.Fatalf("error %v does not wrap ErrQTensorProto", err)
				}
				if !strings.Contains(err.Error(), f.Match) {
					t.Fatalf("%s: error %q does not say %q", f.Why, err, f.Match)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			data := make([]byte, len(f.Data))
			for i, v := range f.Data {
				data[i] = byte(v)
			}
			if !slices.Equal(x.Dims(), f.Dims) && !(len(f.Dims) == 0 && len(x.Dims()) == 0) {
				t.Errorf("dims %v, want %v", x.Dims(), f.Dims)
			}
			if x.Precision() != f.Precision || x.IsSigned() != f.Signed || x.Alignment() != 8 {
				t.Errorf("precision %d signed %v alignment %d", x.Precision(), x.IsSigned(), x.Alignment())
			}
			if math.Float64bits(x.Scale()) != math.Float64bits(f.Scale) || math.Float64bits(x.Bias()) != math.Float64bits(f.Bias) {
				t.Errorf("scale %v bias %v, want %v %v", x.Scale(), x.Bias(), f.Scale, f.Bias)
			}
			if x.Name != f.Name {
				t.Errorf("name %q, want %q", x.Name, f.Name)
			}
			if dt, ok := x.DataType(); ok != (f.DataType != nil) || ok && dt != *f.DataType {
				t.Errorf("data_type %d %v, want %v", dt, ok, f.DataType)
			}
			if !slices.Equal(x.Raw(), data) {
				t.Errorf("raw %x, want %x", x.Raw(), data)
			}
			if got := x.Ints(); !slices.Equal(got, f.Values) && len(f.Values)+len(got) > 0 {
				t.Errorf("values %v, want %v", got, f.Values)
			}
			if x.IsMultiParam() != f.MultiParam || x.Axis() != f.Axis ||
				!float64sBitsEqual(x.Scales(), f.Scales) && len(f.Scales)+len(x.Scales()) > 0 ||
				!float64sBitsEqual(x.Biases(), f.Biases) && len(f.Biases)+len(x.Biases()) > 0 {
				t.Errorf("multiparam %v axis %d scales %v biases %v", x.IsMultiParam(), x.Axis(), x.Scales(), x.Biases())
			}
			out, err := MarshalQTensorProto(x)
			if err != nil {
				t.Fatal(err)
			}
			if want := readFixture(t, f.Canonical); !slices.Equal(out, want) {
				t.Errorf("re-encoded\n%x\nwant (%s)\n%x", out, f.Canonical, want)
			}
		})
	}
}

// checkProtoProperty is the robustness property of the decoder: it never
// panics, and whatever it accepts re-encodes, decodes to an equal tensor,
// and re-encodes to the same bytes (a fixed point). It returns the decoded
// tensor or nil.
func checkProtoProperty(t testing.TB, b []byte) *Caffe2Tensor {
	x, err := UnmarshalQTensorProto(b)
	if err != nil {
		if x != nil {
			t.Fatalf("tensor returned with error %v", err)
		}
		if !errors.Is(err, ErrQTensorProto) {
			t.Fatalf("error %v does not wrap ErrQTensorProto", err)
		}
		return nil
	}
	if len(x.Raw()) != x.NBytes() || x.Precision() < 1 || x.Precision() > 8 {
		t.Fatalf("decoded an inconsistent tensor: %d bytes for NBytes %d, precision %d", len(x.Raw()), x.NBytes(), x.Precision())
	}
	enc, err := MarshalQTensorProto(x)
	if err != nil {
		t.Fatalf("decoded tensor does not re-encode: %v", err)
	}
	y, err := UnmarshalQTensorProto(enc)
	if err != nil {
		t.Fatalf("re-encoded tensor does not decode: %v", err)
	}
	if !y.Equal(x) {
		t.Fatalf("re-decoded tensor differs:\n%+v\n%+v", x, y)
	}
	enc2, err := MarshalQTensorProto(y)
	if err != nil || !slices.Equal(enc, enc2) {
		t.Fatalf("encoding is not a fixed point: %v", err)
	}
	// The value accessors and the conversion must not panic either.
	_ = x.Ints()
	_ = x.Values()
	if p, err := x.ToTensor(); err == nil {
		if err := p.Validate(); err != nil {
			t.Fatalf("ToTensor gave an invalid tensor: %v", err)
		}
	}
	return x
}

func TestQTensorProtoRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for precision := 1; precision <= 8; precision++ {
		for _, signed := range []bool{false, true} {
			for _, dims := range [][]int{{}, {0}, {1}, {7}, {8}, {9}, {3, 21}, {64}, {5, 13}, {2, 0, 3}} {
				x, err := NewCaffe2Tensor(dims, precision, signed)
				if err != nil {
					t.Fatal(err)
				}
				for i := range x.Raw() {
					x.Raw()[i] = byte(rng.Uint32()) // any bits, padding and negative zeros included
				}
				_ = x.SetScale(rng.NormFloat64())
				_ = x.SetBias(rng.NormFloat64() * 100)
				x.Name = []string{"", "w", "layer.0/weight", "\xff\x00"}[rng.IntN(4)]
				if rng.IntN(2) == 0 {
					x.SetDataType(int32(rng.IntN(20)) - 2)
				}
				if rng.IntN(3) == 0 {
					k := rng.IntN(4)
					sc, bi := make([]float64, k), make([]float64, k+rng.IntN(2))
					for i := range sc {
						sc[i] = rng.Float64()
					}
					for i := range bi {
						bi[i] = -rng.Float64()
					}
					if err := x.SetMultiParam(rng.IntN(2) == 0, int32(rng.IntN(5))-1, sc, bi); err != nil {
						t.Fatal(err)
					}
				}
				b, err := MarshalQTensorProto(x)
				if err != nil {
					t.Fatal(err)
				}
				y, err := UnmarshalQTensorProto(b)
				if err != nil {
					t.Fatalf("p%d signed=%v dims %v: %v", precision, signed, dims, err)
				}
				if !y.Equal(x) {
					t.Fatalf("p%d signed=%v dims %v: round trip differs\n%+v\n%+v", precision, signed, dims, x, y)
				}
			}
		}
	}
}

func TestQTensorProtoMarshalErrors(t *testing.T) {
	x, _ := NewCaffe2Tensor([]int{3}, 2, false)
	_ = x.SetAlignment(16)
	if _, err := MarshalQTensorProto(x); err == nil {
		t.Error("alignment 16 marshalled")
	}
	if _, err := MarshalQTensorProto(nil); err == nil {
		t.Error("nil marshalled")
	}
}

// TestQTensorProtoTruncations: protobuf can be cut at a field boundary and
// still parse. For every valid fixture, each prefix satisfies the decoder
// property, and for the canonical fixtures an accepted prefix decodes to the
// same dims, precision, signedness, scale, bias and data (the canonical
// order puts those first, so a prefix that keeps the data can only lose
// trailing optional fields: name, data_type, the multi-param fields).
func TestQTensorProtoTruncations(t *testing.T) {
	for _, f := range loadFixtures(t) {
		if !f.OK {
			continue
		}
		b := readFixture(t, f.File)
		full, err := UnmarshalQTensorProto(b)
		if err != nil {
			t.Fatal(err)
		}
		accepted := 0
		for k := 0; k < len(b); k++ {
			x := checkProtoProperty(t, b[:k])
			if x == nil {
				continue
			}
			accepted++
			if f.File != f.Canonical {
				continue // later fields override earlier ones; only the property holds
			}
			if !slices.Equal(x.Dims(), full.Dims()) || x.Precision() != full.Precision() || x.IsSigned() != full.IsSigned() ||
				x.Scale() != full.Scale() || x.Bias() != full.Bias() || !slices.Equal(x.Raw(), full.Raw()) {
				t.Fatalf("%s cut at %d of %d decodes to a different tensor", f.File, k, len(b))
			}
		}
		t.Logf("%s: %d of %d truncations accepted (field boundaries after the data)", f.File, accepted, len(b))
	}
}

// TestQTensorProtoByteChanges changes every byte of every valid fixture to
// several other values: a changed byte may legitimately produce another
// valid message, so the property is the decoder's (never panic; whatever is
// accepted round-trips).
func TestQTensorProtoByteChanges(t *testing.T) {
	for _, f := range loadFixtures(t) {
		if !f.OK {
			continue
		}
		b := readFixture(t, f.File)
		c := make([]byte, len(b))
		accepted, total := 0, 0
		for i := range b {
			for _, v := range []byte{b[i] ^ 0x01, b[i] ^ 0x80, b[i] ^ 0xFF, 0x00, 0x08, 0x32} {
				if v == b[i] {
					continue
				}
				copy(c, b)
				c[i] = v
				total++
				if checkProtoProperty(t, c) != nil {
					accepted++
				}
			}
		}
		t.Logf("%s: %d of %d byte changes accepted", f.File, accepted, total)
	}
}
