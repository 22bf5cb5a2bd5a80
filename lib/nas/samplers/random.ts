/**
 * Random search: every active parameter drawn uniformly on its scale, from the trial's own seeded
 * stream, so trial n gets the same configuration whatever ran before it (Bergstra & Bengio 2012).
 * Repeats in a finite space are removed by the study, which draws among the configurations left.
 */
import type { Params } from '../space';
import type { Sampler, SuggestContext } from '../types';

export class RandomSampler implements Sampler {
  readonly name = 'random';

  suggest(ctx: SuggestContext): Params {
    return ctx.space.sample(ctx.rng);
  }
}

/** @example createStudy({ space, sampler: randomSampler() }) */
export function randomSampler(): RandomSampler {
  return new RandomSampler();
}
