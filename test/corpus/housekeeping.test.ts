/**
 * Corpus, class "housekeeping": files left by interrupted saves are removed by the next
 * successful save of the same folder (only files it can prove are orphans), and Ctrl-C on
 * `nodetrain train` saves the model trained so far, marked interrupted.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { dense, loadModel, saveModel, sequential } from '../../lib';
import { tempDir } from './corpus';
import { transpileLib } from '../helpers/transpile';

let dir: string;
beforeAll(() => {
  dir = tempDir('housekeeping');
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

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('the next save removes orphans of dead writers and keeps everything else', async () => {
  const d = path.join(dir, 'orphans');
  const m = sequential([dense({ units: 2, inputShape: [2] })], { seed: 1 });
  await saveModel(m, d);
  const dead = deadPid();
  const live = process.ppid; // alive for the whole test
  const orphans = [
    `weights-mx00aaaa-0123abcd-${dead}.safetensors`,
    `optimizer-mx00aaaa-0123abcd-${dead}.safetensors`,
    `.model.json.${dead}.0123456789ab.tmp`,
    `.weights-mx00bbbb-89abcdef-${dead}.safetensors.${dead}.ba9876543210.tmp`,
  ];
  const kept = [
    `weights-mx00cccc-0123abcd-${live}.safetensors`, // a live process may still be saving
    `.model.json.${live}.0123456789ab.tmp`,
    'weights-mx00dddd-0123abcd.safetensors', // an older name format: not provably ours
    'notes.txt',
    'weights.safetensors',
  ];
  for (const f of [...orphans, ...kept]) fs.writeFileSync(path.join(d, f), 'x');
  await saveModel(m, d);
  const j = JSON.parse(fs.readFileSync(path.join(d, 'model.json'), 'utf8')) as { weights: string };
  expect(fs.readdirSync(d).sort()).toEqual([...kept, 'model.json', j.weights].sort());
  await expect(loadModel(d)).resolves.toBeDefined();
});

test('after saves killed with SIGKILL, one successful save leaves exactly one model', async () => {
  const lib = transpileLib();
  try {
    const d = path.join(dir, 'killed');
    const script = `
      const nt = require(${JSON.stringify(lib.index)});
      const m = nt.sequential([nt.dense({ units: 64, inputShape: [64] }), nt.dense({ units: 64 })], { seed: 1 });
      m.compile({ optimizer: 'adam', loss: 'mse' });
      (async () => { await m.fit([Array(64).fill(1)], [Array(64).fill(0)]); for (;;) await m.save(${JSON.stringify(d)}); })();
      setTimeout(() => process.stdout.write('go'), 0);`;
    for (let i = 0; i < 8; i++) {
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((r) => child.stdout.once('data', () => r()));
      await new Promise((r) => setTimeout(r, 30 + 17 * i));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    const { model } = await loadModel(d); // kill -9 always leaves a loadable model
    await saveModel(model, d);
    const files = fs.readdirSync(d);
    const j = JSON.parse(fs.readFileSync(path.join(d, 'model.json'), 'utf8')) as { weights: string; optimizer: string | null };
    expect(files.sort()).toEqual(['model.json', j.weights, ...(j.optimizer ? [j.optimizer] : [])].sort());
  } finally {
    lib.cleanup();
  }
});

test('Ctrl-C on nodetrain train: stops at the next step, saves the model marked interrupted, exits 130', async () => {
  const cli = cliPath();
  const out = path.join(dir, 'sigint-model');
  const child = spawn(process.execPath, [cli, 'train', '--epochs', '1000', '--layers', '32', '--out', out], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  // Structural trigger: the first progress output on stderr means training runs.
  await new Promise<void>((resolve) => child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
    if (/\d+\/\d+/.test(stderr)) resolve();
  }));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  expect(code).toBe(130);
  expect(stdout).toMatch(/interrupted after \d+ complete epochs? .*saved the model trained so far/);
  const { model, metadata } = await loadModel(out);
  expect(metadata.interrupted).toMatchObject({ epochsCompleted: expect.any(Number), optimizerSteps: model.optimizerStep });
  expect(model.optimizerStep).toBeGreaterThan(0);
});

test('a second Ctrl-C exits at once, without waiting for the save', async () => {
  const cli = cliPath();
  const out = path.join(dir, 'sigint2');
  // Wide layers make the save take long enough for the second Ctrl-C to land during it.
  const child = spawn(process.execPath, [cli, 'train', '--epochs', '1000', '--layers', '2048,2048', '--out', out], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let sent = 0;
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
    if (sent === 0 && /\d+\/\d+/.test(stderr)) {
      sent = 1;
      child.kill('SIGINT');
    } else if (sent === 1 && stderr.includes('stopping at the next step')) {
      sent = 2;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  expect(code).toBe(130);
  expect(stderr).toContain('interrupted again; exiting without saving');
});
