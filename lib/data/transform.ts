/**
 * Dataset transforms: train/validation/test splits, per-feature standardisation and one-hot
 * encoding. Statistics are computed in float64 so that large datasets do not lose precision.
 */
import { Tensor, checkTensor, tensor } from '../tensor/tensor';
import * as v from '../validate';
import { Dataset } from './dataset';
import { createRng, shuffleInPlace } from './random';

export interface SplitOptions {
  /** Fraction of the rows for validation, in [0, 1). */
  validation?: number;
  /** Fraction of the rows for test, in [0, 1). */
  test?: number;
  /** Seed of the shuffle (default 0); the same seed always gives the same split. */
  seed?: number;
  /** Shuffle before splitting (default true); false keeps the row order (train first, test last). */
  shuffle?: boolean;
  /**
   * Keep the class proportions in every part (classification datasets only; default false).
   * Each class is shuffled and divided separately.
   */
  stratify?: boolean;
}

export interface Split {
  train: Dataset;
  validation?: Dataset;
  test?: Dataset;
}

/**
 * Splits a dataset into disjoint train / validation / test parts (copies). Part sizes are
 * round(n * fraction) for validation and test; train gets the rest.
 * @throws RangeError for fractions outside [0, 1) or adding up to 1 or more, or stratify without labels.
 * @example const { train, validation } = splitDataset(ds, { validation: 0.2, seed: 1 });
 */
export function splitDataset(ds: Dataset, opts: SplitOptions = {}): Split {
  if (!(ds instanceof Dataset)) throw v.typeError('a Dataset', 'dataset', ds);
  v.plainObject('options', opts);
  v.knownKeys('options', opts as Record<string, unknown>, ['validation', 'test', 'seed', 'shuffle', 'stratify']);
  const valFrac = v.optional(opts.validation, 0, (x) => v.finiteNumber('options.validation', x, { min: 0, max: 1, maxExclusive: true }));
  const testFrac = v.optional(opts.test, 0, (x) => v.finiteNumber('options.test', x, { min: 0, max: 1, maxExclusive: true }));
  if (valFrac + testFrac >= 1) throw v.rangeError('fractions adding up to less than 1', 'options.validation + options.test', valFrac + testFrac);
  const seed = v.optional(opts.seed, 0, (x) => v.integer('options.seed', x, Number.MIN_SAFE_INTEGER));
  const shuffle = v.optional(opts.shuffle, true, (x) => v.boolean('options.shuffle', x));
  const stratify = v.optional(opts.stratify, false, (x) => v.boolean('options.stratify', x));

  const n = ds.size;
  const rng = createRng(seed);
  let groups: Int32Array[];
  if (stratify) {
    if (ds.y.dtype !== 'int32') throw v.rangeError('a dataset with int32 class labels (for options.stratify)', 'dataset', ds);
    const labels = ds.y.data();
    const k = ds.numClasses ?? 0;
    const counts = new Int32Array(k);
    for (let i = 0; i < n; i++) counts[labels[i]]++;
    groups = Array.from(counts, (c) => new Int32Array(c));
    const fill = new Int32Array(k);
    for (let i = 0; i < n; i++) groups[labels[i]][fill[labels[i]]++] = i;
  } else {
    const all = new Int32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    groups = [all];
  }
  const train: number[] = [];
  const val: number[] = [];
  const test: number[] = [];
  for (const g of groups) {
    if (shuffle) shuffleInPlace(g, rng);
    const nTest = Math.round(g.length * testFrac);
    const nVal = Math.round(g.length * valFrac);
    const nTrain = Math.max(0, g.length - nTest - nVal);
    for (let i = 0; i < g.length; i++) {
      if (i < nTrain) train.push(g[i]);
      else if (i < nTrain + nVal) val.push(g[i]);
      else test.push(g[i]);
    }
  }
  if (stratify && shuffle) {
    // Interleave the classes again so that the train part is not ordered by class.
    shuffleInPlace(train, rng);
    shuffleInPlace(val, rng);
    shuffleInPlace(test, rng);
  }
  const out: Split = { train: ds.subset(train) };
  if (opts.validation !== undefined) out.validation = ds.subset(val);
  if (opts.test !== undefined) out.test = ds.subset(test);
  return out;
}

/** JSON form of a fitted Standardizer (what a saved model stores). */
export interface StandardizerJSON {
  type: 'standardizer';
  mean: number[];
  std: number[];
}

/**
 * Per-feature standardisation (x - mean) / std. Fit it on the training split only, then apply the
 * same statistics to validation, test and inference data.
 */
export class Standardizer {
  readonly mean: readonly number[];
  /** Population standard deviation (ddof 0); 1 for constant columns. */
  readonly std: readonly number[];

  /**
   * @throws RangeError when mean and std differ in length or a std is not > 0.
   */
  constructor(mean: readonly number[], std: readonly number[]) {
    if (!Array.isArray(mean)) throw v.typeError('an array of numbers', 'mean', mean);
    if (!Array.isArray(std)) throw v.typeError('an array of numbers', 'std', std);
    if (std.length !== mean.length) throw v.rangeError(`an array of ${mean.length} numbers`, 'std', std);
    mean.forEach((m, i) => v.finiteNumber(`mean[${i}]`, m));
    std.forEach((s, i) => v.finiteNumber(`std[${i}]`, s, { min: 0, minExclusive: true }));
    this.mean = Object.freeze([...mean]);
    this.std = Object.freeze([...std]);
  }

  get numFeatures(): number {
    return this.mean.length;
  }

  /**
   * Standardises a float32 [n, features] tensor into a new tensor.
   * @throws TypeError / RangeError when x is not a float32 [n, features] Tensor.
   */
  transformTensor(x: Tensor): Tensor {
    checkTensor('x', x, { dtype: 'float32', rank: 2 });
    const f = this.mean.length;
    if (x.shape[1] !== f) throw v.rangeError(`a Tensor of shape [n, ${f}]`, 'x', x);
    const d = x.data() as Float32Array;
    const out = new Float32Array(d.length);
    const mean = Float64Array.from(this.mean);
    const inv = Float64Array.from(this.std, (s) => 1 / s);
    for (let o = 0; o < d.length; ) {
      for (let j = 0; j < f; j++, o++) out[o] = (d[o] - mean[j]) * inv[j];
    }
    return tensor(out, x.shape, 'float32');
  }

  /**
   * A new Dataset with standardised features (targets copied).
   * @throws RangeError when the dataset has another number of features.
   * @example const s = fitStandardizer(train); const testStd = s.transform(test);
   */
  transform(ds: Dataset): Dataset {
    if (!(ds instanceof Dataset)) throw v.typeError('a Dataset', 'dataset', ds);
    const x = this.transformTensor(ds.x);
    return new Dataset(x, ds.y.clone(), ds.meta());
  }

  /** Maps standardised values of one row back to the original scale. */
  inverseRow(row: ArrayLike<number>): number[] {
    return Array.from(row, (val, j) => val * this.std[j] + this.mean[j]);
  }

  toJSON(): StandardizerJSON {
    return { type: 'standardizer', mean: [...this.mean], std: [...this.std] };
  }

  /**
   * Restores a Standardizer from toJSON() output.
   * @throws TypeError / RangeError for anything that is not a valid StandardizerJSON.
   */
  static fromJSON(json: unknown): Standardizer {
    const o = v.plainObject('json', json);
    if (o.type !== 'standardizer') throw v.rangeError("an object with type 'standardizer'", 'json.type', o.type);
    return new Standardizer(o.mean as number[], o.std as number[]);
  }
}

/**
 * Fits per-feature mean and standard deviation (two-pass, float64). Constant columns get std 1 so
 * that they map to 0 instead of dividing by zero.
 * @param data a Dataset (its x) or a float32 [n, features] Tensor
 * @throws RangeError when there are no rows.
 * @example const s = fitStandardizer(split.train); const train = s.transform(split.train);
 */
export function fitStandardizer(data: Dataset | Tensor): Standardizer {
  const x = data instanceof Dataset ? data.x : checkTensor('data', data, { dtype: 'float32', rank: 2 });
  const [n, f] = x.shape;
  if (n === 0) throw v.rangeError('at least one row', 'data', x);
  const d = x.data();
  const mean = new Float64Array(f);
  for (let o = 0; o < d.length; ) for (let j = 0; j < f; j++) mean[j] += d[o++];
  for (let j = 0; j < f; j++) mean[j] /= n;
  const ss = new Float64Array(f);
  for (let o = 0; o < d.length; ) {
    for (let j = 0; j < f; j++) {
      const c = d[o++] - mean[j];
      ss[j] += c * c;
    }
  }
  const std = Array.from(ss, (s, j) => {
    const sd = Math.sqrt(s / n);
    // A constant column leaves only summation rounding (relative ~n * 2^-53) in sd: treat as 0.
    return sd <= 1e-10 * Math.abs(mean[j]) || sd === 0 ? 1 : sd;
  });
  return new Standardizer(Array.from(mean), std);
}

/**
 * One-hot encodes class labels into a float32 [n, numClasses] tensor.
 * @throws RangeError when a label is not an integer in [0, numClasses).
 * @example oneHot([2, 0], 3) // [[0, 0, 1], [1, 0, 0]]
 */
export function oneHot(labels: Tensor | Int32Array | readonly number[], numClasses: number): Tensor {
  v.integer('numClasses', numClasses, 1, 2 ** 31 - 1);
  let l: ArrayLike<number>;
  if (labels instanceof Tensor) {
    checkTensor('labels', labels, { dtype: 'int32', rank: 1 });
    l = labels.data();
  } else if (v.isTypedArrayOf(labels, 'Int32Array') || Array.isArray(labels)) {
    l = labels as ArrayLike<number>;
  } else {
    throw v.typeError('an int32 Tensor, an Int32Array or a number array', 'labels', labels);
  }
  const out = new Float32Array(l.length * numClasses);
  for (let i = 0; i < l.length; i++) {
    const c = l[i];
    if (typeof c !== 'number') throw v.typeError('an integer', `labels[${i}]`, c);
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw v.rangeError(`an integer in [0, ${numClasses - 1}]`, `labels[${i}]`, c);
    out[i * numClasses + c] = 1;
  }
  return tensor(out, [l.length, numClasses], 'float32');
}
