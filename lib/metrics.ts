/**
 * Metrics computed natively per batch and accumulated over the epoch. 'accuracy' (or 'acc') picks
 * binary, categorical or sparse categorical accuracy from the loss, as Keras does. 'rmse' and 'r2'
 * (scikit-learn's r2_score, averaged over output columns) are for regression; 'precision',
 * 'recall' and 'f1' are of the positive class for one output column (threshold 0.5) and macro
 * averages over the classes otherwise (argmax). Each is exact over the epoch (computed from summed
 * statistics), not a mean of batch values.
 */
import type { ResolvedLoss } from './losses';
import type { NativeMetric } from './native/enums';
import * as v from './validate';

export const METRICS = [
  'accuracy',
  'acc',
  'binaryAccuracy',
  'categoricalAccuracy',
  'sparseCategoricalAccuracy',
  'mse',
  'mae',
  'meanSquaredError',
  'meanAbsoluteError',
  'rmse',
  'rootMeanSquaredError',
  'r2',
  'precision',
  'recall',
  'f1',
] as const;
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
      case 'rmse':
      case 'rootMeanSquaredError':
        kind = 'rootMeanSquaredError';
        break;
      case 'r2':
      case 'precision':
      case 'recall':
      case 'f1':
        kind = name;
        break;
      default:
        kind = 'meanAbsoluteError';
    }
    const labelsOk = kind === 'sparseCategoricalAccuracy' || kind === 'precision' || kind === 'recall' || kind === 'f1';
    if (loss.sparse && !labelsOk) throw v.rangeError('a metric usable with integer labels', `metrics[${i}]`, name);
    kinds.push(kind);
    names.push(name);
  });
  return { kinds, names };
}
