#!/usr/bin/env node
// Terminates worker_threads in the middle of fit() (and of evaluate/predict/trainBatch, tensor
// work and their finalizers) many times, in a child process per batch so an abort is seen as
// the child's exit status rather than taking this script down. A C++ exception escaping a
// Node-API callback during environment teardown aborts the process (exit 134,
// "terminate called after throwing an instance of 'Napi::Error'"); at 300 terminations a 1 %
// failure rate is missed with probability 0.99^300 < 5 %.
//
// Usage: node scripts/stress/worker-terminate.js [terminations=300] [--lib=dist/lib/index.js]
//   Exits 0 when every child exits cleanly, 1 otherwise (printing the failing child's output).
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const args = process.argv.slice(2);
const total = Number(args.find((a) => /^\d+$/.test(a)) ?? 300);
const libArg = args.find((a) => a.startsWith('--lib='));
const lib = path.resolve(libArg ? libArg.slice(6) : path.join(__dirname, '..', '..', 'dist', 'lib', 'index.js'));
const perChild = Number(process.env.NT_TERMINATIONS_PER_CHILD ?? 25);

/** The child: `count` workers, each terminated at a different moment of its work. */
function childScript(count, seed) {
  return `
const { Worker } = require('worker_threads');
const code = ${JSON.stringify(`
  const nt = require(${JSON.stringify(lib)});
  const { parentPort, workerData } = require('worker_threads');
  const x = Array.from({ length: 256 }, (_, i) => [i / 128, Math.sin(i)]);
  const y = x.map(([a, b]) => [2 * a - b + 1]);
  const m = nt.sequential([nt.dense({ units: 16, activation: 'relu', inputShape: [2] }), nt.dense({ units: 1 })], { seed: 1 });
  m.compile({ optimizer: nt.adam({ lr: 0.001 }), loss: 'mse' });
  const mode = workerData.mode;
  parentPort.postMessage('started');
  if (mode === 0) m.fit(x, y, { epochs: 1000000, batchSize: 8 }).catch(() => {});
  else if (mode === 1) m.fit(x, y, { epochs: 1000000, batchSize: 8, onEpochEnd: async () => { await m.evaluate(x, y); } }).catch(() => {});
  else if (mode === 2) (async () => { for (;;) { await m.predict(x); await m.evaluate(x, y); } })().catch(() => {});
  else (async () => { for (;;) { const t = nt.tensor(x); await m.fit(t, y, { epochs: 1, batchSize: 32 }); t.dispose(); } })().catch(() => {});
`)};
let seed = ${seed} >>> 0;
const rand = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 4294967296; };
(async () => {
  for (let i = 0; i < ${count}; i++) {
    const w = new Worker(code, { eval: true, workerData: { mode: i % 4 } });
    w.on('error', () => {});
    await new Promise((r) => w.once('message', r));
    await new Promise((r) => setTimeout(r, Math.floor(rand() * 60)));
    await w.terminate();
  }
  console.log('alive');
})();
`;
}

let done = 0;
let failures = 0;
let child = 0;
while (done < total) {
  const n = Math.min(perChild, total - done);
  const r = spawnSync(process.execPath, ['-e', childScript(n, 1000 + child)], { encoding: 'utf8', timeout: 300000 });
  const ok = r.status === 0 && r.signal === null && r.stdout.trim() === 'alive';
  if (!ok) {
    failures++;
    console.log(`child ${child}: status ${r.status} signal ${r.signal}\n${r.stdout}${r.stderr}`.trim());
  }
  done += n;
  child++;
  process.stdout.write(`${done}/${total} terminations, ${failures} failed children\n`);
}
process.exit(failures === 0 ? 0 : 1);
