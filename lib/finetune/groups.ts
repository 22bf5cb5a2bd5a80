/**
 * Layer groups and discriminative learning rates (Howard & Ruder 2018, "Universal Language Model
 * Fine-tuning", ULMFiT; fastai's `slice(lo, hi)`): lower layers learn more slowly than the head.
 */
import type { Model } from '../model/model';
import type { ParamGroup } from '../optim/optimizers';
import { layerDefinition } from '../layers/registry';
import * as v from '../validate';

/**
 * The model's layers split into groups, bottom to top: a group starts at each layer with weights
 * other than a normalisation or PReLU (those, and parameter-free layers, join the group before
 * them). With `count`, neighbouring groups are merged into that many groups of about equal size.
 * @throws RangeError for a count above the number of groups.
 * @example layerGroups(model, 3) // [['dense_1', 'batchNormalization_1'], ['dense_2'], ['head']]
 */
export function layerGroups(model: Model, count?: number): string[][] {
  const groups: string[][] = [];
  for (const l of model.layers) {
    const starts = layerDefinition(l.type).params(l.config as never, [1], 1).some((p) => p.role === 'kernel');
    if (starts || groups.length === 0) groups.push([l.name!]);
    else groups[groups.length - 1].push(l.name!);
  }
  if (count === undefined) return groups;
  const n = v.integer('count', count, 1, groups.length);
  const out: string[][] = [];
  for (let i = 0; i < n; i++) out.push(groups.slice(Math.floor((i * groups.length) / n), Math.floor(((i + 1) * groups.length) / n)).flat());
  return out;
}

/**
 * fastai's even_mults: n rates spread geometrically from lo to hi (a single group gets hi).
 * @throws RangeError unless 0 < lo <= hi.
 * @example sliceRates(1e-5, 1e-3, 3) // [1e-5, 1e-4, 1e-3]
 */
export function sliceRates(lo: number, hi: number, n: number): number[] {
  v.finiteNumber('lo', lo, { min: 0, minExclusive: true });
  v.finiteNumber('hi', hi, { min: lo });
  v.integer('n', n, 1);
  if (n === 1) return [hi];
  const step = (hi / lo) ** (1 / (n - 1));
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? hi : lo * step ** i));
}

/** Rates per group: a list with one rate per group, or a {lo, hi} slice. */
export type GroupRates = number[] | { lo: number; hi: number };

/**
 * Parameter groups (for the optimizer's `paramGroups`) giving each layer group its rate.
 * @throws RangeError when a list of rates does not have one rate per group (never truncated).
 * @example adam({ paramGroups: discriminativeGroups(layerGroups(model, 3), { lo: 1e-5, hi: 1e-3 }) })
 */
export function discriminativeGroups(groups: string[][], rates: GroupRates): ParamGroup[] {
  let lrs: number[];
  if (Array.isArray(rates)) {
    if (rates.length !== groups.length) throw v.rangeError(`one rate per layer group (${groups.length})`, 'rates', v.described(`${rates.length} rates`));
    lrs = rates.map((r, i) => v.finiteNumber(`rates[${i}]`, r, { min: 0 }));
  } else {
    const o = v.plainObject('rates', rates);
    v.knownKeys('rates', o, ['lo', 'hi']);
    lrs = sliceRates(o.lo as number, o.hi as number, groups.length);
  }
  return groups.map((layers, i) => ({ layers: [...layers], lr: lrs[i] }));
}
