/**
 * A small seeded pseudo-random generator for everything that must be reproducible from a seed
 * (shuffles, splits, initialisation in tests): xoshiro128** 1.1 (Blackman & Vigna,
 * https://prng.di.unimi.it/xoshiro128starstar.c), seeded through splitmix32 so that nearby seeds
 * give unrelated streams. 32-bit integer arithmetic only (Math.imul), identical on every platform.
 */
import * as v from '../validate';

/** A seeded random stream. */
export interface Rng {
  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number;
  /** A float in [0, 1) with 32 random bits. */
  next(): number;
  /** An integer in [0, n) without modulo bias. */
  int(n: number): number;
  /** A standard normal sample (Box-Muller). */
  normal(): number;
}

class Xoshiro128ss implements Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;
  #spare: number | null = null;

  constructor(seed: number) {
    // splitmix32 expands one seed into four state words; mixing the high half of the seed in
    // keeps seeds above 2^32 distinct.
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) >>> 0, 0x9e3779b9);
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#s0 = next();
    this.#s1 = next();
    this.#s2 = next();
    this.#s3 = next();
    // The all-zero state is a fixed point; splitmix32 cannot produce four zeros, but be safe.
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  nextUint32(): number {
    const s1 = this.#s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return r;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  int(n: number): number {
    if (!(n > 0 && n <= 4294967296 && Number.isInteger(n))) throw v.rangeError('an integer in [1, 2^32]', 'n', n);
    // Rejection sampling: discard the top partial block so every residue is equally likely.
    const limit = 4294967296 - (4294967296 % n);
    let r = this.nextUint32();
    while (r >= limit) r = this.nextUint32();
    return r % n;
  }

  normal(): number {
    if (this.#spare !== null) {
      const s = this.#spare;
      this.#spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const w = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * w);
    return r * Math.cos(2 * Math.PI * w);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * Creates a seeded generator (xoshiro128**). The same seed always gives the same stream.
 * @param seed any safe integer (negative seeds are allowed)
 * @throws TypeError when seed is not a number; RangeError when it is not a safe integer.
 * @example const rng = createRng(42); const i = rng.int(10);
 */
export function createRng(seed: number): Rng {
  v.integer('seed', seed, Number.MIN_SAFE_INTEGER);
  return new Xoshiro128ss(seed);
}

/**
 * Shuffles an array or typed array in place (Fisher-Yates) and returns it.
 * @example shuffleInPlace([1, 2, 3], createRng(1));
 */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(arr: T, rng: Rng): T {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = arr[i];
    arr[i] = arr[j];
    arr[j] = tmp;
  }
  return arr;
}

/**
 * A random permutation of 0..n-1.
 * @param rng a generator, or a seed for a fresh one
 * @throws RangeError when n is not a non-negative integer.
 * @example permutation(5, 7) // e.g. Int32Array [3, 0, 4, 1, 2]
 */
export function permutation(n: number, rng: Rng | number): Int32Array {
  v.integer('n', n, 0, 2 ** 31 - 1);
  const r = typeof rng === 'number' ? createRng(rng) : rng;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return shuffleInPlace(out, r);
}
