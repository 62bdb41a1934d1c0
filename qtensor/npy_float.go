package qtensor

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// ReadNPYFloat32 reads one NumPy .npy array of floating-point values from
// r and returns it as a Float32 tensor, with the NumPy type it held
// ("float16", "float32" or "float64"). float16 converts exactly (F16Bits);
// float64 is rounded to the nearest float32, ties to even, as
// numpy.ndarray.astype(numpy.float32) does (values beyond the float32
// range become ±Inf, as in NumPy). Both byte orders and Fortran order are
// accepted. An array of any other type is an error naming its type and
// wrapping ErrFormat. Sizes are checked as in ReadNPY.
func ReadNPYFloat32(r io.Reader) (t *Tensor, from string, err error) {
	d := decoder{r: r, avail: knownRemaining(r), nocrc: true}
	return readNPYFloat32(&d)
}

// LoadNPYFloat32 reads an .npy file of float16, float32 or float64 values
// holding exactly one array as a Float32 tensor (see ReadNPYFloat32).
func LoadNPYFloat32(path string) (t *Tensor, from string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("qtensor: npy: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	d := decoder{r: br, avail: knownRemaining(f), nocrc: true}
	t, from, err = readNPYFloat32(&d)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		if err != nil {
			return nil, "", fmt.Errorf("qtensor: npy: %s: %w", path, err)
		}
		return nil, "", fmt.Errorf("%s: %w", path, npyErr("trailing bytes after the array"))
	}
	return t, from, nil
}

// npyTypeNames names the NumPy types of the descr kinds, for messages.
var npyTypeNames = map[string]string{
	"f2": "float16", "f4": "float32", "f8": "float64", "f16": "float128",
	"i1": "int8", "u1": "uint8", "i2": "int16", "u2": "uint16", "i4": "int32",
	"u4": "uint32", "i8": "int64", "u8": "uint64", "b1": "bool", "c8": "complex64", "c16": "complex128",
}

func readNPYFloat32(d *decoder) (*Tensor, string, error) {
	h, err := readNPYHeader(d)
	if err != nil {
		return nil, "", err
	}
	var size int
	var big bool
	kind := ""
	if len(h.descr) >= 3 {
		kind = h.descr[1:]
		big = h.descr[0] == '>'
	}
	switch kind {
	case "f2":
		size = 2
	case "f4":
		size = 4
	case "f8":
		size = 8
	default:
		name := npyTypeNames[kind]
		if name == "" {
			name = fmt.Sprintf("dtype %q", h.descr)
		}
		return nil, "", npyErr("holds %s values, not floating point (want float16, float32 or float64)", name)
	}
	if o := h.descr[0]; o != '<' && o != '>' {
		// numpy.save always names the byte order of a multi-byte type;
		// '=' and '|' would depend on the reading host (ReadNPY agrees).
		return nil, "", npyErr("unsupported dtype %q (want an explicit byte order, '<' or '>')", h.descr)
	}
	n, err := NumElements(h.shape)
	if err != nil {
		return nil, "", npyErr("%w", err)
	}
	if _, ok := Float32.StorageBytes(n); !ok || uint64(n) > math.MaxInt/8 {
		return nil, "", npyErr("%w: array of shape %v is too large", ErrShape, h.shape)
	}
	raw, err := readNPYData(d, h, n, size)
	if err != nil {
		return nil, "", err
	}
	var order binary.ByteOrder = binary.LittleEndian
	if big {
		order = binary.BigEndian
	}
	out := raw
	if size != 4 || big {
		out = make([]byte, 4*n)
		for i := range n {
			var bits uint32
			switch size {
			case 2:
				bits = F16Bits(order.Uint16(raw[2*i:]))
			case 4:
				bits = order.Uint32(raw[4*i:])
			case 8:
				bits = math.Float32bits(float32(math.Float64frombits(order.Uint64(raw[8*i:]))))
			}
			binary.LittleEndian.PutUint32(out[4*i:], bits)
		}
	}
	return &Tensor{DType: Float32, Shape: h.shape, Data: out}, npyTypeNames[kind], nil
}
