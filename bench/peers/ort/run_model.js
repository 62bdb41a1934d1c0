#!/usr/bin/env node
'use strict';
// Runs an ONNX model file on ONNX Runtime's CPU EP (onnxruntime-node, from bench/peers's
// node_modules): .npy inputs in, .npy outputs out; optionally ORT's profile summarised per node
// kind (which kernels ORT ran, e.g. QLinearConv for a fused QDQ Conv) and a timing mode that
// measures like bench.js (wall time of session.run from JS and kernel time from ORT's profiler).
//
//   node run_model.js --model M.onnx --in X.npy --out Y.npy [--threads 1] [--opt all]
//   node run_model.js --model M.onnx --in X.npy --out Y.npy --profile P.json
//   node run_model.js --model M.onnx --random --bench 0 --threads 1,2 --json
//
// See USAGE for every option.

const fs = require('fs');
const os = require('os');
const path = require('path');
const ort = require('onnxruntime-node');
const npy = require('./npy');

const USAGE = `usage: node run_model.js --model M.onnx [options]
  --in [NAME=]X.npy   an input (repeatable); without NAME= inputs are taken in graph input order
  --random            seeded standard-normal float inputs (integer inputs zero) for inputs not given
  --batch N           size of symbolic dimensions for --random (default 1)
  --seed S            seed of --random (default 1)
  --split B           run the inputs in chunks of B samples along axis 0 (a data set through a model
                      of static batch B) and write the outputs concatenated along axis 0
  --out [NAME=]Y.npy  where to write an output (repeatable; without NAME= in graph output order)
  --threads T         intra-op threads, comma list in --bench mode (default 1)
  --opt L             graph optimization level: all (default) | extended | basic | disabled
  --profile P.json    write a summary of ORT's profile: per node kind (op_name as run, after ORT's
                      fusions) the node count and kernel time per run, and the nodes in run order
                      (of the one run without --bench, first run included; of the timed runs of
                      the profiled session with --bench)
  --profile-no-times  leave times out of the profile summary (a deterministic file)
  --bench N           timing mode: N timed runs per case (0: about 1 s, 10..2000), after --warmup;
                      wall = median of session.run() from JS, kernel = median of the per-run sum of
                      ORT's node kernel times (a second, profiled session), as bench.js measures
  --warmup W          warm-up runs in --bench mode (default 3)
  --repeat R          --bench: run each case R times, keep each column's best median (default 1)
  --json              --bench: one JSON object per case instead of a table row
  --wait-idle S       --bench: before each case wait (up to S seconds) until other processes use
                      under 0.15 cores (as bench.js)`;

function parseArgs(argv) {
  const o = { ins: [], outs: [], threads: [1], opt: 'all', warmup: 3, repeat: 1, seed: 1, batch: 1,
    random: false, json: false, bench: null, profile: null, profileTimes: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
      return argv[++i];
    };
    const int = (s) => {
      const v = Number(s);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${a}: want a non-negative integer, got ${s}`);
      return v;
    };
    switch (a) {
      case '--model': o.model = next(); break;
      case '--in': o.ins.push(next()); break;
      case '--out': o.outs.push(next()); break;
      case '--random': o.random = true; break;
      case '--batch': o.batch = int(next()); break;
      case '--seed': o.seed = int(next()); break;
      case '--split': o.split = int(next()); break;
      case '--threads': o.threads = next().split(',').map(int); break;
      case '--opt': o.opt = next(); break;
      case '--profile': o.profile = next(); break;
      case '--profile-no-times': o.profileTimes = false; break;
      case '--bench': o.bench = int(next()); break;
      case '--warmup': o.warmup = int(next()); break;
      case '--repeat': o.repeat = Math.max(1, int(next())); break;
      case '--json': o.json = true; break;
      case '--wait-idle': o.waitIdle = Number(next()); break;
      case '-h': case '--help': console.log(USAGE); process.exit(0); break;
      default: throw new Error(`unknown argument ${a}\n${USAGE}`);
    }
  }
  if (!o.model) throw new Error(USAGE);
  if (!['all', 'extended', 'basic', 'disabled'].includes(o.opt)) throw new Error(`--opt: unknown level ${o.opt}`);
  if (o.bench === null && o.threads.length !== 1) throw new Error('several --threads need --bench');
  if (o.threads.some((t) => t < 1)) throw new Error('--threads must be at least 1');
  if (o.split !== undefined && (o.split < 1 || o.bench !== null || o.profile)) {
    throw new Error('--split wants a positive batch and no --bench or --profile');
  }
  return o;
}

function sessionOptions(threads, opt, profilePrefix) {
  const so = {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: opt,
    logSeverityLevel: 3,
  };
  if (profilePrefix) {
    so.enableProfiling = true;
    so.profileFilePrefix = profilePrefix;
  }
  return so;
}

// Splits "NAME=path" specs (or bare paths, assigned in order) over the given names.
function assign(specs, names, what) {
  const out = new Map();
  let pos = 0;
  for (const s of specs) {
    const eq = s.indexOf('=');
    let name, file;
    if (eq > 0 && names.includes(s.slice(0, eq))) {
      name = s.slice(0, eq);
      file = s.slice(eq + 1);
    } else {
      while (pos < names.length && out.has(names[pos])) pos++;
      if (pos >= names.length) throw new Error(`too many ${what}s: the model has ${names.length} (${names.join(', ')})`);
      name = names[pos];
      file = s;
    }
    if (out.has(name)) throw new Error(`${what} ${name} given twice`);
    out.set(name, file);
  }
  return out;
}

// mulberry32 + Box-Muller: a small seeded normal generator (no dependency).
function normalGen(seed) {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

const ARRAYS = { float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
  int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array,
  uint64: BigUint64Array };

function makeFeeds(session, o) {
  const names = session.inputNames;
  const given = assign(o.ins, names, 'input');
  const feeds = {};
  const meta = new Map((session.inputMetadata || []).map((m) => [m.name, m]));
  const rnd = normalGen(o.seed);
  for (const name of names) {
    if (given.has(name)) {
      const file = given.get(name);
      const t = npy.parse(fs.readFileSync(file), file);
      feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      continue;
    }
    const m = meta.get(name);
    if (!o.random || !m || !m.isTensor) throw new Error(`no value for input ${name} (--in ${name}=X.npy or --random)`);
    const dims = m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : o.batch));
    const Arr = ARRAYS[m.type];
    if (!Arr) throw new Error(`--random: input ${name} has type ${m.type}`);
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Arr(n);
    if (m.type === 'float32' || m.type === 'float64') for (let i = 0; i < n; i++) data[i] = rnd();
    feeds[name] = new ort.Tensor(m.type, data, dims);
  }
  return feeds;
}

function writeOutputs(session, results, o) {
  const files = assign(o.outs, session.outputNames, 'output');
  for (const [name, file] of files) {
    const t = results[name];
    fs.writeFileSync(file, npy.format({ type: t.type, dims: t.dims, data: t.data }));
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (!n) return null;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return null;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
};
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

// Reads ORT's profile JSON: per model_run (skipping the first skipRuns), the kernel events of
// the nodes inside it, with op_name (the kernel as run, after ORT's fusions) and provider.
function readProfile(file, skipRuns) {
  const ev = JSON.parse(fs.readFileSync(file, 'utf8'));
  const runs = ev.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const nodes = ev.filter((e) => e.cat === 'Node' && typeof e.name === 'string' && e.name.endsWith('_kernel_time'))
    .sort((a, b) => a.ts - b.ts);
  return runs.slice(skipRuns).map((r) => nodes.filter((e) => e.ts >= r.ts && e.ts <= r.ts + r.dur).map((e) => ({
    name: e.name.slice(0, -'_kernel_time'.length),
    op: (e.args && e.args.op_name) || '?',
    provider: (e.args && e.args.provider) || '?',
    us: e.dur,
  })));
}

// Summary of a profile's runs: per kind the node count (of one run) and the median over runs of
// the kind's summed kernel time; the nodes of the first run in order.
function summarize(runs, o, threads, extra) {
  const first = runs[0] || [];
  const kinds = {};
  for (const n of first) {
    kinds[n.op] = kinds[n.op] || { nodes: 0 };
    kinds[n.op].nodes++;
  }
  const total = runs.map((r) => r.reduce((a, n) => a + n.us, 0) / 1000);
  const totalMed = median(total);
  if (o.profileTimes) {
    for (const k of Object.keys(kinds)) {
      kinds[k].ms_per_run = median(runs.map((r) => r.filter((n) => n.op === k).reduce((a, n) => a + n.us, 0) / 1000));
      kinds[k].share = totalMed > 0 ? kinds[k].ms_per_run / totalMed : null;
    }
  }
  const order = Object.keys(kinds).sort((a, b) => (o.profileTimes
    ? kinds[b].ms_per_run - kinds[a].ms_per_run || a.localeCompare(b) : a.localeCompare(b)));
  const s = {
    ort: ort.env.versions.common, model: path.basename(o.model), threads, opt: o.opt,
    ...extra,
    kinds: Object.fromEntries(order.map((k) => [k, kinds[k]])),
    nodes: first.map((n) => (o.profileTimes ? { name: n.name, op: n.op, provider: n.provider, us: n.us }
      : { name: n.name, op: n.op, provider: n.provider })),
  };
  if (o.profileTimes) {
    s.runs = runs.length;
    s.kernel_ms_per_run = totalMed;
  }
  return s;
}

async function profiledSession(bytes, threads, o) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ortprof-'));
  const s = await ort.InferenceSession.create(bytes, sessionOptions(threads, o.opt, path.join(dir, 'p')));
  return {
    s,
    finish: async (skip) => {
      s.endProfiling();
      await s.release();
      const f = fs.readdirSync(dir).filter((x) => x.endsWith('.json')).map((x) => path.join(dir, x))[0];
      const runs = f ? readProfile(f, skip) : [];
      fs.rmSync(dir, { recursive: true, force: true });
      return runs;
    },
  };
}

// Runs feeds in chunks of b samples along axis 0 and concatenates the outputs.
async function runSplit(s, feeds, b) {
  const n = new Set(Object.values(feeds).map((t) => t.dims[0]));
  if (n.size !== 1) throw new Error('--split: inputs differ in their first dimension');
  const total = [...n][0];
  if (total % b) throw new Error(`--split: ${total} samples are not a multiple of ${b}`);
  const parts = {};
  for (let i = 0; i < total; i += b) {
    const chunk = {};
    for (const [k, t] of Object.entries(feeds)) {
      const per = t.data.length / total;
      chunk[k] = new ort.Tensor(t.type, t.data.slice(i * per, (i + b) * per), [b, ...t.dims.slice(1)]);
    }
    const res = await s.run(chunk);
    for (const [k, t] of Object.entries(res)) (parts[k] = parts[k] || []).push(t);
  }
  const out = {};
  for (const [k, ts] of Object.entries(parts)) {
    const len = ts.reduce((a, t) => a + t.data.length, 0);
    const data = new ts[0].data.constructor(len);
    let off = 0;
    for (const t of ts) { data.set(t.data, off); off += t.data.length; }
    out[k] = { type: ts[0].type, dims: [ts.reduce((a, t) => a + t.dims[0], 0), ...ts[0].dims.slice(1)], data };
  }
  return out;
}

async function runOnce(bytes, o) {
  const threads = o.threads[0];
  if (o.split !== undefined) {
    const s = await ort.InferenceSession.create(bytes, sessionOptions(threads, o.opt));
    writeOutputs(s, await runSplit(s, makeFeeds(s, o), o.split), o);
    await s.release();
    return;
  }
  if (!o.profile) {
    const s = await ort.InferenceSession.create(bytes, sessionOptions(threads, o.opt));
    const res = await s.run(makeFeeds(s, o));
    writeOutputs(s, res, o);
    await s.release();
    return;
  }
  const p = await profiledSession(bytes, threads, o);
  const res = await p.s.run(makeFeeds(p.s, o));
  writeOutputs(p.s, res, o);
  const runs = await p.finish(0);
  fs.writeFileSync(o.profile, `${JSON.stringify(summarize(runs, o, threads, {}), null, 1)}\n`);
}

// CPU used by other processes during an interval, in cores (as bench.js reports it).
function cpuSnap() {
  let busy = NaN;
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    busy = (f.slice(0, 8).reduce((a, b) => a + b, 0) - f[3] - (f[4] || 0)) * 10;
  } catch (e) { /* not Linux */ }
  const u = process.cpuUsage();
  return { busy, own: (u.user + u.system) / 1000, t: nowMs() };
}
const bgCores = (a, b) => (b.t - a.t < 300 || Number.isNaN(a.busy) ? null
  : Math.min(os.cpus().length, Math.max(0, (b.busy - a.busy - (b.own - a.own)) / (b.t - a.t))));

async function timeRuns(session, feeds, warmup, runs) {
  let last = 0;
  for (let i = 0; i < warmup; i++) {
    const t0 = nowMs();
    await session.run(feeds);
    last = nowMs() - t0;
  }
  const n = runs > 0 ? runs : Math.max(10, Math.min(2000, Math.round(1000 / Math.max(last, 1e-3))));
  const ts = [];
  for (let i = 0; i < n; i++) {
    const t0 = nowMs();
    await session.run(feeds);
    ts.push(nowMs() - t0);
  }
  return ts;
}

const stats = (xs, prefix) => ({
  [`${prefix}_median_ms`]: median(xs), [`${prefix}_min_ms`]: Math.min(...xs),
  [`${prefix}_p10_ms`]: quantile(xs, 0.1), [`${prefix}_p90_ms`]: quantile(xs, 0.9), [`${prefix}_max_ms`]: Math.max(...xs),
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitIdle(maxSec) {
  const t0 = Date.now();
  for (;;) {
    const a = cpuSnap();
    await sleep(1000);
    const bg = bgCores(a, cpuSnap());
    if ((bg != null && bg < 0.15) || Date.now() - t0 > maxSec * 1000) return bg;
  }
}

async function benchCase(bytes, threads, o) {
  if (o.waitIdle) await waitIdle(o.waitIdle);
  const t0 = nowMs();
  const s = await ort.InferenceSession.create(bytes, sessionOptions(threads, o.opt));
  const loadMs = nowMs() - t0;
  const feeds = makeFeeds(s, o);
  const c0 = cpuSnap();
  const wall = await timeRuns(s, feeds, o.warmup, o.bench);
  const bg = bgCores(c0, cpuSnap());
  if (o.outs.length) writeOutputs(s, await s.run(feeds), o);
  await s.release();

  const p = await profiledSession(bytes, threads, o);
  const k0 = cpuSnap();
  await timeRuns(p.s, feeds, o.warmup, wall.length);
  const kbg = bgCores(k0, cpuSnap());
  const runs = await p.finish(o.warmup);
  const kern = runs.map((r) => r.reduce((a, n) => a + n.us, 0) / 1000);
  const prof = summarize(runs, { ...o, profileTimes: true }, threads, {});
  return {
    model: path.basename(o.model), threads, opt: o.opt, runs: wall.length, load_ms: loadMs,
    ...stats(wall, 'wall'), ...stats(kern, 'kernel'), bg_cores: bg, kernel_bg_cores: kbg, kinds: prof.kinds,
    profRuns: runs,
  };
}

const fmt = (x, d = 3) => (x == null ? '-' : x.toFixed(d));

async function bench(bytes, o) {
  if (!o.json) {
    console.log(`# onnxruntime-node ${ort.env.versions.common}, node ${process.version}, ${os.cpus()[0].model} ` +
      `x${os.cpus().length}, ${new Date().toISOString()}, loadavg ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`# ${path.basename(o.model)}, graphOptimizationLevel=${o.opt}, interOp=1, sequential; wall = ` +
      'session.run() from JS, kern = sum of ORT profiler node kernel times per run; p10..p90 spread; ' +
      'bg = cores used by other processes during the wall runs');
    console.log(['thr', 'runs', 'load_ms', 'wall_med', 'wall_p10..p90', 'kern_med', 'kern_p10..p90', 'bg', ' kinds (ms/run)']
      .map((h, i) => (i < 8 ? h.padStart([3, 5, 8, 9, 17, 9, 17, 4][i]) : h)).join(' '));
  }
  let last = null;
  for (const t of o.threads) {
    let r = null;
    for (let rep = 0; rep < o.repeat; rep++) {
      const x = await benchCase(bytes, t, o);
      if (!r) { r = x; continue; }
      if (x.wall_median_ms < r.wall_median_ms) {
        for (const k of Object.keys(x)) if (k.startsWith('wall_')) r[k] = x[k];
        r.runs = x.runs;
        r.bg_cores = x.bg_cores;
      }
      if (x.kernel_median_ms < r.kernel_median_ms) {
        for (const k of Object.keys(x)) if (k.startsWith('kernel_')) r[k] = x[k];  // kernel_bg_cores too
        r.kinds = x.kinds;
        r.profRuns = x.profRuns;
      }
      r.load_ms = Math.min(r.load_ms, x.load_ms);
    }
    last = { runs: r.profRuns, threads: t };
    delete r.profRuns;
    r.ort = ort.env.versions.common;
    if (o.json) {
      console.log(JSON.stringify(r));
    } else {
      const kinds = Object.entries(r.kinds).map(([k, v]) => `${k}x${v.nodes}:${fmt(v.ms_per_run)}`).join(' ');
      console.log([String(t).padStart(3), String(r.runs).padStart(5), fmt(r.load_ms, 1).padStart(8),
        fmt(r.wall_median_ms).padStart(9), `${fmt(r.wall_p10_ms)}..${fmt(r.wall_p90_ms)}`.padStart(17),
        fmt(r.kernel_median_ms).padStart(9), `${fmt(r.kernel_p10_ms)}..${fmt(r.kernel_p90_ms)}`.padStart(17),
        fmt(r.bg_cores, 1).padStart(4), ` ${kinds}`].join(' '));
    }
  }
  if (o.profile && last) {
    fs.writeFileSync(o.profile, `${JSON.stringify(summarize(last.runs, o, last.threads, {}), null, 1)}\n`);
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const bytes = fs.readFileSync(o.model);
  if (o.bench !== null) await bench(bytes, o);
  else await runOnce(bytes, o);
}

main().catch((e) => {
  console.error(`run_model: ${e.message || e}`);
  process.exit(1);
});
