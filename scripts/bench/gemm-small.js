#!/usr/bin/env node
// Where the direct small-product GEMM (native/kernels/gemm_small.h) stops paying: each shape timed
// on the direct kernel and on the packed driver in the same run, 1 thread, the dispatched ISA level
// (and AVX2 forced with --isa=avx2). The path is chosen by NODETRAIN_GEMM_SMALL (the m*n*k limit,
// read once per process), so each path runs in its own child process; the children alternate for
// --rounds rounds (default 3) and the report gives medians and the ratio packed / direct
// (> 1: the direct kernel is faster). Shapes: the tiny model's products, squares around the default
// limit (64^3), and the narrow products of a 10-class MLP head (batch 128, 256 hidden units).
// Times are per call of the raw binding (its N-API cost, the same on both paths, included).
//
// Usage: node scripts/bench/gemm-small.js [--rounds=3] [--isa=avx2]
// Needs the built addon (npx node-gyp build) and dist/ (npm run build:ts).
'use strict';
const { execFileSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..', '..');
const opts = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v === undefined ? true : v];
  }),
);

// [m, n, k, transA, transB]
const SHAPES = [
  [16, 16, 4, 0, 0],
  [16, 3, 16, 0, 0],
  [16, 3, 16, 1, 0],
  [16, 16, 3, 0, 1],
  [4, 16, 16, 1, 0],
  [32, 32, 32, 0, 0],
  [48, 48, 48, 0, 0],
  [64, 64, 64, 0, 0],
  [64, 64, 64, 1, 1],
  [80, 80, 80, 0, 0],
  [96, 96, 96, 0, 0],
  [128, 128, 128, 0, 0],
  [128, 10, 256, 0, 0],
  [256, 10, 128, 1, 0],
  [128, 256, 10, 0, 1],
];

function child() {
  const { binding } = require(path.join(root, 'dist', 'lib', 'native'));
  const rt = require(path.join(root, 'dist', 'lib', 'runtime'));
  rt.setNumThreads(1);
  if (opts.isa) rt.setMaxIsa(opts.isa);
  const b = binding();
  const out = [];
  for (const [m, n, k, ta, tb] of SHAPES) {
    const buf = (len) => {
      const x = new b.NativeBuffer(0, len);
      x.write(Float32Array.from({ length: len }, () => Math.random() * 2 - 1));
      return x;
    };
    const A = buf(m * k);
    const B = buf(k * n);
    const C = buf(m * n);
    const lda = ta ? m : k;
    const ldb = tb ? k : n;
    const call = () => b.gemm(A, B, C, !!ta, !!tb, m, n, k, 1, 0, lda, ldb, n, null, 'linear', false, false);
    const reps = Math.max(20, Math.min(20000, Math.floor(2e7 / (m * n * k))));
    for (let i = 0; i < reps; i++) call();
    const ts = [];
    for (let r = 0; r < 7; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < reps; i++) call();
      ts.push(Number(process.hrtime.bigint() - t0) / reps);
    }
    ts.sort((x, y) => x - y);
    out.push(ts[3]);
    A.dispose();
    B.dispose();
    C.dispose();
  }
  process.stdout.write(JSON.stringify(out));
}

function main() {
  if (opts.child) return child();
  const rounds = Number(opts.rounds ?? 3);
  const run = (limit) =>
    JSON.parse(
      execFileSync(process.execPath, [__filename, '--child', ...(opts.isa ? [`--isa=${opts.isa}`] : [])], {
        env: { ...process.env, NODETRAIN_GEMM_SMALL: String(limit) },
        encoding: 'utf8',
      }),
    );
  const direct = [];
  const packed = [];
  for (let r = 0; r < rounds; r++) {
    direct.push(run(1e12));
    packed.push(run(0));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const rt = require(path.join(root, 'dist', 'lib', 'runtime'));
  console.log(`GEMM, direct small-product kernel vs packed driver, 1 thread, ISA ${opts.isa ?? rt.cpuFeatures().isa}, medians of ${rounds} alternating rounds`);
  console.log('| m×n×k (op) | m·n·k | direct ns | packed ns | packed / direct |');
  console.log('|---|---:|---:|---:|---:|');
  SHAPES.forEach(([m, n, k, ta, tb], i) => {
    const d = median(direct.map((x) => x[i]));
    const p = median(packed.map((x) => x[i]));
    const op = `${ta ? 'Aᵀ' : 'A'}·${tb ? 'Bᵀ' : 'B'}`;
    console.log(`| ${m}×${n}×${k} (${op}) | ${m * n * k} | ${d.toFixed(0)} | ${p.toFixed(0)} | ${(p / d).toFixed(2)}× |`);
  });
}

main();
