/**
 * The layer registry: one definition per layer type, each in its own file (dense.ts,
 * dropout.ts, ...), registered when that file loads. Graph lowering, weight initialisation,
 * summaries and model loading look definitions up here and never switch over layer types, so a
 * new layer is one new file.
 *
 * Each layer file also adds its config to LayerConfigMap by declaration merging
 * (`declare module './registry' { interface LayerConfigMap { dense: DenseConfig } }`), so
 * LayerConfig stays an exact union of the registered configs.
 */
import type { NativeNodeSpec } from '../native/engine';
import * as v from '../validate';
import type { Initializer } from './initializers';
import type { Layer } from './layer';

/** Layer type -> its config; each layer file adds its own entry. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface LayerConfigMap {}

export type LayerType = keyof LayerConfigMap;
/** The serialisable configuration of any registered layer. */
export type LayerConfig = LayerConfigMap[LayerType];

/** Fields every layer config has. */
export interface LayerConfigBase {
  type: string;
  name?: string;
  trainable: boolean;
}

/** A parameter a layer declares: stored as `<layer name>/<role>`. @internal */
export interface ParamSpec {
  /** kernel, bias, gamma, beta, moving_mean, moving_variance, alpha, ... */
  role: string;
  shape: number[];
  init: Initializer;
  /** Fans the initializer scales by (Keras's definitions). */
  fanIn: number;
  fanOut: number;
  /** False for statistics that training updates without gradients (batch-norm moving moments). */
  trainable: boolean;
}

/** What lowering a layer needs to know about its place in the graph. @internal */
export interface LowerContext {
  name: string;
  /** Native indices of the inputs. */
  inputs: number[];
  inputWidths: number[];
  width: number;
  /** Parameter group index (0: default). */
  group: number;
  trainable: boolean;
  /** Batch-norm statistics policy (Layer.statistics). */
  statistics: 'auto' | 'batch' | 'moving';
  /** Appends a native node and returns its index. */
  emit(spec: NativeNodeSpec): number;
}

/** An ONNX attribute value, typed as the ONNX AttributeProto needs it. @internal */
export type OnnxAttribute = { float: number } | { int: number } | { ints: number[] } | { string: string };

/** What lowering a layer to ONNX nodes needs (lib/io/onnx/export.ts implements it). @internal */
export interface OnnxLowerContext {
  name: string;
  /** The ONNX tensor names of the inputs ([batch, width] float tensors). */
  inputs: string[];
  inputWidths: number[];
  width: number;
  /** The layer's parameter `role` as an initializer (its current weights); returns its name. */
  param(role: string): string;
  /** A float constant initializer named after the layer and `suffix`; returns its name. */
  constant(suffix: string, values: number[], shape: number[]): string;
  /** Appends a node of the default domain; returns the name of its output. */
  node(opType: string, inputs: string[], attrs?: Record<string, OnnxAttribute>): string;
}

/** One layer type. Methods take the layer's own config. @internal */
export interface LayerDefinition<C extends LayerConfigBase = LayerConfigBase> {
  readonly type: C['type'];
  /** The Keras / TensorFlow.js layer class name. */
  readonly className: string;
  /** Inputs it takes: none (the model input), exactly one, or two and more (merges). */
  readonly arity: 0 | 1 | 'many';
  /** Features per sample of the output. @throws RangeError for inputs it cannot combine. */
  outputWidth(c: C, inputWidths: number[]): number;
  /** Parameters in arena order (the order initialisers draw from the model's random stream). */
  params(c: C, inputWidths: number[], width: number): ParamSpec[];
  /** Emits the native nodes; returns the index of the node that holds the output. */
  lower(c: C, ctx: LowerContext): number;
  /** The type column of Model.summary(). */
  label(c: C): string;
  /** The saved form of the config. */
  toJSON(c: C): Record<string, unknown>;
  /** Rebuilds (and so revalidates) a layer from its saved form, `type` and `trainable` removed. */
  fromJSON(json: Record<string, unknown>): Layer;
  /** Inference-mode ONNX lowering (opset 17); returns the output's tensor name. Absent: not exportable. */
  toOnnx?(c: C, ctx: OnnxLowerContext): string;
  /**
   * Keras / TensorFlow.js export: the class name and Keras config (name, trainable and the input
   * shape are added by the caller). Parameter roles are the Keras weight names (kernel, bias, gamma,
   * beta, moving_mean, moving_variance, alpha) in Keras's order. Absent: the layer cannot be exported.
   * @throws NodetrainError ERR_NT_UNSUPPORTED (through ctx.unsupported) for a config Keras cannot hold.
   */
  toKeras?(c: C, ctx: KerasContext): { className: string; config: Record<string, unknown> };
  /** Keras class names fromKeras reads (default: [className]). */
  readonly kerasClasses?: readonly string[];
  /**
   * Keras / TensorFlow.js import: a layer from a Keras config (name and trainable are set by the
   * caller). @throws NodetrainError ERR_NT_UNSUPPORTED (through ctx.unsupported) for an option it
   * cannot represent.
   */
  fromKeras?(config: Record<string, unknown>, ctx: KerasContext): Layer;
}

/** What a layer's Keras mapping needs from the importer / exporter. @internal */
export interface KerasContext {
  /** The layer's name. */
  layer: string;
  /** The Keras class name. */
  className: string;
  /** Throws ERR_NT_UNSUPPORTED naming the layer, its class and the option. */
  unsupported(option: string, expected: string, value: unknown): never;
}

const REGISTRY = new Map<string, LayerDefinition>();
const KERAS = new Map<string, LayerDefinition>();

/** Adds a layer type (each layer file calls it once). @internal */
export function registerLayer<C extends LayerConfigBase>(def: LayerDefinition<C>): void {
  if (REGISTRY.has(def.type)) throw new Error(`Layer type '${def.type}' is registered twice`);
  REGISTRY.set(def.type, def as unknown as LayerDefinition);
  if (def.fromKeras) for (const k of def.kerasClasses ?? [def.className]) KERAS.set(k, def as unknown as LayerDefinition);
}

/** The definition that imports a Keras class, if any. @internal */
export function kerasDefinition(className: string): LayerDefinition | undefined {
  return KERAS.get(className);
}

/** Keras classes the importer reads. @internal */
export function kerasClassNames(): string[] {
  return [...KERAS.keys()];
}

/** The definition of a layer type. @throws RangeError for an unknown type. @internal */
export function layerDefinition(type: unknown): LayerDefinition {
  const def = typeof type === 'string' ? REGISTRY.get(type) : undefined;
  if (!def) throw v.rangeError(`one of the layer types ${[...REGISTRY.keys()].map((t) => `'${t}'`).join(', ')}`, 'type', type);
  return def;
}

/** Registered definitions, in registration order. @internal */
export function layerDefinitions(): LayerDefinition[] {
  return [...REGISTRY.values()];
}

/** Defaults shared by most definitions. @internal */
export const sameWidth = (_c: unknown, inputWidths: number[]): number => inputWidths[0];
/** @internal */
export const noParams = (): ParamSpec[] => [];
/** @internal */
export const configJSON = (c: LayerConfigBase): Record<string, unknown> => ({ ...c });

/** Copies a saved config without its undefined fields and without the listed keys. @internal */
export function cleanJSON(json: Record<string, unknown>, drop: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(json)) if (x !== undefined && !drop.includes(k)) out[k] = x;
  return out;
}
