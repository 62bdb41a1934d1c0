package qtensor

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The expected bytes below were worked out by hand from docs/semantics.md section 1:
// plane b holds bit b of every element, starts at byte AlignedSize*b/8, and
// element i sits in byte i/8 of the plane at bit 7 - i%8.
func TestCaffe2LayoutByHand(t *testing.T) {
	cases := []struct {
		name      string
		dims      []int
		precision int
		signed    bool
		alignment int
		values    []int32
		want      []byte
	}{
		{
			// values 1=0b01, 2=0b10, 3=0b11 in elements 0,1,2 (bits 7,6,5).
			// plane 0 (low bits 1,0,1): 0b10100000; plane 1 (high bits 0,1,1): 0b01100000.
			name: "p2 unsigned [1 2 3]", dims: []int{3}, precision: 2, alignment: 8,
			values: []int32{1, 2, 3}, want: []byte{0b10100000, 0b01100000},
		},
		{
			// Same values, alignment 16: AlignedSize 16, each plane 2 bytes,
			// plane 1 starts at byte 16*1/8 = 2.
			name: "p2 unsigned align16", dims: []int{3}, precision: 2, alignment: 16,
			values: []int32{1, 2, 3}, want: []byte{0b10100000, 0, 0b01100000, 0},
		},
		{
			// 9 elements: AlignedSize 16, 3 magnitude planes + sign plane of 2 bytes.
			// magnitudes 5=101 0=000 3=011 1=001 7=111 7=111 2=010 1=001 | 4=100
			// signs      1     0     0     1     0     1     0     0     | 1
			// plane0 bits 1 0 1 1 1 1 0 1 | 0 -> 0xBD 0x00
			// plane1 bits 0 0 1 0 1 1 1 0 | 0 -> 0x2E 0x00
			// plane2 bits 1 0 0 0 1 1 0 0 | 1 -> 0x8C 0x80
			// sign   bits 1 0 0 1 0 1 0 0 | 1 -> 0x94 0x80
			name: "p3 signed 9 elements", dims: []int{3, 3}, precision: 3, signed: true, alignment: 8,
			values: []int32{-5, 0, 3, -1, 7, -7, 2, 1, -4},
			want:   []byte{0xBD, 0x00, 0x2E, 0x00, 0x8C, 0x80, 0x94, 0x80},
		},
		{
			// precision 1 signed: plane 0 magnitudes, plane 1 signs.
			// values -1 1 0 -1 1 1 0 0 -> magnitudes 1 1 0 1 1 1 0 0 = 0xDC,
			// signs 1 0 0 1 0 0 0 0 = 0x90.
			name: "p1 signed 8", dims: []int{2, 4}, precision: 1, signed: true, alignment: 8,
			values: []int32{-1, 1, 0, -1, 1, 1, 0, 0}, want: []byte{0xDC, 0x90},
		},
		{
			// precision 8 unsigned: plane b holds bit b; 255 sets all planes,
			// 128 only plane 7, 1 only plane 0: element order 255,128,1.
			// plane0: 1 0 1 = 0xA0; planes 1..6: 1 0 0 = 0x80; plane 7: 1 1 0 = 0xC0.
			name: "p8 unsigned", dims: []int{3}, precision: 8, alignment: 8,
			values: []int32{255, 128, 1},
			want:   []byte{0xA0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0xC0},
		},
		{name: "empty", dims: []int{0, 4}, precision: 5, signed: true, alignment: 8, values: []int32{}, want: []byte{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, err := NewCaffe2Tensor(c.dims, c.precision, c.signed)
			if err != nil {
				t.Fatal(err)
			}
			if err := x.SetAlignment(c.alignment); err != nil {
				t.Fatal(err)
			}
			for i, v := range c.values {
				if err := x.SetInt(i, v); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(x.Raw(), c.want) || x.NBytes() != len(c.want) {
				t.Fatalf("raw = %08b (NBytes %d), want %08b", x.Raw(), x.NBytes(), c.want)
			}
			if got := x.Ints(); !slices.Equal(got, c.values) {
				t.Fatalf("Ints = %v, want %v", got, c.values)
			}
			// Reading back through the raw constructor gives the same values.
			y, err := NewCaffe2FromRaw("n", c.dims, c.precision, c.signed, c.alignment, 1, 0, c.want)
			if err != nil {
				t.Fatal(err)
			}
			if got := y.Ints(); !slices.Equal(got, c.values) {
				t.Fatalf("Ints from raw = %v, want %v", got, c.values)
			}
			// Bit access agrees with the integers.
			for i, v := range c.values {
				m := v
				if m < 0 {
					m = -m
				}
				for b := 0; b < c.precision; b++ {
					got, err := y.GetBitAtIndex(b, i)
					if err != nil || got != (m>>b&1 == 1) {
						t.Fatalf("GetBitAtIndex(%d, %d) = %v, %v", b, i, got, err)
					}
				}
				if c.signed {
					got, err := y.GetBitAtIndex(c.precision, i)
					if err != nil || got != (v < 0) {
						t.Fatalf("sign bit of %d = %v, %v", i, got, err)
					}
				}
			}
		})
	}
}

func TestCaffe2SetBitAtIndexBytes(t *testing.T) {
	// precision 2 unsigned, 10 elements: AlignedSize 16, planes of 2 bytes.
	// Bit 1 of element 9: plane 1 starts at byte 2, element 9 is in byte 1 of
	// the plane (byte 3 overall) at bit 7 - 1 = 6: 0x40.
	x, err := NewCaffe2Tensor([]int{10}, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.SetBitAtIndex(1, 9, true); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 0, 0, 0x40}; !slices.Equal(x.Raw(), want) {
		t.Fatalf("raw = %x, want %x", x.Raw(), want)
	}
	if v, _ := x.Int(9); v != 2 {
		t.Fatalf("element 9 = %d, want 2", v)
	}
	if err := x.SetBitAtIndex(1, 9, false); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 0, 0, 0}; !slices.Equal(x.Raw(), want) {
		t.Fatalf("raw after clear = %x", x.Raw())
	}
}

func TestCaffe2BitIndexErrors(t *testing.T) {
	for _, signed := range []bool{false, true} {
		x, err := NewCaffe2Tensor([]int{5}, 3, signed)
		if err != nil {
			t.Fatal(err)
		}
		planes := 3
		if signed {
			planes = 4
		}
		for _, c := range []struct {
			bit, i int
			ok     bool
		}{
			{0, 0, true}, {planes - 1, 4, true}, {planes, 0, false}, {-1, 0, false},
			{0, 5, false}, {0, -1, false}, {0, 7, false}, // 7 is inside the aligned block but not an element
		} {
			errSet := x.SetBitAtIndex(c.bit, c.i, true)
			_, errGet := x.GetBitAtIndex(c.bit, c.i)
			if (errSet == nil) != c.ok || (errGet == nil) != c.ok {
				t.Errorf("signed=%v bit %d index %d: set err %v, get err %v, want ok=%v", signed, c.bit, c.i, errSet, errGet, c.ok)
			}
		}
	}
}

func TestCaffe2SettersDropData(t *testing.T) {
	x, err := Caffe2FromInts([]int{2, 5}, 3, true, []int32{1, -2, 3, -4, 5, -6, 7, 0, 1, -1})
	if err != nil {
		t.Fatal(err)
	}
	// AlignedSize 16 elements, 4 planes -> 8 bytes.
	if x.AlignedSize() != 16 || x.NBytes() != 8 {
		t.Fatalf("aligned %d nbytes %d, want 16 and 8", x.AlignedSize(), x.NBytes())
	}
	// Reshape with the same element count keeps the data.
	if err := x.Resize([]int{10}); err != nil {
		t.Fatal(err)
	}
	if got := x.Ints(); !slices.Equal(got, []int32{1, -2, 3, -4, 5, -6, 7, 0, 1, -1}) {
		t.Fatalf("after reshape %v", got)
	}
	if !slices.Equal(x.Dims(), []int{10}) {
		t.Fatalf("dims %v", x.Dims())
	}
	// A new element count drops the data: 17 elements -> aligned 24, 12 bytes.
	if err := x.Resize([]int{17}); err != nil {
		t.Fatal(err)
	}
	if x.Size() != 17 || x.AlignedSize() != 24 || x.NBytes() != 12 || !slices.Equal(x.Raw(), make([]byte, 12)) {
		t.Fatalf("after resize: size %d aligned %d nbytes %d raw %x", x.Size(), x.AlignedSize(), x.NBytes(), x.Raw())
	}
	if err := x.Resize([]int{-1}); err == nil {
		t.Fatal("negative dim accepted")
	}
	_ = x.SetInt(3, -7)
	// SetPrecision drops the data: 24 * (5+1) / 8 = 18 bytes.
	if err := x.SetPrecision(5); err != nil {
		t.Fatal(err)
	}
	if x.NBytes() != 18 || !slices.Equal(x.Raw(), make([]byte, 18)) {
		t.Fatalf("after SetPrecision: %x", x.Raw())
	}
	for _, p := range []int{0, 9, -1} {
		if err := x.SetPrecision(p); err == nil {
			t.Fatalf("precision %d accepted", p)
		}
	}
	_ = x.SetInt(0, 31)
	// SetSigned(false) drops the sign plane and the data: 24*5/8 = 15 bytes.
	x.SetSigned(false)
	if x.NBytes() != 15 || !slices.Equal(x.Raw(), make([]byte, 15)) {
		t.Fatalf("after SetSigned: %x", x.Raw())
	}
	if err := x.SetScale(math.Inf(1)); err == nil {
		t.Fatal("infinite scale accepted")
	}
	if err := x.SetBias(math.NaN()); err == nil {
		t.Fatal("NaN bias accepted")
	}
	for _, a := range []int{0, 4, 12, -8} {
		if err := x.SetAlignment(a); err == nil {
			t.Fatalf("alignment %d accepted", a)
		}
	}
}

func TestCaffe2Value(t *testing.T) {
	x, err := Caffe2FromInts([]int{3}, 3, true, []int32{-5, 0, 7})
	if err != nil {
		t.Fatal(err)
	}
	_ = x.SetScale(0.5)
	_ = x.SetBias(1.5)
	// 0.5*(-5+1.5) = -1.75, 0.5*(0+1.5) = 0.75, 0.5*(7+1.5) = 4.25
	if got := x.Values(); !slices.Equal(got, []float64{-1.75, 0.75, 4.25}) {
		t.Fatalf("Values = %v", got)
	}
	if v, err := x.Value(0); err != nil || v != -1.75 {
		t.Fatalf("Value(0) = %v, %v", v, err)
	}
	if _, err := x.Value(3); err == nil {
		t.Fatal("Value(3) accepted")
	}
}

func TestCaffe2FromIntsRange(t *testing.T) {
	for _, c := range []struct {
		precision int
		signed    bool
		v         int32
		ok        bool
	}{
		{1, false, 1, true}, {1, false, 2, false}, {1, false, -1, false},
		{3, false, 7, true}, {3, false, 8, false},
		{3, true, -7, true}, {3, true, -8, false}, {3, true, 8, false},
		{8, false, 255, true}, {8, false, 256, false},
		{8, true, -255, true}, {8, true, -256, false},
	} {
		_, err := Caffe2FromInts([]int{1}, c.precision, c.signed, []int32{c.v})
		if (err == nil) != c.ok {
			t.Errorf("p%d signed=%v value %d: err %v, want ok=%v", c.precision, c.signed, c.v, err, c.ok)
		}
	}
	if _, err := Caffe2FromInts([]int{2}, 3, false, []int32{1}); err == nil {
		t.Error("wrong value count accepted")
	}
}

func TestCaffe2NegativeZeroAndPadding(t *testing.T) {
	// precision 2 signed, 3 elements; sign plane starts at byte 2.
	// Element 1 has magnitude 0 and sign bit set (byte 2, bit 6 = 0x40).
	raw := []byte{0b10000000, 0, 0b01000000}
	x, err := NewCaffe2FromRaw("", []int{3}, 2, true, 8, 1, 0, raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := x.Ints(); !slices.Equal(got, []int32{1, 0, 0}) {
		t.Fatalf("Ints = %v, want [1 0 0]", got)
	}
	if x.CheckCanonical() == nil {
		t.Fatal("negative zero reported canonical")
	}
	if _, err := x.ToTensor(); !errors.Is(err, ErrParams) {
		t.Fatalf("ToTensor of negative zero: %v", err)
	}
	x.Canonicalize()
	if want := []byte{0b10000000, 0, 0}; !slices.Equal(x.Raw(), want) {
		t.Fatalf("canonical raw %08b", x.Raw())
	}
	if _, err := x.ToTensor(); err != nil {
		t.Fatal(err)
	}

	// A set padding bit (element slot 5 of plane 1 of a 3-element tensor).
	y, err := NewCaffe2FromRaw("", []int{3}, 2, false, 8, 1, 0, []byte{0, 0b00000100})
	if err != nil {
		t.Fatal(err)
	}
	if got := y.Ints(); !slices.Equal(got, []int32{0, 0, 0}) {
		t.Fatalf("padding leaked into values: %v", got)
	}
	if y.CheckCanonical() == nil {
		t.Fatal("padding bit reported canonical")
	}
	y.Canonicalize()
	if !slices.Equal(y.Raw(), []byte{0, 0}) {
		t.Fatalf("padding not cleared: %x", y.Raw())
	}
}

// expectedPackedType is the documented choice of ToTensor (the first of
// uint4, int4, uint8, int8 whose range holds both the values and the zero
// point), written out case by case independently of the code.
func expectedPackedType(precision int, signed bool, zp int32) (DType, bool) {
	hi := int32(1)<<precision - 1
	if signed {
		switch {
		case hi <= 7 && zp >= -8 && zp <= 7:
			return Int4, true
		case hi <= 127 && zp >= -128 && zp <= 127:
			return Int8, true
		}
		return Invalid, false
	}
	switch {
	case hi <= 15 && zp >= 0 && zp <= 15:
		return Uint4, true
	case hi <= 7 && zp >= -8 && zp <= 7:
		return Int4, true
	case zp >= 0 && zp <= 255:
		return Uint8, true
	case hi <= 127 && zp >= -128 && zp <= 127:
		return Int8, true
	}
	return Invalid, false
}

func TestCaffe2PackedRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[DType]int{}
	for precision := 1; precision <= 8; precision++ {
		for _, signed := range []bool{false, true} {
			for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 65} {
				hi := int32(1)<<precision - 1
				lo := int32(0)
				if signed {
					lo = -hi
				}
				vals := make([]int32, n)
				for i := range vals {
					vals[i] = lo + rng.Int32N(hi-lo+1)
				}
				x, err := Caffe2FromInts([]int{n}, precision, signed, vals)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(x.Ints(), vals) {
					t.Fatalf("Ints mismatch p%d n%d", precision, n)
				}
				// zp in [-8, 15] (both 4-bit ranges) or an 8-bit one.
				var zp int32
				if rng.IntN(2) == 0 {
					zp = -8 + rng.Int32N(24)
				} else {
					zp = -128 + rng.Int32N(384)
				}
				scale := float32(rng.Float64()*10 + 1e-3)
				x.Name = "t"
				_ = x.SetScale(float64(scale))
				_ = x.SetBias(float64(-zp))
				want, ok := expectedPackedType(precision, signed, zp)
				p, err := x.ToTensor()
				if !ok {
					if err == nil {
						t.Fatalf("p%d signed=%v zp %d: converted to %v, want an error", precision, signed, zp, p.DType)
					}
					seen[Invalid]++
					continue
				}
				if err != nil {
					t.Fatalf("p%d signed=%v zp %d n %d: %v", precision, signed, zp, n, err)
				}
				if p.DType != want || p.Params.Scales[0] != scale || p.Params.ZeroPoints[0] != zp || p.Name != "t" {
					t.Fatalf("p%d signed=%v: got %v scale %v zp %d, want %v %v %d", precision, signed, p.DType, p.Params.Scales[0], p.Params.ZeroPoints[0], want, scale, zp)
				}
				if !slices.Equal(p.Int32s(), vals) {
					t.Fatalf("packed values %v, want %v", p.Int32s(), vals)
				}
				// Real values agree: scale*(x+bias) == scale*(q-zp).
				for i, v := range x.Values() {
					if w := float64(scale) * float64(p.At(i)-zp); v != w {
						t.Fatalf("real value %d: %v vs %v", i, v, w)
					}
				}
				seen[p.DType]++
				back, err := Caffe2FromTensor(p, precision, signed)
				if err != nil {
					t.Fatal(err)
				}
				if !back.Equal(x) {
					t.Fatalf("p%d signed=%v n %d: round trip differs:\n%+v\n%+v", precision, signed, n, back, x)
				}
			}
		}
	}
	for _, d := range []DType{Invalid, Uint4, Int4, Uint8, Int8} {
		if seen[d] == 0 {
			t.Errorf("no case produced %v (seen %v)", d, seen)
		}
	}
	t.Logf("outcomes: %v", seen)
}

func TestCaffe2PackedErrors(t *testing.T) {
	mk := func(precision int, signed bool, scale, bias float64) *Caffe2Tensor {
		x, err := NewCaffe2Tensor([]int{4}, precision, signed)
		if err != nil {
			t.Fatal(err)
		}
		_ = x.SetScale(scale)
		_ = x.SetBias(bias)
		return x
	}
	for _, c := range []struct {
		name string
		x    *Caffe2Tensor
		d    DType // Invalid: ToTensor
		ok   bool
	}{
		{"signed p8 needs 9 bits", mk(8, true, 1, 0), Invalid, false},
		{"signed p8 as int8", mk(8, true, 1, 0), Int8, false},
		{"signed p7 int8", mk(7, true, 1, 0), Int8, true},
		{"unsigned p7 as int8", mk(7, false, 1, -3), Int8, true},
		{"unsigned p8 as int8", mk(8, false, 1, 0), Int8, false},
		{"unsigned p4 as int4", mk(4, false, 1, 0), Int4, false},
		{"fractional bias", mk(4, false, 1, 0.5), Invalid, false},
		{"positive bias for unsigned p4 gives int8", mk(4, false, 1, 3), Invalid, true},
		{"positive bias for unsigned p8", mk(8, false, 1, 3), Invalid, false},
		{"bias 129 for unsigned p7", mk(7, false, 1, 129), Invalid, false},
		{"bias below -255", mk(4, false, 1, -256), Invalid, false},
		{"bias -255 falls back to uint8", mk(4, false, 1, -255), Invalid, true},
		{"scale not a float32", mk(4, false, 0.1, 0), Invalid, false},
		{"scale zero", mk(4, false, 0, 0), Invalid, false},
		{"scale negative", mk(4, false, -1, 0), Invalid, false},
		{"float32 output type", mk(4, false, 1, 0), Float32, false},
	} {
		var err error
		if c.d == Invalid {
			_, err = c.x.ToTensor()
		} else {
			_, err = c.x.ToTensorAs(c.d)
		}
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok=%v", c.name, err, c.ok)
		}
	}
	mp := mk(4, false, 1, 0)
	if err := mp.SetMultiParam(true, 0, []float64{1, 2, 3, 4}, []float64{0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := mp.ToTensor(); err == nil {
		t.Error("multi-param tensor converted")
	}
	al := mk(4, false, 1, 0)
	_ = al.SetAlignment(16)
	if _, err := al.ToTensor(); err == nil {
		t.Error("alignment 16 tensor converted")
	}

	// Packed -> Caffe2 failures.
	u8, _ := New(Uint8, []int{2}, TensorParams(1, 0))
	u8.Set(1, 200)
	if _, err := Caffe2FromTensor(u8, 7, false); err == nil {
		t.Error("200 accepted at precision 7")
	}
	if _, err := Caffe2FromTensor(u8, 8, false); err != nil {
		t.Error(err)
	}
	i8, _ := New(Int8, []int{2}, TensorParams(1, 0))
	i8.Set(0, -128)
	if _, err := Caffe2FromTensor(i8, 7, true); err == nil {
		t.Error("-128 accepted at signed precision 7")
	}
	if _, err := Caffe2FromTensor(i8, 8, false); err == nil {
		t.Error("negative value accepted as unsigned")
	}
	if c, err := Caffe2FromTensor(i8, 8, true); err != nil || !slices.Equal(c.Ints(), []int32{-128, 0}) {
		t.Errorf("signed p8 from int8: %v %v", c, err)
	}
	ax, _ := New(Int8, []int{2}, AxisParams(0, []float32{1, 2}, []int32{0, 0}))
	if _, err := Caffe2FromTensor(ax, 7, true); err == nil {
		t.Error("per-axis params accepted")
	}
	f, _ := FromFloat32([]int{1}, []float32{1})
	if _, err := Caffe2FromTensor(f, 7, true); err == nil {
		t.Error("float32 tensor accepted")
	}
}

func TestPackedToCaffe2RoundTrip(t *testing.T) {
	// The other direction: random packed tensors of each type go through
	// the bit-plane form of the smallest precision that holds their range
	// and come back identical.
	rng := rand.New(rand.NewPCG(3, 4))
	for _, d := range []DType{Uint4, Int4, Uint8, Int8} {
		for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 65} {
			zp := d.QMin() + rng.Int32N(d.QMax()-d.QMin()+1)
			p, err := New(d, []int{n}, TensorParams(0.25, zp))
			if err != nil {
				t.Fatal(err)
			}
			lo := d.QMin()
			if lo < 0 {
				lo++ // -2^(b-1) needs one more magnitude bit than the rest; keep it symmetric
			}
			for i := 0; i < n; i++ {
				p.Set(i, lo+rng.Int32N(d.QMax()-lo+1))
			}
			precision := d.Bits()
			if d.Signed() {
				precision--
			}
			c, err := Caffe2FromTensor(p, precision, d.Signed())
			if err != nil {
				t.Fatal(err)
			}
			q, err := c.ToTensorAs(d)
			if err != nil {
				t.Fatal(err)
			}
			if !q.Equal(p) {
				t.Fatalf("%v n=%d: round trip differs", d, n)
			}
		}
	}
}
