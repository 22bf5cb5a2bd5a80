/**
 * Layers: serialisable specs that a model compiles into native nodes. All activations are
 * [batch, features] matrices (dense networks). The API follows TensorFlow.js's layers API:
 * `dense({units, activation, inputShape})`, and a functional API where `layer.apply(x)` on a
 * symbolic tensor builds a graph (for residual and skip connections).
 */
import * as v from '../validate';
import { layerDefinition } from './registry';
import type { LayerConfig } from './registry';

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
  /** Frozen layers keep their weights during training; the next fit() rebuilds the plan for it. */
  trainable: boolean;
  /**
   * Batch normalisation only, the statistics while training (see Model.freeze): 'auto' follows
   * `trainable` (Keras: a frozen layer runs in inference mode), 'batch' normalises with and updates
   * batch statistics even when frozen, 'moving' keeps the moving statistics fixed.
   */
  statistics: 'auto' | 'batch' | 'moving' = 'auto';

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
   * @example const x = input({shape: [784]}); const h = dense({units: 32, activation: 'relu'}).apply(x);
   */
  apply(...inputs: SymbolicTensor[]): SymbolicTensor {
    const c = this.config;
    inputs.forEach((t, i) => {
      if (!(t instanceof SymbolicTensor)) throw v.typeError('a SymbolicTensor (from input() or layer.apply())', `inputs[${i}]`, t);
    });
    const def = layerDefinition(c.type);
    if (def.arity === 0) throw v.rangeError('a non-input layer', 'apply', v.described('an input layer'));
    if (def.arity === 'many' && inputs.length < 2) throw v.rangeError('at least 2 inputs', `${c.type} inputs`, inputs.length);
    if (def.arity === 1 && inputs.length !== 1) throw v.rangeError('exactly 1 input', `${c.type} inputs`, inputs.length);
    return new SymbolicTensor(this, inputs, def.outputWidth(c, inputs.map((t) => t.width)));
  }
}

/** Output width of a single-input layer given its input width. @internal */
export function outputWidth(c: LayerConfig, inWidth: number): number {
  return layerDefinition(c.type).outputWidth(c, [inWidth]);
}

/** Rebuilds a layer from its config (model loading). @internal */
export function layerFromConfig(c: LayerConfig): Layer {
  return new Layer({ ...c } as LayerConfig);
}

/** The saved form of a layer: its config with its current name and trainable flag. @internal */
export function layerToJSON(layer: Layer): Record<string, unknown> {
  const json = layerDefinition(layer.type).toJSON(layer.config);
  return { ...json, name: layer.name, trainable: layer.trainable };
}

/**
 * Rebuilds (and so revalidates) a layer from its saved form.
 * @throws RangeError / TypeError for an unknown type or an invalid config. @internal
 */
export function layerFromJSON(json: unknown): Layer {
  const o = v.plainObject('config', json);
  const { type, trainable, ...rest } = o;
  const layer = layerDefinition(type).fromJSON(rest);
  if (typeof trainable === 'boolean') layer.trainable = trainable;
  return layer;
}
