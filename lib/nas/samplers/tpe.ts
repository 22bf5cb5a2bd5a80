/**
 * Tree-structured Parzen Estimator (Bergstra, Bardenet, Bengio & Kegl, "Algorithms for
 * Hyper-Parameter Optimization", NeurIPS 2011), univariate, following Optuna's TPESampler
 * (optuna/samplers/_tpe/sampler.py and parzen_estimator.py) and its defaults:
 *   - n_startup_trials = 10 random trials first; n_ei_candidates = 24;
 *   - gamma(n) = min(ceil(0.1 n), 25) observations in the "below" (good) group;
 *   - weights(n) = ones(n) for n < 25, else a linear ramp from 1/n to 1 over the oldest n - 25 and
 *     ones for the newest 25; prior_weight = 1 (one prior kernel per estimator);
 *   - consider_magic_clip (min sigma = range / min(100, 1 + n_kernels)), consider_endpoints = false,
 *     multivariate = false: each parameter has its own pair of estimators l(x), g(x), and the
 *     candidate (drawn from l) maximising log l(x) - log g(x) wins;
 *   - numeric kernels: truncated normals on the (log-)scale of the parameter, with sigma = the
 *     larger distance to a sorted neighbour (the prior mean at the centre of the range counts as a
 *     neighbour), the two outermost using their inner neighbour only (consider_endpoints = false); a
 *     prior kernel at the centre with sigma = the range; discrete parameters widen the range by half
 *     a step on each side and score the mass of each grid cell;
 *   - categorical kernels: each observation puts weight 1 + prior_weight / n_kernels on its choice
 *     and prior_weight / n_kernels on every choice (rows normalised), plus a uniform prior row;
 *   - ordering for the split: complete trials by value; pruned ones after them by (-last step,
 *     value at that step); running trials with the constant liar as the worst possible value
 *     (constant_liar, on by default here). Failed trials are ignored.
 * Multi-objective studies split by non-domination rank; the last front is cut by crowding distance
 * (Optuna uses hypervolume subset selection there) and the below group uses the default weights
 * rather than MOTPE's hypervolume contributions. Running trials always go to the above group.
 */
import * as nt from '../api';
import { crowdingDistance, nonDominatedSort } from '../pareto';
import { ParamValue, Params, indexOf, valueAt } from '../space';
import type { NamedParam } from '../space';
import { Sampler, SuggestContext, Trial, signs } from '../types';

const EPS = 1e-12;

export interface TpeOptions {
  /** Random trials before the model is used (default 10). */
  nStartupTrials?: number;
  /** Candidates drawn from l(x) per parameter (default 24). */
  nEiCandidates?: number;
  /** Size of the good group from the number of observations (default min(ceil(0.1 n), 25)). */
  gamma?: (n: number) => number;
  /** Kernel weights, oldest first (default: Optuna's ramp). */
  weights?: (n: number) => number[];
  priorWeight?: number;
  considerMagicClip?: boolean;
  considerEndpoints?: boolean;
  /** Treat running trials as the worst possible result (default true). */
  constantLiar?: boolean;
}

export function defaultGamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

export function defaultWeights(n: number): number[] {
  if (n === 0) return [];
  if (n < 25) return new Array<number>(n).fill(1);
  const m = n - 25;
  const ramp = Array.from({ length: m }, (_, i) => (m === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (m - 1)));
  return [...ramp, ...new Array<number>(25).fill(1)];
}

/** erfc with fractional error below 1.2e-7 everywhere (Numerical Recipes, erfcc, Chebyshev fit). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(lo < Z < hi) for a standard normal Z, accurate in either tail. */
function normMass(lo: number, hi: number): number {
  if (lo >= 0) return 0.5 * (erfc(lo / Math.SQRT2) - erfc(hi / Math.SQRT2));
  if (hi <= 0) return 0.5 * (erfc(-hi / Math.SQRT2) - erfc(-lo / Math.SQRT2));
  return 1 - 0.5 * erfc(hi / Math.SQRT2) - 0.5 * erfc(-lo / Math.SQRT2);
}

function logSumExp(xs: number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

function pick(weights: readonly number[], rng: nt.Rng): number {
  let u = rng.next();
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  return weights.length - 1;
}

interface Estimator {
  sample(rng: nt.Rng): ParamValue;
  logPdf(x: ParamValue): number;
}

/** A Parzen estimator of one parameter from observed values (oldest first). */
export function parzenEstimator(p: NamedParam, observed: readonly ParamValue[], o: Required<Omit<TpeOptions, 'gamma' | 'nStartupTrials' | 'nEiCandidates' | 'constantLiar'>>): Estimator {
  const n = observed.length;
  let w = n === 0 ? [1] : [...o.weights(n).slice(0, n), o.priorWeight];
  const sum = w.reduce((a, b) => a + b, 0);
  w = w.map((x) => x / sum);
  if (p.type === 'choice' || p.type === 'bool') {
    const k = p.type === 'bool' ? 2 : p.choices.length;
    const obs = observed.map((x) => indexOf(p, x));
    const rows: number[][] = [];
    if (n === 0) rows.push(new Array<number>(k).fill(1 / k));
    else {
      const nk = n + 1;
      for (let r = 0; r < nk; r++) {
        const row = new Array<number>(k).fill(o.priorWeight / nk);
        if (r < n) row[obs[r]] += 1;
        const s = row.reduce((a, b) => a + b, 0);
        rows.push(row.map((x) => x / (s === 0 ? 1 : s)));
      }
    }
    return {
      sample: (rng) => valueAt(p, pick(rows[pick(w, rng)], rng)),
      logPdf: (x) => {
        const c = indexOf(p, x);
        let s = 0;
        for (let r = 0; r < rows.length; r++) s += w[r] * rows[r][c];
        return Math.log(Math.max(s, EPS));
      },
    };
  }
  const step = p.type === 'int' ? p.step : p.step;
  const tf = (x: number): number => (p.log ? Math.log(x) : x);
  let low = p.low;
  let high = p.high;
  if (step !== undefined) {
    low -= step / 2;
    high += step / 2;
  }
  const a = tf(low);
  const b = tf(high);
  const mus = observed.map((x) => tf(x as number));
  const sigmas = ((): number[] => {
    if (n === 0) return [];
    const prior = 0.5 * (a + b);
    const withPrior = [...mus, prior];
    const order = withPrior.map((_, i) => i).sort((i, j) => withPrior[i] - withPrior[j] || i - j);
    const sorted = [a, ...order.map((i) => withPrior[i]), b];
    const sortedSig = order.map((_, j) => Math.max(sorted[j + 1] - sorted[j], sorted[j + 2] - sorted[j + 1]));
    if (!o.considerEndpoints && sorted.length >= 4) {
      sortedSig[0] = sorted[2] - sorted[1];
      sortedSig[sortedSig.length - 1] = sorted[sorted.length - 2] - sorted[sorted.length - 3];
    }
    const sig = new Array<number>(withPrior.length);
    order.forEach((i, j) => (sig[i] = sortedSig[j]));
    const maxS = b - a;
    const minS = o.considerMagicClip ? (b - a) / Math.min(100, 1 + (n + 1)) : EPS;
    return sig.slice(0, n).map((s) => Math.min(maxS, Math.max(minS, s)));
  })();
  const M = [...mus, 0.5 * (a + b)];
  const S = [...sigmas, b - a];
  // Truncation: the parameter's range (continuous) or the range widened by half a step (discrete).
  const Z = M.map((m, k) => Math.max(normMass((a - m) / S[k], (b - m) / S[k]), EPS));
  const toGrid = (x: number): number => {
    const v = p.log ? Math.exp(x) : x;
    if (step === undefined) return Math.min(p.high, Math.max(p.low, v));
    const k = Math.round((v - p.low) / step);
    const kk = Math.min(Math.round((p.high - p.low) / step), Math.max(0, k));
    return valueAt(p, kk) as number;
  };
  return {
    sample: (rng) => {
      const k = pick(w, rng);
      for (let t = 0; t < 64; t++) {
        const x = M[k] + S[k] * rng.normal();
        if (x >= a && x <= b) return toGrid(x);
      }
      return toGrid(a + rng.next() * (b - a));
    },
    logPdf: (xv) => {
      const x = xv as number;
      const terms = M.map((m, k) => {
        if (step === undefined) {
          const z = (tf(x) - m) / S[k];
          return Math.log(w[k]) - 0.5 * z * z - Math.log(S[k] * Math.sqrt(2 * Math.PI)) - Math.log(Z[k]);
        }
        const lo = tf(Math.max(x - step / 2, p.log ? EPS : -Infinity));
        const hi = tf(x + step / 2);
        return Math.log(w[k]) + Math.log(Math.max(normMass((lo - m) / S[k], (hi - m) / S[k]) / Z[k], EPS));
      });
      return logSumExp(terms);
    },
  };
}

export class TpeSampler implements Sampler {
  readonly name = 'tpe';
  readonly nStartupTrials: number;
  readonly nEiCandidates: number;
  readonly constantLiar: boolean;
  readonly #gamma: (n: number) => number;
  readonly #est: Required<Omit<TpeOptions, 'gamma' | 'nStartupTrials' | 'nEiCandidates' | 'constantLiar'>>;

  constructor(opts: TpeOptions = {}) {
    this.nStartupTrials = opts.nStartupTrials ?? 10;
    this.nEiCandidates = opts.nEiCandidates ?? 24;
    this.constantLiar = opts.constantLiar ?? true;
    this.#gamma = opts.gamma ?? defaultGamma;
    this.#est = {
      weights: opts.weights ?? defaultWeights,
      priorWeight: opts.priorWeight ?? 1,
      considerMagicClip: opts.considerMagicClip ?? true,
      considerEndpoints: opts.considerEndpoints ?? false,
    };
    if (!Number.isInteger(this.nStartupTrials) || this.nStartupTrials < 0) throw new RangeError(`Expected a non-negative integer for nStartupTrials but received ${this.nStartupTrials}`);
    if (!Number.isInteger(this.nEiCandidates) || this.nEiCandidates < 1) throw new RangeError(`Expected a positive integer for nEiCandidates but received ${this.nEiCandidates}`);
    if (!(this.#est.priorWeight >= 0)) throw new RangeError(`Expected a non-negative number for priorWeight but received ${this.#est.priorWeight}`);
  }

  /** Below / above groups (each oldest first), from the sampler's view. */
  split(trials: readonly Trial[], directions: readonly ('minimize' | 'maximize')[]): { below: Trial[]; above: Trial[]; n: number } {
    const sg = signs(directions);
    const obs = trials
      .filter((t) => t.state === 'complete' || t.state === 'pruned' || (this.constantLiar && t.state === 'running'))
      .filter((t) => t.state !== 'complete' || (t.values !== undefined && t.values.length === directions.length))
      .sort((a, b) => a.number - b.number);
    const n = obs.length;
    const nBelow = Math.min(n, this.#gamma(n));
    let belowSet: Set<Trial>;
    if (directions.length === 1) {
      const key = (t: Trial): [number, number] => {
        if (t.state === 'complete') {
          const v = sg[0] * t.values![0];
          return [-Infinity, Number.isNaN(v) ? Infinity : v];
        }
        if (t.state === 'running') return [-Infinity, Infinity];
        if (t.intermediate.size === 0) return [Infinity, 0];
        const step = Math.max(...t.intermediate.keys());
        const v = sg[0] * t.intermediate.get(step)!;
        return [-step, Number.isNaN(v) ? Infinity : v];
      };
      const keyed = obs.map((t, i) => ({ t, i, k: key(t) }));
      keyed.sort((x, y) => (x.k[0] !== y.k[0] ? (x.k[0] < y.k[0] ? -1 : 1) : x.k[1] !== y.k[1] ? (x.k[1] < y.k[1] ? -1 : 1) : x.i - y.i));
      belowSet = new Set(keyed.slice(0, nBelow).map((x) => x.t));
    } else {
      const complete = obs.filter((t) => t.state === 'complete');
      const pts = complete.map((t) => t.values!.map((v, j) => (Number.isNaN(v) ? Infinity : sg[j] * v)));
      const chosen: number[] = [];
      for (const front of nonDominatedSort(pts)) {
        if (chosen.length + front.length <= nBelow) chosen.push(...front);
        else {
          const cd = crowdingDistance(pts, front);
          chosen.push(...[...front].sort((x, y) => cd.get(y)! - cd.get(x)! || x - y).slice(0, nBelow - chosen.length));
        }
        if (chosen.length >= nBelow) break;
      }
      belowSet = new Set(chosen.map((i) => complete[i]));
    }
    return { below: obs.filter((t) => belowSet.has(t)), above: obs.filter((t) => !belowSet.has(t)), n };
  }

  /** Yields to the event loop between parameters: with hundreds of trials a suggestion takes tens of ms. */
  async suggest(ctx: SuggestContext): Promise<Params> {
    const { space, rng } = ctx;
    const { below, above, n } = this.split(ctx.trials, ctx.directions);
    if (n < this.nStartupTrials) return space.sample(rng);
    const out: Params = {};
    let work = 0;
    for (const p of space.params) {
      if (!space.isActive(p, out)) continue;
      work += below.length + above.length;
      if (work > 2000) {
        work = 0;
        await new Promise((r) => setImmediate(r));
      }
      const lo = below.filter((t) => p.name in t.params).map((t) => t.params[p.name]);
      const hi = above.filter((t) => p.name in t.params).map((t) => t.params[p.name]);
      const l = parzenEstimator(p, lo, this.#est);
      const g = parzenEstimator(p, hi, this.#est);
      let best: ParamValue = l.sample(rng);
      let bestScore = -Infinity;
      for (let c = 0; c < this.nEiCandidates; c++) {
        const x = c === 0 ? best : l.sample(rng);
        const s = l.logPdf(x) - g.logPdf(x);
        if (s > bestScore) {
          bestScore = s;
          best = x;
        }
      }
      out[p.name] = best;
    }
    return out;
  }
}

/** @example createStudy({ space, sampler: tpeSampler() }) */
export function tpeSampler(opts: TpeOptions = {}): TpeSampler {
  return new TpeSampler(opts);
}
