/**
 * The bf16 GEMM (precision 'bf16', nt::gemm_bf16 in native/kernels/gemm.cc): both operands rounded
 * to bfloat16 (nearest, ties to even), fp32 accumulation, fp32 C / bias / epilogue. Checked against
 * float64 on awkward shapes on every path this CPU can run: AMX tiles ('amx' level), vdpbf16ps
 * (the 'avx512' level on CPUs with AVX512-BF16, else the emulation there), the emulation on the
 * AVX2 and portable f32 kernels, and gemm_bf16_ref; at 1 and 2 threads. On a CPU with
 * AVX512-BF16 but no AMX, the AMX path (driver, packing, tile microkernel source) also runs on
 * EMULATED tiles (the setAmxEmulation test hook, native/cpu/avx512/amx_emulated.h), with no tile
 * fault counted; real AMX tiles are then not exercised, and the test says so.
 *
 * Bounds, per element, with S = sum_p |a_p b_p| and S' the same over the bf16-rounded operands:
 *  - against the float64 product of the bf16-ROUNDED inputs: every product of two bf16 values is
 *    exact in fp32 (8 + 8 significand bits <= 24), so the only error is fp32 summation of k terms:
 *    |c - ref| <= gamma_k S' with gamma_k = k u / (1 - k u), u = 2^-24 (Higham, Accuracy and
 *    Stability of Numerical Algorithms, 2nd ed., eq. 3.5); tested as (k + 2) u S' (one more
 *    rounding for alpha).
 *  - against the float64 product of the ORIGINAL inputs: round-to-nearest-even to bf16 has unit
 *    roundoff 2^-8, so |bf16(a) bf16(b) - a b| <= (2 * 2^-8 + 2^-16) |a b|, and
 *    |c - exact| <= (2^-7 + 2^-16) S + (k + 2) u (1 + 2^-8)^2 S.
 * The hardware paths flush subnormals to zero (inputs here are O(1), so none occur).
 */
import { binding } from '../../lib/native';
import {
  amxEmulationCounts,
  cpuFeatures,
  getNumThreads,
  setAmxEmulation,
  setForcePortable,
  setMaxIsa,
  setNumThreads,
  type IsaLevel,
} from '../../lib/runtime';
import { tensor } from "../../lib/tensor/tensor";
import { matmul } from "../../lib/tensor/matmul";
import { bf16Round, makeRng, randUniform } from '../helpers/numerics';
import { nbuf } from './kernel-call';

const bf16 = bf16Round;
const U = 2 ** -24;

interface Problem {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
  bias: boolean;
  act: 'linear' | 'relu' | 'tanh';
}

const f = cpuFeatures();
const LEVELS: IsaLevel[] = ['portable', 'avx2', 'avx512', 'amx'];
const best = LEVELS.indexOf(f.bestIsa);
// The AMX kernel on emulated tiles: only where the CPU lacks AMX and the hook can put it in use.
const amxEmulated = best < 3 && setAmxEmulation(true);
setAmxEmulation(false);
interface Path {
  name: string;
  isa: IsaLevel | null;
  portable: boolean;
  useRef: boolean;
  level: number;
  emulateAmx?: boolean;
}
const ALL_PATHS: Path[] = [
  { name: 'AMX-BF16 tiles (amx level)', isa: 'amx', portable: false, useRef: false, level: 3 },
  {
    name: f.avx512bf16 ? 'AVX512-BF16 vdpbf16ps (avx512 level)' : 'emulation on AVX-512 f32 kernels (no AVX512-BF16 here)',
    isa: 'avx512',
    portable: false,
    useRef: false,
    level: 2,
  },
  { name: 'emulation on AVX2 f32 kernels', isa: 'avx2', portable: false, useRef: false, level: 1 },
  { name: 'emulation on portable f32 kernels', isa: null, portable: true, useRef: false, level: 0 },
  { name: 'gemm_bf16_ref', isa: null, portable: false, useRef: true, level: 0 },
];
const EMULATED_AMX: Path = {
  name: 'AMX-BF16 kernel on EMULATED tiles (amx level, setAmxEmulation)',
  isa: 'amx',
  portable: false,
  useRef: false,
  level: 3,
  emulateAmx: true,
};
const PATHS = [...(amxEmulated ? [EMULATED_AMX] : []), ...ALL_PATHS.filter((p) => p.level <= best)];
const notExercised = [
  ...ALL_PATHS.filter((p) => p.level > best).map((p) => (amxEmulated && p.level === 3 ? `${p.name} (ran on emulated tiles only)` : p.name)),
  ...(f.avx512bf16 ? [] : ['AVX512-BF16 vdpbf16ps']),
];
if (notExercised.length > 0) console.log(`bf16 GEMM: paths NOT exercised on this CPU: ${notExercised.join(', ')}`);

const threads0 = getNumThreads();
afterEach(() => {
  setAmxEmulation(false);
  setMaxIsa(null);
  setForcePortable(false);
  setNumThreads(threads0);
});

/** Puts a path in use (the emulated AMX level included) and checks the dispatch took it. */
function use(p: Path): void {
  expect(setAmxEmulation(p.emulateAmx === true)).toBe(p.emulateAmx === true);
  setMaxIsa(p.isa);
  setForcePortable(p.portable);
  if (p.emulateAmx) expect(cpuFeatures().bf16Gemm).toBe('amx-emulated');
}


/** Runs one problem through the binding; returns C. */
function run(p: Problem, a: Float32Array, b: Float32Array, c0: Float32Array, bias: Float32Array | null, useRef: boolean): Float32Array {
  const lda = p.transA ? p.m : p.k;
  const ldb = p.transB ? p.k : p.n;
  const bufs = [nbuf(a), nbuf(b), nbuf(c0)];
  const biasb = bias ? nbuf(bias) : null;
  try {
    binding().gemm(bufs[0], bufs[1], bufs[2], p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.beta, lda, ldb, p.n, biasb, p.act, useRef, true);
    return (bufs[2].read() as Float32Array).slice(0, p.m * p.n);
  } finally {
    for (const x of bufs) x.dispose();
    biasb?.dispose();
  }
}

const act64 = (act: Problem['act'], x: number): number => (act === 'relu' ? Math.max(0, x) : act === 'tanh' ? Math.tanh(x) : x);

/**
 * Worst ratio of |c - ref| to its bound, over all elements, against the rounded (R) and exact (E)
 * products. With an activation, the bound passes through it (relu and tanh are 1-Lipschitz).
 */
function check(p: Problem, useRef: boolean, rng: () => number): { rounded: number; exact: number } {
  const a = randUniform(p.m * p.k, 1, 0, rng);
  const b = randUniform(p.k * p.n, 1, 0, rng);
  const c0 = randUniform(p.m * p.n, 1, 0, rng);
  const bias = p.bias ? randUniform(p.n, 1, 0, rng) : null;
  const c = run(p, a, b, c0, bias, useRef);
  const lda = p.transA ? p.m : p.k;
  const ldb = p.transB ? p.k : p.n;
  let rounded = 0;
  let exact = 0;
  for (let i = 0; i < p.m; i++) {
    for (let j = 0; j < p.n; j++) {
      let refR = 0;
      let sR = 0;
      let ex = 0;
      let s = 0;
      for (let q = 0; q < p.k; q++) {
        const x = p.transA ? a[q * lda + i] : a[i * lda + q];
        const y = p.transB ? b[j * ldb + q] : b[q * ldb + j];
        const pr = bf16(x) * bf16(y);
        refR += pr;
        sR += Math.abs(pr);
        ex += x * y;
        s += Math.abs(x * y);
      }
      const tail = p.beta * c0[i * p.n + j] + (bias ? bias[j] : 0);
      const tailErr = (Math.abs(p.beta * c0[i * p.n + j]) + Math.abs(bias ? bias[j] : 0) + Math.abs(p.alpha) * sR) * 4 * U;
      const wantR = act64(p.act, p.alpha * refR + tail);
      const wantE = act64(p.act, p.alpha * ex + tail);
      const got = c[i * p.n + j];
      if (!Number.isFinite(got)) throw new Error(`non-finite output at (${i}, ${j})`);
      const boundR = Math.abs(p.alpha) * (p.k + 2) * U * sR + tailErr + 1e-30;
      const boundE = Math.abs(p.alpha) * ((2 ** -7 + 2 ** -16) * s + (p.k + 2) * U * (1 + 2 ** -8) ** 2 * s) + tailErr + 1e-30;
      rounded = Math.max(rounded, Math.abs(got - wantR) / boundR);
      exact = Math.max(exact, Math.abs(got - wantE) / boundE);
    }
  }
  return { rounded, exact };
}

const plain = (m: number, n: number, k: number): Problem => ({ m, n, k, transA: false, transB: false, alpha: 1, beta: 0, bias: false, act: 'linear' });
// Awkward shapes: 1s, primes, non-multiples of every tile (14x32, 6x16, 32x32), odd k (a padded
// pair), k across several blocks (KC 192/256 f32, 384 vdpbf16ps, 512 AMX), m across MC (160/168).
const SHAPES: Problem[] = [
  plain(1, 1, 1),
  plain(1, 17, 3),
  plain(7, 13, 31),
  plain(13, 31, 7),
  plain(14, 32, 40),
  plain(32, 32, 32),
  plain(33, 65, 127),
  plain(5, 3, 257),
  plain(64, 48, 100),
  plain(29, 37, 777),
  plain(181, 70, 33),
  // k across several AMX KC=512 blocks and not a multiple of 32 (nor of 2: a padded pair and a
  // kd rounded up to 16 pair steps in the last block); m, n not multiples of 32.
  plain(45, 70, 1337),
  { m: 67, n: 35, k: 1090, transA: true, transB: true, alpha: 0.75, beta: -1, bias: true, act: 'relu' },
  { m: 37, n: 45, k: 61, transA: true, transB: false, alpha: 1, beta: 0, bias: true, act: 'relu' },
  { m: 23, n: 70, k: 51, transA: false, transB: true, alpha: -0.5, beta: 1, bias: false, act: 'linear' },
  { m: 40, n: 33, k: 129, transA: true, transB: true, alpha: 2, beta: 0.5, bias: true, act: 'tanh' },
];

describe.each(PATHS)('gemm_bf16: $name', (path) => {
  const { useRef } = path;
  it.each([1, 2])('is within the derived bf16 bounds of float64 on awkward shapes (%d threads)', (threads) => {
    use(path);
    setNumThreads(threads);
    const rng = makeRng();
    const before = amxEmulationCounts();
    for (const p of SHAPES) {
      const { rounded, exact } = check(p, useRef, rng);
      const label = `${p.m}x${p.n}x${p.k}${p.transA ? ' A^T' : ''}${p.transB ? ' B^T' : ''}`;
      if (!(rounded <= 1)) throw new Error(`${label}: ${rounded} of the fp32-summation bound`);
      if (!(exact <= 1)) throw new Error(`${label}: ${exact} of the bf16 bound`);
    }
    const after = amxEmulationCounts();
    expect(after.faults).toBe(before.faults);
    // The emulated tiles really ran (and no other path touches them).
    if (path.emulateAmx) expect(after.tdpbf16ps).toBeGreaterThan(before.tdpbf16ps);
    else expect(after.tdpbf16ps).toBe(before.tdpbf16ps);
  });

  it('rounds operands to nearest even (bf16 inputs are reproduced exactly; 1 + 2^-8 ties to 1)', () => {
    use(path);
    const a = new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.140625, -2.5, 1 + 2 ** -7 + 2 ** -9]);
    const c = run(plain(5, 1, 1), a, new Float32Array([1]), new Float32Array(5), null, useRef);
    expect(Array.from(c)).toEqual(Array.from(a, bf16));
    expect(bf16(1 + 2 ** -8)).toBe(1);
    expect(bf16(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6);
  });
});

describe('gemm_bf16 paths agree', () => {
  it('every path sees the same rounded inputs (differences only from fp32 summation order)', () => {
    const rng = makeRng();
    const p = plain(45, 70, 401);
    const a = randUniform(p.m * p.k, 1, 0, rng);
    const b = randUniform(p.k * p.n, 1, 0, rng);
    const outs = PATHS.map((path) => {
      use(path);
      return run(p, a, b, new Float32Array(p.m * p.n), null, path.useRef);
    });
    for (let i = 0; i < p.m; i++)
      for (let j = 0; j < p.n; j++) {
        let s = 0;
        for (let q = 0; q < p.k; q++) s += Math.abs(bf16(a[i * p.k + q]) * bf16(b[q * p.n + j]));
        for (const o of outs) expect(Math.abs(o[i * p.n + j] - outs[0][i * p.n + j])).toBeLessThanOrEqual(2 * (p.k + 2) * U * s);
      }
  });

  it('differs from float32 by the bf16 rounding (a float32 GEMM is not silently used)', () => {
    const a = tensor([1 + 2 ** -10, 1], [1, 2]);
    const b = tensor([1, 1], [2, 1]);
    expect(matmul(a, b).data()[0]).toBe(2 + 2 ** -10);
    expect(matmul(a, b, { precision: 'bf16' }).data()[0]).toBe(2);
  });

  it("reports the path cpuFeatures().bf16Gemm names and validates options.precision", () => {
    const want = f.bestIsa === 'amx' ? ['amx', 'avx512bf16'] : f.avx512bf16 && best >= 2 ? ['avx512bf16'] : ['emulated'];
    expect(want).toContain(cpuFeatures().bf16Gemm);
    expect(cpuFeatures().amxEmulation).toBe(false);
    setMaxIsa('avx2');
    expect(cpuFeatures().bf16Gemm).toBe('emulated');
    setMaxIsa(null);
    const a = tensor([1, 2], [1, 2]);
    expect(() => matmul(a, a, { transposeB: true, precision: 'fp16' as never })).toThrow(
      "Expected one of 'float32', 'bf16' for options.precision",
    );
  });
});

describe('setAmxEmulation (test hook)', () => {
  if (!amxEmulated) {
    it('does nothing where the CPU has AMX or lacks AVX512-BF16', () => {
      const before = cpuFeatures();
      expect(setAmxEmulation(true)).toBe(false);
      expect(cpuFeatures()).toEqual(before);
      expect(cpuFeatures().amxEmulation).toBe(false);
    });
    return;
  }
  it('reports the AMX level as emulated while on, and restores everything when off', () => {
    const before = cpuFeatures();
    expect(setAmxEmulation(true)).toBe(true);
    const on = cpuFeatures();
    expect([on.bestIsa, on.isa, on.bf16Gemm, on.amxEmulation]).toEqual(['amx', 'amx', 'amx-emulated', true]);
    expect(on.amxTile).toBe(false); // what the CPU reports is unchanged
    expect(on.amxPermission).toBe(before.amxPermission); // no tile permission asked
    setMaxIsa('avx512');
    expect(cpuFeatures().bf16Gemm).toBe('avx512bf16');
    setMaxIsa(null);
    expect(setAmxEmulation(false)).toBe(false);
    expect(cpuFeatures()).toEqual(before);
  });

  it('rejects a non-boolean', () => {
    expect(() => setAmxEmulation(1 as never)).toThrow('Expected a boolean for on but received 1');
  });
});
