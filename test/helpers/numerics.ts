/**
 * The one numerics helper of the test suite: seeded random inputs and the one definition of
 * relative error, ||out - ref|| / max(||ref||, floor), that every parity and gradient test uses.
 * `floor` keeps the error meaningful when the reference itself is near zero (a product whose
 * terms cancel, a gradient that vanishes): pass a scale typical of the inputs, never 0 for
 * results that can cancel.
 */

/** mulberry32: a small seeded generator, independent of the library's own RNG. */
export function makeRng(seed: number = (Math.random() * 2 ** 32) >>> 0): {
  seed: number;
  next(): number;
  normal(): number;
  int(n: number): number;
} {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    normal: () => {
      const u = Math.max(next(), 1e-12);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    int: (n) => Math.floor(next() * n),
  };
}
export type Rng = ReturnType<typeof makeRng>;

/** n float32 values uniform in [offset - scale, offset + scale) (fresh each call unless rng is seeded). */
export function randUniform(n: number, scale = 1, offset = 0, rng: Rng = makeRng()): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = offset + scale * (rng.next() * 2 - 1);
  return a;
}

/** n float32 values N(offset, scale^2). */
export function randNormal(n: number, scale = 1, offset = 0, rng: Rng = makeRng()): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = offset + scale * rng.normal();
  return a;
}

/** ||out - ref|| / max(||ref||, floor). Lengths must match. */
export function relErr(out: ArrayLike<number>, ref: ArrayLike<number>, floor = 0): number {
  if (out.length !== ref.length) throw new Error(`relErr: length mismatch ${out.length} vs ${ref.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (out[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  const d = Math.max(Math.sqrt(den), floor);
  return d === 0 ? Math.sqrt(num) : Math.sqrt(num) / d;
}

/** The largest elementwise |out - ref| / max(|ref|, floor). */
export function maxRelErr(out: ArrayLike<number>, ref: ArrayLike<number>, floor = 1e-6): number {
  if (out.length !== ref.length) throw new Error(`maxRelErr: length mismatch ${out.length} vs ${ref.length}`);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(out[i] - ref[i]) / Math.max(Math.abs(ref[i]), floor));
  return worst;
}

/** Awkward sizes for parity tests: 1, primes, and values just off the kernels' tiles. */
export const AWKWARD_SIZES = [1, 2, 3, 5, 7, 13, 17, 31, 33, 63, 65, 127, 257] as const;

const bf16Bits = new Float32Array(1);
const bf16Word = new Uint32Array(bf16Bits.buffer);
/** x rounded to the nearest bfloat16 (ties to even), as the bf16 kernels round their operands. */
export function bf16Round(x: number): number {
  bf16Bits[0] = x;
  bf16Word[0] = ((bf16Word[0] + 0x7fff + ((bf16Word[0] >>> 16) & 1)) & 0xffff0000) >>> 0;
  return bf16Bits[0];
}
