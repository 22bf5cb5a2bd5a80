#!/usr/bin/env node
// Serving while training (not part of `npm test`; test/bench/serve.test.ts runs a small bounded
// copy): an HTTP server on Node's http answers POST /predict from one model while the same model
// trains with fit(); a bounded load generator on the loopback (a small keep-alive client, a fixed
// number of concurrent connections) sends predict requests. Reports requests per second and
// p50/p99 latency while idle and while training, training throughput (samples/s) with and without
// the load, failed requests, and checks that every response equals predict() on one of the
// published serving snapshots (the one published at the start of fit, or at an epoch end).
//
// Usage: node scripts/bench/serve.js [--quick] [--json]
'use strict';
const http = require('http');

/** Percentile of sorted values (nearest rank). */
function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

/** The server: POST /predict {x: number[][]} -> {y: number[][]}. */
function startServer(model) {
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/predict') {
      res.writeHead(404).end();
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const { x } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const out = await model.predict(x);
        const y = out.toArray();
        out.dispose();
        const body = JSON.stringify({ y });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      } catch (e) {
        res.writeHead(500).end(String(e && e.message));
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * Bounded load: `concurrency` connections send requests back to back until `requests` were sent
 * or `until()` says stop (and at least `minRequests` were sent). Returns latencies and responses.
 */
async function load(port, bodies, { concurrency, requests, minRequests = 0, until = () => false }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies = [];
  const responses = [];
  let sent = 0;
  let failed = 0;
  const one = (i) =>
    new Promise((resolve) => {
      const body = bodies[i % bodies.length];
      const t0 = process.hrtime.bigint();
      const req = http.request({ host: '127.0.0.1', port, path: '/predict', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          if (res.statusCode !== 200) failed++;
          else responses.push({ input: i % bodies.length, y: JSON.parse(Buffer.concat(chunks).toString('utf8')).y });
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end(body);
    });
  const t0 = Date.now();
  const worker = async () => {
    while (sent < requests && (sent < minRequests || !until())) await one(sent++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (Date.now() - t0) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, failed, seconds, rps: latencies.length / seconds, p50: pct(latencies, 50), p99: pct(latencies, 99), responses };
}

/**
 * Runs the benchmark with the library `nt`. Sizes: rows/epochs of training, requests per phase,
 * concurrency, rows per request.
 */
async function runServeBench(nt, o = {}) {
  const opts = { rows: 20000, features: 64, hidden: 256, classes: 10, epochs: 6, batchSize: 64, requests: 4000, concurrency: 8, rowsPerRequest: 4, threads: undefined, ...o };
  if (opts.threads) nt.setNumThreads(opts.threads);
  const rnd = seeded(7);
  const n = opts.rows;
  const d = opts.features;
  const xs = new Float32Array(n * d).map(() => rnd() * 2);
  const ys = new Int32Array(n).map((_, i) => Math.abs(Math.floor((xs[i * d] + xs[i * d + 1]) * 4)) % opts.classes);
  const x = nt.tensor(xs, [n, d]);
  const y = nt.tensor(ys, [n], 'int32');
  const make = () => {
    const m = nt.sequential(
      [nt.dense({ units: opts.hidden, activation: 'relu', inputShape: [d] }), nt.batchNormalization(), nt.dense({ units: opts.hidden, activation: 'relu' }), nt.dense({ units: opts.classes, activation: 'softmax' })],
      { seed: 1 },
    );
    m.compile({ optimizer: nt.adam({ lr: 1e-3 }), loss: 'sparseCategoricalCrossentropy' });
    return m;
  };
  const bodies = Array.from({ length: 16 }, () => JSON.stringify({ x: Array.from({ length: opts.rowsPerRequest }, () => Array.from({ length: d }, () => Math.fround(rnd() * 2))) }));

  // Training throughput without load (a twin model, same data and seed).
  const quiet = make();
  await quiet.fit(x, y, { epochs: 1, batchSize: opts.batchSize, seed: 2 }); // warm-up (threads, JIT)
  let t0 = Date.now();
  await quiet.fit(x, y, { epochs: opts.epochs, batchSize: opts.batchSize, seed: 3, callbacks: [{ onEpochEnd: () => undefined }] });
  const trainAlone = (n * opts.epochs) / ((Date.now() - t0) / 1000);
  quiet.dispose();

  const model = make();
  const server = await startServer(model);
  const { port } = server.address();
  try {
    // Idle serving, after a short warm-up of the server and the client.
    await load(port, bodies, { concurrency: opts.concurrency, requests: Math.min(200, opts.requests) });
    const idle = await load(port, bodies, { concurrency: opts.concurrency, requests: opts.requests });
    // Serving while training: snapshots are the weights at the start of fit and at every epoch
    // end (recorded in an epoch callback, where the published snapshot equals the live weights).
    const snapshots = [model.getWeights()];
    let training = true;
    t0 = Date.now();
    const fit = model
      .fit(x, y, { epochs: opts.epochs, batchSize: opts.batchSize, seed: 3, callbacks: [{ onEpochEnd: () => void snapshots.push(model.getWeights()) }] })
      .finally(() => (training = false));
    const during = await load(port, bodies, { concurrency: opts.concurrency, requests: Number.MAX_SAFE_INTEGER, until: () => !training });
    await fit;
    const trainLoaded = (n * opts.epochs) / ((Date.now() - t0) / 1000);

    // Every response must equal predict on one of the snapshots.
    const expected = [];
    for (const w of snapshots) {
      const c = model.clone();
      c.setWeights(w);
      const outs = [];
      for (const b of bodies) outs.push((await c.predict(JSON.parse(b).x)).toArray());
      expected.push(outs);
      c.dispose();
    }
    const equal = (a, b) => a.every((row, i) => row.every((v, j) => Math.fround(v) === Math.fround(b[i][j])));
    let unmatched = 0;
    const used = new Set();
    for (const r of [...idle.responses, ...during.responses]) {
      const k = expected.findIndex((e) => equal(r.y, e[r.input]));
      if (k < 0) unmatched++;
      else used.add(k);
    }
    const strip = ({ responses, ...rest }) => rest;
    return {
      threads: nt.getNumThreads(),
      model: `${d}-${opts.hidden}-bn-${opts.hidden}-${opts.classes}`,
      rowsPerRequest: opts.rowsPerRequest,
      concurrency: opts.concurrency,
      idle: strip(idle),
      duringTraining: strip(during),
      trainSamplesPerSecond: { alone: trainAlone, underLoad: trainLoaded, ratio: trainLoaded / trainAlone },
      snapshots: snapshots.length,
      snapshotsServed: used.size,
      unmatchedResponses: unmatched,
      failedRequests: idle.failed + during.failed,
    };
  } finally {
    server.close();
    model.dispose();
    x.dispose();
    y.dispose();
  }
}

module.exports = { runServeBench };

if (require.main === module) {
  const args = process.argv.slice(2);
  const nt = require('../../dist/lib');
  const quick = args.includes('--quick');
  runServeBench(nt, quick ? { rows: 5000, epochs: 3, requests: 1000 } : {}).then((r) => {
    if (args.includes('--json')) {
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      return;
    }
    const f = (x, k = 1) => x.toFixed(k);
    console.log(`serving while training: model ${r.model}, ${r.rowsPerRequest} rows per request, ${r.concurrency} connections, ${r.threads} threads`);
    console.log('| phase | requests | rps | p50 ms | p99 ms | failed |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const [name, p] of [['idle', r.idle], ['during fit', r.duringTraining]]) console.log(`| ${name} | ${p.requests} | ${f(p.rps, 0)} | ${f(p.p50, 2)} | ${f(p.p99, 2)} | ${p.failed} |`);
    console.log(`training: ${f(r.trainSamplesPerSecond.alone, 0)} samples/s alone, ${f(r.trainSamplesPerSecond.underLoad, 0)} under load (x${f(r.trainSamplesPerSecond.ratio, 2)})`);
    console.log(`responses matching a published snapshot: all but ${r.unmatchedResponses}; ${r.snapshotsServed} of ${r.snapshots} snapshots served`);
    if (r.unmatchedResponses > 0 || r.failedRequests > 0) process.exitCode = 1;
  });
}
