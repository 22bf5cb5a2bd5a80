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
import { loadSafetensors } from './safetensors';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, corrupt } from './save';
import type { ModelJson } from './save';

export { saveModel, MODEL_FORMAT, MODEL_FORMAT_VERSION } from './save';
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
    throw new NodetrainError(ERR.IO, `Cannot read ${file}: ${(e as Error).message}`, { cause: e });
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
