/**
 * The names that cross the boundary into native code. Values travel as these strings and the
 * binding maps each one once (native/include/nodetrain/enums.h holds the same tables);
 * test/native/enums.test.ts checks that the two sides list exactly the same names in the same
 * order. Nothing here imports anything, so every layer of lib/ may use it.
 */

/** Activations the kernels implement (softmax is an op of its own, not an elementwise activation). */
export const NATIVE_ACTIVATIONS = ['linear', 'relu', 'leakyRelu', 'elu', 'gelu', 'sigmoid', 'tanh', 'softplus'] as const;
export type NativeActivation = (typeof NATIVE_ACTIVATIONS)[number];

/** Losses the engine computes (Keras definitions). */
export const NATIVE_LOSSES = [
  'meanSquaredError',
  'meanAbsoluteError',
  'huber',
  'binaryCrossentropy',
  'binaryCrossentropyFromLogits',
  'categoricalCrossentropy',
  'sparseCategoricalCrossentropy',
  'categoricalCrossentropyFromLogits',
  'sparseCategoricalCrossentropyFromLogits',
] as const;
export type NativeLoss = (typeof NATIVE_LOSSES)[number];

/** Metrics the engine accumulates per batch. */
export const NATIVE_METRICS = [
  'binaryAccuracy',
  'categoricalAccuracy',
  'sparseCategoricalAccuracy',
  'meanSquaredError',
  'meanAbsoluteError',
  'rootMeanSquaredError',
  'r2',
  'precision',
  'recall',
  'f1',
] as const;
export type NativeMetric = (typeof NATIVE_METRICS)[number];

/** Fused optimizer steps. */
export const NATIVE_OPTIMIZERS = ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'] as const;
export type NativeOptimizer = (typeof NATIVE_OPTIMIZERS)[number];

/** Arithmetic of a model's matrix products (nt::Precision). */
export const NATIVE_PRECISIONS = ['float32', 'bf16'] as const;
export type NativePrecision = (typeof NATIVE_PRECISIONS)[number];

/** Where a compiled model's buffers live and its kernels run (nt::Device). */
export const NATIVE_DEVICES = ['cpu', 'cuda'] as const;
export type NativeDevice = (typeof NATIVE_DEVICES)[number];

/**
 * Error codes a native failure can carry (nt::StatusCode). A wrong JavaScript type is
 * ERR_NT_INVALID_ARGUMENT_TYPE and a value out of range ERR_NT_INVALID_ARGUMENT_VALUE on both
 * sides of the boundary.
 */
export const NATIVE_STATUS_CODES = [
  'ERR_NT_INVALID_ARGUMENT_TYPE',
  'ERR_NT_INVALID_ARGUMENT_VALUE',
  'ERR_NT_OUT_OF_MEMORY',
  'ERR_NT_NOT_SUPPORTED',
  'ERR_NT_CANCELLED',
  'ERR_NT_NON_FINITE',
  'ERR_NT_IO',
  'ERR_NT_CORRUPT_FILE',
  'ERR_NT_BUSY',
  'ERR_NT_DISPOSED',
  'ERR_NT_INVALID_STATE',
  'ERR_NT_NO_DEVICE',
  'ERR_NT_INTERNAL',
] as const;
export type NativeStatusCode = (typeof NATIVE_STATUS_CODES)[number];
