/**
 * Corpus, class "errors without a code": each input used to throw a raw TypeError / RangeError
 * (or overflow the stack); each now fails with a coded error whose message names the argument.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { constant, dataset, dense, loadModel, saveModel, sequence, sequential, sgd, tensor } from '../../lib';
import type { Schedule } from '../../lib';
import { transpileLib } from '../helpers/transpile';
import { codeOf, savedModel, tempDir, variant } from './corpus';

let dir: string;
let base: string;
beforeAll(async () => {
  dir = tempDir('uncoded');
  base = path.join(dir, 'base');
  await savedModel(base);
});
let lib: ReturnType<typeof transpileLib> | null = null;
/** The CLI transpiled from the current sources (never a stale dist/). */
function cliPath(): string {
  lib ??= transpileLib();
  return path.join(lib.dir, 'cli', 'main.js');
}
afterAll(() => {
  lib?.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

function detached(): Float32Array {
  const f = new Float32Array(4);
  structuredClone(f.buffer, { transfer: [f.buffer] });
  return f;
}

function compiled() {
  const m = sequential([dense({ units: 2, inputShape: [2] })], { seed: 1 });
  m.compile({ optimizer: 'sgd', loss: 'mse' });
  return m;
}

function nested(depth: number): unknown {
  let s: unknown = { type: 'constant', lr: 1 };
  for (let i = 0; i < depth; i++) s = { type: 'sequence', schedules: [s], milestones: [] };
  return s;
}

const cases: [string, () => unknown, string, RegExp][] = [
  ['sequential with a 2^24-unit layer after 784 inputs', () => sequential([dense({ units: 1 << 24, inputShape: [784] })]), 'ERR_NT_OUT_OF_MEMORY', /dense_1\/kernel of shape \[784, 16777216\]/],
  ['sequential with two 10^6-unit layers', () => sequential([dense({ units: 1e6, inputShape: [1] }), dense({ units: 1e6 })]), 'ERR_NT_OUT_OF_MEMORY', /dense_2\/kernel of shape \[1000000, 1000000\]/],
  ['loadModel with huge units', () => loadModel(variant(base, path.join(dir, 'huge'), (j) => { j.graph.nodes[1].config.units = 1 << 24; })), 'ERR_NT_CORRUPT_FILE', /declares \d+ parameters/],
  ['layer type "toString" in model.json', () => loadModel(variant(base, path.join(dir, 'tostring'), (j) => { j.graph.nodes[1].config.type = 'toString'; })), 'ERR_NT_CORRUPT_FILE', /unknown layer type "toString"/],
  ['layer type "constructor" in model.json', () => loadModel(variant(base, path.join(dir, 'ctor'), (j) => { j.graph.nodes[1].config.type = 'constructor'; })), 'ERR_NT_CORRUPT_FILE', /unknown layer type "constructor"/],
  ['layer type "__proto__" in model.json', () => loadModel(variant(base, path.join(dir, 'proto'), (j) => { j.graph.nodes[1].config.type = '__proto__'; })), 'ERR_NT_CORRUPT_FILE', /unknown layer type/],
  ['activation "toString" in model.json', () => loadModel(variant(base, path.join(dir, 'act'), (j) => { j.graph.nodes[1].config.activation = 'toString'; })), 'ERR_NT_CORRUPT_FILE', /for activation but received "toString"/],
  ['optimizer type "constructor" in model.json', () => loadModel(variant(base, path.join(dir, 'opt'), (j) => { j.training.optimizer.type = 'constructor'; })), 'ERR_NT_CORRUPT_FILE', /training configuration/],
  ['saveModel with BigInt metadata', () => saveModel(compiled(), path.join(dir, 'meta-bigint'), { metadata: { n: 1n } }), 'ERR_NT_INVALID_ARGUMENT_TYPE', /JSON-serialisable metadata for metadata/],
  ['a 10,000-deep nested schedule', () => sgd({ lr: nested(10000) as Schedule }), 'ERR_NT_INVALID_ARGUMENT_VALUE', /nested at most 16 deep for lr\.schedules/],
  ['a cyclic schedule', () => { const s = nested(1) as { schedules: unknown[] }; s.schedules.push(s); return sgd({ lr: s as unknown as Schedule }); }, 'ERR_NT_INVALID_ARGUMENT_VALUE', /nested at most 16 deep/],
  ['tensor() of a detached Float32Array', () => tensor(detached(), [2, 2]), 'ERR_NT_INVALID_ARGUMENT_TYPE', /for values but received a Float32Array whose buffer is detached/],
  ['fit() with a detached x', () => compiled().fit(detached(), new Float32Array(4)), 'ERR_NT_INVALID_ARGUMENT_TYPE', /for x but received a Float32Array whose buffer is detached/],
  ['fit() with a detached y', () => compiled().fit(new Float32Array(4), detached()), 'ERR_NT_INVALID_ARGUMENT_TYPE', /for y but received a Float32Array whose buffer is detached/],
  ['predict() with a detached x', () => compiled().predict(detached()), 'ERR_NT_INVALID_ARGUMENT_TYPE', /for x but received/],
  ['dataset() with a detached x', () => dataset(detached(), new Int32Array(2)), 'ERR_NT_INVALID_ARGUMENT_TYPE', /for x but received/],
  ['fit() with signal {aborted: false}', () => compiled().fit([[1, 2]], [[1, 2]], { signal: { aborted: false } as AbortSignal }), 'ERR_NT_INVALID_ARGUMENT_TYPE', /Expected an AbortSignal for signal/],
  ['fit() with signal "abort"', () => compiled().fit([[1, 2]], [[1, 2]], { signal: 'abort' as unknown as AbortSignal }), 'ERR_NT_INVALID_ARGUMENT_TYPE', /Expected an AbortSignal for signal/],
];

test.each(cases.map(([n, f, c, m]) => [n, c, f, m] as const))('%s -> %s', async (_name, code, fn, message) => {
  let err: unknown = null;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect((err as { code?: string })?.code).toBe(code);
  expect((err as Error).message).toMatch(message);
});

test('16 levels of nesting are still accepted (the limit is unchanged)', () => {
  let s: Schedule = constant(1);
  for (let i = 0; i < 16; i++) s = sequence([s], { milestones: [] });
  expect(() => sgd({ lr: s })).not.toThrow();
});

test('unserialisable metadata leaves no file behind (metadata is checked before writing)', async () => {
  const d = path.join(dir, 'meta-cycle');
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  expect(await codeOf(() => saveModel(compiled(), d, { metadata: cyc }))).toBe('ERR_NT_INVALID_ARGUMENT_TYPE');
  expect(fs.existsSync(d) ? fs.readdirSync(d) : []).toEqual([]);
});

test('nodetrain train --layers 16777216 fails with ERR_NT_OUT_OF_MEMORY naming the layer', () => {
  const cli = cliPath();
  const r = spawnSync(process.execPath, [cli, 'train', '--layers', '16777216', '--epochs', '1', '--quiet'], { encoding: 'utf8', timeout: 120000, cwd: dir });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/dense_1\/kernel of shape \[784, 16777216\].*\(ERR_NT_OUT_OF_MEMORY\)/);
});
