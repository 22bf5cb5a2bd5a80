/**
 * Model: a graph of layers compiled into a native plan. One training step (forward, loss, backward,
 * fused optimizer update) is one native call; fit() runs whole epochs on a native thread and
 * reports through callbacks, so the Node event loop stays free.
 */
import { Dataset, gatherRows } from '../data/dataset';
import { createRng } from '../data/random';
import { NodetrainError, callNative, wrapNativeError } from '../errors';
import { initialize } from '../layers/initializers';
import { Layer, SymbolicTensor } from '../layers/layers';
import { layerDefinition } from '../layers/registry';
import type { LossSpec, ResolvedLoss } from '../losses';
import { resolveLoss } from '../losses';
import type { MetricName } from '../metrics';
import { resolveMetrics } from '../metrics';
import { binding } from '../native';
import { createNativeModel } from '../native/engine';
import type { NativeMetric } from '../native/enums';
import type { NativeFitEvent, NativeModel, NativeOptimizerState, NativeParamInfo } from '../native/engine';
import type { OptimizerConfig, OptimizerSpec } from '../optim/optimizers';
import { resolveOptimizer, toNativeOptimizer } from '../optim/optimizers';
import { findLearningRate } from '../schedules/controllers/lr-finder';
import { oneCycle } from '../schedules/index';
import type { Schedule } from '../schedules/index';
import { Tensor, bufferOf, empty, tensor } from '../tensor/tensor';
import { Callback, History, Logs, ProgressBar, TrainableModel } from '../train/callbacks';
import * as v from '../validate';
import { Graph, functionalGraph, graphParams, lowerGraph, sequentialGraph } from './graph';

export interface CompileOptions {
  optimizer: OptimizerSpec;
  loss: LossSpec;
  metrics?: MetricName[] | MetricName;
}

export type XInput = Tensor | number[][] | Float32Array;
export type YInput = Tensor | number[][] | number[] | Float32Array | Int32Array;

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  shuffle?: boolean;
  /** Fraction of the samples (the last ones, before shuffling, as Keras) held out for validation. */
  validationSplit?: number;
  validationData?: Dataset | [XInput, YInput];
  callbacks?: Callback[];
  /** Cancels training at the next batch; fit() then rejects with an AbortError. */
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
}

/** Named weights: shape and values (float32) per parameter, e.g. 'dense_1/kernel'. */
export type NamedWeights = Record<string, { shape: number[]; data: Float32Array }>;

interface Compiled {
  optimizer: OptimizerConfig;
  loss: ResolvedLoss;
  lossSpec: LossSpec;
  metricKinds: NativeMetric[];
  metricNames: string[];
}

const verified = new WeakSet<Tensor>();

function checkFiniteTensor(t: Tensor, name: string): void {
  if (t.dtype !== 'float32' || verified.has(t)) return;
  const d = t.data();
  const cols = t.rank === 2 ? t.shape[1] : 1;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      const at = t.rank === 2 ? `${name}[${Math.floor(i / cols)}][${i % cols}]` : `${name}[${i}]`;
      throw v.rangeError('a finite number', at, d[i]);
    }
  }
  verified.add(t);
}

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
  #fitting = false;
  /** Set to true (e.g. in a callback) to stop training at the next batch. */
  stopTraining = false;

  /** @internal Use sequential() or model(). */
  constructor(graph: Graph, seed: number) {
    this.#graph = graph;
    this.#seed = seed;
    this.#host = this.#initialWeights();
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
  get compileConfig(): { optimizer: OptimizerConfig; loss: LossSpec; metrics: string[] } | null {
    const c = this.#compiled;
    return c ? { optimizer: c.optimizer, loss: c.lossSpec, metrics: c.metricNames } : null;
  }

  /** Layer by name. @throws RangeError when absent. */
  getLayer(name: string): Layer {
    const l = this.layers.find((x) => x.name === name);
    if (!l) throw v.rangeError(`one of the layer names ${this.layers.map((x) => `'${x.name}'`).join(', ')}`, 'name', name);
    return l;
  }

  #initialWeights(): NamedWeights {
    // Draw eagerly, in graph order, so initial values depend only on the seed and layer order.
    const rng = createRng(this.#seed);
    const w: NamedWeights = {};
    for (const p of graphParams(this.#graph)) {
      const data = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
      initialize(p.init, p.fanIn, p.fanOut, rng, data);
      w[p.name] = { shape: p.shape, data };
    }
    return w;
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
    const rows: string[][] = [['Layer (type)', 'Output shape', 'Params', 'Inputs']];
    const params = graphParams(this.#graph);
    let total = 0;
    let trainable = 0;
    this.#graph.nodes.forEach((n, node) => {
      let count = 0;
      let train = 0;
      for (const p of params) {
        if (p.node !== node) continue;
        const size = p.shape.reduce((a, b) => a * b, 1);
        count += size;
        if (n.layer.trainable && p.trainable) train += size;
      }
      total += count;
      trainable += train;
      const kind = layerDefinition(n.layer.type).label(n.layer.config);
      rows.push([`${n.layer.name!} (${kind})${n.layer.trainable ? '' : ' [frozen]'}`, `[null, ${n.width}]`, String(count), n.inputs.map((i) => this.#graph.nodes[i].layer.name!).join(', ')]);
    });
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
    const sep = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
    return [sep, line(rows[0]), sep, ...rows.slice(1).map(line), sep, `Total params: ${total}`, `Trainable params: ${trainable}`, `Non-trainable params: ${total - trainable}`, sep].join('\n');
  }

  // ---- weights ------------------------------------------------------------------------------------
  /**
   * Copies of all weights by name.
   * @throws NodetrainError ERR_NT_BUSY while training runs (allowed inside epoch callbacks).
   */
  getWeights(): NamedWeights {
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
    const o = v.plainObject('weights', weights);
    const current = this.getWeights();
    for (const [k, w] of Object.entries(o)) {
      const cur = current[k];
      if (!cur) throw v.rangeError(`a weight name of this model (${Object.keys(current).slice(0, 6).join(', ')}, ...)`, 'weights', k);
      const ww = v.plainObject(`weights['${k}']`, w);
      if (!(v.isTypedArrayOf(ww.data, 'Float32Array'))) throw v.typeError('a Float32Array', `weights['${k}'].data`, ww.data);
      if (!Array.isArray(ww.shape) || ww.shape.join(',') !== cur.shape.join(',') || ww.data.length !== cur.data.length) {
        throw v.rangeError(`shape [${cur.shape.join(', ')}]`, `weights['${k}']`, v.described(`shape [${String(ww.shape)}] with ${(ww.data as Float32Array).length} values`));
      }
      for (let i = 0; i < ww.data.length; i++) {
        if (!Number.isFinite(ww.data[i])) throw v.rangeError('finite values', `weights['${k}'].data[${i}]`, ww.data[i]);
      }
      cur.data.set(ww.data as Float32Array);
    }
    this.#writeAll(current);
  }

  #writeAll(w: NamedWeights): void {
    if (!this.#native) {
      this.#host = w;
      return;
    }
    const arena = new Float32Array(this.#native.numParams);
    for (const p of this.#paramInfo) arena.set(w[p.name].data, p.offset);
    callNative(() => this.#native!.writeParams(arena));
  }

  /** The whole parameter arena (fast snapshot for callbacks). @internal */
  getWeightArena(): Float32Array {
    if (!this.#native) throw new NodetrainError('ERR_NT_INVALID_STATE', 'The model is not compiled');
    return callNative(() => this.#native!.readParams());
  }

  /** @internal */
  setWeightArena(w: Float32Array): void {
    if (!this.#native) throw new NodetrainError('ERR_NT_INVALID_STATE', 'The model is not compiled');
    callNative(() => this.#native!.writeParams(w));
  }

  /**
   * Saves the model into a folder (see saveModel): architecture, weights and optimizer state.
   * @example await model.save('./my-model');
   */
  async save(dir: string, options: { includeOptimizer?: boolean; metadata?: Record<string, unknown> } = {}): Promise<void> {
    const { saveModel } = await import('../io/model');
    return saveModel(this, dir, options);
  }

  // ---- compile --------------------------------------------------------------------------------------
  /**
   * Builds the native plan: parameters, gradients and optimizer state in contiguous arenas, one
   * fused optimizer pass per parameter group. Calling it again (e.g. after freezing layers) keeps
   * the weights; optimizer state is kept when the optimizer type and trainable layout are unchanged.
   * @throws TypeError / RangeError for invalid options or a loss that does not fit the output.
   * @example model.compile({optimizer: adam({lr: 1e-3}), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy']});
   */
  compile(opts: CompileOptions): void {
    if (this.#fitting) {
      throw new NodetrainError('ERR_NT_BUSY', 'The model cannot be recompiled while fit() runs; do it after fit() resolves');
    }
    const o = v.plainObject('compile options', opts);
    v.knownKeys('compile options', o, ['optimizer', 'loss', 'metrics']);
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
    this.#compiled = { optimizer, loss, lossSpec: o.loss as LossSpec, metricKinds: kinds, metricNames: names };
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

  /** The global gradient norm of the last step. */
  get lastGradNorm(): number {
    return this.#native ? this.#native.lastGradNorm : 0;
  }

  #requireCompiled(): void {
    if (!this.#compiled || !this.#native) {
      throw new NodetrainError('ERR_NT_NOT_COMPILED', 'The model must be compiled first: call model.compile({optimizer, loss})');
    }
  }

  #groupOf(): (layer: string) => number {
    const groups = this.#compiled?.optimizer.paramGroups ?? [];
    return (name) => {
      const i = groups.findIndex((g) => g.layers.includes(name));
      return i < 0 ? 0 : i + 1;
    };
  }

  /** (Re)creates the native plan for batches up to maxBatch, carrying weights and optimizer state. */
  #rebuild(maxBatch: number): void {
    if (this.#fitting) {
      throw new NodetrainError('ERR_NT_BUSY', 'The model cannot be recompiled or re-planned while fit() runs; do it after fit() resolves');
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
    const { nodes, output } = lowerGraph(this.#graph, this.#groupOf());
    const optimizer = c ? toNativeOptimizer(c.optimizer, this.#lrOverride ?? (c.optimizer.lr === 'auto' ? 1e-3 : undefined)) : toNativeOptimizer(resolveOptimizer('sgd'));
    const spec = {
      nodes,
      output,
      loss: { kind: loss.name, huberDelta: loss.huberDelta },
      metrics: c?.metricKinds ?? [],
      optimizer,
      targetWidth: loss.sparse ? 1 : this.outputWidth,
      sparseLabels: loss.sparse,
      seed: this.#seed,
    };
    const native = callNative(() => createNativeModel(spec, maxBatch));
    this.#native = native;
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
    }
  }

  /** Makes sure a plan exists for batches of `batch` rows (training needs the whole batch). */
  #ensureBatch(batch: number): void {
    if (!this.#native || batch > this.#maxBatch) this.#rebuild(Math.max(batch, this.#maxBatch, 32));
  }

  /** Evaluate and predict run in chunks of the plan's batch size: they only need some plan. */
  #ensurePlan(): void {
    if (!this.#native) this.#rebuild(Math.max(this.#maxBatch, 32));
  }

  // ---- data -----------------------------------------------------------------------------------------
  #toX(name: string, x: unknown): { t: Tensor; owned: boolean } {
    let t: Tensor;
    let owned = false;
    if (x instanceof Tensor) {
      bufferOf(x, name);
      t = x;
    } else if (Array.isArray(x) || v.isTypedArrayOf(x, 'Float32Array')) {
      t = v.isTypedArrayOf(x, 'Float32Array') ? tensor(x, [x.length / this.inputWidth, this.inputWidth]) : tensor(x as number[][]);
      owned = true;
    } else {
      throw v.typeError('a Tensor, a nested number array or a Float32Array', name, x);
    }
    if (t.dtype !== 'float32' || t.rank !== 2 || t.shape[1] !== this.inputWidth) {
      const err = v.rangeError(`a float32 Tensor of shape [n, ${this.inputWidth}]`, name, t);
      if (owned) t.dispose();
      throw err;
    }
    checkFiniteTensor(t, name);
    return { t, owned };
  }

  #toY(name: string, y: unknown, rows: number): { t: Tensor; owned: boolean } {
    const loss = this.#compiled!.loss;
    let t: Tensor;
    let owned = false;
    if (y instanceof Tensor) {
      bufferOf(y, name);
      t = y;
    } else if (Array.isArray(y) || v.isTypedArrayOf(y, 'Float32Array') || v.isTypedArrayOf(y, 'Int32Array')) {
      if (loss.sparse && !(v.isTypedArrayOf(y, 'Float32Array'))) {
        const flat = v.isTypedArrayOf(y, 'Int32Array') ? y : Int32Array.from(y as number[], (val, i) => {
          if (!Number.isInteger(val) || val < 0) throw v.rangeError('a non-negative integer class label', `${name}[${i}]`, val);
          return val;
        });
        t = tensor(flat, [flat.length], 'int32');
      } else {
        t = v.isTypedArrayOf(y, 'Float32Array') || v.isTypedArrayOf(y, 'Int32Array') ? tensor(Float32Array.from(y)) : tensor(y as number[][]);
      }
      owned = true;
    } else {
      throw v.typeError('a Tensor, a number array or a typed array', name, y);
    }
    const fail = (what: string): never => {
      const err = v.rangeError(what, name, t);
      if (owned) t.dispose();
      throw err;
    };
    if (t.shape[0] !== rows) fail(`targets for ${rows} samples (one per row of x)`);
    if (loss.sparse) {
      if (t.dtype !== 'int32' || t.rank !== 1) fail(`an int32 Tensor of shape [${rows}] with class labels for ${loss.name}`);
      const d = t.data();
      for (let i = 0; i < d.length; i++) {
        if (d[i] < 0 || d[i] >= this.outputWidth) throw v.rangeError(`a class label in [0, ${this.outputWidth - 1}]`, `${name}[${i}]`, d[i]);
      }
    } else {
      const k = t.rank === 1 ? 1 : t.shape[1];
      if (t.dtype !== 'float32' || t.rank > 2 || k !== this.outputWidth) {
        fail(`a float32 Tensor of shape [${rows}, ${this.outputWidth}]${t.dtype === 'int32' ? ` (integer labels need a sparse loss such as sparseCategoricalCrossentropy)` : ''}`);
      }
      checkFiniteTensor(t, name);
    }
    return { t, owned };
  }

  #data(name: string, x: unknown, y: unknown): { x: Tensor; y: Tensor; owned: Tensor[] } {
    if (x instanceof Dataset) return this.#data(name, x.x, x.y);
    const xs = this.#toX(`${name === 'data' ? '' : `${name}.`}x`, x);
    try {
      const ys = this.#toY(`${name === 'data' ? '' : `${name}.`}y`, y, xs.t.shape[0]);
      return { x: xs.t, y: ys.t, owned: [...(xs.owned ? [xs.t] : []), ...(ys.owned ? [ys.t] : [])] };
    } catch (e) {
      if (xs.owned) xs.t.dispose();
      throw e;
    }
  }

  #logs(prefix: string, loss: number, metrics: number[]): Logs {
    const out: Logs = { [`${prefix}loss`]: loss };
    this.#compiled!.metricNames.forEach((n, i) => (out[`${prefix}${n}`] = metrics[i]));
    return out;
  }

  // ---- training -------------------------------------------------------------------------------------
  /**
   * Trains for a number of epochs on a native thread; the event loop stays free. Accepts
   * `fit(x, y, options)` or `fit(dataset, options)`.
   * @returns the History (per-epoch loss, metrics, validation values and learning rate)
   * @throws TypeError / RangeError for invalid data or options (before training starts);
   *   NodetrainError ERR_NT_NON_FINITE when the loss diverges; an AbortError when `signal` aborts
   *   (the model stays usable; `error.history` holds the completed epochs).
   * @example const h = await model.fit(xTrain, yTrain, {epochs: 10, batchSize: 64, validationSplit: 0.1});
   */
  async fit(x: XInput | Dataset, y?: YInput | FitOptions, options?: FitOptions): Promise<History> {
    const holder = new Error();
    this.#requireCompiled();
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
    v.knownKeys('fit options', o, ['epochs', 'batchSize', 'shuffle', 'validationSplit', 'validationData', 'callbacks', 'signal', 'seed', 'verbose', 'initialEpoch', 'divergenceGuard', 'lr']);
    const guard = ((): { guard: boolean; guardMaxRetries: number; guardExplodeFactor: number; guardSnapshotEvery: number } => {
      const g = o.divergenceGuard;
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
    })();
    const autoLr = o.lr === undefined ? this.#compiled!.optimizer.lr === 'auto' : v.oneOf('lr', o.lr, ['auto'] as const) === 'auto';
    const epochs = v.optional(o.epochs, 1, (e) => v.integer('epochs', e, 1, 1e7));
    const batchSize = v.optional(o.batchSize, 32, (e) => v.integer('batchSize', e, 1, 1 << 20));
    const shuffle = v.optional(o.shuffle, true, (e) => v.boolean('shuffle', e));
    const split = v.optional(o.validationSplit, 0, (e) => v.finiteNumber('validationSplit', e, { min: 0, max: 1, maxExclusive: true }));
    const seed = v.optional(o.seed, Math.floor(Math.random() * 2 ** 31), (e) => v.integer('seed', e, 0, 2 ** 52));
    const verbose = v.optional(o.verbose, 0, (e) => v.integer('verbose', e, 0, 1));
    const initialEpoch = v.optional(o.initialEpoch, 0, (e) => v.integer('initialEpoch', e, 0, 1e7));
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
    if (signal !== undefined && (typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) throw v.typeError('an AbortSignal', 'signal', signal);
    if (o.validationData !== undefined && split > 0) throw v.rangeError('either validationSplit or validationData, not both', 'fit options', v.described('both'));

    const owned: Tensor[] = [];
    try {
      let { x: tx, y: ty, owned: o1 } = this.#data('data', xIn, yIn);
      owned.push(...o1);
      let vx: Tensor | null = null;
      let vy: Tensor | null = null;
      if (split > 0) {
        const n = tx.shape[0];
        const nVal = Math.floor(n * split);
        if (nVal < 1 || nVal >= n) throw v.rangeError(`a split leaving at least one sample on each side of ${n}`, 'validationSplit', split);
        const trainIdx = Int32Array.from({ length: n - nVal }, (_, i) => i);
        const valIdx = Int32Array.from({ length: nVal }, (_, i) => n - nVal + i);
        const [a, b, c, d] = [gatherRows(tx, trainIdx), gatherRows(ty, trainIdx), gatherRows(tx, valIdx), gatherRows(ty, valIdx)];
        owned.push(a, b, c, d);
        [tx, ty, vx, vy] = [a, b, c, d];
      } else if (o.validationData !== undefined) {
        const vd = o.validationData;
        const pair = vd instanceof Dataset ? [vd.x, vd.y] : Array.isArray(vd) && vd.length === 2 ? vd : null;
        if (!pair) throw v.typeError('a Dataset or an [x, y] pair', 'validationData', vd);
        const r = this.#data('validationData', pair[0], pair[1]);
        owned.push(...r.owned);
        vx = r.x;
        vy = r.y;
      }
      this.#ensureBatch(batchSize);
      const native = this.#native!;
      const rows = tx.shape[0];
      const steps = Math.ceil(rows / batchSize);
      const history = new History();
      if (autoLr) {
        const r = await findLearningRate(this, { x: tx, y: ty }, { batchSize: Math.min(batchSize, rows), seed });
        const peak = Number.isFinite(r.suggested) && r.suggested > 0 ? r.suggested : 1e-3;
        history.lrFinder = { suggested: peak, suggestions: r.suggestions, lrs: r.lrs, losses: r.losses };
        this.setLearningRate(oneCycle({ maxLr: peak, totalSteps: Math.max(4, runEpochs * steps) }));
      }
      const all: Callback[] = [...callbacks];
      if (verbose === 1) all.push(new ProgressBar({ epochs, stepsPerEpoch: steps }));
      all.push(history);
      for (const cb of all) cb.setModel?.(this);
      // Only user callbacks may need the model paused at epoch boundaries (they read or write
      // weights there, or set stopTraining, which then takes effect by the next epoch at the
      // latest); History and the progress bar take their events without stalling training.
      const syncEpochs = callbacks.length > 0;
      this.stopTraining = false;
      if (signal?.aborted) throw abortError(history);
      let cbError: unknown = null;
      // onTrainBegin runs at the first epoch boundary, while the native thread waits: native.fit
      // is called synchronously below, so the data are pinned before any await.
      let began = false;
      const onAbort = (): void => native.stop();
      signal?.addEventListener('abort', onAbort);
      const epochLogs = (l: NonNullable<Extract<NativeFitEvent, { type: 'epochEnd' }>['logs']>): Logs => {
        const logs = this.#logs('', l.loss, l.metrics);
        if (l.valLoss !== undefined) Object.assign(logs, this.#logs('val_', l.valLoss, l.valMetrics ?? []));
        logs.lr = l.lr;
        if (l.recoveries > 0) logs.recoveries = l.recoveries;
        return logs;
      };
      const onEvent = (e: NativeFitEvent): void => {
        if (e.type === 'batchEnd') {
          const logs: Logs = { ...this.#logs('', e.loss, e.metrics), size: e.size, lr: e.lr };
          for (const cb of all) {
            try {
              cb.onBatchEnd?.(e.batch, logs);
            } catch (err) {
              cbError ??= err;
              native.stop();
            }
          }
          if (this.stopTraining) native.stop();
          return;
        }
        void (async () => {
          try {
            if (e.type === 'epochBegin') {
              if (!began) {
                began = true;
                for (const cb of all) await cb.onTrainBegin?.({});
              }
              for (const cb of all) await cb.onEpochBegin?.(e.epoch, {});
            } else {
              const logs = epochLogs(e.logs);
              for (const cb of all) await cb.onEpochEnd?.(e.epoch, logs);
            }
          } catch (err) {
            cbError ??= err;
          } finally {
            const stop = this.stopTraining || cbError !== null || (signal?.aborted ?? false);
            if (syncEpochs) native.resumeFit(stop);
            else if (stop) native.stop();
          }
        })();
      };
      this.#fitting = true;
      try {
        await native.fit(bufferOf(tx, 'x'), bufferOf(ty, 'y'), rows, this.inputWidth, vx ? bufferOf(vx, 'validation x') : null, vy ? bufferOf(vy, 'validation y') : null, vx ? vx.shape[0] : 0,
          { epochs: runEpochs, initialEpoch, batchSize, shuffle, seed, valBatchSize: this.#maxBatch, batchEvents: all.some((cb) => cb.onBatchEnd), syncEpochs, ...guard }, onEvent);
      } catch (err) {
        throw wrapNativeError(err, holder);
      } finally {
        this.#fitting = false;
        signal?.removeEventListener('abort', onAbort);
      }
      const last = history.history;
      const lastLogs: Logs = {};
      for (const [k, vals] of Object.entries(last)) lastLogs[k] = vals[vals.length - 1];
      for (const cb of all) {
        try {
          await cb.onTrainEnd?.(lastLogs);
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

  /**
   * One optimisation step on one batch (for custom training loops).
   * @returns the batch's loss and metrics, and the learning rate used
   * @example const {loss} = await model.trainOnBatch(xb, yb);
   */
  async trainOnBatch(x: XInput, y: YInput): Promise<Logs> {
    const holder = new Error();
    this.#requireCompiled();
    const d = this.#data('data', x, y);
    try {
      const rows = d.x.shape[0];
      if (rows < 1) throw v.rangeError('at least one sample', 'x', d.x);
      this.#ensureBatch(rows);
      const r = await this.#native!.trainBatch(bufferOf(d.x, 'x'), bufferOf(d.y, 'y'), rows, this.inputWidth).catch((e) => {
        throw wrapNativeError(e, holder);
      });
      return { ...this.#logs('', r.loss, r.metrics), lr: r.lr };
    } finally {
      d.owned.forEach((t) => t.dispose());
    }
  }

  /**
   * Mean loss and metrics over a data set, in inference mode (off the main thread).
   * @example const {loss, accuracy} = await model.evaluate(xTest, yTest);
   */
  async evaluate(x: XInput | Dataset, y?: YInput | { batchSize?: number }, options?: { batchSize?: number }): Promise<Logs> {
    const holder = new Error();
    this.#requireCompiled();
    const opts = x instanceof Dataset ? ((y as { batchSize?: number }) ?? {}) : (options ?? {});
    const batchSize = v.optional(opts.batchSize, 256, (b) => v.integer('batchSize', b, 1, 1 << 20));
    const d = x instanceof Dataset ? this.#data('data', x.x, x.y) : this.#data('data', x, y);
    try {
      const rows = d.x.shape[0];
      if (rows < 1) throw v.rangeError('at least one sample', 'x', d.x);
      this.#ensurePlan();
      const r = await this.#native!.evaluate(bufferOf(d.x, 'x'), bufferOf(d.y, 'y'), rows, this.inputWidth, Math.min(batchSize, this.#maxBatch)).catch((e) => {
        throw wrapNativeError(e, holder);
      });
      return this.#logs('', r.loss, r.metrics);
    } finally {
      d.owned.forEach((t) => t.dispose());
    }
  }

  /**
   * Model outputs for x, in inference mode (off the main thread).
   * @returns a float32 Tensor [n, outputs] (probabilities for a softmax output)
   * @example const probs = await model.predict(xTest);
   */
  async predict(x: XInput, options: { batchSize?: number } = {}): Promise<Tensor> {
    const holder = new Error();
    const o = v.plainObject('predict options', options);
    v.knownKeys('predict options', o, ['batchSize']);
    const batchSize = v.optional(o.batchSize, 256, (b) => v.integer('batchSize', b, 1, 1 << 20));
    const { t, owned } = this.#toX('x', x);
    try {
      const rows = t.shape[0];
      const out = empty([rows, this.outputWidth]);
      if (rows === 0) return out;
      this.#ensurePlan();
      try {
        await this.#native!.predict(bufferOf(t, 'x'), rows, this.inputWidth, Math.min(batchSize, this.#maxBatch), bufferOf(out, 'out'));
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

function abortError(history: History): Error {
  const e = new Error('Training was aborted') as Error & { code: string; history: History };
  e.name = 'AbortError';
  e.code = 'ABORT_ERR';
  e.history = history;
  return e;
}

/**
 * A model from a list of layers applied one after another; the first needs `inputShape`.
 * @throws TypeError / RangeError for invalid layers.
 * @example const m = sequential([dense({units: 64, activation: 'relu', inputShape: [4]}), dense({units: 3, activation: 'softmax'})]);
 */
export function sequential(layers: Layer[], options: { seed?: number; inputShape?: number[] } = {}): Model {
  const o = v.plainObject('sequential options', options);
  v.knownKeys('sequential options', o, ['seed', 'inputShape']);
  const seed = v.optional(o.seed, Math.floor(Math.random() * 2 ** 31), (s) => v.integer('seed', s, 0, 2 ** 52));
  const shape = o.inputShape === undefined ? undefined : [v.integer('inputShape[0]', (o.inputShape as number[])[0], 1)];
  return new Model(sequentialGraph(layers, shape), seed);
}

/**
 * A model from the functional API: a DAG from one input to one output (residual and skip
 * connections through add() and concatenate()).
 * @example
 * const x = input({shape: [16]});
 * const h = dense({units: 16, activation: 'relu'}).apply(x);
 * const y = dense({units: 1}).apply(add().apply(x, h));
 * const m = model({inputs: x, outputs: y});
 */
export function model(args: { inputs: SymbolicTensor; outputs: SymbolicTensor; seed?: number }): Model {
  const o = v.plainObject('model options', args);
  v.knownKeys('model options', o, ['inputs', 'outputs', 'seed']);
  const seed = v.optional(o.seed, Math.floor(Math.random() * 2 ** 31), (s) => v.integer('seed', s, 0, 2 ** 52));
  return new Model(functionalGraph(o.inputs, o.outputs), seed);
}
