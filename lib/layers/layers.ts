/**
 * The layers: one file per layer type, each registering its definition (./registry.ts). Importing
 * this module loads them all; it re-exports their public factories and configs.
 */
export { ACTIVATIONS } from './common';
export type { ActivationName } from './common';
export { INITIALIZERS } from './initializers';
export type { InitializerName, Initializer } from './initializers';
export { Layer, SymbolicTensor, outputWidth, layerFromConfig } from './layer';
export type { LayerConfig, LayerConfigMap, LayerConfigBase, LayerType } from './registry';
export * from './input';
export * from './dense';
export * from './activation';
export * from './dropout';
export { layerNormalization } from './layerNormalization';
export type { NormConfig } from './layerNormalization';
export * from './batchNormalization';
export * from './add';
export * from './concatenate';
export * from './prelu';
export * from './flatten';

import type { AddConfig } from './add';
import type { ConcatenateConfig } from './concatenate';
/** The config of a merge layer. */
export type MergeConfig = AddConfig | ConcatenateConfig;
