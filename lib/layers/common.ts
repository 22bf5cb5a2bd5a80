/** Validation shared by the layer files (one message template, see ../validate). */
import { NATIVE_ACTIVATIONS } from '../native/enums';
import * as v from '../validate';
import { INITIALIZERS } from './initializers';
import type { Initializer } from './initializers';

/** Activations a layer accepts: the native ones plus softmax (lowered to a softmax op). */
export const ACTIVATIONS = [...NATIVE_ACTIVATIONS, 'softmax'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

/** @internal */
export function checkInitializer(name: string, x: unknown): Initializer {
  if (typeof x === 'object' && x !== null && !Array.isArray(x)) {
    const o = x as Record<string, unknown>;
    v.knownKeys(name, o, ['constant']);
    return { constant: v.finiteNumber(`${name}.constant`, o.constant) };
  }
  return v.oneOf(name, x, INITIALIZERS);
}

/** @internal */
export function checkInputShape(x: unknown): number[] | undefined {
  if (x === undefined) return undefined;
  if (!Array.isArray(x) || x.length !== 1) throw v.rangeError('an array of one positive integer (features)', 'inputShape', x);
  return [v.integer('inputShape[0]', x[0], 1)];
}

/** The name and trainable fields every layer takes. @internal */
export function common(name: string, o: Record<string, unknown>): { name?: string; trainable: boolean } {
  return {
    name: v.optional(o.name, undefined, (x) => {
      const s = v.string(`${name}.name`, x);
      if (!/^[A-Za-z0-9_.\-]+$/.test(s)) throw v.rangeError('a name of letters, digits, _ . -', `${name}.name`, s);
      return s;
    }),
    trainable: v.optional(o.trainable, true, (x) => v.boolean(`${name}.trainable`, x)),
  };
}

/** The slope of leakyRelu (default 0.2, as tfjs) or alpha of elu (default 1); none otherwise. @internal */
export function defaultAlpha(act: ActivationName, alpha: unknown, name: string): number | undefined {
  if (act === 'leakyRelu') return v.optional(alpha, 0.2, (x) => v.finiteNumber(name, x));
  if (act === 'elu') return v.optional(alpha, 1, (x) => v.finiteNumber(name, x, { min: 0 }));
  if (alpha !== undefined) throw v.rangeError("no alpha (only for 'leakyRelu' and 'elu')", name, alpha);
  return undefined;
}

/** Whether an activation takes an alpha (saved configs of others drop it before revalidation). @internal */
export function takesAlpha(act: unknown): boolean {
  return act === 'leakyRelu' || act === 'elu';
}
