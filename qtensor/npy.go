package qtensor

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// NumPy .npy support (format versions 1.0, 2.0 and 3.0); see ReadNPY and
// WriteNPY.

const npyMagic = "\x93NUMPY"

// maxNPYHeader bounds the header length a reader accepts (NumPy itself
// refuses headers over 10000 bytes by default).
const maxNPYHeader = 1 << 20

func npyErr(format string, a ...any) error {
	return fmt.Errorf("qtensor: npy: %w: "+format, append([]any{ErrFormat}, a...)...)
}

// npyHeader is the parsed header dictionary.
type npyHeader struct {
	descr   string
	fortran bool
	shape   []int
}

// parseNPYHeader parses the Python dict literal of an .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }, without
// evaluating anything: exactly the three keys, string, bool and tuple of
// non-negative ints, an optional trailing comma, surrounding whitespace.
func parseNPYHeader(s string) (npyHeader, error) {
	var h npyHeader
	p := &npyParser{s: s}
	p.ws()
	if !p.eat('{') {
		return h, npyErr("header does not start with '{': %.40q", s)
	}
	seen := map[string]bool{}
	for {
		p.ws()
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return h, err
		}
		if seen[key] {
			return h, npyErr("header repeats key %q", key)
		}
		seen[key] = true
		p.ws()
		if !p.eat(':') {
			return h, npyErr("header: want ':' after key %q", key)
		}
		p.ws()
		switch key {
		case "descr":
			if p.peek() == '[' {
				return h, npyErr("structured dtypes are not supported")
			}
			if h.descr, err = p.str(); err != nil {
				return h, err
			}
		case "fortran_order":
			switch {
			case strings.HasPrefix(p.s[p.i:], "True"):
				h.fortran, p.i = true, p.i+4
			case strings.HasPrefix(p.s[p.i:], "False"):
				h.fortran, p.i = false, p.i+5
			default:
				return h, npyErr("header: fortran_order is not True or False")
			}
		case "shape":
			if h.shape, err = p.tuple(); err != nil {
				return h, err
			}
		default:
			return h, npyErr("header has unknown key %q", key)
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		p.ws()
		if !p.eat('}') {
			return h, npyErr("header: want ',' or '}' after the value of %q", key)
		}
		break
	}
	p.ws()
	if p.i != len(p.s) {
		return h, npyErr("header has %d unexpected bytes after the dict", len(p.s)-p.i)
	}
	if !seen["descr"] || !seen["fortran_order"] || !seen["shape"] {
		return h, npyErr("header lacks one of 'descr', 'fortran_order', 'shape'")
	}
	return h, nil
}

type npyParser struct {
	s string
	i int
}

func (p *npyParser) ws() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *npyParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *npyParser) eat(c byte) bool {
	if p.peek() == c && p.i < len(p.s) {
		p.i++
		return true
	}
	return false
}

// str parses a quoted string without escapes.
func (p *npyParser) str() (string, error) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", npyErr("header: want a quoted string at byte %d", p.i)
	}
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", npyErr("header: unterminated string")
	}
	v := p.s[p.i+1 : p.i+1+end]
	if strings.ContainsAny(v, "\\\n\r") {
		return "", npyErr("header: unsupported escape or newline in string %q", v)
	}
	p.i += end + 2
	return v, nil
}

// tuple parses (), (n,), (n, m), (n, m,) ... of non-negative decimal ints
// (a Python 2 'L' suffix is allowed). (n) is an int in Python, not a tuple.
func (p *npyParser) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, npyErr("header: shape is not a tuple")
	}
	dims := []int{}
	comma := false
	for {
		p.ws()
		if p.eat(')') {
			break
		}
		if len(dims) > 0 && !comma {
			return nil, npyErr("header: want ',' between shape entries")
		}
		j := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		digits := p.s[j:p.i]
		if digits == "" || (len(digits) > 1 && digits[0] == '0') {
			return nil, npyErr("header: bad shape entry at byte %d", j)
		}
		p.eat('L')
		v, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || v > int64(maxInt) {
			return nil, npyErr("%w: shape entry %s too large", ErrShape, digits)
		}
		if len(dims) == MaxRank {
			return nil, npyErr("%w: rank exceeds %d", ErrShape, MaxRank)
		}
		dims = append(dims, int(v))
		p.ws()
		comma = p.eat(',')
	}
	if len(dims) == 1 && !comma {
		return nil, npyErr("header: shape (%d) is not a tuple (want (%d,))", dims[0], dims[0])
	}
	return dims, nil
}

// npyDType maps a descr to an element type, its size and byte order.
func npyDType(descr string) (d DType, bigEndian bool, err error) {
	if len(descr) == 3 {
		order, kind := descr[0], descr[1:]
		switch kind {
		case "i1", "u1":
			if order == '|' || order == '<' || order == '>' || order == '=' {
				if kind == "i1" {
					return Int8, false, nil
				}
				return Uint8, false, nil
			}
		case "f4", "i4":
			if order == '<' || order == '>' {
				d = Float32
				if kind == "i4" {
					d = Int32
				}
				return d, order == '>', nil
			}
		}
	}
	return Invalid, false, npyErr("unsupported dtype %q (want '<f4', '>f4', '<i4', '>i4', '|i1' or '|u1')", descr)
}

// readNPYHeader reads the magic, version and header dict through d.
func readNPYHeader(d *decoder) (npyHeader, error) {
	var h npyHeader
	b, err := d.raw(8, "npy magic and version")
	if err != nil {
		return h, npyWrap(err)
	}
	if string(b[:6]) != npyMagic {
		return h, npyErr("bad magic %q (not an .npy file)", b[:6])
	}
	major, minor := b[6], b[7]
	var hlen uint64
	switch {
	case major == 1 && minor == 0:
		b, err = d.raw(2, "npy header length")
		if err != nil {
			return h, npyWrap(err)
		}
		hlen = uint64(binary.LittleEndian.Uint16(b))
	case (major == 2 || major == 3) && minor == 0:
		b, err = d.raw(4, "npy header length")
		if err != nil {
			return h, npyWrap(err)
		}
		hlen = uint64(binary.LittleEndian.Uint32(b))
	default:
		return h, npyErr("unsupported format version %d.%d (want 1.0, 2.0 or 3.0)", major, minor)
	}
	if hlen > maxNPYHeader {
		return h, npyErr("header length %d exceeds %d", hlen, maxNPYHeader)
	}
	hb, err := d.bulk(hlen, "npy header")
	if err != nil {
		return h, npyWrap(err)
	}
	return parseNPYHeader(string(hb))
}

// readNPYData reads the n elements of size bytes of an array of header h
// through d, in row-major order.
func readNPYData(d *decoder, h npyHeader, n, size int) ([]byte, error) {
	data, err := d.bulk(uint64(n)*uint64(size), "npy data")
	if err != nil {
		return nil, npyWrap(err)
	}
	if h.fortran && len(h.shape) > 1 && n > 0 {
		data = fortranToC(data, h.shape, size)
	}
	return data, nil
}

// readNPY reads one array through d.
func readNPY(d *decoder) (*Tensor, error) {
	h, err := readNPYHeader(d)
	if err != nil {
		return nil, err
	}
	dt, big, err := npyDType(h.descr)
	if err != nil {
		return nil, err
	}
	n, err := NumElements(h.shape)
	if err != nil {
		return nil, npyErr("%w", err)
	}
	nb, ok := dt.StorageBytes(n)
	if !ok {
		return nil, npyErr("%w: %v array of shape %v is too large", ErrShape, dt, h.shape)
	}
	size := dt.Bits() / 8
	data, err := readNPYData(d, h, nb/size, size)
	if err != nil {
		return nil, err
	}
	if big && size == 4 {
		for i := 0; i+4 <= len(data); i += 4 {
			data[i], data[i+1], data[i+2], data[i+3] = data[i+3], data[i+2], data[i+1], data[i]
		}
	}
	t := &Tensor{DType: dt, Shape: h.shape, Data: data}
	if dt.Quantized() {
		t.Params = TensorParams(1, 0)
	}
	return t, nil
}

// npyWrap rewords the generic decoder's errors for .npy files.
func npyWrap(err error) error {
	return fmt.Errorf("qtensor: npy: %w", err)
}

// fortranToC returns the row-major copy of column-major data of the given
// shape with elements of size bytes.
func fortranToC(src []byte, shape []int, size int) []byte {
	dst := make([]byte, len(src))
	r := len(shape)
	fstride := make([]int, r)
	s := 1
	for j := 0; j < r; j++ {
		fstride[j] = s
		s *= shape[j]
	}
	idx := make([]int, r)
	off := 0
	for i := 0; i < len(src); i += size {
		copy(dst[i:i+size], src[off*size:off*size+size])
		for j := r - 1; j >= 0; j-- {
			idx[j]++
			off += fstride[j]
			if idx[j] < shape[j] {
				break
			}
			off -= fstride[j] * shape[j]
			idx[j] = 0
		}
	}
	return dst
}

// ReadNPY reads one NumPy .npy array (format version 1.0, 2.0 or 3.0)
// from r.
//
//   - Accepted dtypes: float32 ('<f4', '>f4'), int32 ('<i4', '>i4'), int8
//     and uint8 ('|i1', '|u1', any byte-order mark). Big-endian data is
//     converted; Fortran-ordered arrays are transposed to row-major order.
//     Anything else (float64, int64, float16, bool, structured, ...) is an
//     error.
//   - int8 and uint8 arrays come back as the quantized Int8 and Uint8 types
//     with per-tensor parameters scale 1 and zero point 0: an .npy file has
//     no quantization parameters, so set Params afterwards.
//   - The header is parsed as the Python dict literal NumPy writes, without
//     evaluating anything, and must be at most 1 MiB.
//
// It reads exactly the array and nothing after it. Sizes are checked
// before allocating: against r's remaining length where that is known
// (bytes.Reader, strings.Reader, bytes.Buffer, regular files), else by
// reading in bounded pieces. Errors about bad input wrap ErrFormat.
func ReadNPY(r io.Reader) (*Tensor, error) {
	d := decoder{r: r, avail: knownRemaining(r), nocrc: true}
	return readNPY(&d)
}

// UnmarshalNPY reads an .npy array from b, which must hold exactly one
// array (see ReadNPY).
func UnmarshalNPY(b []byte) (*Tensor, error) {
	d := decoder{buf: b, avail: int64(len(b)), nocrc: true}
	t, err := readNPY(&d)
	if err != nil {
		return nil, err
	}
	if d.off != len(b) {
		return nil, npyErr("%d trailing bytes after the array", len(b)-d.off)
	}
	return t, nil
}

// npyDescr returns the descr WriteNPY uses for d.
func npyDescr(d DType) (string, error) {
	switch d {
	case Float32:
		return "<f4", nil
	case Int32:
		return "<i4", nil
	case Int8, Int4:
		return "|i1", nil
	case Uint8, Uint4:
		return "|u1", nil
	}
	return "", fmt.Errorf("qtensor: npy: %w: cannot write %v", ErrParams, d)
}

// npyHeaderBytes returns magic, version, length and the padded header dict
// for an array of the given descr and shape, as numpy.save writes them.
func npyHeaderBytes(descr string, shape []int) []byte {
	var sb strings.Builder
	sb.WriteString("{'descr': '")
	sb.WriteString(descr)
	sb.WriteString("', 'fortran_order': False, 'shape': (")
	for i, d := range shape {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		sb.WriteByte(',')
	}
	sb.WriteString("), }")
	dict := sb.String()
	// Pad with spaces and a final newline so that the data starts at a
	// multiple of 64 bytes.
	pad64 := func(n int) int { return (n + 63) / 64 * 64 }
	pre := 10 // magic, version 1.0, 2-byte header length
	total := pad64(pre + len(dict) + 1)
	if total-pre > 1<<16-1 {
		pre = 12 // version 2.0: 4-byte header length
		total = pad64(pre + len(dict) + 1)
	}
	hlen := total - pre
	b := make([]byte, 0, total)
	b = append(b, npyMagic...)
	if pre == 10 {
		b = append(b, 1, 0)
		b = binary.LittleEndian.AppendUint16(b, uint16(hlen))
	} else {
		b = append(b, 2, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(hlen))
	}
	b = append(b, dict...)
	for len(b) < total-1 {
		b = append(b, ' ')
	}
	return append(b, '\n')
}

// WriteNPY writes t to w as a NumPy .npy array: version 1.0 (2.0 when the
// header needs it), C order, little-endian, byte for byte what numpy.save
// writes for the same array. float32, int32, int8 and uint8 keep their
// type; int4 and uint4 are unpacked to int8 ('|i1') and uint8 ('|u1').
// Quantization parameters and the name are not stored. t must pass
// Validate and have rank at most MaxRank.
func WriteNPY(w io.Writer, t *Tensor) error {
	if t == nil {
		return fmt.Errorf("qtensor: npy: nil tensor")
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("qtensor: npy: %w", err)
	}
	if len(t.Shape) > MaxRank {
		return fmt.Errorf("qtensor: npy: %w: rank %d exceeds %d", ErrShape, len(t.Shape), MaxRank)
	}
	descr, err := npyDescr(t.DType)
	if err != nil {
		return err
	}
	if _, err := w.Write(npyHeaderBytes(descr, t.Shape)); err != nil {
		return fmt.Errorf("qtensor: npy: %w", err)
	}
	data := t.Data
	if t.DType == Int4 || t.DType == Uint4 {
		data = make([]byte, t.Len())
		for i := range data {
			data[i] = byte(t.At(i))
		}
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("qtensor: npy: %w", err)
	}
	return nil
}

// SaveNPY writes t to path as an .npy file, atomically (WriteFileAtomic).
func SaveNPY(path string, t *Tensor) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return WriteNPY(w, t) })
}

// LoadNPY reads an .npy file holding exactly one array (see ReadNPY); the
// file's size bounds every allocation and trailing bytes are an error.
func LoadNPY(path string) (*Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("qtensor: npy: %w", err)
	}
	defer f.Close()
	size := knownRemaining(f)
	br := bufio.NewReaderSize(f, 1<<16)
	d := decoder{r: br, avail: size, nocrc: true}
	t, err := readNPY(&d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		if err != nil {
			return nil, fmt.Errorf("qtensor: npy: %s: %w", path, err)
		}
		return nil, fmt.Errorf("%s: %w", path, npyErr("trailing bytes after the array"))
	}
	return t, nil
}
