/**
 * The shared vocabulary of a study: trial records, objective directions, and the two small
 * strategy interfaces (Sampler, Pruner). A controller (Study) takes strategies as arguments and never
 * branches on a concrete type; each strategy is one file.
 */
import type * as nt from './api';
import type { Params, Space } from './space';

export type Direction = 'minimize' | 'maximize';
export type TrialState = 'running' | 'complete' | 'pruned' | 'failed' | 'stale';

/** An objective the study optimises: a name (a key of the objective's result) and a direction. */
export interface ObjectiveSpec {
  name: string;
  direction: Direction;
}

/** A trial as derived from the study's log. */
export interface Trial {
  number: number;
  params: Params;
  /** The seed every random choice of the trial derives from (initialisation, shuffling, dropout). */
  seed: number;
  state: TrialState;
  /** 1 for the first run; a stale trial retried with the same parameters gets attempt 2, ... */
  attempt: number;
  /** One value per objective, for complete trials. */
  values?: number[];
  /** Every value the objective returned (objectives and extras such as latency). */
  metrics?: Record<string, number>;
  /** Reported intermediate values, by step (epochs completed). */
  intermediate: Map<number, number>;
  error?: string;
  owner?: string;
  startedAt: number;
  finishedAt?: number;
  lastHeartbeat: number;
  /** Budget used (epochs reported). */
  steps: number;
}

export function isFinished(t: Trial): boolean {
  return t.state === 'complete' || t.state === 'pruned' || t.state === 'failed';
}

/**
 * What a sampler sees when asked for the parameters of trial `number`: the trials of its view
 * (finished ones with their results; `running` ones to be accounted for with the constant liar),
 * a generator seeded from the study seed and the trial number, and the study's directions.
 */
export interface SuggestContext {
  space: Space;
  number: number;
  rng: nt.Rng;
  trials: readonly Trial[];
  directions: readonly Direction[];
}

/**
 * A sampler proposes a configuration; null means it has nothing left to propose (grid used up).
 * Samplers with heavy models may return a promise and yield to the event loop while they compute.
 */
export interface Sampler {
  readonly name: string;
  suggest(ctx: SuggestContext): Params | null | Promise<Params | null>;
}

/**
 * A pruner decides, after a trial reports `step`, whether to stop it. `others` is the pruning view
 * (the other trials whose intermediate values may be compared against).
 */
export interface PruneContext {
  trial: Trial;
  step: number;
  others: readonly Trial[];
  direction: Direction;
  /** The budget (epochs) a trial runs when it is never pruned, when known. */
  maxSteps?: number;
}

export interface Pruner {
  readonly name: string;
  shouldPrune(ctx: PruneContext): boolean;
}

/** Signs that turn every objective into one to minimise. */
export function signs(directions: readonly Direction[]): number[] {
  return directions.map((d) => (d === 'minimize' ? 1 : -1));
}
