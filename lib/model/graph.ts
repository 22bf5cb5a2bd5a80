/**
 * Model graphs: the topologically ordered nodes a model compiles to, built from a sequential
 * list of layers or from the functional API's symbolic tensors.
 */
import type { NativeNodeSpec } from '../native/engine';
import { Layer, LayerConfig, SymbolicTensor, outputWidth } from '../layers/layers';
import * as v from '../validate';

/** One layer application in the graph. */
export interface GraphNode {
  layer: Layer;
  /** Indices of input nodes (earlier in the list). */
  inputs: number[];
  width: number;
}

export interface Graph {
  nodes: GraphNode[];
  /** Index of the output node. */
  output: number;
}

/** Assigns unique names `<type>_<n>` to unnamed layers and rejects duplicates. */
function nameLayers(nodes: GraphNode[]): void {
  const used = new Set<string>();
  for (const n of nodes) {
    if (n.layer.name) {
      if (used.has(n.layer.name)) throw v.rangeError('unique layer names', 'layers', v.described(`the name '${n.layer.name}' twice`));
      used.add(n.layer.name);
    }
  }
  const counters = new Map<string, number>();
  for (const n of nodes) {
    if (n.layer.name) continue;
    const base = n.layer.type;
    let k = counters.get(base) ?? 0;
    let name: string;
    do {
      k += 1;
      name = `${base}_${k}`;
    } while (used.has(name));
    counters.set(base, k);
    n.layer.name = name;
    used.add(name);
  }
}

/** Builds the graph of a sequential model. */
export function sequentialGraph(layers: unknown, inputShape?: number[]): Graph {
  if (!Array.isArray(layers) || layers.length === 0) throw v.typeError('a non-empty array of layers', 'layers', layers);
  layers.forEach((l, i) => {
    if (!(l instanceof Layer)) throw v.typeError('a Layer (from dense(), dropout(), ...)', `layers[${i}]`, l);
  });
  const ls = layers as Layer[];
  if (new Set(ls).size !== ls.length) throw v.rangeError('each layer object once (create a new layer for each position)', 'layers', v.described('a repeated layer'));
  const first = ls[0].config as LayerConfig & { inputShape?: number[] };
  const shape = inputShape ?? first.inputShape;
  if (!shape) throw v.rangeError('an inputShape on the first layer (e.g. dense({units, inputShape: [784]}))', 'layers[0]', v.described('no inputShape'));
  const inputLayer = new Layer({ type: 'input', name: 'input', shape: [shape[0]], trainable: true });
  const nodes: GraphNode[] = [{ layer: inputLayer, inputs: [], width: shape[0] }];
  ls.forEach((l, i) => {
    if (l.type === 'add' || l.type === 'concatenate' || l.type === 'input') {
      throw v.rangeError('a single-input layer in a sequential model (use the functional API for merges)', `layers[${i}]`, l.type);
    }
    const prev = nodes.length - 1;
    nodes.push({ layer: l, inputs: [prev], width: outputWidth(l.config, nodes[prev].width) });
  });
  nameLayers(nodes);
  return { nodes, output: nodes.length - 1 };
}

/** Builds the graph of a functional model from its input and output symbolic tensors. */
export function functionalGraph(inputs: unknown, outputs: unknown): Graph {
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  if (ins.length !== 1 || !(ins[0] instanceof SymbolicTensor) || ins[0].layer.type !== 'input') {
    throw v.typeError('one input symbolic tensor (from input())', 'inputs', inputs);
  }
  if (outs.length !== 1 || !(outs[0] instanceof SymbolicTensor)) throw v.typeError('one output symbolic tensor', 'outputs', outputs);
  const input = ins[0] as SymbolicTensor;
  const output = outs[0] as SymbolicTensor;
  // Depth-first post-order from the output gives a topological order containing only used nodes.
  const order: SymbolicTensor[] = [];
  const index = new Map<SymbolicTensor, number>();
  const visiting = new Set<SymbolicTensor>();
  const visit = (t: SymbolicTensor): void => {
    if (index.has(t)) return;
    if (visiting.has(t)) throw v.rangeError('an acyclic graph', 'outputs', v.described('a cycle'));
    visiting.add(t);
    if (t.layer.type === 'input' && t !== input) {
      throw v.rangeError('a graph that depends only on the given input', 'outputs', v.described(`another input '${t.layer.name ?? 'input'}'`));
    }
    t.inputs.forEach(visit);
    visiting.delete(t);
    index.set(t, order.length);
    order.push(t);
  };
  visit(output);
  if (!index.has(input)) throw v.rangeError('outputs computed from the given input', 'outputs', v.described('a graph without it'));
  const seenLayers = new Set<Layer>();
  const nodes: GraphNode[] = order.map((t) => {
    if (seenLayers.has(t.layer)) {
      throw v.rangeError('each layer applied once (weight sharing is not supported)', 'outputs', v.described(`layer '${t.layer.name ?? t.layer.type}' applied twice`));
    }
    seenLayers.add(t.layer);
    return { layer: t.layer, inputs: t.inputs.map((i) => index.get(i)!), width: t.width };
  });
  // Put the input first for readability in summaries (it has no inputs, so order stays valid).
  nameLayers(nodes);
  return { nodes, output: index.get(output)! };
}

/**
 * Lowers the graph to native nodes. A softmax activation becomes its own node after the layer (so
 * cross-entropy can fuse with it); other dense activations are fused into the GEMM epilogue.
 * Returns the native nodes, the native output index and, per graph node, its native index.
 */
export function lowerGraph(g: Graph, groupOf: (layerName: string) => number): { nodes: NativeNodeSpec[]; output: number; map: number[] } {
  const out: NativeNodeSpec[] = [];
  const map: number[] = [];
  g.nodes.forEach((n) => {
    const c = n.layer.config;
    const name = n.layer.name!;
    const inputs = n.inputs.map((i) => map[i]);
    const group = groupOf(name);
    const trainable = n.layer.trainable;
    let idx: number;
    switch (c.type) {
      case 'input':
        idx = out.push({ op: 'input', name, inputs: [], attrs: { units: n.width } }) - 1;
        break;
      case 'dense': {
        const soft = c.activation === 'softmax';
        idx = out.push({ op: 'dense', name, inputs, attrs: { units: c.units, useBias: c.useBias, activation: soft ? 'linear' : c.activation, alpha: c.alpha ?? 0 }, group, trainable }) - 1;
        if (soft) idx = out.push({ op: 'softmax', name: `${name}/softmax`, inputs: [idx] }) - 1;
        break;
      }
      case 'activation':
        idx = c.activation === 'softmax'
          ? out.push({ op: 'softmax', name, inputs }) - 1
          : out.push({ op: 'activation', name, inputs, attrs: { activation: c.activation, alpha: c.alpha ?? 0 } }) - 1;
        break;
      case 'dropout':
        idx = out.push({ op: 'dropout', name, inputs, attrs: { rate: c.rate } }) - 1;
        break;
      case 'layerNormalization':
      case 'batchNormalization':
        idx = out.push({
          op: c.type === 'layerNormalization' ? 'layerNorm' : 'batchNorm',
          name,
          inputs,
          attrs: { epsilon: c.epsilon, momentum: c.momentum ?? 0.99, center: c.center, scale: c.scale },
          group,
          trainable,
        }) - 1;
        break;
      case 'add':
        idx = out.push({ op: 'add', name, inputs }) - 1;
        break;
      case 'concatenate':
        idx = out.push({ op: 'concat', name, inputs }) - 1;
        break;
    }
    map.push(idx);
  });
  return { nodes: out, output: map[g.output], map };
}
