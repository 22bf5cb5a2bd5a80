/**
 * Layer normalisation over the features of each sample (Ba et al., 2016). The config, validation,
 * parameters and lowering are shared with batch normalisation (./batchNormalization.ts).
 */
import * as v from '../validate';
import { checkInputShape, common } from './common';
import { Layer } from './layer';
import { initializerToKeras, inputShapeFromKeras, kerasBoolean, kerasNumber, requireFloat32, requireLastAxis, requireNull } from './keras';
import { cleanJSON, configJSON, registerLayer, sameWidth } from './registry';
import type { LayerDefinition, ParamSpec } from './registry';

export interface NormConfig {
  type: 'layerNormalization' | 'batchNormalization';
  name?: string;
  epsilon: number;
  /** batchNormalization: moving = momentum * moving + (1 - momentum) * batch statistic. */
  momentum?: number;
  center: boolean;
  scale: boolean;
  inputShape?: number[];
  trainable: boolean;
}

declare module './registry' {
  interface LayerConfigMap {
    layerNormalization: NormConfig;
  }
}

/** Validates the options of either normalisation layer. @internal */
export function norm(type: NormConfig['type'], opts: unknown): Layer {
  const o = v.plainObject(`${type} options`, opts ?? {});
  v.knownKeys(`${type} options`, o, ['epsilon', 'momentum', 'center', 'scale', 'inputShape', 'name', 'trainable']);
  if (type === 'layerNormalization' && o.momentum !== undefined) throw v.rangeError('no momentum (batchNormalization only)', 'momentum', o.momentum);
  return new Layer({
    type,
    ...common(type, o),
    epsilon: v.optional(o.epsilon, 1e-3, (x) => v.finiteNumber('epsilon', x, { min: 0, minExclusive: true })),
    momentum: type === 'batchNormalization' ? v.optional(o.momentum, 0.99, (x) => v.finiteNumber('momentum', x, { min: 0, max: 1 })) : undefined,
    center: v.optional(o.center, true, (x) => v.boolean('center', x)),
    scale: v.optional(o.scale, true, (x) => v.boolean('scale', x)),
    inputShape: checkInputShape(o.inputShape),
  });
}

/** The definition both normalisation layers share, given their op and moving statistics. @internal */
export function normDefinition(type: NormConfig['type'], className: string, op: string, moving: boolean): LayerDefinition<NormConfig> {
  return {
    type,
    className,
    arity: 1,
    outputWidth: sameWidth,
    params: (c, _in, w) => {
      const p = (role: string, init: 'zeros' | 'ones', trainable = true): ParamSpec => ({ role, shape: [w], init, fanIn: w, fanOut: w, trainable });
      return [
        ...(c.scale ? [p('gamma', 'ones')] : []),
        ...(c.center ? [p('beta', 'zeros')] : []),
        ...(moving ? [p('moving_mean', 'zeros', false), p('moving_variance', 'ones', false)] : []),
      ];
    },
    lower: (c, { name, inputs, group, trainable, statistics, emit }) =>
      emit({
        op,
        name,
        inputs,
        attrs: { epsilon: c.epsilon, momentum: c.momentum ?? 0.99, center: c.center, scale: c.scale, ...(moving ? { statistics: ['auto', 'batch', 'moving'].indexOf(statistics) } : {}) },
        group,
        trainable,
      }),
    label: (c) => c.type,
    // Inference mode: BatchNormalization on the moving statistics; LayerNormalization (opset 17)
    // over the features. An absent gamma / beta is a constant 1 / 0.
    toOnnx: (c, ctx) => {
      const ones = Array.from({ length: ctx.width }, () => 1);
      const scale = c.scale ? ctx.param('gamma') : ctx.constant('gamma', ones, [ctx.width]);
      const bias = c.center ? ctx.param('beta') : ctx.constant('beta', ones.map(() => 0), [ctx.width]);
      const epsilon = { float: c.epsilon };
      return moving
        ? ctx.node('BatchNormalization', [ctx.inputs[0], scale, bias, ctx.param('moving_mean'), ctx.param('moving_variance')], { epsilon })
        : ctx.node('LayerNormalization', [ctx.inputs[0], scale, bias], { axis: { int: -1 }, epsilon });
    },
    toJSON: configJSON,
    fromJSON: (json) => norm(type, cleanJSON(json, moving ? [] : ['momentum'])),
    toKeras: (c) => ({
      className,
      config: {
        axis: moving ? -1 : [1],
        ...(moving ? { momentum: c.momentum } : {}),
        epsilon: c.epsilon,
        center: c.center,
        scale: c.scale,
        beta_initializer: initializerToKeras('zeros'),
        gamma_initializer: initializerToKeras('ones'),
        ...(moving ? { moving_mean_initializer: initializerToKeras('zeros'), moving_variance_initializer: initializerToKeras('ones') } : {}),
        beta_regularizer: null,
        gamma_regularizer: null,
        ...(moving ? { beta_constraint: null, gamma_constraint: null } : {}),
      },
    }),
    fromKeras: (cfg, ctx) => {
      requireFloat32(cfg, ctx);
      requireLastAxis(cfg, 'axis', ctx);
      requireNull(cfg, ['beta_regularizer', 'gamma_regularizer', 'beta_constraint', 'gamma_constraint'], ctx);
      if (moving) {
        for (const k of ['renorm', 'synchronized']) if (cfg[k] === true) ctx.unsupported(k, 'false', true);
      }
      // Keras's LayerNormalization default epsilon is 1e-3, as nodetrain's.
      const epsilon = kerasNumber(cfg, 'epsilon', 1e-3, ctx);
      if (!(epsilon > 0)) ctx.unsupported('epsilon', 'a number > 0', epsilon);
      const momentum = moving ? kerasNumber(cfg, 'momentum', 0.99, ctx) : undefined;
      if (momentum !== undefined && !(momentum >= 0 && momentum <= 1)) ctx.unsupported('momentum', 'a number in [0, 1]', momentum);
      return norm(type, {
        epsilon,
        ...(moving ? { momentum } : {}),
        center: kerasBoolean(cfg, 'center', true, ctx),
        scale: kerasBoolean(cfg, 'scale', true, ctx),
        inputShape: inputShapeFromKeras(cfg, ctx),
      });
    },
  };
}

/**
 * Layer normalisation over the features of each sample (Ba et al., 2016).
 * @example layerNormalization({epsilon: 1e-5})
 */
export function layerNormalization(opts: { epsilon?: number; center?: boolean; scale?: boolean; inputShape?: number[]; name?: string } = {}): Layer {
  return norm('layerNormalization', opts);
}

registerLayer(normDefinition('layerNormalization', 'LayerNormalization', 'layerNorm', false));
