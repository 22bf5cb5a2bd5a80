/**
 * The study as a log: journal checksums (torn and interleaved lines skipped with a warning), lock
 * leases that a dead or expired holder cannot keep, stale trials retried with the same parameters,
 * resume after a real SIGKILL (nothing lost, nothing repeated), the space/objective hash, abort,
 * and the in-memory storage behaving like the journal.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as nas from '../../lib/nas';
import { transpileLib } from '../helpers/transpile';
import * as bench from './fixtures/nasbench';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-nas-study-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ACC = { name: 'accuracy', direction: 'maximize' as const };
const SPACE = () => nas.space(bench.spaceSpec(nas));
let n = 0;
const fresh = () => path.join(tmp, `s${++n}`);

describe('journal', () => {
  test('a torn line and an interleaved line are skipped with a warning; every other record survives', async () => {
    const dir = fresh();
    const warnings: string[] = [];
    const s1 = await nas.createStudy({ space: SPACE(), objectives: ACC, objective: bench.objective, dir, seed: 1, storage: nas.journalStorage(dir, { warn: (m) => warnings.push(m) }) });
    await s1.optimize({ trials: 6 });
    const file = path.join(dir, nas.JOURNAL_FILE);
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    const reportIdx = lines.findIndex((l) => l.includes('"op":"report"') && l.includes('"number":2'));
    // Interleave: another writer's bytes land in the middle of a record.
    lines[reportIdx] = lines[reportIdx].slice(0, 40) + '{"op":"heart' + lines[reportIdx].slice(40);
    // A crash mid-write leaves a torn last line without its newline.
    fs.writeFileSync(file, lines.join('\n') + '\n' + lines[lines.length - 1].slice(0, 30));
    const s2 = await nas.createStudy({ space: SPACE(), objectives: ACC, objective: bench.objective, dir, seed: 1, storage: nas.journalStorage(dir, { warn: (m) => warnings.push(m) }) });
    expect(warnings.filter((w) => /torn or corrupt/.test(w))).toHaveLength(1); // the torn tail waits for its newline
    expect(s2.trials).toHaveLength(6);
    expect(s2.trials[2].intermediate.size).toBe(8); // one of 9 reports lost, nothing else
    await s2.optimize({ trials: 8 });
    // The next writer ended the torn line, so it is now a complete (corrupt) line: s2 skips it
    // while optimising (2 warnings so far), and a fresh reader skips both bad lines (4).
    expect(warnings.filter((w) => /torn or corrupt/.test(w)).length).toBe(2);
    const s3 = await nas.createStudy({ space: SPACE(), objectives: ACC, objective: bench.objective, dir, seed: 1, storage: nas.journalStorage(dir, { warn: (m) => warnings.push(m) }) });
    expect(warnings.filter((w) => /torn or corrupt/.test(w)).length).toBe(4);
    expect(s3.trials).toHaveLength(8);
    expect(s3.trials.every((t) => t.state === 'complete')).toBe(true);
  });

  test('every line carries a checksum of its JSON', () => {
    const line = nas.JournalStorage.prototype.constructor.name && fs.readFileSync(path.join(tmp, 's1', nas.JOURNAL_FILE), 'utf8').split('\n')[0];
    expect(line).toMatch(/^[0-9a-f]{16} \{"op":"study"/);
  });

  test('a lease whose holder died, or that expired, is broken; a live lease blocks until the timeout', async () => {
    const dir = fresh();
    const warnings: string[] = [];
    const j = nas.journalStorage(dir, { warn: (m) => warnings.push(m), lockTimeoutMs: 300 });
    const lock = path.join(dir, nas.LOCK_FILE);
    // A holder process that no longer exists (this host), lease not yet expired.
    const dead = await new Promise<number>((resolve) => {
      const c = spawn(process.execPath, ['-e', '0']);
      c.on('exit', () => resolve(c.pid!));
    });
    fs.writeFileSync(lock, JSON.stringify({ owner: 'x', pid: dead, host: os.hostname(), expires: Date.now() + 60_000 }));
    const t0 = Date.now();
    await j.withLock(async () => undefined);
    expect(Date.now() - t0).toBeLessThan(250);
    expect(warnings.pop()).toMatch(new RegExp(`process ${dead} is gone`));
    // Another host's lease that expired.
    fs.writeFileSync(lock, JSON.stringify({ owner: 'y', pid: 1, host: 'elsewhere', expires: Date.now() - 1 }));
    await j.withLock(async () => undefined);
    expect(warnings.pop()).toMatch(/expired/);
    expect(fs.existsSync(lock)).toBe(false);
    // A live lease of another host is respected.
    fs.writeFileSync(lock, JSON.stringify({ owner: 'z', pid: 1, host: 'elsewhere', expires: Date.now() + 60_000 }));
    await expect(j.withLock(async () => undefined)).rejects.toMatchObject({ code: 'ERR_NT_STUDY_LOCKED', message: expect.stringMatching(/held by z/) });
  });
});

describe('resume', () => {
  test('a changed space is refused with a clear message unless allowed', async () => {
    const dir = fresh();
    await nas.createStudy({ space: { x: nas.float(0, 1) }, dir });
    await expect(nas.createStudy({ space: { x: nas.float(0, 2) }, dir })).rejects.toMatchObject({ code: 'ERR_NT_STUDY_MISMATCH', message: expect.stringMatching(/Expected the search space of the study in .* but received a different one/) });
    const logs: string[] = [];
    const s = await nas.createStudy({ space: { x: nas.float(0, 2) }, dir, allowSpaceChange: true, log: (l) => logs.push(l) });
    expect(logs[0]).toMatch(/search space changed/);
    await nas.createStudy({ space: { x: nas.float(0, 2) }, dir }); // now bound to the new space
    void s;
  });

  test('after a SIGKILL mid-study: resumed, the killed trials retried with the same parameters, nothing lost or repeated', async () => {
    const lib = transpileLib();
    try {
      const dir = fresh();
      const script = path.join(tmp, 'child.js');
      fs.writeFileSync(
        script,
        `const nas = require(${JSON.stringify(path.join(lib.dir, 'nas', 'index.js'))});
const bench = require(${JSON.stringify(path.join(__dirname, 'fixtures', 'nasbench.js'))});
(async () => {
  const study = await nas.createStudy({ space: nas.space(bench.spaceSpec(nas)), objectives: { name: 'accuracy', direction: 'maximize' }, sampler: nas.tpeSampler({ nStartupTrials: 5 }), pruner: nas.ashaPruner(), objective: bench.objective, dir: process.argv[2], seed: 5 });
  const slow = bench.makeObjective({ epochs: 9, delayMs: 20 });
  await study.optimize({ trials: 40, executor: nas.inlineExecutor(slow, { concurrency: 2 }) });
})();`,
      );
      const child = spawn(process.execPath, [script, dir], { stdio: 'inherit' });
      // Kill it once some trials are done and two are running.
      const journal = path.join(dir, nas.JOURNAL_FILE);
      for (;;) {
        await new Promise((r) => setTimeout(r, 30));
        const text = fs.existsSync(journal) ? fs.readFileSync(journal, 'utf8') : '';
        const finished = (text.match(/"op":"finish"/g) ?? []).length;
        const created = (text.match(/"op":"create"/g) ?? []).length;
        if (finished >= 7 && created > finished) break; // a trial is running right now
      }
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
      const logs: string[] = [];
      const mk = (d?: string) =>
        nas.createStudy({ space: SPACE(), objectives: ACC, sampler: nas.tpeSampler({ nStartupTrials: 5 }), pruner: nas.ashaPruner(), objective: bench.objective, dir: d, seed: 5, log: (l) => logs.push(l) });
      const resumed = await mk(dir);
      const before = resumed.trials;
      const killed = before.filter((t) => t.state === 'stale');
      expect(killed.length).toBeGreaterThanOrEqual(1);
      expect(logs[0]).toBe(`resumed: ${before.length} trials, ${killed.length} stale retried`);
      const r = await resumed.optimize({ trials: 40, parallelism: 2 });
      // Same as a study never interrupted (parallelism 2, same seed).
      const clean = await mk();
      const c = await clean.optimize({ trials: 40, parallelism: 2 });
      const sig = (ts: nas.Trial[]) => ts.map((t) => JSON.stringify([t.number, t.params, t.seed, t.state, t.values, [...t.intermediate]]));
      expect(sig(r.trials)).toEqual(sig(c.trials));
      for (const k of killed) {
        expect(r.trials[k.number].params).toEqual(k.params);
        expect(r.trials[k.number].attempt).toBe(2);
      }
      const keys = r.trials.map((t) => JSON.stringify(t.params));
      expect(new Set(keys).size).toBe(40);
    } finally {
      lib.cleanup();
    }
  });

  test('a running trial of another owner whose heartbeat stopped is marked stale and retried', async () => {
    const storage = new nas.MemoryStorage();
    const s1 = await nas.createStudy({ space: { x: nas.float(0, 1) }, storage, seed: 3 });
    await storage.append([{ op: 'create', number: 0, params: { x: 0.25 }, seed: 77, owner: `elsewhere:1:abc`, ts: Date.now() - 5000 }]);
    const s2 = await nas.createStudy({ space: { x: nas.float(0, 1) }, storage, seed: 3, staleAfterMs: 1000 });
    expect(s2.resumeInfo).toEqual({ resumed: true, trials: 1, stale: 1 });
    const seen: number[] = [];
    await s2.optimize({ trials: 3, executor: nas.inlineExecutor((t) => (seen.push(t.seed), t.params.x as number)) });
    expect(s2.trials[0]).toMatchObject({ state: 'complete', attempt: 2, params: { x: 0.25 }, seed: 77, values: [0.25] });
    expect(seen[0]).toBe(77);
    void s1;
  });
});

test('heartbeats keep a long trial of another study instance from being judged stale', async () => {
  const storage = new nas.MemoryStorage();
  const slow = async (t: nas.TrialContext) => (await new Promise((r) => setTimeout(r, 300)), t.params.x as number);
  for (const [beat, expected] of [[20, 0], [10_000, 1]] as const) {
    const a = await nas.createStudy({ space: { x: nas.float(0, 1) }, storage, heartbeatMs: beat });
    const run = a.optimize({ trials: a.trials.length + 1, executor: nas.inlineExecutor(slow) });
    await new Promise((r) => setTimeout(r, 200));
    const b = await nas.createStudy({ space: { x: nas.float(0, 1) }, storage, staleAfterMs: 100 });
    expect(b.resumeInfo.stale).toBe(expected);
    await run;
  }
});

describe('failures and stopping', () => {
  test('diverged (NaN) and throwing trials are failed with their error; an abort stops cleanly and leaves the running trials to retry', async () => {
    const ac = new AbortController();
    const study = await nas.createStudy({ space: { x: nas.float(0, 1) }, seed: 1 });
    const objective = async (t: nas.TrialContext) => {
      if (t.number === 1) return NaN;
      if (t.number === 2) throw new Error('bad config');
      if (t.number === 4) {
        ac.abort();
        await new Promise((r) => setTimeout(r, 50));
      }
      return t.params.x as number;
    };
    const r = await study.optimize({ trials: 100, signal: ac.signal, executor: nas.inlineExecutor(objective) });
    expect(r.reason).toBe('aborted');
    expect(r.trials.map((t) => t.state)).toEqual(['complete', 'failed', 'failed', 'complete', 'stale']);
    expect(r.trials[1].error).toBe('diverged: value = NaN');
    expect(r.trials[2].error).toMatch(/bad config/);
    expect(r.trials[4].error).toBe('study aborted');
    const again = await study.optimize({ trials: 6, executor: nas.inlineExecutor(objective) });
    expect(again.trials.map((t) => t.state)).toEqual(['complete', 'failed', 'failed', 'complete', 'complete', 'complete']);
  });

  test('a time budget ends the study with reason "time"', async () => {
    const study = await nas.createStudy({ space: { x: nas.float(0, 1) } });
    const t0 = Date.now();
    const r = await study.optimize({ timeBudgetMs: 150, executor: nas.inlineExecutor(async (t) => (await new Promise((res) => setTimeout(res, 20)), t.params.x as number)) });
    expect(r.reason).toBe('time');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(r.trials.filter((t) => t.state === 'complete').length).toBeGreaterThan(2);
  });

  test('objective results are checked against the objectives', async () => {
    const study = await nas.createStudy({ space: { x: nas.float(0, 1) }, objectives: [ACC, { name: 'params', direction: 'minimize' }] });
    const r = await study.optimize({ trials: 1, executor: nas.inlineExecutor(() => ({ accuracy: 1 })) });
    expect(r.trials[0].error).toMatch(/Expected a number named 'params' in the objective's result but received keys accuracy/);
  });
});
