/** The model input: `input({shape})` for the functional API (sequential models add one themselves). */
import * as v from '../validate';
import { common } from './common';
import { Layer, SymbolicTensor } from './layer';
import { inputShapeFromKeras, requireFloat32 } from './keras';
import { configJSON, noParams, registerLayer } from './registry';

export interface InputConfig {
  type: 'input';
  name?: string;
  shape: number[];
  trainable: boolean;
}

declare module './registry' {
  interface LayerConfigMap {
    input: InputConfig;
  }
}

/**
 * A model input of `shape` [features] for the functional API.
 * @example const x = input({shape: [784]});
 */
export function input(opts: { shape: number[]; name?: string }): SymbolicTensor {
  const o = v.plainObject('input options', opts);
  v.knownKeys('input options', o, ['shape', 'name']);
  if (!Array.isArray(o.shape) || o.shape.length !== 1) throw v.rangeError('an array of one positive integer (features)', 'shape', o.shape);
  const w = v.integer('shape[0]', o.shape[0], 1);
  const layer = new Layer({ type: 'input', ...common('input', o), shape: [w] });
  return new SymbolicTensor(layer, [], w);
}

registerLayer<InputConfig>({
  type: 'input',
  className: 'InputLayer',
  arity: 0,
  outputWidth: (c) => c.shape[0],
  params: noParams,
  lower: (_c, ctx) => ctx.emit({ op: 'input', name: ctx.name, inputs: [], attrs: { units: ctx.width } }),
  label: (c) => c.type,
  toJSON: configJSON,
  fromJSON: (json) => {
    const shape = json.shape;
    if (!Array.isArray(shape) || shape.length !== 1 || !Number.isInteger(shape[0]) || (shape[0] as number) < 1) {
      throw v.rangeError('an array of one positive integer (features)', 'shape', shape);
    }
    return new Layer({ type: 'input', name: typeof json.name === 'string' ? json.name : 'input', shape: [shape[0] as number], trainable: true });
  },
  toKeras: (c) => ({ className: 'InputLayer', config: { batch_input_shape: [null, c.shape[0]], dtype: 'float32', sparse: false } }),
  fromKeras: (cfg, ctx) => {
    requireFloat32(cfg, ctx);
    if (cfg.sparse === true) ctx.unsupported('sparse', 'false', true);
    const shape = inputShapeFromKeras(cfg, ctx);
    if (!shape) ctx.unsupported('batch_input_shape', '[null, features]', undefined);
    return new Layer({ type: 'input', name: 'input', shape: shape as number[], trainable: true });
  },
});
