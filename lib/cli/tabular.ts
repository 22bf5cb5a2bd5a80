/**
 * The command line's tabular workflow: CSV files read as text columns, split by rows (stratified
 * for classification), encoded by a Preprocessor fitted on the training rows only, and scored
 * with the figures of the task. Uses only the public API.
 */
import * as nt from '../index';

/** The rows of a table at the given indices, in that order. */
export function selectRows(t: nt.CsvTable, rows: ArrayLike<number>): nt.CsvTable {
  const idx = Array.from(rows);
  return { names: t.names, columns: t.columns.map((c) => idx.map((i) => c[i])), rows: idx.length };
}

/**
 * Row indices for train / validation / test, shuffled with the seed. With class ids, every class
 * is split in the same proportions (a class with one row goes to training).
 */
export function splitRows(n: number, labels: ArrayLike<number> | null, test: number, validation: number, seed: number): { train: number[]; val: number[]; test: number[] } {
  const rng = nt.createRng(seed);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const k = labels ? labels[i] : 0;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(i);
  }
  const out = { train: [] as number[], val: [] as number[], test: [] as number[] };
  for (const k of [...groups.keys()].sort((a, b) => a - b)) {
    const g = nt.shuffleInPlace(groups.get(k)!, rng);
    const nTest = Math.round(g.length * test);
    const nVal = Math.round(g.length * validation);
    const nTrain = Math.max(1, g.length - nTest - nVal);
    g.forEach((row, i) => {
      if (i < nTrain) out.train.push(row);
      else if (i < nTrain + nVal) out.val.push(row);
      else out.test.push(row);
    });
  }
  nt.shuffleInPlace(out.train, rng);
  return out;
}

export interface TrainingDefaults {
  batchSize: number;
  epochs: number;
  patience: number;
  note: string;
}

/**
 * Batch size and epochs that give a small file enough optimizer steps: at least `minSteps`
 * updates (capped at 500 epochs), with early stopping on the validation loss when there is
 * validation data, so the cap is rarely reached.
 */
export function adaptiveDefaults(trainRows: number, hasValidation: boolean, given: { batchSize?: number; epochs?: number; patience?: number }, minSteps = 2000): TrainingDefaults {
  const batchSize = given.batchSize ?? Math.max(8, Math.min(64, 2 ** Math.floor(Math.log2(Math.max(1, trainRows / 16)))));
  const perEpoch = Math.ceil(trainRows / batchSize);
  const epochs = given.epochs ?? Math.min(500, Math.max(10, Math.ceil(minSteps / perEpoch)));
  const patience = given.patience ?? (hasValidation && given.epochs === undefined ? Math.max(5, Math.min(30, Math.round(epochs / 10))) : 0);
  const chosen: string[] = [];
  if (given.batchSize === undefined) chosen.push(`batch ${batchSize}`);
  if (given.epochs === undefined) chosen.push(`up to ${epochs} epochs (${perEpoch} steps each, at least ${minSteps} steps)`);
  if (given.patience === undefined && patience > 0) chosen.push(`early stopping on val_loss with patience ${patience}`);
  return { batchSize, epochs, patience, note: chosen.length ? `chosen for ${trainRows} training rows: ${chosen.join(', ')}` : '' };
}

/** The task's scores of a model on an encoded dataset, as printable lines. */
export async function scoreLines(model: nt.Model, pre: nt.Preprocessor, ds: nt.Dataset, label: string): Promise<{ lines: string[]; summary: Record<string, number> }> {
  const out = await model.predict(ds.x);
  try {
    const p = out.data() as Float32Array;
    const n = ds.size;
    if (pre.task === 'classification') {
      const k = pre.numOutputs;
      const pred = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let j = 1; j < k; j++) if (p[i * k + j] > p[i * k + best]) best = j;
        pred[i] = best;
      }
      const r = nt.classificationReport(ds.y.data() as Int32Array, pred, k);
      const lines = [`${label} accuracy ${(r.accuracy * 100).toFixed(2)}%, macro-F1 ${r.macroF1.toFixed(4)} (${n} rows)`];
      if (k <= 12) lines.push(nt.formatConfusion(r.confusion, pre.classNames!));
      return { lines, summary: { accuracy: r.accuracy, macroF1: r.macroF1 } };
    }
    const yTrue = pre.inverseTarget(ds.y.data() as Float32Array);
    const yPred = pre.inverseTarget(p);
    const r = nt.regressionReport(yTrue, yPred);
    const g = (x: number) => (Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : x.toFixed(4));
    return { lines: [`${label} RMSE ${g(r.rmse)}, MAE ${g(r.mae)}, R² ${r.r2.toFixed(4)} (${n} rows)`], summary: { rmse: r.rmse, mae: r.mae, r2: r.r2 } };
  } finally {
    out.dispose();
  }
}

/** Predictions of raw rows as CSV text: the class and its probabilities, or the value. */
export async function predictionCsv(model: nt.Model, pre: nt.Preprocessor, table: nt.CsvTable): Promise<string> {
  const x = pre.transform(table);
  const out = await model.predict(x);
  x.dispose();
  try {
    const p = out.data() as Float32Array;
    const quote = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    if (pre.task === 'regression') {
      const vals = pre.inverseTarget(p);
      return [quote(pre.target), ...Array.from(vals, (y) => String(y))].join('\n') + '\n';
    }
    const names = pre.classNames!;
    const k = names.length;
    const lines = [[quote(pre.target), ...names.map((c) => quote(`p(${c})`))].join(',')];
    for (let i = 0; i < table.rows; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (p[i * k + j] > p[i * k + best]) best = j;
      const probs = Array.from(p.subarray(i * k, i * k + k), (q) => q.toPrecision(6));
      lines.push([quote(names[best]), ...probs].join(','));
    }
    return lines.join('\n') + '\n';
  } finally {
    out.dispose();
  }
}
