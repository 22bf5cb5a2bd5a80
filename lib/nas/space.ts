/**
 * Search spaces: typed, declarative parameters (int with a step, float on a linear or log scale,
 * choice, bool) with conditions, so that per-layer parameters exist only up to the sampled depth.
 * A space is plain data (it hashes, serialises and travels to worker threads); sampling is a pure
 * function of a seeded generator. Spaces made only of discrete parameters are finite: they are
 * counted exactly (conditions included) and can be enumerated by index (unrank), which is what
 * sampling without repeats and the grid sampler stand on.
 */
import { createHash } from 'crypto';

import * as nt from './api';

export type ParamValue = number | string | boolean;
export type Params = Record<string, ParamValue>;

/** A parameter is active only when `param` (declared earlier) satisfies every given test. */
export interface Condition {
  param: string;
  equals?: ParamValue;
  in?: ParamValue[];
  gte?: number;
  lte?: number;
}

interface Base {
  when?: Condition;
}
export interface IntParam extends Base {
  type: 'int';
  low: number;
  high: number;
  step: number;
  log: boolean;
}
export interface FloatParam extends Base {
  type: 'float';
  low: number;
  high: number;
  log: boolean;
  /** A grid step: makes the parameter discrete (and the space finite). */
  step?: number;
}
export interface ChoiceParam extends Base {
  type: 'choice';
  choices: ParamValue[];
}
export interface BoolParam extends Base {
  type: 'bool';
}
export type ParamSpec = IntParam | FloatParam | ChoiceParam | BoolParam;
export type NamedParam = ParamSpec & { name: string };

function fail(what: string, name: string, value: unknown): never {
  const s = typeof value === 'string' ? JSON.stringify(value) : Array.isArray(value) ? `an array of length ${value.length}` : String(value);
  throw new RangeError(`Expected ${what} for ${name} but received ${s}`);
}

function num(name: string, x: unknown): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) fail('a finite number', name, x);
  return x as number;
}

/**
 * An integer parameter in [low, high] on a grid of `step` (default 1); `log` samples on a log scale.
 * @throws RangeError for low > high, a step that does not divide the range, or log with low < 1.
 * @example int(1, 4) // depth
 */
export function int(low: number, high: number, opts: { step?: number; log?: boolean; when?: Condition } = {}): IntParam {
  num('low', low);
  num('high', high);
  if (!Number.isInteger(low) || !Number.isInteger(high) || low > high) fail(`integers low <= high`, 'int(low, high)', `${low}, ${high}`);
  const step = opts.step ?? 1;
  if (!Number.isInteger(step) || step < 1 || (high - low) % step !== 0) fail(`a positive integer step dividing high - low (${high - low})`, 'step', step);
  const log = opts.log ?? false;
  if (log && (low < 1 || step !== 1)) fail('low >= 1 and step 1 with log', 'int(log)', low);
  return { type: 'int', low, high, step, log, ...(opts.when ? { when: opts.when } : {}) };
}

/**
 * A real parameter in [low, high], uniform on a linear or (with `log`) a log scale; `step` puts it on a grid.
 * @example float(1e-4, 1e-1, { log: true }) // learning rate
 */
export function float(low: number, high: number, opts: { log?: boolean; step?: number; when?: Condition } = {}): FloatParam {
  num('low', low);
  num('high', high);
  if (low > high) fail('low <= high', 'float(low, high)', `${low}, ${high}`);
  const log = opts.log ?? false;
  if (log && low <= 0) fail('low > 0 with log', 'low', low);
  if (opts.step !== undefined) {
    num('step', opts.step);
    if (opts.step <= 0 || log) fail('a positive step (not with log)', 'step', opts.step);
    const k = (high - low) / opts.step;
    if (Math.abs(k - Math.round(k)) > 1e-9 * Math.max(1, k)) fail(`a step dividing high - low (${high - low})`, 'step', opts.step);
  }
  return { type: 'float', low, high, log, ...(opts.step !== undefined ? { step: opts.step } : {}), ...(opts.when ? { when: opts.when } : {}) };
}

/** One of the given values (numbers, strings or booleans). @example choice(['relu', 'gelu']) */
export function choice(choices: ParamValue[], opts: { when?: Condition } = {}): ChoiceParam {
  if (!Array.isArray(choices) || choices.length === 0) fail('a non-empty array of choices', 'choices', choices);
  const seen = new Set<string>();
  for (const [i, c] of choices.entries()) {
    if (!['number', 'string', 'boolean'].includes(typeof c)) fail('a number, string or boolean', `choices[${i}]`, c);
    const k = JSON.stringify(c);
    if (seen.has(k)) fail('distinct choices', `choices[${i}]`, c);
    seen.add(k);
  }
  return { type: 'choice', choices: [...choices], ...(opts.when ? { when: opts.when } : {}) };
}

/** true or false. */
export function bool(opts: { when?: Condition } = {}): BoolParam {
  return { type: 'bool', ...(opts.when ? { when: opts.when } : {}) };
}

/** The number of grid points of a discrete parameter, or Infinity. */
export function cardinality(p: ParamSpec): number {
  switch (p.type) {
    case 'int':
      return (p.high - p.low) / p.step + 1;
    case 'float':
      return p.step === undefined ? (p.low === p.high ? 1 : Infinity) : Math.round((p.high - p.low) / p.step) + 1;
    case 'choice':
      return p.choices.length;
    case 'bool':
      return 2;
  }
}

/** The k-th value of a discrete parameter. */
export function valueAt(p: ParamSpec, k: number): ParamValue {
  switch (p.type) {
    case 'int':
      return p.low + k * p.step;
    case 'float':
      return p.step === undefined ? p.low : roundTo(p.low + k * p.step, p.step);
    case 'choice':
      return p.choices[k];
    case 'bool':
      return k === 1;
  }
}

function roundTo(x: number, step: number): number {
  // Keeps grid values free of accumulated binary noise (0.1 + 2 * 0.1 -> 0.3).
  const digits = Math.max(0, Math.min(15, Math.ceil(-Math.log10(step)) + 2));
  return Number(x.toFixed(digits));
}

/** The grid index of a value of a discrete parameter (-1 when it is not on the grid). */
export function indexOf(p: ParamSpec, value: ParamValue): number {
  switch (p.type) {
    case 'int':
    case 'float': {
      if (typeof value !== 'number') return -1;
      if (p.type === 'float' && p.step === undefined) return p.low === p.high && value === p.low ? 0 : -1;
      const k = Math.round((value - p.low) / (p.step as number));
      return k >= 0 && k < cardinality(p) && Math.abs(valueAt(p, k) as number - value) <= 1e-9 * Math.max(1, Math.abs(value)) ? k : -1;
    }
    case 'choice':
      return p.choices.findIndex((c) => c === value);
    case 'bool':
      return value === true ? 1 : value === false ? 0 : -1;
  }
}

/** A value of the parameter drawn uniformly (on its scale). */
export function sampleParam(p: ParamSpec, rng: nt.Rng): ParamValue {
  if (p.type === 'float' && p.step === undefined) {
    const u = rng.next();
    if (p.log) return Math.min(p.high, Math.max(p.low, Math.exp(Math.log(p.low) + u * (Math.log(p.high) - Math.log(p.low)))));
    return Math.min(p.high, p.low + u * (p.high - p.low));
  }
  if (p.type === 'int' && p.log) {
    // Uniform in log space over [low - 0.5, high + 0.5], rounded: every integer gets the mass of its cell.
    const a = Math.log(p.low - 0.5 > 0 ? p.low - 0.5 : p.low);
    const b = Math.log(p.high + 0.5);
    const x = Math.round(Math.exp(a + rng.next() * (b - a)));
    return Math.min(p.high, Math.max(p.low, x));
  }
  return valueAt(p, rng.int(cardinality(p)));
}

/** Whether a value is admissible for the parameter. */
export function admits(p: ParamSpec, value: unknown): boolean {
  if (p.type === 'float' && p.step === undefined) return typeof value === 'number' && value >= p.low && value <= p.high;
  return indexOf(p, value as ParamValue) >= 0;
}

/**
 * A search space: named parameters in declaration order; a parameter's condition may refer only to
 * parameters declared before it.
 */
export class Space {
  readonly params: readonly NamedParam[];
  readonly #byName = new Map<string, NamedParam>();
  /** Names referenced by some condition: the only values that change which parameters exist. */
  readonly #referenced: Set<string>;
  #countMemo = new Map<string, number>();

  constructor(params: Record<string, ParamSpec>) {
    if (typeof params !== 'object' || params === null || Array.isArray(params)) fail('an object of parameters', 'space', params);
    const list: NamedParam[] = [];
    for (const [name, spec] of Object.entries(params)) {
      if (typeof spec !== 'object' || spec === null || !['int', 'float', 'choice', 'bool'].includes((spec as ParamSpec).type)) {
        fail('a parameter from int(), float(), choice() or bool()', `space.${name}`, spec);
      }
      if (spec.when) {
        const ref = this.#byName.get(spec.when.param);
        if (!ref) fail(`a parameter declared before '${name}'`, `space.${name}.when.param`, spec.when.param);
      }
      const np = { ...spec, name } as NamedParam;
      list.push(np);
      this.#byName.set(name, np);
    }
    if (list.length === 0) fail('at least one parameter', 'space', 'an empty object');
    this.params = list;
    this.#referenced = new Set(list.filter((p) => p.when).map((p) => p.when!.param));
  }

  get(name: string): NamedParam | undefined {
    return this.#byName.get(name);
  }

  /** Whether parameter p exists given the values chosen so far. */
  isActive(p: ParamSpec, params: Params): boolean {
    const c = p.when;
    if (!c) return true;
    if (!(c.param in params)) return false;
    const x = params[c.param];
    if (c.equals !== undefined && x !== c.equals) return false;
    if (c.in !== undefined && !c.in.includes(x)) return false;
    if (c.gte !== undefined && !(typeof x === 'number' && x >= c.gte)) return false;
    if (c.lte !== undefined && !(typeof x === 'number' && x <= c.lte)) return false;
    return true;
  }

  /** A configuration drawn parameter by parameter (each uniform on its scale). */
  sample(rng: nt.Rng): Params {
    return this.complete({}, rng);
  }

  /**
   * Keeps the admissible values of `partial` for the parameters that are active, draws the missing
   * active ones and drops the inactive ones (used by mutation).
   */
  complete(partial: Params, rng: nt.Rng): Params {
    const out: Params = {};
    for (const p of this.params) {
      if (!this.isActive(p, out)) continue;
      out[p.name] = p.name in partial && admits(p, partial[p.name]) ? partial[p.name] : sampleParam(p, rng);
    }
    return out;
  }

  /**
   * Checks a configuration: every active parameter present and admissible, no inactive ones.
   * @throws RangeError naming the first offending parameter.
   */
  validate(params: Params): Params {
    const seen: Params = {};
    for (const p of this.params) {
      if (!this.isActive(p, seen)) {
        if (p.name in params) fail(`no value (inactive under ${JSON.stringify(p.when)})`, `params.${p.name}`, params[p.name]);
        continue;
      }
      if (!(p.name in params) || !admits(p, params[p.name])) fail(`a value in ${describeParam(p)}`, `params.${p.name}`, params[p.name]);
      seen[p.name] = params[p.name];
    }
    for (const k of Object.keys(params)) if (!this.#byName.has(k)) fail('a parameter of the space', 'params', k);
    return seen;
  }

  /** A canonical string of a configuration (declaration order), used to find repeats. */
  key(params: Params): string {
    const parts: ParamValue[] = [];
    for (const p of this.params) if (p.name in params) parts.push(p.name, params[p.name]);
    return JSON.stringify(parts);
  }

  /** The exact number of distinct configurations, or Infinity when a parameter is continuous. */
  size(): number {
    return this.#count(0, {});
  }

  get finite(): boolean {
    return Number.isFinite(this.size());
  }

  #envKey(i: number, env: Params): string {
    let k = String(i);
    for (const r of this.#referenced) if (r in env) k += `|${r}=${JSON.stringify(env[r])}`;
    return k;
  }

  /** Number of completions of parameters i.. given the values in env. */
  #count(i: number, env: Params): number {
    if (i === this.params.length) return 1;
    const key = this.#envKey(i, env);
    const memo = this.#countMemo.get(key);
    if (memo !== undefined) return memo;
    const p = this.params[i];
    let total: number;
    if (!this.isActive(p, env)) total = this.#count(i + 1, env);
    else {
      const card = cardinality(p);
      if (!Number.isFinite(card)) total = Infinity;
      else if (!this.#referenced.has(p.name)) total = card * this.#count(i + 1, env);
      else {
        total = 0;
        for (let k = 0; k < card; k++) total += this.#count(i + 1, { ...env, [p.name]: valueAt(p, k) });
      }
    }
    this.#countMemo.set(key, total);
    return total;
  }

  /**
   * The index-th configuration of a finite space, in a fixed order (0 <= index < size()).
   * @throws RangeError for an infinite space or an index out of range.
   */
  unrank(index: number): Params {
    const size = this.size();
    if (!Number.isFinite(size)) fail('a finite space (every parameter discrete)', 'space', 'an infinite space');
    if (!Number.isInteger(index) || index < 0 || index >= size) fail(`an integer in [0, ${size - 1}]`, 'index', index);
    const out: Params = {};
    let idx = index;
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i];
      if (!this.isActive(p, out)) continue;
      const card = cardinality(p);
      if (!this.#referenced.has(p.name)) {
        const rest = this.#count(i + 1, out);
        const k = Math.floor(idx / rest);
        idx -= k * rest;
        out[p.name] = valueAt(p, k);
        continue;
      }
      for (let k = 0; k < card; k++) {
        const c = this.#count(i + 1, { ...out, [p.name]: valueAt(p, k) });
        if (idx < c) {
          out[p.name] = valueAt(p, k);
          break;
        }
        idx -= c;
      }
    }
    return out;
  }

  /** Plain data, for hashing and for sending to worker threads. */
  toJSON(): Record<string, ParamSpec> {
    const o: Record<string, ParamSpec> = {};
    for (const { name, ...spec } of this.params) o[name] = spec as ParamSpec;
    return o;
  }

  /** A hash of the space's definition (sha256, hex). */
  hash(): string {
    return createHash('sha256').update(canonicalJson(this.toJSON())).digest('hex');
  }
}

export function describeParam(p: ParamSpec): string {
  switch (p.type) {
    case 'int':
      return `int [${p.low}, ${p.high}] step ${p.step}${p.log ? ' (log)' : ''}`;
    case 'float':
      return `float [${p.low}, ${p.high}]${p.step !== undefined ? ` step ${p.step}` : ''}${p.log ? ' (log)' : ''}`;
    case 'choice':
      return `{${p.choices.map((c) => JSON.stringify(c)).join(', ')}}`;
    case 'bool':
      return '{false, true}';
  }
}

/** JSON with object keys sorted, so equal data always hash equal. */
export function canonicalJson(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonicalJson).join(',')}]`;
  if (x && typeof x === 'object') {
    return `{${Object.keys(x as object)
      .sort()
      .filter((k) => (x as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((x as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(x);
}

/**
 * A search space from named parameters (declaration order matters for conditions).
 * @throws RangeError for a parameter that is not from int/float/choice/bool, or a condition on a later parameter.
 * @example
 * const s = space({ depth: int(1, 3), width_2: int(16, 64, { step: 16, when: { param: 'depth', gte: 2 } }) });
 */
export function space(params: Record<string, ParamSpec>): Space {
  return new Space(params);
}

/** Seed for sub-stream `parts` of a study seed (splitmix-style mixing, stable across platforms). */
export function deriveSeed(...parts: number[]): number {
  let h = 0x2545f491;
  for (const p of parts) {
    let x = (Math.floor(p) >>> 0) ^ Math.imul(Math.floor(p / 2 ** 32) >>> 0, 0x9e3779b9);
    x = (x + 0x9e3779b9 + Math.imul(h, 0x85ebca6b)) | 0;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
    h = (x ^ (x >>> 16)) >>> 0;
  }
  return h >>> 1;
}
