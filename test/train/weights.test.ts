/**
 * Sample and class weights in fit, applied in the native loss: for every loss (and the fused
 * softmax / sigmoid paths) the weighted gradient is the weighted sum of the per-row gradients
 * (linearity, checked through one SGD step with lr = 1 on a fixed model), weights of 1 reproduce
 * unweighted training, the reported loss is sum(w * loss) / rows, and class weights follow
 * Keras's and scikit-learn's definitions.
 */
import { dense, Model, NamedWeights, sequential, sgd, tensor } from '../../lib';
import { rowWeights } from '../../lib/train/weights';
import { makeRng, relErr } from '../helpers/numerics';

const R = 7;
const IN = 3;

type Case = { name: string; loss: string; out: number; act: 'linear' | 'sigmoid' | 'softmax'; sparse?: boolean };
const CASES: Case[] = [
  { name: 'mse', loss: 'meanSquaredError', out: 2, act: 'linear' },
  { name: 'mae', loss: 'meanAbsoluteError', out: 2, act: 'linear' },
  { name: 'huber', loss: 'huber', out: 2, act: 'linear' },
  { name: 'bce on probabilities', loss: 'binaryCrossentropy', out: 2, act: 'linear' },
  { name: 'bce fused with sigmoid', loss: 'binaryCrossentropy', out: 1, act: 'sigmoid' },
  { name: 'bce from logits', loss: 'binaryCrossentropyFromLogits', out: 2, act: 'linear' },
  { name: 'cce fused with softmax', loss: 'categoricalCrossentropy', out: 3, act: 'softmax' },
  { name: 'sparse cce fused with softmax', loss: 'sparseCategoricalCrossentropy', out: 3, act: 'softmax', sparse: true },
  { name: 'cce from logits', loss: 'categoricalCrossentropyFromLogits', out: 3, act: 'linear' },
];

function build(c: Case): Model {
  const m = sequential([dense({ units: 4, activation: 'tanh', inputShape: [IN] }), dense({ units: c.out, activation: c.act })], { seed: 3 });
  m.compile({ optimizer: sgd({ lr: 1 }), loss: c.loss as never });
  return m;
}

function flat(w: NamedWeights): Float64Array {
  return Float64Array.from(Object.keys(w).sort().flatMap((k) => Array.from(w[k].data)));
}

describe.each(CASES)('weighted loss: $name', (c) => {
  const rng = makeRng();
  const x = Array.from({ length: R }, () => Array.from({ length: IN }, () => rng.normal()));
  const y = c.sparse
    ? tensor(Int32Array.from({ length: R }, () => rng.int(c.out)), [R], 'int32')
    : c.name.startsWith('bce') || c.name.startsWith('cce')
      ? tensor(
          Float32Array.from({ length: R * c.out }, (_, i) => (c.name.startsWith('cce') ? (i % c.out === (Math.floor(i / c.out) % c.out) ? 1 : 0) : rng.next())),
          [R, c.out],
          'float32',
        )
      : tensor(Float32Array.from({ length: R * c.out }, () => rng.normal()), [R, c.out], 'float32');
  // For MAE keep residuals away from 0, where its gradient jumps.
  const xs = tensor(Float32Array.from(x.flat()), [R, IN], 'float32');

  async function step(w: number[] | undefined): Promise<{ delta: Float64Array; loss: number }> {
    const m = build(c);
    const before = flat(m.getWeights());
    const h = await m.fit(xs, y, { epochs: 1, batchSize: R, shuffle: false, divergenceGuard: false, sampleWeight: w });
    const after = flat(m.getWeights());
    return { delta: after.map((a, i) => a - before[i]), loss: h.history.loss[0] };
  }

  it('is the weighted sum of per-row gradients and losses; weights of 1 match unweighted training', async () => {
    const plain = await step(undefined);
    const ones = await step(new Array(R).fill(1));
    expect(relErr(ones.delta, plain.delta, 1e-12)).toBeLessThan(1e-6);
    expect(Math.abs(ones.loss - plain.loss)).toBeLessThan(1e-6 * Math.abs(plain.loss) + 1e-9);
    const w = Array.from({ length: R }, () => Math.round(rng.next() * 30) / 10);
    const weighted = await step(w);
    const sum = new Float64Array(plain.delta.length);
    let lossSum = 0;
    for (let r = 0; r < R; r++) {
      const e = new Array(R).fill(0);
      e[r] = 1;
      const one = await step(e);
      one.delta.forEach((d, i) => (sum[i] += w[r] * d));
      lossSum += w[r] * one.loss;
    }
    expect(relErr(weighted.delta, sum, 1e-9)).toBeLessThan(1e-4);
    expect(Math.abs(weighted.loss - lossSum)).toBeLessThan(1e-4 * Math.abs(lossSum) + 1e-7);
  });
});

describe('class weights', () => {
  it("computes 'balanced' as n / (classes * count) and multiplies sample weights", () => {
    const y = tensor(Int32Array.from([0, 0, 0, 1, 2, 2]), [6], 'int32');
    expect(Array.from(rowWeights(y, undefined, 'balanced')!)).toEqual([2 / 3, 2 / 3, 2 / 3, 2, 1, 1].map(Math.fround));
    expect(Array.from(rowWeights(y, [1, 2, 1, 1, 1, 0], { 2: 3 })!)).toEqual([1, 2, 1, 1, 3, 0]);
    const onehot = tensor(Float32Array.from([1, 0, 0, 1, 0, 1]), [3, 2], 'float32');
    expect(Array.from(rowWeights(onehot, undefined, [1, 4])!)).toEqual([1, 4, 4]);
  });

  it('names the argument in every error', () => {
    const y = tensor(Int32Array.from([0, 1, 2]), [3], 'int32');
    expect(() => rowWeights(y, [1, 1], undefined)).toThrow('Expected 3 weights (one per row) for sampleWeight but received an array of length 2');
    expect(() => rowWeights(y, [1, -1, 1], undefined)).toThrow('Expected finite weights >= 0 for sampleWeight[1] but received -1');
    expect(() => rowWeights(y, undefined, [1, 1])).toThrow('Expected a weight for each of the 3 classes in the targets for classWeight');
    expect(() => rowWeights(y, undefined, { a: 1 })).toThrow("Expected class ids (integers >= 0) as keys for classWeight but received \"a\"");
  });

  it('a class weighted 0 does not move the model; balanced weights lift recall of a rare class', async () => {
    const rng = makeRng(4);
    const n = 400;
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = i % 10 === 0 ? 1 : 0; // 10% minority
      xs.push(rng.normal() + (c ? 1.2 : 0), rng.normal());
      ys.push(c);
    }
    const X = tensor(Float32Array.from(xs), [n, 2], 'float32');
    const Y = tensor(Int32Array.from(ys), [n], 'int32');
    const make = () => {
      const m = sequential([dense({ units: 2, activation: 'softmax', inputShape: [2] })], { seed: 1 });
      m.compile({ optimizer: sgd({ lr: 0.5 }), loss: 'sparseCategoricalCrossentropy' });
      return m;
    };
    const frozen = make();
    const w0 = flat(frozen.getWeights());
    await frozen.fit(X, Y, { epochs: 2, batchSize: 32, seed: 1, classWeight: { 0: 0, 1: 0 } });
    expect(Array.from(flat(frozen.getWeights()))).toEqual(Array.from(w0));

    const recall = async (classWeight?: 'balanced') => {
      const m = make();
      await m.fit(X, Y, { epochs: 20, batchSize: 32, seed: 1, classWeight });
      const p = (await m.predict(X)).data() as Float32Array;
      let hit = 0;
      for (let i = 0; i < n; i += 10) if (p[2 * i + 1] > p[2 * i]) hit++;
      return hit / (n / 10);
    };
    const plain = await recall();
    const balanced = await recall('balanced');
    expect(balanced).toBeGreaterThan(plain + 0.2);
  });
});
