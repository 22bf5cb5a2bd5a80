/**
 * The device-resident update's deferred path (Backend::fused_update; engine/update.cc), run on the
 * CPU through host twins of its slots (nodetrain/loops.h, installed by a model's test hook): the
 * engine hands every group's step to one slot call, the global norm, clip scale and non-finite
 * verdict stay in the update record, and the fit loop reads that record at the guard's snapshot
 * points and the epoch end. With the same kernels underneath, the deferred path must reproduce
 * the per-tensor path bit for bit, and the guard and failures must end the same way.
 * The CUDA slots themselves run only on a GPU (scripts/device/train_parity.js).
 */
import { adagrad, adam, adamw, batchNormalization, dense, oneCycle, rmsprop, sequential, sgd } from '../../lib';
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

type Outcome = { h?: unknown; w?: number[][]; err?: string; norm?: number };

async function run(opt: OptimizerConfig, deferred: boolean, o: { bn?: boolean; inject?: number[]; guard?: boolean; epochs?: number; seed: number }) {
  const d = data(o.seed);
  const m = build(o.bn);
  m.compile({ optimizer: opt, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  if (deferred) m.useHostDeferredUpdate();
  if (o.inject) m.injectNonFinite(o.inject);
  const out: Outcome = {};
  try {
    const h = await m.fit(d.x, d.labels, {
      epochs: o.epochs ?? 3,
      batchSize: 12,
      seed: 1,
      verbose: 0,
      divergenceGuard: o.guard ? { snapshotEvery: 4, maxRetries: 2 } : false,
    });
    out.h = h.history;
    out.norm = m.lastGradNorm;
  } catch (e) {
    out.err = (e as Error & { code?: string }).code;
  }
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

  it('the guard recovers from an injected NaN gradient the same number of times', async () => {
    const seed = (Math.random() * 2 ** 31) >>> 0;
    const a = await run(adam({ lr: 0.01 }), false, { guard: true, inject: [6, 30], seed });
    const b = await run(adam({ lr: 0.01 }), true, { guard: true, inject: [6, 30], seed });
    const rec = (o: Outcome) => (o.h as { recoveries?: number[] } | undefined)?.recoveries;
    expect(a.err).toBeUndefined();
    expect(b.err).toBeUndefined();
    expect(rec(b)).toEqual(rec(a));
    expect(rec(a)?.[rec(a)!.length - 1]).toBe(2);
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
