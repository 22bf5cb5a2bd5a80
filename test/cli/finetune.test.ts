/**
 * `nodetrain finetune` end to end, run as a user runs it (a child process over the transpiled
 * library): on a model saved by `nodetrain train` (the bundled digits, and a CSV task fine-tuned
 * to another CSV task), on the same model exported with exportTfjs, and on a layers-model written
 * by TensorFlow.js itself. The fine-tuned model is saved like train's and scored by `evaluate`.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { exportTfjs, loadModel } from '../../lib';
import { makeRng } from '../helpers/numerics';
import { tf, tfReady, tl, writeTfjs } from '../helpers/tfjs';
import { transpileLib } from '../helpers/transpile';

let lib: ReturnType<typeof transpileLib>;
let dir: string;
let cli: string;

beforeAll(() => {
  lib = transpileLib();
  cli = path.join(lib.dir, 'cli', 'main.js');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-ft-cli-'));
  // Source task: 3 classes from the sign pattern of two directions in 6 numeric features. Target
  // task on the same features: 2 classes from the sign of the first direction (shared structure).
  const rng = makeRng(21);
  let src = 'f1,f2,f3,f4,f5,f6,label\n';
  let tgt = 'f1,f2,f3,f4,f5,f6,kind\n';
  for (let i = 0; i < 600; i++) {
    const f = Array.from({ length: 6 }, () => rng.normal());
    const a = f[0] + f[1] - f[2];
    const row = f.map((x) => x.toFixed(3)).join(',');
    if (i < 360) src += `${row},${a > 0.5 ? 2 : a > -0.5 ? 1 : 0}\n`;
    else tgt += `${row},${a > 0 ? 'pos' : 'neg'}\n`;
  }
  fs.writeFileSync(path.join(dir, 'src.csv'), src);
  fs.writeFileSync(path.join(dir, 'tgt.csv'), tgt);
});

afterAll(() => {
  lib.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: dir, timeout: 120_000 }, (e, out, err) => {
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err });
    });
  });
}

/** Checks a successful finetune run's report and the saved model; returns the test accuracy. */
async function checkRun(r: { code: number; out: string; err: string }, from: string, out: string, units: number, groups: number): Promise<number> {
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.out).toContain(`pretrained body from ${from}; new head of ${units} units`);
  expect(r.out).toMatch(/head phase: rates \d\.\d\de[-+]\d+; final loss \d+\.\d{4}/);
  const rates = /unfreeze phase: rates ([^;]+); final loss \d+\.\d{4}/.exec(r.out)![1].split(', ').map(Number);
  // One rate per layer group, rising geometrically to the top (slice(lo, hi)).
  expect(rates.length).toBe(groups);
  for (let i = 1; i < groups; i++) expect(rates[i]).toBeGreaterThan(rates[i - 1]);
  expect(r.out).toContain(`saved the model to ${fs.realpathSync(dir)}${path.sep}${out}`);
  const saved = await loadModel(path.join(dir, out));
  const head = saved.model.layers[saved.model.layers.length - 1];
  expect(head.name).toBe('head');
  expect((head.config as { units: number }).units).toBe(units);
  expect(saved.model.layers.every((l) => l.trainable)).toBe(true);
  return Number(/test accuracy ([\d.]+)%/.exec(r.out)![1]);
}

describe('nodetrain finetune', () => {
  it('fine-tunes a digits model saved by nodetrain train on the bundled digits', async () => {
    const t = await run(['train', '--layers', '32', '--epochs', '1', '--quiet', '--out', 'm-digits', '--threads', '1']);
    expect(t.code).toBe(0);
    const r = await run(['finetune', '--from', 'm-digits', '--head-epochs', '1', '--epochs', '1', '--lr', '0.003', '--quiet', '--out', 'ft-digits']);
    const acc = await checkRun(r, 'm-digits', 'ft-digits', 10, 2);
    expect(acc).toBeGreaterThan(80);
  });

  it('fine-tunes a CSV model saved by nodetrain train to another CSV task, then evaluate scores it on raw rows', async () => {
    const t = await run(['train', '--data', 'src.csv', '--target', 'label', '--epochs', '20', '--quiet', '--out', 'm-src', '--threads', '1']);
    expect(t.err).toBe('');
    expect(t.code).toBe(0);
    const r = await run(['finetune', '--from', 'm-src', '--data', 'tgt.csv', '--target', 'kind', '--epochs', '8', '--quiet', '--out', 'ft-csv', '--log', 'ft.csv']);
    const acc = await checkRun(r, 'm-src', 'ft-csv', 2, 3);
    expect(acc).toBeGreaterThan(80); // two classes, 48 test rows
    const log = fs.readFileSync(path.join(dir, 'ft.csv'), 'utf8').trim().split('\n');
    expect(log.length).toBeGreaterThan(1);
    const ev = await run(['evaluate', '--model', 'ft-csv', '--data', 'tgt.csv']);
    expect(ev.err).toBe('');
    expect(ev.code).toBe(0);
    expect(ev.out).toMatch(/test accuracy [\d.]+%/);
  });

  it('fine-tunes the same model exported with exportTfjs (model.json path)', async () => {
    const { model } = await loadModel(path.join(dir, 'm-src'));
    await exportTfjs(model, path.join(dir, 'tfjs-export'));
    const r = await run(['finetune', '--from', 'tfjs-export/model.json', '--data', 'tgt.csv', '--target', 'kind', '--epochs', '8', '--lr', '0.01', '--quiet', '--out', 'ft-export']);
    expect(await checkRun(r, 'tfjs-export/model.json', 'ft-export', 2, 3)).toBeGreaterThan(80);
  });

  it('fine-tunes a layers-model written by TensorFlow.js (folder path)', async () => {
    await tfReady();
    // The pretrained MLP (64-32, ReLU) rebuilt in TensorFlow.js with its weights, saved by tfjs.
    const src = (await loadModel(path.join(dir, 'm-src'))).model;
    const m = tl.sequential({
      layers: [
        tl.layers.dense({ units: 64, activation: 'relu', inputShape: [6], name: 'h1' }),
        tl.layers.dense({ units: 32, activation: 'relu', name: 'h2' }),
        tl.layers.dense({ units: 3, activation: 'softmax', name: 'out' }),
      ],
    });
    m.setWeights(Object.values(src.getWeights()).map((w) => tf.tensor(Array.from(w.data), w.shape)));
    await writeTfjs(m, path.join(dir, 'tfjs-native'));
    const r = await run(['finetune', '--from', 'tfjs-native', '--data', 'tgt.csv', '--target', 'kind', '--epochs', '8', '--unfreeze', 'gradual', '--quiet', '--out', 'ft-tfjs']);
    expect(await checkRun(r, 'tfjs-native', 'ft-tfjs', 2, 3)).toBeGreaterThan(80);
    const { model } = await loadModel(path.join(dir, 'ft-tfjs'));
    expect(model.layers.map((l) => l.name)).toEqual(['h1', 'h2', 'head']);
  });

  it('refuses data whose width differs from the pretrained input, with a usage error', async () => {
    fs.writeFileSync(path.join(dir, 'narrow.csv'), 'a,b,y\n' + Array.from({ length: 40 }, (_, i) => `${i % 7},${i % 3},${i % 2}`).join('\n') + '\n');
    const r = await run(['finetune', '--from', 'm-src', '--data', 'narrow.csv', '--target', 'y', '--quiet', '--out', 'ft-x']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("Expected data with 6 input features (the pretrained model's) for --data but received 2");
    expect(fs.existsSync(path.join(dir, 'ft-x'))).toBe(false);
  });
});
