/**
 * Serving while training (DESIGN.md rule 15): predict and evaluate run concurrently on one model,
 * each with its own scratch over the read-only plan, also while fit runs, reading the serving
 * snapshot published at the start of fit, at every epoch end, every `publishEvery` steps and on
 * model.publish(); getWeights during fit returns that snapshot; fit, trainOnBatch and save queue
 * in call order; dispose, Symbol.dispose and clone.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { Model, NamedWeights, Tensor, adam, batchNormalization, dense, dropout, layerNormalization, loadModel, sequential, setNumThreads, getNumThreads, tensor } from '../../lib';
import { makeRng } from '../helpers/model';

const initialThreads = getNumThreads();
afterEach(() => setNumThreads(initialThreads));

function data(seed: number, n: number, d: number): { x: Tensor; y: Tensor } {
  const rng = makeRng(seed);
  const x = new Float32Array(n * d).map(() => rng.normal());
  const y = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) y[i * 3 + (x[i * d] > 0 ? 0 : x[i * d + 1] > 0 ? 1 : 2)] = 1;
  return { x: tensor(x, [n, d]), y: tensor(y, [n, 3]) };
}

/** Every op with per-call state: a pre-activation (elu), batch/layer-norm statistics, a dropout mask. */
function net(seed: number, d: number): Model {
  const m = sequential(
    [dense({ units: 24, activation: 'elu', inputShape: [d] }), batchNormalization(), dropout({ rate: 0.2 }), dense({ units: 16, activation: 'tanh' }), layerNormalization(), dense({ units: 3, activation: 'softmax' })],
    { seed },
  );
  m.compile({ optimizer: adam({ lr: 1e-2 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

const same = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

async function predictWith(m: Model, w: NamedWeights, x: Tensor): Promise<Float32Array> {
  const c = m.clone();
  c.setWeights(w);
  const out = await c.predict(x);
  c.dispose();
  return out.data() as Float32Array;
}

describe('concurrent inference', () => {
  test.each([1, 2])('Promise.all of predicts and evaluates on one model (%i threads) equals the calls one at a time', async (threads) => {
    setNumThreads(threads);
    const { x, y } = data(1, 301, 7);
    const m = net(3, 7);
    await m.fit(x, y, { epochs: 2, batchSize: 37, seed: 1 });
    const p1 = (await m.predict(x, { batchSize: 29 })).data() as Float32Array;
    const e1 = await m.evaluate(x, y, { batchSize: 53 });
    const all = await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => m.predict(x, { batchSize: 13 + 8 * i })),
      ...Array.from({ length: 3 }, () => m.evaluate(x, y, { batchSize: 53 })),
    ]);
    for (let i = 0; i < 6; i++) {
      const p = (all[i] as Tensor).data() as Float32Array;
      // Row blocks differ by batch size only in the GEMM blocking; values agree to float32 rounding.
      let err = 0;
      for (let j = 0; j < p.length; j++) err = Math.max(err, Math.abs(p[j] - p1[j]));
      expect(err).toBeLessThan(1e-5);
    }
    for (let i = 6; i < 9; i++) expect(all[i]).toEqual(e1);
    expect(m.disposed).toBe(false);
  });
});

describe('serving snapshot during fit', () => {
  test('every predict during fit equals predict on one published snapshot, and the snapshots advance', async () => {
    setNumThreads(2);
    const { x, y } = data(2, 640, 7);
    const probe = data(9, 23, 7).x;
    const m = net(5, 7);
    const snapshots: NamedWeights[] = [m.getWeights()];
    const responses: Float32Array[] = [];
    const reads: NamedWeights[] = [];
    let done = false;
    const fit = m
      .fit(x, y, { epochs: 12, batchSize: 16, seed: 3, callbacks: [{ onEpochEnd: () => void snapshots.push(m.getWeights()) }] })
      .finally(() => (done = true));
    while (!done) {
      const [a, b] = await Promise.all([m.predict(probe), m.predict(probe, { batchSize: 5 })]);
      responses.push(a.data() as Float32Array, b.data() as Float32Array);
      reads.push(m.getWeights());
      await new Promise((r) => setTimeout(r, 1));
    }
    await fit;
    expect(responses.length).toBeGreaterThan(4);
    const outs = await Promise.all(snapshots.map((w) => predictWith(m, w, probe)));
    const matched = new Set<number>();
    for (const r of responses) {
      const k = outs.findIndex((o) => o.every((v, i) => Math.abs(v - r[i]) <= 1e-6 * Math.max(1, Math.abs(v))));
      expect(k).toBeGreaterThanOrEqual(0);
      matched.add(k);
    }
    // getWeights during fit is a snapshot too, never a torn mix of two steps.
    for (const w of reads) expect(snapshots.some((s) => Object.keys(s).every((k) => same(s[k].data, w[k].data)))).toBe(true);
    expect(matched.size).toBeGreaterThan(1);
  });

  test('publishEvery publishes every N steps; publish() on request; epoch ends always', async () => {
    const { x, y } = data(3, 160, 7);
    const m = net(6, 7);
    const v0 = m.servingVersion;
    await m.fit(x, y, { epochs: 2, batchSize: 16, seed: 1, publishEvery: 5 });
    // 20 steps: 4 by publishEvery, 2 epoch ends, 1 at the end of fit
    expect(m.servingVersion - v0).toBe(4 + 2 + 1);
    const v1 = m.servingVersion;
    // A request made while the fit waits on its epoch-end callback is served after the next step
    // (a batch event's timing would race the fit's end): 2 epoch ends, 1 request, 1 at the end.
    await m.fit(x, y, { epochs: 2, batchSize: 16, seed: 1, callbacks: [{ onEpochEnd: (e) => { if (e === 0) m.publish(); } }] });
    expect(m.servingVersion - v1).toBe(4);
    const v2 = m.servingVersion;
    m.publish();
    expect(m.servingVersion).toBe(v2 + 1);
    await expect(m.fit(x, y, { publishEvery: -1 })).rejects.toThrow('Expected an integer in [0, 1000000000000] for publishEvery but received -1');
  });

  test('fit, trainOnBatch and save queue in call order; synchronous writers throw ERR_NT_BUSY while fit runs', async () => {
    const { x, y } = data(4, 400, 7);
    const m = net(7, 7);
    const order: string[] = [];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-serve-'));
    try {
      // (no divergence guard: a recovery would roll the step count back)
      const a = m.fit(x, y, { epochs: 2, batchSize: 8, divergenceGuard: false }).then(() => order.push('fit1'));
      const b = m.trainOnBatch(x, y).then(() => order.push('trainOnBatch'));
      const c = m.fit(x, y, { epochs: 1, batchSize: 8, divergenceGuard: false }).then(() => order.push('fit2'));
      const d = m.save(dir).then(() => order.push('save'));
      // fit1 started synchronously and runs now
      expect(() => m.setWeights(m.getWeights())).toThrow(expect.objectContaining({ code: 'ERR_NT_BUSY' }));
      await Promise.all([a, b, c, d]);
      expect(order).toEqual(['fit1', 'trainOnBatch', 'fit2', 'save']);
      expect(m.optimizerStep).toBe(100 + 1 + 50); // a fresh model: every step of the three, none lost
      const { model: loaded } = await loadModel(dir);
      expect(loaded.optimizerStep).toBe(m.optimizerStep);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('exclusive work started inside exclusive work runs at once: a checkpoint in an epoch callback, lr auto inside fit', async () => {
  const { x, y } = data(8, 160, 7);
  const m = net(13, 7);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-serve-cb-'));
  try {
    const sizes: number[] = [];
    await m.fit(x, y, { epochs: 2, batchSize: 16, callbacks: [{ onEpochEnd: async () => { await m.save(dir); sizes.push((await m.toBuffer()).length); } }] });
    expect(sizes).toHaveLength(2);
    const steps = m.optimizerStep;
    await m.fit(x, y, { epochs: 1, batchSize: 16, lr: 'auto' }); // the range test's trainOnBatch calls run inside fit
    expect(m.optimizerStep).toBeGreaterThan(steps);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('lifecycle', () => {
  test('clone is independent, with the same weights, compile options and optimizer state', async () => {
    const { x, y } = data(5, 120, 7);
    const m = net(8, 7);
    await m.fit(x, y, { epochs: 1, batchSize: 16, seed: 2 });
    const c = m.clone();
    expect(c.getOptimizerState()).toEqual(m.getOptimizerState());
    expect((await c.predict(x)).data() as Float32Array).toEqual((await m.predict(x)).data() as Float32Array);
    const before = m.getWeights();
    await c.fit(x, y, { epochs: 1, batchSize: 16, seed: 2 });
    await m.fit(x, y, { epochs: 1, batchSize: 16, seed: 2 });
    // the same further training gives the same weights (optimizer state carried), and training one
    // did not touch the other
    const wm = m.getWeights();
    const wc = c.getWeights();
    for (const k of Object.keys(wm)) expect(same(wm[k].data, wc[k].data)).toBe(true);
    expect(Object.keys(before).some((k) => !same(before[k].data, wm[k].data))).toBe(true);
  });

  test('dispose frees the plan; any later use throws ERR_NT_DISPOSED; dispose during fit stops it', async () => {
    const { x, y } = data(6, 4000, 7);
    const m = net(9, 7);
    await m.predict(x);
    expect(m.nativeBytes).toBeGreaterThan(0);
    const inflight = m.predict(x, { batchSize: 7 });
    m.dispose();
    expect((await inflight).shape).toEqual([4000, 3]); // in-flight inference finishes on the memory it holds
    expect(m.nativeBytes).toBe(0);
    const disposed = expect.objectContaining({ code: 'ERR_NT_DISPOSED' });
    expect(() => m.getWeights()).toThrow(disposed);
    expect(() => m.compile({ optimizer: 'sgd', loss: 'mse' })).toThrow(disposed);
    expect(() => m.clone()).toThrow(disposed);
    await expect(m.predict(x)).rejects.toEqual(disposed);
    await expect(m.fit(x, y)).rejects.toEqual(disposed);
    m.dispose(); // idempotent

    const t = net(10, 7);
    const fit = t.fit(x, y, { epochs: 50, batchSize: 1 });
    await new Promise((r) => setTimeout(r, 20));
    await t.disposeAsync();
    await fit.then(() => undefined, () => undefined);
    expect(t.disposed).toBe(true);
    expect(t.nativeBytes).toBe(0);
  });

  test('Symbol.dispose and Symbol.asyncDispose where the runtime has them', async () => {
    const syms = Symbol as unknown as { dispose?: symbol; asyncDispose?: symbol };
    const m = net(11, 7) as unknown as Record<symbol, () => unknown> & Model;
    if (typeof syms.dispose === 'symbol') {
      m[syms.dispose]();
      expect(m.disposed).toBe(true);
    }
    const n = net(12, 7) as unknown as Record<symbol, () => Promise<void>> & Model;
    if (typeof syms.asyncDispose === 'symbol') {
      await n[syms.asyncDispose]();
      expect(n.disposed).toBe(true);
    }
    if (typeof syms.dispose !== 'symbol') console.log('Symbol.dispose is not available in this runtime: not exercised');
  });
});
