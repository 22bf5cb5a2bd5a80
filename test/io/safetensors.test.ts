import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {
  bfloat16ToFloat32,
  createRng,
  decodeSafetensors,
  encodeSafetensors,
  float16ToFloat32,
  loadSafetensors,
  NodetrainError,
  saveSafetensors,
  tensor,
} from '../../lib';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodetrain-st-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Builds a file by hand, byte by byte, exactly as the format description says. */
function handBuilt(headerJson: string, data: number[]): Buffer {
  const header = Buffer.from(headerJson, 'utf8');
  const len = Buffer.alloc(8);
  for (let i = 0, n = header.length; i < 8; i++, n = Math.floor(n / 256)) len[i] = n % 256; // u64 little-endian
  return Buffer.concat([len, header, Buffer.from(data)]);
}

function corruptMessage(buf: Uint8Array, file = 'w.safetensors'): string {
  try {
    decodeSafetensors(buf, { file });
  } catch (e) {
    expect(e).toBeInstanceOf(NodetrainError);
    expect((e as NodetrainError).code).toBe('ERR_NT_CORRUPT_FILE');
    return (e as Error).message;
  }
  throw new Error('expected the buffer to be rejected');
}

const f32le = (...xs: number[]) => [...Buffer.from(new Float32Array(xs).buffer)];
const i32le = (...xs: number[]) => [...Buffer.from(new Int32Array(xs).buffer)];

describe('safetensors format', () => {
  it('reads a file built byte by byte from the format description', () => {
    const json = '{"__metadata__":{"format":"pt"},"b":{"dtype":"I32","shape":[3],"data_offsets":[8,20]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const buf = handBuilt(json, [...f32le(1.5, -2), ...i32le(7, -8, 2 ** 31 - 1)]);
    const out = decodeSafetensors(buf);
    expect(out.metadata).toEqual({ format: 'pt' });
    expect(Object.keys(out.tensors)).toEqual(['b', 'a']);
    expect(out.tensors.a.dtype).toBe('F32');
    expect(out.tensors.a.shape).toEqual([2]);
    expect(Array.from(out.tensors.a.data)).toEqual([1.5, -2]);
    expect(out.tensors.b.data).toBeInstanceOf(Int32Array);
    expect(Array.from(out.tensors.b.data)).toEqual([7, -8, 2 ** 31 - 1]);
  });

  it('writes the exact bytes the format describes (header size, JSON, padding, data)', () => {
    const buf = encodeSafetensors({ w: { dtype: 'F32', shape: [1, 2], data: new Float32Array([3, 4]) } }, { k: 'v' });
    const n = Number(buf.readBigUInt64LE(0));
    const json = buf.subarray(8, 8 + n).toString('utf8');
    expect(JSON.parse(json)).toEqual({ __metadata__: { k: 'v' }, w: { dtype: 'F32', shape: [1, 2], data_offsets: [0, 8] } });
    expect((8 + n) % 8).toBe(0); // padded with spaces so the data is 8-byte aligned
    expect(json.trimEnd()).toBe(JSON.stringify(JSON.parse(json)));
    expect([...buf.subarray(8 + n)]).toEqual(f32le(3, 4));
    expect(buf.length).toBe(8 + n + 8);
  });

  it('round-trips every dtype, Tensors, empty and scalar shapes, and unaligned buffers', () => {
    const rng = createRng(77);
    const f32 = Float32Array.from({ length: 2 * 3 * 5 }, () => rng.normal());
    const f64 = Float64Array.from({ length: 7 }, () => rng.normal());
    const tensors = {
      'layer.0/kernel': { dtype: 'F32' as const, shape: [2, 3, 5], data: f32 },
      f64: { dtype: 'F64' as const, shape: [7], data: f64 },
      i32: { dtype: 'I32' as const, shape: [2, 2], data: Int32Array.from([1, -2, 3, -4]) },
      f16: { dtype: 'F16' as const, shape: [3], data: Uint16Array.from([0x3c00, 0xc000, 0x7c00]) },
      bf16: { dtype: 'BF16' as const, shape: [1], data: Uint16Array.from([0x3f80]) },
      i64: { dtype: 'I64' as const, shape: [1], data: BigInt64Array.from([-5n]) },
      u8: { dtype: 'U8' as const, shape: [3], data: Uint8Array.from([0, 128, 255]) },
      empty: { dtype: 'F32' as const, shape: [0, 4], data: new Float32Array(0) },
      scalar: { dtype: 'F32' as const, shape: [], data: Float32Array.from([2.5]) },
      t: tensor([[1, 2], [3, 4]]),
    };
    const buf = encodeSafetensors(tensors, { a: '1', 'ü': 'ß' });
    // Shift the file by one byte inside a bigger buffer so no typed array could view it in place.
    const shifted = new Uint8Array(buf.length + 1);
    shifted.set(buf, 1);
    const out = decodeSafetensors(shifted.subarray(1));
    expect(out.metadata).toEqual({ a: '1', 'ü': 'ß' });
    expect(Object.keys(out.tensors)).toEqual(Object.keys(tensors));
    const { t: _t, ...records } = tensors;
    expect(Object.keys(records).length).toBe(9);
    for (const [name, t] of Object.entries(records)) {
      const got = out.tensors[name];
      expect(got.dtype).toBe(t.dtype);
      expect(got.shape).toEqual(t.shape);
      expect(got.data.constructor).toBe(t.data.constructor);
      expect(Array.from(got.data as ArrayLike<number>)).toEqual(Array.from(t.data as ArrayLike<number>));
    }
    expect(out.tensors.t.dtype).toBe('F32');
    expect(out.tensors.t.shape).toEqual([2, 2]);
    expect(Array.from(out.tensors.t.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(Array.from(float16ToFloat32(out.tensors.f16.data as Uint16Array))).toEqual([1, -2, Infinity]);
    expect(Array.from(bfloat16ToFloat32(out.tensors.bf16.data as Uint16Array))).toEqual([1]);
    // Copies, not views of the input buffer.
    shifted.fill(0);
    expect(out.tensors.i32.data[0]).toBe(1);
  });

  it('checks expected tensors', () => {
    const buf = encodeSafetensors({ w: { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) } });
    expect(() => decodeSafetensors(buf, { expected: { w: { shape: [2, 3], dtype: 'F32' } }, strict: true })).not.toThrow();
    const cases: [object, boolean, string][] = [
      [{ v: {} }, false, 'Expected a tensor "v" in m.st but received none'],
      [{ w: { shape: [3, 2] } }, false, 'Expected shape [3, 2] for tensor "w" in m.st but received [2, 3]'],
      [{ w: { dtype: 'F64' } }, false, 'Expected dtype F64 for tensor "w" in m.st but received F32'],
      [{}, true, 'Expected only the listed tensors in m.st but received an extra tensor "w"'],
    ];
    for (const [expected, strict, msg] of cases) {
      let err: NodetrainError | undefined;
      try {
        decodeSafetensors(buf, { file: 'm.st', expected: expected as never, strict });
      } catch (e) {
        err = e as NodetrainError;
      }
      expect(err?.code).toBe('ERR_NT_WEIGHTS_MISMATCH');
      expect(err?.message).toBe(msg);
    }
  });

  it('rejects bad input to the encoder', () => {
    expect(() => encodeSafetensors({ w: { dtype: 'F32', shape: [3], data: new Float64Array(3) as never } })).toThrow(
      'Expected a Float32Array (dtype F32) for tensors["w"].data but received a Float64Array of length 3',
    );
    expect(() => encodeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      'Expected 4 elements (shape [2, 2]) for tensors["w"].data but received a Float32Array of length 3',
    );
    expect(() => encodeSafetensors({ w: { dtype: 'Q4' as never, shape: [1], data: new Float32Array(1) } })).toThrow(RangeError);
    expect(() => encodeSafetensors({ __metadata__: { dtype: 'F32', shape: [0], data: new Float32Array(0) } })).toThrow(RangeError);
    expect(() => encodeSafetensors({}, { n: 1 as never })).toThrow('Expected a string for metadata["n"] but received 1');
  });
});

describe('safetensors corruption', () => {
  const good = encodeSafetensors(
    {
      a: { dtype: 'F32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
      b: { dtype: 'I32', shape: [3], data: Int32Array.from([5, 6, 7]) },
    },
    { note: 'x' },
  );
  const headerLen = Number(good.readBigUInt64LE(0));
  const P = 'Corrupt safetensors file w.safetensors: ';

  it('rejects a file truncated at any point', () => {
    expect(corruptMessage(good.subarray(0, 0))).toBe(`${P}the file has 0 bytes, fewer than the 8 of the header size`);
    expect(corruptMessage(good.subarray(0, 7))).toBe(`${P}the file has 7 bytes, fewer than the 8 of the header size`);
    expect(corruptMessage(good.subarray(0, 8 + 10))).toBe(`${P}the header size ${headerLen} runs past the end of the file (18 bytes)`);
    expect(corruptMessage(good.subarray(0, good.length - 1))).toBe(
      `${P}tensor "b": data_offsets [16, 28] run past the end of the data (27 bytes)`,
    );
    // Every truncation point is rejected.
    for (let cut = 0; cut < good.length; cut++) {
      expect(() => decodeSafetensors(good.subarray(0, cut))).toThrow(NodetrainError);
    }
  });

  it('rejects tampered header sizes', () => {
    const absurd = Buffer.from(good);
    absurd.writeBigUInt64LE(2n ** 40n, 0);
    expect(corruptMessage(absurd)).toBe(`${P}the header size 1099511627776 exceeds the limit of 100000000 bytes`);
    const huge = Buffer.from(good);
    huge.writeBigUInt64LE(2n ** 64n - 1n, 0);
    expect(corruptMessage(huge)).toBe(`${P}the header size 18446744073709551615 exceeds the limit of 100000000 bytes`);
    const short = Buffer.from(good);
    short.writeBigUInt64LE(BigInt(headerLen - 5), 0);
    expect(corruptMessage(short)).toMatch(/^Corrupt safetensors file w\.safetensors: the header is not valid UTF-8 JSON \(/);
    const longer = Buffer.from(good);
    longer.writeBigUInt64LE(BigInt(headerLen + 4), 0);
    expect(corruptMessage(longer)).toMatch(/the header is not valid UTF-8 JSON/);
  });

  it('rejects headers that are not a JSON object', () => {
    expect(corruptMessage(handBuilt('[1,2]', []))).toBe(`${P}the header does not start with a JSON object`);
    expect(corruptMessage(handBuilt('{"a":', []))).toMatch(/^Corrupt safetensors file w\.safetensors: the header is not valid UTF-8 JSON/);
    const badUtf8 = handBuilt('{"a":1}', []);
    badUtf8[10] = 0xff;
    expect(corruptMessage(badUtf8)).toMatch(/the header is not valid UTF-8 JSON/);
    expect(corruptMessage(handBuilt('{"__metadata__":{"k":1}}', []))).toBe(`${P}"__metadata__" value "k" is not a string`);
    expect(corruptMessage(handBuilt('{"a":[1]}', []))).toBe(`${P}tensor "a": the entry is not an object`);
  });

  it('rejects bad dtypes, shapes and offsets, naming the tensor', () => {
    const cases: [string, number[], string][] = [
      ['{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', [0], 'tensor "a": unsupported dtype "F8_E4M3"'],
      ['{"a":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0], 'tensor "a": unsupported dtype 7'],
      ['{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', f32le(1), 'tensor "a": the shape is not an array of non-negative integers'],
      ['{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', f32le(1), 'tensor "a": the shape is not an array of non-negative integers'],
      ['{"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}', f32le(1), 'tensor "a": the shape is not an array of non-negative integers'],
      ['{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', f32le(1), 'tensor "a": data_offsets is not a pair of non-negative integers'],
      ['{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', f32le(1), 'tensor "a": data_offsets [4, 0] ends before it begins'],
      ['{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}', f32le(1), 'tensor "a": data_offsets [0, 8] run past the end of the data (4 bytes)'],
      ['{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', f32le(1), 'tensor "a": data_offsets [0, 4] hold 4 bytes but shape [2] of F32 needs 8 bytes'],
      ['{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,4]}}', f32le(1), 'tensor "a": data_offsets [0, 4] hold 4 bytes but shape [1] of F64 needs 8 bytes'],
      [
        '{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}',
        f32le(1),
        'tensor "a": data_offsets [0, 4] hold 4 bytes but shape [4294967296, 4294967296] of F32 needs more bytes than the file holds',
      ],
      ['{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}', f32le(1), 'tensor "a": unknown field "extra"'],
      [
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
        f32le(1, 2),
        'tensor "b": data_offsets [4, 8] overlap the previous tensor (which ends at 8)',
      ],
      [
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
        f32le(1, 2),
        'tensor "a": data_offsets [4, 8] leave a gap after byte 0',
      ],
      ['{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32le(1, 2), '4 trailing bytes after the last tensor'],
    ];
    for (const [json, data, msg] of cases) expect(corruptMessage(handBuilt(json, data))).toBe(P + msg);
    // Offsets out of order in the header are fine when they tile the data.
    const ok = decodeSafetensors(handBuilt('{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32le(1, 2)));
    expect(Array.from(ok.tensors.a.data)).toEqual([1]);
    expect(Array.from(ok.tensors.b.data)).toEqual([2]);
  });

  it('omits the file name when none is given', () => {
    expect(() => decodeSafetensors(new Uint8Array(3))).toThrow('Corrupt safetensors file: the file has 3 bytes, fewer than the 8 of the header size');
  });
});

describe('saveSafetensors / loadSafetensors', () => {
  it('round-trips through a file and names the file in errors', async () => {
    const p = path.join(dir, 'model.safetensors');
    const w = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    await saveSafetensors(p, { w: { dtype: 'F32', shape: [10, 100], data: w }, step: { dtype: 'I32', shape: [1], data: Int32Array.from([3]) } }, { epoch: '3' });
    const out = await loadSafetensors(p, { expected: { w: { shape: [10, 100] } } });
    expect(out.metadata).toEqual({ epoch: '3' });
    expect(Buffer.from((out.tensors.w.data as Float32Array).buffer).equals(Buffer.from(w.buffer))).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    fs.truncateSync(p, 30);
    await expect(loadSafetensors(p)).rejects.toThrow(`Corrupt safetensors file ${p}: the header size`);
  });
});
