/** Activation: an elementwise activation (softmax over the features is a softmax op). */
import * as v from '../validate';
import { ACTIVATIONS, checkInputShape, common, defaultAlpha, takesAlpha } from './common';
import type { ActivationName } from './common';
import { Layer } from './layer';
import { cleanJSON, configJSON, noParams, registerLayer, sameWidth } from './registry';
import { onnxActivation } from './onnx';

export interface ActivationConfig {
  type: 'activation';
  name?: string;
  activation: ActivationName;
  alpha?: number;
  inputShape?: number[];
  trainable: boolean;
}

declare module './registry' {
  interface LayerConfigMap {
    activation: ActivationConfig;
  }
}

/**
 * An activation layer.
 * @example activation({activation: 'relu'})
 */
export function activation(opts: { activation: ActivationName; alpha?: number; inputShape?: number[]; name?: string }): Layer {
  const o = v.plainObject('activation options', opts);
  v.knownKeys('activation options', o, ['activation', 'alpha', 'inputShape', 'name', 'trainable']);
  const act = v.oneOf('activation', o.activation, ACTIVATIONS);
  return new Layer({ type: 'activation', ...common('activation', o), activation: act, alpha: defaultAlpha(act, o.alpha, 'alpha'), inputShape: checkInputShape(o.inputShape) });
}

registerLayer<ActivationConfig>({
  type: 'activation',
  className: 'Activation',
  arity: 1,
  outputWidth: sameWidth,
  params: noParams,
  lower: (c, { name, inputs, emit }) =>
    c.activation === 'softmax'
      ? emit({ op: 'softmax', name, inputs })
      : emit({ op: 'activation', name, inputs, attrs: { activation: c.activation, alpha: c.alpha ?? 0 } }),
  label: (c) => `activation, ${c.activation}`,
  toOnnx: (c, ctx) => onnxActivation(ctx, c.activation, c.alpha, ctx.inputs[0]),
  toJSON: configJSON,
  fromJSON: (json) => activation(cleanJSON(json, takesAlpha(json.activation) ? [] : ['alpha']) as never),
});
