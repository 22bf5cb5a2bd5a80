/** Dropout: inverted dropout while training, the identity in inference. */
import * as v from '../validate';
import { checkInputShape, common } from './common';
import { Layer } from './layer';
import { inputShapeFromKeras, kerasNumber, requireNull } from './keras';
import { cleanJSON, configJSON, noParams, registerLayer, sameWidth } from './registry';

export interface DropoutConfig {
  type: 'dropout';
  name?: string;
  rate: number;
  inputShape?: number[];
  trainable: boolean;
}

declare module './registry' {
  interface LayerConfigMap {
    dropout: DropoutConfig;
  }
}

/**
 * Inverted dropout (training only): zeroes each feature with probability `rate`, scales the rest
 * by 1 / (1 - rate). The mask stream is seeded from the model's seed.
 * @example dropout({rate: 0.2})
 */
export function dropout(opts: { rate: number; inputShape?: number[]; name?: string }): Layer {
  const o = v.plainObject('dropout options', opts);
  v.knownKeys('dropout options', o, ['rate', 'inputShape', 'name', 'trainable']);
  return new Layer({
    type: 'dropout',
    ...common('dropout', o),
    rate: v.finiteNumber('rate', o.rate, { min: 0, max: 1, maxExclusive: true }),
    inputShape: checkInputShape(o.inputShape),
  });
}

registerLayer<DropoutConfig>({
  type: 'dropout',
  className: 'Dropout',
  arity: 1,
  outputWidth: sameWidth,
  params: noParams,
  lower: (c, { name, inputs, emit }) => emit({ op: 'dropout', name, inputs, attrs: { rate: c.rate } }),
  // The identity at inference: no node.
  toOnnx: (_c, ctx) => ctx.inputs[0],
  label: (c) => c.type,
  toJSON: configJSON,
  fromJSON: (json) => dropout(cleanJSON(json) as never),
  toKeras: (c) => ({ className: 'Dropout', config: { rate: c.rate, noise_shape: null, seed: null } }),
  fromKeras: (cfg, ctx) => {
    requireNull(cfg, ['noise_shape'], ctx);
    const rate = kerasNumber(cfg, 'rate', NaN, ctx);
    if (!(rate >= 0 && rate < 1)) ctx.unsupported('rate', 'a number in [0, 1)', cfg.rate);
    return dropout({ rate, inputShape: inputShapeFromKeras(cfg, ctx) });
  },
});
