/**
 * Several models at once and reproducibility: two fits in flight together (Promise.all) give the
 * same weights as when run one after the other; identical seeds and thread counts give bit-identical
 * weights (with dropout and shuffling); training works with 1 and 2 threads.
 */
import { Model, dense, dropout, getNumThreads, sequential, setNumThreads, sgd, adam } from '../../lib';
import { makeRng, randMatrix, sameBits } from '../helpers/model';

const initialThreads = getNumThreads();
afterEach(() => setNumThreads(initialThreads));

function line(seed: number, slope: number, intercept: number, n = 200): { x: number[][]; y: number[][] } {
  const rng = makeRng(seed);
  const x = Array.from({ length: n }, () => [Math.fround(rng.next() * 4 - 2)]);
  return { x, y: x.map(([v]) => [Math.fround(slope * v + intercept + 0.05 * rng.normal())]) };
}

function linearModel(seed: number): Model {
  const m = sequential([dense({ units: 1, inputShape: [1] })], { seed });
  m.compile({ optimizer: sgd({ lr: 0.02, momentum: 0.5 }), loss: 'mse' });
  return m;
}

/** A small classifier with dropout (the mask stream and the shuffling are both seeded). */
function dropoutNet(seed: number): Model {
  const m = sequential([dense({ units: 32, activation: 'relu', inputShape: [8] }), dropout({ rate: 0.3 }), dense({ units: 16, activation: 'tanh' }), dropout({ rate: 0.2 }), dense({ units: 3, activation: 'softmax' })], { seed });
  m.compile({ optimizer: adam({ lr: 3e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

function blobs(seed: number, n = 600): { x: number[][]; y: number[] } {
  const rng = makeRng(seed);
  const x = randMatrix(rng, n, 8);
  const y = x.map((r) => (r[0] + r[1] > 0.5 ? 0 : r[2] - r[3] > 0 ? 1 : 2));
  return { x, y };
}

describe('two models training at the same time', () => {
  test('concurrent fits reach their own solutions and equal the sequential runs bit for bit', async () => {
    const a = line(1, 1.5, -2);
    const b = line(2, -0.5, 3);
    const ma = linearModel(10);
    const mb = linearModel(20);
    const [ha, hb] = await Promise.all([
      ma.fit(a.x, a.y, { epochs: 40, batchSize: 10, seed: 1 }),
      mb.fit(b.x, b.y, { epochs: 40, batchSize: 10, seed: 2 }),
    ]);
    expect(ha.epoch).toHaveLength(40);
    expect(hb.epoch).toHaveLength(40);
    const wa = ma.getWeights();
    const wb = mb.getWeights();
    expect(Math.abs(wa['dense_1/kernel'].data[0] - 1.5)).toBeLessThan(0.05);
    expect(Math.abs(wa['dense_1/bias'].data[0] + 2)).toBeLessThan(0.05);
    expect(Math.abs(wb['dense_1/kernel'].data[0] + 0.5)).toBeLessThan(0.05);
    expect(Math.abs(wb['dense_1/bias'].data[0] - 3)).toBeLessThan(0.05);
    // The same runs one after the other.
    const sa = linearModel(10);
    await sa.fit(a.x, a.y, { epochs: 40, batchSize: 10, seed: 1 });
    const sb = linearModel(20);
    await sb.fit(b.x, b.y, { epochs: 40, batchSize: 10, seed: 2 });
    expect(sameBits(sa.getWeights(), wa)).toBe(true);
    expect(sameBits(sb.getWeights(), wb)).toBe(true);
  });

  test('a classifier and a regression with dropout interleave without interference', async () => {
    const c = blobs(3);
    const r = line(4, 0.75, 1);
    const mc = dropoutNet(30);
    const mr = linearModel(40);
    const [hc] = await Promise.all([mc.fit(c.x, c.y, { epochs: 30, batchSize: 32, seed: 5 }), mr.fit(r.x, r.y, { epochs: 40, batchSize: 10, seed: 6 })]);
    expect(hc.history.accuracy[29]).toBeGreaterThan(0.8);
    const ev = await mc.evaluate(c.x, c.y);
    expect(ev.accuracy).toBeGreaterThan(0.85);
    const w = mr.getWeights();
    expect(Math.abs(w['dense_1/kernel'].data[0] - 0.75)).toBeLessThan(0.05);
    expect(Math.abs(w['dense_1/bias'].data[0] - 1)).toBeLessThan(0.05);
  });
});

describe('determinism', () => {
  for (const threads of [1, 2]) {
    test(`same seeds and ${threads} thread(s): bit-identical weights with dropout and shuffling`, async () => {
      setNumThreads(threads);
      const d = blobs(7);
      const run = async (fitSeed: number): Promise<ReturnType<Model['getWeights']>> => {
        const m = dropoutNet(77);
        await m.fit(d.x, d.y, { epochs: 3, batchSize: 16, seed: fitSeed, shuffle: true });
        await m.trainOnBatch(d.x.slice(0, 20), d.y.slice(0, 20));
        return m.getWeights();
      };
      const w1 = await run(123);
      const w2 = await run(123);
      expect(sameBits(w1, w2)).toBe(true);
      // The check has teeth: another shuffling seed gives other weights.
      const w3 = await run(124);
      expect(sameBits(w1, w3)).toBe(false);
    });
  }
  test('the model seed alone fixes initial weights; different seeds differ', () => {
    const a = dropoutNet(5).getWeights();
    const b = dropoutNet(5).getWeights();
    const c = dropoutNet(6).getWeights();
    expect(sameBits(a, b)).toBe(true);
    expect(sameBits(a, c)).toBe(false);
  });
});

describe('thread counts', () => {
  test('training with 1 and with 2 threads both converge to the same quality', async () => {
    const d = blobs(9, 800);
    const acc: number[] = [];
    const weights: ReturnType<Model['getWeights']>[] = [];
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      expect(getNumThreads()).toBe(threads);
      const m = sequential([dense({ units: 64, activation: 'relu', inputShape: [8] }), dense({ units: 64, activation: 'relu' }), dense({ units: 3, activation: 'softmax' })], { seed: 9 });
      m.compile({ optimizer: adam({ lr: 3e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
      await m.fit(d.x, d.y, { epochs: 25, batchSize: 64, seed: 9 });
      acc.push((await m.evaluate(d.x, d.y)).accuracy);
      weights.push(m.getWeights());
    }
    expect(acc[0]).toBeGreaterThan(0.9);
    expect(acc[1]).toBeGreaterThan(0.9);
    // Threads split output tiles, never the reduction: results agree closely (bitwise is not promised).
    const k1 = weights[0]['dense_1/kernel'].data;
    const k2 = weights[1]['dense_1/kernel'].data;
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < k1.length; i++) {
      diff += (k1[i] - k2[i]) ** 2;
      norm += k1[i] ** 2;
    }
    expect(Math.sqrt(diff / norm)).toBeLessThan(1e-3);
  });
});
