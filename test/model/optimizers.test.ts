/**
 * Optimizer parity through the model: a two-layer linear network with mse, whose gradients the test
 * computes exactly in float64 (out = (X Wa + ba) Wb + bb, dL/dout = 2 / (n k) (out - Y)), trained
 * for several trainOnBatch steps; the change of every weight must equal PyTorch's documented update
 * rules (torch.optim.SGD / Adam / AdamW / RMSprop / Adagrad, torch.nn.utils.clip_grad_norm_ /
 * clip_grad_value_) run in float64 on the same gradients. Batches vary in size, including one that
 * makes the model rebuild its plan (> 32 rows), which must keep the optimizer state.
 */
import { Model, NamedWeights, OptimizerConfig, adagrad, adam, adamw, dense, rmsprop, sequential, sgd } from '../../lib';
import { makeRng, randMatrix, relErr, sameBits } from '../helpers/model';

const NAMES = ['a/kernel', 'a/bias', 'b/kernel', 'b/bias'] as const;
type P = Record<(typeof NAMES)[number], Float64Array>;

const IN = 4;
const HID = 3;
const OUT = 2;

function net(seed: number): Model {
  return sequential([dense({ units: HID, inputShape: [IN], name: 'a' }), dense({ units: OUT, name: 'b' })], { seed });
}

function toP(w: NamedWeights): P {
  const p = {} as P;
  for (const k of NAMES) p[k] = Float64Array.from(w[k].data);
  return p;
}

/** Exact float64 gradient of the mse of the two-layer linear net. */
function grads(p: P, x: number[][], y: number[][]): P {
  const n = x.length;
  const g: P = { 'a/kernel': new Float64Array(IN * HID), 'a/bias': new Float64Array(HID), 'b/kernel': new Float64Array(HID * OUT), 'b/bias': new Float64Array(OUT) };
  for (let r = 0; r < n; r++) {
    const h = new Float64Array(HID);
    for (let j = 0; j < HID; j++) {
      let s = p['a/bias'][j];
      for (let i = 0; i < IN; i++) s += x[r][i] * p['a/kernel'][i * HID + j];
      h[j] = s;
    }
    const d = new Float64Array(OUT);
    for (let j = 0; j < OUT; j++) {
      let s = p['b/bias'][j];
      for (let i = 0; i < HID; i++) s += h[i] * p['b/kernel'][i * OUT + j];
      d[j] = (2 / (n * OUT)) * (s - y[r][j]);
    }
    for (let i = 0; i < HID; i++) for (let j = 0; j < OUT; j++) g['b/kernel'][i * OUT + j] += h[i] * d[j];
    for (let j = 0; j < OUT; j++) g['b/bias'][j] += d[j];
    const dh = new Float64Array(HID);
    for (let i = 0; i < HID; i++) for (let j = 0; j < OUT; j++) dh[i] += d[j] * p['b/kernel'][i * OUT + j];
    for (let i = 0; i < IN; i++) for (let j = 0; j < HID; j++) g['a/kernel'][i * HID + j] += x[r][i] * dh[j];
    for (let j = 0; j < HID; j++) g['a/bias'][j] += dh[j];
  }
  return g;
}

interface Opt {
  type: 'sgd' | 'adam' | 'adamw' | 'rmsprop' | 'adagrad';
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  amsgrad?: boolean;
  alpha?: number;
  centered?: boolean;
  lrDecay?: number;
  initialAccumulatorValue?: number;
  clipNorm?: number;
  clipValue?: number;
  /** Per-layer overrides ('a' or 'b'). */
  groups?: { layers: string[]; lr?: number; weightDecay?: number }[];
}

/** PyTorch's update rules in float64 (per-parameter state keyed by name). */
class RefOptimizer {
  t = 0;
  state: Record<string, Record<string, Float64Array>> = {};
  constructor(readonly o: Opt) {}

  step(p: P, g0: P): number {
    const o = this.o;
    this.t += 1;
    const t = this.t;
    // Clipping first, on the raw gradients (clip_grad_value_, then clip_grad_norm_ with its 1e-6).
    const g = {} as P;
    for (const k of NAMES) g[k] = g0[k].slice();
    if (o.clipValue) for (const k of NAMES) g[k] = g[k].map((v) => Math.min(Math.max(v, -o.clipValue!), o.clipValue!));
    let sq = 0;
    for (const k of NAMES) for (const v of g[k]) sq += v * v;
    const norm = Math.sqrt(sq);
    if (o.clipNorm && norm > o.clipNorm) {
      const s = o.clipNorm / (norm + 1e-6);
      for (const k of NAMES) g[k] = g[k].map((v) => v * s);
    }
    for (const k of NAMES) {
      const layer = k.split('/')[0];
      const grp = o.groups?.find((gr) => gr.layers.includes(layer));
      const lr = grp?.lr ?? o.lr;
      const wd = grp?.weightDecay ?? o.weightDecay ?? (o.type === 'adamw' ? 0.01 : 0); // torch.optim.AdamW's default
      const st = (this.state[k] ??= {});
      const P_ = p[k];
      const G = g[k];
      const n = P_.length;
      const zeros = (v = 0): Float64Array => new Float64Array(n).fill(v);
      for (let i = 0; i < n; i++) {
        let gi = G[i];
        switch (o.type) {
          case 'sgd': {
            const mu = o.momentum ?? 0;
            if (wd) gi += wd * P_[i];
            if (mu) {
              const b = (st.buf ??= zeros());
              b[i] = t === 1 ? gi : mu * b[i] + (1 - (o.dampening ?? 0)) * gi;
              gi = o.nesterov ? gi + mu * b[i] : b[i];
            }
            P_[i] -= lr * gi;
            break;
          }
          case 'adam':
          case 'adamw': {
            const b1 = o.beta1 ?? 0.9;
            const b2 = o.beta2 ?? 0.999;
            const eps = o.eps ?? 1e-8;
            if (o.type === 'adamw') P_[i] *= 1 - lr * wd;
            else if (wd) gi += wd * P_[i];
            const m = (st.m ??= zeros());
            const v = (st.v ??= zeros());
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            const bc1 = 1 - b1 ** t;
            const bc2 = 1 - b2 ** t;
            let vv = v[i];
            if (o.amsgrad) {
              const vm = (st.vmax ??= zeros());
              vm[i] = Math.max(vm[i], v[i]);
              vv = vm[i];
            }
            const denom = Math.sqrt(vv) / Math.sqrt(bc2) + eps;
            P_[i] -= (lr / bc1) * (m[i] / denom);
            break;
          }
          case 'rmsprop': {
            const a = o.alpha ?? 0.99;
            const eps = o.eps ?? 1e-8;
            if (wd) gi += wd * P_[i];
            const sqa = (st.sq ??= zeros());
            sqa[i] = a * sqa[i] + (1 - a) * gi * gi;
            let avg: number;
            if (o.centered) {
              const ga = (st.gavg ??= zeros());
              ga[i] = a * ga[i] + (1 - a) * gi;
              avg = Math.sqrt(sqa[i] - ga[i] * ga[i]) + eps;
            } else {
              avg = Math.sqrt(sqa[i]) + eps;
            }
            if (o.momentum) {
              const b = (st.buf ??= zeros());
              b[i] = o.momentum * b[i] + gi / avg;
              P_[i] -= lr * b[i];
            } else {
              P_[i] -= (lr * gi) / avg;
            }
            break;
          }
          case 'adagrad': {
            const eps = o.eps ?? 1e-10;
            if (wd) gi += wd * P_[i];
            const clr = lr / (1 + (t - 1) * (o.lrDecay ?? 0));
            const s = (st.sum ??= zeros(o.initialAccumulatorValue ?? 0));
            s[i] += gi * gi;
            P_[i] -= (clr * gi) / (Math.sqrt(s[i]) + eps);
            break;
          }
        }
      }
    }
    return norm;
  }
}

function config(o: Opt): OptimizerConfig {
  const { type, groups, ...rest } = o;
  const c = { ...rest, ...(groups ? { paramGroups: groups } : {}) } as never;
  return { sgd, adam, adamw, rmsprop, adagrad }[type](c);
}

const BATCHES = [5, 1, 7, 40, 3, 5];

function data(seed: number): { x: number[][]; y: number[][] }[] {
  const rng = makeRng(seed);
  return BATCHES.map((n) => ({ x: randMatrix(rng, n, IN), y: randMatrix(rng, n, OUT) }));
}

const CASES: [string, Opt][] = [
  ['sgd', { type: 'sgd', lr: 0.1 }],
  ['sgd momentum', { type: 'sgd', lr: 0.05, momentum: 0.9 }],
  ['sgd momentum with dampening', { type: 'sgd', lr: 0.05, momentum: 0.9, dampening: 0.3 }],
  ['sgd nesterov', { type: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true }],
  ['sgd momentum with weight decay', { type: 'sgd', lr: 0.05, momentum: 0.8, weightDecay: 0.1 }],
  ['sgd weight decay without momentum', { type: 'sgd', lr: 0.1, weightDecay: 0.3 }],
  ['adam', { type: 'adam', lr: 0.01 }],
  ['adam betas and a large eps (placement of eps and bias corrections)', { type: 'adam', lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 0.1 }],
  ['adam with L2 weight decay', { type: 'adam', lr: 0.01, weightDecay: 0.1 }],
  ['adam amsgrad', { type: 'adam', lr: 0.01, amsgrad: true, beta2: 0.9 }],
  ['adamw', { type: 'adamw', lr: 0.01, weightDecay: 0.1 }],
  ['adamw default weight decay with amsgrad', { type: 'adamw', lr: 0.02, amsgrad: true }],
  ['rmsprop', { type: 'rmsprop', lr: 0.01 }],
  ['rmsprop centered', { type: 'rmsprop', lr: 0.01, centered: true, alpha: 0.9 }],
  ['rmsprop centered with momentum and weight decay', { type: 'rmsprop', lr: 0.01, centered: true, momentum: 0.5, weightDecay: 0.05 }],
  ['rmsprop momentum and eps', { type: 'rmsprop', lr: 0.01, momentum: 0.7, eps: 0.05 }],
  ['adagrad', { type: 'adagrad', lr: 0.1 }],
  ['adagrad lrDecay, initial accumulator and weight decay', { type: 'adagrad', lr: 0.1, lrDecay: 0.1, initialAccumulatorValue: 0.5, weightDecay: 0.05 }],
  ['clipNorm with sgd momentum', { type: 'sgd', lr: 0.1, momentum: 0.9, clipNorm: 0.1 }],
  ['clipNorm with weight decay (decay is not clipped)', { type: 'sgd', lr: 0.1, weightDecay: 0.2, clipNorm: 0.2 }],
  ['clipNorm with adam', { type: 'adam', lr: 0.01, clipNorm: 0.05 }],
  ['clipValue with sgd', { type: 'sgd', lr: 0.1, clipValue: 0.05 }],
  ['clipValue with adam', { type: 'adam', lr: 0.01, clipValue: 0.02 }],
  ['paramGroups: own lr and weight decay for one layer (sgd)', { type: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 0.01, groups: [{ layers: ['a'], lr: 0.02, weightDecay: 0.2 }] }],
  ['paramGroups: own lr for one layer (adamw)', { type: 'adamw', lr: 0.01, weightDecay: 0.05, groups: [{ layers: ['b'], lr: 0.003 }] }],
];

describe('optimizer updates equal PyTorch update rules', () => {
  CASES.forEach(([title, o], ci) => {
    test(title, async () => {
      const m = net(900 + ci);
      m.compile({ optimizer: config(o), loss: 'mse' });
      const w0 = m.getWeights();
      const ref = toP(w0);
      const opt = new RefOptimizer(o);
      let norm = 0;
      for (const b of data(1000 + ci)) {
        const g = grads(ref, b.x, b.y);
        norm = opt.step(ref, g);
        await m.trainOnBatch(b.x, b.y);
      }
      const w = m.getWeights();
      for (const k of NAMES) {
        const got = Float64Array.from(w[k].data, (v, i) => v - w0[k].data[i]);
        const want = ref[k].map((v, i) => v - w0[k].data[i]);
        const rel = relErr(got, want, 1e-6);
        expect({ k, rel: rel < 2e-4 ? 'ok' : rel }).toEqual({ k, rel: 'ok' });
      }
      expect(m.optimizerStep).toBe(BATCHES.length);
      // lastGradNorm: the global norm of the last step's gradients (after clipValue, before clipNorm).
      expect(Math.abs(m.lastGradNorm - norm) / norm).toBeLessThan(1e-4);
    });
  });
});

describe('optimizer state', () => {
  test('getOptimizerState / setOptimizerState replay the same steps bit for bit', async () => {
    const m = net(950);
    m.compile({ optimizer: adam({ lr: 0.01, amsgrad: true }), loss: 'mse' });
    const ds = data(951);
    for (const b of ds.slice(0, 3)) await m.trainOnBatch(b.x, b.y);
    const w = m.getWeights();
    const s = m.getOptimizerState();
    for (const b of ds.slice(3)) await m.trainOnBatch(b.x, b.y);
    const after = m.getWeights();
    m.setWeights(w);
    m.resetOptimizerState();
    m.setOptimizerState(s);
    for (const b of ds.slice(3)) await m.trainOnBatch(b.x, b.y);
    expect(sameBits(m.getWeights(), after)).toBe(true);
  });

  test('resetOptimizerState restarts moments and the step count (bias correction from t = 1)', async () => {
    const o: Opt = { type: 'adam', lr: 0.01, beta1: 0.8 };
    const m = net(960);
    m.compile({ optimizer: config(o), loss: 'mse' });
    const ds = data(961);
    const ref = toP(m.getWeights());
    let opt = new RefOptimizer(o);
    for (const b of ds.slice(0, 3)) {
      opt.step(ref, grads(ref, b.x, b.y));
      await m.trainOnBatch(b.x, b.y);
    }
    m.resetOptimizerState();
    expect(m.optimizerStep).toBe(0);
    opt = new RefOptimizer(o);
    const mid = m.getWeights();
    for (const b of ds.slice(3)) {
      opt.step(ref, grads(ref, b.x, b.y));
      await m.trainOnBatch(b.x, b.y);
    }
    const w = m.getWeights();
    for (const k of NAMES) {
      const got = Float64Array.from(w[k].data, (v, i) => v - mid[k].data[i]);
      const want = ref[k].map((v, i) => v - mid[k].data[i]);
      expect(relErr(got, want, 1e-6)).toBeLessThan(2e-4);
    }
  });

  test('compiling again with the same optimizer type keeps the moments', async () => {
    const o: Opt = { type: 'rmsprop', lr: 0.01, momentum: 0.5 };
    const m = net(970);
    m.compile({ optimizer: config(o), loss: 'mse' });
    const ref = toP(m.getWeights());
    const opt = new RefOptimizer(o);
    const ds = data(971);
    for (const [i, b] of ds.entries()) {
      if (i === 3) m.compile({ optimizer: config(o), loss: 'mse' });
      opt.step(ref, grads(ref, b.x, b.y));
      await m.trainOnBatch(b.x, b.y);
    }
    expect(m.optimizerStep).toBe(ds.length);
    const w = m.getWeights();
    expect(relErr(Float64Array.from(w['a/kernel'].data), ref['a/kernel'])).toBeLessThan(1e-5);
  });

  test('trainOnBatch reports the learning rate of the step', async () => {
    const m = net(980);
    m.compile({ optimizer: sgd({ lr: 0.0375 }), loss: 'mse' });
    const b = data(981)[0];
    const logs = await m.trainOnBatch(b.x, b.y);
    expect(logs.lr).toBeCloseTo(0.0375, 10);
  });
});
