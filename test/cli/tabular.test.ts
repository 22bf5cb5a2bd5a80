/**
 * The command line's tabular workflow, run as a user runs it (a child process over the transpiled
 * library): task detection, separate test and validation files, --test 0, evaluate and predict on
 * raw rows of a saved model, stratified splits and the adaptive defaults.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { loadCsvTable, loadModel, Preprocessor } from '../../lib';
import { adaptiveDefaults, splitRows } from '../../lib/cli/tabular';
import { makeRng } from '../helpers/numerics';
import { transpileLib } from '../helpers/transpile';

let lib: ReturnType<typeof transpileLib>;
let dir: string;
let cli: string;

beforeAll(() => {
  lib = transpileLib();
  cli = path.join(lib.dir, 'cli', 'main.js');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-cli-'));
  const rng = makeRng(11);
  // Classification: two informative numeric columns, a categorical one, missing cells, labels
  // written the pandas way ("2.0").
  let c = 'f1,f2,colour,noise,label\n';
  for (let i = 0; i < 240; i++) {
    const k = i % 3;
    const f1 = (k * 2 + rng.normal() * 0.4).toFixed(3);
    const f2 = rng.next() < 0.05 ? '' : (k - rng.normal() * 0.4).toFixed(3);
    const colour = ['red', 'green', 'blue'][(k + (rng.next() < 0.15 ? 1 : 0)) % 3];
    c += `${f1},${f2},${rng.next() < 0.03 ? 'NA' : colour},${rng.normal().toFixed(3)},${k}.0\n`;
  }
  fs.writeFileSync(path.join(dir, 'cls.csv'), c);
  const lines = c.trim().split('\n');
  fs.writeFileSync(path.join(dir, 'cls-train.csv'), lines.slice(0, 181).join('\n') + '\n');
  // A test file holding only two of the three classes, in another order.
  fs.writeFileSync(path.join(dir, 'cls-test.csv'), [lines[0], ...lines.slice(181).filter((l) => !l.endsWith(',0.0'))].join('\n') + '\n');
  // Regression with a nonlinear target on a large scale.
  let r = 'a,b,kind,price\n';
  for (let i = 0; i < 300; i++) {
    const a = rng.next() * 4 - 2;
    const b = rng.next() * 4 - 2;
    const kind = ['x', 'y'][i % 2];
    r += `${a.toFixed(3)},${b.toFixed(3)},${kind},${(1000 + 200 * Math.sin(a) + 50 * b * b + (kind === 'y' ? 150 : 0) + rng.normal() * 5).toFixed(2)}\n`;
  }
  fs.writeFileSync(path.join(dir, 'reg.csv'), r);
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

describe('nodetrain train on CSV data', () => {
  it('detects classification from "2.0"-style labels, trains, scores with F1 and a confusion matrix, and saves the preprocessing', async () => {
    const r = await run(['train', '--data', 'cls.csv', '--target', 'label', '--quiet', '--out', 'm-cls', '--threads', '1']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('task: classification: the target "label" holds 3 distinct integer values (at most 20) (override with --task)');
    expect(r.out).toMatch(/chosen for \d+ training rows: batch \d+, up to \d+ epochs/);
    const acc = Number(/test accuracy ([\d.]+)%, macro-F1 ([\d.]+) \(48 rows\)/.exec(r.out)![1]);
    expect(acc).toBeGreaterThan(85);
    expect(r.out).toContain('<- predicted');
    const { metadata } = await loadModel(path.join(dir, 'm-cls'));
    const pre = Preprocessor.fromJSON(metadata.preprocessor);
    expect(pre.classNames).toEqual(['0', '1', '2']);
    expect(pre.columnTypes).toEqual({ f1: 'numeric', f2: 'numeric', colour: 'categorical', noise: 'numeric' });
    expect(metadata.target).toBe('label');
  });

  it('scores a separate test file holding only some classes with the training file’s class ids', async () => {
    const r = await run(['train', '--data', 'cls-train.csv', '--test-data', 'cls-test.csv', '--target', 'label', '--quiet', '--out', 'm-sep', '--threads', '1']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\d+ test \(file\)/);
    const acc = Number(/test accuracy ([\d.]+)%/.exec(r.out)![1]);
    expect(acc).toBeGreaterThan(80);
    const ev = await run(['evaluate', '--model', 'm-sep', '--data', 'cls-test.csv']);
    expect(ev.code).toBe(0);
    expect(ev.out).toContain(`test accuracy ${acc.toFixed(2)}%`);
  });

  it('keeps the model with --test 0 and predicts raw rows after loading it', async () => {
    const r = await run(['train', '--data', 'cls.csv', '--target', 'label', '--test', '0', '--epochs', '5', '--quiet', '--out', 'm-all', '--threads', '1']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('no test rows (--test 0)');
    const p = await run(['predict', '--model', 'm-all', '--data', 'cls.csv', '--output', 'pred.csv']);
    expect(p.code).toBe(0);
    const pred = (await loadCsvTable(path.join(dir, 'pred.csv'))).columns;
    expect(pred.length).toBe(4); // label, p(0), p(1), p(2)
    expect(pred[0].length).toBe(240);
    for (let i = 0; i < 240; i++) {
      const probs = [1, 2, 3].map((j) => Number(pred[j][i]));
      expect(Math.abs(probs[0] + probs[1] + probs[2] - 1)).toBeLessThan(1e-4);
      expect(pred[0][i]).toBe(String(probs.indexOf(Math.max(...probs))));
    }
  });

  it('detects regression, standardises the target, and reports RMSE, MAE and R² on its own scale', async () => {
    const r = await run(['train', '--data', 'reg.csv', '--target', 'price', '--quiet', '--out', 'm-reg', '--threads', '1']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('task: regression: the target "price" holds non-integer numbers');
    const m = /test RMSE ([\d.e+-]+), MAE ([\d.e+-]+), R² ([\d.-]+)/.exec(r.out)!;
    expect(Number(m[3])).toBeGreaterThan(0.9);
    expect(Number(m[1])).toBeLessThan(60); // target spread ~150: the scale is the target's own
    const p = await run(['predict', '--model', 'm-reg', '--data', 'reg.csv']);
    const vals = p.out.trim().split('\n').slice(1).map(Number);
    expect(vals.length).toBe(300);
    expect(Math.min(...vals)).toBeGreaterThan(500);
  });

  it('refuses to guess an ambiguous target and names the way out', async () => {
    fs.writeFileSync(path.join(dir, 'ids.csv'), 'x,y\n' + Array.from({ length: 60 }, (_, i) => `${i},${i * 7}`).join('\n') + '\n');
    const r = await run(['train', '--data', 'ids.csv', '--target', 'y', '--quiet', '--out', 'm-x']);
    expect(r.code).toBe(1);
    expect(r.err).toContain("Expected options.task ('classification' or 'regression') for the target \"y\"");
    expect(r.err).toContain('(ERR_NT_INVALID_ARGUMENT_VALUE)');
  });

  it('trains with --precision bf16, prints the path, saves it with the model, and refuses other values', async () => {
    const r = await run(['train', '--data', 'cls.csv', '--target', 'label', '--epochs', '3', '--precision', 'bf16', '--quiet', '--out', 'm-bf16', '--threads', '1']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/precision bf16 \((amx|avx512bf16|emulated)\)/);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'm-bf16', 'model.json'), 'utf8')).training.precision).toBe('bf16');
    const bad = await run(['train', '--precision', 'fp8', '--out', 'm-bad']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('Expected float32 or bf16 for --precision but received "fp8"');
  });

  it('uses --columns and --ignore', async () => {
    const r = await run(['train', '--data', 'cls.csv', '--target', 'label', '--ignore', 'noise,colour', '--epochs', '3', '--quiet', '--out', 'm-cols', '--threads', '1']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('2 feature columns -> 2 inputs');
    const c = await run(['train', '--data', 'cls.csv', '--target', 'label', '--columns', 'colour', '--epochs', '3', '--quiet', '--out', 'm-cols2', '--threads', '1']);
    expect(c.out).toContain('1 feature columns, 1 categorical -> 4 inputs');
  });
});

describe('splits and defaults', () => {
  it('splits every class in the same proportions', () => {
    const labels = Int32Array.from({ length: 150 }, (_, i) => (i < 100 ? 0 : i < 140 ? 1 : 2));
    const s = splitRows(150, labels, 0.2, 0.1, 3);
    const count = (rows: number[], k: number) => rows.filter((i) => labels[i] === k).length;
    expect([count(s.test, 0), count(s.test, 1), count(s.test, 2)]).toEqual([20, 8, 2]);
    expect([count(s.val, 0), count(s.val, 1), count(s.val, 2)]).toEqual([10, 4, 1]);
    expect(new Set([...s.train, ...s.val, ...s.test]).size).toBe(150);
  });

  it('gives a small file enough optimizer steps and keeps explicit settings', () => {
    const d = adaptiveDefaults(105, true, {});
    expect(d.batchSize).toBe(8);
    expect(Math.ceil(105 / 8) * d.epochs).toBeGreaterThanOrEqual(2000);
    expect(d.patience).toBeGreaterThan(0);
    const big = adaptiveDefaults(60000, true, {});
    expect(big.batchSize).toBe(64);
    expect(big.epochs).toBe(10);
    const given = adaptiveDefaults(105, true, { batchSize: 32, epochs: 7 });
    expect([given.batchSize, given.epochs, given.patience, given.note]).toEqual([32, 7, 0, '']);
  });
});
