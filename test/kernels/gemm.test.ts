/**
 * GEMM parity: the native float32 GEMM (packed AVX-512 14x32 path, packed AVX2/FMA 6x16 path, forced
 * portable path, scalar _ref) against a float64 JavaScript reference on fresh uniform[-1, 1] inputs,
 * over awkward shapes (0, 1, primes, non-multiples of the 6x16 and 14x32 tiles, k across the 192 and
 * 256 k blocks, m across the 144 and 168 m blocks), all four transpose combinations, alpha/beta, strides
 * larger than the row length, and the fused bias + activation epilogue, at 1 and 2 threads.
 * The AVX2 and AVX-512 sets run products with m*n*k <= 2^19 on their direct small-product kernel
 * (native/kernels/gemm_small.h; a transposed B only while k*n <= 8192): the shapes and the alpha/beta
 * and epilogue cases sit on both sides of those limits (80x80x81 direct, 81x81x81 packed, 2x100x100
 * with a transposed B packed), and the small shapes cover 1-4 leftover rows and 1 or 2 vectors of
 * columns, full or masked, for both vector widths (8 and 16).
 *
 * Error measure: ||out - ref||_2 / ||ref||_2. Bound 1e-5. Measured on the development machine:
 * at most about 4e-7 for the packed paths (K up to 300) and about 5e-8 for _ref (double accumulation);
 * the activation epilogues measure below 5e-7.
 */
import { binding, NativeBuffer } from '../../lib/native';
import { cpuFeatures, getNumThreads, setForcePortable, setMaxIsa, setNumThreads, type IsaLevel } from '../../lib/runtime';
import { gemm, matmul, NodetrainError, Tensor, tensor, zeros } from '../../lib';

const BOUND = 1e-5;
type ActName = 'linear' | 'relu' | 'gelu' | 'sigmoid' | 'tanh';

function rand(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.random() * 2 - 1;
  return out;
}

function act64(name: ActName, x: number): number {
  switch (name) {
    case 'relu':
      return x > 0 ? x : 0;
    case 'gelu':
      return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'tanh':
      return Math.tanh(x);
    default:
      return x;
  }
}

interface Problem {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
  lda: number;
  ldb: number;
  ldc: number;
  a: Float32Array;
  b: Float32Array;
  c: Float32Array; // initial C (with padding)
  bias: Float32Array | null;
  act: ActName;
}

/** A random problem; pad > 0 makes every stride exceed its row length, padding filled with NaN. */
function problem(
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  o: { alpha?: number; beta?: number; pad?: number; bias?: boolean; act?: ActName } = {},
): Problem {
  const pad = o.pad ?? 0;
  const [ar, ac] = transA ? [k, m] : [m, k];
  const [br, bc] = transB ? [n, k] : [k, n];
  const lda = ac + pad;
  const ldb = bc + pad;
  const ldc = n + pad;
  const fill = (rows: number, cols: number, ld: number, padValue: number, body: () => number): Float32Array => {
    const x = new Float32Array(Math.max(0, rows * ld));
    for (let i = 0; i < rows; i++) for (let j = 0; j < ld; j++) x[i * ld + j] = j < cols ? body() : padValue;
    return x;
  };
  const r = () => Math.random() * 2 - 1;
  const beta = o.beta ?? 0;
  return {
    m,
    n,
    k,
    transA,
    transB,
    alpha: o.alpha ?? 1,
    beta,
    lda,
    ldb,
    ldc,
    a: fill(ar, ac, lda, NaN, r),
    b: fill(br, bc, ldb, NaN, r),
    // beta == 0: C starts as NaN to prove it is write-only. Padding of C is a sentinel that must survive.
    c: fill(m, n, ldc, 12345, beta === 0 ? () => NaN : r),
    bias: o.bias ? rand(n) : null,
    act: o.act ?? 'linear',
  };
}

function reference(p: Problem): Float64Array {
  const out = new Float64Array(p.m * p.n);
  for (let i = 0; i < p.m; i++) {
    for (let j = 0; j < p.n; j++) {
      let s = 0;
      for (let q = 0; q < p.k; q++) {
        const av = p.transA ? p.a[q * p.lda + i] : p.a[i * p.lda + q];
        const bv = p.transB ? p.b[j * p.ldb + q] : p.b[q * p.ldb + j];
        s += av * bv;
      }
      let x = p.alpha * s;
      if (p.beta !== 0) x += p.beta * p.c[i * p.ldc + j];
      if (p.bias) x += p.bias[j];
      out[i * p.n + j] = act64(p.act, x);
    }
  }
  return out;
}

function buffer(x: Float32Array, minLength = 0): NativeBuffer {
  const b = new (binding().NativeBuffer)(0, Math.max(x.length, minLength));
  if (x.length > 0) b.write(x);
  return b;
}

function runNative(p: Problem, useRef: boolean): Float32Array {
  const ab = buffer(p.a);
  const bb = buffer(p.b);
  const cb = buffer(p.c);
  const biasb = p.bias ? buffer(p.bias) : null;
  try {
    binding().gemm(ab, bb, cb, p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.beta, p.lda, p.ldb, p.ldc, biasb, p.act, useRef, false);
    return cb.read() as Float32Array;
  } finally {
    ab.dispose();
    bb.dispose();
    cb.dispose();
    biasb?.dispose();
  }
}

/** Relative error of the m x n part of out against ref; also checks that C's padding survived. */
function check(p: Problem, out: Float32Array): number {
  const ref = reference(p);
  let num = 0;
  let den = 0;
  for (let i = 0; i < p.m; i++) {
    for (let j = 0; j < p.ldc; j++) {
      const got = out[i * p.ldc + j];
      if (j >= p.n) {
        if (got !== 12345) throw new Error(`padding of C modified at (${i}, ${j}): ${got}`);
        continue;
      }
      const want = ref[i * p.n + j];
      if (!Number.isFinite(got)) throw new Error(`non-finite output at (${i}, ${j}): ${got}`);
      num += (got - want) ** 2;
      den += want * want;
    }
  }
  if (den === 0) return num === 0 ? 0 : Infinity;
  // Outputs are sums of O(1) terms; a tiny C (1 x 1 x 1 with beta * C nearly cancelling a * b)
  // would make the relative error meaningless, so the scale has a floor of 0.1 per element.
  return Math.sqrt(num / Math.max(den, 0.01 * p.m * p.n));
}

const SHAPES: [number, number, number][] = [
  [0, 0, 0],
  [0, 5, 3],
  [4, 0, 3],
  [1, 1, 1],
  [1, 7, 13],
  [7, 1, 13],
  [7, 13, 1],
  [6, 16, 8],
  [7, 13, 31],
  [13, 31, 7],
  [31, 127, 13],
  [127, 31, 127],
  [12, 32, 257],
  [14, 32, 40],
  [15, 33, 193],
  [29, 95, 17],
  [9, 8, 5],
  [3, 48, 11],
  [2, 40, 64],
  [64, 64, 64],
  [2, 100, 100],
  [80, 80, 81],
  [81, 81, 81],
  [257, 131, 300],
  [170, 65, 385],
];

// Each ISA path is forced with setMaxIsa; a path above what this CPU (and build) has is reported
// as not exercised rather than silently run on a lower path.
const ALL_PATHS: { name: string; isa: IsaLevel; portable: boolean; useRef: boolean }[] = [
  { name: 'packed AVX-512 14x32', isa: 'avx512', portable: false, useRef: false },
  { name: 'packed AVX2/FMA 6x16', isa: 'avx2', portable: false, useRef: false },
  { name: 'packed portable', isa: 'portable', portable: true, useRef: false },
  { name: 'gemm_f32_ref', isa: 'portable', portable: false, useRef: true },
];
const LEVELS: IsaLevel[] = ['portable', 'avx2', 'avx512', 'amx'];
const best = LEVELS.indexOf(cpuFeatures().bestIsa);
const PATHS = ALL_PATHS.filter((p) => LEVELS.indexOf(p.isa) <= best);
const skipped = ALL_PATHS.filter((p) => LEVELS.indexOf(p.isa) > best).map((p) => p.name);
if (skipped.length > 0)
  console.log(`gemm parity: paths NOT exercised on this CPU (${cpuFeatures().bestIsa} is its best): ${skipped.join(', ')}`);

const originalThreads = getNumThreads();
afterEach(() => {
  setForcePortable(false);
  setMaxIsa(null);
  setNumThreads(originalThreads);
});

describe.each(PATHS)('gemm_f32 parity vs float64 reference: $name', ({ isa, portable, useRef }) => {
  describe.each([1, 2])('%i thread(s)', (threads) => {
    beforeEach(() => {
      setForcePortable(portable);
      setMaxIsa(isa);
      setNumThreads(threads);
      if (!useRef) expect(cpuFeatures().isa).toBe(isa);
    });

    it('matches on awkward shapes, all transposes, strides > row length (rel. err < 1e-5, measured <= 4e-7)', () => {
      let worst = 0;
      SHAPES.forEach(([m, n, k], idx) => {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const p = problem(m, n, k, transA, transB, { pad: [0, 1, 5][idx % 3] });
            const err = check(p, runNative(p, useRef));
            if (!(err < BOUND)) throw new Error(`${m}x${n}x${k} tA=${transA} tB=${transB}: rel. err ${err}`);
            worst = Math.max(worst, err);
          }
        }
      });
      expect(worst).toBeLessThan(BOUND);
    });

    it('applies alpha and beta (beta = 0.5, 1, -2; alpha = -0.75)', () => {
      for (const beta of [0.5, 1, -2]) {
        for (const [m, n, k] of [[7, 13, 31], [37, 53, 71], [64, 48, 40], [130, 70, 60]] as const) {
          const p = problem(m, n, k, beta < 0, beta === 1, { alpha: -0.75, beta, pad: 2 });
          expect(check(p, runNative(p, useRef))).toBeLessThan(BOUND);
        }
      }
    });

    it.each(['linear', 'relu', 'gelu', 'sigmoid', 'tanh'] as ActName[])(
      'fuses bias + %s (rel. err < 1e-5, measured < 5e-7)',
      (act) => {
        for (const [m, n, k] of [[1, 1, 1], [7, 13, 31], [29, 37, 300], [65, 130, 17], [15, 47, 9], [90, 70, 100]] as const) {
          for (const bias of [true, false]) {
            const p = problem(m, n, k, m % 2 === 1, n % 2 === 0, { bias, act, beta: bias ? 0 : 0.5, pad: 3 });
            expect(check(p, runNative(p, useRef))).toBeLessThan(BOUND);
          }
        }
      },
    );

    it('K = 0 gives act(beta * C + bias), and beta = 0 ignores NaNs in C', () => {
      const p = problem(5, 19, 0, false, false, { beta: 0.5, bias: true, act: 'tanh', pad: 1 });
      expect(check(p, runNative(p, useRef))).toBeLessThan(BOUND);
      const q = problem(5, 19, 0, true, true, { beta: 0, bias: true, act: 'sigmoid' });
      expect(check(q, runNative(q, useRef))).toBeLessThan(BOUND);
    });
  });
});

describe('matmul / gemm (public API)', () => {
  function toF64(t: Tensor): Float64Array {
    return Float64Array.from(t.data());
  }

  function relErr(got: Float64Array, want: Float64Array): number {
    let num = 0;
    let den = 0;
    for (let i = 0; i < want.length; i++) {
      num += (got[i] - want[i]) ** 2;
      den += want[i] ** 2;
    }
    return Math.sqrt(num / den);
  }

  it('matmul computes act(alpha * op(a) op(b) + bias) for every transpose combination', () => {
    const [m, n, k] = [23, 41, 37];
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const p = problem(m, n, k, transposeA, transposeB, { alpha: 1.5, bias: true, act: 'gelu' });
        const a = tensor(p.a, transposeA ? [k, m] : [m, k]);
        const b = tensor(p.b, transposeB ? [n, k] : [k, n]);
        const bias = tensor(p.bias!, [n]);
        const y = matmul(a, b, { transposeA, transposeB, alpha: 1.5, bias, activation: 'gelu' });
        expect(y.shape).toEqual([m, n]);
        expect(relErr(toF64(y), reference(p))).toBeLessThan(BOUND);
        for (const t of [a, b, bias, y]) t.dispose();
      }
    }
  });

  it('gemm updates c in place with beta and returns it', () => {
    const p = problem(9, 17, 5, true, false, { alpha: 2, beta: -1 });
    const a = tensor(p.a, [5, 9]);
    const b = tensor(p.b, [5, 17]);
    const c = tensor(p.c, [9, 17]);
    const out = gemm(a, b, c, { transposeA: true, alpha: 2, beta: -1 });
    expect(out).toBe(c);
    expect(relErr(toF64(c), reference(p))).toBeLessThan(BOUND);
  });

  it('handles empty products', () => {
    expect(matmul(zeros([0, 3]), zeros([3, 4])).shape).toEqual([0, 4]);
    const y = matmul(zeros([2, 0]), zeros([0, 3]), { bias: tensor([1, -2, 3]) });
    expect(Array.from(y.data())).toEqual([1, -2, 3, 1, -2, 3]);
  });

  describe('validation', () => {
    const a = tensor([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]); // [3, 4]
    const b = zeros([4, 2]);

    it('rejects mismatched inner dimensions', () => {
      expect(() => matmul(a, zeros([5, 2]))).toThrow(
        new RangeError('Expected a Tensor with 4 rows (the inner dimension of a [3, 4]) for b but received a Tensor of shape [5, 2]'),
      );
      expect(() => matmul(a, zeros([2, 5]), { transposeB: true })).toThrow(
        'Expected a Tensor with 4 columns (the inner dimension of a [3, 4]) for b but received a Tensor of shape [2, 5]',
      );
      expect(() => matmul(a, b, { transposeA: true })).toThrow(
        'Expected a Tensor with 3 rows (the inner dimension of a [3, 4] transposed) for b but received a Tensor of shape [4, 2]',
      );
    });

    it('rejects non-matrices and wrong dtypes', () => {
      expect(() => matmul(tensor([1, 2, 3]), b)).toThrow(new RangeError('Expected a Tensor of rank 2 for a but received a Tensor of shape [3]'));
      expect(() => matmul([[1]] as unknown as Tensor, b)).toThrow(new TypeError('Expected a Tensor for a but received an array of length 1'));
      expect(() => matmul(a, tensor(new Int32Array(8), [4, 2]))).toThrow(
        new TypeError('Expected a float32 Tensor for b but received an int32 Tensor'),
      );
    });

    it('rejects bad options', () => {
      expect(() => matmul(a, b, { bias: tensor([1, 2, 3]) })).toThrow(
        new RangeError('Expected a Tensor of shape [2] (the columns of the product) for options.bias but received a Tensor of shape [3]'),
      );
      expect(() => matmul(a, b, { activation: 'softmax' as ActName })).toThrow(
        new RangeError(`Expected one of 'linear', 'relu', 'gelu', 'sigmoid', 'tanh' for options.activation but received "softmax"`),
      );
      expect(() => matmul(a, b, { alpha: NaN })).toThrow(new RangeError('Expected a finite number for options.alpha but received NaN'));
      expect(() => matmul(a, b, { transposeA: 1 as unknown as boolean })).toThrow(
        new TypeError('Expected a boolean for options.transposeA but received 1'),
      );
      expect(() => matmul(a, b, { beta: 1 } as never)).toThrow(
        new RangeError(
          `Expected only the options 'transposeA', 'transposeB', 'alpha', 'bias', 'activation', 'precision' for options but received an option 'beta'`,
        ),
      );
      expect(() => gemm(a, b, zeros([3, 2]), { beta: Infinity })).toThrow('Expected a finite number for options.beta but received Infinity');
    });

    it('rejects a bad output tensor', () => {
      expect(() => gemm(a, b, zeros([2, 3]))).toThrow(
        new RangeError('Expected a Tensor of shape [3, 2] (the shape of the product) for c but received a Tensor of shape [2, 3]'),
      );
      const sq = tensor([[1, 2], [3, 4]]);
      expect(() => gemm(sq, sq, sq)).toThrow(
        new RangeError('Expected a Tensor distinct from a, b and options.bias for c but received the same Tensor as a'),
      );
    });

    it('rejects disposed tensors with ERR_NT_DISPOSED', () => {
      const d = zeros([4, 2]);
      d.dispose();
      expect(() => matmul(a, d)).toThrow(expect.objectContaining({ code: 'ERR_NT_DISPOSED' }));
    });

    it('native binding rechecks extents, strides and the activation', () => {
      const x = buffer(new Float32Array(10));
      const y = buffer(new Float32Array(12));
      const z = buffer(new Float32Array(12));
      const g = binding().gemm;
      // A is 3 x 4 with lda 4: needs 12 elements.
      expect(() => g(x, y, z, false, false, 3, 3, 4, 1, 0, 4, 3, 3, null, 'linear', false, false)).toThrow('Expected at least 12 elements in a but it has 10');
      expect(() => g(y, y, z, false, false, 3, 3, 4, 1, 0, 3, 3, 3, null, 'linear', false, false)).toThrow(
        'Expected each leading dimension to be at least its row length',
      );
      expect(() => g(y, x, y, false, false, 2, 2, 2, 1, 0, 2, 2, 2, null, 'linear', false, false)).toThrow(
        'Expected c to be a buffer distinct from a, b and bias',
      );
      let err: unknown;
      try {
        g(y, x, z, false, false, 2, 2, 2, 1, 0, 2, 2, 2, null, 'leakyRelu', false, false);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({
        code: 'ERR_NT_INVALID_ARGUMENT_VALUE',
        message: "Expected one of 'linear', 'relu', 'gelu', 'sigmoid', 'tanh' for the gemm_f32 epilogue activation but received \"leakyRelu\"",
      });
      expect(NodetrainError).toBeDefined();
    });
  });
});
