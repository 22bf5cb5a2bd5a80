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
import { readRegularFile } from '../files';
import { graphParams } from '../model/graph';
import { checkExpected, checkExpectedTensors, decodeSafetensors, loadSafetensors, readSafetensorsHeader } from './safetensors';
import type { ExpectedTensor, SafetensorsTensor } from './safetensors';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, OPTIMIZER_PREFIX, corrupt } from './save';
import type { ModelJson } from './save';

export { saveModel, MODEL_FORMAT, MODEL_FORMAT_VERSION } from './save';
export type { SaveOptions } from './save';

/** Largest model.json read (a real one is a few kilobytes per layer). */
const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;

/**
 * The real path of `name` inside the model folder `realDir`: symbolic links are resolved and a
 * file that resolves outside the folder is refused (as names with `..` or absolute paths are).
 */
async function confined(realDir: string, dir: string, name: string, what: string): Promise<string> {
  const file = path.join(dir, name);
  let real: string;
  try {
    real = await fs.promises.realpath(file);
  } catch (e) {
    throw new NodetrainError(ERR.IO, `Cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  if (path.dirname(real) !== realDir) throw corrupt(file, `${what} resolves to ${real}, outside the model folder ${realDir}`);
  return real;
}

/** Reads a file of the model folder, mapping fs failures (ENOENT, EACCES, ...) to ERR_NT_IO. */
async function readModelFile(real: string, file: string, name: string): Promise<Buffer> {
  try {
    return await readRegularFile(real, name, MAX_MODEL_JSON_BYTES);
  } catch (e) {
    if (typeof (e as { code?: unknown }).code === 'string' && String((e as { code: string }).code).startsWith('ERR_NT_')) throw e;
    throw new NodetrainError(ERR.IO, `Cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** Every node must feed the output, and the output must be the last node (as saveModel writes). */
function checkGraphShape(file: string, nodes: Graph['nodes'], output: number): void {
  if (output !== nodes.length - 1) throw corrupt(file, `graph.output is ${output} but the last node is ${nodes.length - 1}`);
  if (layerDefinition(nodes[output].layer.type).arity === 0) throw corrupt(file, 'graph.output is the input node');
  const used = new Array<boolean>(nodes.length).fill(false);
  used[output] = true;
  for (let i = output; i >= 0; i--) if (used[i]) for (const k of nodes[i].inputs) used[k] = true;
  const unused = used.findIndex((u) => !u);
  if (unused >= 0) throw corrupt(file, `graph.nodes[${unused}] (${nodes[unused].layer.name}) does not feed graph.output`);
}

/** Rebuilds (and so validates) a layer from its saved config through the layer registry. */
function layerFrom(file: string, i: number, c: unknown): L.Layer {
  if (typeof c !== 'object' || c === null) throw corrupt(file, `graph.nodes[${i}].config is not an object`);
  // Own property only, compared against the registry (never looked up through Object.prototype).
  const type = Object.prototype.hasOwnProperty.call(c, 'type') ? (c as { type?: unknown }).type : undefined;
  if (typeof type !== 'string' || !layerDefinitions().some((d) => d.type === type)) {
    throw corrupt(file, `graph.nodes[${i}] has an unknown layer type ${JSON.stringify(type)}`);
  }
  try {
    return layerFromJSON(c);
  } catch (e) {
    throw corrupt(file, `graph.nodes[${i}]: ${(e as Error).message}`);
  }
}

/** Validates a model.json's architecture (format, layers, wiring) and returns its graph. */
function graphFromJson(file: string, j: ModelJson): Graph {
  if (typeof j !== 'object' || j === null || j.format !== MODEL_FORMAT) throw corrupt(file, `format is not '${MODEL_FORMAT}'`);
  if (j.version !== MODEL_FORMAT_VERSION) throw corrupt(file, `unsupported version ${JSON.stringify(j.version)} (this build reads ${MODEL_FORMAT_VERSION})`);
  if (!Number.isInteger(j.seed) || j.seed < 0) throw corrupt(file, 'seed is not a non-negative integer');
  const gj = j.graph;
  if (typeof gj !== 'object' || gj === null || !Array.isArray(gj.nodes) || gj.nodes.length < 2) throw corrupt(file, 'graph.nodes is missing');
  if (!Number.isInteger(gj.output) || gj.output < 0 || gj.output >= gj.nodes.length) throw corrupt(file, 'graph.output is out of range');
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
  checkGraphShape(file, nodes, gj.output);
  return { nodes, output: gj.output };
}

/** The parameters a graph declares (name -> F32 and shape) and their total count. */
function declaredParams(g: Graph): { exp: Record<string, ExpectedTensor>; declared: number } {
  const exp: Record<string, ExpectedTensor> = Object.create(null) as Record<string, ExpectedTensor>;
  let declared = 0;
  for (const p of graphParams(g)) {
    exp[p.name] = { dtype: 'F32', shape: p.shape };
    declared += p.shape.reduce((a, b) => a * b, 1);
  }
  return { exp, declared };
}

/** The model of a validated graph, compiled with the saved training configuration. */
function buildModel(file: string, j: ModelJson, g: Graph): Model {
  const model = new Model(g, j.seed);
  if (j.training) {
    try {
      model.compile({
        optimizer: resolveOptimizer(j.training.optimizer),
        loss: j.training.loss,
        metrics: j.training.metrics as never,
        ...(j.training.precision !== undefined ? { precision: j.training.precision } : {}),
      });
    } catch (e) {
      throw corrupt(file, `training configuration: ${(e as Error).message}`);
    }
  }
  return model;
}

function setWeightsFrom(model: Model, tensors: Record<string, SafetensorsTensor>): void {
  const weights: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, t] of Object.entries(tensors)) weights[k] = { shape: t.shape, data: t.data as Float32Array };
  model.setWeights(weights);
}

/** Restores the optimizer state from its tensors (m, v, vmax, hyperDir) and metadata (step, hyper). */
function setOptimizerFrom(file: string, model: Model, tensors: Record<string, SafetensorsTensor>, metadata: Record<string, string>): void {
  const step = Number(metadata.step);
  const get = (k: string): Float32Array => {
    const t = Object.prototype.hasOwnProperty.call(tensors, k) ? tensors[k] : undefined;
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
    model.setOptimizerState({ step, m: get('m'), v: get('v'), vmax: get('vmax'), hyper, hyperDir: Object.prototype.hasOwnProperty.call(tensors, 'hyperDir') ? get('hyperDir') : undefined });
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
 * Folder files must be regular files inside the folder (symbolic links are resolved and confined),
 * and the declared shapes are checked against the weights file's header before anything is built.
 * @returns the model and the saved metadata
 * @throws NodetrainError ERR_NT_CORRUPT_FILE for a missing, truncated or tampered file, or weights
 *   that do not match the architecture; never a crash.
 * @example const {model} = await loadModel('./my-model');
 */
export async function loadModel(source: ModelSource): Promise<{ model: Model; metadata: Record<string, unknown> }> {
  if (source instanceof Uint8Array) return loadModelBuffer(source);
  if (typeof source === 'object' && source !== null && Symbol.asyncIterator in source) return loadModelBuffer(await collect(source));
  const dir = v.string('dir', source);
  const file = path.join(dir, 'model.json');
  let realDir: string;
  try {
    realDir = await fs.promises.realpath(dir);
  } catch (e) {
    throw new NodetrainError(ERR.IO, `Cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  // Regular files inside the folder only: a named pipe or device is refused before it is read.
  const text = (await readModelFile(await confined(realDir, dir, 'model.json', 'model.json'), file, 'model.json')).toString('utf8');
  let j: ModelJson;
  try {
    j = JSON.parse(text) as ModelJson;
  } catch {
    throw corrupt(file, 'it is not valid JSON');
  }
  const g = graphFromJson(file, j);
  if (typeof j.weights !== 'string' || !/^[\w.-]+\.safetensors$/.test(j.weights)) throw corrupt(file, 'weights does not name a safetensors file in the folder');
  // What the graph declares, checked against the weights file's header (and so against the bytes
  // present) before anything of that size is allocated.
  const { exp, declared } = declaredParams(g);
  const weightsPath = await confined(realDir, dir, j.weights, 'weights');
  const header = await readSafetensorsHeader(weightsPath);
  if (declared * 4 > header.size) {
    throw corrupt(file, `the graph declares ${declared} parameters (${declared * 4} bytes) but ${j.weights} holds ${header.size} bytes`);
  }
  checkExpectedTensors(weightsPath, header.tensors, exp, true);
  let optimizerPath: string | null = null;
  if (j.optimizer && j.training) {
    if (typeof j.optimizer !== 'string' || !/^[\w.-]+\.safetensors$/.test(j.optimizer)) throw corrupt(file, 'optimizer does not name a safetensors file');
    optimizerPath = await confined(realDir, dir, j.optimizer, 'optimizer');
    const oh = await readSafetensorsHeader(optimizerPath);
    for (const [k, t] of Object.entries(oh.tensors)) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (t.shape.length !== 1 || n > declared) throw corrupt(optimizerPath, `tensor ${k} has shape [${t.shape.join(', ')}], more than the ${declared} parameters of the model`);
    }
  }
  const model = buildModel(file, j, g);
  const wf = await loadSafetensors(weightsPath, { expected: exp, strict: true });
  setWeightsFrom(model, wf.tensors);
  if (optimizerPath !== null) {
    const of = await loadSafetensors(optimizerPath);
    setOptimizerFrom(optimizerPath, model, of.tensors, of.metadata);
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
  const g = graphFromJson(file, j);
  const { exp, declared } = declaredParams(g);
  if (declared * 4 > bytes.length) throw corrupt(file, `the graph declares ${declared} parameters (${declared * 4} bytes) but the buffer holds ${bytes.length} bytes`);
  const weights: Record<string, SafetensorsTensor> = Object.create(null) as Record<string, SafetensorsTensor>;
  const opt: Record<string, SafetensorsTensor> = Object.create(null) as Record<string, SafetensorsTensor>;
  for (const [k, t] of Object.entries(f.tensors)) {
    if (k.startsWith(OPTIMIZER_PREFIX)) opt[k.slice(OPTIMIZER_PREFIX.length)] = t;
    else weights[k] = t;
  }
  // The same checks as the folder's weights file: every expected tensor, no other (ERR_NT_WEIGHTS_MISMATCH).
  checkExpected(file, weights, exp, true);
  const model = buildModel(file, j, g);
  setWeightsFrom(model, weights);
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
