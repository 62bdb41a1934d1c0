package qtensor

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/qgpu/qgpu/internal/safefile"
)

// WriteFileAtomic creates or replaces the file at path with what write
// produces, atomically: write goes to a temporary file in the target's
// directory (unnamed where the kernel allows, so a killed write leaves
// nothing), which is flushed, fsynced and renamed over the target; the
// directory is then fsynced (best effort). On any error, or a panic in
// write, path is left untouched. A symbolic link is written through to its
// target; an existing file keeps its mode, a new one gets 0666 less the
// umask; a character device or pipe (/dev/null) is written in place; a
// directory is refused. See internal/safefile.
func WriteFileAtomic(path string, write func(io.Writer) error) error {
	if err := safefile.Write(path, write); err != nil {
		return fmt.Errorf("qtensor: %w", err)
	}
	return nil
}

// Save writes t to path in qgpu's format, atomically (WriteFileAtomic).
func Save(path string, t *Tensor) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return Encode(w, t) })
}

// SaveCaffe2 writes a Caffe2 bit-plane tensor to path in qgpu's format,
// atomically.
func SaveCaffe2(path string, t *Caffe2Tensor) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return EncodeCaffe2(w, t) })
}

// LoadAny reads a file in qgpu's format holding exactly one record and
// returns the packed Tensor or the Caffe2Tensor in it (see DecodeAny).
// The file's size bounds every allocation; trailing bytes are an error.
func LoadAny(path string) (*Tensor, *Caffe2Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("qtensor: load: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("qtensor: load: %w", err)
	}
	size := int64(-1)
	if fi.Mode().IsRegular() {
		size = fi.Size()
	}
	br := bufio.NewReaderSize(f, 1<<16)
	t, c, err := decodeStream(br, size)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		if err != nil {
			return nil, nil, fmt.Errorf("qtensor: load %s: %w", path, err)
		}
		return nil, nil, fmt.Errorf("%s: %w", path, formatErr("trailing bytes after the record"))
	}
	return t, c, nil
}

// Load reads a packed Tensor from a file in qgpu's format (see LoadAny).
func Load(path string) (*Tensor, error) {
	t, c, err := LoadAny(path)
	return onlyPacked(t, c, err)
}

// LoadCaffe2 reads a Caffe2 bit-plane tensor from a file in qgpu's format
// (see LoadAny).
func LoadCaffe2(path string) (*Caffe2Tensor, error) {
	t, c, err := LoadAny(path)
	return onlyCaffe2(t, c, err)
}
