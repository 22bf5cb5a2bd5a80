/**
 * Training callbacks: a small interface (every method optional) and the built-in ones — History,
 * EarlyStopping, ProgressBar and CsvLogger. Epoch-level methods may be async: the native training
 * thread waits for them at epoch boundaries, so they see a consistent model (weights can be read
 * or written there). onBatchEnd is never waited for. To stop training, set `model.stopTraining`.
 */
import * as fs from 'fs';

import * as v from '../validate';

/** Named scalar values: loss, metrics, val_ variants, lr. */
export type Logs = Record<string, number>;

/** The part of a model that callbacks use. */
export interface TrainableModel {
  stopTraining: boolean;
  /** @internal */
  getWeightArena(): Float32Array;
  /** @internal */
  setWeightArena(w: Float32Array): void;
}

export interface Callback {
  setModel?(model: TrainableModel): void;
  onTrainBegin?(logs?: Logs): void | Promise<void>;
  onTrainEnd?(logs?: Logs): void | Promise<void>;
  onEpochBegin?(epoch: number, logs?: Logs): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  /** Called without waiting; may be skipped when JavaScript falls behind training. */
  onBatchEnd?(batch: number, logs: Logs): void;
}

/** Per-epoch logs of a fit: history.loss[i] is the loss of epoch[i]. */
export class History implements Callback {
  readonly epoch: number[] = [];
  readonly history: Record<string, number[]> = {};
  /** With fit({lr: 'auto'}): the learning-rate range test that chose the peak rate. */
  lrFinder?: { suggested: number; suggestions: { valley: number; steepest: number; minimum: number }; lrs: number[]; losses: number[] };

  onEpochEnd(epoch: number, logs: Logs): void {
    this.epoch.push(epoch);
    const n = this.epoch.length;
    for (const [k, val] of Object.entries(logs)) {
      // A value first seen after epoch 1 (e.g. 'recoveries') gets NaN for the earlier epochs, so
      // every series stays aligned with `epoch`.
      (this.history[k] ??= new Array<number>(n - 1).fill(NaN)).push(val);
    }
    for (const series of Object.values(this.history)) if (series.length < n) series.push(NaN);
  }
}

export interface EarlyStoppingOptions {
  /** Log to watch (default 'val_loss'). */
  monitor?: string;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Epochs without improvement before stopping (default 0). */
  patience?: number;
  /** 'min', 'max', or 'auto' (max for names containing 'acc', else min). */
  mode?: 'min' | 'max' | 'auto';
  /** Stop unless the monitored value beats this. */
  baseline?: number;
  /** Put back the weights of the best epoch when training ends (default false). */
  restoreBestWeights?: boolean;
  /** Epochs to wait before monitoring starts (default 0). */
  startFromEpoch?: number;
}

/**
 * Stops training when a monitored value stops improving (Keras semantics). With
 * restoreBestWeights the best epoch's weights are restored when training ends — whether it stopped
 * early or ran all epochs — so the model always ends at its best monitored epoch.
 * @throws RangeError for invalid options.
 * @example earlyStopping({monitor: 'val_loss', patience: 3, restoreBestWeights: true})
 */
export class EarlyStopping implements Callback {
  readonly monitor: string;
  readonly minDelta: number;
  readonly patience: number;
  readonly mode: 'min' | 'max';
  readonly baseline: number | undefined;
  readonly restoreBestWeights: boolean;
  readonly startFromEpoch: number;
  /** Epoch at which training was stopped (-1: not stopped). */
  stoppedEpoch = -1;
  /** Best epoch so far (-1: none). */
  bestEpoch = -1;
  best = NaN;
  #wait = 0;
  #bestWeights: Float32Array | null = null;
  #model: TrainableModel | null = null;

  constructor(opts: EarlyStoppingOptions = {}) {
    const o = v.plainObject('earlyStopping options', opts);
    v.knownKeys('earlyStopping options', o, ['monitor', 'minDelta', 'patience', 'mode', 'baseline', 'restoreBestWeights', 'startFromEpoch']);
    this.monitor = v.optional(o.monitor, 'val_loss', (x) => v.string('monitor', x));
    this.minDelta = Math.abs(v.optional(o.minDelta, 0, (x) => v.finiteNumber('minDelta', x)));
    this.patience = v.optional(o.patience, 0, (x) => v.integer('patience', x, 0));
    const mode = v.optional(o.mode, 'auto' as const, (x) => v.oneOf('mode', x, ['min', 'max', 'auto'] as const));
    this.mode = mode === 'auto' ? (/acc/i.test(this.monitor) ? 'max' : 'min') : mode;
    this.baseline = v.optional(o.baseline, undefined, (x) => v.finiteNumber('baseline', x));
    this.restoreBestWeights = v.optional(o.restoreBestWeights, false, (x) => v.boolean('restoreBestWeights', x));
    this.startFromEpoch = v.optional(o.startFromEpoch, 0, (x) => v.integer('startFromEpoch', x, 0));
  }

  setModel(model: TrainableModel): void {
    this.#model = model;
  }

  onTrainBegin(): void {
    this.#wait = 0;
    this.stoppedEpoch = -1;
    this.bestEpoch = -1;
    this.best = NaN;
    this.#bestWeights = null;
  }

  #improved(value: number, reference: number): boolean {
    if (Number.isNaN(value)) return false;  // an epoch without a value (e.g. rolled back) never improves
    if (Number.isNaN(reference)) return true;
    return this.mode === 'min' ? value < reference - this.minDelta : value > reference + this.minDelta;
  }

  onEpochEnd(epoch: number, logs: Logs): void {
    const value = logs[this.monitor];
    if (value === undefined) {
      const known = Object.keys(logs).join(', ');
      throw new RangeError(`Expected the monitored value '${this.monitor}' in the epoch logs (available: ${known}); add validation data or metrics, or change monitor`);
    }
    if (epoch < this.startFromEpoch) return;
    this.#wait += 1;
    if (this.#improved(value, this.best)) {
      this.best = value;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights && this.#model) this.#bestWeights = this.#model.getWeightArena();
      // Only an improvement over the baseline resets the wait (Keras).
      if (this.baseline === undefined || this.#improved(value, this.baseline)) this.#wait = 0;
      return;
    }
    if (this.#wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      if (this.#model) this.#model.stopTraining = true;
    }
  }

  onTrainEnd(): void {
    if (this.restoreBestWeights && this.#bestWeights && this.#model) this.#model.setWeightArena(this.#bestWeights);
    this.#bestWeights = null;
  }
}

/** Creates an EarlyStopping callback. @example earlyStopping({patience: 5}) */
export function earlyStopping(opts: EarlyStoppingOptions = {}): EarlyStopping {
  return new EarlyStopping(opts);
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? x.toExponential(3) : x.toFixed(4);
}

/**
 * Terminal progress: a bar updated in place while an epoch runs (on a TTY), then one line per
 * epoch with its logs and duration.
 */
export class ProgressBar implements Callback {
  #stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  #epochs: number;
  #steps: number;
  #epoch = 0;
  #start = 0;
  #lastDraw = 0;

  constructor(opts: { epochs: number; stepsPerEpoch: number; stream?: NodeJS.WritableStream }) {
    this.#stream = (opts.stream ?? process.stderr) as NodeJS.WritableStream & { isTTY?: boolean };
    this.#epochs = opts.epochs;
    this.#steps = opts.stepsPerEpoch;
  }

  onEpochBegin(epoch: number): void {
    this.#epoch = epoch;
    this.#start = Date.now();
    this.#lastDraw = 0;
  }

  onBatchEnd(batch: number, logs: Logs): void {
    if (!this.#stream.isTTY) return;
    const now = Date.now();
    if (now - this.#lastDraw < 100 && batch + 1 < this.#steps) return;
    this.#lastDraw = now;
    const width = 30;
    const done = Math.min(width, Math.round(((batch + 1) / this.#steps) * width));
    const bar = '='.repeat(Math.max(0, done - 1)) + (done > 0 ? '>' : '') + ' '.repeat(width - done);
    const loss = logs.loss === undefined ? '' : ` loss ${fmt(logs.loss)}`;
    this.#stream.write(`\rEpoch ${this.#epoch + 1}/${this.#epochs} [${bar}] ${batch + 1}/${this.#steps}${loss}   `);
  }

  onEpochEnd(epoch: number, logs: Logs): void {
    const secs = ((Date.now() - this.#start) / 1000).toFixed(2);
    const parts = Object.entries(logs)
      .filter(([k]) => k !== 'lr')
      .map(([k, val]) => `${k} ${fmt(val)}`);
    if (logs.lr !== undefined) parts.push(`lr ${fmt(logs.lr)}`);
    const clear = this.#stream.isTTY ? '\r\x1b[K' : '';
    this.#stream.write(`${clear}Epoch ${epoch + 1}/${this.#epochs} - ${secs}s - ${parts.join(' - ')}\n`);
  }
}

/**
 * Appends one row per epoch to a CSV file (header from the first epoch's keys) or one JSON object
 * per line ('jsonl').
 * @example new CsvLogger('train-log.csv')
 */
export class CsvLogger implements Callback {
  readonly path: string;
  readonly format: 'csv' | 'jsonl';
  readonly append: boolean;
  #keys: string[] | null = null;

  constructor(path: string, opts: { format?: 'csv' | 'jsonl'; append?: boolean } = {}) {
    this.path = v.string('path', path);
    const o = v.plainObject('CsvLogger options', opts);
    v.knownKeys('CsvLogger options', o, ['format', 'append']);
    this.format = v.optional(o.format, path.endsWith('.jsonl') ? ('jsonl' as const) : ('csv' as const), (x) => v.oneOf('format', x, ['csv', 'jsonl'] as const));
    this.append = v.optional(o.append, false, (x) => v.boolean('append', x));
  }

  async onTrainBegin(): Promise<void> {
    this.#keys = null;
    if (!this.append) await fs.promises.writeFile(this.path, '');
  }

  async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    if (this.format === 'jsonl') {
      await fs.promises.appendFile(this.path, `${JSON.stringify({ epoch, ...logs })}\n`);
      return;
    }
    let text = '';
    if (!this.#keys) {
      this.#keys = Object.keys(logs);
      const exists = this.append && fs.existsSync(this.path) && fs.statSync(this.path).size > 0;
      if (!exists) text += `epoch,${this.#keys.join(',')}\n`;
    }
    text += `${epoch},${this.#keys.map((k) => (logs[k] === undefined ? '' : String(logs[k]))).join(',')}\n`;
    await fs.promises.appendFile(this.path, text);
  }
}
