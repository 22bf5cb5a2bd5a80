/**
 * Metrics computed natively per batch and averaged over the epoch. 'accuracy' (or 'acc') picks
 * binary, categorical or sparse categorical accuracy from the loss, as Keras does.
 */
import type { ResolvedLoss } from './losses';
import type { NativeMetric } from './native/enums';
import * as v from './validate';

export const METRICS = ['accuracy', 'acc', 'binaryAccuracy', 'categoricalAccuracy', 'sparseCategoricalAccuracy', 'mse', 'mae', 'meanSquaredError', 'meanAbsoluteError'] as const;
export type MetricName = (typeof METRICS)[number];

/** Native metric ids and the names they are reported under. @internal */
export function resolveMetrics(x: unknown, loss: ResolvedLoss): { kinds: NativeMetric[]; names: string[] } {
  if (x === undefined) return { kinds: [], names: [] };
  const list = Array.isArray(x) ? x : [x];
  const kinds: NativeMetric[] = [];
  const names: string[] = [];
  list.forEach((m, i) => {
    const name = v.oneOf(`metrics[${i}]`, m, METRICS);
    let kind: NativeMetric;
    switch (name) {
      case 'accuracy':
      case 'acc':
        if (loss.sparse) kind = 'sparseCategoricalAccuracy';
        else if (loss.name.startsWith('binary')) kind = 'binaryAccuracy';
        else if (loss.name.startsWith('categorical')) kind = 'categoricalAccuracy';
        else throw v.rangeError('a classification loss for the accuracy metric (or binaryAccuracy / categoricalAccuracy)', 'metrics', loss.name);
        break;
      case 'binaryAccuracy':
        kind = 'binaryAccuracy';
        break;
      case 'categoricalAccuracy':
        kind = 'categoricalAccuracy';
        break;
      case 'sparseCategoricalAccuracy':
        if (!loss.sparse) throw v.rangeError('a sparse loss for sparseCategoricalAccuracy', 'metrics', loss.name);
        kind = 'sparseCategoricalAccuracy';
        break;
      case 'mse':
      case 'meanSquaredError':
        kind = 'meanSquaredError';
        break;
      default:
        kind = 'meanAbsoluteError';
    }
    if (loss.sparse && kind !== 'sparseCategoricalAccuracy') throw v.rangeError('a metric usable with integer labels', `metrics[${i}]`, name);
    kinds.push(kind);
    names.push(name);
  });
  return { kinds, names };
}
