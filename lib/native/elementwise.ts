/**
 * Native elementwise, activation, softmax and loss functions (see
 * native/binding/elementwise_binding.cc and native/include/nodetrain/kernels.h).
 * `useRef` selects the scalar reference kernel instead of the fast one.
 */
import type { NativeBuffer } from './binding';
import type { NativeActivation } from './enums';

/** 0 add, 1 sub, 2 mul, 3 div (nt::BinaryOp). */
export type NativeBinaryOp = 0 | 1 | 2 | 3;
/** 0 full [rows, cols], 1 row [cols], 2 column [rows], 3 scalar [1] (nt::Broadcast). */
export type NativeBroadcast = 0 | 1 | 2 | 3;
/** An activation name (NATIVE_ACTIVATIONS; gelu is the tanh approximation). */
export type NativeAct = NativeActivation;

export interface ElementwiseBinding {
  /** out = a (op) b with b broadcast over the [rows, cols] a; out may be a or b. */
  binary(
    op: NativeBinaryOp,
    bc: NativeBroadcast,
    a: NativeBuffer,
    b: NativeBuffer,
    rows: number,
    cols: number,
    out: NativeBuffer,
    useRef: boolean,
  ): void;
  /** out = alpha * x (out may be x). */
  scale(x: NativeBuffer, alpha: number, n: number, out: NativeBuffer, useRef: boolean): void;
  /** y += alpha * x. */
  axpy(alpha: number, x: NativeBuffer, n: number, y: NativeBuffer, useRef: boolean): void;
  /** y = act(x); alpha is the leaky-ReLU slope or the ELU alpha. */
  actForward(act: NativeAct, alpha: number, x: NativeBuffer, n: number, y: NativeBuffer, useRef: boolean): void;
  /** dx = dy * act'(x), given the forward input x and output y. */
  actBackward(
    act: NativeAct,
    alpha: number,
    x: NativeBuffer,
    y: NativeBuffer,
    dy: NativeBuffer,
    n: number,
    dx: NativeBuffer,
    useRef: boolean,
  ): void;
  /** Row-wise softmax of [rows, cols]. */
  softmax(x: NativeBuffer, rows: number, cols: number, y: NativeBuffer, useRef: boolean): void;
  /** Row-wise log-softmax of [rows, cols]. */
  logSoftmax(x: NativeBuffer, rows: number, cols: number, y: NativeBuffer, useRef: boolean): void;
  /** dx = y * (dy - sum(dy * y, row)) given the softmax output y. */
  softmaxBackward(y: NativeBuffer, dy: NativeBuffer, rows: number, cols: number, dx: NativeBuffer, useRef: boolean): void;
  /**
   * Mean softmax cross-entropy of logits [rows, cols] against targets [rows, cols] (float32) or
   * labels [rows] (int32) — exactly one non-null. Writes grad_scale * d(mean loss)/d(logits) into
   * grad when given. Returns the mean loss.
   */
  softmaxXent(
    logits: NativeBuffer,
    targets: NativeBuffer | null,
    labels: NativeBuffer | null,
    rows: number,
    cols: number,
    grad: NativeBuffer | null,
    gradScale: number,
    useRef: boolean,
  ): number;
}
