#!/usr/bin/env node
// Transfer learning on the bundled digits: where fine-tuning helps and where it does not.
//
// Source model: dense 784-256-128-C (ReLU, heUniform; softmax head; layers 'd1', 'd2', 'out'),
// pretrained with Adam 1e-3, batch 64, for --pretrain-epochs (default 8) on the source pool. The
// 9,000 bundled training digits (loadDigits({seed: 0})) are split in two halves: the source pool
// (first 4,500) pretrains, the target pool (last 4,500) supplies the k labelled target examples
// per class, drawn per seed; the 1,000 test digits, transformed like the target, are the test set.
// Four transfers (the target's images and test set go through the same transform):
//   - '0-4 -> 5-9': pretrained on classes 0-4 (5-way head), target classes 5-9 (labels 0-4) with a
//     new 5-way head (replaceHead); tested on the test digits 5-9;
//   - 'noisy': pretrained on all ten classes, target = the same classes with 30% dimmer images and
//     a quarter of the pixels randomly lit (uniform in [0, 1], fixed per image and seed);
//   - 'inverted': intensities inverted (1 - x);
//   - 'shifted': images shifted 4 pixels right and 4 down (zeros shifted in).
//   The domain transfers keep the pretrained head (same classes).
// Methods, each from the same pretrained weights (or the same fresh init for scratch), same seed:
//   - scratch: a fresh model, Adam 1e-3 for the epoch budget;
//   - head only (only where the head is new): body frozen, Adam 1e-3;
//   - full fine-tuning: everything trainable, Adam 1e-3;
//   - gradual unfreezing: ULMFiT's rule over the 3 layer groups (epoch e trains the top e + 1
//     groups, then all), Adam 1e-3;
//   - discriminative rates: everything trainable, Adam with slice(1e-5, 1e-3) over the 3 groups;
//   - fineTune (defaults): fineTune(model, data, { seed }) with nothing else: 1 head epoch at the
//     range test's rate, then 4 epochs unfrozen with slice rates under one-cycle. Its own budget
//     (5 epochs), not the others'.
// Budget for the others: epochs = max(--epochs (default 30), ceil(--min-steps (300) / steps per
// epoch)), batch 32, so k = 10 gets enough optimizer steps too.
// Measured per run: test accuracy after the last epoch; wall time of the training (fit/fineTune,
// including fineTune's range test and, for every method alike, the test evaluation after each
// epoch); and the optimizer steps (fit batches; fineTune's range test
// not counted) until the test accuracy, evaluated after every epoch, first reaches scratch's final
// accuracy for the same seed ('—' when never; the column shows how many runs reached it).
//
// Usage (after `npm install` / `npm run build:ts`, which build dist/ and the addon):
//   node scripts/bench/finetune.js [--quick] [--k=10,50,200] [--seeds=1,2,3]
//        [--transfers=split,noisy,inverted,shifted] [--epochs=30] [--min-steps=300]
//        [--pretrain-epochs=8] [--threads=2]
//   --quick: k = 10,50, seeds 1,2, epochs 20, min-steps 200, pretrain 5 epochs.
// Prints a markdown table and writes it to .bench/finetune.md with the command and the machine.
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
const quick = process.argv.includes('--quick');
const ks = arg('k', quick ? '10,50' : '10,50,200').split(',').map(Number);
const seeds = arg('seeds', quick ? '1,2' : '1,2,3').split(',').map(Number);
const transfersWanted = arg('transfers', 'split,noisy,inverted,shifted').split(',');
const epochBudget = Number(arg('epochs', quick ? '20' : '30'));
const minSteps = Number(arg('min-steps', quick ? '200' : '300'));
const pretrainEpochs = Number(arg('pretrain-epochs', quick ? '5' : '8'));
const threads = Number(arg('threads', '2'));
const BATCH = 32;

if (process.env.NODETRAIN_ADDON) process.env.NODETRAIN_ADDON = path.resolve(process.env.NODETRAIN_ADDON);
const distDir = process.env.NODETRAIN_DIST ? path.resolve(process.env.NODETRAIN_DIST) : path.join(root, 'dist');
const nt = require(path.join(distDir, 'lib', 'index.js'));
nt.setNumThreads(threads);

const PIX = 784;

// A small deterministic generator (mulberry32) for the k-shot draws and the noise.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const transforms = {
  identity: (img) => img,
  noisy: (img, r) => {
    const out = new Float32Array(PIX);
    for (let i = 0; i < PIX; i++) out[i] = r() < 0.25 ? r() : 0.7 * img[i];
    return out;
  },
  inverted: (img) => img.map((v) => 1 - v),
  shifted: (img) => {
    const out = new Float32Array(PIX);
    for (let y = 4; y < 28; y++) for (let x = 4; x < 28; x++) out[y * 28 + x] = img[(y - 4) * 28 + (x - 4)];
    return out;
  },
};

const TRANSFERS = [
  { id: 'split', name: 'classes 0–4 → 5–9 (new head)', source: (c) => c < 5, target: (c) => c >= 5, relabel: (c) => c - 5, classes: 5, tf: 'identity', newHead: true },
  { id: 'noisy', name: 'ten classes → noisy / occluded', source: () => true, target: () => true, relabel: (c) => c, classes: 10, tf: 'noisy', newHead: false },
  { id: 'inverted', name: 'ten classes → inverted', source: () => true, target: () => true, relabel: (c) => c, classes: 10, tf: 'inverted', newHead: false },
  { id: 'shifted', name: 'ten classes → shifted 4 px', source: () => true, target: () => true, relabel: (c) => c, classes: 10, tf: 'shifted', newHead: false },
].filter((t) => transfersWanted.includes(t.id));

// Rows of a dataset as plain arrays.
function rowsOf(ds) {
  const x = ds.x.data();
  const y = ds.y.data();
  const out = [];
  for (let i = 0; i < y.length; i++) out.push({ img: x.subarray(i * PIX, (i + 1) * PIX), label: y[i] });
  return out;
}

function toTensors(rows, tf, r, relabel) {
  const x = new Float32Array(rows.length * PIX);
  const y = new Int32Array(rows.length);
  rows.forEach((row, i) => {
    x.set(transforms[tf](row.img, r), i * PIX);
    y[i] = relabel(row.label);
  });
  return { x: nt.tensor(x, [rows.length, PIX]), y: nt.tensor(y, [rows.length], 'int32') };
}

function mlp(classes, seed) {
  return nt.sequential([
    nt.dense({ units: 256, activation: 'relu', inputShape: [PIX], kernelInitializer: 'heUniform', name: 'd1' }),
    nt.dense({ units: 128, activation: 'relu', kernelInitializer: 'heUniform', name: 'd2' }),
    nt.dense({ units: classes, activation: 'softmax', name: 'out' }),
  ], { seed });
}

const compile = (m, opt) => m.compile({ optimizer: opt, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });

// A copy of the pretrained model: new head (replaceHead) or the same weights in a fresh model.
function fromPretrained(pre, t, seed) {
  if (t.newHead) return pre.replaceHead({ units: t.classes, activation: 'softmax', seed });
  const m = mlp(t.classes, seed);
  m.setWeights(pre.getWeights());
  return m;
}

// Records the test accuracy after every epoch (fit's validation on the test set) with the steps
// run so far.
function tracker(stepsPerEpoch) {
  const curve = [];
  return {
    curve,
    cb: { onEpochEnd: (_e, logs) => curve.push({ steps: (curve.length + 1) * stepsPerEpoch, acc: logs.val_accuracy }) },
  };
}

async function runMethod(method, ctx) {
  const { t, pre, train, test, seed, epochs } = ctx;
  const spe = Math.ceil(train.y.shape[0] / BATCH);
  const tr = tracker(spe);
  const fitOpts = (n, initialEpoch = 0) => ({ epochs: n, initialEpoch, batchSize: BATCH, seed, validationData: [test.x, test.y], callbacks: [tr.cb], verbose: 0 });
  const t0 = process.hrtime.bigint();
  let model;
  if (method === 'scratch') {
    model = mlp(t.classes, seed);
    compile(model, nt.adam({ lr: 1e-3 }));
    await model.fit(train.x, train.y, fitOpts(epochs));
  } else if (method === 'head') {
    model = fromPretrained(pre, t, seed);
    model.freeze({ allBut: 1 });
    compile(model, nt.adam({ lr: 1e-3 }));
    await model.fit(train.x, train.y, fitOpts(epochs));
  } else if (method === 'full') {
    model = fromPretrained(pre, t, seed);
    compile(model, nt.adam({ lr: 1e-3 }));
    await model.fit(train.x, train.y, fitOpts(epochs));
  } else if (method === 'gradual') {
    model = fromPretrained(pre, t, seed);
    const groups = nt.layerGroups(model, 3);
    compile(model, nt.adam({ lr: 1e-3 }));
    for (let e = 0; e < epochs; e++) {
      if (e < groups.length) {
        model.freeze();
        for (const g of groups.slice(groups.length - 1 - e)) model.unfreeze(g);
      }
      await model.fit(train.x, train.y, fitOpts(e + 1, e));
    }
  } else if (method === 'discriminative') {
    model = fromPretrained(pre, t, seed);
    compile(model, nt.adam({ lr: 1e-3, paramGroups: nt.discriminativeGroups(nt.layerGroups(model, 3), { lo: 1e-5, hi: 1e-3 }) }));
    await model.fit(train.x, train.y, fitOpts(epochs));
  } else if (method === 'fineTune') {
    model = fromPretrained(pre, t, seed);
    await nt.fineTune(model, train, { seed, validationData: [test.x, test.y], callbacks: [tr.cb] });
  }
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  const acc = (await model.evaluate(test.x, test.y, { batchSize: 256 })).accuracy;
  model.dispose?.();
  return { acc, sec, curve: tr.curve };
}

const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
function stat(xs, d = 1) {
  if (xs.length === 0) return '—';
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length === 1) return fmt(m, d);
  return `${fmt(m, d)} (${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)})`;
}

async function main() {
  const started = Date.now();
  const { train: allTrain, test: allTest } = nt.loadDigits({ seed: 0 });
  const trainRows = rowsOf(allTrain);
  const testRows = rowsOf(allTest);
  const half = Math.floor(trainRows.length / 2);
  const sourcePool = trainRows.slice(0, half);
  const targetPool = trainRows.slice(half);
  const methods = ['scratch', 'head', 'full', 'gradual', 'discriminative', 'fineTune'];
  const label = { scratch: 'from scratch', head: 'head only', full: 'full fine-tuning', gradual: 'gradual unfreezing', discriminative: 'discriminative rates', fineTune: 'fineTune (defaults)' };
  const results = []; // { t, k, method, runs: [{seed, acc, sec, steps}] }
  const pretrained = new Map(); // `${sourceKind}:${seed}` -> { model, acc }
  for (const t of TRANSFERS) {
    for (const k of ks) {
      const rowsFor = {};
      for (const m of methods) if (m !== 'head' || t.newHead) rowsFor[m] = { t, k, method: m, runs: [] };
      for (const seed of seeds) {
        const sourceKey = `${t.newHead ? 'split' : 'all'}:${seed}`;
        if (!pretrained.has(sourceKey)) {
          const src = sourcePool.filter((r) => t.source(r.label));
          const d = toTensors(src, 'identity', null, (c) => c);
          const m = mlp(t.classes, 1000 + seed);
          compile(m, nt.adam({ lr: 1e-3 }));
          const p0 = Date.now();
          await m.fit(d.x, d.y, { epochs: pretrainEpochs, batchSize: 64, seed, verbose: 0 });
          const st = toTensors(testRows.filter((r) => t.source(r.label)), 'identity', null, (c) => c);
          const acc = (await m.evaluate(st.x, st.y)).accuracy;
          console.error(`pretrained ${sourceKey} on ${src.length} digits in ${((Date.now() - p0) / 1000).toFixed(1)} s: source test accuracy ${fmt(100 * acc)}%`);
          pretrained.set(sourceKey, { model: m, acc });
        }
        const pre = pretrained.get(sourceKey).model;
        // k labelled target examples per class, drawn from the target pool with this seed.
        const r = rng(seed * 7919 + k);
        const byClass = new Map();
        for (const row of targetPool) if (t.target(row.label)) (byClass.get(row.label) ?? byClass.set(row.label, []).get(row.label)).push(row);
        const picked = [];
        for (const list of byClass.values()) {
          const idx = list.map((_, i) => i);
          for (let i = 0; i < k; i++) {
            const j = i + Math.floor(r() * (idx.length - i));
            [idx[i], idx[j]] = [idx[j], idx[i]];
            picked.push(list[idx[i]]);
          }
        }
        const train = toTensors(picked, t.tf, rng(seed * 31 + 1), t.relabel);
        const test = toTensors(testRows.filter((row) => t.target(row.label)), t.tf, rng(999), t.relabel);
        const spe = Math.ceil(picked.length / BATCH);
        const epochs = Math.max(epochBudget, Math.ceil(minSteps / spe));
        const ctx = { t, pre, train, test, seed, epochs };
        const out = {};
        for (const m of Object.keys(rowsFor)) {
          out[m] = await runMethod(m, ctx);
          console.error(`${t.id} k=${k} seed ${seed} | ${label[m]}: test ${fmt(100 * out[m].acc)}% in ${fmt(out[m].sec, 2)} s (${out[m].curve.length} epochs)`);
        }
        const goal = out.scratch.acc;
        for (const m of Object.keys(rowsFor)) {
          const hit = out[m].curve.find((c) => c.acc >= goal - 1e-9);
          rowsFor[m].runs.push({ seed, acc: out[m].acc, sec: out[m].sec, steps: hit ? hit.steps : null, total: out[m].curve.length ? out[m].curve[out[m].curve.length - 1].steps : 0 });
        }
      }
      results.push(...Object.values(rowsFor));
    }
  }
  const totalSec = (Date.now() - started) / 1000;

  const lines = [];
  lines.push('| transfer | k | method | test accuracy % (mean, range) | seconds | steps run | steps to scratch\'s final accuracy (runs reaching it) |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const row of results) {
    const reached = row.runs.filter((x) => x.steps !== null);
    lines.push(`| ${row.t.name} | ${row.k} | ${label[row.method]} | ${stat(row.runs.map((x) => 100 * x.acc))} | ${stat(row.runs.map((x) => x.sec), 2)} | ${stat(row.runs.map((x) => x.total), 0)} | ${reached.length ? stat(reached.map((x) => x.steps), 0) : '—'} (${reached.length}/${row.runs.length}) |`);
  }
  const pre = [...pretrained.entries()].map(([k, v]) => `${k} ${fmt(100 * v.acc)}%`).join(', ');
  const table = lines.join('\n');
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    /* not a git checkout */
  }
  const header = [
    `# Fine-tuning benchmark (${new Date().toISOString()}, commit ${commit})`,
    '',
    `Command: node scripts/bench/finetune.js ${process.argv.slice(2).join(' ')}`,
    `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}; Node ${process.version}; threads ${threads}`,
    `k = ${ks.join(', ')}; seeds ${seeds.join(', ')}; epoch budget max(${epochBudget}, ceil(${minSteps} / steps per epoch)), batch ${BATCH}; pretraining ${pretrainEpochs} epochs on 4,500 source digits`,
    `Source models' test accuracy on their own task: ${pre}`,
    `Total ${totalSec.toFixed(0)} s`,
    '',
  ].join('\n');
  process.stdout.write(`${header}\n${table}\n`);
  fs.mkdirSync(path.join(root, '.bench'), { recursive: true });
  fs.writeFileSync(path.join(root, '.bench', 'finetune.md'), `${header}\n${table}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
