package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/qgpu/qgpu/qtensor"
)

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("gguf: malformed file")

// Type is a ggml tensor type.
type Type uint32

// The ggml types the reader names (others are listed but not converted).
const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q4_1 Type = 3
	Q5_0 Type = 6
	Q5_1 Type = 7
	Q8_0 Type = 8
	BF16 Type = 30
)

func (t Type) String() string {
	switch t {
	case F32:
		return "F32"
	case F16:
		return "F16"
	case Q4_0:
		return "Q4_0"
	case Q4_1:
		return "Q4_1"
	case Q5_0:
		return "Q5_0"
	case Q5_1:
		return "Q5_1"
	case Q8_0:
		return "Q8_0"
	case BF16:
		return "BF16"
	}
	return fmt.Sprintf("ggml type %d", uint32(t))
}

// layout returns the block size (elements) and block bytes of a type this
// package converts.
func (t Type) layout() (elems, bytes int, ok bool) {
	switch t {
	case F32:
		return 1, 4, true
	case F16, BF16:
		return 1, 2, true
	case Q4_0:
		return 32, 18, true
	case Q8_0:
		return 32, 34, true
	}
	return 0, 0, false
}

// Metadata value types.
const (
	tUint8, tInt8, tUint16, tInt16, tUint32, tInt32, tFloat32, tBool, tString, tArray, tUint64, tInt64, tFloat64 = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
)

// KV is one metadata entry. Value is a bool, an integer (uint8 ... int64
// as the file types it), float32, float64, string, or []any of those.
type KV struct {
	Key   string
	Value any
}

// TensorInfo describes one tensor of the file.
type TensorInfo struct {
	Name string
	// Dims are ggml's ne, innermost first.
	Dims   []uint64
	Type   Type
	Offset uint64 // from the start of the data section
}

// Shape returns the qgpu shape: Dims reversed.
func (ti TensorInfo) Shape() []int {
	s := make([]int, len(ti.Dims))
	for i, d := range ti.Dims {
		s[len(s)-1-i] = int(d)
	}
	return s
}

// File is a parsed GGUF file.
type File struct {
	Version   uint32
	Metadata  []KV
	Tensors   []TensorInfo
	Alignment int
	data      int64 // offset of the data section
	r         io.ReaderAt
	size      int64
	closer    io.Closer
}

// Limits of the header the reader accepts (beyond what the file's size
// allows anyway).
const (
	MaxTensors = 1 << 20
	MaxKVs     = 1 << 20
	MaxDims    = 4
	maxElems   = 1 << 40
)

// reader decodes little-endian values from r, never past size.
type reader struct {
	r    io.ReaderAt
	off  int64
	size int64
	err  error
}

func (d *reader) fail(format string, a ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s (at byte %d)", ErrFormat, fmt.Sprintf(format, a...), d.off)
	}
}

func (d *reader) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(d.size-d.off) {
		d.fail("%d bytes needed, %d left", n, d.size-d.off)
		return nil
	}
	b := make([]byte, n)
	if _, err := d.r.ReadAt(b, d.off); err != nil {
		d.fail("read: %v", err)
		return nil
	}
	d.off += int64(n)
	return b
}

func (d *reader) u8() uint8 {
	if b := d.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *reader) u16() uint16 {
	if b := d.bytes(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (d *reader) u32() uint32 {
	if b := d.bytes(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *reader) u64() uint64 {
	if b := d.bytes(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (d *reader) str() string { return string(d.bytes(d.u64())) }

// value reads a metadata value of type t (depth: array nesting).
func (d *reader) value(t uint32, depth int) any {
	switch t {
	case tUint8:
		return d.u8()
	case tInt8:
		return int8(d.u8())
	case tUint16:
		return d.u16()
	case tInt16:
		return int16(d.u16())
	case tUint32:
		return d.u32()
	case tInt32:
		return int32(d.u32())
	case tFloat32:
		return math.Float32frombits(d.u32())
	case tBool:
		v := d.u8()
		if v > 1 {
			d.fail("bool %d", v)
		}
		return v == 1
	case tString:
		return d.str()
	case tUint64:
		return d.u64()
	case tInt64:
		return int64(d.u64())
	case tFloat64:
		return math.Float64frombits(d.u64())
	case tArray:
		if depth > 2 {
			d.fail("arrays nested too deep")
			return nil
		}
		et, n := d.u32(), d.u64()
		// Every element takes at least one byte of the file.
		if d.err == nil && n > uint64(d.size-d.off) {
			d.fail("array of %d elements in %d bytes", n, d.size-d.off)
		}
		if d.err != nil {
			return nil
		}
		out := make([]any, 0, min(n, 1<<16))
		for range n {
			v := d.value(et, depth+1)
			if d.err != nil {
				return nil
			}
			out = append(out, v)
		}
		return out
	}
	d.fail("unknown value type %d", t)
	return nil
}

// Read parses the header of a GGUF file of size bytes read through r.
func Read(r io.ReaderAt, size int64) (*File, error) {
	d := &reader{r: r, size: size}
	if m := d.u32(); d.err == nil && m != 0x46554747 {
		return nil, fmt.Errorf("%w: not a GGUF file (magic %#x)", ErrFormat, m)
	}
	f := &File{r: r, size: size, Alignment: 32}
	f.Version = d.u32()
	if d.err == nil && f.Version != 2 && f.Version != 3 {
		return nil, fmt.Errorf("%w: GGUF version %d (2 and 3 are read)", ErrFormat, f.Version)
	}
	nt, nkv := d.u64(), d.u64()
	if d.err == nil && (nt > MaxTensors || nkv > MaxKVs || nt+nkv > uint64(size)) {
		d.fail("%d tensors and %d metadata entries", nt, nkv)
	}
	for i := uint64(0); i < nkv && d.err == nil; i++ {
		k := d.str()
		v := d.value(d.u32(), 0)
		f.Metadata = append(f.Metadata, KV{Key: k, Value: v})
		if k == "general.alignment" && d.err == nil {
			a, ok := v.(uint32)
			if !ok || a == 0 || a&(a-1) != 0 || a > 1<<16 {
				d.fail("general.alignment %v", v)
			}
			f.Alignment = int(a)
		}
	}
	seen := map[string]bool{}
	for i := uint64(0); i < nt && d.err == nil; i++ {
		ti := TensorInfo{Name: d.str()}
		nd := d.u32()
		if d.err == nil && (nd == 0 || nd > MaxDims) {
			d.fail("tensor %q has %d dimensions", ti.Name, nd)
		}
		if d.err != nil {
			break
		}
		elems := uint64(1)
		for range nd {
			v := d.u64()
			if d.err == nil && (v == 0 || v > maxElems || elems > maxElems/v) {
				d.fail("tensor %q: dimension %d", ti.Name, v)
			}
			elems *= max(v, 1)
			ti.Dims = append(ti.Dims, v)
		}
		ti.Type, ti.Offset = Type(d.u32()), d.u64()
		if d.err == nil && seen[ti.Name] {
			d.fail("tensor %q twice", ti.Name)
		}
		seen[ti.Name] = true
		f.Tensors = append(f.Tensors, ti)
	}
	if d.err != nil {
		return nil, d.err
	}
	a := int64(f.Alignment)
	f.data = (d.off + a - 1) / a * a
	avail := uint64(max(size-f.data, 0))
	for _, ti := range f.Tensors {
		if ti.Offset%uint64(f.Alignment) != 0 {
			return nil, fmt.Errorf("%w: tensor %q at offset %d, not a multiple of the alignment %d", ErrFormat, ti.Name, ti.Offset, f.Alignment)
		}
		if n, ok := ti.bytes(); ok && (ti.Offset > avail || n > avail-ti.Offset) {
			return nil, fmt.Errorf("%w: tensor %q (%d bytes at %d) runs past the end of the file", ErrFormat, ti.Name, n, ti.Offset)
		}
	}
	return f, nil
}

// bytes returns the data size of a tensor of a type with a known layout.
func (ti TensorInfo) bytes() (uint64, bool) {
	be, bb, ok := ti.Type.layout()
	if !ok {
		return 0, false
	}
	n := uint64(1)
	for _, d := range ti.Dims {
		n *= d
	}
	if be > 1 && ti.Dims[0]%uint64(be) != 0 {
		return 0, false
	}
	return n / uint64(be) * uint64(bb), true
}

// Open opens and parses a GGUF file; Close it when done.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	f, err := Read(fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.closer = fh
	return f, nil
}

// Close closes the file Open opened (nothing for Read). Safe twice.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	c := f.closer
	f.closer = nil
	return c.Close()
}

// Lookup returns the metadata value of key.
func (f *File) Lookup(key string) (any, bool) {
	for _, kv := range f.Metadata {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// Info returns the description of the tensor name.
func (f *File) Info(name string) (TensorInfo, bool) {
	for _, ti := range f.Tensors {
		if ti.Name == name {
			return ti, true
		}
	}
	return TensorInfo{}, false
}

// Raw returns the stored bytes of the tensor name.
func (f *File) Raw(name string) (TensorInfo, []byte, error) {
	ti, ok := f.Info(name)
	if !ok {
		return ti, nil, fmt.Errorf("gguf: no tensor %q", name)
	}
	n, ok := ti.bytes()
	if !ok {
		return ti, nil, fmt.Errorf("gguf: tensor %q: %w: type %v (F32, F16, BF16, Q4_0 and Q8_0 are)", name, qtensor.ErrUnsupported, ti.Type)
	}
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, f.data+int64(ti.Offset)); err != nil {
		return ti, nil, fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	return ti, b, nil
}

// Tensor reads the tensor name and converts it to a qgpu tensor (see the
// package documentation): float32 for F32, F16 and BF16, uint4 (Q4_0) or
// int8 (Q8_0) quantized per block of 32 along the last axis.
func (f *File) Tensor(name string) (*qtensor.Tensor, error) {
	ti, b, err := f.Raw(name)
	if err != nil {
		return nil, err
	}
	t, err := Convert(ti, b)
	if err != nil {
		return nil, fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	t.Name = name
	return t, nil
}

// Convert converts the stored bytes b of a tensor described by ti (see
// Tensor).
func Convert(ti TensorInfo, b []byte) (*qtensor.Tensor, error) {
	n, ok := ti.bytes()
	if !ok || uint64(len(b)) != n {
		return nil, fmt.Errorf("%w: %v data of %d bytes for dims %v", ErrFormat, ti.Type, len(b), ti.Dims)
	}
	shape := ti.Shape()
	le := binary.LittleEndian
	switch ti.Type {
	case F32, F16, BF16:
		x := make([]float32, len(b)/map[Type]int{F32: 4, F16: 2, BF16: 2}[ti.Type])
		for i := range x {
			switch ti.Type {
			case F32:
				x[i] = math.Float32frombits(le.Uint32(b[4*i:]))
			case F16:
				x[i] = qtensor.F16ToFloat32(le.Uint16(b[2*i:]))
			default:
				x[i] = math.Float32frombits(uint32(le.Uint16(b[2*i:])) << 16)
			}
		}
		return qtensor.FromFloat32(shape, x)
	}
	blocks := len(b) / map[Type]int{Q4_0: 18, Q8_0: 34}[ti.Type]
	p := qtensor.Params{Granularity: qtensor.PerBlock, Axis: len(shape) - 1, BlockSize: 32,
		Scales: make([]float32, blocks), ZeroPoints: make([]int32, blocks)}
	q := make([]int32, blocks*32)
	for i := range blocks {
		d := qtensor.F16ToFloat32(le.Uint16(b[i*map[Type]int{Q4_0: 18, Q8_0: 34}[ti.Type]:]))
		if math.IsNaN(float64(d)) || math.IsInf(float64(d), 0) {
			return nil, fmt.Errorf("%w: block %d has scale %g", ErrFormat, i, d)
		}
		v := q[32*i : 32*i+32]
		if ti.Type == Q4_0 {
			qs := b[18*i+2 : 18*i+18]
			for j := range 16 {
				v[j], v[j+16] = int32(qs[j]&15), int32(qs[j]>>4)
			}
			switch {
			case d > 0:
				p.Scales[i], p.ZeroPoints[i] = d, 8
			case d < 0:
				p.Scales[i], p.ZeroPoints[i] = -d, 7
				for j := range v {
					v[j] = 15 - v[j]
				}
			default: // every value is 0
				p.Scales[i], p.ZeroPoints[i] = 1, 8
				for j := range v {
					v[j] = 8
				}
			}
			continue
		}
		qs := b[34*i+2 : 34*i+34]
		for j := range 32 {
			v[j] = int32(int8(qs[j]))
		}
		switch {
		case d > 0:
			p.Scales[i] = d
		case d < 0:
			p.Scales[i], p.ZeroPoints[i] = -d, -1
			for j := range v {
				v[j] = -v[j] - 1
			}
		default:
			p.Scales[i] = 1
			clear(v)
		}
	}
	dt := qtensor.Uint4
	if ti.Type == Q8_0 {
		dt = qtensor.Int8
	}
	t, err := qtensor.New(dt, shape, p)
	if err != nil {
		return nil, err
	}
	for i, v := range q {
		t.Set(i, v)
	}
	return t, nil
}
