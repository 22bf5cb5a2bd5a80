/**
 * A preprocessing pipeline for tabular data, fitted on the training rows and saved with a model,
 * so that raw rows (CSV text cells or plain objects) can be encoded the same way at any later time.
 *
 * - Column types are inferred (numeric when every present cell parses as a finite number,
 *   categorical otherwise) and can be overridden.
 * - Numeric columns are imputed with the training median and standardised (population std; 1 for
 *   a constant column).
 * - Categorical columns are one-hot encoded over their most frequent values (at most
 *   `maxCategories`), with one "other" column for rarer and unseen values; missing cells take the
 *   training mode.
 * - Optional indicator columns mark the cells that were missing.
 * - The target is classes for classification (numeric labels such as "144.0" are numbers, so they
 *   name class 144) or, for regression, a standardised value mapped back by `inverseTarget`.
 * - The task is detected from the target when not given: text labels, or integer values with at
 *   most `maxClasses` distinct values, are classification; non-integer numbers are regression; an
 *   integer column with more distinct values is ambiguous and needs `task`.
 *
 * Missing cells: empty or all-space text, "NA", "N/A", "NaN", "null", "None", "?" (any case), and
 * null / undefined / NaN in objects.
 */
import { ERR, NodetrainError } from '../errors';
import { tensor, Tensor } from '../tensor/tensor';
import * as v from '../validate';
import type { CsvTable } from './csv';
import { Dataset } from './dataset';

export type ColumnType = 'numeric' | 'categorical';
export type TabularTask = 'classification' | 'regression';

/** Raw rows: a CSV table of text cells, or plain objects keyed by column name. */
export type RawRows = CsvTable | readonly Record<string, unknown>[];

export interface PreprocessorOptions {
  /** The target column. */
  target: string;
  /** 'auto' (default): detected from the target column (see `decision`). */
  task?: TabularTask | 'auto';
  /** Feature columns to use (default: every column but the target and `ignore`). */
  columns?: readonly string[];
  /** Columns to leave out. */
  ignore?: readonly string[];
  /** Column types that override inference. */
  types?: Readonly<Record<string, ColumnType>>;
  /** Most one-hot columns per categorical feature before the "other" bucket (default 32). */
  maxCategories?: number;
  /** Add a 0/1 column per feature that had missing cells in training (default false). */
  missingIndicators?: boolean;
  /** Most distinct integer values for an integer target to count as classes (default 20). */
  maxClasses?: number;
  /** Class names in id order (classification); default: sorted numerically or as text. */
  classNames?: readonly string[];
}

/** A numeric feature column's fitted statistics. */
export interface NumericColumn {
  name: string;
  type: 'numeric';
  median: number;
  mean: number;
  std: number;
  indicator: boolean;
}
/** A categorical feature column's fitted categories. */
export interface CategoricalColumn {
  name: string;
  type: 'categorical';
  categories: string[];
  mode: string;
  indicator: boolean;
}
/** A fitted feature column. */
export type PreprocessorColumn = NumericColumn | CategoricalColumn;
type Column = PreprocessorColumn;

export interface PreprocessorJSON {
  type: 'tabularPreprocessor';
  version: 1;
  target: string;
  task: TabularTask;
  columns: Column[];
  classNames?: string[];
  targetMean?: number;
  targetStd?: number;
  decision: string;
}

const MISSING = new Set(['', 'na', 'n/a', 'nan', 'null', 'none', '?']);

function isMissing(x: unknown): boolean {
  if (x === null || x === undefined) return true;
  if (typeof x === 'number') return Number.isNaN(x);
  if (typeof x === 'string') return MISSING.has(x.trim().toLowerCase());
  return false;
}

/** A finite number from a cell, or NaN. */
function numberOf(x: unknown): number {
  if (typeof x === 'number') return Number.isFinite(x) ? x : NaN;
  if (typeof x !== 'string') return NaN;
  const s = x.trim();
  if (s === '') return NaN;
  const n = Number(s);
  return Number.isFinite(n) ? n : NaN;
}

/** The canonical text of a category or class label: numbers print as numbers ("144.0" -> "144"). */
function labelOf(x: unknown): string {
  const n = numberOf(x);
  if (!Number.isNaN(n)) return String(n);
  return typeof x === 'string' ? x.trim() : String(x);
}

/** Column accessor over either kind of raw rows. */
function columnsOf(rows: RawRows, name: string): { names: string[]; n: number; get: (col: string) => (i: number) => unknown } {
  if (Array.isArray(rows)) {
    const list = rows as readonly Record<string, unknown>[];
    const names = new Set<string>();
    list.forEach((r, i) => {
      if (typeof r !== 'object' || r === null || Array.isArray(r)) throw v.typeError('an object of column values', `${name}[${i}]`, r);
      for (const k of Object.keys(r)) names.add(k);
    });
    return {
      names: [...names],
      n: list.length,
      get: (col) => (i) => (Object.prototype.hasOwnProperty.call(list[i], col) ? list[i][col] : undefined),
    };
  }
  const t = v.plainObject(name, rows) as unknown as CsvTable;
  if (!Array.isArray(t.names) || !Array.isArray(t.columns) || t.columns.length !== t.names.length) {
    throw v.typeError('a CsvTable (from loadCsvTable) or an array of row objects', name, rows);
  }
  return {
    names: t.names,
    n: t.rows,
    get: (col) => {
      const j = t.names.indexOf(col);
      const c = j >= 0 ? t.columns[j] : undefined;
      return (i) => (c ? c[i] : undefined);
    },
  };
}

function median(values: number[]): number {
  const s = Float64Array.from(values).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function meanStd(values: ArrayLike<number>): { mean: number; std: number } {
  let mean = 0;
  for (let i = 0; i < values.length; i++) mean += values[i];
  mean /= values.length;
  let ss = 0;
  for (let i = 0; i < values.length; i++) ss += (values[i] - mean) ** 2;
  const sd = Math.sqrt(ss / values.length);
  return { mean, std: sd === 0 || sd <= 1e-10 * Math.abs(mean) ? 1 : sd };
}

/** Sorts labels numerically when they all are numbers, else by UTF-16 code units. */
function sortLabels(labels: string[]): string[] {
  if (labels.every((l) => !Number.isNaN(numberOf(l)))) return labels.slice().sort((a, b) => numberOf(a) - numberOf(b));
  return labels.slice().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The fitted pipeline. Create it with `Preprocessor.fit(trainRows, options)`, or restore it with
 * `Preprocessor.fromJSON`.
 */
export class Preprocessor {
  readonly target: string;
  readonly task: TabularTask;
  /** Why the task was chosen (printed by the CLI). */
  readonly decision: string;
  readonly classNames: readonly string[] | undefined;
  readonly #columns: Column[];
  readonly #targetMean: number;
  readonly #targetStd: number;

  private constructor(json: PreprocessorJSON) {
    this.target = json.target;
    this.task = json.task;
    this.decision = json.decision;
    this.classNames = json.classNames ? Object.freeze([...json.classNames]) : undefined;
    this.#columns = json.columns;
    this.#targetMean = json.targetMean ?? 0;
    this.#targetStd = json.targetStd ?? 1;
  }

  /** The raw feature columns, in order. */
  get inputColumns(): string[] {
    return this.#columns.map((c) => c.name);
  }

  /** The type of each raw feature column. */
  get columnTypes(): Record<string, ColumnType> {
    return Object.fromEntries(this.#columns.map((c) => [c.name, c.type]));
  }

  /** Names of the encoded features (numeric columns, `name=value` one-hot columns, `name=(other)`, `name (missing)`). */
  get featureNames(): string[] {
    const out: string[] = [];
    for (const c of this.#columns) {
      if (c.type === 'numeric') out.push(c.name);
      else {
        for (const k of c.categories) out.push(`${c.name}=${k}`);
        out.push(`${c.name}=(other)`);
      }
      if (c.indicator) out.push(`${c.name} (missing)`);
    }
    return out;
  }

  get numFeatures(): number {
    return this.featureNames.length;
  }

  /** Classes (classification) or 1 (regression): the width of the model's output. */
  get numOutputs(): number {
    return this.task === 'classification' ? this.classNames!.length : 1;
  }

  /**
   * Fits the pipeline on training rows.
   * @throws TypeError / RangeError for bad options, a target or column that is not in the rows, a
   *   target with missing values, or an ambiguous target without `task`.
   * @example const pre = Preprocessor.fit(await loadCsvTable('train.csv'), { target: 'price' });
   */
  static fit(rows: RawRows, options: PreprocessorOptions): Preprocessor {
    const o = v.plainObject('options', options);
    v.knownKeys('options', o, ['target', 'task', 'columns', 'ignore', 'types', 'maxCategories', 'missingIndicators', 'maxClasses', 'classNames']);
    const target = v.string('options.target', o.target);
    const task = v.optional(o.task, 'auto', (x) => v.oneOf('options.task', x, ['auto', 'classification', 'regression'] as const));
    const maxCategories = v.optional(o.maxCategories, 32, (x) => v.integer('options.maxCategories', x, 1, 100_000));
    const maxClasses = v.optional(o.maxClasses, 20, (x) => v.integer('options.maxClasses', x, 2, 100_000));
    const indicators = v.optional(o.missingIndicators, false, (x) => v.boolean('options.missingIndicators', x));
    const strList = (name: string, x: unknown): string[] | undefined => {
      if (x === undefined) return undefined;
      if (!Array.isArray(x)) throw v.typeError('an array of column names', name, x);
      return x.map((s, i) => v.string(`${name}[${i}]`, s));
    };
    const columnsOpt = strList('options.columns', o.columns);
    const ignore = strList('options.ignore', o.ignore) ?? [];
    const classNamesOpt = strList('options.classNames', o.classNames);
    const types: Record<string, ColumnType> = {};
    if (o.types !== undefined) {
      for (const [k, t] of Object.entries(v.plainObject('options.types', o.types))) types[k] = v.oneOf(`options.types.${k}`, t, ['numeric', 'categorical'] as const);
    }

    const data = columnsOf(rows, 'rows');
    if (data.n === 0) throw v.rangeError('at least one row', 'rows', rows);
    const has = (c: string) => data.names.includes(c);
    if (!has(target)) throw v.rangeError(`a column of the data (${data.names.map((s) => JSON.stringify(s)).join(', ')})`, 'options.target', target);
    for (const c of [...(columnsOpt ?? []), ...ignore, ...Object.keys(types)]) {
      if (!has(c)) throw v.rangeError('a column of the data', 'options', c);
    }
    const features = (columnsOpt ?? data.names.filter((c) => c !== target && !ignore.includes(c))).filter((c) => c !== target);
    if (features.length === 0) throw v.rangeError('at least one feature column', 'options.columns', features);

    // Target and task.
    const tget = data.get(target);
    const raw: unknown[] = [];
    for (let i = 0; i < data.n; i++) {
      const x = tget(i);
      if (isMissing(x)) throw v.rangeError('a value for the target in every row', `the target "${target}" of row ${i + 1}`, x);
      raw.push(x);
    }
    const nums = raw.map(numberOf);
    const allNumeric = nums.every((x) => !Number.isNaN(x));
    const allInteger = allNumeric && nums.every((x) => Number.isInteger(x));
    const distinct = new Set(raw.map(labelOf)).size;
    let chosen: TabularTask;
    let decision: string;
    if (task !== 'auto') {
      chosen = task;
      decision = `${task} (as requested)`;
    } else if (!allNumeric) {
      chosen = 'classification';
      decision = `classification: the target "${target}" holds text labels (${distinct} classes)`;
    } else if (!allInteger) {
      chosen = 'regression';
      decision = `regression: the target "${target}" holds non-integer numbers`;
    } else if (distinct <= maxClasses) {
      chosen = 'classification';
      decision = `classification: the target "${target}" holds ${distinct} distinct integer values (at most ${maxClasses})`;
    } else {
      throw new NodetrainError(
        ERR.INVALID_ARGUMENT_VALUE,
        `Expected options.task ('classification' or 'regression') for the target "${target}" but received 'auto': it holds ${distinct} distinct integer values, which may be class ids or counts`,
      );
    }
    if (chosen === 'regression' && !allNumeric) {
      const bad = raw[nums.findIndex((x) => Number.isNaN(x))];
      throw v.rangeError('numbers in the target of a regression', `options.target "${target}"`, bad);
    }
    if (chosen === 'regression' && classNamesOpt) throw v.rangeError('no class names for a regression', 'options.classNames', classNamesOpt);

    const json: PreprocessorJSON = { type: 'tabularPreprocessor', version: 1, target, task: chosen, columns: [], decision };
    if (chosen === 'classification') {
      const labels = [...new Set(raw.map(labelOf))];
      if (classNamesOpt) {
        const known = new Set(classNamesOpt.map(labelOf));
        const unknown = labels.find((l) => !known.has(l));
        if (unknown !== undefined) throw v.rangeError(`one of the classes in options.classNames`, `the target "${target}"`, unknown);
        json.classNames = classNamesOpt.map(labelOf);
      } else {
        json.classNames = sortLabels(labels);
      }
      if (json.classNames.length < 2) throw v.rangeError('at least two classes', `the target "${target}"`, v.described(`only ${JSON.stringify(json.classNames[0])}`));
    } else {
      const { mean, std } = meanStd(nums);
      json.targetMean = mean;
      json.targetStd = std;
    }

    // Feature columns.
    for (const name of features) {
      const get = data.get(name);
      const present: unknown[] = [];
      let missing = 0;
      for (let i = 0; i < data.n; i++) {
        const x = get(i);
        if (isMissing(x)) missing++;
        else present.push(x);
      }
      const numeric = present.every((x) => !Number.isNaN(numberOf(x)));
      const type = types[name] ?? (numeric ? 'numeric' : 'categorical');
      const indicator = indicators && missing > 0;
      if (type === 'numeric') {
        const vals = present.map(numberOf);
        const badAt = vals.findIndex((x) => Number.isNaN(x));
        if (badAt >= 0) throw v.rangeError('numbers in a numeric column', `column "${name}"`, present[badAt]);
        if (vals.length === 0) {
          json.columns.push({ name, type, median: 0, mean: 0, std: 1, indicator });
          continue;
        }
        const med = median(vals);
        const filled = vals.concat(new Array<number>(missing).fill(med));
        const { mean, std } = meanStd(filled);
        json.columns.push({ name, type, median: med, mean, std, indicator });
      } else {
        const counts = new Map<string, number>();
        for (const x of present) {
          const k = labelOf(x);
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
        const byFreq = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        const categories = byFreq.slice(0, maxCategories).map(([k]) => k);
        json.columns.push({ name, type, categories, mode: byFreq.length ? byFreq[0][0] : '', indicator });
      }
    }
    return new Preprocessor(json);
  }

  /**
   * Encodes the feature columns of raw rows into a float32 [n, numFeatures] tensor.
   * @throws RangeError when a feature column is absent or a numeric cell is not a number.
   */
  transform(rows: RawRows): Tensor {
    const data = columnsOf(rows, 'rows');
    const f = this.numFeatures;
    const x = new Float32Array(data.n * f);
    let off = 0;
    for (const c of this.#columns) {
      if (!data.names.includes(c.name)) throw v.rangeError(`rows with the column "${c.name}"`, 'rows', v.described(`columns ${data.names.map((s) => JSON.stringify(s)).join(', ')}`));
      const get = data.get(c.name);
      const width = (c.type === 'numeric' ? 1 : c.categories.length + 1) + (c.indicator ? 1 : 0);
      const index = c.type === 'categorical' ? new Map(c.categories.map((k, i) => [k, i] as const)) : null;
      for (let i = 0; i < data.n; i++) {
        const cell = get(i);
        const miss = isMissing(cell);
        const base = i * f + off;
        if (c.type === 'numeric') {
          let val = c.median;
          if (!miss) {
            val = numberOf(cell);
            if (Number.isNaN(val)) throw v.rangeError(`a number for column "${c.name}"`, `row ${i + 1}`, cell);
          }
          x[base] = (val - c.mean) / c.std;
        } else {
          const k = miss ? c.mode : labelOf(cell);
          const at = index!.get(k);
          x[base + (at === undefined ? c.categories.length : at)] = 1;
        }
        if (c.indicator && miss) x[base + width - 1] = 1;
      }
      off += width;
    }
    return tensor(x, [data.n, f], 'float32');
  }

  /**
   * Encodes the target column: int32 class ids [n] (classification) or standardised float32
   * [n, 1] (regression).
   * @throws RangeError for a missing target, an unknown class, or a non-numeric regression target.
   */
  transformTarget(rows: RawRows): Tensor {
    const data = columnsOf(rows, 'rows');
    if (!data.names.includes(this.target)) throw v.rangeError(`rows with the target column "${this.target}"`, 'rows', v.described('no such column'));
    const get = data.get(this.target);
    if (this.task === 'classification') {
      const ids = new Int32Array(data.n);
      const index = new Map(this.classNames!.map((k, i) => [k, i] as const));
      for (let i = 0; i < data.n; i++) {
        const cell = get(i);
        const id = isMissing(cell) ? undefined : index.get(labelOf(cell));
        if (id === undefined) throw v.rangeError(`one of the classes ${this.classNames!.map((s) => JSON.stringify(s)).join(', ')}`, `the target "${this.target}" of row ${i + 1}`, cell);
        ids[i] = id;
      }
      return tensor(ids, [data.n], 'int32');
    }
    const y = new Float32Array(data.n);
    for (let i = 0; i < data.n; i++) {
      const val = numberOf(get(i));
      if (Number.isNaN(val)) throw v.rangeError('a number', `the target "${this.target}" of row ${i + 1}`, get(i));
      y[i] = (val - this.#targetMean) / this.#targetStd;
    }
    return tensor(y, [data.n, 1], 'float32');
  }

  /** Features and target as a Dataset (with featureNames and classNames). */
  toDataset(rows: RawRows): Dataset {
    const x = this.transform(rows);
    try {
      const y = this.transformTarget(rows);
      return new Dataset(x, y, { featureNames: this.featureNames, classNames: this.classNames ? [...this.classNames] : undefined, numClasses: this.classNames?.length });
    } catch (e) {
      x.dispose();
      throw e;
    }
  }

  /** Maps standardised regression outputs back to the target's scale (identity for classification). */
  inverseTarget(values: ArrayLike<number>): Float64Array {
    return Float64Array.from(values, (z) => (this.task === 'regression' ? z * this.#targetStd + this.#targetMean : z));
  }

  toJSON(): PreprocessorJSON {
    const json: PreprocessorJSON = {
      type: 'tabularPreprocessor',
      version: 1,
      target: this.target,
      task: this.task,
      columns: this.#columns.map((c) => ({ ...c, ...(c.type === 'categorical' ? { categories: [...c.categories] } : {}) })),
      decision: this.decision,
    };
    if (this.classNames) json.classNames = [...this.classNames];
    if (this.task === 'regression') {
      json.targetMean = this.#targetMean;
      json.targetStd = this.#targetStd;
    }
    return json;
  }

  /**
   * Restores a pipeline from toJSON() output (for example from a saved model's metadata).
   * @throws TypeError / RangeError for anything that is not a valid PreprocessorJSON.
   */
  static fromJSON(json: unknown): Preprocessor {
    const o = v.plainObject('json', json);
    if (o.type !== 'tabularPreprocessor') throw v.rangeError("an object with type 'tabularPreprocessor'", 'json.type', o.type);
    if (o.version !== 1) throw v.rangeError('version 1', 'json.version', o.version);
    const task = v.oneOf('json.task', o.task, ['classification', 'regression'] as const);
    const target = v.string('json.target', o.target);
    if (!Array.isArray(o.columns)) throw v.typeError('an array of columns', 'json.columns', o.columns);
    const columns: Column[] = o.columns.map((raw: unknown, i: number) => {
      const c = v.plainObject(`json.columns[${i}]`, raw);
      const name = v.string(`json.columns[${i}].name`, c.name);
      const indicator = v.boolean(`json.columns[${i}].indicator`, c.indicator);
      if (c.type === 'numeric') {
        return {
          name,
          type: 'numeric' as const,
          median: v.finiteNumber(`json.columns[${i}].median`, c.median),
          mean: v.finiteNumber(`json.columns[${i}].mean`, c.mean),
          std: v.finiteNumber(`json.columns[${i}].std`, c.std, { min: 0, minExclusive: true }),
          indicator,
        };
      }
      if (c.type !== 'categorical') throw v.rangeError("'numeric' or 'categorical'", `json.columns[${i}].type`, c.type);
      if (!Array.isArray(c.categories)) throw v.typeError('an array of strings', `json.columns[${i}].categories`, c.categories);
      return {
        name,
        type: 'categorical' as const,
        categories: c.categories.map((k: unknown, j: number) => v.string(`json.columns[${i}].categories[${j}]`, k)),
        mode: v.string(`json.columns[${i}].mode`, c.mode),
        indicator,
      };
    });
    const out: PreprocessorJSON = { type: 'tabularPreprocessor', version: 1, target, task, columns, decision: typeof o.decision === 'string' ? o.decision : task };
    if (task === 'classification') {
      if (!Array.isArray(o.classNames) || o.classNames.length < 2) throw v.typeError('an array of at least two class names', 'json.classNames', o.classNames);
      out.classNames = o.classNames.map((k: unknown, j: number) => v.string(`json.classNames[${j}]`, k));
    } else {
      out.targetMean = v.finiteNumber('json.targetMean', o.targetMean);
      out.targetStd = v.finiteNumber('json.targetStd', o.targetStd, { min: 0, minExclusive: true });
    }
    return new Preprocessor(out);
  }
}
