/**
 * Reductions: sum, mean, max, min, argmax over one axis or the whole tensor, and the whole-array
 * sumSquares / dot (accumulated in double) and columnSums. Every argument is validated here before
 * the native kernels (native/kernels/reduce.cc) run.
 */
import { callNative } from '../errors';
import { binding } from '../native';
import type { NativeReduceOp } from '../native/reduce';
import * as v from '../validate';
import { bufferOf, checkTensor, empty, shapeSize, Tensor } from './tensor';

/** Options of sum / mean / max / min / argmax. */
export interface ReduceOptions {
  /** Keep the reduced axis (or every axis, for a whole-tensor reduction) as a dimension of size 1. Default false. */
  keepDims?: boolean;
}

interface Plan {
  outer: number;
  axis: number;
  inner: number;
  shape: number[];
}

/** Validates x, axis and options and views x as [outer, axis, inner]. */
function plan(x: unknown, axis: unknown, options: unknown): { t: Tensor; p: Plan } {
  const t = checkTensor('x', x, { dtype: 'float32' });
  let keepDims = false;
  if (options !== undefined) {
    const o = v.plainObject('options', options);
    v.knownKeys('options', o, ['keepDims']);
    keepDims = v.optional(o.keepDims, false, (b) => v.boolean('options.keepDims', b));
  }
  const rank = t.rank;
  if (axis === undefined) {
    return { t, p: { outer: 1, axis: t.size, inner: 1, shape: keepDims ? t.shape.map(() => 1) : [] } };
  }
  if (typeof axis !== 'number') throw v.typeError('an integer', 'axis', axis);
  if (rank === 0) throw v.rangeError('no axis (x is a scalar Tensor)', 'axis', axis);
  const a = v.integer('axis', axis, -rank, rank - 1);
  const ax = a < 0 ? a + rank : a;
  const outer = shapeSize(t.shape.slice(0, ax));
  const inner = shapeSize(t.shape.slice(ax + 1));
  const shape = keepDims ? t.shape.map((d, i) => (i === ax ? 1 : d)) : t.shape.filter((_, i) => i !== ax);
  return { t, p: { outer, axis: t.shape[ax], inner, shape } };
}

function nonEmpty(t: Tensor, p: Plan): void {
  if (p.axis === 0 && p.outer * p.inner > 0) {
    throw v.rangeError('a Tensor with a non-empty reduction axis', 'x', t);
  }
}

function reduceOp(op: NativeReduceOp, x: unknown, axis: unknown, options: unknown): Tensor {
  const { t, p } = plan(x, axis, options);
  if (op >= 2) nonEmpty(t, p);
  const out = empty(p.shape);
  callNative(() => binding().reduce(op, bufferOf(t, 'x'), p.outer, p.axis, p.inner, bufferOf(out, 'out'), false));
  return out;
}

/**
 * Sum of the elements along one axis, or of all of them.
 * @param x a float32 Tensor
 * @param axis the axis to reduce (negative counts from the end: -1 is the last); omitted: all elements
 * @returns a float32 Tensor without the reduced axis (shape [] for a whole-tensor sum)
 * @throws TypeError when x is not a float32 Tensor or axis is not a number; RangeError when axis is
 *   not an integer in [-rank, rank - 1]; NodetrainError ERR_NT_DISPOSED when x was disposed.
 * @example sum(tensor([[1, 2], [3, 4]]), 0).toArray(); // [4, 6]
 */
export function sum(x: Tensor, axis?: number, options?: ReduceOptions): Tensor {
  return reduceOp(0, x, axis, options);
}

/**
 * Mean of the elements along one axis, or of all of them (NaN over an empty axis).
 * @throws TypeError / RangeError as for sum.
 * @example mean(tensor([[1, 2], [3, 4]]), -1).toArray(); // [1.5, 3.5]
 */
export function mean(x: Tensor, axis?: number, options?: ReduceOptions): Tensor {
  return reduceOp(1, x, axis, options);
}

/**
 * Maximum along one axis, or over all elements. NaN propagates.
 * @throws TypeError / RangeError as for sum; RangeError when the reduced axis is empty.
 * @example max(tensor([[1, 5], [3, 4]]), 1).toArray(); // [5, 4]
 */
export function max(x: Tensor, axis?: number, options?: ReduceOptions): Tensor {
  return reduceOp(2, x, axis, options);
}

/**
 * Minimum along one axis, or over all elements. NaN propagates.
 * @throws TypeError / RangeError as for sum; RangeError when the reduced axis is empty.
 * @example min(tensor([[1, 5], [3, 4]]), 0).toArray(); // [1, 4]
 */
export function min(x: Tensor, axis?: number, options?: ReduceOptions): Tensor {
  return reduceOp(3, x, axis, options);
}

/**
 * Index of the maximum along one axis (first occurrence on ties, first NaN if any), or the flat
 * index of the maximum of all elements.
 * @returns an int32 Tensor
 * @throws TypeError / RangeError as for sum; RangeError when the reduced axis is empty.
 * @example argmax(tensor([[1, 5], [3, 2]]), 1).toArray(); // [1, 0]
 */
export function argmax(x: Tensor, axis?: number, options?: ReduceOptions): Tensor {
  const { t, p } = plan(x, axis, options);
  nonEmpty(t, p);
  if (p.axis > 2 ** 31 - 1) throw v.rangeError('a reduction axis of at most 2147483647 elements', 'x', t);
  const out = empty(p.shape, 'int32');
  callNative(() => binding().argmax(bufferOf(t, 'x'), p.outer, p.axis, p.inner, bufferOf(out, 'out'), false));
  return out;
}

/**
 * Sum of squares of all elements, accumulated in double precision.
 * @throws TypeError when x is not a float32 Tensor; NodetrainError ERR_NT_DISPOSED when disposed.
 * @example sumSquares(tensor([3, 4])); // 25
 */
export function sumSquares(x: Tensor): number {
  const t = checkTensor('x', x, { dtype: 'float32' });
  return callNative(() => binding().sumSquares(bufferOf(t, 'x'), t.size, false));
}

/**
 * Inner product of two tensors of the same shape (all elements), accumulated in double precision.
 * @throws TypeError when x or y is not a float32 Tensor; RangeError when the shapes differ.
 * @example dot(tensor([1, 2, 3]), tensor([4, 5, 6])); // 32
 */
export function dot(x: Tensor, y: Tensor): number {
  const a = checkTensor('x', x, { dtype: 'float32' });
  const b = checkTensor('y', y, { dtype: 'float32' });
  if (!sameShape(a.shape, b.shape)) throw v.rangeError(`a Tensor of shape [${a.shape.join(', ')}]`, 'y', b);
  return callNative(() => binding().dot(bufferOf(a, 'x'), bufferOf(b, 'y'), a.size, false));
}

/**
 * Column sums of a 2-D tensor: out[j] = sum_i x[i, j] (the gradient of a bias added to each row).
 * @returns a float32 Tensor of shape [cols]
 * @throws TypeError when x is not a float32 Tensor; RangeError when x is not 2-D.
 * @example columnSums(tensor([[1, 2], [3, 4]])).toArray(); // [4, 6]
 */
export function columnSums(x: Tensor): Tensor {
  const t = checkTensor('x', x, { dtype: 'float32', rank: 2 });
  const [rows, cols] = t.shape;
  const out = empty([cols]);
  callNative(() => binding().colSum(bufferOf(t, 'x'), rows, cols, cols, bufferOf(out, 'out'), false, false));
  return out;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
