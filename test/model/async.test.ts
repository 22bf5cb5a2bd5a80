/**
 * fit() off the main thread: AbortSignal cancellation (AbortError with the completed epochs, model
 * usable afterwards), buffers pinned while native work uses them (ERR_NT_BUSY), inference and
 * queued work during fit, and an event loop that stays responsive during a multi-second fit.
 */

import { Model, Tensor, adam, dense, sequential, sgd, tensor } from '../../lib';
import { makeRng } from '../helpers/model';

function data(seed: number, n: number, d: number, k: number): { x: Tensor; y: Tensor } {
  const rng = makeRng(seed);
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = (x[i * d] > 0 ? 1 : 0) + (x[i * d + 1] > 0 ? 2 : 0);
  return { x: tensor(x, [n, d]), y: tensor(y, [n], 'int32') };
}

function classifier(seed: number, d: number, hidden = 64): Model {
  const m = sequential([dense({ units: hidden, activation: 'relu', inputShape: [d] }), dense({ units: hidden, activation: 'relu' }), dense({ units: 4, activation: 'softmax' })], { seed });
  m.compile({ optimizer: adam({ lr: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

async function expectAbortError(p: Promise<unknown>): Promise<Error & { code?: string; history?: { epoch: number[]; history: Record<string, number[]> } }> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { code?: string; history?: { epoch: number[]; history: Record<string, number[]> } };
    expect(err.name).toBe('AbortError');
    expect(err.message).toBe('Training was aborted');
    return err;
  }
  throw new Error('fit resolved although it was aborted');
}

describe('AbortSignal', () => {
  test('aborting at an epoch end rejects with an AbortError holding the completed epochs', async () => {
    const { x, y } = data(1, 256, 16, 4);
    const m = classifier(1, 16);
    const ac = new AbortController();
    const err = await expectAbortError(
      m.fit(x, y, { epochs: 50, batchSize: 32, signal: ac.signal, callbacks: [{ onEpochEnd: (e) => void (e === 2 && ac.abort()) }] }),
    );
    expect(err.history!.epoch).toEqual([0, 1, 2]);
    expect(err.history!.history.loss).toHaveLength(3);
    expect(m.optimizerStep).toBe(3 * 8);
    // The model is usable: fit and predict work.
    const h = await m.fit(x, y, { epochs: 2, batchSize: 32 });
    expect(h.epoch).toEqual([0, 1]);
    const p = await m.predict(x);
    expect(p.shape).toEqual([256, 4]);
    x.dispose();
    y.dispose();
  });

  test('aborting from a timer during a long fit stops it promptly', async () => {
    const { x, y } = data(2, 2000, 32, 4);
    const m = classifier(2, 32);
    const ac = new AbortController();
    let stepsAtAbort = -1;
    setTimeout(() => {
      stepsAtAbort = m.optimizerStep;
      ac.abort();
    }, 150);
    const err = await expectAbortError(m.fit(x, y, { epochs: 100000, batchSize: 16, signal: ac.signal }));
    // Promptly, structurally: the training thread checks the stop flag every step, so it stops
    // within the epoch it is in (125 steps), not at an epoch boundary. The steps between reading
    // the counter and the abort listener's stop are JavaScript time, so no tighter count is
    // asserted (no wall-clock limit either: the machine may be loaded).
    expect(stepsAtAbort).toBeGreaterThanOrEqual(0);
    expect(m.optimizerStep - stepsAtAbort).toBeLessThan(125);
    const done = err.history!.epoch;
    expect(done).toEqual(Array.from({ length: done.length }, (_, i) => i));
    // Steps taken: every completed epoch plus at most the part of the one that was stopped.
    expect(m.optimizerStep).toBeGreaterThanOrEqual(done.length * 125);
    expect(m.optimizerStep).toBeLessThanOrEqual((done.length + 1) * 125); // equal: stopped right after an epoch's last step, before its end was reported
    // Disposing the inputs works once fit has settled.
    x.dispose();
    y.dispose();
    expect(x.disposed).toBe(true);
    const again = data(3, 64, 32, 4);
    const h = await m.fit(again.x, again.y, { epochs: 1 });
    expect(h.epoch).toEqual([0]);
    again.x.dispose();
    again.y.dispose();
  });

  test('an already aborted signal rejects before any step', async () => {
    const { x, y } = data(4, 64, 8, 4);
    const m = classifier(4, 8);
    const ac = new AbortController();
    ac.abort();
    const err = await expectAbortError(m.fit(x, y, { epochs: 3, signal: ac.signal }));
    expect(err.history!.epoch).toEqual([]);
    expect(m.optimizerStep).toBe(0);
  });

  test('a signal that is not an AbortSignal is a TypeError', async () => {
    const { x, y } = data(5, 8, 8, 4);
    const m = classifier(5, 8);
    await expect(m.fit(x, y, { signal: {} as AbortSignal })).rejects.toThrow(new TypeError('Expected an AbortSignal for signal but received an object'));
  });
});

describe('busy model and pinned tensors', () => {
  test('tensors in use cannot be disposed during fit (ERR_NT_BUSY) and can after; inference runs, other work queues', async () => {
    const { x, y } = data(6, 3000, 32, 4);
    const m = classifier(6, 32);
    const ac = new AbortController();
    let checked = false;
    const pending: Promise<unknown>[] = [];
    const results: Record<string, unknown> = {};
    // Checked from the first batch event: training runs on its thread, far from an epoch boundary
    // (one epoch of 3000 single-row batches), where the model would be paused for callbacks.
    const probe = (): void => {
      if (checked) return;
      checked = true;
      try {
        x.dispose();
        results.dispose = 'disposed';
      } catch (e) {
        results.dispose = { code: (e as { code?: string }).code, message: (e as Error).message };
      }
      results.disposedAfter = x.disposed;
      try {
        m.getWeights();
        results.getWeights = 'read';
      } catch (e) {
        results.getWeights = { code: (e as { code?: string }).code, message: (e as Error).message };
      }
      const settle = (name: string, p: Promise<unknown>): void => {
        pending.push(p.then(() => (results[name] = 'resolved'), (e) => (results[name] = (e as { code?: string }).code)));
      };
      settle('predict', m.predict(x));
      settle('evaluate', m.evaluate(x, y));
      settle('trainOnBatch', m.trainOnBatch(x, y));
      settle('fit', m.fit(x, y, { epochs: 1 }));
      ac.abort();
    };
    const fit = m.fit(x, y, { epochs: 1, batchSize: 1, signal: ac.signal, callbacks: [{ onBatchEnd: probe }] });
    await expectAbortError(fit);
    await Promise.all(pending);
    expect(results).toEqual({
      dispose: { code: 'ERR_NT_BUSY', message: 'Cannot dispose a tensor while a running fit, evaluate or predict uses it' },
      disposedAfter: false,
      // the serving snapshot, read during training; inference runs on it at once; fit and
      // trainOnBatch queue behind the running fit
      getWeights: 'read',
      predict: 'resolved',
      evaluate: 'resolved',
      trainOnBatch: 'resolved',
      fit: 'resolved',
    });
    x.dispose();
    y.dispose();
    expect(x.disposed && y.disposed).toBe(true);
    expect(Object.keys(m.getWeights())).toHaveLength(6);
  });

  test('a tensor passed to predict is pinned until predict settles', async () => {
    const { x } = data(7, 1000, 64, 4);
    const m = classifier(7, 64);
    const p = m.predict(x, { batchSize: 8 });
    expect(() => x.dispose()).toThrow('Cannot dispose a tensor while a running fit, evaluate or predict uses it');
    const out = await p;
    expect(out.shape).toEqual([1000, 4]);
    x.dispose();
    out.dispose();
  });
});

describe('event loop', () => {
  // The event-loop delay percentiles during fit are measured in scripts/bench/event-loop.js; here
  // the property is structural: timers fire between batches, again and again.
  test('timers keep firing between batches during a multi-second fit', async () => {
    const { x, y } = data(8, 4000, 64, 4);
    const m = sequential([dense({ units: 256, activation: 'relu', inputShape: [64] }), dense({ units: 256, activation: 'relu' }), dense({ units: 4, activation: 'softmax' })], { seed: 8 });
    m.compile({ optimizer: sgd({ lr: 0.01, momentum: 0.9 }), loss: 'sparseCategoricalCrossentropy' });
    const ac = new AbortController();
    let ticks = 0;
    let batches = 0;
    // Batch gaps in which at least one timer tick ran (ticks interleaved with training).
    let tickSinceBatch = false;
    let interleaved = 0;
    const timer = setInterval(() => {
      ticks++;
      tickSinceBatch = true;
    }, 1);
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 2000);
    const err = await expectAbortError(m.fit(x, y, { epochs: 100000, batchSize: 32, signal: ac.signal, callbacks: [{ onBatchEnd: () => {
      batches++;
      if (tickSinceBatch) interleaved++;
      tickSinceBatch = false;
    } }] }));
    clearInterval(timer);
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(1990);
    // Training really ran meanwhile, and batch events reached JavaScript.
    expect(m.optimizerStep).toBeGreaterThan(100);
    expect(batches).toBeGreaterThan(10);
    expect(err.history!.epoch.length).toBeGreaterThanOrEqual(0);
    // Timers ran between batches many times over (a blocked loop would run them only after fit).
    expect(ticks).toBeGreaterThan(10);
    expect(interleaved).toBeGreaterThan(10);
    x.dispose();
    y.dispose();
  });
});
