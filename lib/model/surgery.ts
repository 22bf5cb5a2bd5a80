/**
 * Head surgery on model graphs: cut a graph at a layer (its body: that layer and everything it
 * depends on) and optionally append a new head. Layers are copied (same names, configs and
 * trainable flags), so the new model and the old one never share mutable state; the caller copies
 * the body's weights into the new model.
 */
import { dense } from '../layers/dense';
import type { ActivationName } from '../layers/common';
import { layerFromJSON, layerToJSON } from '../layers/layer';
import type { Layer } from '../layers/layer';
import { layerDefinition } from '../layers/registry';
import * as v from '../validate';
import type { Graph, GraphNode } from './graph';

/** Copy of a layer: same config, name, trainable flag and batch-norm policy. */
function cloneLayer(l: Layer): Layer {
  const c = layerFromJSON(layerToJSON(l));
  c.statistics = l.statistics;
  return c;
}

/** The graph up to and including node `at` (its ancestors, in order), with copied layers. */
export function cutGraph(g: Graph, at: number): Graph {
  const keep = new Set<number>();
  const visit = (i: number): void => {
    if (keep.has(i)) return;
    keep.add(i);
    g.nodes[i].inputs.forEach(visit);
  };
  visit(at);
  const order = [...keep].sort((a, b) => a - b);
  const index = new Map(order.map((i, k) => [i, k]));
  const nodes: GraphNode[] = order.map((i) => ({ layer: cloneLayer(g.nodes[i].layer), inputs: g.nodes[i].inputs.map((j) => index.get(j)!), width: g.nodes[i].width }));
  return { nodes, output: index.get(at)! };
}

/** The node index of a layer name. @throws RangeError when absent or the input. */
export function nodeOf(g: Graph, name: unknown, what: string): number {
  const names = g.nodes.filter((n) => n.layer.type !== 'input').map((n) => n.layer.name!);
  const s = v.string(what, name);
  const i = g.nodes.findIndex((n) => n.layer.name === s && n.layer.type !== 'input');
  if (i < 0) throw v.rangeError(`one of the layer names ${names.map((x) => `'${x}'`).join(', ')}`, what, s);
  return i;
}

/**
 * Where the default head starts: the output's nearest ancestor chain is walked back past the last
 * layer with weights and the parameter-free layers after it (softmax activations, dropout); the
 * body ends at that layer's input.
 */
export function defaultCut(g: Graph): number {
  let i = g.output;
  const weighted = (k: number): boolean => layerDefinition(g.nodes[k].layer.type).params(g.nodes[k].layer.config as never, [1], 1).length > 0;
  while (!weighted(i)) {
    if (g.nodes[i].inputs.length !== 1) break;
    i = g.nodes[i].inputs[0];
  }
  if (g.nodes[i].inputs.length !== 1 || layerDefinition(g.nodes[g.nodes[i].inputs[0]].layer.type).arity === 0) {
    throw v.rangeError("a model with a body below its last weighted layer (pass 'at')", 'replaceHead', v.described('none'));
  }
  return g.nodes[i].inputs[0];
}

export interface HeadOptions {
  /** Output units of the new head. */
  units: number;
  /** Its activation (default 'linear'; 'softmax' for a classifier). */
  activation?: ActivationName;
  /** The last body layer the head is appended to (default: the input of the old head). */
  at?: string;
  /** Name of the new head layer (default 'head', made unique). */
  name?: string;
  /** Seed of the new model, and so of the head's initial weights (default: the model's seed + 1). */
  seed?: number;
}

/** The graph of body + new dense head. */
export function headGraph(g: Graph, opts: HeadOptions): Graph {
  const o = v.plainObject('replaceHead options', opts);
  v.knownKeys('replaceHead options', o, ['units', 'activation', 'at', 'name', 'seed']);
  const at = o.at === undefined ? defaultCut(g) : nodeOf(g, o.at, 'at');
  const body = cutGraph(g, at);
  const used = new Set(body.nodes.map((n) => n.layer.name));
  let name = o.name === undefined ? 'head' : v.string('name', o.name);
  if (o.name === undefined) for (let k = 1; used.has(name); k++) name = `head_${k}`;
  else if (used.has(name)) throw v.rangeError('a layer name the body does not use', 'name', name);
  const head = dense({ units: o.units as number, activation: o.activation as ActivationName | undefined, name });
  const width = body.nodes[body.output].width;
  body.nodes.push({ layer: head, inputs: [body.output], width: layerDefinition('dense').outputWidth(head.config as never, [width]) });
  return { nodes: body.nodes, output: body.nodes.length - 1 };
}
