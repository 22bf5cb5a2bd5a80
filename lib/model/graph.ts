/**
 * Model graphs: the topologically ordered nodes a model compiles to, built from a sequential
 * list of layers or from the functional API's symbolic tensors.
 */
import type { NativeNodeSpec } from '../native/engine';
import { Layer, SymbolicTensor } from '../layers/layers';
import type { LayerConfig } from '../layers/layers';
import { layerDefinition } from '../layers/registry';
import type { ParamSpec } from '../layers/registry';
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
    const def = layerDefinition(l.type);
    if (def.arity !== 1) {
      throw v.rangeError('a single-input layer in a sequential model (use the functional API for merges)', `layers[${i}]`, l.type);
    }
    const prev = nodes.length - 1;
    nodes.push({ layer: l, inputs: [prev], width: def.outputWidth(l.config, [nodes[prev].width]) });
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

/** A parameter of a graph node: its full name `<layer>/<role>` and its layer's name. */
export interface GraphParam extends ParamSpec {
  name: string;
  layer: string;
  /** Index of the node in the graph. */
  node: number;
}

/** The parameters every node declares, in graph order (the arena and initialisation order). */
export function graphParams(g: Graph): GraphParam[] {
  const out: GraphParam[] = [];
  g.nodes.forEach((n, node) => {
    const layer = n.layer.name!;
    const widths = n.inputs.map((i) => g.nodes[i].width);
    for (const p of layerDefinition(n.layer.type).params(n.layer.config, widths, n.width)) out.push({ ...p, name: `${layer}/${p.role}`, layer, node });
  });
  return out;
}

/**
 * Lowers the graph to native nodes: each layer's definition emits its own (a dense layer with a
 * softmax emits a dense node and a softmax node). Returns the native nodes, the native output
 * index and, per graph node, the native index of its output.
 */
export function lowerGraph(g: Graph, groupOf: (layerName: string) => number): { nodes: NativeNodeSpec[]; output: number; map: number[] } {
  const out: NativeNodeSpec[] = [];
  const map: number[] = [];
  const emit = (spec: NativeNodeSpec): number => out.push(spec) - 1;
  g.nodes.forEach((n) => {
    const name = n.layer.name!;
    map.push(
      layerDefinition(n.layer.type).lower(n.layer.config, {
        name,
        inputs: n.inputs.map((i) => map[i]),
        inputWidths: n.inputs.map((i) => g.nodes[i].width),
        width: n.width,
        group: groupOf(name),
        trainable: n.layer.trainable,
        statistics: n.layer.statistics,
        emit,
      }),
    );
  });
  return { nodes: out, output: map[g.output], map };
}
