#!/usr/bin/env node
// Device-resident training parity on a GPU machine: the same model, from the same initial weights,
// trained on the CPU backend and on the CUDA backend (compile({ device: 'cuda' }) builds the same
// plan on the CUDA table), through trainBatch steps and through the native fit loop (same shuffle
// seed: the permutation is drawn on the host for both). Dropout draws the same Philox stream on
// both tables (kernels/philox.h), keyed from the plan's generator, so a model with dropout gets the
// same masks on both and is compared like the others.
// Tolerance. TF32 is off (the CUDA table's GEMM is FP32: cuBLAS with COMPUTE_32F when it was found,
// the FMA kernels otherwise; NODETRAIN_CUDA_GEMM would change that, and this script refuses it),
// so every difference is float32 rounding in another order: a dot
// product of length K differs by at most about K * 2^-24 relative (K <= 64 here: 4e-6), and the
// loss/softmax and reductions add a few ulps. One step's gradient then differs by eps_g ~ 1e-5
// relative; SGD with momentum mu moves the weights by lr * g / (1 - mu), so after N steps the
// weights differ by at most about N * lr * eps_g * |g| / (1 - mu), relative to |theta| well under
// 1e-5 for N = 40, lr = 0.05. Adam divides by sqrt(v): gradients near zero can flip the sign of
// single elements' steps, which bounds their difference by 2 lr per step, so the test uses the
// relative L2 norm over all weights (1e-4 for Adam, 2e-5 for SGD) and the final loss (1e-4).
// Streamed data sets: each case also fits with the device's data budget forced to about three
// batches (setDataBudget), so the rows go through the pinned double buffer on the upload stream;
// check.sh runs the whole script a second time under NODETRAIN_CUDA_DATA_BUDGET (every device fit
// streams). The divergence-guard cases compare outcomes (see below), not weights.
// Usage: NODETRAIN_ADDON=build-cuda/Release/nodetrain.node node scripts/device/train_parity.js [out.json]
'use strict';
const path = require('path');
const fs = require('fs');
const { relErr, checker } = require('./checks');
const nt = require(path.resolve(process.env.NODETRAIN_ADDON || path.join(__dirname, '../../build-cuda/Release/nodetrain.node')));
// PARITY_DRY_RUN=1 trains both copies on the CPU: a check of this script on a machine without a GPU.
const DEVICE = process.env.PARITY_DRY_RUN ? 'cpu' : 'cuda';
if (DEVICE === 'cuda' && !nt.cudaInfo().available) {
  console.error(`CUDA not available: ${nt.cudaInfo().reason}`);
  process.exit(2);
}
if (process.env.NODETRAIN_CUDA_GEMM) {
  console.error('unset NODETRAIN_CUDA_GEMM: the parity tolerances assume FP32 GEMMs (TF32 off)');
  process.exit(2);
}
let seed = Number(process.env.PARITY_SEED || Date.now() % 1e9);
const seed0 = seed; // printed, so a failing run can be repeated with PARITY_SEED
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed / 2147483648);
const randn = (n, s = 1) => Float32Array.from({ length: n }, () => s * (2 * rand() - 1));
const buf = (a, dtype = 0) => {
  const b = new nt.NativeBuffer(dtype, a.length);
  b.write(a);
  return b;
};
// act 'prelu': linear dense layers, each hidden one followed by a prelu node. dropout: a dropout
// node of that rate after each hidden layer.
function mlp(widths, act, out, dropout = 0) {
  const nodes = [{ op: 'input', name: 'in', inputs: [], attrs: { units: widths[0] } }];
  for (let i = 1; i < widths.length; i++) {
    const last = i === widths.length - 1;
    const a = last ? (out === 'softmax' ? 'linear' : out) : act === 'prelu' ? 'linear' : act;
    nodes.push({ op: 'dense', name: `d${i}`, inputs: [nodes.length - 1], attrs: { units: widths[i], activation: a } });
    if (!last && act === 'prelu') nodes.push({ op: 'prelu', name: `p${i}`, inputs: [nodes.length - 1], attrs: {} });
    if (!last && dropout > 0) nodes.push({ op: 'dropout', name: `r${i}`, inputs: [nodes.length - 1], attrs: { rate: dropout } });
  }
  if (out === 'softmax') nodes.push({ op: 'softmax', name: 'sm', inputs: [nodes.length - 1] });
  return nodes;
}
const cases = [
  { name: '4-16-3 adam sparse-cce', widths: [4, 16, 3], act: 'relu', out: 'softmax', loss: 'sparseCategoricalCrossentropy',
    metrics: ['sparseCategoricalAccuracy'], opt: { kind: 'adam', lr: 0.01 }, tol: 1e-4 },
  { name: '20-64-48-5 prelu sgd-momentum mse', widths: [20, 64, 48, 5], act: 'prelu', out: 'linear', loss: 'meanSquaredError',
    metrics: ['meanAbsoluteError'], opt: { kind: 'sgd', lr: 0.05, momentum: 0.9 }, tol: 2e-5 },
  { name: '32-64-64-10 adam cce', widths: [32, 64, 64, 10], act: 'relu', out: 'softmax', loss: 'categoricalCrossentropy',
    metrics: ['categoricalAccuracy'], opt: { kind: 'adam', lr: 0.003 }, tol: 1e-4 },
  { name: '32-64-64-10 dropout 0.3 adam sparse-cce', widths: [32, 64, 64, 10], act: 'relu', dropout: 0.3, out: 'softmax',
    loss: 'sparseCategoricalCrossentropy', metrics: ['sparseCategoricalAccuracy'], opt: { kind: 'adam', lr: 0.003 }, tol: 1e-4 },
];
const { results, check, failed: failures } = checker();
(async () => {
  for (const c of cases) {
    const rows = 256, batch = 32, steps = 40, k = c.widths[c.widths.length - 1], d = c.widths[0];
    const sparse = c.loss.startsWith('sparse');
    const x = randn(rows * d);
    const labels = Int32Array.from({ length: rows }, () => Math.floor(rand() * k));
    const yf = sparse ? null : c.loss === 'meanSquaredError' ? randn(rows * k) : Float32Array.from({ length: rows * k }, (_, t) => (labels[Math.floor(t / k)] === t % k ? 1 : 0));
    const nodes = mlp(c.widths, c.act, c.out, c.dropout);
    const spec = (device) => ({ nodes, output: nodes.length - 1, loss: { kind: c.loss }, metrics: c.metrics,
      optimizer: c.opt, targetWidth: sparse ? 1 : k, sparseLabels: sparse, seed: 7, device });
    const cpu = new nt.NativeModel(spec('cpu'), batch), gpu = new nt.NativeModel(spec(DEVICE), batch);
    const w0 = randn(cpu.numParams, 0.3);
    cpu.writeParams(w0);
    gpu.writeParams(w0);
    check(`${c.name}: weights after upload`, relErr(gpu.readParams(), w0), 0);
    let lc, lg;
    for (let s = 0; s < steps; s++) {
      const r0 = (s * batch) % rows;
      const xb = buf(x.subarray(r0 * d, (r0 + batch) * d));
      const yb = sparse ? buf(labels.subarray(r0, r0 + batch), 1) : buf(yf.subarray(r0 * k, (r0 + batch) * k));
      lc = await cpu.trainBatch(xb, yb, batch, d);
      lg = await gpu.trainBatch(xb, yb, batch, d);
    }
    check(`${c.name}: loss after ${steps} trainBatch steps`, relErr([lg.loss], [lc.loss]), c.tol);
    check(`${c.name}: weights after ${steps} trainBatch steps`, relErr(gpu.readParams(), cpu.readParams()), c.tol);
    check(`${c.name}: metric after ${steps} steps`, relErr(lg.metrics, lc.metrics), 0.02);
    // The native fit loop: resident data set, shuffled batches gathered on the device.
    const xs = buf(x), ys = sparse ? buf(labels, 1) : buf(yf);
    const logs = [];
    for (const m of [cpu, gpu]) {
      const ev = [];
      const resume = (e) => e.type === 'epochEnd' && m.resumeFit(false);
      await m.fit(xs, ys, rows, d, null, null, 0, { epochs: 2, batchSize: batch, shuffle: true, seed: 11, syncEpochs: false }, (e) => (ev.push(e), resume(e)));
      logs.push(ev.filter((e) => e.type === 'epochEnd').map((e) => e.logs.loss));
    }
    check(`${c.name}: weights after 2 fit epochs`, relErr(gpu.readParams(), cpu.readParams()), c.tol * 2);
    if (logs[0].length && logs[1].length) check(`${c.name}: fit losses`, relErr(logs[1], logs[0]), c.tol * 2);
    // The same fit with the training set streamed on the device: a budget of about three batches
    // (chunks of one batch through the pinned double buffer), against the CPU's resident fit, from
    // the same weights. Under NODETRAIN_CUDA_DATA_BUDGET every device fit above streams already.
    const wStart = randn(cpu.numParams, 0.3);
    cpu.writeParams(wStart);
    gpu.writeParams(wStart);
    cpu.resetOptimizer();
    gpu.resetOptimizer();
    const rowBytes = 4 * (d + (sparse ? 1 : k));
    gpu.setDataBudget(3 * batch * rowBytes);
    const slogs = [];
    for (const m of [cpu, gpu]) {
      const ev = [];
      await m.fit(xs, ys, rows, d, null, null, 0, { epochs: 2, batchSize: batch, shuffle: true, seed: 13, syncEpochs: false },
        (e) => (ev.push(e), e.type === 'epochEnd' && m.resumeFit(false)));
      slogs.push(ev.filter((e) => e.type === 'epochEnd').map((e) => e.logs.loss));
    }
    gpu.setDataBudget(0);
    check(`${c.name}: weights after 2 streamed fit epochs`, relErr(gpu.readParams(), cpu.readParams()), c.tol * 2);
    if (slogs[0].length === 2 && slogs[1].length === 2) check(`${c.name}: streamed fit losses`, relErr(slogs[1], slogs[0]), c.tol * 2);
    else check(`${c.name}: streamed fit epochs reported`, Infinity, 0);
    cpu.dispose();
    gpu.dispose();
  }
  // The divergence guard on both devices: the device reads its update record at the guard's
  // snapshot points and epoch ends instead of every step, so the step a failure is noticed at may
  // differ; what must match is the outcome (recovered or aborted, the error code, the number of
  // recoveries). Cases: a huge learning rate (the loss overflows: every retry diverges until the
  // guard gives up), one so large that SGD's overflow check (on the device) rejects every step, a NaN gradient injected at one step (one recovery), and the same without the
  // guard (the fit fails with ERR_NT_NON_FINITE).
  {
    const rows = 192, batch = 16, d = 12, k = 4;
    const x = randn(rows * d, 3);
    const labels = Int32Array.from({ length: rows }, () => Math.floor(rand() * k));
    const nodes = mlp([d, 32, k], 'relu', 'softmax');
    const xs = buf(x), ys = buf(labels, 1);
    const guardCases = [
      { name: 'huge learning rate, guard on', opt: { kind: 'sgd', lr: 1e12, momentum: 0.9 }, guard: true },
      { name: 'an update that would overflow the weights, guard on', opt: { kind: 'sgd', lr: 1e31, momentum: 0.9 }, guard: true },
      { name: 'NaN gradient at step 5, guard on', opt: { kind: 'adam', lr: 0.01 }, guard: true, inject: [5] },
      { name: 'NaN gradient at step 5, guard off', opt: { kind: 'adam', lr: 0.01 }, guard: false, inject: [5] },
    ];
    for (const g of guardCases) {
      const outcome = [];
      let w;
      for (const device of ['cpu', DEVICE]) {
        const m = new nt.NativeModel({ nodes, output: nodes.length - 1, loss: { kind: 'sparseCategoricalCrossentropy' }, metrics: [],
          optimizer: g.opt, targetWidth: 1, sparseLabels: true, seed: 3, device }, batch);
        if (!w) w = randn(m.numParams, 0.3);
        m.writeParams(w);
        if (g.inject) m.injectNonFinite(g.inject);
        let recoveries = 0, epochs = 0, err = null;
        try {
          await m.fit(xs, ys, rows, d, null, null, 0, { epochs: 3, batchSize: batch, shuffle: true, seed: 5, syncEpochs: false,
            guard: g.guard, guardMaxRetries: 3, guardSnapshotEvery: 4 }, (e) => {
            if (e.type === 'epochEnd') {
              recoveries = e.logs.recoveries;
              epochs++;
              m.resumeFit(false);
            }
          });
        } catch (e) {
          err = { code: e.code, diverged: (/Training diverged (\d+) times/.exec(e.message) || [])[1] || null };
        }
        outcome.push({ device, recoveries, epochs, err });
        m.dispose();
      }
      const same = JSON.stringify({ ...outcome[0], device: 0, epochs: outcome[0].err ? 0 : outcome[0].epochs }) ===
        JSON.stringify({ ...outcome[1], device: 0, epochs: outcome[1].err ? 0 : outcome[1].epochs });
      console.log(`     guard ${g.name}: ${outcome.map((o) => `${o.device} ${JSON.stringify({ recoveries: o.recoveries, epochs: o.epochs, err: o.err })}`).join(' | ')}`);
      check(`guard ${g.name}: same outcome on both devices`, same ? 0 : Infinity, 0);
    }
  }
  // MLP 784-2048-2048-10 at batch 1024 through the real fit loop (samples/s of the second epoch;
  // the first warms up). Skipped in the dry run (minutes on a CPU) and with PARITY_NO_TIMING.
  let timing = null;
  if (DEVICE === 'cuda' && !process.env.PARITY_NO_TIMING) {
    const rows = 16384, d = 784, k = 10;
    const nodes = mlp([d, 2048, 2048, k], 'relu', 'linear');
    const m = new nt.NativeModel({ nodes, output: nodes.length - 1, loss: { kind: 'sparseCategoricalCrossentropyFromLogits' }, metrics: [],
      optimizer: { kind: 'adam', lr: 1e-3 }, targetWidth: 1, sparseLabels: true, seed: 1, device: 'cuda' }, 1024);
    m.writeParams(randn(m.numParams, 0.03));
    const secs = [];
    await m.fit(buf(randn(rows * d)), buf(Int32Array.from({ length: rows }, () => Math.floor(rand() * k)), 1), rows, d, null, null, 0,
      { epochs: 2, batchSize: 1024, shuffle: true, seed: 3, syncEpochs: false }, (e) => {
        if (e.type === 'epochEnd') {
          secs.push(e.logs.seconds);
          m.resumeFit(false);
        }
      });
    timing = { model: 'mlp 784-2048-2048-10', batch: 1024, rows, samplesPerSec: rows / secs[secs.length - 1], epochSeconds: secs };
    console.log(`fit loop, ${timing.model} b1024: ${timing.samplesPerSec.toFixed(0)} samples/s (epoch seconds ${secs.map((x) => x.toFixed(3)).join(', ')})`);
    m.dispose();
  }
  console.log(`${failures() ? failures() + ' FAILED' : 'all passed'} (${results.length} checks, PARITY_SEED=${seed0})`);
  if (process.argv[2]) fs.writeFileSync(process.argv[2], JSON.stringify({ results, failed: failures(), timing }, null, 1));
  process.exit(failures() ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
