/**
 * Fine-tuning mechanics: freezing without recompiling leaves frozen weights bit-for-bit unchanged,
 * optimizer state follows the parameters that stay trainable, batch-norm policies, a fresh head,
 * slice(lo, hi) rates applied at every step, and gradual unfreezing one group per epoch.
 */
import { adam, batchNormalization, dense, discriminativeGroups, fineTune, layerGroups, sequential, sgd, sliceRates, tensor } from '../../lib';
import type { Model, NamedWeights } from '../../lib';
import { makeRng } from '../helpers/model';

function data(n: number, seed: number): { x: ReturnType<typeof tensor>; y: ReturnType<typeof tensor> } {
  const r = makeRng(seed);
  const x = Float32Array.from({ length: n * 5 }, () => r.normal());
  const y = Int32Array.from({ length: n }, (_, i) => (x[i * 5] + x[i * 5 + 1] > 0 ? 1 : 0) + (x[i * 5 + 2] > 0.5 ? 1 : 0));
  return { x: tensor(x, [n, 5]), y: tensor(y, [n], 'int32') };
}

function mlp(seed: number, bn = false): Model {
  return sequential([
    dense({ units: 11, activation: 'relu', inputShape: [5], name: 'a' }),
    ...(bn ? [batchNormalization({ name: 'bn', momentum: 0.5 })] : []),
    dense({ units: 7, activation: 'tanh', name: 'b' }),
    dense({ units: 3, activation: 'softmax', name: 'c' }),
  ], { seed });
}

const pick = (w: NamedWeights, prefix: string): number[][] => Object.entries(w).filter(([k]) => k.startsWith(prefix)).map(([, x]) => Array.from(x.data));

describe('freeze / unfreeze', () => {
  it('takes effect at the next fit without recompiling; frozen weights stay bit-for-bit', async () => {
    const { x, y } = data(96, 1);
    const m = mlp(3);
    m.compile({ optimizer: adam({ lr: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
    await m.fit(x, y, { epochs: 1, batchSize: 16, seed: 1 });
    m.freeze({ allBut: 1 });
    expect(m.layers.map((l) => l.trainable)).toEqual([false, false, true]);
    const before = m.getWeights();
    await m.fit(x, y, { epochs: 2, batchSize: 16, seed: 2 });
    const after = m.getWeights();
    for (const p of ['a/', 'b/']) expect(pick(after, p)).toEqual(pick(before, p));
    expect(pick(after, 'c/')).not.toEqual(pick(before, 'c/'));
    m.unfreeze('b');
    await m.fit(x, y, { epochs: 1, batchSize: 16, seed: 3 });
    const again = m.getWeights();
    expect(pick(again, 'a/')).toEqual(pick(before, 'a/'));
    expect(pick(again, 'b/')).not.toEqual(pick(before, 'b/'));
    expect(m.summary()).toContain('a (dense, relu) [frozen]');
  });

  it('keeps the optimizer state of the layers that stay trainable', async () => {
    const { x, y } = data(64, 2);
    const m = mlp(4);
    m.compile({ optimizer: adam({ lr: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
    await m.fit(x, y, { epochs: 1, batchSize: 16, seed: 1 });
    const s0 = m.getOptimizerState();
    const sizeA = 5 * 11 + 11;
    m.freeze('a');
    await m.evaluate(x, y); // any use of the plan applies the change
    const s1 = m.getOptimizerState();
    expect(s1.step).toBe(s0.step);
    expect(Array.from(s1.m)).toEqual(Array.from(s0.m.subarray(sizeA)));
    expect(Array.from(s1.v)).toEqual(Array.from(s0.v.subarray(sizeA)));
    m.unfreeze();
    await m.evaluate(x, y);
    const s2 = m.getOptimizerState();
    expect(Array.from(s2.m.subarray(0, sizeA)).every((z) => z === 0)).toBe(true);
    expect(Array.from(s2.m.subarray(sizeA))).toEqual(Array.from(s0.m.subarray(sizeA)));
  });

  it('selectors: names, indices, ranges, predicates, allBut, arrays; unknown names throw', () => {
    const m = mlp(1);
    const frozen = (): string[] => m.layers.filter((l) => !l.trainable).map((l) => l.name!);
    m.freeze(-1);
    expect(frozen()).toEqual(['c']);
    m.unfreeze().freeze({ from: 'a', to: 1 });
    expect(frozen()).toEqual(['a', 'b']);
    m.unfreeze().freeze((l) => l.name === 'b');
    expect(frozen()).toEqual(['b']);
    m.unfreeze().freeze(['a', 'c']);
    expect(frozen()).toEqual(['a', 'c']);
    m.unfreeze().freeze({ allBut: 2 });
    expect(frozen()).toEqual(['a']);
    expect(() => m.freeze('zz')).toThrow(RangeError);
    expect(() => m.freeze(7)).toThrow(RangeError);
  });

  it.each([
    ['all', false, false],
    ['affine', false, true],
    ['statistics', true, false],
  ] as const)("batch norm policy '%s': gamma trains %s, moving statistics update %s", async (policy, gammaMoves, statsMove) => {
    const { x, y } = data(64, 5);
    const m = mlp(6, true);
    m.compile({ optimizer: adam({ lr: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
    await m.fit(x, y, { epochs: 1, batchSize: 16, seed: 1 });
    m.freeze(['a', 'bn'], { batchNorm: policy });
    const w0 = m.getWeights();
    await m.fit(x, y, { epochs: 1, batchSize: 16, seed: 2 });
    const w1 = m.getWeights();
    const moved = (k: string): boolean => Array.from(w1[k].data).some((z, i) => z !== w0[k].data[i]);
    expect(moved('bn/gamma')).toBe(gammaMoves);
    expect(moved('bn/beta')).toBe(gammaMoves);
    expect(moved('bn/moving_mean')).toBe(statsMove);
    expect(moved('bn/moving_variance')).toBe(statsMove);
    expect(moved('a/kernel')).toBe(false);
    expect(moved('c/kernel')).toBe(true);
  });
});

describe('head surgery', () => {
  it('replaceHead keeps the body and appends a freshly initialised head', async () => {
    const { x, y } = data(64, 7);
    const m = mlp(8);
    m.compile({ optimizer: adam({ lr: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
    await m.fit(x, y, { epochs: 2, batchSize: 16, seed: 1 });
    m.freeze('a');
    const m2 = m.replaceHead({ units: 5, activation: 'softmax', seed: 11 });
    expect(m2.layers.map((l) => l.name)).toEqual(['a', 'b', 'head']);
    expect(m2.getLayer('a').trainable).toBe(false);
    const w = m.getWeights();
    const w2 = m2.getWeights();
    for (const k of ['a/kernel', 'a/bias', 'b/kernel', 'b/bias']) expect(Array.from(w2[k].data)).toEqual(Array.from(w[k].data));
    // The head is drawn fresh: glorot-uniform within its limit, zero bias, and the same as a new
    // model with the same seed and architecture draws.
    const k = w2['head/kernel'].data;
    const limit = Math.sqrt(6 / (7 + 5));
    expect(Math.max(...Array.from(k, Math.abs))).toBeLessThanOrEqual(limit);
    expect(Array.from(w2['head/bias'].data).every((z) => z === 0)).toBe(true);
    const fresh = sequential([dense({ units: 11, activation: 'relu', inputShape: [5], name: 'a' }), dense({ units: 7, activation: 'tanh', name: 'b' }), dense({ units: 5, activation: 'softmax', name: 'head' })], { seed: 11 });
    expect(Array.from(fresh.getWeights()['head/kernel'].data)).toEqual(Array.from(k));
    // The original is untouched and independent.
    m2.unfreeze();
    expect(m.getLayer('a').trainable).toBe(false);
    const t = m.truncate('b');
    expect(t.outputWidth).toBe(7);
    expect(Array.from(t.getWeights()['b/kernel'].data)).toEqual(Array.from(w['b/kernel'].data));
  });
});

describe('discriminative rates', () => {
  it('slice(lo, hi) is geometric; a list of the wrong length is an error', () => {
    const r = sliceRates(1e-5, 1e-3, 3);
    expect(r[0]).toBeCloseTo(1e-5, 15);
    expect(r[1] / 1e-4).toBeCloseTo(1, 12);
    expect(r[2]).toBe(1e-3);
    const m = mlp(1);
    const groups = layerGroups(m);
    expect(groups).toEqual([['a'], ['b'], ['c']]);
    expect(() => discriminativeGroups(groups, [1e-3, 1e-2])).toThrow(/one rate per layer group \(3\)/);
  });

  it('each group moves by its own rate at every step, and the history logs it', async () => {
    const { x, y } = data(48, 9);
    const lo = 1e-3;
    const hi = 1e-1;
    const rates = sliceRates(lo, hi, 3);
    const m = mlp(12);
    m.compile({ optimizer: sgd({ lr: 0.5, paramGroups: discriminativeGroups(layerGroups(m), { lo, hi }) }), loss: 'sparseCategoricalCrossentropy' });
    const probe = mlp(12);
    probe.compile({ optimizer: sgd({ lr: 1 }), loss: 'sparseCategoricalCrossentropy' });
    const xd = x.data() as Float32Array;
    const yd = y.data() as Int32Array;
    for (let s = 0; s < 3; s++) {
      const xb = tensor(xd.slice(s * 16 * 5, (s + 1) * 16 * 5), [16, 5]);
      const yb = tensor(yd.slice(s * 16, (s + 1) * 16), [16], 'int32');
      const w0 = m.getWeights();
      probe.setWeights(w0);
      await probe.trainOnBatch(xb, yb);
      const g = probe.getWeights();
      await m.trainOnBatch(xb, yb);
      const w1 = m.getWeights();
      ['a', 'b', 'c'].forEach((layer, gi) => {
        const k = `${layer}/kernel`;
        let num = 0;
        let den = 0;
        for (let i = 0; i < w0[k].data.length; i++) {
          const grad = w0[k].data[i] - g[k].data[i];
          num += (w0[k].data[i] - w1[k].data[i]) * grad;
          den += grad * grad;
        }
        expect(num / den / rates[gi]).toBeCloseTo(1, 4);
      });
    }
    const h = await m.fit(x, y, { epochs: 2, batchSize: 16, seed: 1 });
    expect(h.history.lr_group1.map((r) => r / rates[0])).toEqual([expect.closeTo(1, 9), expect.closeTo(1, 9)]);
    expect(h.history.lr_group3[1] / rates[2]).toBeCloseTo(1, 9);
  });
});

describe('fineTune', () => {
  it('gradual unfreezing opens one group per epoch, frozen groups stay unchanged', async () => {
    const { x, y } = data(64, 13);
    const m = mlp(14);
    const seen: { trainable: boolean[]; before: NamedWeights }[] = [];
    const changed: boolean[][] = [];
    const cb = {
      setModel: () => undefined,
      onEpochBegin: () => {
        seen.push({ trainable: m.layers.map((l) => l.trainable), before: m.getWeights() });
      },
      onEpochEnd: () => {
        const before = seen[seen.length - 1].before;
        const now = m.getWeights();
        changed.push(['a', 'b', 'c'].map((l) => Array.from(now[`${l}/kernel`].data).some((z, i) => z !== before[`${l}/kernel`].data[i])));
      },
    };
    const { phases } = await fineTune(m, { x, y }, { headEpochs: 1, headLr: 0.01, epochs: 3, unfreeze: 'gradual', batchSize: 16, callbacks: [cb] });
    expect(phases.map((p) => p.name)).toEqual(['head', 'unfreeze']);
    expect(seen.map((s) => s.trainable)).toEqual([
      [false, false, true],
      [false, false, true],
      [false, true, true],
      [true, true, true],
    ]);
    expect(changed).toEqual([
      [false, false, true],
      [false, false, true],
      [false, true, true],
      [true, true, true],
    ]);
    expect(phases[1].history.epoch).toEqual([0, 1, 2]);
    expect(phases[1].rates).toHaveLength(3);
    expect(phases[1].history.history.lr_group1).toHaveLength(3);
  });

  it("runs with its defaults ('auto' head rate through the range test)", async () => {
    const { x, y } = data(96, 15);
    const m = mlp(16);
    const { phases } = await fineTune(m, { x, y }, { seed: 1 });
    expect(phases[0].rates[0]).toBeGreaterThan(0);
    expect(phases[1].history.history.loss.every(Number.isFinite)).toBe(true);
  });
});
