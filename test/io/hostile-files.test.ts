/**
 * Hostile files: special files (named pipes, devices), headers that try prototype pollution or
 * repeat names, values out of float32 range, header-only and endless CSVs. Each is refused at
 * once, with its own code and a message naming the argument, and nothing blocks or grows without
 * bound.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { decodeSafetensors, encodeSafetensors, loadCsv, loadSafetensors, parseCsv } from '../../lib';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodetrain-hostile-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function fifo(name: string): string {
  const p = path.join(dir, name);
  execFileSync('mkfifo', [p]);
  return p;
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  throw new Error('expected a rejection');
}

function header(json: string, data: number[] = []): Buffer {
  const h = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, Buffer.from(data)]);
}

describe('special files', () => {
  it('refuses a named pipe as a weights file at once, without waiting for a writer', async () => {
    const p = fifo('w.safetensors');
    const e = await codeOf(loadSafetensors(p));
    expect(e.code).toBe('ERR_NT_INVALID_ARGUMENT_VALUE');
    expect(e.message).toBe(`Expected a regular file for path but received a named pipe (FIFO) at ${p}`);
  });

  it('refuses a symlink to /dev/zero as a weights file without reading it', async () => {
    const p = path.join(dir, 'zero.safetensors');
    fs.symlinkSync('/dev/zero', p);
    const e = await codeOf(loadSafetensors(p));
    expect(e.code).toBe('ERR_NT_INVALID_ARGUMENT_VALUE');
    expect(e.message).toContain('a character device');
  });

  it('rejects a large file on its header size before reading the rest', async () => {
    const p = path.join(dir, 'big.safetensors');
    const fd = fs.openSync(p, 'w');
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(2) ** BigInt(40));
    fs.writeSync(fd, head);
    fs.ftruncateSync(fd, 64 * 1024 * 1024); // sparse: costs no disk
    fs.closeSync(fd);
    const e = await codeOf(loadSafetensors(p));
    expect(e.code).toBe('ERR_NT_CORRUPT_FILE');
    expect(e.message).toContain('exceeds the limit');
  });

  it('refuses a named pipe and a device as a CSV file', async () => {
    const p = fifo('d.csv');
    const e = await codeOf(loadCsv(p, { target: 0, labels: 'integer' }));
    expect(e.code).toBe('ERR_NT_INVALID_ARGUMENT_VALUE');
    expect(e.message).toBe(`Expected a regular file for path but received a named pipe (FIFO) at ${p}`);
    const z = await codeOf(loadCsv('/dev/zero', { target: 0, labels: 'integer' }));
    expect(z.code).toBe('ERR_NT_INVALID_ARGUMENT_VALUE');
  });
});

describe('safetensors headers', () => {
  it('keeps a tensor named __proto__ as data, never as the prototype', () => {
    const buf = header('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', [0, 0, 128, 63]);
    const { tensors } = decodeSafetensors(buf);
    expect(Object.getPrototypeOf(tensors)).toBeNull();
    expect(Object.keys(tensors)).toEqual(['__proto__']);
    expect(Array.from(tensors['__proto__'].data as Float32Array)).toEqual([1]);
    // strict checking sees it as the extra tensor it is
    expect(() => decodeSafetensors(buf, { expected: {}, strict: true })).toThrow('extra tensor "__proto__"');
  });

  it('rejects a name that appears twice, even when the first copy is out of range', () => {
    const buf = header(
      '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4000]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
      [0, 0, 128, 63],
    );
    expect(() => decodeSafetensors(buf, { file: 'x' })).toThrow('Corrupt safetensors file x: the header names "w" twice');
    // names inside nested objects (metadata) may repeat a tensor's name
    const ok = header('{"__metadata__":{"w":"note"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', [0, 0, 128, 63]);
    expect(decodeSafetensors(ok).metadata).toEqual({ w: 'note' });
  });

  it('still round-trips ordinary files', () => {
    const bytes = encodeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } }, { k: 'v' });
    const back = decodeSafetensors(bytes);
    expect(Array.from(back.tensors.a.data as Float32Array)).toEqual([1, 2]);
    expect(back.metadata.k).toBe('v');
  });
});

describe('CSV values and shapes', () => {
  it('rejects a value beyond the float32 range, naming line and column', () => {
    expect(() => parseCsv('a,y\n1,0\n1e39,1\n', { target: 'y', labels: 'integer' })).toThrow(
      'Expected a number within the float32 range (magnitude <= 3.4e38) for column "a" at line 3 of CSV text but received "1e39"',
    );
    expect(() => parseCsv('a,y\n-3.4028235677973366e38,1\n', { target: 'y', labels: 'integer' })).toThrow('float32 range');
  });

  it('rejects a header-only CSV with its own message', async () => {
    expect(() => parseCsv('a,b,y\n', { target: 'y', labels: 'integer' })).toThrow(
      'Expected at least one data row in CSV text but received only a header',
    );
    const p = path.join(dir, 'header.csv');
    fs.writeFileSync(p, 'a,b,y\n\n');
    const e = await codeOf(loadCsv(p, { target: 'y', labels: 'integer' }));
    expect(e.code).toBe('ERR_NT_INVALID_CSV');
  });

  it('refuses a record longer than maxRecordLength instead of buffering it', async () => {
    const p = path.join(dir, 'long.csv');
    fs.writeFileSync(p, `a,y\n1,${'x'.repeat(5000)}\n`);
    const e = await codeOf(loadCsv(p, { target: 'y', labels: 'integer', maxRecordLength: 1000, chunkSize: 256 }));
    expect(e.code).toBe('ERR_NT_INVALID_CSV');
    expect(e.message).toContain('Expected records of at most 1000 characters (options.maxRecordLength) at line 2');
    const ok = await loadCsv(p, { target: 'y', labels: 'integer', chunkSize: 256 });
    expect(ok.size).toBe(1);
  });
});
