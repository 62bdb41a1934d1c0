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
	"strconv"
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

// MaxSafetensorsTensors bounds the tensors of one .safetensors file, and
// separately the entries of its "__metadata__" map. With it, the header
// limit, the rank limit and a budget for unknown fields, all checked as
// the header is decoded, a header costs memory about its size plus a few
// hundred bytes per tensor, and a bounded number of JSON tokens.
const MaxSafetensorsTensors = 1 << 16

// Unknown fields of tensor entries are skipped: at most maxSkipTokens
// JSON tokens over the whole header, nested at most maxSkipDepth deep.
const (
	maxSkipTokens = 4096
	maxSkipDepth  = 8
)

// NewSafetensors reads and checks the header of a .safetensors file of the
// given size read through r: header length at most MaxSafetensorsHeader
// and within the file, valid UTF-8 JSON, at most MaxSafetensorsTensors
// tensors (and metadata entries), no name twice, known dtypes, rank at
// most MaxRank, non-negative dims, offsets inside the data buffer with
// end - begin equal to the element count times the dtype size, no two
// tensors sharing a byte. The limits are checked while the JSON is
// decoded, so an oversized shape or entry count is refused before it costs
// memory.
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
	s := &Safetensors{r: r, dataOff: 8 + int64(n), entries: map[string]SafetensorsInfo{}}
	h := &safeHeader{d: json.NewDecoder(bytes.NewReader(hdr)), dataLen: size - s.dataOff}
	h.d.UseNumber()
	if err := h.parse(s); err != nil {
		return nil, err
	}
	sort.Strings(s.names)
	// No two tensors may share a byte.
	byBegin := make([]SafetensorsInfo, 0, len(s.entries))
	for _, e := range s.entries {
		if e.End > e.Begin {
			byBegin = append(byBegin, e)
		}
	}
	sort.Slice(byBegin, func(i, j int) bool {
		a, b := byBegin[i], byBegin[j]
		return a.Begin < b.Begin || a.Begin == b.Begin && a.Name < b.Name
	})
	for i := 1; i < len(byBegin); i++ {
		if a, b := byBegin[i-1], byBegin[i]; b.Begin < a.End {
			return nil, safeErr("tensors %q [%d, %d) and %q [%d, %d) overlap", a.Name, a.Begin, a.End, b.Name, b.Begin, b.End)
		}
	}
	return s, nil
}

// safeHeader decodes a header token by token.
type safeHeader struct {
	d       *json.Decoder
	dataLen int64
	skipped int // tokens of unknown fields so far
}

func (h *safeHeader) token(what string) (json.Token, error) {
	t, err := h.d.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, safeErr("header JSON: %s: %v", what, err)
	}
	return t, nil
}

// delim reads the delimiter want ('{', '[', ...) or fails with msg.
func (h *safeHeader) delim(want json.Delim, msg string) error {
	t, err := h.token(msg)
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return safeErr("%s", msg)
	}
	return nil
}

// key reads an object key.
func (h *safeHeader) key() (string, error) {
	t, err := h.token("object key")
	if err != nil {
		return "", err
	}
	k, ok := t.(string)
	if !ok {
		return "", safeErr("header JSON: object key %v is not a string", t)
	}
	return k, nil
}

func (h *safeHeader) parse(s *Safetensors) error {
	if err := h.delim('{', "header is not a JSON object"); err != nil {
		return err
	}
	seenMeta := false
	for h.d.More() {
		name, err := h.key()
		if err != nil {
			return err
		}
		if name == "__metadata__" {
			if seenMeta {
				return safeErr("__metadata__ given twice")
			}
			seenMeta = true
			if s.metadata, err = h.metadata(); err != nil {
				return err
			}
			continue
		}
		if _, dup := s.entries[name]; dup {
			return safeErr("tensor %q given twice", name)
		}
		if len(s.entries) >= MaxSafetensorsTensors {
			return safeErr("more than %d tensors", MaxSafetensorsTensors)
		}
		e, err := h.entry(name)
		if err != nil {
			return err
		}
		s.entries[name] = e
		s.names = append(s.names, name)
	}
	if err := h.delim('}', "header JSON: the object does not end"); err != nil {
		return err
	}
	if t, err := h.d.Token(); err != io.EOF {
		return safeErr("header JSON: %v after the object (%v)", t, err)
	}
	return nil
}

// metadata reads the "__metadata__" object: strings to strings.
func (h *safeHeader) metadata() (map[string]string, error) {
	const msg = "__metadata__ must map strings to strings"
	if err := h.delim('{', msg); err != nil {
		return nil, err
	}
	m := map[string]string{}
	for h.d.More() {
		k, err := h.key()
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, safeErr("__metadata__ key %q given twice", k)
		}
		if len(m) >= MaxSafetensorsTensors {
			return nil, safeErr("__metadata__ has more than %d entries", MaxSafetensorsTensors)
		}
		t, err := h.token(msg)
		if err != nil {
			return nil, err
		}
		v, ok := t.(string)
		if !ok {
			return nil, safeErr("%s: key %q", msg, k)
		}
		m[k] = v
	}
	return m, h.delim('}', msg)
}

// ints reads an array of at most max integers; tooMany is the error for a
// longer one.
func (h *safeHeader) ints(name, field string, max int, tooMany func() error) ([]int64, error) {
	if err := h.delim('[', fmt.Sprintf("tensor %q: %s is not an array", name, field)); err != nil {
		return nil, err
	}
	var v []int64
	for h.d.More() {
		if len(v) == max {
			return nil, tooMany()
		}
		t, err := h.token(field)
		if err != nil {
			return nil, err
		}
		num, ok := t.(json.Number)
		if !ok {
			return nil, safeErr("tensor %q: %s holds %v, not an integer", name, field, t)
		}
		x, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil {
			return nil, safeErr("tensor %q: %s value %s is not a 64-bit integer", name, field, num)
		}
		v = append(v, x)
	}
	return v, h.delim(']', field)
}

// skip skips the JSON value of an unknown field (see maxSkipTokens).
func (h *safeHeader) skip(name, field string) error {
	depth := 0
	for {
		if h.skipped++; h.skipped > maxSkipTokens {
			return safeErr("tensor %q: unknown field %q: unknown fields hold more than %d JSON tokens", name, field, maxSkipTokens)
		}
		t, err := h.token(field)
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			if depth++; depth > maxSkipDepth {
				return safeErr("tensor %q: unknown field %q is nested deeper than %d", name, field, maxSkipDepth)
			}
			continue
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// entry reads one tensor's object and checks it against the data buffer.
func (h *safeHeader) entry(name string) (SafetensorsInfo, error) {
	var info SafetensorsInfo
	if err := h.delim('{', fmt.Sprintf("tensor %q is not a JSON object", name)); err != nil {
		return info, err
	}
	var dtype *string
	var dims, off []int64
	seen := map[string]bool{}
	for h.d.More() {
		k, err := h.key()
		if err != nil {
			return info, err
		}
		if seen[k] && (k == "dtype" || k == "shape" || k == "data_offsets") {
			return info, safeErr("tensor %q: %s given twice", name, k)
		}
		seen[k] = true
		switch k {
		case "dtype":
			t, err := h.token("dtype")
			if err != nil {
				return info, err
			}
			d, ok := t.(string)
			if !ok {
				return info, safeErr("tensor %q: dtype %v is not a string", name, t)
			}
			dtype = &d
		case "shape":
			dims, err = h.ints(name, "shape", MaxRank, func() error {
				return safeErr("%w: tensor %q has rank > %d", ErrShape, name, MaxRank)
			})
			if err != nil {
				return info, err
			}
			if dims == nil {
				dims = []int64{}
			}
		case "data_offsets":
			off, err = h.ints(name, "data_offsets", 2, func() error {
				return safeErr("tensor %q: data_offsets has more than 2 values, outside the [begin, end] form", name)
			})
			if err != nil {
				return info, err
			}
			if off == nil {
				off = []int64{}
			}
		default:
			if err := h.skip(name, k); err != nil {
				return info, err
			}
		}
	}
	if err := h.delim('}', fmt.Sprintf("tensor %q: the object does not end", name)); err != nil {
		return info, err
	}
	if dtype == nil || dims == nil || off == nil {
		return info, safeErr("tensor %q lacks dtype, shape or data_offsets", name)
	}
	es, ok := safetensorsSizes[*dtype]
	if !ok {
		return info, safeErr("tensor %q has unknown dtype %q", name, *dtype)
	}
	shape := make([]int, len(dims))
	for i, d := range dims {
		if d < 0 || d > int64(maxInt) {
			return info, safeErr("%w: tensor %q dimension %d is %d", ErrShape, name, i, d)
		}
		shape[i] = int(d)
	}
	cnt, err := NumElements(shape)
	if err != nil {
		return info, safeErr("tensor %q: %w", name, err)
	}
	if cnt > maxInt/es {
		return info, safeErr("%w: tensor %q of shape %v is too large", ErrShape, name, shape)
	}
	if len(off) != 2 || off[0] < 0 || off[0] > off[1] || off[1] > h.dataLen {
		return info, safeErr("tensor %q: data_offsets %v outside the %d-byte data buffer", name, off, h.dataLen)
	}
	if off[1]-off[0] != int64(cnt*es) {
		return info, safeErr("%w: tensor %q: %s %v needs %d bytes, data_offsets span %d", ErrShape, name, *dtype, shape, cnt*es, off[1]-off[0])
	}
	return SafetensorsInfo{Name: name, DType: *dtype, Shape: shape, Begin: off[0], End: off[1]}, nil
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
