/**
 * What an objective sees (TrialContext) and returns (ObjectiveResult), and the executor interface
 * that runs objectives inline or in worker threads. Objectives report intermediate values per step
 * (epochs completed) and learn from the reply whether the pruner stopped them.
 */
import type * as nt from './api';
import type { Params } from './space';

/** A single value, one value per objective, or named values (objectives plus extra metrics). */
export type ObjectiveResult = number | number[] | Record<string, number>;

export interface TrialContext {
  readonly number: number;
  readonly attempt: number;
  readonly params: Params;
  /** Seed for everything random in the trial (weights, shuffling, dropout). */
  readonly seed: number;
  /** Aborted when the study stops or the trial times out. */
  readonly signal: AbortSignal;
  /** A folder where the objective may save the trial's model (study folders only). */
  readonly modelDir?: string;
  /** Reports the value after `step` (epochs completed); resolves true when the trial should stop. */
  report(step: number, value: number): Promise<boolean>;
  /** Whether a report has been answered with "prune". */
  readonly pruned: boolean;
  /**
   * A training callback that reports `monitor` (default 'val_loss') after every epoch and stops
   * training when the pruner says so.
   */
  pruningCallback(monitor?: string): nt.Callback;
}

export type Objective = (trial: TrialContext) => ObjectiveResult | Promise<ObjectiveResult>;

/** Thrown (or returned after) by an objective that stops because it was pruned. */
export class TrialPruned extends Error {
  constructor() {
    super('trial pruned');
    this.name = 'TrialPruned';
  }
}

export interface TrialTask {
  number: number;
  attempt: number;
  params: Params;
  seed: number;
  modelDir?: string;
}

export interface TrialHooks {
  report(step: number, value: number): Promise<boolean>;
  signal: AbortSignal;
}

export interface TrialOutcome {
  result: ObjectiveResult;
  pruned: boolean;
}

/** Runs trials; `concurrency` of them at a time. */
export interface Executor {
  readonly concurrency: number;
  run(task: TrialTask, hooks: TrialHooks): Promise<TrialOutcome>;
  close(): Promise<void>;
}

/** The context object handed to an objective, around the hooks of an executor. */
export function trialContext(task: TrialTask, hooks: TrialHooks): TrialContext {
  let pruned = false;
  const ctx: TrialContext = {
    number: task.number,
    attempt: task.attempt,
    params: task.params,
    seed: task.seed,
    signal: hooks.signal,
    modelDir: task.modelDir,
    get pruned() {
      return pruned;
    },
    async report(step: number, value: number): Promise<boolean> {
      if (!Number.isInteger(step) || step < 1) throw new RangeError(`Expected a positive integer for step but received ${step}`);
      if (typeof value !== 'number') throw new TypeError(`Expected a number for value but received ${typeof value}`);
      if (pruned) return true;
      pruned = await hooks.report(step, value);
      return pruned;
    },
    pruningCallback(monitor = 'val_loss'): nt.Callback {
      let model: { stopTraining: boolean } | null = null;
      return {
        setModel(m: { stopTraining: boolean }) {
          model = m;
        },
        async onEpochEnd(epoch: number, logs: nt.Logs) {
          const v = logs[monitor];
          if (v === undefined) throw new RangeError(`Expected a log named '${monitor}' for pruningCallback but received ${Object.keys(logs).join(', ')}`);
          if (await ctx.report(epoch + 1, v)) model!.stopTraining = true;
        },
      };
    },
  };
  return ctx;
}
