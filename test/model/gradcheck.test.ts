/**
 * Gradient checks through the compiled model: for every layer, activation, merge and loss, the
 * analytic gradient of one training step (read back from an SGD step with lr 1) must match central
 * finite differences of the training-mode loss (float32 forward, h = 2e-3). A sign error, a missing
 * factor or a dropped term gives a relative error of order 1; the float32 noise of the differences
 * is about 1e-4.
 */
import {
  ACTIVATIONS,
  ActivationName,
  Layer,
  Model,
  activation,
  batchNormalization,
  concatenate,
  dense,
  dropout,
  input,
  layerNormalization,
  layers,
  model,
  sequential,
  sgd,
} from '../../lib';
import { gradCheck, makeRng, randMatrix, randOneHot, trainableNames } from '../helpers/model';

const TOL = 1e-2;

/** Gives every trainable weight random values (non-zero biases, gamma != 1) so no term vanishes. */
function randomize(m: Model, seed: number, scale = 0.6): void {
  const rng = makeRng(seed);
  const w = m.getWeights();
  for (const k of trainableNames(w)) {
    const d = w[k].data;
    for (let i = 0; i < d.length; i++) d[i] = k.endsWith('/gamma') ? 1 + 0.3 * rng.normal() : scale * rng.normal();
  }
  m.setWeights(w);
}

async function expectGradOk(m: Model, loss: unknown, x: number[][], y: number[][] | number[]): Promise<void> {
  const r = await gradCheck(m, loss, x, y);
  const worst = Object.entries(r.params).map(([k, p]) => [k, p.rel] as const);
  for (const [k, rel] of worst) {
    // The label makes a failure point at the parameter.
    expect({ param: k, rel: rel < TOL ? 'ok' : rel }).toEqual({ param: k, rel: 'ok' });
  }
  // The numerical gradient is not trivially zero (the check has teeth).
  const total = Object.values(r.params).reduce((s, p) => s + p.numeric.reduce((a, b) => a + b * b, 0), 0);
  expect(Math.sqrt(total)).toBeGreaterThan(1e-3);
}

const X = (seed: number, rows = 5, cols = 4): number[][] => randMatrix(makeRng(seed), rows, cols);

describe('dense layers: every activation, with and without bias', () => {
  for (const act of ACTIVATIONS) {
    for (const useBias of [true, false]) {
      test(`dense ${act} useBias=${useBias} (hidden, then linear output)`, async () => {
        const m = sequential([dense({ units: 3, activation: act, useBias, inputShape: [4] }), dense({ units: 2 })], { seed: 11 });
        m.compile({ optimizer: sgd({ lr: 0 }), loss: 'mse' });
        randomize(m, 100 + ACTIVATIONS.indexOf(act));
        await expectGradOk(m, 'mse', X(1), randMatrix(makeRng(2), 5, 2));
      });
    }
    test(`dense ${act} as the output layer with mse`, async () => {
      const m = sequential([dense({ units: 3, activation: act, inputShape: [4] })], { seed: 12 });
      m.compile({ optimizer: sgd({ lr: 0 }), loss: 'mse' });
      randomize(m, 200 + ACTIVATIONS.indexOf(act));
      await expectGradOk(m, 'mse', X(3), randMatrix(makeRng(4), 5, 3, 0.5));
    });
  }
  test('leakyRelu and elu with a custom alpha', async () => {
    const m = sequential([dense({ units: 4, activation: 'leakyRelu', alpha: 0.05, inputShape: [4] }), dense({ units: 3, activation: 'elu', alpha: 0.7 }), dense({ units: 2 })], { seed: 13 });
    m.compile({ optimizer: sgd({ lr: 0 }), loss: 'mse' });
    randomize(m, 300);
    await expectGradOk(m, 'mse', X(5), randMatrix(makeRng(6), 5, 2));
  });
});

describe('activation layers', () => {
  for (const act of ACTIVATIONS) {
    test(`activation(${act}) between two dense layers`, async () => {
      const m = sequential([dense({ units: 3, inputShape: [4] }), activation({ activation: act as ActivationName }), dense({ units: 2 })], { seed: 21 });
      m.compile({ optimizer: sgd({ lr: 0 }), loss: 'mse' });
      randomize(m, 400 + ACTIVATIONS.indexOf(act));
      await expectGradOk(m, 'mse', X(7), randMatrix(makeRng(8), 5, 2));
    });
  }
});

describe('normalisation and dropout', () => {
  test('layerNormalization (gamma, beta and the input gradient)', async () => {
    const m = sequential([dense({ units: 4, inputShape: [4] }), layerNormalization({ epsilon: 1e-3 }), dense({ units: 2 })], { seed: 31 });
    m.compile({ optimizer: sgd({ lr: 0 }), loss: 'mse' });
    randomize(m, 500);
    await expectGradOk(m, 'mse', X(9), randMatrix(makeRng(10), 5, 2));
  });
  test('batchNormalization in training mode (batch statistics)', async () => {
    const m = sequential([dense({ units: 3, inputShape: [4] }), batchNormalization(), dense({ units: 2 })], { seed: 32 });
    m.compile({ optimizer: sgd({ lr: 0 }), loss: 'mse' });
    randomize(m, 501);
    await expectGradOk(m, 'mse', X(11, 6), randMatrix(makeRng(12), 6, 2));
  });
  test('batchNormalization as the first layer and without center/scale', async () => {
    const m = sequential([batchNormalization({ inputShape: [4], center: false, scale: false }), dense({ units: 3, activation: 'tanh' }), batchNormalization(), dense({ units: 2 })], { seed: 33 });
    m.compile({ optimizer: sgd({ lr: 0 }), loss: 'mse' });
    randomize(m, 502);
    await expectGradOk(m, 'mse', X(13, 6), randMatrix(makeRng(14), 6, 2));
  });
  test('dropout with rate 0 is the identity for gradients', async () => {
    const m = sequential([dense({ units: 3, activation: 'tanh', inputShape: [4] }), dropout({ rate: 0 }), dense({ units: 2 })], { seed: 34 });
    m.compile({ optimizer: sgd({ lr: 0 }), loss: 'mse' });
    randomize(m, 503);
    await expectGradOk(m, 'mse', X(15), randMatrix(makeRng(16), 5, 2));
  });
});

describe('merges (functional model)', () => {
  test('residual add and concatenate skip, a node with four consumers', async () => {
    const x = input({ shape: [4] });
    const a = dense({ units: 4, activation: 'tanh', name: 'a' }).apply(x);
    const b = dense({ units: 4, activation: 'sigmoid', name: 'b' }).apply(a);
    const s = layers.add().apply(a, b);
    const act = activation({ activation: 'softplus' }).apply(a);
    const ln = layerNormalization({ name: 'ln' }).apply(a);
    const c = concatenate().apply(s, act, ln);
    const out = dense({ units: 2, name: 'out' }).apply(c);
    const m = model({ inputs: x, outputs: out, seed: 41 });
    m.compile({ optimizer: sgd({ lr: 0 }), loss: 'mse' });
    randomize(m, 600);
    await expectGradOk(m, 'mse', X(17), randMatrix(makeRng(18), 5, 2));
  });
  test('add of three branches and concatenate with the raw input', async () => {
    const x = input({ shape: [4] });
    const a = dense({ units: 3, activation: 'relu' }).apply(x);
    const b = dense({ units: 3, activation: 'elu' }).apply(x);
    const c = dense({ units: 3 }).apply(x);
    const s = layers.add().apply(a, b, c);
    const out = dense({ units: 2 }).apply(concatenate().apply(x, s));
    const m = model({ inputs: x, outputs: out, seed: 42 });
    m.compile({ optimizer: sgd({ lr: 0 }), loss: 'mse' });
    randomize(m, 601);
    await expectGradOk(m, 'mse', X(19), randMatrix(makeRng(20), 5, 2));
  });
});

// ---- losses -------------------------------------------------------------------------------------

/** float64 reference of each loss on model outputs `p` (probabilities or values as predict returns). */
function refLoss(name: string, p: number[][], y: number[][] | number[], delta = 1, fromLogits = false): number {
  const n = p.length;
  const k = p[0].length;
  const eps = 1e-7;
  const sig = (z: number): number => 1 / (1 + Math.exp(-z));
  const softmax = (r: number[]): number[] => {
    const mx = Math.max(...r);
    const e = r.map((v) => Math.exp(v - mx));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const yi = y[i];
    if (name === 'sparse') {
      const q = fromLogits ? softmax(p[i]) : p[i];
      sum += -Math.log(Math.max(q[yi as number], eps));
      continue;
    }
    const row = yi as number[];
    if (name === 'cce') {
      const q = fromLogits ? softmax(p[i]) : p[i];
      for (let j = 0; j < k; j++) sum += -row[j] * Math.log(Math.max(q[j], eps));
      continue;
    }
    for (let j = 0; j < k; j++) {
      const e = p[i][j] - row[j];
      if (name === 'mse') sum += (e * e) / k;
      else if (name === 'mae') sum += Math.abs(e) / k;
      else if (name === 'huber') sum += (Math.abs(e) <= delta ? 0.5 * e * e : delta * (Math.abs(e) - 0.5 * delta)) / k;
      else if (name === 'bce') {
        const q = Math.min(Math.max(fromLogits ? sig(p[i][j]) : p[i][j], eps), 1 - eps);
        sum += -(row[j] * Math.log(q) + (1 - row[j]) * Math.log(1 - q)) / k;
      }
    }
  }
  return sum / n;
}

interface LossCase {
  title: string;
  loss: unknown;
  head: () => Layer[];
  k: number;
  target: 'real' | 'prob' | 'onehot' | 'sparse';
  ref: [string, number?, boolean?];
}

const LOSS_CASES: LossCase[] = [
  { title: 'mse (alias of meanSquaredError)', loss: 'mse', head: () => [dense({ units: 3 })], k: 3, target: 'real', ref: ['mse'] },
  { title: 'meanSquaredError', loss: 'meanSquaredError', head: () => [dense({ units: 3 })], k: 3, target: 'real', ref: ['mse'] },
  { title: 'mae', loss: 'mae', head: () => [dense({ units: 3 })], k: 3, target: 'real', ref: ['mae'] },
  { title: 'huber (delta 1)', loss: 'huber', head: () => [dense({ units: 3 })], k: 3, target: 'real', ref: ['huber', 1] },
  { title: 'huber (delta 0.4, both regimes)', loss: { name: 'huber', delta: 0.4 }, head: () => [dense({ units: 3 })], k: 3, target: 'real', ref: ['huber', 0.4] },
  { title: 'binaryCrossentropy on a dense sigmoid output (fused)', loss: 'binaryCrossentropy', head: () => [dense({ units: 3, activation: 'sigmoid' })], k: 3, target: 'prob', ref: ['bce'] },
  { title: 'binaryCrossentropy on a sigmoid activation layer (fused)', loss: 'binaryCrossentropy', head: () => [dense({ units: 3 }), activation({ activation: 'sigmoid' })], k: 3, target: 'prob', ref: ['bce'] },
  { title: 'binaryCrossentropy on a softmax output (probabilities, not fused)', loss: 'binaryCrossentropy', head: () => [dense({ units: 3, activation: 'softmax' })], k: 3, target: 'prob', ref: ['bce'] },
  { title: 'binaryCrossentropyFromLogits on a linear output', loss: 'binaryCrossentropyFromLogits', head: () => [dense({ units: 3 })], k: 3, target: 'prob', ref: ['bce', 1, true] },
  { title: 'categoricalCrossentropy on a dense softmax output (fused)', loss: 'categoricalCrossentropy', head: () => [dense({ units: 4, activation: 'softmax' })], k: 4, target: 'onehot', ref: ['cce'] },
  { title: 'categoricalCrossentropy with soft targets on a softmax activation layer (fused)', loss: 'categoricalCrossentropy', head: () => [dense({ units: 4 }), activation({ activation: 'softmax' })], k: 4, target: 'prob', ref: ['cce'] },
  { title: 'categoricalCrossentropy on a sigmoid output (probabilities, not fused)', loss: 'categoricalCrossentropy', head: () => [dense({ units: 4, activation: 'sigmoid' })], k: 4, target: 'onehot', ref: ['cce'] },
  { title: 'categoricalCrossentropyFromLogits on a linear output', loss: 'categoricalCrossentropyFromLogits', head: () => [dense({ units: 4 })], k: 4, target: 'onehot', ref: ['cce', 1, true] },
  { title: 'sparseCategoricalCrossentropy on a softmax output (fused)', loss: 'sparseCategoricalCrossentropy', head: () => [dense({ units: 4, activation: 'softmax' })], k: 4, target: 'sparse', ref: ['sparse'] },
  { title: 'sparseCategoricalCrossentropy on a sigmoid output (not fused)', loss: 'sparseCategoricalCrossentropy', head: () => [dense({ units: 4, activation: 'sigmoid' })], k: 4, target: 'sparse', ref: ['sparse'] },
  { title: 'sparseCategoricalCrossentropyFromLogits on a linear output', loss: 'sparseCategoricalCrossentropyFromLogits', head: () => [dense({ units: 4 })], k: 4, target: 'sparse', ref: ['sparse', 1, true] },
];

describe('losses: gradient and value', () => {
  LOSS_CASES.forEach((c, ci) => {
    test(c.title, async () => {
      const rng = makeRng(700 + ci);
      const rows = 5;
      const x = randMatrix(rng, rows, 4);
      let y: number[][] | number[];
      if (c.target === 'real') y = randMatrix(rng, rows, c.k, 1.2);
      else if (c.target === 'prob') y = Array.from({ length: rows }, () => Array.from({ length: c.k }, () => rng.next()));
      else if (c.target === 'onehot') y = randOneHot(rng, rows, c.k).onehot;
      else y = randOneHot(rng, rows, c.k).labels;
      const m = sequential([dense({ units: 3, activation: 'tanh', inputShape: [4] }), ...c.head()], { seed: 50 + ci });
      m.compile({ optimizer: sgd({ lr: 0 }), loss: c.loss as never });
      randomize(m, 800 + ci, 0.8);
      // The loss value: trainOnBatch's (training mode, no dropout: equal to inference) vs float64.
      const p = (await m.predict(x)).toArray() as number[][];
      const { loss } = await m.trainOnBatch(x, y);
      const ref = refLoss(c.ref[0], p, y, c.ref[1], c.ref[2]);
      expect(Math.abs(loss - ref) / Math.abs(ref)).toBeLessThan(1e-5);
      const ev = await m.evaluate(x, y);
      expect(Math.abs(ev.loss - ref) / Math.abs(ref)).toBeLessThan(1e-5);
      await expectGradOk(m, c.loss, x, y);
    });
  });
});
