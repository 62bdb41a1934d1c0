package onnx

import (
	"fmt"

	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// checker validates a decoded model and resolves its external data.
type checker struct {
	l   limits
	ext *externalFiles // opened on first use
}

func newChecker(l limits) *checker { return &checker{l: l} }

func (c *checker) close() {
	if c.ext != nil {
		c.ext.close()
	}
}

// isDefaultDomain reports whether d names ONNX's default operator set.
func isDefaultDomain(d string) bool { return d == "" || d == "ai.onnx" }

func checkModel(m *onnxpb.ModelProto, l limits) error {
	ir := m.GetIrVersion()
	if m.IrVersion == nil {
		return errorf(ErrInvalid, "ir_version missing")
	}
	if ir < MinIRVersion || ir > MaxIRVersion {
		return errorf(ErrUnsupported, "IR version %d (accepted: %d to %d)", ir, MinIRVersion, MaxIRVersion)
	}
	domains, err := opsets(m.GetOpsetImport(), "model")
	if err != nil {
		return err
	}
	if v, ok := domains[""]; ok && (v < MinOpset || v > MaxOpset) {
		return errorf(ErrUnsupported, "opset %d of the default domain ai.onnx (accepted: %d to %d)", v, MinOpset, MaxOpset)
	}
	if m.GetGraph() == nil {
		return errorf(ErrInvalid, "model has no graph")
	}
	c := newChecker(l)
	defer c.close()
	if err := c.graph(m.GetGraph(), "graph", domains, false); err != nil {
		return err
	}
	for i, f := range m.GetFunctions() {
		where := fmt.Sprintf("function %d (%q)", i, f.GetName())
		fd, err := opsets(f.GetOpsetImport(), where)
		if err != nil {
			return err
		}
		for j, n := range f.GetNode() {
			if err := c.node(n, j, where, fd, true); err != nil {
				return err
			}
		}
	}
	for i, t := range m.GetTrainingInfo() {
		where := fmt.Sprintf("training_info %d", i)
		if g := t.GetInitialization(); g != nil {
			if err := c.graph(g, where+" initialization", domains, false); err != nil {
				return err
			}
		}
		if g := t.GetAlgorithm(); g != nil {
			if err := c.graph(g, where+" algorithm", domains, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// opsets maps each imported domain ("" for ai.onnx) to its version.
func opsets(imports []*onnxpb.OperatorSetIdProto, where string) (map[string]int64, error) {
	m := make(map[string]int64, len(imports))
	for _, o := range imports {
		d := o.GetDomain()
		if isDefaultDomain(d) {
			d = ""
		}
		if _, dup := m[d]; dup {
			return nil, errorf(ErrInvalid, "%s imports domain %q twice", where, o.GetDomain())
		}
		if o.GetVersion() < 1 {
			return nil, errorf(ErrInvalid, "%s imports domain %q at version %d", where, o.GetDomain(), o.GetVersion())
		}
		m[d] = o.GetVersion()
	}
	return m, nil
}

// graph checks g and its subgraphs. inFunction is set inside a function
// body, where attributes may refer to the function's attributes.
func (c *checker) graph(g *onnxpb.GraphProto, where string, domains map[string]int64, inFunction bool) error {
	if g.GetName() != "" {
		where = fmt.Sprintf("%s %q", where, g.GetName())
	}
	names := make(map[string]bool, len(g.GetInitializer())+len(g.GetSparseInitializer()))
	for i, t := range g.GetInitializer() {
		w := fmt.Sprintf("%s: initializer %d (%q)", where, i, t.GetName())
		if t.GetName() == "" {
			return errorf(ErrInvalid, "%s has no name", w)
		}
		if names[t.GetName()] {
			return errorf(ErrInvalid, "%s: name used twice", w)
		}
		names[t.GetName()] = true
		if err := c.tensor(t, w); err != nil {
			return err
		}
	}
	for i, s := range g.GetSparseInitializer() {
		w := fmt.Sprintf("%s: sparse initializer %d", where, i)
		name := s.GetValues().GetName()
		if name == "" {
			return errorf(ErrInvalid, "%s has no name", w)
		}
		if names[name] {
			return errorf(ErrInvalid, "%s: name %q used twice", w, name)
		}
		names[name] = true
		if err := c.sparse(s, w); err != nil {
			return err
		}
	}
	for _, list := range [][]*onnxpb.ValueInfoProto{g.GetInput(), g.GetOutput(), g.GetValueInfo()} {
		for _, v := range list {
			if err := checkType(v.GetType(), fmt.Sprintf("%s: value %q", where, v.GetName())); err != nil {
				return err
			}
		}
	}
	for i, n := range g.GetNode() {
		if err := c.node(n, i, where, domains, inFunction); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) node(n *onnxpb.NodeProto, index int, where string, domains map[string]int64, inFunction bool) error {
	where = where + ": " + NodeName(n, index)
	if n.GetOpType() == "" {
		return errorf(ErrInvalid, "%s has no op_type", where)
	}
	d := n.GetDomain()
	if isDefaultDomain(d) {
		d = ""
	}
	if _, ok := domains[d]; !ok {
		name := n.GetDomain()
		if d == "" {
			name = "ai.onnx"
		}
		return errorf(ErrInvalid, "%s uses domain %s, which is not imported", where, name)
	}
	seen := make(map[string]bool, len(n.GetAttribute()))
	for _, a := range n.GetAttribute() {
		if seen[a.GetName()] {
			return errorf(ErrInvalid, "%s: attribute %q given twice", where, a.GetName())
		}
		seen[a.GetName()] = true
		if err := c.attribute(a, where, domains, inFunction); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) attribute(a *onnxpb.AttributeProto, where string, domains map[string]int64, inFunction bool) error {
	where = fmt.Sprintf("%s: attribute %q", where, a.GetName())
	if a.GetName() == "" {
		return errorf(ErrInvalid, "%s: attribute without a name", where)
	}
	if a.GetRefAttrName() != "" {
		if !inFunction {
			return errorf(ErrInvalid, "%s refers to a function attribute outside a function", where)
		}
		return nil
	}
	switch a.GetType() {
	case onnxpb.AttributeProto_FLOAT, onnxpb.AttributeProto_INT, onnxpb.AttributeProto_STRING,
		onnxpb.AttributeProto_FLOATS, onnxpb.AttributeProto_INTS, onnxpb.AttributeProto_STRINGS:
	case onnxpb.AttributeProto_TENSOR:
		if a.GetT() == nil {
			return errorf(ErrInvalid, "%s of type TENSOR has no tensor", where)
		}
	case onnxpb.AttributeProto_GRAPH:
		if a.GetG() == nil {
			return errorf(ErrInvalid, "%s of type GRAPH has no graph", where)
		}
	case onnxpb.AttributeProto_SPARSE_TENSOR:
		if a.GetSparseTensor() == nil {
			return errorf(ErrInvalid, "%s of type SPARSE_TENSOR has no sparse tensor", where)
		}
	case onnxpb.AttributeProto_TENSORS, onnxpb.AttributeProto_GRAPHS, onnxpb.AttributeProto_SPARSE_TENSORS,
		onnxpb.AttributeProto_TYPE_PROTO, onnxpb.AttributeProto_TYPE_PROTOS:
	default:
		return errorf(ErrInvalid, "%s has type %d", where, int32(a.GetType()))
	}
	if t := a.GetT(); t != nil {
		if err := c.tensor(t, where); err != nil {
			return err
		}
	}
	for i, t := range a.GetTensors() {
		if err := c.tensor(t, fmt.Sprintf("%s tensor %d", where, i)); err != nil {
			return err
		}
	}
	if s := a.GetSparseTensor(); s != nil {
		if err := c.sparse(s, where); err != nil {
			return err
		}
	}
	for i, s := range a.GetSparseTensors() {
		if err := c.sparse(s, fmt.Sprintf("%s sparse tensor %d", where, i)); err != nil {
			return err
		}
	}
	if g := a.GetG(); g != nil {
		if err := c.graph(g, where+": subgraph", domains, inFunction); err != nil {
			return err
		}
	}
	for i, g := range a.GetGraphs() {
		if err := c.graph(g, fmt.Sprintf("%s: subgraph %d", where, i), domains, inFunction); err != nil {
			return err
		}
	}
	if err := checkType(a.GetTp(), where); err != nil {
		return err
	}
	for _, t := range a.GetTypeProtos() {
		if err := checkType(t, where); err != nil {
			return err
		}
	}
	return nil
}

// checkType checks the tensor types in t: a known element type (or none)
// and a shape of at most MaxRank dims, none negative.
func checkType(t *onnxpb.TypeProto, where string) error {
	for t != nil {
		switch v := t.GetValue().(type) {
		case *onnxpb.TypeProto_TensorType:
			return checkTensorType(v.TensorType.GetElemType(), v.TensorType.GetShape(), where)
		case *onnxpb.TypeProto_SparseTensorType:
			return checkTensorType(v.SparseTensorType.GetElemType(), v.SparseTensorType.GetShape(), where)
		case *onnxpb.TypeProto_SequenceType:
			t = v.SequenceType.GetElemType()
		case *onnxpb.TypeProto_OptionalType:
			t = v.OptionalType.GetElemType()
		case *onnxpb.TypeProto_MapType:
			t = v.MapType.GetValueType()
		default:
			return nil
		}
	}
	return nil
}

func checkTensorType(elem int32, shape *onnxpb.TensorShapeProto, where string) error {
	if dt := DataType(elem); dt != Undefined && !dt.Valid() {
		return errorf(ErrInvalid, "%s has element type %d", where, elem)
	}
	if shape == nil {
		return nil
	}
	if len(shape.GetDim()) > MaxRank {
		return errorf(ErrInvalid, "%s has %d dims, more than %d", where, len(shape.GetDim()), MaxRank)
	}
	for i, d := range shape.GetDim() {
		if v, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && v.DimValue < 0 {
			return errorf(ErrInvalid, "%s: dim %d is negative (%d)", where, i, v.DimValue)
		}
	}
	return nil
}

// sparse checks a sparse tensor: its dims, and its values and indices as
// tensors (values 1-D of NNZ elements, indices INT64 of NNZ or NNZ x rank).
func (c *checker) sparse(s *onnxpb.SparseTensorProto, where string) error {
	dims := s.GetDims()
	if len(dims) > MaxRank {
		return errorf(ErrInvalid, "%s has %d dims, more than %d", where, len(dims), MaxRank)
	}
	if _, err := numElements(dims); err != nil {
		return errorf(ErrInvalid, "%s: %v", where, err)
	}
	v, ix := s.GetValues(), s.GetIndices()
	if v == nil || ix == nil {
		return errorf(ErrInvalid, "%s lacks values or indices", where)
	}
	if err := c.tensor(v, where+" values"); err != nil {
		return err
	}
	if err := c.tensor(ix, where+" indices"); err != nil {
		return err
	}
	if len(v.GetDims()) != 1 {
		return errorf(ErrInvalid, "%s: values have %d dims, want 1", where, len(v.GetDims()))
	}
	nnz := v.GetDims()[0]
	id := ix.GetDims()
	if DataType(ix.GetDataType()) != Int64 ||
		!(len(id) == 1 && id[0] == nnz || len(id) == 2 && id[0] == nnz && id[1] == int64(len(dims))) {
		return errorf(ErrInvalid, "%s: indices of type %v and dims %v do not fit %d values of rank %d",
			where, DataType(ix.GetDataType()), id, nnz, len(dims))
	}
	return nil
}

// numElements returns the element count of dims, checking that every dim
// is non-negative and that the product of the non-zero dims fits in an
// int (so strides computed from the dims cannot overflow either).
func numElements(dims []int64) (int, error) {
	n, zero := 1, false
	for i, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("dim %d is negative (%d)", i, d)
		}
		if d == 0 {
			zero = true
			continue
		}
		if int64(n) > int64(maxInt)/d {
			return 0, fmt.Errorf("element count of dims %v overflows", dims)
		}
		n *= int(d)
	}
	if zero {
		return 0, nil
	}
	return n, nil
}

// tensor checks one TensorProto: a known element type, at most MaxRank
// non-negative dims, no segment, and exactly the data its dims need, in
// raw_data or the typed field that belongs to its type. External data is
// read into raw_data first.
func (c *checker) tensor(t *onnxpb.TensorProto, where string) error {
	if t.GetName() != "" && where == "tensor" {
		where = fmt.Sprintf("tensor %q", t.GetName())
	}
	dt := DataType(t.GetDataType())
	if !dt.Valid() {
		return errorf(ErrInvalid, "%s has element type %d", where, t.GetDataType())
	}
	if len(t.GetDims()) > MaxRank {
		return errorf(ErrInvalid, "%s has %d dims, more than %d", where, len(t.GetDims()), MaxRank)
	}
	n, err := numElements(t.GetDims())
	if err != nil {
		return errorf(ErrInvalid, "%s: %v", where, err)
	}
	if dt != String && dt.rawBytes(n) < 0 {
		return errorf(ErrInvalid, "%s: %d elements of type %v overflow an int of bytes", where, n, dt)
	}
	if t.GetSegment() != nil {
		return errorf(ErrUnsupported, "%s is a segment of a larger tensor", where)
	}
	switch t.GetDataLocation() {
	case onnxpb.TensorProto_DEFAULT:
		if len(t.GetExternalData()) > 0 {
			return errorf(ErrInvalid, "%s has external_data entries but data_location DEFAULT", where)
		}
	case onnxpb.TensorProto_EXTERNAL:
		if err := c.external(t, dt, n, where); err != nil {
			return err
		}
	default:
		return errorf(ErrInvalid, "%s has data_location %d", where, int32(t.GetDataLocation()))
	}
	return checkData(t, dt, n, where)
}

// checkData checks that exactly one data field holds exactly the data of
// n elements of type dt.
func checkData(t *onnxpb.TensorProto, dt DataType, n int, where string) error {
	fields := [...]struct {
		name string
		len  int
	}{
		{"raw_data", len(t.GetRawData())},
		{"float_data", len(t.GetFloatData())},
		{"int32_data", len(t.GetInt32Data())},
		{"string_data", len(t.GetStringData())},
		{"int64_data", len(t.GetInt64Data())},
		{"double_data", len(t.GetDoubleData())},
		{"uint64_data", len(t.GetUint64Data())},
	}
	used := -1
	for i, f := range fields {
		if f.len == 0 {
			continue
		}
		if used >= 0 {
			return errorf(ErrInvalid, "%s has both %s and %s", where, fields[used].name, f.name)
		}
		used = i
	}
	if used < 0 {
		if n == 0 {
			return nil
		}
		return errorf(ErrInvalid, "%s of type %v and dims %v has no data", where, dt, t.GetDims())
	}
	f := fields[used]
	want := fieldEntries(f.name, dt, n)
	if want < 0 {
		return errorf(ErrInvalid, "%s of type %v has %s", where, dt, f.name)
	}
	if f.len != want {
		return errorf(ErrInvalid, "%s of type %v and dims %v has %d entries in %s, want %d",
			where, dt, t.GetDims(), f.len, f.name, want)
	}
	return nil
}

// fieldEntries returns how many entries the data field name holds for n
// elements of type dt, or -1 when the field cannot hold dt.
func fieldEntries(name string, dt DataType, n int) int {
	switch name {
	case "raw_data":
		return dt.rawBytes(n) // -1 for STRING
	case "float_data":
		switch dt {
		case Float:
			return n
		case Complex64:
			return pairs(n)
		}
	case "double_data":
		switch dt {
		case Double:
			return n
		case Complex128:
			return pairs(n)
		}
	case "int32_data":
		switch dt {
		case Int32, Int16, Int8, Uint16, Uint8, Bool, Float16, BFloat16,
			Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ:
			return n
		case Uint4, Int4: // two per entry, in its low byte
			return n/2 + n%2
		}
	case "string_data":
		if dt == String {
			return n
		}
	case "int64_data":
		if dt == Int64 {
			return n
		}
	case "uint64_data":
		if dt == Uint32 || dt == Uint64 {
			return n
		}
	}
	return -1
}

// pairs returns 2n, or -1 when that overflows.
func pairs(n int) int {
	if n > maxInt/2 {
		return -1
	}
	return 2 * n
}
