/**
 * The device-resident update's deferred path (Backend::fused_update; engine/update.cc), run on the
 * CPU through host twins of its slots (nodetrain/loops.h, installed by a model's test hook): the
 * engine hands every group's step to one slot call, the global norm, clip scale and non-finite
 * verdict stay in the update record, and the fit loop reads that record at the guard's snapshot
 * points and the epoch end. Each step's loss and metric sums stay in a ring of stats records in
 * backend memory too, read back at those points (and when the ring is full, or at every step while
 * batch events are listened to). With the same kernels underneath, the deferred path must
 * reproduce the per-tensor path bit for bit (weights, history, batch events), and the guard and
 * failures must end the same way.
 * The CUDA slots themselves run only on a GPU (scripts/device/train_parity.js).
 */
import { adagrad, adam, adamw, batchNormalization, dense, dropout, oneCycle, rmsprop, sequential, sgd } from '../../lib';
import type { OptimizerConfig } from '../../lib/optim/optimizers';
import { makeRng } from '../helpers/numerics';

const rows = 157;
const inW = 9;
const k = 4;

function data(seed: number) {
  const rng = makeRng(seed);
  const x = Array.from({ length: rows }, () => Array.from({ length: inW }, () => Math.fround(rng.next() * 2 - 1)));
  const labels = Array.from({ length: rows }, () => Math.floor(rng.next() * k));
  return { x, labels };
}

const build = (bn = false) =>
  sequential(
    [
      dense({ units: 13, activation: 'tanh', inputShape: [inW], name: 'h' }),
      ...(bn ? [batchNormalization({ name: 'bn' })] : []),
      dense({ units: k, activation: 'softmax', name: 'out' }),
    ],
    { seed: 4 },
  );

type Outcome = { h?: unknown; w?: number[][]; err?: string; msg?: string; norm?: number; batches?: unknown[] };

type RunOptions = {
  bn?: boolean;
  inject?: number[];
  guard?: boolean | { explodeFactor: number };
  epochs?: number;
  seed: number;
  ring?: number;
  batchEvents?: boolean;
  metrics?: string[];
  nanRow?: number;
};

async function run(opt: OptimizerConfig, deferred: boolean, o: RunOptions) {
  const d = data(o.seed);
  if (o.nanRow !== undefined) d.x[o.nanRow][2] = NaN;
  const m = build(o.bn);
  m.compile({ optimizer: opt, loss: 'sparseCategoricalCrossentropy', metrics: (o.metrics ?? ['accuracy']) as never });
  if (deferred) m.useHostDeferredUpdate(o.ring);
  if (o.inject) m.injectNonFinite(o.inject);
  const out: Outcome = {};
  const batches: unknown[] = [];
  try {
    const h = await m.fit(d.x, d.labels, {
      epochs: o.epochs ?? 3,
      batchSize: 12,
      seed: 1,
      verbose: 0,
      divergenceGuard: o.guard ? { snapshotEvery: 4, maxRetries: 2, ...(typeof o.guard === 'object' ? o.guard : {}) } : false,
      callbacks: o.batchEvents ? [{ onBatchEnd: (batch: number, logs: unknown) => void batches.push([batch, logs]) }] : [],
    });
    out.h = h.history;
    out.norm = m.lastGradNorm;
  } catch (e) {
    out.err = (e as Error & { code?: string }).code;
    out.msg = (e as Error).message;
  }
  if (o.batchEvents) out.batches = batches;
  const w = m.getWeights();
  out.w = Object.keys(w).map((n) => Array.from(w[n].data));
  return out;
}

describe('deferred update (host twins of the device slots)', () => {
  const steps = Math.ceil(rows / 12) * 3;
  const configs: [string, OptimizerConfig, boolean][] = [
    ['adam + amsgrad + clipNorm', adam({ lr: 0.02, amsgrad: true, clipNorm: 0.25 }), false],
    ['adamw with parameter groups', adamw({ lr: 0.01, weightDecay: 0.1, paramGroups: [{ layers: ['out'], lr: 0.003, weightDecay: 0 }] }), false],
    ['sgd nesterov + weight decay, batch norm', sgd({ lr: 0.1, momentum: 0.8, nesterov: true, weightDecay: 1e-3 }), true],
    ['sgd with a one-cycle schedule (cyclic momentum)', sgd({ lr: oneCycle({ maxLr: 0.2, totalSteps: steps }), momentum: 0.9 }), false],
    ['rmsprop centered + momentum', rmsprop({ lr: 0.005, centered: true, momentum: 0.5 }), false],
    ['adagrad with lr decay', adagrad({ lr: 0.1, lrDecay: 0.01, initialAccumulatorValue: 0.1 }), false],
  ];
  for (const [name, opt, bn] of configs) {
    it(`reproduces the per-tensor path bit for bit: ${name}`, async () => {
      const seed = (Math.random() * 2 ** 31) >>> 0;
      const a = await run(opt, false, { bn, seed });
      const b = await run(opt, true, { bn, seed });
      expect(a.err).toBeUndefined();
      expect(b).toEqual(a);
    });
  }

  it('reads the stats ring back when it is full, at the guard points and the epoch end: same history', async () => {
    // 14 steps an epoch: a ring of 3 fills mid-epoch, 14 is not a multiple of 3, and the guard's
    // snapshot points (every 4) fall between the fills.
    const opt = adam({ lr: 0.02 });
    for (const guard of [false, true]) {
      const seed = (Math.random() * 2 ** 31) >>> 0;
      const metrics = ['accuracy', 'precision', 'f1'];
      const a = await run(opt, false, { seed, guard, metrics });
      const b = await run(opt, true, { seed, guard, metrics, ring: 3 });
      const c = await run(opt, true, { seed, guard, metrics, ring: 1 });
      expect(a.err).toBeUndefined();
      expect(b).toEqual(a);
      expect(c).toEqual(a);
    }
  });

  it('delivers every batch event, with the same values, when batch events are listened to', async () => {
    const seed = (Math.random() * 2 ** 31) >>> 0;
    const a = await run(adam({ lr: 0.02 }), false, { seed, batchEvents: true, epochs: 2 });
    const b = await run(adam({ lr: 0.02 }), true, { seed, batchEvents: true, epochs: 2, ring: 5 });
    expect(a.batches).toHaveLength(2 * Math.ceil(rows / 12));
    expect(b).toEqual(a);
  });

  it('the guard rolls back an exploding loss found in a read-back window like the per-step path', async () => {
    // A rate that makes the loss climb: the explode check runs over each read-back window in step
    // order and restores the snapshot taken at the window's start.
    const seed = (Math.random() * 2 ** 31) >>> 0;
    const opt = sgd({ lr: 3, momentum: 0.9 });
    const a = await run(opt, false, { seed, guard: { explodeFactor: 1.5 }, epochs: 4 });
    const b = await run(opt, true, { seed, guard: { explodeFactor: 1.5 }, epochs: 4, ring: 7 });
    const rec = (a.h as { recoveries: number[] }).recoveries;
    expect(rec[rec.length - 1]).toBeGreaterThan(0);
    expect(b).toEqual(a);
  });

  // A fit whose output weights of +-3e38 make the logits infinite: the outcome and the output
  // kernel after it.
  async function overflowing(o: { deferred: boolean; guard?: boolean; seed?: number; frozen?: boolean }) {
    const d = data(11);
    const m = build();
    m.compile({ optimizer: adam({ lr: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
    if (o.frozen) m.freeze({ allBut: 0 });
    if (o.deferred) m.useHostDeferredUpdate();
    const w = m.getWeights();
    const kern = w['out/kernel'].data as Float32Array;
    for (let i = 0; i < kern.length; ++i) kern[i] = i % 2 ? 3e38 : -3e38;
    m.setWeights(w);
    const out: Outcome = {};
    try {
      await m.fit(d.x, d.labels, { epochs: 1, batchSize: 12, seed: o.seed ?? 1, verbose: 0, divergenceGuard: o.guard ? { maxRetries: 3 } : false });
    } catch (e) {
      out.err = (e as Error & { code?: string }).code;
      out.msg = (e as Error).message;
    }
    return { out, unchanged: JSON.stringify(Array.from(m.getWeights()['out/kernel'].data)) === JSON.stringify(Array.from(kern)) };
  }

  it('a loss that is not finite skips the step on the device and fails at the same batch', async () => {
    // The per-step path stops before the update; the deferred one flags the loss in the update
    // record, skips that update and reports it at the read-back, naming the same batch.
    const a = await overflowing({ deferred: false });
    const b = await overflowing({ deferred: true });
    expect(a.unchanged).toBe(true);
    expect(a.out.err).toBe('ERR_NT_NON_FINITE');
    expect(a.out.msg).toMatch(/The loss is not finite at epoch 1, batch 1 \(the update was not applied\)/);
    expect(b.out).toEqual(a.out);
    // With the guard every rollback restores the same weights, so each batch fails in turn: the
    // deferred path finds each at a later read-back and resumes after it, as the per-step path does.
    const ga = await overflowing({ deferred: false, guard: true });
    const gb = await overflowing({ deferred: true, guard: true });
    expect(ga.out.msg).toMatch(/Training diverged 4 times \(last at epoch 1, batch 4,/);
    expect(gb.out).toEqual(ga.out);
    // Other shuffles: a batch may overflow only in its gradient, after one whose loss is not
    // finite; the deferred path names the first skipped step and its reason, as the per-step one.
    for (const seed of [2, 3, 4, 5, 6]) {
      const sa = await overflowing({ deferred: false, seed });
      const sb = await overflowing({ deferred: true, seed });
      expect(sa.out.err).toBe('ERR_NT_NON_FINITE');
      expect(sb.out).toEqual(sa.out);
    }
  });

  it('a frozen model (no group to update) still reports a loss that is not finite', async () => {
    const a = await overflowing({ deferred: false, frozen: true });
    const b = await overflowing({ deferred: true, frozen: true });
    expect(a.out.msg).toMatch(/The loss is not finite at epoch 1, batch 1/);
    expect(b.out).toEqual(a.out);
  });

  it('the guard recovers from an injected NaN gradient the same number of times', async () => {
    const seed = (Math.random() * 2 ** 31) >>> 0;
    const a = await run(adam({ lr: 0.01 }), false, { guard: true, inject: [6, 30], seed });
    const b = await run(adam({ lr: 0.01 }), true, { guard: true, inject: [6, 30], seed });
    const rec = (o: Outcome) => (o.h as { recoveries?: number[] } | undefined)?.recoveries;
    expect(a.err).toBeUndefined();
    expect(b.err).toBeUndefined();
    expect(rec(b)).toEqual(rec(a));
    expect(rec(a)?.[rec(a)!.length - 1]).toBe(2);
    // The deferred path counts the steps before the skipped one and resumes after it, as the
    // per-step path does: the same history and weights.
    expect(b).toEqual(a);
  });

  it('with dropout, a rollback also rewinds the dropout generator: the same fit bit for bit', async () => {
    const out: Outcome[] = [];
    for (const deferred of [false, true]) {
      const d = data(21);
      const m = sequential(
        [dense({ units: 13, activation: 'tanh', inputShape: [inW], name: 'h' }), dropout({ rate: 0.3 }), dense({ units: k, activation: 'softmax', name: 'out' })],
        { seed: 4 },
      );
      m.compile({ optimizer: adam({ lr: 0.02 }), loss: 'sparseCategoricalCrossentropy' });
      if (deferred) m.useHostDeferredUpdate();
      m.injectNonFinite([7, 19]);
      const h = await m.fit(d.x, d.labels, { epochs: 3, batchSize: 12, seed: 3, verbose: 0, divergenceGuard: { snapshotEvery: 5, maxRetries: 4 } });
      const w = m.getWeights();
      out.push({ h: h.history, w: Object.keys(w).map((n) => Array.from(w[n].data)) });
    }
    expect((out[0].h as { recoveries: number[] }).recoveries[2]).toBeGreaterThan(0);
    expect(out[1]).toEqual(out[0]);
  });

  it('a failed fit leaves no unread skip behind: the next trainOnBatch and fit succeed', async () => {
    for (const deferred of [false, true]) {
      const d = data(22);
      const m = build();
      m.compile({ optimizer: adam({ lr: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
      if (deferred) m.useHostDeferredUpdate();
      m.injectNonFinite([3]);
      await expect(m.fit(d.x, d.labels, { epochs: 1, batchSize: 12, seed: 1, verbose: 0, divergenceGuard: false })).rejects.toMatchObject({ code: 'ERR_NT_NON_FINITE' });
      m.injectNonFinite([]);
      await m.trainOnBatch(d.x.slice(0, 8), d.labels.slice(0, 8));
      const h = await m.fit(d.x, d.labels, { epochs: 1, batchSize: 12, seed: 1, verbose: 0, divergenceGuard: { snapshotEvery: 4 } });
      const hist = h.history as { loss: number[]; recoveries?: number[] };
      expect(Number.isFinite(hist.loss[0])).toBe(true);
      expect(hist.recoveries ?? [0]).toEqual([0]);
    }
  });

  it('without the guard both fail with ERR_NT_NON_FINITE', async () => {
    const a = await run(adam({ lr: 0.01 }), false, { inject: [6], seed: 3 });
    const b = await run(adam({ lr: 0.01 }), true, { inject: [6], seed: 3 });
    expect(a.err).toBe('ERR_NT_NON_FINITE');
    expect(b.err).toBe('ERR_NT_NON_FINITE');
  });

  it('an update that would overflow the weights makes both guards give up', async () => {
    // lr * |g| / (1 - momentum) beyond 1e30: SGD's overflow check rejects the step on both paths.
    const a = await run(sgd({ lr: 1e31, momentum: 0.9 }), false, { guard: true, seed: 5 });
    const b = await run(sgd({ lr: 1e31, momentum: 0.9 }), true, { guard: true, seed: 5 });
    expect(a.err).toBe('ERR_NT_NON_FINITE');
    expect(b.err).toBe('ERR_NT_NON_FINITE');
  });

  it('trainOnBatch reads the record at once: a NaN gradient fails that call', async () => {
    const d = data(8);
    for (const deferred of [false, true]) {
      const m = build();
      m.compile({ optimizer: adam(), loss: 'sparseCategoricalCrossentropy' });
      if (deferred) m.useHostDeferredUpdate();
      m.injectNonFinite([1]);
      await m.trainOnBatch(d.x.slice(0, 8), d.labels.slice(0, 8));
      await expect(m.trainOnBatch(d.x.slice(0, 8), d.labels.slice(0, 8))).rejects.toMatchObject({ code: 'ERR_NT_NON_FINITE' });
      await m.trainOnBatch(d.x.slice(0, 8), d.labels.slice(0, 8));
    }
  });
});
