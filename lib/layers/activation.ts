/** Activation: an elementwise activation (softmax over the features is a softmax op). */
import * as v from '../validate';
import { ACTIVATIONS, checkInputShape, common, defaultAlpha, takesAlpha } from './common';
import type { ActivationName } from './common';
import { Layer } from './layer';
import { activationFromKeras, activationToKeras, inputShapeFromKeras, kerasNumber, requireLastAxis } from './keras';
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
  // leakyRelu is a Keras layer of its own; the rest an Activation.
  toKeras: (c, ctx) => {
    if (c.activation === 'leakyRelu') return { className: 'LeakyReLU', config: { alpha: c.alpha ?? 0.2 } };
    // tfjs-layers 4.22's ELU layer refuses an alpha other than 1 (NotImplementedError).
    if (c.activation === 'elu' && (c.alpha ?? 1) !== 1) ctx.unsupported('alpha', '1 (TensorFlow.js has no ELU of another alpha)', c.alpha);
    return { className: 'Activation', config: { activation: activationToKeras(c.activation, c.alpha, ctx) } };
  },
  kerasClasses: ['Activation', 'LeakyReLU', 'ELU', 'ReLU', 'Softmax'],
  fromKeras: (cfg, ctx) => {
    const inputShape = inputShapeFromKeras(cfg, ctx);
    switch (ctx.className) {
      case 'LeakyReLU':
        // tfjs's default slope is 0.3 (Keras 2); Keras 3 writes negative_slope.
        return activation({ activation: 'leakyRelu', alpha: kerasNumber(cfg, cfg.negative_slope !== undefined ? 'negative_slope' : 'alpha', 0.3, ctx), inputShape } as never);
      case 'ELU':
        return activation({ activation: 'elu', alpha: kerasNumber(cfg, 'alpha', 1, ctx), inputShape } as never);
      case 'ReLU':
        for (const k of ['max_value', 'negative_slope', 'threshold']) {
          const x = cfg[k];
          if (x !== undefined && x !== null && !(k !== 'max_value' && x === 0)) ctx.unsupported(k, k === 'max_value' ? 'null' : '0', x);
        }
        return activation({ activation: 'relu', inputShape } as never);
      case 'Softmax':
        requireLastAxis(cfg, 'axis', ctx);
        return activation({ activation: 'softmax', inputShape } as never);
      default:
        return activation({ activation: activationFromKeras(cfg.activation, ctx), inputShape } as never);
    }
  },
});
