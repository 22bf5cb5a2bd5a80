#!/usr/bin/env node
// Long fuzzing run of the safetensors header parser, the model.json loader and the CSV reader
// (properties in ./fuzz-properties.js; CI runs them briefly in test/corpus/fuzz.test.ts).
//
// Usage: node scripts/stress/fuzz.js [runs=20000] [--seed=N]   (needs `npm run build:ts`)
//   model.json runs are a tenth of the others (each writes and loads a model folder).
//   Exits 1 with fast-check's shrunk counterexample and its seed on the first failure.
'use strict';
const fc = require('fast-check');
const fs = require('fs');
const os = require('os');
const path = require('path');

const nt = require(path.join(__dirname, '..', '..', 'dist', 'lib'));
const { properties } = require('./fuzz-properties');

const args = process.argv.slice(2);
const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 20000);
const seedArg = args.find((a) => a.startsWith('--seed='));
const seed = seedArg ? Number(seedArg.slice(7)) : Date.now() % 2 ** 31;

(async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nodetrain-fuzz-'));
  let failed = false;
  try {
    const p = properties(nt, fc, work);
    for (const [name, prop, n] of [['safetensors (structured)', p.safetensorsStructured, runs], ['safetensors (bytes)', p.safetensorsBytes, runs], ['csv', p.csv, runs], ['model.json', p.modelJson, Math.ceil(runs / 10)]]) {
      const t0 = Date.now();
      const r = await fc.check(prop, { numRuns: n, seed });
      console.log(`${name}: ${r.numRuns} runs, ${r.failed ? 'FAILED' : 'ok'} (${((Date.now() - t0) / 1000).toFixed(1)} s, seed ${seed})`);
      if (r.failed) {
        failed = true;
        console.log(fc.defaultReportMessage(r));
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
})();
