/**
 * The safetensors format (https://github.com/huggingface/safetensors, "Format" in its README):
 *
 *   8 bytes   N, the header size, unsigned 64-bit little-endian
 *   N bytes   a UTF-8 JSON object: {"<name>": {"dtype": "F32", "shape": [2, 3],
 *             "data_offsets": [begin, end]}, ..., "__metadata__": {"<key>": "<string>"}}
 *             (may be padded with trailing spaces)
 *   rest      the byte buffer; offsets are relative to its start, little-endian, row-major
 *
 * Decoding follows the reference implementation's checks (safetensors/src/tensor.rs, `validate`):
 * the ranges, sorted by offset, must tile the byte buffer exactly — no gaps, no overlaps, no
 * trailing bytes — and each range must be exactly shape product x dtype size. Every failure is a
 * NodetrainError ERR_NT_CORRUPT_FILE naming the file (when known) and the tensor. Data is copied out
 * into fresh typed arrays, so an unaligned data section is fine.
 */
import * as os from 'os';

import { ERR, NodetrainError } from '../errors';
import { openRegularFile, readAt } from '../files';
import { Tensor } from '../tensor/tensor';
import * as v from '../validate';
import { AtomicWriteOptions, writeFileAtomic } from './atomic';

/** Element types of the format that can be read and written here. */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** The typed array for each dtype: F16 and BF16 are raw 16-bit patterns (see float16ToFloat32). */
export type SafetensorsData = Float64Array | Float32Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array | BigUint64Array | Uint32Array | Uint8Array;

export interface SafetensorsTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: SafetensorsData;
}

export interface SafetensorsFile {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** What a caller expects of a tensor: a dtype and/or a shape. */
export interface ExpectedTensor {
  dtype?: SafetensorsDType;
  shape?: readonly number[];
}

export interface DecodeOptions {
  /** The file name used in error messages. */
  file?: string;
  /**
   * Tensors that must be present, with the given dtype and shape; a missing or different one is a
   * NodetrainError ERR_NT_WEIGHTS_MISMATCH.
   */
  expected?: Record<string, ExpectedTensor>;
  /** With `expected`: reject tensors that are not listed in it (default false). */
  strict?: boolean;
}

type Ctor = { new (buf: ArrayBuffer): SafetensorsData; new (n: number): SafetensorsData; BYTES_PER_ELEMENT: number; name: string };

const DTYPES: Record<SafetensorsDType, Ctor> = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U64: BigUint64Array,
  U32: Uint32Array,
  U16: Uint16Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
} as unknown as Record<SafetensorsDType, Ctor>;

/** Largest header accepted (the reference implementation's limit). */
export const SAFETENSORS_MAX_HEADER = 100_000_000;
const METADATA = '__metadata__';
const LITTLE_ENDIAN = os.endianness() === 'LE';

function corrupt(file: string | undefined, detail: string): NodetrainError {
  return new NodetrainError(ERR.CORRUPT_FILE, `Corrupt safetensors file${file ? ` ${file}` : ''}: ${detail}`);
}

function byteSwap(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

/** Accepts a Tensor or a {dtype, shape, data} record; returns the record form. */
function normalise(name: string, t: unknown): SafetensorsTensor {
  if (t instanceof Tensor) {
    return { dtype: t.dtype === 'float32' ? 'F32' : 'I32', shape: [...t.shape], data: t.data() };
  }
  const o = v.plainObject(`tensors[${JSON.stringify(name)}]`, t);
  const where = `tensors[${JSON.stringify(name)}]`;
  const dtype = v.oneOf(`${where}.dtype`, o.dtype, Object.keys(DTYPES) as SafetensorsDType[]);
  if (!Array.isArray(o.shape)) throw v.typeError('an array of non-negative integers', `${where}.shape`, o.shape);
  const shape = (o.shape as unknown[]).map((d, i) => v.integer(`${where}.shape[${i}]`, d, 0));
  const ctor = DTYPES[dtype];
  if (!(o.data instanceof ctor) && Object.prototype.toString.call(o.data) !== `[object ${ctor.name}]`) throw v.typeError(`a ${ctor.name} (dtype ${dtype})`, `${where}.data`, o.data);
  const data = o.data as SafetensorsData;
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw v.rangeError(`${count} elements (shape [${shape.join(', ')}])`, `${where}.data`, data);
  return { dtype, shape, data };
}

/** The header and the data chunks of an encoded file, without concatenating them. */
function encodeParts(tensors: Record<string, SafetensorsTensor | Tensor>, metadata: Record<string, string> = {}): Uint8Array[] {
  v.plainObject('tensors', tensors);
  v.plainObject('metadata', metadata);
  const header: Record<string, unknown> = {};
  const meta: Record<string, string> = {};
  for (const [k, val] of Object.entries(metadata)) meta[k] = v.string(`metadata[${JSON.stringify(k)}]`, val);
  if (Object.keys(meta).length > 0) header[METADATA] = meta;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, raw] of Object.entries(tensors)) {
    if (name === METADATA || name.length === 0) throw v.rangeError(`a tensor name other than "" and "${METADATA}"`, 'tensors', name);
    const t = normalise(name, raw);
    let bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (!LITTLE_ENDIAN) {
      bytes = bytes.slice();
      byteSwap(bytes, DTYPES[t.dtype].BYTES_PER_ELEMENT);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so that the data section starts 8-byte aligned (as the reference writer does).
  const jsonBytes = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - ((8 + jsonBytes) % 8)) % 8);
  const head = Buffer.alloc(8 + Buffer.byteLength(json, 'utf8'));
  head.writeBigUInt64LE(BigInt(head.length - 8), 0);
  head.write(json, 8, 'utf8');
  return [head, ...chunks];
}

/**
 * Encodes tensors (in insertion order) and string metadata as a safetensors file.
 * @param tensors name -> {dtype, shape, data} (data's typed array must match dtype) or a Tensor
 * @throws TypeError / RangeError for a dtype/data mismatch, a shape that does not match the element
 *   count, a reserved name or non-string metadata.
 * @example const bytes = encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } }, { format: 'pt' });
 */
export function encodeSafetensors(tensors: Record<string, SafetensorsTensor | Tensor>, metadata?: Record<string, string>): Buffer {
  return Buffer.concat(encodeParts(tensors, metadata));
}

function shapeKey(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Decodes and validates a safetensors file. Tensors come back in header order, each copied into a
 * fresh typed array of its dtype (F16/BF16 as raw Uint16Array bit patterns).
 * @throws NodetrainError ERR_NT_CORRUPT_FILE naming the file and tensor for any malformation;
 *   ERR_NT_WEIGHTS_MISMATCH when `expected` is not met.
 * @example const { tensors, metadata } = decodeSafetensors(fs.readFileSync('w.safetensors'), { file: 'w.safetensors' });
 */
export function decodeSafetensors(buf: Uint8Array, opts: DecodeOptions = {}): SafetensorsFile {
  if (!(buf instanceof Uint8Array)) throw v.typeError('a Buffer or Uint8Array', 'buffer', buf);
  v.plainObject('options', opts);
  v.knownKeys('options', opts as Record<string, unknown>, ['file', 'expected', 'strict']);
  const file = opts.file === undefined ? undefined : v.string('options.file', opts.file);
  if (buf.length < 8) throw corrupt(file, `the file has ${buf.length} bytes, fewer than the 8 of the header size`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(SAFETENSORS_MAX_HEADER)) throw corrupt(file, `the header size ${n64} exceeds the limit of ${SAFETENSORS_MAX_HEADER} bytes`);
  const n = Number(n64);
  if (8 + n > buf.length) throw corrupt(file, `the header size ${n} runs past the end of the file (${buf.length} bytes)`);
  const dataStart = 8 + n;
  const { metadata, entries } = parseHeader(file, buf.subarray(8, dataStart), buf.length - dataStart);
  const tensors: Record<string, SafetensorsTensor> = Object.create(null) as Record<string, SafetensorsTensor>;
  for (const e of entries) {
    const ctor = DTYPES[e.dtype];
    // A fresh ArrayBuffer: aligned for the typed array whatever the data section's alignment
    // (Buffer#slice would share memory with the file buffer).
    const copy = new Uint8Array(e.end - e.begin);
    copy.set(buf.subarray(dataStart + e.begin, dataStart + e.end));
    if (!LITTLE_ENDIAN) byteSwap(copy, ctor.BYTES_PER_ELEMENT);
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data: new ctor(copy.buffer) };
  }
  if (opts.expected !== undefined) checkExpected(file, tensors, opts.expected, opts.strict ?? false);
  return { tensors, metadata };
}

type HeaderEntry = { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number };

/**
 * Parses and validates a header (the JSON bytes after the 8-byte size) against the length of the
 * data section that follows it, without reading the data: entries tile the data exactly.
 */
function parseHeader(file: string | undefined, hbytes: Uint8Array, dataLen: number): { metadata: Record<string, string>; entries: HeaderEntry[] } {
  if (hbytes.length < 2 || hbytes[0] !== 0x7b /* { */) throw corrupt(file, 'the header does not start with a JSON object');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(hbytes));
  } catch (e) {
    throw corrupt(file, `the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw corrupt(file, 'the header is not a JSON object');

  const dup = duplicateTopLevelKey(hbytes);
  if (dup !== null) throw corrupt(file, `the header names ${JSON.stringify(dup)} twice`);
  const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  const entries: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA) {
      if (info === null) continue; // an absent metadata map, as the reference reader allows
      if (typeof info !== 'object' || info === null || Array.isArray(info)) throw corrupt(file, `"${METADATA}" is not an object of strings`);
      for (const [k, val] of Object.entries(info as Record<string, unknown>)) {
        if (typeof val !== 'string') throw corrupt(file, `"${METADATA}" value ${JSON.stringify(k)} is not a string`);
        metadata[k] = val;
      }
      continue;
    }
    const t = `tensor ${JSON.stringify(name)}`;
    if (typeof info !== 'object' || info === null || Array.isArray(info)) throw corrupt(file, `${t}: the entry is not an object`);
    const o = info as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') throw corrupt(file, `${t}: unknown field ${JSON.stringify(key)}`);
    }
    if (typeof o.dtype !== 'string' || !Object.prototype.hasOwnProperty.call(DTYPES, o.dtype)) {
      throw corrupt(file, `${t}: unsupported dtype ${v.describe(o.dtype)}`);
    }
    const dtype = o.dtype as SafetensorsDType;
    if (!Array.isArray(o.shape) || !o.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw corrupt(file, `${t}: the shape is not an array of non-negative integers`);
    }
    const shape = o.shape as number[];
    const offs = o.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw corrupt(file, `${t}: data_offsets is not a pair of non-negative integers`);
    }
    const [begin, end] = offs as number[];
    if (begin > end) throw corrupt(file, `${t}: data_offsets [${begin}, ${end}] ends before it begins`);
    if (end > dataLen) throw corrupt(file, `${t}: data_offsets [${begin}, ${end}] run past the end of the data (${dataLen} bytes)`);
    // The product is bounded by the range length (<= file size) unless a dimension is 0, so stop
    // multiplying once it exceeds what the range could hold.
    const width = DTYPES[dtype].BYTES_PER_ELEMENT;
    let bytes = width;
    for (const d of shape) {
      bytes *= d;
      if (bytes > end - begin) break;
    }
    if (shape.includes(0)) bytes = 0;
    if (bytes !== end - begin) {
      throw corrupt(file, `${t}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape ${shapeKey(shape)} of ${dtype} needs ${shapeBytes(shape, width)}`);
    }
    entries.push({ name, dtype, shape, begin, end });
  }

  // The ranges, in offset order, must tile the data exactly.
  const byOffset = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of byOffset) {
    if (e.begin < pos) throw corrupt(file, `tensor ${JSON.stringify(e.name)}: data_offsets [${e.begin}, ${e.end}] overlap the previous tensor (which ends at ${pos})`);
    if (e.begin > pos) throw corrupt(file, `tensor ${JSON.stringify(e.name)}: data_offsets [${e.begin}, ${e.end}] leave a gap after byte ${pos}`);
    pos = e.end;
  }
  if (pos !== dataLen) throw corrupt(file, `${dataLen - pos} trailing bytes after the last tensor`);

  return { metadata, entries };
}

/**
 * The first key that appears twice at the top level of a JSON object text (JSON.parse keeps the
 * last one silently), or null. The text is already known to be valid JSON.
 */
function duplicateTopLevelKey(bytes: Uint8Array): string | null {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \\ */ ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      expectKey = depth === 1;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x2c /* , */ && depth === 1) {
      expectKey = true;
    }
  }
  return null;
}

function shapeBytes(shape: number[], width: number): string {
  const total = shape.reduce((a, b) => a * b, width);
  return Number.isSafeInteger(total) ? `${total} bytes` : 'more bytes than the file holds';
}

/** The checks of DecodeOptions.expected / strict on decoded tensors. @internal */
export function checkExpected(file: string | undefined, tensors: Record<string, SafetensorsTensor>, expected: Record<string, ExpectedTensor>, strict: boolean): void {
  v.plainObject('options.expected', expected);
  const where = file ? ` in ${file}` : '';
  const mismatch = (msg: string) => new NodetrainError(ERR.WEIGHTS_MISMATCH, msg);
  for (const [name, exp] of Object.entries(expected)) {
    const t = Object.prototype.hasOwnProperty.call(tensors, name) ? tensors[name] : undefined;
    if (!t) throw mismatch(`Expected a tensor ${JSON.stringify(name)}${where} but received none`);
    if (exp.dtype !== undefined && t.dtype !== exp.dtype) {
      throw mismatch(`Expected dtype ${exp.dtype} for tensor ${JSON.stringify(name)}${where} but received ${t.dtype}`);
    }
    if (exp.shape !== undefined && shapeKey(t.shape) !== shapeKey(exp.shape)) {
      throw mismatch(`Expected shape ${shapeKey(exp.shape)} for tensor ${JSON.stringify(name)}${where} but received ${shapeKey(t.shape)}`);
    }
  }
  if (strict) {
    for (const name of Object.keys(tensors)) {
      if (!Object.prototype.hasOwnProperty.call(expected, name)) throw mismatch(`Expected only the listed tensors${where} but received an extra tensor ${JSON.stringify(name)}`);
    }
  }
}

/**
 * Writes tensors to a safetensors file atomically (a temporary file renamed over the target), so
 * an interrupted save never leaves a truncated file.
 * @throws as encodeSafetensors; the fs error when the file cannot be written.
 * @example await saveSafetensors('weights.safetensors', { 'dense/kernel': kernelTensor }, { format: 'nodetrain' });
 */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, SafetensorsTensor | Tensor>,
  metadata?: Record<string, string>,
  opts?: AtomicWriteOptions,
): Promise<void> {
  v.string('path', path);
  await writeFileAtomic(path, encodeParts(tensors, metadata), opts);
}

/**
 * Reads and validates a safetensors file (see decodeSafetensors).
 * @throws NodetrainError ERR_NT_CORRUPT_FILE / ERR_NT_WEIGHTS_MISMATCH; the fs error when it cannot be read.
 * @example const { tensors } = await loadSafetensors('weights.safetensors');
 */
export async function loadSafetensors(path: string, opts: Omit<DecodeOptions, 'file'> = {}): Promise<SafetensorsFile> {
  v.string('path', path);
  // Regular files only, and the 8-byte header size checked against the file's size before the
  // rest is read: a huge or endless file is rejected on its first bytes.
  const { handle, size } = await openRegularFile(path, 'path');
  let buf: Buffer;
  try {
    if (size < 8) throw corrupt(path, `the file has ${size} bytes, fewer than the 8 of the header size`);
    const n64 = (await readAt(handle, 8, 0)).readBigUInt64LE(0);
    if (n64 > BigInt(SAFETENSORS_MAX_HEADER)) throw corrupt(path, `the header size ${n64} exceeds the limit of ${SAFETENSORS_MAX_HEADER} bytes`);
    if (8 + Number(n64) > size) throw corrupt(path, `the header size ${n64} runs past the end of the file (${size} bytes)`);
    buf = await readAt(handle, size, 0);
  } finally {
    await handle.close();
  }
  return decodeSafetensors(buf, { ...opts, file: path });
}

/**
 * Reads and validates only the header of a safetensors file (regular files only; the data is not
 * read): each tensor's dtype and shape, the metadata and the file size. Lets a caller compare what
 * a file declares with what it expects before allocating anything. @internal
 * @throws NodetrainError ERR_NT_CORRUPT_FILE; ArgumentRangeError for a special file; the fs error.
 */
export async function readSafetensorsHeader(path: string): Promise<{ tensors: Record<string, { dtype: SafetensorsDType; shape: number[] }>; metadata: Record<string, string>; size: number }> {
  v.string('path', path);
  const { handle, size } = await openRegularFile(path, 'path');
  try {
    if (size < 8) throw corrupt(path, `the file has ${size} bytes, fewer than the 8 of the header size`);
    const n64 = (await readAt(handle, 8, 0)).readBigUInt64LE(0);
    if (n64 > BigInt(SAFETENSORS_MAX_HEADER)) throw corrupt(path, `the header size ${n64} exceeds the limit of ${SAFETENSORS_MAX_HEADER} bytes`);
    const n = Number(n64);
    if (8 + n > size) throw corrupt(path, `the header size ${n} runs past the end of the file (${size} bytes)`);
    const { metadata, entries } = parseHeader(path, await readAt(handle, n, 8), size - 8 - n);
    const tensors = Object.create(null) as Record<string, { dtype: SafetensorsDType; shape: number[] }>;
    for (const e of entries) tensors[e.name] = { dtype: e.dtype, shape: e.shape };
    return { tensors, metadata, size };
  } finally {
    await handle.close();
  }
}

/** Checks tensors (or header entries) against what a caller expects. @internal */
export function checkExpectedTensors(file: string, tensors: Record<string, { dtype: SafetensorsDType; shape: number[] }>, expected: Record<string, ExpectedTensor>, strict: boolean): void {
  checkExpected(file, tensors as Record<string, SafetensorsTensor>, expected, strict);
}

/**
 * Converts IEEE half-precision bit patterns (dtype F16) to float32.
 * @example float16ToFloat32(new Uint16Array([0x3c00])) // Float32Array [1]
 */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) out[i] = sign * frac * 2 ** -24;
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

/**
 * Converts bfloat16 bit patterns (dtype BF16) to float32 (the upper half of a float32).
 * @example bfloat16ToFloat32(new Uint16Array([0x3f80])) // Float32Array [1]
 */
export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const u = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) u[i] = bits[i] << 16;
  return new Float32Array(u.buffer);
}
