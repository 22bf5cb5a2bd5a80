#!/usr/bin/env node
// Per-step cost of the smallest workload: the 4-16-3 model (dense 16 relu, dense 3 softmax,
// sparse categorical cross-entropy, Adam 0.01) on 150 iris-like samples, batch 16 (10 optimizer
// steps per epoch), the "small" workload of scripts/bench/train.js. Two measures:
//
//   node scripts/bench/step-cost.js                 time per step at 1 and 2 threads, medians of
//                                                   alternating rounds of 200-epoch fits (2,000
//                                                   steps): wall time, and the process's CPU time
//                                                   (steadier on a shared machine), plus the fixed
//                                                   cost of a whole fit (a 1-epoch fit)
//   node scripts/bench/step-cost.js --callgrind     instructions/step at 1 and 2 threads under
//                                                   valgrind --tool=callgrind (the stable measure on
//                                                   a loaded machine): runs a fit of E1 and of E2
//                                                   epochs in separate processes, counting only the
//                                                   native training thread (--toggle-collect on
//                                                   nt::fit: the steps, batching, publishing and
//                                                   event posting, not JavaScript), and reports
//                                                   (instr(E2) - instr(E1)) / (10 * (E2 - E1)), so
//                                                   per-fit set-up cancels out. Work handed to pool
//                                                   workers would not be counted: the report also
//                                                   says how many parallel_for hand-offs ran.
//
// Options: --threads=1,2  --rounds=7 --fitEpochs=200 (timing)  --epochs=20,120 (callgrind E1,E2)  --sgd (SGD 0.01
// instead of Adam). Needs the built addon (npx node-gyp build) and dist/ (npm run build:ts).
// Internal: --child=<epochs> runs one fit and exits (what valgrind runs).
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');
const { execFileSync } = require('child_process');

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v === undefined ? true : v];
  }),
);
const threadList = String(args.threads ?? '1,2').split(',').map(Number);
const useSgd = !!args.sgd;
const root = path.resolve(__dirname, '..', '..');

// The same data as scripts/bench/train.js's 4-16-3 workload.
const { irisLike } = require('./train-data');

function setup(nt, threads) {
  nt.setNumThreads(threads);
  const d = irisLike();
  const x = nt.tensor(d.x, [150, 4]);
  const y = nt.tensor(d.y, [150], 'int32');
  const m = nt.sequential([nt.dense({ units: 16, activation: 'relu', inputShape: [4] }), nt.dense({ units: 3, activation: 'softmax' })], { seed: 1 });
  const optimizer = useSgd ? nt.sgd({ lr: 0.01 }) : nt.adam({ lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-7 });
  m.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  return { m, x, y };
}

// The public API, loaded module by module: dist/lib/index.js also loads the optional io
// dependencies (onnx-proto, bullmq, ioredis), which a bench does not need.
function load() {
  const d = path.join(root, 'dist', 'lib');
  const req = (m) => require(path.join(d, m));
  return { ...req('model/factories'), ...req('layers/layers'), ...req('optim/optimizers'), ...req('tensor/tensor'), ...req('runtime') };
}

const STEPS_PER_EPOCH = Math.ceil(150 / 16);

async function child(epochs, threads) {
  const nt = load();
  const { m, x, y } = setup(nt, threads);
  await m.fit(x, y, { epochs, batchSize: 16, shuffle: true, seed: 1 });
}

function callgrindTotal(epochs, threads) {
  const out = path.join(os.tmpdir(), `step-cost-${process.pid}-${threads}-${epochs}.cg`);
  execFileSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, '--toggle-collect=nt::fit(*', process.execPath, __filename, `--child=${epochs}`, `--threads=${threads}`, ...(useSgd ? ['--sgd'] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  const text = fs.readFileSync(out, 'utf8');
  fs.unlinkSync(out);
  const m = /^(?:totals|summary): (\d+)/m.exec(text);
  if (!m) throw new Error(`No instruction total in the callgrind output ${out}`);
  // Calls of the pool's hand-off (parallel_detail::run) from the training thread.
  let handoffs = 0;
  const re = /^cfn=\((\d+)\)(?: (.*))?$\ncalls=(\d+)/gm;
  const names = new Map();
  for (let r; (r = re.exec(text)); ) {
    if (r[2]) names.set(r[1], r[2]);
    if ((names.get(r[1]) || '').includes('parallel_detail::run')) handoffs += Number(r[3]);
  }
  return { instr: Number(m[1]), handoffs };
}

async function main() {
  if (args.child !== undefined) return child(Number(args.child), threadList[0]);
  if (args.callgrind) {
    const [e1, e2] = String(args.epochs ?? '20,120').split(',').map(Number);
    for (const t of threadList) {
      const a = callgrindTotal(e1, t);
      const b = callgrindTotal(e2, t);
      const steps = (e2 - e1) * STEPS_PER_EPOCH;
      const per = (b.instr - a.instr) / steps;
      console.log(`threads ${t}: ${Math.round(per)} instructions/step, ${((b.handoffs - a.handoffs) / steps).toFixed(2)} pool hand-offs/step (${e1} epochs: ${a.instr}, ${e2} epochs: ${b.instr})`);
    }
    return;
  }
  const nt = load();
  const rounds = Number(args.rounds ?? 7);
  const epochs = Number(args.fitEpochs ?? 200);
  const models = threadList.map((t) => ({ t, ...setup(nt, t), us: [], cpu: [], fixed: [] }));
  for (const s of models) {
    nt.setNumThreads(s.t);
    await s.m.fit(s.x, s.y, { epochs: 5, batchSize: 16, shuffle: true, seed: 1 }); // warm-up
  }
  // Each round, per thread count: one fit of `epochs` epochs (wall time and the process's CPU time,
  // user + system over all its threads, per step) and one fit of 1 epoch (the per-fit fixed cost:
  // worker hand-off, promise, history; included in the per-step figures, amortised over the fit).
  // CPU time is the steadier figure on a shared machine: time spent descheduled is not in it.
  const cpuUs = (u) => u.user + u.system;
  for (let r = 0; r < rounds; r++) {
    for (const s of models) {
      nt.setNumThreads(s.t);
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await s.m.fit(s.x, s.y, { epochs, batchSize: 16, shuffle: true, seed: 1 });
      const wall = Number(process.hrtime.bigint() - t0) / 1e3;
      s.us.push(wall / (epochs * STEPS_PER_EPOCH));
      s.cpu.push(cpuUs(process.cpuUsage(c0)) / (epochs * STEPS_PER_EPOCH));
      const t1 = process.hrtime.bigint();
      await s.m.fit(s.x, s.y, { epochs: 1, batchSize: 16, shuffle: true, seed: 1 });
      s.fixed.push(Number(process.hrtime.bigint() - t1) / 1e3);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const list = (xs) => xs.map((v) => v.toFixed(2)).join(' ');
  for (const s of models) {
    console.log(
      `threads ${s.t}: ${median(s.us).toFixed(2)} µs/step wall, ${median(s.cpu).toFixed(2)} µs/step CPU (medians of ${rounds} fits of ${epochs} epochs; wall: ${list(s.us)}; CPU: ${list(s.cpu)}); a 1-epoch fit: ${median(s.fixed).toFixed(0)} µs`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
