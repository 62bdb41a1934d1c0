#!/usr/bin/env node
'use strict';
// ort_run.js: runs an ONNX model with one float32 input on ONNX Runtime's CPU
// execution provider (onnxruntime-node from bench/peers; bench/peers/deps.sh
// installs it) and writes its first output as a float32 .npy file.
//
//   node ort_run.js MODEL.onnx IN.npy OUT.npy [BATCH]
//
// IN.npy is float32, C order, samples on axis 0; the samples run in chunks
// of BATCH (default 500) and the outputs are concatenated along axis 0.
// One intra-op thread, all graph optimizations (ORT fuses the QDQ
// patterns into its quantized kernels, as a deployment would).
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, '../../../../bench/peers/node_modules/onnxruntime-node'));

function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not an .npy file`);
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = b.toString('latin1', start, start + hlen);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header)) {
    throw new Error(`${file}: want little-endian float32 in C order, header ${header}`);
  }
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').filter((s) => s.trim() !== '').map(Number);
  const off = start + hlen;
  const n = shape.reduce((a, c) => a * c, 1);
  const data = new Float32Array(b.buffer.slice(b.byteOffset + off, b.byteOffset + off + 4 * n));
  return { shape, data };
}

function writeNpy(file, shape, data) {
  let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + h.length + 1) % 64);
  h = h + ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(h.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(h, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

async function main() {
  const [model, inFile, outFile, batchArg] = process.argv.slice(2);
  if (!outFile) throw new Error('usage: node ort_run.js MODEL.onnx IN.npy OUT.npy [BATCH]');
  const batch = Number(batchArg || 500);
  const x = readNpy(inFile);
  const sess = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const per = x.shape.slice(1).reduce((a, c) => a * c, 1);
  const n = x.shape[0];
  const parts = [];
  let outShape = null;
  for (let i = 0; i < n; i += batch) {
    const b = Math.min(batch, n - i);
    const t = new ort.Tensor('float32', x.data.subarray(i * per, (i + b) * per), [b, ...x.shape.slice(1)]);
    const out = await sess.run({ [sess.inputNames[0]]: t });
    const y = out[sess.outputNames[0]];
    outShape = y.dims.slice(1);
    parts.push(Float32Array.from(y.data));
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const all = new Float32Array(total);
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  writeNpy(outFile, [n, ...outShape], all);
}

main().catch((e) => { console.error(`ort_run: ${e.message}`); process.exit(1); });
