/**
 * The built-in MLP search space and objective. mlpSpace() covers depth, per-layer widths and
 * activations (conditional on depth), dropout, normalisation (none, batch or layer), residual skip
 * connections (add() when widths match, else through a bias-free linear projection), optimizer,
 * learning rate, batch size and weight decay; build() turns a configuration into a compiled Model
 * through the functional API. mlpObjective() trains one configuration on a dataset described by
 * plain data (so that worker threads can load it too) and returns validation accuracy (or loss),
 * parameter count and measured inference latency per sample.
 */
import { createHash } from 'crypto';

import * as nt from './api';
import type { Objective, TrialContext } from './objective';
import { ParamSpec, ParamValue, Params, Space, canonicalJson, choice, float, int } from './space';

/** One value, or the values to search over. */
export type Axis<T extends ParamValue> = T | T[];

export interface MlpSpaceOptions {
  /** Fixed depth, or [min, max] hidden layers (default [1, 3]). */
  depth?: number | [number, number];
  /** Fixed width or choices per layer (default [32, 64, 128, 256]). */
  widths?: Axis<number>;
  /** Hidden activations (default ['relu', 'gelu', 'tanh']). */
  activations?: Axis<string>;
  /** Fixed rate, or [min, max, step] (default [0, 0.3, 0.1]). */
  dropout?: number | [number, number, number];
  normalization?: Axis<'none' | 'batch' | 'layer'>;
  /** true/false fixes skip connections; 'search' (default) searches both. */
  skip?: boolean | 'search';
  optimizers?: Axis<'sgd' | 'adam' | 'adamw' | 'rmsprop' | 'adagrad'>;
  /** Fixed rate or [min, max] on a log scale (default [1e-4, 3e-2]). */
  lr?: number | [number, number];
  batchSize?: Axis<number>;
  weightDecay?: Axis<number>;
}

export interface MlpIO {
  inputs: number;
  outputs: number;
  task: 'classification' | 'regression';
  seed: number;
}

const axis = <T extends ParamValue>(x: Axis<T> | undefined, dflt: T[]): T[] => (x === undefined ? dflt : Array.isArray(x) ? x : [x]);

/** A search space over MLPs with a builder from a configuration to a compiled Model. */
export class MlpSpace extends Space {
  /** Values that were fixed rather than searched. */
  readonly fixed: Params;
  readonly maxDepth: number;

  constructor(params: Record<string, ParamSpec>, fixed: Params, maxDepth: number) {
    super(params);
    this.fixed = fixed;
    this.maxDepth = maxDepth;
  }

  override hash(): string {
    return createHash('sha256').update(canonicalJson({ space: this.toJSON(), fixed: this.fixed })).digest('hex');
  }

  /** Searched and fixed values together. */
  resolve(params: Params): Params {
    return { ...this.fixed, ...params };
  }

  /**
   * A compiled model for a configuration.
   * @throws RangeError for a configuration outside the space.
   * @example const m = space.build(trial.params, { inputs: 784, outputs: 10, task: 'classification', seed: 1 });
   */
  build(params: Params, io: MlpIO): nt.Model {
    const p = this.resolve(this.validate(params));
    const depth = p.depth as number;
    const x = nt.input({ shape: [io.inputs] });
    let h = x;
    for (let i = 1; i <= depth; i++) {
      const units = p[`width_${i}`] as number;
      const act = p[`activation_${i}`] as nt.ActivationName;
      const norm = p.normalization as string;
      let y = nt.dense({ units, activation: norm === 'none' ? act : 'linear' }).apply(h);
      if (norm !== 'none') {
        y = (norm === 'batch' ? nt.batchNormalization() : nt.layerNormalization()).apply(y);
        y = nt.activation({ activation: act }).apply(y);
      }
      if ((p.dropout as number) > 0) y = nt.dropout({ rate: p.dropout as number }).apply(y);
      if (p.skip === true && i > 1) {
        const from = h.width === units ? h : nt.dense({ units, useBias: false }).apply(h);
        y = nt.layers.add().apply(from, y);
      }
      h = y;
    }
    const out = nt.dense({ units: io.outputs, activation: io.task === 'classification' ? 'softmax' : 'linear' }).apply(h);
    const m = nt.model({ inputs: x, outputs: out, seed: io.seed });
    const lr = p.lr as number;
    const wd = p.weightDecay as number;
    const opt = p.optimizer as string;
    const optimizer =
      opt === 'sgd' ? nt.sgd({ lr, momentum: 0.9, weightDecay: wd }) : opt === 'adamw' ? nt.adamw({ lr, weightDecay: wd }) : opt === 'rmsprop' ? nt.rmsprop({ lr, weightDecay: wd }) : opt === 'adagrad' ? nt.adagrad({ lr, weightDecay: wd }) : nt.adam({ lr, weightDecay: wd });
    m.compile({ optimizer, loss: io.task === 'classification' ? 'sparseCategoricalCrossentropy' : 'meanSquaredError', metrics: io.task === 'classification' ? ['accuracy'] : ['mae'] });
    return m;
  }
}

/**
 * The built-in MLP space. Every axis takes a fixed value (not searched) or the values to search.
 * @throws RangeError for empty or invalid axes.
 * @example const s = mlpSpace({ depth: [1, 3], widths: [64, 128, 256], normalization: ['none', 'batch'] });
 */
export function mlpSpace(opts: MlpSpaceOptions = {}): MlpSpace {
  const params: Record<string, ParamSpec> = {};
  const fixed: Params = {};
  const put = (name: string, values: ParamValue[], spec?: () => ParamSpec): void => {
    if (values.length === 0) throw new RangeError(`Expected at least one value for ${name} but received an empty array`);
    if (values.length === 1 && !spec) fixed[name] = values[0];
    else params[name] = spec ? spec() : choice(values);
  };
  const depth = opts.depth ?? [1, 3];
  const [dMin, dMax] = Array.isArray(depth) ? depth : [depth, depth];
  if (!Number.isInteger(dMin) || !Number.isInteger(dMax) || dMin < 1 || dMax < dMin || dMax > 64) throw new RangeError(`Expected 1 <= min <= max <= 64 for depth but received ${JSON.stringify(depth)}`);
  if (dMin === dMax) fixed.depth = dMin;
  else params.depth = int(dMin, dMax);
  const widths = axis(opts.widths, [32, 64, 128, 256]);
  const acts = axis(opts.activations, ['relu', 'gelu', 'tanh']);
  for (const a of acts) if (!(nt.ACTIVATIONS as readonly string[]).includes(a)) throw new RangeError(`Expected one of ${nt.ACTIVATIONS.join(', ')} for activations but received ${JSON.stringify(a)}`);
  for (let i = 1; i <= dMax; i++) {
    const when = i > dMin ? { when: { param: 'depth', gte: i } } : {};
    if (widths.length === 1 && i <= dMin) fixed[`width_${i}`] = widths[0];
    else params[`width_${i}`] = choice(widths, when);
    if (acts.length === 1 && i <= dMin) fixed[`activation_${i}`] = acts[0];
    else params[`activation_${i}`] = choice(acts, when);
  }
  const dr = opts.dropout ?? [0, 0.3, 0.1];
  if (Array.isArray(dr)) params.dropout = float(dr[0], dr[1], { step: dr[2] });
  else fixed.dropout = dr;
  put('normalization', axis(opts.normalization, ['none', 'batch', 'layer']));
  const skip = opts.skip ?? 'search';
  if (skip === 'search') {
    // Skips join hidden layers 2.. to the layer before, so they exist only for depth >= 2.
    if (dMax > 1) params.skip = choice([false, true], dMin < 2 ? { when: { param: 'depth', gte: 2 } } : {});
    else fixed.skip = false;
  } else fixed.skip = skip;
  put('optimizer', axis(opts.optimizers, ['adam', 'adamw', 'sgd']));
  const lr = opts.lr ?? [1e-4, 3e-2];
  if (Array.isArray(lr)) params.lr = float(lr[0], lr[1], { log: true });
  else fixed.lr = lr;
  put('batchSize', axis(opts.batchSize, [32, 64, 128]));
  put('weightDecay', axis(opts.weightDecay, [0, 1e-5, 1e-4]));
  return new MlpSpace(params, fixed, dMax);
}

/** A dataset as plain data, loadable in any thread. */
export type DataSpec =
  | { kind: 'digits'; trainSize?: number; testSize?: number; seed?: number }
  | { kind: 'csv'; path: string; target: string | number; task?: 'classification' | 'regression' };

export interface MlpObjectiveSpec {
  data: DataSpec;
  space?: MlpSpaceOptions;
  /** Epochs per trial (the budget pruners cut; default 10). */
  epochs?: number;
  /** Fraction of the training data held out for validation (default 0.2). */
  validation?: number;
  /** Seed of the validation split (default 0). */
  splitSeed?: number;
  /** Rows timed for the latency objective (default 256). */
  latencyRows?: number;
}

/** A loaded data set split for a search. */
export interface Loaded {
  train: nt.Dataset;
  val: nt.Dataset;
  test?: nt.Dataset;
  inputs: number;
  outputs: number;
  task: 'classification' | 'regression';
}

const cache = new Map<string, Promise<Loaded>>();

/** Loads (once per thread) the train / validation (/ test) parts of a data spec. */
export function loadData(spec: MlpObjectiveSpec): Promise<Loaded> {
  const key = canonicalJson([spec.data, spec.validation ?? 0.2, spec.splitSeed ?? 0]);
  let p = cache.get(key);
  if (!p) {
    p = (async (): Promise<Loaded> => {
      const d = spec.data;
      const seed = spec.splitSeed ?? 0;
      const validation = spec.validation ?? 0.2;
      if (d.kind === 'digits') {
        const { train, test } = nt.loadDigits({ trainSize: d.trainSize, testSize: d.testSize, seed: d.seed ?? 0 });
        const s = nt.splitDataset(train, { validation, seed });
        return { train: s.train, val: s.validation!, test, inputs: train.numFeatures, outputs: 10, task: 'classification' };
      }
      const task = d.task ?? 'classification';
      const all = await nt.loadCsv(d.path, { target: d.target, labels: task === 'regression' ? 'regression' : 'integer' });
      const s = nt.splitDataset(all, { validation, test: 0.2, seed });
      const std = nt.fitStandardizer(s.train);
      return {
        train: std.transform(s.train),
        val: std.transform(s.validation!),
        test: std.transform(s.test!),
        inputs: all.numFeatures,
        outputs: task === 'regression' ? all.y.shape[1] ?? 1 : all.numClasses!,
        task,
      };
    })();
    cache.set(key, p);
  }
  return p;
}

/** A stable id of the objective (what a study is tied to). */
export function mlpObjectiveId(spec: MlpObjectiveSpec): string {
  const { data, ...rest } = spec;
  return 'mlp:' + createHash('sha256').update(canonicalJson({ data, ...rest })).digest('hex').slice(0, 16);
}

/**
 * An objective that trains the MLP of a configuration and returns, by name: `accuracy` (validation,
 * classification) or `loss` (validation), `params` (parameter count) and `latency` (microseconds
 * per sample for predict() on a batch, best of 3). Pruners see `val_accuracy` (classification) or
 * `val_loss` per epoch. The trained model is saved into the trial's model folder when there is one.
 * @example const objective = mlpObjective({ data: { kind: 'digits', trainSize: 2000 }, epochs: 5 });
 */
export function mlpObjective(spec: MlpObjectiveSpec): Objective & { space: MlpSpace } {
  const sp = mlpSpace(spec.space);
  const epochs = spec.epochs ?? 10;
  const fn = async (trial: TrialContext): Promise<Record<string, number>> => {
    const data = await loadData(spec);
    const m = sp.build(trial.params, { inputs: data.inputs, outputs: data.outputs, task: data.task, seed: trial.seed });
    const p = sp.resolve(trial.params);
    const monitor = data.task === 'classification' ? 'val_accuracy' : 'val_loss';
    try {
      await m.fit(data.train, { epochs, batchSize: p.batchSize as number, validationData: data.val, seed: trial.seed, callbacks: [trial.pruningCallback(monitor)], signal: trial.signal });
    } catch (e) {
      if (!(trial.pruned && (e as Error).name === 'AbortError')) throw e;
    }
    const ev = await m.evaluate(data.val);
    const rows = Math.min(spec.latencyRows ?? 256, data.val.size);
    const xs = data.val.slice(0, rows);
    let best = Infinity;
    for (let r = 0; r < 4; r++) {
      const t0 = process.hrtime.bigint();
      const out = await m.predict(xs.x, { batchSize: rows });
      const dt = Number(process.hrtime.bigint() - t0) / 1e3 / rows;
      out.dispose();
      if (r > 0) best = Math.min(best, dt);
    }
    xs.dispose();
    if (trial.modelDir && !trial.pruned) await m.save(trial.modelDir, { metadata: { params: p, trial: trial.number } });
    const res: Record<string, number> = { loss: ev.loss, params: m.countParams(), latency: best };
    if (data.task === 'classification') res.accuracy = ev.accuracy;
    return res;
  };
  return Object.assign(fn, { space: sp });
}
