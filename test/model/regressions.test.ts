/**
 * Regression tests for defects found while the engine was built, each with its minimal repro:
 *   1. shape errors for nested-array input must name the shape (not "a disposed Tensor")
 *   2. an update that would overflow the weights is rejected before it is applied (weights stay finite)
 *   3. fit's `seed` seeds dropout
 *   4. a tensor handed to fit() is pinned synchronously and cannot be disposed right after the call
 *   5. terminating a worker during fit() does not abort the process
 *   6. the divergence guard leaves a healthy fit whose loss approaches zero alone
 *   7. with the guard on, a fit that keeps diverging rejects instead of ending early in silence
 */
import { spawnSync } from 'child_process';

import { adam, batchNormalization, dense, dropout, rmsprop, sequential, sgd, tensor } from '../../lib';
import { bufferOf } from '../../lib/tensor/tensor';
import { makeRng, randMatrix, sameBits } from '../helpers/model';
import { transpileLib } from '../helpers/transpile';

test('BUG 1: a wrong-width nested array names its shape, not "a disposed Tensor"', async () => {
  const m = sequential([dense({ units: 2, inputShape: [4] })], { seed: 1 });
  m.compile({ optimizer: 'sgd', loss: 'mse' });
  await expect(m.predict([[1, 2, 3]])).rejects.toThrow('Expected a float32 Tensor of shape [n, 4] for x but received a Tensor of shape [1, 3]');
  await expect(m.fit([[1, 2, 3, 4]], [[1, 2, 3]])).rejects.toThrow('Expected a float32 Tensor of shape [1, 2] for y but received a Tensor of shape [1, 3]');
});

test('BUG 2: after ERR_NT_NON_FINITE the weights are still finite ("the update was not applied")', async () => {
  const m = sequential([dense({ units: 2, inputShape: [4] })], { seed: 5 });
  m.compile({ optimizer: sgd({ lr: 1e6 }), loss: 'mse' });
  const x = Array.from({ length: 8 }, (_, i) => [i, i * 2, -i, 1]);
  const y = x.map((r) => [r[0] * 3, -r[1]]);
  await expect(m.fit(x, y, { epochs: 50, batchSize: 8, shuffle: false, divergenceGuard: false })).rejects.toMatchObject({ code: 'ERR_NT_NON_FINITE' });
  const k = Array.from(m.getWeights()['dense_1/kernel'].data);
  expect(k.every(Number.isFinite)).toBe(true);
});

test('BUG 3: fit({seed}) seeds dropout: other fit seeds give other masks (no shuffling involved)', async () => {
  const x = Array.from({ length: 32 }, (_, i) => Array.from({ length: 8 }, (_, j) => Math.sin(i * 8 + j)));
  const y = x.map((r) => [r[0] - r[1]]);
  const run = async (seed: number): Promise<ReturnType<ReturnType<typeof sequential>['getWeights']>> => {
    const m = sequential([dropout({ rate: 0.5, inputShape: [8] }), dense({ units: 1 })], { seed: 3 });
    m.compile({ optimizer: sgd({ lr: 0.1 }), loss: 'mse' });
    await m.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, seed });
    return m.getWeights();
  };
  expect(sameBits(await run(1), await run(2))).toBe(false);
});

test('BUG 4: a tensor handed to fit() cannot be disposed right after the call', async () => {
  const m = sequential([dense({ units: 1, inputShape: [2] })], { seed: 3 });
  m.compile({ optimizer: sgd({ lr: 0.1 }), loss: 'mse' });
  const x = tensor([[1, 2], [3, 4]]);
  const settled = m.fit(x, [[1], [2]], { epochs: 1 }).then(
    () => 'fit resolved',
    (e: { code?: string }) => `fit rejected with ${e.code}`,
  );
  let disposeError = 'none';
  try {
    x.dispose();
  } catch (e) {
    disposeError = (e as Error).message;
  }
  expect({ disposeError, fit: await settled }).toEqual({ disposeError: 'Cannot dispose a tensor while a running fit, evaluate or predict uses it', fit: 'fit resolved' });
  x.dispose();
});

test('BUG 5: terminating a worker in the middle of fit() does not abort the process', () => {
  const lib = transpileLib();
  try {
    const script = `
      const { Worker } = require('worker_threads');
      const code = \`
        const nt = require(${JSON.stringify(lib.index)});
        const { parentPort } = require('worker_threads');
        const x = Array.from({ length: 200 }, (_, i) => [i / 100]);
        const y = x.map(([v]) => [2 * v + 1]);
        const m = nt.sequential([nt.dense({ units: 1, inputShape: [1] })], { seed: 1 });
        m.compile({ optimizer: nt.sgd({ lr: 0.01 }), loss: 'mse' });
        parentPort.postMessage('started');
        m.fit(x, y, { epochs: 1000000, batchSize: 10 });
      \`;
      // The crash is timing-dependent (about one run in two): terminate several workers.
      (async () => {
        for (let i = 0; i < 8; i++) {
          const w = new Worker(code, { eval: true });
          await new Promise((r) => w.once('message', r));
          await new Promise((r) => setTimeout(r, 50 + 40 * i));
          await w.terminate();
        }
        setTimeout(() => console.log('main thread alive'), 100);
      })();
    `;
    const r = spawnSync(process.execPath, ['-e', script], { env: process.env, encoding: 'utf8', timeout: 90000 });
    expect({ status: r.status, signal: r.signal, stdout: r.stdout.trim(), stderr: r.stderr.trim() }).toEqual({ status: 0, signal: null, stdout: 'main thread alive', stderr: '' });
  } finally {
    lib.cleanup();
  }
});

test('BUG 6: the divergence guard leaves a healthy, converging fit alone', async () => {
  const m = sequential([dense({ units: 4, activation: 'tanh', inputShape: [3] }), dense({ units: 1 })], { seed: 10 });
  m.compile({ optimizer: sgd({ lr: 0.05 }), loss: 'mse' });
  const x = randMatrix(makeRng(11), 400, 3);
  const y = x.map((r) => [0.5 * r[0] - r[1] + 0.25 * r[2]]);
  const h = await m.fit(x, y, { epochs: 3, batchSize: 1, seed: 1 });
  expect(h.epoch).toEqual([0, 1, 2]);
  expect(m.optimizerStep).toBe(1200);
  expect(h.history.lr.map((v) => Math.abs(v - 0.05) < 1e-9)).toEqual([true, true, true]);
});

test('BUG 7: with the guard on, a fit that keeps diverging rejects instead of ending early in silence', async () => {
  const m = sequential([dense({ units: 2, inputShape: [4] })], { seed: 5 });
  m.compile({ optimizer: sgd({ lr: 1e6 }), loss: 'mse' });
  const x = Array.from({ length: 8 }, (_, i) => [i, i * 2, -i, 1]);
  const y = x.map((r) => [r[0] * 3, -r[1]]);
  const outcome = await m.fit(x, y, { epochs: 50, batchSize: 8, shuffle: false }).then(
    (h) => `resolved after ${h.epoch.length} of 50 epochs`,
    (e: { code?: string }) => e.code,
  );
  expect(outcome).toBe('ERR_NT_NON_FINITE');
});

test('terminating a worker during predict, evaluate or trainOnBatch does not abort the process', () => {
  const lib = transpileLib();
  try {
    const script = `
      const { Worker } = require('worker_threads');
      const code = \`
        const nt = require(${JSON.stringify(lib.index)});
        const { parentPort, workerData } = require('worker_threads');
        const n = 4096;
        const x = nt.tensor(new Float32Array(n * 256).map((_, i) => Math.sin(i)), [n, 256]);
        const y = nt.tensor(new Float32Array(n * 8).map((_, i) => Math.cos(i)), [n, 8]);
        const m = nt.sequential([nt.dense({ units: 256, activation: 'relu', inputShape: [256] }), nt.dense({ units: 8 })], { seed: 1 });
        m.compile({ optimizer: nt.sgd({ lr: 0.001 }), loss: 'mse' });
        const xb = nt.tensor(new Float32Array(32 * 256).fill(0.1), [32, 256]);
        const yb = nt.tensor(new Float32Array(32 * 8).fill(0.2), [32, 8]);
        parentPort.postMessage('started');
        (async () => {
          for (;;) {
            if (workerData.op === 0) (await m.predict(x)).dispose();
            else if (workerData.op === 1) await m.evaluate(x, y);
            else await m.trainOnBatch(xb, yb);
          }
        })();
      \`;
      (async () => {
        for (let i = 0; i < 9; i++) {
          const w = new Worker(code, { eval: true, workerData: { op: i % 3 } });
          await new Promise((r) => w.once('message', r));
          await new Promise((r) => setTimeout(r, 20 + 15 * i));
          await w.terminate();
        }
        setTimeout(() => console.log('main thread alive'), 100);
      })();
    `;
    const r = spawnSync(process.execPath, ['-e', script], { env: process.env, encoding: 'utf8', timeout: 90000 });
    expect({ status: r.status, signal: r.signal, stdout: r.stdout.trim(), stderr: r.stderr.trim() }).toEqual({ status: 0, signal: null, stdout: 'main thread alive', stderr: '' });
  } finally {
    lib.cleanup();
  }
});

test('predict and evaluate inside an epoch callback leave the running fit alone; compile there is refused', async () => {
  const rng = makeRng(9);
  const x = Array.from({ length: 100 }, () => [rng.next() * 2 - 1]);
  const y = x.map(([v]) => [3 * v - 1]);
  const m = sequential([dense({ units: 1, inputShape: [1] })], { seed: 2 });
  m.compile({ optimizer: sgd({ lr: 0.1 }), loss: 'mse' });
  let compileError: { code?: string } | undefined;
  const h = await m.fit(x, y, {
    epochs: 30,
    batchSize: 16,
    seed: 1,
    callbacks: [
      {
        onEpochEnd: async (epoch) => {
          if (epoch !== 0) return;
          (await m.predict(x)).dispose(); // 100 rows: more than the 32-row plan
          await m.evaluate(x, y, { batchSize: 100 });
          try {
            m.compile({ optimizer: sgd({ lr: 0.1 }), loss: 'mse' });
          } catch (e) {
            compileError = e as { code?: string };
          }
        },
      },
    ],
  });
  expect(compileError?.code).toBe('ERR_NT_BUSY');
  expect(m.optimizerStep).toBe(30 * 7);
  const final = await m.evaluate(x, y);
  expect(final.loss).toBeCloseTo(h.history.loss[29], 1);
  expect(final.loss).toBeLessThan(1e-3);
});

test('recompiling with another optimizer type does not carry the old moments over', async () => {
  const m = sequential([dense({ units: 2, inputShape: [3] })], { seed: 1 });
  m.compile({ optimizer: adam({ lr: 0.01 }), loss: 'mse' });
  const x = [[1, 2, 3], [0, 1, 0], [2, 0, 1]];
  const y = [[1, 0], [0, 1], [1, 1]];
  await m.fit(x, y, { epochs: 3, batchSize: 3 });
  expect(m.optimizerStep).toBe(3);
  m.compile({ optimizer: rmsprop({ lr: 0.01, momentum: 0.9 }), loss: 'mse' });
  expect(m.optimizerStep).toBe(0);
  m.compile({ optimizer: rmsprop({ lr: 0.02, momentum: 0.9 }), loss: 'mse' });
  await m.fit(x, y, { epochs: 2, batchSize: 3 });
  m.compile({ optimizer: rmsprop({ lr: 0.01, momentum: 0.9 }), loss: 'mse' });
  expect(m.optimizerStep).toBe(2); // same optimizer: state kept
});

test('a frozen batch-norm layer uses and keeps its moving statistics', async () => {
  const m = sequential([dense({ units: 3, inputShape: [2] }), batchNormalization(), dense({ units: 1 })], { seed: 3 });
  const bn = m.layers[1];
  bn.trainable = false;
  m.compile({ optimizer: sgd({ lr: 0.05 }), loss: 'mse' });
  const before = m.getWeights();
  const x = Array.from({ length: 32 }, (_, i) => [Math.sin(i), Math.cos(i)]);
  const y = x.map(([a, b]) => [a - b]);
  await m.fit(x, y, { epochs: 2, batchSize: 8, seed: 1 });
  const after = m.getWeights();
  for (const k of ['moving_mean', 'moving_variance', 'gamma', 'beta']) {
    const name = `${bn.name}/${k}`;
    expect(Array.from(after[name].data)).toEqual(Array.from(before[name].data));
  }
  expect(Array.from(after['dense_1/kernel'].data)).not.toEqual(Array.from(before['dense_1/kernel'].data));
});

test('a rejected step leaves batch-norm moving statistics unchanged', async () => {
  const m = sequential([dense({ units: 2, inputShape: [4] }), batchNormalization(), dense({ units: 2 })], { seed: 5 });
  m.compile({ optimizer: sgd({ lr: 1e6 }), loss: 'mse' });
  const x = Array.from({ length: 8 }, (_, i) => [i, i * 2, -i, 1]);
  const y = x.map((r) => [r[0] * 3, -r[1]]);
  await expect(m.fit(x, y, { epochs: 50, batchSize: 8, shuffle: false, divergenceGuard: false })).rejects.toMatchObject({ code: 'ERR_NT_NON_FINITE' });
  for (const [k, w] of Object.entries(m.getWeights())) {
    expect({ k, finite: Array.from(w.data).every(Number.isFinite) }).toEqual({ k, finite: true });
  }
});

test('binaryAccuracy on a softmax output fused with cross-entropy thresholds probabilities', async () => {
  const rng = makeRng(4);
  const x = Array.from({ length: 60 }, () => [rng.next(), rng.next(), rng.next()]);
  const y = x.map((r) => (r[0] > r[1] ? [1, 0] : [0, 1]));
  const m = sequential([dense({ units: 2, activation: 'softmax', inputShape: [3] })], { seed: 6 });
  m.compile({ optimizer: sgd({ lr: 0.1 }), loss: 'categoricalCrossentropy', metrics: ['binaryAccuracy'] });
  const r = await m.evaluate(x, y);
  const p = (await m.predict(x)).data();
  let hits = 0;
  for (let i = 0; i < 60; i++) for (let j = 0; j < 2; j++) hits += (p[i * 2 + j] > 0.5) === (y[i][j] > 0.5) ? 1 : 0;
  expect(r.binaryAccuracy).toBeCloseTo(hits / 120, 10);
});

test('tensors in use by fit cannot be written; initialEpoch follows Keras (epochs is the final index)', async () => {
  const m = sequential([dense({ units: 1, inputShape: [1] })], { seed: 1 });
  m.compile({ optimizer: sgd({ lr: 0.01 }), loss: 'mse' });
  const xt = tensor(new Float32Array(64).map((_, i) => i / 64), [64, 1]);
  const yt = tensor(new Float32Array(64).map((_, i) => i / 32), [64, 1]);
  let writeError: { code?: string } | undefined;
  const h = await m.fit(xt, yt, {
    epochs: 5,
    initialEpoch: 2,
    batchSize: 8,
    callbacks: [{ onEpochEnd: () => { try { bufferOf(xt, 'x').write(new Float32Array(1)); } catch (e) { writeError = e as { code?: string }; } } }],
  });
  expect(h.epoch).toEqual([2, 3, 4]);
  expect(writeError?.code).toBe('ERR_NT_BUSY');
  await expect(m.fit(xt, yt, { epochs: 2, initialEpoch: 2 })).rejects.toThrow('Expected an epochs value greater than initialEpoch (2) for epochs but received 2');
});
