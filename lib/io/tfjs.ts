/**
 * TensorFlow.js layers-model import and export. The format (tfjs-core src/io/types.ts,
 * tfjs-layers src/models.ts): `model.json` holds `modelTopology` (a Keras model config, optionally
 * wrapped as `{model_config, training_config}`) and `weightsManifest`, a list of groups; each
 * group's binary shards are concatenated and hold its weights one after another, each
 * `size * bytesPerValue` bytes, little-endian. Quantised weights are dequantised with tfjs's rule
 * (tfjs-core src/io/io_utils.ts decodeWeight): uint8/uint16 `v * scale + min` computed in double
 * and stored as float32; float16 by its IEEE half-precision value.
 *
 * Layers map to and from Keras through their registry definitions (toKeras / fromKeras in
 * lib/layers/*.ts), so this file never switches over layer types. Every length is checked before
 * any read; shard paths that leave the model's folder, also through a symbolic link, are refused.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import { ERR, NodetrainError } from '../errors';
import { Layer } from '../layers/layers';
import { kerasClassNames, kerasDefinition, layerDefinition } from '../layers/registry';
import type { KerasContext } from '../layers/registry';
import { graphParams } from '../model/graph';
import type { Graph, GraphNode } from '../model/graph';
import { isModel } from '../model/internals';
import { Model } from '../model/model';
import type { NamedWeights } from '../model/weights';
import * as v from '../validate';
import { writeFileAtomic } from './atomic';
import { float16ToFloat32 } from './safetensors';

/** Bytes of one stored value per dtype of the manifest (tfjs DTYPE_VALUE_SIZE_MAP). */
const VALUE_BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2, bool: 1 };
/** Shard size TensorFlow.js writes (4 MiB). */
const SHARD_BYTES = 4 * 1024 * 1024;

function corrupt(file: string, what: string): NodetrainError {
  return new NodetrainError(ERR.CORRUPT_FILE, `Invalid TensorFlow.js model ${file}: ${what}`);
}

function render(x: unknown): string {
  if (x === undefined) return 'undefined';
  try {
    const s = JSON.stringify(x);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(x);
  }
}

function kerasContext(layer: string, className: string): KerasContext {
  return {
    layer,
    className,
    unsupported(option: string, expected: string, value: unknown): never {
      throw new NodetrainError(ERR.UNSUPPORTED, `Expected ${expected} for option '${option}' of layer '${layer}' (${className}) but received ${render(value)}`);
    },
  };
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A layer from a Keras layer entry {class_name, config}. */
function layerFromKeras(file: string, where: string, entry: unknown, fallbackName?: string): Layer {
  if (!isObject(entry) || typeof entry.class_name !== 'string') throw corrupt(file, `${where} has no class_name`);
  const cfg = isObject(entry.config) ? entry.config : {};
  const className = entry.class_name;
  const name = typeof cfg.name === 'string' ? cfg.name : typeof entry.name === 'string' ? entry.name : fallbackName;
  if (typeof name !== 'string') throw corrupt(file, `${where} (${className}) has no name`);
  const ctx = kerasContext(name, className);
  const def = kerasDefinition(className);
  if (!def || !def.fromKeras) {
    throw new NodetrainError(ERR.UNSUPPORTED, `Expected one of the layer classes ${kerasClassNames().join(', ')} for layer '${name}' but received class ${render(className)}`);
  }
  let layer: Layer;
  try {
    layer = def.fromKeras(cfg, ctx);
  } catch (e) {
    if (e instanceof NodetrainError) throw e;
    throw new NodetrainError(ERR.UNSUPPORTED, `Layer '${name}' (${className}): ${(e as Error).message}`, { cause: e });
  }
  if (!/^[A-Za-z0-9_.\-]+$/.test(name)) ctx.unsupported('name', 'a name of letters, digits, _ . -', name);
  layer.name = name;
  if (cfg.trainable === false) layer.trainable = false;
  return layer;
}

/** The graph of a Keras Sequential config. */
function sequentialFromKeras(file: string, config: unknown): Graph {
  const list = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(list) || list.length === 0) throw corrupt(file, 'the Sequential model has no layers');
  const layers = list.map((e, i) => layerFromKeras(file, `layers[${i}]`, e));
  let input: Layer;
  let rest = layers;
  if (layers[0].type === 'input') {
    input = layers[0];
    rest = layers.slice(1);
  } else {
    const shape = (layers[0].config as { inputShape?: number[] }).inputShape;
    if (!shape) throw corrupt(file, `the first layer '${layers[0].name}' declares no batch_input_shape`);
    const used = new Set(layers.map((l) => l.name));
    let name = 'input';
    for (let k = 1; used.has(name); k++) name = `input_${k}`;
    input = new Layer({ type: 'input', name, shape, trainable: true });
  }
  if (rest.length === 0) throw corrupt(file, 'the Sequential model has only an input');
  const nodes: GraphNode[] = [{ layer: input, inputs: [], width: (input.config as { shape: number[] }).shape[0] }];
  for (const l of rest) {
    const def = layerDefinition(l.type);
    if (def.arity !== 1) throw corrupt(file, `layer '${l.name}' (${def.className}) cannot be in a Sequential model`);
    nodes.push({ layer: l, inputs: [nodes.length - 1], width: 0 });
  }
  return { nodes, output: nodes.length - 1 };
}

/** One [layerName, nodeIndex, tensorIndex, kwargs?] reference of a functional config. */
function tensorRef(file: string, where: string, r: unknown, ctxName: string): string {
  if (!Array.isArray(r) || typeof r[0] !== 'string') throw corrupt(file, `${where} is not a [layer, node, tensor] reference`);
  if ((r[1] !== undefined && r[1] !== 0) || (r[2] !== undefined && r[2] !== 0)) {
    throw new NodetrainError(ERR.UNSUPPORTED, `Expected node and tensor index 0 (a layer applied once, one output) for ${where} of layer '${ctxName}' but received ${render(r)}`);
  }
  if (r[3] !== undefined && !(isObject(r[3]) && Object.keys(r[3]).length === 0)) {
    throw new NodetrainError(ERR.UNSUPPORTED, `Expected no call arguments for ${where} of layer '${ctxName}' but received ${render(r[3])}`);
  }
  return r[0];
}

/** The graph of a Keras functional (Model / Functional) config. */
function functionalFromKeras(file: string, config: unknown): Graph {
  if (!isObject(config) || !Array.isArray(config.layers)) throw corrupt(file, 'the functional model has no layers');
  const entries = config.layers;
  const byName = new Map<string, { layer: Layer; inbound: string[] }>();
  entries.forEach((e, i) => {
    const layer = layerFromKeras(file, `layers[${i}]`, e);
    if (byName.has(layer.name!)) throw corrupt(file, `the layer name '${layer.name}' appears twice`);
    const inbound = (e as { inbound_nodes?: unknown }).inbound_nodes;
    if (!Array.isArray(inbound)) throw corrupt(file, `layer '${layer.name}' has no inbound_nodes`);
    if (inbound.length > 1) {
      throw new NodetrainError(ERR.UNSUPPORTED, `Expected a layer applied at most once for layer '${layer.name}' but received ${inbound.length} calls (shared layers)`);
    }
    let refs: string[] = [];
    if (inbound.length === 1) {
      if (!Array.isArray(inbound[0])) {
        throw new NodetrainError(ERR.UNSUPPORTED, `Expected TensorFlow.js inbound_nodes ([[layer, node, tensor, {}], ...]) for layer '${layer.name}' but received ${render(inbound[0])}`);
      }
      refs = (inbound[0] as unknown[]).map((r, j) => tensorRef(file, `inbound_nodes[0][${j}]`, r, layer.name!));
    }
    byName.set(layer.name!, { layer, inbound: refs });
  });
  const ends = (key: string): string => {
    const list = config[key];
    if (!Array.isArray(list) || list.length === 0) throw corrupt(file, `${key} is missing`);
    if (list.length !== 1) throw new NodetrainError(ERR.UNSUPPORTED, `Expected one entry for ${key} of the model but received ${list.length}`);
    const n = tensorRef(file, `${key}[0]`, list[0], 'model');
    if (!byName.has(n)) throw corrupt(file, `${key} names the unknown layer '${n}'`);
    return n;
  };
  const inName = ends('input_layers');
  const outName = ends('output_layers');
  if (byName.get(inName)!.layer.type !== 'input') throw corrupt(file, `the input layer '${inName}' is not an InputLayer`);
  // Topological order from the output (depth-first), as functionalGraph does.
  const order: string[] = [];
  const state = new Map<string, 1 | 2>();
  const visit = (n: string, from: string): void => {
    const e = byName.get(n);
    if (!e) throw corrupt(file, `layer '${from}' takes the unknown layer '${n}'`);
    if (state.get(n) === 2) return;
    if (state.get(n) === 1) throw corrupt(file, `the graph has a cycle through '${n}'`);
    state.set(n, 1);
    for (const r of e.inbound) visit(r, n);
    state.set(n, 2);
    order.push(n);
  };
  visit(outName, 'model');
  const inputs = order.filter((n) => byName.get(n)!.layer.type === 'input');
  if (inputs.length !== 1 || inputs[0] !== inName) throw new NodetrainError(ERR.UNSUPPORTED, `Expected one model input ('${inName}') but received the inputs ${render(inputs)}`);
  const index = new Map(order.map((n, i) => [n, i]));
  const nodes: GraphNode[] = order.map((n) => ({ layer: byName.get(n)!.layer, inputs: byName.get(n)!.inbound.map((r) => index.get(r)!), width: 0 }));
  return { nodes, output: index.get(outName)! };
}

/** Checks arities and computes the widths (a topology that does not fit together is corrupt). */
function checkGraph(file: string, g: Graph): void {
  for (const n of g.nodes) {
    const def = layerDefinition(n.layer.type);
    const k = n.inputs.length;
    if ((def.arity === 0 && k !== 0) || (def.arity === 1 && k !== 1) || (def.arity === 'many' && k < 2)) {
      throw corrupt(file, `layer '${n.layer.name}' (${def.className}) has ${k} inputs`);
    }
    if (def.arity === 0) {
      n.width = def.outputWidth(n.layer.config, []);
      continue;
    }
    try {
      n.width = def.outputWidth(n.layer.config, n.inputs.map((i) => g.nodes[i].width));
    } catch (e) {
      throw corrupt(file, `layer '${n.layer.name}': ${(e as Error).message}`);
    }
  }
}

/** The file a manifest path names, refused when it leaves the folder (also through a link). */
async function shardPath(file: string, folder: string, realFolder: string, p: unknown, where: string): Promise<string> {
  if (typeof p !== 'string' || p.length === 0 || p.includes('\0')) throw corrupt(file, `${where} is not a file name`);
  const resolved = path.resolve(folder, p);
  const rel = path.relative(folder, resolved);
  if (path.isAbsolute(p) || rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw corrupt(file, `${where} ${render(p)} leaves the model's folder`);
  let real: string;
  try {
    real = await fs.promises.realpath(resolved);
  } catch {
    throw corrupt(file, `the shard ${render(p)} (${where}) is missing`);
  }
  const realRel = path.relative(realFolder, real);
  if (realRel === '' || realRel.startsWith('..') || path.isAbsolute(realRel)) throw corrupt(file, `${where} ${render(p)} is a link that leaves the model's folder`);
  const st = await fs.promises.stat(real);
  if (!st.isFile()) throw corrupt(file, `${where} ${render(p)} is not a file`);
  return real;
}

/** One manifest entry's dequantised values (tfjs's decodeWeight rule). */
function decodeWeight(file: string, spec: Record<string, unknown>, bytes: Uint8Array, where: string): Float32Array {
  const n = bytes.length;
  const q = spec.quantization as Record<string, unknown> | undefined;
  if (q === undefined) {
    const out = new Float32Array(n / 4);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  if (q.dtype === 'float16') {
    const h = new Uint16Array(n / 2);
    new Uint8Array(h.buffer).set(bytes);
    return float16ToFloat32(h);
  }
  const scale = q.scale;
  const min = q.min;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || typeof min !== 'number' || !Number.isFinite(min)) {
    throw corrupt(file, `${where} (${String(spec.name)}) is quantised to ${String(q.dtype)} without a finite scale and min`);
  }
  const vals = q.dtype === 'uint8' ? bytes : new Uint16Array(n / 2);
  if (q.dtype === 'uint16') new Uint8Array((vals as Uint16Array).buffer).set(bytes);
  const out = new Float32Array(vals.length);
  for (let i = 0; i < vals.length; i++) out[i] = vals[i] * scale + min;
  return out;
}

/** Reads every group of the manifest: weight name -> shape and float32 values. */
async function readManifest(file: string, manifest: unknown): Promise<NamedWeights> {
  if (!Array.isArray(manifest)) throw corrupt(file, 'weightsManifest is not a list of groups');
  const folder = path.dirname(path.resolve(file));
  const realFolder = await fs.promises.realpath(folder);
  const out: NamedWeights = {};
  for (let g = 0; g < manifest.length; g++) {
    const group = manifest[g];
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) throw corrupt(file, `weightsManifest[${g}] lacks paths or weights`);
    const chunks: Buffer[] = [];
    for (let s = 0; s < group.paths.length; s++) {
      const where = `weightsManifest[${g}].paths[${s}]`;
      const real = await shardPath(file, folder, realFolder, group.paths[s], where);
      chunks.push(await fs.promises.readFile(real));
    }
    const data = Buffer.concat(chunks);
    let offset = 0;
    for (let w = 0; w < group.weights.length; w++) {
      const where = `weightsManifest[${g}].weights[${w}]`;
      const spec = group.weights[w];
      if (!isObject(spec) || typeof spec.name !== 'string' || !Array.isArray(spec.shape)) throw corrupt(file, `${where} lacks a name or shape`);
      const shape = spec.shape as unknown[];
      if (!shape.every((d) => Number.isInteger(d) && (d as number) >= 0 && (d as number) <= 2 ** 31)) throw corrupt(file, `${where} (${spec.name}) has the shape ${render(shape)}`);
      const size = (shape as number[]).reduce((a, b) => a * b, 1);
      if (!Number.isSafeInteger(size)) throw corrupt(file, `${where} (${spec.name}) is too large`);
      const dtype = spec.dtype ?? 'float32';
      if (dtype !== 'float32') {
        throw new NodetrainError(ERR.UNSUPPORTED, `Expected dtype 'float32' for weight '${spec.name}' but received ${render(dtype)}`);
      }
      const q = spec.quantization;
      if (q !== undefined && (!isObject(q) || !['uint8', 'uint16', 'float16'].includes(q.dtype as string))) {
        throw new NodetrainError(ERR.UNSUPPORTED, `Expected quantization dtype 'uint8', 'uint16' or 'float16' for weight '${spec.name}' but received ${render(isObject(q) ? q.dtype : q)}`);
      }
      const bytes = size * VALUE_BYTES[isObject(q) ? (q.dtype as string) : 'float32'];
      if (offset + bytes > data.length) {
        throw corrupt(file, `the shards of group ${g} hold ${data.length} bytes but weight '${spec.name}' needs bytes ${offset} to ${offset + bytes} (a missing or short shard)`);
      }
      if (spec.name in out) throw corrupt(file, `the weight '${spec.name}' appears twice in the manifest`);
      out[spec.name] = { shape: shape as number[], data: decodeWeight(file, spec, data.subarray(offset, offset + bytes), where) };
      offset += bytes;
    }
    if (offset !== data.length) throw corrupt(file, `the shards of group ${g} hold ${data.length} bytes but its weights take ${offset}`);
  }
  return out;
}

/**
 * Loads a TensorFlow.js layers-model (`model.json` and its weight shards, as written by tfjs's
 * `model.save('file://...')`, `tensorflowjs_converter --output_format tfjs_layers_model` or
 * exportTfjs). Reads Sequential and functional models of the layers nodetrain has (InputLayer,
 * Dense, Activation / LeakyReLU / ELU / ReLU / Softmax, Dropout, BatchNormalization,
 * LayerNormalization, Add, Concatenate, Flatten of rank-2 inputs, PReLU), float32 weights and
 * uint8 / uint16 / float16 quantised ones. The model comes back uncompiled, with the layers'
 * names and trainable flags.
 * @param file the model.json file, or the folder holding it
 * @throws NodetrainError ERR_NT_UNSUPPORTED for a layer class or option nodetrain cannot represent
 *   (the message names the layer, its class and the option); ERR_NT_CORRUPT_FILE for malformed
 *   JSON, a manifest that disagrees with the topology, a missing or short shard, or a shard path
 *   that leaves the folder; ERR_NT_IO when model.json cannot be read.
 * @example const model = await loadTfjsModel('./tfjs-model/model.json');
 */
export async function loadTfjsModel(file: string): Promise<Model> {
  v.string('file', file);
  let target = file;
  try {
    if ((await fs.promises.stat(file)).isDirectory()) target = path.join(file, 'model.json');
  } catch {
    /* reported by the read below */
  }
  let text: string;
  try {
    text = await fs.promises.readFile(target, 'utf8');
  } catch (e) {
    throw new NodetrainError(ERR.IO, `Cannot read ${target}: ${(e as Error).message}`, { cause: e });
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw corrupt(target, 'it is not valid JSON');
  }
  if (!isObject(j)) throw corrupt(target, 'it is not a JSON object');
  if (j.format !== undefined && j.format !== 'layers-model') {
    throw new NodetrainError(ERR.UNSUPPORTED, `Expected the format 'layers-model' for ${target} but received ${render(j.format)}`);
  }
  let topo = j.modelTopology;
  if (isObject(topo) && isObject(topo.model_config)) topo = topo.model_config;
  if (!isObject(topo) || typeof topo.class_name !== 'string') throw corrupt(target, 'modelTopology has no class_name');
  let graph: Graph;
  if (topo.class_name === 'Sequential') graph = sequentialFromKeras(target, topo.config);
  else if (topo.class_name === 'Model' || topo.class_name === 'Functional') graph = functionalFromKeras(target, topo.config);
  else throw new NodetrainError(ERR.UNSUPPORTED, `Expected the model class Sequential, Model or Functional for ${target} but received ${render(topo.class_name)}`);
  checkGraph(target, graph);
  const model = new Model(graph, 1);
  const stored = await readManifest(target, j.weightsManifest);
  const expected = graphParams(graph);
  const weights: NamedWeights = {};
  for (const p of expected) {
    const w = stored[p.name];
    if (!w) throw corrupt(target, `the manifest has no weight '${p.name}' that layer '${p.layer}' needs`);
    if (w.shape.join(',') !== p.shape.join(',')) throw corrupt(target, `the weight '${p.name}' has shape [${w.shape.join(', ')}] but the topology needs [${p.shape.join(', ')}]`);
    for (let i = 0; i < w.data.length; i++) {
      if (!Number.isFinite(w.data[i])) throw corrupt(target, `the weight '${p.name}' holds a non-finite value at ${i}`);
    }
    weights[p.name] = w;
  }
  const extra = Object.keys(stored).filter((k) => !(k in weights));
  if (extra.length) throw corrupt(target, `the manifest holds weights the topology does not use: ${extra.slice(0, 5).join(', ')}`);
  model.setWeights(weights);
  return model;
}

/** The Keras functional config of a model's graph. */
function topologyOf(model: Model): Record<string, unknown> {
  const g = model.graph;
  const layers = g.nodes.map((n) => {
    const name = n.layer.name!;
    const def = layerDefinition(n.layer.type);
    const ctx = kerasContext(name, def.className);
    if (!def.toKeras) throw new NodetrainError(ERR.UNSUPPORTED, `Expected a layer TensorFlow.js has for layer '${name}' but received the type '${n.layer.type}'`);
    const k = def.toKeras(n.layer.config, ctx);
    const config = def.arity === 0 ? { ...k.config, name } : { ...k.config, name, trainable: n.layer.trainable };
    return {
      name,
      class_name: k.className,
      config,
      inbound_nodes: n.inputs.length ? [n.inputs.map((i) => [g.nodes[i].layer.name!, 0, 0, {}])] : [],
    };
  });
  const input = g.nodes.find((n) => n.layer.type === 'input')!;
  return {
    class_name: 'Model',
    config: { name: 'model', layers, input_layers: [[input.layer.name!, 0, 0]], output_layers: [[g.nodes[g.output].layer.name!, 0, 0]] },
    backend: 'tensor_flow.js',
  };
}

/**
 * Writes a model as a TensorFlow.js layers-model into `dir` (created if needed): `model.json` and
 * float32 weight shards of at most 4 MiB, which `tf.loadLayersModel('file://dir/model.json')`
 * loads. Crash-safe like save(): the shards get new unique names first, model.json is replaced
 * atomically last, then the shards it named before are deleted; other files are left alone.
 * @throws NodetrainError ERR_NT_UNSUPPORTED for a layer TensorFlow.js cannot express (a dense
 *   layer with a leakyRelu activation: use a separate activation layer); the fs error on write.
 * @example await exportTfjs(model, './tfjs-model');
 */
export async function exportTfjs(model: Model, dir: string): Promise<void> {
  if (!isModel(model)) throw v.typeError('a Model', 'model', model);
  v.string('dir', dir);
  const topology = topologyOf(model);
  const weights = model.getWeights();
  const specs = graphParams(model.graph).map((p) => ({ name: p.name, shape: p.shape, dtype: 'float32' }));
  const total = specs.reduce((s, p) => s + weights[p.name].data.length * 4, 0);
  const bytes = new Uint8Array(total);
  let off = 0;
  for (const p of specs) {
    const d = weights[p.name].data;
    bytes.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), off);
    off += d.byteLength;
  }
  await fs.promises.mkdir(dir, { recursive: true });
  const id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const shards = Math.max(1, Math.ceil(total / SHARD_BYTES));
  const paths: string[] = [];
  for (let s = 0; s < shards; s++) {
    const name = `group1-shard${s + 1}of${shards}-${id}.bin`;
    await writeFileAtomic(path.join(dir, name), bytes.subarray(s * SHARD_BYTES, Math.min(total, (s + 1) * SHARD_BYTES)));
    paths.push(name);
  }
  const json = {
    format: 'layers-model',
    generatedBy: 'nodetrain',
    convertedBy: null,
    modelTopology: topology,
    weightsManifest: [{ paths, weights: specs }],
  };
  const jsonPath = path.join(dir, 'model.json');
  let previous: string[] = [];
  try {
    const old = JSON.parse(await fs.promises.readFile(jsonPath, 'utf8')) as { weightsManifest?: { paths?: unknown[] }[] };
    for (const g of old.weightsManifest ?? []) {
      for (const p of g.paths ?? []) if (typeof p === 'string' && /^[\w.-]+\.bin$/.test(p) && !paths.includes(p)) previous.push(p);
    }
  } catch {
    previous = [];
  }
  await writeFileAtomic(jsonPath, `${JSON.stringify(json)}\n`);
  for (const f of previous) await fs.promises.rm(path.join(dir, f), { force: true });
}
