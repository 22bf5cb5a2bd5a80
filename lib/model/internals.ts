/**
 * The part of a Model that train/ and io/ drive, kept off its public type: the native plan, the
 * compile state and the training flag. A Model attaches its internals when constructed.
 */
import type { LossSpec, ResolvedLoss } from '../losses';
import type { NativeMetric } from '../native/enums';
import type { NativeModel } from '../native/engine';
import type { OptimizerConfig } from '../optim/optimizers';
import type { Model } from './model';
import type { Device } from '../device';
import type { Precision } from '../tensor/matmul';

/** What compile() resolved. */
export interface Compiled {
  optimizer: OptimizerConfig;
  loss: ResolvedLoss;
  lossSpec: LossSpec;
  metricKinds: NativeMetric[];
  metricNames: string[];
  /** Arithmetic of the matrix products. */
  precision: Precision;
  /** Where the plan's buffers live and its kernels run. */
  device: Device;
}

export interface ModelInternals {
  /** The compile state. @throws NodetrainError ERR_NT_NOT_COMPILED before compile(). */
  compiled(): Compiled;
  /** A plan for batches of `rows` rows (training needs the whole batch), rebuilt when larger. */
  planForBatch(rows: number): NativeModel;
  /** Some plan: evaluate and predict run in chunks of its batch size. */
  plan(): NativeModel;
  /** Largest batch of the current plan. */
  maxBatch(): number;
  /** While set, recompiling and re-planning throw ERR_NT_BUSY. */
  setFitting(on: boolean): void;
  /**
   * Runs work that cannot overlap other such work (fit, trainOnBatch, save, toBuffer) after the
   * ones queued before it, in call order; predict and evaluate never queue.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  /** Runs work the running exclusive work waits for: exclusive calls inside it do not queue. */
  reentrant<T>(work: () => T): T;
}

const table = new WeakMap<object, ModelInternals>();

/** Called once by the Model constructor. */
export function attachInternals(m: Model, internals: ModelInternals): void {
  table.set(m, internals);
}

/** The internals of a model. */
export function internalsOf(m: Model): ModelInternals {
  return table.get(m)!;
}

/** Whether x is a Model (without importing the class, so io/ and train/ need only its type). */
export function isModel(x: unknown): x is Model {
  return typeof x === 'object' && x !== null && table.has(x);
}
