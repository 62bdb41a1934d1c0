package graph

import (
	"fmt"

	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// Load reads an ONNX model file with onnx.Load (decode limits in
// decode, external data resolved next to the file) and builds it with
// FromONNX.
func Load(path string, decode onnx.DecodeOptions, opts Options) (*Graph, error) {
	m, err := onnx.Load(path, decode)
	if err != nil {
		return nil, err
	}
	return FromONNX(m, opts)
}

// FromONNX converts a decoded ONNX model's main graph and builds it (see
// Build). The model should come from onnx.Decode or onnx.Load, which check
// it; FromONNX converts tensors with onnx.TensorFromProto, which checks
// each again, so a model from elsewhere is safe too.
//
// What FromONNX converts: float32, int64, int32, int8, uint8 and bool
// tensors (other element types are ErrUnsupported), attributes of the
// scalar, list and tensor kinds (graph attributes - If, Loop, Scan - are
// ErrUnsupported), and the declared types and shapes of the graph's
// inputs and outputs. Graph inputs with an initializer of the same name
// are constants. The default-domain opset the model imports becomes
// Graph.Opset.
func FromONNX(m *onnxpb.ModelProto, opts Options) (*Graph, error) {
	def, err := convertONNX(m)
	if err != nil {
		return nil, err
	}
	return Build(def, opts)
}

func convertONNX(m *onnxpb.ModelProto) (*Graph, error) {
	if m == nil || m.GetGraph() == nil {
		return nil, errorf(ErrParams, "graph: model has no graph")
	}
	opset, ok := onnx.OpsetVersion(m, "")
	if !ok {
		return nil, errorf(ErrUnsupported, "graph: model does not import the default ONNX domain")
	}
	gp := m.GetGraph()
	def := &Graph{Name: gp.GetName(), Opset: int(opset), Initializers: map[string]*Tensor{}}
	if len(gp.GetSparseInitializer()) > 0 {
		return nil, errorf(ErrUnsupported, "graph: sparse initializers")
	}
	for _, tp := range gp.GetInitializer() {
		name := tp.GetName()
		if name == "" {
			return nil, errorf(ErrParams, "graph: initializer without a name")
		}
		if _, dup := def.Initializers[name]; dup {
			return nil, errorf(ErrParams, "graph: initializer %q is defined twice", name)
		}
		t, err := tensorFromProto(tp)
		if err != nil {
			return nil, fmt.Errorf("graph: initializer %q: %w", name, err)
		}
		def.Initializers[name] = t
	}
	for _, vi := range gp.GetInput() {
		v, err := valueFromProto(vi)
		if err != nil {
			if _, isInit := def.Initializers[vi.GetName()]; isInit {
				continue
			}
			return nil, fmt.Errorf("graph: input %q: %w", vi.GetName(), err)
		}
		def.Inputs = append(def.Inputs, v)
	}
	for _, vi := range gp.GetOutput() {
		v, err := valueFromProto(vi)
		if err != nil {
			return nil, fmt.Errorf("graph: output %q: %w", vi.GetName(), err)
		}
		def.Outputs = append(def.Outputs, v)
	}
	for i, np := range gp.GetNode() {
		n := &Node{Name: np.GetName(), OpType: np.GetOpType(), Domain: np.GetDomain(),
			Inputs: np.GetInput(), Outputs: np.GetOutput()}
		if len(np.GetAttribute()) > 0 {
			n.Attrs = make(map[string]Attr, len(np.GetAttribute()))
		}
		for _, ap := range np.GetAttribute() {
			a, err := attrFromProto(ap)
			if err != nil {
				return nil, fmt.Errorf("graph: %s attribute %q: %w", onnx.NodeName(np, i), ap.GetName(), err)
			}
			if _, dup := n.Attrs[ap.GetName()]; dup {
				return nil, errorf(ErrParams, "graph: %s has attribute %q twice", onnx.NodeName(np, i), ap.GetName())
			}
			n.Attrs[ap.GetName()] = a
		}
		def.Nodes = append(def.Nodes, n)
	}
	return def, nil
}

// tensorFromProto converts with onnx.TensorFromProto and keeps the element
// types this package computes with.
//
// INT4 and UINT4 tensors (IR 10) are held widened, one value per byte, as
// Int8 and Uint8: DequantizeLinear, which reads them, gives the same
// values either way.
func tensorFromProto(tp *onnxpb.TensorProto) (*Tensor, error) {
	if c := tp.GetDataType(); c != int32(onnx.Int4) && c != int32(onnx.Uint4) {
		if _, err := DTypeFromONNX(c); err != nil {
			return nil, err
		}
	}
	ot, err := onnx.TensorFromProto(tp)
	if err != nil {
		return nil, err
	}
	t := &Tensor{Shape: ot.Dims}
	if t.Shape == nil {
		t.Shape = []int{}
	}
	switch v := ot.Values().(type) {
	case []float32:
		t.DType, t.F32 = Float32, v
	case []int64:
		t.DType, t.I64 = Int64, v
	case []int32:
		t.DType, t.I32 = Int32, v
	case []int8:
		t.DType, t.I8 = Int8, v
	case []uint8:
		t.DType, t.U8 = Uint8, v
	case []bool:
		t.DType, t.Bool = Bool, v
	default:
		return nil, errorf(ErrUnsupported, "element type %v", ot.Type)
	}
	// FLOAT16 and BFLOAT16 also arrive as []float32: only FLOAT is float32.
	if t.DType == Float32 && ot.Type != onnx.Float {
		return nil, errorf(ErrUnsupported, "element type %v", ot.Type)
	}
	return t, t.Validate()
}

// TensorFromProto converts an ONNX TensorProto (an input_N.pb of the ONNX
// test data, say) to a Tensor of a supported element type.
func TensorFromProto(tp *onnxpb.TensorProto) (*Tensor, error) { return tensorFromProto(tp) }

func valueFromProto(vi *onnxpb.ValueInfoProto) (Value, error) {
	v := Value{Name: vi.GetName()}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return v, errorf(ErrUnsupported, "not a tensor type")
	}
	d, err := DTypeFromONNX(tt.GetElemType())
	if err != nil {
		return v, err
	}
	v.DType = d
	if sh := tt.GetShape(); sh != nil {
		v.Dims = make([]Dim, len(sh.GetDim()))
		for i, dp := range sh.GetDim() {
			switch x := dp.GetValue().(type) {
			case *onnxpb.TensorShapeProto_Dimension_DimValue:
				if x.DimValue < 0 || x.DimValue > int64(^uint32(0)>>1) {
					return v, errorf(ErrShape, "dimension %d is %d", i, x.DimValue)
				}
				v.Dims[i] = Dim{Value: int(x.DimValue)}
			case *onnxpb.TensorShapeProto_Dimension_DimParam:
				v.Dims[i] = Dim{Value: -1, Param: x.DimParam}
			default:
				v.Dims[i] = Dim{Value: -1}
			}
		}
	}
	return v, nil
}

func attrFromProto(ap *onnxpb.AttributeProto) (Attr, error) {
	if ap.GetRefAttrName() != "" {
		return Attr{}, errorf(ErrUnsupported, "reference to function attribute %q", ap.GetRefAttrName())
	}
	switch ap.GetType() {
	case onnxpb.AttributeProto_FLOAT:
		return Attr{Type: AttrFloat, Float: ap.GetF()}, nil
	case onnxpb.AttributeProto_INT:
		return Attr{Type: AttrInt, Int: ap.GetI()}, nil
	case onnxpb.AttributeProto_STRING:
		return Attr{Type: AttrString, String: string(ap.GetS())}, nil
	case onnxpb.AttributeProto_TENSOR:
		if ap.GetT() == nil {
			return Attr{}, errorf(ErrParams, "tensor attribute without a tensor")
		}
		t, err := tensorFromProto(ap.GetT())
		if err != nil {
			return Attr{}, err
		}
		return Attr{Type: AttrTensor, Tensor: t}, nil
	case onnxpb.AttributeProto_FLOATS:
		return Attr{Type: AttrFloats, Floats: ap.GetFloats()}, nil
	case onnxpb.AttributeProto_INTS:
		return Attr{Type: AttrInts, Ints: ap.GetInts()}, nil
	case onnxpb.AttributeProto_STRINGS:
		s := make([]string, len(ap.GetStrings()))
		for i, b := range ap.GetStrings() {
			s[i] = string(b)
		}
		return Attr{Type: AttrStrings, Strings: s}, nil
	}
	return Attr{}, errorf(ErrUnsupported, "attribute type %v", ap.GetType())
}
