/**
 * Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, JMLR 2018) over asynchronous
 * successive halving, as Optuna's HyperbandPruner: floor(log_eta(max / min)) + 1 brackets, bracket
 * i being successive halving with minEarlyStoppingRate i; each trial is assigned to a bracket by a
 * hash of its number, in proportion to the bracket budgets ceil(n eta^(n-1-i) / (n - i)), and is
 * compared only with the trials of its own bracket.
 */
import { deriveSeed } from '../space';
import type { PruneContext, Pruner } from '../types';
import { AshaPruner } from './asha';

export interface HyperbandOptions {
  minResource?: number;
  /** The most epochs a trial trains (required: the budget of the largest bracket). */
  maxResource: number;
  reductionFactor?: number;
}

export class HyperbandPruner implements Pruner {
  readonly name = 'hyperband';
  readonly brackets: AshaPruner[];
  readonly #budgets: number[];

  constructor(opts: HyperbandOptions) {
    const min = opts.minResource ?? 1;
    const eta = opts.reductionFactor ?? 3;
    if (!Number.isInteger(opts.maxResource) || opts.maxResource < min) throw new RangeError(`Expected an integer >= minResource (${min}) for maxResource but received ${opts.maxResource}`);
    const n = Math.floor(Math.log(opts.maxResource / min) / Math.log(eta) + 1e-9) + 1;
    this.brackets = Array.from({ length: n }, (_, i) => new AshaPruner({ minResource: min, reductionFactor: eta, minEarlyStoppingRate: i }));
    this.#budgets = Array.from({ length: n }, (_, i) => Math.ceil((n * eta ** (n - 1 - i)) / (n - i)));
  }

  bracketOf(trialNumber: number): number {
    const total = this.#budgets.reduce((a, b) => a + b, 0);
    let h = deriveSeed(0x4859, trialNumber) % total;
    for (let i = 0; i < this.#budgets.length; i++) {
      if (h < this.#budgets[i]) return i;
      h -= this.#budgets[i];
    }
    return this.#budgets.length - 1;
  }

  shouldPrune(ctx: PruneContext): boolean {
    const b = this.bracketOf(ctx.trial.number);
    return this.brackets[b].shouldPrune({ ...ctx, others: ctx.others.filter((t) => this.bracketOf(t.number) === b) });
  }
}

/** @example createStudy({ space, pruner: hyperbandPruner({ maxResource: 27 }) }) */
export function hyperbandPruner(opts: HyperbandOptions): HyperbandPruner {
  return new HyperbandPruner(opts);
}
