/**
 * The native epoch metrics that are not means over rows (RMSE, R², precision, recall, F1): their
 * value from evaluate(), accumulated over several batches, equals the float64 definition
 * (scikit-learn's) computed here on the model's own predictions.
 */
import { classificationReport, dense, regressionReport, sequential, adam, tensor } from '../lib';
import { makeRng } from './helpers/numerics';

const rng = makeRng();
const N = 203; // several batches of 16 with a ragged last one

function data(cols: number): Float32Array {
  return Float32Array.from({ length: N * cols }, () => rng.normal());
}

describe('native regression metrics', () => {
  it('rmse, r2 (averaged over outputs) and mse match their definitions across batches', async () => {
    const m = sequential([dense({ units: 8, activation: 'tanh', inputShape: [4] }), dense({ units: 2 })], { seed: 2 });
    m.compile({ optimizer: adam(), loss: 'mse', metrics: ['rmse', 'r2', 'mse'] });
    const x = tensor(data(4), [N, 4], 'float32');
    const yv = Float32Array.from({ length: N * 2 }, (_, i) => (i % 2 ? 3 : 0.5) * rng.normal() + (i % 2 ? 10 : -1));
    const y = tensor(yv, [N, 2], 'float32');
    await m.fit(x, y, { epochs: 3, batchSize: 32, seed: 1 });
    const got = await m.evaluate(x, y, { batchSize: 16 });
    const p = (await m.predict(x)).data() as Float32Array;
    let r2 = 0;
    let se = 0;
    for (let j = 0; j < 2; j++) {
      const t = Float64Array.from({ length: N }, (_, i) => yv[i * 2 + j]);
      const q = Float64Array.from({ length: N }, (_, i) => p[i * 2 + j]);
      const r = regressionReport(t, q);
      r2 += r.r2 / 2;
      se += r.rmse ** 2 * N;
    }
    expect(got.rmse).toBeCloseTo(Math.sqrt(se / (2 * N)), 5);
    expect(got.mse).toBeCloseTo(se / (2 * N), 4);
    expect(got.r2).toBeCloseTo(r2, 5);
  });
});

describe('native classification metrics', () => {
  it('macro precision, recall and F1 with integer labels match the float64 report', async () => {
    const k = 4;
    const m = sequential([dense({ units: k, activation: 'softmax', inputShape: [5] })], { seed: 3 });
    m.compile({ optimizer: adam({ lr: 0.01 }), loss: 'sparseCategoricalCrossentropy', metrics: ['precision', 'recall', 'f1', 'accuracy'] });
    const xv = data(5);
    const labels = Int32Array.from({ length: N }, (_, i) => (xv[i * 5] > 0.8 ? 3 : xv[i * 5 + 1] > 0 ? 1 : i % 3 === 0 ? 2 : 0));
    const x = tensor(xv, [N, 5], 'float32');
    const y = tensor(labels, [N], 'int32');
    await m.fit(x, y, { epochs: 5, batchSize: 32, seed: 1 });
    const got = await m.evaluate(x, y, { batchSize: 16 });
    const p = (await m.predict(x)).data() as Float32Array;
    const pred = Int32Array.from({ length: N }, (_, i) => {
      let b = 0;
      for (let j = 1; j < k; j++) if (p[i * k + j] > p[i * k + b]) b = j;
      return b;
    });
    const ref = classificationReport(labels, pred, k);
    const present = [...Array(k).keys()].filter((c) => ref.support[c] > 0 || pred.includes(c));
    const mean = (a: number[]) => present.reduce((s, c) => s + a[c], 0) / present.length;
    expect(got.precision).toBeCloseTo(mean(ref.precision), 6);
    expect(got.recall).toBeCloseTo(mean(ref.recall), 6);
    expect(got.f1).toBeCloseTo(ref.macroF1, 6);
    expect(got.accuracy).toBeCloseTo(ref.accuracy, 6);
  });

  it('binary precision, recall and F1 are of the positive class (fused sigmoid)', async () => {
    const m = sequential([dense({ units: 1, activation: 'sigmoid', inputShape: [3] })], { seed: 4 });
    m.compile({ optimizer: adam({ lr: 0.05 }), loss: 'binaryCrossentropy', metrics: ['precision', 'recall', 'f1'] });
    const xv = data(3);
    const yv = Float32Array.from({ length: N }, (_, i) => (xv[i * 3] + 0.5 * rng.normal() > 0.7 ? 1 : 0));
    const x = tensor(xv, [N, 3], 'float32');
    const y = tensor(yv, [N, 1], 'float32');
    await m.fit(x, y, { epochs: 8, batchSize: 16, seed: 2 });
    const got = await m.evaluate(x, y, { batchSize: 16 });
    const p = (await m.predict(x)).data() as Float32Array;
    const ref = classificationReport(Int32Array.from(yv), Int32Array.from(p, (q) => (q > 0.5 ? 1 : 0)), 2);
    expect(got.precision).toBeCloseTo(ref.precision[1], 6);
    expect(got.recall).toBeCloseTo(ref.recall[1], 6);
    expect(got.f1).toBeCloseTo(ref.f1[1], 6);
  });

  it('refuses regression metrics on integer labels, naming the metric', () => {
    const m = sequential([dense({ units: 3, activation: 'softmax', inputShape: [2] })]);
    expect(() => m.compile({ optimizer: adam(), loss: 'sparseCategoricalCrossentropy', metrics: ['r2'] })).toThrow('Expected a metric usable with integer labels for metrics[0] but received "r2"');
  });
});
