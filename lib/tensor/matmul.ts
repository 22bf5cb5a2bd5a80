/**
 * Matrix products over 2-D float32 tensors, backed by the packed native GEMM
 * (native/kernels/gemm.cc) with its fused bias + activation epilogue.
 */
import { ArgumentRangeError, callNative } from '../errors';
import { binding } from '../native';
import { GEMM_ACTIVATIONS } from '../native/gemm';
import type { GemmActivation } from '../native/gemm';
import * as v from '../validate';
import { bufferOf, checkTensor, empty, Tensor } from './tensor';

/** Activations the GEMM epilogue fuses ('linear' = none; 'gelu' is the tanh approximation). */
/** Activations the GEMM epilogue fuses (the native GEMM_ACTIVATIONS table). */
export type MatmulActivation = 'linear' | 'relu' | 'gelu' | 'sigmoid' | 'tanh';
// Compile-time check that the list above is exactly the native table.
const sameActivations: [MatmulActivation, GemmActivation] extends [GemmActivation, MatmulActivation] ? true : never = true;
void sameActivations;

const ACTIVATIONS = GEMM_ACTIVATIONS;

export interface MatmulOptions {
  /** Use aᵀ (a is stored [k, m]). Default false. */
  transposeA?: boolean;
  /** Use bᵀ (b is stored [n, k]). Default false. */
  transposeB?: boolean;
  /** Scale of the product. Default 1. */
  alpha?: number;
  /** A float32 Tensor of shape [n] added to every row after scaling. */
  bias?: Tensor;
  /** Activation applied last. Default 'linear'. */
  activation?: MatmulActivation;
  /**
   * 'bf16' rounds both operands to bfloat16 (nearest, ties to even) and accumulates in float32, on
   * AMX tiles, AVX512-BF16 or an emulation with the same rounding (cpuFeatures().bf16Gemm says
   * which); bias, activation and the result stay float32. Default 'float32'.
   */
  precision?: Precision;
}

/** Arithmetic of matrix products: float32, or bfloat16 operands with float32 accumulation. */
export type Precision = 'float32' | 'bf16';
export const PRECISIONS: readonly Precision[] = ['float32', 'bf16'];

export interface GemmOptions extends MatmulOptions {
  /** Scale of the existing c; 0 (the default) ignores c's contents, NaNs included. */
  beta?: number;
}

const MATMUL_KEYS = ['transposeA', 'transposeB', 'alpha', 'bias', 'activation', 'precision'] as const;
const GEMM_KEYS = [...MATMUL_KEYS, 'beta'] as const;

interface Plan {
  a: Tensor;
  b: Tensor;
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
  bias: Tensor | null;
  act: GemmActivation;
  bf16: boolean;
}

function plan(a: unknown, b: unknown, options: unknown, keys: readonly string[], withBeta: boolean): Plan {
  const ta = checkTensor('a', a, { dtype: 'float32', rank: 2 });
  const tb = checkTensor('b', b, { dtype: 'float32', rank: 2 });
  const opts = v.plainObject('options', options);
  v.knownKeys('options', opts, keys);
  const transA = v.optional(opts.transposeA, false, (x) => v.boolean('options.transposeA', x));
  const transB = v.optional(opts.transposeB, false, (x) => v.boolean('options.transposeB', x));
  const alpha = v.optional(opts.alpha, 1, (x) => v.finiteNumber('options.alpha', x));
  const beta = withBeta ? v.optional(opts.beta, 0, (x) => v.finiteNumber('options.beta', x)) : 0;
  const activation = v.optional(opts.activation, 'linear' as MatmulActivation, (x) =>
    v.oneOf('options.activation', x, ACTIVATIONS),
  );
  const [ar, ac] = ta.shape;
  const [br, bc] = tb.shape;
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const bInner = transB ? bc : br;
  const n = transB ? br : bc;
  if (bInner !== k) {
    const side = transB ? 'columns' : 'rows';
    const aDesc = `a [${ar}, ${ac}]${transA ? ' transposed' : ''}`;
    throw v.rangeError(`a Tensor with ${k} ${side} (the inner dimension of ${aDesc})`, 'b', tb);
  }
  let bias: Tensor | null = null;
  if (opts.bias !== undefined) {
    bias = checkTensor('options.bias', opts.bias, { dtype: 'float32' });
    if (bias.rank !== 1 || bias.shape[0] !== n) {
      throw v.rangeError(`a Tensor of shape [${n}] (the columns of the product)`, 'options.bias', bias);
    }
  }
  const precision = v.optional(opts.precision, 'float32' as Precision, (x) => v.oneOf('options.precision', x, PRECISIONS));
  return { a: ta, b: tb, transA, transB, m, n, k, alpha, beta, bias, act: activation, bf16: precision === 'bf16' };
}

function run(p: Plan, c: Tensor): void {
  const ab = bufferOf(p.a, 'a');
  const bb = bufferOf(p.b, 'b');
  const cb = bufferOf(c, 'c');
  const biasb = p.bias ? bufferOf(p.bias, 'options.bias') : null;
  callNative(() =>
    binding().gemm(ab, bb, cb, p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.beta, p.a.shape[1], p.b.shape[1], p.n, biasb, p.act, false, p.bf16),
  );
}

/**
 * The matrix product act(alpha · op(a) · op(b) + bias) as a new [m, n] float32 Tensor, where op
 * transposes when asked. Bias and activation are fused into the product (one pass over the output).
 * @param a float32 Tensor [m, k] (or [k, m] with transposeA)
 * @param b float32 Tensor [k, n] (or [n, k] with transposeB)
 * @throws TypeError when a, b or options.bias is not a float32 Tensor, or an option has the wrong type.
 * @throws RangeError when a or b is not 2-D, the inner dimensions differ, options.bias is not of
 *   shape [n], alpha is not finite, the activation is unknown, or an unknown option is given.
 * @throws NodetrainError ERR_NT_DISPOSED when a tensor was disposed.
 * @example
 * const y = matmul(x, w, { bias: b, activation: 'relu' }); // relu(x·w + b)
 * const g = matmul(x, dy, { transposeA: true });            // xᵀ·dy
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const p = plan(a, b, options, MATMUL_KEYS, false);
  const out = empty([p.m, p.n]);
  try {
    run(p, out);
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}

/**
 * In-place GEMM: c ← act(alpha · op(a) · op(b) + beta · c + bias). With beta = 0 (the default) the
 * previous contents of c are ignored, NaNs included.
 * @param c float32 Tensor [m, n], distinct from a, b and options.bias
 * @returns c
 * @throws TypeError when a, b, c or options.bias is not a float32 Tensor, or an option has the wrong type.
 * @throws RangeError for a non-2-D operand, mismatched inner dimensions, c not of shape [m, n] or
 *   the same Tensor as an input, a bias not of shape [n], non-finite alpha/beta, an unknown
 *   activation or an unknown option.
 * @throws NodetrainError ERR_NT_DISPOSED when a tensor was disposed.
 * @example
 * gemm(x, dy, dw, { transposeA: true, beta: 1 }); // dw += xᵀ·dy
 */
export function gemm(a: Tensor, b: Tensor, c: Tensor, options: GemmOptions = {}): Tensor {
  const p = plan(a, b, options, GEMM_KEYS, true);
  const tc = checkTensor('c', c, { dtype: 'float32', rank: 2 });
  if (tc.shape[0] !== p.m || tc.shape[1] !== p.n) {
    throw v.rangeError(`a Tensor of shape [${p.m}, ${p.n}] (the shape of the product)`, 'c', tc);
  }
  const same = tc === p.a ? 'a' : tc === p.b ? 'b' : tc === p.bias ? 'options.bias' : null;
  if (same !== null) {
    throw new ArgumentRangeError(
      `Expected a Tensor distinct from a, b and options.bias for c but received the same Tensor as ${same}`,
    );
  }
  run(p, tc);
  return tc;
}
