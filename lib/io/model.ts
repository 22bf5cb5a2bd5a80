/**
 * Saving and loading models: `model.json` (architecture, training configuration, seed) beside the
 * weights in safetensors and, optionally, the optimizer state. Crash safety: weights and optimizer
 * state go to new files with unique names first; `model.json`, which names them, is replaced
 * atomically last; only then are the files it named before deleted. A crash at any point leaves a
 * complete model (old or new). Loading validates everything against the architecture.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import { NodetrainError } from '../errors';
import type * as L from '../layers/layers';
import type { LayerConfig } from '../layers/layers';
import { layerFromJSON, layerToJSON } from '../layers/layer';
import { layerDefinition, layerDefinitions } from '../layers/registry';
import type { LossSpec } from '../losses';
import { Model } from '../model/model';
import type { Graph } from '../model/graph';
import type { OptimizerConfig } from '../optim/optimizers';
import { resolveOptimizer } from '../optim/optimizers';
import * as v from '../validate';
import { writeFileAtomic } from './atomic';
import { encodeSafetensors, loadSafetensors } from './safetensors';

export const MODEL_FORMAT = 'nodetrain-model';
export const MODEL_FORMAT_VERSION = 1;

interface ModelJson {
  format: string;
  version: number;
  seed: number;
  graph: { nodes: { config: LayerConfig; inputs: number[] }[]; output: number };
  training: { optimizer: OptimizerConfig; loss: LossSpec; metrics: string[] } | null;
  weights: string;
  optimizer: string | null;
  metadata: Record<string, unknown>;
}

export interface SaveOptions {
  /** Save the optimizer state too, so training can resume exactly (default true). */
  includeOptimizer?: boolean;
  /** JSON-serialisable extra data (e.g. a fitted standardizer), returned by loadModel. */
  metadata?: Record<string, unknown>;
}

function corrupt(file: string, what: string): NodetrainError {
  return new NodetrainError('ERR_NT_CORRUPT_FILE', `Invalid model file ${file}: ${what}`);
}

/**
 * Saves a model into a folder (created if needed).
 * @throws NodetrainError ERR_NT_BUSY while the model trains; the fs error when writing fails
 *   (an existing saved model in the folder is left intact).
 * @example await saveModel(model, './my-model');
 */
export async function saveModel(model: Model, dir: string, options: SaveOptions = {}): Promise<void> {
  if (!(model instanceof Model)) throw v.typeError('a Model', 'model', model);
  v.string('dir', dir);
  const o = v.plainObject('save options', options);
  v.knownKeys('save options', o, ['includeOptimizer', 'metadata']);
  const includeOptimizer = v.optional(o.includeOptimizer, true, (x) => v.boolean('includeOptimizer', x));
  const metadata = v.optional(o.metadata, {} as Record<string, unknown>, (x) => v.plainObject('metadata', x));
  // Take every snapshot synchronously first, so the saved files are one consistent state.
  const weights = model.getWeights();
  const cc = model.compileConfig;
  const state = includeOptimizer && cc && model.optimizerStep > 0 ? model.getOptimizerState() : null;
  const g = model.graph;
  await fs.promises.mkdir(dir, { recursive: true });
  const id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const weightsFile = `weights-${id}.safetensors`;
  const optFile = state ? `optimizer-${id}.safetensors` : null;
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [k, w] of Object.entries(weights)) tensors[k] = { dtype: 'F32', shape: w.shape, data: w.data };
  await writeFileAtomic(path.join(dir, weightsFile), encodeSafetensors(tensors, { format: MODEL_FORMAT }));
  if (state && optFile) {
    const st: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
    for (const k of ['m', 'v', 'vmax'] as const) st[k] = { dtype: 'F32', shape: [state[k].length], data: state[k] };
    if (state.hyperDir) st.hyperDir = { dtype: 'F32', shape: [state.hyperDir.length], data: state.hyperDir };
    const meta: Record<string, string> = { step: String(state.step), optimizer: cc!.optimizer.type };
    if (state.hyper) meta.hyper = JSON.stringify(Array.from(state.hyper));
    await writeFileAtomic(path.join(dir, optFile), encodeSafetensors(st, meta));
  }
  const json: ModelJson = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    seed: model.seed,
    graph: {
      nodes: g.nodes.map((n) => ({ config: layerToJSON(n.layer) as unknown as LayerConfig, inputs: n.inputs })),
      output: g.output,
    },
    training: cc ? { optimizer: cc.optimizer, loss: cc.loss, metrics: cc.metrics } : null,
    weights: weightsFile,
    optimizer: optFile,
    metadata,
  };
  const jsonPath = path.join(dir, 'model.json');
  let previous: string[] = [];
  try {
    const old = JSON.parse(await fs.promises.readFile(jsonPath, 'utf8')) as Partial<ModelJson>;
    previous = [old.weights, old.optimizer].filter((f): f is string => typeof f === 'string' && /^[\w.-]+\.safetensors$/.test(f));
  } catch {
    /* no previous model */
  }
  await writeFileAtomic(jsonPath, `${JSON.stringify(json, null, 2)}\n`);
  for (const f of previous) {
    if (f !== weightsFile && f !== optFile) await fs.promises.rm(path.join(dir, f), { force: true });
  }
}

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

/**
 * Loads a model saved by saveModel(): the architecture, the weights, the training configuration
 * (the model comes back compiled) and, when saved, the optimizer state.
 * @returns the model and the saved metadata
 * @throws NodetrainError ERR_NT_CORRUPT_FILE for a missing, truncated or tampered file, or weights
 *   that do not match the architecture; never a crash.
 * @example const {model} = await loadModel('./my-model');
 */
export async function loadModel(dir: string): Promise<{ model: Model; metadata: Record<string, unknown> }> {
  v.string('dir', dir);
  const file = path.join(dir, 'model.json');
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    throw new NodetrainError('ERR_NT_IO', `Cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  let j: ModelJson;
  try {
    j = JSON.parse(text) as ModelJson;
  } catch {
    throw corrupt(file, 'it is not valid JSON');
  }
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
  if (typeof j.weights !== 'string' || !/^[\w.-]+\.safetensors$/.test(j.weights)) throw corrupt(file, 'weights does not name a safetensors file in the folder');
  const expected = model.getWeights();
  const exp: Record<string, { dtype: 'F32'; shape: number[] }> = {};
  for (const [k, w] of Object.entries(expected)) exp[k] = { dtype: 'F32', shape: w.shape };
  const wf = await loadSafetensors(path.join(dir, j.weights), { expected: exp, strict: true });
  const weights: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, t] of Object.entries(wf.tensors)) weights[k] = { shape: t.shape, data: t.data as Float32Array };
  model.setWeights(weights);
  if (j.optimizer && j.training) {
    if (typeof j.optimizer !== 'string' || !/^[\w.-]+\.safetensors$/.test(j.optimizer)) throw corrupt(file, 'optimizer does not name a safetensors file');
    const of = await loadSafetensors(path.join(dir, j.optimizer));
    const step = Number(of.metadata.step);
    const get = (k: string): Float32Array => {
      const t = of.tensors[k];
      if (!t || t.dtype !== 'F32') throw corrupt(path.join(dir, j.optimizer!), `tensor ${k} is missing or not F32`);
      return t.data as Float32Array;
    };
    let hyper: Float64Array | undefined;
    if (of.metadata.hyper !== undefined) {
      try {
        const h = JSON.parse(of.metadata.hyper) as unknown;
        if (!Array.isArray(h) || h.length !== 3 || !h.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new Error('bad');
        hyper = Float64Array.from(h as number[]);
      } catch {
        throw corrupt(path.join(dir, j.optimizer), 'metadata.hyper is not three finite numbers');
      }
    }
    try {
      model.setOptimizerState({ step, m: get('m'), v: get('v'), vmax: get('vmax'), hyper, hyperDir: of.tensors.hyperDir ? get('hyperDir') : undefined });
    } catch (e) {
      throw corrupt(path.join(dir, j.optimizer), (e as Error).message);
    }
  }
  const metadata = typeof j.metadata === 'object' && j.metadata !== null ? j.metadata : {};
  return { model, metadata };
}
