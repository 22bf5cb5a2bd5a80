/**
 * Where one-shot (weight-sharing) search plugs in. A OneShotStrategy trains a supernet once over the
 * space and scores candidates with inherited weights; oneShotSearch() drives it on a study: score
 * every candidate (or a seeded sample of a large space), retrain the top ones from scratch through
 * the study's executor, retrain a held-out random sample too, and report the rank correlation
 * (Kendall tau-b, Spearman rho) between one-shot scores and stand-alone results, since weight
 * sharing is known to scramble rankings. The scores of the retrained candidates are appended to the
 * study's log (an `oneshot` record) so the report can plot them against the retrained values. The
 * supernet itself is in oneshot/supernet.ts.
 */
import * as nt from './api';
import type { Executor } from './objective';
import { kendallTau, spearman } from './rank';
import { QueueSampler } from './samplers/queue';
import { Params, deriveSeed } from './space';
import type { Space } from './space';
import type { OptimizeResult, Study } from './study';
import type { Trial } from './types';

export interface OneShotContext {
  space: Space;
  seed: number;
  signal?: AbortSignal;
}

export interface OneShotStrategy {
  readonly name: string;
  /** Trains the supernet (e.g. single-path, uniformly sampled paths). */
  train(ctx: OneShotContext): Promise<void>;
  /**
   * Scores of the candidates with inherited weights, in the direction of the study's first
   * objective (e.g. validation accuracy for a maximised accuracy).
   */
  score(candidates: readonly Params[], ctx: OneShotContext): Promise<number[]>;
}

export interface OneShotOptions {
  executor?: Executor;
  /** Candidates scored: all of a finite space up to this many, else a seeded sample (default 1000). */
  maxCandidates?: number;
  /** Top-scored candidates retrained from scratch (default 5). */
  retrainTop?: number;
  /** Extra random candidates retrained to measure the rank correlation (default 10). */
  heldOut?: number;
  signal?: AbortSignal;
}

export interface OneShotResult {
  candidates: Params[];
  scores: number[];
  retrained: Trial[];
  best?: Trial;
  /** Between one-shot scores and stand-alone values of the retrained candidates (NaN with fewer than 2). */
  kendallTau: number;
  spearman: number;
  optimize: OptimizeResult;
}

/**
 * Runs a one-shot strategy on a study and retrains its picks.
 * @example const r = await oneShotSearch(study, mySupernet, { retrainTop: 5, heldOut: 10 });
 */
export async function oneShotSearch(study: Study, strategy: OneShotStrategy, opts: OneShotOptions = {}): Promise<OneShotResult> {
  const space = study.space;
  const ctx: OneShotContext = { space, seed: study.seed, signal: opts.signal };
  const max = opts.maxCandidates ?? 1000;
  const size = space.size();
  let candidates: Params[];
  if (size <= max) candidates = Array.from({ length: size }, (_, i) => space.unrank(i));
  else {
    const rng = nt.createRng(deriveSeed(study.seed, 0x05e7));
    const seen = new Set<string>();
    candidates = [];
    for (let tries = 0; candidates.length < max && tries < max * 20; tries++) {
      const p = space.sample(rng);
      const k = space.key(p);
      if (!seen.has(k)) {
        seen.add(k);
        candidates.push(p);
      }
    }
  }
  await strategy.train(ctx);
  const scores = await strategy.score(candidates, ctx);
  if (scores.length !== candidates.length) throw new RangeError(`Expected ${candidates.length} scores from ${strategy.name} but received ${scores.length}`);
  const sign = study.directions[0] === 'maximize' ? -1 : 1;
  const order = candidates.map((_, i) => i).sort((a, b) => sign * (scores[a] - scores[b]) || a - b);
  const top = order.slice(0, opts.retrainTop ?? 5);
  const rest = order.slice(top.length);
  const perm = nt.permutation(rest.length, deriveSeed(study.seed, 0x4e1d));
  const held = Array.from(perm.subarray(0, Math.min(opts.heldOut ?? 10, rest.length)), (j) => rest[j]);
  const chosen = [...top, ...held];
  const before = study.trials.length;
  // The scores go into the study's log before retraining, so a report can pair them with the results
  // (a NaN score is written as null and left out there).
  const entries = chosen.map((i, j) => ({ params: candidates[i], score: scores[i], role: j < top.length ? ('top' as const) : ('held-out' as const) }));
  await study.storage.append([{ op: 'oneshot', strategy: strategy.name, scored: candidates.length, entries, ts: Date.now() }]);
  const optimize = await study.optimize({ executor: opts.executor, sampler: new QueueSampler(chosen.map((i) => candidates[i])), trials: before + chosen.length, signal: opts.signal });
  const byKey = new Map(optimize.trials.map((t) => [space.key(t.params), t]));
  const pairs: [number, number][] = [];
  const retrained: Trial[] = [];
  for (const i of chosen) {
    const t = byKey.get(space.key(candidates[i]));
    if (!t) continue;
    retrained.push(t);
    if (t.state === 'complete' && t.values) pairs.push([scores[i], t.values[0]]);
  }
  const enough = pairs.length >= 2;
  return {
    candidates,
    scores,
    retrained,
    best: optimize.best,
    kendallTau: enough ? kendallTau(pairs.map((p) => p[0]), pairs.map((p) => p[1])) : NaN,
    spearman: enough ? spearman(pairs.map((p) => p[0]), pairs.map((p) => p[1])) : NaN,
    optimize,
  };
}
