/**
 * Fused optimizer steps on Tensors: SGD (momentum, dampening, Nesterov), Adam, AdamW (AMSGrad),
 * RMSprop (centered, momentum) and Adagrad. Each call updates the parameters and the optimizer
 * state in place with one native pass per parameter tensor and increments `state.step`.
 *
 * The update rules are PyTorch's documented algorithms (torch.optim.SGD, Adam, AdamW, RMSprop,
 * Adagrad), with the same option meanings in camelCase. `gradScale` multiplies the gradient before
 * anything else (global-norm clipping and loss-scale undo fold into it); gradients are never
 * modified. State is created by the `create*State` helpers; buffers an option needs but the state
 * lacks (e.g. turning on momentum later) are created as PyTorch creates them, at the first step
 * that needs them.
 */
import { ArgumentRangeError, callNative } from '../errors';
import { binding } from '../native';
import { bufferOf, checkTensor, Tensor, zeros, fill } from '../tensor/tensor';
import * as v from '../validate';
import { DEFAULT_LEARNING_RATE } from './lr';

/** One parameter Tensor or a list of them (float32). */
export type Params = Tensor | readonly Tensor[];

export interface SgdOptions {
  /** Learning rate (>= 0). Default 1e-3. */
  lr?: number;
  /** Momentum factor (>= 0). Default 0. */
  momentum?: number;
  /** Dampening for momentum. Default 0. */
  dampening?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening == 0). Default false. */
  nesterov?: boolean;
  /** L2 penalty added to the gradient (>= 0). Default 0. */
  weightDecay?: number;
  /** Maximise the objective instead of minimising. Default false. */
  maximize?: boolean;
  /** Multiplies the gradient first. Default 1. */
  gradScale?: number;
}

export interface AdamOptions {
  /** Learning rate (>= 0). Default 1e-3. */
  lr?: number;
  /** Decay of the first moment, in [0, 1). Default 0.9. */
  beta1?: number;
  /** Decay of the second moment, in [0, 1). Default 0.999. */
  beta2?: number;
  /** Added to the denominator (> 0). Default 1e-8. */
  eps?: number;
  /** Weight decay (>= 0): L2 added to the gradient, or decoupled (AdamW). Default 0 (AdamW: 1e-2). */
  weightDecay?: number;
  /** Decoupled weight decay (AdamW): param *= 1 - lr * weightDecay. Default false. */
  decoupled?: boolean;
  /** AMSGrad: use the running maximum of the second moment. Default false. */
  amsgrad?: boolean;
  maximize?: boolean;
  gradScale?: number;
}

export type AdamWOptions = Omit<AdamOptions, 'decoupled'>;

export interface RmspropOptions {
  /** Learning rate (>= 0). Default 1e-2. */
  lr?: number;
  /** Smoothing constant, in [0, 1]. Default 0.99. */
  alpha?: number;
  /** Added to the denominator (> 0). Default 1e-8. */
  eps?: number;
  weightDecay?: number;
  /** Momentum factor (>= 0). Default 0. */
  momentum?: number;
  /** Normalise by the centred second moment (an estimate of the variance). Default false. */
  centered?: boolean;
  maximize?: boolean;
  gradScale?: number;
}

export interface AdagradOptions {
  /** Learning rate (>= 0). Default 1e-2. */
  lr?: number;
  /** Learning-rate decay (>= 0): lr / (1 + (t - 1) * lrDecay). Default 0. */
  lrDecay?: number;
  weightDecay?: number;
  /** Added to the denominator (> 0). Default 1e-10. */
  eps?: number;
  maximize?: boolean;
  gradScale?: number;
}

/** SGD state: the step count and the momentum buffers (null until momentum is used). */
export interface SgdState {
  step: number;
  momentumBuffer: Tensor[] | null;
  /** False until a step with momentum has filled momentumBuffer (the first one copies the gradient). */
  momentumInitialized: boolean;
}

/** Adam / AdamW state: first moment, second moment, and its running max (AMSGrad). */
export interface AdamState {
  step: number;
  expAvg: Tensor[];
  expAvgSq: Tensor[];
  maxExpAvgSq: Tensor[] | null;
}

/** RMSprop state: square average, momentum buffer (momentum > 0), gradient average (centered). */
export interface RmspropState {
  step: number;
  squareAvg: Tensor[];
  momentumBuffer: Tensor[] | null;
  gradAvg: Tensor[] | null;
}

/** Adagrad state: the sum of squared gradients. */
export interface AdagradState {
  step: number;
  sum: Tensor[];
}

// ---- validation helpers ----------------------------------------------------------------------

/** A finite number in range that also stays finite as the float32 the kernels use. */
function f32(
  name: string,
  value: unknown,
  dflt: number,
  range: { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean } = {},
): number {
  if (value === undefined) return dflt;
  const x = v.finiteNumber(name, value, range);
  if (!Number.isFinite(Math.fround(x))) throw v.rangeError('a number within the float32 range', name, x);
  return x;
}

function bool(name: string, value: unknown, dflt: boolean): boolean {
  return value === undefined ? dflt : v.boolean(name, value);
}

function options(value: unknown, keys: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  const o = v.plainObject('opts', value);
  v.knownKeys('opts', o, keys);
  return o;
}

function paramList(name: string, x: unknown): Tensor[] {
  if (x instanceof Tensor) return [checkTensor(name, x, { dtype: 'float32' })];
  if (!Array.isArray(x)) throw v.typeError('a Tensor or an array of Tensors', name, x);
  return x.map((t, i) => checkTensor(`${name}[${i}]`, t, { dtype: 'float32' }));
}

function sameShape(a: Tensor, b: Tensor): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

function gradList(params: Tensor[], grads: unknown): Tensor[] {
  const gs = paramList('grads', grads);
  if (gs.length !== params.length) {
    throw v.rangeError(`${params.length} gradient Tensor${params.length === 1 ? '' : 's'}`, 'grads', grads);
  }
  gs.forEach((g, i) => {
    const name = grads instanceof Tensor ? 'grads' : `grads[${i}]`;
    if (!sameShape(g, params[i])) throw v.rangeError(`a Tensor of shape [${params[i].shape.join(', ')}]`, name, g);
    if (g === params[i]) throw v.rangeError('a Tensor other than the parameter', name, g);
  });
  return gs;
}

function checkState(state: unknown, keys: readonly string[]): Record<string, unknown> {
  const s = v.plainObject('state', state);
  for (const k of keys) {
    if (!(k in s)) throw v.rangeError(`an optimizer state with a '${k}' field`, 'state', state);
  }
  v.integer('state.step', s.step, 0);
  return s;
}

/** A state list matching params (shapes, float32, distinct from params/grads), or null when allowed. */
function stateList(name: string, list: unknown, params: Tensor[], nullable: boolean): Tensor[] | null {
  if (list === null && nullable) return null;
  if (!Array.isArray(list)) throw v.typeError(nullable ? 'an array of Tensors or null' : 'an array of Tensors', name, list);
  if (list.length !== params.length) throw v.rangeError(`an array of ${params.length} Tensors`, name, list);
  return list.map((t, i) => {
    const x = checkTensor(`${name}[${i}]`, t, { dtype: 'float32' });
    if (!sameShape(x, params[i])) throw v.rangeError(`a Tensor of shape [${params[i].shape.join(', ')}]`, `${name}[${i}]`, x);
    return x;
  });
}

function zerosLike(params: Tensor[]): Tensor[] {
  return params.map((p) => zeros(p.shape));
}

// ---- state helpers ---------------------------------------------------------------------------

/**
 * State for {@link sgdStep}. With `momentum > 0` the momentum buffers are allocated now; otherwise
 * they are created by the first step that uses momentum.
 * @throws TypeError for a non-Tensor parameter; RangeError for a negative momentum.
 * @example const state = createSgdState(params, { momentum: 0.9 });
 */
export function createSgdState(params: Params, opts: { momentum?: number } = {}): SgdState {
  const ps = paramList('params', params);
  const o = options(opts, ['momentum']);
  const momentum = f32('momentum', o.momentum, 0, { min: 0 });
  return { step: 0, momentumBuffer: momentum > 0 ? zerosLike(ps) : null, momentumInitialized: false };
}

/**
 * State for {@link adamStep} / {@link adamwStep}: zero moments (and their running max for AMSGrad).
 * @throws TypeError for a non-Tensor parameter or a non-boolean amsgrad.
 * @example const state = createAdamState([w, b], { amsgrad: true });
 */
export function createAdamState(params: Params, opts: { amsgrad?: boolean } = {}): AdamState {
  const ps = paramList('params', params);
  const o = options(opts, ['amsgrad']);
  const amsgrad = bool('amsgrad', o.amsgrad, false);
  return { step: 0, expAvg: zerosLike(ps), expAvgSq: zerosLike(ps), maxExpAvgSq: amsgrad ? zerosLike(ps) : null };
}

/**
 * State for {@link rmspropStep}: the square average, plus the momentum buffer (momentum > 0) and
 * the gradient average (centered).
 * @throws TypeError / RangeError for bad parameters or options.
 * @example const state = createRmspropState(params, { momentum: 0.9, centered: true });
 */
export function createRmspropState(params: Params, opts: { momentum?: number; centered?: boolean } = {}): RmspropState {
  const ps = paramList('params', params);
  const o = options(opts, ['momentum', 'centered']);
  const momentum = f32('momentum', o.momentum, 0, { min: 0 });
  const centered = bool('centered', o.centered, false);
  return {
    step: 0,
    squareAvg: zerosLike(ps),
    momentumBuffer: momentum > 0 ? zerosLike(ps) : null,
    gradAvg: centered ? zerosLike(ps) : null,
  };
}

/**
 * State for {@link adagradStep}: the accumulator filled with `initialAccumulatorValue` (default 0),
 * given as a number or as `{ initialAccumulatorValue }`.
 * @throws RangeError when the initial value is negative or not finite.
 * @example const state = createAdagradState(params, { initialAccumulatorValue: 0.1 });
 */
export function createAdagradState(params: Params, init: number | { initialAccumulatorValue?: number } = {}): AdagradState {
  const ps = paramList('params', params);
  let value: unknown;
  if (typeof init === 'number') {
    value = init;
  } else {
    const o = options(init, ['initialAccumulatorValue']);
    value = o.initialAccumulatorValue;
  }
  const iav = f32('initialAccumulatorValue', value, 0, { min: 0 });
  return { step: 0, sum: ps.map((p) => fill(p.shape, iav)) };
}

/**
 * Frees every Tensor held by an optimizer state (idempotent).
 * @example disposeOptimizerState(state);
 */
export function disposeOptimizerState(state: SgdState | AdamState | RmspropState | AdagradState): void {
  for (const value of Object.values(v.plainObject('state', state))) {
    if (Array.isArray(value)) for (const t of value) if (t instanceof Tensor) t.dispose();
  }
}

// ---- steps -----------------------------------------------------------------------------------

const SGD_KEYS = ['lr', 'momentum', 'dampening', 'nesterov', 'weightDecay', 'maximize', 'gradScale'] as const;

/**
 * One SGD step (torch.optim.SGD): g = gradScale·grad (negated when maximize), g += weightDecay·p;
 * with momentum, buf = g on the first momentum step, else momentum·buf + (1 − dampening)·g, and
 * g = g + momentum·buf (Nesterov) or buf; then p −= lr·g. Increments state.step.
 * @throws TypeError for non-Tensor params/grads or options of the wrong type; RangeError for
 *   mismatched shapes, a state of another optimizer or size, or out-of-range options (e.g.
 *   `Expected a number >= 0 for lr but received -1`; Nesterov needs momentum > 0 and dampening 0).
 * @example
 * const state = createSgdState(w, { momentum: 0.9 });
 * sgdStep(w, dw, state, { lr: 0.1, momentum: 0.9, nesterov: true });
 */
export function sgdStep(params: Params, grads: Params, state: SgdState, opts: SgdOptions = {}): void {
  const ps = paramList('params', params);
  const gs = gradList(ps, grads);
  const o = options(opts, SGD_KEYS);
  const hp = {
    lr: f32('lr', o.lr, DEFAULT_LEARNING_RATE, { min: 0 }),
    momentum: f32('momentum', o.momentum, 0, { min: 0 }),
    dampening: f32('dampening', o.dampening, 0),
    nesterov: bool('nesterov', o.nesterov, false),
    weightDecay: f32('weightDecay', o.weightDecay, 0, { min: 0 }),
    maximize: bool('maximize', o.maximize, false),
    gradScale: f32('gradScale', o.gradScale, 1),
    step: 1,
  };
  if (hp.nesterov && (hp.momentum <= 0 || hp.dampening !== 0)) {
    throw new ArgumentRangeError(
      `Expected momentum > 0 and dampening == 0 for nesterov but received momentum ${hp.momentum} and dampening ${hp.dampening}`,
    );
  }
  const s = checkState(state, ['momentumBuffer', 'momentumInitialized']);
  let bufs = stateList('state.momentumBuffer', s.momentumBuffer, ps, true);
  const initialized = v.boolean('state.momentumInitialized', s.momentumInitialized);
  const useMomentum = hp.momentum !== 0;
  if (useMomentum && bufs === null) bufs = state.momentumBuffer = zerosLike(ps);
  // The kernel's step only decides whether the momentum buffer starts from the gradient.
  hp.step = useMomentum && initialized ? state.step + 1 : 1;
  const b = binding();
  callNative(() => {
    for (let i = 0; i < ps.length; i++) {
      b.sgdStep(bufferOf(ps[i], 'params'), bufferOf(gs[i], 'grads'), useMomentum ? bufferOf(bufs![i], 'momentumBuffer') : null, undefined, hp);
    }
  });
  state.step += 1;
  if (useMomentum) state.momentumInitialized = true;
}

const ADAM_KEYS = ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'decoupled', 'amsgrad', 'maximize', 'gradScale'] as const;

function adamImpl(params: Params, grads: Params, state: AdamState, opts: unknown, decoupledDefault: boolean, keys: readonly string[]): void {
  const ps = paramList('params', params);
  const gs = gradList(ps, grads);
  const o = options(opts, keys);
  const decoupled = bool('decoupled', o.decoupled, decoupledDefault);
  const hp = {
    lr: f32('lr', o.lr, DEFAULT_LEARNING_RATE, { min: 0 }),
    beta1: f32('beta1', o.beta1, 0.9, { min: 0, max: 1, maxExclusive: true }),
    beta2: f32('beta2', o.beta2, 0.999, { min: 0, max: 1, maxExclusive: true }),
    eps: f32('eps', o.eps, 1e-8, { min: 0, minExclusive: true }),
    weightDecay: f32('weightDecay', o.weightDecay, decoupledDefault ? 1e-2 : 0, { min: 0 }),
    decoupled,
    amsgrad: bool('amsgrad', o.amsgrad, false),
    maximize: bool('maximize', o.maximize, false),
    gradScale: f32('gradScale', o.gradScale, 1),
    step: 0,
  };
  // beta close to 1 rounds to 1 in float32, where the bias correction divides by zero.
  if (Math.fround(hp.beta1) >= 1) throw v.rangeError('a number >= 0 and < 1 in float32', 'beta1', hp.beta1);
  if (Math.fround(hp.beta2) >= 1) throw v.rangeError('a number >= 0 and < 1 in float32', 'beta2', hp.beta2);
  if (Math.fround(hp.eps) <= 0) throw v.rangeError('a number > 0 in float32', 'eps', hp.eps);
  const s = checkState(state, ['expAvg', 'expAvgSq', 'maxExpAvgSq']);
  const m = stateList('state.expAvg', s.expAvg, ps, false)!;
  const vv = stateList('state.expAvgSq', s.expAvgSq, ps, false)!;
  let vmax = stateList('state.maxExpAvgSq', s.maxExpAvgSq, ps, true);
  if (hp.amsgrad && vmax === null) vmax = state.maxExpAvgSq = zerosLike(ps);
  hp.step = state.step + 1;
  const b = binding();
  callNative(() => {
    for (let i = 0; i < ps.length; i++) {
      b.adamStep(
        bufferOf(ps[i], 'params'),
        bufferOf(gs[i], 'grads'),
        bufferOf(m[i], 'expAvg'),
        bufferOf(vv[i], 'expAvgSq'),
        hp.amsgrad ? bufferOf(vmax![i], 'maxExpAvgSq') : null,
        undefined,
        hp,
      );
    }
  });
  state.step += 1;
}

/**
 * One Adam step (torch.optim.Adam; `decoupled: true` gives AdamW): m = β1·m + (1 − β1)·g,
 * v = β2·v + (1 − β2)·g², p −= lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + eps), with
 * weightDecay added to g as L2 (or p *= 1 − lr·weightDecay when decoupled) and √max(v) for
 * AMSGrad. Increments state.step (t).
 * @throws TypeError for non-Tensor params/grads or options of the wrong type; RangeError for
 *   mismatched shapes, a foreign state, or out-of-range options (betas in [0, 1), eps > 0, lr >= 0).
 * @example
 * const state = createAdamState(w);
 * adamStep(w, dw, state, { lr: 1e-3 });
 */
export function adamStep(params: Params, grads: Params, state: AdamState, opts: AdamOptions = {}): void {
  adamImpl(params, grads, state, opts, false, ADAM_KEYS);
}

/**
 * One AdamW step (torch.optim.AdamW): {@link adamStep} with decoupled weight decay, whose default
 * is 1e-2 as in PyTorch.
 * @throws as {@link adamStep}.
 * @example
 * const state = createAdamState(w);
 * adamwStep(w, dw, state, { lr: 1e-3, weightDecay: 0.05 });
 */
export function adamwStep(params: Params, grads: Params, state: AdamState, opts: AdamWOptions = {}): void {
  adamImpl(params, grads, state, opts, true, ADAM_KEYS.filter((k) => k !== 'decoupled'));
}

const RMSPROP_KEYS = ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered', 'maximize', 'gradScale'] as const;

/**
 * One RMSprop step (torch.optim.RMSprop): sq = α·sq + (1 − α)·g²; centered: gavg = α·gavg + (1 − α)·g
 * and avg = √(sq − gavg²) + eps, else avg = √sq + eps; with momentum buf = momentum·buf + g/avg and
 * p −= lr·buf, else p −= lr·g/avg. Increments state.step.
 * @throws TypeError for non-Tensor params/grads or options of the wrong type; RangeError for
 *   mismatched shapes, a foreign state, or out-of-range options (alpha in [0, 1], eps > 0).
 * @example
 * const state = createRmspropState(w, { centered: true });
 * rmspropStep(w, dw, state, { lr: 1e-2, centered: true });
 */
export function rmspropStep(params: Params, grads: Params, state: RmspropState, opts: RmspropOptions = {}): void {
  const ps = paramList('params', params);
  const gs = gradList(ps, grads);
  const o = options(opts, RMSPROP_KEYS);
  const hp = {
    lr: f32('lr', o.lr, 1e-2, { min: 0 }),
    alpha: f32('alpha', o.alpha, 0.99, { min: 0, max: 1 }),
    eps: f32('eps', o.eps, 1e-8, { min: 0, minExclusive: true }),
    weightDecay: f32('weightDecay', o.weightDecay, 0, { min: 0 }),
    momentum: f32('momentum', o.momentum, 0, { min: 0 }),
    centered: bool('centered', o.centered, false),
    maximize: bool('maximize', o.maximize, false),
    gradScale: f32('gradScale', o.gradScale, 1),
    step: 0,
  };
  if (Math.fround(hp.eps) <= 0) throw v.rangeError('a number > 0 in float32', 'eps', hp.eps);
  const s = checkState(state, ['squareAvg', 'momentumBuffer', 'gradAvg']);
  const sq = stateList('state.squareAvg', s.squareAvg, ps, false)!;
  let buf = stateList('state.momentumBuffer', s.momentumBuffer, ps, true);
  let gavg = stateList('state.gradAvg', s.gradAvg, ps, true);
  const useMomentum = hp.momentum > 0;
  if (useMomentum && buf === null) buf = state.momentumBuffer = zerosLike(ps);
  if (hp.centered && gavg === null) gavg = state.gradAvg = zerosLike(ps);
  hp.step = state.step + 1;
  const b = binding();
  callNative(() => {
    for (let i = 0; i < ps.length; i++) {
      b.rmspropStep(
        bufferOf(ps[i], 'params'),
        bufferOf(gs[i], 'grads'),
        bufferOf(sq[i], 'squareAvg'),
        useMomentum ? bufferOf(buf![i], 'momentumBuffer') : null,
        hp.centered ? bufferOf(gavg![i], 'gradAvg') : null,
        undefined,
        hp,
      );
    }
  });
  state.step += 1;
}

const ADAGRAD_KEYS = ['lr', 'lrDecay', 'weightDecay', 'eps', 'maximize', 'gradScale'] as const;

/**
 * One Adagrad step (torch.optim.Adagrad): clr = lr / (1 + (t − 1)·lrDecay), g += weightDecay·p,
 * sum += g², p −= clr·g / (√sum + eps). Increments state.step (t).
 * @throws TypeError for non-Tensor params/grads or options of the wrong type; RangeError for
 *   mismatched shapes, a foreign state, or out-of-range options (lr, lrDecay, weightDecay >= 0, eps > 0).
 * @example
 * const state = createAdagradState(w, 0.1);
 * adagradStep(w, dw, state, { lr: 0.01, lrDecay: 1e-4 });
 */
export function adagradStep(params: Params, grads: Params, state: AdagradState, opts: AdagradOptions = {}): void {
  const ps = paramList('params', params);
  const gs = gradList(ps, grads);
  const o = options(opts, ADAGRAD_KEYS);
  const hp = {
    lr: f32('lr', o.lr, 1e-2, { min: 0 }),
    lrDecay: f32('lrDecay', o.lrDecay, 0, { min: 0 }),
    weightDecay: f32('weightDecay', o.weightDecay, 0, { min: 0 }),
    eps: f32('eps', o.eps, 1e-10, { min: 0, minExclusive: true }),
    maximize: bool('maximize', o.maximize, false),
    gradScale: f32('gradScale', o.gradScale, 1),
    step: 0,
  };
  if (Math.fround(hp.eps) <= 0) throw v.rangeError('a number > 0 in float32', 'eps', hp.eps);
  const s = checkState(state, ['sum']);
  const sum = stateList('state.sum', s.sum, ps, false)!;
  hp.step = state.step + 1;
  const b = binding();
  callNative(() => {
    for (let i = 0; i < ps.length; i++) {
      b.adagradStep(bufferOf(ps[i], 'params'), bufferOf(gs[i], 'grads'), bufferOf(sum[i], 'sum'), undefined, hp);
    }
  });
  state.step += 1;
}
