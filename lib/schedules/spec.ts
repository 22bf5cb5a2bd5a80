/**
 * Learning-rate schedules as plain data. Each factory validates its options and returns a frozen
 * `{type: '...', ...}` object; the native engine evaluates it every optimizer step (step 0 is the
 * first update) with PyTorch's definitions (torch.optim.lr_scheduler, stepped once per optimizer
 * step). There is no JavaScript evaluator: previews go through the native `scheduleValues`
 * (see ./preview.ts), so training and previews share one implementation.
 */
import { finiteNumber, integer, knownKeys, oneOf, plainObject, rangeError, typeError } from '../validate';

/** A constant learning rate. */
export interface ConstantSchedule {
  readonly type: 'constant';
  readonly lr: number;
}
/** StepLR: `lr * gamma^floor(t / stepSize)`. */
export interface StepSchedule {
  readonly type: 'step';
  readonly lr: number;
  readonly stepSize: number;
  readonly gamma: number;
}
/** MultiStepLR: `lr * gamma^(number of milestones <= t)`. */
export interface MultiStepSchedule {
  readonly type: 'multiStep';
  readonly lr: number;
  readonly milestones: readonly number[];
  readonly gamma: number;
}
/** ExponentialLR: `lr * gamma^t`. */
export interface ExponentialSchedule {
  readonly type: 'exponential';
  readonly lr: number;
  readonly gamma: number;
}
/** PolynomialLR: `lr * (1 - min(t, totalSteps) / totalSteps)^power`. */
export interface PolynomialSchedule {
  readonly type: 'polynomial';
  readonly lr: number;
  readonly totalSteps: number;
  readonly power: number;
}
/** CosineAnnealingLR (closed form): `etaMin + (lr - etaMin) * (1 + cos(pi * t / tMax)) / 2`. */
export interface CosineSchedule {
  readonly type: 'cosine';
  readonly lr: number;
  readonly tMax: number;
  readonly etaMin: number;
}
/** CosineAnnealingWarmRestarts (SGDR): cycles of length t0, t0*tMult, t0*tMult^2, ... */
export interface CosineWarmRestartsSchedule {
  readonly type: 'cosineWarmRestarts';
  readonly lr: number;
  readonly t0: number;
  readonly tMult: number;
  readonly etaMin: number;
}
/** LinearLR: `lr * (startFactor + (endFactor - startFactor) * min(t, totalSteps) / totalSteps)`. */
export interface LinearWarmupSchedule {
  readonly type: 'linearWarmup';
  readonly lr: number;
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalSteps: number;
}
/** OneCycleLR, with momentum (SGD momentum / Adam beta1) cycled inversely when cycleMomentum. */
export interface OneCycleSchedule {
  readonly type: 'oneCycle';
  readonly maxLr: number;
  readonly totalSteps: number;
  readonly pctStart: number;
  readonly anneal: 'cos' | 'linear';
  readonly divFactor: number;
  readonly finalDivFactor: number;
  readonly threePhase: boolean;
  readonly cycleMomentum: boolean;
  readonly baseMomentum: number;
  readonly maxMomentum: number;
}
/** SequentialLR: child i runs from milestones[i-1] and sees the step count from there. */
export interface SequenceSchedule {
  readonly type: 'sequence';
  readonly schedules: readonly Schedule[];
  readonly milestones: readonly number[];
}

/** Any learning-rate schedule (plain, frozen data). */
export type Schedule =
  | ConstantSchedule
  | StepSchedule
  | MultiStepSchedule
  | ExponentialSchedule
  | PolynomialSchedule
  | CosineSchedule
  | CosineWarmRestartsSchedule
  | LinearWarmupSchedule
  | OneCycleSchedule
  | SequenceSchedule;

export type ScheduleType = Schedule['type'];

/** How optimizer configs take a learning rate: a number, a schedule, or 'auto' (set by a controller). */
export type LrSpec = number | Schedule | 'auto';

/** Deepest nesting of sequences (the native evaluator recurses through them). */
export const MAX_SCHEDULE_DEPTH = 16;

const FIELDS: { readonly [K in ScheduleType]: readonly string[] } = {
  constant: ['lr'],
  step: ['lr', 'stepSize', 'gamma'],
  multiStep: ['lr', 'milestones', 'gamma'],
  exponential: ['lr', 'gamma'],
  polynomial: ['lr', 'totalSteps', 'power'],
  cosine: ['lr', 'tMax', 'etaMin'],
  cosineWarmRestarts: ['lr', 't0', 'tMult', 'etaMin'],
  linearWarmup: ['lr', 'startFactor', 'endFactor', 'totalSteps'],
  oneCycle: [
    'maxLr',
    'totalSteps',
    'pctStart',
    'anneal',
    'divFactor',
    'finalDivFactor',
    'threePhase',
    'cycleMomentum',
    'baseMomentum',
    'maxMomentum',
  ],
  sequence: ['schedules', 'milestones'],
};
const TYPES = Object.keys(FIELDS) as ScheduleType[];

type Fields = Record<string, unknown>;
/** Maps a field to the name used in error messages ('gamma' from a factory, 'lr.gamma' from normalizeLr). */
type Namer = (field: string) => string;

const def = <T>(v: unknown, d: T): unknown => (v === undefined ? d : v);
const nonNegative = (n: string, v: unknown): number => finiteNumber(n, v, { min: 0 });
const positive = (n: string, v: unknown): number => finiteNumber(n, v, { min: 0, minExclusive: true });
const bool = (n: string, v: unknown): boolean => {
  if (typeof v !== 'boolean') throw typeError('a boolean', n, v);
  return v;
};

/** Strictly increasing integers >= min, each checked against its predecessor. */
function milestoneList(name: string, value: unknown, min: number): number[] {
  if (!Array.isArray(value)) throw typeError('an array of integers', name, value);
  const out: number[] = [];
  for (let i = 0; i < value.length; i++) {
    out.push(integer(`${name}[${i}]`, value[i], i === 0 ? min : out[i - 1] + 1));
  }
  return out;
}

function depthOf(s: Schedule): number {
  return s.type === 'sequence' ? 1 + Math.max(...s.schedules.map(depthOf)) : 0;
}

/**
 * The nesting depth of a sequence not yet validated, found without recursion and capped just past
 * MAX_SCHEDULE_DEPTH: a 10,000-deep input is refused before validation recurses into it (which
 * would overflow the stack), and a cyclic one is refused too.
 */
function rawDepth(root: unknown): number {
  const stack: [unknown, number][] = [[root, 0]];
  let max = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    const o = node as { type?: unknown; schedules?: unknown };
    if (o.type !== 'sequence' || !Array.isArray(o.schedules)) continue;
    const d = depth + 1;
    if (d > max) max = d;
    if (d > MAX_SCHEDULE_DEPTH) return d;
    for (const child of o.schedules as unknown[]) stack.push([child, d]);
  }
  return max;
}

function freeze<T extends object>(o: T): T {
  return Object.freeze(o);
}

const BUILD: { readonly [K in ScheduleType]: (f: Fields, n: Namer) => Extract<Schedule, { type: K }> } = {
  constant: (f, n) => freeze({ type: 'constant', lr: nonNegative(n('lr'), f.lr) }),
  step: (f, n) =>
    freeze({
      type: 'step',
      lr: nonNegative(n('lr'), f.lr),
      stepSize: integer(n('stepSize'), f.stepSize, 1),
      gamma: positive(n('gamma'), def(f.gamma, 0.1)),
    }),
  multiStep: (f, n) =>
    freeze({
      type: 'multiStep',
      lr: nonNegative(n('lr'), f.lr),
      milestones: Object.freeze(milestoneList(n('milestones'), f.milestones, 0)),
      gamma: positive(n('gamma'), def(f.gamma, 0.1)),
    }),
  exponential: (f, n) =>
    freeze({ type: 'exponential', lr: nonNegative(n('lr'), f.lr), gamma: positive(n('gamma'), f.gamma) }),
  polynomial: (f, n) =>
    freeze({
      type: 'polynomial',
      lr: nonNegative(n('lr'), f.lr),
      totalSteps: integer(n('totalSteps'), f.totalSteps, 1),
      power: nonNegative(n('power'), def(f.power, 1)),
    }),
  cosine: (f, n) =>
    freeze({
      type: 'cosine',
      lr: nonNegative(n('lr'), f.lr),
      tMax: integer(n('tMax'), f.tMax, 1),
      etaMin: nonNegative(n('etaMin'), def(f.etaMin, 0)),
    }),
  cosineWarmRestarts: (f, n) =>
    freeze({
      type: 'cosineWarmRestarts',
      lr: nonNegative(n('lr'), f.lr),
      t0: integer(n('t0'), f.t0, 1),
      tMult: integer(n('tMult'), def(f.tMult, 1), 1),
      etaMin: nonNegative(n('etaMin'), def(f.etaMin, 0)),
    }),
  linearWarmup: (f, n) =>
    freeze({
      type: 'linearWarmup',
      lr: nonNegative(n('lr'), f.lr),
      startFactor: finiteNumber(n('startFactor'), def(f.startFactor, 1 / 3), { min: 0, minExclusive: true, max: 1 }),
      endFactor: finiteNumber(n('endFactor'), def(f.endFactor, 1), { min: 0, max: 1 }),
      totalSteps: integer(n('totalSteps'), def(f.totalSteps, 5), 1),
    }),
  oneCycle: (f, n) => {
    const maxLr = positive(n('maxLr'), f.maxLr);
    const totalSteps = integer(n('totalSteps'), f.totalSteps, 1);
    const pctStart = finiteNumber(n('pctStart'), def(f.pctStart, 0.3), {
      min: 0,
      max: 1,
      minExclusive: true,
      maxExclusive: true,
    });
    // PyTorch's first phase ends at pctStart * totalSteps - 1; at exactly 1 it is empty and
    // PyTorch divides 0 by 0 on the first step.
    if (pctStart * totalSteps === 1) {
      throw rangeError(`a value with pctStart * totalSteps != 1 (totalSteps is ${totalSteps})`, n('pctStart'), pctStart);
    }
    const cycleMomentum = bool(n('cycleMomentum'), def(f.cycleMomentum, true));
    const momentum = (field: string, d: number): number =>
      finiteNumber(n(field), def(f[field], d), { min: 0, max: 1, maxExclusive: true });
    return freeze({
      type: 'oneCycle',
      maxLr,
      totalSteps,
      pctStart,
      anneal: oneOf(n('anneal'), def(f.anneal, 'cos'), ['cos', 'linear'] as const),
      divFactor: positive(n('divFactor'), def(f.divFactor, 25)),
      finalDivFactor: positive(n('finalDivFactor'), def(f.finalDivFactor, 1e4)),
      threePhase: bool(n('threePhase'), def(f.threePhase, false)),
      cycleMomentum,
      baseMomentum: momentum('baseMomentum', 0.85),
      maxMomentum: momentum('maxMomentum', 0.95),
    });
  },
  sequence: (f, n) => {
    const list = f.schedules;
    if (!Array.isArray(list)) throw typeError('an array of schedules', n('schedules'), list);
    if (list.length === 0) throw rangeError('at least one schedule', n('schedules'), list);
    if (rawDepth({ type: 'sequence', schedules: list }) > MAX_SCHEDULE_DEPTH) {
      throw rangeError(`sequences nested at most ${MAX_SCHEDULE_DEPTH} deep`, n('schedules'), list);
    }
    const schedules = list.map((s, i) => normalizeSchedule(`${n('schedules')}[${i}]`, s));
    const milestones = milestoneList(n('milestones'), f.milestones, 1);
    if (milestones.length !== schedules.length - 1) {
      throw rangeError(
        `${schedules.length - 1} milestone${schedules.length === 2 ? '' : 's'} (one fewer than schedules)`,
        n('milestones'),
        f.milestones,
      );
    }
    const out: SequenceSchedule = freeze({
      type: 'sequence',
      schedules: Object.freeze(schedules),
      milestones: Object.freeze(milestones),
    });
    if (depthOf(out) > MAX_SCHEDULE_DEPTH) {
      throw rangeError(`sequences nested at most ${MAX_SCHEDULE_DEPTH} deep`, n('schedules'), list);
    }
    return out;
  },
};

/**
 * True when `x` looks like a schedule: an object whose `type` names a schedule kind. A type guard
 * only; normalizeSchedule / normalizeLr validate every field.
 */
export function isSchedule(x: unknown): x is Schedule {
  return (
    typeof x === 'object' &&
    x !== null &&
    !Array.isArray(x) &&
    typeof (x as { type?: unknown }).type === 'string' &&
    (TYPES as string[]).includes((x as { type: string }).type)
  );
}

/**
 * Validates a schedule given as plain data (for example read from JSON) and returns it as the
 * frozen object its factory would make, with defaults filled in. Messages name fields as
 * `<name>.<field>`.
 * @throws TypeError / RangeError naming the first bad field.
 * @example normalizeSchedule('lr', JSON.parse('{"type":"cosine","lr":0.1,"tMax":100}'))
 */
export function normalizeSchedule(name: string, value: unknown): Schedule {
  const o = plainObject(name, value);
  const type = oneOf(`${name}.type`, o.type, TYPES);
  knownKeys(name, o, ['type', ...FIELDS[type]]);
  return BUILD[type](o, (field) => `${name}.${field}`);
}

/**
 * Validates a learning-rate setting: a finite number >= 0, a schedule (validated field by field),
 * or 'auto' (left for a learning-rate controller to set).
 * @throws TypeError for another type, RangeError for a bad value.
 * @example normalizeLr('lr', cosine(0.1, { tMax: 1000 }))
 */
export function normalizeLr(name: string, value: unknown): LrSpec {
  if (typeof value === 'number') return finiteNumber(name, value, { min: 0 });
  if (value === 'auto') return 'auto';
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return normalizeSchedule(name, value);
  const what = "a number, a schedule or 'auto'";
  throw typeof value === 'string' ? rangeError(what, name, value) : typeError(what, name, value);
}

function options(value: unknown, keys: readonly string[], required: boolean): Fields {
  if (value === undefined && !required) return {};
  const o = plainObject('options', value);
  knownKeys('options', o, keys);
  return o;
}

const plain: Namer = (field) => field;

/**
 * A constant learning rate.
 * @throws RangeError when lr is not a finite number >= 0.
 * @example constant(0.01)
 */
export function constant(lr: number): ConstantSchedule {
  return BUILD.constant({ lr }, plain);
}

/**
 * StepLR: multiplies the learning rate by gamma every stepSize steps.
 * @throws TypeError / RangeError for a bad lr, stepSize (integer >= 1) or gamma (> 0).
 * @example step(0.1, { stepSize: 30, gamma: 0.1 }) // 0.1 for steps 0..29, 0.01 for 30..59, ...
 */
export function step(lr: number, opts: { stepSize: number; gamma?: number }): StepSchedule {
  return BUILD.step({ lr, ...options(opts, ['stepSize', 'gamma'], true) }, plain);
}

/**
 * MultiStepLR: multiplies the learning rate by gamma at each milestone.
 * @throws TypeError / RangeError for a bad lr, gamma (> 0) or milestones (strictly increasing integers >= 0).
 * @example multiStep(0.1, { milestones: [30, 80] })
 */
export function multiStep(lr: number, opts: { milestones: readonly number[]; gamma?: number }): MultiStepSchedule {
  return BUILD.multiStep({ lr, ...options(opts, ['milestones', 'gamma'], true) }, plain);
}

/**
 * ExponentialLR: multiplies the learning rate by gamma every step.
 * @throws TypeError / RangeError for a bad lr or gamma (> 0).
 * @example exponential(0.1, { gamma: 0.99 })
 */
export function exponential(lr: number, opts: { gamma: number }): ExponentialSchedule {
  return BUILD.exponential({ lr, ...options(opts, ['gamma'], true) }, plain);
}

/**
 * PolynomialLR: decays to 0 over totalSteps as `(1 - t / totalSteps)^power`, then stays at 0.
 * @throws TypeError / RangeError for a bad lr, totalSteps (integer >= 1) or power (>= 0).
 * @example polynomial(0.1, { totalSteps: 1000, power: 2 })
 */
export function polynomial(lr: number, opts: { totalSteps: number; power?: number }): PolynomialSchedule {
  return BUILD.polynomial({ lr, ...options(opts, ['totalSteps', 'power'], true) }, plain);
}

/**
 * CosineAnnealingLR (closed form): half a cosine from lr down to etaMin over tMax steps. Like
 * PyTorch, the cosine continues past tMax (rising again); use warmupCosine to hold etaMin.
 * @throws TypeError / RangeError for a bad lr, tMax (integer >= 1) or etaMin (>= 0).
 * @example cosine(0.1, { tMax: 1000, etaMin: 1e-5 })
 */
export function cosine(lr: number, opts: { tMax: number; etaMin?: number }): CosineSchedule {
  return BUILD.cosine({ lr, ...options(opts, ['tMax', 'etaMin'], true) }, plain);
}

/**
 * CosineAnnealingWarmRestarts (SGDR): cosine cycles restarting at lr, of lengths t0, t0*tMult, ...
 * @throws TypeError / RangeError for a bad lr, t0 (integer >= 1), tMult (integer >= 1) or etaMin (>= 0).
 * @example cosineWarmRestarts(0.1, { t0: 100, tMult: 2 })
 */
export function cosineWarmRestarts(
  lr: number,
  opts: { t0: number; tMult?: number; etaMin?: number },
): CosineWarmRestartsSchedule {
  return BUILD.cosineWarmRestarts({ lr, ...options(opts, ['t0', 'tMult', 'etaMin'], true) }, plain);
}

/**
 * LinearLR: the factor on lr moves linearly from startFactor to endFactor over totalSteps steps,
 * then stays at endFactor. Defaults are PyTorch's (1/3, 1, 5).
 * @throws TypeError / RangeError for a bad lr, startFactor (in (0, 1]), endFactor (in [0, 1]) or totalSteps (integer >= 1).
 * @example linearWarmup(0.1, { startFactor: 0.01, totalSteps: 500 })
 */
export function linearWarmup(
  lr: number,
  opts?: { startFactor?: number; endFactor?: number; totalSteps?: number },
): LinearWarmupSchedule {
  return BUILD.linearWarmup({ lr, ...options(opts, ['startFactor', 'endFactor', 'totalSteps'], false) }, plain);
}

/**
 * OneCycleLR: from maxLr/divFactor up to maxLr over pctStart of totalSteps, then down to
 * maxLr/divFactor/finalDivFactor (threePhase: back to the start first, as in the paper), with
 * momentum cycled between maxMomentum and baseMomentum the other way. Steps from totalSteps on
 * hold the final values (PyTorch raises there).
 * @throws TypeError / RangeError for a bad option, e.g. maxLr <= 0, pctStart outside (0, 1),
 *   pctStart * totalSteps == 1, momentum outside [0, 1).
 * @example oneCycle({ maxLr: 0.1, totalSteps: 10000 })
 */
export function oneCycle(opts: {
  maxLr: number;
  totalSteps: number;
  pctStart?: number;
  anneal?: 'cos' | 'linear';
  divFactor?: number;
  finalDivFactor?: number;
  threePhase?: boolean;
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
}): OneCycleSchedule {
  return BUILD.oneCycle(options(opts, FIELDS.oneCycle, true), plain);
}

/**
 * SequentialLR: runs schedules[0] until milestones[0], then schedules[1] restarted from its own
 * step 0, and so on (schedule i sees step t - milestones[i - 1]).
 * @throws TypeError / RangeError for an empty list, a bad schedule, or milestones that are not
 *   strictly increasing integers >= 1, one fewer than the schedules.
 * @example sequence([linearWarmup(0.1, { totalSteps: 100 }), cosine(0.1, { tMax: 900 })], { milestones: [100] })
 */
export function sequence(schedules: readonly Schedule[], opts: { milestones: readonly number[] }): SequenceSchedule {
  return BUILD.sequence({ schedules, ...options(opts, ['milestones'], true) }, plain);
}

/**
 * Linear warm-up followed by cosine decay to etaMin at totalSteps, then etaMin: a sequence of
 * linearWarmup (from lr * startFactor, default 1/(warmupSteps + 1), so the ramp is
 * lr * (t + 1) / (warmupSteps + 1)), cosine (tMax = totalSteps - warmupSteps) and constant(etaMin).
 * warmupSteps 0 skips the warm-up.
 * @throws TypeError / RangeError for a bad lr, warmupSteps (integer >= 0), totalSteps (integer >
 *   warmupSteps), etaMin (>= 0) or startFactor (in (0, 1]).
 * @example warmupCosine(3e-4, { warmupSteps: 500, totalSteps: 10000, etaMin: 1e-6 })
 */
export function warmupCosine(
  lr: number,
  opts: { warmupSteps: number; totalSteps: number; etaMin?: number; startFactor?: number },
): SequenceSchedule {
  const o = options(opts, ['warmupSteps', 'totalSteps', 'etaMin', 'startFactor'], true);
  nonNegative('lr', lr);
  const warmupSteps = integer('warmupSteps', o.warmupSteps, 0);
  const totalSteps = integer('totalSteps', o.totalSteps, warmupSteps + 1);
  const etaMin = nonNegative('etaMin', def(o.etaMin, 0));
  const decay = [cosine(lr, { tMax: totalSteps - warmupSteps, etaMin }), constant(etaMin)];
  if (warmupSteps === 0) {
    if (o.startFactor !== undefined) throw rangeError('no startFactor when warmupSteps is 0', 'startFactor', o.startFactor);
    return sequence(decay, { milestones: [totalSteps] });
  }
  const startFactor = finiteNumber('startFactor', def(o.startFactor, 1 / (warmupSteps + 1)), {
    min: 0,
    minExclusive: true,
    max: 1,
  });
  return sequence([linearWarmup(lr, { startFactor, endFactor: 1, totalSteps: warmupSteps }), ...decay], {
    milestones: [warmupSteps, totalSteps],
  });
}
