// Copied unchanged (apart from these two lines) from the project's ORT peer,
// /work/shared/peers/ort/onnx-builder.js.
'use strict';
// Minimal, dependency-free ONNX model encoder (hand-written protobuf wire format).
// Field numbers follow onnx/onnx.proto (proto2). Only the subset needed for
// single-node benchmark graphs is implemented.

const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 };
const DT_BYTES = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8 };

// ---- protobuf wire primitives ---------------------------------------------
function varint(v) {
  let b = BigInt(v);
  if (b < 0n) b += 1n << 64n; // int64 two's complement
  const out = [];
  do {
    let byte = Number(b & 0x7fn);
    b >>= 7n;
    if (b) byte |= 0x80;
    out.push(byte);
  } while (b);
  return Buffer.from(out);
}
const key = (field, wt) => varint((field << 3) | wt);
const fInt = (field, v) => Buffer.concat([key(field, 0), varint(v)]);
const fBytes = (field, buf) => Buffer.concat([key(field, 2), varint(buf.length), buf]);
const fStr = (field, s) => fBytes(field, Buffer.from(s, 'utf8'));
const fFloat = (field, x) => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(x);
  return Buffer.concat([key(field, 5), b]);
};
const cat = (parts) => Buffer.concat(parts.flat(Infinity).filter(Boolean));

// ---- ONNX messages ---------------------------------------------------------
// TensorProto: dims=1, data_type=2, name=8, raw_data=9
function tensor(name, dataType, dims, raw) {
  const data = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = dims.reduce((a, b) => a * b, 1);
  if (data.length !== n * DT_BYTES[dataType]) throw new Error(`tensor ${name}: bad raw size`);
  return cat([dims.map((d) => fInt(1, d)), fInt(2, dataType), fStr(8, name), fBytes(9, data)]);
}

// ValueInfoProto{name=1, type=2}; TypeProto{tensor_type=1}; Tensor{elem_type=1, shape=2};
// TensorShapeProto{dim=1}; Dimension{dim_value=1, dim_param=2}
function valueInfo(name, dataType, dims) {
  const shape = cat(dims.map((d) => fBytes(1, typeof d === 'number' ? fInt(1, d) : fStr(2, d))));
  const tensorType = cat([fInt(1, dataType), fBytes(2, shape)]);
  return cat([fStr(1, name), fBytes(2, fBytes(1, tensorType))]);
}

// AttributeProto{name=1, f=2, i=3, s=4, ints=8, type=20}; AttributeType FLOAT=1 INT=2 STRING=3 INTS=7
function attr(name, value) {
  if (Array.isArray(value)) return cat([fStr(1, name), value.map((v) => fInt(8, v)), fInt(20, 7)]);
  if (typeof value === 'string') return cat([fStr(1, name), fStr(4, value), fInt(20, 3)]);
  if (Number.isInteger(value) || typeof value === 'bigint') return cat([fStr(1, name), fInt(3, value), fInt(20, 2)]);
  if (typeof value === 'object' && value && 'float' in value) return cat([fStr(1, name), fFloat(2, value.float), fInt(20, 1)]);
  throw new Error(`unsupported attribute ${name}`);
}

// NodeProto{input=1, output=2, name=3, op_type=4, attribute=5, domain=7}
function node(opType, inputs, outputs, attrs = {}, name = opType + '_0', domain = '') {
  return cat([
    inputs.map((s) => fStr(1, s)),
    outputs.map((s) => fStr(2, s)),
    fStr(3, name),
    fStr(4, opType),
    Object.entries(attrs).map(([k, v]) => fBytes(5, attr(k, v))),
    domain ? fStr(7, domain) : null,
  ]);
}

// GraphProto{node=1, name=2, initializer=5, input=11, output=12}
function graph({ name, nodes, initializers = [], inputs, outputs }) {
  return cat([
    nodes.map((n) => fBytes(1, n)),
    fStr(2, name),
    initializers.map((t) => fBytes(5, t)),
    inputs.map((v) => fBytes(11, v)),
    outputs.map((v) => fBytes(12, v)),
  ]);
}

// ModelProto{ir_version=1, producer_name=2, producer_version=3, graph=7, opset_import=8}
// OperatorSetIdProto{domain=1, version=2}
function model(graphBuf, { opset = 13, irVersion = 7 } = {}) {
  return cat([
    fInt(1, irVersion),
    fStr(2, 'ort-peer-onnx-builder'),
    fStr(3, '1'),
    fBytes(7, graphBuf),
    fBytes(8, cat([fStr(1, ''), fInt(2, opset)])),
  ]);
}

module.exports = { DT, tensor, valueInfo, node, graph, model };
