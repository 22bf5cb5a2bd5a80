/**
 * Flatten of rank-2 inputs ([batch, features]): the identity. It exists so that Keras and
 * TensorFlow.js models that flatten an already flat input import; it emits no native node and
 * exports as a linear Activation (tfjs-layers refuses Flatten of rank-2 inputs).
 */
import * as v from '../validate';
import { checkInputShape, common } from './common';
import { inputShapeFromKeras, requireFloat32 } from './keras';
import { Layer } from './layer';
import { cleanJSON, configJSON, noParams, registerLayer, sameWidth } from './registry';

export interface FlattenConfig {
  type: 'flatten';
  name?: string;
  inputShape?: number[];
  trainable: boolean;
}

declare module './registry' {
  interface LayerConfigMap {
    flatten: FlattenConfig;
  }
}

/**
 * Flatten of [batch, features] inputs (the identity; for models imported from Keras).
 * @example flatten()
 */
export function flatten(opts: { inputShape?: number[]; name?: string } = {}): Layer {
  const o = v.plainObject('flatten options', opts);
  v.knownKeys('flatten options', o, ['inputShape', 'name', 'trainable']);
  return new Layer({ type: 'flatten', ...common('flatten', o), inputShape: checkInputShape(o.inputShape) });
}

registerLayer<FlattenConfig>({
  type: 'flatten',
  className: 'Flatten',
  arity: 1,
  outputWidth: sameWidth,
  params: noParams,
  // The output is the input itself.
  lower: (_c, { inputs }) => inputs[0],
  label: (c) => c.type,
  toJSON: configJSON,
  fromJSON: (json) => flatten(cleanJSON(json) as never),
  // tfjs-layers refuses Flatten on rank-2 inputs (min_ndim 3); the identity it stands for is a
  // linear Activation there.
  toKeras: () => ({ className: 'Activation', config: { activation: 'linear' } }),
  fromKeras: (cfg, ctx) => {
    requireFloat32(cfg, ctx);
    if (cfg.data_format !== undefined && cfg.data_format !== null && cfg.data_format !== 'channels_last') ctx.unsupported('data_format', "'channels_last'", cfg.data_format);
    return flatten({ inputShape: inputShapeFromKeras(cfg, ctx) });
  },
});
