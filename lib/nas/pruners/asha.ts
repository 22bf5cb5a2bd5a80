/**
 * Asynchronous successive halving (Li, Jamieson, Rostamizadeh, Gonina, Ben-tzur, Hardt, Recht &
 * Talwalkar, "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020, Algorithm 2), with
 * epochs as the budget and the promotion rule of Optuna's SuccessiveHalvingPruner: rung k sits at
 * step minResource * eta^(minEarlyStoppingRate + k); a trial reaching a rung continues only if its
 * value there is within the top 1/eta of every value recorded at that rung so far (its own
 * included; with fewer than eta values it must be the best). The rung values of the other trials
 * are read from their intermediate values at the rung's step, so the pruner keeps no state and a
 * resumed study decides exactly as before. When the study knows the full budget (maxSteps), a
 * trial that reached it is never pruned.
 */
import type { PruneContext, Pruner, Trial } from '../types';

export interface AshaOptions {
  /** Epochs at the first rung (default 1). */
  minResource?: number;
  /** eta (default 3). */
  reductionFactor?: number;
  /** s: the first rung is at minResource * eta^s (default 0). */
  minEarlyStoppingRate?: number;
  /** Trials that must reach a rung before anyone is promoted past it (default 0). */
  bootstrapCount?: number;
}

export class AshaPruner implements Pruner {
  readonly name: string = 'asha';
  readonly minResource: number;
  readonly eta: number;
  readonly s: number;
  readonly #bootstrap: number;

  constructor(opts: AshaOptions = {}) {
    this.minResource = opts.minResource ?? 1;
    this.eta = opts.reductionFactor ?? 3;
    this.s = opts.minEarlyStoppingRate ?? 0;
    this.#bootstrap = opts.bootstrapCount ?? 0;
    if (!Number.isInteger(this.minResource) || this.minResource < 1) throw new RangeError(`Expected a positive integer for minResource but received ${this.minResource}`);
    if (!Number.isInteger(this.eta) || this.eta < 2) throw new RangeError(`Expected an integer >= 2 for reductionFactor but received ${this.eta}`);
  }

  /** The step of rung k. */
  rungStep(k: number): number {
    return this.minResource * this.eta ** (this.s + k);
  }

  shouldPrune({ trial, step, others, direction, maxSteps }: PruneContext): boolean {
    const value = trial.intermediate.get(step);
    if (value === undefined) return false;
    // A trial at its full budget has nothing left to save: it completes.
    if (maxSteps !== undefined && step >= maxSteps) return false;
    for (let k = 0; ; k++) {
      const rs = this.rungStep(k);
      if (rs > step) return false;
      if (rs < step) continue; // passed at an earlier report
      if (Number.isNaN(value)) return true;
      const competing = others.map((t: Trial) => t.intermediate.get(rs)).filter((x): x is number => x !== undefined && !Number.isNaN(x));
      competing.push(value);
      if (competing.length <= this.#bootstrap) return true;
      let idx = Math.floor(competing.length / this.eta) - 1;
      if (idx === -1) idx = 0;
      competing.sort((a, b) => (direction === 'maximize' ? b - a : a - b));
      const promotable = direction === 'maximize' ? value >= competing[idx] : value <= competing[idx];
      return !promotable;
    }
  }
}

/** @example createStudy({ space, pruner: ashaPruner({ reductionFactor: 3 }) }) */
export function ashaPruner(opts: AshaOptions = {}): AshaPruner {
  return new AshaPruner(opts);
}
