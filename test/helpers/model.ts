/**
 * Shared helpers for the model and engine tests: a seeded float64 random source, float64 matrix
 * helpers, relative errors, and the gradient probes built on the public API (the engine exposes no
 * gradient getter, so the analytic gradient is read back from one SGD step with lr = 1 and the
 * numerical one from central differences of the training-mode loss that trainOnBatch reports).
 */
import { Model, NamedWeights, sgd } from '../../lib';

/** mulberry32: a small seeded generator, independent of the library's own RNG. */
export function makeRng(seed: number): { next(): number; normal(): number; int(n: number): number } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    normal: () => {
      const u = Math.max(next(), 1e-12);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    int: (n) => Math.floor(next() * n),
  };
}

/** rows x cols matrix of N(0, scale^2) values (already rounded to float32). */
export function randMatrix(rng: ReturnType<typeof makeRng>, rows: number, cols: number, scale = 1): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.fround(rng.normal() * scale)));
}

/** One-hot rows of random classes. */
export function randOneHot(rng: ReturnType<typeof makeRng>, rows: number, k: number): { onehot: number[][]; labels: number[] } {
  const labels = Array.from({ length: rows }, () => rng.int(k));
  return { labels, onehot: labels.map((c) => Array.from({ length: k }, (_, j) => (j === c ? 1 : 0))) };
}

/** ||a - b|| / ||b|| (with `floor` added to the denominator for gradients that are near zero). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / (Math.sqrt(den) + floor);
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Deep copy of named weights. */
export function cloneWeights(w: NamedWeights): NamedWeights {
  const out: NamedWeights = {};
  for (const [k, v] of Object.entries(w)) out[k] = { shape: [...v.shape], data: v.data.slice() };
  return out;
}

/** Names of trainable parameters (moving statistics excluded). */
export function trainableNames(w: NamedWeights): string[] {
  return Object.keys(w).filter((k) => !k.endsWith('/moving_mean') && !k.endsWith('/moving_variance'));
}

export interface GradCheck {
  /** Per parameter: analytic and numerical gradient and their relative error. */
  params: Record<string, { analytic: Float64Array; numeric: Float64Array; rel: number }>;
  loss: number;
}

/**
 * Compares the analytic gradient (one SGD step with lr 1 from the same weights: g = W - W_new,
 * exact up to one float32 rounding of W) with central differences of the training-mode loss
 * (trainOnBatch with lr 0 leaves the trainable weights unchanged and reports the loss computed
 * before the update). The model is recompiled with each optimizer; weights are restored after.
 */
export async function gradCheck(m: Model, loss: unknown, x: number[][], y: number[][] | number[], h = 2e-3): Promise<GradCheck> {
  const w0 = cloneWeights(m.getWeights());
  const names = trainableNames(w0);
  // Analytic.
  m.compile({ optimizer: sgd({ lr: 1 }), loss: loss as never });
  m.setWeights(w0);
  const { loss: l0 } = await m.trainOnBatch(x, y);
  const w1 = m.getWeights();
  // Numerical.
  m.compile({ optimizer: sgd({ lr: 0 }), loss: loss as never });
  const params: GradCheck['params'] = {};
  for (const name of names) {
    const n = w0[name].data.length;
    const analytic = new Float64Array(n);
    const numeric = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      analytic[i] = w0[name].data[i] - w1[name].data[i];
      const base = w0[name].data[i];
      // Step by exactly representable amounts so that the evaluated points are what we divide by.
      const plus = Math.fround(base + h);
      const minus = Math.fround(base - h);
      const w = cloneWeights(w0);
      w[name].data[i] = plus;
      m.setWeights(w);
      const lp = (await m.trainOnBatch(x, y)).loss;
      w[name].data[i] = minus;
      m.setWeights(w);
      const lm = (await m.trainOnBatch(x, y)).loss;
      numeric[i] = (lp - lm) / (plus - minus);
    }
    params[name] = { analytic, numeric, rel: NaN };
  }
  // Relative errors with a floor of 1% of the whole gradient's norm: a parameter whose true
  // gradient is exactly zero (a bias feeding batch normalisation) only carries float32 noise,
  // while a sign or factor error anywhere that matters still fails.
  let total = 0;
  for (const p of Object.values(params)) for (const g of p.numeric) total += g * g;
  const floor = Math.max(1e-3, 0.01 * Math.sqrt(total));
  for (const [name, p] of Object.entries(params)) {
    p.rel = relErr(p.analytic, p.numeric, floor);
    if (process.env.GRADCHECK_LOG) console.log(`${name} rel ${p.rel.toExponential(2)} norm ${Math.hypot(...p.numeric).toExponential(2)}`);
  }
  m.setWeights(w0);
  return { params, loss: l0 };
}

/** Flattens named weights into one Float64Array in key order (for whole-model comparisons). */
export function flat(w: NamedWeights, names = Object.keys(w)): Float64Array {
  const total = names.reduce((s, k) => s + w[k].data.length, 0);
  const out = new Float64Array(total);
  let o = 0;
  for (const k of names) {
    out.set(w[k].data, o);
    o += w[k].data.length;
  }
  return out;
}

/** Bit-identical comparison of two sets of weights. */
export function sameBits(a: NamedWeights, b: NamedWeights): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.join('|') !== kb.join('|')) return false;
  for (const k of ka) {
    const x = new Uint32Array(a[k].data.buffer, a[k].data.byteOffset, a[k].data.length);
    const y = new Uint32Array(b[k].data.buffer, b[k].data.byteOffset, b[k].data.length);
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  return true;
}
