/**
 * Layer selectors for freeze / unfreeze: a layer name, an index into model.layers (negative from
 * the end), a range {from, to} (indices or names, both inclusive), a predicate, {allBut: n} (every
 * layer except the last n layers that have weights), or an array of these.
 */
import type { Layer } from '../layers/layer';
import { layerDefinition } from '../layers/registry';
import * as v from '../validate';

export type LayerSelector =
  | string
  | number
  | { from?: number | string; to?: number | string }
  | { allBut: number }
  | ((layer: Layer, index: number) => boolean)
  | LayerSelector[];

/** How freeze() treats batch-norm layers it selects. */
export type BatchNormPolicy = 'all' | 'affine' | 'statistics' | 'none';

function hasWeights(l: Layer, widths: number): boolean {
  return layerDefinition(l.type).params(l.config as never, [widths], widths).length > 0;
}

/** The layers a selector picks (in model order). @throws RangeError for names or indices the model lacks. */
export function selectLayers(layers: Layer[], sel: unknown, name = 'selector'): Layer[] {
  const index = (x: unknown, what: string): number => {
    if (typeof x === 'string') {
      const i = layers.findIndex((l) => l.name === x);
      if (i < 0) throw v.rangeError(`one of the layer names ${layers.map((l) => `'${l.name}'`).join(', ')}`, what, x);
      return i;
    }
    const i = v.integer(what, x, -layers.length, layers.length - 1);
    return i < 0 ? layers.length + i : i;
  };
  if (sel === undefined) return [...layers];
  if (Array.isArray(sel)) {
    const set = new Set<Layer>();
    sel.forEach((s, i) => selectLayers(layers, s, `${name}[${i}]`).forEach((l) => set.add(l)));
    return layers.filter((l) => set.has(l));
  }
  if (typeof sel === 'string' || typeof sel === 'number') return [layers[index(sel, name)]];
  if (typeof sel === 'function') return layers.filter((l, i) => (sel as (l: Layer, i: number) => boolean)(l, i));
  const o = v.plainObject(name, sel);
  if ('allBut' in o) {
    v.knownKeys(name, o, ['allBut']);
    const n = v.integer(`${name}.allBut`, o.allBut, 0, layers.length);
    const weighted = layers.map((l, i) => (hasWeights(l, 1) ? i : -1)).filter((i) => i >= 0);
    const cut = n === 0 ? layers.length : weighted.length >= n ? weighted[weighted.length - n] : 0;
    return layers.slice(0, cut);
  }
  v.knownKeys(name, o, ['from', 'to']);
  const from = o.from === undefined ? 0 : index(o.from, `${name}.from`);
  const to = o.to === undefined ? layers.length - 1 : index(o.to, `${name}.to`);
  return layers.slice(from, to + 1);
}

/** Applies freeze with a batch-norm policy to the selected layers. */
export function freezeLayers(layers: Layer[], policy: BatchNormPolicy): void {
  for (const l of layers) {
    if (l.type !== 'batchNormalization') {
      l.trainable = false;
      continue;
    }
    if (policy === 'none') continue;
    l.trainable = policy === 'statistics';
    l.statistics = policy === 'all' ? 'auto' : policy === 'affine' ? 'batch' : 'moving';
  }
}

/** Makes the selected layers trainable again (batch norm back to following its trainable flag). */
export function unfreezeLayers(layers: Layer[]): void {
  for (const l of layers) {
    l.trainable = true;
    l.statistics = 'auto';
  }
}
