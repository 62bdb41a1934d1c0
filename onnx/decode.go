package onnx

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/onnx/onnxpb"
	"github.com/qgpu/qgpu/qtensor"
)

// Errors. Every error of this package wraps one of ErrInvalid, ErrLimit
// and ErrUnsupported, except the constructors' argument errors (ErrShape)
// and those of files and readers that cannot be read (the os or reader
// error).
var (
	// ErrInvalid: the model or tensor breaks the ONNX format (bad protobuf
	// wire data, a tensor whose data does not match its dims, an external
	// data reference outside the model's directory, a node using a domain
	// it does not import, an attribute of the wrong type, ...).
	ErrInvalid = errors.New("invalid ONNX model")
	// ErrLimit: the input is larger than a DecodeOptions limit allows.
	ErrLimit = errors.New("ONNX model over a decode limit")
	// ErrUnsupported (the engine's sentinel): valid ONNX that qgpu does not
	// read, such as IR versions or opsets outside the accepted range or
	// element types TensorFromProto cannot convert.
	ErrUnsupported = qtensor.ErrUnsupported
	// ErrShape (the engine's sentinel): dims and data of a tensor
	// constructor disagree, or a dim is negative.
	ErrShape = qtensor.ErrShape
)

// The versions Decode accepts. See the package documentation for why.
const (
	MinIRVersion = 7  // ONNX 1.7/1.8, the IR of opset 13
	MaxIRVersion = 10 // ONNX 1.16/1.17
	MinOpset     = 13 // of the default domain (ai.onnx)
	MaxOpset     = 21
)

// MaxRank is the largest number of dims a tensor or a tensor type may have
// (NumPy 1.x's limit; real models stay far below it).
const MaxRank = 32

// Defaults of DecodeOptions' limits.
const (
	DefaultMaxBytes         = 2 << 30 // the protobuf size limit of ONNX files
	DefaultMaxExternalBytes = 2 << 30
	DefaultMaxNodes         = 1 << 20
	DefaultMaxAttributes    = 1 << 22
	DefaultMaxTensors       = 1 << 20
	DefaultMaxMessages      = 1 << 22
	DefaultMaxGraphDepth    = 16
)

const maxInt = math.MaxInt

// DecodeOptions are the limits and the external-data directory of a
// decode. The zero value is ready to use: a zero limit means its default,
// a negative one is an error. Counts are over the whole model: the main
// graph, every subgraph (If, Loop and Scan bodies), the model's local
// functions and its training graphs.
type DecodeOptions struct {
	// Dir is the directory external data files are resolved in (and may
	// not leave). Load sets it to the model file's directory when it is
	// empty. With no Dir, a tensor with external data is an error.
	Dir string

	// MaxBytes bounds the size of the encoded model (default 2 GiB).
	MaxBytes int64
	// MaxExternalBytes bounds the external data read, all tensors
	// together (default 2 GiB).
	MaxExternalBytes int64
	// MaxNodes bounds the number of nodes (default 1<<20).
	MaxNodes int
	// MaxAttributes bounds the number of node attributes (default 1<<22).
	MaxAttributes int
	// MaxTensors bounds the number of TensorProtos: initializers, tensor
	// attributes (Constant values) and the parts of sparse tensors
	// (default 1<<20).
	MaxTensors int
	// MaxMessages bounds the number of protobuf messages of every kind
	// (nodes, attributes, tensors, value infos, types, dimensions, ...),
	// which bounds the memory of the decoded model beyond its raw bytes:
	// each message costs up to a few hundred bytes (default 1<<22).
	MaxMessages int
	// MaxGraphDepth bounds the nesting of graphs: the main graph has
	// depth 1, the body of an If in it depth 2 (default 16).
	MaxGraphDepth int
}

// limits is DecodeOptions with the defaults filled in.
type limits struct {
	DecodeOptions
	maxMsgDepth int
}

func (o DecodeOptions) limits() (limits, error) {
	for _, v := range []struct {
		name string
		v    int64
	}{
		{"MaxBytes", o.MaxBytes}, {"MaxExternalBytes", o.MaxExternalBytes},
		{"MaxNodes", int64(o.MaxNodes)}, {"MaxAttributes", int64(o.MaxAttributes)},
		{"MaxTensors", int64(o.MaxTensors)}, {"MaxMessages", int64(o.MaxMessages)},
		{"MaxGraphDepth", int64(o.MaxGraphDepth)},
	} {
		if v.v < 0 {
			return limits{}, fmt.Errorf("onnx: %w: DecodeOptions.%s is negative (%d)", ErrLimit, v.name, v.v)
		}
	}
	def64 := func(p *int64, d int64) {
		if *p == 0 {
			*p = d
		}
	}
	def := func(p *int, d int) {
		if *p == 0 {
			*p = d
		}
	}
	def64(&o.MaxBytes, DefaultMaxBytes)
	def64(&o.MaxExternalBytes, DefaultMaxExternalBytes)
	def(&o.MaxNodes, DefaultMaxNodes)
	def(&o.MaxAttributes, DefaultMaxAttributes)
	def(&o.MaxTensors, DefaultMaxTensors)
	def(&o.MaxMessages, DefaultMaxMessages)
	def(&o.MaxGraphDepth, DefaultMaxGraphDepth)
	if o.MaxGraphDepth > 1<<10 {
		o.MaxGraphDepth = 1 << 10
	}
	// Each graph level adds four messages (graph, node, attribute, graph);
	// 32 more leave room for nested types and sparse tensors.
	return limits{DecodeOptions: o, maxMsgDepth: 4*o.MaxGraphDepth + 32}, nil
}

func errorf(sentinel error, format string, a ...any) error {
	return fmt.Errorf("onnx: %w: "+format, append([]any{sentinel}, a...)...)
}

// Decode parses an encoded ModelProto and checks it (see the package
// documentation): sizes and counts within opts' limits, IR version and
// default-domain opset in the accepted ranges, every tensor's data
// consistent with its type and dims. External data is read from opts.Dir
// into raw_data, so the returned model has none.
//
// The result shares no memory with data.
func Decode(data []byte, opts DecodeOptions) (*onnxpb.ModelProto, error) {
	l, err := opts.limits()
	if err != nil {
		return nil, err
	}
	return decodeModel(data, l)
}

func decodeModel(data []byte, l limits) (*onnxpb.ModelProto, error) {
	if int64(len(data)) > l.MaxBytes {
		return nil, errorf(ErrLimit, "model of %d bytes, over the limit of %d", len(data), l.MaxBytes)
	}
	m := &onnxpb.ModelProto{}
	if err := unmarshal(data, m, l); err != nil {
		return nil, err
	}
	if err := checkModel(m, l); err != nil {
		return nil, err
	}
	return m, nil
}

// unmarshal pre-scans data (counting messages without allocating), then
// unmarshals it into m.
func unmarshal(data []byte, m proto.Message, l limits) error {
	s := scanner{l: l}
	if err := s.scan(data, m.ProtoReflect().Descriptor(), 1, 0); err != nil {
		return err
	}
	opts := proto.UnmarshalOptions{RecursionLimit: l.maxMsgDepth + 8}
	if err := opts.Unmarshal(data, m); err != nil {
		return errorf(ErrInvalid, "protobuf: %v", err)
	}
	return nil
}

// Load reads and decodes the model file at path (see Decode). When
// opts.Dir is empty it is set to path's directory, so external data files
// beside the model are found. The file's size is checked against
// opts.MaxBytes before it is read.
func Load(path string, opts DecodeOptions) (*onnxpb.ModelProto, error) {
	l, err := opts.limits()
	if err != nil {
		return nil, err
	}
	if l.Dir == "" {
		l.Dir = filepath.Dir(path)
	}
	data, err := readFile(path, l.MaxBytes)
	if err != nil {
		return nil, err
	}
	m, err := decodeModel(data, l)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return m, nil
}

// Read reads a model from r, at most opts.MaxBytes bytes of it (more is
// an ErrLimit error), and decodes it (see Decode). A reader has no
// directory, so external data is an error unless opts.Dir names one.
func Read(r io.Reader, opts DecodeOptions) (*onnxpb.ModelProto, error) {
	l, err := opts.limits()
	if err != nil {
		return nil, err
	}
	data, err := readLimited(r, l.MaxBytes)
	if err != nil {
		return nil, err
	}
	return decodeModel(data, l)
}

func readLimited(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("onnx: read: %w", err)
	}
	if int64(len(data)) > max {
		return nil, errorf(ErrLimit, "input longer than the limit of %d bytes", max)
	}
	return data, nil
}

func readFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, errorf(ErrInvalid, "%s is not a regular file", path)
	}
	if st.Size() > max {
		return nil, errorf(ErrLimit, "%s has %d bytes, over the limit of %d", path, st.Size(), max)
	}
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("onnx: read %s: %w", path, err)
	}
	if n, _ := f.Read(make([]byte, 1)); n != 0 {
		return nil, fmt.Errorf("onnx: read %s: the file grew while it was read", path)
	}
	return data, nil
}

// DecodeTensor parses one encoded TensorProto (the .pb files of the ONNX
// test suites) with opts' limits, reads its external data from opts.Dir if
// it has any, checks it and converts it (TensorFromProto).
func DecodeTensor(data []byte, opts DecodeOptions) (*Tensor, error) {
	l, err := opts.limits()
	if err != nil {
		return nil, err
	}
	return decodeTensor(data, l)
}

func decodeTensor(data []byte, l limits) (*Tensor, error) {
	if int64(len(data)) > l.MaxBytes {
		return nil, errorf(ErrLimit, "tensor of %d bytes, over the limit of %d", len(data), l.MaxBytes)
	}
	tp := &onnxpb.TensorProto{}
	if err := unmarshal(data, tp, l); err != nil {
		return nil, err
	}
	c := newChecker(l)
	defer c.close()
	if err := c.tensor(tp, "tensor"); err != nil {
		return nil, err
	}
	return TensorFromProto(tp)
}

// LoadTensor reads and converts the TensorProto file at path (see
// DecodeTensor); opts.Dir defaults to path's directory.
func LoadTensor(path string, opts DecodeOptions) (*Tensor, error) {
	l, err := opts.limits()
	if err != nil {
		return nil, err
	}
	if l.Dir == "" {
		l.Dir = filepath.Dir(path)
	}
	data, err := readFile(path, l.MaxBytes)
	if err != nil {
		return nil, err
	}
	t, err := decodeTensor(data, l)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return t, nil
}
