/**
 * Argument checks, all with one message template:
 *   `Expected <what> for <name> but received <value>`
 * TypeError (ArgumentTypeError) for a wrong type, RangeError (ArgumentRangeError) for a value out
 * of range. Everything is checked here, in TypeScript, before anything crosses into native code.
 */
import { ArgumentRangeError, ArgumentTypeError } from './errors';

/** A description used verbatim as the "received" part of a message (not quoted like a string). */
export class Described {
  constructor(readonly text: string) {}
}

/** Wraps a description of what was received, e.g. described(`an option 'x'`). */
export function described(text: string): Described {
  return new Described(text);
}

/** Short, safe rendering of a received value for error messages. */
export function describe(value: unknown): string {
  if (value instanceof Described) return value.text;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value) && isDetached(value)) return `a ${value.constructor.name} whose buffer is detached`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as { length: number }).length}`;
  const ctor = (value as object).constructor?.name;
  if (ctor === 'Tensor') {
    const t = value as { shape?: number[]; disposed?: boolean };
    return t.disposed ? 'a disposed Tensor' : `a Tensor of shape [${(t.shape ?? []).join(', ')}]`;
  }
  return ctor && ctor !== 'Object' ? `a ${ctor}` : 'an object';
}

export function message(what: string, name: string, value: unknown): string {
  return `Expected ${what} for ${name} but received ${describe(value)}`;
}

export function typeError(what: string, name: string, value: unknown): ArgumentTypeError {
  return new ArgumentTypeError(message(what, name, value));
}

export function rangeError(what: string, name: string, value: unknown): ArgumentRangeError {
  return new ArgumentRangeError(message(what, name, value));
}

/** A finite number, optionally within [min, max] (inclusive) or (min, max) when exclusive. */
export function finiteNumber(
  name: string,
  value: unknown,
  opts: { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean } = {},
): number {
  if (typeof value !== 'number') throw typeError('a number', name, value);
  if (!Number.isFinite(value)) throw rangeError('a finite number', name, value);
  const { min, max, minExclusive = false, maxExclusive = false } = opts;
  const lo = min === undefined ? '' : minExclusive ? `> ${min}` : `>= ${min}`;
  const hi = max === undefined ? '' : maxExclusive ? `< ${max}` : `<= ${max}`;
  const bad =
    (min !== undefined && (minExclusive ? value <= min : value < min)) ||
    (max !== undefined && (maxExclusive ? value >= max : value > max));
  if (bad) throw rangeError(`a number ${[lo, hi].filter(Boolean).join(' and ')}`, name, value);
  return value;
}

/** An integer within [min, max]. */
export function integer(name: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw typeError('an integer', name, value);
  if (!Number.isInteger(value)) throw rangeError('an integer', name, value);
  if (value < min || value > max) {
    const what = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    throw rangeError(what, name, value);
  }
  return value;
}

export function boolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw typeError('a boolean', name, value);
  return value;
}

export function string(name: string, value: unknown): string {
  if (typeof value !== 'string') throw typeError('a string', name, value);
  return value;
}

export function oneOf<T extends string>(name: string, value: unknown, options: readonly T[]): T {
  if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) {
    const what = `one of ${options.map((o) => `'${o}'`).join(', ')}`;
    if (typeof value !== 'string') throw typeError(what, name, value);
    throw rangeError(what, name, value);
  }
  return value as T;
}

export function plainObject(name: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw typeError('an object', name, value);
  return value as Record<string, unknown>;
}

/** Optional-field helper: returns the default when the value is undefined. */
export function optional<T>(value: unknown, dflt: T, check: (v: unknown) => T): T {
  return value === undefined ? dflt : check(value);
}

/** Rejects unknown keys in an options object so typos do not pass silently. */
export function knownKeys(name: string, obj: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!keys.includes(k)) {
      throw rangeError(`only the options ${keys.map((x) => `'${x}'`).join(', ')}`, name, described(`an option '${k}'`));
    }
  }
}

interface TypedArrayKinds {
  Float32Array: Float32Array;
  Float64Array: Float64Array;
  Int32Array: Int32Array;
  Uint8Array: Uint8Array;
}

/**
 * Typed-array check that works across realms (arrays made by the native addon or another vm
 * context fail `instanceof` there but are the same kind of array).
 */
export function isTypedArrayOf<K extends keyof TypedArrayKinds>(x: unknown, kind: K): x is TypedArrayKinds[K] {
  return ArrayBuffer.isView(x) && Object.prototype.toString.call(x) === `[object ${kind}]`;
}

/** True for a typed array or DataView whose ArrayBuffer was detached (transferred). */
export function isDetached(view: ArrayBufferView): boolean {
  const buf = view.buffer as ArrayBuffer & { detached?: unknown };
  if (typeof buf.detached === 'boolean') return buf.detached;
  if (view.byteLength !== 0 || buf.byteLength !== 0) return false;
  try {
    new Uint8Array(buf); // throws TypeError on a detached buffer
    return false;
  } catch {
    return true;
  }
}

/**
 * Refuses a typed array whose buffer was detached (transferred to a worker or structuredClone'd
 * with `transfer`); reading it would throw an uncoded TypeError later.
 * @throws ArgumentTypeError ERR_NT_INVALID_ARGUMENT_TYPE naming `name`.
 */
export function liveView(name: string, value: unknown): void {
  if (ArrayBuffer.isView(value) && isDetached(value)) throw typeError('a typed array with a live (not detached) buffer', name, value);
}
