/**
 * Dataset: features x (float32 [n, features]) and targets y (float32 [n, k] for regression or
 * one-hot targets, int32 [n] for class labels) held in native memory, so training batches are
 * gathered natively instead of being copied from JavaScript each step.
 */
import { ArgumentRangeError } from '../errors';
import { checkTensor, NestedArray, Tensor, tensor } from '../tensor/tensor';
import * as v from '../validate';

/** What kind of targets a Dataset holds. */
export type TargetKind = 'labels' | 'values';

export interface DatasetOptions {
  /** One name per feature column. */
  featureNames?: readonly string[];
  /** One name per class (class id = index); implies numClasses. */
  classNames?: readonly string[];
  /** Number of classes; defaults to classNames.length or max label + 1 for integer labels. */
  numClasses?: number;
  /**
   * 'classification' (default for 1-D number arrays and int32 input: y holds class ids) or
   * 'regression' (y holds real values; 1-D input becomes [n, 1]).
   */
  task?: 'classification' | 'regression';
  /** Shape [n, features] of a flat Float32Array / Float64Array x (n is taken from y when omitted). */
  xShape?: readonly number[];
  /** Shape [n, k] of a flat Float32Array / Float64Array y. */
  yShape?: readonly number[];
}

/** Flat or nested numeric input accepted by dataset(). */
export type DataInput = Tensor | NestedArray | Float32Array | Float64Array | Int32Array;

const OPTION_KEYS = ['featureNames', 'classNames', 'numClasses', 'task', 'xShape', 'yShape'] as const;

/** Features and targets in native memory, with optional metadata. */
export class Dataset {
  /** Features, float32 [n, features]. */
  readonly x: Tensor;
  /** Targets: int32 [n] class labels or float32 [n, k] values / one-hot rows. */
  readonly y: Tensor;
  readonly featureNames?: readonly string[];
  readonly classNames?: readonly string[];
  /** Set for classification data (int32 labels or one-hot rows). */
  readonly numClasses?: number;

  /** @internal Use dataset() (validates) instead. */
  constructor(x: Tensor, y: Tensor, meta: { featureNames?: readonly string[]; classNames?: readonly string[]; numClasses?: number } = {}) {
    this.x = x;
    this.y = y;
    if (meta.featureNames) this.featureNames = Object.freeze([...meta.featureNames]);
    if (meta.classNames) this.classNames = Object.freeze([...meta.classNames]);
    if (meta.numClasses !== undefined) this.numClasses = meta.numClasses;
  }

  /** Number of samples (rows). */
  get size(): number {
    return this.x.shape[0];
  }

  /** Number of feature columns. */
  get numFeatures(): number {
    return this.x.shape[1];
  }

  /** 'labels' for int32 class ids, 'values' for float32 targets. */
  get targetKind(): TargetKind {
    return this.y.dtype === 'int32' ? 'labels' : 'values';
  }

  /** Metadata to carry over to a derived dataset. @internal */
  meta(): { featureNames?: readonly string[]; classNames?: readonly string[]; numClasses?: number } {
    return { featureNames: this.featureNames, classNames: this.classNames, numClasses: this.numClasses };
  }

  /**
   * A new Dataset with the given rows, in the given order (copies).
   * @throws RangeError when an index is not an integer in [0, size).
   * @example const firstTen = ds.subset([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
   */
  subset(indices: ArrayLike<number>): Dataset {
    const n = this.size;
    for (let i = 0; i < indices.length; i++) {
      const r = indices[i];
      if (!Number.isInteger(r) || r < 0 || r >= n) throw v.rangeError(`an integer in [0, ${n - 1}]`, `indices[${i}]`, r);
    }
    const x = gatherRows(this.x, indices);
    const y = gatherRows(this.y, indices);
    return new Dataset(x, y, this.meta());
  }

  /** Rows [start, end) as a new Dataset (copies). */
  slice(start: number, end: number = this.size): Dataset {
    v.integer('start', start, 0, this.size);
    v.integer('end', end, start, this.size);
    const idx = new Int32Array(end - start);
    for (let i = 0; i < idx.length; i++) idx[i] = start + i;
    return this.subset(idx);
  }

  /** Frees the native memory of x and y. */
  dispose(): void {
    this.x.dispose();
    this.y.dispose();
  }

  toString(): string {
    return `Dataset(${this.size} samples, ${this.numFeatures} features, y ${this.y.dtype} [${this.y.shape.join(', ')}])`;
  }
}

/** Copies rows of a rank-1 or rank-2 tensor into a new tensor. @internal */
export function gatherRows(t: Tensor, indices: ArrayLike<number>): Tensor {
  const src = t.data();
  const cols = t.rank === 1 ? 1 : t.shape[1];
  const out = t.dtype === 'int32' ? new Int32Array(indices.length * cols) : new Float32Array(indices.length * cols);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i];
    if (cols === 1) out[i] = src[r];
    else out.set(src.subarray(r * cols, r * cols + cols), i * cols);
  }
  return tensor(out, t.rank === 1 ? [indices.length] : [indices.length, cols], t.dtype);
}

/** Row/column-naming finiteness check of a row-major [rows, cols] block. */
function checkFinite(name: string, data: ArrayLike<number>, cols: number, rank: number): void {
  for (let i = 0; i < data.length; i++) {
    const val = data[i];
    if (!Number.isFinite(val)) {
      const at = rank === 1 ? `${name}[${i}]` : `${name}[${Math.floor(i / cols)}][${i % cols}]`;
      if (typeof val !== 'number') throw v.typeError('a number', at, val);
      throw v.rangeError('a finite number', at, val);
    }
  }
}

/** Flattens a nested number array of rank 1 or 2, naming the row and column of the first problem. */
function flattenNested(name: string, values: unknown[], rank2: boolean): { data: Float64Array; rows: number; cols: number } {
  const rows = values.length;
  if (!rank2) {
    const data = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      const val = values[i];
      if (typeof val !== 'number') throw v.typeError('a number', `${name}[${i}]`, val);
      if (!Number.isFinite(val)) throw v.rangeError('a finite number', `${name}[${i}]`, val);
      data[i] = val;
    }
    return { data, rows, cols: 1 };
  }
  const first = values[0];
  if (!Array.isArray(first)) throw v.typeError('an array of numbers (one row)', `${name}[0]`, first);
  const cols = first.length;
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const row = values[i];
    if (!Array.isArray(row)) throw v.typeError('an array of numbers (one row)', `${name}[${i}]`, row);
    if (row.length !== cols) throw v.rangeError(`a row of ${cols} numbers (rows must all have the same length)`, `${name}[${i}]`, row);
    for (let j = 0; j < cols; j++) {
      const val = row[j];
      if (typeof val !== 'number') throw v.typeError('a number', `${name}[${i}][${j}]`, val);
      if (!Number.isFinite(val)) throw v.rangeError('a finite number', `${name}[${i}][${j}]`, val);
      data[i * cols + j] = val;
    }
  }
  return { data, rows, cols };
}

function checkLabels(name: string, labels: ArrayLike<number>, numClasses?: number): number {
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0) {
      if (typeof l !== 'number') throw v.typeError('an integer >= 0 (a class label)', `${name}[${i}]`, l);
      throw v.rangeError("an integer >= 0 (a class label; pass {task: 'regression'} for real-valued targets)", `${name}[${i}]`, l);
    }
    if (l > 2 ** 31 - 1) throw v.rangeError('an integer < 2^31 (a class label)', `${name}[${i}]`, l);
    if (numClasses !== undefined && l >= numClasses) throw v.rangeError(`a class label in [0, ${numClasses - 1}]`, `${name}[${i}]`, l);
    if (l > max) max = l;
  }
  return max;
}

function checkNames(name: string, names: unknown, expected?: number): readonly string[] {
  if (!Array.isArray(names)) throw v.typeError('an array of strings', name, names);
  names.forEach((s, i) => v.string(`${name}[${i}]`, s));
  if (expected !== undefined && names.length !== expected) throw v.rangeError(`an array of ${expected} names`, name, names);
  return names as string[];
}

/**
 * Creates a Dataset from features and targets, validating every value.
 *
 * x: nested arrays [n][features], a Float32Array / Float64Array (with opts.xShape, or n taken from
 * y), or a float32 Tensor [n, features]. y: class labels (a 1-D number array, Int32Array or int32
 * Tensor [n]; integers >= 0) or real values / one-hot rows (nested arrays [n][k], a float array
 * with opts.yShape, a float32 Tensor [n, k]; 1-D float input becomes [n, 1]; a 1-D number array
 * counts as values with task 'regression'). Tensors are used as they are (not copied): the
 * Dataset's dispose() frees them.
 *
 * @throws TypeError for values of the wrong type; RangeError naming the row and column of a
 *   non-finite value, a ragged row, a label that is not an integer >= 0, or mismatched row counts.
 * @example const ds = dataset([[0, 1], [1, 0]], [1, 0], { classNames: ['no', 'yes'] });
 */
export function dataset(x: DataInput, y: DataInput, opts: DatasetOptions = {}): Dataset {
  v.liveView('x', x);
  v.liveView('y', y);
  v.plainObject('options', opts);
  v.knownKeys('options', opts as Record<string, unknown>, OPTION_KEYS);
  const task = v.optional(opts.task, undefined, (t) => v.oneOf('options.task', t, ['classification', 'regression'] as const));

  // ---- targets first: their row count resolves a flat x without a shape.
  let yTensor: Tensor;
  let labels = false;
  let yOwned = true;
  if (y instanceof Tensor) {
    checkTensor('y', y);
    if (y.dtype === 'int32') {
      if (y.rank !== 1) throw v.rangeError('an int32 Tensor of rank 1 (class labels)', 'y', y);
      if (task === 'regression') throw v.typeError("a float32 Tensor (options.task is 'regression')", 'y', v.described('an int32 Tensor'));
      labels = true;
    } else if (y.rank !== 1 && y.rank !== 2) {
      throw v.rangeError('a Tensor of rank 1 or 2', 'y', y);
    }
    yTensor = y;
    yOwned = false;
  } else if (v.isTypedArrayOf(y, 'Int32Array')) {
    if (task === 'regression') throw v.typeError("a float array (options.task is 'regression')", 'y', y);
    labels = true;
    yTensor = tensor(y, [y.length], 'int32');
  } else if (v.isTypedArrayOf(y, 'Float32Array') || v.isTypedArrayOf(y, 'Float64Array')) {
    const shape = opts.yShape ?? [y.length, 1];
    if (shape.length !== 2) throw v.rangeError('a shape [n, k]', 'options.yShape', v.described(`[${shape.join(', ')}]`));
    checkFinite('y', y, shape[1], 2);
    yTensor = tensor(y, shape, 'float32');
  } else if (Array.isArray(y)) {
    const rank2 = y.length > 0 && Array.isArray(y[0]);
    const { data, rows, cols } = flattenNested('y', y, rank2);
    if (!rank2 && task !== 'regression') {
      labels = true;
      checkLabels('y', data); // before the int32 conversion truncates fractions
      yTensor = tensor(Int32Array.from(data), [rows], 'int32');
    } else {
      yTensor = tensor(data, [rows, cols], 'float32');
    }
  } else {
    throw v.typeError('a Tensor, a number array, an Int32Array or a Float32Array', 'y', y);
  }

  let xCreated: Tensor | undefined; // freed here on failure; a caller's Tensor is left alone
  try {
    const n = yTensor.shape[0];
    if (!yOwned && yTensor.dtype === 'float32') checkFinite('y', yTensor.data(), yTensor.rank === 1 ? 1 : yTensor.shape[1], yTensor.rank);
    if (yTensor.rank === 1 && yTensor.dtype === 'float32') {
      // A 1-D float tensor holds one real target per row.
      const r = yTensor.reshape([n, 1]);
      yTensor = r;
    }

    // ---- features
    let xTensor: Tensor;
    if (x instanceof Tensor) {
      checkTensor('x', x, { dtype: 'float32', rank: 2 });
      checkFinite('x', x.data(), x.shape[1], 2);
      xTensor = x;
    } else if (v.isTypedArrayOf(x, 'Float32Array') || v.isTypedArrayOf(x, 'Float64Array')) {
      let shape = opts.xShape;
      if (shape === undefined) {
        if (n === 0 ? x.length !== 0 : x.length % n !== 0) {
          throw v.rangeError(`a length divisible by the ${n} rows of y (or options.xShape)`, 'x', x);
        }
        shape = [n, n === 0 ? 0 : x.length / n];
      }
      if (shape.length !== 2) throw v.rangeError('a shape [n, features]', 'options.xShape', v.described(`[${shape.join(', ')}]`));
      const t = tensor(x, shape, 'float32'); // validates shape against length
      try {
        checkFinite('x', x, shape[1], 2);
      } catch (e) {
        t.dispose();
        throw e;
      }
      xTensor = xCreated = t;
    } else if (Array.isArray(x)) {
      if (x.length > 0 && !Array.isArray(x[0])) throw v.typeError('an array of rows (number arrays)', 'x', x);
      const { data, rows, cols } = flattenNested('x', x, true);
      xTensor = xCreated = tensor(data, [rows, x.length === 0 ? 0 : cols], 'float32');
    } else {
      throw v.typeError('a Tensor, an array of rows or a Float32Array', 'x', x);
    }

    if (xTensor.shape[0] !== n) {
      throw new ArgumentRangeError(`Expected ${xTensor.shape[0]} rows (as many as x) for y but received ${n} rows`);
    }

    // ---- metadata
    const featureNames = opts.featureNames === undefined ? undefined : checkNames('options.featureNames', opts.featureNames, xTensor.shape[1]);
    let classNames: readonly string[] | undefined;
    let numClasses: number | undefined;
    if (opts.classNames !== undefined) classNames = checkNames('options.classNames', opts.classNames);
    if (opts.numClasses !== undefined) numClasses = v.integer('options.numClasses', opts.numClasses, 1, 2 ** 31 - 1);
    if (classNames && numClasses !== undefined && classNames.length !== numClasses) {
      throw v.rangeError(`an array of ${numClasses} names (options.numClasses)`, 'options.classNames', classNames);
    }
    numClasses ??= classNames?.length;
    if (labels) {
      const max = checkLabels('y', yTensor.data(), numClasses);
      numClasses ??= max + 1;
    } else if (numClasses !== undefined && yTensor.shape[1] !== numClasses) {
      throw v.rangeError(`one-hot targets with ${numClasses} columns`, 'y', yTensor);
    }
    return new Dataset(xTensor, yTensor, { featureNames, classNames, numClasses });
  } catch (e) {
    if (yOwned || yTensor !== y) yTensor.dispose();
    xCreated?.dispose();
    throw e;
  }
}
