/**
 * Model: a graph of layers compiled into a native plan. One training step (forward, loss, backward,
 * fused optimizer update) is one native call; fit() runs whole epochs on a native thread and
 * reports through callbacks, so the Node event loop stays free.
 */
import { AsyncLocalStorage } from 'async_hooks';

import type { XInput, YInput } from '../data/coerce';
import type { Dataset } from '../data/dataset';
import { checkDevice } from '../device';
import type { Device } from '../device';
import { allocFloat32 } from '../alloc';
import { ERR, NodetrainError, callNative } from '../errors';
import { modelToBuffer, saveModel } from '../io/save';
import type { SaveOptions } from '../io/save';
import { Layer, SymbolicTensor } from '../layers/layers';
import type { LossSpec } from '../losses';
import { resolveLoss } from '../losses';
import type { MetricName } from '../metrics';
import { resolveMetrics } from '../metrics';
import { createNativeModel } from '../native/engine';
import type { NativeModel, NativeOptimizerState, NativeParamInfo } from '../native/engine';
import { baseLearningRate } from '../optim/lr';
import type { OptimizerConfig, OptimizerSpec } from '../optim/optimizers';
import { resolveOptimizer, toNativeOptimizer } from '../optim/optimizers';
import type { Schedule } from '../schedules/spec';
import type { Tensor } from '../tensor/tensor';
import type { History, Logs, TrainableModel } from '../train/callbacks';
import { defaultTrainer } from '../train/trainer';
import type { FitOptions } from '../train/trainer';
import * as v from '../validate';
import { PRECISIONS } from '../tensor/matmul';
import type { Precision } from '../tensor/matmul';
import { Graph, lowerGraph } from './graph';
import { initialWeights, mergeWeights, summarize } from './weights';
import type { NamedWeights } from './weights';
import { attachInternals } from './internals';
import { freezeLayers, selectLayers, unfreezeLayers } from './select';
import type { BatchNormPolicy, LayerSelector } from './select';
import { cutGraph, headGraph, nodeOf } from './surgery';
import type { HeadOptions } from './surgery';
import type { Compiled } from './internals';

export type { XInput, YInput } from '../data/coerce';
export type { FitOptions } from '../train/trainer';

export interface CompileOptions {
  optimizer: OptimizerSpec;
  loss: LossSpec;
  metrics?: MetricName[] | MetricName;
  /** Where the model trains: 'cpu' (the default) or 'cuda' (needs the CUDA build and an NVIDIA GPU). */
  device?: Device;
  /**
   * Arithmetic of the dense layers' matrix products, forward and backward: 'float32' (the default),
   * or 'bf16' mixed precision: weights and activations rounded to bfloat16 (nearest, ties to even)
   * as the products read them, accumulated in float32. Master weights, gradient accumulation,
   * optimizer state, biases, activations' own arithmetic and the loss stay float32. Runs on AMX-BF16
   * tiles or AVX512-BF16 where the CPU has them, elsewhere on an emulation with the same rounding
   * (the same products summed in another order, at about float32 speed): cpuFeatures().bf16Gemm
   * names the path. Saved with the model.
   */
  precision?: Precision;
}

export type { NamedWeights } from './weights';
export type { BatchNormPolicy, LayerSelector } from './select';
export type { HeadOptions } from './surgery';

/** The models whose running exclusive work waits for the current async context (#reentrant). */
const reentrantScope = new AsyncLocalStorage<Set<Model>>();

export class Model implements TrainableModel {
  readonly #graph: Graph;
  #seed: number;
  #host: NamedWeights | null;
  #native: NativeModel | null = null;
  #paramInfo: NativeParamInfo[] = [];
  #maxBatch = 0;
  #compiled: Compiled | null = null;
  #lrOverride: number | Schedule | undefined;
  #stateKey = '';
  /** Trainable flags and batch-norm policies the current plan was built with. */
  #layoutKey = '';
  #fitting = false;
  #disposed = false;
  #queued = 0;  // exclusive operations queued or running
  #tail: Promise<void> = Promise.resolve();
  /** Set to true (e.g. in a callback) to stop training at the next batch. */
  stopTraining = false;

  /**
   * Models are built with sequential() or model(); the constructor takes their compiled graph.
   * @hidden
   */
  constructor(graph: Graph, seed: number) {
    this.#graph = graph;
    this.#seed = seed;
    this.#host = initialWeights(this.#graph, this.#seed);
    attachInternals(this, {
      compiled: () => this.#requireCompiled(),
      planForBatch: (rows) => this.#ensureBatch(rows),
      plan: () => this.#ensurePlan(),
      exclusive: (work) => this.#exclusive(work),
      reentrant: (work) => this.#reentrant(work),
      maxBatch: () => this.#maxBatch,
      setFitting: (on) => {
        this.#fitting = on;
      },
    });
  }

  // ---- lifecycle and serving ------------------------------------------------------------------------
  /** Runs `work` after the exclusive operations queued before it (none queued: at once). */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.#disposed) return Promise.reject(disposedError());
    // Exclusive work that the running exclusive work waits for (see #reentrant) runs at once:
    // queueing it behind the work that waits for it would never finish.
    if (reentrantScope.getStore()?.has(this)) return work();
    const run = this.#queued === 0 ? work() : this.#tail.then(() => work());
    this.#queued++;
    this.#tail = run.then(
      () => void this.#queued--,
      () => void this.#queued--,
    );
    return run;
  }

  /**
   * Runs `work` (and everything it starts) as part of the running exclusive work, which waits for
   * it: the learning-rate range test inside fit, epoch callbacks while fit is paused (a checkpoint
   * saved there must not queue behind the fit that waits for the callback).
   */
  #reentrant<T>(work: () => T): T {
    return reentrantScope.run(new Set([...(reentrantScope.getStore() ?? []), this]), work);
  }

  #alive(): void {
    if (this.#disposed) throw disposedError();
  }

  /** Whether dispose() was called. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * Frees the native plan and every arena at once (inference calls in flight finish first, on the
   * memory they hold). A running fit is stopped and the plan freed when it settles; queued
   * operations then reject with ERR_NT_DISPOSED, as does any later use. Idempotent.
   * @example model.dispose();
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.stopTraining = true;
    const native = this.#native;
    if (!native) return;
    if (this.#queued === 0) {
      native.dispose();
      return;
    }
    native.stop();
    void this.#tail.then(() => native.dispose());
  }

  /**
   * Disposes and resolves once the native memory is freed (after a running fit has stopped).
   * Also `await using m = ...` where the runtime has Symbol.asyncDispose.
   */
  async disposeAsync(): Promise<void> {
    this.dispose();
    await this.#tail;
  }

  /**
   * Publishes the current weights as the serving snapshot that predict, evaluate and getWeights
   * read while fit runs: at once when idle, after the running step during fit.
   * @example
   * const timer = setInterval(() => model.publish(), 1000); // while a fit runs
   * clearInterval(timer);
   */
  publish(): void {
    this.#alive();
    if (this.#native) callNative(() => this.#native!.publish());
  }

  /** How many serving snapshots the current plan has published (grows with publish points). */
  get servingVersion(): number {
    return this.#native ? this.#native.servingVersion : 0;
  }

  /** Native bytes of the plan, as reported to V8 (0 before compile and after dispose). */
  get nativeBytes(): number {
    return this.#native && !this.#disposed ? this.#native.nativeBytes : 0;
  }

  /**
   * An independent copy: same architecture, weights, compile options and optimizer state.
   * @throws NodetrainError ERR_NT_BUSY while fit runs (outside epoch callbacks).
   * @example const replica = model.clone();
   */
  clone(): Model {
    this.#alive();
    const c = new Model(this.#graph, this.#seed);
    const cc = this.#compiled;
    if (cc) c.compile({ optimizer: cc.optimizer as OptimizerSpec, loss: cc.lossSpec, metrics: cc.metricNames as MetricName[], precision: cc.precision, device: cc.device });
    c.setWeights(this.getWeights());
    if (cc && this.optimizerStep > 0) c.setOptimizerState(this.getOptimizerState());
    if (this.#native && this.#native.lrMultiplier !== 1) c.setLrMultiplier(this.#native.lrMultiplier);
    return c;
  }

  /** The layers in topological order (the input layer excluded). */
  get layers(): Layer[] {
    return this.#graph.nodes.filter((n) => n.layer.type !== 'input').map((n) => n.layer);
  }

  get inputWidth(): number {
    return this.#graph.nodes.find((n) => n.layer.type === 'input')!.width;
  }

  get outputWidth(): number {
    return this.#graph.nodes[this.#graph.output].width;
  }

  /** The graph (for saving and summaries). @internal */
  get graph(): Graph {
    return this.#graph;
  }

  get seed(): number {
    return this.#seed;
  }

  /** The compile options, or null before compile(). */
  get compileConfig(): { optimizer: OptimizerConfig; loss: LossSpec; metrics: string[]; precision: Precision; device: Device } | null {
    const c = this.#compiled;
    return c ? { optimizer: c.optimizer, loss: c.lossSpec, metrics: c.metricNames, precision: c.precision, device: c.device } : null;
  }

  /** Layer by name. @throws RangeError when absent. */
  getLayer(name: string): Layer {
    const l = this.layers.find((x) => x.name === name);
    if (!l) throw v.rangeError(`one of the layer names ${this.layers.map((x) => `'${x.name}'`).join(', ')}`, 'name', name);
    return l;
  }

  /** Number of parameters (trainable and not, including batch-norm moving statistics). */
  countParams(): number {
    return Object.values(this.getWeights()).reduce((s, w) => s + w.data.length, 0);
  }

  /**
   * A text table of layers, output shapes and parameter counts.
   * @example console.log(model.summary());
   */
  summary(): string {
    const table = summarize(this.#graph);
    const groups = this.#compiled?.optimizer.paramGroups ?? [];
    if (groups.length === 0) return table;
    const base = this.learningRate;
    const rate = (lr: unknown): string => (typeof lr === 'number' ? lr.toPrecision(3) : lr === undefined ? String(typeof base === 'number' ? base.toPrecision(3) : 'schedule') : 'schedule');
    const lines = groups.map((g, i) => {
      const frozen = g.layers.every((n) => !this.getLayer(n).trainable);
      return `Group ${i + 1}${frozen ? ' [frozen]' : ''}: lr ${rate(g.lr)}: ${g.layers.join(', ')}`;
    });
    return `${table}\n${lines.join('\n')}`;
  }

  // ---- fine-tuning ----------------------------------------------------------------------------------
  /**
   * Freezes the selected layers (all by default): their weights stay as they are during training.
   * Takes effect at the next fit / trainOnBatch without a recompile; the weights and the optimizer
   * state of layers that stay trainable are kept.
   * @param sel a layer name, an index (negative from the end), {from, to} (inclusive), a predicate,
   *   {allBut: n} (all but the last n layers with weights), or an array of these
   * @param options.batchNorm 'all' (default, Keras: gamma, beta and the moving statistics frozen; the
   *   layer normalises with its moving statistics), 'affine' (gamma and beta frozen, statistics keep
   *   updating: fastai's behaviour), 'statistics' (moving statistics fixed, gamma and beta train), or
   *   'none' (batch-norm layers stay trainable)
   * @throws RangeError for a selector naming layers the model lacks.
   * @example model.freeze({ allBut: 1 }); await model.fit(x, y); // trains only the head
   */
  freeze(sel?: LayerSelector, options: { batchNorm?: BatchNormPolicy } = {}): this {
    const o = v.plainObject('freeze options', options);
    v.knownKeys('freeze options', o, ['batchNorm']);
    const policy = v.optional(o.batchNorm, 'all' as BatchNormPolicy, (x) => v.oneOf('batchNorm', x, ['all', 'affine', 'statistics', 'none'] as const));
    freezeLayers(selectLayers(this.layers, sel), policy);
    return this;
  }

  /**
   * Makes the selected layers (all by default) trainable again, at the next fit.
   * @example model.unfreeze({ from: 'dense_2' });
   */
  unfreeze(sel?: LayerSelector): this {
    unfreezeLayers(selectLayers(this.layers, sel));
    return this;
  }

  /**
   * A new model: this model's body (cut at `at`, by default below its last weighted layer) with a
   * freshly initialised dense head. Body weights and trainable flags are copied; the new model is
   * not compiled.
   * @throws RangeError for an unknown layer or invalid head options.
   * @example const m2 = model.replaceHead({ units: 5, activation: 'softmax' });
   */
  replaceHead(options: HeadOptions): Model {
    const g = headGraph(this.#graph, options);
    const seed = options.seed === undefined ? this.#seed + 1 : v.integer('seed', options.seed, 0, 2 ** 52);
    return this.#derived(g, seed, g.nodes[g.output].layer.name!);
  }

  /**
   * A new model whose output is layer `at` (the body below a head), with copied weights and
   * trainable flags (a feature extractor, or a body for replaceHead).
   * @example const features = model.truncate('dense_2');
   */
  truncate(at: string): Model {
    return this.#derived(cutGraph(this.#graph, nodeOf(this.#graph, at, 'at')), this.#seed);
  }

  #derived(g: Graph, seed: number, fresh?: string): Model {
    const m = new Model(g, seed);
    const mine = this.getWeights();
    const keep: NamedWeights = {};
    for (const k of Object.keys(m.getWeights())) if (mine[k] && !k.startsWith(`${fresh}/`)) keep[k] = mine[k];
    m.setWeights(keep);
    return m;
  }

  // ---- weights ------------------------------------------------------------------------------------
  /**
   * Copies of all weights by name.
   * @throws NodetrainError ERR_NT_BUSY while training runs (allowed inside epoch callbacks).
   */
  getWeights(): NamedWeights {
    this.#alive();
    if (!this.#native) {
      const out: NamedWeights = {};
      for (const [k, w] of Object.entries(this.#host!)) out[k] = { shape: [...w.shape], data: w.data.slice() };
      return out;
    }
    const arena = callNative(() => this.#native!.readParams());
    const out: NamedWeights = {};
    for (const p of this.#paramInfo) out[p.name] = { shape: [...p.shape], data: arena.slice(p.offset, p.offset + p.size) };
    return out;
  }

  /**
   * Replaces weights by name; every name must exist with the same shape (a subset is allowed).
   * @throws RangeError for an unknown name or a shape mismatch; TypeError for non-float32 data.
   */
  setWeights(weights: NamedWeights): void {
    this.#alive();
    v.plainObject('weights', weights);
    const current = this.getWeights();
    mergeWeights(current, weights);
    this.#writeAll(current);
  }

  #writeAll(w: NamedWeights): void {
    if (!this.#native) {
      this.#host = w;
      return;
    }
    const arena = allocFloat32('the parameter arena', this.#native.numParams);
    for (const p of this.#paramInfo) arena.set(w[p.name].data, p.offset);
    callNative(() => this.#native!.writeParams(arena));
  }

  /** The whole parameter arena (fast snapshot for callbacks). @internal */
  getWeightArena(): Float32Array {
    if (!this.#native) throw new NodetrainError(ERR.INVALID_STATE, 'The model is not compiled');
    return callNative(() => this.#native!.readParams());
  }

  /** @internal */
  setWeightArena(w: Float32Array): void {
    if (!this.#native) throw new NodetrainError(ERR.INVALID_STATE, 'The model is not compiled');
    callNative(() => this.#native!.writeParams(w));
  }

  /**
   * Saves the model into a folder (see saveModel): architecture, weights and optimizer state.
   * @example await model.save('./my-model');
   */
  async save(dir: string, options: SaveOptions = {}): Promise<void> {
    this.#alive();
    return saveModel(this, dir, options);
  }

  /**
   * The model as one self-contained safetensors file: weights, and in its `__metadata__` the
   * architecture, the compile options and the optimizer state; `loadModel(buffer)` reads it back
   * (or a stream of it), validated as a folder is. Queues behind a running fit.
   * @example const bytes = await model.toBuffer(); const { model: copy } = await loadModel(bytes); // bytes can go to S3, Redis, a database
   */
  toBuffer(options: SaveOptions = {}): Promise<Buffer> {
    if (this.#disposed) return Promise.reject(disposedError());
    return modelToBuffer(this, options);
  }

  // ---- compile --------------------------------------------------------------------------------------
  /**
   * Builds the native plan: parameters, gradients and optimizer state in contiguous arenas, one
   * fused optimizer pass per parameter group. Calling it again (e.g. after freezing layers) keeps
   * the weights; optimizer state is kept when the optimizer type and trainable layout are unchanged.
   * @throws TypeError / RangeError for invalid options or a loss that does not fit the output.
   * @throws NodetrainError ERR_NT_NO_DEVICE for `device: 'cuda'` where the build or the machine lacks CUDA.
   * @example model.compile({optimizer: adam({lr: 1e-3}), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy']});
   */
  compile(opts: CompileOptions): void {
    this.#alive();
    if (this.#fitting) {
      throw new NodetrainError(ERR.BUSY, 'The model cannot be recompiled while fit() runs; do it after fit() resolves');
    }
    const o = v.plainObject('compile options', opts);
    v.knownKeys('compile options', o, ['optimizer', 'loss', 'metrics', 'device', 'precision']);
    const device = checkDevice(o.device);
    const precision = v.optional(o.precision, 'float32' as Precision, (x) => v.oneOf('compile options.precision', x, PRECISIONS));
    const optimizer = resolveOptimizer(o.optimizer);
    const loss = resolveLoss(o.loss);
    const { kinds, names } = resolveMetrics(o.metrics, loss);
    const layerNames = new Set(this.layers.map((l) => l.name!));
    optimizer.paramGroups.forEach((g, i) =>
      g.layers.forEach((n, j) => {
        if (!layerNames.has(n)) throw v.rangeError('a layer name of this model', `paramGroups[${i}].layers[${j}]`, n);
      }),
    );
    const outW = this.outputWidth;
    if ((loss.name.includes('ategorical')) && outW < 2) {
      throw v.rangeError('an output of at least 2 units for categorical cross-entropy', 'loss', loss.name);
    }
    this.#compiled = { optimizer, loss, lossSpec: o.loss as LossSpec, metricKinds: kinds, metricNames: names, precision, device };
    this.#lrOverride = undefined;
    this.#rebuild(Math.max(this.#maxBatch, 32));
  }

  /** Replaces the optimizer's learning rate (a number or schedule) without touching its state. @internal */
  setLearningRate(lr: number | Schedule): void {
    this.#requireCompiled();
    this.#lrOverride = lr;
    callNative(() => this.#native!.setOptimizer(toNativeOptimizer(this.#compiled!.optimizer, lr), false));
  }

  /** Multiplies every group's learning rate (adaptive controllers). @internal */
  setLrMultiplier(m: number): void {
    this.#requireCompiled();
    callNative(() => this.#native!.setLrMultiplier(v.finiteNumber('multiplier', m, { min: 0 })));
  }

  /** Optimizer state (step count and moment arenas); restored by setOptimizerState. */
  getOptimizerState(): NativeOptimizerState {
    this.#requireCompiled();
    return callNative(() => this.#native!.readState());
  }

  /** @throws NodetrainError when the state belongs to another optimizer or layout. */
  setOptimizerState(s: NativeOptimizerState): void {
    this.#requireCompiled();
    callNative(() => this.#native!.writeState(s));
  }

  /** Forgets the optimizer's moments and step count. */
  resetOptimizerState(): void {
    this.#requireCompiled();
    callNative(() => this.#native!.resetOptimizer());
  }

  /** Number of optimizer steps taken. */
  get optimizerStep(): number {
    return this.#native ? this.#native.step : 0;
  }

  /** The optimizer's current base learning rate (a number or a schedule). */
  get learningRate(): number | Schedule | undefined {
    const lr = this.#lrOverride ?? this.#compiled?.optimizer.lr;
    return lr === 'auto' ? undefined : lr;
  }

  /** The multiplier controllers have applied to every group's learning rate. */
  get lrMultiplier(): number {
    return this.#native ? this.#native.lrMultiplier : 1;
  }

  /** The factor hypergradient descent has applied to the learning rate (1 when off). */
  get hyperMultiplier(): number {
    return this.#native ? this.#native.hyperMultiplier : 1;
  }

  /** Makes the gradients of the given optimizer steps (0-based) NaN: a test hook. @internal */
  injectNonFinite(steps: number[]): void {
    this.#requireCompiled();
    callNative(() => this.#native!.injectNonFinite(steps));
  }

  /**
   * Sets the device-memory budget for data sets in bytes (0: the device's own), on every device:
   * fit and evaluate stream sets larger than it in double-buffered chunks. A test hook. @internal
   */
  setDataBudget(bytes: number): void {
    this.#requireCompiled();
    callNative(() => this.#native!.setDataBudget(bytes));
  }

  /**
   * Runs this CPU model's updates through the device-resident update's deferred path (checks and
   * batch stats read back at the fit loop's guard-snapshot points, when the stats ring is full, at
   * every step while batch events are listened to, and at each epoch's end), with host twins.
   * `ringCapacity` (batches) shrinks the stats ring. A test hook. @internal
   */
  useHostDeferredUpdate(ringCapacity?: number): void {
    this.#requireCompiled();
    if (ringCapacity !== undefined) v.integer('ringCapacity', ringCapacity, 1, 2 ** 20);
    callNative(() => this.#native!.useHostDeferredUpdate(ringCapacity));
  }

  /** The global gradient norm of the last step. */
  get lastGradNorm(): number {
    return this.#native ? this.#native.lastGradNorm : 0;
  }

  #requireCompiled(): Compiled {
    this.#alive();
    if (!this.#compiled || !this.#native) throw notCompiled();
    return this.#compiled;
  }

  #groupOf(): (layer: string) => number {
    const groups = this.#compiled?.optimizer.paramGroups ?? [];
    return (name) => {
      const i = groups.findIndex((g) => g.layers.includes(name));
      return i < 0 ? 0 : i + 1;
    };
  }

  /** What a plan depends on besides the graph: each layer's trainable flag and batch-norm policy. */
  #currentLayout(): string {
    return this.#graph.nodes.map((n) => `${n.layer.trainable ? 1 : 0}${n.layer.statistics[0]}`).join('');
  }

  /** (Re)creates the native plan for batches up to maxBatch, carrying weights and optimizer state. */
  #rebuild(maxBatch: number): void {
    if (this.#fitting) {
      throw new NodetrainError(ERR.BUSY, 'The model cannot be recompiled or re-planned while fit() runs; do it after fit() resolves');
    }
    const prevWeights = this.getWeights();
    const prev = this.#native;
    const prevStateKey = this.#stateKey;
    const prevInfo = this.#paramInfo;
    let prevState: NativeOptimizerState | null = null;
    if (prev && prev.step > 0) prevState = callNative(() => prev.readState());
    const prevMultiplier = prev ? prev.lrMultiplier : 1;
    const c = this.#compiled;
    const loss = c?.loss ?? resolveLoss('meanSquaredError');
    this.#layoutKey = this.#currentLayout();
    const { nodes, output } = lowerGraph(this.#graph, this.#groupOf());
    const optimizer = c ? toNativeOptimizer(c.optimizer, baseLearningRate(c.optimizer.lr, this.#lrOverride)) : toNativeOptimizer(resolveOptimizer('sgd'));
    const spec = {
      nodes,
      output,
      loss: { kind: loss.name, huberDelta: loss.huberDelta },
      metrics: c?.metricKinds ?? [],
      optimizer,
      targetWidth: loss.sparse ? 1 : this.outputWidth,
      sparseLabels: loss.sparse,
      seed: this.#seed,
      precision: c?.precision ?? 'float32',
      device: c?.device ?? 'cpu',
    };
    const native = callNative(() => createNativeModel(spec, maxBatch));
    this.#native = native;
    // The old plan's memory goes now, not at the next garbage collection (inference in flight
    // keeps it until it finishes).
    if (prev && !prev.busy) prev.dispose();
    // Optimizer state only carries over to the same kind of optimizer (Adam's moments mean nothing
    // to RMSProp, though the arrays have the same length).
    const o = c?.optimizer;
    this.#stateKey = o ? `${o.type}|${o.amsgrad ?? false}|${o.centered ?? false}|${(o.momentum ?? 0) > 0}|${o.hypergradient !== null}` : '';
    this.#paramInfo = native.paramInfo();
    this.#maxBatch = maxBatch;
    this.#host = null;
    this.#writeAll(prevWeights);
    // A rate scaled by a controller (plateau reduction, divergence guard) stays scaled.
    if (prevMultiplier !== 1) native.setLrMultiplier(prevMultiplier);
    // Same trainable layout and optimizer: keep the moments.
    const sameLayout =
      prevState !== null &&
      prevStateKey === this.#stateKey &&
      prevInfo.length === this.#paramInfo.length &&
      prevInfo.every((p, i) => p.name === this.#paramInfo[i].name && p.offset === this.#paramInfo[i].offset && p.trainable === this.#paramInfo[i].trainable);
    if (sameLayout && prevState) {
      try {
        native.writeState(prevState);
      } catch {
        native.resetOptimizer();
      }
    } else if (prevState && prevStateKey === this.#stateKey) {
      // Freezing, unfreezing or regrouping moved parameters: each parameter that stays trainable
      // keeps its moments (found by name); newly trainable ones start from zero.
      try {
        native.writeState(remapState(prevState, prevInfo, this.#paramInfo, native.numTrainable));
      } catch {
        native.resetOptimizer();
      }
    }
  }

  /** A plan for batches of `batch` rows (training needs the whole batch). */
  #ensureBatch(batch: number): NativeModel {
    this.#alive();
    if (!this.#native || batch > this.#maxBatch || this.#layoutKey !== this.#currentLayout()) this.#rebuild(Math.max(batch, this.#maxBatch, 32));
    return this.#native!;
  }

  /** Evaluate and predict run in chunks of the plan's batch size: they only need some plan. */
  #ensurePlan(): NativeModel {
    this.#alive();
    if (!this.#native || this.#layoutKey !== this.#currentLayout()) this.#rebuild(Math.max(this.#maxBatch, 32));
    return this.#native!;
  }

  // ---- training (train/trainer.ts) -----------------------------------------------------------------
  /**
   * Trains for a number of epochs on a native thread; the event loop stays free. Accepts
   * `fit(x, y, options)` or `fit(dataset, options)`.
   * @returns the History (per-epoch loss, metrics, validation values and learning rate)
   * @throws TypeError / RangeError for invalid data or options (before training starts);
   *   NodetrainError ERR_NT_NON_FINITE when the loss diverges; an AbortError when `signal` aborts
   *   (the model stays usable; `error.history` holds the completed epochs).
   * @example const h = await model.fit(xTrain, yTrain, {epochs: 10, batchSize: 64, validationSplit: 0.1});
   */
  fit(data: Dataset, options?: FitOptions): Promise<History>;
  fit(x: XInput, y: YInput, options?: FitOptions): Promise<History>;
  fit(x: XInput | Dataset, y?: YInput | FitOptions, options?: FitOptions): Promise<History> {
    return defaultTrainer.fit(this, x, y, options);
  }

  /**
   * One optimisation step on one batch (for custom training loops).
   * @returns the batch's loss and metrics, and the learning rate used
   * @example const {loss} = await model.trainOnBatch(xb, yb);
   */
  trainOnBatch(x: XInput, y: YInput): Promise<Logs> {
    return defaultTrainer.trainOnBatch(this, x, y);
  }

  /**
   * Mean loss and metrics over a data set, in inference mode (off the main thread).
   * @example const {loss, accuracy} = await model.evaluate(xTest, yTest);
   */
  evaluate(data: Dataset, options?: { batchSize?: number }): Promise<Logs>;
  evaluate(x: XInput, y: YInput, options?: { batchSize?: number }): Promise<Logs>;
  evaluate(x: XInput | Dataset, y?: YInput | { batchSize?: number }, options?: { batchSize?: number }): Promise<Logs> {
    return defaultTrainer.evaluate(this, x, y, options);
  }

  /**
   * Model outputs for x, in inference mode (off the main thread).
   * @returns a float32 Tensor [n, outputs] (probabilities for a softmax output)
   * @example const probs = await model.predict(xTest);
   */
  predict(x: XInput, options: { batchSize?: number } = {}): Promise<Tensor> {
    return defaultTrainer.predict(this, x, options);
  }
}

/** Moves per-parameter optimizer state from one trainable layout to another, by parameter name. */
function remapState(s: NativeOptimizerState, from: NativeParamInfo[], to: NativeParamInfo[], numTrainable: number): NativeOptimizerState {
  const old = new Map(from.filter((p) => p.trainable).map((p) => [p.name, p]));
  const move = (a: Float32Array | undefined): Float32Array | undefined => {
    if (!a || a.length === 0) return a;
    const out = new Float32Array(numTrainable);
    for (const p of to) {
      const q = p.trainable ? old.get(p.name) : undefined;
      if (q && q.size === p.size && q.offset + q.size <= a.length) out.set(a.subarray(q.offset, q.offset + q.size), p.offset);
    }
    return out;
  };
  return { step: s.step, m: move(s.m)!, v: move(s.v)!, vmax: move(s.vmax)!, hyper: s.hyper, hyperDir: move(s.hyperDir) };
}

// Explicit resource management where the runtime has it (`using m = ...`, `await using m = ...`).
const symbols = Symbol as unknown as { dispose?: symbol; asyncDispose?: symbol };
const proto = Model.prototype as unknown as Record<symbol, unknown>;
if (typeof symbols.dispose === 'symbol') {
  proto[symbols.dispose] = function (this: Model): void {
    this.dispose();
  };
}
if (typeof symbols.asyncDispose === 'symbol') {
  proto[symbols.asyncDispose] = function (this: Model): Promise<void> {
    return this.disposeAsync();
  };
}

function disposedError(): NodetrainError {
  return new NodetrainError(ERR.DISPOSED, 'The model was disposed; it cannot be used any more');
}

function notCompiled(): NodetrainError {
  return new NodetrainError(ERR.NOT_COMPILED, 'The model must be compiled first: call model.compile({optimizer, loss})');
}
