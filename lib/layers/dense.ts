/** Dense: y = activation(x W + b), W of shape [inputs, units]; a softmax becomes its own node. */
import * as v from '../validate';
import { ACTIVATIONS, checkInitializer, checkInputShape, common, defaultAlpha, takesAlpha } from './common';
import type { ActivationName } from './common';
import type { Initializer } from './initializers';
import { Layer } from './layer';
import { activationFromKeras, activationToKeras, initializerFromKeras, initializerToKeras, inputShapeFromKeras, kerasBoolean, requireFloat32, requireNull } from './keras';
import { cleanJSON, configJSON, registerLayer } from './registry';
import { onnxActivation } from './onnx';

export interface DenseConfig {
  type: 'dense';
  name?: string;
  units: number;
  activation: ActivationName;
  /** Slope of leakyRelu / alpha of elu. */
  alpha?: number;
  useBias: boolean;
  kernelInitializer: Initializer;
  biasInitializer: Initializer;
  inputShape?: number[];
  trainable: boolean;
}

declare module './registry' {
  interface LayerConfigMap {
    dense: DenseConfig;
  }
}

export interface DenseOptions {
  units: number;
  activation?: ActivationName;
  /** Slope for leakyRelu (default 0.2, as tfjs) or alpha for elu (default 1). */
  alpha?: number;
  useBias?: boolean;
  kernelInitializer?: Initializer;
  biasInitializer?: Initializer;
  inputShape?: number[];
  name?: string;
  trainable?: boolean;
}

/**
 * A fully connected layer: y = activation(x W + b), W of shape [inputs, units].
 * @throws TypeError / RangeError for invalid options.
 * @example dense({units: 128, activation: 'relu', inputShape: [784]})
 */
export function dense(opts: DenseOptions): Layer {
  const o = v.plainObject('dense options', opts);
  v.knownKeys('dense options', o, ['units', 'activation', 'alpha', 'useBias', 'kernelInitializer', 'biasInitializer', 'inputShape', 'name', 'trainable']);
  const activation = v.optional(o.activation, 'linear' as ActivationName, (x) => v.oneOf('activation', x, ACTIVATIONS));
  return new Layer({
    type: 'dense',
    ...common('dense', o),
    units: v.integer('units', o.units, 1, 1 << 24),
    activation,
    alpha: defaultAlpha(activation, o.alpha, 'alpha'),
    useBias: v.optional(o.useBias, true, (x) => v.boolean('useBias', x)),
    kernelInitializer: v.optional(o.kernelInitializer, 'glorotUniform' as Initializer, (x) => checkInitializer('kernelInitializer', x)),
    biasInitializer: v.optional(o.biasInitializer, 'zeros' as Initializer, (x) => checkInitializer('biasInitializer', x)),
    inputShape: checkInputShape(o.inputShape),
  });
}

registerLayer<DenseConfig>({
  type: 'dense',
  className: 'Dense',
  arity: 1,
  outputWidth: (c) => c.units,
  params: (c, [fanIn]) => [
    { role: 'kernel', shape: [fanIn, c.units], init: c.kernelInitializer, fanIn, fanOut: c.units, trainable: true },
    ...(c.useBias ? [{ role: 'bias', shape: [c.units], init: c.biasInitializer, fanIn, fanOut: c.units, trainable: true }] : []),
  ],
  lower: (c, { name, inputs, group, trainable, emit }) => {
    // Softmax gets its own node (so cross-entropy can fuse with it); other activations are fused
    // into the GEMM epilogue.
    const soft = c.activation === 'softmax';
    const idx = emit({ op: 'dense', name, inputs, attrs: { units: c.units, useBias: c.useBias, activation: soft ? 'linear' : c.activation, alpha: c.alpha ?? 0 }, group, trainable });
    return soft ? emit({ op: 'softmax', name: `${name}/softmax`, inputs: [idx] }) : idx;
  },
  label: (c) => (c.activation !== 'linear' ? `dense, ${c.activation}` : 'dense'),
  // Gemm (x W + b) and the activation's own nodes.
  toOnnx: (c, ctx) => onnxActivation(ctx, c.activation, c.alpha, ctx.node('Gemm', [ctx.inputs[0], ctx.param('kernel'), ...(c.useBias ? [ctx.param('bias')] : [])])),
  toJSON: configJSON,
  fromJSON: (json) => dense(cleanJSON(json, takesAlpha(json.activation) ? [] : ['alpha']) as unknown as DenseOptions),
  toKeras: (c, ctx) => ({
    className: 'Dense',
    config: {
      units: c.units,
      activation: activationToKeras(c.activation, c.alpha, ctx),
      use_bias: c.useBias,
      kernel_initializer: initializerToKeras(c.kernelInitializer),
      bias_initializer: initializerToKeras(c.biasInitializer),
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
    },
  }),
  fromKeras: (cfg, ctx) => {
    requireFloat32(cfg, ctx);
    requireNull(cfg, ['kernel_regularizer', 'bias_regularizer', 'activity_regularizer', 'kernel_constraint', 'bias_constraint'], ctx);
    const units = cfg.units;
    if (!Number.isInteger(units) || (units as number) < 1) ctx.unsupported('units', 'a positive integer', units);
    return dense({
      units: units as number,
      activation: activationFromKeras(cfg.activation, ctx),
      useBias: kerasBoolean(cfg, 'use_bias', true, ctx),
      kernelInitializer: initializerFromKeras(cfg.kernel_initializer, 'glorotUniform'),
      biasInitializer: initializerFromKeras(cfg.bias_initializer, 'zeros'),
      inputShape: inputShapeFromKeras(cfg, ctx),
    });
  },
});
