/** Native gemm functions (see native/binding/gemm_binding.cc). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface GemmBinding {}
