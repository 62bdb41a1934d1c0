package qtensor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"slices"
	"unicode/utf8"
)

// qgpu's own tensor file format, version 1. All integers are little-endian.
//
//	offset  size  field
//	0       8     magic "QGPUTNSR"
//	8       2     format version (uint16) = 1
//	10      1     layout: 1 = packed (Tensor), 2 = Caffe2 bit planes (Caffe2Tensor)
//	11      1     rank r (0..MaxRank)
//	12      2     name length L (uint16), then L bytes of UTF-8
//	        8*r   dims (int64 each, non-negative)
//	layout 1 (packed):
//	        1     element type (DType value)
//	        1     granularity (Granularity value; 0 for float32/int32)
//	        2     reserved, zero
//	        8     axis (int64)
//	        8     block size (int64)
//	        8     pair count n (uint64; 0 for float32/int32)
//	        4*n   scales (float32 bits)
//	        4*n   zero points (int32)
//	layout 2 (Caffe2 bit planes, with QTensorProto's optional fields):
//	        1     precision (1..8)
//	        1     signed (0 or 1)
//	        1     flags: bit 0 data_type is set, bit 1 is_multiparam; others zero
//	        1     reserved, zero
//	        4     alignment (uint32)
//	        8     scale (float64 bits)
//	        8     bias (float64 bits)
//	        4     data_type (int32; zero unless flag bit 0)
//	        4     axis (int32, multi-group quantization)
//	        8     m, the count of multi-group scales (uint64)
//	        8     k, the count of multi-group biases (uint64)
//	        8*m   scales (float64 bits)
//	        8*k   biases (float64 bits)
//	then:
//	        8     data length (uint64): StorageBytes for layout 1, NBytes for layout 2
//	        ...   data
//	        4     CRC-32C (Castagnoli) of every byte above
//
// Readers reject any other version, layout, element type or granularity,
// non-zero reserved bytes, and every impossible header value, before
// allocating anything sized by the header.

// ErrFormat is wrapped by every error about a file that is corrupt,
// truncated or of an unsupported kind or version.
var ErrFormat = errors.New("corrupt or unsupported tensor file")

// Format constants.
const (
	// FormatMagic opens every file in qgpu's format.
	FormatMagic = "QGPUTNSR"
	// FormatVersion is the version this package writes and the only one it reads.
	FormatVersion = 1
	// MaxRank is the largest rank the file formats accept.
	MaxRank = 32
	// MaxNameLen is the longest tensor name (in bytes) the format stores.
	MaxNameLen = 1<<16 - 1
)

const (
	layoutPacked = 1
	layoutCaffe2 = 2

	caffe2HasDataType = 1 << 0
	caffe2MultiParam  = 1 << 1
)

// maxCaffe2Elems bounds the element count of a decoded Caffe2 tensor.
const maxCaffe2Elems = 1 << 40

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// chunk is the piece size of the fused copy+checksum loops and of
// bounded reads from a stream of unknown length.
const chunk = 256 << 10

func formatErr(format string, a ...any) error {
	return fmt.Errorf("qtensor: decode: %w: "+format, append([]any{ErrFormat}, a...)...)
}

// ---------------------------------------------------------------- encoding

func appendCommonHeader(b []byte, layout byte, name string, dims []int) ([]byte, error) {
	if len(dims) > MaxRank {
		return nil, fmt.Errorf("qtensor: encode: %w: rank %d exceeds %d", ErrShape, len(dims), MaxRank)
	}
	if len(name) > MaxNameLen {
		return nil, fmt.Errorf("qtensor: encode: name of %d bytes exceeds %d", len(name), MaxNameLen)
	}
	if !utf8.ValidString(name) {
		return nil, fmt.Errorf("qtensor: encode: name %q is not valid UTF-8", name)
	}
	b = append(b, FormatMagic...)
	b = binary.LittleEndian.AppendUint16(b, FormatVersion)
	b = append(b, layout, byte(len(dims)))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(name)))
	b = append(b, name...)
	for _, d := range dims {
		b = binary.LittleEndian.AppendUint64(b, uint64(int64(d)))
	}
	return b, nil
}

// tensorHeader returns the header of t (everything before the data) after
// validating t.
func tensorHeader(t *Tensor) ([]byte, error) {
	if t == nil {
		return nil, errors.New("qtensor: encode: nil tensor")
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("qtensor: encode: %w", err)
	}
	p := t.Params
	np := len(p.Scales)
	b := make([]byte, 0, 64+len(t.Name)+8*len(t.Shape)+8*np)
	b, err := appendCommonHeader(b, layoutPacked, t.Name, t.Shape)
	if err != nil {
		return nil, err
	}
	if !t.DType.Quantized() {
		p = Params{}
		np = 0
	} else if p.Axis < math.MinInt32 || p.Axis > math.MaxInt32 || p.BlockSize < 0 {
		// Validate ignores these fields for the granularities that do not
		// use them; the reader accepts only these ranges.
		return nil, fmt.Errorf("qtensor: encode: %w: axis %d must fit in int32 and block size %d must not be negative", ErrParams, p.Axis, p.BlockSize)
	}
	b = append(b, byte(t.DType), byte(p.Granularity), 0, 0)
	b = binary.LittleEndian.AppendUint64(b, uint64(int64(p.Axis)))
	b = binary.LittleEndian.AppendUint64(b, uint64(int64(p.BlockSize)))
	b = binary.LittleEndian.AppendUint64(b, uint64(np))
	for _, s := range p.Scales[:np] {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(s))
	}
	for _, z := range p.ZeroPoints[:np] {
		b = binary.LittleEndian.AppendUint32(b, uint32(z))
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(len(t.Data)))
	return b, nil
}

func caffe2Header(t *Caffe2Tensor) ([]byte, error) {
	if t == nil {
		return nil, errors.New("qtensor: encode: nil Caffe2 tensor")
	}
	dims := t.Dims()
	b := make([]byte, 0, 64+len(t.Name)+8*len(dims))
	b, err := appendCommonHeader(b, layoutCaffe2, t.Name, dims)
	if err != nil {
		return nil, err
	}
	want, err := caffe2NBytes(dims, t.Precision(), t.IsSigned(), t.Alignment())
	if err != nil {
		return nil, fmt.Errorf("qtensor: encode: %w", err)
	}
	if uint64(len(t.Raw())) != want {
		return nil, fmt.Errorf("qtensor: encode: %w: caffe2 tensor needs %d data bytes, has %d", ErrShape, want, len(t.Raw()))
	}
	var sgn, flags byte
	if t.IsSigned() {
		sgn = 1
	}
	dt, hasDT := t.DataType()
	if hasDT {
		flags |= caffe2HasDataType
	} else {
		dt = 0
	}
	if t.IsMultiParam() {
		flags |= caffe2MultiParam
	}
	scales, biases := t.Scales(), t.Biases()
	b = append(b, byte(t.Precision()), sgn, flags, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(t.Alignment()))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(t.Scale()))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(t.Bias()))
	b = binary.LittleEndian.AppendUint32(b, uint32(dt))
	b = binary.LittleEndian.AppendUint32(b, uint32(t.Axis()))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(scales)))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(biases)))
	for _, v := range scales {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	for _, v := range biases {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(len(t.Raw())))
	return b, nil
}

// caffe2NBytes validates Caffe2 header values and returns the size of the
// bit-plane buffer: alignment * ceil(size/alignment) * (precision+signed) / 8
// (the layout of Caffe2Tensor.NBytes, computed here before any allocation).
func caffe2NBytes(dims []int, precision int, signed bool, alignment int) (uint64, error) {
	if precision < 1 || precision > 8 {
		return 0, fmt.Errorf("%w: caffe2 precision %d outside 1..8", ErrParams, precision)
	}
	if alignment <= 0 || alignment%8 != 0 || alignment > 1<<20 {
		return 0, fmt.Errorf("%w: caffe2 alignment %d must be a positive multiple of 8 (at most 2^20)", ErrParams, alignment)
	}
	n, err := NumElements(dims)
	if err != nil {
		return 0, err
	}
	if n > maxCaffe2Elems {
		return 0, fmt.Errorf("%w: caffe2 tensor of %d elements is too large", ErrShape, n)
	}
	planes := uint64(precision)
	if signed {
		planes++
	}
	a := uint64(alignment)
	aligned := a * ((uint64(n) + a - 1) / a)
	return aligned * planes / 8, nil
}

// writeChecked writes hdr and data to w and then the CRC-32C of both.
func writeChecked(w io.Writer, hdr, data []byte) error {
	crc := crc32.Update(0, castagnoli, hdr)
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("qtensor: encode: %w", err)
	}
	for len(data) > 0 {
		n := min(len(data), chunk)
		if _, err := w.Write(data[:n]); err != nil {
			return fmt.Errorf("qtensor: encode: %w", err)
		}
		crc = crc32.Update(crc, castagnoli, data[:n])
		data = data[n:]
	}
	var tail [4]byte
	binary.LittleEndian.PutUint32(tail[:], crc)
	if _, err := w.Write(tail[:]); err != nil {
		return fmt.Errorf("qtensor: encode: %w", err)
	}
	return nil
}

// appendChecked returns hdr + data + CRC-32C in one new buffer.
func appendChecked(hdr, data []byte) []byte {
	out := make([]byte, len(hdr)+len(data)+4)
	copy(out, hdr)
	crc := crc32.Update(0, castagnoli, hdr)
	crc = copyCRC(out[len(hdr):], data, crc)
	binary.LittleEndian.PutUint32(out[len(hdr)+len(data):], crc)
	return out
}

// copyCRC copies src into dst (at least as long) and returns crc updated
// with the bytes. It works in cache-sized pieces, so the checksum reads
// each piece from cache right after the copy wrote it instead of reading
// the whole buffer from memory a second time.
func copyCRC(dst, src []byte, crc uint32) uint32 {
	for i := 0; i < len(src); i += chunk {
		j := min(i+chunk, len(src))
		copy(dst[i:j], src[i:j])
		crc = crc32.Update(crc, castagnoli, dst[i:j])
	}
	return crc
}

// Encode writes t to w in qgpu's format (see FormatMagic). t must pass
// Validate, have rank at most MaxRank and a UTF-8 name of at most
// MaxNameLen bytes.
func Encode(w io.Writer, t *Tensor) error {
	hdr, err := tensorHeader(t)
	if err != nil {
		return err
	}
	return writeChecked(w, hdr, t.Data)
}

// Marshal returns t in qgpu's format (see Encode).
func Marshal(t *Tensor) ([]byte, error) {
	hdr, err := tensorHeader(t)
	if err != nil {
		return nil, err
	}
	return appendChecked(hdr, t.Data), nil
}

// EncodeCaffe2 writes a Caffe2 bit-plane tensor to w in qgpu's format.
func EncodeCaffe2(w io.Writer, t *Caffe2Tensor) error {
	hdr, err := caffe2Header(t)
	if err != nil {
		return err
	}
	return writeChecked(w, hdr, t.Raw())
}

// MarshalCaffe2 returns a Caffe2 bit-plane tensor in qgpu's format.
func MarshalCaffe2(t *Caffe2Tensor) ([]byte, error) {
	hdr, err := caffe2Header(t)
	if err != nil {
		return nil, err
	}
	return appendChecked(hdr, t.Raw()), nil
}

// ---------------------------------------------------------------- decoding

// decoder reads from either a byte slice (r == nil) or a stream, keeping
// the running CRC of everything consumed.
type decoder struct {
	r     io.Reader
	buf   []byte // slice mode: the input
	off   int    // slice mode: position in buf
	avail int64  // bytes known to remain, -1 if unknown
	crc   uint32
	nocrc bool // formats without a checksum skip the running CRC
	tmp   [64]byte
}

func (d *decoder) sum(b []byte) {
	if !d.nocrc {
		d.crc = crc32.Update(d.crc, castagnoli, b)
	}
}

func (d *decoder) truncated(what string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF || err == nil {
		return formatErr("truncated reading %s", what)
	}
	return fmt.Errorf("qtensor: decode: reading %s: %w", what, err)
}

// fixed returns the next n (<= 64) bytes, valid until the next call, and
// adds them to the checksum.
func (d *decoder) fixed(n int, what string) ([]byte, error) {
	b, err := d.raw(n, what)
	if err != nil {
		return nil, err
	}
	d.sum(b)
	return b, nil
}

// raw is fixed without the checksum update.
func (d *decoder) raw(n int, what string) ([]byte, error) {
	if d.r == nil {
		if len(d.buf)-d.off < n {
			return nil, d.truncated(what, nil)
		}
		b := d.buf[d.off : d.off+n]
		d.off += n
		return b, nil
	}
	b := d.tmp[:n]
	if _, err := io.ReadFull(d.r, b); err != nil {
		return nil, d.truncated(what, err)
	}
	if d.avail >= 0 {
		d.avail -= int64(n)
	}
	return b, nil
}

func (d *decoder) u16(what string) (uint16, error) {
	b, err := d.fixed(2, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

func (d *decoder) u64(what string) (uint64, error) {
	b, err := d.fixed(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// bulk returns a new slice holding the next n bytes, checksummed. It never
// allocates much more than the bytes that are actually there: a size
// larger than the known remaining length is rejected up front, and from a
// stream of unknown length the buffer grows as data arrives.
func (d *decoder) bulk(n uint64, what string) ([]byte, error) {
	if d.r == nil {
		if uint64(len(d.buf)-d.off) < n {
			return nil, formatErr("%s declares %d bytes but only %d remain", what, n, len(d.buf)-d.off)
		}
		out := make([]byte, n)
		if d.nocrc {
			copy(out, d.buf[d.off:])
		} else {
			d.crc = copyCRC(out, d.buf[d.off:d.off+int(n)], d.crc)
		}
		d.off += int(n)
		return out, nil
	}
	if d.avail >= 0 && uint64(d.avail) < n {
		return nil, formatErr("%s declares %d bytes but only %d remain", what, n, d.avail)
	}
	if n > uint64(maxInt) {
		return nil, formatErr("%s of %d bytes is too large", what, n)
	}
	// Known length: allocate once. Unknown: start at one chunk and at most
	// double, so the buffer never exceeds twice what actually arrived.
	size := int(n)
	if d.avail < 0 {
		size = min(size, chunk)
	}
	out := make([]byte, size)
	for got := 0; got < int(n); {
		if got == len(out) {
			out = slices.Grow(out, min(len(out), int(n)-len(out)))
			out = out[:min(cap(out), int(n))]
		}
		end := min(got+chunk, len(out))
		if _, err := io.ReadFull(d.r, out[got:end]); err != nil {
			return nil, d.truncated(what, err)
		}
		d.sum(out[got:end])
		got = end
	}
	if d.avail >= 0 {
		d.avail -= int64(n)
	}
	return out[:n], nil
}

// readAny parses one record. Exactly one of the results is non-nil on success.
func (d *decoder) readAny() (*Tensor, *Caffe2Tensor, error) {
	magic, err := d.fixed(8, "magic")
	if err != nil {
		return nil, nil, err
	}
	if string(magic) != FormatMagic {
		return nil, nil, formatErr("bad magic %q (want %q)", magic, FormatMagic)
	}
	ver, err := d.u16("version")
	if err != nil {
		return nil, nil, err
	}
	if ver != FormatVersion {
		return nil, nil, formatErr("unsupported format version %d (this reader knows %d)", ver, FormatVersion)
	}
	b, err := d.fixed(4, "layout, rank and name length")
	if err != nil {
		return nil, nil, err
	}
	layout, rank, nameLen := b[0], int(b[1]), int(binary.LittleEndian.Uint16(b[2:]))
	if layout != layoutPacked && layout != layoutCaffe2 {
		return nil, nil, formatErr("unknown layout %d (want 1 packed or 2 caffe2 bit planes)", layout)
	}
	if rank > MaxRank {
		return nil, nil, formatErr("%w: rank %d exceeds %d", ErrShape, rank, MaxRank)
	}
	nameB, err := d.bulk(uint64(nameLen), "name")
	if err != nil {
		return nil, nil, err
	}
	if !utf8.Valid(nameB) {
		return nil, nil, formatErr("name is not valid UTF-8")
	}
	name := string(nameB)
	dims := make([]int, rank)
	for i := range dims {
		v, err := d.u64("dims")
		if err != nil {
			return nil, nil, err
		}
		if int64(v) < 0 || v > uint64(maxInt) {
			return nil, nil, formatErr("%w: dimension %d is negative (%d)", ErrShape, i, int64(v))
		}
		dims[i] = int(v)
	}
	nel, err := NumElements(dims)
	if err != nil {
		return nil, nil, formatErr("%w", err)
	}
	if layout == layoutCaffe2 {
		c, err := d.readCaffe2(name, dims)
		return nil, c, err
	}
	t, err := d.readPacked(name, dims, nel)
	return t, nil, err
}

func (d *decoder) readPacked(name string, dims []int, nel int) (*Tensor, error) {
	b, err := d.fixed(4, "element type and granularity")
	if err != nil {
		return nil, err
	}
	dt, gran := DType(b[0]), Granularity(b[1])
	if b[2] != 0 || b[3] != 0 {
		return nil, formatErr("reserved bytes %#x %#x are not zero", b[2], b[3])
	}
	if !dt.Valid() {
		return nil, formatErr("%w: unknown element type %d", ErrParams, uint8(dt))
	}
	axis, err := d.u64("axis")
	if err != nil {
		return nil, err
	}
	block, err := d.u64("block size")
	if err != nil {
		return nil, err
	}
	np, err := d.u64("pair count")
	if err != nil {
		return nil, err
	}
	p := Params{Granularity: gran}
	if dt.Quantized() {
		if int64(axis) < math.MinInt32 || int64(axis) > math.MaxInt32 || int64(block) < 0 || block > uint64(maxInt) {
			return nil, formatErr("%w: axis %d or block size %d out of range", ErrParams, int64(axis), int64(block))
		}
		p.Axis, p.BlockSize = int(int64(axis)), int(block)
		want, err := p.NumPairs(dims)
		if err != nil {
			return nil, formatErr("%w", err)
		}
		if np != uint64(want) || np > uint64(maxInt)/8 {
			return nil, formatErr("%w: %v params for shape %v need %d pairs, header says %d", ErrParams, gran, dims, want, np)
		}
	} else if gran != PerTensor || axis != 0 || block != 0 || np != 0 {
		return nil, formatErr("%w: %v tensor must have no quantization parameters", ErrParams, dt)
	}
	if np > 0 {
		sb, err := d.bulk(4*np, "scales")
		if err != nil {
			return nil, err
		}
		zb, err := d.bulk(4*np, "zero points")
		if err != nil {
			return nil, err
		}
		p.Scales = make([]float32, np)
		p.ZeroPoints = make([]int32, np)
		for i := range p.Scales {
			p.Scales[i] = math.Float32frombits(binary.LittleEndian.Uint32(sb[4*i:]))
			p.ZeroPoints[i] = int32(binary.LittleEndian.Uint32(zb[4*i:]))
		}
		if err := p.Validate(dt, dims); err != nil {
			return nil, formatErr("%w", err)
		}
	}
	nb, ok := dt.StorageBytes(nel)
	if !ok {
		return nil, formatErr("%w: %v tensor of shape %v is too large", ErrShape, dt, dims)
	}
	dl, err := d.u64("data length")
	if err != nil {
		return nil, err
	}
	if dl != uint64(nb) {
		return nil, formatErr("%w: %v tensor of shape %v needs %d data bytes, header says %d", ErrShape, dt, dims, nb, dl)
	}
	data, err := d.bulk(dl, "data")
	if err != nil {
		return nil, err
	}
	if err := d.checkCRC(); err != nil {
		return nil, err
	}
	return &Tensor{Name: name, DType: dt, Shape: dims, Params: p, Data: data}, nil
}

func (d *decoder) readCaffe2(name string, dims []int) (*Caffe2Tensor, error) {
	b, err := d.fixed(8, "caffe2 precision, sign and alignment")
	if err != nil {
		return nil, err
	}
	prec, sgn, flags, align := int(b[0]), b[1], b[2], binary.LittleEndian.Uint32(b[4:])
	if b[3] != 0 {
		return nil, formatErr("reserved byte %#x is not zero", b[3])
	}
	if flags&^(caffe2HasDataType|caffe2MultiParam) != 0 {
		return nil, formatErr("unknown caffe2 flags %#x", flags)
	}
	if sgn > 1 {
		return nil, formatErr("%w: caffe2 signed flag %d is not 0 or 1", ErrParams, sgn)
	}
	if align > 1<<20 {
		return nil, formatErr("%w: caffe2 alignment %d too large", ErrParams, align)
	}
	sbits, err := d.u64("caffe2 scale")
	if err != nil {
		return nil, err
	}
	bbits, err := d.u64("caffe2 bias")
	if err != nil {
		return nil, err
	}
	scale, bias := math.Float64frombits(sbits), math.Float64frombits(bbits)
	if math.IsNaN(scale) || math.IsInf(scale, 0) || math.IsNaN(bias) || math.IsInf(bias, 0) {
		return nil, formatErr("%w: caffe2 scale %g and bias %g must be finite", ErrParams, scale, bias)
	}
	b, err = d.fixed(24, "caffe2 data type, axis and multi-group counts")
	if err != nil {
		return nil, err
	}
	dataType, axis := int32(binary.LittleEndian.Uint32(b)), int32(binary.LittleEndian.Uint32(b[4:]))
	nScales, nBiases := binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint64(b[16:])
	if flags&caffe2HasDataType == 0 && dataType != 0 {
		return nil, formatErr("caffe2 data type %d present but flagged unset", dataType)
	}
	want, err := caffe2NBytes(dims, prec, sgn == 1, int(align))
	if err != nil {
		return nil, formatErr("%w", err)
	}
	multi := make([][]float64, 2)
	for i, cnt := range []uint64{nScales, nBiases} {
		what := [...]string{"caffe2 multi-group scales", "caffe2 multi-group biases"}[i]
		if cnt > uint64(maxInt)/8 {
			return nil, formatErr("%s: count %d too large", what, cnt)
		}
		raw, err := d.bulk(8*cnt, what)
		if err != nil {
			return nil, err
		}
		if cnt > 0 {
			multi[i] = make([]float64, cnt)
		}
		for j := range multi[i] {
			v := math.Float64frombits(binary.LittleEndian.Uint64(raw[8*j:]))
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, formatErr("%w: %s[%d] = %g is not finite", ErrParams, what, j, v)
			}
			multi[i][j] = v
		}
	}
	dl, err := d.u64("data length")
	if err != nil {
		return nil, err
	}
	if dl != want {
		return nil, formatErr("%w: caffe2 tensor needs %d data bytes, header says %d", ErrShape, want, dl)
	}
	data, err := d.bulk(dl, "data")
	if err != nil {
		return nil, err
	}
	if err := d.checkCRC(); err != nil {
		return nil, err
	}
	c, err := NewCaffe2FromRaw(name, dims, prec, sgn == 1, int(align), scale, bias, data)
	if err == nil {
		err = c.SetMultiParam(flags&caffe2MultiParam != 0, axis, multi[0], multi[1])
	}
	if err != nil {
		return nil, formatErr("%w", err)
	}
	if flags&caffe2HasDataType != 0 {
		c.SetDataType(dataType)
	}
	return c, nil
}

func (d *decoder) checkCRC() error {
	b, err := d.raw(4, "checksum")
	if err != nil {
		return err
	}
	if got := binary.LittleEndian.Uint32(b); got != d.crc {
		return formatErr("checksum mismatch: file says %#08x, content has %#08x", got, d.crc)
	}
	return nil
}

// knownRemaining returns how many bytes r still holds when that is cheap to
// know (bytes.Reader, strings.Reader, bytes.Buffer, regular files), else -1.
func knownRemaining(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Len() int }:
		return int64(v.Len())
	case *os.File:
		fi, err := v.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return -1
		}
		pos, err := v.Seek(0, io.SeekCurrent)
		if err != nil || pos > fi.Size() {
			return -1
		}
		return fi.Size() - pos
	}
	return -1
}

func decodeStream(r io.Reader, avail int64) (*Tensor, *Caffe2Tensor, error) {
	d := decoder{r: r, avail: avail}
	return d.readAny()
}

// DecodeAny reads one record in qgpu's format from r and returns either a
// packed Tensor or a Caffe2Tensor (exactly one is non-nil when err is nil).
// It reads exactly the record and nothing after it, so records may be
// concatenated in one stream; use Unmarshal or Load to also reject
// trailing bytes.
//
// Before allocating anything sized by the header it checks the header
// values and, where r's remaining length is known (bytes.Reader,
// strings.Reader, bytes.Buffer, regular files), that the declared sizes
// fit in it; from other streams it reads in bounded pieces, so a short
// stream that declares a huge size fails without a huge allocation.
// Errors about corrupt input wrap ErrFormat (and ErrShape or ErrParams
// where they apply).
func DecodeAny(r io.Reader) (*Tensor, *Caffe2Tensor, error) {
	return decodeStream(r, knownRemaining(r))
}

// Decode reads one packed Tensor from r (see DecodeAny); a record holding
// a Caffe2 bit-plane tensor is an error.
func Decode(r io.Reader) (*Tensor, error) {
	t, c, err := DecodeAny(r)
	return onlyPacked(t, c, err)
}

// DecodeCaffe2 reads one Caffe2 bit-plane tensor from r (see DecodeAny); a
// record holding a packed Tensor is an error.
func DecodeCaffe2(r io.Reader) (*Caffe2Tensor, error) {
	t, c, err := DecodeAny(r)
	return onlyCaffe2(t, c, err)
}

func onlyPacked(t *Tensor, c *Caffe2Tensor, err error) (*Tensor, error) {
	if err != nil {
		return nil, err
	}
	if c != nil {
		return nil, errors.New("qtensor: decode: the record holds a Caffe2 bit-plane tensor (use DecodeAny or DecodeCaffe2)")
	}
	return t, nil
}

func onlyCaffe2(t *Tensor, c *Caffe2Tensor, err error) (*Caffe2Tensor, error) {
	if err != nil {
		return nil, err
	}
	if t != nil {
		return nil, errors.New("qtensor: decode: the record holds a packed tensor (use DecodeAny or Decode)")
	}
	return c, nil
}

// UnmarshalAny decodes exactly one record in qgpu's format from b; bytes
// after the record are an error. See DecodeAny.
func UnmarshalAny(b []byte) (*Tensor, *Caffe2Tensor, error) {
	d := decoder{buf: b, avail: int64(len(b))}
	t, c, err := d.readAny()
	if err != nil {
		return nil, nil, err
	}
	if d.off != len(b) {
		return nil, nil, formatErr("%d trailing bytes after the record", len(b)-d.off)
	}
	return t, c, nil
}

// Unmarshal decodes a packed Tensor from b, which must hold exactly one
// record (see UnmarshalAny).
func Unmarshal(b []byte) (*Tensor, error) {
	return onlyPacked(UnmarshalAny(b))
}

// UnmarshalCaffe2 decodes a Caffe2 bit-plane tensor from b, which must
// hold exactly one record (see UnmarshalAny).
func UnmarshalCaffe2(b []byte) (*Caffe2Tensor, error) {
	return onlyCaffe2(UnmarshalAny(b))
}
