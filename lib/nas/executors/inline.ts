/**
 * Runs objectives in this thread (their training still runs off the event loop, in fit()'s native
 * worker). `concurrency` trials may be in flight at once.
 */
import { Executor, Objective, TrialHooks, TrialOutcome, TrialPruned, TrialTask, trialContext } from '../objective';

export class InlineExecutor implements Executor {
  readonly concurrency: number;
  readonly #objective: Objective;

  constructor(objective: Objective, opts: { concurrency?: number } = {}) {
    if (typeof objective !== 'function') throw new TypeError(`Expected a function for objective but received ${typeof objective}`);
    this.#objective = objective;
    this.concurrency = opts.concurrency ?? 1;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new RangeError(`Expected a positive integer for concurrency but received ${this.concurrency}`);
  }

  async run(task: TrialTask, hooks: TrialHooks): Promise<TrialOutcome> {
    const ctx = trialContext(task, hooks);
    try {
      const result = await this.#objective(ctx);
      return { result, pruned: ctx.pruned };
    } catch (e) {
      if (e instanceof TrialPruned || (ctx.pruned && (e as Error)?.name === 'AbortError')) return { result: NaN, pruned: true };
      throw e;
    }
  }

  async close(): Promise<void> {}
}

/** @example await study.optimize({ executor: inlineExecutor(objective, { concurrency: 2 }) }) */
export function inlineExecutor(objective: Objective, opts: { concurrency?: number } = {}): InlineExecutor {
  return new InlineExecutor(objective, opts);
}
