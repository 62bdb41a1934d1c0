package onnx

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/onnx/onnxpb"
)

func attrNode() *onnxpb.NodeProto {
	c, _ := NewTensor("c", []int{2}, []int64{4, 5})
	a := func(name string, ty onnxpb.AttributeProto_AttributeType) *onnxpb.AttributeProto {
		return &onnxpb.AttributeProto{Name: proto.String(name), Type: ty.Enum()}
	}
	i, is, f, fs, s, ss, tt, g := a("group", onnxpb.AttributeProto_INT), a("pads", onnxpb.AttributeProto_INTS),
		a("alpha", onnxpb.AttributeProto_FLOAT), a("scales", onnxpb.AttributeProto_FLOATS),
		a("mode", onnxpb.AttributeProto_STRING), a("dirs", onnxpb.AttributeProto_STRINGS),
		a("value", onnxpb.AttributeProto_TENSOR), a("body", onnxpb.AttributeProto_GRAPH)
	i.I = proto.Int64(4)
	is.Ints = []int64{1, 0, 1, 0}
	f.F = proto.Float32(0.25)
	fs.Floats = []float32{2, 3}
	s.S = []byte("nearest")
	ss.Strings = [][]byte{[]byte("forward"), []byte("reverse")}
	tt.T = c
	g.G = &onnxpb.GraphProto{Name: proto.String("b")}
	return &onnxpb.NodeProto{OpType: proto.String("Custom"), Attribute: []*onnxpb.AttributeProto{i, is, f, fs, s, ss, tt, g,
		{Name: proto.String("ref"), RefAttrName: proto.String("outer"), Type: onnxpb.AttributeProto_INT.Enum()}}}
}

func TestAttrGetters(t *testing.T) {
	n := attrNode()
	if v, err := AttrInt(n, "group", 1); err != nil || v != 4 {
		t.Errorf("group = %d, %v", v, err)
	}
	if v, err := AttrInt(n, "missing", 1); err != nil || v != 1 {
		t.Errorf("default = %d, %v", v, err)
	}
	if v, err := AttrInts(n, "pads", nil); err != nil || !equal(v, []int64{1, 0, 1, 0}) {
		t.Errorf("pads = %v, %v", v, err)
	}
	if v, err := AttrInts(n, "strides", []int64{1, 1}); err != nil || !equal(v, []int64{1, 1}) {
		t.Errorf("strides default = %v, %v", v, err)
	}
	if v, err := AttrFloat(n, "alpha", 1); err != nil || v != 0.25 {
		t.Errorf("alpha = %v, %v", v, err)
	}
	if v, err := AttrFloats(n, "scales", nil); err != nil || !equal(v, []float32{2, 3}) {
		t.Errorf("scales = %v, %v", v, err)
	}
	if v, err := AttrString(n, "mode", "linear"); err != nil || v != "nearest" {
		t.Errorf("mode = %v, %v", v, err)
	}
	if v, err := AttrStrings(n, "dirs", nil); err != nil || !equal(v, []string{"forward", "reverse"}) {
		t.Errorf("dirs = %v, %v", v, err)
	}
	if v, err := AttrTensor(n, "value"); err != nil || !equal(must1(v.Ints()), []int64{4, 5}) {
		t.Errorf("value = %v, %v", v, err)
	}
	if v, err := AttrGraph(n, "body"); err != nil || v.GetName() != "b" {
		t.Errorf("body = %v, %v", v, err)
	}
	if !HasAttr(n, "body") || HasAttr(n, "nope") {
		t.Error("HasAttr")
	}
	// Wrong types, missing required attributes, function references.
	for _, c := range []struct {
		err  error
		msg  string
		call func() error
	}{
		{ErrInvalid, `Custom node: attribute "alpha" is FLOAT, want INT`, func() error { _, err := AttrInt(n, "alpha", 0); return err }},
		{ErrInvalid, `attribute "group" is INT, want INTS`, func() error { _, err := AttrInts(n, "group", nil); return err }},
		{ErrInvalid, `attribute "mode" is STRING, want FLOAT`, func() error { _, err := AttrFloat(n, "mode", 0); return err }},
		{ErrInvalid, `attribute "scales" is FLOATS, want STRING`, func() error { _, err := AttrString(n, "scales", ""); return err }},
		{ErrInvalid, `attribute "body" is GRAPH, want TENSOR`, func() error { _, err := AttrTensor(n, "body"); return err }},
		{ErrInvalid, `attribute "then_branch" missing`, func() error { _, err := AttrGraph(n, "then_branch"); return err }},
		{ErrInvalid, `attribute "value" missing`, func() error {
			_, err := AttrTensor(&onnxpb.NodeProto{OpType: proto.String("Constant")}, "value")
			return err
		}},
		{ErrUnsupported, `attribute "ref" refers to function attribute "outer"`, func() error { _, err := AttrInt(n, "ref", 0); return err }},
	} {
		err := c.call()
		if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("got %v, want %v containing %q", err, c.err, c.msg)
		}
	}
}

func TestNodeNameAndOpset(t *testing.T) {
	named := &onnxpb.NodeProto{Name: proto.String("conv1"), OpType: proto.String("Conv")}
	anon := &onnxpb.NodeProto{OpType: proto.String("Relu")}
	for _, c := range []struct{ got, want string }{
		{NodeName(named, 3), `node "conv1" (Conv)`},
		{NodeName(anon, 3), "node 3 (Relu)"},
		{NodeName(anon, -1), "Relu node"},
	} {
		if c.got != c.want {
			t.Errorf("NodeName = %q, want %q", c.got, c.want)
		}
	}
	m := testModel(t)
	m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String("com.microsoft"), Version: proto.Int64(1)})
	for _, c := range []struct {
		domain string
		v      int64
		ok     bool
	}{{"", 17, true}, {"ai.onnx", 17, true}, {"com.microsoft", 1, true}, {"ai.onnx.ml", 0, false}} {
		if v, ok := OpsetVersion(m, c.domain); v != c.v || ok != c.ok {
			t.Errorf("OpsetVersion(%q) = %d, %v", c.domain, v, ok)
		}
	}
}
