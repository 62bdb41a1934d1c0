package onnx

import (
	"fmt"

	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// NodeName names node n for messages: `node "conv1" (Conv)` when it has a
// name, else `node 3 (Conv)` with its index in its graph (index < 0: just
// `Conv node`).
func NodeName(n *onnxpb.NodeProto, index int) string {
	switch {
	case n.GetName() != "":
		return fmt.Sprintf("node %q (%s)", n.GetName(), n.GetOpType())
	case index >= 0:
		return fmt.Sprintf("node %d (%s)", index, n.GetOpType())
	}
	return n.GetOpType() + " node"
}

// OpsetVersion returns the version of domain that m imports ("" and
// "ai.onnx" both name the default domain), and false if m does not import
// it.
func OpsetVersion(m *onnxpb.ModelProto, domain string) (int64, bool) {
	for _, o := range m.GetOpsetImport() {
		if o.GetDomain() == domain || isDefaultDomain(o.GetDomain()) && isDefaultDomain(domain) {
			return o.GetVersion(), true
		}
	}
	return 0, false
}

// HasAttr reports whether n has an attribute named name.
func HasAttr(n *onnxpb.NodeProto, name string) bool { return findAttr(n, name) != nil }

func findAttr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// attr returns n's attribute name if it has type want, nil if n has no
// such attribute, or an ErrInvalid error naming the node when it has
// another type (or refers to a function's attribute).
func attr(n *onnxpb.NodeProto, name string, want onnxpb.AttributeProto_AttributeType) (*onnxpb.AttributeProto, error) {
	a := findAttr(n, name)
	if a == nil {
		return nil, nil
	}
	if a.GetRefAttrName() != "" {
		return nil, errorf(ErrUnsupported, "%s: attribute %q refers to function attribute %q", NodeName(n, -1), name, a.GetRefAttrName())
	}
	if a.GetType() != want {
		return nil, errorf(ErrInvalid, "%s: attribute %q is %v, want %v", NodeName(n, -1), name, a.GetType(), want)
	}
	return a, nil
}

// AttrInt returns n's INT attribute name, or def when n has none.
func AttrInt(n *onnxpb.NodeProto, name string, def int64) (int64, error) {
	a, err := attr(n, name, onnxpb.AttributeProto_INT)
	if a == nil || err != nil {
		return def, err
	}
	return a.GetI(), nil
}

// AttrInts returns n's INTS attribute name, or def when n has none.
func AttrInts(n *onnxpb.NodeProto, name string, def []int64) ([]int64, error) {
	a, err := attr(n, name, onnxpb.AttributeProto_INTS)
	if a == nil || err != nil {
		return def, err
	}
	return a.GetInts(), nil
}

// AttrFloat returns n's FLOAT attribute name, or def when n has none.
func AttrFloat(n *onnxpb.NodeProto, name string, def float32) (float32, error) {
	a, err := attr(n, name, onnxpb.AttributeProto_FLOAT)
	if a == nil || err != nil {
		return def, err
	}
	return a.GetF(), nil
}

// AttrFloats returns n's FLOATS attribute name, or def when n has none.
func AttrFloats(n *onnxpb.NodeProto, name string, def []float32) ([]float32, error) {
	a, err := attr(n, name, onnxpb.AttributeProto_FLOATS)
	if a == nil || err != nil {
		return def, err
	}
	return a.GetFloats(), nil
}

// AttrString returns n's STRING attribute name, or def when n has none.
func AttrString(n *onnxpb.NodeProto, name string, def string) (string, error) {
	a, err := attr(n, name, onnxpb.AttributeProto_STRING)
	if a == nil || err != nil {
		return def, err
	}
	return string(a.GetS()), nil
}

// AttrStrings returns n's STRINGS attribute name, or def when n has none.
func AttrStrings(n *onnxpb.NodeProto, name string, def []string) ([]string, error) {
	a, err := attr(n, name, onnxpb.AttributeProto_STRINGS)
	if a == nil || err != nil {
		return def, err
	}
	out := make([]string, len(a.GetStrings()))
	for i, s := range a.GetStrings() {
		out[i] = string(s)
	}
	return out, nil
}

// AttrTensor returns n's TENSOR attribute name (a Constant's value, say),
// converted (TensorFromProto). Unlike the scalar getters it has no
// default: a missing attribute is an ErrInvalid error.
func AttrTensor(n *onnxpb.NodeProto, name string) (*Tensor, error) {
	a, err := attr(n, name, onnxpb.AttributeProto_TENSOR)
	if err != nil {
		return nil, err
	}
	if a == nil || a.GetT() == nil {
		return nil, errorf(ErrInvalid, "%s: attribute %q missing", NodeName(n, -1), name)
	}
	t, err := TensorFromProto(a.GetT())
	if err != nil {
		return nil, fmt.Errorf("%w (%s, attribute %q)", err, NodeName(n, -1), name)
	}
	return t, nil
}

// AttrGraph returns n's GRAPH attribute name (an If branch, a Loop body).
// A missing attribute is an ErrInvalid error.
func AttrGraph(n *onnxpb.NodeProto, name string) (*onnxpb.GraphProto, error) {
	a, err := attr(n, name, onnxpb.AttributeProto_GRAPH)
	if err != nil {
		return nil, err
	}
	if a == nil || a.GetG() == nil {
		return nil, errorf(ErrInvalid, "%s: attribute %q missing", NodeName(n, -1), name)
	}
	return a.GetG(), nil
}
