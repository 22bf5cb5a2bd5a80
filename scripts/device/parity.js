#!/usr/bin/env node
// CUDA-vs-reference parity on a GPU machine: every CUDA kernel of the backend against float64
// references computed here, on fresh random inputs of awkward sizes (1, primes, non-multiples of
// the tiles, transposes), outputs poisoned with NaN first so an unwritten element fails.
// Error measure: ||out - ref|| / ||ref||; float32 kernels must land under 1e-5 (GEMM: 1e-5 scaled
// with K), TF32 under 5e-3, BF16 under 2e-2. Prints one line per check and exits 1 on any failure.
// Usage: NODETRAIN_ADDON=build-cuda/Release/nodetrain.node node scripts/device/parity.js [out.json]
'use strict';
const path = require('path');
const fs = require('fs');
const { relErr, checker } = require('./checks');
const addonPath = path.resolve(process.env.NODETRAIN_ADDON || path.join(__dirname, '../../build-cuda/Release/nodetrain.node'));
const nt = require(addonPath);
const info = nt.cudaInfo();
if (!info.available) {
  console.error(`CUDA not available: ${info.reason}`);
  process.exit(2);
}
let seed = Number(process.env.PARITY_SEED || Date.now() % 1e9);
const seed0 = seed; // printed, so a failing run can be repeated with PARITY_SEED
function rand() {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
const randn = (n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
const nan = (n) => new Float32Array(n).fill(NaN);
const { results, check, failed: failures } = checker();
const G = 0.7978845608028654;
const acts = {
  0: (x) => x, 1: (x) => (x < 0 ? 0 : x), 2: (x, a) => (x < 0 ? a * x : x), 3: (x, a) => (x > 0 ? x : a * Math.expm1(x)),
  4: (x) => x / (1 + Math.exp(-2 * G * (x + 0.044715 * x ** 3))), 5: (x) => 1 / (1 + Math.exp(-x)), 6: Math.tanh,
  7: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
};
const dacts = {
  0: () => 1, 1: (x) => (x > 0 ? 1 : 0), 2: (x, y, a) => (x > 0 ? 1 : a), 3: (x, y, a) => (x > 0 ? 1 : y + a),
  4: (x) => { const s = 1 / (1 + Math.exp(-2 * G * (x + 0.044715 * x ** 3))); return s + 2 * x * s * (1 - s) * G * (1 + 3 * 0.044715 * x * x); },
  5: (x, y) => y * (1 - y), 6: (x, y) => 1 - y * y, 7: (x) => 1 / (1 + Math.exp(-x)),
};

// ---- GEMM
// The last shape is large enough for the FP32 path's 128x128 kernel on a GPU of up to ~150
// multiprocessors (launch_plan.h simt_tile; the smaller ones run its 64x64 kernel); only FP32 runs it.
const shapes = [[1, 1, 1], [37, 53, 29], [128, 128, 64], [131, 257, 67], [300, 200, 513], [7, 1000, 3], [1283, 1301, 37]];
// impl 1: the project's kernels; impl 2: cuBLAS through dlopen, when it was found (the table's
// gemm slots take it then, so the fit loop's GEMMs are cuBLAS's).
for (const impl of info.cublas ? [1, 2] : [1]) {
  for (const [m, n, k] of shapes) {
    for (const [ta, tb] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
      for (const prec of m > 1000 ? [0] : [0, 1, 2]) {
        const a = randn(m * k), b = randn(k * n), c0 = randn(m * n), bias = randn(n);
        const act = [0, 1, 4, 5][(m + n + ta + 2 * tb + prec + impl) % 4];
        const alpha = 0.75, beta = prec === 0 ? 0.5 : 0;
        const ref = new Float64Array(m * n);
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let q = 0; q < k; q++) s += (ta ? a[q * m + i] : a[i * k + q]) * (tb ? b[j * k + q] : b[q * n + j]);
            ref[i * n + j] = acts[act](alpha * s + beta * c0[i * n + j] + bias[j], 0);
          }
        const c = beta ? Float32Array.from(c0) : nan(m * n);
        nt.cudaKernel('gemm', [a, b, c, bias], [m, n, k, ta, tb, act, prec, impl], [alpha, beta]);
        const tol = prec === 0 ? 1e-5 * Math.max(1, Math.sqrt(k / 64)) : prec === 1 ? 5e-3 : 2e-2;
        check(`gemm ${impl === 2 ? 'cuBLAS ' : ''}${['f32', 'tf32', 'bf16'][prec]} ${m}x${n}x${k} ta=${ta} tb=${tb} act=${act}`, relErr(c, ref), tol);
      }
    }
  }
}

// ---- reductions
for (const n of [1, 97, 100003]) {
  const x = randn(n), y = randn(n);
  let s = 0, d = 0;
  for (let i = 0; i < n; i++) { s += x[i] * x[i]; d += x[i] * y[i]; }
  check(`sum_squares n=${n}`, Math.abs(nt.cudaKernel('sum_squares', [x], [], [])[0] - s) / s, 1e-12);
  check(`dot n=${n}`, Math.abs(nt.cudaKernel('dot', [x, y], [], [])[0] - d) / Math.max(Math.abs(d), 1e-3), 1e-9);
}
{
  const rows = 333, cols = 71, x = randn(rows * cols), out = nan(cols), ref = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) ref[j] += x[r * cols + j];
  nt.cudaKernel('col_sum', [x, out], [rows, cols, 0], []);
  check('col_sum 333x71', relErr(out, ref), 1e-5);
}
// ---- activations
for (let act = 0; act < 8; act++) {
  const n = 10007, x = randn(n, -3, 3), y = nan(n), alpha = 0.2;
  nt.cudaKernel('act_forward', [x, y], [act], [alpha]);
  check(`act_forward ${act}`, relErr(y, Array.from(x, (v) => acts[act](v, alpha))), 1e-5);
  const yr = Float32Array.from(x, (v) => acts[act](v, alpha)), dy = randn(n), dx = nan(n);
  nt.cudaKernel('act_backward', [x, yr, dy, dx], [act], [alpha]);
  check(`act_backward ${act}`, relErr(dx, Array.from(x, (v, i) => dy[i] * dacts[act](v, yr[i], alpha))), 1e-5);
}
// ---- softmax and cross-entropy
for (const [rows, cols] of [[1, 2], [37, 10], [64, 1000], [5, 3001]]) {
  const x = randn(rows * cols, -4, 4), y = nan(rows * cols), ref = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity, s = 0;
    for (let j = 0; j < cols; j++) m = Math.max(m, x[r * cols + j]);
    for (let j = 0; j < cols; j++) s += Math.exp(x[r * cols + j] - m);
    for (let j = 0; j < cols; j++) ref[r * cols + j] = Math.exp(x[r * cols + j] - m) / s;
  }
  nt.cudaKernel('softmax', [x, y], [rows, cols], []);
  check(`softmax ${rows}x${cols}`, relErr(y, ref), 1e-5);
  const labels = Float32Array.from({ length: rows }, () => Math.floor(rand() * cols));
  const grad = nan(rows * cols), gref = new Float64Array(rows * cols);
  let lref = 0;
  for (let r = 0; r < rows; r++) {
    lref -= Math.log(ref[r * cols + labels[r]]);
    for (let j = 0; j < cols; j++) gref[r * cols + j] = (ref[r * cols + j] - (j === labels[r] ? 1 : 0)) / rows;
  }
  lref /= rows;
  const loss = nt.cudaKernel('softmax_xent', [x, Float32Array.from(labels), grad], [rows, cols, 1], [1])[0];
  check(`softmax_xent sparse ${rows}x${cols} loss`, Math.abs(loss - lref) / Math.abs(lref), 1e-5);
  check(`softmax_xent sparse ${rows}x${cols} grad`, relErr(grad, gref), 1e-5);
}
// ---- layer norm
{
  const rows = 29, cols = 515, eps = 1e-5, x = randn(rows * cols, -2, 3), gamma = randn(cols), beta = randn(cols);
  const stats = nan(2 * rows), y = nan(rows * cols), ref = new Float64Array(rows * cols);
  const mu = [], rs = [];
  for (let r = 0; r < rows; r++) {
    let m = 0, v = 0;
    for (let j = 0; j < cols; j++) m += x[r * cols + j];
    m /= cols;
    for (let j = 0; j < cols; j++) v += (x[r * cols + j] - m) ** 2;
    const s = 1 / Math.sqrt(v / cols + eps);
    mu.push(m); rs.push(s);
    for (let j = 0; j < cols; j++) ref[r * cols + j] = (x[r * cols + j] - m) * s * gamma[j] + beta[j];
  }
  nt.cudaKernel('layer_norm_forward', [x, gamma, beta, stats, y], [rows, cols], [eps]);
  check('layer_norm_forward 29x515', relErr(y, ref), 1e-5);
  const dy = randn(rows * cols), dg = nan(cols), db = nan(cols), dx = nan(rows * cols);
  const dgr = new Float64Array(cols), dbr = new Float64Array(cols), dxr = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let a = 0, b = 0;
    for (let j = 0; j < cols; j++) {
      const xh = (x[r * cols + j] - mu[r]) * rs[r], d = dy[r * cols + j] * gamma[j];
      dgr[j] += dy[r * cols + j] * xh; dbr[j] += dy[r * cols + j]; a += d; b += d * xh;
    }
    for (let j = 0; j < cols; j++) {
      const xh = (x[r * cols + j] - mu[r]) * rs[r];
      dxr[r * cols + j] = rs[r] * (dy[r * cols + j] * gamma[j] - a / cols - xh * b / cols);
    }
  }
  nt.cudaKernel('layer_norm_backward', [x, stats, dy, gamma, dg, db, dx], [rows, cols], []);
  check('layer_norm_backward dgamma', relErr(dg, dgr), 1e-5);
  check('layer_norm_backward dbeta', relErr(db, dbr), 1e-5);
  check('layer_norm_backward dx', relErr(dx, dxr), 1e-4);
}
// ---- batch norm
{
  const rows = 257, cols = 33, eps = 1e-3, x = randn(rows * cols, -1, 2), mean = nan(cols), rstd = nan(cols), vr = nan(cols);
  const mr = new Float64Array(cols), rr = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    let m = 0, v = 0;
    for (let r = 0; r < rows; r++) m += x[r * cols + j];
    m /= rows;
    for (let r = 0; r < rows; r++) v += (x[r * cols + j] - m) ** 2;
    mr[j] = m; rr[j] = 1 / Math.sqrt(v / rows + eps);
  }
  nt.cudaKernel('batch_norm_batch_stats', [x, mean, rstd, vr], [rows, cols], [eps]);
  check('batch_norm_batch_stats mean', relErr(mean, mr), 1e-5);
  check('batch_norm_batch_stats rstd', relErr(rstd, rr), 1e-5);
  const gamma = randn(cols), beta = randn(cols), y = nan(rows * cols), dy = randn(rows * cols);
  nt.cudaKernel('batch_norm_apply', [x, mean, rstd, gamma, beta, y], [rows, cols], []);
  check('batch_norm_apply', relErr(y, Array.from(x, (v, i) => (v - mr[i % cols]) * rr[i % cols] * gamma[i % cols] + beta[i % cols])), 1e-5);
  const dg = nan(cols), db = nan(cols), dx = nan(rows * cols), sa = new Float64Array(cols), sb = new Float64Array(cols);
  for (let i = 0; i < rows * cols; i++) { const j = i % cols; sa[j] += dy[i]; sb[j] += dy[i] * (x[i] - mr[j]) * rr[j]; }
  nt.cudaKernel('batch_norm_backward', [x, dy, mean, rstd, gamma, dg, db, dx], [rows, cols], []);
  check('batch_norm_backward dgamma', relErr(dg, sb), 1e-5);
  check('batch_norm_backward dbeta', relErr(db, sa), 1e-5);
  check('batch_norm_backward dx', relErr(dx, Array.from(x, (v, i) => { const j = i % cols; const xh = (v - mr[j]) * rr[j]; return gamma[j] * rr[j] * (dy[i] - sa[j] / rows - xh * sb[j] / rows); })), 1e-4);
}
// ---- optimizers (PyTorch's algorithms, float64 references)
function adamRef(p, g, m, v, vmax, o) {
  const t = o.step, bc1 = 1 - o.b1 ** t, bc2 = 1 - o.b2 ** t;
  return Array.from(p, (pi, i) => {
    let gi = o.gs * g[i];
    if (o.wd) { if (o.decoupled) pi *= 1 - o.lr * o.wd; else gi += o.wd * pi; }
    const mi = o.b1 * m[i] + (1 - o.b1) * gi, vi = o.b2 * v[i] + (1 - o.b2) * gi * gi;
    const vd = vmax ? Math.max(vmax[i], vi) : vi;
    return pi - (o.lr / bc1) * mi / (Math.sqrt(vd) / Math.sqrt(bc2) + o.eps);
  });
}
for (const [amsgrad, decoupled] of [[0, 0], [1, 0], [0, 1]]) {
  const n = 100003, p = randn(n), g = randn(n), m = randn(n, 0, 0.1), v = randn(n, 0, 0.1), vmax = randn(n, 0, 0.2);
  const o = { step: 7, lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.01, gs: 0.8, decoupled };
  const ref = adamRef(p, g, m, v, amsgrad ? vmax : null, o);
  const pc = Float32Array.from(p);
  nt.cudaKernel('adam_step', [pc, g, Float32Array.from(m), Float32Array.from(v), Float32Array.from(vmax)], [o.step, amsgrad, decoupled], [o.lr, o.b1, o.b2, o.eps, o.wd, o.gs]);
  const dref = ref.map((x, i) => x - p[i]), dout = Array.from(pc, (x, i) => x - p[i]);
  check(`adam_step amsgrad=${amsgrad} decoupled=${decoupled} (update)`, relErr(dout, dref), 1e-4);
}
{
  const n = 54321, p = randn(n), g = randn(n), buf = randn(n), o = { lr: 0.05, mom: 0.9, damp: 0.1, wd: 1e-3, gs: 1.3 };
  const ref = Array.from(p, (pi, i) => { let gi = o.gs * g[i] + o.wd * pi; const b = o.mom * buf[i] + (1 - o.damp) * gi; gi = gi + o.mom * b; return pi - o.lr * gi; });
  const pc = Float32Array.from(p);
  nt.cudaKernel('sgd_step', [pc, g, Float32Array.from(buf)], [3, 1], [o.lr, o.mom, o.damp, o.wd, o.gs]);
  check('sgd_step nesterov (update)', relErr(Array.from(pc, (x, i) => x - p[i]), ref.map((x, i) => x - p[i])), 1e-4);
}
{
  // Two groups, global-norm clipping on the device, one fused launch.
  const n = 70001, split = 30011, p = randn(n), g = randn(n), m = randn(n, 0, 0.1), v = randn(n, 0, 0.1), clip = 10;
  let sq = 0;
  for (const x of g) sq += x * x;
  const norm = Math.sqrt(sq), gs = norm > clip ? clip / (norm + 1e-6) : 1;
  const base = { step: 4, b1: 0.9, b2: 0.99, eps: 1e-7, wd: 0.02, gs, decoupled: 1 };
  const r0 = adamRef(p.slice(0, split), g.slice(0, split), m.slice(0, split), v.slice(0, split), null, { ...base, lr: 1e-3 });
  const r1 = adamRef(p.slice(split), g.slice(split), m.slice(split), v.slice(split), null, { ...base, lr: 3e-3 });
  const ref = r0.concat(r1), pc = Float32Array.from(p);
  const [s, flag] = nt.cudaKernel('multi_adam', [pc, g, Float32Array.from(m), Float32Array.from(v)], [4, split, 1], [1e-3, 3e-3, 0.02, 0.9, 0.99, 1e-7, clip]);
  check('global norm (device) sum of squares', Math.abs(s - sq) / sq, 1e-12);
  check('global norm (device) finite flag', flag, 0);
  check('multi-group fused AdamW with device clip (update)', relErr(Array.from(pc, (x, i) => x - p[i]), ref.map((x, i) => x - p[i])), 1e-4);
  // The same with a frozen range before the first group (lo) and with the arrays handed over one
  // element in (shift 1: not 16-byte aligned, the kernel's one-element path).
  for (const [lo, shift] of [[3, 0], [6, 1]]) {
    const q0 = adamRef(p.slice(lo, split), g.slice(lo, split), m.slice(lo, split), v.slice(lo, split), null, { ...base, lr: 1e-3 });
    const want = Array.from(p.slice(0, lo)).concat(q0, r1), pl = Float32Array.from(p), ml = Float32Array.from(m);
    nt.cudaKernel('multi_adam', [pl, g, ml, Float32Array.from(v)], [4, split, 1, lo, shift], [1e-3, 3e-3, 0.02, 0.9, 0.99, 1e-7, clip]);
    check(`multi-group fused AdamW lo=${lo} shift=${shift} (update)`, relErr(Array.from(pl, (x, i) => x - p[i]), want.map((x, i) => x - p[i])), 1e-4);
    let touched = 0;
    for (let i = 0; i < lo; i++) if (pl[i] !== p[i] || ml[i] !== m[i]) touched++;
    check(`multi-group fused AdamW lo=${lo} shift=${shift} leaves the frozen range alone`, touched, 0);
  }
  g[12345] = NaN;
  const pc2 = Float32Array.from(p);
  const [, flag2] = nt.cudaKernel('multi_adam', [pc2, g, Float32Array.from(m), Float32Array.from(v)], [4, split, 1], [1e-3, 3e-3, 0.02, 0.9, 0.99, 1e-7, clip]);
  check('non-finite gradient sets the flag', flag2 === 1 ? 0 : 1, 0);
  check('non-finite gradient leaves the parameters untouched', relErr(pc2, p), 0);
}
// ---- Philox dropout
{
  const n = 100001, keep = 0.7, x = randn(n);
  const run = (s, off) => { const mask = nan(n), y = nan(n); nt.cudaKernel('dropout_philox', [x, mask, y], [s, off], [keep]); return [mask, y]; };
  const [m1, y1] = run(42, 0), [m2] = run(42, 0), [m3] = run(43, 0);
  check('philox: same seed, same mask', relErr(m2, m1), 0);
  let diff = 0, kept = 0, badv = 0, bady = 0;
  for (let i = 0; i < n; i++) {
    if (m1[i] !== m3[i]) diff++;
    if (m1[i] !== 0) kept++;
    if (m1[i] !== 0 && Math.abs(m1[i] - 1 / keep) > 1e-6) badv++;
    if (Math.abs(y1[i] - x[i] * m1[i]) > 1e-6) bady++;
  }
  check('philox: another seed, another mask (fraction equal)', 1 - diff / n > 0.7 ? 1 : 0, 0);
  check('philox: keep rate within 4 sigma', Math.abs(kept / n - keep) / Math.sqrt(keep * (1 - keep) / n), 4);
  check('philox: mask values in {0, 1/keep} and y = x * mask', badv + bady, 0);
  const u0 = nan(1000), u5 = nan(995);
  nt.cudaKernel('philox_uniform', [u0], [42, 0], []);
  nt.cudaKernel('philox_uniform', [u5], [42, 5], []);
  check('philox: draws at an offset continue the stream', relErr(u5, u0.slice(5)), 0);
}
// ---- PReLU (the table's extension kernels)
for (const [rows, cols] of [[1, 1], [37, 129], [300, 7]]) {
  const x = randn(rows * cols), alpha = randn(cols, -0.5, 0.5), dy = randn(rows * cols);
  const y = nan(rows * cols), dx = nan(rows * cols), da = nan(cols);
  const yr = new Float64Array(rows * cols), dxr = new Float64Array(rows * cols), dar = new Float64Array(cols);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < cols; j++) {
      const t = r * cols + j;
      yr[t] = x[t] > 0 ? x[t] : alpha[j] * x[t];
      dxr[t] = x[t] > 0 ? dy[t] : alpha[j] * dy[t];
      if (x[t] < 0) dar[j] += dy[t] * x[t];
    }
  nt.cudaKernel('prelu_forward_f32', [x, alpha, y], [rows, cols], []);
  nt.cudaKernel('prelu_backward_f32', [x, alpha, dy, dx, da], [rows, cols], []);
  check(`prelu_forward ${rows}x${cols}`, relErr(y, yr), 1e-6);
  check(`prelu_backward dx ${rows}x${cols}`, relErr(dx, dxr), 1e-6);
  check(`prelu_backward dalpha ${rows}x${cols}`, relErr(da, dar), 1e-5);
}
const summary = { seed: seed0, device: info.devices[0], checks: results.length, failed: failures(), results };
if (process.argv[2]) fs.writeFileSync(process.argv[2], JSON.stringify(summary, null, 1));
console.log(`${results.length - failures()}/${results.length} parity checks passed (PARITY_SEED=${seed0})`);
process.exit(failures() ? 1 : 0);
