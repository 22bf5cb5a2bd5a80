/**
 * `nodetrain search`, called through searchCommand: a digits search in this thread with a final
 * table and the best model saved; resume of the same folder; a CSV search on two worker threads
 * with two objectives (Pareto front); usage errors with the message template.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { reportCommand, searchCommand, parseDuration } from '../../lib/cli/search';
import { transpileLib } from '../helpers/transpile';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-nas-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function capture(argv: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    await searchCommand(argv);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  return { out, err };
}

test('a digits search in this thread: progress, final table, best model; the same folder resumes', async () => {
  const study = path.join(tmp, 'digits');
  const args = ['--digits', '--train-size', '400', '--epochs', '2', '--workers', '0', '--study', study, '--strategy', 'asha', '--seed', '3'];
  const r1 = await capture([...args, '--trials', '3']);
  expect(r1.err).toMatch(/trials \d+ done, \d+ running, \d+ pruned, \d+ failed \| best accuracy/);
  expect(r1.out).toMatch(/search ended \(trials\): 3 trials/);
  expect(r1.out).toMatch(/rank +trial +accuracy +params +latency +configuration/);
  expect(r1.out).toMatch(/best trial #\d+: test accuracy \d+\.\d+%, \d+ parameters; model saved in/);
  expect(fs.existsSync(path.join(study, 'best-model', 'trial.json'))).toBe(true);
  const r2 = await capture([...args, '--trials', '4', '--quiet']);
  expect(r2.out).toMatch(/resumed: 3 trials, 0 stale retried/);
  expect(r2.out).toMatch(/search ended \(trials\): 4 trials/);
  expect(r2.err).toBe('');
  await expect(capture(['--digits', '--train-size', '500', '--workers', '0', '--study', study])).rejects.toMatchObject({ code: 'ERR_NT_STUDY_MISMATCH' });
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  try {
    await reportCommand([study]);
  } finally {
    spy.mockRestore();
  }
  expect(out).toMatch(/wrote .*report\.html/);
  expect(fs.readFileSync(path.join(study, 'report.html'), 'utf8')).toMatch(/<canvas id="history">/);
  await expect(reportCommand([])).rejects.toThrow(/Expected one study folder for report but received 0 arguments/);
});

test('a CSV search on 2 worker threads with two objectives prints the Pareto front', async () => {
  const lib = transpileLib();
  try {
    const csv = path.join(tmp, 'blobs.csv');
    const rows = ['a,b,c,label'];
    let s = 7;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 300; i++) {
      const k = i % 3;
      rows.push(`${(k + rnd()).toFixed(3)},${(2 * k - rnd()).toFixed(3)},${rnd().toFixed(3)},${['x', 'y', 'z'][k]}`);
    }
    fs.writeFileSync(csv, rows.join('\n') + '\n');
    const r = await capture([
      '--data', csv, '--target', 'label', '--strategy', 'random', '--trials', '4', '--epochs', '3', '--workers', '2',
      '--objectives', 'accuracy,params', '--study', path.join(tmp, 'csv'), '--quiet',
      '--worker-script', path.join(lib.dir, 'nas', 'executors', 'worker-entry.js'),
    ]);
    expect(r.out).toMatch(/2 workers x 1 thread/);
    expect(r.out).toMatch(/search ended \(trials\): 4 trials, 4 complete/);
    expect(r.out).toMatch(/Pareto front \(max accuracy, min params\): #\d+ \[\d+\.\d+%, \d+\]/);
  } finally {
    lib.cleanup();
  }
});

test('usage errors', async () => {
  await expect(capture(['--trials', '3'])).rejects.toThrow('Expected exactly one of --data <file.csv> or --digits');
  await expect(capture(['--digits', '--strategy', 'magic'])).rejects.toThrow(/Expected one of random, grid, tpe, evolution, asha, hyperband, oneshot for --strategy but received "magic"/);
  await expect(capture(['--digits', '--trials=-1'])).rejects.toThrow(/Expected an integer >= 1 for --trials but received "-1"/);
  await expect(capture(['--digits', '--objectives', 'speed'])).rejects.toThrow(/for --objectives but received "speed"/);
  expect(parseDuration('t', '5m')).toBe(300_000);
  expect(parseDuration('t', '1.5h')).toBe(5_400_000);
  expect(parseDuration('t', '250ms')).toBe(250);
  expect(() => parseDuration('time-budget', 'soon')).toThrow(/Expected a duration such as 90s, 5m or 1h for --time-budget but received "soon"/);
  const help = await capture(['--help']);
  expect(help.out).toMatch(/Usage: nodetrain search/);
});
