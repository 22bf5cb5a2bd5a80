import { loadDigits, DIGITS_AVAILABLE } from '../../lib';

describe('loadDigits', () => {
  it('returns 9000 / 1000 images by default with pixels in [0, 1] and labels 0-9', () => {
    const t0 = Date.now();
    const { train, test } = loadDigits();
    const firstLoadMs = Date.now() - t0;
    expect(firstLoadMs).toBeLessThan(2000);
    expect(DIGITS_AVAILABLE).toBe(10000);
    expect(train.x.shape).toEqual([9000, 784]);
    expect(test.x.shape).toEqual([1000, 784]);
    expect(train.y.dtype).toBe('int32');
    expect(train.numClasses).toBe(10);
    expect(train.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const x = train.x.data();
    let min = Infinity;
    let max = -Infinity;
    for (const p of x) {
      if (p < min) min = p;
      if (p > max) max = p;
    }
    expect(min).toBe(0);
    expect(max).toBeLessThanOrEqual(1);
    expect(max).toBeGreaterThan(0.9);
    const counts = new Array(10).fill(0);
    for (const l of test.y.data()) counts[l]++;
    // Every class appears in a shuffled 1000-image test set, none dominates.
    for (const c of counts) expect(c).toBeGreaterThan(50);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1000);
  });

  it('is deterministic for a seed, disjoint, and keeps the test set when trainSize changes', () => {
    const a = loadDigits({ trainSize: 500, testSize: 200, seed: 3 });
    const b = loadDigits({ trainSize: 500, testSize: 200, seed: 3 });
    const c = loadDigits({ trainSize: 100, testSize: 200, seed: 3 });
    const d = loadDigits({ trainSize: 500, testSize: 200, seed: 4 });
    expect(Array.from(a.train.y.data())).toEqual(Array.from(b.train.y.data()));
    expect(Buffer.from(a.train.x.data().buffer).equals(Buffer.from(b.train.x.data().buffer))).toBe(true);
    expect(Buffer.from(a.test.x.data().buffer).equals(Buffer.from(c.test.x.data().buffer))).toBe(true);
    expect(Buffer.from(a.test.x.data().buffer).equals(Buffer.from(d.test.x.data().buffer))).toBe(false);
    // No image appears in both train and test (images are distinct enough to key by content).
    const key = (x: Float32Array | Int32Array, i: number) => Buffer.from(x.buffer, i * 784 * 4, 784 * 4).toString('base64');
    const tx = a.test.x.data();
    const testKeys = new Set(Array.from({ length: 200 }, (_, i) => key(tx, i)));
    const trx = a.train.x.data();
    let shared = 0;
    for (let i = 0; i < 500; i++) if (testKeys.has(key(trx, i))) shared++;
    expect(shared).toBe(0);
    expect(() => loadDigits({ trainSize: 9500, testSize: 1000 })).toThrow(
      'Expected at most 10000 images in all (the bundled set) for options.trainSize + options.testSize but received 10500',
    );
  });
});
