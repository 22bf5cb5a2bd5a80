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

import { dense, dropout, sequential, sgd, tensor } from '../../lib';
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
