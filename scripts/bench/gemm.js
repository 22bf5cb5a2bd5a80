#!/usr/bin/env node
// GEMM benchmark (not part of `npm test`): nodetrain's packed float32 GEMM (its best ISA path and
// its AVX2 path forced with setMaxIsa) against OpenBLAS sgemm (a small C harness,
// scripts/bench/openblas_sgemm.c, compiled here) forced to its SkylakeX (AVX-512) and Haswell
// (AVX2/FMA) kernels, @tensorflow/tfjs-backend-wasm and the tfjs cpu backend, at 1 and 2 threads,
// beside the machine's FMA peak (scripts/bench/fma_peak.c: register-resident AVX-512 and AVX2 FMA
// chains). Then the bf16 GEMM (precision 'bf16': AMX, vdpbf16ps or the emulation) against the float32
// one and the vdpbf16ps peak. Medians of repeated calls; GFLOP/s = 2mnk / time. Writes .bench/gemm.md.
//
// Usage: node scripts/bench/gemm.js [--quick] [--no-tfjs]
//   NODETRAIN_ADDON=build-x/Release/nodetrain.node selects the addon (default: build/Release).
//   OpenBLAS: OPENBLAS_CORETYPE=X in the environment replaces the two forced core types with X.
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..', '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const withTfjs = !args.includes('--no-tfjs');
const MIN_REPS = quick ? 3 : 5;
const MIN_SECONDS = quick ? 0.1 : 0.2;
const ROUNDS = quick ? 1 : 3;

const SQUARES = quick ? [64, 256, 1024] : [64, 128, 256, 512, 1024, 2048];
const CASES = [
  ...SQUARES.map((s) => ({ name: `${s}³`, m: s, n: s, k: s, ta: false, tb: false })),
  { name: 'MLP fwd X·W 128x784·784x256', m: 128, n: 256, k: 784, ta: false, tb: false },
  { name: 'MLP dW=Xᵀ·dY 784x128·128x256', m: 784, n: 256, k: 128, ta: true, tb: false },
  { name: 'MLP dX=dY·Wᵀ 128x256·256x784', m: 128, n: 784, k: 256, ta: false, tb: true },
];
const flops = (c) => 2 * c.m * c.n * c.k;
const caseArg = (c) => `${c.m},${c.n},${c.k},${c.ta ? 1 : 0},${c.tb ? 1 : 0}`;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function timeIt(fn) {
  const w0 = process.hrtime.bigint();
  fn(); // warm-up (packing buffers, pool threads, JIT)
  // Products that take seconds (the JS cpu backend) get 3 repetitions.
  const minReps = Number(process.hrtime.bigint() - w0) / 1e9 > 1 ? 3 : MIN_REPS;
  const times = [];
  const start = process.hrtime.bigint();
  while (times.length < minReps || Number(process.hrtime.bigint() - start) / 1e9 < MIN_SECONDS) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (times.length >= 500) break;
  }
  return median(times);
}

function randF32(n) {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.random() * 2 - 1;
  return x;
}

// ---- nodetrain ----------------------------------------------------------------------------------
function loadAddon() {
  const p = process.env.NODETRAIN_ADDON ? path.resolve(process.env.NODETRAIN_ADDON) : path.join(root, 'build', 'Release', 'nodetrain.node');
  return require(p);
}

function benchNodetrain(nt, threads, cases = CASES, maxIsa = -1, bf16 = false) {
  nt.setNumThreads(threads);
  nt.setMaxIsa(maxIsa);
  const out = {};
  for (const c of cases) {
    const A = new nt.NativeBuffer(0, c.m * c.k);
    const B = new nt.NativeBuffer(0, c.k * c.n);
    const C = new nt.NativeBuffer(0, c.m * c.n);
    A.write(randF32(c.m * c.k));
    B.write(randF32(c.k * c.n));
    const lda = c.ta ? c.m : c.k;
    const ldb = c.tb ? c.k : c.n;
    out[c.name] = timeIt(() => nt.gemm(A, B, C, c.ta, c.tb, c.m, c.n, c.k, 1, 0, lda, ldb, c.n, null, 'linear', false, bf16));
    A.dispose();
    B.dispose();
    C.dispose();
  }
  nt.setMaxIsa(-1);
  return out;
}

// ---- FMA peak -----------------------------------------------------------------------------------
function fmaPeak(threads) {
  const exe = path.join(root, '.bench', 'fma_peak');
  fs.mkdirSync(path.dirname(exe), { recursive: true });
  execFileSync('gcc', ['-O2', '-pthread', '-o', exe, path.join(__dirname, 'fma_peak.c')]);
  const res = spawnSync(exe, [String(threads), quick ? '0.1' : '0.25'], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`fma_peak failed: ${res.stderr}`);
  const out = { avx512bf16: {}, avx512: {}, avx2: {} };
  for (const line of res.stdout.trim().split('\n')) {
    const o = JSON.parse(line);
    if (!o.missing) out[o.isa][o.threads] = o.gflops;
  }
  return out;
}

// ---- OpenBLAS -----------------------------------------------------------------------------------
function ensureOpenBlas() {
  const inc = '/usr/include/x86_64-linux-gnu/openblas-pthread';
  const hasHeader = fs.existsSync(path.join(inc, 'cblas.h')) || fs.existsSync('/usr/include/cblas.h');
  if (!hasHeader) {
    console.error('libopenblas-dev missing: apt-get update && apt-get install -y libopenblas-dev');
    spawnSync('apt-get', ['update'], { stdio: 'inherit' });
    spawnSync('apt-get', ['install', '-y', 'libopenblas-dev'], { stdio: 'inherit' });
  }
  const exe = path.join(root, '.bench', 'openblas_sgemm');
  fs.mkdirSync(path.dirname(exe), { recursive: true });
  execFileSync('gcc', ['-O2', '-o', exe, path.join(__dirname, 'openblas_sgemm.c'), `-I${inc}`, '-lopenblas']);
  return exe;
}

function benchOpenBlas(exe, threads, coretype, cases = CASES) {
  const env = { ...process.env };
  if (coretype) env.OPENBLAS_CORETYPE = coretype;
  const res = spawnSync(exe, [String(threads), String(MIN_REPS), String(MIN_SECONDS), ...cases.map(caseArg)], {
    env,
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(`openblas harness failed: ${res.stderr}`);
  const out = {};
  let core = '?';
  for (const line of res.stdout.trim().split('\n')) {
    const o = JSON.parse(line);
    if (o.core) core = o.core;
    else out[CASES.find((c) => caseArg(c) === o.case).name] = o.median;
  }
  return { core, times: out };
}

// ---- tfjs ---------------------------------------------------------------------------------------
async function benchTfjs(tf, backend) {
  await tf.setBackend(backend);
  await tf.ready();
  const out = {};
  for (const c of CASES) {
    // The JS cpu backend needs seconds per 2048³ product; its trend is clear well before that.
    if (backend === 'cpu' && c.m * c.n * c.k > 1024 ** 3) continue;
    const a = tf.tensor2d(randF32(c.m * c.k), c.ta ? [c.k, c.m] : [c.m, c.k]);
    const b = tf.tensor2d(randF32(c.k * c.n), c.tb ? [c.n, c.k] : [c.k, c.n]);
    out[c.name] = timeIt(() => {
      const y = tf.matMul(a, b, c.ta, c.tb);
      y.dataSync();
      y.dispose();
    });
    a.dispose();
    b.dispose();
  }
  return out;
}

const gf = (c, t) => (t === undefined ? NaN : flops(c) / t / 1e9);
const fmt = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(2)}×` : '–');

async function main() {
  const nt = loadAddon();
  const feats = nt.cpuFeatures();
  const lines = [];
  const log = (s = '') => {
    lines.push(s);
    console.log(s);
  };

  const loadBefore = os.loadavg()[0];
  const exe = ensureOpenBlas();
  const envCore = process.env.OPENBLAS_CORETYPE;
  const cores = envCore ? [envCore] : ['SkylakeX', 'Haswell'];
  const hasAvx512 = feats.bestIsa === 'avx512' || feats.bestIsa === 'amx';
  // On a shared machine the load changes from second to second, so each case alternates between
  // the libraries for ROUNDS rounds and reports the median of the per-round medians.
  const peak = fmaPeak(2);
  const blas = {};
  const ours = {};
  const ours2 = {};
  for (const t of [1, 2]) {
    blas[t] = cores.map((core) => ({ asked: core, core: '?', times: {} }));
    ours[t] = {};
    ours2[t] = {};
    for (const c of CASES) {
      const samples = { blas: cores.map(() => []), ours: [], ours2: [] };
      for (let r = 0; r < ROUNDS; r++) {
        cores.forEach((core, i) => {
          const ref = benchOpenBlas(exe, t, core, [c]);
          blas[t][i].core = ref.core;
          samples.blas[i].push(ref.times[c.name]);
        });
        samples.ours.push(benchNodetrain(nt, t, [c])[c.name]);
        if (hasAvx512) samples.ours2.push(benchNodetrain(nt, t, [c], 1)[c.name]);
      }
      cores.forEach((_, i) => (blas[t][i].times[c.name] = median(samples.blas[i])));
      ours[t][c.name] = median(samples.ours);
      if (hasAvx512) ours2[t][c.name] = median(samples.ours2);
    }
  }

  let tfjs = null;
  let wasmThreads = '?';
  if (withTfjs) {
    try {
      const tf = require('@tensorflow/tfjs-core');
      require('@tensorflow/tfjs-backend-cpu');
      const wasm = require('@tensorflow/tfjs-backend-wasm');
      wasm.setThreadsCount(2); // honoured only when the threaded wasm build can run
      const wasmTimes = await benchTfjs(tf, 'wasm');
      const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      wasmThreads = `${wasm.getThreadsCount()} (WASM_HAS_MULTITHREAD_SUPPORT=${mt})`;
      tfjs = { wasm: wasmTimes, cpu: await benchTfjs(tf, 'cpu') };
    } catch (e) {
      console.error(`tfjs benchmark skipped: ${e.message}`);
    }
  }

  log(`# float32 GEMM benchmark`);
  log();
  log(`- CPU: ${os.cpus()[0]?.model ?? '?'} (${os.cpus().length} logical CPUs); nodetrain kernels: ${feats.isa} (best: ${feats.bestIsa})`);
  log(`- OpenBLAS forced to: ${blas[1].map((b) => `${b.asked} (reports ${b.core})`).join(', ')}`);
  const pk = (isa, t) => (peak[isa][t] ? `${peak[isa][t].toFixed(0)}` : 'n/a');
  log(
    `- FMA peak (register-resident chains), GFLOP/s: AVX-512 ${pk('avx512', 1)} (1 thread) / ${pk('avx512', 2)} (2 threads); ` +
      `AVX2 ${pk('avx2', 1)} / ${pk('avx2', 2)}`,
  );
  log(`- tfjs-backend-wasm threads in Node: ${wasmThreads}; tfjs cpu backend is single-threaded JavaScript`);
  const loadAfter = os.loadavg()[0];
  log(
    `- 1-minute load average before / after: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)}` +
      (Math.max(loadBefore, loadAfter) > 0.5
        ? ' — other processes were running: figures (the 2-thread ones above all) understate every library'
        : ''),
  );
  log(
    `- nodetrain (${hasAvx512 ? 'AVX-512 and forced AVX2' : feats.isa}) and OpenBLAS alternate per case for ${ROUNDS} rounds; each round is the median of >= ${MIN_REPS} calls ` +
      `and >= ${MIN_SECONDS} s; the table shows the median round. tfjs: one round. GFLOP/s = 2mnk / time; ratios = nodetrain / other; ` +
      `% peak = nodetrain / the FMA peak of its ISA at that thread count`,
  );
  for (const t of [1, 2]) {
    log();
    log(`## ${t} thread${t > 1 ? 's' : ''}`);
    log();
    const peakT = hasAvx512 ? peak.avx512[t] : peak.avx2[t];
    const blasHead = blas[t].map((b) => ` OpenBLAS ${b.asked} | nt / it |`).join('');
    const a2Head = hasAvx512 ? ' nodetrain AVX2 | AVX2 / OpenBLAS Haswell |' : '';
    log(`| product | nodetrain ${feats.bestIsa} | % peak |${blasHead}${a2Head} tfjs-wasm | nt / wasm | tfjs-cpu | nt / cpu |`);
    log(`|---|---:|---:|${blas[t].map(() => '---:|---:|').join('')}${hasAvx512 ? '---:|---:|' : ''}---:|---:|---:|---:|`);
    for (const c of CASES) {
      const g = gf(c, ours[t][c.name]);
      const pct = peakT ? `${((100 * g) / peakT).toFixed(0)} %` : '–';
      const bl = blas[t].map((b) => ` ${fmt(gf(c, b.times[c.name]))} | ${ratio(g, gf(c, b.times[c.name]))} |`).join('');
      const hw = blas[t].find((b) => b.asked === 'Haswell');
      const a2 = hasAvx512
        ? ` ${fmt(gf(c, ours2[t][c.name]))} | ${hw ? ratio(gf(c, ours2[t][c.name]), gf(c, hw.times[c.name])) : '–'} |`
        : '';
      const w = tfjs ? gf(c, tfjs.wasm[c.name]) : NaN;
      const cp = tfjs ? gf(c, tfjs.cpu[c.name]) : NaN;
      log(`| ${c.name} | ${fmt(g)} | ${pct} |${bl}${a2} ${fmt(w)} | ${ratio(g, w)} | ${fmt(cp)} | ${ratio(g, cp)} |`);
    }
  }
  // bf16 operands with fp32 accumulation (precision 'bf16'), against nodetrain's own float32 GEMM
  // in the same rounds and against the bf16 dot-product peak of the path in use.
  const bf16Cases = CASES.filter((c) => c.m * c.n * c.k >= 128 ** 3);
  log();
  log(`## bf16 GEMM (precision 'bf16'): path ${feats.bf16Gemm}`);
  log();
  log(`- vdpbf16ps peak (register-resident chains), GFLOP/s: ${pk('avx512bf16', 1)} (1 thread) / ${pk('avx512bf16', 2)} (2 threads)`);
  log(`- float32 and bf16 alternate per case for ${ROUNDS} rounds (median round); % peak = bf16 / the vdpbf16ps peak`);
  for (const t of [1, 2]) {
    log();
    log(`| ${t} thread${t > 1 ? 's' : ''} | nodetrain float32 | nodetrain bf16 | bf16 / float32 | % bf16 peak |`);
    log('|---|---:|---:|---:|---:|');
    for (const c of bf16Cases) {
      const s = { f: [], b: [] };
      for (let r = 0; r < ROUNDS; r++) {
        s.f.push(benchNodetrain(nt, t, [c])[c.name]);
        s.b.push(benchNodetrain(nt, t, [c], -1, true)[c.name]);
      }
      const gF = gf(c, median(s.f));
      const gB = gf(c, median(s.b));
      const pb = peak.avx512bf16[t];
      log(`| ${c.name} | ${fmt(gF)} | ${fmt(gB)} | ${ratio(gB, gF)} | ${pb && feats.bf16Gemm === 'avx512bf16' ? `${((100 * gB) / pb).toFixed(0)} %` : '–'} |`);
    }
  }
  const outFile = path.join(root, '.bench', 'gemm.md');
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, `${lines.join('\n')}\n`);
  console.log(`\nwritten to ${path.relative(root, outFile)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
