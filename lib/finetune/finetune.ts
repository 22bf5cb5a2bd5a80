/**
 * The fine-tuning controller (fastai's `fine_tune`, ULMFiT's recipe): phase 1 trains the head with
 * the body frozen; phase 2 unfreezes (all at once, or ULMFiT's gradual unfreezing: one more layer
 * group from the top each epoch) and trains with discriminative rates (slice(lo, hi)) under
 * one-cycle schedules. Strategies are options with defaults; the controller drives the public
 * Model API only.
 */
import type { Dataset } from '../data/dataset';
import type { LossSpec } from '../losses';
import type { MetricName } from '../metrics';
import type { Model, XInput, YInput } from '../model/model';
import type { BatchNormPolicy } from '../model/select';
import { adam } from '../optim/optimizers';
import { oneCycle } from '../schedules/spec';
import type { Callback } from '../train/callbacks';
import { History } from '../train/callbacks';
import { findLearningRate } from '../train/controllers/lr-finder';
import * as v from '../validate';
import { PRECISIONS } from '../tensor/matmul';
import type { Precision } from '../tensor/matmul';
import { discriminativeGroups, layerGroups } from './groups';
import type { GroupRates } from './groups';

export interface FineTuneOptions {
  loss?: LossSpec;
  metrics?: MetricName[];
  /** Arithmetic of the products while fine-tuning (default: the model's compiled precision, else 'float32'). */
  precision?: Precision;
  /** Epochs of phase 1, head only (default: enough for 100 optimizer steps, at least 1; 0 skips it). */
  headEpochs?: number;
  /** Phase 1 peak rate, or 'auto' for the range test's suggestion (default 'auto'). */
  headLr?: number | 'auto';
  /** Layers at the top that phase 1 trains: all but the last `headLayers` weighted layers are frozen (default 1). */
  headLayers?: number;
  /** Epochs of phase 2 (default: enough for 300 optimizer steps, at least 4, at most 500). */
  epochs?: number;
  /** Phase 2: 'all' at once (default) or 'gradual' (ULMFiT: one more group from the top each epoch). */
  unfreeze?: 'all' | 'gradual';
  /** Layer groups for phase 2's rates and gradual unfreezing (default 3, at most the model's groups). */
  groups?: number;
  /** Phase 2 peak rates per group (default {lo: hi / 100, hi: headLr / 2}, as fastai's fine_tune). */
  rates?: GroupRates;
  /** Batch norm while its layer is frozen (default 'all', Keras's inference mode). */
  batchNorm?: BatchNormPolicy;
  batchSize?: number;
  seed?: number;
  validationData?: [XInput, YInput] | Dataset;
  callbacks?: Callback[];
  signal?: AbortSignal;
  verbose?: 0 | 1;
}

export interface FineTunePhase {
  name: 'head' | 'unfreeze';
  /** Peak rate per group (one entry in phase 1). */
  rates: number[];
  history: History;
}

const KEYS = ['loss', 'metrics', 'precision', 'headEpochs', 'headLr', 'headLayers', 'epochs', 'unfreeze', 'groups', 'rates', 'batchNorm', 'batchSize', 'seed', 'validationData', 'callbacks', 'signal', 'verbose'];

function defaultLoss(model: Model): LossSpec {
  const out = model.layers[model.layers.length - 1];
  const soft = (out.config as { activation?: string }).activation === 'softmax';
  return model.compileConfig?.loss ?? (soft ? 'sparseCategoricalCrossentropy' : 'meanSquaredError');
}

/** Appends one fit's history to another (gradual unfreezing fits an epoch at a time). */
function append(into: History, h: History): void {
  h.epoch.forEach((e, i) => {
    const logs: Record<string, number> = {};
    for (const [k, vals] of Object.entries(h.history)) logs[k] = vals[i];
    into.onEpochEnd(e, logs);
  });
}

/**
 * Fine-tunes a pretrained model (with a fresh head, e.g. from replaceHead) on new data.
 * @returns the history of each phase
 * @throws TypeError / RangeError for bad options (before training); an AbortError when `signal`
 *   aborts, whose `history` holds the phases done so far.
 * @example const { phases } = await fineTune(model.replaceHead({ units: 5, activation: 'softmax' }), { x, y });
 */
export async function fineTune(model: Model, data: Dataset | { x: XInput; y: YInput }, options: FineTuneOptions = {}): Promise<{ phases: FineTunePhase[] }> {
  const o = v.plainObject('fineTune options', options);
  v.knownKeys('fineTune options', o, KEYS);
  const headEpochsOpt = o.headEpochs === undefined ? undefined : v.integer('headEpochs', o.headEpochs, 0, 1e6);
  const epochsOpt = o.epochs === undefined ? undefined : v.integer('epochs', o.epochs, 0, 1e6);
  const headLayers = v.optional(o.headLayers, 1, (x) => v.integer('headLayers', x, 1, model.layers.length));
  const unfreeze = v.optional(o.unfreeze, 'all' as const, (x) => v.oneOf('unfreeze', x, ['all', 'gradual'] as const));
  const batchSize = v.optional(o.batchSize, 32, (x) => v.integer('batchSize', x, 1, 1 << 20));
  const seed = v.optional(o.seed, 0, (x) => v.integer('seed', x, 0, 2 ** 52));
  const policy = v.optional(o.batchNorm, 'all' as BatchNormPolicy, (x) => v.oneOf('batchNorm', x, ['all', 'affine', 'statistics', 'none'] as const));
  const headLrOpt = v.optional(o.headLr, 'auto' as number | 'auto', (x) => (x === 'auto' ? 'auto' : v.finiteNumber('headLr', x, { min: 0, minExclusive: true })));
  const loss = (o.loss as LossSpec | undefined) ?? defaultLoss(model);
  const metrics = (o.metrics as MetricName[] | undefined) ?? (String(loss).includes('ategorical') ? ['accuracy' as MetricName] : []);
  const precision = v.optional(o.precision, model.compileConfig?.precision ?? ('float32' as Precision), (x) => v.oneOf('precision', x, PRECISIONS));
  const device = model.compileConfig?.device ?? 'cpu';
  const all = layerGroups(model);
  const nGroups = v.optional(o.groups, Math.min(3, all.length), (x) => v.integer('groups', x, 1, all.length));
  const groups = layerGroups(model, nGroups);
  const signal = o.signal as AbortSignal | undefined;
  const common = { batchSize, seed, validationData: o.validationData, callbacks: o.callbacks, signal, verbose: o.verbose } as Record<string, unknown>;
  for (const k of Object.keys(common)) if (common[k] === undefined) delete common[k];
  const xs = (data as { x: unknown }).x;
  const rows = Array.isArray(xs) ? xs.length : (xs as { shape?: number[] })?.shape?.[0];
  if (!Number.isInteger(rows) || (rows as number) < 1) throw v.typeError('a Dataset or {x, y} with x a Tensor or an array of rows', 'data', data);
  const stepsPerEpoch = Math.ceil((rows as number) / batchSize);
  // Defaults count optimizer steps, not epochs: a few dozen labelled examples make a handful of
  // steps per epoch, and a fixed epoch count would barely move the model (as the CLI's defaults).
  const headEpochs = headEpochsOpt ?? Math.max(1, Math.ceil(100 / stepsPerEpoch));
  const epochs = epochsOpt ?? Math.min(500, Math.max(4, Math.ceil(300 / stepsPerEpoch)));
  const fit = (epochsTo: number, initialEpoch: number): Promise<History> => {
    const d = data as { x: XInput; y: YInput };
    return model.fit(d.x, d.y, { ...common, epochs: epochsTo, initialEpoch } as never);
  };
  const phases: FineTunePhase[] = [];

  // Phase 1: the head alone, body frozen.
  model.freeze({ allBut: headLayers }, { batchNorm: policy });
  model.compile({ optimizer: adam({ lr: 1e-3 }), loss, metrics, precision, device });
  let headLr = headLrOpt === 'auto' ? NaN : headLrOpt;
  if (headLrOpt === 'auto') {
    const d = data as { x: never; y: never };
    const r = await findLearningRate(model, { x: d.x, y: d.y }, { batchSize, seed });
    headLr = Number.isFinite(r.suggested) && r.suggested > 0 ? r.suggested : 1e-3;
  }
  if (headEpochs > 0) {
    model.compile({ optimizer: adam({ lr: oneCycle({ maxLr: headLr, totalSteps: headEpochs * stepsPerEpoch }) }), loss, metrics, precision, device });
    phases.push({ name: 'head', rates: [headLr], history: await fit(headEpochs, 0) });
  }
  if (epochs === 0) return { phases };

  // Phase 2: unfreeze with discriminative rates under one-cycle.
  const hi = headLr / 2;
  const rates = discriminativeGroups(groups, (o.rates as GroupRates | undefined) ?? { lo: hi / 100, hi }).map((g) => g.lr as number);
  const total = epochs * stepsPerEpoch;
  const paramGroups = groups.map((layers, i) => ({ layers, lr: oneCycle({ maxLr: rates[i], totalSteps: total }) }));
  model.compile({ optimizer: adam({ lr: oneCycle({ maxLr: hi, totalSteps: total }), paramGroups }), loss, metrics, precision, device });
  // The schedules count steps from the start of this phase.
  if (model.optimizerStep > 0) model.resetOptimizerState();
  const history = new History();
  if (unfreeze === 'all') {
    model.unfreeze();
    append(history, await fit(epochs, 0));
  } else {
    for (let e = 0; e < epochs; e++) {
      // ULMFiT: epoch e trains the top e + 1 groups.
      model.freeze(undefined, { batchNorm: policy });
      for (const g of groups.slice(Math.max(0, groups.length - 1 - e))) model.unfreeze(g);
      append(history, await fit(e + 1, e));
    }
  }
  phases.push({ name: 'unfreeze', rates, history });
  return { phases };
}
