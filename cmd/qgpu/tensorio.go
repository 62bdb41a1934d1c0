package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/qgpu/qgpu/qtensor"
)

// Tensor files: the commands read .qt, .npy and .safetensors files by
// their content (whatever the name says) and write the format the
// output's extension names.

// fileFormat is a tensor file format, named by its extension.
type fileFormat string

const (
	formatQT          fileFormat = "qt"          // qgpu's format: any tensor with its parameters
	formatNPY         fileFormat = "npy"         // NumPy: values only (quantized: the integers)
	formatSafetensors fileFormat = "safetensors" // a quantized tensor as NAME, NAME_scale, NAME_zero_point
)

func (f fileFormat) ext() string { return "." + string(f) }

// formatList is ".qt or .npy" for messages.
func formatList(fs []fileFormat) string {
	exts := make([]string, len(fs))
	for i, f := range fs {
		exts[i] = f.ext()
	}
	if len(exts) == 1 {
		return exts[0]
	}
	return strings.Join(exts[:len(exts)-1], ", ") + " or " + exts[len(exts)-1]
}

// outputFormat returns the format an output path's extension names among
// allowed; a path without an extension (a pipe, /dev/stdout) gets the
// first. A known format the command cannot write is a usage error with
// the reason in notFor (or a generic one); an unknown extension is a usage
// error listing the supported ones.
func outputFormat(cmd, flag, path string, notFor map[fileFormat]string, allowed ...fileFormat) (fileFormat, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext == "" || strings.ContainsRune(ext, os.PathSeparator) {
		return allowed[0], nil
	}
	for _, f := range allowed {
		if ext == f.ext() {
			return f, nil
		}
	}
	for _, f := range []fileFormat{formatQT, formatNPY, formatSafetensors} {
		if ext == f.ext() {
			why := notFor[f]
			if why == "" {
				why = "this command does not write " + f.ext()
			}
			return "", usagef("%s: %s %s: %s; write %s", cmd, flag, shortQ(path), why, formatList(allowed))
		}
	}
	return "", usagef("%s: %s %s: unknown extension %s: want %s (the extension picks the format)", cmd, flag, shortQ(path), shortQ(ext), formatList(allowed))
}

// checkInOut checks the --in and --out of a one-file command: both given,
// the output not the input, and a format the command writes (see
// outputFormat), which it returns.
func checkInOut(cmd, in, out string, notFor map[fileFormat]string, allowed ...fileFormat) (fileFormat, error) {
	if in == "" || out == "" {
		return "", usagef("%s: --in and --out are required (qgpu %s -h)", cmd, cmd)
	}
	if err := sameFileErr(cmd, out, in); err != nil {
		return "", err
	}
	return outputFormat(cmd, "--out", out, notFor, allowed...)
}

// sniffFormat returns the format of the file at path from its first
// bytes, or a usage error for what is no tensor file.
func sniffFormat(path string) (fileFormat, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", usagef("%v", err)
	}
	defer f.Close()
	var b [16]byte
	n, err := io.ReadFull(f, b[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", usagef("%s: %v", path, err)
	}
	head := b[:n]
	switch {
	case bytes.HasPrefix(head, []byte(qtensor.FormatMagic)):
		return formatQT, nil
	case bytes.HasPrefix(head, []byte("\x93NUMPY")):
		return formatNPY, nil
	case n >= 9 && b[8] == '{' && binary.LittleEndian.Uint64(b[:8]) < qtensor.MaxSafetensorsHeader:
		return formatSafetensors, nil
	}
	return "", usagef("%s is not a tensor file: want a .qt file (qgpu's format), a NumPy .npy array or a .safetensors file (it begins %q)", path, head)
}

// loaded is a tensor read from a file.
type loaded struct {
	*qtensor.Tensor
	path   string
	format fileFormat
	from   string                // .npy: the NumPy type converted to float32 ("float64"), else ""
	caffe2 *qtensor.Caffe2Tensor // .qt: the Caffe2 bit-plane record it was converted from
	// params: the file gave the quantization parameters (.qt, or a
	// .safetensors tensor written by qgpu quantize); integers read from an
	// .npy or a plain .safetensors tensor carry placeholders (scale 1,
	// zero point 0).
	params bool
}

// loadTensor reads one tensor from path: a .qt file (a Caffe2 bit-plane
// record converted losslessly to packed storage), an .npy array (float16
// and float64 converted to float32) or the tensor named name of a
// .safetensors file (name may be empty when the file holds one tensor; a
// tensor quantize wrote comes back quantized). Every problem is a usage
// error.
func loadTensor(path, name string) (*loaded, error) {
	format, err := sniffFormat(path)
	if err != nil {
		return nil, err
	}
	if name != "" && format != formatSafetensors {
		return nil, usagef("--tensor applies to .safetensors files; %s is a %s file holding one tensor", path, format.ext())
	}
	l := &loaded{path: path, format: format}
	switch format {
	case formatQT:
		t, c, err := qtensor.LoadAny(path)
		if err != nil {
			return nil, asUsage(err)
		}
		if c != nil {
			if t, err = c.ToTensor(); err != nil {
				return nil, asUsage(fmt.Errorf("%s: Caffe2 tensor: %w", path, err))
			}
			t.Name = c.Name
		}
		l.Tensor, l.caffe2, l.params = t, c, true
	case formatNPY:
		t, err := qtensor.LoadNPY(path)
		if err != nil {
			// float16 and float64 arrays are read as float32.
			t2, from, err2 := qtensor.LoadNPYFloat32(path)
			if err2 != nil {
				return nil, asUsage(err)
			}
			t, l.from = t2, from
		}
		t.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		l.Tensor = t
	case formatSafetensors:
		st, err := qtensor.OpenSafetensors(path)
		if err != nil {
			return nil, asUsage(err)
		}
		defer st.Close()
		if l.Tensor, l.params, err = readSafetensors(st, path, name); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// loadFloat reads a float32 tensor (see loadTensor; float64 values are
// rounded to float32, with a note on stderr). Another element type is a
// usage error saying what cmd takes.
func loadFloat(cmd, path, name string, stderr io.Writer) (*qtensor.Tensor, error) {
	l, err := loadTensor(path, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	if l.DType != qtensor.Float32 {
		return nil, usagef("%s: %s holds %v values, want float32: %s takes float values (.npy float32, float16 or float64; .safetensors F32, F16 or BF16; a float32 .qt)", cmd, path, l.DType, cmd)
	}
	if l.from == "float64" && stderr != nil {
		warnf(stderr, "%s: float64 values rounded to float32 (as numpy's .astype(np.float32))", path)
	}
	return l.Tensor, nil
}

// loadQuantized reads a quantized tensor (see loadTensor). A float tensor
// or integers without parameters are a usage error saying what cmd takes.
func loadQuantized(cmd, path, name string) (*loaded, error) {
	l, err := loadTensor(path, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	takes := cmd + " takes a quantized tensor: a .qt file or a .safetensors file written by qgpu quantize"
	holds := l.DType.String()
	if l.from != "" {
		holds = l.from
	}
	switch {
	case l.DType.Quantized() && l.params:
		return l, nil
	case l.DType == qtensor.Float32:
		return nil, usagef("%s: %s holds %s values, not a quantized tensor: %s (qgpu quantize --in %s makes one)", cmd, path, holds, takes, path)
	case l.DType.Quantized():
		return nil, usagef("%s: %s holds %v integers without a scale or zero point: %s; for integers with a separate scale use qgpu run DequantizeLinear --in %s --in SCALE.npy [--in ZERO_POINT.npy]", cmd, path, l.DType, takes, path)
	}
	return nil, usagef("%s: %s holds %s values, not a quantized tensor: %s", cmd, path, holds, takes)
}

// --- the quantized-safetensors convention ---

// A quantized tensor NAME in a .safetensors file written by qgpu is three
// tensors and one metadata entry:
//
//	NAME             I8 or U8: the integers (int4/uint4 one per byte)
//	NAME_scale       F32: [] per tensor, [C] per axis, per block the shape
//	                 of NAME with the blocked axis cut to the block count
//	NAME_zero_point  like NAME_scale, in NAME's dtype
//	__metadata__["qgpu:NAME"] = {"dtype":"int4","granularity":"per-axis","axis":0,"block_size":0}
//
// ONNX's QuantizeLinear and DequantizeLinear take these tensors as they
// are.

// quantMeta is the metadata entry of a quantized tensor.
type quantMeta struct {
	DType       string `json:"dtype"`
	Granularity string `json:"granularity"`
	Axis        int    `json:"axis"`
	BlockSize   int    `json:"block_size"`
}

const quantMetaPrefix = "qgpu:"

// paramShape is the shape of a quantized tensor's scale and zero-point
// tensors (ONNX's).
func paramShape(t *qtensor.Tensor) []int {
	p := t.Params
	switch p.Granularity {
	case qtensor.PerAxis:
		return []int{len(p.Scales)}
	case qtensor.PerBlock:
		s := slices.Clone(t.Shape)
		s[p.Axis] = (s[p.Axis] + p.BlockSize - 1) / p.BlockSize
		return s
	}
	return []int{}
}

// safetensorsEntries returns the tensors and metadata that store t under
// name.
func safetensorsEntries(name string, t *qtensor.Tensor) ([]qtensor.SafetensorsTensor, map[string]string, error) {
	if !t.DType.Quantized() {
		st, err := qtensor.SafetensorsOf(name, t)
		return []qtensor.SafetensorsTensor{st}, nil, err
	}
	dt := "I8"
	if !t.DType.Signed() {
		dt = "U8"
	}
	ints := make([]byte, t.Len())
	for i := range ints {
		ints[i] = byte(t.At(i))
	}
	p := t.Params
	scales := make([]byte, 4*len(p.Scales))
	zps := make([]byte, len(p.ZeroPoints))
	for i, s := range p.Scales {
		binary.LittleEndian.PutUint32(scales[4*i:], math.Float32bits(s))
		zps[i] = byte(p.ZeroPoints[i])
	}
	ps := paramShape(t)
	meta, err := json.Marshal(quantMeta{DType: t.DType.String(), Granularity: p.Granularity.String(), Axis: p.Axis, BlockSize: p.BlockSize})
	if err != nil {
		return nil, nil, err
	}
	return []qtensor.SafetensorsTensor{
		{Name: name, DType: dt, Shape: slices.Clone(t.Shape), Data: ints},
		{Name: name + "_scale", DType: "F32", Shape: ps, Data: scales},
		{Name: name + "_zero_point", DType: dt, Shape: ps, Data: zps},
	}, map[string]string{quantMetaPrefix + name: string(meta)}, nil
}

// primaryNames lists the tensors of st without the scale and zero-point
// companions of qgpu's quantized tensors.
func primaryNames(st *qtensor.Safetensors) []string {
	meta := st.Metadata()
	companion := map[string]bool{}
	for _, n := range st.Names() {
		if _, ok := meta[quantMetaPrefix+n]; ok {
			companion[n+"_scale"], companion[n+"_zero_point"] = true, true
		}
	}
	var out []string
	for _, n := range st.Names() {
		if !companion[n] {
			out = append(out, n)
		}
	}
	return out
}

// readSafetensors reads the tensor name of st (the only one when name is
// empty); quantized, and params true, when qgpu's metadata says so.
func readSafetensors(st *qtensor.Safetensors, path, name string) (t *qtensor.Tensor, params bool, err error) {
	if name == "" {
		names := primaryNames(st)
		if len(names) != 1 {
			return nil, false, usagef("%s holds %d tensors; choose one with --tensor (qgpu inspect %s lists them)", path, len(names), path)
		}
		name = names[0]
	}
	if _, ok := st.Info(name); !ok {
		return nil, false, usagef("%s: no tensor %s%s (qgpu inspect %s lists them)", path, quoteName(name), didYouMean(name, primaryNames(st)), path)
	}
	ints, err := st.Tensor(name)
	if err != nil {
		return nil, false, asUsage(fmt.Errorf("%s: %w", path, err))
	}
	mj, quantized := st.Metadata()[quantMetaPrefix+name]
	if !quantized {
		return ints, false, nil
	}
	if t, err = quantizedFromSafetensors(st, name, mj, ints); err != nil {
		return nil, false, usagef("%s: quantized tensor %s: %v", path, quoteName(name), err)
	}
	return t, true, nil
}

// quantizedFromSafetensors builds the quantized tensor name of st from
// its integers, its metadata entry mj and its scale and zero-point
// tensors.
func quantizedFromSafetensors(st *qtensor.Safetensors, name, mj string, ints *qtensor.Tensor) (*qtensor.Tensor, error) {
	var m quantMeta
	if err := json.Unmarshal([]byte(mj), &m); err != nil {
		return nil, fmt.Errorf("metadata: %v", err)
	}
	d, err := qtensor.ParseDType(m.DType)
	if err != nil || !d.Quantized() {
		return nil, fmt.Errorf("metadata dtype %s", shortQ(m.DType))
	}
	if want := map[bool]qtensor.DType{true: qtensor.Int8, false: qtensor.Uint8}[d.Signed()]; ints.DType != want {
		return nil, fmt.Errorf("%v integers stored as %v", d, ints.DType)
	}
	sc, err := st.Tensor(name + "_scale")
	if err != nil || sc.DType != qtensor.Float32 {
		return nil, fmt.Errorf("no F32 tensor %s_scale (%v)", name, err)
	}
	zp, err := st.Tensor(name + "_zero_point")
	if err != nil || zp.DType != ints.DType || !slices.Equal(zp.Shape, sc.Shape) {
		return nil, fmt.Errorf("no %s_zero_point of the scale's shape and the integers' type (%v)", name, err)
	}
	p := qtensor.Params{Axis: m.Axis, BlockSize: m.BlockSize, Scales: sc.Float32s(), ZeroPoints: zp.Int32s()}
	switch m.Granularity {
	case "per-tensor":
		p.Granularity = qtensor.PerTensor
	case "per-axis":
		p.Granularity = qtensor.PerAxis
	case "per-block":
		p.Granularity = qtensor.PerBlock
	default:
		return nil, fmt.Errorf("metadata granularity %s", shortQ(m.Granularity))
	}
	t, err := qtensor.New(d, ints.Shape, p)
	if err != nil {
		return nil, err
	}
	if want := paramShape(t); !slices.Equal(want, sc.Shape) {
		return nil, fmt.Errorf("%s_scale has shape %v, want %v", name, sc.Shape, want)
	}
	for i, v := range ints.Int32s() {
		if v < d.QMin() || v > d.QMax() {
			return nil, fmt.Errorf("value %d at %d outside %v", v, i, d)
		}
		t.Set(i, v)
	}
	t.Name = name
	return t, nil
}

// --- writing ---

// encoder returns the function that writes t in format f; name is the
// tensor's name in a .safetensors file.
func encoder(f fileFormat, name string, t *qtensor.Tensor) func(io.Writer) error {
	return func(w io.Writer) error {
		switch f {
		case formatQT:
			return qtensor.Encode(w, t)
		case formatNPY:
			return qtensor.WriteNPY(w, t)
		}
		ts, meta, err := safetensorsEntries(name, t)
		if err != nil {
			return err
		}
		return qtensor.WriteSafetensors(w, ts, meta)
	}
}

// tensorName is the name t is stored under in a .safetensors output: its
// own, else the output file's base name.
func tensorName(t *qtensor.Tensor, path string) string {
	if t.Name != "" {
		return t.Name
	}
	if b := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)); b != "" && b != "." && b != string(os.PathSeparator) {
		return b
	}
	return "tensor"
}

// saveTensor writes t to path in format f, atomically.
func saveTensor(path string, f fileFormat, t *qtensor.Tensor) error {
	return qtensor.WriteFileAtomic(path, encoder(f, tensorName(t, path), t))
}
