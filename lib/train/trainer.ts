/**
 * The SGD controller: fit, trainOnBatch, evaluate and predict for a compiled Model. fit() runs
 * whole epochs on the native thread (one native call per step) and relays its events to the
 * callbacks; a learning-rate controller may choose the rate before training starts. Model's
 * methods of the same names delegate here.
 */
import { toX, toXY } from '../data/coerce';
import type { DataSpec, XInput, YInput } from '../data/coerce';
import { Dataset, gatherRows } from '../data/dataset';
import { abortError, wrapNativeError } from '../errors';
import type { NativeEpochLogs, NativeFitEvent } from '../native/engine';
import { internalsOf } from '../model/internals';
import type { Compiled } from '../model/internals';
import type { Model } from '../model/model';
import { Tensor, bufferOf, empty } from '../tensor/tensor';
import * as v from '../validate';
import { Callback, History, Logs, ProgressBar } from './callbacks';
import { rangeTestOneCycle } from './controllers/auto-lr';
import { rowWeights, weightTensor } from './weights';
import type { ClassWeight } from './weights';
import type { LrController } from './controllers/auto-lr';

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  shuffle?: boolean;
  /** Fraction of the samples (the last ones, before shuffling, as Keras) held out for validation. */
  validationSplit?: number;
  validationData?: Dataset | [XInput, YInput];
  callbacks?: Callback[];
  /**
   * Cancels training at the next batch; fit() then rejects with an AbortError. Abort wins over
   * callbacks: an epoch callback still pending (even one whose promise never settles) is abandoned
   * and its result ignored, and onTrainEnd is called but not waited for. The AbortError's
   * `history` lists the epochs that finished before the stop (no callbacks run for those whose end
   * arrives after the abort).
   * @throws TypeError ERR_NT_INVALID_ARGUMENT_TYPE when it is not an AbortSignal.
   */
  signal?: AbortSignal;
  /** Seeds shuffling and dropout (default: random). */
  seed?: number;
  /** 0: silent (default), 1: progress bar and a line per epoch on stderr. */
  verbose?: 0 | 1;
  /** Epoch to start counting from when resuming (Keras semantics: `epochs` is the final epoch index). */
  initialEpoch?: number;
  /**
   * Divergence guard (default on): a non-finite loss or gradient (the update is then skipped), or
   * a smoothed loss above `explodeFactor` x its best, restores the last good weights and optimizer
   * state, halves the learning rate and continues; after `maxRetries` recoveries fit() rejects
   * with ERR_NT_NON_FINITE. `false` fails at the first non-finite loss.
   */
  divergenceGuard?: boolean | { maxRetries?: number; explodeFactor?: number; snapshotEvery?: number };
  /**
   * 'auto': run the learning-rate range test first, then train with a one-cycle schedule peaking
   * at the suggested rate (History.lrFinder holds the test's result).
   */
  lr?: 'auto';
  /**
   * One loss weight per training row (Keras's sample_weight): the loss is sum(w * loss) / rows.
   * With validationSplit, the weights of the held-out rows are dropped (validation is unweighted).
   */
  sampleWeight?: Tensor | Float32Array | readonly number[];
  /**
   * A loss weight per class id ({0: 1, 1: 5}, or an array by id), or 'balanced':
   * n_samples / (n_classes * count(class)). Multiplies sampleWeight. Classes come from int32
   * labels or the argmax of one-hot targets (for one column: 0/1 by threshold 0.5).
   */
  classWeight?: ClassWeight;
  /**
   * Serving snapshot: predict, evaluate and getWeights during fit read the weights published at
   * the start, at every epoch end, after every `publishEvery` optimizer steps (0, the default:
   * epoch ends only) and after `model.publish()`. Each publication is one copy of the weights.
   */
  publishEvery?: number;
}

const FIT_KEYS = ['epochs', 'batchSize', 'shuffle', 'validationSplit', 'validationData', 'callbacks', 'signal', 'seed', 'verbose', 'initialEpoch', 'divergenceGuard', 'lr', 'sampleWeight', 'classWeight', 'publishEvery'];

interface Guard {
  guard: boolean;
  guardMaxRetries: number;
  guardExplodeFactor: number;
  guardSnapshotEvery: number;
}

function resolveGuard(g: unknown): Guard {
  if (g === false) return { guard: false, guardMaxRetries: 0, guardExplodeFactor: 0, guardSnapshotEvery: 20 };
  const go = g === undefined || g === true ? {} : v.plainObject('divergenceGuard', g);
  v.knownKeys('divergenceGuard', go, ['maxRetries', 'explodeFactor', 'snapshotEvery']);
  return {
    guard: true,
    guardMaxRetries: v.optional(go.maxRetries, 5, (x) => v.integer('divergenceGuard.maxRetries', x, 0, 1000)),
    guardExplodeFactor: v.optional(go.explodeFactor, 10, (x) => {
      const f = v.finiteNumber('divergenceGuard.explodeFactor', x, { min: 0 });
      if (f !== 0 && f <= 1) throw v.rangeError('0 (off) or a number > 1', 'divergenceGuard.explodeFactor', f);
      return f;
    }),
    guardSnapshotEvery: v.optional(go.snapshotEvery, 20, (x) => v.integer('divergenceGuard.snapshotEvery', x, 1, 1e9)),
  };
}

function dataSpec(model: Model, c: Compiled): DataSpec {
  return { inputWidth: model.inputWidth, outputWidth: model.outputWidth, loss: c.loss };
}

function logsOf(c: Compiled, prefix: string, loss: number, metrics: number[]): Logs {
  const out: Logs = { [`${prefix}loss`]: loss };
  c.metricNames.forEach((n, i) => (out[`${prefix}${n}`] = metrics[i]));
  return out;
}

/** Drives training; strategies are arguments with defaults (the learning-rate controller for lr 'auto'). */
export class Trainer {
  readonly autoLr: LrController;

  constructor(options: { autoLr?: LrController } = {}) {
    this.autoLr = options.autoLr ?? rangeTestOneCycle;
  }

  /** See Model.fit. */
  fit(model: Model, x: XInput | Dataset, y?: YInput | FitOptions, options?: FitOptions): Promise<History> {
    const holder = new Error();
    return internalsOf(model).exclusive(() => this.#fit(model, holder, x, y, options));
  }

  async #fit(model: Model, holder: Error, x: XInput | Dataset, y?: YInput | FitOptions, options?: FitOptions): Promise<History> {
    const internals = internalsOf(model);
    const compiled = internals.compiled();
    let opts: FitOptions;
    let xIn: unknown = x;
    let yIn: unknown = y;
    if (x instanceof Dataset) {
      opts = (y as FitOptions) ?? {};
      xIn = x.x;
      yIn = x.y;
    } else {
      opts = options ?? {};
    }
    const o = v.plainObject('fit options', opts);
    v.knownKeys('fit options', o, FIT_KEYS);
    const guard = resolveGuard(o.divergenceGuard);
    const autoLr = o.lr === undefined ? compiled.optimizer.lr === 'auto' : v.oneOf('lr', o.lr, ['auto'] as const) === 'auto';
    const epochs = v.optional(o.epochs, 1, (e) => v.integer('epochs', e, 1, 1e7));
    const batchSize = v.optional(o.batchSize, 32, (e) => v.integer('batchSize', e, 1, 1 << 20));
    const shuffle = v.optional(o.shuffle, true, (e) => v.boolean('shuffle', e));
    const split = v.optional(o.validationSplit, 0, (e) => v.finiteNumber('validationSplit', e, { min: 0, max: 1, maxExclusive: true }));
    const seed = v.optional(o.seed, Math.floor(Math.random() * 2 ** 31), (e) => v.integer('seed', e, 0, 2 ** 52));
    const verbose = v.optional(o.verbose, 0, (e) => v.integer('verbose', e, 0, 1));
    const initialEpoch = v.optional(o.initialEpoch, 0, (e) => v.integer('initialEpoch', e, 0, 1e7));
    const publishEvery = v.optional(o.publishEvery, 0, (e) => v.integer('publishEvery', e, 0, 1e12));
    // Keras/tfjs semantics: `epochs` is the index at which training stops, so a fit resuming at
    // initialEpoch runs epochs - initialEpoch epochs.
    if (epochs <= initialEpoch) throw v.rangeError(`an epochs value greater than initialEpoch (${initialEpoch})`, 'epochs', epochs);
    const runEpochs = epochs - initialEpoch;
    const callbacks = v.optional(o.callbacks, [] as Callback[], (c) => {
      if (!Array.isArray(c)) throw v.typeError('an array of callbacks', 'callbacks', c);
      c.forEach((cb, i) => {
        if (typeof cb !== 'object' || cb === null) throw v.typeError('a callback object', `callbacks[${i}]`, cb);
      });
      return c as Callback[];
    });
    const signal = o.signal as AbortSignal | undefined;
    if (signal !== undefined && !isAbortSignal(signal)) throw v.typeError('an AbortSignal', 'signal', signal);
    if (o.validationData !== undefined && split > 0) throw v.rangeError('either validationSplit or validationData, not both', 'fit options', v.described('both'));

    const spec = dataSpec(model, compiled);
    const owned: Tensor[] = [];
    try {
      let { x: tx, y: ty, owned: o1 } = toXY('data', xIn, yIn, spec);
      owned.push(...o1);
      let vx: Tensor | null = null;
      let vy: Tensor | null = null;
      const weights = rowWeights(ty, o.sampleWeight, o.classWeight);
      let tw: Tensor | null = weights ? weightTensor(weights) : null;
      if (tw) owned.push(tw);
      if (split > 0) {
        const n = tx.shape[0];
        const nVal = Math.floor(n * split);
        if (nVal < 1 || nVal >= n) throw v.rangeError(`a split leaving at least one sample on each side of ${n}`, 'validationSplit', split);
        const trainIdx = Int32Array.from({ length: n - nVal }, (_, i) => i);
        const valIdx = Int32Array.from({ length: nVal }, (_, i) => n - nVal + i);
        const [a, b, c, d] = [gatherRows(tx, trainIdx), gatherRows(ty, trainIdx), gatherRows(tx, valIdx), gatherRows(ty, valIdx)];
        owned.push(a, b, c, d);
        [tx, ty, vx, vy] = [a, b, c, d];
        if (weights) owned.push((tw = weightTensor(weights, trainIdx)));
      } else if (o.validationData !== undefined) {
        const vd = o.validationData;
        const pair = vd instanceof Dataset ? [vd.x, vd.y] : Array.isArray(vd) && vd.length === 2 ? vd : null;
        if (!pair) throw v.typeError('a Dataset or an [x, y] pair', 'validationData', vd);
        const r = toXY('validationData', pair[0], pair[1], spec);
        owned.push(...r.owned);
        vx = r.x;
        vy = r.y;
      }
      const native = internals.planForBatch(batchSize);
      const rows = tx.shape[0];
      const steps = Math.ceil(rows / batchSize);
      const history = new History();
      // The range test trains (trainOnBatch) as part of this fit.
      if (autoLr) await internals.reentrant(() => this.autoLr.beforeFit(model, { x: tx, y: ty }, { batchSize: Math.min(batchSize, rows), seed, totalSteps: runEpochs * steps }, history));
      const all: Callback[] = [...callbacks];
      if (verbose === 1) all.push(new ProgressBar({ epochs, stepsPerEpoch: steps }));
      all.push(history);
      for (const cb of all) cb.setModel?.(model);
      // Only user callbacks may need the model paused at epoch boundaries (they read or write
      // weights there, or set stopTraining, which then takes effect by the next epoch at the
      // latest); History and the progress bar take their events without stalling training.
      const syncEpochs = callbacks.length > 0;
      model.stopTraining = false;
      if (signal?.aborted) throw abortError(history);
      let cbError: unknown = null;
      // onTrainBegin runs at the first epoch boundary, while the native thread waits: native.fit
      // is called synchronously below, so the data are pinned before any await.
      let began = false;
      // Abort wins over callbacks: an epoch callback still pending when the signal fires (even one
      // whose promise never settles) is abandoned, the training thread is answered at once and
      // fit rejects with the AbortError.
      // Per-group rates (discriminative fine-tuning) go into the logs as lr_group1, lr_group2, ...
      // at each epoch's last step.
      const groupCount = compiled.optimizer.paramGroups.length;
      const startStep = native.step;
      let answerPending: ((stop: boolean) => void) | null = null;
      const onAbort = (): void => {
        native.stop();
        answerPending?.(true);
      };
      signal?.addEventListener('abort', onAbort);
      const epochLogs = (l: NativeEpochLogs): Logs => {
        const logs = logsOf(compiled, '', l.loss, l.metrics);
        if (l.valLoss !== undefined) Object.assign(logs, logsOf(compiled, 'val_', l.valLoss, l.valMetrics ?? []));
        logs.lr = l.lr;
        const last = startStep + (l.epoch - initialEpoch + 1) * steps - 1;
        for (let g = 1; g <= groupCount; g++) logs[`lr_group${g}`] = native.groupLr(g, Math.max(0, last)) * native.lrMultiplier;
        if (l.recoveries > 0) logs.recoveries = l.recoveries;
        return logs;
      };
      const onEvent = (e: NativeFitEvent): void => {
        if (e.type === 'batchEnd') {
          const logs: Logs = { ...logsOf(compiled, '', e.loss, e.metrics), size: e.size, lr: e.lr };
          for (const cb of all) {
            try {
              cb.onBatchEnd?.(e.batch, logs);
            } catch (err) {
              cbError ??= err;
              native.stop();
            }
          }
          if (model.stopTraining) native.stop();
          return;
        }
        let answered = false;
        const answer = (stop: boolean): void => {
          if (answered) return;
          answered = true;
          if (answerPending === answer) answerPending = null;
          if (syncEpochs) native.resumeFit(stop);
          else if (stop) native.stop();
        };
        if (signal?.aborted) {
          // User callbacks do not run after an abort, but an epoch the training thread finished
          // before it stopped is in the weights, so it goes into the history. (Without epoch
          // callbacks the events do not pause training, and several can be in flight.)
          if (e.type === 'epochEnd') history.onEpochEnd(e.epoch, epochLogs(e.logs));
          answer(true);
          return;
        }
        // The callback calls this event makes, in order (onTrainBegin once, before the first epoch).
        const calls: Array<() => void | Promise<void>> = [];
        try {
          if (e.type === 'epochBegin') {
            if (!began) {
              began = true;
              for (const cb of all) calls.push(() => cb.onTrainBegin?.({}));
            }
            for (const cb of all) calls.push(() => cb.onEpochBegin?.(e.epoch, {}));
          } else {
            const logs = epochLogs(e.logs);
            for (const cb of all) calls.push(() => cb.onEpochEnd?.(e.epoch, logs));
          }
        } catch (err) {
          cbError ??= err;
        }
        if (!syncEpochs) {
          // Only History and the progress bar listen, and both are synchronous: no async context,
          // no promise per event, and the training thread is not waiting for an answer.
          try {
            for (const call of calls) void call();
          } catch (err) {
            cbError ??= err;
          }
          answer(model.stopTraining || cbError !== null);
          return;
        }
        answerPending = answer;
        // Epoch callbacks run while fit waits for them: what they start (a checkpoint save) runs
        // as part of the fit instead of queueing behind it.
        void internals.reentrant(async () => {
          try {
            for (const call of calls) await call();
          } catch (err) {
            cbError ??= err;
          } finally {
            answer(model.stopTraining || cbError !== null || (signal?.aborted ?? false));
          }
        });
      };
      internals.setFitting(true);
      try {
        await native.fit(bufferOf(tx, 'x'), bufferOf(ty, 'y'), rows, model.inputWidth, vx ? bufferOf(vx, 'validation x') : null, vy ? bufferOf(vy, 'validation y') : null, vx ? vx.shape[0] : 0,
          { epochs: runEpochs, initialEpoch, batchSize, shuffle, seed, valBatchSize: internals.maxBatch(), batchEvents: all.some((cb) => cb.onBatchEnd), syncEpochs, publishEvery, ...guard, sampleWeights: tw ? bufferOf(tw, 'sampleWeight') : undefined }, onEvent);
      } catch (err) {
        throw wrapNativeError(err, holder);
      } finally {
        internals.setFitting(false);
        signal?.removeEventListener('abort', onAbort);
      }
      const lastLogs: Logs = {};
      for (const [k, vals] of Object.entries(history.history)) lastLogs[k] = vals[vals.length - 1];
      for (const cb of all) {
        try {
          const done = cb.onTrainEnd?.(lastLogs);
          // After an abort the callback runs but is not waited for (abort wins).
          if (signal?.aborted) Promise.resolve(done).catch(() => undefined);
          else await done;
        } catch (err) {
          cbError ??= err;
        }
      }
      if (cbError) throw cbError;
      if (signal?.aborted) throw abortError(history);
      return history;
    } finally {
      for (const t of owned) t.dispose();
    }
  }

  /** See Model.trainOnBatch. */
  trainOnBatch(model: Model, x: XInput, y: YInput): Promise<Logs> {
    const holder = new Error();
    return internalsOf(model).exclusive(() => this.#trainOnBatch(model, holder, x, y));
  }

  async #trainOnBatch(model: Model, holder: Error, x: XInput, y: YInput): Promise<Logs> {
    const internals = internalsOf(model);
    const compiled = internals.compiled();
    const d = toXY('data', x, y, dataSpec(model, compiled));
    try {
      const rows = d.x.shape[0];
      if (rows < 1) throw v.rangeError('at least one sample', 'x', d.x);
      const native = internals.planForBatch(rows);
      const r = await native.trainBatch(bufferOf(d.x, 'x'), bufferOf(d.y, 'y'), rows, model.inputWidth).catch((e) => {
        throw wrapNativeError(e, holder);
      });
      return { ...logsOf(compiled, '', r.loss, r.metrics), lr: r.lr };
    } finally {
      d.owned.forEach((t) => t.dispose());
    }
  }

  /** See Model.evaluate. */
  async evaluate(model: Model, x: XInput | Dataset, y?: YInput | { batchSize?: number }, options?: { batchSize?: number }): Promise<Logs> {
    const holder = new Error();
    const internals = internalsOf(model);
    const compiled = internals.compiled();
    const opts = x instanceof Dataset ? ((y as { batchSize?: number }) ?? {}) : (options ?? {});
    const batchSize = v.optional(opts.batchSize, 256, (b) => v.integer('batchSize', b, 1, 1 << 20));
    const spec = dataSpec(model, compiled);
    const d = x instanceof Dataset ? toXY('data', x.x, x.y, spec) : toXY('data', x, y, spec);
    try {
      const rows = d.x.shape[0];
      if (rows < 1) throw v.rangeError('at least one sample', 'x', d.x);
      const native = internals.plan();
      const r = await native.evaluate(bufferOf(d.x, 'x'), bufferOf(d.y, 'y'), rows, model.inputWidth, Math.min(batchSize, internals.maxBatch())).catch((e) => {
        throw wrapNativeError(e, holder);
      });
      return logsOf(compiled, '', r.loss, r.metrics);
    } finally {
      d.owned.forEach((t) => t.dispose());
    }
  }

  /** See Model.predict. */
  async predict(model: Model, x: XInput, options: { batchSize?: number } = {}): Promise<Tensor> {
    const holder = new Error();
    const internals = internalsOf(model);
    const o = v.plainObject('predict options', options);
    v.knownKeys('predict options', o, ['batchSize']);
    const batchSize = v.optional(o.batchSize, 256, (b) => v.integer('batchSize', b, 1, 1 << 20));
    const { t, owned } = toX('x', x, model.inputWidth);
    try {
      const rows = t.shape[0];
      const out = empty([rows, model.outputWidth]);
      if (rows === 0) return out;
      const native = internals.plan();
      try {
        await native.predict(bufferOf(t, 'x'), rows, model.inputWidth, Math.min(batchSize, internals.maxBatch()), bufferOf(out, 'out'));
      } catch (e) {
        out.dispose();
        throw wrapNativeError(e, holder);
      }
      return out;
    } finally {
      if (owned) t.dispose();
    }
  }
}

/** The trainer Model's methods delegate to. */
export const defaultTrainer = new Trainer();

/** An AbortSignal of this realm or another (a worker's, a vm context's). */
function isAbortSignal(x: unknown): x is AbortSignal {
  if (typeof x !== 'object' || x === null) return false;
  if (typeof AbortSignal !== 'undefined' && x instanceof AbortSignal) return true;
  const s = x as Partial<AbortSignal>;
  return Object.prototype.toString.call(x) === '[object AbortSignal]' && typeof s.addEventListener === 'function' && typeof s.aborted === 'boolean';
}
