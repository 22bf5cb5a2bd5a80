/** The model factories: sequential() and the functional model(). */
import { Layer, SymbolicTensor } from '../layers/layers';
import * as v from '../validate';
import { functionalGraph, sequentialGraph } from './graph';
import { Model } from './model';

/**
 * A model from a list of layers applied one after another; the first needs `inputShape`.
 * @throws TypeError / RangeError for invalid layers.
 * @example const m = sequential([dense({units: 64, activation: 'relu', inputShape: [4]}), dense({units: 3, activation: 'softmax'})]);
 */
export function sequential(layers: Layer[], options: { seed?: number; inputShape?: number[] } = {}): Model {
  const o = v.plainObject('sequential options', options);
  v.knownKeys('sequential options', o, ['seed', 'inputShape']);
  const seed = v.optional(o.seed, Math.floor(Math.random() * 2 ** 31), (s) => v.integer('seed', s, 0, 2 ** 52));
  const shape = o.inputShape === undefined ? undefined : [v.integer('inputShape[0]', (o.inputShape as number[])[0], 1)];
  return new Model(sequentialGraph(layers, shape), seed);
}

/**
 * A model from the functional API: a DAG from one input to one output (residual and skip
 * connections through add() and concatenate()).
 * @example
 * const x = input({shape: [16]});
 * const h = dense({units: 16, activation: 'relu'}).apply(x);
 * const y = dense({units: 1}).apply(layers.add().apply(x, h)); // the add layer, not the tensor add
 * const m = model({inputs: x, outputs: y});
 */
export function model(args: { inputs: SymbolicTensor; outputs: SymbolicTensor; seed?: number }): Model {
  const o = v.plainObject('model options', args);
  v.knownKeys('model options', o, ['inputs', 'outputs', 'seed']);
  const seed = v.optional(o.seed, Math.floor(Math.random() * 2 ** 31), (s) => v.integer('seed', s, 0, 2 ** 52));
  return new Model(functionalGraph(o.inputs, o.outputs), seed);
}
