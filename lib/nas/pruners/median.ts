/**
 * Median stopping rule (Golovin et al. 2017, "Google Vizier", section 3.2.2), with Optuna's
 * MedianPruner defaults: after `nStartupTrials` (5) complete trials and `nWarmupSteps` (0) steps,
 * a trial whose best intermediate value so far is worse than the median of the complete trials'
 * values at the same step is stopped. A NaN value is always pruned.
 */
import type { PruneContext, Pruner } from '../types';

export interface MedianOptions {
  nStartupTrials?: number;
  nWarmupSteps?: number;
  /** Fewest trials with a value at the step for a decision (default 1). */
  nMinTrials?: number;
}

export class MedianPruner implements Pruner {
  readonly name = 'median';
  readonly #startup: number;
  readonly #warmup: number;
  readonly #minTrials: number;

  constructor(opts: MedianOptions = {}) {
    this.#startup = opts.nStartupTrials ?? 5;
    this.#warmup = opts.nWarmupSteps ?? 0;
    this.#minTrials = opts.nMinTrials ?? 1;
  }

  shouldPrune({ trial, step, others, direction }: PruneContext): boolean {
    const v = trial.intermediate.get(step);
    if (v === undefined) return false;
    if (Number.isNaN(v)) return true;
    const complete = others.filter((t) => t.state === 'complete');
    if (complete.length < this.#startup || step <= this.#warmup) return false;
    const at = complete.map((t) => t.intermediate.get(step)).filter((x): x is number => x !== undefined && !Number.isNaN(x));
    if (at.length < this.#minTrials) return false;
    at.sort((a, b) => a - b);
    const mid = at.length >> 1;
    const median = at.length % 2 ? at[mid] : 0.5 * (at[mid - 1] + at[mid]);
    let best = v;
    for (const [s, x] of trial.intermediate) if (s <= step && !Number.isNaN(x)) best = direction === 'maximize' ? Math.max(best, x) : Math.min(best, x);
    return direction === 'maximize' ? best < median : best > median;
  }
}

/** @example createStudy({ space, pruner: medianPruner() }) */
export function medianPruner(opts: MedianOptions = {}): MedianPruner {
  return new MedianPruner(opts);
}
