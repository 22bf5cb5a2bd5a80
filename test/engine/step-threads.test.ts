/**
 * A training step gives the same weights at 1 and 2 threads, bit for bit: the batch gather
 * splits over the pool by rows above 32k floats per task, the per-step kernels split by fixed
 * partitions, and GEMM never splits k. Covers a batch above the gather threshold (128 rows x 600
 * features, shuffled) and the 4-16-3 model whose steps never leave the calling thread.
 */
import { adam, dense, getNumThreads, sequential, setNumThreads, tensor } from '../../lib';
import { makeRng, randNormal } from '../helpers/numerics';

let threads0 = 1;
beforeAll(() => {
  threads0 = getNumThreads();
});
afterAll(() => setNumThreads(threads0));

async function trainedWeights(threads: number, inputs: number, hidden: number, classes: number, rows: number, batch: number, x: Float32Array, y: Int32Array): Promise<number[][]> {
  setNumThreads(threads);
  const m = sequential([dense({ units: hidden, activation: 'relu', inputShape: [inputs] }), dense({ units: classes, activation: 'softmax' })], { seed: 3 });
  m.compile({ optimizer: adam({ lr: 0.01 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const xt = tensor(x, [rows, inputs]);
  const yt = tensor(y, [rows], 'int32');
  await m.fit(xt, yt, { epochs: 2, batchSize: batch, shuffle: true, seed: 5 });
  const w = Object.values(m.getWeights()).map((t) => Array.from(t.data));
  xt.dispose();
  yt.dispose();
  return w;
}

describe('training steps at 1 and 2 threads', () => {
  it.each([
    [600, 32, 10, 300, 128],
    [4, 16, 3, 150, 16],
  ])('%i-%i-%i on %i rows, batch %i: identical weights', async (inputs, hidden, classes, rows, batch) => {
    const rng = makeRng();
    const x = randNormal(rows * inputs, 1, 0, rng);
    const y = Int32Array.from({ length: rows }, () => rng.int(classes));
    const one = await trainedWeights(1, inputs, hidden, classes, rows, batch, x, y);
    const two = await trainedWeights(2, inputs, hidden, classes, rows, batch, x, y);
    expect(one.every((w) => w.every(Number.isFinite))).toBe(true);
    expect(two).toEqual(one);
  });
});
