import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { writeDirAtomic, writeFileAtomic, writeFileAtomicSync } from '../../lib';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodetrain-atomic-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const leftovers = (d: string) => fs.readdirSync(d).filter((f) => f.startsWith('.'));

describe('writeFileAtomic', () => {
  it('writes bytes, strings and chunk iterables, replacing the old file', async () => {
    const p = path.join(dir, 'f.bin');
    await writeFileAtomic(p, 'old');
    expect(fs.readFileSync(p, 'utf8')).toBe('old');
    await writeFileAtomic(p, Uint8Array.from([1, 2, 3]));
    expect([...fs.readFileSync(p)]).toEqual([1, 2, 3]);
    async function* chunks() {
      yield Buffer.from('ab');
      yield 'cd';
      yield new Uint8Array(70000).fill(120);
    }
    await writeFileAtomic(p, chunks());
    const got = fs.readFileSync(p);
    expect(got.length).toBe(70004);
    expect(got.subarray(0, 5).toString()).toBe('abcdx');
    writeFileAtomicSync(p, ['x', Buffer.from('yz')]);
    expect(fs.readFileSync(p, 'utf8')).toBe('xyz');
    expect(leftovers(dir)).toEqual([]);
  });

  it('leaves the old file untouched and no temporary file when the data source fails midway', async () => {
    const p = path.join(dir, 'weights.safetensors');
    fs.writeFileSync(p, 'precious');
    async function* failing() {
      yield new Uint8Array(100000).fill(1); // something is already on disk when it fails
      throw new Error('source failed');
    }
    await expect(writeFileAtomic(p, failing())).rejects.toThrow('source failed');
    expect(fs.readFileSync(p, 'utf8')).toBe('precious');
    expect(leftovers(dir)).toEqual([]);
    function* failingSync() {
      yield 'partial';
      throw new Error('sync source failed');
    }
    expect(() => writeFileAtomicSync(p, failingSync())).toThrow('sync source failed');
    expect(fs.readFileSync(p, 'utf8')).toBe('precious');
    await expect(writeFileAtomic(p, [1 as never])).rejects.toThrow('Expected a Uint8Array or a string for data chunk 0 but received 1');
    expect(fs.readFileSync(p, 'utf8')).toBe('precious');
    expect(leftovers(dir)).toEqual([]);
  });

  it('leaves the old file untouched when the rename fails', async () => {
    // The target is a non-empty folder: rename(2) fails after the temporary file is complete.
    const p = path.join(dir, 'taken');
    fs.mkdirSync(p);
    fs.writeFileSync(path.join(p, 'inner'), 'keep');
    await expect(writeFileAtomic(p, 'new')).rejects.toHaveProperty('code');
    expect(fs.readFileSync(path.join(p, 'inner'), 'utf8')).toBe('keep');
    expect(leftovers(dir)).toEqual([]);
  });

  it('fails cleanly when the folder does not exist', async () => {
    await expect(writeFileAtomic(path.join(dir, 'no', 'f'), 'x')).rejects.toHaveProperty('code', 'ENOENT');
    expect(() => writeFileAtomicSync('', 'x')).toThrow('Expected a non-empty path for path but received ""');
  });
});

describe('writeDirAtomic', () => {
  it('replaces a folder as a whole and keeps the old one when a file fails', async () => {
    const d = path.join(dir, 'model');
    await writeDirAtomic(d, { 'model.json': '{"v":1}', 'w.bin': Uint8Array.from([1]) });
    expect(fs.readdirSync(d).sort()).toEqual(['model.json', 'w.bin']);
    fs.writeFileSync(path.join(d, 'stale.txt'), 'old run');
    await writeDirAtomic(d, { 'model.json': '{"v":2}' });
    expect(fs.readdirSync(d)).toEqual(['model.json']);
    expect(fs.readFileSync(path.join(d, 'model.json'), 'utf8')).toBe('{"v":2}');
    async function* failing() {
      yield 'half';
      throw new Error('disk full');
    }
    await expect(writeDirAtomic(d, { 'model.json': '{"v":3}', 'w.bin': failing() })).rejects.toThrow('disk full');
    expect(fs.readFileSync(path.join(d, 'model.json'), 'utf8')).toBe('{"v":2}');
    expect(fs.readdirSync(dir)).toEqual(['model']);
    await expect(writeDirAtomic(d, { '../x': 'a' })).rejects.toThrow('Expected a file name without path separators for files but received "../x"');
  });
});
