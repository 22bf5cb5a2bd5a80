/**
 * The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural Networks",
 * 2017; fastai's `Learner.lr_find`): train for a few mini-batches while the rate grows
 * exponentially from `startLr` to `endLr`, record the smoothed loss, stop when it diverges, put the
 * model back exactly as it was, and suggest a rate from the curve.
 *
 * Faithful to fastai (fastai/callback/schedule.py, `LRFinder`, `valley`, `steep`, `minimum`):
 *   - rate of iteration i (0-based) of N: startLr * (endLr / startLr) ** (i / N)   (SchedExp)
 *   - smoothed loss: avg = beta * avg + (1 - beta) * loss; smooth = avg / (1 - beta ** (i + 1))
 *     (fastai's AvgSmoothLoss, beta 0.98)
 *   - stop when smooth > divergeThreshold * best smooth (fastai: 4)
 *   - suggestions are computed on the points [floor(N / 10), len - 5), cut at the first non-finite
 *     loss, as `lr_find` does.
 */
import { Dataset, gatherRows } from '../../data/dataset';
import { createRng, permutation } from '../../data/random';
import type { Rng } from '../../data/random';
import { ERR, NodetrainError } from '../../errors';
import type { NativeOptimizerState } from '../../native/engine';
import { baseLearningRate } from '../../optim/lr';
import { Tensor } from '../../tensor/tensor';
import type { Logs } from '../callbacks';
import * as v from '../../validate';
import type { LrSpec, Schedule } from '../../schedules/spec';

/** The suggestion rules: fastai's `valley`, `steep` and `minimum`. */
export type LrSuggestionRule = 'valley' | 'steepest' | 'minimum';

export interface LrFinderOptions {
  /** First rate of the sweep (default 1e-7). */
  startLr?: number;
  /** Rate the sweep grows towards (default 10; the last step uses startLr * (endLr/startLr)^((N-1)/N)). */
  endLr?: number;
  /** Number of mini-batches (default 100, at least 5). */
  numIterations?: number;
  /** Rows per mini-batch (default 32; capped at the number of samples). */
  batchSize?: number;
  /** Seeds the shuffled passes over the data (default 0). */
  seed?: number;
  /** Stop when the smoothed loss exceeds this multiple of the best smoothed loss (default 4, > 1). */
  divergeThreshold?: number;
  /** Stop at divergence (default true). A non-finite loss always stops the sweep. */
  stopOnDivergence?: boolean;
  /** Weight of the exponential moving average of the loss (default 0.98, in [0, 1)). */
  smoothing?: number;
  /** Which suggestion `suggested` returns (default 'valley'). */
  rule?: LrSuggestionRule;
}

export interface LrFinderResult {
  /** The rate used at each completed step. */
  lrs: number[];
  /** The bias-corrected smoothed loss after each step. */
  losses: number[];
  /** The loss of each step's batch (before its update). */
  rawLosses: number[];
  /** Each rule's suggestion (NaN when the curve has too few finite points for that rule). */
  suggestions: { valley: number; steepest: number; minimum: number };
  /** The suggestion of `rule`. */
  suggested: number;
  /** True when the sweep stopped early because the loss diverged or became non-finite. */
  diverged: boolean;
}

/** Training data for the range test. */
export type LrFinderData = Dataset | { x: Tensor | number[][]; y: Tensor | number[] | number[][] };

/**
 * What the range test needs from a model (Model implements it). `learningRate` and
 * `lrMultiplier`, when a model exposes them, let the test restore a rate set after compile() and
 * a multiplier set by a controller; without them the compiled rate and a multiplier of 1 are
 * restored.
 */
export interface LrFinderModel {
  readonly compileConfig: { optimizer: { lr: LrSpec } } | null;
  trainOnBatch(x: Tensor | number[][], y: Tensor | number[] | number[][]): Promise<Logs>;
  setLearningRate(lr: number | Schedule): void;
  setLrMultiplier(m: number): void;
  /** @internal */
  getWeightArena(): Float32Array;
  /** @internal */
  setWeightArena(w: Float32Array): void;
  getOptimizerState(): NativeOptimizerState;
  setOptimizerState(s: NativeOptimizerState): void;
  readonly learningRate?: number | Schedule;
  readonly lrMultiplier?: number;
}

const OPTION_KEYS = ['startLr', 'endLr', 'numIterations', 'batchSize', 'seed', 'divergeThreshold', 'stopOnDivergence', 'smoothing', 'rule'] as const;
const RULES = ['valley', 'steepest', 'minimum'] as const;

interface Resolved {
  startLr: number;
  endLr: number;
  numIterations: number;
  batchSize: number;
  seed: number;
  divergeThreshold: number;
  stopOnDivergence: boolean;
  smoothing: number;
  rule: LrSuggestionRule;
}

function resolveOptions(opts: unknown): Resolved {
  const o = v.plainObject('findLearningRate options', opts);
  v.knownKeys('findLearningRate options', o, OPTION_KEYS);
  const startLr = v.optional(o.startLr, 1e-7, (x) => v.finiteNumber('startLr', x, { min: 0, minExclusive: true }));
  const endLr = v.optional(o.endLr, 10, (x) => v.finiteNumber('endLr', x, { min: 0, minExclusive: true }));
  if (!(endLr > startLr)) throw v.rangeError(`a number > startLr (${startLr})`, 'endLr', endLr);
  return {
    startLr,
    endLr,
    numIterations: v.optional(o.numIterations, 100, (x) => v.integer('numIterations', x, 5, 1e6)),
    batchSize: v.optional(o.batchSize, 32, (x) => v.integer('batchSize', x, 1, 1 << 20)),
    seed: v.optional(o.seed, 0, (x) => v.integer('seed', x, 0, 2 ** 52)),
    divergeThreshold: v.optional(o.divergeThreshold, 4, (x) => v.finiteNumber('divergeThreshold', x, { min: 1, minExclusive: true })),
    stopOnDivergence: v.optional(o.stopOnDivergence, true, (x) => v.boolean('stopOnDivergence', x)),
    smoothing: v.optional(o.smoothing, 0.98, (x) => v.finiteNumber('smoothing', x, { min: 0, max: 1, maxExclusive: true })),
    rule: v.optional(o.rule, 'valley' as LrSuggestionRule, (x) => v.oneOf('rule', x, RULES)),
  };
}

/** Draws batches from shuffled passes over the rows; an incomplete tail starts a new pass (fastai drops it). */
class BatchSampler {
  readonly #x: Tensor | number[][];
  readonly #y: Tensor | number[] | number[][];
  readonly #rows: number;
  readonly #batch: number;
  readonly #rng: Rng;
  #order: Int32Array;
  #pos = 0;

  constructor(data: unknown, batchSize: number, seed: number) {
    let x: unknown;
    let y: unknown;
    if (data instanceof Dataset) {
      x = data.x;
      y = data.y;
    } else if (typeof data === 'object' && data !== null && !Array.isArray(data) && 'x' in data && 'y' in data) {
      x = (data as { x: unknown }).x;
      y = (data as { y: unknown }).y;
    } else {
      throw v.typeError('a Dataset or an object {x, y}', 'data', data);
    }
    if (!(x instanceof Tensor) && !Array.isArray(x)) throw v.typeError('a Tensor or a nested number array', 'data.x', x);
    if (!(y instanceof Tensor) && !Array.isArray(y)) throw v.typeError('a Tensor or a number array', 'data.y', y);
    if (x instanceof Tensor && x.rank !== 2) throw v.rangeError('a Tensor of shape [n, features]', 'data.x', x);
    const rows = x instanceof Tensor ? x.shape[0] : x.length;
    const yRows = y instanceof Tensor ? (y.rank === 0 ? 1 : y.shape[0]) : y.length;
    if (rows < 1) throw v.rangeError('at least one sample', 'data.x', x);
    if (yRows !== rows) throw v.rangeError(`targets for ${rows} samples (one per row of x)`, 'data.y', y);
    this.#x = x as Tensor | number[][];
    this.#y = y as Tensor | number[] | number[][];
    this.#rows = rows;
    this.#batch = Math.min(batchSize, rows);
    this.#rng = createRng(seed);
    this.#order = permutation(rows, this.#rng);
  }

  /** The next batch; tensors it returns are owned by the caller. */
  next(): { x: Tensor | number[][]; y: Tensor | number[] | number[][] } {
    if (this.#pos + this.#batch > this.#rows) {
      this.#order = permutation(this.#rows, this.#rng);
      this.#pos = 0;
    }
    const idx = this.#order.subarray(this.#pos, this.#pos + this.#batch);
    this.#pos += this.#batch;
    const pick = <T>(src: Tensor | T[]): Tensor | T[] => (src instanceof Tensor ? gatherRows(src, idx) : Array.from(idx, (r) => src[r]));
    const x = pick(this.#x as Tensor | number[][]) as Tensor | number[][];
    try {
      return { x, y: pick(this.#y as Tensor | number[]) as Tensor | number[] | number[][] };
    } catch (e) {
      if (x instanceof Tensor) x.dispose();
      throw e;
    }
  }
}

/** Index of the first minimum (NaN-free input). */
function argmin(a: readonly number[]): number {
  let k = 0;
  for (let i = 1; i < a.length; i++) if (a[i] < a[k]) k = i;
  return k;
}

/**
 * fastai's `valley`: the longest decreasing subsequence of the loss curve ("longest valley"), and
 * the point a little past 2/3 of the way along it — max_start + int(len/3) + int(len/6). Kept
 * exactly as fastai writes it, including that max_start is one before the valley's first point and
 * that a negative index counts from the end, as in Python.
 */
export function valleySuggestion(lrs: readonly number[], losses: readonly number[]): number {
  const n = losses.length;
  if (n < 1) return NaN;
  let maxStart = 0;
  let maxEnd = 0;
  const lds = new Array<number>(n).fill(1);
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (losses[i] < losses[j] && lds[i] < lds[j] + 1) lds[i] = lds[j] + 1;
      if (lds[maxEnd] < lds[i]) {
        maxEnd = i;
        maxStart = maxEnd - lds[maxEnd];
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  let idx = maxStart + Math.trunc(sections) + Math.trunc(sections / 2);
  if (idx < 0) idx += n;
  return lrs[idx];
}

/** fastai's `steep`: the rate at the left end of the segment with the most negative d loss / d log lr. */
export function steepestSuggestion(lrs: readonly number[], losses: readonly number[]): number {
  if (losses.length < 2) return NaN;
  const grads: number[] = [];
  for (let i = 0; i + 1 < losses.length; i++) grads.push((losses[i + 1] - losses[i]) / (Math.log(lrs[i + 1]) - Math.log(lrs[i])));
  return lrs[argmin(grads)];
}

/** fastai's `minimum`: one tenth of the rate with the lowest smoothed loss. */
export function minimumSuggestion(lrs: readonly number[], losses: readonly number[]): number {
  if (losses.length < 1) return NaN;
  return lrs[argmin(losses)] / 10;
}

/**
 * The points the rules look at: fastai's window [floor(N/10), len - 5) cut at the first
 * non-finite loss. When the sweep stopped so early that fewer than 2 points remain, all finite
 * points before the first non-finite one are used instead (fastai would have nothing to rank).
 */
function suggestionWindow(lrs: number[], losses: number[], numIterations: number): { lrs: number[]; losses: number[] } {
  const cut = (a: number[], b: number[]): { lrs: number[]; losses: number[] } => {
    const bad = b.findIndex((x) => !Number.isFinite(x));
    return bad < 0 ? { lrs: a, losses: b } : { lrs: a.slice(0, bad), losses: b.slice(0, bad) };
  };
  const start = Math.floor(numIterations / 10);
  const end = losses.length - 5;
  const w = end > start ? cut(lrs.slice(start, end), losses.slice(start, end)) : { lrs: [], losses: [] };
  return w.losses.length >= 2 ? w : cut(lrs, losses);
}

function isNonFiniteError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === ERR.NON_FINITE;
}

/** The learning-rate setting to put back after the sweep. */
function currentLr(model: LrFinderModel): number | Schedule {
  if (model.learningRate !== undefined) return model.learningRate;
  // 'auto' is resolved by fit's controller; the compiled plan runs the default rate until then.
  return baseLearningRate(model.compileConfig!.optimizer.lr);
}

/**
 * Runs the learning-rate range test (fastai's lr_find) with the model's compiled optimizer and
 * returns the loss curve and suggested rates. The weights (batch-norm statistics included), the
 * optimizer state (moments and step count), the learning rate and the rate multiplier are restored
 * bit for bit afterwards, also when the sweep fails. Dropout draws advance the model's random
 * stream, which is not rewound.
 *
 * Each step sets the base rate with setLearningRate(lr) under a multiplier of 1, so the rate the
 * optimizer uses is exactly the swept value. Parameter groups with a rate of their own keep it.
 *
 * @param model a compiled Model
 * @param data a Dataset or {x, y} (tensors or arrays, as trainOnBatch accepts)
 * @returns lrs, smoothed losses, raw losses, the suggestions of all rules and the one of `rule`
 * @throws TypeError / RangeError for invalid options or data (exact messages, e.g.
 *   "Expected a number > startLr (0.1) for endLr but received 0.01");
 *   NodetrainError ERR_NT_NOT_COMPILED before compile(); any error of trainOnBatch other than
 *   ERR_NT_NON_FINITE (which ends the sweep as a divergence).
 * @example
 * const {suggested, lrs, losses} = await findLearningRate(model, {x, y}, {numIterations: 100});
 * model.setLearningRate(suggested);
 */
export async function findLearningRate(model: LrFinderModel, data: LrFinderData, options: LrFinderOptions = {}): Promise<LrFinderResult> {
  if (typeof model !== 'object' || model === null || typeof (model as { trainOnBatch?: unknown }).trainOnBatch !== 'function') {
    throw v.typeError('a compiled Model', 'model', model);
  }
  const o = resolveOptions(options);
  if (!model.compileConfig) {
    throw new NodetrainError(ERR.NOT_COMPILED, 'The model must be compiled first: call model.compile({optimizer, loss})');
  }
  const sampler = new BatchSampler(data, o.batchSize, o.seed);

  const weights = model.getWeightArena();
  const state = model.getOptimizerState();
  const lr0 = currentLr(model);
  const mult0 = typeof model.lrMultiplier === 'number' ? model.lrMultiplier : 1;

  const lrs: number[] = [];
  const losses: number[] = [];
  const rawLosses: number[] = [];
  let diverged = false;
  try {
    model.setLrMultiplier(1);
    const beta = o.smoothing;
    const ratio = o.endLr / o.startLr;
    let avg = 0;
    let best = Infinity;
    for (let i = 0; i < o.numIterations; i++) {
      const lr = o.startLr * ratio ** (i / o.numIterations);
      model.setLearningRate(lr);
      const b = sampler.next();
      let logs: Logs;
      try {
        logs = await model.trainOnBatch(b.x, b.y);
      } catch (e) {
        if (isNonFiniteError(e)) {
          diverged = true;
          break;
        }
        throw e;
      } finally {
        if (b.x instanceof Tensor) b.x.dispose();
        if (b.y instanceof Tensor) b.y.dispose();
      }
      const raw = logs.loss;
      avg = beta * avg + (1 - beta) * raw;
      const smooth = avg / (1 - beta ** (i + 1));
      lrs.push(lr);
      losses.push(smooth);
      rawLosses.push(raw);
      if (!Number.isFinite(smooth)) {
        diverged = true;
        break;
      }
      if (smooth < best) best = smooth;
      if (o.stopOnDivergence && smooth > o.divergeThreshold * best) {
        diverged = true;
        break;
      }
    }
  } finally {
    model.setWeightArena(weights);
    model.setOptimizerState(state);
    model.setLearningRate(lr0);
    model.setLrMultiplier(mult0);
  }

  const w = suggestionWindow(lrs, losses, o.numIterations);
  const suggestions = {
    valley: valleySuggestion(w.lrs, w.losses),
    steepest: steepestSuggestion(w.lrs, w.losses),
    minimum: minimumSuggestion(w.lrs, w.losses),
  };
  return { lrs, losses, rawLosses, suggestions, suggested: suggestions[o.rule], diverged };
}
