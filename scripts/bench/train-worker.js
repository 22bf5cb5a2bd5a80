#!/usr/bin/env node
// One library's side of the training benchmark (scripts/bench/train.js starts this file once per
// library and thread count, so each runs in its own process and reports its own peak RSS). PyTorch's
// side is scripts/bench/train_torch.py, which writes results of the same shape.
//
// Usage: node scripts/bench/train-worker.js <config.json> <result.json>
//   config: { lib: 'nodetrain' | 'tfjs-wasm' | 'tfjs-cpu', threads, ntJs, ntAddon, dataFile, testFile, quick,
//             root, only: [workload keys] | null, reps: { mlp, small, linreg } timed runs per workload }
//
// Workloads (identical data, model, initialiser families and optimizer settings on every side):
//   mlpAdam / mlpSgd  784-256-256-10 (relu, relu, softmax), batch 128, Adam 1e-3 / SGD 0.01: samples/s;
//                     nodetrain also reports accuracy on the held-out digits (testFile)
//   mlpAdamBf16       nodetrain only: mlpAdam compiled with { precision: 'bf16' }; on a build that
//                     rejects the option, the result is { unsupported: why } instead of timings
//   small             4-16-3 (relu, softmax) on 150 iris-like samples, batch 16, 100 epochs: ms/step
//   linreg            1 -> 1 dense, y = 1.5x - 2 + noise, SGD 0.01, batch 10, 1000 steps: total ms
//   eventLoop         event-loop delay (monitorEventLoopDelay, 1 ms resolution) during an MLP fit
'use strict';
const fs = require('fs');
const path = require('path');
const { monitorEventLoopDelay } = require('perf_hooks');
const { irisLike, linregData, readDigits } = require('./train-data');

const [configFile, resultFile] = process.argv.slice(2);
const cfg = JSON.parse(fs.readFileSync(configFile, 'utf8'));
const isNt = cfg.lib === 'nodetrain';

// ---- shared settings ---------------------------------------------------------------------------
const ADAM = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-7 }; // tfjs's default epsilon, set on both sides
const SGD_LR = 0.01;
const SMALL_LR = 0.01; // Adam for the 4-16-3 model
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function digits() {
  return readDigits(cfg.dataFile);
}

// ---- the two libraries behind one small interface ----------------------------------------------
// Each adapter: mlp(opt) / small() / linreg() build and compile a fresh model; fit(m, data, opts)
// trains and resolves with the last epoch's loss; tensors(...) wraps typed arrays.

async function nodetrainAdapter() {
  if (cfg.ntAddon) process.env.NODETRAIN_ADDON = cfg.ntAddon;
  const nt = require(cfg.ntJs);
  nt.setNumThreads(cfg.threads);
  const info = { threads: nt.getNumThreads(), cpu: nt.cpuFeatures() };
  const opt = (name, lr) => (name === 'adam' ? nt.adam(lr === undefined ? ADAM : { ...ADAM, lr }) : nt.sgd({ lr }));
  return {
    info,
    cls(x, y, n, d) {
      return { x: nt.tensor(x, [n, d]), y: nt.tensor(y, [n], 'int32'), n };
    },
    reg(x, y, n) {
      return { x: nt.tensor(x, [n, 1]), y: nt.tensor(y, [n, 1]), n };
    },
    // extra: more compile options ({ precision: 'bf16' }); builds without them throw here.
    mlp(optName, extra = {}) {
      const m = nt.sequential(
        [nt.dense({ units: 256, activation: 'relu', inputShape: [784] }), nt.dense({ units: 256, activation: 'relu' }), nt.dense({ units: 10, activation: 'softmax' })],
        { seed: 1 },
      );
      m.compile({ optimizer: opt(optName, optName === 'adam' ? ADAM.lr : SGD_LR), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], ...extra });
      return m;
    },
    small() {
      const m = nt.sequential([nt.dense({ units: 16, activation: 'relu', inputShape: [4] }), nt.dense({ units: 3, activation: 'softmax' })], { seed: 1 });
      m.compile({ optimizer: opt('adam', SMALL_LR), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
      return m;
    },
    linreg() {
      const m = nt.sequential([nt.dense({ units: 1, inputShape: [1] })], { seed: 1 });
      m.compile({ optimizer: opt('sgd', SGD_LR), loss: 'meanSquaredError' });
      return m;
    },
    async fit(m, data, { epochs, batchSize }) {
      const h = await m.fit(data.x, data.y, { epochs, batchSize, shuffle: true, seed: 1 });
      const l = h.history.loss;
      return l[l.length - 1];
    },
    weights(m) {
      return Object.values(m.getWeights()).map((w) => Array.from(w.data));
    },
    async accuracy(m, data) {
      return (await m.evaluate(data.x, data.y)).accuracy;
    },
  };
}

async function tfjsAdapter(backend) {
  const tf = require('@tensorflow/tfjs-core');
  const tfl = require('@tensorflow/tfjs-layers');
  let info = {};
  if (backend === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    // Load the .wasm binaries from disk (no network).
    wasm.setWasmPaths(path.join(cfg.root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + path.sep);
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend failed to initialise');
    await tf.ready();
    info = { threads: wasm.getThreadsCount(), multithread: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'), simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') };
  } else {
    require('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu'))) throw new Error('tfjs cpu backend failed to initialise');
    await tf.ready();
    info = { threads: 1 };
  }
  info.backend = tf.getBackend();
  const opt = (name, lr) => (name === 'adam' ? tf.train.adam(lr, ADAM.beta1, ADAM.beta2, ADAM.eps) : tf.train.sgd(lr));
  const seq = (layers) => {
    const m = tfl.sequential();
    for (const l of layers) m.add(l);
    return m;
  };
  const init = (seed) => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed }), biasInitializer: 'zeros' });
  return {
    info,
    cls(x, y, n, d) {
      // Sparse labels: tfjs-layers expects a float [n, 1] target for sparseCategoricalCrossentropy.
      return { x: tf.tensor2d(x, [n, d]), y: tf.tensor2d(Float32Array.from(y), [n, 1]), n };
    },
    reg(x, y, n) {
      return { x: tf.tensor2d(x, [n, 1]), y: tf.tensor2d(y, [n, 1]), n };
    },
    mlp(optName) {
      const m = seq([
        tfl.layers.dense({ units: 256, activation: 'relu', inputShape: [784], ...init(1) }),
        tfl.layers.dense({ units: 256, activation: 'relu', ...init(2) }),
        tfl.layers.dense({ units: 10, activation: 'softmax', ...init(3) }),
      ]);
      m.compile({ optimizer: opt(optName, optName === 'adam' ? ADAM.lr : SGD_LR), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
      return m;
    },
    small() {
      const m = seq([tfl.layers.dense({ units: 16, activation: 'relu', inputShape: [4], ...init(1) }), tfl.layers.dense({ units: 3, activation: 'softmax', ...init(2) })]);
      m.compile({ optimizer: opt('adam', SMALL_LR), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
      return m;
    },
    linreg() {
      const m = seq([tfl.layers.dense({ units: 1, inputShape: [1], ...init(1) })]);
      m.compile({ optimizer: opt('sgd', SGD_LR), loss: 'meanSquaredError' });
      return m;
    },
    async fit(m, data, { epochs, batchSize }) {
      const h = await m.fit(data.x, data.y, { epochs, batchSize, shuffle: true, verbose: 0 });
      const l = h.history.loss;
      return l[l.length - 1];
    },
    weights(m) {
      return m.getWeights().map((w) => Array.from(w.dataSync()));
    },
  };
}

// ---- workloads ---------------------------------------------------------------------------------
async function main() {
  const lib = isNt ? await nodetrainAdapter() : await tfjsAdapter(cfg.lib === 'tfjs-wasm' ? 'wasm' : 'cpu');
  const q = cfg.quick;
  const out = { lib: cfg.lib, threads: cfg.threads, info: lib.info };
  const only = cfg.only ? new Set(cfg.only) : null;
  const want = (k) => !only || only.has(k);
  const log = (s) => process.stderr.write(`[${cfg.lib}${isNt ? ` ${cfg.threads}T` : ''}] ${s}\n`);

  // 1. MLP throughput. nodetrain: the 8,960 first digits (70 full batches) per epoch; tfjs, 30-300x
  // slower, the first 2,560 or 1,280 (full batches): the same per-step work in shorter runs.
  const dg = digits();
  const nFull = Math.floor(dg.n / 128) * 128;
  const first = (n) => lib.cls(dg.x.subarray(0, n * dg.d), dg.y.subarray(0, n), n, dg.d);
  // tfjs-cpu runs ~300 samples/s: half the tfjs-wasm subset.
  const mlpN = isNt ? nFull : (q ? 1280 : 2560) / (cfg.lib === 'tfjs-cpu' ? 2 : 1);
  const mlpData = first(mlpN);
  const warm = first(512);
  out.rssBaseMB = process.memoryUsage().rss / 2 ** 20;
  const mlpEpochs = isNt ? (q ? 2 : 4) : 1;
  const mlpReps = cfg.reps.mlp;
  // Held-out digits (the split loadDigits keeps out of training): accuracy after the timed runs.
  const test = cfg.testFile && lib.accuracy ? readDigits(cfg.testFile) : null;
  const testData = test ? lib.cls(test.x, test.y, test.n, test.d) : null;
  // mlpAdamBf16: nodetrain's compile({ precision: 'bf16' }) (bf16 GEMM inputs, fp32 accumulation
  // and master weights). A build without that option rejects it: the row then says so.
  const mlpRuns = [
    ['mlpAdam', 'adam', undefined],
    ['mlpSgd', 'sgd', undefined],
    ...(isNt ? [['mlpAdamBf16', 'adam', { precision: 'bf16' }]] : []),
  ];
  for (const [key, optName, extra] of mlpRuns) {
    if (!want(key) && !(key === 'mlpAdam' && want('eventLoop'))) continue;
    let m;
    try {
      m = lib.mlp(optName, extra);
      await lib.fit(m, warm, { epochs: 1, batchSize: 128 }); // warm-up: plan, kernels, JIT
    } catch (e) {
      if (!extra) throw e;
      const msg = String(e?.message ?? e).split('\n')[0];
      const unsupported = /option '?precision'?/.test(msg) ? 'this build has no precision option' : msg;
      out[key] = { unsupported, error: msg };
      log(`${key}: n/a (${unsupported})`);
      continue;
    }
    const times = [];
    let loss;
    // CPU time of the whole process (all threads) over the timed runs: a machine shared with
    // other work stretches wall time, much less CPU time per sample.
    const c0 = process.cpuUsage();
    for (let r = 0; r < mlpReps; r++) {
      const t0 = now();
      loss = await lib.fit(m, mlpData, { epochs: mlpEpochs, batchSize: 128 });
      times.push(now() - t0);
    }
    const c1 = process.cpuUsage(c0);
    const ms = median(times);
    const samples = mlpN * mlpEpochs;
    out[key] = { samplesPerSec: samples / (ms / 1000), ms: times, samples, lastLoss: loss, cpuUsPerSample: (c1.user + c1.system) / (samples * mlpReps) };
    if (testData) out[key].testAccuracy = await lib.accuracy(m, testData);
    const acc = out[key].testAccuracy !== undefined ? `, test accuracy ${(100 * out[key].testAccuracy).toFixed(1)} %` : '';
    log(`${key}: ${out[key].samplesPerSec.toFixed(0)} samples/s (loss ${loss.toFixed(4)}${acc})`);
  }

  // 2. Overhead-bound 4-16-3 on 150 samples, batch 16, 100 epochs = 1,000 steps per run.
  if (want('small')) {
    const ir = irisLike();
    const data = lib.cls(ir.x, ir.y, 150, 4);
    const m = lib.small();
    await lib.fit(m, data, { epochs: 5, batchSize: 16 });
    const steps = 100 * Math.ceil(150 / 16);
    const times = [];
    let loss;
    for (let r = 0; r < cfg.reps.small; r++) {
      const t0 = now();
      loss = await lib.fit(m, data, { epochs: 100, batchSize: 16 });
      times.push(now() - t0);
    }
    out.small = { msPerStep: median(times) / steps, ms: times, steps, lastLoss: loss };
    log(`small: ${out.small.msPerStep.toFixed(4)} ms/step (loss ${loss.toFixed(4)})`);
  }

  // 3. Linear regression: fresh model per run (what running the example costs), after one run to
  // warm up the library; 10,000 samples, batch 10, one epoch = 1,000 SGD steps.
  if (want('linreg')) {
    const lr = linregData();
    const data = lib.reg(lr.x, lr.y, 10000);
    const times = [];
    let wb;
    for (let r = 0; r <= cfg.reps.linreg; r++) {
      const m = lib.linreg();
      const t0 = now();
      await lib.fit(m, data, { epochs: 1, batchSize: 10 });
      if (r > 0) times.push(now() - t0);
      wb = lib.weights(m).map((a) => a[0]);
    }
    out.linreg = { ms: median(times), runs: times, w: wb[0], b: wb[1] };
    log(`linreg: ${out.linreg.ms.toFixed(2)} ms (w ${wb[0].toFixed(3)}, b ${wb[1].toFixed(3)})`);
  }

  // 5. Event-loop delay while the MLP (Adam) trains for about EL_SECONDS.
  if (want('eventLoop')) {
    const seconds = q ? 1.5 : 3;
    const sps = out.mlpAdam.samplesPerSec;
    const m = lib.mlp('adam');
    await lib.fit(m, warm, { epochs: 1, batchSize: 128 });
    let data = mlpData;
    let epochs = 1;
    if (isNt) epochs = Math.max(1, Math.ceil((seconds * sps) / mlpN));
    else data = first(Math.min(nFull, Math.max(256, Math.ceil((seconds * sps) / 128) * 128)));
    // Baseline: the same measurement with nothing running, to tell the machine's own noise apart.
    const idle = monitorEventLoopDelay({ resolution: 1 });
    idle.enable();
    await new Promise((r) => setTimeout(r, 1000));
    idle.disable();
    const h = monitorEventLoopDelay({ resolution: 1 });
    let ticks = 0;
    const iv = setInterval(() => ticks++, 1);
    h.enable();
    const t0 = now();
    await lib.fit(m, data, { epochs, batchSize: 128 });
    const ms = now() - t0;
    h.disable();
    clearInterval(iv);
    out.eventLoop = { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6, fitMs: ms, ticks, idleP99: idle.percentile(99) / 1e6, idleMax: idle.max / 1e6 };
    log(`event loop: p99 ${out.eventLoop.p99.toFixed(2)} ms, max ${out.eventLoop.max.toFixed(1)} ms over ${(ms / 1000).toFixed(1)} s`);
  }

  out.maxRssMB = process.resourceUsage().maxRSS / 1024;
  fs.writeFileSync(resultFile, JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
