/** Native elementwise functions (see native/binding/elementwise_binding.cc). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ElementwiseBinding {}
