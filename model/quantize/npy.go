package quantize

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/qtensor"
)

// NPYInput names the .npy files that feed one graph input, in order.
type NPYInput struct {
	Name  string
	Files []string
}

// NPYBatches streams batches from float32 .npy files (NumPy format 1.0 to
// 3.0, little-endian '<f4', C order, samples on axis 0): file k of every
// input is read in lockstep, batch samples at a time (the last batch of a
// file may be shorter; a batch never spans two files). Only one batch is
// in memory at a time, so a calibration set of any size needs the memory
// of one batch. Every input must have the same number of files, and files
// read together the same number of samples. Errors (unreadable or
// malformed files) end the iteration and wrap qtensor.ErrFormat for a
// malformed file.
func NPYBatches(inputs []NPYInput, batch int) iter.Seq2[Batch, error] {
	return func(yield func(Batch, error) bool) {
		fail := func(err error) { yield(nil, err) }
		if batch < 1 {
			fail(fmt.Errorf("%w: quantize: batch size %d", ErrParams, batch))
			return
		}
		if len(inputs) == 0 {
			fail(fmt.Errorf("%w: quantize: no input files", ErrParams))
			return
		}
		nf := len(inputs[0].Files)
		for _, in := range inputs {
			if len(in.Files) != nf {
				fail(fmt.Errorf("%w: quantize: input %q has %d files, input %q %d", ErrParams, in.Name, len(in.Files), inputs[0].Name, nf))
				return
			}
		}
		for k := range nf {
			streams := make([]*npyStream, len(inputs))
			closeAll := func() {
				for _, s := range streams {
					if s != nil {
						s.close()
					}
				}
			}
			for i, in := range inputs {
				s, err := openNPY(in.Files[k])
				if err != nil {
					closeAll()
					fail(err)
					return
				}
				streams[i] = s
				if s.samples != streams[0].samples {
					closeAll()
					fail(fmt.Errorf("%w: quantize: %s has %d samples, %s %d", ErrShape, in.Files[k], s.samples, inputs[0].Files[k], streams[0].samples))
					return
				}
			}
			for done := 0; done < streams[0].samples; {
				n := min(batch, streams[0].samples-done)
				b := Batch{}
				for i, s := range streams {
					t, err := s.next(n)
					if err != nil {
						closeAll()
						fail(err)
						return
					}
					b[inputs[i].Name] = t
				}
				done += n
				if !yield(b, nil) {
					closeAll()
					return
				}
			}
			closeAll()
		}
	}
}

// npyStream reads samples from a float32 .npy file.
type npyStream struct {
	path    string
	f       *os.File
	r       *bufio.Reader
	shape   []int // per sample (the file's shape without axis 0)
	per     int   // elements per sample
	samples int
	buf     []byte
}

func (s *npyStream) close() { s.f.Close() }

func npyFormatErr(path, format string, a ...any) error {
	return fmt.Errorf("%s: %w: "+format, append([]any{path, qtensor.ErrFormat}, a...)...)
}

// openNPY opens an .npy file and reads its header; the data must be
// exactly what the header says (the file size is checked).
func openNPY(path string) (*npyStream, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s, err := readNPYHeader(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func readNPYHeader(path string, f *os.File) (*npyStream, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(f, 1<<16)
	descr, fortran, shape, hsize, err := parseNPYPrefix(r)
	if err != nil {
		return nil, npyFormatErr(path, "%v", err)
	}
	if descr != "<f4" {
		return nil, npyFormatErr(path, "element type %q: want float32 ('<f4')", descr)
	}
	if len(shape) == 0 {
		return nil, npyFormatErr(path, "a scalar: want samples on axis 0")
	}
	if fortran && len(shape) > 1 {
		return nil, npyFormatErr(path, "Fortran order: write it with numpy.ascontiguousarray")
	}
	per := 1
	for _, d := range shape[1:] {
		if d != 0 && per > math.MaxInt32/d {
			return nil, npyFormatErr(path, "shape %v is too large", shape)
		}
		per *= d
	}
	if per == 0 {
		return nil, npyFormatErr(path, "empty samples (shape %v)", shape)
	}
	if data := st.Size() - hsize; st.Mode().IsRegular() && (data%int64(4*per) != 0 || data/int64(4*per) != int64(shape[0])) {
		return nil, npyFormatErr(path, "%d bytes of data for shape %v", data, shape)
	}
	return &npyStream{path: path, f: f, r: r, shape: shape[1:], per: per, samples: shape[0]}, nil
}

// next reads n samples.
func (s *npyStream) next(n int) (*graph.Tensor, error) {
	if s.per > graph.DefaultMaxElements/n {
		return nil, fmt.Errorf("%s: %w: a batch of %d samples of %d elements is too large", s.path, ErrShape, n, s.per)
	}
	nb := n * s.per * 4
	if cap(s.buf) < nb {
		s.buf = make([]byte, nb)
	}
	b := s.buf[:nb]
	if _, err := io.ReadFull(s.r, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, npyFormatErr(s.path, "truncated data")
		}
		return nil, err
	}
	x := make([]float32, n*s.per)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return graph.FromFloat32(append([]int{n}, s.shape...), x)
}

// maxNPYHeader bounds the header length accepted.
const maxNPYHeader = 1 << 16

// parseNPYPrefix reads the magic, version and header of an .npy file and
// returns the header's fields and the size of the prefix (where the data
// starts).
func parseNPYPrefix(r io.Reader) (descr string, fortran bool, shape []int, size int64, err error) {
	var pre [10]byte
	if _, err = io.ReadFull(r, pre[:8]); err != nil {
		return "", false, nil, 0, errors.New("not an .npy file (too short)")
	}
	if string(pre[:6]) != "\x93NUMPY" {
		return "", false, nil, 0, errors.New("not an .npy file (bad magic)")
	}
	var hlen int
	switch major, minor := pre[6], pre[7]; {
	case major == 1 && minor == 0:
		if _, err = io.ReadFull(r, pre[8:10]); err != nil {
			return "", false, nil, 0, errors.New("truncated header")
		}
		hlen, size = int(binary.LittleEndian.Uint16(pre[8:])), 10
	case (major == 2 || major == 3) && minor == 0:
		var l [4]byte
		if _, err = io.ReadFull(r, l[:]); err != nil {
			return "", false, nil, 0, errors.New("truncated header")
		}
		hlen, size = int(binary.LittleEndian.Uint32(l[:])), 12
	default:
		return "", false, nil, 0, fmt.Errorf("format version %d.%d", major, minor)
	}
	if hlen > maxNPYHeader {
		return "", false, nil, 0, fmt.Errorf("header of %d bytes", hlen)
	}
	h := make([]byte, hlen)
	if _, err = io.ReadFull(r, h); err != nil {
		return "", false, nil, 0, errors.New("truncated header")
	}
	size += int64(hlen)
	descr, fortran, shape, err = parseNPYDict(string(h))
	return descr, fortran, shape, size, err
}

// parseNPYDict parses the header dict, e.g. {'descr': '<f4',
// 'fortran_order': False, 'shape': (3, 4), }: exactly those three keys,
// nothing evaluated.
func parseNPYDict(s string) (descr string, fortran bool, shape []int, err error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return "", false, nil, errors.New("header is not a dict")
	}
	s = strings.TrimSpace(s[1 : len(s)-1])
	seen := map[string]bool{}
	for s != "" {
		key, rest, ok := quoted(s)
		if !ok {
			return "", false, nil, fmt.Errorf("header: bad key at %.20q", s)
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ":") {
			return "", false, nil, fmt.Errorf("header: no ':' after %q", key)
		}
		rest = strings.TrimSpace(rest[1:])
		if seen[key] {
			return "", false, nil, fmt.Errorf("header: key %q twice", key)
		}
		seen[key] = true
		switch key {
		case "descr":
			if descr, rest, ok = quoted(rest); !ok {
				return "", false, nil, errors.New("header: bad descr")
			}
		case "fortran_order":
			switch {
			case strings.HasPrefix(rest, "False"):
				fortran, rest = false, rest[5:]
			case strings.HasPrefix(rest, "True"):
				fortran, rest = true, rest[4:]
			default:
				return "", false, nil, errors.New("header: bad fortran_order")
			}
		case "shape":
			end := strings.IndexByte(rest, ')')
			if !strings.HasPrefix(rest, "(") || end < 0 {
				return "", false, nil, errors.New("header: bad shape")
			}
			shape = []int{}
			for _, f := range strings.Split(rest[1:end], ",") {
				f = strings.TrimSpace(f)
				if f == "" {
					continue
				}
				d, err := strconv.Atoi(f)
				if err != nil || d < 0 || d > math.MaxInt32 {
					return "", false, nil, fmt.Errorf("header: bad dimension %q", f)
				}
				shape = append(shape, d)
			}
			if len(shape) > 32 {
				return "", false, nil, fmt.Errorf("header: %d dimensions", len(shape))
			}
			rest = rest[end+1:]
		default:
			return "", false, nil, fmt.Errorf("header: unknown key %q", key)
		}
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, ",") {
			rest = strings.TrimSpace(rest[1:])
		} else if rest != "" {
			return "", false, nil, fmt.Errorf("header: want ',' at %.20q", rest)
		}
		s = rest
	}
	if !seen["descr"] || !seen["fortran_order"] || !seen["shape"] {
		return "", false, nil, errors.New("header: missing keys")
	}
	return descr, fortran, shape, nil
}

// quoted reads a Python string literal in single or double quotes (no
// escapes) at the start of s.
func quoted(s string) (string, string, bool) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", "", false
	}
	v := s[1 : 1+end]
	if strings.ContainsRune(v, '\\') {
		return "", "", false
	}
	return v, s[2+end:], true
}
