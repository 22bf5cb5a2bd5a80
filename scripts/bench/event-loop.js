#!/usr/bin/env node
// Event-loop responsiveness during fit and the bundled digits' first-load time (moved here from
// the tests, which assert only structural properties: timers fire between batches).
//
//   - event-loop delay (monitorEventLoopDelay, 1 ms resolution) p50/p99/max while a 64-256-256-4
//     MLP trains for --seconds (default 3), against the same measurement with the loop idle for
//     the same time in the same run (the ratio is the figure; the old test's bound was p99 < 50 ms);
//   - loadDigits() first call, against gunzipping the bundled file alone (the reference).
//
// Usage: node scripts/bench/event-loop.js [--seconds=3]   (needs `npm run build:ts`)
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { monitorEventLoopDelay } = require('perf_hooks');

const root = path.join(__dirname, '..', '..');
const secArg = process.argv.find((a) => a.startsWith('--seconds='));
const seconds = secArg ? Number(secArg.slice(10)) : 3;

async function delays(during) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await during();
  h.disable();
  return { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
}

(async () => {
  const t0 = process.hrtime.bigint();
  const gz = fs.readFileSync(path.join(root, 'lib', 'data', 'digits.bin.gz'));
  zlib.gunzipSync(gz);
  const gunzipMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const nt = require(path.join(root, 'dist', 'lib'));
  const t1 = process.hrtime.bigint();
  nt.loadDigits();
  const loadMs = Number(process.hrtime.bigint() - t1) / 1e6;
  console.log(`digits first load: ${loadMs.toFixed(1)} ms; gunzip alone ${gunzipMs.toFixed(1)} ms; ratio ${(loadMs / gunzipMs).toFixed(2)}`);

  const idle = await delays(() => new Promise((r) => setTimeout(r, seconds * 1000)));
  const n = 4000;
  const x = nt.tensor(Array.from({ length: n }, (_, i) => Array.from({ length: 64 }, (_, j) => Math.sin(i * 64 + j))));
  const y = nt.tensor(Int32Array.from({ length: n }, (_, i) => i % 4));
  const m = nt.sequential([nt.dense({ units: 256, activation: 'relu', inputShape: [64] }), nt.dense({ units: 256, activation: 'relu' }), nt.dense({ units: 4, activation: 'softmax' })], { seed: 8 });
  m.compile({ optimizer: nt.sgd({ lr: 0.01, momentum: 0.9 }), loss: 'sparseCategoricalCrossentropy' });
  const busy = await delays(async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), seconds * 1000);
    await m.fit(x, y, { epochs: 100000, batchSize: 32, signal: ac.signal, callbacks: [{ onBatchEnd: () => undefined }] }).catch((e) => {
      if (e.name !== 'AbortError') throw e;
    });
  });
  const f = (d) => `p50 ${d.p50.toFixed(2)} ms, p99 ${d.p99.toFixed(2)} ms, max ${d.max.toFixed(2)} ms`;
  console.log(`event loop idle:       ${f(idle)}`);
  console.log(`event loop during fit: ${f(busy)} (${m.optimizerStep} steps)`);
  console.log(`p99 ratio fit/idle: ${(busy.p99 / idle.p99).toFixed(2)}`);
})();
