/** Native training engine (see native/binding/model_wrap.h and native/engine/). */
import type { NativeBuffer } from './binding';
import type { NativeDevice, NativeLoss, NativeMetric, NativeOptimizer, NativePrecision } from './enums';
import { binding } from './index';

export interface NativeParamInfo {
  name: string;
  node: number;
  offset: number;
  size: number;
  shape: number[];
  group: number;
  trainable: boolean;
}

export interface NativeEpochLogs {
  epoch: number;
  loss: number;
  metrics: number[];
  valLoss?: number;
  valMetrics?: number[];
  lr: number;
  steps: number;
  seconds: number;
  recoveries: number;
}

export type NativeFitEvent =
  | { type: 'epochBegin'; epoch: number }
  | { type: 'batchEnd'; epoch: number; batch: number; size: number; loss: number; lr: number; metrics: number[] }
  | { type: 'epochEnd'; epoch: number; logs: NativeEpochLogs };

export interface NativeOptimizerSpec {
  kind: NativeOptimizer;
  lr: number;
  schedule?: unknown;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  beta1?: number;
  beta2?: number;
  eps?: number;
  amsgrad?: boolean;
  alpha?: number;
  centered?: boolean;
  lrDecay?: number;
  initialAccumulatorValue?: number;
  clipNorm?: number;
  clipValue?: number;
  hypergradient?: boolean;
  hyperLr?: number;
  hyperMinLr?: number;
  hyperMaxLr?: number;
  hyperMultiplicative?: boolean;
  groups?: { lr?: number; weightDecay?: number; schedule?: unknown }[];
}

/**
 * One node of the plan. `op` names a native op (each op file in native/engine/ops/ registers its
 * name: 'input', 'dense', 'activation', 'softmax', 'dropout', 'layerNorm', 'batchNorm', 'add',
 * 'concat', 'prelu', ...). `attrs` holds the op's own settings, read only by that op (for
 * example dense: {units, useBias, activation, alpha}; dropout: {rate}; batchNorm:
 * {epsilon, momentum, center, scale}). Activation names are NATIVE_ACTIVATIONS.
 */
export interface NativeNodeSpec {
  op: string;
  name: string;
  inputs: number[];
  attrs?: Record<string, number | boolean | string>;
  group?: number;
  trainable?: boolean;
}

export interface NativeModelSpec {
  nodes: NativeNodeSpec[];
  output: number;
  loss: { kind: NativeLoss; huberDelta?: number };
  metrics: NativeMetric[];
  optimizer: NativeOptimizerSpec;
  targetWidth: number;
  sparseLabels: boolean;
  seed: number;
  /** Arithmetic of the matrix products (default 'float32'). */
  precision?: NativePrecision;
  /** The backend the plan is built on (default 'cpu'; 'cuda' needs the CUDA build and a device). */
  device?: NativeDevice;
}

export interface NativeOptimizerState {
  step: number;
  m: Float32Array;
  v: Float32Array;
  vmax: Float32Array;
  /** Hypergradient descent: [multiplier, has previous direction (0/1), its norm]. */
  hyper?: Float64Array;
  /** Hypergradient descent: the previous update direction (empty when off). */
  hyperDir?: Float32Array;
}

export interface NativeModel {
  readonly busy: boolean;
  readonly step: number;
  readonly numParams: number;
  readonly numTrainable: number;
  readonly lastGradNorm: number;
  readonly hyperMultiplier: number;
  readonly lrMultiplier: number;
  /** Number of serving snapshots published so far. */
  readonly servingVersion: number;
  /** Native bytes reported to V8 (napi_adjust_external_memory). */
  readonly nativeBytes: number;
  readonly disposed: boolean;
  /** Frees the plan and its arenas now (in-flight inference keeps them until it finishes). */
  dispose(): boolean;
  /** Publishes a serving snapshot now (idle or paused) or after the running step (fit). */
  publish(): void;
  injectNonFinite(steps: number[]): void;
  setDataBudget(bytes: number): void;
  useHostDeferredUpdate(ringCapacity?: number): void;
  paramInfo(): NativeParamInfo[];
  readParams(): Float32Array;
  writeParams(p: Float32Array): void;
  readGrads(): Float32Array;
  readState(): NativeOptimizerState;
  writeState(s: NativeOptimizerState): void;
  setOptimizer(o: NativeOptimizerSpec, resetState: boolean): void;
  resetOptimizer(): void;
  setLrMultiplier(m: number): void;
  groupLr(group: number, step: number): number;
  fit(
    x: NativeBuffer,
    y: NativeBuffer,
    rows: number,
    cols: number,
    valX: NativeBuffer | null,
    valY: NativeBuffer | null,
    valRows: number,
    config: {
      epochs: number;
      initialEpoch?: number;
      batchSize: number;
      shuffle: boolean;
      seed: number;
      valBatchSize?: number;
      batchEvents?: boolean;
      /** Epoch events wait for resumeFit() (default true); false: delivered without waiting. */
      syncEpochs?: boolean;
      guard?: boolean;
      guardMaxRetries?: number;
      guardExplodeFactor?: number;
      guardSnapshotEvery?: number;
      /** Per-row loss weights of the training rows (float32 [rows]). */
      sampleWeights?: NativeBuffer;
      publishEvery?: number;
    },
    onEvent: (e: NativeFitEvent) => void,
  ): Promise<{ epochs: number; stopped: boolean }>;
  resumeFit(stop: boolean): void;
  stop(): void;
  evaluate(x: NativeBuffer, y: NativeBuffer, rows: number, cols: number, batchSize: number): Promise<{ loss: number; metrics: number[] }>;
  predict(x: NativeBuffer, rows: number, cols: number, batchSize: number, out: NativeBuffer): Promise<void>;
  trainBatch(x: NativeBuffer, y: NativeBuffer, rows: number, cols: number): Promise<{ loss: number; metrics: number[]; lr: number }>;
  /** Runs the plan as a sub-network: per node 0 (full), k units (dense) or -1 (bypass); [] resets. */
  setActiveWidths(widths: number[]): void;
  /** Batch-norm recalibration: training-mode forward, batch statistics committed with `momentum`. */
  calibrateBatch(x: NativeBuffer, rows: number, cols: number, momentum: number): Promise<void>;
}

export interface EngineBinding {
  NativeModel: new (spec: NativeModelSpec, maxBatch: number) => NativeModel;
}

/** Builds the native plan of a model spec (the addon parses the names itself). @internal */
export function createNativeModel(spec: NativeModelSpec, maxBatch: number): NativeModel {
  return new (binding().NativeModel)(spec, maxBatch);
}
