/**
 * Distributed search on Redis with BullMQ: each test starts its own redis-server (a free port, a
 * temporary folder, no persistence) and worker processes (`nodetrain worker`, from the library
 * transpiled to plain JavaScript). The objective is the synthetic benchmark (fixtures/nasbench.js),
 * which logs every run to a file so that the tests count how often each trial ran.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as nas from '../../lib/nas';
import { transpileLib } from '../helpers/transpile';
import { TestRedis, startRedis } from '../helpers/redis-server';
import * as bench from './fixtures/nasbench';

const OBJECTIVE = path.join(__dirname, 'fixtures', 'dist-objective.js');
const COORDINATOR = path.join(__dirname, 'fixtures', 'dist-coordinator.js');

let lib: ReturnType<typeof transpileLib>;
let main: string;
let tmp: string;
let redis: TestRedis;
const procs: ChildProcess[] = [];

beforeAll(async () => {
  lib = transpileLib();
  main = path.join(lib.dir, 'cli', 'main.js');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-dist-'));
  redis = await startRedis();
});
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await redis?.stop();
  lib?.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const spaceOf = (): nas.Space => nas.space(bench.spaceSpec(nas));
const mkStudy = (storage?: nas.StudyStorage): Promise<nas.Study> =>
  nas.createStudy({ space: spaceOf(), objectives: { name: 'accuracy', direction: 'maximize' }, sampler: nas.tpeSampler({ nStartupTrials: 4 }), pruner: nas.ashaPruner(), storage, seed: 5, objectiveId: 'dist-bench', staleAfterMs: 5000, heartbeatMs: 500 });

/** The serial reference: the same study in memory, run inline with parallelism W. */
async function serial(trials: number, W: number): Promise<nas.Trial[]> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { objective } = require(OBJECTIVE) as { objective: nas.Objective };
  const s = await mkStudy();
  const r = await s.optimize({ trials, executor: nas.inlineExecutor(objective), parallelism: W, maxSteps: 6 });
  return r.trials;
}

function expectSame(a: nas.Trial[], b: nas.Trial[]): void {
  expect(a.map((t) => t.number)).toEqual(b.map((t) => t.number));
  for (let i = 0; i < a.length; i++) {
    expect(a[i].params).toEqual(b[i].params);
    expect(a[i].seed).toBe(b[i].seed);
    expect(a[i].state).toBe(b[i].state);
    expect([...a[i].intermediate.keys()]).toEqual([...b[i].intermediate.keys()]);
    if (a[i].values) expect(a[i].values![0]).toBeCloseTo(b[i].values![0], 12);
  }
}

function startWorker(study: string, runs: string, opts: { url?: string; wrap?: string[]; delayMs?: number } = {}): ChildProcess {
  const cmd = [...(opts.wrap ?? []), process.execPath, main, 'worker', '--redis', opts.url ?? redis.url, '--study', study, '--concurrency', '1', '--threads', '1'];
  const p = spawn(cmd[0], cmd.slice(1), { env: { ...process.env, NT_DIST_RUNS: runs, NT_DIST_DELAY_MS: String(opts.delayMs ?? 0) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  (p as ChildProcess & { out: () => string }).out = () => out;
  procs.push(p);
  return p;
}

/** Resolves once every worker has logged that it attached to its study (at most 30 s). */
async function attached(ps: ChildProcess[]): Promise<void> {
  const t0 = Date.now();
  const out = (p: ChildProcess): string => (p as ChildProcess & { out: () => string }).out();
  while (!ps.every((p) => out(p).includes('attached to study'))) {
    if (Date.now() - t0 > 30_000) throw new Error(`Expected every worker to attach within 30 s but received: ${ps.map(out).join(' | ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stopAll(ps: ChildProcess[]): Promise<void> {
  await Promise.all(
    ps.map(async (p) => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }),
  );
}

const readRuns = (file: string): Array<{ number: number; attempt: number; pid: number }> =>
  fs.existsSync(file)
    ? fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
        const [n, a, p] = l.split(' ').map(Number);
        return { number: n, attempt: a, pid: p };
      })
    : [];

async function runDistributed(study: string, trials: number, W: number, workers: ChildProcess[], opts: { url?: string; onStart?: () => void; ready?: () => Promise<void> } = {}): Promise<nas.OptimizeResult> {
  const storage = await nas.redisStorage(opts.url ?? redis.url, study);
  const s = await mkStudy(storage);
  const ex = await nas.redisExecutor({ url: opts.url ?? redis.url, study, objective: { module: OBJECTIVE, exportName: 'objective' }, concurrency: W, lockMs: 1000, maxStalls: 2 });
  try {
    opts.onStart?.();
    await opts.ready?.();
    return await s.optimize({ trials, executor: ex, maxSteps: 6 });
  } finally {
    await ex.close();
    await storage.close();
    await stopAll(workers);
  }
}

test('3 worker processes complete a study: every trial once, the same trials and values as a serial study', async () => {
  const runs = path.join(tmp, 'runs-3.txt');
  // Every worker attached before the first job, and trials long enough (6 epochs of 15 ms) that
  // one worker cannot drain the queue alone while the others start: the work must spread.
  const ws = [0, 1, 2].map(() => startWorker('three', runs, { delayMs: 15 }));
  const r = await runDistributed('three', 12, 3, ws, { ready: () => attached(ws) });
  expect(r.trials).toHaveLength(12);
  expectSame(r.trials, await serial(12, 3));
  expect(r.trials.some((t) => t.state === 'pruned')).toBe(true); // pruning decisions went through Redis
  const seen = readRuns(runs).map((x) => x.number).sort((a, b) => a - b);
  expect(seen).toEqual([...Array(12).keys()]);
  expect(new Set(readRuns(runs).map((x) => x.pid)).size).toBeGreaterThan(1);
  // The storage's atomic view agrees with the replayed log, and the best model's bytes are in Redis.
  const st = await nas.redisStorage(redis.url, 'three');
  for (const t of r.trials) {
    const v = await st.trialState(t.number);
    expect(v!.state).toBe(t.state);
    expect([...v!.intermediate.entries()]).toEqual([...t.intermediate.entries()]);
  }
  const best = await st.bestModel();
  expect(best!.number).toBe(r.best!.number);
  expect(JSON.parse(Buffer.from(JSON.parse(best!.bytes.toString()).files['trial.json'], 'base64').toString()).number).toBe(r.best!.number);
  await st.close();
});

test('a worker killed mid-trial: the trial is retried elsewhere with the same seed, none lost or duplicated', async () => {
  const runs = path.join(tmp, 'runs-kill.txt');
  const ws = [0, 1].map(() => startWorker('kill', runs, { delayMs: 120 }));
  let killed: { pid: number; number: number } | null = null;
  const watch = setInterval(() => {
    const first = readRuns(runs)[0];
    if (!killed && first) {
      killed = { pid: first.pid, number: first.number };
      process.kill(first.pid, 'SIGKILL');
    }
  }, 20);
  let r: nas.OptimizeResult;
  try {
    r = await runDistributed('kill', 6, 2, ws);
  } finally {
    clearInterval(watch);
  }
  expect(killed).not.toBeNull();
  expect(r.trials).toHaveLength(6);
  expect(r.trials.every((t) => t.state === 'complete' || t.state === 'pruned')).toBe(true);
  const all = readRuns(runs);
  const ofKilled = all.filter((x) => x.number === killed!.number);
  expect(ofKilled.length).toBe(2); // run again once, by the other worker
  expect(ofKilled[1].pid).not.toBe(killed!.pid);
  for (const t of r.trials) if (t.number !== killed!.number) expect(all.filter((x) => x.number === t.number)).toHaveLength(1);
  expectSame(r.trials, await serial(6, 2));
});

test('a coordinator killed mid-study resumes from Redis; running jobs are awaited, not rerun', async () => {
  const runs = path.join(tmp, 'runs-coord.txt');
  const ws = [0, 1].map(() => startWorker('coord', runs, { delayMs: 40 }));
  const coord = (): ChildProcess & { out: () => string } => {
    const p = spawn(process.execPath, [COORDINATOR, lib.dir, redis.url, 'coord', '10', '2'], { stdio: ['ignore', 'pipe', 'pipe'] }) as ChildProcess & { out: () => string };
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (out += d));
    p.out = () => out;
    procs.push(p);
    return p;
  };
  const c1 = coord();
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if ((c1.out().match(/^trial \d+/gm) ?? []).length >= 3) {
        clearInterval(t);
        c1.kill('SIGKILL');
        resolve();
      } else if (c1.exitCode !== null) {
        clearInterval(t);
        reject(new Error(`the coordinator ended early: ${c1.out()}`));
      }
    }, 20);
  });
  await new Promise((r) => c1.once('exit', r));
  const c2 = coord();
  const code = await new Promise((r) => c2.once('exit', r));
  expect(code).toBe(0);
  expect(c2.out()).toMatch(/^resumed \d+ \d+$/m);
  await stopAll(ws);
  const storage = await nas.redisStorage(redis.url, 'coord');
  const s = await mkStudy(storage);
  await storage.close();
  expect(s.trials).toHaveLength(10);
  expect(s.trials.every((t) => t.state === 'complete' || t.state === 'pruned')).toBe(true);
  const counts = new Map<number, number>();
  for (const x of readRuns(runs)) counts.set(x.number, (counts.get(x.number) ?? 0) + 1);
  expect([...counts.keys()].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
  expect([...counts.values()].every((c) => c === 1)).toBe(true);
  expectSame(s.trials, await serial(10, 2));
});

test('Redis unreachable: ERR_NT_UNAVAILABLE after bounded retries, no hang', async () => {
  const { freePort } = await import('../helpers/redis-server');
  const port = await freePort();
  const t0 = Date.now();
  await expect(nas.redisStorage(`redis://:secret@127.0.0.1:${port}`, 'x', { connectAttempts: 2, connectTimeoutMs: 500 })).rejects.toMatchObject({ code: 'ERR_NT_UNAVAILABLE', message: expect.stringMatching(/^Expected a reachable Redis server for redis:\/\/:\*\*\*@127\.0\.0\.1/) });
  await expect(nas.redisExecutor({ url: `redis://127.0.0.1:${port}`, study: 'x', objective: { module: OBJECTIVE }, connectAttempts: 2, connectTimeoutMs: 500 })).rejects.toMatchObject({ code: 'ERR_NT_UNAVAILABLE' });
  const r = spawnSyncWorker(port);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/ERR_NT_UNAVAILABLE/);
  process.stdout.write(`unreachable Redis reported after ${Date.now() - t0} ms (two calls and one CLI run)\n`);
}, 30_000);

function spawnSyncWorker(port: number): { status: number | null; stderr: string } {
  try {
    execFileSync(process.execPath, [main, 'worker', '--redis', `redis://127.0.0.1:${port}`, '--study', 'x'], { encoding: 'utf8', stdio: 'pipe', timeout: 25_000 });
    return { status: 0, stderr: '' };
  } catch (e) {
    const err = e as { status: number | null; stderr: string };
    return { status: err.status, stderr: err.stderr };
  }
}

test('workers on separate network hosts (network namespaces and veth pairs; loopback where namespaces cannot be made)', async () => {
  const id = `${process.pid % 1000}${Math.floor(Math.random() * 100)}`;
  const nsR = `ntr${id}`;
  const nsW = `ntw${id}`;
  const sub = 10 + (Number(id) % 200);
  const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });
  let net: { redis: TestRedis; coordUrl: string; workerUrl: string; wrap: string[] } | null = null;
  try {
    ip('netns', 'add', nsR);
    ip('netns', 'add', nsW);
    // coordinator (this namespace) <-> redis host, and redis host <-> worker host
    ip('link', 'add', `ntc${id}`, 'type', 'veth', 'peer', 'name', `ntrc${id}`);
    ip('link', 'set', `ntrc${id}`, 'netns', nsR);
    ip('addr', 'add', `10.213.${sub}.2/24`, 'dev', `ntc${id}`);
    ip('link', 'set', `ntc${id}`, 'up');
    ip('-n', nsR, 'addr', 'add', `10.213.${sub}.1/24`, 'dev', `ntrc${id}`);
    ip('-n', nsR, 'link', 'set', `ntrc${id}`, 'up');
    ip('-n', nsR, 'link', 'add', `ntrw${id}`, 'type', 'veth', 'peer', 'name', `ntw${id}`);
    ip('-n', nsR, 'link', 'set', `ntw${id}`, 'netns', nsW);
    ip('-n', nsR, 'addr', 'add', `10.214.${sub}.1/24`, 'dev', `ntrw${id}`);
    ip('-n', nsR, 'link', 'set', `ntrw${id}`, 'up');
    ip('-n', nsR, 'link', 'set', 'lo', 'up');
    ip('-n', nsW, 'addr', 'add', `10.214.${sub}.2/24`, 'dev', `ntw${id}`);
    ip('-n', nsW, 'link', 'set', `ntw${id}`, 'up');
    ip('-n', nsW, 'link', 'set', 'lo', 'up');
    const r = await startRedis({ host: `10.213.${sub}.1 10.214.${sub}.1`, wrap: ['ip', 'netns', 'exec', nsR], password: 'n3t-s3cret' });
    const auth = ':n3t-s3cret@';
    net = { redis: r, coordUrl: `redis://${auth}10.213.${sub}.1:${r.port}`, workerUrl: `redis://${auth}10.214.${sub}.1:${r.port}`, wrap: ['ip', 'netns', 'exec', nsW] };
    process.stdout.write(`network namespaces: redis on ${nsR} (10.213.${sub}.1, 10.214.${sub}.1), workers on ${nsW} (10.214.${sub}.2), coordinator here (10.213.${sub}.2)\n`);
  } catch (e) {
    process.stdout.write(`NOTE: network namespaces could not be created (${String((e as Error).message).split('\n')[0]}); running the two-host test on loopback instead\n`);
  }
  try {
    const runs = path.join(tmp, 'runs-net.txt');
    const url = net?.coordUrl ?? redis.url;
    const ws = [0, 1].map(() => startWorker('net', runs, { url: net?.workerUrl ?? redis.url, wrap: net?.wrap }));
    if (net) {
      // the worker host reaches Redis only through its own veth pair, not the coordinator's address
      const probe = execFileSync('ip', ['netns', 'exec', nsW, 'ip', 'route'], { encoding: 'utf8' });
      expect(probe).not.toMatch(new RegExp(`10\\.213\\.${sub}\\.`));
    }
    const r = await runDistributed('net', 6, 2, ws, { url });
    expect(r.trials).toHaveLength(6);
    expectSame(r.trials, await serial(6, 2));
    expect(readRuns(runs)).toHaveLength(6);
  } finally {
    await net?.redis.stop();
    for (const ns of [nsR, nsW]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        /* never created */
      }
    }
    try {
      ip('link', 'del', `ntc${id}`);
    } catch {
      /* gone with its peer's namespace */
    }
  }
});

test('one-shot scores go into the Redis log and are replayed like the journal', async () => {
  const st = await nas.redisStorage(redis.url, 'oneshot-record');
  await st.append([
    { op: 'study', version: 1, hash: 'h', spaceHash: 's', objectiveId: 'o', objectives: [{ name: 'accuracy', direction: 'maximize' }], seed: 0, createdAt: 0 },
    { op: 'oneshot', strategy: 'oneshot', scored: 3, entries: [{ params: { depth: 1 }, score: 0.5, role: 'top' }], ts: 1 },
  ]);
  const replay = new nas.Replay();
  replay.apply((await st.read()).records);
  expect(replay.oneShot).toEqual([{ strategy: 'oneshot', scored: 3, entries: [{ params: { depth: 1 }, score: 0.5, role: 'top' }], ts: 1 }]);
  await st.close();
});
