/**
 * End-to-end training: dropout semantics, linear regression recovered by mini-batch SGD, full-batch
 * gradient descent through fit() step for step against float64 iterates, Adam, and the bundled
 * digits (fit / evaluate / predict).
 */
import { Dataset, adam, dense, dropout, loadDigits, sequential, sgd, tensor } from '../../lib';
import { makeRng, relErr } from '../helpers/model';

describe('dropout', () => {
  for (const rate of [0.25, 0.5]) {
    test(`rate ${rate}: training zeroes units and scales kept ones by 1/(1-rate); predict is the identity`, async () => {
      const n = 400;
      // out = sum_j mask_j * x_j * W_j with x = 1, W = 1: after one SGD step with lr 1 on mse
      // against 0, W_j changes by exactly 2 * out * mask_j and the loss is out^2.
      const m = sequential([dropout({ rate, inputShape: [n] }), dense({ units: 1, useBias: false, kernelInitializer: 'ones' })], { seed: 5 });
      m.compile({ optimizer: sgd({ lr: 1 }), loss: 'mse' });
      const x = [new Array(n).fill(1)];
      const masks: number[][] = [];
      for (let step = 0; step < 2; step++) {
        const w0 = m.getWeights()['dense_1/kernel'].data;
        const { loss } = await m.trainOnBatch(x, [[0]]);
        const w1 = m.getWeights()['dense_1/kernel'].data;
        // Weights were all equal before the first step; reset them so the second step sees ones too.
        m.setWeights({ 'dense_1/kernel': { shape: [n, 1], data: new Float32Array(n).fill(1) } });
        const out = Math.sqrt(loss);
        const mask = Array.from(w0, (v, j) => (v - w1[j]) / (2 * out));
        const scale = 1 / (1 - rate);
        for (const v of mask) {
          const ok = Math.abs(v) < 1e-4 || Math.abs(v - scale) < 1e-4 * scale;
          if (!ok) throw new Error(`mask value ${v} is neither 0 nor ${scale}`);
        }
        const kept = mask.filter((v) => v > 0).length / n;
        expect(Math.abs(kept - (1 - rate))).toBeLessThan(0.08);
        expect(Math.abs(mask.reduce((a, b) => a + b, 0) - out) / out).toBeLessThan(1e-4);
        masks.push(mask);
      }
      // A fresh mask per step.
      expect(masks[0].join(',')).not.toBe(masks[1].join(','));
      // Inference: no mask, no scaling (weights are all 1 again).
      const p = await m.predict(x);
      expect(p.data()[0]).toBeCloseTo(n, 3);
      const ev = await m.evaluate(x, [[0]]);
      expect(ev.loss).toBeCloseTo(n * n, 0);
    });
  }
});

/** y = 1.5 x - 2 + N(0, 0.1^2), x ~ U(-2, 2). */
function regression(seed: number, n = 200): { x: number[][]; y: number[][]; ols: [number, number] } {
  const rng = makeRng(seed);
  const xs = Array.from({ length: n }, () => Math.fround(rng.next() * 4 - 2));
  const ys = xs.map((v) => Math.fround(1.5 * v - 2 + 0.1 * rng.normal()));
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const w = sxy / sxx;
  return { x: xs.map((v) => [v]), y: ys.map((v) => [v]), ols: [w, my - w * mx] };
}

function params(m: ReturnType<typeof sequential>): [number, number] {
  const w = m.getWeights();
  return [w['dense_1/kernel'].data[0], w['dense_1/bias'].data[0]];
}

describe('linear regression', () => {
  test('mini-batch SGD (batch 10, lr 0.01) recovers slope and intercept', async () => {
    const d = regression(1);
    const m = sequential([dense({ units: 1, inputShape: [1] })], { seed: 1 });
    m.compile({ optimizer: sgd({ lr: 0.01 }), loss: 'mse' });
    const h = await m.fit(d.x, d.y, { epochs: 50, batchSize: 10, seed: 1 });
    const [w, b] = params(m);
    expect(Math.abs(w - 1.5)).toBeLessThan(0.05);
    expect(Math.abs(b + 2)).toBeLessThan(0.05);
    expect(Math.abs(w - d.ols[0])).toBeLessThan(0.02);
    expect(Math.abs(b - d.ols[1])).toBeLessThan(0.02);
    expect(h.history.loss).toHaveLength(50);
    expect(h.epoch).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // The final epoch's loss is the noise floor (variance 0.01).
    const last = h.history.loss[49];
    expect(last).toBeGreaterThan(0.005);
    expect(last).toBeLessThan(0.02);
    expect(h.history.lr[49]).toBeCloseTo(0.01, 8);
  });

  test('full-batch SGD through fit follows the float64 gradient-descent iterates and converges to OLS', async () => {
    const d = regression(2, 100);
    const m = sequential([dense({ units: 1, inputShape: [1] })], { seed: 2 });
    m.compile({ optimizer: sgd({ lr: 0.1 }), loss: 'mse' });
    let [w, b] = params(m).map(Number);
    const losses: number[] = [];
    const iterates: [number, number][] = [];
    const n = d.x.length;
    for (let e = 0; e < 20; e++) {
      let gw = 0;
      let gb = 0;
      let l = 0;
      for (let i = 0; i < n; i++) {
        const r = w * d.x[i][0] + b - d.y[i][0];
        l += r * r;
        gw += (2 / n) * r * d.x[i][0];
        gb += (2 / n) * r;
      }
      losses.push(l / n);
      w -= 0.1 * gw;
      b -= 0.1 * gb;
      iterates.push([w, b]);
    }
    const h = await m.fit(d.x, d.y, { epochs: 20, batchSize: n, seed: 3 });
    // Epoch loss = the loss before that epoch's single step.
    expect(relErr(h.history.loss, losses)).toBeLessThan(1e-5);
    expect(relErr(params(m), iterates[19])).toBeLessThan(1e-5);
    await m.fit(d.x, d.y, { epochs: 200, batchSize: n, shuffle: false });
    const [w2, b2] = params(m);
    expect(Math.abs(w2 - d.ols[0])).toBeLessThan(1e-3);
    expect(Math.abs(b2 - d.ols[1])).toBeLessThan(1e-3);
  });

  test('Adam (lr 0.01) recovers slope and intercept', async () => {
    const d = regression(3);
    const m = sequential([dense({ units: 1, inputShape: [1] })], { seed: 3 });
    m.compile({ optimizer: adam({ lr: 0.01 }), loss: 'mse' });
    const h = await m.fit(d.x, d.y, { epochs: 60, batchSize: 20, seed: 3 });
    const [w, b] = params(m);
    expect(Math.abs(w - 1.5)).toBeLessThan(0.05);
    expect(Math.abs(b + 2)).toBeLessThan(0.05);
    expect(h.history.loss[59]).toBeLessThan(0.03);
    expect(h.history.loss[59]).toBeLessThan(h.history.loss[0] / 10);
  });
});

describe('digits', () => {
  let data: { train: Dataset; test: Dataset };
  beforeAll(() => {
    data = loadDigits({ seed: 7 });
  });

  test('a 784-128-10 MLP reaches > 0.9 test accuracy in 3 epochs; evaluate matches predict', async () => {
    const m = sequential([dense({ units: 128, activation: 'relu', inputShape: [784] }), dense({ units: 10, activation: 'softmax' })], { seed: 7 });
    m.compile({ optimizer: adam({ lr: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const h = await m.fit(data.train, { epochs: 3, batchSize: 64, seed: 7, validationSplit: 0.1 });
    expect(Object.keys(h.history).sort()).toEqual(['accuracy', 'loss', 'lr', 'val_accuracy', 'val_loss']);
    expect(h.history.loss[2]).toBeLessThan(h.history.loss[0]);
    expect(h.history.val_accuracy[2]).toBeGreaterThan(0.85);
    const ev = await m.evaluate(data.test);
    expect(ev.accuracy).toBeGreaterThan(0.9);

    // predict: rows are probability distributions.
    const p = await m.predict(data.test.x);
    expect(p.shape).toEqual([data.test.x.shape[0], 10]);
    const pd = p.data();
    for (let r = 0; r < p.shape[0]; r++) {
      let s = 0;
      for (let j = 0; j < 10; j++) {
        expect(pd[r * 10 + j]).toBeGreaterThanOrEqual(0);
        s += pd[r * 10 + j];
      }
      if (Math.abs(s - 1) > 1e-5) throw new Error(`row ${r} sums to ${s}`);
    }
    // evaluate on a small set equals the float64 computation from predict.
    const k = 50;
    const labels = data.test.y.data();
    const xs = tensor(data.test.x.data().slice(0, k * 784), [k, 784]);
    const ys = tensor(labels.slice(0, k), [k], 'int32');
    const small = await m.evaluate(xs, ys, { batchSize: 16 });
    let loss = 0;
    let correct = 0;
    for (let r = 0; r < k; r++) {
      const row = Array.from(pd.subarray(r * 10, r * 10 + 10));
      loss -= Math.log(Math.max(row[labels[r]], 1e-7));
      if (row.indexOf(Math.max(...row)) === labels[r]) correct++;
    }
    expect(Math.abs(small.loss - loss / k) / (loss / k)).toBeLessThan(1e-4);
    expect(small.accuracy).toBeCloseTo(correct / k, 10);
    // Whole-set accuracy from predict agrees with evaluate's.
    let all = 0;
    for (let r = 0; r < p.shape[0]; r++) {
      const row = Array.from(pd.subarray(r * 10, r * 10 + 10));
      if (row.indexOf(Math.max(...row)) === labels[r]) all++;
    }
    expect(ev.accuracy).toBeCloseTo(all / p.shape[0], 10);
    xs.dispose();
    ys.dispose();
    p.dispose();
  });
});
