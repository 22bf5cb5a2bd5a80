/**
 * The library's public API as the search uses it, imported from the modules that define it (not
 * from lib/index.ts, which exports the search itself and would make a cycle).
 */
export { NodetrainError } from '../errors';
export { getNumThreads, setNumThreads } from '../runtime';
export { createRng, permutation, splitDataset, fitStandardizer, loadDigits, loadCsv, Dataset } from '../data/index';
export type { Rng } from '../data/index';
export * as layers from '../layers/layers';
export { dense, activation, dropout, layerNormalization, batchNormalization, input, ACTIVATIONS } from '../layers/layers';
export type { ActivationName } from '../layers/layers';
export { Model } from '../model/model';
export { sequential, model } from '../model/factories';
export { sgd, adam, adamw, rmsprop, adagrad } from '../optim/optimizers';
export type { Callback, Logs } from '../train/callbacks';
