/**
 * Helpers the layer files share for their Keras / TensorFlow.js mapping (toKeras / fromKeras in
 * ./registry.ts): activation and initializer names, and the checks of options nodetrain cannot
 * represent. Keras's names are TensorFlow.js 4.x's (tfjs-layers src/activations.ts,
 * src/initializers.ts); Python Keras writes the same config keys.
 */
import type { ActivationName } from './common';
import type { Initializer } from './initializers';
import type { KerasContext } from './registry';

/** nodetrain activation -> Keras name (gelu is the tanh approximation, Keras's 'gelu_new'). */
const TO_KERAS: Record<string, string> = {
  linear: 'linear',
  relu: 'relu',
  elu: 'elu',
  gelu: 'gelu_new',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  softplus: 'softplus',
  softmax: 'softmax',
};
const FROM_KERAS: Record<string, ActivationName> = Object.fromEntries(Object.entries(TO_KERAS).map(([a, k]) => [k, a as ActivationName]));

/** The Keras activation string of a nodetrain activation (Keras's elu has alpha 1, leakyRelu is a layer). */
export function activationToKeras(act: ActivationName, alpha: number | undefined, ctx: KerasContext): string {
  // tfjs-layers 4.22 writes 'gelu_new' but cannot read it back (it looks up 'geluNew'), and Keras's
  // 'gelu' is the exact erf form: nodetrain's tanh GELU has no loadable Keras name.
  if (act === 'gelu') ctx.unsupported('activation', "an activation TensorFlow.js can load (its 'gelu' is the exact erf form, and it cannot read back 'gelu_new')", act);
  if (act === 'elu' && alpha !== undefined && alpha !== 1) ctx.unsupported('activation', "'elu' with alpha 1 (Keras's elu activation has no alpha; use an ELU activation layer)", `elu with alpha ${alpha}`);
  const k = TO_KERAS[act];
  if (k === undefined) ctx.unsupported('activation', `one of ${Object.keys(TO_KERAS).join(', ')} (use a separate activation layer for ${act})`, act);
  return k;
}

/** The nodetrain activation of a Keras activation string. */
export function activationFromKeras(x: unknown, ctx: KerasContext): ActivationName {
  const name = x === undefined || x === null ? 'linear' : x;
  const a = typeof name === 'string' ? FROM_KERAS[name] : undefined;
  if (a === undefined) {
    const hint = name === 'gelu' ? " ('gelu' is the exact erf form; nodetrain has the tanh approximation 'gelu_new')" : '';
    ctx.unsupported('activation', `one of ${Object.keys(FROM_KERAS).map((k) => `'${k}'`).join(', ')}${hint}`, name);
  }
  return a;
}

/** Keras VarianceScaling parameters of the named initializers (Keras's definitions, as ./initializers.ts). */
const SCALING: Record<string, { scale: number; mode: string; distribution: string }> = {
  glorotUniform: { scale: 1, mode: 'fan_avg', distribution: 'uniform' },
  glorotNormal: { scale: 1, mode: 'fan_avg', distribution: 'normal' },
  heUniform: { scale: 2, mode: 'fan_in', distribution: 'uniform' },
  heNormal: { scale: 2, mode: 'fan_in', distribution: 'normal' },
  lecunUniform: { scale: 1, mode: 'fan_in', distribution: 'uniform' },
  lecunNormal: { scale: 1, mode: 'fan_in', distribution: 'normal' },
};
const CLASS_INIT: Record<string, Initializer> = {
  GlorotUniform: 'glorotUniform',
  GlorotNormal: 'glorotNormal',
  HeUniform: 'heUniform',
  HeNormal: 'heNormal',
  LeCunUniform: 'lecunUniform',
  LecunUniform: 'lecunUniform',
  LeCunNormal: 'lecunNormal',
  LecunNormal: 'lecunNormal',
  Zeros: 'zeros',
  Ones: 'ones',
};

/** The Keras form of an initializer. */
export function initializerToKeras(init: Initializer): { class_name: string; config: Record<string, unknown> } {
  if (typeof init === 'object') return { class_name: 'Constant', config: { value: init.constant } };
  if (init === 'zeros') return { class_name: 'Zeros', config: {} };
  if (init === 'ones') return { class_name: 'Ones', config: {} };
  return { class_name: 'VarianceScaling', config: { ...SCALING[init], seed: null } };
}

/**
 * The initializer of a Keras initializer config, or `dflt` for one nodetrain does not have (an
 * imported layer's weights come from the file; the initializer only matters if it is reset).
 */
export function initializerFromKeras(x: unknown, dflt: Initializer): Initializer {
  if (typeof x !== 'object' || x === null) return dflt;
  const o = x as { class_name?: unknown; config?: Record<string, unknown> };
  const cfg = typeof o.config === 'object' && o.config !== null ? o.config : {};
  if (typeof o.class_name !== 'string') return dflt;
  if (o.class_name in CLASS_INIT) return CLASS_INIT[o.class_name];
  if (o.class_name === 'Constant' && typeof cfg.value === 'number' && Number.isFinite(cfg.value)) return { constant: cfg.value };
  if (o.class_name === 'VarianceScaling') {
    const dist = cfg.distribution === 'truncated_normal' ? 'normal' : cfg.distribution;
    for (const [name, s] of Object.entries(SCALING)) {
      if (s.scale === cfg.scale && s.mode === cfg.mode && s.distribution === dist) return name as Initializer;
    }
  }
  return dflt;
}

/** Options that change training or inference and that nodetrain does not have must be absent or null. */
export function requireNull(cfg: Record<string, unknown>, keys: readonly string[], ctx: KerasContext): void {
  for (const k of keys) {
    if (cfg[k] !== undefined && cfg[k] !== null) ctx.unsupported(k, 'null (nodetrain has no regularizers, constraints or noise shapes)', cfg[k]);
  }
}

/** A float32 dtype (tfjs writes 'float32'; Keras 3 may write a policy object). */
export function requireFloat32(cfg: Record<string, unknown>, ctx: KerasContext): void {
  const d = cfg.dtype;
  if (d === undefined || d === null || d === 'float32') return;
  if (typeof d === 'object' && ((d as { config?: { name?: unknown } }).config?.name === 'float32')) return;
  ctx.unsupported('dtype', "'float32'", d);
}

/** The input shape a first layer declares (batch_input_shape [null, n] or input_shape [n]), if any. */
export function inputShapeFromKeras(cfg: Record<string, unknown>, ctx: KerasContext): number[] | undefined {
  let shape: unknown;
  if (Array.isArray(cfg.batch_input_shape)) shape = cfg.batch_input_shape.slice(1);
  else if (Array.isArray(cfg.batch_shape)) shape = cfg.batch_shape.slice(1);
  else if (Array.isArray(cfg.input_shape)) shape = cfg.input_shape;
  else return undefined;
  const s = shape as unknown[];
  if (s.length !== 1 || !Number.isInteger(s[0]) || (s[0] as number) < 1) {
    ctx.unsupported('batch_input_shape', '[null, features] (rank-2 inputs)', cfg.batch_input_shape ?? cfg.batch_shape ?? cfg.input_shape);
  }
  return [s[0] as number];
}

/** The last-axis check of the normalisation and merge layers (rank-2 inputs: -1 or 1). */
export function requireLastAxis(cfg: Record<string, unknown>, key: string, ctx: KerasContext): void {
  const a = cfg[key];
  if (a === undefined || a === null) return;
  const axes = Array.isArray(a) ? a : [a];
  if (axes.length !== 1 || (axes[0] !== -1 && axes[0] !== 1)) ctx.unsupported(key, '-1 (the feature axis of rank-2 inputs)', a);
}

/** A finite number option, or its default. */
export function kerasNumber(cfg: Record<string, unknown>, key: string, dflt: number, ctx: KerasContext): number {
  const x = cfg[key];
  if (x === undefined || x === null) return dflt;
  if (typeof x !== 'number' || !Number.isFinite(x)) ctx.unsupported(key, 'a finite number', x);
  return x;
}

/** A boolean option, or its default. */
export function kerasBoolean(cfg: Record<string, unknown>, key: string, dflt: boolean, ctx: KerasContext): boolean {
  const x = cfg[key];
  if (x === undefined || x === null) return dflt;
  if (typeof x !== 'boolean') ctx.unsupported(key, 'a boolean', x);
  return x;
}
