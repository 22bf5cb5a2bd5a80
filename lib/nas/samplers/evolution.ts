/**
 * Regularized (ageing) evolution: Real, Aggarwal, Huang & Le, "Regularized Evolution for Image
 * Classifier Architecture Search", AAAI 2019, Algorithm 1. The population is the `populationSize`
 * most recent trials (by trial number), so the oldest member dies whatever its fitness (ageing);
 * a parent is the best of `sampleSize` members drawn at random (tournament) and the child is the
 * parent with one parameter mutated (conditional parameters that appear are drawn afresh).
 *
 * Multi-objective studies select with NSGA-II's crowded comparison (Deb et al. 2002): lower
 * non-domination rank first, then larger crowding distance, over the population.
 *
 * Running trials (the constant liar): they count towards the initial random population, and they
 * are members of the population with the worst possible fitness, so a configuration being trained
 * elsewhere is never chosen as a parent and is never proposed again (the study also removes exact repeats).
 */
import * as nt from '../api';
import { crowdedOrder } from '../pareto';
import { ParamValue, Params, Space, cardinality, indexOf, sampleParam, valueAt } from '../space';
import type { NamedParam } from '../space';
import { Sampler, SuggestContext, Trial, signs } from '../types';

export interface EvolutionOptions {
  /** Population size P (default 20). */
  populationSize?: number;
  /** Tournament size S (default 5). */
  sampleSize?: number;
  /** Mutations tried before giving up on a fresh child (default 20). */
  maxMutationTries?: number;
}

export class EvolutionSampler implements Sampler {
  readonly name = 'evolution';
  readonly populationSize: number;
  readonly sampleSize: number;
  readonly #tries: number;

  constructor(opts: EvolutionOptions = {}) {
    this.populationSize = opts.populationSize ?? 20;
    this.sampleSize = opts.sampleSize ?? 5;
    this.#tries = opts.maxMutationTries ?? 20;
    if (!Number.isInteger(this.populationSize) || this.populationSize < 2) throw new RangeError(`Expected an integer >= 2 for populationSize but received ${this.populationSize}`);
    if (!Number.isInteger(this.sampleSize) || this.sampleSize < 1 || this.sampleSize > this.populationSize) {
      throw new RangeError(`Expected an integer in [1, populationSize] for sampleSize but received ${this.sampleSize}`);
    }
  }

  suggest(ctx: SuggestContext): Params {
    const { space, rng } = ctx;
    const members = ctx.trials.filter((t) => t.state === 'running' || (t.state === 'complete' && t.values) || t.state === 'pruned');
    if (members.length < this.populationSize) return space.sample(rng);
    const population = [...members].sort((a, b) => a.number - b.number).slice(-this.populationSize);
    const order = rankPopulation(population, ctx.directions);
    // Tournament: S distinct members at random; the parent is the best-ranked among them.
    const picks = nt.permutation(population.length, rng).subarray(0, this.sampleSize);
    let parent = picks[0];
    for (const i of picks) if (order[i] < order[parent]) parent = i;
    const taken = new Set(ctx.trials.map((t) => space.key(t.params)));
    for (let k = 0; k < this.#tries; k++) {
      const child = mutate(space, population[parent].params, rng);
      if (!taken.has(space.key(child))) return child;
    }
    return mutate(space, population[parent].params, rng);
  }
}

/** Position of each member in the selection order (0 = fittest). Running members rank last. */
function rankPopulation(pop: readonly Trial[], directions: readonly ('minimize' | 'maximize')[]): number[] {
  const sg = signs(directions);
  const scored: number[] = [];
  const losses: number[][] = [];
  pop.forEach((t, i) => {
    if (t.state === 'complete' && t.values) {
      scored.push(i);
      losses.push(t.values.map((v, j) => (Number.isFinite(v) ? sg[j] * v : Infinity)));
    }
  });
  const rank = new Array<number>(pop.length).fill(Infinity);
  if (directions.length === 1) {
    const loss = new Map(scored.map((i, j) => [i, losses[j][0]]));
    [...scored].sort((a, b) => loss.get(a)! - loss.get(b)! || pop[a].number - pop[b].number).forEach((i, r) => (rank[i] = r));
  } else {
    crowdedOrder(losses).forEach((j, r) => (rank[scored[j]] = r));
  }
  // Pruned members: after every complete one, ordered by how far they got (then by number).
  const pruned = pop.map((t, i) => i).filter((i) => pop[i].state === 'pruned');
  pruned.sort((a, b) => pop[b].steps - pop[a].steps || pop[a].number - pop[b].number);
  pruned.forEach((i, r) => (rank[i] = scored.length + r));
  return rank;
}

/** The parent with one active parameter changed; conditional parameters follow. */
export function mutate(space: Space, parent: Params, rng: nt.Rng): Params {
  const active = space.params.filter((p) => p.name in parent && (cardinality(p) > 1 || (p.type === 'float' && p.low !== p.high)));
  if (active.length === 0) return space.complete(parent, rng);
  const p = active[rng.int(active.length)];
  const next: Params = { ...parent, [p.name]: mutateValue(p, parent[p.name], rng) };
  return space.complete(next, rng);
}

function mutateValue(p: NamedParam, x: ParamValue, rng: nt.Rng): ParamValue {
  if (p.type === 'float' && p.step === undefined) {
    // Half the time a fresh draw, otherwise a Gaussian step of 10% of the range on the parameter's scale.
    if (rng.next() < 0.5) return sampleParam(p, rng);
    const lo = p.log ? Math.log(p.low) : p.low;
    const hi = p.log ? Math.log(p.high) : p.high;
    const cur = p.log ? Math.log(x as number) : (x as number);
    const y = Math.min(hi, Math.max(lo, cur + 0.1 * (hi - lo) * rng.normal()));
    return p.log ? Math.min(p.high, Math.max(p.low, Math.exp(y))) : y;
  }
  const card = cardinality(p);
  const k = indexOf(p, x);
  if ((p.type === 'int' || p.type === 'float') && rng.next() < 0.5) {
    // A neighbouring grid point (ordered parameters), else a fresh different value.
    const d = rng.next() < 0.5 ? -1 : 1;
    const j = k + d >= 0 && k + d < card ? k + d : k - d;
    return valueAt(p, j);
  }
  let j = rng.int(card - 1);
  if (j >= k) j++;
  return valueAt(p, j);
}

/** @example createStudy({ space, sampler: evolutionSampler({ populationSize: 20, sampleSize: 5 }) }) */
export function evolutionSampler(opts: EvolutionOptions = {}): EvolutionSampler {
  return new EvolutionSampler(opts);
}
