/**
 * CSV loading (RFC 4180): quoted fields with escaped quotes ("") and delimiters or line breaks
 * inside quotes, CRLF or LF line ends, an optional header row, blank lines skipped. The parser is
 * a single forward scan with indexOf / charCodeAt (no regular expressions per field) and streams
 * the file in chunks, so files larger than a JavaScript string can hold are fine. Every error names
 * the file, the 1-based line and the column.
 */
import { ERR, NodetrainError } from '../errors';
import { openRegularFile } from '../files';
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
  /** loadCsv: the longest record accepted, in characters (default 64 Mi); a longer one is an error, not an unbounded buffer. */
  maxRecordLength?: number;
}

const OPTION_KEYS = ['target', 'labels', 'columns', 'header', 'delimiter', 'classNames', 'chunkSize', 'maxRecordLength'] as const;
const QUOTE = 34;
/** Longest record (in UTF-16 code units) accepted by default: a file without line breaks is refused, not buffered forever. */
export const CSV_MAX_RECORD_LENGTH = 64 * 1024 * 1024;
const LF = 10;
const CR = 13;

function csvError(message: string): NodetrainError {
  return new NodetrainError(ERR.INVALID_CSV, message);
}

interface ScanState {
  /** Physical line (1-based) at the scan position. */
  line: number;
  /** Whether the first record (BOM check) is still to come. */
  atStart: boolean;
}

/**
 * The fields of one record, without copying unquoted ones out of the text: field k spans
 * text[start[k], end[k]) unless quoted[k] holds its unescaped value.
 */
class Fields {
  text = '';
  count = 0;
  start: number[] = [];
  end: number[] = [];
  quoted: (string | null)[] = [];

  add(from: number, to: number, value: string | null): void {
    const k = this.count++;
    this.start[k] = from;
    this.end[k] = to;
    this.quoted[k] = value;
  }

  str(k: number): string {
    const q = this.quoted[k];
    return q !== null ? q : this.text.slice(this.start[k], this.end[k]);
  }

  strings(): string[] {
    return Array.from({ length: this.count }, (_, k) => this.str(k));
  }
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * Parses a plain decimal ([+-]digits[.digits], at most 15 digits) straight from the text, or returns
 * NaN for anything else (exponents, spaces, long numbers), which then goes through Number(). An
 * integer below 2^53 divided by an exact power of ten is correctly rounded (Clinger's fast path),
 * so the result is identical to Number()'s.
 */
function fastNumber(text: string, i: number, e: number): number {
  let neg = false;
  let c = text.charCodeAt(i);
  if (c === 45 /* - */) {
    neg = true;
    i++;
  } else if (c === 43 /* + */) i++;
  let mant = 0;
  let digits = 0;
  let fracDigits = -1;
  for (; i < e; i++) {
    c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48);
      digits++;
      if (fracDigits >= 0) fracDigits++;
    } else if (c === 46 /* . */ && fracDigits < 0) {
      fracDigits = 0;
    } else {
      return NaN;
    }
  }
  if (digits === 0 || digits > 15) return NaN;
  const val = fracDigits > 0 ? mant / POW10[fracDigits] : mant;
  return neg ? -val : val;
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
  onRecord: (fields: Fields, line: number) => void,
): number {
  const len = text.length;
  const fields = new Fields();
  fields.text = text;
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
    fields.count = 0;
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
        fields.add(0, 0, value);
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
        fields.add(i, j, null);
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
    if (!(fields.count === 1 && !quoted && fields.str(0).trim() === '')) onRecord(fields, recLine);
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
  /** Label -> id: the given classNames' ids, or provisional first-seen ids remapped in finish(). */
  #labelIds = new Map<string, number>();
  #yIds = new Grow((n) => new Int32Array(n));
  #rows = 0;

  constructor(file: string, opts: Required<Pick<CsvOptions, 'header' | 'labels'>> & CsvOptions) {
    this.#file = file;
    this.#opts = opts;
    opts.classNames?.forEach((c, i) => this.#labelIds.set(c, i));
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

  #setup(fields: Fields): void {
    this.#ncols = fields.count;
    if (this.#opts.header) this.#names = fields.strings();
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

  #number(f: Fields, c: number, line: number): number {
    if (f.quoted[c] === null) {
      const fast = fastNumber(f.text, f.start[c], f.end[c]);
      if (fast === fast) return fast;
    }
    const s = f.str(c);
    const num = +s;
    // `+s` accepts surrounding spaces; reject what is not a finite number, and blank fields (+'' is 0).
    if (!Number.isFinite(num) || (num === 0 && s.trim() === '')) {
      throw csvError(`Expected a number for ${this.#columnName(c)} at line ${line} of ${this.#file} but received ${v.describe(s)}`);
    }
    // Data are float32: a value beyond its range would silently become Infinity.
    if (!Number.isFinite(Math.fround(num))) {
      throw csvError(`Expected a number within the float32 range (magnitude <= 3.4e38) for ${this.#columnName(c)} at line ${line} of ${this.#file} but received ${v.describe(s)}`);
    }
    return num;
  }

  record = (fields: Fields, line: number): void => {
    if (this.#ncols < 0) {
      this.#setup(fields);
      if (this.#opts.header) return;
    }
    if (fields.count !== this.#ncols) {
      throw csvError(`Expected ${this.#ncols} fields for line ${line} of ${this.#file} but received ${fields.count}`);
    }
    const fc = this.#featureCols;
    for (let k = 0; k < fc.length; k++) this.#x.push(this.#number(fields, fc[k], line));
    if (this.#opts.labels === 'regression') {
      this.#yNum.push(this.#number(fields, this.#targetCol, line));
    } else {
      const t = fields.str(this.#targetCol);
      if (t === '') throw csvError(`Expected a class label for ${this.#columnName(this.#targetCol)} at line ${line} of ${this.#file} but received ""`);
      let id = this.#labelIds.get(t);
      if (id === undefined) {
        if (this.#opts.classNames) {
          const list = this.#opts.classNames.map((c) => JSON.stringify(c)).join(', ');
          throw csvError(
            `Expected one of the classes ${list} (options.classNames) for ${this.#columnName(this.#targetCol)} at line ${line} of ${this.#file} but received ${v.describe(t)}`,
          );
        }
        id = this.#labelIds.size;
        this.#labelIds.set(t, id);
      }
      this.#yIds.push(id);
    }
    this.#rows++;
  };

  finish(): Dataset {
    if (this.#ncols < 0) throw csvError(`Expected a header row or data for ${this.#file} but received an empty file`);
    if (this.#rows === 0) throw csvError(`Expected at least one data row in ${this.#file} but received only a header`);
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
    const ids = this.#yIds.result();
    if (this.#opts.classNames) return { ids, classNames: [...this.#opts.classNames], numClasses: this.#opts.classNames.length };
    const seen = [...this.#labelIds.keys()]; // in first-seen order, matching the provisional ids
    const remap = new Int32Array(seen.length);
    let classNames: string[] | undefined;
    if (seen.every((s) => /^\d{1,9}$/.test(s))) {
      // Integer labels are already class ids.
      seen.forEach((s, i) => (remap[i] = +s));
    } else {
      // Flatten the names so they do not keep slices of the file's chunks alive.
      classNames = seen.map((s) => JSON.parse(JSON.stringify(s)) as string).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const final = new Map(classNames.map((s, i) => [s, i] as const));
      seen.forEach((s, i) => (remap[i] = final.get(s)!));
    }
    let max = -1;
    for (let i = 0; i < ids.length; i++) {
      ids[i] = remap[ids[i]];
      if (ids[i] > max) max = ids[i];
    }
    return { ids, classNames, numClasses: classNames ? classNames.length : max + 1 };
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
  if (opts.maxRecordLength !== undefined) v.integer('options.maxRecordLength', opts.maxRecordLength, 1, 2 ** 29);
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
  await streamRecords(path, o.delim, o.chunkSize, o.maxRecordLength, b.record);
  return b.finish();
}

/** Streams the records of a regular file through the scanner, chunk by chunk. */
async function streamRecords(
  path: string,
  delim: number,
  chunkSize: number | undefined,
  maxRecordLength: number | undefined,
  onRecord: (fields: Fields, line: number) => void,
): Promise<void> {
  const state: ScanState = { line: 1, atStart: true };
  const maxRecord = maxRecordLength ?? CSV_MAX_RECORD_LENGTH;
  const { handle } = await openRegularFile(path, 'path');
  const stream = handle.createReadStream({ encoding: 'utf8', highWaterMark: chunkSize ?? 1 << 20 });
  let carry = '';
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const text = carry.length === 0 ? chunk : carry + chunk;
      const used = scanRecords(text, delim, false, state, path, onRecord);
      carry = text.slice(used);
      if (carry.length > maxRecord) {
        throw csvError(`Expected records of at most ${maxRecord} characters (options.maxRecordLength) at line ${state.line} of ${path} but received a longer one`);
      }
    }
  } finally {
    stream.destroy();
    await handle.close().catch(() => undefined);
  }
  scanRecords(carry, delim, true, state, path, onRecord);
}

/** A CSV file as text cells: column names and one array of strings per column. */
export interface CsvTable {
  /** Column names (from the header row, or "0", "1", ... without one). */
  names: string[];
  /** columns[j][i]: the text of row i, column j (quotes removed, no other processing). */
  columns: string[][];
  /** Number of data rows. */
  rows: number;
}

export interface CsvTableOptions {
  /** Whether the first row names the columns (default true). */
  header?: boolean;
  /** One-character field delimiter (default ','). */
  delimiter?: string;
  /** Bytes read per chunk (default 1 MiB). */
  chunkSize?: number;
  /** The longest record accepted, in characters (default 64 Mi). */
  maxRecordLength?: number;
}

class TableBuilder {
  names: string[] | null = null;
  columns: string[][] = [];
  rows = 0;
  constructor(private readonly file: string, private readonly header: boolean) {}
  record = (f: Fields, line: number): void => {
    if (this.names === null) {
      const first = f.strings();
      this.names = this.header ? first : first.map((_, j) => String(j));
      this.columns = first.map(() => []);
      if (this.header) {
        const seen = new Set<string>();
        for (const n of first) {
          if (seen.has(n)) throw csvError(`Expected distinct column names in the header of ${this.file} but received ${v.describe(n)} twice`);
          seen.add(n);
        }
        return;
      }
    }
    if (f.count !== this.columns.length) throw csvError(`Expected ${this.columns.length} fields for line ${line} of ${this.file} but received ${f.count}`);
    // Flatten each cell so it does not keep the chunk it was sliced from alive.
    for (let j = 0; j < f.count; j++) this.columns[j].push(JSON.parse(JSON.stringify(f.str(j))) as string);
    this.rows++;
  };
  finish(): CsvTable {
    if (this.names === null) throw csvError(`Expected a header row or data for ${this.file} but received an empty file`);
    if (this.rows === 0) throw csvError(`Expected at least one data row in ${this.file} but received only a header`);
    return { names: this.names, columns: this.columns, rows: this.rows };
  }
}

function checkTableOptions(opts: CsvTableOptions): { header: boolean; delim: number } {
  v.plainObject('options', opts);
  v.knownKeys('options', opts as Record<string, unknown>, ['header', 'delimiter', 'chunkSize', 'maxRecordLength']);
  const header = v.optional(opts.header, true, (x) => v.boolean('options.header', x));
  const delimiter = v.optional(opts.delimiter, ',', (x) => v.string('options.delimiter', x));
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw v.rangeError('a single character other than a quote or a line break', 'options.delimiter', delimiter);
  }
  if (opts.chunkSize !== undefined) v.integer('options.chunkSize', opts.chunkSize, 1, 2 ** 30);
  if (opts.maxRecordLength !== undefined) v.integer('options.maxRecordLength', opts.maxRecordLength, 1, 2 ** 29);
  return { header, delim: delimiter.charCodeAt(0) };
}

/**
 * Parses CSV text into text columns (for mixed-type data: see Preprocessor).
 * @throws NodetrainError ERR_NT_INVALID_CSV for malformed content, an empty or header-only text.
 * @example const t = parseCsvTable('a,b\n1,x\n2,y\n'); // t.names ['a', 'b'], t.columns [['1', '2'], ['x', 'y']]
 */
export function parseCsvTable(text: string, opts: CsvTableOptions = {}, fileName = 'CSV text'): CsvTable {
  v.string('text', text);
  const o = checkTableOptions(opts);
  const b = new TableBuilder(fileName, o.header);
  scanRecords(text, o.delim, true, { line: 1, atStart: true }, fileName, b.record);
  return b.finish();
}

/**
 * Loads a CSV file into text columns, streaming it (see parseCsvTable).
 * @throws NodetrainError ERR_NT_INVALID_CSV naming the file and line; RangeError for a path that is
 *   not a regular file; the fs error when it cannot be read.
 * @example const table = await loadCsvTable('houses.csv');
 */
export async function loadCsvTable(path: string, opts: CsvTableOptions = {}): Promise<CsvTable> {
  v.string('path', path);
  const o = checkTableOptions(opts);
  const b = new TableBuilder(path, o.header);
  await streamRecords(path, o.delim, opts.chunkSize, opts.maxRecordLength, b.record);
  return b.finish();
}
