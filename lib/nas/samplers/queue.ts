/**
 * Proposes given configurations in order (skipping any already in the study), then nothing: for
 * re-training a chosen set (the top candidates of a one-shot search, a held-out sample, configurations
 * suggested by hand). With a fallback sampler it continues with that one instead of ending.
 */
import type { Params } from '../space';
import type { Sampler, SuggestContext } from '../types';

export class QueueSampler implements Sampler {
  readonly name = 'queue';
  readonly #queue: Params[];
  readonly #fallback?: Sampler;

  constructor(configs: Params[], fallback?: Sampler) {
    this.#queue = configs.map((c) => ({ ...c }));
    this.#fallback = fallback;
  }

  suggest(ctx: SuggestContext): Params | null | Promise<Params | null> {
    const taken = new Set(ctx.trials.map((t) => ctx.space.key(t.params)));
    for (const c of this.#queue) if (!taken.has(ctx.space.key(c))) return c;
    return this.#fallback ? this.#fallback.suggest(ctx) : null;
  }
}

/** @example createStudy({ space, sampler: queueSampler([{ depth: 2, width_1: 64, width_2: 32 }]) }) */
export function queueSampler(configs: Params[], fallback?: Sampler): QueueSampler {
  return new QueueSampler(configs, fallback);
}
