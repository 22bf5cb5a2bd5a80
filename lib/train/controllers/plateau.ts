/**
 * Reduce-on-plateau: a callback that multiplies the learning rate by `factor` when a monitored
 * value has stopped improving for more than `patience` epochs. The decision rule is PyTorch's
 * torch.optim.lr_scheduler.ReduceLROnPlateau, step for step:
 *
 *   better(a, best) = min/rel: a < best * (1 - threshold)   min/abs: a < best - threshold
 *                     max/rel: a > best * (1 + threshold)   max/abs: a > best + threshold
 *   each epoch: better -> best = a, bad = 0; else bad += 1
 *               in cooldown -> cooldown -= 1, bad = 0
 *               bad > patience -> reduce, cooldown = cooldown0, bad = 0
 *   reduce: new = max(old * factor, minLr), applied only when old - new > eps
 *
 * The rate is changed through the model's rate multiplier (effective rate = base or scheduled
 * rate x multiplier), so it composes with schedules; `old` is the effective rate of the epoch that
 * just ended (logs.lr), and minLr bounds that effective rate.
 */
import type { Callback, Logs, TrainableModel } from '../callbacks';
import * as v from '../../validate';

export interface ReduceLROnPlateauOptions {
  /** Log to watch (default 'val_loss'). */
  monitor?: string;
  /** Multiplier applied at each reduction, in (0, 1) (default 0.1). */
  factor?: number;
  /** Bad epochs tolerated before a reduction: it fires on bad epoch patience + 1 (default 10). */
  patience?: number;
  /** Smallest change that counts as an improvement (default 1e-4). */
  threshold?: number;
  /** 'rel' (default): relative to the best value; 'abs': absolute. */
  thresholdMode?: 'rel' | 'abs';
  /** 'min', 'max', or 'auto' (default: max for names containing 'acc', else min). */
  mode?: 'min' | 'max' | 'auto';
  /** Epochs to wait after a reduction before counting bad epochs again (default 0). */
  cooldown?: number;
  /** Lower bound of the effective rate (default 0). */
  minLr?: number;
  /** A reduction smaller than this is skipped (default 1e-8). */
  eps?: number;
  /** Print a line on each reduction (default false). */
  verbose?: boolean;
}

/** A rate reduction: the epoch it followed, the monitored value and the effective rates. */
export interface LrReduction {
  epoch: number;
  value: number;
  oldLr: number;
  newLr: number;
}

/**
 * The part of a model the controller drives (Model implements it). When the model reports its
 * current multiplier, a reduction scales that value, so changes made by others (a divergence
 * guard halving the rate) are kept; otherwise the controller's own product is written.
 */
export interface LrMultiplierModel {
  setLrMultiplier(m: number): void;
  readonly lrMultiplier?: number;
}

const OPTION_KEYS = ['monitor', 'factor', 'patience', 'threshold', 'thresholdMode', 'mode', 'cooldown', 'minLr', 'eps', 'verbose'] as const;

/**
 * Lowers the learning rate when the monitored value plateaus (PyTorch's ReduceLROnPlateau rules).
 * Best value and counters restart at every fit (as Keras does); the multiplier, and so the
 * reduced rate, carries over to later fits with the same callback.
 * @throws RangeError / TypeError for invalid options; RangeError at an epoch end whose logs lack
 *   the monitored value or the rate.
 * @example await model.fit(x, y, {epochs: 50, validationSplit: 0.1, callbacks: [reduceLROnPlateau({patience: 3})]});
 */
export class ReduceLROnPlateau implements Callback {
  readonly monitor: string;
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly mode: 'min' | 'max';
  readonly cooldown: number;
  readonly minLr: number;
  readonly eps: number;
  readonly verbose: boolean;
  /** Reductions so far, oldest first. */
  readonly reductions: LrReduction[] = [];
  /** The effective rate after the latest epoch (the reduced one when it reduced), NaN before any. */
  lastLr = NaN;
  /** Best monitored value of this fit (±Infinity before any). */
  best: number;
  /** Consecutive epochs without improvement. */
  numBadEpochs = 0;
  /** Epochs of cooldown left. */
  cooldownCounter = 0;
  #multiplier = 1;
  #model: LrMultiplierModel | null = null;

  constructor(opts: ReduceLROnPlateauOptions = {}) {
    const o = v.plainObject('reduceLROnPlateau options', opts);
    v.knownKeys('reduceLROnPlateau options', o, OPTION_KEYS);
    this.monitor = v.optional(o.monitor, 'val_loss', (x) => v.string('monitor', x));
    this.factor = v.optional(o.factor, 0.1, (x) => v.finiteNumber('factor', x, { min: 0, max: 1, minExclusive: true, maxExclusive: true }));
    this.patience = v.optional(o.patience, 10, (x) => v.integer('patience', x, 0));
    this.threshold = v.optional(o.threshold, 1e-4, (x) => v.finiteNumber('threshold', x, { min: 0 }));
    this.thresholdMode = v.optional(o.thresholdMode, 'rel' as const, (x) => v.oneOf('thresholdMode', x, ['rel', 'abs'] as const));
    const mode = v.optional(o.mode, 'auto' as const, (x) => v.oneOf('mode', x, ['min', 'max', 'auto'] as const));
    this.mode = mode === 'auto' ? (/acc/i.test(this.monitor) ? 'max' : 'min') : mode;
    this.cooldown = v.optional(o.cooldown, 0, (x) => v.integer('cooldown', x, 0));
    this.minLr = v.optional(o.minLr, 0, (x) => v.finiteNumber('minLr', x, { min: 0 }));
    this.eps = v.optional(o.eps, 1e-8, (x) => v.finiteNumber('eps', x, { min: 0 }));
    this.verbose = v.optional(o.verbose, false, (x) => v.boolean('verbose', x));
    this.best = this.#worst();
  }

  /** The model's rate multiplier as of this controller's last reduction (1 before any). */
  get multiplier(): number {
    return this.#multiplier;
  }

  /** True while reductions are suspended after the last one. */
  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  #worst(): number {
    return this.mode === 'min' ? Infinity : -Infinity;
  }

  /** PyTorch's is_better. */
  isBetter(a: number, best: number): boolean {
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - this.threshold) : a < best - this.threshold;
    return this.thresholdMode === 'rel' ? a > best * (1 + this.threshold) : a > best + this.threshold;
  }

  setModel(model: TrainableModel | LrMultiplierModel): void {
    if (typeof (model as Partial<LrMultiplierModel>)?.setLrMultiplier !== 'function') {
      throw v.typeError('a model with setLrMultiplier()', 'model', model);
    }
    this.#model = model as LrMultiplierModel;
  }

  onTrainBegin(): void {
    this.best = this.#worst();
    this.numBadEpochs = 0;
    this.cooldownCounter = 0;
    // Without a readable multiplier, ours is the record of what was applied: a recompiled or
    // regrown native plan starts at 1, so put it back.
    if (this.#model && typeof this.#model.lrMultiplier !== 'number') this.#model.setLrMultiplier(this.#multiplier);
  }

  onEpochEnd(epoch: number, logs: Logs): void {
    const current = logs[this.monitor];
    if (typeof current !== 'number') {
      const known = Object.keys(logs).join(', ');
      throw new RangeError(`Expected the monitored value '${this.monitor}' in the epoch logs (available: ${known}); add validation data or metrics, or change monitor`);
    }
    const oldLr = logs.lr;
    if (typeof oldLr !== 'number' || !Number.isFinite(oldLr)) {
      throw v.rangeError('a finite learning rate', "logs['lr']", oldLr);
    }
    // NaN is never better, so it counts as a bad epoch (as in PyTorch).
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.inCooldown) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    this.lastLr = oldLr;
    if (this.numBadEpochs > this.patience) {
      this.#reduce(epoch, current, oldLr);
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
  }

  #reduce(epoch: number, value: number, oldLr: number): void {
    const newLr = Math.max(oldLr * this.factor, this.minLr);
    if (!(oldLr - newLr > this.eps)) return;
    if (!this.#model) throw new RangeError('ReduceLROnPlateau needs a model: it is set by fit(), or call setModel(model) first');
    const current = typeof this.#model.lrMultiplier === 'number' ? this.#model.lrMultiplier : this.#multiplier;
    const m = current * (newLr / oldLr);
    this.#model.setLrMultiplier(m);
    this.#multiplier = m;
    this.lastLr = newLr;
    this.reductions.push({ epoch, value, oldLr, newLr });
    if (this.verbose) process.stderr.write(`Epoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${newLr}.\n`);
  }
}

/**
 * Creates a ReduceLROnPlateau callback (PyTorch semantics; see the class).
 * @throws RangeError / TypeError for invalid options, e.g.
 *   "Expected a number > 0 and < 1 for factor but received 1".
 * @example reduceLROnPlateau({monitor: 'val_loss', factor: 0.5, patience: 2, cooldown: 1, minLr: 1e-5})
 */
export function reduceLROnPlateau(opts: ReduceLROnPlateauOptions = {}): ReduceLROnPlateau {
  return new ReduceLROnPlateau(opts);
}
