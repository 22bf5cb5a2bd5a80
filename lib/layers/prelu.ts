/**
 * PReLU (He et al., 2015, "Delving Deep into Rectifiers"; Keras `PReLU`): a leaky ReLU whose
 * slope is learnt per unit, f(x) = x for x >= 0 and alpha * x otherwise, for [batch, features]
 * inputs. Keras's defaults: alpha starts at zero (alphaInitializer 'zeros'), one alpha per
 * feature (no shared axes for rank-2 inputs). Lowered to the native 'prelu' op, whose parameter is
 * `<name>/alpha` of shape [features].
 */
import * as v from '../validate';
import { checkInitializer, checkInputShape, common } from './common';
import type { Initializer } from './initializers';
import { Layer } from './layer';
import { initializerFromKeras, initializerToKeras, inputShapeFromKeras, requireFloat32, requireNull } from './keras';
import { cleanJSON, configJSON, registerLayer, sameWidth } from './registry';

export interface PReLUConfig {
  type: 'prelu';
  name?: string;
  alphaInitializer: Initializer;
  inputShape?: number[];
  trainable: boolean;
}

declare module './registry' {
  interface LayerConfigMap {
    prelu: PReLUConfig;
  }
}

export interface PReLUOptions {
  /** Initial slopes for x < 0 (default 'zeros', as Keras). */
  alphaInitializer?: Initializer;
  inputShape?: number[];
  name?: string;
  trainable?: boolean;
}

/**
 * A parametric ReLU: f(x) = x for x >= 0, alpha * x otherwise, with one learnt alpha per feature.
 * @throws TypeError / RangeError for invalid options.
 * @example prelu({alphaInitializer: {constant: 0.25}})
 */
export function prelu(opts: PReLUOptions = {}): Layer {
  const o = v.plainObject('prelu options', opts);
  v.knownKeys('prelu options', o, ['alphaInitializer', 'inputShape', 'name', 'trainable']);
  return new Layer({
    type: 'prelu',
    ...common('prelu', o),
    alphaInitializer: v.optional(o.alphaInitializer, 'zeros' as Initializer, (x) => checkInitializer('alphaInitializer', x)),
    inputShape: checkInputShape(o.inputShape),
  });
}

registerLayer<PReLUConfig>({
  type: 'prelu',
  className: 'PReLU',
  arity: 1,
  outputWidth: sameWidth,
  // Keras computes the fans of a 1-D weight as fan_in = fan_out = its length.
  params: (c, _in, w) => [{ role: 'alpha', shape: [w], init: c.alphaInitializer, fanIn: w, fanOut: w, trainable: true }],
  lower: (_c, { name, inputs, group, trainable, emit }) => emit({ op: 'prelu', name, inputs, attrs: {}, group, trainable }),
  toOnnx: (_c, ctx) => ctx.node('PRelu', [ctx.inputs[0], ctx.param('alpha')]),
  label: (c) => c.type,
  toJSON: configJSON,
  fromJSON: (json) => prelu(cleanJSON(json) as PReLUOptions),
  toKeras: (c) => ({
    className: 'PReLU',
    config: { alpha_initializer: initializerToKeras(c.alphaInitializer), alpha_regularizer: null, alpha_constraint: null, shared_axes: null },
  }),
  fromKeras: (cfg, ctx) => {
    requireFloat32(cfg, ctx);
    requireNull(cfg, ['alpha_regularizer', 'alpha_constraint', 'shared_axes'], ctx);
    return prelu({ alphaInitializer: initializerFromKeras(cfg.alpha_initializer, 'zeros'), inputShape: inputShapeFromKeras(cfg, ctx) });
  },
});
