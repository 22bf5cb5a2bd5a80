/**
 * Saving a model: `model.json` (architecture, training configuration, seed) beside the weights in
 * safetensors and, optionally, the optimizer state. Crash safety: weights and optimizer state go
 * to new files with unique names first; `model.json`, which names them, is replaced atomically
 * last; only then are the files it named before deleted. A crash at any point leaves a complete
 * model (old or new). Loading is in ./model.ts.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import { ERR, NodetrainError } from '../errors';
import type { LayerConfig } from '../layers/layers';
import { layerToJSON } from '../layers/layer';
import type { LossSpec } from '../losses';
import { internalsOf, isModel } from '../model/internals';
import type { Model } from '../model/model';
import type { OptimizerConfig } from '../optim/optimizers';
import * as v from '../validate';
import { writeFileAtomic } from './atomic';
import { encodeSafetensors } from './safetensors';

export const MODEL_FORMAT = 'nodetrain-model';
export const MODEL_FORMAT_VERSION = 1;
/** Name prefix of the optimizer-state tensors in model.toBuffer()'s single file. @internal */
export const OPTIMIZER_PREFIX = 'optimizer/';

/** The saved form of model.json. @internal */
export interface ModelJson {
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

/** @internal */
export function corrupt(file: string, what: string): NodetrainError {
  return new NodetrainError(ERR.CORRUPT_FILE, `Invalid model file ${file}: ${what}`);
}

/**
 * Saves a model into a folder (created if needed).
 * Queues behind a running fit or trainOnBatch (see Model).
 * @throws the fs error when writing fails
 *   (an existing saved model in the folder is left intact).
 * @example await saveModel(model, './my-model');
 */
export async function saveModel(model: Model, dir: string, options: SaveOptions = {}): Promise<void> {
  if (!isModel(model)) throw v.typeError('a Model', 'model', model);
  v.string('dir', dir);
  const o = v.plainObject('save options', options);
  v.knownKeys('save options', o, ['includeOptimizer', 'metadata']);
  const includeOptimizer = v.optional(o.includeOptimizer, true, (x) => v.boolean('includeOptimizer', x));
  const metadata = v.optional(o.metadata, {} as Record<string, unknown>, (x) => v.plainObject('metadata', x));
  // Saving reads the optimizer state, which a running fit owns: it queues behind fit/trainOnBatch.
  return internalsOf(model).exclusive(() => writeModel(model, dir, includeOptimizer, metadata));
}

async function writeModel(model: Model, dir: string, includeOptimizer: boolean, metadata: Record<string, unknown>): Promise<void> {
  // Take every snapshot synchronously first, so the saved files are one consistent state.
  const weights = model.getWeights();
  const cc = model.compileConfig;
  const state = includeOptimizer && cc && model.optimizerStep > 0 ? model.getOptimizerState() : null;
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
  const json = modelJson(model, weightsFile, optFile, metadata);
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


function modelJson(model: Model, weights: string, optimizer: string | null, metadata: Record<string, unknown>): ModelJson {
  const g = model.graph;
  const cc = model.compileConfig;
  return {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    seed: model.seed,
    graph: {
      nodes: g.nodes.map((n) => ({ config: layerToJSON(n.layer) as unknown as LayerConfig, inputs: n.inputs })),
      output: g.output,
    },
    training: cc ? { optimizer: cc.optimizer, loss: cc.loss, metrics: cc.metrics } : null,
    weights,
    optimizer,
    metadata,
  };
}

/**
 * The model as one self-contained safetensors file (see Model.toBuffer; loadModel reads it back).
 * Queues behind a running fit or trainOnBatch.
 */
export async function modelToBuffer(model: Model, options: SaveOptions = {}): Promise<Buffer> {
  if (!isModel(model)) throw v.typeError('a Model', 'model', model);
  const o = v.plainObject('toBuffer options', options);
  v.knownKeys('toBuffer options', o, ['includeOptimizer', 'metadata']);
  const includeOptimizer = v.optional(o.includeOptimizer, true, (x) => v.boolean('includeOptimizer', x));
  const metadata = v.optional(o.metadata, {} as Record<string, unknown>, (x) => v.plainObject('metadata', x));
  return internalsOf(model).exclusive(async () => {
    const weights = model.getWeights();
    const cc = model.compileConfig;
    const state = includeOptimizer && cc && model.optimizerStep > 0 ? model.getOptimizerState() : null;
    const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
    for (const [k, w] of Object.entries(weights)) tensors[k] = { dtype: 'F32', shape: w.shape, data: w.data };
    const meta: Record<string, string> = { format: MODEL_FORMAT, model: JSON.stringify(modelJson(model, '', null, metadata)) };
    if (state) {
      for (const k of ['m', 'v', 'vmax'] as const) tensors[OPTIMIZER_PREFIX + k] = { dtype: 'F32', shape: [state[k].length], data: state[k] };
      if (state.hyperDir) tensors[`${OPTIMIZER_PREFIX}hyperDir`] = { dtype: 'F32', shape: [state.hyperDir.length], data: state.hyperDir };
      meta.optimizer_step = String(state.step);
      meta.optimizer = cc!.optimizer.type;
      if (state.hyper) meta.optimizer_hyper = JSON.stringify(Array.from(state.hyper));
    }
    return encodeSafetensors(tensors, meta);
  });
}
