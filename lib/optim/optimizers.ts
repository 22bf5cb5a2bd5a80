/**
 * Optimizer configurations for model.compile(). Each is plain data run natively by one fused kernel
 * pass per parameter group (see native/kernels/optim.cc); the update rules are PyTorch's
 * (torch.optim.SGD, Adam, AdamW, RMSprop, Adagrad) and so are the defaults.
 */
import type { NativeOptimizerSpec } from '../native/engine';
import { normalizeLr } from '../schedules/spec';
import type { LrSpec, Schedule } from '../schedules/spec';
import { DEFAULT_LEARNING_RATE } from './lr';
import * as v from '../validate';

export type OptimizerType = 'sgd' | 'adam' | 'adamw' | 'rmsprop' | 'adagrad';

/** A parameter group: the named layers get their own learning rate and/or weight decay. */
export interface ParamGroup {
  /** Layer names in this group. */
  layers: string[];
  lr?: number | Schedule;
  weightDecay?: number;
}

export interface OptimizerConfig {
  type: OptimizerType;
  lr: LrSpec;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  amsgrad?: boolean;
  alpha?: number;
  centered?: boolean;
  lrDecay?: number;
  initialAccumulatorValue?: number;
  /** Clip the global L2 norm of all gradients to this value (0: off). */
  clipNorm: number;
  /** Clamp every gradient element to [-clipValue, clipValue] (0: off). */
  clipValue: number;
  paramGroups: ParamGroup[];
  /** Online learning-rate adaptation by hypergradient descent (null: off). */
  hypergradient: HypergradientOptions | null;
}

/**
 * Hypergradient descent (Baydin et al., 2018): after every step the learning rate moves by
 * `hyperLr` times the dot product of the new gradient and the previous update direction, within
 * [minLr, maxLr]. Suggested hyperLr: about 1e-3 to 1e-4 for SGD, 1e-7 to 1e-8 for Adam (its update
 * direction has unit scale per parameter).
 */
export interface HypergradientOptions {
  hyperLr: number;
  minLr: number;
  maxLr: number;
  /**
   * 'additive' (the paper's main rule, alpha += hyperLr * g_t . u_{t-1}) or 'multiplicative'
   * (its scale-free variant, alpha *= 1 + hyperLr * cos(g_t, u_{t-1}); hyperLr about 0.01-0.1).
   */
  rule: 'additive' | 'multiplicative';
}

const COMMON = ['lr', 'weightDecay', 'clipNorm', 'clipValue', 'paramGroups', 'hypergradient'];

/** Options every optimizer takes. */
export interface CommonOptimizerOptions {
  lr?: LrSpec;
  weightDecay?: number;
  /** Clip the global L2 norm of all gradients to this value (0: off). */
  clipNorm?: number;
  /** Clamp every gradient element to [-clipValue, clipValue] (0: off). */
  clipValue?: number;
  paramGroups?: ParamGroup[];
  hypergradient?: boolean | Partial<HypergradientOptions>;
}

function checkHypergradient(type: OptimizerType, x: unknown): HypergradientOptions | null {
  if (x === undefined || x === null || x === false) return null;
  if (x === true) return { hyperLr: 0.05, minLr: 0, maxLr: 10, rule: 'multiplicative' };
  const o = v.plainObject('hypergradient', x);
  v.knownKeys('hypergradient', o, ['hyperLr', 'minLr', 'maxLr', 'rule']);
  const rule = v.optional(o.rule, 'multiplicative' as const, (y) => v.oneOf('hypergradient.rule', y, ['additive', 'multiplicative'] as const));
  const dflt = rule === 'multiplicative' ? 0.05 : type === 'sgd' ? 1e-3 : 1e-7;
  const hyperLr = v.optional(o.hyperLr, dflt, (y) => v.finiteNumber('hypergradient.hyperLr', y, { min: 0, minExclusive: true }));
  const minLr = v.optional(o.minLr, 0, (y) => v.finiteNumber('hypergradient.minLr', y, { min: 0 }));
  const maxLr = v.optional(o.maxLr, 10, (y) => v.finiteNumber('hypergradient.maxLr', y, { min: 0 }));
  if (maxLr < minLr) throw v.rangeError(`a number >= minLr (${minLr})`, 'hypergradient.maxLr', maxLr);
  return { hyperLr, minLr, maxLr, rule };
}

function base(type: OptimizerType, o: Record<string, unknown>, lr: number, wd: number): OptimizerConfig {
  return {
    type,
    lr: o.lr === undefined ? lr : normalizeLr('lr', o.lr),
    weightDecay: v.optional(o.weightDecay, wd, (x) => v.finiteNumber('weightDecay', x, { min: 0 })),
    clipNorm: v.optional(o.clipNorm, 0, (x) => v.finiteNumber('clipNorm', x, { min: 0 })),
    clipValue: v.optional(o.clipValue, 0, (x) => v.finiteNumber('clipValue', x, { min: 0 })),
    paramGroups: v.optional(o.paramGroups, [] as ParamGroup[], checkGroups),
    hypergradient: checkHypergradient(type, o.hypergradient),
  };
}

function checkGroups(x: unknown): ParamGroup[] {
  if (!Array.isArray(x)) throw v.typeError('an array of parameter groups', 'paramGroups', x);
  const seen = new Set<string>();
  return x.map((g, i) => {
    const o = v.plainObject(`paramGroups[${i}]`, g);
    v.knownKeys(`paramGroups[${i}]`, o, ['layers', 'lr', 'weightDecay']);
    if (!Array.isArray(o.layers) || o.layers.length === 0) throw v.typeError('a non-empty array of layer names', `paramGroups[${i}].layers`, o.layers);
    const layers = o.layers.map((n, j) => {
      const s = v.string(`paramGroups[${i}].layers[${j}]`, n);
      if (seen.has(s)) throw v.rangeError('each layer in at most one group', `paramGroups[${i}].layers[${j}]`, s);
      seen.add(s);
      return s;
    });
    const lr = o.lr === undefined ? undefined : normalizeLr(`paramGroups[${i}].lr`, o.lr);
    if (lr === 'auto') throw v.rangeError('a number or a schedule', `paramGroups[${i}].lr`, lr);
    return {
      layers,
      lr: lr as number | Schedule | undefined,
      weightDecay: o.weightDecay === undefined ? undefined : v.finiteNumber(`paramGroups[${i}].weightDecay`, o.weightDecay, { min: 0 }),
    };
  });
}

function opts(name: string, x: unknown, keys: string[]): Record<string, unknown> {
  const o = v.plainObject(`${name} options`, x ?? {});
  v.knownKeys(`${name} options`, o, [...COMMON, ...keys]);
  return o;
}

const beta = (name: string, x: unknown, d: number): number =>
  v.optional(x, d, (y) => v.finiteNumber(name, y, { min: 0, max: 1, maxExclusive: true }));
const positive = (name: string, x: unknown, d: number): number =>
  v.optional(x, d, (y) => v.finiteNumber(name, y, { min: 0, minExclusive: true }));

/**
 * Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay
 * (torch.optim.SGD).
 * @throws RangeError for out-of-range options (momentum must be in [0, 1): at 1 and above the
 *   velocity never decays and training diverges); Nesterov needs momentum > 0 and dampening 0.
 * @example sgd({lr: 0.1, momentum: 0.9, nesterov: true})
 */
export function sgd(options: CommonOptimizerOptions & {
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
} = {}): OptimizerConfig {
  const o = opts('sgd', options, ['momentum', 'dampening', 'nesterov']);
  const c = base('sgd', o, 0.01, 0);
  // momentum >= 1 never lets the velocity decay (the step grows without bound): refused.
  c.momentum = v.optional(o.momentum, 0, (x) => v.finiteNumber('momentum', x, { min: 0, max: 1, maxExclusive: true }));
  c.dampening = v.optional(o.dampening, 0, (x) => v.finiteNumber('dampening', x, { min: 0, max: 1 }));
  c.nesterov = v.optional(o.nesterov, false, (x) => v.boolean('nesterov', x));
  if (c.nesterov && (c.momentum <= 0 || c.dampening !== 0)) {
    throw v.rangeError('momentum > 0 and dampening 0 with nesterov', 'momentum', c.momentum);
  }
  return c;
}

/**
 * Adam (torch.optim.Adam): weight decay as an L2 term added to the gradient.
 * @example adam({lr: 1e-3})
 */
export function adam(options: CommonOptimizerOptions & {
  beta1?: number;
  beta2?: number;
  eps?: number;
  amsgrad?: boolean;
} = {}): OptimizerConfig {
  return adamLike('adam', options, 0);
}

/**
 * AdamW (torch.optim.AdamW): decoupled weight decay (default 0.01).
 * @example adamw({lr: 1e-3, weightDecay: 0.05})
 */
export function adamw(options: Parameters<typeof adam>[0] = {}): OptimizerConfig {
  return adamLike('adamw', options, 0.01);
}

function adamLike(type: 'adam' | 'adamw', options: unknown, wd: number): OptimizerConfig {
  const o = opts(type, options, ['beta1', 'beta2', 'eps', 'amsgrad']);
  const c = base(type, o, DEFAULT_LEARNING_RATE, wd);
  c.beta1 = beta('beta1', o.beta1, 0.9);
  c.beta2 = beta('beta2', o.beta2, 0.999);
  c.eps = positive('eps', o.eps, 1e-8);
  c.amsgrad = v.optional(o.amsgrad, false, (x) => v.boolean('amsgrad', x));
  return c;
}

/**
 * RMSProp (torch.optim.RMSprop), optionally centered and with momentum.
 * @example rmsprop({lr: 1e-3, centered: true})
 */
export function rmsprop(options: CommonOptimizerOptions & {
  alpha?: number;
  eps?: number;
  momentum?: number;
  centered?: boolean;
} = {}): OptimizerConfig {
  const o = opts('rmsprop', options, ['alpha', 'eps', 'momentum', 'centered']);
  const c = base('rmsprop', o, 0.01, 0);
  c.alpha = beta('alpha', o.alpha, 0.99);
  c.eps = positive('eps', o.eps, 1e-8);
  c.momentum = v.optional(o.momentum, 0, (x) => v.finiteNumber('momentum', x, { min: 0 }));
  c.centered = v.optional(o.centered, false, (x) => v.boolean('centered', x));
  return c;
}

/**
 * AdaGrad (torch.optim.Adagrad) with learning-rate decay and an initial accumulator value.
 * @example adagrad({lr: 0.05})
 */
export function adagrad(options: CommonOptimizerOptions & {
  lrDecay?: number;
  eps?: number;
  initialAccumulatorValue?: number;
} = {}): OptimizerConfig {
  const o = opts('adagrad', options, ['lrDecay', 'eps', 'initialAccumulatorValue']);
  const c = base('adagrad', o, 0.01, 0);
  c.lrDecay = v.optional(o.lrDecay, 0, (x) => v.finiteNumber('lrDecay', x, { min: 0 }));
  c.eps = positive('eps', o.eps, 1e-10);
  c.initialAccumulatorValue = v.optional(o.initialAccumulatorValue, 0, (x) => v.finiteNumber('initialAccumulatorValue', x, { min: 0 }));
  return c;
}

const FACTORIES: Record<OptimizerType, (o?: object) => OptimizerConfig> = { sgd, adam, adamw, rmsprop, adagrad };

/** An optimizer config, or its name for the defaults. */
export type OptimizerSpec = OptimizerConfig | OptimizerType;

/** Validates an optimizer argument. @internal */
export function resolveOptimizer(x: unknown): OptimizerConfig {
  if (typeof x === 'string') return FACTORIES[v.oneOf('optimizer', x, Object.keys(FACTORIES) as OptimizerType[])]();
  const o = v.plainObject('optimizer', x);
  const type = v.oneOf('optimizer.type', o.type, Object.keys(FACTORIES) as OptimizerType[]);
  const { type: _t, ...rest } = o;
  return FACTORIES[type](rest);
}

/**
 * The native form. `groupOf` maps a layer name to its group index (0 = default group, i + 1 =
 * paramGroups[i]); `lr` overrides an 'auto' rate with the one a controller chose. @internal
 */
export function toNativeOptimizer(c: OptimizerConfig, lrOverride?: number | Schedule): NativeOptimizerSpec {
  const lr = lrOverride ?? c.lr;
  if (lr === 'auto') throw v.rangeError("a number or a schedule (lr 'auto' needs fit's learning-rate controller)", 'lr', lr);
  const n: NativeOptimizerSpec = {
    kind: c.type,
    lr: typeof lr === 'number' ? lr : 0,
    schedule: typeof lr === 'number' ? undefined : lr,
    momentum: c.momentum,
    dampening: c.dampening,
    nesterov: c.nesterov,
    weightDecay: c.weightDecay,
    beta1: c.beta1,
    beta2: c.beta2,
    eps: c.eps,
    amsgrad: c.amsgrad,
    alpha: c.alpha,
    centered: c.centered,
    lrDecay: c.lrDecay,
    initialAccumulatorValue: c.initialAccumulatorValue,
    clipNorm: c.clipNorm,
    clipValue: c.clipValue,
    hypergradient: c.hypergradient !== null,
    hyperLr: c.hypergradient?.hyperLr ?? 0,
    hyperMinLr: c.hypergradient?.minLr ?? 0,
    hyperMaxLr: c.hypergradient?.maxLr ?? 1e9,
    hyperMultiplicative: c.hypergradient?.rule === 'multiplicative',
    groups: [{}, ...c.paramGroups.map((g) => ({
      lr: typeof g.lr === 'number' ? g.lr : undefined,
      schedule: typeof g.lr === 'object' ? g.lr : undefined,
      weightDecay: g.weightDecay,
    }))],
  };
  return n;
}
