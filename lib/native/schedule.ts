/** Native schedule functions (see native/binding/schedule_binding.cc). */

/**
 * A learning-rate schedule spec as the native side reads it: a frozen `{type: '...', ...}` object
 * from lib/schedules (children under `schedules`), or a number for a constant learning rate.
 */
export type NativeScheduleSpec = number | { readonly type: string };

export interface ScheduleBinding {
  /** Learning rates of optimizer steps fromStep .. fromStep + count - 1. */
  scheduleValues(spec: NativeScheduleSpec, fromStep: number, count: number): Float64Array;
  /** Momentum (SGD momentum / Adam beta1) of the same steps; NaN where the schedule does not set it. */
  scheduleMomentumValues(spec: NativeScheduleSpec, fromStep: number, count: number): Float64Array;
}
