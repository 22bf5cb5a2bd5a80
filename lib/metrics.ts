/**
 * Metrics computed natively per batch and averaged over the epoch. 'accuracy' (or 'acc') picks
 * binary, categorical or sparse categorical accuracy from the loss, as Keras does.
 */
import type { ResolvedLoss } from './losses';
import * as v from './validate';

export const METRICS = ['accuracy', 'acc', 'binaryAccuracy', 'categoricalAccuracy', 'sparseCategoricalAccuracy', 'mse', 'mae', 'meanSquaredError', 'meanAbsoluteError'] as const;
export type MetricName = (typeof METRICS)[number];

/** Native metric ids and the names they are reported under. @internal */
export function resolveMetrics(x: unknown, loss: ResolvedLoss): { kinds: number[]; names: string[] } {
  if (x === undefined) return { kinds: [], names: [] };
  const list = Array.isArray(x) ? x : [x];
  const kinds: number[] = [];
  const names: string[] = [];
  list.forEach((m, i) => {
    const name = v.oneOf(`metrics[${i}]`, m, METRICS);
    let kind: number;
    switch (name) {
      case 'accuracy':
      case 'acc':
        if (loss.sparse) kind = 2;
        else if (loss.name.startsWith('binary')) kind = 0;
        else if (loss.name.startsWith('categorical')) kind = 1;
        else throw v.rangeError('a classification loss for the accuracy metric (or binaryAccuracy / categoricalAccuracy)', 'metrics', loss.name);
        break;
      case 'binaryAccuracy':
        kind = 0;
        break;
      case 'categoricalAccuracy':
        kind = 1;
        break;
      case 'sparseCategoricalAccuracy':
        if (!loss.sparse) throw v.rangeError('a sparse loss for sparseCategoricalAccuracy', 'metrics', loss.name);
        kind = 2;
        break;
      case 'mse':
      case 'meanSquaredError':
        kind = 3;
        break;
      default:
        kind = 4;
    }
    if (loss.sparse && (kind === 0 || kind === 1 || kind >= 3)) throw v.rangeError('a metric usable with integer labels', `metrics[${i}]`, name);
    kinds.push(kind);
    names.push(name);
  });
  return { kinds, names };
}
