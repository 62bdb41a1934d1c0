package qtensor

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"unicode/utf8"
)

// Reading .safetensors files (https://github.com/huggingface/safetensors):
// an 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
// ..., "__metadata__": {"key": "value"}}, then the data buffer; offsets are
// relative to the start of the data buffer.

// MaxSafetensorsHeader is the largest header a reader accepts (the limit
// of the reference implementation).
const MaxSafetensorsHeader = 100_000_000

// safetensorsSizes is the element size of every dtype of the format.
var safetensorsSizes = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// SafetensorsInfo describes one tensor of a .safetensors file.
type SafetensorsInfo struct {
	Name  string
	DType string // the file's dtype name: "F32", "F16", "BF16", "I8", ...
	Shape []int
	Begin int64 // offset of the first byte in the data buffer
	End   int64 // offset one past the last byte
}

// Safetensors is a .safetensors file whose header has been read and
// checked. Tensors are read on demand.
type Safetensors struct {
	r        io.ReaderAt
	closer   io.Closer
	dataOff  int64
	entries  map[string]SafetensorsInfo
	names    []string
	metadata map[string]string
}

func safeErr(format string, a ...any) error {
	return fmt.Errorf("qtensor: safetensors: %w: "+format, append([]any{ErrFormat}, a...)...)
}

type safeEntry struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

// NewSafetensors reads and checks the header of a .safetensors file of the
// given size read through r: header length at most MaxSafetensorsHeader
// and within the file, valid UTF-8 JSON, known dtypes, rank at most
// MaxRank, non-negative dims, offsets inside the data buffer with
// end - begin equal to the element count times the dtype size.
// Overlapping tensors are accepted.
func NewSafetensors(r io.ReaderAt, size int64) (*Safetensors, error) {
	if size < 8 {
		return nil, safeErr("file of %d bytes is shorter than the 8-byte header length", size)
	}
	var lb [8]byte
	if _, err := r.ReadAt(lb[:], 0); err != nil {
		return nil, fmt.Errorf("qtensor: safetensors: %w", err)
	}
	n := binary.LittleEndian.Uint64(lb[:])
	if n > MaxSafetensorsHeader {
		return nil, safeErr("header length %d exceeds %d", n, MaxSafetensorsHeader)
	}
	if n > uint64(size-8) {
		return nil, safeErr("header length %d exceeds the %d bytes after it", n, size-8)
	}
	if n < 2 {
		return nil, safeErr("header of %d bytes is not a JSON object", n)
	}
	hdr := make([]byte, n)
	if _, err := r.ReadAt(hdr, 8); err != nil {
		return nil, fmt.Errorf("qtensor: safetensors: reading header: %w", err)
	}
	if !utf8.Valid(hdr) {
		return nil, safeErr("header is not valid UTF-8")
	}
	if len(bytes.TrimLeft(hdr, " \t\r\n")) == 0 || bytes.TrimLeft(hdr, " \t\r\n")[0] != '{' {
		return nil, safeErr("header is not a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, safeErr("header JSON: %v", err)
	}
	s := &Safetensors{r: r, dataOff: 8 + int64(n), entries: make(map[string]SafetensorsInfo, len(raw))}
	dataLen := size - s.dataOff
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &s.metadata); err != nil {
				return nil, safeErr("__metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		var e safeEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, safeErr("tensor %q: %v", name, err)
		}
		if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
			return nil, safeErr("tensor %q lacks dtype, shape or data_offsets", name)
		}
		es, ok := safetensorsSizes[*e.DType]
		if !ok {
			return nil, safeErr("tensor %q has unknown dtype %q", name, *e.DType)
		}
		if len(*e.Shape) > MaxRank {
			return nil, safeErr("%w: tensor %q has rank %d > %d", ErrShape, name, len(*e.Shape), MaxRank)
		}
		shape := make([]int, len(*e.Shape))
		for i, d := range *e.Shape {
			if d < 0 || d > int64(maxInt) {
				return nil, safeErr("%w: tensor %q dimension %d is %d", ErrShape, name, i, d)
			}
			shape[i] = int(d)
		}
		cnt, err := NumElements(shape)
		if err != nil {
			return nil, safeErr("tensor %q: %w", name, err)
		}
		if cnt > maxInt/es {
			return nil, safeErr("%w: tensor %q of shape %v is too large", ErrShape, name, shape)
		}
		off := *e.DataOffsets
		if len(off) != 2 || off[0] < 0 || off[0] > off[1] || off[1] > dataLen {
			return nil, safeErr("tensor %q: data_offsets %v outside the %d-byte data buffer", name, off, dataLen)
		}
		if off[1]-off[0] != int64(cnt*es) {
			return nil, safeErr("%w: tensor %q: %s %v needs %d bytes, data_offsets span %d", ErrShape, name, *e.DType, shape, cnt*es, off[1]-off[0])
		}
		s.entries[name] = SafetensorsInfo{Name: name, DType: *e.DType, Shape: shape, Begin: off[0], End: off[1]}
		s.names = append(s.names, name)
	}
	sort.Strings(s.names)
	return s, nil
}

// ParseSafetensors checks the header of a .safetensors file held in b (see
// NewSafetensors). The returned value reads tensors from b.
func ParseSafetensors(b []byte) (*Safetensors, error) {
	return NewSafetensors(bytes.NewReader(b), int64(len(b)))
}

// OpenSafetensors opens the .safetensors file at path and checks its
// header (see NewSafetensors). Close it when done.
func OpenSafetensors(path string) (*Safetensors, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("qtensor: safetensors: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("qtensor: safetensors: %w", err)
	}
	s, err := NewSafetensors(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.closer = f
	return s, nil
}

// Close closes the file opened by OpenSafetensors (a no-op otherwise).
func (s *Safetensors) Close() error {
	if s.closer == nil {
		return nil
	}
	c := s.closer
	s.closer = nil
	return c.Close()
}

// Names returns the tensor names in sorted order.
func (s *Safetensors) Names() []string { return slices.Clone(s.names) }

// Info returns the description of the named tensor.
func (s *Safetensors) Info(name string) (SafetensorsInfo, bool) {
	e, ok := s.entries[name]
	e.Shape = slices.Clone(e.Shape)
	return e, ok
}

// Metadata returns a copy of the "__metadata__" map (nil when absent).
func (s *Safetensors) Metadata() map[string]string {
	if s.metadata == nil {
		return nil
	}
	m := make(map[string]string, len(s.metadata))
	for k, v := range s.metadata {
		m[k] = v
	}
	return m
}

// Float32 reads the named tensor as a Float32 Tensor (Name set to name).
// F32 is copied, F16 and BF16 are converted exactly (every F16 and BF16
// value, subnormals, infinities and NaN payloads included, is a float32).
// Other dtypes are an error.
func (s *Safetensors) Float32(name string) (*Tensor, error) {
	e, ok := s.entries[name]
	if !ok {
		return nil, fmt.Errorf("qtensor: safetensors: no tensor %q", name)
	}
	if e.DType != "F32" && e.DType != "F16" && e.DType != "BF16" {
		return nil, fmt.Errorf("qtensor: safetensors: tensor %q has dtype %s (want F32, F16 or BF16)", name, e.DType)
	}
	buf := make([]byte, e.End-e.Begin)
	if _, err := s.r.ReadAt(buf, s.dataOff+e.Begin); err != nil && len(buf) > 0 {
		return nil, fmt.Errorf("qtensor: safetensors: reading %q: %w", name, err)
	}
	t := &Tensor{Name: name, DType: Float32, Shape: slices.Clone(e.Shape)}
	switch e.DType {
	case "F32":
		t.Data = buf
	case "F16", "BF16":
		t.Data = make([]byte, 2*len(buf))
		for i := 0; i < len(buf)/2; i++ {
			h := binary.LittleEndian.Uint16(buf[2*i:])
			var v uint32
			if e.DType == "F16" {
				v = F16Bits(h)
			} else {
				v = uint32(h) << 16
			}
			binary.LittleEndian.PutUint32(t.Data[4*i:], v)
		}
	}
	return t, nil
}

// F16Bits returns the float32 bit pattern of the IEEE half-precision value
// with bits h. The conversion is exact: subnormals become normal float32s,
// infinities stay infinite and a NaN keeps its sign and payload (shifted
// into the top of the float32 mantissa), so a signaling NaN stays
// signaling, as NumPy converts it (PyTorch and x86 F16C set the quiet bit).
func F16Bits(h uint16) uint32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return sign | 0x7f800000 | man<<13
	case exp != 0:
		return sign | (exp+127-15)<<23 | man<<13
	case man == 0:
		return sign
	}
	// Subnormal: man * 2^-24. Normalise so the leading 1 is bit 10.
	e := uint32(127 - 14)
	for man&0x400 == 0 {
		man <<= 1
		e--
	}
	return sign | e<<23 | (man&0x3ff)<<13
}

// F16ToFloat32 converts an IEEE half-precision value to float32 exactly
// (see F16Bits).
func F16ToFloat32(h uint16) float32 { return math.Float32frombits(F16Bits(h)) }
