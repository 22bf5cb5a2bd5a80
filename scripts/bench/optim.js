#!/usr/bin/env node
// Fused optimizer steps vs a plain memory pass with the same traffic, in one run.
//
// Each fused step streams its arrays once (Adam reads p, g, m, v and writes p, m, v: 7 streams of
// float32). The reference is a native streaming kernel (memoryPassBench in
// native/bench/memory_pass.cc, only in the bench build of the addon) that reads and writes the
// same arrays with the same chunking
// and threads, so the ratio says how close the step gets to memory bandwidth (target >= 0.85).
// Timing: medians of interleaved repetitions (step, pass, step, pass, ...) to share machine noise.
//
// Usage: node scripts/bench/optim.js [--n=10000000] [--reps=11] [--threads=1,2]
//   The addon is NODETRAIN_BENCH_ADDON or the bench build (scripts/bench/native: the same sources
//   as the package's addon plus the bench entry points), built here on first use. Writes
//   .bench/optim.md.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..', '..');
const arg = (name, dflt) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
};
const n = Number(arg('n', '10000000'));
const reps = Number(arg('reps', '11'));
const threadList = arg('threads', '1,2').split(',').map(Number);
const benchDir = path.join(__dirname, 'native');
const addonPath = path.resolve(process.env.NODETRAIN_BENCH_ADDON || path.join(benchDir, 'build', 'Release', 'nodetrain.node'));
if (!process.env.NODETRAIN_BENCH_ADDON) {
  // Rebuild when any native source is newer than the bench build (node-gyp build is incremental).
  const { execFileSync } = require('child_process');
  if (!fs.existsSync(path.join(benchDir, 'build', 'Makefile')) && !fs.existsSync(path.join(benchDir, 'build', 'config.gypi'))) {
    execFileSync('npx', ['node-gyp', 'configure'], { cwd: benchDir, stdio: 'inherit' });
  }
  execFileSync('npx', ['node-gyp', 'build', '-j', String(Math.max(1, os.cpus().length))], { cwd: benchDir, stdio: 'inherit' });
}
const b = require(addonPath);

function filled(seed, lo, hi) {
  const buf = new b.NativeBuffer(0, n);
  const chunk = new Float32Array(1 << 20);
  let s = seed >>> 0;
  for (let off = 0; off < n; off += chunk.length) {
    const len = Math.min(chunk.length, n - off);
    for (let i = 0; i < len; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      chunk[i] = lo + ((hi - lo) * s) / 4294967296;
    }
    buf.write(len === chunk.length ? chunk : chunk.subarray(0, len), off);
  }
  return buf;
}

const p = filled(1, -1, 1);
const g = filled(2, -1, 1);
const s1 = filled(3, -0.1, 0.1); // m / momentum buffer / square average
const s2 = filled(4, 0, 0.01); // v

const cases = [
  {
    name: 'Adam',
    streams: '4 read, 3 write',
    step: () => b.adamStep(p, g, s1, s2, null, n, { lr: 1e-3, step: 10 }),
    pass: () => b.memoryPassBench([p, g, s1, s2], 3, n),
    bytes: 7 * 4 * n,
  },
  {
    name: 'AdamW (wd 1e-2)',
    streams: '4 read, 3 write',
    step: () => b.adamStep(p, g, s1, s2, null, n, { lr: 1e-3, weightDecay: 1e-2, decoupled: true, step: 10 }),
    pass: () => b.memoryPassBench([p, g, s1, s2], 3, n),
    bytes: 7 * 4 * n,
  },
  {
    name: 'SGD momentum 0.9, Nesterov',
    streams: '3 read, 2 write',
    step: () => b.sgdStep(p, g, s1, n, { lr: 1e-3, momentum: 0.9, nesterov: true, step: 10 }),
    pass: () => b.memoryPassBench([p, g, s1], 2, n),
    bytes: 5 * 4 * n,
  },
  {
    name: 'RMSprop',
    streams: '3 read, 2 write',
    step: () => b.rmspropStep(p, g, s2, null, null, n, { lr: 1e-3, step: 10 }),
    pass: () => b.memoryPassBench([p, g, s2], 2, n),
    bytes: 5 * 4 * n,
  },
  {
    name: 'Adagrad',
    streams: '3 read, 2 write',
    step: () => b.adagradStep(p, g, s2, n, { lr: 1e-3, step: 10 }),
    pass: () => b.memoryPassBench([p, g, s2], 2, n),
    bytes: 5 * 4 * n,
  },
];

function seconds(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}
const median = (xs) => {
  const s = [...xs].sort((a, c) => a - c);
  return s[s.length >> 1];
};

const savedThreads = b.getNumThreads();
const rows = [];
for (const threads of threadList) {
  b.setNumThreads(threads);
  for (const c of cases) {
    c.step();
    c.pass();
    const ts = [];
    const tp = [];
    for (let r = 0; r < reps; r++) {
      ts.push(seconds(c.step));
      tp.push(seconds(c.pass));
    }
    const step = median(ts);
    const pass = median(tp);
    const row = {
      name: c.name,
      streams: c.streams,
      threads,
      stepMs: step * 1e3,
      stepGBs: c.bytes / step / 1e9,
      passMs: pass * 1e3,
      passGBs: c.bytes / pass / 1e9,
      ratio: pass / step,
    };
    rows.push(row);
    process.stderr.write(`${c.name}, ${threads} thread(s): ${row.stepGBs.toFixed(1)} GB/s vs pass ${row.passGBs.toFixed(1)} GB/s\n`);
  }
}
b.setNumThreads(savedThreads);

const feats = b.cpuFeatures();
const lines = [
  `# Fused optimizer steps vs a plain memory pass`,
  '',
  `${n.toLocaleString('en-US')} float32 parameters, median of ${reps} interleaved repetitions, ` +
    `AVX2 kernels in use: ${feats.useAvx2}, load average at the end ${os.loadavg()[0].toFixed(2)} on ` +
    `${os.cpus().length} CPUs (other load makes both columns noisy; the ratio is the figure that matters). ` +
    'Ratio = memory-pass time / fused-step time (target >= 0.85).',
  '',
  '| step | streams | threads | fused ms | fused GB/s | memory pass ms | pass GB/s | ratio |',
  '|---|---|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.streams} | ${r.threads} | ${r.stepMs.toFixed(2)} | ${r.stepGBs.toFixed(1)} | ` +
      `${r.passMs.toFixed(2)} | ${r.passGBs.toFixed(1)} | ${r.ratio.toFixed(2)} |`,
  ),
  '',
  `Command: \`node scripts/bench/optim.js --n=${n} --reps=${reps} --threads=${threadList.join(',')}\``,
  '',
];
const table = lines.join('\n');
process.stdout.write(`${table}\n`);
fs.mkdirSync(path.join(root, '.bench'), { recursive: true });
fs.writeFileSync(path.join(root, '.bench', 'optim.md'), table);
