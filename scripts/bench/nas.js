#!/usr/bin/env node
// Architecture search benchmark (not part of `npm test`): random, TPE, regularized evolution and
// ASHA (random sampling + asynchronous successive halving) over the built-in MLP space on the
// bundled digits, each under the same wall-clock budget on 2 worker threads x 1 kernel thread,
// against the hand-picked 784-256-128-10 MLP trained for the same epochs. Reports best validation
// and test accuracy, parameter count, trials completed/pruned, and the p99 event-loop delay of the
// main thread during each search (the search must not block it). One-shot: a slimmable supernet
// over depth and widths (relu, batch norm, Adam fixed), trained once with single-path uniform
// sampling, every candidate scored with inherited weights, the top 3 and 5 held-out candidates
// retrained (time budget not applied: it runs to completion); its row gives the Kendall tau between
// one-shot scores and retrained accuracies. Writes the markdown table to .bench/nas.md.
//
// Usage: npm run build:ts && node scripts/bench/nas.js [--budget 5m] [--epochs 8] [--train-size 5000] [--quick]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { monitorEventLoopDelay } = require('perf_hooks');

const root = path.join(__dirname, '..', '..');
const nt = require(path.join(root, 'dist', 'lib', 'index.js'));
const nas = require(path.join(root, 'dist', 'lib', 'nas', 'index.js'));

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const quick = args.includes('--quick');
const dur = (s) => {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(s);
  if (!m) throw new RangeError(`Expected a duration such as 90s or 5m for --budget but received "${s}"`);
  return Number(m[1]) * { s: 1000, m: 60000, h: 3600000 }[m[2] || 's'];
};
const budgetMs = dur(opt('budget', quick ? '40s' : '5m'));
const epochs = Number(opt('epochs', quick ? '3' : '8'));
const trainSize = Number(opt('train-size', quick ? '2000' : '9000'));

const spec = {
  data: { kind: 'digits', trainSize, testSize: 1000, seed: 0 },
  space: { depth: [1, 3], widths: [32, 64, 128, 256], activations: ['relu', 'gelu', 'tanh'], lr: [3e-4, 1e-2] },
  epochs,
};

async function oneshot(loaded) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-nas-bench-oneshot-'));
  try {
    const sp = { ...spec, space: { depth: [1, 3], widths: [32, 64, 128, 256], activations: 'relu', dropout: 0, normalization: 'batch', skip: false, optimizers: 'adam', lr: 2e-3, batchSize: 64, weightDecay: 0 } };
    const objective = nas.mlpObjective(sp);
    const study = await nas.createStudy({ space: objective.space, objectives: { name: 'accuracy', direction: 'maximize' }, objectiveId: nas.mlpObjectiveId(sp), dir, seed: 1 });
    const ex = nas.workerExecutor({ objective: { builtin: 'mlp', spec: sp }, workers: 2, threadsPerWorker: 1 });
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const t0 = Date.now();
    const r = await nas.oneShotSearch(study, nas.supernetStrategy(objective.space, sp, { epochs: epochs * 2 }), { executor: ex, retrainTop: 3, heldOut: 5 });
    h.disable();
    await ex.close();
    const { model } = await nt.loadModel(path.join(dir, 'best-model'));
    const test = await model.evaluate(loaded.test);
    return { name: `one-shot (${r.candidates.length} scored; tau ${r.kendallTau.toFixed(2)}, rho ${r.spearman.toFixed(2)})`, val: r.best.values[0], test: test.accuracy, params: model.countParams(), trials: `${r.retrained.length} retrained`, seconds: (Date.now() - t0) / 1000, p99: h.percentile(99) / 1e6 };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function handPicked(loaded) {
  const m = nt.sequential([nt.dense({ units: 256, activation: 'relu', inputShape: [784] }), nt.dense({ units: 128, activation: 'relu' }), nt.dense({ units: 10, activation: 'softmax' })], { seed: 1 });
  m.compile({ optimizer: nt.adam({ lr: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const t0 = Date.now();
  await m.fit(loaded.train, { epochs, batchSize: 64, seed: 1, validationData: loaded.val });
  const val = await m.evaluate(loaded.val);
  const test = await m.evaluate(loaded.test);
  return { name: '784-256-128-10 (hand-picked)', val: val.accuracy, test: test.accuracy, params: m.countParams(), trials: '1', seconds: (Date.now() - t0) / 1000, p99: NaN };
}

async function search(name, sampler, pruner, loaded) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nt-nas-bench-${name}-`));
  try {
    const study = await nas.createStudy({ space: nas.mlpSpace(spec.space), objectives: { name: 'accuracy', direction: 'maximize' }, objectiveId: nas.mlpObjectiveId(spec), sampler, pruner, dir, seed: 1 });
    const ex = nas.workerExecutor({ objective: { builtin: 'mlp', spec }, workers: 2, threadsPerWorker: 1 });
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const t0 = Date.now();
    const r = await study.optimize({ timeBudgetMs: budgetMs, executor: ex, maxSteps: epochs, onProgress: (p) => process.stderr.isTTY && process.stderr.write(`\r${name}: ${p.done} done, ${p.pruned} pruned, ${p.running} running   `) });
    h.disable();
    await ex.close();
    if (process.stderr.isTTY) process.stderr.write('\n');
    const { model } = await nt.loadModel(path.join(dir, 'best-model'));
    const test = await model.evaluate(loaded.test);
    const done = r.trials.filter((t) => t.state === 'complete').length;
    const pruned = r.trials.filter((t) => t.state === 'pruned').length;
    return { name, val: r.best.values[0], test: test.accuracy, params: model.countParams(), trials: `${done}${pruned ? ` + ${pruned} pruned` : ''}`, seconds: (Date.now() - t0) / 1000, p99: h.percentile(99) / 1e6 };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

(async () => {
  const loaded = await nas.loadData(spec);
  const rows = [await handPicked(loaded)];
  rows.push(await search('random', nas.randomSampler(), undefined, loaded));
  rows.push(await search('tpe', nas.tpeSampler(), undefined, loaded));
  rows.push(await search('evolution', nas.evolutionSampler({ populationSize: 10, sampleSize: 3 }), undefined, loaded));
  rows.push(await search('asha', nas.randomSampler(), nas.ashaPruner({ reductionFactor: 3 }), loaded));
  rows.push(await oneshot(loaded));
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    `Digits (${trainSize} train images, 20% of them for validation; 1000 test), ${epochs} epochs per trial, ${budgetMs / 1000} s per strategy on 2 workers x 1 thread, ${os.cpus().length} cores (${cpu}).`,
    '',
    '| strategy | best val accuracy | its test accuracy | parameters | trials | seconds | event-loop p99 (ms) |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${(r.val * 100).toFixed(2)}% | ${(r.test * 100).toFixed(2)}% | ${r.params} | ${r.trials} | ${r.seconds.toFixed(1)} | ${Number.isNaN(r.p99) ? '-' : r.p99.toFixed(1)} |`),
  ];
  const md = lines.join('\n') + '\n';
  process.stdout.write(md);
  fs.mkdirSync(path.join(root, '.bench'), { recursive: true });
  fs.writeFileSync(path.join(root, '.bench', 'nas.md'), md);
})().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
