/**
 * The learning rate's one home on the TypeScript side: the default rate, and the base rate a
 * compiled plan runs. (The effective rate of a step, group rate x controller multiplier x
 * hypergradient factor, is computed natively and reported in the logs as `lr`.)
 */
import type { LrSpec, Schedule } from '../schedules/spec';

/** Adam's default rate (PyTorch, Keras), and the rate 'auto' runs at until a controller picks one. */
export const DEFAULT_LEARNING_RATE = 1e-3;

/**
 * The base rate to run: an override (set by a controller or setLearningRate) wins; 'auto' runs
 * DEFAULT_LEARNING_RATE until fit's learning-rate controller chooses one.
 */
export function baseLearningRate(lr: LrSpec, override?: number | Schedule): number | Schedule {
  if (override !== undefined) return override;
  return lr === 'auto' ? DEFAULT_LEARNING_RATE : lr;
}
