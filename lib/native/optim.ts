/** Native optim functions (see native/binding/optim_binding.cc). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface OptimBinding {}
