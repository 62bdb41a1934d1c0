'use strict';
// Generates the ONNX Runtime oracle fixtures for `qgpu run` (see README.md):
// for every case, a single-node ONNX model whose inputs are all graph
// inputs, run on ORT's CPU execution provider; the inputs and ORT's outputs
// are written as .npy files under cases/<name>/, and the case list to
// manifest.json. The Go test ort_test.go runs `qgpu run` on the same inputs
// and compares.
//
//   cd cmd/qgpu/testdata/ort && npm ci --ignore-scripts && node gen.js

const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');
const { DT, tensor, valueInfo, node, graph, model } = require('../../../../bench/peers/ort/onnx-builder'); // the vendored ORT harness's encoder

// mulberry32, as in the peer's models.js.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = {
  float32: { dt: DT.FLOAT, descr: '<f4', Arr: Float32Array },
  uint8: { dt: DT.UINT8, descr: '|u1', Arr: Uint8Array },
  int8: { dt: DT.INT8, descr: '|i1', Arr: Int8Array },
  int32: { dt: DT.INT32, descr: '<i4', Arr: Int32Array },
};

const numel = (dims) => dims.reduce((a, b) => a * b, 1);
const arr = (type, dims, values) => {
  const a = new TYPES[type].Arr(numel(dims));
  if (values.length !== a.length) throw new Error(`${values.length} values for ${dims}`);
  a.set(values);
  return { type, dims, data: a };
};
const randU8 = (dims, seed) => { const r = rng(seed); return arr('uint8', dims, Array.from({ length: numel(dims) }, () => (r() * 256) | 0)); };
const randS8 = (dims, seed) => { const r = rng(seed); return arr('int8', dims, Array.from({ length: numel(dims) }, () => ((r() * 256) | 0) - 128)); };
const randF = (dims, seed, lo, hi) => { const r = rng(seed); return arr('float32', dims, Array.from({ length: numel(dims) }, () => lo + (hi - lo) * r())); };
const f = (v, dims = []) => arr('float32', dims, Array.isArray(v) ? v : [v]);
const u8 = (v, dims = []) => arr('uint8', dims, Array.isArray(v) ? v : [v]);
const s8 = (v, dims = []) => arr('int8', dims, Array.isArray(v) ? v : [v]);
const i32 = (v, dims) => arr('int32', dims, v);

// numpy .npy version 1.0, as numpy.save writes it.
function npy(a) {
  const shape = a.dims.length === 1 ? `(${a.dims[0]},)` : `(${a.dims.join(', ')})`;
  let h = `{'descr': '${TYPES[a.type].descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = Math.ceil((10 + h.length + 1) / 64) * 64;
  h = h.padEnd(total - 10 - 1, ' ') + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(pre, 0);
  pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(h.length, 8);
  return Buffer.concat([pre, Buffer.from(h, 'latin1'), Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)]);
}

// Every case: op, attrs (ONNX attribute values), inputs in ONNX order
// (null for an omitted optional input), output types, opset, and for
// requantizing ops the tolerance the Go test accepts, with the reason.
const cases = [];
const add = (c) => cases.push(c);

// Values with exact ties x/scale = k + 0.5 (scale 0.5: x = k/2 + 0.25),
// saturation and signed zero.
const tieX = f([0.25, 0.75, 1.25, -0.25, -0.75, -1.25, 63.25, -64.25, 1000, -1000, -0, 0.1, 64.75, 127.25], [14]);

add({ name: 'quantize_u8_tensor', op: 'QuantizeLinear', inputs: [randF([4, 37], 1, -3, 3), f(0.02), u8(128)], outputs: ['uint8'] });
add({ name: 'quantize_s8_ties', op: 'QuantizeLinear', inputs: [tieX, f(0.5), s8(-3)], outputs: ['int8'] });
add({ name: 'quantize_u8_ties', op: 'QuantizeLinear', inputs: [tieX, f(0.5), u8(7)], outputs: ['uint8'] });
add({ name: 'quantize_u8_no_zp', op: 'QuantizeLinear', inputs: [randF([50], 2, -1, 9), f(0.037)], outputs: ['uint8'] });
add({ name: 'quantize_s8_axis1', op: 'QuantizeLinear', inputs: [randF([3, 5, 4], 3, -4, 4), f([0.01, 0.02, 0.03, 0.05, 0.07], [5]), s8([0, -3, 5, 100, -100], [5])], outputs: ['int8'] });
add({ name: 'quantize_u8_axis_neg1', op: 'QuantizeLinear', attrs: { axis: -1 }, inputs: [randF([6, 3], 4, -2, 2), f([0.01, 0.1, 0.003], [3]), u8([128, 0, 255], [3])], outputs: ['uint8'] });
add({ name: 'quantize_s8_block', op: 'QuantizeLinear', opset: 21, attrs: { axis: 1, block_size: 3 }, inputs: [randF([4, 8], 5, -2, 2), randF([4, 3], 6, 0.01, 0.05), s8([0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6], [4, 3])], outputs: ['int8'] });

add({ name: 'dequantize_u8_tensor', op: 'DequantizeLinear', inputs: [randU8([5, 9], 7), f(0.0173), u8(131)], outputs: ['float32'] });
add({ name: 'dequantize_s8_axis0', op: 'DequantizeLinear', attrs: { axis: 0 }, inputs: [randS8([3, 7], 8), f([0.5, 0.001, 3.75], [3]), s8([0, -128, 127], [3])], outputs: ['float32'] });
add({ name: 'dequantize_s8_block', op: 'DequantizeLinear', opset: 21, attrs: { axis: 0, block_size: 2 }, inputs: [randS8([5, 3], 9), randF([3, 3], 10, 0.01, 0.2), s8([0, 1, 2, 3, 4, 5, 6, 7, 8], [3, 3])], outputs: ['float32'] });

add({ name: 'dynamic_quantize', op: 'DynamicQuantizeLinear', inputs: [randF([64], 11, -2, 5)], outputs: ['uint8', 'float32', 'uint8'] });
add({ name: 'dynamic_quantize_positive', op: 'DynamicQuantizeLinear', inputs: [randF([3, 10], 12, 0.5, 3)], outputs: ['uint8', 'float32', 'uint8'] });

add({ name: 'matmulinteger_u8u8', op: 'MatMulInteger', inputs: [randU8([7, 13], 13), randU8([13, 5], 14), u8(131), u8(120)], outputs: ['int32'] });
add({ name: 'matmulinteger_u8s8_colzp', op: 'MatMulInteger', inputs: [randU8([9, 17], 15), randS8([17, 4], 16), u8(128), s8([0, 1, -2, 3], [4])], outputs: ['int32'] });
add({ name: 'matmulinteger_batched', op: 'MatMulInteger', inputs: [randU8([2, 3, 6], 17), randU8([6, 5], 18), u8(12), null], outputs: ['int32'] });

add({ name: 'convinteger_u8u8_pad_stride', op: 'ConvInteger', attrs: { pads: [1, 1, 1, 1], strides: [2, 2] }, inputs: [randU8([1, 3, 7, 7], 19), randU8([4, 3, 3, 3], 20), u8(128), u8(100)], outputs: ['int32'] });
add({ name: 'convinteger_dilation_asym_pads', op: 'ConvInteger', attrs: { pads: [0, 2, 1, 0], dilations: [2, 1] }, inputs: [randU8([2, 2, 6, 5], 21), randU8([3, 2, 2, 3], 22), u8(3), null], outputs: ['int32'] });
add({ name: 'convinteger_same_upper', op: 'ConvInteger', attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] }, inputs: [randU8([1, 2, 6, 6], 23), randU8([2, 2, 3, 3], 24), u8(7), u8(9)], outputs: ['int32'] });

// QLinearMatMul and QLinearConv: ORT (MLAS) requantizes with a float32
// multiplier and round-half-even, like docs/semantics.md section 3, and matched qgpu bit for bit
// on every case here, so the tolerance is 0. Should a future ORT or new data
// differ by one LSB near a tie (a multiplier computed in another order, e.g.
// a_scale * (b_scale / y_scale)), declare `tolerance: 1` on that case with
// the reason in `note`; the Go test then counts and logs such elements.
const requantNote = 'bit-exact with ORT 1.30 (float32 multiplier, round half to even)';
add({ name: 'qlinearmatmul_u8s8', op: 'QLinearMatMul', inputs: [randU8([6, 20], 25), f(0.02), u8(128), randS8([20, 7], 26), f(0.01), s8(0), f(0.09), u8(128)], outputs: ['uint8'], tolerance: 0, note: requantNote });
add({ name: 'qlinearmatmul_u8u8_colscale', op: 'QLinearMatMul', inputs: [randU8([5, 11], 27), f(0.05), u8(120), randU8([11, 3], 28), f([0.01, 0.02, 0.005], [3]), u8([128, 100, 140], [3]), f(0.2), u8(100)], outputs: ['uint8'], tolerance: 0, note: requantNote });
add({ name: 'qlinearconv_u8s8_bias_perchannel', op: 'QLinearConv', attrs: { pads: [1, 1, 1, 1] }, inputs: [randU8([1, 3, 5, 5], 29), f(0.03), u8(128), randS8([4, 3, 3, 3], 30), f([0.01, 0.02, 0.015, 0.005], [4]), s8([0, 0, 0, 0], [4]), f(0.25), u8(120), i32([100, -200, 0, 3000], [4])], outputs: ['uint8'], tolerance: 0, note: requantNote });
add({ name: 'qlinearconv_s8s8_group', op: 'QLinearConv', attrs: { group: 2, strides: [2, 1] }, inputs: [randS8([1, 4, 6, 5], 31), f(0.04), s8(-5), randS8([6, 2, 2, 2], 32), f(0.02), s8(0), f(0.3), s8(3)], outputs: ['int8'], tolerance: 0, note: requantNote });

// MatMulNBits (com.microsoft, ONNX Runtime's blocked low-bit weights). Its
// float results differ from qgpu's by float rounding (ORT sums in other
// orders, with FMA), and at accuracy_level 4 also by activations that ORT
// quantizes one step apart (it multiplies by the reciprocal of the block
// scale): each case carries a per-element bound (tolFile), computed here
// from the inputs in float64, that the Go test checks |qgpu - ORT| against.
const nbitsNote0 = 'float rounding: both sum K products of float32 in some order, each within (K+2)u S of the exact value ' +
  '(u = 2^-24, S = sum_k |a_k| |scale (q_k - zp)| + |bias|), so |qgpu - ORT| <= 2 (K+2) u S';
const nbitsNote4 = 'accuracy_level 4: both quantize each activation block to int8 with sa = amax/127 and take exact integer dot products; ' +
  'ORT rounds a * (1/sa), qgpu a / sa, which can differ by one step where a/sa is within 2^-20 of a tie (each such element allowed ' +
  'sa |scale (q - zp)|), and both combine the nb block terms sa scale isum in float32: 2 (nb+3) u (sum_b |sa scale isum| + |bias|)';
function nbitsCase(name, { M, K, N, bits = 4, bs, zp = true, bias = false, level = 0, seed }) {
  const blocks = Math.ceil(K / bs), blob = bs * bits / 8, zrow = Math.ceil(blocks * bits / 8);
  const r = rng(seed);
  const Ad = Array.isArray(M) ? [...M, K] : [M, K];
  const A = randF(Ad, seed + 1, -2, 2);
  const B = arr('uint8', [N, blocks, blob], Array.from({ length: N * blocks * blob }, () => (r() * 256) | 0));
  const S = arr('float32', [N, blocks], Array.from({ length: N * blocks }, () => 0.002 + 0.03 * r()));
  const Z = zp ? arr('uint8', [N * zrow], Array.from({ length: N * zrow }, () => (r() * 256) | 0)) : null;
  const Bias = bias ? randF([N], seed + 2, -1, 1) : null;
  // The tolerance bound per output element, in float64.
  const rows = A.data.length / K, u = 2 ** -24, tol = new Float32Array(rows * N);
  const q = (n, k) => { const i = (n * blocks * blob) * (8 / bits) + k; return bits === 8 ? B.data[i] : (B.data[i >> 1] >> (4 * (i & 1))) & 15; };
  const z = (n, b) => { if (!Z) return 1 << (bits - 1); return bits === 8 ? Z.data[n * zrow + b] : (Z.data[n * zrow + (b >> 1)] >> (4 * (b & 1))) & 15; };
  const rint = (v) => { const f = Math.floor(v), d = v - f; return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f; };
  for (let m = 0; m < rows; m++) {
    for (let n = 0; n < N; n++) {
      const bias = Bias ? Math.abs(Bias.data[n]) : 0;
      let s = bias, terms = bias, flips = 0;
      for (let b = 0; b < blocks; b++) {
        const k0 = b * bs, k1 = Math.min(K, b * bs + bs), sc = S.data[n * blocks + b];
        let amax = 0, isum = 0;
        for (let k = k0; k < k1; k++) amax = Math.max(amax, Math.abs(A.data[m * K + k]));
        const sa = Math.max(Math.fround(amax / 127), 2 ** -125);
        for (let k = k0; k < k1; k++) {
          const a = A.data[m * K + k], w = q(n, k) - z(n, b);
          s += Math.abs(a * sc * w);
          const t = a / sa;
          isum += Math.max(-127, Math.min(127, rint(Math.fround(t)))) * w;
          if (Math.abs(Math.abs(t - Math.floor(t)) - 0.5) < 2 ** -20 * Math.max(1, Math.abs(t))) flips += sa * Math.abs(sc * w);
        }
        terms += Math.abs(sa * sc * isum);
      }
      tol[m * N + n] = level === 4 ? 2 * (blocks + 3) * u * terms + flips : 2 * (K + 2) * u * s;
    }
  }
  add({ name, op: 'MatMulNBits', domain: 'com.microsoft', attrs: { K, N, bits, block_size: bs, accuracy_level: level },
    // B, scales and zero points are initializers: ONNX Runtime prepacks
    // constant weights, and computes accuracy_level 4 in int8 only then.
    inputs: [A, B, S, Z, null, Bias], initializers: [1, 2, 3], outputs: ['float32'], tol: [{ type: 'float32', dims: [rows * N], data: tol }],
    note: level === 4 ? nbitsNote4 : nbitsNote0 });
}
nbitsCase('matmulnbits_u4_b32_zp_bias', { M: 3, K: 64, N: 5, bs: 32, bias: true, seed: 40 });
nbitsCase('matmulnbits_u4_b16_k37_nozp', { M: [2, 3], K: 37, N: 7, bs: 16, zp: false, seed: 41 });
nbitsCase('matmulnbits_u4_b128_gemv', { M: 1, K: 256, N: 9, bs: 128, zp: false, seed: 42 });
nbitsCase('matmulnbits_u4_b256_k300', { M: 2, K: 300, N: 4, bs: 256, seed: 43 });
nbitsCase('matmulnbits_u8_b32_zp', { M: 4, K: 70, N: 3, bits: 8, bs: 32, seed: 44 });
nbitsCase('matmulnbits_u8_b64_nozp_bias', { M: 2, K: 128, N: 6, bits: 8, bs: 64, zp: false, bias: true, seed: 45 });
nbitsCase('matmulnbits_u4_b32_level4', { M: 3, K: 96, N: 6, bs: 32, level: 4, seed: 46 });
nbitsCase('matmulnbits_u4_b64_level4_nozp_bias', { M: 2, K: 130, N: 5, bs: 64, zp: false, bias: true, level: 4, seed: 47 });
nbitsCase('matmulnbits_u4_b16_level4_gemv', { M: 1, K: 512, N: 11, bs: 16, level: 4, seed: 48 });
nbitsCase('matmulnbits_u8_b32_level4', { M: 2, K: 64, N: 4, bits: 8, bs: 32, level: 4, seed: 49 });

const INPUT_NAMES = {
  QuantizeLinear: ['x', 'y_scale', 'y_zero_point'],
  DequantizeLinear: ['x', 'x_scale', 'x_zero_point'],
  DynamicQuantizeLinear: ['x'],
  MatMulInteger: ['A', 'B', 'a_zero_point', 'b_zero_point'],
  QLinearMatMul: ['a', 'a_scale', 'a_zero_point', 'b', 'b_scale', 'b_zero_point', 'y_scale', 'y_zero_point'],
  ConvInteger: ['x', 'w', 'x_zero_point', 'w_zero_point'],
  QLinearConv: ['x', 'x_scale', 'x_zero_point', 'w', 'w_scale', 'w_zero_point', 'y_scale', 'y_zero_point', 'B'],
  MatMulNBits: ['A', 'B', 'scales', 'zero_points', 'g_idx', 'bias'],
};

// attrText renders an attribute as `qgpu run --attr` takes it.
const attrText = (k, v) => `${k}=${Array.isArray(v) ? v.join(',') : v}`;

async function main() {
  const root = path.join(__dirname, 'cases');
  fs.rmSync(root, { recursive: true, force: true });
  const manifest = [];
  for (const c of cases) {
    const names = INPUT_NAMES[c.op];
    const nodeIn = [], vis = [], feeds = {}, files = [];
    const inits = [];
    c.inputs.forEach((a, i) => {
      if (a === null) { nodeIn.push(''); files.push('none'); return; }
      const n = names[i];
      nodeIn.push(n);
      files.push(`in${i}.npy`);
      if ((c.initializers || []).includes(i)) { // a constant of the model, as weights are
        inits.push(tensor(n, TYPES[a.type].dt, a.dims, a.data));
        return;
      }
      vis.push(valueInfo(n, TYPES[a.type].dt, a.dims));
      feeds[n] = new ort.Tensor(a.type, a.data, a.dims);
    });
    while (nodeIn.length && nodeIn[nodeIn.length - 1] === '') nodeIn.pop();
    const outNames = c.outputs.map((_, i) => `out${i}`);
    const g = graph({ name: c.name, nodes: [node(c.op, nodeIn, outNames, c.attrs || {}, c.op + '_0', c.domain || '')], initializers: inits, inputs: vis, outputs: c.outputs.map((t, i) => valueInfoNoShape(outNames[i], TYPES[t].dt)) });
    const opset = c.opset || 13;
    const bytes = model(g, { opset, irVersion: opset >= 21 ? 10 : 7, domains: c.domain ? [{ domain: c.domain, version: 1 }] : [] });
    let res;
    try {
      const sess = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
      res = await sess.run(feeds);
    } catch (e) {
      console.error(`${c.name}: ORT failed, case skipped: ${e.message.split('\n')[0]}`);
      continue;
    }
    const dir = path.join(root, c.name);
    fs.mkdirSync(dir, { recursive: true });
    c.inputs.forEach((a, i) => { if (a) fs.writeFileSync(path.join(dir, `in${i}.npy`), npy(a)); });
    const outFiles = outNames.map((n, i) => {
      const t = res[n];
      if (t.type !== c.outputs[i]) throw new Error(`${c.name}: output ${i} is ${t.type}, want ${c.outputs[i]}`);
      fs.writeFileSync(path.join(dir, `out${i}.npy`), npy({ type: t.type, dims: t.dims.map(Number), data: t.data }));
      return `out${i}.npy`;
    });
    const tolFiles = (c.tol || []).map((a, i) => { fs.writeFileSync(path.join(dir, `tol${i}.npy`), npy(a)); return `tol${i}.npy`; });
    if (c.tol) {
      // The largest |qgpu-independent| spread this case allows, for the log.
      const o = res[outNames[0]].data, t = c.tol[0].data;
      console.log(`${c.name}: largest bound ${Math.max(...t).toExponential(3)} (output magnitude up to ${Math.max(...Array.from(o, Math.abs)).toExponential(3)})`);
    }
    manifest.push({
      name: c.name, op: c.op, opset,
      attrs: Object.entries(c.attrs || {}).map(([k, v]) => attrText(k, v)),
      inputs: files, outputs: outFiles,
      tolerance: c.tolerance || 0, note: c.note || '',
      ...(c.tol ? { tolFiles } : {}),
    });
    console.log(`${c.name}: ok`);
  }
  fs.writeFileSync(path.join(__dirname, 'manifest.json'), JSON.stringify({ ort: ort.env.versions.common, cases: manifest }, null, 1) + '\n');
}

// ValueInfoProto{name=1, type=2}; TypeProto{tensor_type=1}; Tensor{elem_type=1} (no shape).
function valueInfoNoShape(name, dataType) {
  const key = (field, wt) => Buffer.from([(field << 3) | wt]);
  const len = (b) => { const out = []; let v = b.length; do { let x = v & 0x7f; v >>>= 7; if (v) x |= 0x80; out.push(x); } while (v); return Buffer.from(out); };
  const bytesField = (field, b) => Buffer.concat([key(field, 2), len(b), b]);
  const tensorType = Buffer.concat([key(1, 0), Buffer.from([dataType])]);
  return Buffer.concat([bytesField(1, Buffer.from(name)), bytesField(2, bytesField(1, tensorType))]);
}

main().catch((e) => { console.error(e); process.exit(1); });
