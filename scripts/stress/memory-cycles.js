#!/usr/bin/env node
// Memory over many create / compile / fit / predict / drop cycles. The Model has no dispose()
// in this tree: a dropped model's native engine and tensors are released by their finalizers
// when the garbage collector runs, which is the disposal path exercised here (gc() is called
// every 100 cycles). Prints RSS and external memory at checkpoints and fails when memory after
// the warm-up third keeps growing: the last checkpoint may exceed the one at a third of the run
// by at most --max-growth-mb (default 24).
//
// Usage: node --expose-gc scripts/stress/memory-cycles.js [cycles=10000] [--lib=dist/lib/index.js] [--max-growth-mb=24]
'use strict';
const path = require('path');

const args = process.argv.slice(2);
const cycles = Number(args.find((a) => /^\d+$/.test(a)) ?? 10000);
const libArg = args.find((a) => a.startsWith('--lib='));
const maxGrowth = Number((args.find((a) => a.startsWith('--max-growth-mb=')) ?? '--max-growth-mb=24').split('=')[1]) * 2 ** 20;
const nt = require(path.resolve(libArg ? libArg.slice(6) : path.join(__dirname, '..', '..', 'dist', 'lib', 'index.js')));
if (typeof global.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}

const x = Array.from({ length: 64 }, (_, i) => [Math.sin(i), Math.cos(i), i / 64, 1]);
const y = x.map((r) => [r[0] - r[1]]);

function sample() {
  global.gc();
  const m = process.memoryUsage();
  return { rss: m.rss, external: m.external, heap: m.heapUsed };
}

(async () => {
  const points = [];
  const every = Math.max(1, Math.floor(cycles / 10));
  for (let i = 1; i <= cycles; i++) {
    const m = nt.sequential([nt.dense({ units: 16, activation: 'relu', inputShape: [4] }), nt.dense({ units: 1 })], { seed: i });
    m.compile({ optimizer: nt.adam(), loss: 'mse' });
    const t = nt.tensor(x);
    await m.fit(t, y, { epochs: 1, batchSize: 16 });
    await m.predict(t);
    t.dispose();
    if (typeof m.dispose === 'function') m.dispose();
    if (i % 100 === 0) global.gc();
    if (i % every === 0 || i === cycles) {
      const s = sample();
      points.push({ cycle: i, ...s });
      console.log(`cycle ${i}: rss ${(s.rss / 2 ** 20).toFixed(1)} MB, external ${(s.external / 2 ** 20).toFixed(1)} MB, heap ${(s.heap / 2 ** 20).toFixed(1)} MB`);
    }
  }
  const ref = points[Math.floor((points.length - 1) / 3)];
  const last = points[points.length - 1];
  const growth = last.rss - ref.rss;
  console.log(`rss growth from cycle ${ref.cycle} to ${last.cycle}: ${(growth / 2 ** 20).toFixed(1)} MB (limit ${(maxGrowth / 2 ** 20).toFixed(0)} MB); external ${((last.external - ref.external) / 2 ** 20).toFixed(1)} MB`);
  process.exit(growth <= maxGrowth && last.external - ref.external <= maxGrowth ? 0 : 1);
})();
