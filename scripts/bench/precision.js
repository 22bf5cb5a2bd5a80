#!/usr/bin/env node
// Mixed precision (not part of `npm test`): the digits MLP 784-256-256-10 (relu, softmax,
// sparse cross-entropy, Adam 1e-3, batch 128) trained with compile({precision: 'float32'}) and
// with 'bf16', side by side in one run:
//   accuracy: test accuracy on 2,000 held-out digits after 8 epochs on 8,000, per seed, and the
//             bf16 - float32 difference (the bound: within 0.5 points over 3 seeds);
//   speed:    training samples/s at 1 and 2 threads, float32 and bf16 alternating for --rounds
//             rounds, each the median of 3 timed 2-epoch fits after a warm-up; the median round.
// cpuFeatures().bf16Gemm names the bf16 path (amx, avx512bf16 or emulated).
//
// Usage: node scripts/bench/precision.js [--seeds=1,2,3] [--rounds=3]
//   NODETRAIN_DIST=<tree>/dist selects the compiled library (default: ./dist).
// Prints a markdown report and writes it to .bench/precision.md.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..', '..');
const dist = process.env.NODETRAIN_DIST ? path.resolve(process.env.NODETRAIN_DIST) : path.join(root, 'dist');
const nt = require(path.join(dist, 'lib', 'index.js'));
const arg = (name, dflt) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
};
const seeds = arg('seeds', '1,2,3').split(',').map(Number);
const rounds = Number(arg('rounds', '3'));
const PRECISIONS = ['float32', 'bf16'];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function makeModel(precision, seed) {
  const m = nt.sequential(
    [
      nt.dense({ units: 256, activation: 'relu', inputShape: [784] }),
      nt.dense({ units: 256, activation: 'relu' }),
      nt.dense({ units: 10, activation: 'softmax' }),
    ],
    { seed },
  );
  m.compile({ optimizer: nt.adam({ lr: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], precision });
  return m;
}

async function main() {
  const lines = [];
  const log = (s = '') => {
    lines.push(s);
    console.log(s);
  };
  const { train, test } = nt.loadDigits({ trainSize: 8000, testSize: 2000, seed: 0 });
  const f = nt.cpuFeatures();
  const loadBefore = os.loadavg()[0];

  // Accuracy over seeds.
  nt.setNumThreads(Math.min(2, os.cpus().length));
  const acc = {};
  for (const seed of seeds) {
    acc[seed] = {};
    for (const p of PRECISIONS) {
      const m = makeModel(p, seed);
      await m.fit(train, { epochs: 8, batchSize: 128, seed });
      acc[seed][p] = (await m.evaluate(test)).accuracy;
      m.dispose();
    }
  }
  // Speed, alternating.
  const speed = { 1: { float32: [], bf16: [] }, 2: { float32: [], bf16: [] } };
  for (let r = 0; r < rounds; r++) {
    for (const t of [1, 2]) {
      nt.setNumThreads(t);
      for (const p of PRECISIONS) {
        const m = makeModel(p, 1);
        await m.fit(train, { epochs: 1, batchSize: 128, seed: 1 }); // warm-up
        const times = [];
        for (let k = 0; k < 3; k++) {
          const t0 = process.hrtime.bigint();
          await m.fit(train, { epochs: 2, batchSize: 128, seed: 2 + k });
          times.push(Number(process.hrtime.bigint() - t0) / 1e9);
        }
        speed[t][p].push((2 * 8000) / median(times));
        m.dispose();
      }
    }
  }
  const loadAfter = os.loadavg()[0];

  log('# Mixed precision: digits MLP 784-256-256-10, Adam, batch 128');
  log();
  log(`- CPU: ${os.cpus()[0]?.model ?? '?'} (${os.cpus().length} logical CPUs); kernels ${f.isa}; bf16 path: ${f.bf16Gemm}`);
  log(`- 1-minute load average before / after: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)}`);
  log();
  log('| seed | float32 test accuracy | bf16 test accuracy | bf16 - float32 |');
  log('|---:|---:|---:|---:|');
  const diffs = [];
  for (const seed of seeds) {
    const d = (acc[seed].bf16 - acc[seed].float32) * 100;
    diffs.push(d);
    log(`| ${seed} | ${(acc[seed].float32 * 100).toFixed(2)} % | ${(acc[seed].bf16 * 100).toFixed(2)} % | ${d >= 0 ? '+' : ''}${d.toFixed(2)} points |`);
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  log(`| mean | ${(mean(seeds.map((s) => acc[s].float32)) * 100).toFixed(2)} % | ${(mean(seeds.map((s) => acc[s].bf16)) * 100).toFixed(2)} % | ${mean(diffs) >= 0 ? '+' : ''}${mean(diffs).toFixed(2)} points |`);
  log();
  log(`| training samples/s (median of ${rounds} alternating rounds) | float32 | bf16 | bf16 / float32 |`);
  log('|---|---:|---:|---:|');
  for (const t of [1, 2]) {
    const a = median(speed[t].float32);
    const b = median(speed[t].bf16);
    log(`| ${t} thread${t > 1 ? 's' : ''} | ${Math.round(a).toLocaleString('en-US')} | ${Math.round(b).toLocaleString('en-US')} | ${(b / a).toFixed(2)}× |`);
  }
  const out = path.join(root, '.bench', 'precision.md');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${lines.join('\n')}\n`);
  console.log(`\nwritten to ${path.relative(root, out)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
