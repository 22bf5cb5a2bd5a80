/**
 * Loading models saved by saveModel() (./save.ts): validates everything against the architecture
 * and rebuilds the layers through the layer registry.
 */
import * as fs from 'fs';
import * as path from 'path';

import { ERR, NodetrainError } from '../errors';
import { layerFromJSON } from '../layers/layer';
import type * as L from '../layers/layers';
import { layerDefinition, layerDefinitions } from '../layers/registry';
import { Model } from '../model/model';
import type { Graph } from '../model/graph';
import { resolveOptimizer } from '../optim/optimizers';
import * as v from '../validate';
import { checkExpected, decodeSafetensors, loadSafetensors } from './safetensors';
import type { SafetensorsTensor } from './safetensors';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, OPTIMIZER_PREFIX, corrupt } from './save';
import type { ModelJson } from './save';

export { saveModel, modelToBuffer, MODEL_FORMAT, MODEL_FORMAT_VERSION } from './save';
export type { SaveOptions } from './save';

/** Rebuilds (and so validates) a layer from its saved config through the layer registry. */
function layerFrom(file: string, i: number, c: unknown): L.Layer {
  if (typeof c !== 'object' || c === null) throw corrupt(file, `graph.nodes[${i}].config is not an object`);
  const type = (c as { type?: unknown }).type;
  if (typeof type !== 'string' || !layerDefinitions().some((d) => d.type === type)) {
    throw corrupt(file, `graph.nodes[${i}] has an unknown layer type ${JSON.stringify(type)}`);
  }
  try {
    return layerFromJSON(c);
  } catch (e) {
    throw corrupt(file, `graph.nodes[${i}]: ${(e as Error).message}`);
  }
}

/** Rebuilds and validates the architecture and training configuration of a saved model.json. */
function modelFromJson(file: string, j: ModelJson): Model {
  if (typeof j !== 'object' || j === null || j.format !== MODEL_FORMAT) throw corrupt(file, `format is not '${MODEL_FORMAT}'`);
  if (j.version !== MODEL_FORMAT_VERSION) throw corrupt(file, `unsupported version ${JSON.stringify(j.version)} (this build reads ${MODEL_FORMAT_VERSION})`);
  if (!Number.isInteger(j.seed) || j.seed < 0) throw corrupt(file, 'seed is not a non-negative integer');
  const gj = j.graph;
  if (typeof gj !== 'object' || gj === null || !Array.isArray(gj.nodes) || gj.nodes.length < 2) throw corrupt(file, 'graph.nodes is missing');
  const nodes: Graph['nodes'] = [];
  gj.nodes.forEach((n, i) => {
    if (typeof n !== 'object' || n === null || !Array.isArray(n.inputs)) throw corrupt(file, `graph.nodes[${i}] is malformed`);
    const layer = layerFrom(file, i, n.config);
    const inputs = n.inputs.map((k) => {
      if (!Number.isInteger(k) || k < 0 || k >= i) throw corrupt(file, `graph.nodes[${i}].inputs refers to ${JSON.stringify(k)}`);
      return k as number;
    });
    const def = layerDefinition(layer.type);
    const isInput = def.arity === 0;
    if (isInput !== (inputs.length === 0)) throw corrupt(file, `graph.nodes[${i}] has the wrong number of inputs`);
    if (def.arity === 1 && inputs.length !== 1) throw corrupt(file, `graph.nodes[${i}] takes one input`);
    if (def.arity === 'many' && inputs.length < 2) throw corrupt(file, `graph.nodes[${i}] merges fewer than two inputs`);
    let width: number;
    try {
      width = def.outputWidth(layer.config, inputs.map((k) => nodes[k].width));
    } catch (e) {
      throw corrupt(file, `graph.nodes[${i}]: ${(e as Error).message}`);
    }
    nodes.push({ layer, inputs, width });
  });
  if (nodes.filter((n) => layerDefinition(n.layer.type).arity === 0).length !== 1) throw corrupt(file, 'the graph needs exactly one input');
  if (!Number.isInteger(gj.output) || gj.output < 0 || gj.output >= nodes.length) throw corrupt(file, 'graph.output is out of range');
  const names = new Set<string>();
  for (const n of nodes) {
    if (!n.layer.name || names.has(n.layer.name)) throw corrupt(file, `layer names are missing or repeated (${n.layer.name})`);
    names.add(n.layer.name);
  }
  const model = new Model({ nodes, output: gj.output }, j.seed);
  if (j.training) {
    try {
      model.compile({ optimizer: resolveOptimizer(j.training.optimizer), loss: j.training.loss, metrics: j.training.metrics as never });
    } catch (e) {
      throw corrupt(file, `training configuration: ${(e as Error).message}`);
    }
  }
  return model;
}

/** The tensors the architecture expects, by name (dtype and shape). */
function expectedWeights(model: Model): Record<string, { dtype: 'F32'; shape: number[] }> {
  const exp: Record<string, { dtype: 'F32'; shape: number[] }> = {};
  for (const [k, w] of Object.entries(model.getWeights())) exp[k] = { dtype: 'F32', shape: w.shape };
  return exp;
}

function setWeightsFrom(model: Model, tensors: Record<string, SafetensorsTensor>, names: string[]): void {
  const weights: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const k of names) weights[k] = { shape: tensors[k].shape, data: tensors[k].data as Float32Array };
  model.setWeights(weights);
}

/** Restores the optimizer state from its tensors (m, v, vmax, hyperDir) and metadata (step, hyper). */
function setOptimizerFrom(file: string, model: Model, tensors: Record<string, SafetensorsTensor>, metadata: Record<string, string>): void {
  const step = Number(metadata.step);
  const get = (k: string): Float32Array => {
    const t = tensors[k];
    if (!t || t.dtype !== 'F32') throw corrupt(file, `tensor ${k} is missing or not F32`);
    return t.data as Float32Array;
  };
  let hyper: Float64Array | undefined;
  if (metadata.hyper !== undefined) {
    try {
      const h = JSON.parse(metadata.hyper) as unknown;
      if (!Array.isArray(h) || h.length !== 3 || !h.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new Error('bad');
      hyper = Float64Array.from(h as number[]);
    } catch {
      throw corrupt(file, 'metadata.hyper is not three finite numbers');
    }
  }
  try {
    model.setOptimizerState({ step, m: get('m'), v: get('v'), vmax: get('vmax'), hyper, hyperDir: tensors.hyperDir ? get('hyperDir') : undefined });
  } catch (e) {
    throw corrupt(file, (e as Error).message);
  }
}

/** A stream's bytes (a Node Readable or any async iterable of chunks). */
async function collect(stream: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  return Buffer.concat(parts);
}

/** What loadModel reads: a folder, the bytes of model.toBuffer(), or a stream of them. */
export type ModelSource = string | Uint8Array | AsyncIterable<Uint8Array | string>;

/**
 * Loads a model saved by saveModel() (a folder) or model.toBuffer() (bytes, or a stream of them, so
 * a server can keep models in S3, Redis or a database): the architecture, the weights, the
 * training configuration (the model comes back compiled) and, when saved, the optimizer state.
 * @returns the model and the saved metadata
 * @throws NodetrainError ERR_NT_CORRUPT_FILE for a missing, truncated or tampered file, or weights
 *   that do not match the architecture; never a crash.
 * @example const {model} = await loadModel('./my-model');
 * @example const {model} = await loadModel(await redis.getBuffer('model'));
 */
export async function loadModel(source: ModelSource): Promise<{ model: Model; metadata: Record<string, unknown> }> {
  if (source instanceof Uint8Array) return loadModelBuffer(source);
  if (typeof source === 'object' && source !== null && Symbol.asyncIterator in source) return loadModelBuffer(await collect(source));
  const dir = v.string('dir', source);
  const file = path.join(dir, 'model.json');
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    throw new NodetrainError(ERR.IO, `Cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  let j: ModelJson;
  try {
    j = JSON.parse(text) as ModelJson;
  } catch {
    throw corrupt(file, 'it is not valid JSON');
  }
  const model = modelFromJson(file, j);
  if (typeof j.weights !== 'string' || !/^[\w.-]+\.safetensors$/.test(j.weights)) throw corrupt(file, 'weights does not name a safetensors file in the folder');
  const exp = expectedWeights(model);
  const wf = await loadSafetensors(path.join(dir, j.weights), { expected: exp, strict: true });
  setWeightsFrom(model, wf.tensors, Object.keys(exp));
  if (j.optimizer && j.training) {
    if (typeof j.optimizer !== 'string' || !/^[\w.-]+\.safetensors$/.test(j.optimizer)) throw corrupt(file, 'optimizer does not name a safetensors file');
    const of = await loadSafetensors(path.join(dir, j.optimizer));
    setOptimizerFrom(path.join(dir, j.optimizer), model, of.tensors, of.metadata);
  }
  const metadata = typeof j.metadata === 'object' && j.metadata !== null ? j.metadata : {};
  return { model, metadata };
}

/**
 * One self-contained safetensors file (model.toBuffer()): the weights under their names, the
 * optimizer state under `optimizer/<m|v|vmax|hyperDir>`, and in `__metadata__` the format, the
 * model.json of the folder form (`model`) and the optimizer's step and hypergradient state.
 * Validated as the folder form is.
 */
function loadModelBuffer(bytes: Uint8Array): { model: Model; metadata: Record<string, unknown> } {
  const file = 'the model buffer';
  const f = decodeSafetensors(bytes, { file });
  if (f.metadata.format !== MODEL_FORMAT || typeof f.metadata.model !== 'string') throw corrupt(file, `__metadata__ does not hold a '${MODEL_FORMAT}' model`);
  let j: ModelJson;
  try {
    j = JSON.parse(f.metadata.model) as ModelJson;
  } catch {
    throw corrupt(file, '__metadata__.model is not valid JSON');
  }
  const model = modelFromJson(file, j);
  const exp = expectedWeights(model);
  const weights: Record<string, SafetensorsTensor> = {};
  const opt: Record<string, SafetensorsTensor> = {};
  for (const [k, t] of Object.entries(f.tensors)) {
    if (k.startsWith(OPTIMIZER_PREFIX)) opt[k.slice(OPTIMIZER_PREFIX.length)] = t;
    else weights[k] = t;
  }
  // The same checks as the folder's weights file: every expected tensor, no other (ERR_NT_WEIGHTS_MISMATCH).
  checkExpected(file, weights, exp, true);
  setWeightsFrom(model, weights, Object.keys(exp));
  if (Object.keys(opt).length > 0) {
    if (!j.training) throw corrupt(file, 'it holds an optimizer state but no training configuration');
    const meta: Record<string, string> = {};
    if (f.metadata.optimizer_step !== undefined) meta.step = f.metadata.optimizer_step;
    if (f.metadata.optimizer_hyper !== undefined) meta.hyper = f.metadata.optimizer_hyper;
    setOptimizerFrom(file, model, opt, meta);
  }
  const metadata = typeof j.metadata === 'object' && j.metadata !== null ? j.metadata : {};
  return { model, metadata };
}
