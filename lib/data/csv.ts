/**
 * CSV loading (RFC 4180): quoted fields with escaped quotes ("") and delimiters or line breaks
 * inside quotes, CRLF or LF line ends, an optional header row, blank lines skipped. The parser is
 * a single forward scan with indexOf / charCodeAt (no regular expressions per field) and streams
 * the file in chunks, so files larger than a JavaScript string can hold are fine. Every error names
 * the file, the 1-based line and the column.
 */
import * as fs from 'fs';

import { NodetrainError } from '../errors';
import { tensor } from '../tensor/tensor';
import * as v from '../validate';
import { Dataset } from './dataset';
import { oneHot } from './transform';

export interface CsvOptions {
  /** The target column: a header name, or a 0-based column index. */
  target: string | number;
  /**
   * 'integer': class ids (int32 [n]); 'onehot': class ids one-hot encoded (float32 [n, classes]);
   * 'regression': the numeric target as float32 [n, 1].
   */
  labels: 'onehot' | 'integer' | 'regression';
  /** Feature columns (names or 0-based indices), in this order; default: every column but the target. */
  columns?: readonly (string | number)[];
  /** Whether the first row names the columns (default true). Without it, columns are indices. */
  header?: boolean;
  /** One-character field delimiter (default ','). */
  delimiter?: string;
  /**
   * The class names in id order. Without it, labels that are all non-negative integers are used as
   * ids directly; other labels are sorted (by UTF-16 code units) and numbered from 0. Pass it to
   * give a test file the same mapping as its training file.
   */
  classNames?: readonly string[];
  /** Bytes read per chunk by loadCsv (default 1 MiB). */
  chunkSize?: number;
}

const OPTION_KEYS = ['target', 'labels', 'columns', 'header', 'delimiter', 'classNames', 'chunkSize'] as const;
const QUOTE = 34;
const LF = 10;
const CR = 13;

function csvError(message: string): NodetrainError {
  return new NodetrainError('ERR_NT_INVALID_CSV', message);
}

interface ScanState {
  /** Physical line (1-based) at the scan position. */
  line: number;
  /** Whether the first record (BOM check) is still to come. */
  atStart: boolean;
}

/**
 * Scans complete records of `text` and calls onRecord for each non-blank one. When `final` is
 * false, stops at the last record that may continue in the next chunk and returns its start
 * index; otherwise returns text.length.
 */
function scanRecords(
  text: string,
  delim: number,
  final: boolean,
  state: ScanState,
  file: string,
  onRecord: (fields: string[], line: number) => void,
): number {
  const len = text.length;
  const fields: string[] = [];
  let i = 0;
  if (state.atStart && len > 0) {
    if (text.charCodeAt(0) === 0xfeff) i = 1;
    state.atStart = false;
  }
  while (i < len) {
    const recStart = i;
    const recLine = state.line;
    let newlines = 0;
    let quoted = false;
    fields.length = 0;
    for (;;) {
      let c = text.charCodeAt(i);
      if (c === QUOTE) {
        quoted = true;
        let start = i + 1;
        let value = '';
        for (;;) {
          const q = text.indexOf('"', start);
          if (q < 0 || (q === len - 1 && !final)) {
            // The closing quote (or the character after it) is in a later chunk.
            if (!final) return recStart;
            throw csvError(`Expected a closing quote for the field that starts at line ${recLine + newlines} of ${file} but received the end of the file`);
          }
          if (text.charCodeAt(q + 1) === QUOTE) {
            value += text.slice(start, q + 1);
            start = q + 2;
            continue;
          }
          value += text.slice(start, q);
          newlines += countLf(text, i, q);
          i = q + 1;
          break;
        }
        fields.push(value);
        c = text.charCodeAt(i);
        if (c === delim) {
          i++;
          continue;
        }
        if (i < len && c !== LF && c !== CR) {
          throw csvError(
            `Expected a delimiter or a line end after the closing quote for line ${recLine + newlines} of ${file} but received ${v.describe(text[i])}`,
          );
        }
      } else {
        let j = i;
        while (j < len) {
          c = text.charCodeAt(j);
          if (c === delim || c === LF || c === CR) break;
          j++;
        }
        fields.push(text.slice(i, j));
        i = j;
        if (j < len && c === delim) {
          i++;
          continue;
        }
      }
      // End of the record: a line end or the end of the text.
      if (i >= len) {
        if (!final) return recStart;
      } else if (text.charCodeAt(i) === CR) {
        if (i + 1 >= len && !final) return recStart; // a CRLF may be split across chunks
        i += text.charCodeAt(i + 1) === LF ? 2 : 1;
        newlines++;
      } else {
        i++;
        newlines++;
      }
      break;
    }
    state.line += newlines;
    // Blank (or all-space) lines are skipped, wherever they are.
    if (!(fields.length === 1 && !quoted && fields[0].trim() === '')) onRecord(fields, recLine);
  }
  return len;
}

function countLf(text: string, from: number, to: number): number {
  let n = 0;
  for (let k = text.indexOf('\n', from); k >= 0 && k < to; k = text.indexOf('\n', k + 1)) n++;
  return n;
}

/** A growable typed array. */
class Grow<T extends Float32Array | Int32Array> {
  data: T;
  length = 0;
  constructor(private readonly make: (n: number) => T, cap = 1024) {
    this.data = make(cap);
  }
  push(x: number): void {
    if (this.length === this.data.length) {
      const bigger = this.make(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = x;
  }
  result(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

/** Incremental CSV-to-Dataset builder shared by parseCsv and loadCsv. */
class CsvBuilder {
  readonly #file: string;
  readonly #opts: Required<Pick<CsvOptions, 'header' | 'labels'>> & CsvOptions;
  #ncols = -1;
  #names: string[] | null = null;
  #featureCols: number[] = [];
  #targetCol = -1;
  #x = new Grow((n) => new Float32Array(n), 4096);
  #yNum = new Grow((n) => new Float32Array(n));
  #yStr: string[] = [];
  #yLines = new Grow((n) => new Int32Array(n));
  #rows = 0;

  constructor(file: string, opts: Required<Pick<CsvOptions, 'header' | 'labels'>> & CsvOptions) {
    this.#file = file;
    this.#opts = opts;
  }

  #columnName(c: number): string {
    return this.#names ? `column ${JSON.stringify(this.#names[c])}` : `column ${c}`;
  }

  #resolve(name: string, ref: unknown): number {
    if (this.#names) {
      if (typeof ref === 'string') {
        const idx = this.#names.indexOf(ref);
        if (idx < 0) {
          const list = this.#names.map((s) => JSON.stringify(s)).join(', ');
          throw v.rangeError(`a column of ${this.#file} (${list})`, name, ref);
        }
        if (this.#names.indexOf(ref, idx + 1) >= 0) throw v.rangeError(`a column name that appears once in the header of ${this.#file}`, name, ref);
        return idx;
      }
    } else if (typeof ref === 'string') {
      throw v.typeError(`a 0-based column index (${this.#file} is read without a header)`, name, ref);
    }
    if (typeof ref !== 'number') throw v.typeError('a column name or a 0-based column index', name, ref);
    return v.integer(name, ref, 0, this.#ncols - 1);
  }

  #setup(fields: string[]): void {
    this.#ncols = fields.length;
    if (this.#opts.header) this.#names = fields.slice();
    this.#targetCol = this.#resolve('options.target', this.#opts.target);
    if (this.#opts.columns !== undefined) {
      const seen = new Set<number>();
      this.#featureCols = this.#opts.columns.map((ref, k) => {
        const c = this.#resolve(`options.columns[${k}]`, ref);
        if (c === this.#targetCol) throw v.rangeError('a feature column other than the target', `options.columns[${k}]`, ref);
        if (seen.has(c)) throw v.rangeError('each column once', `options.columns[${k}]`, ref);
        seen.add(c);
        return c;
      });
    } else {
      for (let c = 0; c < this.#ncols; c++) if (c !== this.#targetCol) this.#featureCols.push(c);
    }
  }

  #number(s: string, c: number, line: number): number {
    const num = +s;
    // `+s` accepts surrounding spaces; reject what is not a finite number, and blank fields (+'' is 0).
    if (!Number.isFinite(num) || (num === 0 && s.trim() === '')) {
      throw csvError(`Expected a number for ${this.#columnName(c)} at line ${line} of ${this.#file} but received ${v.describe(s)}`);
    }
    return num;
  }

  record = (fields: string[], line: number): void => {
    if (this.#ncols < 0) {
      this.#setup(fields);
      if (this.#opts.header) return;
    }
    if (fields.length !== this.#ncols) {
      throw csvError(`Expected ${this.#ncols} fields for line ${line} of ${this.#file} but received ${fields.length}`);
    }
    const fc = this.#featureCols;
    for (let k = 0; k < fc.length; k++) this.#x.push(this.#number(fields[fc[k]], fc[k], line));
    const t = fields[this.#targetCol];
    if (this.#opts.labels === 'regression') {
      this.#yNum.push(this.#number(t, this.#targetCol, line));
    } else {
      if (t === '') throw csvError(`Expected a class label for ${this.#columnName(this.#targetCol)} at line ${line} of ${this.#file} but received ""`);
      this.#yStr.push(t);
      this.#yLines.push(line);
    }
    this.#rows++;
  };

  finish(): Dataset {
    if (this.#ncols < 0) throw csvError(`Expected a header row or data for ${this.#file} but received an empty file`);
    const n = this.#rows;
    const f = this.#featureCols.length;
    const featureNames = this.#names ? this.#featureCols.map((c) => this.#names![c]) : undefined;
    const x = tensor(this.#x.result(), [n, f], 'float32');
    try {
      if (this.#opts.labels === 'regression') {
        const y = tensor(this.#yNum.result(), [n, 1], 'float32');
        return new Dataset(x, y, { featureNames });
      }
      const { ids, classNames, numClasses } = this.#classIds();
      const y = this.#opts.labels === 'onehot' ? oneHot(ids, numClasses) : tensor(ids, [n], 'int32');
      return new Dataset(x, y, { featureNames, classNames, numClasses });
    } catch (e) {
      x.dispose();
      throw e;
    }
  }

  #classIds(): { ids: Int32Array; classNames?: string[]; numClasses: number } {
    const labels = this.#yStr;
    const ids = new Int32Array(labels.length);
    const given = this.#opts.classNames;
    const unique = given ? null : [...new Set(labels)];
    if (unique && unique.every((s) => /^\d{1,9}$/.test(s))) {
      // Integer labels are already class ids.
      let max = 0;
      for (let i = 0; i < labels.length; i++) {
        ids[i] = +labels[i];
        if (ids[i] > max) max = ids[i];
      }
      return { ids, numClasses: labels.length === 0 ? 0 : max + 1 };
    }
    const classNames = given ? [...given] : unique!.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const index = new Map(classNames.map((s, i) => [s, i] as const));
    for (let i = 0; i < labels.length; i++) {
      const id = index.get(labels[i]);
      if (id === undefined) {
        const list = classNames.map((s) => JSON.stringify(s)).join(', ');
        throw csvError(
          `Expected one of the classes ${list} (options.classNames) for ${this.#columnName(this.#targetCol)} at line ${this.#yLines.data[i]} of ${this.#file} but received ${v.describe(labels[i])}`,
        );
      }
      ids[i] = id;
    }
    return { ids, classNames, numClasses: classNames.length };
  }
}

function checkOptions(opts: CsvOptions): Required<Pick<CsvOptions, 'header' | 'labels'>> & CsvOptions & { delim: number } {
  v.plainObject('options', opts);
  v.knownKeys('options', opts as unknown as Record<string, unknown>, OPTION_KEYS);
  if (opts.target === undefined) throw v.typeError('a column name or a 0-based column index', 'options.target', undefined);
  const labels = v.oneOf('options.labels', opts.labels, ['onehot', 'integer', 'regression'] as const);
  const header = v.optional(opts.header, true, (x) => v.boolean('options.header', x));
  const delimiter = v.optional(opts.delimiter, ',', (x) => v.string('options.delimiter', x));
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw v.rangeError('a single character other than a quote or a line break', 'options.delimiter', delimiter);
  }
  if (opts.chunkSize !== undefined) v.integer('options.chunkSize', opts.chunkSize, 1, 2 ** 30);
  if (opts.columns !== undefined && !Array.isArray(opts.columns)) throw v.typeError('an array of column names or indices', 'options.columns', opts.columns);
  if (opts.classNames !== undefined) {
    if (!Array.isArray(opts.classNames)) throw v.typeError('an array of strings', 'options.classNames', opts.classNames);
    opts.classNames.forEach((s, i) => v.string(`options.classNames[${i}]`, s));
    if (new Set(opts.classNames).size !== opts.classNames.length) throw v.rangeError('distinct class names', 'options.classNames', opts.classNames);
    if (labels === 'regression') throw v.rangeError("no class names with labels: 'regression'", 'options.classNames', opts.classNames);
  }
  return { ...opts, labels, header, delimiter, delim: delimiter.charCodeAt(0) };
}

/**
 * Parses CSV text into a Dataset (see loadCsv for the options).
 * @param fileName the name used in error messages (default 'CSV text')
 * @throws NodetrainError ERR_NT_INVALID_CSV for malformed content; TypeError / RangeError for bad options.
 * @example const ds = parseCsv('a,b,y\n1,2,cat\n3,4,dog\n', { target: 'y', labels: 'integer' });
 */
export function parseCsv(text: string, opts: CsvOptions, fileName = 'CSV text'): Dataset {
  v.string('text', text);
  const o = checkOptions(opts);
  const b = new CsvBuilder(fileName, o);
  scanRecords(text, o.delim, true, { line: 1, atStart: true }, fileName, b.record);
  return b.finish();
}

/**
 * Loads a CSV file into a Dataset: features float32 [n, columns], targets per `labels`. The file is
 * streamed and parsed chunk by chunk.
 *
 * Fields follow RFC 4180 (quotes, "" escapes, delimiters and line breaks inside quotes); numbers may
 * have surrounding spaces; blank lines are skipped. String class labels are numbered in sorted
 * order and kept as `classNames`.
 *
 * @throws NodetrainError ERR_NT_INVALID_CSV naming the file, the 1-based line and the column, e.g.
 *   `Expected a number for column "petal_width" at line 17 of iris.csv but received "abc"`;
 *   RangeError for a target or column that is not in the file; the fs error when it cannot be read.
 * @example const iris = await loadCsv('iris.csv', { target: 'species', labels: 'integer' });
 */
export async function loadCsv(path: string, opts: CsvOptions): Promise<Dataset> {
  v.string('path', path);
  const o = checkOptions(opts);
  const b = new CsvBuilder(path, o);
  const state: ScanState = { line: 1, atStart: true };
  const stream = fs.createReadStream(path, { encoding: 'utf8', highWaterMark: o.chunkSize ?? 1 << 20 });
  let carry = '';
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const text = carry.length === 0 ? chunk : carry + chunk;
      const used = scanRecords(text, o.delim, false, state, path, b.record);
      carry = text.slice(used);
    }
  } finally {
    stream.destroy();
  }
  scanRecords(carry, o.delim, true, state, path, b.record);
  return b.finish();
}
