/**
 * Native reduction functions (see native/binding/reduce_binding.cc and the reductions in
 * native/include/nodetrain/kernels.h). Tensors are viewed as [outer, axis, inner], row-major.
 * `useRef` selects the scalar reference kernel instead of the fast one.
 */
import type { NativeBuffer } from './binding';

/** 0 sum, 1 mean, 2 max, 3 min (nt::ReduceOp). */
export type NativeReduceOp = 0 | 1 | 2 | 3;

export interface ReduceBinding {
  /** out[o, j] = op over a of x[o, a, j]; out has outer * inner float32 elements. */
  reduce(op: NativeReduceOp, x: NativeBuffer, outer: number, axis: number, inner: number, out: NativeBuffer, useRef: boolean): void;
  /** out (int32) = index of the first maximum (or first NaN) along the axis. */
  argmax(x: NativeBuffer, outer: number, axis: number, inner: number, out: NativeBuffer, useRef: boolean): void;
  /** sum of x[i]^2 over the first n elements, accumulated in double. */
  sumSquares(x: NativeBuffer, n: number, useRef: boolean): number;
  /** sum of x[i] * y[i] over the first n elements, accumulated in double. */
  dot(x: NativeBuffer, y: NativeBuffer, n: number, useRef: boolean): number;
  /** out[j] = (accumulate ? out[j] : 0) + sum_i x[i * ldx + j] for a rows x cols matrix. */
  colSum(x: NativeBuffer, rows: number, cols: number, ldx: number, out: NativeBuffer, accumulate: boolean, useRef: boolean): void;
}
