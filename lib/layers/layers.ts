/**
 * Layers: serialisable specs that a model compiles into native nodes. All activations are
 * [batch, features] matrices (dense networks). The API follows TensorFlow.js's layers API:
 * `dense({units, activation, inputShape})`, and a functional API where `layer.apply(x)` on a
 * symbolic tensor builds a graph (for residual and skip connections).
 */
import * as v from '../validate';

export const ACTIVATIONS = ['linear', 'relu', 'leakyRelu', 'elu', 'gelu', 'sigmoid', 'tanh', 'softplus', 'softmax'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export const INITIALIZERS = [
  'glorotUniform',
  'glorotNormal',
  'heUniform',
  'heNormal',
  'lecunUniform',
  'lecunNormal',
  'zeros',
  'ones',
] as const;
export type InitializerName = (typeof INITIALIZERS)[number];
/** An initializer name or `{constant: value}`. */
export type Initializer = InitializerName | { constant: number };

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
export interface ActivationConfig {
  type: 'activation';
  name?: string;
  activation: ActivationName;
  alpha?: number;
  inputShape?: number[];
  trainable: boolean;
}
export interface DropoutConfig {
  type: 'dropout';
  name?: string;
  rate: number;
  inputShape?: number[];
  trainable: boolean;
}
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
export interface MergeConfig {
  type: 'add' | 'concatenate';
  name?: string;
  trainable: boolean;
}
export interface InputConfig {
  type: 'input';
  name?: string;
  shape: number[];
  trainable: boolean;
}
export type LayerConfig = DenseConfig | ActivationConfig | DropoutConfig | NormConfig | MergeConfig | InputConfig;

/** A node in a model graph under construction (functional API). */
export class SymbolicTensor {
  /** @internal */
  constructor(
    readonly layer: Layer,
    readonly inputs: readonly SymbolicTensor[],
    /** Features per sample. */
    readonly width: number,
  ) {}
  get shape(): (number | null)[] {
    return [null, this.width];
  }
}

/** A layer: its config plus, once built in a model, a name. Layers are reusable specs. */
export class Layer {
  /** The serialisable configuration. */
  readonly config: LayerConfig;
  /** Set when the layer is added to a model (auto-generated names are unique per model). */
  name: string | undefined;
  /** Frozen layers keep their weights during training; change it, then call compile() again. */
  trainable: boolean;

  /** @internal */
  constructor(config: LayerConfig) {
    this.config = config;
    this.name = config.name;
    this.trainable = config.trainable;
  }

  get type(): LayerConfig['type'] {
    return this.config.type;
  }

  /**
   * Functional API: applies the layer to symbolic inputs.
   * @throws RangeError for the wrong number of inputs or mismatched widths.
   * @example const h = dense({units: 32, activation: 'relu'}).apply(x);
   */
  apply(...inputs: SymbolicTensor[]): SymbolicTensor {
    const c = this.config;
    inputs.forEach((t, i) => {
      if (!(t instanceof SymbolicTensor)) throw v.typeError('a SymbolicTensor (from input() or layer.apply())', `inputs[${i}]`, t);
    });
    if (c.type === 'input') throw v.rangeError('a non-input layer', 'apply', v.described('an input layer'));
    if (c.type === 'add' || c.type === 'concatenate') {
      if (inputs.length < 2) throw v.rangeError('at least 2 inputs', `${c.type} inputs`, inputs.length);
      if (c.type === 'add') {
        const w = inputs[0].width;
        inputs.forEach((t, i) => {
          if (t.width !== w) throw v.rangeError(`an input of width ${w} (add needs equal widths)`, `inputs[${i}]`, v.described(`width ${t.width}`));
        });
        return new SymbolicTensor(this, inputs, w);
      }
      return new SymbolicTensor(this, inputs, inputs.reduce((s, t) => s + t.width, 0));
    }
    if (inputs.length !== 1) throw v.rangeError('exactly 1 input', `${c.type} inputs`, inputs.length);
    return new SymbolicTensor(this, inputs, outputWidth(c, inputs[0].width));
  }
}

/** Output width of a single-input layer given its input width. @internal */
export function outputWidth(c: LayerConfig, inWidth: number): number {
  return c.type === 'dense' ? c.units : inWidth;
}

// ---- validation helpers --------------------------------------------------------------------------
function checkInitializer(name: string, x: unknown): Initializer {
  if (typeof x === 'object' && x !== null && !Array.isArray(x)) {
    const o = x as Record<string, unknown>;
    v.knownKeys(name, o, ['constant']);
    return { constant: v.finiteNumber(`${name}.constant`, o.constant) };
  }
  return v.oneOf(name, x, INITIALIZERS);
}

function checkInputShape(x: unknown): number[] | undefined {
  if (x === undefined) return undefined;
  if (!Array.isArray(x) || x.length !== 1) throw v.rangeError('an array of one positive integer (features)', 'inputShape', x);
  return [v.integer('inputShape[0]', x[0], 1)];
}

function common(name: string, o: Record<string, unknown>): { name?: string; trainable: boolean } {
  return {
    name: v.optional(o.name, undefined, (x) => {
      const s = v.string(`${name}.name`, x);
      if (!/^[A-Za-z0-9_.\-]+$/.test(s)) throw v.rangeError('a name of letters, digits, _ . -', `${name}.name`, s);
      return s;
    }),
    trainable: v.optional(o.trainable, true, (x) => v.boolean(`${name}.trainable`, x)),
  };
}

// ---- factories -------------------------------------------------------------------------------------
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

function defaultAlpha(act: ActivationName, alpha: unknown, name: string): number | undefined {
  if (act === 'leakyRelu') return v.optional(alpha, 0.2, (x) => v.finiteNumber(name, x));
  if (act === 'elu') return v.optional(alpha, 1, (x) => v.finiteNumber(name, x, { min: 0 }));
  if (alpha !== undefined) throw v.rangeError("no alpha (only for 'leakyRelu' and 'elu')", name, alpha);
  return undefined;
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

function norm(type: 'layerNormalization' | 'batchNormalization', opts: unknown): Layer {
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

/**
 * Layer normalisation over the features of each sample (Ba et al., 2016).
 * @example layerNormalization({epsilon: 1e-5})
 */
export function layerNormalization(opts: { epsilon?: number; center?: boolean; scale?: boolean; inputShape?: number[]; name?: string } = {}): Layer {
  return norm('layerNormalization', opts);
}

/**
 * Batch normalisation with moving statistics for inference (Ioffe & Szegedy, 2015; Keras
 * conventions: momentum 0.99, epsilon 1e-3).
 * @example batchNormalization({momentum: 0.9})
 */
export function batchNormalization(opts: { epsilon?: number; momentum?: number; center?: boolean; scale?: boolean; inputShape?: number[]; name?: string } = {}): Layer {
  return norm('batchNormalization', opts);
}

/** Element-wise sum of two or more inputs of equal width (residual connections). */
export function add(opts: { name?: string } = {}): Layer {
  const o = v.plainObject('add options', opts);
  v.knownKeys('add options', o, ['name']);
  return new Layer({ type: 'add', ...common('add', o) });
}

/** Concatenation of two or more inputs along the features (skip connections). */
export function concatenate(opts: { name?: string } = {}): Layer {
  const o = v.plainObject('concatenate options', opts);
  v.knownKeys('concatenate options', o, ['name']);
  return new Layer({ type: 'concatenate', ...common('concatenate', o) });
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

/** Rebuilds a layer from its config (model loading). @internal */
export function layerFromConfig(c: LayerConfig): Layer {
  return new Layer({ ...c } as LayerConfig);
}
