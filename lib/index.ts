/**
 * nodetrain: fast neural-network training for Node.js.
 * Public exports only; everything else is internal.
 */
export { NodetrainError } from './errors';
export { cudaDevices, cudaInfo } from './device';
export type { CudaDevice, CudaInfo, Device } from './device';
export { Tensor, tensor, zeros, ones, fill, empty } from './tensor/tensor';
export type { DType, NestedArray, TensorLike } from './tensor/tensor';
export {
  getNumThreads,
  setNumThreads,
  setForcePortable,
  getForcePortable,
  setMaxIsa,
  getMaxIsa,
  cpuFeatures,
} from './runtime';
export type { IsaLevel } from './runtime';
export type { CpuFeatureReport } from './native/binding';
export { backend } from './native';
export * from './tensor/matmul';
export * from './tensor/reduce';
export * from './tensor/elementwise';
export * from './optim/steps';
export * from './schedules/index';
export * from './train/controllers/index';
export * from './data/index';
export * from './io/index';
export * as layers from './layers/layers';
export { dense, activation, dropout, layerNormalization, batchNormalization, concatenate, input, Layer, SymbolicTensor, ACTIVATIONS, INITIALIZERS } from './layers/layers';
export type { ActivationName, InitializerName, Initializer, LayerConfig, DenseOptions } from './layers/layers';
export { Model } from './model/model';
export { sequential, model } from './model/factories';
export type { CompileOptions, FitOptions, NamedWeights, XInput, YInput, BatchNormPolicy, LayerSelector, HeadOptions } from './model/model';
export { sgd, adam, adamw, rmsprop, adagrad } from './optim/optimizers';
export { DEFAULT_LEARNING_RATE } from './optim/lr';
export type { OptimizerConfig, OptimizerSpec, OptimizerType, ParamGroup, CommonOptimizerOptions, HypergradientOptions } from './optim/optimizers';
export { LOSSES } from './losses';
export type { LossName, LossSpec } from './losses';
export { METRICS } from './metrics';
export type { MetricName } from './metrics';
export { History, EarlyStopping, earlyStopping, ProgressBar, CsvLogger } from './train/callbacks';
export type { ClassWeight } from './train/weights';
export type { Callback, Logs, EarlyStoppingOptions } from './train/callbacks';
export * from './nas/index';
export * from './finetune/index';
