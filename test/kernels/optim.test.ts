/**
 * Fused optimizer steps (native/kernels/optim.cc) against float64 implementations of PyTorch's
 * documented update rules (torch.optim.SGD, Adam, AdamW, RMSprop, Adagrad "Algorithm" boxes),
 * written here independently of the kernels. Every variant — the fast kernel, the forced-portable
 * path and the scalar _ref twin, on 1 and 2 threads — runs 5 consecutive steps with fresh random
 * gradients on awkward sizes and is compared by relative error ||out - ref|| / ||ref|| on the
 * parameters and on every state array. Hyperparameters are rounded to float32 in the reference,
 * because the kernels take float32 hyperparameters.
 *
 * The inputs are drawn well-conditioned so that the comparison measures the kernels' rounding and
 * not cancellation in the data: every element keeps the sign of its gradient over the steps and
 * |grad| >= 0.5 (so momentum, moments and g + wd*p never cancel towards 0, and RMSprop's g / avg
 * never divides two rounding errors), and parameters start at |p| >= 2 (the few steps move them by
 * much less), which keeps 1-element relative errors meaningful.
 */
import {
  adagradStep,
  adamStep,
  adamwStep,
  createAdagradState,
  createAdamState,
  createRmspropState,
  createSgdState,
  disposeOptimizerState,
  rmspropStep,
  sgdStep,
  tensor,
  Tensor,
} from '../../lib';
import { binding, NativeBuffer } from '../../lib/native';
import { getNumThreads, setForcePortable, setNumThreads } from '../../lib/runtime';

// Globals are read once: inside jest's vm context every global lookup in a hot loop is slow.
const { fround: F, sqrt, log, cos, abs, imul, max, PI } = Math;
const isFiniteNumber = Number.isFinite;
const same = Object.is;
const STEPS = 5;
const SIZES = [1, 7, 1000, 100003];
// float32 rounding of each operation accumulates over the steps to a few 1e-7 typically; a rare
// draw with one element (no averaging over elements) reaches a few 1e-6 through cancellation in
// p - lr * update, so the bound leaves that room (a wrong update rule is off by far more).
const BOUND = 1e-5;

// ---- random inputs ------------------------------------------------------------------------------
const seed = (Math.random() * 2 ** 31) >>> 0;
let rngState = seed;
function rand(): number {
  // mulberry32
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = imul(t ^ (t >>> 15), t | 1);
  t ^= t + imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function randn(n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - rand();
    out[i] = scale * sqrt(-2 * log(u)) * cos(2 * PI * rand());
  }
  return out;
}

/** Parameters of random sign with |p| >= 2. */
function randParams(n: number): Float32Array {
  const out = randn(n);
  for (let i = 0; i < n; i++) out[i] = (out[i] < 0 ? -2 : 2) + out[i];
  return out;
}
/** A random sign per element (kept over the steps of one test). */
function randSigns(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rand() < 0.5 ? -1 : 1;
  return out;
}
/** Gradients with the given signs and magnitudes scale * (0.5 + |N(0, 1)|). */
function randGrad(signs: Float32Array, scale = 1): Float32Array {
  const out = randn(signs.length);
  for (let i = 0; i < out.length; i++) out[i] = signs[i] * scale * (0.5 + abs(out[i]));
  return out;
}
/** Exact element equality (typed arrays from the addon come from another realm than jest's). */
function expectSame(what: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!same(got[i], want[i])) throw new Error(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
  }
}

function relErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = got[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  if (den === 0) return sqrt(num);
  return sqrt(num / den);
}

let worst = 0;
function expectClose(what: string, got: ArrayLike<number>, ref: ArrayLike<number>, bound = BOUND): void {
  expect(got.length).toBe(ref.length);
  for (let i = 0; i < got.length; i++) {
    if (!isFiniteNumber(got[i])) throw new Error(`${what}: non-finite value ${got[i]} at ${i} (seed ${seed})`);
  }
  const e = relErr(got, ref);
  worst = max(worst, e);
  if (!(e <= bound)) throw new Error(`${what}: relative error ${e} exceeds ${bound} (seed ${seed})`);
}

// ---- float64 references (PyTorch's algorithms) ----------------------------------------------------
interface SgdHp {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
  maximize?: boolean;
  gradScale?: number;
}
function sgdRef(hp: SgdHp, p: Float64Array, grad: Float32Array, buf: Float64Array, t: number): void {
  const lr = F(hp.lr), mom = F(hp.momentum ?? 0), damp = F(hp.dampening ?? 0), wd = F(hp.weightDecay ?? 0);
  const gs = F(hp.gradScale ?? 1);
  for (let i = 0; i < p.length; i++) {
    let g = gs * grad[i];
    if (hp.maximize) g = -g;
    if (wd !== 0) g += wd * p[i];
    if (mom !== 0) {
      buf[i] = t === 1 ? g : mom * buf[i] + (1 - damp) * g;
      g = hp.nesterov ? g + mom * buf[i] : buf[i];
    }
    p[i] -= lr * g;
  }
}

interface AdamHp {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  decoupled?: boolean;
  amsgrad?: boolean;
  maximize?: boolean;
  gradScale?: number;
}
function adamRef(hp: AdamHp, p: Float64Array, grad: Float32Array, m: Float64Array, v: Float64Array, vmax: Float64Array, t: number): void {
  const lr = F(hp.lr), b1 = F(hp.beta1 ?? 0.9), b2 = F(hp.beta2 ?? 0.999), eps = F(hp.eps ?? 1e-8);
  const wd = F(hp.weightDecay ?? 0), gs = F(hp.gradScale ?? 1);
  const bc1 = 1 - b1 ** t, bc2 = 1 - b2 ** t;
  for (let i = 0; i < p.length; i++) {
    let g = gs * grad[i];
    if (hp.maximize) g = -g;
    if (wd !== 0) {
      if (hp.decoupled) p[i] *= 1 - lr * wd;
      else g += wd * p[i];
    }
    m[i] = b1 * m[i] + (1 - b1) * g;
    v[i] = b2 * v[i] + (1 - b2) * g * g;
    let vhat = v[i];
    if (hp.amsgrad) {
      vmax[i] = max(vmax[i], v[i]);
      vhat = vmax[i];
    }
    const mhat = m[i] / bc1;
    p[i] -= (lr * mhat) / (sqrt(vhat / bc2) + eps);
  }
}

interface RmspropHp {
  lr: number;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  centered?: boolean;
  maximize?: boolean;
  gradScale?: number;
}
function rmspropRef(hp: RmspropHp, p: Float64Array, grad: Float32Array, sq: Float64Array, buf: Float64Array, gavg: Float64Array): void {
  const lr = F(hp.lr), a = F(hp.alpha ?? 0.99), eps = F(hp.eps ?? 1e-8), wd = F(hp.weightDecay ?? 0);
  const mom = F(hp.momentum ?? 0), gs = F(hp.gradScale ?? 1);
  for (let i = 0; i < p.length; i++) {
    let g = gs * grad[i];
    if (hp.maximize) g = -g;
    if (wd !== 0) g += wd * p[i];
    sq[i] = a * sq[i] + (1 - a) * g * g;
    let avg: number;
    if (hp.centered) {
      gavg[i] = a * gavg[i] + (1 - a) * g;
      avg = sqrt(sq[i] - gavg[i] * gavg[i]) + eps;
    } else {
      avg = sqrt(sq[i]) + eps;
    }
    if (mom > 0) {
      buf[i] = mom * buf[i] + g / avg;
      p[i] -= lr * buf[i];
    } else {
      p[i] -= (lr * g) / avg;
    }
  }
}

interface AdagradHp {
  lr: number;
  lrDecay?: number;
  weightDecay?: number;
  eps?: number;
  maximize?: boolean;
  gradScale?: number;
}
function adagradRef(hp: AdagradHp, p: Float64Array, grad: Float32Array, sum: Float64Array, t: number): void {
  const lr = F(hp.lr), decay = F(hp.lrDecay ?? 0), wd = F(hp.weightDecay ?? 0), eps = F(hp.eps ?? 1e-10);
  const gs = F(hp.gradScale ?? 1);
  const clr = lr / (1 + (t - 1) * decay);
  for (let i = 0; i < p.length; i++) {
    let g = gs * grad[i];
    if (hp.maximize) g = -g;
    if (wd !== 0) g += wd * p[i];
    sum[i] += g * g;
    p[i] -= (clr * g) / (sqrt(sum[i]) + eps);
  }
}

// ---- configurations -----------------------------------------------------------------------------
const SGD_CASES: SgdHp[] = [
  { lr: 0.1 },
  { lr: 0.1, weightDecay: 0.01, gradScale: 0.5 },
  { lr: 0.05, momentum: 0.9 },
  { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-3 },
  { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 },
  { lr: 0.05, momentum: 0.5, nesterov: true, maximize: true, gradScale: 0.25 },
];
const ADAM_CASES: AdamHp[] = [
  { lr: 1e-2 },
  { lr: 1e-2, weightDecay: 0.01 },
  { lr: 1e-2, weightDecay: 0.1, decoupled: true },
  { lr: 1e-2, amsgrad: true },
  { lr: 1e-2, amsgrad: true, decoupled: true, weightDecay: 0.05, maximize: true },
  { lr: 3e-3, beta1: 0.5, beta2: 0.9, eps: 1e-6, weightDecay: 0.02, gradScale: 0.25 },
];
const RMSPROP_CASES: RmspropHp[] = [
  { lr: 1e-2 },
  { lr: 1e-3, centered: true },
  { lr: 1e-2, momentum: 0.9 },
  { lr: 1e-3, centered: true, momentum: 0.9, weightDecay: 0.01, maximize: true },
  { lr: 1e-2, alpha: 0.9, eps: 1e-6, weightDecay: 0.05, gradScale: 2 },
];
const ADAGRAD_CASES: (AdagradHp & { init?: number })[] = [
  { lr: 0.1 },
  { lr: 0.1, lrDecay: 0.01, init: 0.1 },
  { lr: 0.05, weightDecay: 0.01, maximize: true, gradScale: 0.5, eps: 1e-6, init: 0.5 },
];

type Variant = { name: string; threads: number; portable: boolean; useRef: boolean };
const VARIANTS: Variant[] = [
  { name: 'fast, 1 thread', threads: 1, portable: false, useRef: false },
  { name: 'fast, 2 threads', threads: 2, portable: false, useRef: false },
  { name: 'portable, 1 thread', threads: 1, portable: true, useRef: false },
  { name: 'portable, 2 threads', threads: 2, portable: true, useRef: false },
  { name: '_ref', threads: 1, portable: false, useRef: true },
];

// ---- binding-level harness ----------------------------------------------------------------------
const b = binding();
function buf(init: Float32Array | number, n: number): NativeBuffer {
  const x = new b.NativeBuffer(0, n);
  if (typeof init === 'number') {
    if (init !== 0 && n > 0) x.write(new Float32Array(n).fill(init));
  } else if (n > 0) {
    x.write(init);
  }
  return x;
}
function read(x: NativeBuffer): Float32Array {
  return x.read() as Float32Array;
}
const f64 = (a: Float32Array): Float64Array => Float64Array.from(a);

const savedThreads = getNumThreads();
function applyVariant(v: Variant): void {
  setNumThreads(v.threads);
  setForcePortable(v.portable);
}
afterEach(() => {
  setNumThreads(savedThreads);
  setForcePortable(false);
});
afterAll(() => {
  // Reported so the bound above can be judged against what the kernels achieve.
  // eslint-disable-next-line no-console
  console.log(`optim kernels: worst relative error ${worst.toExponential(2)} (bound ${BOUND}, seed ${seed})`);
});

describe.each(VARIANTS)('fused optimizer kernels ($name)', (variant) => {
  beforeEach(() => applyVariant(variant));

  it.each(SGD_CASES.map((hp) => [JSON.stringify(hp), hp] as const))('SGD %s', (_label, hp) => {
    for (const n of SIZES) {
      const p0 = randParams(n), signs = randSigns(n);
      const p = buf(p0, n), g = buf(0, n), mb = buf(0, n);
      const rp = f64(p0), rb = new Float64Array(n);
      for (let t = 1; t <= STEPS; t++) {
        const grad = randGrad(signs);
        g.write(grad);
        b.sgdStep(p, g, hp.momentum ? mb : null, undefined, { ...hp, step: t }, variant.useRef);
        sgdRef(hp, rp, grad, rb, t);
        expectSame('SGD gradient', read(g), grad); // the gradient is never modified
      }
      expectClose(`SGD n=${n} param`, read(p), rp);
      if (hp.momentum) expectClose(`SGD n=${n} momentum`, read(mb), rb);
    }
  });

  it.each(ADAM_CASES.map((hp) => [JSON.stringify(hp), hp] as const))('Adam %s', (_label, hp) => {
    for (const n of SIZES) {
      const p0 = randParams(n), signs = randSigns(n);
      const p = buf(p0, n), g = buf(0, n), m = buf(0, n), v = buf(0, n), vm = buf(0, n);
      const rp = f64(p0), rm = new Float64Array(n), rv = new Float64Array(n), rvm = new Float64Array(n);
      for (let t = 1; t <= STEPS; t++) {
        // Shrinking gradients make v decay, so AMSGrad's max differs from v.
        const grad = randGrad(signs, 1 / t);
        g.write(grad);
        b.adamStep(p, g, m, v, hp.amsgrad ? vm : null, undefined, { ...hp, step: t }, variant.useRef);
        adamRef(hp, rp, grad, rm, rv, rvm, t);
      }
      expectClose(`Adam n=${n} param`, read(p), rp);
      expectClose(`Adam n=${n} m`, read(m), rm);
      expectClose(`Adam n=${n} v`, read(v), rv);
      if (hp.amsgrad) expectClose(`Adam n=${n} vmax`, read(vm), rvm);
    }
  });

  it.each(RMSPROP_CASES.map((hp) => [JSON.stringify(hp), hp] as const))('RMSprop %s', (_label, hp) => {
    for (const n of SIZES) {
      const p0 = randParams(n), signs = randSigns(n);
      const p = buf(p0, n), g = buf(0, n), sq = buf(0, n), mb = buf(0, n), ga = buf(0, n);
      const rp = f64(p0), rsq = new Float64Array(n), rmb = new Float64Array(n), rga = new Float64Array(n);
      for (let t = 1; t <= STEPS; t++) {
        const grad = randGrad(signs);
        g.write(grad);
        b.rmspropStep(p, g, sq, hp.momentum ? mb : null, hp.centered ? ga : null, undefined, { ...hp, step: t }, variant.useRef);
        rmspropRef(hp, rp, grad, rsq, rmb, rga);
      }
      expectClose(`RMSprop n=${n} param`, read(p), rp);
      expectClose(`RMSprop n=${n} sq`, read(sq), rsq);
      if (hp.momentum) expectClose(`RMSprop n=${n} momentum`, read(mb), rmb);
      if (hp.centered) expectClose(`RMSprop n=${n} grad avg`, read(ga), rga);
    }
  });

  it.each(ADAGRAD_CASES.map((hp) => [JSON.stringify(hp), hp] as const))('Adagrad %s', (_label, hp) => {
    for (const n of SIZES) {
      const p0 = randParams(n), signs = randSigns(n);
      const init = hp.init ?? 0;
      const p = buf(p0, n), g = buf(0, n), sum = buf(init, n);
      const rp = f64(p0), rsum = new Float64Array(n).fill(F(init));
      const { init: _init, ...kernelHp } = hp;
      for (let t = 1; t <= STEPS; t++) {
        const grad = randGrad(signs);
        g.write(grad);
        b.adagradStep(p, g, sum, undefined, { ...kernelHp, step: t }, variant.useRef);
        adagradRef(hp, rp, grad, rsum, t);
      }
      expectClose(`Adagrad n=${n} param`, read(p), rp);
      expectClose(`Adagrad n=${n} sum`, read(sum), rsum);
    }
  });

  it('updates only the first n elements when n < length, and accepts n = 0', () => {
    const n = 70001;
    const p0 = randn(n + 5);
    const p = buf(p0, n + 5), g = buf(randn(n + 5), n + 5), m = buf(0, n + 5), v = buf(0, n + 5);
    b.adamStep(p, g, m, v, null, 0, { lr: 0.1, step: 1 }, variant.useRef);
    expectSame('n = 0', read(p), p0);
    b.adamStep(p, g, m, v, null, n, { lr: 0.1, step: 1 }, variant.useRef);
    const after = read(p);
    expectSame('tail', after.subarray(n), p0.subarray(n));
    expect(after[n - 1]).not.toBe(p0[n - 1]);
  });
});

// ---- the public Tensor API ----------------------------------------------------------------------
describe('optimizer steps on Tensors', () => {
  const shapes = [[7], [3, 11], [1], [0], [1000, 101]];
  const sizes = shapes.map((s) => s.reduce((a, x) => a * x, 1));
  const signs = sizes.map(randSigns);
  const make = (): { ps: Tensor[]; p0: Float32Array[] } => {
    const p0 = sizes.map(randParams);
    return { ps: p0.map((d, i) => tensor(d, shapes[i])), p0 };
  };
  const grads = (): { gs: Tensor[]; gd: Float32Array[] } => {
    const gd = signs.map((s) => randGrad(s));
    return { gs: gd.map((d, i) => tensor(d, shapes[i])), gd };
  };

  it.each([1, 2])('sgdStep with a list of parameters matches the reference (%i threads)', (threads) => {
    setNumThreads(threads);
    const hp = { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 };
    const { ps, p0 } = make();
    const state = createSgdState(ps, { momentum: 0.9 });
    const rp = p0.map(f64), rb = p0.map((x) => new Float64Array(x.length));
    for (let t = 1; t <= STEPS; t++) {
      const { gs, gd } = grads();
      sgdStep(ps, gs, state, hp);
      gd.forEach((g, i) => sgdRef(hp, rp[i], g, rb[i], t));
      gs.forEach((g, i) => expectSame(`grads[${i}]`, g.data(), gd[i]));
    }
    expect(state.step).toBe(STEPS);
    ps.forEach((p, i) => expectClose(`sgdStep param ${i}`, p.data(), rp[i]));
    state.momentumBuffer!.forEach((x, i) => expectClose(`sgdStep momentum ${i}`, x.data(), rb[i]));
  });

  it('sgdStep creates the momentum buffer when momentum is turned on later, starting it from the gradient', () => {
    const { ps, p0 } = make();
    const state = createSgdState(ps);
    expect(state.momentumBuffer).toBeNull();
    const rp = p0.map(f64), rb = p0.map((x) => new Float64Array(x.length));
    const plain = { lr: 0.1 }, heavy = { lr: 0.05, momentum: 0.8, dampening: 0.3 };
    for (let t = 1; t <= 4; t++) {
      const hp = t <= 2 ? plain : heavy;
      const { gs, gd } = grads();
      sgdStep(ps, gs, state, hp);
      // PyTorch: the first step with momentum copies the gradient into the new buffer (no dampening).
      gd.forEach((g, i) => sgdRef(hp, rp[i], g, rb[i], t - 2));
    }
    expect(state.step).toBe(4);
    expect(state.momentumInitialized).toBe(true);
    ps.forEach((p, i) => expectClose(`sgd param ${i}`, p.data(), rp[i]));
    state.momentumBuffer!.forEach((x, i) => expectClose(`sgd momentum ${i}`, x.data(), rb[i]));
  });

  it.each([
    ['adamStep', { lr: 1e-2, amsgrad: true, weightDecay: 0.01 }],
    ['adamStep', { lr: 1e-2, decoupled: true, weightDecay: 0.1, maximize: true }],
    ['adamwStep', { lr: 1e-2, amsgrad: true }],
    ['adamwStep', { lr: 1e-2, weightDecay: 0.2, gradScale: 0.5 }],
  ] as const)('%s %j matches the reference', (fn, opts) => {
    const { ps, p0 } = make();
    const amsgrad = 'amsgrad' in opts && opts.amsgrad;
    const state = createAdamState(ps, { amsgrad });
    // adamwStep: decoupled, weightDecay defaults to 1e-2 as torch.optim.AdamW.
    const hp: AdamHp = fn === 'adamwStep' ? { weightDecay: 1e-2, ...opts, decoupled: true } : opts;
    const z = () => p0.map((x) => new Float64Array(x.length));
    const rp = p0.map(f64), rm = z(), rv = z(), rvm = z();
    for (let t = 1; t <= STEPS; t++) {
      const { gs, gd } = grads();
      if (fn === 'adamwStep') adamwStep(ps, gs, state, opts);
      else adamStep(ps, gs, state, opts);
      gd.forEach((g, i) => adamRef(hp, rp[i], g, rm[i], rv[i], rvm[i], t));
    }
    expect(state.step).toBe(STEPS);
    ps.forEach((p, i) => expectClose(`${fn} param ${i}`, p.data(), rp[i]));
    state.expAvg.forEach((x, i) => expectClose(`${fn} expAvg ${i}`, x.data(), rm[i]));
    state.expAvgSq.forEach((x, i) => expectClose(`${fn} expAvgSq ${i}`, x.data(), rv[i]));
    if (amsgrad) state.maxExpAvgSq!.forEach((x, i) => expectClose(`${fn} maxExpAvgSq ${i}`, x.data(), rvm[i]));
    else expect(state.maxExpAvgSq).toBeNull();
  });

  it('rmspropStep (centered, momentum) and adagradStep (lr decay, initial accumulator) match the reference', () => {
    const { ps, p0 } = make();
    const q = make();
    const rs = createRmspropState(ps, { momentum: 0.9, centered: true });
    const as = createAdagradState(q.ps, { initialAccumulatorValue: 0.2 });
    const rhp = { lr: 1e-3, momentum: 0.9, centered: true, weightDecay: 1e-3 };
    const ahp = { lr: 0.1, lrDecay: 0.05, gradScale: 0.5 };
    const z = () => p0.map((x) => new Float64Array(x.length));
    const rp = p0.map(f64), rsq = z(), rmb = z(), rga = z();
    const ap = q.p0.map(f64), asum = q.p0.map((x) => new Float64Array(x.length).fill(F(0.2)));
    for (let t = 1; t <= STEPS; t++) {
      const { gs, gd } = grads();
      rmspropStep(ps, gs, rs, rhp);
      adagradStep(q.ps, gs, as, ahp);
      gd.forEach((g, i) => {
        rmspropRef(rhp, rp[i], g, rsq[i], rmb[i], rga[i]);
        adagradRef(ahp, ap[i], g, asum[i], t);
      });
    }
    expect([rs.step, as.step]).toEqual([STEPS, STEPS]);
    ps.forEach((p, i) => expectClose(`rmsprop param ${i}`, p.data(), rp[i]));
    rs.squareAvg.forEach((x, i) => expectClose(`rmsprop squareAvg ${i}`, x.data(), rsq[i]));
    rs.momentumBuffer!.forEach((x, i) => expectClose(`rmsprop momentum ${i}`, x.data(), rmb[i]));
    rs.gradAvg!.forEach((x, i) => expectClose(`rmsprop gradAvg ${i}`, x.data(), rga[i]));
    q.ps.forEach((p, i) => expectClose(`adagrad param ${i}`, p.data(), ap[i]));
    as.sum.forEach((x, i) => expectClose(`adagrad sum ${i}`, x.data(), asum[i]));
    disposeOptimizerState(rs);
    expect(rs.squareAvg[0].disposed).toBe(true);
  });

  it('accepts a single Tensor and creates RMSprop buffers on first use', () => {
    const p0 = randParams(5);
    const w = tensor(p0);
    const state = createRmspropState(w);
    expect([state.momentumBuffer, state.gradAvg]).toEqual([null, null]);
    const gd = randGrad(randSigns(5));
    rmspropStep(w, tensor(gd), state, { lr: 0.01, momentum: 0.5, centered: true });
    const rp = f64(p0);
    rmspropRef({ lr: 0.01, momentum: 0.5, centered: true }, rp, gd, new Float64Array(5), new Float64Array(5), new Float64Array(5));
    expectClose('rmsprop single tensor', w.data(), rp);
    expect(state.momentumBuffer).toHaveLength(1);
    expect(state.gradAvg).toHaveLength(1);
  });
});

// ---- errors -------------------------------------------------------------------------------------
describe('optimizer step errors', () => {
  const w = tensor([1, 2, 3]);
  const dw = tensor([0.1, 0.2, 0.3]);

  it('validates options with exact messages', () => {
    const s = createSgdState(w);
    expect(() => sgdStep(w, dw, s, { lr: -1 })).toThrow(new RangeError('Expected a number >= 0 for lr but received -1'));
    expect(() => sgdStep(w, dw, s, { lr: '1' as unknown as number })).toThrow(new TypeError('Expected a number for lr but received "1"'));
    expect(() => sgdStep(w, dw, s, { lr: NaN })).toThrow('Expected a finite number for lr but received NaN');
    expect(() => sgdStep(w, dw, s, { lr: 1e39 })).toThrow('Expected a number within the float32 range for lr but received 1e+39');
    expect(() => sgdStep(w, dw, s, { nesterov: true })).toThrow(
      new RangeError('Expected momentum > 0 and dampening == 0 for nesterov but received momentum 0 and dampening 0'),
    );
    expect(() => sgdStep(w, dw, s, { nesterov: true, momentum: 0.9, dampening: 0.1 })).toThrow(
      'Expected momentum > 0 and dampening == 0 for nesterov but received momentum 0.9 and dampening 0.1',
    );
    expect(() => sgdStep(w, dw, s, { momentum: -0.5 })).toThrow('Expected a number >= 0 for momentum but received -0.5');
    expect(() => sgdStep(w, dw, s, { maximize: 1 as unknown as boolean })).toThrow(new TypeError('Expected a boolean for maximize but received 1'));
    expect(() => sgdStep(w, dw, s, { lrr: 1 } as unknown as { lr: number })).toThrow(
      "Expected only the options 'lr', 'momentum', 'dampening', 'nesterov', 'weightDecay', 'maximize', 'gradScale' for opts but received an option 'lrr'",
    );
    const a = createAdamState(w);
    expect(() => adamStep(w, dw, a, { beta1: 1 })).toThrow(new RangeError('Expected a number >= 0 and < 1 for beta1 but received 1'));
    expect(() => adamStep(w, dw, a, { beta2: -0.1 })).toThrow('Expected a number >= 0 and < 1 for beta2 but received -0.1');
    expect(() => adamStep(w, dw, a, { beta2: 0.99999999999 })).toThrow(
      'Expected a number >= 0 and < 1 in float32 for beta2 but received 0.99999999999',
    );
    expect(() => adamStep(w, dw, a, { eps: 0 })).toThrow('Expected a number > 0 for eps but received 0');
    expect(() => adamStep(w, dw, a, { weightDecay: -1 })).toThrow('Expected a number >= 0 for weightDecay but received -1');
    expect(() => adamwStep(w, dw, a, { decoupled: false } as unknown as { lr: number })).toThrow(
      "Expected only the options 'lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'amsgrad', 'maximize', 'gradScale' for opts but received an option 'decoupled'",
    );
    const r = createRmspropState(w);
    expect(() => rmspropStep(w, dw, r, { alpha: 1.5 })).toThrow('Expected a number >= 0 and <= 1 for alpha but received 1.5');
    expect(() => rmspropStep(w, dw, r, { centered: 'yes' as unknown as boolean })).toThrow('Expected a boolean for centered but received "yes"');
    const g = createAdagradState(w);
    expect(() => adagradStep(w, dw, g, { lrDecay: -1 })).toThrow('Expected a number >= 0 for lrDecay but received -1');
    expect(() => adagradStep(w, dw, g, { gradScale: Infinity })).toThrow('Expected a finite number for gradScale but received Infinity');
    expect(() => createAdagradState(w, -1)).toThrow('Expected a number >= 0 for initialAccumulatorValue but received -1');
    expect(() => createAdamState(w, { amsgrad: 1 as unknown as boolean })).toThrow('Expected a boolean for amsgrad but received 1');
    // Nothing was stepped by the failed calls.
    expect([s.step, a.step, r.step, g.step]).toEqual([0, 0, 0, 0]);
    expect(Array.from(w.data())).toEqual([1, 2, 3]);
  });

  it('validates tensors and state', () => {
    const a = createAdamState(w);
    expect(() => adamStep(w, tensor([1, 2]), a)).toThrow(new RangeError('Expected a Tensor of shape [3] for grads but received a Tensor of shape [2]'));
    expect(() => adamStep([w, w], [dw], a)).toThrow('Expected 2 gradient Tensors for grads but received an array of length 1');
    expect(() => adamStep(w, w, a)).toThrow('Expected a Tensor other than the parameter for grads but received a Tensor of shape [3]');
    expect(() => adamStep(w, [1, 2, 3] as unknown as Tensor, a)).toThrow(new TypeError('Expected a Tensor for grads[0] but received 1'));
    expect(() => adamStep(w, 'x' as unknown as Tensor, a)).toThrow(new TypeError('Expected a Tensor or an array of Tensors for grads but received "x"'));
    expect(() => adamStep(tensor(new Int32Array([1, 2, 3])), dw, a)).toThrow(
      new TypeError('Expected a float32 Tensor for params but received an int32 Tensor'),
    );
    expect(() => adamStep(w, dw, createSgdState(w) as unknown as ReturnType<typeof createAdamState>)).toThrow(
      "Expected an optimizer state with a 'expAvg' field for state but received an object",
    );
    expect(() => adamStep(w, dw, createAdamState([w, dw]))).toThrow('Expected an array of 1 Tensors for state.expAvg but received an array of length 2');
    expect(() => adamStep(w, dw, createAdamState(tensor([1, 2, 3, 4])))).toThrow(
      'Expected a Tensor of shape [3] for state.expAvg[0] but received a Tensor of shape [4]',
    );
    expect(() => adamStep(w, dw, { ...a, step: -1 })).toThrow('Expected an integer >= 0 for state.step but received -1');
    const gone = tensor([1, 2, 3]);
    gone.dispose();
    expect(() => adamStep(gone, dw, a)).toThrow(expect.objectContaining({ code: 'ERR_NT_DISPOSED' }));
  });

  it('the native kernels reject bad arguments with ERR_NT_INVALID_ARGUMENT_VALUE instead of aborting', () => {
    const n = 7;
    const p = buf(randn(n), n), g = buf(randn(n), n), m = buf(0, n), v = buf(0, n), short = buf(0, 3);
    const expectNative = (fn: () => void, message: string): void => {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect((err as Error).message).toBe(message);
      expect((err as { code?: string }).code).toBe('ERR_NT_INVALID_ARGUMENT_VALUE');
    };
    for (const useRef of [false, true]) {
      expectNative(() => b.adamStep(p, g, m, v, null, n, { beta1: 1 }, useRef), 'Expected a number in [0, 1) for beta1 but received 1');
      expectNative(() => b.adamStep(p, g, m, v, null, n, { eps: 0 }, useRef), 'Expected a finite number > 0 for eps but received 0');
      expectNative(() => b.adamStep(p, g, m, v, null, n, { amsgrad: true }, useRef), 'Expected a non-null array for vmax');
      expectNative(() => b.adamStep(p, p, m, v, null, n, {}, useRef), 'Expected non-overlapping arrays for param and grad');
      expectNative(() => b.sgdStep(p, g, null, n, { lr: NaN }, useRef), 'Expected a finite number >= 0 for lr but received nan');
      expectNative(() => b.sgdStep(p, g, null, n, { momentum: 0.9 }, useRef), 'Expected a non-null array for momentum_buf');
      expectNative(
        () => b.sgdStep(p, g, m, n, { nesterov: true, momentum: 0.9, dampening: 0.5 }, useRef),
        'Expected momentum > 0 and dampening == 0 for nesterov but received momentum 0.899999976 and dampening 0.5',
      );
      expectNative(() => b.rmspropStep(p, g, m, null, null, n, { centered: true }, useRef), 'Expected a non-null array for gavg');
      expectNative(() => b.rmspropStep(p, g, m, null, null, n, { alpha: 2 }, useRef), 'Expected a number in [0, 1] for alpha but received 2');
      expectNative(() => b.adagradStep(p, g, m, n, { lrDecay: -1 }, useRef), 'Expected a finite number >= 0 for lr_decay but received -1');
    }
    expectNative(() => b.adamStep(p, g, m, v, null, 8, {}), 'Expected an integer in [0, 7] for n but received 8');
    expectNative(() => b.adamStep(p, g, short, v, null, undefined, {}), 'Expected at least 7 elements in m but it has 3');
    expectNative(() => b.adagradStep(p, g, m, n, { step: 0 }), 'Expected an integer >= 1 for hp.step but received 0');
    expect(() => b.adamStep(p, g, m, v, null, n, { lr: 'x' as unknown as number })).toThrow(new TypeError('Expected a number for hp.lr'));
  });
});
