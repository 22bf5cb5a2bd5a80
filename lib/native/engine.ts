/** Native engine functions (see native/binding/engine_binding.cc). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface EngineBinding {}
