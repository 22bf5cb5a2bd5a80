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
import { readRegularFile } from '../files';
import type { LayerConfig } from '../layers/layers';
import { layerToJSON } from '../layers/layer';
import type { LossSpec } from '../losses';
import { internalsOf, isModel } from '../model/internals';
import type { Model } from '../model/model';
import type { OptimizerConfig } from '../optim/optimizers';
import * as v from '../validate';
import { writeFileAtomic } from './atomic';
import { encodeSafetensors } from './safetensors';

/** The training configuration as saved: precision only when it is not the default. */
function trainingJson(cc: NonNullable<Model['compileConfig']>): ModelJson['training'] {
  return { optimizer: cc.optimizer, loss: cc.loss, metrics: cc.metrics, ...(cc.precision === 'bf16' ? { precision: 'bf16' as const } : {}) };
}

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
  /** precision is written only when it is not 'float32' (files stay as older versions wrote them). */
  training: { optimizer: OptimizerConfig; loss: LossSpec; metrics: string[]; precision?: 'bf16' } | null;
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
  const g = model.graph;
  // The writer's pid is part of each new file name, so a later save can tell the files of a
  // process that died mid-save (orphans) from those of a save still in progress.
  const id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}-${process.pid}`;
  const weightsFile = `weights-${id}.safetensors`;
  const optFile = state ? `optimizer-${id}.safetensors` : null;
  const json: ModelJson = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    seed: model.seed,
    graph: {
      nodes: g.nodes.map((n) => ({ config: layerToJSON(n.layer) as unknown as LayerConfig, inputs: n.inputs })),
      output: g.output,
    },
    training: cc ? trainingJson(cc) : null,
    weights: weightsFile,
    optimizer: optFile,
    metadata,
  };
  // Serialised before any file is written: metadata that cannot be (a cycle, a BigInt) is an
  // argument error and leaves the folder as it was.
  let jsonText: string;
  try {
    jsonText = `${JSON.stringify(json, null, 2)}\n`;
  } catch (e) {
    throw v.typeError('JSON-serialisable metadata', 'metadata', v.described(`a value JSON.stringify rejects (${(e as Error).message.split('\n')[0]})`));
  }
  await fs.promises.mkdir(dir, { recursive: true });
  const folder = path.resolve(dir);
  inFlight.set(folder, (inFlight.get(folder) ?? 0) + 1);
  try {
    await writeModelFiles(dir, weightsFile, optFile, tensorsOf(weights), state, cc?.optimizer.type, jsonText);
  } finally {
    const left = inFlight.get(folder)! - 1;
    if (left === 0) inFlight.delete(folder);
    else inFlight.set(folder, left);
  }
  await removeOrphans(dir, folder, [weightsFile, optFile]).catch(() => undefined);
}

/** Saves in progress per folder in this process (their files are not orphans). */
const inFlight = new Map<string, number>();

function tensorsOf(weights: Record<string, { shape: number[]; data: Float32Array }>): Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> {
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [k, w] of Object.entries(weights)) tensors[k] = { dtype: 'F32', shape: w.shape, data: w.data };
  return tensors;
}

async function writeModelFiles(
  dir: string,
  weightsFile: string,
  optFile: string | null,
  tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }>,
  state: ReturnType<Model['getOptimizerState']> | null,
  optimizerType: string | undefined,
  jsonText: string,
): Promise<void> {
  await writeFileAtomic(path.join(dir, weightsFile), encodeSafetensors(tensors, { format: MODEL_FORMAT }));
  if (state && optFile) {
    const st: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
    for (const k of ['m', 'v', 'vmax'] as const) st[k] = { dtype: 'F32', shape: [state[k].length], data: state[k] };
    if (state.hyperDir) st.hyperDir = { dtype: 'F32', shape: [state.hyperDir.length], data: state.hyperDir };
    const meta: Record<string, string> = { step: String(state.step), optimizer: String(optimizerType) };
    if (state.hyper) meta.hyper = JSON.stringify(Array.from(state.hyper));
    await writeFileAtomic(path.join(dir, optFile), encodeSafetensors(st, meta));
  }
  const jsonPath = path.join(dir, 'model.json');
  let previous: string[] = [];
  try {
    // A regular file only (a named pipe there would block the save).
    const old = JSON.parse((await readRegularFile(jsonPath, 'model.json', 64 * 1024 * 1024)).toString('utf8')) as Partial<ModelJson>;
    previous = [old.weights, old.optimizer].filter((f): f is string => typeof f === 'string' && /^[\w.-]+\.safetensors$/.test(f));
  } catch {
    /* no previous model */
  }
  await writeFileAtomic(jsonPath, jsonText);
  for (const f of previous) {
    if (f !== weightsFile && f !== optFile) await fs.promises.rm(path.join(dir, f), { force: true });
  }
}

/** Names saveModel gives its files (the pid part since orphan removal), and atomic.ts's temporaries. */
const OWN_FILE = /^(?:weights|optimizer)-[0-9a-z]+-[0-9a-f]{8}-(\d+)\.safetensors$/;
const OWN_TEMP = /^\.(model\.json|(?:weights|optimizer)-[0-9a-z]+-[0-9a-f]{8}-\d+\.safetensors)\.(\d+)\.[0-9a-f]{12}\.tmp$/;

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH'; // EPERM: alive, another user's
  }
}

/**
 * After a successful save: removes the files earlier, interrupted saves of this folder left
 * behind, and only those it can prove are such: named as saveModel and writeFileAtomic name their
 * files, not referenced by the model.json just written, and written by a process that no longer
 * runs (or by this one, when no other save of the folder is in progress here). Files of another
 * live process, files in older name formats and anything else are left alone.
 */
async function removeOrphans(dir: string, folder: string, keep: (string | null)[]): Promise<void> {
  const mine = (pid: number): boolean => (pid === process.pid ? !inFlight.has(folder) : !processAlive(pid));
  for (const name of await fs.promises.readdir(dir)) {
    if (keep.includes(name)) continue;
    const own = OWN_FILE.exec(name);
    const temp = OWN_TEMP.exec(name);
    const pid = own ? Number(own[1]) : temp ? Number(temp[2]) : NaN;
    if (Number.isSafeInteger(pid) && mine(pid)) await fs.promises.rm(path.join(dir, name), { force: true });
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
    training: cc ? trainingJson(cc) : null,
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
