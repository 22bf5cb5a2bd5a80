/** Native schedule functions (see native/binding/schedule_binding.cc). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ScheduleBinding {}
