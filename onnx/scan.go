package onnx

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// scanner walks the protobuf wire data of a model before it is unmarshalled,
// with the schema's descriptors, counting the messages of each kind and the
// nesting depth. It allocates nothing, so a model whose decoded form would
// be huge (millions of tiny messages: an empty NodeProto is two bytes on the
// wire and a few hundred in memory) is refused before proto.Unmarshal
// builds it. What the scan passes, Unmarshal allocates about len(data)
// bytes for plus a few hundred bytes per message (see the package
// documentation).
type scanner struct {
	l                           limits
	nodes, attrs, tensors, msgs int
}

const (
	nameGraph  protoreflect.FullName = "onnx.GraphProto"
	nameNode   protoreflect.FullName = "onnx.NodeProto"
	nameAttr   protoreflect.FullName = "onnx.AttributeProto"
	nameTensor protoreflect.FullName = "onnx.TensorProto"
)

// scan walks the message md encoded in b, at message depth depth (the
// top-level message is 1) inside graphs graphs deep.
func (s *scanner) scan(b []byte, md protoreflect.MessageDescriptor, depth, graphs int) error {
	if depth > s.l.maxMsgDepth {
		return errorf(ErrLimit, "messages nested more than %d deep", s.l.maxMsgDepth)
	}
	switch md.FullName() {
	case nameGraph:
		graphs++
		if graphs > s.l.MaxGraphDepth {
			return errorf(ErrLimit, "graphs nested more than %d deep (MaxGraphDepth)", s.l.MaxGraphDepth)
		}
	case nameNode:
		if s.nodes++; s.nodes > s.l.MaxNodes {
			return errorf(ErrLimit, "more than %d nodes (MaxNodes)", s.l.MaxNodes)
		}
	case nameAttr:
		if s.attrs++; s.attrs > s.l.MaxAttributes {
			return errorf(ErrLimit, "more than %d attributes (MaxAttributes)", s.l.MaxAttributes)
		}
	case nameTensor:
		if s.tensors++; s.tensors > s.l.MaxTensors {
			return errorf(ErrLimit, "more than %d tensors (MaxTensors)", s.l.MaxTensors)
		}
	}
	if s.msgs++; s.msgs > s.l.MaxMessages {
		return errorf(ErrLimit, "more than %d protobuf messages (MaxMessages)", s.l.MaxMessages)
	}
	fields := md.Fields()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errorf(ErrInvalid, "protobuf: %s: %v", md.Name(), protowire.ParseError(n))
		}
		b = b[n:]
		fd := fields.ByNumber(num)
		if fd != nil && fd.Kind() == protoreflect.MessageKind && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errorf(ErrInvalid, "protobuf: %s.%s: %v", md.Name(), fd.Name(), protowire.ParseError(n))
			}
			if err := s.scan(v, fd.Message(), depth+1, graphs); err != nil {
				return err
			}
			b = b[n:]
			continue
		}
		// Scalars, strings, packed arrays and unknown fields (those of IR
		// versions 9 and 10, kept as bytes). Groups do not occur in ONNX;
		// protowire bounds their nesting itself.
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return errorf(ErrInvalid, "protobuf: %s field %d: %v", md.Name(), num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return nil
}
