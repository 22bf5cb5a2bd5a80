#!/usr/bin/env node
/**
 * Distributed search throughput: trials per minute with 1, 2 and 4 `nodetrain worker` processes on
 * one private redis-server, for trials of a fixed small size (a real MLP: 8 epochs on 2,500 digits, a few hundred ms each),
 * and the queue's overhead per trial: the time a trial takes end to end through Redis/BullMQ with a
 * no-op objective. Run after `npm run build:ts`: node scripts/bench/distributed.js [--trials 16]
 */
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const nas = require(path.join(root, 'dist', 'lib', 'nas', 'index.js'));
const main = path.join(root, 'dist', 'lib', 'cli', 'main.js');
const argTrials = process.argv.indexOf('--trials');
const TRIALS = argTrials > 0 ? Number(process.argv[argTrials + 1]) : 16;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function startRedis() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nt-bench-redis-'));
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let out = '';
    p.on('error', () => reject(new Error('redis-server is not installed (apt-get install -y redis-server)')));
    p.stdout.on('data', (d) => ((out += d), /Ready to accept/.test(out) && resolve()));
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => (p.kill('SIGTERM'), fs.rmSync(dir, { recursive: true, force: true })) };
}

const noop = path.join(os.tmpdir(), `nt-bench-noop-${process.pid}.js`);
fs.writeFileSync(noop, 'module.exports = { objective: async (t) => ({ value: t.number }) };\n');

async function run(url, name, objective, nWorkers, trials, W) {
  const ws = Array.from({ length: nWorkers }, () => spawn(process.execPath, [main, 'worker', '--redis', url, '--study', name, '--threads', '1', '--quiet'], { stdio: 'inherit' }));
  const storage = await nas.redisStorage(url, name);
  const study = await nas.createStudy({ space: nas.mlpSpace({ depth: [1, 2], widths: [16, 32], activations: ['relu'], optimizers: 'adam', lr: [1e-3, 1e-2], batchSize: 32, weightDecay: 0 }), storage, objectiveId: name, objectives: { name: objective.builtin ? 'accuracy' : 'value', direction: objective.builtin ? 'maximize' : 'minimize' }, sampler: nas.randomSampler(), seed: 1 });
  const ex = await nas.redisExecutor({ url, study: name, objective, concurrency: W });
  // Time from the moment every worker process has attached to the queue.
  const { Queue } = require('bullmq');
  const q = new Queue(`study-${name}`, { connection: { url }, prefix: 'nt' });
  while ((await q.getWorkersCount()) < nWorkers) await new Promise((res) => setTimeout(res, 50));
  await q.close();
  const t0 = Date.now();
  const r = await study.optimize({ trials, executor: ex, deterministic: false });
  const ms = Date.now() - t0;
  await ex.close();
  await storage.close();
  ws.forEach((w) => w.kill('SIGTERM'));
  await Promise.all(ws.map((w) => new Promise((res) => w.once('exit', res))));
  return { ms, done: r.trials.filter((t) => t.state === 'complete').length };
}

(async () => {
  const redis = await startRedis();
  try {
    const spec = { data: { kind: 'digits', trainSize: 2500, testSize: 50, seed: 0 }, space: { depth: [1, 2], widths: [16, 32], activations: ['relu'], optimizers: 'adam', lr: [1e-3, 1e-2], batchSize: 32, weightDecay: 0 }, epochs: 8 };
    const o = await run(redis.url, 'bench-noop', { module: noop, exportName: 'objective' }, 1, 40, 1);
    const overhead = o.ms / 40;
    console.log(`queue overhead: ${overhead.toFixed(1)} ms per trial (no-op objective, 1 worker, one trial in flight, 40 trials)`);
    const rows = [];
    for (const n of [1, 2, 4]) {
      const r = await run(redis.url, `bench-mlp-${n}`, { builtin: 'mlp', spec }, n, TRIALS, n);
      const perMin = (r.done / r.ms) * 60_000;
      rows.push({ n, perMin });
      console.log(`${n} worker process${n > 1 ? 'es' : ''}: ${r.done} trials in ${(r.ms / 1000).toFixed(1)} s = ${perMin.toFixed(1)} trials/min (x${(perMin / rows[0].perMin).toFixed(2)} vs 1)`);
    }
    console.log(`machine: ${os.cpus().length} cores; trials: MLP (16 or 32 units, 1 or 2 layers), 8 epochs on 2,000 digits (+500 validation)`);
  } finally {
    redis.stop();
    fs.rmSync(noop, { force: true });
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
