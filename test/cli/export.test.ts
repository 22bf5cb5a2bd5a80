/**
 * The command line as a user runs it (a child process over the transpiled library): export to
 * ONNX, --json on every command (one JSON document on stdout, human lines on stderr), --version,
 * errors that name the flag typed, and conflicting options refused before any work starts.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { decodeSafetensors } from '../../lib';
import { transpileLib } from '../helpers/transpile';

let lib: ReturnType<typeof transpileLib>;
let dir: string;
let cli: string;

beforeAll(() => {
  lib = transpileLib();
  cli = path.join(lib.dir, 'cli', 'main.js');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-cli-export-'));
  let c = 'a,b,colour,y\n';
  for (let i = 0; i < 160; i++) {
    const a = Math.sin(i * 0.7);
    const b = Math.cos(i * 1.3);
    c += `${a.toFixed(3)},${b.toFixed(3)},${['red', 'blue'][i % 2]},${a + b > 0 ? 'pos' : 'neg'}\n`;
  }
  fs.writeFileSync(path.join(dir, 'd.csv'), c);
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

test('train, evaluate, predict and export with --json; export writes an ONNX model', async () => {
  const t = await run(['train', '--data', 'd.csv', '--target', 'y', '--epochs', '4', '--out', 'm', '--quiet', '--json']);
  expect(t.code).toBe(0);
  const tj = JSON.parse(t.out);
  expect(tj).toMatchObject({ ok: true, command: 'train', epochs: 4, model: path.join(dir, 'm') });
  expect(tj.history.loss).toHaveLength(4);
  expect(t.err).toContain('saved the model to');
  const e = JSON.parse((await run(['evaluate', '--model', 'm', '--data', 'd.csv', '--target', 'y', '--json'])).out);
  expect(e.ok).toBe(true);
  expect(e.scores.accuracy).toBeGreaterThan(0.5);
  const p = JSON.parse((await run(['predict', '--model', 'm', '--data', 'd.csv', '--out', 'p.csv', '--json'])).out);
  expect(p).toEqual({ ok: true, command: 'predict', rows: 160, out: path.join(dir, 'p.csv') });
  const x = await run(['export', '--model', 'm', '--format', 'onnx', '--out', 'm.onnx', '--json']);
  expect(JSON.parse(x.out)).toMatchObject({ ok: true, command: 'export', format: 'onnx', opset: 17 });
  const bytes = fs.readFileSync(path.join(dir, 'm.onnx'));
  // protobuf ModelProto: field 1 (ir_version, varint) = 8 first
  expect([bytes[0], bytes[1]]).toEqual([0x08, 8]);
  expect(bytes.includes(Buffer.from('Gemm'))).toBe(true);
  expect(decodeSafetensors).toBeDefined();
});

test('--version, usage errors naming the flag typed, and conflicting options', async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { version: string };
  expect((await run(['--version'])).out.trim()).toBe(pkg.version);
  expect(JSON.parse((await run(['--version', '--json'])).out)).toEqual({ ok: true, version: pkg.version });
  const cases: [string[], string][] = [
    [['train', '--lr', 'auto', '--lr-schedule', 'cosine'], 'Expected either --lr auto or --lr-schedule, not both'],
    [['train', '--activation', 'swish'], 'for --activation but received "swish"'],
    [['train', '--dropout', '1.5'], 'Expected a rate in [0, 1) for --dropout but received "1.5"'],
    [['train', '--epochs', '0'], 'Expected an integer >= 1 for --epochs but received "0"'],
    [['train', '--optimizer', 'adam', '--momentum', '0.9'], 'Expected --optimizer sgd or rmsprop with --momentum'],
    [['train', '--data', 'd.csv', '--target', 'y', '--test-data', 'd.csv', '--test', '0.3'], 'Expected either --test-data or --test, not both'],
    [['train', '--target', 'y'], 'Expected --data <file.csv> with --target'],
    [['predict', '--model', 'm', '--data', 'd.csv', '--out', 'a', '--output', 'b'], 'Expected either --out or --output'],
    [['export', '--model', 'm', '--format', 'pmml', '--out', 'x'], 'Expected onnx or tfjs for --format but received "pmml"'],
  ];
  for (const [args, msg] of cases) {
    const r = await run([...args, '--json']);
    expect(r.code).not.toBe(0);
    expect(JSON.parse(r.out).error.message).toContain(msg);
    expect(r.err).toContain(msg);
    // nothing was trained or written before the refusal
    expect(r.err).not.toContain('task:');
  }
});
