/**
 * nodetrain: fast neural-network training for Node.js.
 * Public exports only; everything else is internal.
 */
export { NodetrainError } from './errors';
export { Tensor, tensor, zeros, ones, fill, empty } from './tensor/tensor';
export type { DType, NestedArray, TensorLike } from './tensor/tensor';
export { getNumThreads, setNumThreads, setForcePortable, getForcePortable, cpuFeatures } from './runtime';
export { backend } from './native';
export * from './tensor/matmul';
export * from './tensor/reduce';
export * from './tensor/elementwise';
export * from './optim/steps';
export * from './schedules/index';
export * from './data/index';
export * from './io/index';
