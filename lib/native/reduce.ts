/** Native reduce functions (see native/binding/reduce_binding.cc). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ReduceBinding {}
