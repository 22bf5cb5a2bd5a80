/**
 * Loss functions (Keras definitions; element losses averaged over outputs and samples, the
 * categorical ones summed over classes and averaged over samples). Cross-entropy on a softmax
 * (or sigmoid) output is fused with it natively: the gradient is taken from the logits, which is
 * both faster and numerically safer.
 */
import { NATIVE_LOSSES } from './native/enums';
import * as v from './validate';

/** Loss names: exactly the native engine's table (lib/native/enums.ts). */
export const LOSSES = NATIVE_LOSSES;
export type LossName = (typeof LOSSES)[number];

const ALIASES: Record<string, LossName> = {
  mse: 'meanSquaredError',
  mae: 'meanAbsoluteError',
  bce: 'binaryCrossentropy',
  cce: 'categoricalCrossentropy',
  scce: 'sparseCategoricalCrossentropy',
};

/** A loss: a name, or `{name: 'huber', delta}`. */
export type LossSpec = LossName | keyof typeof ALIASES | { name: 'huber'; delta: number };

export interface ResolvedLoss {
  name: LossName;
  huberDelta?: number;
  sparse: boolean;
}

/** Validates a loss spec. @internal */
export function resolveLoss(x: unknown): ResolvedLoss {
  if (typeof x === 'object' && x !== null) {
    const o = v.plainObject('loss', x);
    v.knownKeys('loss', o, ['name', 'delta']);
    v.oneOf('loss.name', o.name, ['huber'] as const);
    return { name: 'huber', huberDelta: v.finiteNumber('loss.delta', o.delta, { min: 0, minExclusive: true }), sparse: false };
  }
  const name = (typeof x === 'string' && ALIASES[x]) || v.oneOf('loss', x, [...LOSSES, ...Object.keys(ALIASES)] as readonly string[]);
  const n = (ALIASES[name] ?? name) as LossName;
  return { name: n, huberDelta: n === 'huber' ? 1 : undefined, sparse: n.startsWith('sparse') };
}
