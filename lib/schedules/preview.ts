/**
 * Previews of a schedule's values, computed by the same native evaluator the training loop uses.
 */
import { callNative } from '../errors';
import { binding } from '../native';
import { finiteNumber, integer, knownKeys, optional, plainObject } from '../validate';
import { normalizeSchedule, type Schedule } from './spec';

/** Largest preview (matches the native limit). */
export const MAX_PREVIEW_STEPS = 2 ** 27;

function args(schedule: unknown, opts: unknown): { spec: Schedule | number; from: number; count: number } {
  const spec = typeof schedule === 'number' ? finiteNumber('schedule', schedule, { min: 0 }) : normalizeSchedule('schedule', schedule);
  const o = plainObject('options', opts);
  knownKeys('options', o, ['from', 'count']);
  const from = optional(o.from, 0, (v) => integer('from', v, 0));
  const count = integer('count', o.count, 0, MAX_PREVIEW_STEPS);
  return { spec, from, count };
}

/**
 * Learning rates of optimizer steps from .. from + count - 1 (step 0 is the first update).
 * @throws TypeError / RangeError for an invalid schedule, from (integer >= 0) or count (integer in [0, 2^27]).
 * @example scheduleValues(cosine(0.1, { tMax: 100 }), { count: 100 })
 */
export function scheduleValues(schedule: Schedule | number, opts: { from?: number; count: number }): Float64Array {
  const { spec, from, count } = args(schedule, opts);
  return callNative(() => binding().scheduleValues(spec, from, count));
}

/**
 * Momentum (SGD momentum, or Adam beta1) the schedule sets at steps from .. from + count - 1; NaN
 * at steps where it sets none (only oneCycle with cycleMomentum sets it, also inside a sequence).
 * @throws TypeError / RangeError as scheduleValues.
 * @example scheduleMomentum(oneCycle({ maxLr: 0.1, totalSteps: 100 }), { count: 100 })
 */
export function scheduleMomentum(schedule: Schedule | number, opts: { from?: number; count: number }): Float64Array {
  const { spec, from, count } = args(schedule, opts);
  return callNative(() => binding().scheduleMomentumValues(spec, from, count));
}
