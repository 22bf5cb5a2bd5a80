/**
 * bf16 x bf16 -> fp32 GEMM ("gemm_bf16_f32", native/kernels/gemm_bf16.cc) against float64 on
 * awkward shapes: the AVX512-BF16 path (vdpbf16ps; dispatched at the AVX-512 level when the CPU has
 * AVX512-BF16), the emulation (forced with setMaxIsa('avx2') / setForcePortable), and the _ref.
 *
 * Bounds, per element, with S = sum_p |a_p b_p| and S' the same over the bf16-rounded operands:
 *  - against the float64 product of the bf16-ROUNDED inputs: every product of two bf16 values is
 *    exact in fp32 (8 + 8 significand bits <= 24), so the only error is fp32 summation of k terms:
 *    |c - ref| <= gamma_k S' with gamma_k = k u / (1 - k u), u = 2^-24 (Higham, Accuracy and
 *    Stability of Numerical Algorithms, 2nd ed., eq. 3.5); tested as (k + 2) u S'.
 *  - against the float64 product of the ORIGINAL inputs: round-to-nearest-even to bf16 has unit
 *    roundoff 2^-8, so |bf16(a) bf16(b) - a b| <= (2 * 2^-8 + 2^-16) |a b|, and
 *    |c - exact| <= (2^-7 + 2^-16) S + (k + 2) u (1 + 2^-8)^2 S.
 * The hardware path may flush subnormals (inputs here are O(1), so none occur).
 */
import { cpuFeatures, setForcePortable, setMaxIsa, setNumThreads, getNumThreads } from '../../lib/runtime';
import { makeRng, randUniform } from '../helpers/numerics';
import { call, nbuf, read } from './kernel-call';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** Round to the nearest bfloat16, ties to even (the kernel's rounding), as a JS number. */
function bf16(x: number): number {
  f32[0] = x;
  let u = u32[0];
  u = (u + 0x7fff + ((u >>> 16) & 1)) >>> 0;
  u32[0] = (u & 0xffff0000) >>> 0;
  return f32[0];
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 17, 3],
  [7, 13, 31],
  [13, 31, 7],
  [16, 16, 16],
  [33, 65, 127],
  [5, 3, 257],
  [64, 48, 100],
];
const U = 2 ** -24;

const f = cpuFeatures();
const PATHS = [
  { name: f.avx512bf16 ? 'AVX512-BF16 vdpbf16ps (dispatched)' : 'dispatched (emulation: no AVX512-BF16 here)', isa: null, portable: false, useRef: false },
  { name: 'emulation (AVX2 level forced)', isa: 'avx2' as const, portable: false, useRef: false },
  { name: 'emulation (portable)', isa: null, portable: true, useRef: false },
  { name: 'gemm_bf16_f32 _ref', isa: null, portable: false, useRef: true },
];
const notExercised = [
  ...(f.avx512bf16 ? [] : ['AVX512-BF16 vdpbf16ps']),
  'AMX-BF16 tiles (not implemented)',
];
console.log(`bf16 GEMM: paths NOT exercised on this CPU: ${notExercised.join(', ')}`);

const threads0 = getNumThreads();
afterEach(() => {
  setMaxIsa(null);
  setForcePortable(false);
  setNumThreads(threads0);
});

describe.each(PATHS)('gemm_bf16_f32: $name', ({ isa, portable, useRef }) => {
  it('is within the derived bf16 bounds of float64 on awkward shapes', () => {
    setMaxIsa(isa);
    setForcePortable(portable);
    const rng = makeRng();
    for (const [m, n, k] of SHAPES) {
      const a = randUniform(m * k, 1, 0, rng);
      const b = randUniform(k * n, 1, 0, rng);
      const ab = nbuf(a);
      const bb = nbuf(b);
      const cb = nbuf(m * n);
      call('gemm_bf16_f32', useRef, [ab, bb, cb], [m, n, k]);
      const c = read(cb, m * n);
      for (const x of [ab, bb, cb]) x.dispose();
      let worstRounded = 0;
      let worstExact = 0;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let refR = 0;
          let sR = 0;
          let exact = 0;
          let s = 0;
          for (let p = 0; p < k; p++) {
            const x = a[i * k + p];
            const y = b[p * n + j];
            const pr = bf16(x) * bf16(y);
            refR += pr;
            sR += Math.abs(pr);
            exact += x * y;
            s += Math.abs(x * y);
          }
          const got = c[i * n + j];
          const boundR = (k + 2) * U * sR + 1e-30;
          const boundE = (2 ** -7 + 2 ** -16) * s + (k + 2) * U * (1 + 2 ** -8) ** 2 * s + 1e-30;
          worstRounded = Math.max(worstRounded, Math.abs(got - refR) / boundR);
          worstExact = Math.max(worstExact, Math.abs(got - exact) / boundE);
        }
      }
      if (!(worstRounded <= 1)) throw new Error(`${m}x${n}x${k}: ${worstRounded} of the fp32-summation bound`);
      if (!(worstExact <= 1)) throw new Error(`${m}x${n}x${k}: ${worstExact} of the bf16 bound`);
    }
  });

  it('rounds operands to nearest even (bf16 inputs are reproduced exactly; 1 + 2^-8 ties to 1)', () => {
    setMaxIsa(isa);
    setForcePortable(portable);
    // A = [1 + 2^-8, 1 + 3 * 2^-8] rounds to [1, 1 + 2^-6 ... ] under RNE: check against the JS rounding.
    const a = new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.140625, -2.5]);
    const b = new Float32Array([1, 1, 1, 1]);
    const ab = nbuf(a);
    const bb = nbuf(b);
    const cb = nbuf(4);
    call('gemm_bf16_f32', useRef, [ab, bb, cb], [4, 1, 1]);
    expect(Array.from(read(cb, 4))).toEqual(Array.from(a, bf16));
    expect(bf16(1 + 2 ** -8)).toBe(1);
    expect(bf16(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6);
    for (const x of [ab, bb, cb]) x.dispose();
  });
});

describe('gemm_bf16_f32 paths agree', () => {
  it('hardware and emulation see the same rounded inputs (differences only from fp32 summation order)', () => {
    const rng = makeRng();
    const [m, n, k] = [9, 37, 65];
    const a = randUniform(m * k, 1, 0, rng);
    const b = randUniform(k * n, 1, 0, rng);
    const run = (level: 'avx2' | null): Float32Array => {
      setMaxIsa(level);
      const ab = nbuf(a);
      const bb = nbuf(b);
      const cb = nbuf(m * n);
      call('gemm_bf16_f32', false, [ab, bb, cb], [m, n, k]);
      const out = read(cb, m * n);
      for (const x of [ab, bb, cb]) x.dispose();
      return out;
    };
    const hw = run(null);
    const em = run('avx2');
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += Math.abs(bf16(a[i * k + p]) * bf16(b[p * n + j]));
        expect(Math.abs(hw[i * n + j] - em[i * n + j])).toBeLessThanOrEqual(2 * (k + 2) * U * s);
      }
  });

  it('rejects short buffers in the message template', () => {
    const ab = nbuf(3);
    expect(() => call('gemm_bf16_f32', false, [ab, ab, ab], [2, 2, 2])).toThrow(
      'Expected at least 4 elements for buffer 0 of gemm_bf16_f32 but received 3',
    );
    ab.dispose();
  });
});
