package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// encoder writes GGUF files for the tests (an independent writer of the
// format: magic, version 3, counts, metadata, tensor infos, aligned data).
type encoder struct {
	kv      bytes.Buffer
	nkv     int
	infos   bytes.Buffer
	data    bytes.Buffer
	tensors int
	align   int
}

func (e *encoder) str(b *bytes.Buffer, s string) {
	binary.Write(b, binary.LittleEndian, uint64(len(s)))
	b.WriteString(s)
}

func (e *encoder) meta(key string, typ uint32, v any) {
	e.str(&e.kv, key)
	binary.Write(&e.kv, binary.LittleEndian, typ)
	if s, ok := v.(string); ok {
		e.str(&e.kv, s)
	} else {
		binary.Write(&e.kv, binary.LittleEndian, v)
	}
	e.nkv++
}

func (e *encoder) tensor(name string, dims []uint64, t Type, data []byte) {
	e.str(&e.infos, name)
	binary.Write(&e.infos, binary.LittleEndian, uint32(len(dims)))
	for _, d := range dims {
		binary.Write(&e.infos, binary.LittleEndian, d)
	}
	binary.Write(&e.infos, binary.LittleEndian, uint32(t))
	for e.data.Len()%e.align != 0 {
		e.data.WriteByte(0)
	}
	binary.Write(&e.infos, binary.LittleEndian, uint64(e.data.Len()))
	e.data.Write(data)
	e.tensors++
}

func (e *encoder) bytes() []byte {
	var b bytes.Buffer
	b.WriteString("GGUF")
	binary.Write(&b, binary.LittleEndian, uint32(3))
	binary.Write(&b, binary.LittleEndian, uint64(e.tensors))
	binary.Write(&b, binary.LittleEndian, uint64(e.nkv))
	b.Write(e.kv.Bytes())
	b.Write(e.infos.Bytes())
	for b.Len()%e.align != 0 {
		b.WriteByte(0)
	}
	b.Write(e.data.Bytes())
	return b.Bytes()
}

// f16 returns the bits of a float16 near v (test data only).
func f16(v float64) uint16 {
	if v == 0 {
		return 0
	}
	sign := uint16(0)
	if v < 0 {
		sign, v = 0x8000, -v
	}
	e := math.Floor(math.Log2(v))
	m := uint16(math.Round((v/math.Exp2(e) - 1) * 1024))
	if m == 1024 {
		m, e = 0, e+1
	}
	return sign | uint16(e+15)<<10 | m
}

// ggmlF16 is ggml's fp16 -> float32 (an independent conversion for the
// test: normal values only).
func ggmlF16(h uint16) float32 {
	e := int(h>>10) & 31
	m := float64(h & 1023)
	v := (1 + m/1024) * math.Exp2(float64(e-15))
	if h == 0 || h == 0x8000 {
		v = 0
	}
	if h&0x8000 != 0 {
		v = -v
	}
	return float32(v)
}

// TestRoundTrip writes a GGUF file with F32, F16, Q4_0 and Q8_0 tensors
// (blocks with positive, negative and zero scales, Q8_0 values at -128),
// reads it back and checks every converted tensor's Dequantize against
// ggml's dequantization computed here, bit for bit, and the metadata.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	e := &encoder{align: 32}
	e.meta("general.architecture", tString, "llama")
	e.meta("general.alignment", tUint32, uint32(32))
	e.meta("llama.block_count", tUint32, uint32(2))
	e.meta("some.float", tFloat32, float32(0.5))
	const K, N = 64, 3
	// Q4_0: N rows of K/32 blocks.
	var q4 []byte
	var want4 []float32
	for b := range N * K / 32 {
		d := f16([]float64{0.013, -0.021, 0}[b%3] * (1 + r.Float64()))
		blk := make([]byte, 18)
		binary.LittleEndian.PutUint16(blk, d)
		vals := make([]float32, 32)
		for j := range 16 {
			blk[2+j] = byte(r.IntN(256))
			vals[j] = float32(int(blk[2+j]&15)-8) * ggmlF16(d)
			vals[j+16] = float32(int(blk[2+j]>>4)-8) * ggmlF16(d)
		}
		q4 = append(q4, blk...)
		want4 = append(want4, vals...)
	}
	e.tensor("blk.0.attn_q.weight", []uint64{K, N}, Q4_0, q4)
	// Q8_0
	var q8 []byte
	var want8 []float32
	for b := range N * K / 32 {
		d := f16([]float64{0.5, -0.25, 0}[b%3] * (1 + r.Float64()))
		blk := make([]byte, 34)
		binary.LittleEndian.PutUint16(blk, d)
		for j := range 32 {
			v := int8(r.IntN(256) - 128)
			if j == 0 {
				v = -128
			}
			blk[2+j] = byte(v)
			want8 = append(want8, float32(v)*ggmlF16(d))
		}
		q8 = append(q8, blk...)
	}
	e.tensor("blk.0.ffn_up.weight", []uint64{K, N}, Q8_0, q8)
	// F16 and F32
	var h []byte
	var wantH []float32
	for range 10 {
		v := f16(r.NormFloat64())
		h = binary.LittleEndian.AppendUint16(h, v)
		wantH = append(wantH, ggmlF16(v))
	}
	e.tensor("norm.weight", []uint64{5, 2}, F16, h)
	var f []byte
	var wantF []float32
	for range 7 {
		v := float32(r.NormFloat64())
		f = binary.LittleEndian.AppendUint32(f, math.Float32bits(v))
		wantF = append(wantF, v)
	}
	e.tensor("output_norm.weight", []uint64{7}, F32, f)
	file := e.bytes()

	g, err := Read(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	if g.Version != 3 || len(g.Tensors) != 4 || g.Alignment != 32 {
		t.Fatalf("header: %+v", g)
	}
	if v, ok := g.Lookup("general.architecture"); !ok || v != "llama" {
		t.Fatalf("metadata: %v", g.Metadata)
	}
	if v, _ := g.Lookup("some.float"); v != float32(0.5) {
		t.Fatalf("float metadata %v", v)
	}
	for _, c := range []struct {
		name  string
		dt    qtensor.DType
		shape []int
		want  []float32
	}{
		{"blk.0.attn_q.weight", qtensor.Uint4, []int{N, K}, want4},
		{"blk.0.ffn_up.weight", qtensor.Int8, []int{N, K}, want8},
		{"norm.weight", qtensor.Float32, []int{2, 5}, wantH},
		{"output_norm.weight", qtensor.Float32, []int{7}, wantF},
	} {
		q, err := g.Tensor(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if q.DType != c.dt || len(q.Shape) != len(c.shape) || q.Shape[0] != c.shape[0] {
			t.Fatalf("%s: %v%v, want %v%v", c.name, q.DType, q.Shape, c.dt, c.shape)
		}
		var got []float32
		if q.DType == qtensor.Float32 {
			got = q.Float32s()
		} else {
			if q.Params.BlockSize != 32 || q.Params.Axis != len(q.Shape)-1 {
				t.Fatalf("%s: params %+v", c.name, q.Params)
			}
			if got, err = q.DequantizeFloat32(); err != nil {
				t.Fatal(err)
			}
		}
		for i, w := range c.want {
			if math.Float32bits(got[i]) != math.Float32bits(w) && !(got[i] == 0 && w == 0) {
				t.Fatalf("%s[%d] = %g, ggml %g", c.name, i, got[i], w)
			}
		}
	}
	if _, err := g.Tensor("nope"); err == nil {
		t.Fatal("missing tensor: no error")
	}
	// Every truncation is an error, never a panic or a huge allocation.
	for n := range len(file) {
		if g, err := Read(bytes.NewReader(file[:n]), int64(n)); err == nil {
			for _, ti := range g.Tensors {
				if _, err := g.Tensor(ti.Name); err == nil {
					t.Fatalf("truncated at %d: tensor %s read", n, ti.Name)
				}
			}
		} else if !errors.Is(err, ErrFormat) {
			t.Fatalf("truncated at %d: %v", n, err)
		}
	}
}

// FuzzRead: any bytes give a header or an error, and reading the tensors of
// a parsed header never panics.
func FuzzRead(f *testing.F) {
	e := &encoder{align: 32}
	e.meta("general.architecture", tString, "llama")
	e.tensor("w", []uint64{32, 1}, Q4_0, make([]byte, 18))
	e.tensor("x", []uint64{32}, Q8_0, make([]byte, 34))
	e.tensor("h", []uint64{2}, F16, make([]byte, 4))
	f.Add(e.bytes())
	f.Add([]byte("GGUF\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		for _, ti := range g.Tensors {
			g.Tensor(ti.Name)
		}
	})
}
