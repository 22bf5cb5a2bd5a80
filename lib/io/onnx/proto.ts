/**
 * A minimal Protocol Buffers writer for the ONNX messages an exported model needs (onnx/onnx.proto3,
 * IR version 8): ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto and
 * the type/shape messages. Field numbers are the ones in onnx.proto; wire types follow the protobuf
 * encoding guide (varint = 0, 64-bit = 1, length-delimited = 2, 32-bit = 5; packed repeated
 * scalars). Nothing here validates ONNX semantics: the exporter builds well-formed graphs and the
 * tests run them in onnxruntime.
 */

/** TensorProto.DataType values used here. */
export const OnnxDType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;

/** AttributeProto.AttributeType values. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

class Writer {
  private chunks: Uint8Array[] = [];
  private len = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.len += b.length;
  }

  private varint(x: bigint | number): void {
    let v = BigInt.asUintN(64, BigInt(x));
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      out.push(byte);
    } while (v !== 0n);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, x: number | bigint): this {
    this.tag(field, 0);
    this.varint(x);
    return this;
  }

  float(field: number, x: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    this.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.varint(b.length);
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: Writer): this {
    return this.bytes(field, m.finish());
  }

  packedInts(field: number, xs: readonly (number | bigint)[]): this {
    if (xs.length === 0) return this;
    const inner = new Writer();
    for (const x of xs) inner.varint(x);
    return this.bytes(field, inner.finish());
  }

  packedFloats(field: number, xs: readonly number[]): this {
    if (xs.length === 0) return this;
    const b = new Uint8Array(4 * xs.length);
    const dv = new DataView(b.buffer);
    xs.forEach((x, i) => dv.setFloat32(4 * i, x, true));
    return this.bytes(field, b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.len);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

export type OnnxAttr = number | string | readonly number[] | { floats: readonly number[] } | { int: number };

export interface OnnxNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attrs?: Record<string, OnnxAttr>;
}

export interface OnnxInitializer {
  name: string;
  dims: readonly number[];
  /** float32 data, or int64 values for shape tensors. */
  data: Float32Array | BigInt64Array;
}

export interface OnnxValueInfo {
  name: string;
  /** Dimensions; a string is a symbolic dimension such as 'batch'. */
  shape: readonly (number | string)[];
  elemType?: number;
}

export interface OnnxModel {
  graphName: string;
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  opset: number;
  producerVersion: string;
  docString?: string;
  metadata?: Record<string, string>;
}

function attribute(name: string, a: OnnxAttr): Writer {
  const w = new Writer().string(1, name);
  if (typeof a === 'string') return w.bytes(4, new TextEncoder().encode(a)).int(20, AttrType.STRING);
  if (typeof a === 'number') return w.float(2, a).int(20, AttrType.FLOAT);
  if (Array.isArray(a)) return w.packedInts(8, a as number[]).int(20, AttrType.INTS);
  if ('floats' in (a as object)) return w.packedFloats(7, (a as { floats: number[] }).floats).int(20, AttrType.FLOATS);
  return w.int(3, (a as { int: number }).int).int(20, AttrType.INT);
}

function tensor(t: OnnxInitializer): Writer {
  const w = new Writer().packedInts(1, t.dims).int(2, t.data instanceof Float32Array ? OnnxDType.FLOAT : OnnxDType.INT64).string(8, t.name);
  // raw_data is little-endian by definition.
  const le = new Uint8Array(t.data.byteLength);
  const dv = new DataView(le.buffer);
  if (t.data instanceof Float32Array) t.data.forEach((x, i) => dv.setFloat32(4 * i, x, true));
  else t.data.forEach((x, i) => dv.setBigInt64(8 * i, x, true));
  return w.bytes(9, le);
}

function valueInfo(v: OnnxValueInfo): Writer {
  const shape = new Writer();
  for (const d of v.shape) shape.message(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().string(2, d));
  const tensorType = new Writer().int(1, v.elemType ?? OnnxDType.FLOAT).message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensorType));
}

/** Serialises a model as ONNX ModelProto bytes (IR version 8). */
export function encodeOnnxModel(m: OnnxModel): Uint8Array {
  const g = new Writer();
  m.nodes.forEach((n, i) => {
    const nw = new Writer();
    for (const x of n.inputs) nw.string(1, x);
    for (const x of n.outputs) nw.string(2, x);
    nw.string(3, n.name ?? `${n.op}_${i}`).string(4, n.op);
    for (const [k, a] of Object.entries(n.attrs ?? {})) nw.message(5, attribute(k, a));
    g.message(1, nw);
  });
  g.string(2, m.graphName);
  for (const t of m.initializers) g.message(5, tensor(t));
  for (const v of m.inputs) g.message(11, valueInfo(v));
  for (const v of m.outputs) g.message(12, valueInfo(v));
  const model = new Writer()
    .int(1, 8) // ir_version
    .string(2, 'nodetrain')
    .string(3, m.producerVersion)
    .message(7, g)
    .message(8, new Writer().string(1, '').int(2, m.opset));
  if (m.docString) model.string(6, m.docString);
  for (const [k, val] of Object.entries(m.metadata ?? {})) model.message(14, new Writer().string(1, k).string(2, val));
  return model.finish();
}
