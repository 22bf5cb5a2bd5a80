/**
 * Coercion of training and inference inputs: Tensors, nested arrays and typed arrays become
 * float32 (or, for sparse labels, int32) Tensors of the shape a model expects, checked finite.
 * Tensors made here are owned by the caller, who disposes of them.
 */
import { Tensor, bufferOf, tensor } from '../tensor/tensor';
import * as v from '../validate';
import { Dataset } from './dataset';

/** Model inputs: a float32 Tensor [n, features], nested arrays, or a flat Float32Array. */
export type XInput = Tensor | number[][] | Float32Array;
/** Targets: a Tensor, nested or flat arrays (class labels for sparse losses), or typed arrays. */
export type YInput = Tensor | number[][] | number[] | Float32Array | Int32Array;

/** What the coercion checks against: the model's widths and, for targets, its loss. */
export interface DataSpec {
  inputWidth: number;
  outputWidth: number;
  /** The loss name (for messages) and whether it takes integer class labels. */
  loss: { name: string; sparse: boolean };
}

const verified = new WeakSet<Tensor>();

function checkFiniteTensor(t: Tensor, name: string): void {
  if (t.dtype !== 'float32' || verified.has(t)) return;
  const d = t.data();
  const cols = t.rank === 2 ? t.shape[1] : 1;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      const at = t.rank === 2 ? `${name}[${Math.floor(i / cols)}][${i % cols}]` : `${name}[${i}]`;
      throw v.rangeError('a finite number', at, d[i]);
    }
  }
  verified.add(t);
}

/** Model inputs as a float32 Tensor [n, inputWidth]. */
export function toX(name: string, x: unknown, inputWidth: number): { t: Tensor; owned: boolean } {
  v.liveView(name, x);
  let t: Tensor;
  let owned = false;
  if (x instanceof Tensor) {
    bufferOf(x, name);
    t = x;
  } else if (Array.isArray(x) || v.isTypedArrayOf(x, 'Float32Array')) {
    t = v.isTypedArrayOf(x, 'Float32Array') ? tensor(x, [x.length / inputWidth, inputWidth]) : tensor(x as number[][]);
    owned = true;
  } else {
    throw v.typeError('a Tensor, a nested number array or a Float32Array', name, x);
  }
  if (t.dtype !== 'float32' || t.rank !== 2 || t.shape[1] !== inputWidth) {
    const err = v.rangeError(`a float32 Tensor of shape [n, ${inputWidth}]`, name, t);
    if (owned) t.dispose();
    throw err;
  }
  checkFiniteTensor(t, name);
  return { t, owned };
}

/** Targets for `rows` samples: int32 class labels [rows] for a sparse loss, else float32 [rows, outputWidth]. */
export function toY(name: string, y: unknown, rows: number, spec: DataSpec): { t: Tensor; owned: boolean } {
  v.liveView(name, y);
  const { loss, outputWidth } = spec;
  let t: Tensor;
  let owned = false;
  if (y instanceof Tensor) {
    bufferOf(y, name);
    t = y;
  } else if (Array.isArray(y) || v.isTypedArrayOf(y, 'Float32Array') || v.isTypedArrayOf(y, 'Int32Array')) {
    if (loss.sparse && !v.isTypedArrayOf(y, 'Float32Array')) {
      const flat = v.isTypedArrayOf(y, 'Int32Array') ? y : Int32Array.from(y as number[], (val, i) => {
        if (!Number.isInteger(val) || val < 0) throw v.rangeError('a non-negative integer class label', `${name}[${i}]`, val);
        return val;
      });
      t = tensor(flat, [flat.length], 'int32');
    } else {
      t = v.isTypedArrayOf(y, 'Float32Array') || v.isTypedArrayOf(y, 'Int32Array') ? tensor(Float32Array.from(y)) : tensor(y as number[][]);
    }
    owned = true;
  } else {
    throw v.typeError('a Tensor, a number array or a typed array', name, y);
  }
  const fail = (what: string): never => {
    const err = v.rangeError(what, name, t);
    if (owned) t.dispose();
    throw err;
  };
  if (t.shape[0] !== rows) fail(`targets for ${rows} samples (one per row of x)`);
  if (loss.sparse) {
    if (t.dtype !== 'int32' || t.rank !== 1) fail(`an int32 Tensor of shape [${rows}] with class labels for ${loss.name}`);
    const d = t.data();
    for (let i = 0; i < d.length; i++) {
      if (d[i] < 0 || d[i] >= outputWidth) throw v.rangeError(`a class label in [0, ${outputWidth - 1}]`, `${name}[${i}]`, d[i]);
    }
  } else {
    const k = t.rank === 1 ? 1 : t.shape[1];
    if (t.dtype !== 'float32' || t.rank > 2 || k !== outputWidth) {
      fail(`a float32 Tensor of shape [${rows}, ${outputWidth}]${t.dtype === 'int32' ? ` (integer labels need a sparse loss such as sparseCategoricalCrossentropy)` : ''}`);
    }
    checkFiniteTensor(t, name);
  }
  return { t, owned };
}

/** Inputs and targets (or a Dataset); `name` prefixes messages unless it is 'data'. */
export function toXY(name: string, x: unknown, y: unknown, spec: DataSpec): { x: Tensor; y: Tensor; owned: Tensor[] } {
  if (x instanceof Dataset) return toXY(name, x.x, x.y, spec);
  const prefix = name === 'data' ? '' : `${name}.`;
  const xs = toX(`${prefix}x`, x, spec.inputWidth);
  try {
    const ys = toY(`${prefix}y`, y, xs.t.shape[0], spec);
    return { x: xs.t, y: ys.t, owned: [...(xs.owned ? [xs.t] : []), ...(ys.owned ? [ys.t] : [])] };
  } catch (e) {
    if (xs.owned) xs.t.dispose();
    throw e;
  }
}
