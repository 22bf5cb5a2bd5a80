/**
 * Corpus, class "silently accepted": inputs that used to load or train without complaint. Each
 * must now be refused with the code beside it.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { decodeSafetensors, loadModel, parseCsv, sgd } from '../../lib';
import { codeOf, savedModel, tempDir, variant } from './corpus';

let dir: string;
let base: string;
let weights: string;
beforeAll(async () => {
  dir = tempDir('silent');
  base = path.join(dir, 'base');
  ({ weights } = await savedModel(base));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function header(json: string, data = 0): Uint8Array {
  const h = Buffer.from(json);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, Buffer.alloc(data)]);
}

const cases: [string, () => unknown, string][] = [
  ['a 20000 -> 50000 dense layer declared in a 1 KB model.json', () => loadModel(variant(base, path.join(dir, 'huge'), (j) => {
    j.graph.nodes[0].config.shape = [20000];
    j.graph.nodes[1].config.inputShape = [20000];
    j.graph.nodes[1].config.units = 50000;
  })), 'ERR_NT_CORRUPT_FILE'],
  ['declared shapes that differ from the weights header (3 -> 4 units)', () => loadModel(variant(base, path.join(dir, 'units4'), (j) => { j.graph.nodes[1].config.units = 4; })), 'ERR_NT_WEIGHTS_MISMATCH'],
  ['graph.output: 0 (the input node)', () => loadModel(variant(base, path.join(dir, 'out0'), (j) => { j.graph.output = 0; })), 'ERR_NT_CORRUPT_FILE'],
  ['graph.output pointing at a middle layer (unused layers)', () => loadModel(variant(base, path.join(dir, 'out1'), (j) => { j.graph.output = 1; })), 'ERR_NT_CORRUPT_FILE'],
  ['graph.output: "2"', () => loadModel(variant(base, path.join(dir, 'outs'), (j) => { j.graph.output = '2'; })), 'ERR_NT_CORRUPT_FILE'],
  ['a tensor named __proto__', () => decodeSafetensors(header('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4), { expected: {}, strict: true }), 'ERR_NT_WEIGHTS_MISMATCH'],
  ['a tensor name repeated, the first copy past the end', () => decodeSafetensors(header('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,400]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4)), 'ERR_NT_CORRUPT_FILE'],
  ['a CSV value of 1e39 (beyond float32)', () => parseCsv('a,y\n1e39,1\n2,3\n', { target: 'y', labels: 'integer' }), 'ERR_NT_INVALID_CSV'],
  ['a header-only CSV', () => parseCsv('a,y\n', { target: 'y', labels: 'integer' }), 'ERR_NT_INVALID_CSV'],
  ['sgd({ momentum: 1.5 })', () => sgd({ momentum: 1.5 }), 'ERR_NT_INVALID_ARGUMENT_VALUE'],
  ['sgd({ momentum: 1 })', () => sgd({ momentum: 1 }), 'ERR_NT_INVALID_ARGUMENT_VALUE'],
];

test.each(cases.map(([n, f, c]) => [n, c, f] as const))('%s -> %s', async (_name, code, fn) => {
  expect(await codeOf(fn)).toBe(code);
});

test('sgd momentum just below 1 is still accepted (the bound is [0, 1))', () => {
  expect(sgd({ momentum: 0.999 }).momentum).toBe(0.999);
});

test('the huge declared layer is refused before the model is built (no 4 GB allocation) by the byte count', async () => {
  const d = variant(base, path.join(dir, 'huge2'), (j) => {
    j.graph.nodes[0].config.shape = [20000];
    j.graph.nodes[1].config.inputShape = [20000];
    j.graph.nodes[1].config.units = 50000;
  });
  const before = process.memoryUsage().rss;
  await expect(loadModel(d)).rejects.toThrow(/declares 1000100001 parameters \(4000400004 bytes\) but weights-.*holds 380 bytes/);
  // Structural, not a timing: the refusal allocated nothing near the 4 GB the layer declares.
  expect(process.memoryUsage().rss - before).toBeLessThan(1e9);
});

test('a weights file that is a symlink outside the folder is refused; one inside is followed', async () => {
  const outside = path.join(dir, 'elsewhere.safetensors');
  fs.copyFileSync(path.join(base, weights), outside);
  const d = variant(base, path.join(dir, 'link-out'), () => undefined);
  fs.rmSync(path.join(d, weights));
  fs.symlinkSync(outside, path.join(d, weights));
  const err = await loadModel(d).catch((e: Error & { code: string }) => e);
  expect((err as { code: string }).code).toBe('ERR_NT_CORRUPT_FILE');
  expect((err as Error).message).toMatch(/resolves to .*elsewhere\.safetensors, outside the model folder/);
  // A symlink to /dev/zero is refused the same way, before anything is read.
  fs.rmSync(path.join(d, weights));
  fs.symlinkSync('/dev/zero', path.join(d, weights));
  expect(await codeOf(() => loadModel(d))).toBe('ERR_NT_CORRUPT_FILE');
  // Inside the folder a link is fine.
  fs.rmSync(path.join(d, weights));
  fs.copyFileSync(path.join(base, weights), path.join(d, 'real.safetensors'));
  fs.symlinkSync('real.safetensors', path.join(d, weights));
  await expect(loadModel(d)).resolves.toBeDefined();
  // model.json itself linked from outside.
  const d2 = path.join(dir, 'json-out');
  fs.mkdirSync(d2);
  fs.symlinkSync(path.join(base, 'model.json'), path.join(d2, 'model.json'));
  expect(await codeOf(() => loadModel(d2))).toBe('ERR_NT_CORRUPT_FILE');
  void execFileSync;
});
