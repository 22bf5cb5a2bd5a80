/**
 * Elementwise arithmetic with broadcasting, scale / axpy, activations and their gradients,
 * softmax / log-softmax along the last axis and the fused softmax cross-entropy loss. Every
 * argument is validated here before the native kernels (native/kernels/elementwise.cc, loss.cc) run.
 */
import { callNative } from '../errors';
import { binding } from '../native';
import type { NativeAct, NativeBinaryOp, NativeBroadcast } from '../native/elementwise';
import { NATIVE_ACTIVATIONS } from '../native/enums';
import * as v from '../validate';
import { bufferOf, checkTensor, empty, Tensor } from './tensor';

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function shapeText(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

// ---- binary ops -----------------------------------------------------------------------------------

interface BinaryPlan {
  bc: NativeBroadcast;
  rows: number;
  cols: number;
  b: Tensor | null;
  scalar: number;
}

/** Works out how b broadcasts against a; throws with the accepted shapes listed. */
function binaryPlan(a: Tensor, b: unknown): BinaryPlan {
  const size = a.size;
  if (typeof b === 'number') {
    v.finiteNumber('b', b);
    return { bc: 3, rows: 1, cols: size, b: null, scalar: b };
  }
  const bt = checkTensor('b', b, { dtype: 'float32' });
  if (sameShape(a.shape, bt.shape)) return { bc: 0, rows: 1, cols: size, b: bt, scalar: 0 };
  if (bt.rank === 0) return { bc: 3, rows: 1, cols: size, b: bt, scalar: 0 };
  if (a.rank >= 1) {
    const cols = a.shape[a.rank - 1];
    const rows = cols === 0 ? 0 : size / cols;
    // [cols] or [1, cols]: one row repeated over all leading dimensions.
    if ((bt.rank === 1 && bt.shape[0] === cols) || (bt.rank === 2 && bt.shape[0] === 1 && bt.shape[1] === cols)) {
      return { bc: 1, rows, cols, b: bt, scalar: 0 };
    }
    if (a.rank === 2 && bt.rank === 2 && bt.shape[0] === a.shape[0] && bt.shape[1] === 1) {
      return { bc: 2, rows: a.shape[0], cols: a.shape[1], b: bt, scalar: 0 };
    }
  }
  let what = `a number or a Tensor of shape ${shapeText(a.shape)}`;
  if (a.rank === 2) {
    const [r, c] = a.shape;
    what = `a number or a Tensor of shape ${shapeText(a.shape)}, [${c}], [1, ${c}] or [${r}, 1]`;
  } else if (a.rank >= 3) {
    what = `a number or a Tensor of shape ${shapeText(a.shape)} or [${a.shape[a.rank - 1]}]`;
  }
  throw v.rangeError(what, 'b', bt);
}

function binaryOp(op: NativeBinaryOp, a: unknown, b: unknown): Tensor {
  const at = checkTensor('a', a, { dtype: 'float32' });
  const p = binaryPlan(at, b);
  const out = empty(at.shape);
  if (out.size === 0) return out;
  let bt = p.b;
  let owned = false;
  if (bt === null) {
    bt = empty([1]);
    owned = true;
    bufferOf(bt, 'b').write(new Float32Array([p.scalar]));
  }
  try {
    const bb = bt;
    callNative(() => binding().binary(op, p.bc, bufferOf(at, 'a'), bufferOf(bb, 'b'), p.rows, p.cols, bufferOf(out, 'out'), false));
  } finally {
    if (owned) bt.dispose();
  }
  return out;
}

/**
 * a + b, elementwise. b is a number, a Tensor of a's shape, a row ([cols] or [1, cols], repeated
 * over a's leading dimensions) or, for 2-D a, a column [rows, 1].
 * @returns a new float32 Tensor of a's shape
 * @throws TypeError when a or b is not a float32 Tensor (b: or a number); RangeError when b's
 *   shape does not broadcast or b is not finite; NodetrainError ERR_NT_DISPOSED for a disposed tensor.
 * @example add(tensor([[1, 2], [3, 4]]), tensor([10, 20])).toArray(); // [[11, 22], [13, 24]]
 */
export function add(a: Tensor, b: Tensor | number): Tensor {
  return binaryOp(0, a, b);
}

/**
 * a - b, elementwise, broadcasting b as in add.
 * @throws TypeError / RangeError as for add.
 * @example sub(tensor([3, 4]), 1).toArray(); // [2, 3]
 */
export function sub(a: Tensor, b: Tensor | number): Tensor {
  return binaryOp(1, a, b);
}

/**
 * a * b, elementwise, broadcasting b as in add.
 * @throws TypeError / RangeError as for add.
 * @example mul(tensor([[1, 2], [3, 4]]), tensor([[2], [3]])).toArray(); // [[2, 4], [9, 12]]
 */
export function mul(a: Tensor, b: Tensor | number): Tensor {
  return binaryOp(2, a, b);
}

/**
 * a / b, elementwise (IEEE division: x / 0 gives ±Infinity or NaN), broadcasting b as in add.
 * @throws TypeError / RangeError as for add.
 * @example div(tensor([2, 4]), 2).toArray(); // [1, 2]
 */
export function div(a: Tensor, b: Tensor | number): Tensor {
  return binaryOp(3, a, b);
}

/**
 * alpha * x, in a new tensor.
 * @throws TypeError when x is not a float32 Tensor or alpha not a number; RangeError when alpha is not finite.
 * @example scale(tensor([1, 2]), 3).toArray(); // [3, 6]
 */
export function scale(x: Tensor, alpha: number): Tensor {
  const t = checkTensor('x', x, { dtype: 'float32' });
  v.finiteNumber('alpha', alpha);
  const out = empty(t.shape);
  callNative(() => binding().scale(bufferOf(t, 'x'), alpha, t.size, bufferOf(out, 'out'), false));
  return out;
}

/**
 * y += alpha * x, in place on y.
 * @returns y
 * @throws TypeError when x or y is not a float32 Tensor or alpha not a number; RangeError when
 *   alpha is not finite or the shapes differ.
 * @example const y = tensor([1, 1]); axpy(2, tensor([1, 2]), y); y.toArray(); // [3, 5]
 */
export function axpy(alpha: number, x: Tensor, y: Tensor): Tensor {
  v.finiteNumber('alpha', alpha);
  const xt = checkTensor('x', x, { dtype: 'float32' });
  const yt = checkTensor('y', y, { dtype: 'float32' });
  if (!sameShape(xt.shape, yt.shape)) throw v.rangeError(`a Tensor of shape ${shapeText(xt.shape)}`, 'y', yt);
  callNative(() => binding().axpy(alpha, bufferOf(xt, 'x'), xt.size, bufferOf(yt, 'y'), false));
  return yt;
}

// ---- activations ----------------------------------------------------------------------------------

/** Activation names accepted by activationBackward (the native activation names). */
export type ActivationName = NativeAct;

const ACTIVATIONS: readonly ActivationName[] = NATIVE_ACTIVATIONS;
const DEFAULT_ALPHA: Record<ActivationName, number> = {
  linear: 0,
  relu: 0,
  leakyRelu: 0.2,
  elu: 1,
  gelu: 0,
  sigmoid: 0,
  tanh: 0,
  softplus: 0,
};

function activation(act: ActivationName, x: unknown, alpha: number): Tensor {
  const t = checkTensor('x', x, { dtype: 'float32' });
  const out = empty(t.shape);
  callNative(() => binding().actForward(act, alpha, bufferOf(t, 'x'), t.size, bufferOf(out, 'out'), false));
  return out;
}

/**
 * max(x, 0), elementwise.
 * @throws TypeError when x is not a float32 Tensor; NodetrainError ERR_NT_DISPOSED when disposed.
 * @example relu(tensor([-1, 2])).toArray(); // [0, 2]
 */
export function relu(x: Tensor): Tensor {
  return activation('relu', x, 0);
}

/**
 * x for x >= 0, alpha * x below.
 * @param alpha negative slope, default 0.2 (as tfjs)
 * @throws TypeError when x is not a float32 Tensor or alpha not a number; RangeError when alpha is not finite.
 * @example leakyRelu(tensor([-1, 2]), 0.1).toArray(); // [-0.1, 2]
 */
export function leakyRelu(x: Tensor, alpha = 0.2): Tensor {
  v.finiteNumber('alpha', alpha);
  return activation('leakyRelu', x, alpha);
}

/**
 * x for x > 0, alpha * (exp(x) - 1) otherwise.
 * @param alpha default 1
 * @throws TypeError / RangeError as for leakyRelu.
 * @example elu(tensor([-1, 2])).toArray(); // [-0.632..., 2]
 */
export function elu(x: Tensor, alpha = 1): Tensor {
  v.finiteNumber('alpha', alpha);
  return activation('elu', x, alpha);
}

/**
 * GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
 * @throws TypeError when x is not a float32 Tensor.
 * @example gelu(tensor([0, 1])).toArray(); // [0, 0.841...]
 */
export function gelu(x: Tensor): Tensor {
  return activation('gelu', x, 0);
}

/**
 * 1 / (1 + exp(-x)), elementwise.
 * @throws TypeError when x is not a float32 Tensor.
 * @example sigmoid(tensor([0])).toArray(); // [0.5]
 */
export function sigmoid(x: Tensor): Tensor {
  return activation('sigmoid', x, 0);
}

/**
 * Hyperbolic tangent, elementwise.
 * @throws TypeError when x is not a float32 Tensor.
 * @example tanh(tensor([0, 100])).toArray(); // [0, 1]
 */
export function tanh(x: Tensor): Tensor {
  return activation('tanh', x, 0);
}

/**
 * log(1 + exp(x)), elementwise, computed without overflow.
 * @throws TypeError when x is not a float32 Tensor.
 * @example softplus(tensor([0])).toArray(); // [0.693...]
 */
export function softplus(x: Tensor): Tensor {
  return activation('softplus', x, 0);
}

/**
 * Gradient of an activation: dx = dy * act'(x), given its input x and output y = act(x).
 * @param name 'linear', 'relu', 'leakyRelu', 'elu', 'gelu', 'sigmoid', 'tanh' or 'softplus'
 * @param alpha the forward alpha of leakyRelu (default 0.2) or elu (default 1); ignored otherwise
 * @throws TypeError when a tensor is not float32 or name is not a string; RangeError for an
 *   unknown name, a non-finite alpha or tensors of different shapes.
 * @example const x = tensor([-1, 2]); activationBackward('relu', x, relu(x), tensor([1, 1])).toArray(); // [0, 1]
 */
export function activationBackward(name: ActivationName, x: Tensor, y: Tensor, dy: Tensor, alpha?: number): Tensor {
  const act = v.oneOf('name', name, ACTIVATIONS);
  const xt = checkTensor('x', x, { dtype: 'float32' });
  const yt = checkTensor('y', y, { dtype: 'float32' });
  const gt = checkTensor('dy', dy, { dtype: 'float32' });
  if (!sameShape(xt.shape, yt.shape)) throw v.rangeError(`a Tensor of shape ${shapeText(xt.shape)}`, 'y', yt);
  if (!sameShape(xt.shape, gt.shape)) throw v.rangeError(`a Tensor of shape ${shapeText(xt.shape)}`, 'dy', gt);
  const a = alpha === undefined ? DEFAULT_ALPHA[act] : v.finiteNumber('alpha', alpha);
  const out = empty(xt.shape);
  callNative(() =>
    binding().actBackward(act, a, bufferOf(xt, 'x'), bufferOf(yt, 'y'), bufferOf(gt, 'dy'), xt.size, bufferOf(out, 'out'), false),
  );
  return out;
}

// ---- softmax ----------------------------------------------------------------------------------------

function rowOp(which: 'softmax' | 'logSoftmax', x: unknown): Tensor {
  const t = checkTensor('x', x, { dtype: 'float32' });
  if (t.rank === 0) throw v.rangeError('a Tensor of rank >= 1', 'x', t);
  const cols = t.shape[t.rank - 1];
  const rows = cols === 0 ? 0 : t.size / cols;
  const out = empty(t.shape);
  callNative(() => binding()[which](bufferOf(t, 'x'), rows, cols, bufferOf(out, 'out'), false));
  return out;
}

/**
 * Softmax along the last axis, computed stably (the row maximum is subtracted first).
 * @throws TypeError when x is not a float32 Tensor; RangeError when x is a scalar (rank 0).
 * @example softmax(tensor([[1000, 1000]])).toArray(); // [[0.5, 0.5]]
 */
export function softmax(x: Tensor): Tensor {
  return rowOp('softmax', x);
}

/**
 * log(softmax(x)) along the last axis, computed as x - max - log(sum(exp(x - max))).
 * @throws TypeError when x is not a float32 Tensor; RangeError when x is a scalar (rank 0).
 * @example logSoftmax(tensor([[0, 0]])).toArray(); // [[-0.693..., -0.693...]]
 */
export function logSoftmax(x: Tensor): Tensor {
  return rowOp('logSoftmax', x);
}

/** Result of softmaxCrossEntropy. */
export interface SoftmaxCrossEntropyResult {
  /** Mean over rows of the cross-entropy (NaN for zero rows). */
  loss: number;
  /** d(loss)/d(logits), shape of logits. */
  grad: Tensor;
}

/**
 * Softmax cross-entropy from logits, averaged over rows, with its gradient (fused, stable
 * log-sum-exp). The gradient is (softmax(logits) * sum(targets, row) - targets) / rows.
 * @param logits float32 Tensor [rows, classes]
 * @param target float32 targets [rows, classes] (one-hot or probabilities) or int32 class labels [rows]
 * @throws TypeError when logits is not a float32 Tensor or target is neither a float32 nor an int32
 *   Tensor; RangeError for shapes that do not match, no classes, or a label outside [0, classes).
 * @example const { loss, grad } = softmaxCrossEntropy(tensor([[2, 0]]), tensor(new Int32Array([0])));
 */
export function softmaxCrossEntropy(logits: Tensor, target: Tensor): SoftmaxCrossEntropyResult {
  const lt = checkTensor('logits', logits, { dtype: 'float32', rank: 2 });
  const [rows, cols] = lt.shape;
  const tt = checkTensor('target', target);
  let labels = false;
  if (tt.dtype === 'int32') {
    if (!sameShape(tt.shape, [rows])) throw v.rangeError(`an int32 Tensor of shape [${rows}]`, 'target', tt);
    labels = true;
  } else if (!sameShape(tt.shape, lt.shape)) {
    throw v.rangeError(`a float32 Tensor of shape ${shapeText(lt.shape)}`, 'target', tt);
  }
  if (cols === 0 && rows > 0) throw v.rangeError('a Tensor with at least one class (column)', 'logits', lt);
  if (labels) {
    const d = tt.data();
    for (let i = 0; i < d.length; i++) {
      if (d[i] < 0 || d[i] >= cols) throw v.rangeError(`an integer in [0, ${cols - 1}]`, `target[${i}]`, d[i]);
    }
  }
  const grad = empty(lt.shape);
  const loss = callNative(() =>
    binding().softmaxXent(
      bufferOf(lt, 'logits'),
      labels ? null : bufferOf(tt, 'target'),
      labels ? bufferOf(tt, 'target') : null,
      rows,
      cols,
      bufferOf(grad, 'grad'),
      1,
      false,
    ),
  );
  return { loss, grad };
}
