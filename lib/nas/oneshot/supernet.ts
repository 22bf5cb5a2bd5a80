/**
 * One-shot, weight-sharing search over an MLP space: a slimmable supernet (Yu et al. 2019) of dense
 * layers at the space's maximum depth and widths, trained once with single-path uniform sampling
 * (Guo et al. 2020: each step trains one candidate drawn uniformly from the space). A candidate of
 * depth d and widths k_1..k_d runs on the supernet's own native plan (Model.setActiveWidths in the
 * engine): layer i computes its first k_i units from the top-left block of the supernet's weights,
 * layers beyond d are bypassed, and the head reads the first k_d rows of its kernel. So candidates
 * read, and while training update, the supernet's one parameter arena; nothing is copied. Scoring
 * recomputes batch-norm statistics per candidate on training batches (the running statistics
 * of a supernet are a mixture over paths) and then evaluates on the validation data.
 */
import * as nt from '../api';
import { internalsOf } from '../../model/internals';
import { lowerGraph } from '../../model/graph';
import type { NativeModel } from '../../native/engine';
import { bufferOf } from '../../tensor/tensor';
import type { MlpObjectiveSpec, MlpSpace } from '../mlp';
import { loadData } from '../mlp';
import type { OneShotContext, OneShotStrategy } from '../oneshot';
import { Params, cardinality, deriveSeed, valueAt } from '../space';

export interface SupernetOptions {
  /** Supernet training epochs (default 10). */
  epochs?: number;
  /** Rows per supernet step (default 64). */
  batchSize?: number;
  /** Adam's rate for the supernet (default 2e-3). */
  lr?: number;
  /** Training batches that recompute batch-norm statistics per candidate (default 8). */
  calibrationBatches?: number;
  /** Validation rows a candidate is scored on (default: all). */
  scoreRows?: number;
}

const SEARCHED = /^(depth|width_\d+)$/;

/** The one-shot strategy over a slimmable MLP supernet. */
export class SlimmableSupernet implements OneShotStrategy {
  readonly name = 'oneshot';
  readonly space: MlpSpace;
  readonly spec: MlpObjectiveSpec;
  readonly options: Required<Omit<SupernetOptions, 'scoreRows'>> & { scoreRows?: number };
  /** Path counts per depth sampled while training (a check that sampling is uniform). */
  readonly sampledDepths = new Map<number, number>();
  #model: nt.Model | null = null;
  #blocks: number[][] = [];  // native nodes of each hidden layer
  #slimmed: number[] = [];   // the dense node of each hidden layer
  #numNodes = 0;
  #hasNorm = false;
  #maxWidths: number[] = [];

  /**
   * @throws RangeError for a space that searches anything but depth and widths, or has skip connections.
   * @example const s = new SlimmableSupernet(mlpSpace({ depth: [1, 3], widths: [32, 64, 128], activations: 'relu', dropout: 0, normalization: 'batch', skip: false, optimizers: 'adam', lr: 1e-3, batchSize: 64, weightDecay: 0 }), spec);
   */
  constructor(space: MlpSpace, spec: MlpObjectiveSpec, options: SupernetOptions = {}) {
    const skip = space.fixed.skip;
    if (skip !== false) throw new RangeError(`Expected skip: false for the one-shot supernet but received ${JSON.stringify(skip ?? 'search')}`);
    for (const p of space.params)
      if (!SEARCHED.test(p.name) && cardinality(p) !== 1)
        throw new RangeError(`Expected a space that searches only depth and widths for the one-shot supernet but received a searched "${p.name}"`);
    this.space = space;
    this.spec = spec;
    this.options = { epochs: options.epochs ?? 10, batchSize: options.batchSize ?? 64, lr: options.lr ?? 2e-3, calibrationBatches: options.calibrationBatches ?? 8, scoreRows: options.scoreRows };
  }

  /** The supernet (after train()). */
  get model(): nt.Model {
    if (!this.#model) throw new RangeError('Expected a trained supernet but received none: call train() first');
    return this.#model;
  }

  /** The largest value each parameter can take: the supernet's configuration. */
  #maxParams(): Params {
    const p: Params = {};
    for (const s of this.space.params) {
      const n = cardinality(s);
      let best = valueAt(s, 0);
      for (let k = 1; k < n; k++) {
        const v = valueAt(s, k);
        if (typeof v === 'number' && typeof best === 'number' && v > best) best = v;
      }
      p[s.name] = best;
    }
    return p;
  }

  /** Per native node: 0 (full), k (units of a hidden dense layer) or -1 (beyond the depth). */
  activeWidths(params: Params): number[] {
    const p = this.space.resolve(params);
    const depth = p.depth as number;
    const w = new Array<number>(this.#numNodes).fill(0);
    this.#blocks.forEach((nodes, i) => {
      if (i < depth) w[this.#slimmed[i]] = p[`width_${i + 1}`] as number;
      else for (const n of nodes) w[n] = -1;
    });
    return w;
  }

  async train(ctx: OneShotContext): Promise<void> {
    const data = await loadData(this.spec);
    const sp = this.space;
    const maxP = sp.resolve(this.#maxParams());
    const m = sp.build(this.#maxParams(), { inputs: data.inputs, outputs: data.outputs, task: data.task, seed: deriveSeed(ctx.seed, 0x5e7) });
    m.compile({ optimizer: nt.adam({ lr: this.options.lr }), loss: data.task === 'classification' ? 'sparseCategoricalCrossentropy' : 'meanSquaredError', metrics: data.task === 'classification' ? ['accuracy'] : ['mae'] });
    // Map the graph's hidden blocks (each starts at a hidden dense layer) onto native nodes.
    const g = m.graph;
    const { nodes, map } = lowerGraph(g, () => 0);
    this.#numNodes = nodes.length;
    this.#hasNorm = nodes.some((n) => n.op === 'batchNorm');
    const depth = maxP.depth as number;
    const blocks: number[][] = [];
    const slimmed: number[] = [];
    let cur = -1; // the hidden layer whose block this graph node belongs to (-1: input or head)
    g.nodes.forEach((n, gi) => {
      const first = gi === 0 ? 0 : map[gi - 1] + 1;
      const own = Array.from({ length: map[gi] - first + 1 }, (_, j) => first + j);
      if (n.layer.type === 'dense') {
        cur = blocks.length < depth ? blocks.length : -1;
        if (cur >= 0) {
          blocks.push([]);
          slimmed.push(own.find((k) => nodes[k].op === 'dense')!);
        }
      }
      if (cur >= 0) blocks[cur].push(...own);
    });
    this.#blocks = blocks;
    this.#slimmed = slimmed;
    this.#maxWidths = slimmed.map((_, i) => maxP[`width_${i + 1}`] as number);
    this.#model = m;

    const bs = this.options.batchSize;
    const native = internalsOf(m).planForBatch(bs);
    const rng = nt.createRng(deriveSeed(ctx.seed, 0x0a7));
    const n = data.train.size;
    for (let epoch = 0; epoch < this.options.epochs; epoch++) {
      if (ctx.signal?.aborted) throw Object.assign(new Error('The one-shot search was aborted'), { name: 'AbortError' });
      const shuffled = data.train.subset(nt.permutation(n, deriveSeed(ctx.seed, 0xe0, epoch)));
      try {
        for (let start = 0; start < n; start += bs) {
          const rows = Math.min(bs, n - start);
          const path = sp.sample(rng);
          const d = sp.resolve(path).depth as number;
          this.sampledDepths.set(d, (this.sampledDepths.get(d) ?? 0) + 1);
          native.setActiveWidths(this.activeWidths(path));
          const b = shuffled.slice(start, start + rows);
          try {
            await native.trainBatch(bufferOf(b.x, 'x'), bufferOf(b.y, 'y'), rows, data.inputs);
          } finally {
            b.x.dispose();
            b.y.dispose();
          }
        }
      } finally {
        shuffled.x.dispose();
        shuffled.y.dispose();
      }
    }
    native.setActiveWidths([]);
  }

  /** Validation accuracy (classification) or loss (regression) of each candidate with inherited weights. */
  async score(candidates: readonly Params[], ctx: OneShotContext): Promise<number[]> {
    const m = this.model;
    const data = await loadData(this.spec);
    const bs = this.options.batchSize;
    const native: NativeModel = internalsOf(m).planForBatch(bs);
    const calib = data.train.subset(nt.permutation(data.train.size, deriveSeed(ctx.seed, 0xca1)).subarray(0, Math.min(data.train.size, bs * this.options.calibrationBatches)));
    const rowsV = Math.min(this.options.scoreRows ?? data.val.size, data.val.size);
    const val = data.val.slice(0, rowsV);
    const saved = this.#hasNorm ? m.getWeightArena() : null;
    const out: number[] = [];
    try {
      for (const c of candidates) {
        if (ctx.signal?.aborted) throw Object.assign(new Error('The one-shot search was aborted'), { name: 'AbortError' });
        native.setActiveWidths(this.activeWidths(c));
        if (this.#hasNorm) {
          // Cumulative mean over the calibration batches: momentum t/(t+1) at batch t.
          for (let t = 0, start = 0; start < calib.size; t++, start += bs) {
            const rows = Math.min(bs, calib.size - start);
            const b = calib.slice(start, start + rows);
            try {
              await native.calibrateBatch(bufferOf(b.x, 'x'), rows, data.inputs, t / (t + 1));
            } finally {
              b.x.dispose();
              b.y.dispose();
            }
          }
        }
        const r = await native.evaluate(bufferOf(val.x, 'x'), bufferOf(val.y, 'y'), rowsV, data.inputs, bs);
        out.push(data.task === 'classification' ? r.metrics[0] : r.loss);
      }
    } finally {
      native.setActiveWidths([]);
      if (saved) m.setWeightArena(saved); // the supernet's own moving statistics come back
      calib.x.dispose();
      calib.y.dispose();
      val.x.dispose();
      val.y.dispose();
    }
    return out;
  }

  /** Widths of the supernet's hidden layers. */
  get maxWidths(): readonly number[] {
    return this.#maxWidths;
  }
}

/**
 * The one-shot strategy for an MLP space (searching depth and widths only).
 * @throws RangeError for a space the supernet cannot cover.
 * @example const r = await oneShotSearch(study, supernetStrategy(space, spec, { epochs: 10 }));
 */
export function supernetStrategy(space: MlpSpace, spec: MlpObjectiveSpec, options: SupernetOptions = {}): SlimmableSupernet {
  return new SlimmableSupernet(space, spec, options);
}
