/**
 * Scores of finished predictions (the figures a user reads after training, not the per-batch
 * training metrics): a classification report (accuracy, per-class precision / recall / F1, macro
 * and weighted F1, the confusion matrix) and a regression report (RMSE, MAE, R²). Definitions are
 * scikit-learn's (`classification_report`, `r2_score`): a class that is never predicted has
 * precision 0, one that never occurs has recall 0, and F1 is 0 when precision + recall is 0.
 */
import * as v from '../validate';

export interface ClassificationReport {
  accuracy: number;
  /** Unweighted mean of the per-class F1 over the classes that occur or are predicted. */
  macroF1: number;
  /** Mean of the per-class F1 weighted by each class's count in yTrue. */
  weightedF1: number;
  precision: number[];
  recall: number[];
  f1: number[];
  support: number[];
  /** confusion[t][p]: rows with true class t predicted as p. */
  confusion: number[][];
}

export interface RegressionReport {
  rmse: number;
  mae: number;
  /** 1 - SS_res / SS_tot; 0 for a constant target predicted exactly, -Infinity never (SS_tot 0 gives 0 or -1). */
  r2: number;
}

function labelsOf(name: string, x: ArrayLike<number>, k: number): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isInteger(x[i]) || x[i] < 0 || x[i] >= k) throw v.rangeError(`class ids in [0, ${k})`, `${name}[${i}]`, x[i]);
  }
}

/**
 * Scores class predictions against the true classes.
 * @param numClasses the number of classes (ids are 0 .. numClasses - 1)
 * @throws RangeError for arrays of different lengths, no rows, or ids out of range.
 * @example classificationReport([0, 1, 1], [0, 1, 0], 2).accuracy // 2/3
 */
export function classificationReport(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): ClassificationReport {
  const k = v.integer('numClasses', numClasses, 1, 1 << 20);
  if (yTrue.length !== yPred.length) throw v.rangeError(`${yTrue.length} predictions`, 'yPred', yPred);
  if (yTrue.length === 0) throw v.rangeError('at least one row', 'yTrue', yTrue);
  labelsOf('yTrue', yTrue, k);
  labelsOf('yPred', yPred, k);
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) {
    confusion[yTrue[i]][yPred[i]]++;
    if (yTrue[i] === yPred[i]) correct++;
  }
  const precision: number[] = [];
  const recall: number[] = [];
  const f1: number[] = [];
  const support: number[] = [];
  let macro = 0;
  let present = 0;
  let weighted = 0;
  for (let c = 0; c < k; c++) {
    const tp = confusion[c][c];
    let predicted = 0;
    let actual = 0;
    for (let j = 0; j < k; j++) {
      predicted += confusion[j][c];
      actual += confusion[c][j];
    }
    const p = predicted ? tp / predicted : 0;
    const r = actual ? tp / actual : 0;
    const f = p + r > 0 ? (2 * p * r) / (p + r) : 0;
    precision.push(p);
    recall.push(r);
    f1.push(f);
    support.push(actual);
    if (predicted > 0 || actual > 0) {
      macro += f;
      present++;
    }
    weighted += f * actual;
  }
  return {
    accuracy: correct / yTrue.length,
    macroF1: present ? macro / present : 0,
    weightedF1: weighted / yTrue.length,
    precision,
    recall,
    f1,
    support,
    confusion,
  };
}

/**
 * Scores numeric predictions against true values.
 * @throws RangeError for arrays of different lengths or no rows.
 * @example regressionReport([1, 2, 3], [1, 2, 4]).mae // 1/3
 */
export function regressionReport(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): RegressionReport {
  if (yTrue.length !== yPred.length) throw v.rangeError(`${yTrue.length} predictions`, 'yPred', yPred);
  const n = yTrue.length;
  if (n === 0) throw v.rangeError('at least one row', 'yTrue', yTrue);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i];
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  let abs = 0;
  for (let i = 0; i < n; i++) {
    const e = yPred[i] - yTrue[i];
    ssRes += e * e;
    abs += Math.abs(e);
    ssTot += (yTrue[i] - mean) ** 2;
  }
  // scikit-learn: a constant target scores 1 when predicted exactly and 0 otherwise.
  const r2 = ssTot > 0 ? 1 - ssRes / ssTot : ssRes === 0 ? 1 : 0;
  return { rmse: Math.sqrt(ssRes / n), mae: abs / n, r2 };
}

/** A confusion matrix as aligned text (rows: true class, columns: predicted). */
export function formatConfusion(confusion: number[][], classNames: readonly string[]): string {
  const names = classNames.map((s) => (s.length > 12 ? `${s.slice(0, 11)}~` : s));
  const w = Math.max(4, ...names.map((s) => s.length), ...confusion.flat().map((x) => String(x).length));
  const pad = (s: string) => s.padStart(w);
  const head = `${' '.repeat(w)} | ${names.map(pad).join(' ')}   <- predicted`;
  const rows = confusion.map((r, i) => `${pad(names[i])} | ${r.map((x) => pad(String(x))).join(' ')}`);
  return [head, '-'.repeat(head.length - 15), ...rows].join('\n');
}
