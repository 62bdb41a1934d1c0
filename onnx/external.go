package onnx

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// externalFiles are the external data files of one decode, opened once
// each inside an os.Root of the model's directory, which refuses paths
// (symbolic links included) that leave it.
type externalFiles struct {
	root  *os.Root
	files map[string]*extFile
	read  int64 // bytes read so far, against MaxExternalBytes
}

type extFile struct {
	f      *os.File
	size   int64
	sha1ok bool // checksum verified
	sha1   string
}

func (e *externalFiles) close() {
	for _, f := range e.files {
		f.f.Close()
	}
	if e.root != nil {
		e.root.Close()
	}
}

// external reads the external data of t (n elements of type dt) into
// raw_data and marks t's data as stored inline.
func (c *checker) external(t *onnxpb.TensorProto, dt DataType, n int, where string) error {
	if dt == String {
		return errorf(ErrInvalid, "%s: STRING tensors cannot have external data", where)
	}
	if t.RawData != nil || len(t.GetFloatData())+len(t.GetInt32Data())+len(t.GetStringData())+
		len(t.GetInt64Data())+len(t.GetDoubleData())+len(t.GetUint64Data()) > 0 {
		return errorf(ErrInvalid, "%s has both external and inline data", where)
	}
	var loc, checksum string
	offset, length := int64(0), int64(-1)
	seen := map[string]bool{}
	for _, kv := range t.GetExternalData() {
		k, v := kv.GetKey(), kv.GetValue()
		if seen[k] {
			return errorf(ErrInvalid, "%s: external_data key %q given twice", where, k)
		}
		seen[k] = true
		ok := true
		switch k {
		case "location":
			loc = v
		case "offset":
			offset, ok = parseCount(v)
		case "length":
			length, ok = parseCount(v)
		case "checksum":
			checksum = strings.ToLower(v)
			if _, herr := hex.DecodeString(checksum); herr != nil || len(checksum) != 2*sha1.Size {
				return errorf(ErrInvalid, "%s: external data checksum %q is not a SHA-1 in hex", where, v)
			}
		default:
			return errorf(ErrInvalid, "%s: unknown external_data key %q", where, k)
		}
		if !ok {
			return errorf(ErrInvalid, "%s: external data %s %q is not a non-negative integer", where, k, v)
		}
	}
	if loc == "" {
		return errorf(ErrInvalid, "%s: external data without a location", where)
	}
	if c.l.Dir == "" {
		return errorf(ErrInvalid, "%s: external data (%q) needs the model's directory: load the model from a file or set DecodeOptions.Dir", where, loc)
	}
	// ONNX locations are POSIX paths relative to the model's directory.
	if strings.Contains(loc, "\\") || strings.ContainsRune(loc, 0) || !filepath.IsLocal(filepath.FromSlash(loc)) {
		return errorf(ErrInvalid, "%s: external data location %q is not a relative path inside the model's directory", where, loc)
	}
	want := dt.rawBytes(n)
	if length >= 0 && length != int64(want) {
		return errorf(ErrInvalid, "%s: external data length %d, but %v dims %v take %d bytes", where, length, dt, t.GetDims(), want)
	}
	f, err := c.externalFile(filepath.Clean(filepath.FromSlash(loc)), where)
	if err != nil {
		return err
	}
	if offset > f.size {
		return errorf(ErrInvalid, "%s: external data offset %d beyond the end of %q (%d bytes)", where, offset, loc, f.size)
	}
	if length < 0 && f.size-offset != int64(want) {
		return errorf(ErrInvalid, "%s: external data of %d bytes (%q from offset %d to its end), but %v dims %v take %d bytes",
			where, f.size-offset, loc, offset, dt, t.GetDims(), want)
	}
	if int64(want) > f.size-offset {
		return errorf(ErrInvalid, "%s: external data %q of %d bytes cannot hold %d bytes at offset %d", where, loc, f.size, want, offset)
	}
	if int64(want) > c.l.MaxExternalBytes-c.ext.read {
		return errorf(ErrLimit, "%s: external data over the limit of %d bytes (MaxExternalBytes)", where, c.l.MaxExternalBytes)
	}
	if checksum != "" {
		if err := c.verifyChecksum(f, checksum, loc, where); err != nil {
			return err
		}
	}
	buf := make([]byte, want)
	if _, err := f.f.ReadAt(buf, offset); err != nil {
		return errorf(ErrInvalid, "%s: reading external data %q: %v", where, loc, err)
	}
	c.ext.read += int64(want)
	t.RawData = buf
	t.ExternalData = nil
	t.DataLocation = nil
	return nil
}

// externalFile opens name (a local path) inside the model's directory, once.
func (c *checker) externalFile(name, where string) (*extFile, error) {
	if c.ext == nil {
		root, err := os.OpenRoot(c.l.Dir)
		if err != nil {
			return nil, errorf(ErrInvalid, "%s: external data directory: %v", where, err)
		}
		c.ext = &externalFiles{root: root, files: map[string]*extFile{}}
	}
	if f := c.ext.files[name]; f != nil {
		return f, nil
	}
	// Stat before Open: opening a FIFO would block.
	st, err := c.ext.root.Stat(name)
	if err == nil && !st.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err != nil {
		return nil, errorf(ErrInvalid, "%s: external data %q: %v", where, name, err)
	}
	fh, err := c.ext.root.Open(name)
	if err != nil {
		return nil, errorf(ErrInvalid, "%s: external data %q: %v", where, name, err)
	}
	st, err = fh.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err != nil {
		fh.Close()
		return nil, errorf(ErrInvalid, "%s: external data %q: %v", where, name, err)
	}
	f := &extFile{f: fh, size: st.Size()}
	c.ext.files[name] = f
	return f, nil
}

// verifyChecksum checks the SHA-1 of the whole file (ONNX: "SHA1 digest of
// file specified under 'location'"), hashing each file once, streaming. A
// file larger than MaxExternalBytes is not hashed (an ErrLimit error): it
// holds more than a model may read anyway.
func (c *checker) verifyChecksum(f *extFile, sum, loc, where string) error {
	if !f.sha1ok {
		if f.size > c.l.MaxExternalBytes {
			return errorf(ErrLimit, "%s: checksum of external data %q (%d bytes) over the limit of %d bytes (MaxExternalBytes)", where, loc, f.size, c.l.MaxExternalBytes)
		}
		h := sha1.New()
		if _, err := io.Copy(h, io.NewSectionReader(f.f, 0, f.size)); err != nil {
			return errorf(ErrInvalid, "%s: reading external data %q: %v", where, loc, err)
		}
		f.sha1 = hex.EncodeToString(h.Sum(nil))
		f.sha1ok = true
	}
	if f.sha1 != sum {
		return errorf(ErrInvalid, "%s: external data %q has SHA-1 %s, the model says %s", where, loc, f.sha1, sum)
	}
	return nil
}

// parseCount parses a decimal integer of digits only (no sign) that fits
// in an int64.
func parseCount(s string) (int64, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}
