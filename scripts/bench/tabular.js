#!/usr/bin/env node
// Tabular tasks (not part of `npm test`): the command line's defaults, the API with tuned
// settings, and a linear baseline trained by nodetrain itself, on three generated tasks with a
// known structure:
//   classification: 4 classes from 6 informative features (a nonlinear rule) plus 14 noise features;
//   regression:     a nonlinear target y = 3 sin(x1) + x2^2 - 2 x3 x4 + noise, 8 features (4 noise);
//   mixed:          numeric and categorical columns (one with 12 levels), 8% missing cells,
//                   a binary target depending on both.
// Each task is a CSV file of 2,000 rows written to a temp folder, split once (seeded, stratified
// for classification) into train (80%) and test (20%) files, so that every configuration sees the
// same rows: the CLI reads train.csv with --test-data test.csv; the API and the baseline use the
// same Preprocessor fitted on the training rows. Scores: test accuracy and macro-F1, or R² and
// RMSE on the target's own scale; time: wall time of training (the CLI: the whole process).
// Medians over --seeds (default 1,2,3).
//
// Usage (after `npm install`, which builds dist/ and the addon):
//   node scripts/bench/tabular.js [--seeds=1,2,3] [--threads=2]
// Prints a markdown table and writes it to .bench/tabular.md.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..', '..');
const dist = process.env.NODETRAIN_DIST ? path.resolve(process.env.NODETRAIN_DIST) : path.join(root, 'dist');
const nt = require(path.join(dist, 'lib', 'index.js'));
const cli = path.join(dist, 'lib', 'cli', 'main.js');

const arg = (name, dflt) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
};
const seeds = arg('seeds', '1,2,3').split(',').map(Number);
const threads = Number(arg('threads', String(Math.min(2, os.cpus().length))));
nt.setNumThreads(threads);

function rng(seed) {
  const r = nt.createRng(seed);
  return { u: () => r.next(), n: () => Math.sqrt(-2 * Math.log(Math.max(r.next(), 1e-12))) * Math.cos(2 * Math.PI * r.next()) };
}

function csv(names, rows) {
  return [names.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n';
}

const TASKS = {
  classification(seed) {
    const g = rng(seed);
    const names = [...Array.from({ length: 20 }, (_, j) => `f${j}`), 'label'];
    const rows = [];
    for (let i = 0; i < 2000; i++) {
      const f = Array.from({ length: 20 }, () => g.n());
      const s = f[0] * f[1] + Math.sin(2 * f[2]) + f[3] - 0.5 * f[4] * f[4] + f[5];
      const label = s < -0.8 ? 'a' : s < 0.2 ? 'b' : s < 1.2 ? 'c' : 'd';
      rows.push([...f.map((x) => x.toFixed(4)), label]);
    }
    return { names, rows, target: 'label', task: 'classification' };
  },
  regression(seed) {
    const g = rng(seed);
    const names = [...Array.from({ length: 8 }, (_, j) => `x${j + 1}`), 'y'];
    const rows = [];
    for (let i = 0; i < 2000; i++) {
      const x = Array.from({ length: 8 }, () => g.n());
      const y = 3 * Math.sin(x[0]) + x[1] * x[1] - 2 * x[2] * x[3] + 0.3 * g.n();
      rows.push([...x.map((v) => v.toFixed(4)), y.toFixed(4)]);
    }
    return { names, rows, target: 'y', task: 'regression' };
  },
  mixed(seed) {
    const g = rng(seed);
    const names = ['age', 'income', 'city', 'plan', 'visits', 'churn'];
    const cities = Array.from({ length: 12 }, (_, j) => `c${j}`);
    const rows = [];
    for (let i = 0; i < 2000; i++) {
      const age = 20 + 50 * g.u();
      const income = 20 + 80 * g.u();
      const city = cities[Math.floor(g.u() * g.u() * 12)];
      const plan = ['basic', 'plus', 'pro'][Math.floor(g.u() * 3)];
      const visits = Math.floor(20 * g.u());
      const z = (plan === 'basic' ? 1 : plan === 'plus' ? 0 : -1) + (visits < 5 ? 1.2 : -0.4) + (['c0', 'c3'].includes(city) ? 0.8 : 0) - (income - 60) / 30 + 0.5 * g.n();
      const cell = (v) => (g.u() < 0.08 ? '' : v);
      rows.push([cell(age.toFixed(1)), cell(income.toFixed(2)), cell(city), cell(plan), cell(String(visits)), z > 0.3 ? 'yes' : 'no']);
    }
    return { names, rows, target: 'churn', task: 'classification' };
  },
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function apiRun(pre, train, test, hidden, opts) {
  const tr = pre.toDataset(train);
  const te = pre.toDataset(test);
  const layers = [];
  hidden.forEach((u, i) => {
    layers.push(nt.dense({ units: u, activation: 'relu', inputShape: i === 0 ? [pre.numFeatures] : undefined, kernelInitializer: 'heUniform' }));
    if (opts.dropout) layers.push(nt.dropout({ rate: opts.dropout }));
  });
  const cls = pre.task === 'classification';
  layers.push(nt.dense({ units: pre.numOutputs, activation: cls ? 'softmax' : 'linear', inputShape: hidden.length ? undefined : [pre.numFeatures] }));
  const model = nt.sequential(layers, { seed: opts.seed });
  const steps = Math.ceil((tr.size * 0.9) / opts.batchSize) * opts.epochs;
  model.compile({ optimizer: nt.adamw({ lr: nt.cosine(opts.lr, { tMax: steps }), weightDecay: opts.weightDecay ?? 0 }), loss: cls ? 'sparseCategoricalCrossentropy' : 'meanSquaredError' });
  const t0 = process.hrtime.bigint();
  await model.fit(tr, { epochs: opts.epochs, batchSize: opts.batchSize, validationSplit: 0.1, seed: opts.seed, callbacks: [nt.earlyStopping({ monitor: 'val_loss', patience: opts.patience, restoreBestWeights: true })] });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const p = (await model.predict(te.x)).data();
  let score;
  if (cls) {
    const k = pre.numOutputs;
    const pred = Int32Array.from({ length: te.size }, (_, i) => {
      let b = 0;
      for (let j = 1; j < k; j++) if (p[i * k + j] > p[i * k + b]) b = j;
      return b;
    });
    const r = nt.classificationReport(te.y.data(), pred, k);
    score = { main: r.accuracy, second: r.macroF1 };
  } else {
    const r = nt.regressionReport(pre.inverseTarget(te.y.data()), pre.inverseTarget(p));
    score = { main: r.r2, second: r.rmse };
  }
  return { ...score, secs };
}

function cliRun(dir) {
  const t0 = process.hrtime.bigint();
  const out = execFileSync(process.execPath, [cli, 'train', '--data', 'train.csv', '--test-data', 'test.csv', '--target', dir.target, '--quiet', '--threads', String(threads), '--out', 'cli-model'], { cwd: dir.path, encoding: 'utf8' });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const acc = /test accuracy ([\d.]+)%, macro-F1 ([\d.]+)/.exec(out);
  if (acc) return { main: Number(acc[1]) / 100, second: Number(acc[2]), secs };
  const reg = /test RMSE ([\d.e+-]+), MAE [\d.e+-]+, R² ([\d.-]+)/.exec(out);
  return { main: Number(reg[2]), second: Number(reg[1]), secs };
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-tabular-'));
  const results = {};
  try {
    for (const [name, make] of Object.entries(TASKS)) {
      for (const seed of seeds) {
        const t = make(seed);
        const dir = path.join(tmp, `${name}-${seed}`);
        fs.mkdirSync(dir);
        const table = nt.parseCsvTable(csv(t.names, t.rows));
        const probe = nt.Preprocessor.fit(table, { target: t.target, task: t.task });
        const labels = t.task === 'classification' ? probe.transformTarget(table).data() : null;
        // One seeded split shared by every configuration (stratified for classification).
        const r = nt.createRng(1000 + seed);
        const groups = new Map();
        for (let i = 0; i < table.rows; i++) {
          const k = labels ? labels[i] : 0;
          if (!groups.has(k)) groups.set(k, []);
          groups.get(k).push(i);
        }
        const trainIdx = [];
        const testIdx = [];
        for (const g of groups.values()) {
          nt.shuffleInPlace(g, r);
          const nTest = Math.round(g.length * 0.2);
          g.forEach((row, i) => (i < nTest ? testIdx : trainIdx).push(row));
        }
        const pick = (idx) => ({ names: table.names, columns: table.columns.map((c) => idx.map((i) => c[i])), rows: idx.length });
        const train = pick(trainIdx);
        const test = pick(testIdx);
        const rowsOf = (tb) => Array.from({ length: tb.rows }, (_, i) => tb.columns.map((c) => c[i]));
        fs.writeFileSync(path.join(dir, 'train.csv'), csv(t.names, rowsOf(train)));
        fs.writeFileSync(path.join(dir, 'test.csv'), csv(t.names, rowsOf(test)));
        const pre = nt.Preprocessor.fit(train, { target: t.target, task: t.task, classNames: probe.classNames });
        const runs = {
          'CLI defaults': cliRun({ path: dir, target: t.target }),
          'API tuned (128-64, dropout 0.1, AdamW 3e-3 cosine, batch 32, early stopping)': await apiRun(pre, train, test, [128, 64], { seed, epochs: 150, batchSize: 32, lr: 3e-3, dropout: 0.1, weightDecay: 1e-4, patience: 15 }),
          'linear baseline (no hidden layer, Adam 1e-2)': await apiRun(pre, train, test, [], { seed, epochs: 100, batchSize: 32, lr: 1e-2, patience: 10 }),
        };
        for (const [cfg, v] of Object.entries(runs)) {
          const key = `${name}|${cfg}`;
          (results[key] ??= []).push(v);
        }
        process.stderr.write(`${name} seed ${seed} done\n`);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const lines = [
    `Tabular tasks, 2,000 rows each (80/20 split), medians over seeds ${seeds.join(', ')}; ${threads} thread(s); ${os.cpus()[0].model}; Node ${process.version}.`,
    '',
    '| task | configuration | score | second score | train seconds |',
    '|---|---|---:|---:|---:|',
  ];
  for (const [key, vs] of Object.entries(results)) {
    const [task, cfg] = key.split('|');
    const cls = task !== 'regression';
    const m = median(vs.map((v) => v.main));
    const s = median(vs.map((v) => v.second));
    lines.push(`| ${task} | ${cfg} | ${cls ? `accuracy ${(m * 100).toFixed(1)}%` : `R² ${m.toFixed(3)}`} | ${cls ? `macro-F1 ${s.toFixed(3)}` : `RMSE ${s.toFixed(3)}`} | ${median(vs.map((v) => v.secs)).toFixed(2)} |`);
  }
  const md = lines.join('\n') + '\n';
  process.stdout.write(md);
  fs.mkdirSync(path.join(root, '.bench'), { recursive: true });
  fs.writeFileSync(path.join(root, '.bench', 'tabular.md'), md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
