/**
 * Corpus, class "hangs": inputs that used to block forever. Named pipes and devices are refused
 * at open (fstat on the descriptor), and abort wins over an epoch callback that never settles.
 * Each case settles (jest's timeout would fail a hang) with the code beside it.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { dense, loadCsv, loadModel, loadSafetensors, saveModel, sequential, sgd } from '../../lib';
import { transpileLib } from '../helpers/transpile';
import { codeOf, savedModel, tempDir, variant } from './corpus';

let dir: string;
let base: string;
let weights: string;
beforeAll(async () => {
  dir = tempDir('hangs');
  base = path.join(dir, 'base');
  ({ weights } = await savedModel(base));
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

function fifoIn(folder: string, name: string): void {
  fs.rmSync(path.join(folder, name), { force: true });
  execFileSync('mkfifo', [path.join(folder, name)]);
}

const cases: [string, () => unknown, string][] = [
  ['model.json is a named pipe', () => {
    const d = variant(base, path.join(dir, 'fifo-json'), () => undefined);
    fifoIn(d, 'model.json');
    return loadModel(d);
  }, 'ERR_NT_INVALID_ARGUMENT_VALUE'],
  ['the weights file is a named pipe', () => {
    const d = variant(base, path.join(dir, 'fifo-weights'), () => undefined);
    fifoIn(d, weights);
    return loadModel(d);
  }, 'ERR_NT_INVALID_ARGUMENT_VALUE'],
  ['loadSafetensors of /dev/zero', () => loadSafetensors('/dev/zero'), 'ERR_NT_INVALID_ARGUMENT_VALUE'],
  ['loadCsv of /dev/zero', () => loadCsv('/dev/zero', { target: 'y', labels: 'integer' }), 'ERR_NT_INVALID_ARGUMENT_VALUE'],
  ['loadCsv of a named pipe', () => {
    const d = path.join(dir, 'pipes');
    fs.mkdirSync(d, { recursive: true });
    fifoIn(d, 'data.csv');
    return loadCsv(path.join(d, 'data.csv'), { target: 'y', labels: 'integer' });
  }, 'ERR_NT_INVALID_ARGUMENT_VALUE'],
];

test.each(cases.map(([n, f, c]) => [n, c, f] as const))('%s -> %s', async (_name, code, fn) => {
  expect(await codeOf(fn)).toBe(code);
});

test('saving over a folder whose model.json is a named pipe does not block', async () => {
  const d = path.join(dir, 'save-fifo');
  fs.mkdirSync(d);
  fifoIn(d, 'model.json');
  const m = sequential([dense({ units: 1, inputShape: [1] })], { seed: 1 });
  // The previous model.json is only consulted; the save replaces the pipe with a real file.
  await saveModel(m, d);
  expect(fs.statSync(path.join(d, 'model.json')).isFile()).toBe(true);
});

test('nodetrain train --data /dev/zero fails at once with a code', () => {
  const cli = cliPath();
  const r = spawnSync(process.execPath, [cli, 'train', '--data', '/dev/zero', '--target', 'y', '--quiet'], { encoding: 'utf8', timeout: 60000 });
  expect(r.signal).toBeNull();
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/a regular file for .* \(ERR_NT_INVALID_ARGUMENT_VALUE\)/);
});

test('abort wins over an async epoch callback that never resolves', async () => {
  const m = sequential([dense({ units: 1, inputShape: [1] })], { seed: 1 });
  m.compile({ optimizer: sgd({ lr: 0.01 }), loss: 'mse' });
  const ac = new AbortController();
  let calls = 0;
  let ended = 0;
  const fit = m.fit([[1], [2], [3]], [[2], [4], [6]], {
    epochs: 100,
    signal: ac.signal,
    callbacks: [{
      onEpochEnd: () => {
        calls++;
        setImmediate(() => ac.abort());
        return new Promise<void>(() => undefined); // never settles
      },
      onTrainEnd: () => {
        ended++;
        return new Promise<void>(() => undefined); // not waited for after an abort
      },
    }],
  });
  await expect(fit).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
  expect({ calls, ended }).toEqual({ calls: 1, ended: 1 });
  // The model is usable again at once.
  await expect(m.evaluate([[1]], [[2]])).resolves.toBeDefined();
});

test('a signal aborted before an epoch event arrives answers it without running callbacks', async () => {
  const m = sequential([dense({ units: 1, inputShape: [1] })], { seed: 1 });
  m.compile({ optimizer: sgd({ lr: 0.01 }), loss: 'mse' });
  const ac = new AbortController();
  let begun = 0;
  const fit = m.fit([[1], [2]], [[2], [4]], { epochs: 5, signal: ac.signal, callbacks: [{ onEpochBegin: () => { begun++; } }] });
  ac.abort();
  await expect(fit).rejects.toMatchObject({ code: 'ABORT_ERR' });
  expect(begun).toBe(0);
});
