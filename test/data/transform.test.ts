import { createRng, dataset, fitStandardizer, oneHot, permutation, splitDataset, Standardizer, tensor } from '../../lib';

function randomDataset(n: number, f: number, seed: number, classes = 3) {
  const rng = createRng(seed);
  const x = Array.from({ length: n }, (_, i) => Array.from({ length: f }, (_, j) => (j === 0 ? i : rng.normal() * (j + 1) + j * 10)));
  const y = Array.from({ length: n }, () => rng.int(classes));
  return dataset(x, y, { numClasses: classes });
}

const rowIds = (ds: ReturnType<typeof randomDataset>): number[] => (ds.x.toArray() as number[][]).map((r) => r[0]);

describe('random', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = createRng(123);
    const b = createRng(123);
    const c = createRng(124);
    const sa = Array.from({ length: 100 }, () => a.nextUint32());
    expect(Array.from({ length: 100 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 100 }, () => c.nextUint32())).not.toEqual(sa);
    expect(Array.from(permutation(50, 9))).toEqual(Array.from(permutation(50, 9)));
  });

  it('gives uniform-looking draws and true permutations', () => {
    const rng = createRng(5);
    const counts = new Array(10).fill(0);
    const n = 100000;
    for (let i = 0; i < n; i++) counts[rng.int(10)]++;
    // Each bucket: expected 10000, sd about 95; 6 sd bound.
    for (const c of counts) expect(Math.abs(c - n / 10)).toBeLessThan(600);
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      sum += z;
      sq += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.02);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.03);
    const p = permutation(97, rng);
    expect(Array.from(p).sort((x, y) => x - y)).toEqual(Array.from({ length: 97 }, (_, i) => i));
    for (let i = 0; i < 1000; i++) {
      const u = rng.next();
      expect(u >= 0 && u < 1).toBe(true);
    }
    expect(() => createRng(1.5)).toThrow('Expected an integer for seed but received 1.5');
  });
});

describe('splitDataset', () => {
  it('gives disjoint parts covering every row, deterministic for a seed', () => {
    const ds = randomDataset(101, 3, 1);
    const s1 = splitDataset(ds, { validation: 0.2, test: 0.1, seed: 42 });
    const s2 = splitDataset(ds, { validation: 0.2, test: 0.1, seed: 42 });
    const s3 = splitDataset(ds, { validation: 0.2, test: 0.1, seed: 43 });
    expect(s1.validation!.size).toBe(20);
    expect(s1.test!.size).toBe(10);
    expect(s1.train.size).toBe(71);
    const all = [...rowIds(s1.train), ...rowIds(s1.validation!), ...rowIds(s1.test!)];
    expect(new Set(all).size).toBe(101);
    expect(all.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: 101 }, (_, i) => i));
    expect(rowIds(s2.train)).toEqual(rowIds(s1.train));
    expect(rowIds(s2.test!)).toEqual(rowIds(s1.test!));
    expect(rowIds(s3.train)).not.toEqual(rowIds(s1.train));
    // Labels travel with their rows.
    const labels = ds.y.data();
    const trainLabels = s1.train.y.data();
    rowIds(s1.train).forEach((id, i) => expect(trainLabels[i]).toBe(labels[id]));
    expect(s1.train.numClasses).toBe(3);
  });

  it('keeps order without shuffle and omits parts not asked for', () => {
    const ds = randomDataset(10, 2, 2);
    const s = splitDataset(ds, { test: 0.3, shuffle: false });
    expect(rowIds(s.train)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(rowIds(s.test!)).toEqual([7, 8, 9]);
    expect(s.validation).toBeUndefined();
  });

  it('stratifies by class', () => {
    const ds = dataset(Array.from({ length: 100 }, (_, i) => [i]), Array.from({ length: 100 }, (_, i) => (i < 80 ? 0 : 1)));
    const s = splitDataset(ds, { test: 0.25, seed: 3, stratify: true });
    const testLabels = Array.from(s.test!.y.data());
    expect(testLabels.filter((l) => l === 1).length).toBe(5);
    expect(testLabels.filter((l) => l === 0).length).toBe(20);
    expect(s.train.size).toBe(75);
  });

  it('validates fractions', () => {
    const ds = randomDataset(5, 1, 3);
    expect(() => splitDataset(ds, { validation: 0.6, test: 0.4 })).toThrow(
      'Expected fractions adding up to less than 1 for options.validation + options.test but received 1',
    );
    expect(() => splitDataset(ds, { test: -0.1 })).toThrow('Expected a number >= 0 and < 1 for options.test but received -0.1');
  });
});

describe('Standardizer', () => {
  it('fits mean and population std in float64 and gives constant columns std 1', () => {
    const rng = createRng(11);
    const n = 257;
    const f = 5;
    const rows = Array.from({ length: n }, () => [rng.normal() * 3 + 100, rng.normal() * 0.01 - 2, 7.25, rng.next() * 1e4, rng.normal()]);
    const ds = dataset(rows, new Array(n).fill(0));
    const s = fitStandardizer(ds);
    const x32 = rows.map((r) => r.map(Math.fround));
    for (let j = 0; j < f; j++) {
      const col = x32.map((r) => r[j]);
      const mean = col.reduce((a, b) => a + b, 0) / n;
      const sd = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
      expect(Math.abs(s.mean[j] - mean)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(mean)));
      if (j === 2) expect(s.std[j]).toBe(1);
      else expect(Math.abs(s.std[j] - sd) / sd).toBeLessThan(1e-10);
    }
    const t = s.transform(ds);
    const tx = t.x.toArray() as number[][];
    for (let j = 0; j < f; j++) {
      const col = tx.map((r) => r[j]);
      const mean = col.reduce((a, b) => a + b, 0) / n;
      const sd = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      if (j === 2) expect(col.every((c) => c === 0)).toBe(true);
      else expect(Math.abs(sd - 1)).toBeLessThan(1e-5);
    }
    expect(Array.from(t.y.data())).toEqual(Array.from(ds.y.data()));
  });

  it('uses training statistics only for the other splits and serialises to JSON', () => {
    const ds = randomDataset(200, 3, 4);
    const { train, test } = splitDataset(ds, { test: 0.5, seed: 9 });
    const s = fitStandardizer(train);
    const sTest = fitStandardizer(test!);
    expect(s.mean).not.toEqual(sTest.mean);
    const tTest = s.transform(test!);
    const raw = test!.x.toArray() as number[][];
    const got = tTest.x.toArray() as number[][];
    for (let i = 0; i < raw.length; i++) {
      for (let j = 0; j < 3; j++) expect(got[i][j]).toBeCloseTo((raw[i][j] - s.mean[j]) / s.std[j], 4);
    }
    const json = JSON.parse(JSON.stringify(s));
    expect(json.type).toBe('standardizer');
    const back = Standardizer.fromJSON(json);
    expect(back.mean).toEqual(s.mean);
    expect(back.std).toEqual(s.std);
    expect(back.transform(test!).x.toArray()).toEqual(got);
    expect(() => Standardizer.fromJSON({ type: 'standardizer', mean: [0], std: [0] })).toThrow('Expected a number > 0 for std[0] but received 0');
    expect(() => s.transform(dataset([[1, 2]], [0]))).toThrow('Expected a Tensor of shape [n, 3] for x but received a Tensor of shape [1, 2]');
  });
});

describe('oneHot', () => {
  it('encodes labels and rejects out-of-range ones', () => {
    expect(oneHot([2, 0, 1], 3).toArray()).toEqual([[0, 0, 1], [1, 0, 0], [0, 1, 0]]);
    expect(oneHot(tensor(Int32Array.from([1])), 2).toArray()).toEqual([[0, 1]]);
    expect(() => oneHot([0, 3], 3)).toThrow('Expected an integer in [0, 2] for labels[1] but received 3');
  });
});
