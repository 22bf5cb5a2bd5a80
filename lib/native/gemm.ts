/** Native gemm functions (see native/binding/gemm_binding.cc). */
import type { NativeBuffer } from './binding';

/** The activations the GEMM epilogue fuses (a subset of NATIVE_ACTIVATIONS). */
export const GEMM_ACTIVATIONS = ['linear', 'relu', 'gelu', 'sigmoid', 'tanh'] as const;
export type GemmActivation = (typeof GEMM_ACTIVATIONS)[number];

export interface GemmBinding {
  /**
   * c = act(alpha * op(a) op(b) + beta * c + bias), float32, row-major, in place on c.
   * op(a) is m x k (a stored k x m when transA), op(b) is k x n (b stored n x k when transB);
   * lda/ldb/ldc are the row strides (in elements) of the stored matrices and must be at least
   * their row lengths. Each buffer must hold the elements the kernel touches: a stored as
   * rows x cols needs (rows - 1) * ld + cols elements (0 when rows or cols is 0). beta == 0 makes
   * c write-only. bias (length >= n) may be null; act is one of GEMM_ACTIVATIONS. c must be a buffer
   * distinct from a, b and bias. useRef selects the scalar reference kernel (gemm_f32_ref); bf16
   * rounds both operands to bfloat16 with fp32 accumulation (gemm_bf16 / gemm_bf16_ref).
   * Runs synchronously on the calling thread plus the process-wide pool.
   * @throws TypeError with code ERR_NT_INVALID_ARGUMENT_TYPE (a wrong argument type), Error with
   *   code ERR_NT_INVALID_ARGUMENT_VALUE (bad sizes, strides, extents, activation) or
   *   ERR_NT_DISPOSED (a disposed buffer).
   */
  gemm(
    a: NativeBuffer,
    b: NativeBuffer,
    c: NativeBuffer,
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    beta: number,
    lda: number,
    ldb: number,
    ldc: number,
    bias: NativeBuffer | null,
    act: GemmActivation,
    useRef: boolean,
    bf16: boolean,
  ): void;
}
