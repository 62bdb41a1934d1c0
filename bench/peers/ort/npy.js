'use strict';
// Minimal NumPy .npy reader/writer (format versions 1.0-3.0, C order, little endian)
// for the dtypes ONNX Runtime tensors use.

const DTYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '|i1': ['int8', Int8Array], '|u1': ['uint8', Uint8Array], '|b1': ['bool', Uint8Array],
  '<i2': ['int16', Int16Array], '<u2': ['uint16', Uint16Array],
  '<i4': ['int32', Int32Array], '<u4': ['uint32', Uint32Array],
  '<i8': ['int64', BigInt64Array], '<u8': ['uint64', BigUint64Array],
};
const DESCR_OF = Object.fromEntries(Object.entries(DTYPES).map(([d, [t]]) => [t, d]));
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

// Parses a .npy file's bytes into { type, dims, data } (data a fresh TypedArray).
function parse(buf, name = 'npy') {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error(`${name}: not a .npy file`);
  const major = buf[6];
  let hlen, off;
  if (major === 1) { hlen = buf.readUInt16LE(8); off = 10; } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new Error(`${name}: truncated header`);
    hlen = buf.readUInt32LE(8); off = 12;
  } else throw new Error(`${name}: unsupported .npy version ${major}`);
  if (off + hlen > buf.length) throw new Error(`${name}: truncated header`);
  const header = buf.subarray(off, off + hlen).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new Error(`${name}: bad header ${JSON.stringify(header)}`);
  if (fortran[1] === 'True') throw new Error(`${name}: Fortran order is not supported`);
  let d = descr[1];
  if (d === '<b1') d = '|b1';
  if (d === '<i1') d = '|i1';
  if (d === '<u1') d = '|u1';
  const dt = DTYPES[d];
  if (!dt) throw new Error(`${name}: unsupported dtype ${descr[1]} (little-endian numeric only)`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map((s) => {
    const v = Number(s.replace(/L$/, ''));
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${name}: bad dimension ${s}`);
    return v;
  });
  const count = dims.reduce((a, b) => a * b, 1);
  const [type, Arr] = dt;
  const start = off + hlen;
  const bytes = count * Arr.BYTES_PER_ELEMENT;
  if (start + bytes > buf.length) throw new Error(`${name}: ${buf.length - start} data bytes, want ${bytes}`);
  const data = new Arr(count);
  Buffer.from(data.buffer).set(buf.subarray(start, start + bytes));
  return { type, dims, data };
}

// Serializes { type, dims, data } as a version 1.0 .npy file.
function format({ type, dims, data }) {
  const descr = DESCR_OF[type];
  if (!descr) throw new Error(`npy: cannot write tensor type ${type}`);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  MAGIC.copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

module.exports = { parse, format };
