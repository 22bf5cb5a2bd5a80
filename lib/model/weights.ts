/**
 * Named weights: the initial values every layer declares (through the layer registry), checked
 * replacement, and the parameter table of Model.summary().
 */
import { allocFloat32 } from '../alloc';
import { createRng } from '../data/random';
import { initialize } from '../layers/initializers';
import { layerDefinition } from '../layers/registry';
import * as v from '../validate';
import { Graph, graphParams } from './graph';

/** Named weights: shape and values (float32) per parameter, e.g. 'dense_1/kernel'. */
export type NamedWeights = Record<string, { shape: number[]; data: Float32Array }>;

/** Initial weights, drawn eagerly in graph order so they depend only on the seed and layer order. */
export function initialWeights(graph: Graph, seed: number): NamedWeights {
  const rng = createRng(seed);
  const w: NamedWeights = {};
  for (const p of graphParams(graph)) {
    const data = allocFloat32(`${p.name} of shape [${p.shape.join(', ')}]`, p.shape.reduce((a, b) => a * b, 1));
    initialize(p.init, p.fanIn, p.fanOut, rng, data);
    w[p.name] = { shape: p.shape, data };
  }
  return w;
}

/**
 * Copies `weights` into `current` (a copy of the model's): every name must exist with the same
 * shape and finite float32 values.
 */
export function mergeWeights(current: NamedWeights, weights: unknown): void {
  const o = v.plainObject('weights', weights);
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
}

/** A text table of layers, output shapes and parameter counts. */
export function summarize(graph: Graph): string {
  const rows: string[][] = [['Layer (type)', 'Output shape', 'Params', 'Inputs']];
  const params = graphParams(graph);
  let total = 0;
  let trainable = 0;
  graph.nodes.forEach((n, node) => {
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
    rows.push([`${n.layer.name!} (${kind})${n.layer.trainable ? '' : ' [frozen]'}`, `[null, ${n.width}]`, String(count), n.inputs.map((i) => graph.nodes[i].layer.name!).join(', ')]);
  });
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const sep = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  return [sep, line(rows[0]), sep, ...rows.slice(1).map(line), sep, `Total params: ${total}`, `Trainable params: ${trainable}`, `Non-trainable params: ${total - trainable}`, sep].join('\n');
}
